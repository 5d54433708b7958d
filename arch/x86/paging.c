/*
 * arch/x86/paging.c - temporary mapping windows over the boot page tables.
 *
 * The window page table lives in the kernel image (.bss), so it is reachable
 * through the low linear map and its physical address is known.  It is
 * installed in the boot page directory's kernel half, which every later
 * address space shares.
 */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"

#define PTE_PRESENT 0x001u
#define PTE_WRITABLE 0x002u
#define PTE_GLOBAL 0x100u

extern char _text_start[], _rodata_end[];

static uint32_t window_table[1024] __attribute__((aligned(4096)));

void paging_early_init(void)
{
    early_page_directory[WINDOW_START >> 22] =
        lowmap_phys(window_table) | PTE_PRESENT | PTE_WRITABLE;
    load_cr3(read_cr3());
}

static uintptr_t slot_address(unsigned slot)
{
    return WINDOW_START + (uintptr_t)slot * 4096u;
}

void *window_map(unsigned slot, uint32_t paddr)
{
    slot &= WINDOW_PAGES - 1;
    window_table[slot] = (paddr & ~0xFFFu) | PTE_PRESENT | PTE_WRITABLE;
    invlpg(slot_address(slot));
    return (void *)(slot_address(slot) + (paddr & 0xFFFu));
}

void window_unmap(unsigned slot)
{
    slot &= WINDOW_PAGES - 1;
    window_table[slot] = 0;
    invlpg(slot_address(slot));
}

uint32_t paging_boot_directory(void)
{
    return lowmap_phys(early_page_directory);
}

void paging_protect_kernel(int global)
{
    uint32_t ro_start = lowmap_phys(_text_start) >> 12, ro_end = lowmap_phys(_rodata_end) >> 12;
    for (uint32_t i = 0; i < 4 * 1024; i++) {
        if (!(early_page_tables[i] & PTE_PRESENT))
            continue;
        if (i >= ro_start && i < ro_end)
            early_page_tables[i] &= ~PTE_WRITABLE;
        if (global)
            early_page_tables[i] |= PTE_GLOBAL;
    }
    load_cr3(read_cr3());
}
