; user/lib/i686/syscall.asm - the one place ring 3 enters the kernel.
;
; long sys_call(long number, long a1, long a2, long a3, long a4, long a5)
;
; The ABI (kernel/syscall_nr.h, docs/syscalls.md): eax = number, ebx ecx
; edx esi edi = arguments, int 0x80, result in eax (-4095..-1 = -errno).
; ebx, esi and edi are callee-saved in the C calling convention, so they
; are saved here; the kernel preserves every register but eax.

bits 32
section .text

global sys_call

sys_call:
    push ebx
    push esi
    push edi
    mov eax, [esp + 16]     ; 3 saved registers + the return address
    mov ebx, [esp + 20]
    mov ecx, [esp + 24]
    mov edx, [esp + 28]
    mov esi, [esp + 32]
    mov edi, [esp + 36]
    int 0x80
    pop edi
    pop esi
    pop ebx
    ret
