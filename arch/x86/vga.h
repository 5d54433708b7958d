/*
 * arch/x86/vga.h - the VGA text console (80x25 at physical 0xB8000), which
 * shows the same kernel log as the serial port.
 */
#ifndef ARCH_X86_VGA_H
#define ARCH_X86_VGA_H

void vga_init(void);
void vga_putc(char c);

#endif
