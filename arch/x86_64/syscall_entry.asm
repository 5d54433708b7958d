; arch/x86_64/syscall_entry.asm - where the syscall instruction lands
; (MSR_LSTAR, set by arch_syscall_init in arch/x86_64/syscall.c).
;
; syscall does almost nothing for the kernel: it loads CS and SS from
; MSR_STAR, puts the user's rip in rcx and rflags in r11, clears the flags
; of MSR_SFMASK (IF, TF, DF, AC, NT) and jumps here - still on the user's
; stack, with the user's GS.  So the entry:
;
;   1. swapgs: GS base becomes this CPU's block (syscall_cpu, through
;      MSR_KERNEL_GS_BASE), the user's GS base is parked in that MSR;
;   2. parks the user rsp in the block and loads the kernel stack of the
;      running process (the block's copy of TSS.RSP0);
;   3. pushes what an interrupt from ring 3 would have pushed (ss, rsp,
;      rflags, cs, rip), then swapgs back - GS is not used past here, so
;      the window with the kernel's GS is these few instructions, all with
;      interrupts off (SFMASK cleared IF) and none that can fault but the
;      pushes onto the kernel stack (a broken kernel stack is a double
;      fault on its own IST stack);
;   4. pushes error code 0 and vector SYS_VECTOR and joins isr_common
;      (isr.asm): from there on a system call is the same struct trap_frame
;      as an interrupt, dispatched to the handler of SYS_VECTOR.
;
; The way back is isr_common's iretq, not sysretq.  iretq restores exactly
; the frame, including one the kernel rewrote (a first entry, a signal-like
; redirect), and has none of sysret's traps: sysret to a non-canonical rcx
; faults in ring 0 on the user's stack (Intel), which is why kernels that
; use it check rcx first.  The cost is a few dozen cycles per call.

bits 64

SEL_USER_DATA equ 0x1B      ; arch/x86_64/trap.h
SEL_USER_CODE equ 0x23
SYS_VECTOR    equ 0x80      ; kernel/syscall_nr.h

section .bss
align 16
; The per-CPU block: [0] kernel stack top of the running process (RSP0),
; [8] the user rsp while the frame is built.
global syscall_cpu
syscall_cpu:
    resq 2

section .text
extern isr_common
global syscall_entry

syscall_entry:
    swapgs
    mov [gs:8], rsp
    mov rsp, [gs:0]
    push qword SEL_USER_DATA    ; ss
    push qword [gs:8]           ; rsp
    push r11                    ; rflags
    push qword SEL_USER_CODE    ; cs
    push rcx                    ; rip
    swapgs
    push qword 0                ; error code
    push qword SYS_VECTOR       ; vector
    jmp isr_common
