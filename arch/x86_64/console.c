/*
 * arch/x86_64/console.c - COM1 output for the 64-bit kernel: polled, with
 * "\n" sent as "\r\n"; formatting is lib/format.c's, as in the i686 kernel.
 */
#include "arch/x86_64/console.h"
#include "arch/x86_64/cpu.h"
#include "lib/format.h"

#define COM1 0x3F8

void console_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* divisor latch */
    outb(COM1 + 0, 0x01); /* 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFO */
}

static void putc_serial(char c)
{
    if (c == '\n')
        putc_serial('\r');
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

static void putc_fmt(char c, void *ctx)
{
    (void)ctx;
    putc_serial(c);
}

void console_puts(const char *s)
{
    while (*s)
        putc_serial(*s++);
}

void console_vprintf(const char *fmt, va_list ap)
{
    fmt_vformat(putc_fmt, 0, fmt, ap);
}

void console_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_vprintf(fmt, ap);
    va_end(ap);
}
