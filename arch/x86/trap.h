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

#include "arch/x86/traps.h"

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
 * The system-call registers (docs/syscalls.md, i686: int 0x80): eax = the
 * number, ebx ecx edx esi edi = the arguments, the result back in eax.
 */
static inline uintptr_t trap_syscall_number(const struct trap_frame *f) { return f->eax; }
static inline void trap_syscall_args(const struct trap_frame *f, uintptr_t a[5])
{
    a[0] = f->ebx, a[1] = f->ecx, a[2] = f->edx, a[3] = f->esi, a[4] = f->edi;
}
static inline void trap_set_syscall_result(struct trap_frame *f, uintptr_t r) { f->eax = r; }

/* The program counter's name in reports. */
#define TRAP_PC_NAME "eip"

/* The frame's program counter, frame pointer and flags, by the names the shared kernel uses. */
static inline uintptr_t trap_pc(const struct trap_frame *f) { return f->eip; }
static inline void trap_set_pc(struct trap_frame *f, uintptr_t pc) { f->eip = (uint32_t)pc; }
static inline uintptr_t trap_frame_pointer(const struct trap_frame *f) { return f->ebp; }
static inline unsigned long trap_flags(const struct trap_frame *f) { return f->eflags; }

/* Let ring 3 raise vector v with `int v` (the system call). */
void trap_set_user_gate(unsigned v);
/* Kernel stack the CPU loads on a trap from ring 3. */
void tss_set_kernel_stack(uint32_t esp0);
/* Selectors */
#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_CODE   0x1B
#define SEL_USER_DATA   0x23

#endif /* ARCH_X86_TRAP_H */
