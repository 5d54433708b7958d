; arch/x86_64/switch.asm - switching kernel stacks, the 64-bit
; context_switch of kernel/arch.h.
;
; void context_switch(uintptr_t *save_sp, uintptr_t load_sp)
;
; Pushes the registers the System V ABI makes callee-saved (rbp, rbx,
; r12-r15) on the current kernel stack, stores the stack pointer in
; *save_sp (rdi), loads load_sp (rsi) and pops the same registers from
; there: execution continues wherever that stack last called
; context_switch.  A new process's stack is built by arch_user_first_frame
; (arch/x86_64/syscall.c) so that the `ret` lands on trap_return with a
; trap frame above it, which iretqs to ring 3.

bits 64
section .text
global context_switch
context_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
