; user/lib/x86_64/crt0.asm - the entry point of every 64-bit ring-3 program.
;
; The kernel enters _start at ring 3 with rsp = USER_STACK_TOP, interrupts
; on, and every other general register zero (docs/processes.md), as the
; i686 crt0 expects.  _start clears rbp (it ends every backtrace), aligns
; the stack to 16 bytes as the x86-64 System V ABI requires at a call, and
; hands over to libc_start (user/lib/start.c), which runs main and exits
; with its status.  _start is in .text.start so that user/user.ld places
; it first in the text segment.

bits 64
default rel
section .text.start progbits alloc exec nowrite align=16

global _start
extern libc_start

_start:
    xor ebp, ebp
    and rsp, -16
    call libc_start         ; never returns
    ud2                     ; if it did, fault rather than run off the end
