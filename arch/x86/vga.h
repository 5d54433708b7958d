/*
 * arch/x86/vga.h - the VGA text console (80x25 at physical 0xB8000), which
 * shows the same kernel log as the serial port, with a scrollback.
 */
#ifndef ARCH_X86_VGA_H
#define ARCH_X86_VGA_H

#define VGA_ROWS 25
#define VGA_COLS 80
#define VGA_HISTORY 400 /* lines kept for scrolling back, the screen's included */

void vga_init(void);
void vga_putc(char c);

/*
 * Move the view `lines` back (positive: towards older lines) or forward
 * (negative), within the lines kept; the next output brings it back to
 * the bottom.  The keyboard's Shift+PgUp / Shift+PgDn call it.
 */
void vga_scroll(int lines);

#endif
