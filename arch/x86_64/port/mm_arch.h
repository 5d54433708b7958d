/*
 * arch/x86_64/port/mm_arch.h - what mm/ must know about the 64-bit kernel
 * at compile time: the x86-64 paging description and the layout.
 *
 *   0x0000000000001000 .. 0x00007FFFFFFFF000   user space (47 bits)
 *   0xFFFF800000000000 .. +8 GiB               direct map of RAM (boot.asm)
 *   0xFFFF800200000000 .. 0xFFFF800400000000   boot-time mappings
 *   0xFFFFC00000000000 .. 0xFFFFE00000000000   kernel regions (heap, pages, stacks)
 *   0xFFFFFFFF7FE00000 .. 0xFFFFFFFF80000000   reserved for mapping windows
 *   0xFFFFFFFF80000000 ..                      the kernel image (-2 GiB)
 */
#ifndef ARCH_X86_64_PORT_MM_ARCH_H
#define ARCH_X86_64_PORT_MM_ARCH_H

#include "arch/x86_64/layout.h"
#include "mm/paging_x86_64.h"

#define VMM_USER_START USER_START
#define VMM_USER_END USER_END
#define VMM_KERNEL_BASE X86_64_DIRECT_BASE
#define VMM_KERNEL_END 0xFFFFFFFFFFFFF000ull
#define VMM_LOWMAP_END (X86_64_DIRECT_BASE + X86_64_DIRECT_BYTES)
#define VMM_BOOTMAP_START 0xFFFF800200000000ull
#define VMM_BOOTMAP_END 0xFFFF800400000000ull
#define VMM_KREGION_START 0xFFFFC00000000000ull
#define VMM_KREGION_END 0xFFFFE00000000000ull
#define VMM_WINDOW_START 0xFFFFFFFF7FE00000ull
#define VMM_WINDOW_END X86_64_KERNEL_VMA
#define VMM_META_SIZE 0x0000000000400000ull

#endif /* ARCH_X86_64_PORT_MM_ARCH_H */
