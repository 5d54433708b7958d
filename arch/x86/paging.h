/*
 * arch/x86/paging.h - the early page tables and the temporary mapping windows.
 *
 * boot/entry.asm maps the first 16 MiB of physical memory at KERNEL_VMA.
 * paging_early_init() adds one page table covering WINDOW_START (1024
 * window slots) to the boot page directory; a window maps any physical page
 * below 4 GiB at a fixed kernel address, for code that must read or write
 * memory outside the low linear map (boot information, page tables of any
 * address space, frames being zeroed).
 */
#ifndef ARCH_X86_PAGING_H
#define ARCH_X86_PAGING_H

#include <stdint.h>

extern uint32_t early_page_directory[1024];
extern uint32_t early_page_tables[4 * 1024];

/*
 * Give the kernel image its real permissions in the early tables: text and
 * rodata read-only, everything global when `global` (CR4.PGE will be on).
 * Takes effect for the kernel once CR0.WP is set.
 */
void paging_protect_kernel(int global);

void paging_early_init(void);

/*
 * Map the physical page containing `paddr` at window `slot` (< WINDOW_PAGES)
 * and return the kernel address of `paddr` itself.  The caller owns the slot
 * until it maps something else there or calls window_unmap.
 */
void *window_map(unsigned slot, uint32_t paddr);
void window_unmap(unsigned slot);

/* Window slots with a fixed owner. */
#define WINDOW_SLOT_BOOTINFO 0u
#define WINDOW_SLOT_KMAP 4u       /* 4 slots: mm_kmap's stack of temporary mappings */
#define WINDOW_SLOT_FIRST_FREE 8u /* slots from here on are free for other users */

/* Physical address of the boot page directory. */
uint32_t paging_boot_directory(void);

#endif /* ARCH_X86_PAGING_H */
