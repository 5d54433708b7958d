/*
 * arch/x86/serial.h - COM1 (0x3F8), 115200 8N1, polled.  Carries the kernel
 * log and the test results to the host, and input for the monitor.
 */
#ifndef ARCH_X86_SERIAL_H
#define ARCH_X86_SERIAL_H

void serial_init(void);
void serial_putc(char c);
/* A received byte, or -1 when none is waiting. */
int serial_getc_nonblock(void);

#endif
