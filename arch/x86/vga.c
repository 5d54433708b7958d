/*
 * arch/x86/vga.c - VGA text mode: a cursor, newline, tab, backspace and
 * scrolling.  The buffer is reached through the low linear map.
 *
 * Backspace moves the cursor left without erasing (as a terminal does:
 * "\b \b" erases), and the few ANSI sequences the monitor's line editor
 * sends are understood: ESC [ K (clear to the end of the line), ESC [ C
 * and ESC [ D (cursor right, left).  Other sequences are swallowed.
 */
#include "arch/x86/vga.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"

#include <stdint.h>

#define COLS 80
#define ROWS 25
#define ATTR 0x07 /* light grey on black */

static volatile uint16_t *const screen = (volatile uint16_t *)(KERNEL_VMA + 0xB8000);
static int row, col;
static enum { TEXT, ESCAPE, CSI } esc_state; /* inside an escape sequence */

static void move_cursor(void)
{
    uint16_t pos = (uint16_t)(row * COLS + col);
    outb(0x3D4, 14);
    outb(0x3D5, (uint8_t)(pos >> 8));
    outb(0x3D4, 15);
    outb(0x3D5, (uint8_t)pos);
}

static void scroll(void)
{
    for (int i = 0; i < (ROWS - 1) * COLS; i++)
        screen[i] = screen[i + COLS];
    for (int i = (ROWS - 1) * COLS; i < ROWS * COLS; i++)
        screen[i] = (uint16_t)(ATTR << 8 | ' ');
    row = ROWS - 1;
}

void vga_init(void)
{
    for (int i = 0; i < ROWS * COLS; i++)
        screen[i] = (uint16_t)(ATTR << 8 | ' ');
    row = col = 0;
    move_cursor();
}

/* The final byte of ESC [ ... */
static void csi_final(char c)
{
    if (c == 'K')
        for (int i = col; i < COLS; i++)
            screen[row * COLS + i] = (uint16_t)(ATTR << 8 | ' ');
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
            move_cursor();
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
    if (escape_byte(c))
        return;
    if (c == '\n') {
        col = 0;
        row++;
    } else if (c == '\r') {
        col = 0;
    } else if (c == '\t') {
        col = (col + 8) & ~7;
    } else if (c == '\b') {
        if (col > 0)
            col--;
    } else {
        screen[row * COLS + col++] = (uint16_t)(ATTR << 8 | (uint8_t)c);
    }
    if (col >= COLS) {
        col = 0;
        row++;
    }
    if (row >= ROWS)
        scroll();
    move_cursor();
}
