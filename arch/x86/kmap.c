/*
 * arch/x86/kmap.c - how mm/ reaches physical memory on i686 (mm/port.h).
 *
 * Frames inside the low linear map (the first 16 MiB) need no mapping at
 * all; others get a window slot from a small stack of slots, because the
 * VMM nests at most two mappings and releases them in reverse.
 */
#include "mm/port.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/paging.h"
#include "kernel/panic.h"

#define KMAP_SLOTS 4u
static unsigned kmap_depth;

/* i386 paging without PAE: an entry names a 32-bit frame address. */
uint64_t mm_phys_limit(void)
{
    return 1ull << 32;
}

void *mm_kmap(uint64_t frame)
{
    if (frame >= mm_phys_limit())
        panic("mm_kmap: frame 0x%llx is beyond the physical limit", (unsigned long long)frame);
    if (frame < LOWMAP_SIZE)
        return lowmap_virt((uint32_t)frame);
    unsigned long flags = irq_save();
    if (kmap_depth == KMAP_SLOTS)
        panic("mm_kmap: more than %u nested mappings", KMAP_SLOTS);
    void *p = window_map(WINDOW_SLOT_KMAP + kmap_depth++, (uint32_t)frame);
    irq_restore(flags);
    return p;
}

void mm_kunmap(void *ptr)
{
    uintptr_t va = (uintptr_t)ptr;
    if (va < WINDOW_START || va >= WINDOW_START + WINDOW_PAGES * 4096u)
        return; /* a low-map pointer: nothing was mapped */
    unsigned long flags = irq_save();
    unsigned slot = (unsigned)((va - WINDOW_START) >> 12);
    if (kmap_depth == 0 || slot != WINDOW_SLOT_KMAP + kmap_depth - 1)
        panic("mm_kunmap: 0x%08x is not the most recent mapping", (unsigned)va);
    window_unmap(slot);
    kmap_depth--;
    irq_restore(flags);
}
