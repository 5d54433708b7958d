; user/lib/x86_64/privileged.asm - instructions ring 3 must not be able to
; run, for the test programs that check the kernel kills whoever tries (the
; 64-bit versions of user/lib/i686/privileged.asm, same names, System V
; arguments in edi, esi).
;
; With IOPL 0 and no I/O permission bitmap, in/out raise #GP at ring 3;
; cli and hlt raise #GP at any CPL above 0.  None of these functions is
; expected to return; if one does, the caller reports that it survived.

bits 64
section .text

global priv_cli, priv_hlt, priv_inb, priv_outb

; void priv_cli(void)
priv_cli:
    cli
    ret

; void priv_hlt(void)
priv_hlt:
    hlt
    ret

; unsigned priv_inb(unsigned port)
priv_inb:
    mov edx, edi
    xor eax, eax
    in al, dx
    ret

; void priv_outb(unsigned port, unsigned value)
priv_outb:
    mov edx, edi
    mov eax, esi
    out dx, al
    ret

; Instructions that are legal at ring 3 but must not let a program see or
; reach kernel state; the kernel must kill whoever uses them this way.
global priv_load_ldt_selector, priv_sgdt, priv_iret_to_v86

; void priv_load_ldt_selector(void): load FS with selector 0x0F (index 1,
; TI = 1: the LDT, RPL 3).  The kernel has no LDT (LDTR is null): #GP.
priv_load_ldt_selector:
    mov eax, 0x0F
    mov fs, eax
    xor eax, eax
    mov fs, eax
    ret

; void priv_sgdt(void *ten_bytes): store the GDT register (limit, 64-bit
; base).  With CR4.UMIP on this is #GP at ring 3; without it, it reveals
; the GDT's kernel address.
priv_sgdt:
    sgdt [rdi]
    ret

; void priv_iret_to_v86(unsigned ip): a forged iretq frame with EFLAGS.VM
; set and CS 0.  Long mode has no virtual-8086 mode: the CPU ignores VM
; and refuses the null CS with #GP.  The kernel must see a user fault and
; kill only this process.
priv_iret_to_v86:
    mov ecx, edi
    push qword 0                ; ss
    push qword 0x8000           ; rsp
    push qword 0x00020202       ; rflags: VM, IF, reserved bit 1
    push qword 0                ; cs
    push rcx                    ; rip
    iretq

; The system-call entry must never touch the user stack: these enter the
; kernel with a stack pointer that points nowhere a program may write.
global priv_getpid_with_stack, priv_int80_getpid

; long priv_getpid_with_stack(unsigned long sp): getpid through the
; ordinary entry (syscall) with rsp = sp; the kernel must answer as usual.
priv_getpid_with_stack:
    push rbp
    mov rbp, rsp
    mov rsp, rdi
    mov eax, 5                  ; SYS_GETPID
    syscall
    mov rsp, rbp
    pop rbp
    ret

; long priv_int80_getpid(void): getpid the i686 way, int 0x80.  The 64-bit
; kernel has no DPL-3 gate there: #GP, the program is killed.
priv_int80_getpid:
    mov eax, 5                  ; SYS_GETPID
    int 0x80
    ret
