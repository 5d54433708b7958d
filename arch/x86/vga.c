/*
 * arch/x86/vga.c - VGA text mode: a cursor, newline, tab, backspace,
 * scrolling, and a scrollback of the last VGA_HISTORY lines.
 *
 * Every line written lives in a ring of VGA_HISTORY lines (history):
 * line number n (counted from boot) is history[n % VGA_HISTORY], and
 * `bottom` is the number of the line the cursor is on.  The screen shows
 * lines [bottom - ROWS + 1, bottom] (from line 0 while fewer exist), less
 * `back` lines when the view is scrolled back (vga_scroll, Shift+PgUp and
 * Shift+PgDn on the keyboard).  Output goes to the ring and, when the view
 * is at the bottom, to the screen at once; output while scrolled back
 * brings the view down first, as the Linux console does.  Costs: a
 * character is two stores; a new line at the bottom moves the screen (4 KB);
 * a scroll of the view copies one screen from the ring.
 *
 * Backspace moves the cursor left without erasing (as a terminal does:
 * "\b \b" erases), and the few ANSI sequences the monitor's line editor
 * sends are understood: ESC [ K (clear to the end of the line), ESC [ C
 * and ESC [ D (cursor right, left).  Other sequences are swallowed.
 * Callers serialise (the log runs with interrupts off, one CPU).
 */
#include "arch/x86/vga.h"
#include "arch/x86/cpu.h"
#include "karch.h" /* lowmap_virt: the text buffer through the port's map of low memory */

#include <stdint.h>

#define COLS VGA_COLS
#define ROWS VGA_ROWS
#define ATTR 0x07 /* light grey on black */
#define BLANK ((uint16_t)(ATTR << 8 | ' '))

#define screen ((volatile uint16_t *)lowmap_virt(0xB8000))
static uint16_t history[VGA_HISTORY][COLS];
static unsigned bottom, col; /* the cursor: line number, column */
static unsigned back;        /* lines the view is scrolled back; 0: following the output */
static enum { TEXT, ESCAPE, CSI } esc_state; /* inside an escape sequence */

_Static_assert(VGA_HISTORY >= ROWS, "the scrollback holds at least a screen");

static uint16_t *line_at(unsigned n)
{
    return history[n % VGA_HISTORY];
}

/* The line number at the top of the screen when following the output. */
static unsigned live_top(void)
{
    return bottom >= ROWS ? bottom - ROWS + 1 : 0;
}

/* The oldest line the ring still holds. */
static unsigned oldest(void)
{
    return bottom >= VGA_HISTORY ? bottom - VGA_HISTORY + 1 : 0;
}

static void move_cursor(void)
{
    /* scrolled back: the cursor's line is below the screen, so hide the cursor there */
    uint16_t pos = back ? ROWS * COLS : (uint16_t)((bottom - live_top()) * COLS + col);
    outb(0x3D4, 14);
    outb(0x3D5, (uint8_t)(pos >> 8));
    outb(0x3D4, 15);
    outb(0x3D5, (uint8_t)pos);
}

/* Copy the lines of the view from the ring to the screen. */
static void redraw(void)
{
    unsigned top = live_top() - back;
    for (unsigned r = 0; r < ROWS; r++) {
        const uint16_t *src = top + r <= bottom ? line_at(top + r) : 0;
        for (unsigned c = 0; c < COLS; c++)
            screen[r * COLS + c] = src ? src[c] : BLANK;
    }
}

void vga_init(void)
{
    for (unsigned c = 0; c < COLS; c++)
        line_at(0)[c] = BLANK;
    bottom = col = back = 0;
    redraw();
    move_cursor();
}

void vga_scroll(int lines)
{
    unsigned most = live_top() - oldest();
    long want = (long)back + lines;
    unsigned now = want < 0 ? 0 : want > (long)most ? most : (unsigned)want;
    if (now == back)
        return;
    back = now;
    redraw();
    move_cursor();
}

/* Start the next line; the screen moves up once the cursor passes its last row. */
static void new_line(void)
{
    col = 0;
    bottom++;
    for (unsigned c = 0; c < COLS; c++)
        line_at(bottom)[c] = BLANK;
    if (bottom < ROWS)
        return;
    for (unsigned i = 0; i < (ROWS - 1) * COLS; i++)
        screen[i] = screen[i + COLS];
    for (unsigned i = (ROWS - 1) * COLS; i < ROWS * COLS; i++)
        screen[i] = BLANK;
}

/* Write one cell of the cursor's line, in the ring and on the screen. */
static void put_cell(unsigned c, uint16_t cell)
{
    line_at(bottom)[c] = cell;
    screen[(bottom - live_top()) * COLS + c] = cell;
}

/* The final byte of ESC [ ... */
static void csi_final(char c)
{
    if (c == 'K')
        for (unsigned i = col; i < COLS; i++)
            put_cell(i, BLANK);
    else if (c == 'C' && col < COLS - 1)
        col++;
    else if (c == 'D' && col > 0)
        col--;
}

/* Consume c if it belongs to an escape sequence; 1 if it did. */
static int escape_byte(char c)
{
    if (esc_state == ESCAPE) {
        esc_state = c == '[' ? CSI : TEXT;
        return 1;
    }
    if (esc_state == CSI) {
        if (c >= 0x40 && c <= 0x7E) { /* parameters come before the final byte */
            esc_state = TEXT;
            csi_final(c);
        }
        return 1;
    }
    if (c == 0x1B) {
        esc_state = ESCAPE;
        return 1;
    }
    return 0;
}

void vga_putc(char c)
{
    if (back) { /* new output: back to the bottom first */
        back = 0;
        redraw();
    }
    if (escape_byte(c)) {
        move_cursor();
        return;
    }
    if (c == '\n') {
        new_line();
    } else if (c == '\r') {
        col = 0;
    } else if (c == '\t') {
        col = (col + 8) & ~7u;
    } else if (c == '\b') {
        if (col > 0)
            col--;
    } else {
        put_cell(col++, (uint16_t)(ATTR << 8 | (uint8_t)c));
    }
    if (col >= COLS)
        new_line();
    move_cursor();
}
