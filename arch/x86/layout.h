/*
 * arch/x86/layout.h - where things are in the kernel's virtual address space.
 *
 *   0x00000000 - 0x00000FFF   never mapped (catches NULL)
 *   0x00001000 - 0xBFFFFFFF   user space
 *   0xC0000000 - 0xC0FFFFFF   first 16 MiB of physical memory, linear
 *                             (va = pa + KERNEL_VMA): kernel image at 1 MiB,
 *                             boot info, low memory
 *   0xC1000000 - 0xCFFFFFFF   boot-time permanent mappings (PMM metadata)
 *   0xD0000000 - 0xEFFFFFFF   kernel regions managed by the VMM
 *   0xFF000000 - 0xFF3FFFFF   temporary mapping windows (one page table)
 *
 * linker.ld repeats KERNEL_VMA; kernel/kmain.c checks at boot that the two agree.
 */
#ifndef ARCH_X86_LAYOUT_H
#define ARCH_X86_LAYOUT_H

#define KERNEL_VMA          0xC0000000u
#define KERNEL_PHYS         0x00100000u
#define LOWMAP_SIZE         0x01000000u /* physical memory mapped linearly at KERNEL_VMA */
#define BOOTMAP_START       0xC1000000u
#define BOOTMAP_END         0xD0000000u
#define KREGION_START       0xD0000000u
#define KREGION_END         0xF0000000u
#define WINDOW_START        0xFF000000u
#define WINDOW_PAGES        1024u
#define USER_START          0x00001000u
#define USER_END            0xC0000000u

#ifndef __ASSEMBLER__
#include <stdint.h>
/* Physical address of a kernel virtual address inside the low linear map. */
static inline uint32_t lowmap_phys(const void *va)
{
    return (uint32_t)(uintptr_t)va - KERNEL_VMA;
}
/* Kernel pointer to physical memory below LOWMAP_SIZE. */
static inline void *lowmap_virt(uint32_t pa)
{
    return (void *)(uintptr_t)(pa + KERNEL_VMA);
}
/* The kernel image's physical address and how far it may reach (the boot's low map). */
static inline uint32_t kernel_image_phys(const void *va)
{
    return lowmap_phys(va);
}
#define KERNEL_IMAGE_LIMIT LOWMAP_SIZE
/* Reports print addresses with 8 hex digits: nothing to add before a 32-bit one. */
#define KARCH_ADDR_PAD ""
#endif

#endif /* ARCH_X86_LAYOUT_H */
