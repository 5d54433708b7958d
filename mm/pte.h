/*
 * mm/pte.h - i386 two-level paging entries (4 KiB pages, no PAE): the paging
 * format the VMM reads.  It lives in mm/ so that mm/ travels alone.
 *
 * A page directory (PD) holds 1024 entries (PDEs), each naming a page table
 * (PT) of 1024 entries (PTEs), each naming one 4 KiB frame: a virtual address
 * splits into PD index (bits 31..22), PT index (21..12) and offset (11..0).
 *
 * The hardware bits are the architecture's.  The three "available" bits
 * (9..11) and, in a NON-present entry, every bit but bit 0 belong to
 * software.  The VMM encodes the state of a page in its PTE so that a page
 * fault resolves from the entry alone, in O(1):
 *
 *   present entry (P=1)   frame | hardware bits | PTE_OWNED if the VMM
 *                         allocated the frame (it frees it when the entry goes)
 *
 *   non-present (P=0):
 *     0                   nothing known here: ask the region tree
 *     PTE_LAZY | bits     committed, not backed yet.  `bits` are the
 *                         hardware bits the page will get when the fault
 *                         handler backs it (W, U, G...): one OR and it is done
 *     PTE_LAZY|PTE_HIDDEN committed, not backed, protection NONE (any touch
 *                         is a protection fault)
 *     frame | PTE_HIDDEN  backed, protection NONE: the frame and its bits are
 *       | bits            kept, only P is off (x86 has no "present but no
 *                         access"); PTE_OWNED as for a present entry
 *
 * A present entry never carries PTE_LAZY or PTE_HIDDEN.  Header-only; no
 * instruction is executed here (CR3/invlpg live in arch/x86/cpu.h and reach
 * mm/ through mm/port.h).
 */
#ifndef MM_PTE_H
#define MM_PTE_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t pte_t;

/* Hardware bits, PDE and PTE alike unless stated. */
#define PTE_PRESENT 0x001u
#define PTE_WRITABLE 0x002u
#define PTE_USER 0x004u
#define PTE_WRITETHROUGH 0x008u
#define PTE_NOCACHE 0x010u
#define PTE_ACCESSED 0x020u
#define PTE_DIRTY 0x040u  /* PTE only */
#define PDE_LARGE 0x080u  /* PDE only: a 4 MiB page (CR4.PSE), not a page table */
#define PTE_GLOBAL 0x100u /* PTE only: survives a CR3 reload (CR4.PGE) */

/* Software bits (see the table above). */
#define PTE_OWNED 0x200u  /* the frame is the VMM's: freed when the entry is cleared */
#define PTE_LAZY 0x400u   /* non-present: committed, frame not allocated yet */
#define PTE_HIDDEN 0x800u /* non-present: protection NONE */

#define PTE_FRAME_MASK 0xFFFFF000u
#define PTE_FLAGS_MASK 0x00000FFFu
/* Bits the CPU sets by itself; comparisons of entries ignore them. */
#define PTE_HW_SET_BITS (PTE_ACCESSED | PTE_DIRTY)

#define PT_ENTRIES 1024u
#define PT_SPAN 0x400000u /* bytes mapped by one page table: 4 MiB */

_Static_assert(PT_ENTRIES * 4096u == PT_SPAN, "one page table maps 4 MiB");
_Static_assert(sizeof(pte_t) * PT_ENTRIES == 4096u, "a page table is one frame");

static inline unsigned pde_index(uintptr_t va)
{
    return (unsigned)((uint32_t)va >> 22);
}

static inline unsigned pte_index(uintptr_t va)
{
    return (unsigned)(((uint32_t)va >> 12) & (PT_ENTRIES - 1));
}

static inline pte_t pte_make(uint32_t frame, uint32_t flags)
{
    return (frame & PTE_FRAME_MASK) | (flags & PTE_FLAGS_MASK);
}

static inline uint32_t pte_frame(pte_t e)
{
    return e & PTE_FRAME_MASK;
}

static inline bool pte_present(pte_t e)
{
    return (e & PTE_PRESENT) != 0;
}

/* Committed but not backed (PROT_NONE included). */
static inline bool pte_is_lazy(pte_t e)
{
    return !(e & PTE_PRESENT) && (e & PTE_LAZY);
}

/* Backed, protection NONE. */
static inline bool pte_is_hidden(pte_t e)
{
    return !(e & PTE_PRESENT) && (e & PTE_HIDDEN) && !(e & PTE_LAZY);
}

/* The entry names a frame: present, or backed and hidden. */
static inline bool pte_has_frame(pte_t e)
{
    return pte_present(e) || pte_is_hidden(e);
}

/* Present -> hidden (protection NONE), keeping frame and bits. */
static inline pte_t pte_hide(pte_t e)
{
    return (e & ~PTE_PRESENT) | PTE_HIDDEN;
}

/* Hidden -> present again. */
static inline pte_t pte_reveal(pte_t e)
{
    return (e & ~PTE_HIDDEN) | PTE_PRESENT;
}

/* Would a present entry allow this access?  (write, user: as in the #PF error code) */
static inline bool pte_allows(pte_t e, bool write, bool user)
{
    if (!pte_present(e))
        return false;
    if (write && !(e & PTE_WRITABLE))
        return false;
    return !user || (e & PTE_USER);
}

#endif /* MM_PTE_H */
