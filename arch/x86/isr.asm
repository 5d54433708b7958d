; arch/x86/isr.asm - one entry stub per interrupt vector.
;
; Every stub makes the stack look the same (an error code, real or a pushed
; 0, then the vector number), and jumps to trap_common, which saves the
; general registers and segment registers into a struct trap_frame
; (arch/x86/trap.h), loads the kernel data segments and calls
; trap_dispatch(frame).  Vector 8 (#DF) has no stub: it goes through a task
; gate to its own TSS (arch/x86/gdt.c).

section .text
extern trap_dispatch

%macro ISR_NOERR 1
isr_stub_%1:
    push dword 0
    push dword %1
    jmp trap_common
%endmacro

%macro ISR_ERR 1
isr_stub_%1:
    push dword %1
    jmp trap_common
%endmacro

; Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30.
%assign v 0
%rep 256
  %if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
    ISR_ERR v
  %else
    ISR_NOERR v
  %endif
  %assign v v + 1
%endrep

global trap_common
trap_common:
    pushad
    push ds
    push es
    push fs
    push gs
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    cld
    push esp                    ; struct trap_frame *
    call trap_dispatch
    add esp, 4
global trap_return
trap_return:
    pop gs
    pop fs
    pop es
    pop ds
    popad
    add esp, 8                  ; vector and error code
    iretd

section .rodata
global isr_stub_table
isr_stub_table:
%assign v 0
%rep 256
    dd isr_stub_ %+ v
  %assign v v + 1
%endrep
