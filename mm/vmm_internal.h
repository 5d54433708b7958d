/*
 * mm/vmm_internal.h - what the VMM's files share and nobody else sees.
 *
 *   vmm.c         vmm_init, spaces, the fault entry point, accounting, stats
 *   vmm_pt.c      page tables: the entry walker, entry changes, TLB batching,
 *                 page-level map / unmap / query, resolving a fault
 *   vmm_region.c  region records (pool), reserve / commit / decommit /
 *                 protect / release, split and merge
 *   vmm_pages.c   the guarded kernel page allocator, kernel stacks, sources
 *   vmm_tree.c    the interval tree under the regions
 *
 * Every function here expects the VMM lock held (mm_lock_vmm) unless its
 * name says otherwise.
 */
#ifndef MM_VMM_INTERNAL_H
#define MM_VMM_INTERNAL_H

#include "mm/pte.h"
#include "mm/port.h"
#include "mm/vmm.h"

/* One piece of a reservation. */
struct vmm_region {
    struct vmm_tree_node node; /* first: a node pointer is a region pointer */
    uintptr_t base;            /* start of the reservation (pieces merge only within one) */
    uint8_t state;             /* enum vmm_region_state */
    uint8_t prot;              /* VMM_PROT_* */
    uint16_t flags;            /* VMM_REGION_* plus the private ones below */
};
_Static_assert(offsetof(struct vmm_region, node) == 0, "node must come first");
/* 40 bytes on i686: about a hundred records per metadata page */
_Static_assert(sizeof(struct vmm_region) <= 10 * sizeof(uintptr_t), "region records stay small");

/* Private region flag: touched by the operation in progress (commit's unwind). */
#define REGION_TOUCHED 0x8000u

static inline struct vmm_region *region_of(struct vmm_tree_node *n)
{
    return (struct vmm_region *)n;
}

static inline uintptr_t region_start(const struct vmm_region *r)
{
    return r->node.start;
}

static inline uintptr_t region_end(const struct vmm_region *r)
{
    return r->node.end;
}

static inline size_t pages_in(uintptr_t start, uintptr_t end)
{
    return (size_t)((end - start) >> MM_PAGE_SHIFT);
}

/*
 * First top-level entry of the kernel half (768 on i386, 256 on x86-64) and
 * how many there are.  The kernel half starts on a top-level boundary, so
 * that its top-level entries can be shared by every space.
 */
#define VMM_KTOP0 ((unsigned)((VMM_KERNEL_BASE >> (12u + PG_INDEX_BITS * PG_TOP)) & (PT_ENTRIES - 1u)))
#define VMM_KTOP_COUNT (PT_ENTRIES - VMM_KTOP0)
_Static_assert(VMM_KERNEL_BASE % ((uintptr_t)1 << (12u + PG_INDEX_BITS * PG_TOP)) == 0,
               "the kernel half starts on a top-level entry");
_Static_assert(VMM_USER_END <= VMM_KERNEL_BASE, "user space lies below the kernel half");

/* ---- global state (vmm.c) */
struct vmm_globals {
    struct vmm_space kernel;
    struct vmm_space *current;
    /* the table below each kernel top-level entry (PMM_NONE: a boot large page) */
    pmm_paddr_t kernel_next[VMM_KTOP_COUNT];
    pte_t kernel_top[VMM_KTOP_COUNT]; /* the kernel half of every top-level table */
    bool global_pages;
    bool ready;
    enum vmm_policy policy;
    size_t margin;
    size_t (*reclaimable)(void);
    struct vmm_stats stats; /* counters; the derived fields are filled by vmm_get_stats */
};
extern struct vmm_globals vmm_g;

/* The space that manages addr: the kernel space for the kernel half. */
static inline struct vmm_space *space_for(struct vmm_space *s, uintptr_t addr)
{
    return addr >= VMM_KERNEL_BASE ? &vmm_g.kernel : s;
}

void vmm_lock(void);
void vmm_unlock(void);

/* ---- accounting (vmm.c) */
/* May `pages` more frames be promised (STRICT)?  Counts a refusal. */
bool vmm_charge_fits(size_t pages);
/* Commit counters of a space and of the whole system move together. */
void vmm_count_committed(struct vmm_space *s, long delta);
void vmm_count_backed(struct vmm_space *s, long delta);

/*
 * ---- TLB (vmm_pt.c): an operation that changes several ranges of one space
 * opens a batch around them, so that it ends in one flush decision.
 * Walks inside join the open batch.
 */
void vmm_tlb_open(struct vmm_space *s);
void vmm_tlb_close(void);

