/*
 * arch/x86_64/syscall.c - ring 3 on x86-64: the syscall instruction's
 * set-up and a new process's first kernel stack (kernel/arch.h).
 *
 * The ABI (docs/syscalls.md): rax = number, rdi rsi rdx r10 r8 =
 * arguments, result in rax.  syscall_entry.asm turns a syscall into the
 * same struct trap_frame an interrupt makes, vector SYS_VECTOR, so
 * kernel/syscall.c serves both architectures from one handler.
 *
 * The MSRs, once at boot:
 *   EFER.SCE          syscall/sysret enabled (#UD otherwise)
 *   STAR              kernel CS 0x08 (SS 0x10) for syscall; the user base
 *                     0x10 for sysret (CS 0x23, SS 0x1B), unused: the way
 *                     back is iretq (see syscall_entry.asm)
 *   LSTAR             syscall_entry
 *   SFMASK            IF, TF, DF, AC, NT cleared on entry: no interrupt
 *                     before the kernel stack is loaded, no single-step
 *                     into the kernel, the string direction the C ABI
 *                     wants, SMAP in force (AC clear)
 *   KERNEL_GS_BASE    syscall_cpu, the per-CPU block swapgs brings in;
 *                     GS_BASE stays 0 - ring 3 cannot change it (no
 *                     FSGSBASE, MSRs are ring 0)
 *
 * syscall_cpu[0] mirrors TSS.RSP0: tss_set_kernel_stack (gdt.c) sets both
 * when the scheduler switches processes.  One CPU: one block.
 */
#include "arch/x86/cpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/arch.h"
#include "kernel/syscall_nr.h"

#include <string.h>

#define MSR_EFER 0xC0000080u
#define MSR_STAR 0xC0000081u
#define MSR_LSTAR 0xC0000082u
#define MSR_SFMASK 0xC0000084u
#define MSR_GS_BASE 0xC0000101u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define EFER_SCE 0x1u

#define RFLAGS_TF 0x100u
#define RFLAGS_IF 0x200u
#define RFLAGS_DF 0x400u
#define RFLAGS_NT 0x4000u
#define RFLAGS_AC 0x40000u
#define RFLAGS_RESERVED 0x2u /* bit 1 always reads 1 */

extern uint64_t syscall_cpu[2]; /* syscall_entry.asm: kernel rsp, user rsp scratch */
extern char syscall_entry[], trap_return[];

_Static_assert(SYS_VECTOR == 0x80 && SEL_USER_DATA == 0x1B && SEL_USER_CODE == 0x23,
               "syscall_entry.asm repeats these");
/* sysret takes CS and SS from one base: the user data selector must sit just below user code */
_Static_assert(SEL_USER_CODE == SEL_USER_DATA + 8, "the GDT order syscall/sysret expects");

void arch_syscall_init(void)
{
    wrmsr(MSR_STAR, ((uint64_t)(SEL_USER_DATA - 8) << 48) | ((uint64_t)SEL_KERNEL_CODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT);
    wrmsr(MSR_GS_BASE, 0);
    wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)(uintptr_t)syscall_cpu);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

void syscall_set_kernel_stack(uintptr_t rsp0)
{
    syscall_cpu[0] = rsp0;
}

uintptr_t arch_user_first_frame(void *kstack_top, uintptr_t entry, uintptr_t user_sp)
{
    struct trap_frame *f = (struct trap_frame *)kstack_top - 1;
    memset(f, 0, sizeof *f);
    f->rip = entry;
    f->cs = SEL_USER_CODE;
    f->rflags = RFLAGS_IF | RFLAGS_RESERVED;
    f->rsp = user_sp;
    f->ss = SEL_USER_DATA;
    uint64_t *sp = (uint64_t *)f;
    *--sp = (uint64_t)(uintptr_t)trap_return; /* context_switch's ret */
    for (int i = 0; i < 6; i++)
        *--sp = 0; /* rbp, rbx, r12, r13, r14, r15 */
    return (uintptr_t)sp;
}
