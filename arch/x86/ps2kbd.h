/*
 * arch/x86/ps2kbd.h - the PS/2 keyboard behind the 8042 controller, polled
 * (IRQ 1 stays masked), for the monitor on the VGA console.
 *
 * Scancodes (set 1: the 8042 translates by default) become the bytes a
 * terminal would send over the serial line, US layout: printable ASCII
 * with Shift, Enter as CR, Backspace as BS, Ctrl with a letter as the
 * control byte (Ctrl-U = 0x15), and the arrow keys as ESC [ A/B/C/D.  So
 * the monitor's line editor takes both inputs alike.
 */
#ifndef ARCH_X86_PS2KBD_H
#define ARCH_X86_PS2KBD_H

#include <stdint.h>

/* Modifier and prefix state of the translation (zero = nothing held). */
struct ps2kbd_state {
    uint8_t shift, ctrl; /* keys held (left and right counted apart: bits) */
    uint8_t extended;    /* the previous byte was the 0xE0 prefix */
};

/*
 * Translate one scancode byte: writes 0 to 3 bytes to out and returns how
 * many (key releases, modifiers, prefixes and unknown keys give none).
 */
unsigned ps2kbd_translate(struct ps2kbd_state *st, uint8_t scancode, char out[3]);

/* The next input byte from the keyboard, or -1 when none is waiting. */
int ps2kbd_getc_nonblock(void);

#endif
