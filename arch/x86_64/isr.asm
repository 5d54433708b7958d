; arch/x86_64/isr.asm - the 64-bit kernel's interrupt entry stubs: each of
; the 256 vectors pushes an error code (0 where the CPU pushes none) and its
; number, saves the general registers as a struct trap_frame
; (arch/x86_64/trap.h) and calls trap_dispatch(frame); returning from it
; resumes the interrupted code with whatever the handler left in the frame.
; The System V ABI wants RSP 16-byte aligned at a call; the stub aligns it
; itself (a handler may be entered with any alignment on the IST stack or
; from ring 3) and restores it after the call.

bits 64
section .text
extern trap_dispatch
; isr_common is also where a system call joins (syscall_entry.asm);
; trap_return is where a new process's first context_switch returns to.
global isr_common, trap_return

%macro STUB 1
isr%1:
%if %1 != 8 && %1 != 10 && %1 != 11 && %1 != 12 && %1 != 13 && %1 != 14 && %1 != 17 && %1 != 21
    push 0
%endif
    push %1
    jmp isr_common
%endmacro

%assign i 0
%rep 256
STUB i
%assign i i + 1
%endrep

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp                    ; the frame
    mov rbx, rsp                    ; callee-saved: the frame again, after the call
    and rsp, -16
    call trap_dispatch
    mov rsp, rbx
trap_return:                        ; rsp: a struct trap_frame
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                     ; vector and error code
    iretq

section .rodata
global isr_stub_table
isr_stub_table:
%assign i 0
%rep 256
    dq isr %+ i
%assign i i + 1
%endrep
