/*
 * kernel/log.h - the kernel log: kprintf goes to the serial port and the VGA
 * console, and into a ring buffer whose tail a panic can replay.
 */
#ifndef KERNEL_LOG_H
#define KERNEL_LOG_H

#include <stdarg.h>

__attribute__((format(printf, 1, 2))) int kprintf(const char *fmt, ...);
int kvprintf(const char *fmt, va_list ap);
void kputc(char c);
void log_init(void);
/* Print the last `lines` lines of the log (to serial only). */
void log_replay_tail(unsigned lines);

/*
 * Capture: until log_capture_end, everything the log prints goes into
 * buf (at most n - 1 characters, always NUL-terminated; the rest is counted
 * but dropped) instead of the consoles; the ring buffer still sees it.  For
 * tests that check what a command printed (kernel/monitor.c).  Captures do
 * not nest: a second begin replaces the first.  log_capture_end returns the
 * number of characters printed during the capture (which may exceed n - 1).
 */
void log_capture_begin(char *buf, unsigned n);
unsigned log_capture_end(void);

#endif
