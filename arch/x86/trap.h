/*
 * arch/x86/trap.h - the interrupt frame and the interrupt/exception plumbing.
 *
 * isr.asm builds a struct trap_frame on the stack for every vector and calls
 * trap_dispatch(frame).  Handlers for IRQs and software interrupts are
 * registered with trap_set_handler; exceptions without a handler (or whose
 * handler declines) go to the kernel's fault report (kernel/panic.c).
 */
#ifndef ARCH_X86_TRAP_H
#define ARCH_X86_TRAP_H

#include <stdint.h>

struct trap_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;
    uint32_t user_esp, user_ss; /* only valid when trap_from_user(frame) */
};
_Static_assert(sizeof(struct trap_frame) == 19 * 4, "trap_frame must match isr.asm");

#define EFLAGS_VM (1u << 17) /* virtual-8086 mode */

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

/*
 * Did the trap interrupt a user program?  Never decide from CS alone: in
 * virtual-8086 mode (EFLAGS.VM; QEMU's TCG lets a ring-3 iret enter it) CS
 * holds a real-mode segment - 0 looks like ring 0 - yet the CPU ran at CPL
 * 3.  A page fault's error code says U for an access made at CPL 3.  Any of
 * the three means "user": the offender is killed, never the kernel.
 */
static inline int trap_from_user(const struct trap_frame *f)
{
    if (f->eflags & EFLAGS_VM)
        return 1;
    if (f->vector == TRAP_PAGE_FAULT && (f->error & PF_USER))
        return 1;
    return (f->cs & 3) != 0;
}

/*
 * A handler returns 1 when it dealt with the trap, 0 to fall through to the
 * fault report (exceptions only).
 */
typedef int (*trap_handler_fn)(struct trap_frame *f);

void trap_set_handler(unsigned vector, trap_handler_fn fn);
void trap_dispatch(struct trap_frame *f);
/* Name of an exception vector ("page fault"), or "interrupt". */
const char *trap_name(unsigned vector);

void gdt_init(void);
void idt_init(void);
void pic_init(void);
void pic_unmask(unsigned irq);
void pit_init(unsigned hz);
/* Called on every timer tick after the count is updated (the scheduler). */
void pit_set_tick_hook(trap_handler_fn fn);
/* Let ring 3 raise vector v with `int v` (the system call). */
void trap_set_user_gate(unsigned v);
/* Kernel stack the CPU loads on a trap from ring 3. */
void tss_set_kernel_stack(uint32_t esp0);
/* Selectors */
#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_CODE   0x1B
#define SEL_USER_DATA   0x23

/* Ticks since pit_init. */
uint64_t pit_ticks(void);
unsigned pit_hz(void);

/* The TSS state saved when the double fault hit (for the report). */
struct tss_state {
    uint32_t eip, esp, ebp, eflags, cr3;
    uint32_t eax, ebx, ecx, edx, esi, edi;
};
void tss_faulting_state(struct tss_state *st);
/* Called on the double-fault task's own stack (kernel/panic.c). */
__attribute__((noreturn)) void double_fault_report(void);

#endif /* ARCH_X86_TRAP_H */
