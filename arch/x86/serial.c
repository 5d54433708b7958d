/*
 * arch/x86/serial.c - the 16550 UART on COM1, polled (no interrupts).
 * "\n" is sent as "\r\n" so terminals show lines properly.
 */
#include "arch/x86/serial.h"
#include "arch/x86/cpu.h"

#define COM1 0x3F8
#define LSR_THR_EMPTY 0x20
#define LSR_DATA_READY 0x01

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB on: set the divisor */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8 bits, no parity, one stop bit */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared, 14-byte threshold */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void put_raw(char c)
{
    for (int spins = 0; spins < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); spins++)
        ;
    outb(COM1, (uint8_t)c);
}

void serial_putc(char c)
{
    if (c == '\n')
        put_raw('\r');
    put_raw(c);
}

int serial_getc_nonblock(void)
{
    if (!(inb(COM1 + 5) & LSR_DATA_READY))
        return -1;
    return inb(COM1);
}
