/*
 * arch/x86_64/layout.h - where things are in the 64-bit kernel's address
 * space (the VMM's view of it is arch/x86_64/port/mm_arch.h):
 *
 *   0x0000000000001000 .. 0x00007FFFFFFFF000   user space (47 bits)
 *   0xFFFF800000000000 .. +8 GiB               direct map of RAM (boot.asm)
 *   0xFFFF800200000000 .. 0xFFFF800400000000   boot-time mappings (unused:
 *                                              the direct map serves)
 *   0xFFFFC00000000000 .. 0xFFFFE00000000000   kernel regions (heap, pages, stacks)
 *   0xFFFFFFFF7FE00000 .. 0xFFFFFFFF80000000   reserved for mapping windows
 *   0xFFFFFFFF80000000 ..                      the kernel image (-2 GiB)
 *
 * arch/x86_64/linker.ld and boot.asm repeat KERNEL_VMA and the direct map's
 * size; arch/x86_64/arch.c checks at boot that they agree.
 */
#ifndef ARCH_X86_64_LAYOUT_H
#define ARCH_X86_64_LAYOUT_H

#define X86_64_DIRECT_BASE 0xFFFF800000000000ull
#define X86_64_DIRECT_BYTES 0x0000000200000000ull /* 8 GiB: boot.asm's DIRECT_GIB */
#define X86_64_KERNEL_VMA 0xFFFFFFFF80000000ull

#define KERNEL_VMA X86_64_KERNEL_VMA
#define KERNEL_PHYS 0x00100000ull        /* where GRUB loads the image */
#define KERNEL_IMAGE_LIMIT 0x00200000ull /* boot.asm maps the image with one page table */
/* Reports print addresses with 16 hex digits: the 8 before a 32-bit one. */
#define KARCH_ADDR_PAD "00000000"
#define USER_START 0x0000000000001000ull
#define USER_END 0x00007FFFFFFFF000ull

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Physical address of a kernel-image address (the image is linked at KERNEL_VMA + its load
 * address). */
static inline uint64_t kernel_image_phys(const void *va)
{
    return (uint64_t)(uintptr_t)va - X86_64_KERNEL_VMA;
}

/* Kernel pointer to physical memory through the direct map. */
static inline void *lowmap_virt(uint64_t pa)
{
    return (void *)(uintptr_t)(X86_64_DIRECT_BASE + pa);
}
#endif

#endif /* ARCH_X86_64_LAYOUT_H */
