/*
 * arch/x86/vga.c - VGA text mode: a cursor, newline, tab, backspace and
 * scrolling.  The buffer is reached through the low linear map.
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

void vga_putc(char c)
{
    if (c == '\n') {
        col = 0;
        row++;
    } else if (c == '\r') {
        col = 0;
    } else if (c == '\t') {
        col = (col + 8) & ~7;
    } else if (c == '\b') {
        if (col > 0)
            screen[row * COLS + --col] = (uint16_t)(ATTR << 8 | ' ');
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
