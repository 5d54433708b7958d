/*
 * arch/x86/traps.h - what the two x86 trap frames have in common: vector
 * numbers, the #PF error code, the handler table and the PC devices
 * (arch/x86/irq.c, compiled for both).  Included by arch/x86/trap.h and
 * arch/x86_64/trap.h, each of which defines its struct trap_frame.
 */
#ifndef ARCH_X86_TRAPS_H
#define ARCH_X86_TRAPS_H

#include <stdint.h>

#define TRAP_PAGE_FAULT  14
#define TRAP_DOUBLE_FAULT 8
#define IRQ_BASE         32
#define IRQ_TIMER        (IRQ_BASE + 0)
#define IRQ_KEYBOARD     (IRQ_BASE + 1)
#define IRQ_COM1         (IRQ_BASE + 4)

/* #PF error-code bits */
#define PF_PRESENT  0x01
#define PF_WRITE    0x02
#define PF_USER     0x04
#define PF_RESERVED 0x08
#define PF_FETCH    0x10

struct trap_frame;

/*
 * A handler returns 1 when it dealt with the trap, 0 to fall through to the
 * fault report (exceptions only).
 */
typedef int (*trap_handler_fn)(struct trap_frame *f);

void trap_set_handler(unsigned vector, trap_handler_fn fn);
void trap_dispatch(struct trap_frame *f);
/* Name of an exception vector ("page fault"), or "interrupt". */
const char *trap_name(unsigned vector);

/* The descriptor tables (each architecture's gdt.c and idt.c). */
void gdt_init(void);
void idt_init(void);

/* The 8259 PIC (IRQs 0-15 at vectors 32-47) and the 8254 PIT. */
void pic_init(void);
void pic_unmask(unsigned irq);
void pit_init(unsigned hz);
/* Called on every timer tick after the count is updated (the scheduler). */
void pit_set_tick_hook(trap_handler_fn fn);
/* Ticks since pit_init. */
uint64_t pit_ticks(void);
unsigned pit_hz(void);

struct fault_context;
/* The double-fault report (kernel/panic.c), called on the double fault's own stack. */
__attribute__((noreturn)) void double_fault_report(const struct fault_context *c);

#endif /* ARCH_X86_TRAPS_H */
