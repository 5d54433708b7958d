; user/lib/x86_64/syscall.asm - the one place a 64-bit program enters the
; kernel.
;
; long sys_call(long number, long a1, long a2, long a3, long a4, long a5)
;
; The ABI (kernel/syscall_nr.h, docs/syscalls.md): rax = number, rdi rsi
; rdx r10 r8 = arguments, the syscall instruction, result in rax
; (-4095..-1 = -errno).  The C call brings number, a1..a5 in rdi rsi rdx
; rcx r8 r9, so each moves down one register; a3 goes to r10 because
; syscall itself overwrites rcx (the return address) and r11 (the flags),
; which the C convention lets a callee destroy anyway.  Nothing is
; callee-saved here: the kernel preserves every other register.

bits 64
section .text

global sys_call

sys_call:
    mov rax, rdi
    mov rdi, rsi
    mov rsi, rdx
    mov rdx, rcx
    mov r10, r8
    mov r8, r9
    syscall
    ret
