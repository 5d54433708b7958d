; user/lib/privileged.asm - instructions ring 3 must not be able to run,
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
