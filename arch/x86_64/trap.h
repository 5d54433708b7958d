/*
 * arch/x86_64/trap.h - the 64-bit interrupt frame and the interrupt and
 * exception plumbing, with the same names as arch/x86/trap.h so that the
 * shared kernel (kernel/pagefault.c, kernel/panic.c, the PIC and PIT of
 * arch/x86/irq.c) uses either.
 *
 * isr.asm builds a struct trap_frame on the stack for every vector and
 * calls trap_dispatch(frame) (arch/x86/irq.c; the declarations common to
 * both frames are in arch/x86/traps.h).  In long mode the CPU always pushes SS:RSP,
 * so rsp and ss are valid for every trap.  The double fault runs on its
 * own stack (IST 1 of the TSS), so a kernel stack overflow is reported
 * instead of resetting the machine.
 */
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#include "arch/x86/traps.h"

#include <stdint.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap_frame must match isr.asm");

/*
 * The system-call registers (docs/syscalls.md, x86-64: syscall): rax = the
 * number, rdi rsi rdx r10 r8 = the arguments, the result back in rax.
 */
static inline uintptr_t trap_syscall_number(const struct trap_frame *f) { return f->rax; }
static inline void trap_syscall_args(const struct trap_frame *f, uintptr_t a[5])
{
    a[0] = f->rdi, a[1] = f->rsi, a[2] = f->rdx, a[3] = f->r10, a[4] = f->r8;
}
static inline void trap_set_syscall_result(struct trap_frame *f, uintptr_t r) { f->rax = r; }

/* The program counter's name in reports. */
#define TRAP_PC_NAME "rip"

/* The frame's program counter, frame pointer and flags, by the names the shared kernel uses. */
static inline uintptr_t trap_pc(const struct trap_frame *f) { return f->rip; }
static inline void trap_set_pc(struct trap_frame *f, uintptr_t pc) { f->rip = pc; }
static inline uintptr_t trap_frame_pointer(const struct trap_frame *f) { return f->rbp; }
static inline unsigned long trap_flags(const struct trap_frame *f) { return f->rflags; }

/*
 * Did the trap interrupt a user program?  Long mode has no virtual-8086
 * mode, so CS's privilege level says it; a page fault's U bit says it too.
 */
static inline int trap_from_user(const struct trap_frame *f)
{
    if (f->vector == TRAP_PAGE_FAULT && (f->error & PF_USER))
        return 1;
    return (f->cs & 3) != 0;
}

/* Selectors (arch/x86_64/gdt.c): the order SYSCALL/SYSRET expects. */
#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_DATA   0x1B
#define SEL_USER_CODE   0x23
#define SEL_TSS         0x28

/* Kernel stack the CPU loads on a trap from ring 3 (TSS.RSP0), and the syscall entry too. */
void tss_set_kernel_stack(uintptr_t rsp0);
/* The syscall entry's copy of RSP0 (arch/x86_64/syscall.c); tss_set_kernel_stack calls it. */
void syscall_set_kernel_stack(uintptr_t rsp0);

#endif /* ARCH_X86_64_TRAP_H */
