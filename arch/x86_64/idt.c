/*
 * arch/x86_64/idt.c - the 64-bit IDT: 256 interrupt gates (16 bytes each)
 * to the stubs of isr.asm, all DPL 0; the double fault's gate switches to
 * IST 1 (arch/x86_64/gdt.c).  Dispatch, the PIC and the PIT are shared with
 * i686 (arch/x86/irq.c).
 */
#include "arch/x86_64/trap.h"

#include <stdint.h>

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type;
    uint16_t offset_mid;
    uint32_t offset_high, zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "long-mode gates are 16 bytes");

#define GATE_INTERRUPT_DPL0 0x8E
#define IST_DOUBLE_FAULT 1

extern const uint64_t isr_stub_table[256];
static struct idt_gate idt[256];

static void set_gate(unsigned v, uint64_t offset, uint8_t ist, uint8_t type)
{
    idt[v] = (struct idt_gate){(uint16_t)offset,         SEL_KERNEL_CODE,          ist, type,
                               (uint16_t)(offset >> 16), (uint32_t)(offset >> 32), 0};
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, isr_stub_table[v], 0, GATE_INTERRUPT_DPL0);
    set_gate(TRAP_DOUBLE_FAULT, isr_stub_table[TRAP_DOUBLE_FAULT], IST_DOUBLE_FAULT,
             GATE_INTERRUPT_DPL0);
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) ptr = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(ptr));
}
