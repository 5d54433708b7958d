/*
 * arch/x86/ps2kbd.c - polled PS/2 keyboard (see ps2kbd.h).
 *
 * The 8042's status port (0x64) says whether a byte waits in its output
 * buffer (bit 0) and whether it came from the mouse (bit 5: dropped).  A
 * key gives one byte when pressed and the same with bit 7 set when
 * released; keys added after the original PC (the arrows) come after a
 * 0xE0 prefix.  Translated bytes wait in a small queue, because one arrow
 * becomes three bytes.  Shift+PgUp and Shift+PgDn belong to the VGA
 * console, not to the program reading keys: they scroll its view.
 */
#include "arch/x86/ps2kbd.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vga.h"

#define KBD_DATA 0x60
#define KBD_STATUS 0x64
#define STATUS_OUTPUT_FULL 0x01
#define STATUS_FROM_MOUSE 0x20

#define SC_RELEASE 0x80
#define SC_EXTENDED 0xE0
#define SC_CTRL 0x1D
#define SC_LSHIFT 0x2A
#define SC_RSHIFT 0x36

/* Set 1 scancodes 0x00-0x39 without and with Shift; 0 = no character (Esc included). */
static const char plain[] = "\0\0" "1234567890-=" "\b\t" "qwertyuiop[]" "\r\0" "asdfghjkl;'`"
                            "\0\\" "zxcvbnm,./" "\0*\0 ";
static const char shifted[] = "\0\0" "!@#$%^&*()_+" "\b\t" "QWERTYUIOP{}" "\r\0" "ASDFGHJKL:\"~"
                              "\0|" "ZXCVBNM<>?" "\0*\0 ";
_Static_assert(sizeof plain == 0x3A + 1 && sizeof shifted == 0x3A + 1, "scancode tables cover 0x00-0x39");

#define SC_PGUP 0x49 /* after 0xE0 */
#define SC_PGDN 0x51

/* ESC [ final, or ESC [ digit ~: what an xterm sends for the key. */
static unsigned csi(char out[PS2KBD_MAX_BYTES], char digit, char final)
{
    unsigned n = 0;
    out[n++] = 0x1B;
    out[n++] = '[';
    if (digit)
        out[n++] = digit;
    out[n++] = final;
    return n;
}

static unsigned translate_extended(struct ps2kbd_state *st, uint8_t code,
                                   char out[PS2KBD_MAX_BYTES])
{
    switch (code) {
    case 0x48: return csi(out, 0, 'A'); /* up */
    case 0x50: return csi(out, 0, 'B'); /* down */
    case 0x4D: return csi(out, 0, 'C'); /* right */
    case 0x4B: return csi(out, 0, 'D'); /* left */
    case 0x47: return csi(out, 0, 'H'); /* Home */
    case 0x4F: return csi(out, 0, 'F'); /* End */
    case 0x53: return csi(out, '3', '~'); /* Delete */
    case SC_PGUP:
    case SC_PGDN:
        if (!st->shift)
            return csi(out, code == SC_PGUP ? '5' : '6', '~');
        st->scroll = code == SC_PGUP ? 1 : -1; /* the console's: no bytes */
        return 0;
    case 0x1C: out[0] = '\r'; return 1; /* keypad Enter */
    default: return 0;
    }
}

unsigned ps2kbd_translate(struct ps2kbd_state *st, uint8_t sc, char out[PS2KBD_MAX_BYTES])
{
    if (sc == SC_EXTENDED) {
        st->extended = 1;
        return 0;
    }
    int extended = st->extended, released = (sc & SC_RELEASE) != 0;
    uint8_t code = sc & (uint8_t)~SC_RELEASE;
    st->extended = 0;
    if (code == SC_LSHIFT || code == SC_RSHIFT) {
        uint8_t bit = code == SC_LSHIFT ? 1 : 2;
        st->shift = released ? (uint8_t)(st->shift & ~bit) : (uint8_t)(st->shift | bit);
        return 0;
    }
    if (code == SC_CTRL) { /* 0x1D: left Ctrl, after 0xE0: right Ctrl */
        uint8_t bit = extended ? 2 : 1;
        st->ctrl = released ? (uint8_t)(st->ctrl & ~bit) : (uint8_t)(st->ctrl | bit);
        return 0;
    }
    if (released)
        return 0;
    if (extended)
        return translate_extended(st, code, out);
    if (code >= sizeof plain - 1)
        return 0;
    char c = (st->shift ? shifted : plain)[code];
    if (!c)
        return 0;
    if (st->ctrl) {
        if ((c | 0x20) < 'a' || (c | 0x20) > 'z')
            return 0;
        c = (char)((c | 0x20) - 'a' + 1); /* Ctrl-A = 0x01 ... Ctrl-Z = 0x1A */
    }
    out[0] = c;
    return 1;
}

int ps2kbd_getc_nonblock(void)
{
    static struct ps2kbd_state state;
    static char queue[PS2KBD_MAX_BYTES];
    static unsigned queued, next;
    while (next == queued) {
        uint8_t status = inb(KBD_STATUS);
        if (!(status & STATUS_OUTPUT_FULL))
            return -1;
        uint8_t sc = inb(KBD_DATA);
        if (status & STATUS_FROM_MOUSE)
            continue;
        queued = ps2kbd_translate(&state, sc, queue);
        next = 0;
        if (state.scroll) { /* a screen less one line, so one line stays for context */
            vga_scroll(state.scroll * (VGA_ROWS - 1));
            state.scroll = 0;
        }
    }
    return (unsigned char)queue[next++];
}
