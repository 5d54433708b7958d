/*
 * arch/x86/ps2kbd.h - the PS/2 keyboard behind the 8042 controller, polled
 * (IRQ 1 stays masked), for the monitor on the VGA console.
 *
 * Scancodes (set 1: the 8042 translates by default) become the bytes a
 * terminal would send over the serial line, US layout: printable ASCII
 * with Shift, Enter as CR, Backspace as BS, Ctrl with a letter as the
 * control byte (Ctrl-U = 0x15), the arrow keys as ESC [ A/B/C/D, Home and
 * End as ESC [ H / F, Delete, PgUp and PgDn as ESC [ 3~ / 5~ / 6~.  So the
 * monitor's line editor takes both inputs alike.  Shift+PgUp and
 * Shift+PgDn scroll the VGA console's view instead (no bytes).
 */
#ifndef ARCH_X86_PS2KBD_H
#define ARCH_X86_PS2KBD_H

#include <stdint.h>

/* Modifier and prefix state of the translation (zero = nothing held). */
struct ps2kbd_state {
    uint8_t shift, ctrl; /* keys held (left and right counted apart: bits) */
    uint8_t extended;    /* the previous byte was the 0xE0 prefix */
    int8_t scroll;       /* set by Shift+PgUp (1) or Shift+PgDn (-1); the caller clears it */
};

#define PS2KBD_MAX_BYTES 4 /* the longest translation: ESC [ 3 ~ */

/*
 * Translate one scancode byte: writes 0 to PS2KBD_MAX_BYTES bytes to out
 * and returns how many (key releases, modifiers, prefixes, unknown keys
 * and the console's scroll keys give none).
 */
unsigned ps2kbd_translate(struct ps2kbd_state *st, uint8_t scancode, char out[PS2KBD_MAX_BYTES]);

/* The next input byte from the keyboard, or -1 when none is waiting. */
int ps2kbd_getc_nonblock(void);

#endif