/* ---- frames (vmm_pt.c): the VMM's only doors to the PMM.  PMM_NONE when out. */
pmm_paddr_t vmm_frame_alloc(void);
pmm_paddr_t vmm_frame_alloc_zeroed(void);
void vmm_frame_free(pmm_paddr_t frame);

/* ---- page tables (vmm_pt.c) */
/* Give every kernel top-level entry of dir a table (adopting present ones).  VMM_ENOMEM: undone. */
int vmm_pt_build_kernel_half(pte_t *dir);
/* Free every table of a user space and every owned frame they name (not the directory). */
void vmm_pt_destroy_user(struct vmm_space *s);
/* The fault path below the entry point: a VMM_FAULT_* code. */
int vmm_pt_fault(struct vmm_space *s, uintptr_t page, unsigned access);
/* vmm_check: non-empty user entries outside every region. */
int vmm_pt_check_orphans(struct vmm_space *s);
/* Hardware bits a page of this region gets when present. */
pte_t vmm_prot_bits(const struct vmm_space *s, unsigned prot);
/* Page tables missing for [start, end), every level below the top (i386 kernel half: 0). */
size_t vmm_pt_missing(struct vmm_space *s, uintptr_t start, uintptr_t end);
/* Create them (filled from the region tree).  VMM_ENOMEM leaves the created ones. */
int vmm_pt_ensure(struct vmm_space *s, uintptr_t start, uintptr_t end);
/* Turn the empty entries of [start, end) that have a page table into lazy markers. */
void vmm_pte_mark_committed(struct vmm_space *s, uintptr_t start, uintptr_t end, unsigned prot);
/*
 * Back every lazy entry of [start, end) (page tables must exist): allocate,
 * zero, map.  VMM_ENOMEM when a frame is missing (the pages backed so far stay).
 */
int vmm_pte_back(struct vmm_space *s, uintptr_t start, uintptr_t end);
/*
 * Clear [start, end): free owned frames, flush the TLB, free page tables that
 * became empty.  keep_lazy: a committed range stays committed (entries become
 * lazy markers with `prot`).  Returns the number of owned frames freed inside.
 */
size_t vmm_pte_clear(struct vmm_space *s, uintptr_t start, uintptr_t end, bool keep_lazy,
                     unsigned prot);
/* Give every entry of [start, end) the protection `prot`. */
void vmm_pte_protect(struct vmm_space *s, uintptr_t start, uintptr_t end, unsigned prot);
/* Entries of [start, end) that name a frame. */
size_t vmm_pte_count_backed(struct vmm_space *s, uintptr_t start, uintptr_t end);
/*
 * Install one kernel-half entry directly (the VMM's own metadata pages),
 * creating its page tables if the format needs them: 0, or VMM_ENOMEM
 * (nothing changed).  Charge vmm_pt_missing first.
 */
int vmm_pte_set_kernel(uintptr_t va, pte_t e);
/* Count entries of [start, end) that disagree with region r (vmm_check). */
int vmm_pte_check_region(struct vmm_space *s, const struct vmm_region *r, size_t *backed,
                         size_t *mapped);

/* ---- regions (vmm_region.c) */
void vmm_regions_init(void);
/* Make sure `n` records can be taken without failing.  0 or VMM_ENOMEM. */
int vmm_region_reserve_records(size_t n);
/* Record a region [start, end) directly (vmm_init, space setup). */
struct vmm_region *vmm_region_insert(struct vmm_space *s, uintptr_t start, uintptr_t end,
                                     unsigned state, unsigned prot, unsigned flags);
struct vmm_region *vmm_region_find(struct vmm_space *s, uintptr_t addr);
/* Free every record of a space (its tables are already gone). */
void vmm_regions_drop_all(struct vmm_space *s);
int vmm_regions_check(struct vmm_space *s);
/* Region-level operations behind the public wrappers, lock held. */
int vmm_reserve_locked(struct vmm_space *s, uintptr_t *addr, size_t size, unsigned prot,
                       unsigned flags, unsigned region_flags);
int vmm_commit_locked(struct vmm_space *s, uintptr_t addr, size_t size, unsigned flags);
int vmm_decommit_locked(struct vmm_space *s, uintptr_t addr, size_t size, unsigned flags);
int vmm_release_locked(struct vmm_space *s, uintptr_t addr, size_t size);
/* Check a range for the page-level ops: covered by MAPPED, non-foreign regions. */
int vmm_range_is_mapped_kind(struct vmm_space *s, uintptr_t start, uintptr_t end);
/* Validate (addr, size) for space s: aligned, non-empty, no wrap, inside the space. */
int vmm_range_valid(const struct vmm_space *s, uintptr_t addr, size_t size);

#endif /* MM_VMM_INTERNAL_H */
