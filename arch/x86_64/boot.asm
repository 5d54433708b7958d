; arch/x86_64/boot.asm - the 64-bit kernel's entry: Multiboot 2 header, a
; 32-bit start that builds the early page tables and switches to long mode,
; then the jump to the higher half.
;
; GRUB enters _start in 32-bit protected mode, paging off, at the physical
; address the header's entry tag gives (the ELF entry is a -2 GiB address it
; could not jump to).  The early tables, all in .bss (zeroed by the loader):
;
;   PML4[0]   -> pdpt_low[0]    -> pd_low: 0..1 GiB identity, 2 MiB pages
;                                  (only to survive the switch; the VMM
;                                  drops the user half at vmm_init)
;   PML4[256] -> pdpt_direct[0..7] -> pd_direct: 0..8 GiB of RAM at
;                                  0xFFFF800000000000, 2 MiB pages, NX
;                                  (the direct map: mm_kmap, the PMM metadata)
;   PML4[511] -> pdpt_high[510] -> pd_high[0] -> pt_image: the first
;                                  2 MiB at 0xFFFFFFFF80000000, 4 KiB pages,
;                                  W^X: text (and the boot code) read-only
;                                  and executable, rodata read-only NX,
;                                  everything else writable NX; the page
;                                  below the boot stack left out (a guard)
;
; Then CR4.PAE, EFER.LME and EFER.NXE (NX is set in the direct map and by
; the VMM: a reserved bit without NXE), CR0.PG|WP, a 64-bit GDT, a far
; jump into 64-bit code and an absolute jump to the higher half.

KERNEL_VMA  equ 0xFFFFFFFF80000000
DIRECT_GIB  equ 8
MB2_MAGIC   equ 0xE85250D6
PAGE_P_W    equ 0x3
PAGE_LARGE  equ 0x83                ; present, writable, 2 MiB
extern _text_end, _rodata_end       ; arch/x86_64/linker.ld

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd MB2_MAGIC
    dd 0                            ; i386 protected-mode entry
    dd mb2_end - mb2_header
    dd 0x100000000 - (MB2_MAGIC + (mb2_end - mb2_header))
    align 8
    dw 3, 0                         ; entry address tag
    dd 12
    dd _start - KERNEL_VMA
    align 8
    dw 0, 0                         ; end tag
    dd 8
mb2_end:

section .boot32 progbits alloc exec nowrite align=16
bits 32
global _start
_start:
    cli
    mov edi, eax                    ; Multiboot 2 magic, first argument of kmain
    mov esi, ebx                    ; physical address of the information, second

    mov eax, 0x80000000             ; long mode available?
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode

    mov eax, pdpt_low - KERNEL_VMA + PAGE_P_W
    mov [pml4 - KERNEL_VMA], eax
    mov eax, pdpt_direct - KERNEL_VMA + PAGE_P_W
    mov [pml4 - KERNEL_VMA + 256 * 8], eax
    mov eax, pdpt_high - KERNEL_VMA + PAGE_P_W
    mov [pml4 - KERNEL_VMA + 511 * 8], eax
    mov eax, pd_low - KERNEL_VMA + PAGE_P_W
    mov [pdpt_low - KERNEL_VMA], eax
    mov eax, pd_high - KERNEL_VMA + PAGE_P_W
    mov [pdpt_high - KERNEL_VMA + 510 * 8], eax
    mov eax, pt_image - KERNEL_VMA + PAGE_P_W
    mov [pd_high - KERNEL_VMA], eax

    xor ecx, ecx                    ; pt_image: 512 pages of 4 KiB, W^X
.image:
    mov eax, ecx
    shl eax, 12
    mov edx, 0x80000000             ; NX unless text
    mov ebx, 0x3                    ; present, writable
    cmp eax, _rodata_end - KERNEL_VMA
    jae .image_set
    mov ebx, 0x1                    ; rodata and text: read-only
    cmp eax, _text_end - KERNEL_VMA
    jae .image_set
    cmp eax, 0x100000
    jb .image_set                   ; below the image: firmware, NX
    xor edx, edx                    ; text: executable
.image_set:
    or eax, ebx
    mov [pt_image - KERNEL_VMA + ecx * 8], eax
    mov [pt_image - KERNEL_VMA + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, 512
    jne .image
    mov eax, boot_stack_guard - KERNEL_VMA ; unmap the page below the boot stack:
    shr eax, 12                     ; an overflow faults (a double fault, on IST 1)
    mov dword [pt_image - KERNEL_VMA + eax * 8], 0

    xor ecx, ecx                    ; pd_low: the first GiB, 2 MiB pages
.low:
    mov eax, ecx
    shl eax, 21
    or eax, PAGE_LARGE
    mov [pd_low - KERNEL_VMA + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jne .low

    xor ecx, ecx                    ; pdpt_direct: one directory per GiB
.direct_dirs:
    mov eax, ecx
    shl eax, 12
    add eax, pd_direct - KERNEL_VMA + PAGE_P_W
    mov [pdpt_direct - KERNEL_VMA + ecx * 8], eax
    inc ecx
    cmp ecx, DIRECT_GIB
    jne .direct_dirs

    xor ecx, ecx                    ; pd_direct: 8 GiB, 2 MiB pages, NX
.direct:
    mov eax, ecx
    shl eax, 21
    or eax, PAGE_LARGE
    mov edx, ecx
    shr edx, 11
    or edx, 0x80000000
    mov [pd_direct - KERNEL_VMA + ecx * 8], eax
    mov [pd_direct - KERNEL_VMA + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, 512 * DIRECT_GIB
    jne .direct

    mov eax, pml4 - KERNEL_VMA
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov ecx, 0xC0000080             ; EFER
    rdmsr
    or eax, (1 << 8) | (1 << 11)    ; LME, NXE
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1 ; PG, WP, PE
    mov cr0, eax
    lgdt [gdt_ptr32 - KERNEL_VMA]
    jmp 0x08:(long_low - KERNEL_VMA)

.no_long_mode:
    mov dx, 0x3F8
    mov esi, no_long_msg - KERNEL_VMA
.say:
    lodsb
    test al, al
    jz .stop
    out dx, al
    jmp .say
.stop:
    hlt
    jmp .stop

bits 64
long_low:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rax, long_high
    jmp rax

section .text
long_high:
    lgdt [gdt_ptr64]                ; the GDT at its higher-half address
    mov rsp, boot_stack_top
    xor ebp, ebp
    extern kmain
    call kmain                      ; (magic, info): edi, esi - the shared kernel/kmain.c
.halt:
    cli
    hlt
    jmp .halt

section .rodata
no_long_msg: db "memkernel x86-64: this CPU has no long mode", 13, 10, 0

section .data
align 16
gdt64:
    dq 0
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit kernel code
    dq 0x00CF92000000FFFF           ; 0x10: kernel data
gdt64_end:
gdt_ptr32:
    dw gdt64_end - gdt64 - 1
    dd gdt64 - KERNEL_VMA
gdt_ptr64:
    dw gdt64_end - gdt64 - 1
    dq gdt64

section .bss
align 4096
global boot_pml4
boot_pml4:
pml4:        resb 4096
pdpt_low:    resb 4096
pdpt_high:   resb 4096
pdpt_direct: resb 4096
pd_low:      resb 4096
pd_high:     resb 4096
global boot_pt_image
boot_pt_image:
pt_image:    resb 4096
pd_direct:   resb 4096 * DIRECT_GIB
global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
             resb 4096              ; unmapped: catches boot stack overflow
boot_stack_bottom:
             resb 16384
boot_stack_top:
