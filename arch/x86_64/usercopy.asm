; arch/x86_64/usercopy.asm - the only code that touches user memory from the
; 64-bit kernel: the same two routines and fixup table as arch/x86's, in
; the System V calling convention (arguments in rdi, rsi, rdx).
;
; Each routine has a range of instructions that may fault on a user address
; and a fixup label.  The page-fault handler first lets the VMM resolve the
; fault; if it cannot, and the faulting RIP is inside one of these ranges,
; it resumes at the fixup, which returns -1 instead of the kernel faulting.
; Nothing is pushed between the start of a range and a possible fault, so
; the fixup returns with a plain ret.  SMAP is lifted by the C callers.

bits 64
section .text

global usercopy_fixups
global arch_copy_user, arch_strncpy_user

; int arch_copy_user(void *dst, const void *src, size_t n): 0, or -1 on a fault
arch_copy_user:
    mov rcx, rdx
.may_fault:
    rep movsb
.may_fault_end:
    xor eax, eax
    ret
.fixup:
    mov eax, -1
    ret

; long arch_strncpy_user(char *dst, const char *src, size_t max):
; copies up to and including the NUL; returns the string's length, max if
; there was no NUL among the first max bytes, or -1 on a fault
arch_strncpy_user:
    xor ecx, ecx
.loop:
    cmp rcx, rdx
    je .done
.s_may_fault:
    mov al, [rsi + rcx]
.s_may_fault_end:
    mov [rdi + rcx], al
    test al, al
    jz .done
    inc rcx
    jmp .loop
.done:
    mov rax, rcx
    ret
.s_fixup:
    mov rax, -1
    ret

section .rodata
; { first faulting instruction, end of range, fixup }, terminated by zeros
usercopy_fixups:
    dq arch_copy_user.may_fault, arch_copy_user.may_fault_end, arch_copy_user.fixup
    dq arch_strncpy_user.s_may_fault, arch_strncpy_user.s_may_fault_end, arch_strncpy_user.s_fixup
    dq 0, 0, 0
