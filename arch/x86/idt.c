/*
 * arch/x86/idt.c - the i686 IDT (dispatch, the PIC and the PIT are in
 * arch/x86/irq.c, shared with x86-64).
 *
 * All 256 vectors get an interrupt gate to their stub in isr.asm (DPL 0, so
 * `int N` from ring 3 faults), except #DF, which is a task gate to the
 * double-fault TSS, and vectors registered later as user-callable
 * (trap_set_user_gate, for the system-call vector).
 */
#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"

#include <stddef.h>
#include <stdint.h>

struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_high;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 8, "IDT entries are 8 bytes");

struct idt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

extern const uint32_t isr_stub_table[256];
static struct idt_entry idt[256];

static void set_gate(unsigned v, uint32_t offset, uint16_t selector, uint8_t type_attr)
{
    idt[v].offset_low = (uint16_t)offset;
    idt[v].selector = selector;
    idt[v].zero = 0;
    idt[v].type_attr = type_attr;
    idt[v].offset_high = (uint16_t)(offset >> 16);
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, isr_stub_table[v], 0x08, 0x8E); /* present, DPL 0, 32-bit interrupt gate */
    set_gate(TRAP_DOUBLE_FAULT, 0, 0x30, 0x85);     /* task gate to the double-fault TSS */
    struct idt_ptr p = {sizeof idt - 1, (uint32_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(p));
}

/* Let ring 3 raise vector v with `int v` (the system call). */
void trap_set_user_gate(unsigned v)
{
    set_gate(v, isr_stub_table[v], 0x08, 0xEE);
}
