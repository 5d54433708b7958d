; arch/x86/usercopy.asm - the only code that touches user memory from the kernel.
;
; Each routine has a range of instructions that may fault on a user address
; and a fixup label.  The page-fault handler first lets the VMM resolve the
; fault (a lazily committed user page is backed as usual); if it cannot, and
; the faulting EIP is inside one of these ranges, it resumes at the fixup,
; which returns -1 instead of the kernel faulting.  Nothing is pushed on the
; stack between the start of a range and a possible fault, so the fixup can
; unwind with the same pops as the normal return.
;
; SMAP (if on) is lifted around the access by the C callers (stac/clac).

section .text

global usercopy_fixups
global arch_copy_user, arch_strncpy_user

; int arch_copy_user(void *dst, const void *src, size_t n): 0, or -1 on a fault
arch_copy_user:
    push esi
    push edi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
.may_fault:
    rep movsb
.may_fault_end:
    xor eax, eax
    pop edi
    pop esi
    ret
.fixup:
    mov eax, -1
    pop edi
    pop esi
    ret

; long arch_strncpy_user(char *dst, const char *src, size_t max):
; copies up to and including the NUL; returns the string's length, max if
; there was no NUL among the first max bytes, or -1 on a fault
arch_strncpy_user:
    push esi
    push edi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    xor edx, edx
.loop:
    cmp edx, ecx
    je .done
.s_may_fault:
    mov al, [esi + edx]
.s_may_fault_end:
    mov [edi + edx], al
    test al, al
    jz .done
    inc edx
    jmp .loop
.done:
    mov eax, edx
    pop edi
    pop esi
    ret
.s_fixup:
    mov eax, -1
    pop edi
    pop esi
    ret

section .rodata
; { first faulting instruction, end of range, fixup }, terminated by zeros
usercopy_fixups:
    dd arch_copy_user.may_fault, arch_copy_user.may_fault_end, arch_copy_user.fixup
    dd arch_strncpy_user.s_may_fault, arch_strncpy_user.s_may_fault_end, arch_strncpy_user.s_fixup
    dd 0, 0, 0
