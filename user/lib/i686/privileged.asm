; user/lib/i686/privileged.asm - instructions ring 3 must not be able to run,
; for the test programs that check the kernel kills whoever tries.
;
; With IOPL 0 and no I/O permission bitmap, in/out raise #GP at ring 3;
; cli and hlt raise #GP at any CPL above 0.  None of these functions is
; expected to return; if one does, the caller reports that it survived.

bits 32
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
    mov edx, [esp + 4]
    xor eax, eax
    in al, dx
    ret

; void priv_outb(unsigned port, unsigned value)
priv_outb:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
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

; void priv_sgdt(void *six_bytes): store the GDT register (limit, base).
; With CR4.UMIP on this is #GP at ring 3; without it, it reveals the
; GDT's kernel address.
priv_sgdt:
    mov eax, [esp + 4]
    sgdt [eax]
    ret

; void priv_iret_to_v86(unsigned ip): a forged iret frame with EFLAGS.VM
; set and CS 0.  At CPL 3 a real CPU ignores VM and refuses the null CS
; (#GP); QEMU's TCG enters virtual-8086 mode and fetches from linear
; address ip, which faults there with CS = 0.  Either way the kernel must
; see a user fault and kill only this process.
priv_iret_to_v86:
    mov ecx, [esp + 4]
    push dword 0                ; gs
    push dword 0                ; fs
    push dword 0                ; ds
    push dword 0                ; es
    push dword 0                ; ss
    push dword 0x8000           ; esp
    push dword 0x00020202       ; eflags: VM, IF, reserved bit 1
    push dword 0                ; cs
    push ecx                    ; eip
    iretd

; The system-call entry must never touch the user stack: these enter the
; kernel with a stack pointer that points nowhere a program may write.
global priv_getpid_with_stack, priv_int80_getpid

; long priv_getpid_with_stack(unsigned long sp): getpid through the
; ordinary entry (int 0x80) with esp = sp; the kernel must answer as usual.
priv_getpid_with_stack:
    mov ecx, [esp + 4]
    push ebp
    mov ebp, esp
    mov esp, ecx
    mov eax, 5                  ; SYS_GETPID
    int 0x80
    mov esp, ebp
    pop ebp
    ret

; long priv_int80_getpid(void): getpid through int 0x80 - on i686 the
; system call itself.
priv_int80_getpid:
    mov eax, 5                  ; SYS_GETPID
    int 0x80
    ret
