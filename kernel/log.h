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

#endif
