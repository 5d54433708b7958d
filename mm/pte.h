/*
 * mm/pte.h - page-table entries as the VMM reads them: the x86 family's
 * entry bits and small helpers, generic over the paging format the port
 * selects (mm_arch.h includes one description: mm/paging_i386.h,
 * mm/paging_x86_64.h).  The description gives the entry width (pte_t), the
 * number of levels, the index bits per level, the frame mask, the NX bit and
 * the physical reach; everything below is derived from those, so the VMM
 * has no per-architecture code.  It lives in mm/ so that mm/ travels alone.
 *
 * Levels are numbered from the leaf: level 0 is a page table whose entries
 * name 4 KiB frames, level PG_LEVELS - 1 is the top (a page directory on
 * i386, a PML4 on x86-64).  Every table is one 4 KiB frame of PT_ENTRIES
 * entries; a virtual address splits into one index per level and the
 * 12-bit offset.  A LEAF CHUNK is what one level-0 table maps (PT_SPAN:
 * 4 MiB on i386, 2 MiB on x86-64).
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
 *                         handler backs it (W, U, G, NX...): one OR and it is done
 *     PTE_LAZY|PTE_HIDDEN committed, not backed, protection NONE (any touch
 *                         is a protection fault)
 *     frame | PTE_HIDDEN  backed, protection NONE: the frame and its bits are
 *       | bits            kept, only P is off (x86 has no "present but no
 *                         access"); PTE_OWNED as for a present entry
 *
 * A present entry never carries PTE_LAZY or PTE_HIDDEN.  Header-only; no
 * instruction is executed here (CR3/invlpg reach mm/ through mm/port.h).
 */
#ifndef MM_PTE_H
#define MM_PTE_H

#include <stdbool.h>
#include <stdint.h>

#include "mm_arch.h" /* the port's: one paging description and the layout */

#if !defined(PG_LEVELS) || !defined(PG_INDEX_BITS) || !defined(PG_FRAME_MASK) ||                 \
    !defined(PG_NX) || !defined(PG_PHYS_LIMIT)
#error "mm_arch.h must include a paging description (mm/paging_i386.h, mm/paging_x86_64.h)"
#endif

/* Hardware bits, the same low 12 bits in every x86 format. */
#define PTE_PRESENT ((pte_t)0x001u)
#define PTE_WRITABLE ((pte_t)0x002u)
#define PTE_USER ((pte_t)0x004u)
#define PTE_WRITETHROUGH ((pte_t)0x008u)
#define PTE_NOCACHE ((pte_t)0x010u)
#define PTE_ACCESSED ((pte_t)0x020u)
#define PTE_DIRTY ((pte_t)0x040u)  /* leaf only */
#define PDE_LARGE ((pte_t)0x080u)  /* non-leaf only: a large page, not a table */
#define PTE_GLOBAL ((pte_t)0x100u) /* leaf only: survives a CR3 reload (CR4.PGE) */
#define PTE_NX PG_NX               /* execute-disable; 0 when the format has none */

/* Software bits (see the table above). */
#define PTE_OWNED ((pte_t)0x200u)  /* the frame is the VMM's: freed when the entry is cleared */
#define PTE_LAZY ((pte_t)0x400u)   /* non-present: committed, frame not allocated yet */
#define PTE_HIDDEN ((pte_t)0x800u) /* non-present: protection NONE */

#define PTE_FRAME_MASK PG_FRAME_MASK
#define PTE_FLAGS_MASK ((pte_t)~PG_FRAME_MASK)
/* Bits the CPU sets by itself; comparisons of entries ignore them. */
#define PTE_HW_SET_BITS (PTE_ACCESSED | PTE_DIRTY)

#define PT_ENTRIES (1u << PG_INDEX_BITS)
#define PT_SPAN ((uintptr_t)PT_ENTRIES << 12) /* bytes mapped by one leaf table */
#define PG_TOP (PG_LEVELS - 1u)               /* level number of the top table */

_Static_assert(sizeof(pte_t) * PT_ENTRIES == 4096u, "a page table is one frame");
_Static_assert(12u + PG_INDEX_BITS * PG_LEVELS <= 8u * sizeof(uintptr_t),
               "the indices fit in a virtual address");

/* Shift of the index of `level` in a virtual address. */
static inline unsigned pg_shift(unsigned level)
{
    return 12u + PG_INDEX_BITS * level;
}

/* Index of va in its table of `level`. */
static inline unsigned pg_index(uintptr_t va, unsigned level)
{
    return (unsigned)((va >> pg_shift(level)) & (PT_ENTRIES - 1u));
}

/* Bytes one entry of `level` covers (a level-0 entry: one page). */
static inline uintptr_t pg_entry_span(unsigned level)
{
    return (uintptr_t)1 << pg_shift(level);
}

/* Index in the top table (the page directory on i386). */
static inline unsigned pde_index(uintptr_t va)
{
    return pg_index(va, PG_TOP);
}

/* Index in the leaf table. */
static inline unsigned pte_index(uintptr_t va)
{
    return pg_index(va, 0);
}

static inline pte_t pte_make(uint64_t frame, pte_t flags)
{
    return ((pte_t)frame & PTE_FRAME_MASK) | (flags & PTE_FLAGS_MASK);
}

static inline uint64_t pte_frame(pte_t e)
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

/* Would a present entry allow this access?  (write, user, exec: as in the #PF error code) */
static inline bool pte_allows(pte_t e, bool write, bool user, bool exec)
{
    if (!pte_present(e))
        return false;
    if (write && !(e & PTE_WRITABLE))
        return false;
    if (exec && (e & PTE_NX))
        return false;
    return !user || (e & PTE_USER);
}

#endif /* MM_PTE_H */
