/*
 * kernel/log.c - kprintf and the log ring buffer.
 *
 * Output is formatted by lib/format.c one character at a time into both
 * consoles.  The last LOG_RING bytes are kept so that a panic during the test
 * run can print what led up to it.  A capture (log_capture_begin) diverts
 * output from the consoles into a caller's buffer.  Interrupts are disabled while a line is
 * written so that IRQ-time messages do not interleave mid-line.
 */
#include "kernel/log.h"
#include "karch.h"
#include "arch/x86/serial.h"
#include "arch/x86/vga.h"
#include "lib/format.h"

#define LOG_RING 8192u

static char ring[LOG_RING];
static unsigned ring_head; /* total characters ever written */

static char *capture_buf; /* non-NULL while a capture is on */
static unsigned capture_size, capture_len;

void log_init(void)
{
    serial_init();
    vga_init();
}

void kputc(char c)
{
    if (capture_buf) {
        if (capture_len + 1 < capture_size) {
            capture_buf[capture_len] = c;
            capture_buf[capture_len + 1] = 0;
        }
        capture_len++;
    } else {
        serial_putc(c);
        vga_putc(c);
    }
    ring[ring_head++ % LOG_RING] = c;
}

void log_capture_begin(char *buf, unsigned n)
{
    unsigned long flags = irq_save();
    if (buf && n)
        buf[0] = 0;
    capture_buf = n ? buf : 0;
    capture_size = n;
    capture_len = 0;
    irq_restore(flags);
}

unsigned log_capture_end(void)
{
    unsigned long flags = irq_save();
    unsigned len = capture_len;
    capture_buf = 0;
    capture_size = capture_len = 0;
    irq_restore(flags);
    return len;
}

static void put_fmt(char c, void *ctx)
{
    (void)ctx;
    kputc(c);
}

int kvprintf(const char *fmt, va_list ap)
{
    unsigned long flags = irq_save();
    int n = fmt_vformat(put_fmt, 0, fmt, ap);
    irq_restore(flags);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

void log_replay_tail(unsigned lines)
{
    unsigned end = ring_head, start = ring_head > LOG_RING ? ring_head - LOG_RING : 0;
    unsigned pos = end;
    /* walk back over `lines` newlines (the one ending the last line included) */
    while (pos > start && lines) {
        pos--;
        if (ring[pos % LOG_RING] == '\n' && pos + 1 != end)
            lines--;
    }
    if (pos > start || ring[pos % LOG_RING] == '\n')
        pos++;
    for (; pos < end; pos++)
        serial_putc(ring[pos % LOG_RING]);
}
