/*
 * arch/x86_64/trap.h - exceptions in the 64-bit kernel: the frame the stubs
 * of isr.asm build, the IDT, and the page-fault path into the VMM.
 */
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#include <stdint.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU (64-bit: always rsp, ss) */
};

/* Install the 32 exception gates and load the IDT. */
void idt64_init(void);

/*
 * A probe: the next page fault at exactly `addr` is expected.  The handler
 * still asks the VMM and reports it, then resumes as if the faulting
 * `call` had returned (rip = return address on the stack).  Returns the
 * VMM_FAULT_* code the probe saw (1 if no fault happened).
 */
int trap64_probe_call(void (*fn)(void));
/* The fault report the last probe printed ("" if none). */
const char *trap64_last_report(void);

#endif
