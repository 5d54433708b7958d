/*
 * arch/x86/port/mm_arch.h - what mm/ must know about this kernel at compile
 * time: the paging format (one description from mm/) and the layout of the
 * address space (arch/x86/layout.h, the kernel's own map of it).  mm/pte.h
 * includes it by this name; the kernel and the user build put this
 * directory on the include path.  docs/memory-layout.md draws the layout.
 */
#ifndef ARCH_X86_PORT_MM_ARCH_H
#define ARCH_X86_PORT_MM_ARCH_H

#include "arch/x86/layout.h"
#include "mm/paging_i386.h"

/* The split: user space below, the kernel half above (whole top-level entries). */
#define VMM_USER_START USER_START /* page 0 is never mapped */
#define VMM_USER_END USER_END
#define VMM_KERNEL_BASE KERNEL_VMA
#define VMM_KERNEL_END 0xFFFFF000u /* the last page is never used (no wrap to 0) */
/* Fixed kernel areas, recorded by vmm_init as permanent regions. */
#define VMM_LOWMAP_END (KERNEL_VMA + LOWMAP_SIZE) /* low RAM, linear, mapped by boot */
#define VMM_BOOTMAP_START BOOTMAP_START           /* boot-time permanent mappings (PMM metadata) */
#define VMM_BOOTMAP_END BOOTMAP_END
#define VMM_KREGION_START KREGION_START /* kernel regions: heap, page allocator, stacks */
#define VMM_KREGION_END KREGION_END
#define VMM_WINDOW_START WINDOW_START /* the port's temporary mapping windows (mm_kmap) */
#define VMM_WINDOW_END (WINDOW_START + WINDOW_PAGES * 4096u)
#define VMM_META_SIZE 0x00400000u /* the VMM's own region-record pages, first in KREGION */

#endif /* ARCH_X86_PORT_MM_ARCH_H */
