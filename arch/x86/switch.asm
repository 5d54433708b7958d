; arch/x86/switch.asm - switching kernel stacks.
;
; void context_switch(uintptr_t *save_sp, uintptr_t load_sp)   (kernel/arch.h)
;
; Saves the callee-saved registers on the current kernel stack, stores the
; stack pointer in *save_esp, loads load_esp and pops the same registers
; from there: execution continues wherever that stack last called
; context_switch.  A new process's stack is prepared (kernel/process.c) so
; that the `ret` lands on trap_return with a trap frame above it, which
; irets to ring 3.

section .text
global context_switch
context_switch:
    mov eax, [esp + 4]
    mov edx, [esp + 8]
    push ebp
    push ebx
    push esi
    push edi
    mov [eax], esp
    mov esp, edx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret
