; boot/entry.asm - Multiboot 1 and Multiboot 2 headers, and the entry point.
;
; Both headers sit at the start of the image (.multiboot is the first thing
; linker.ld places), inside the first 8 KiB as Multiboot 1 requires and 8-byte
; aligned as Multiboot 2 requires.  GRUB's `multiboot` and QEMU's -kernel find
; the first, GRUB's `multiboot2` the second.  Either way we arrive at _start in
; 32-bit protected mode, paging off, with the loader's magic in EAX and the
; physical address of its information structure in EBX.
;
; _start runs at its physical address (it is linked in .boot).  It builds the
; early page tables: the first 16 MiB of physical memory mapped twice, at 0
; (identity, so the instruction after "paging on" still exists) and at
; KERNEL_VMA.  It turns paging on, jumps to the higher half, drops the
; identity mapping, switches to the boot stack (with an unmapped guard page
; below it) and calls kmain(magic, info_phys).  kmain checks the magic.

KERNEL_VMA      equ 0xC0000000
EARLY_TABLES    equ 4                   ; page tables = 16 MiB mapped
PTE_PRESENT     equ 1
PTE_WRITABLE    equ 2

MB1_MAGIC       equ 0x1BADB002
MB1_FLAGS       equ (1 << 0) | (1 << 1) ; page-align modules, give memory info
MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0

section .multiboot
align 4
mb1_header:
    dd MB1_MAGIC
    dd MB1_FLAGS
    dd -(MB1_MAGIC + MB1_FLAGS)

align 8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; information request: command line, modules, basic memory, memory map
    align 8
.info_req:
    dw 1, 0
    dd .info_req_end - .info_req
    dd 1, 3, 4, 6
.info_req_end:
    ; modules page aligned
    align 8
    dw 6, 0
    dd 8
    ; end tag
    align 8
    dw 0, 0
    dd 8
mb2_header_end:

section .boot.text
global _start
_start:
    cli
    cld
    mov esi, eax                        ; keep the loader's magic and info
    mov edi, ebx

    ; Fill the early page tables: entry i maps physical page i.
    mov ebx, early_page_tables - KERNEL_VMA
    xor ecx, ecx
.fill:
    mov eax, ecx
    shl eax, 12
    or eax, PTE_PRESENT | PTE_WRITABLE
    mov [ebx + ecx * 4], eax
    inc ecx
    cmp ecx, EARLY_TABLES * 1024
    jne .fill

    ; Unmap the guard page below the boot stack so an overflow faults.
    mov eax, boot_stack_guard - KERNEL_VMA
    shr eax, 12
    mov dword [ebx + eax * 4], 0

    ; The page directory: the same tables at 0 and at KERNEL_VMA.
    mov edx, early_page_directory - KERNEL_VMA
    xor ecx, ecx
.pde:
    mov eax, ecx
    shl eax, 12
    add eax, ebx
    or eax, PTE_PRESENT | PTE_WRITABLE
    mov [edx + ecx * 4], eax
    mov [edx + (KERNEL_VMA >> 22) * 4 + ecx * 4], eax
    inc ecx
    cmp ecx, EARLY_TABLES
    jne .pde

    mov cr3, edx
    mov eax, cr0
    or eax, 0x80000000                  ; PG
    mov cr0, eax
    lea eax, [higher_half]
    jmp eax                             ; absolute jump into the higher half

section .text
extern kmain
higher_half:
    ; Drop the identity mapping: from here on only the higher half exists.
    xor ecx, ecx
.drop:
    mov dword [early_page_directory + ecx * 4], 0
    inc ecx
    cmp ecx, EARLY_TABLES
    jne .drop
    mov eax, cr3
    mov cr3, eax

    mov esp, boot_stack_top
    xor ebp, ebp                        ; terminates backtraces
    push edi                            ; info (physical)
    push esi                            ; magic
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .bss.pagetables nobits alloc write
align 4096
global early_page_directory, early_page_tables
early_page_directory:
    resb 4096
early_page_tables:
    resb 4096 * EARLY_TABLES
global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
    resb 4096                           ; unmapped: catches boot stack overflow
boot_stack_bottom:
    resb 16384
boot_stack_top:
