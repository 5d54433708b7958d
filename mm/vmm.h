/*
 * mm/vmm.h - the virtual memory manager: address spaces, page tables,
 * regions, the page-fault path and the kernel page allocator.
 *
 * An ADDRESS SPACE (struct vmm_space) is a page directory plus a tree of
 * REGIONS.  The kernel half (VMM_KERNEL_BASE and up) belongs to one space,
 * the kernel space, whose page tables are created once by vmm_init and
 * whose directory entries are copied into every other space: a kernel
 * mapping made anywhere is visible everywhere.  An address in the kernel
 * half always means the kernel space, whatever space a query names.
 *
 * A region is a page-aligned range [start, end) with one protection and one
 * state (see docs/vmm.md for the state machine):
 *
 *   RESERVED   address space only; a touch is an error
 *   COMMITTED  usable; frames appear on first touch (zero-filled, in the
 *              page-fault handler) or at once (VMM_COMMIT_EAGER)
 *   GUARD      never usable; a touch is reported as a guard-page hit
 *   MAPPED     holds page-level mappings of frames the caller names
 *              (vmm_map / vmm_unmap: device memory, boot-time tables)
 *
 * reserve / commit / decommit / protect / release work on whole regions or
 * on page ranges inside them; regions split and merge as needed (pieces of
 * one reservation merge back when their state and protection agree).
 * Overlapping reservations are refused.
 *
 * Errors are negative VMM_E* values (vmm_strerror names them); on an error
 * nothing has changed.  All functions take the VMM lock (mm_lock_vmm) and
 * must not be called with it held; they may be called from the page-fault
 * handler's context but never from a PMM reclaimer.
 */
#ifndef MM_VMM_H
#define MM_VMM_H

#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/pte.h"
#include "mm/vmm_tree.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- layout */
/*
 * The layout is the port's (mm_arch.h, through mm/pte.h): VMM_USER_START,
 * VMM_USER_END, VMM_KERNEL_BASE (a whole top-level entry), VMM_KERNEL_END,
 * the fixed kernel areas VMM_LOWMAP_END, VMM_BOOTMAP_START/END,
 * VMM_KREGION_START/END (VMM_META_SIZE of it first for the VMM's records)
 * and the windows VMM_WINDOW_START/END.  docs/porting.md lists the rules.
 */

/* ---------------------------------------------------------------- errors */
#define VMM_OK 0
#define VMM_ENOMEM (-1) /* no frame, no commit charge left, or no free address range */
#define VMM_EINVAL (-2) /* unaligned, empty, wrapping, wrong half, unknown flag */
#define VMM_EEXIST (-3) /* the range overlaps a reservation / the page is already mapped */
#define VMM_ENOENT (-4) /* part of the range is not reserved */
#define VMM_EPERM (-5)  /* wrong region kind for the operation, or a permanent region */

/* Name of a VMM_E* value ("out of memory"...), never NULL. */
const char *vmm_strerror(int err);

/* ---------------------------------------------------------------- protection */
#define VMM_PROT_NONE 0x0u
#define VMM_PROT_READ 0x1u
#define VMM_PROT_WRITE 0x2u /* implies READ on x86 */
#define VMM_PROT_EXEC 0x4u  /* without it a page gets NX where the format has one (docs/vmm.md) */
#define VMM_PROT_RW (VMM_PROT_READ | VMM_PROT_WRITE)
#define VMM_PROT_MASK 0x7u

/* ---------------------------------------------------------------- spaces */
struct vmm_region; /* private (mm/vmm_internal.h) */

/* Per-space figures, in pages unless stated. */
struct vmm_space_stats {
    size_t regions;     /* region records in the tree */
    size_t reserved;    /* pages inside any region */
    size_t committed;   /* pages in COMMITTED regions (the space's commit charge) */
    size_t backed;      /* of those, pages that have a frame */
    size_t mapped;      /* pages mapped with vmm_map in MAPPED regions */
    size_t page_tables; /* page-table frames this space owns (kernel space: 0) */
    size_t faults_resolved;
    size_t faults_failed;
};

/*
 * One address space.  The caller owns the storage (a process embeds it);
 * the fields are the VMM's: read them only through the functions below.
 */
struct vmm_space {
    pmm_paddr_t page_directory; /* physical address of the PD */
    struct vmm_tree regions;    /* struct vmm_region records, keyed by start */
    uintptr_t low, high;        /* the half this space manages: [low, high) */
    struct vmm_space_stats stats;
    bool is_kernel;
};

/* Commit accounting (docs/vmm.md, "Accounting"). */
enum vmm_policy {
    /* Commit charges against free + reclaimable frames: a committed page can
     * always be backed, a fault never fails for lack of memory. */
    VMM_POLICY_STRICT = 0,
    /* Commit is free; a fault that finds no frame fails (VMM_FAULT_NOMEM). */
    VMM_POLICY_OVERCOMMIT = 1,
};

/* What vmm_init needs from the boot code. */
struct vmm_boot {
    /* Physical address of the top-level table in use (page directory on
     * i386, PML4 on x86-64; it becomes the kernel space's): kernel-half
     * top-level entries already present (the low linear map, the window
     * table, the boot-time mappings, the image) are adopted as they are. */
    pmm_paddr_t page_directory;
    unsigned flags; /* VMM_BOOT_* */
    enum vmm_policy policy;
    /* Frames kept outside commit accounting for allocations that do not go
     * through the VMM (DMA buffers, PMM users); 0 = 1/64 of RAM. */
    size_t commit_margin;
};
#define VMM_BOOT_GLOBAL 0x1u /* CR4.PGE is on: give kernel mappings the global bit */

/*
 * Build the kernel half: allocate a table for every kernel-half top-level
 * entry that is not present yet (256 of them: about 1 MiB of frames, once),
 * clear any user-half top-level entry left by the boot code (its tables are
 * the boot image's: not freed), and
 * record the fixed kernel regions (low map, boot mappings, windows: all
 * permanent).  Call once, after pmm_init, with mm_kmap working and the
 * boot page directory loaded.  Returns 0, or VMM_ENOMEM / VMM_EINVAL
 * (the kernel panics: it cannot run without its tables).
 */
int vmm_init(const struct vmm_boot *boot);

/* The kernel's address space (valid after vmm_init). */
struct vmm_space *vmm_kernel_space(void);

/* The space whose directory was last loaded by vmm_space_switch (initially the kernel's). */
struct vmm_space *vmm_current_space(void);

/*
 * Make `space` a new, empty user address space: a fresh page directory whose
 * kernel half is the kernel space's.  Returns 0 or VMM_ENOMEM (nothing
 * allocated).
 */
int vmm_space_create(struct vmm_space *space);

/*
 * Tear down a user space: every frame it holds (backing frames, frames given
 * with VMM_MAP_OWN, its page tables, its directory) and every region record
 * goes back, its commit charge is returned.  If it is the current space the
 * kernel space is loaded first.  Destroying the kernel space is refused
 * (mm_report).
 */
void vmm_space_destroy(struct vmm_space *space);

/* Load space's page directory (one CR3 write; nothing if it is already loaded). */
void vmm_space_switch(struct vmm_space *space);

/* Copy the space's figures. */
void vmm_space_get_stats(struct vmm_space *space, struct vmm_space_stats *st);

/* ---------------------------------------------------------------- regions */
/* vmm_reserve flags */
#define VMM_RESERVE_COMMIT 0x01u     /* commit the whole range too (lazily) */
#define VMM_RESERVE_EAGER 0x02u      /* with COMMIT: back every page now */
#define VMM_RESERVE_GUARD_LOW 0x04u  /* one GUARD page just below the range */
#define VMM_RESERVE_GUARD_HIGH 0x08u /* one GUARD page just above the range */
#define VMM_RESERVE_MAPPED 0x10u     /* a MAPPED region, for vmm_map */
#define VMM_RESERVE_PERMANENT 0x20u  /* vmm_release refuses it */
#define VMM_RESERVE_STACK_GAP 0x40u  /* a GUARD gap of VMM_STACK_GAP bytes below (not with GUARD_LOW) */

/*
 * The guard gap below a stack that VMM_RESERVE_STACK_GAP reserves: 256
 * pages, as Linux keeps.  One guard page stops a stack that grows a word
 * at a time, but a function whose frame is larger than a page moves the
 * stack pointer past it in one step and writes into whatever lies below
 * ("stack clash"); no reservation can be made in the gap, so such a write
 * is a guard-page fault unless the frame is larger than the gap (programs
 * built with -fstack-clash-protection touch every page and never skip it).
 */
#define VMM_STACK_GAP (256u * MM_PAGE_SIZE)

/*
 * Claim [*addr, *addr + size) with protection `prot`; nothing is mapped.
 * *addr == 0: the VMM picks the lowest free range of the space's usable
 * area (user: VMM_USER_START..VMM_USER_END; kernel: the KREGION area) and
 * stores it in *addr; otherwise *addr must be page aligned and is kept.
 * size: a non-zero multiple of MM_PAGE_SIZE.  Guard pages lie outside
 * [*addr, *addr + size) but are part of the reservation (they overlap other
 * reservations like any page).  Returns 0, VMM_EINVAL, VMM_EEXIST (overlap),
 * VMM_ENOMEM (no free range, no region record, or the commit failed).
 */
int vmm_reserve(struct vmm_space *space, uintptr_t *addr, size_t size, unsigned prot,
                unsigned flags);

/* vmm_commit flags */
#define VMM_COMMIT_EAGER 0x1u /* back every page now instead of on first touch */
#define VMM_COMMIT_AUTO                                                                            \
    0x2u /* lazy under STRICT, eager under OVERCOMMIT (kernel                                      \
            memory whose fault must not fail) */

/*
 * Make a reserved range usable.  Every page of [addr, addr + size) must be in
 * a RESERVED or COMMITTED region (VMM_ENOENT: a hole; VMM_EPERM: a GUARD or
 * MAPPED page); pages already committed stay as they are (EAGER backs them).
 * Under STRICT the newly committed pages (and the page tables they need) are
 * charged; VMM_ENOMEM when the charge does not fit or an eager frame is
 * missing - and then nothing has changed.
 */
int vmm_commit(struct vmm_space *space, uintptr_t addr, size_t size, unsigned flags);

/* vmm_decommit flags */
#define VMM_DECOMMIT_KEEP                                                                          \
    0x1u /* free the frames but stay committed: the next touch                                     \
            brings a fresh zeroed page (MADV_DONTNEED) */

/*
 * Give the frames of [addr, addr + size) back and return the range to
 * RESERVED (a later touch is an error) - or, with VMM_DECOMMIT_KEEP, to
 * committed-not-backed.  Every page must be RESERVED or COMMITTED (VMM_ENOENT,
 * VMM_EPERM otherwise).  Fails only with those or VMM_ENOMEM (no record for a
 * split).
 */
int vmm_decommit(struct vmm_space *space, uintptr_t addr, size_t size, unsigned flags);

/*
 * Set the protection of [addr, addr + size): every page must be in a
 * RESERVED, COMMITTED or MAPPED region (GUARD, foreign: VMM_EPERM).
 * Backed pages change at once (with the TLB invalidation this needs).
 */
int vmm_protect(struct vmm_space *space, uintptr_t addr, size_t size, unsigned prot);

/*
 * Forget [addr, addr + size): unmap it, free the frames the VMM owns there,
 * return the commit charge, drop the region records, and drop a guard page
 * that no longer borders a piece of its reservation.  Every page must be
 * reserved (VMM_ENOENT) and not permanent (VMM_EPERM).
 */
int vmm_release(struct vmm_space *space, uintptr_t addr, size_t size);

enum vmm_region_state {
    VMM_REGION_FREE = 0, /* (queries only) no region here */
    VMM_REGION_RESERVED = 1,
    VMM_REGION_COMMITTED = 2,
    VMM_REGION_GUARD = 3,
    VMM_REGION_MAPPED = 4,
};

/* Region flags as reported by vmm_query_region */
#define VMM_REGION_PERMANENT 0x01u /* release refused */
#define VMM_REGION_FOREIGN 0x02u   /* entries owned by boot code or the port: no page-level ops */
#define VMM_REGION_PAGES 0x04u     /* a vmm_pages_alloc block */
#define VMM_REGION_KSTACK 0x08u    /* a kernel stack */

struct vmm_region_info {
    uintptr_t start, end; /* this piece */
    uintptr_t base;       /* start of the reservation it belongs to */
    enum vmm_region_state state;
    unsigned prot;
    unsigned flags;
    size_t backed; /* pages with a frame (walks the piece: O(pages)) */
};

/* Describe the region piece containing addr: 0, or VMM_ENOENT (info->state = FREE). */
int vmm_query_region(struct vmm_space *space, uintptr_t addr, struct vmm_region_info *info);
/*
 * Describe the piece containing addr or, if none does, the first piece above
 * it (O(log n)): walk a space with addr = info.end.  VMM_ENOENT past the last.
 */
int vmm_query_region_next(struct vmm_space *space, uintptr_t addr, struct vmm_region_info *info);

/* ---------------------------------------------------------------- pages */
enum vmm_page_state {
    VMM_PAGE_FREE = 0,      /* no region */
    VMM_PAGE_RESERVED = 1,  /* reserved, not committed */
    VMM_PAGE_COMMITTED = 2, /* committed, no frame yet */
    VMM_PAGE_BACKED = 3,    /* committed, has a frame */
    VMM_PAGE_GUARD = 4,
    VMM_PAGE_MAPPED = 5,   /* a page-level mapping (MAPPED or foreign region) */
    VMM_PAGE_UNMAPPED = 6, /* in a MAPPED region, nothing mapped here */
};

struct vmm_page_info {
    enum vmm_page_state state;
    unsigned prot;     /* the region's protection */
    pmm_paddr_t frame; /* PMM_NONE when the page has no frame */
    uint64_t pte;      /* the raw entry (0 if there is no page table) */
    uintptr_t region_start, region_end;
};

/* vmm_map flags */
#define VMM_MAP_OWN 0x1u     /* the VMM frees the frames when they are unmapped */
#define VMM_MAP_NOCACHE 0x2u /* PCD: device memory */
#define VMM_MAP_WRITETHROUGH 0x4u

/*
 * Map the physical range [frame, frame + size) at [va, va + size) with the
 * protection of the MAPPED region(s) it falls in.  All page aligned.
 * VMM_EPERM if a page is not in a MAPPED region (or is in a foreign one),
 * VMM_ENOENT if not reserved, VMM_EEXIST if a page is already mapped,
 * VMM_ENOMEM if a page table cannot be allocated.  No TLB work: nothing
 * was mapped there.
 */
int vmm_map(struct vmm_space *space, uintptr_t va, pmm_paddr_t frame, size_t size, unsigned flags);

/* Undo vmm_map on [va, va + size) (all in MAPPED regions; holes are fine). */
int vmm_unmap(struct vmm_space *space, uintptr_t va, size_t size);

/* Describe the page containing va: 0, or VMM_ENOENT when no region holds it. */
int vmm_query(struct vmm_space *space, uintptr_t va, struct vmm_page_info *info);

/* ---------------------------------------------------------------- faults */
/* `access` bits: the x86 #PF error code, passed as it is. */
#define VMM_ACCESS_PRESENT 0x01u /* the page was present: a protection fault */
#define VMM_ACCESS_WRITE 0x02u
#define VMM_ACCESS_USER 0x04u /* ring 3 */
#define VMM_ACCESS_RSVD 0x08u /* a reserved bit was set in an entry */
#define VMM_ACCESS_EXEC 0x10u /* instruction fetch */

/* vmm_handle_fault results */
#define VMM_FAULT_RESOLVED 0
#define VMM_FAULT_UNMAPPED (-1)       /* no region here */
#define VMM_FAULT_NOT_COMMITTED (-2)  /* reserved, not committed (or decommitted) */
#define VMM_FAULT_PROTECTION (-3)     /* the access is not allowed by the protection */
#define VMM_FAULT_GUARD (-4)          /* a guard page: an overrun or a stack overflow */
#define VMM_FAULT_NOMEM (-5)          /* committed, but no frame (OVERCOMMIT) */
#define VMM_FAULT_KERNEL_ADDRESS (-6) /* user mode touched the kernel half */
#define VMM_FAULT_NULL (-7)           /* page 0 */
#define VMM_FAULT_BAD_ENTRY (-8)      /* reserved bit set: a corrupted page table */

/*
 * The page-fault handler's VMM part.  addr: CR2; access: the error code;
 * space: the faulting context's space (kernel-half addresses use the
 * kernel space whatever is passed).  Backs a committed-not-backed page
 * (allocate, zero, map: O(1) from the entry; O(log regions) when the page
 * table itself is missing) and returns 0; a spurious fault (stale TLB entry)
 * is flushed and returns 0.  Anything else returns a VMM_FAULT_* code for the
 * caller's report: ring 0 panics, ring 3 kills the process.
 */
int vmm_handle_fault(struct vmm_space *space, uintptr_t addr, unsigned access);

/* "guard page", "not committed", ...: never NULL. */
const char *vmm_fault_reason(int code);

/* ---------------------------------------------------------------- accounting */
struct vmm_stats {
    enum vmm_policy policy;
    size_t committed;   /* pages committed in all spaces */
    size_t backed;      /* of those, pages with a frame */
    size_t outstanding; /* committed - backed: frames promised to future faults */
    size_t available;   /* free + reclaimable frames now */
    size_t margin;      /* frames kept out of commit accounting */
    size_t kernel_page_tables;
    size_t page_tables;  /* user page-table frames, all spaces */
    size_t meta_pages;   /* frames holding region records */
    size_t regions_free; /* records ready for use */
    size_t faults_resolved, faults_failed, faults_spurious;
    size_t commits_refused;     /* STRICT refusals */
    size_t tlb_pages, tlb_full; /* invlpg calls, full flushes chosen instead */
};

void vmm_get_stats(struct vmm_stats *st);

/*
 * Change the policy.  Switching to STRICT fails with VMM_ENOMEM when the
 * outstanding commitments do not fit in the available frames.
 */
int vmm_set_policy(enum vmm_policy policy);
enum vmm_policy vmm_get_policy(void);

/*
 * Where STRICT finds reclaimable memory: a function returning how many frames
 * the PMM's reclaimers could give back now (NULL: none).  Called with the VMM
 * lock held: it must not call the VMM.
 */
void vmm_set_reclaimable(size_t (*count_frames)(void));

/* ---------------------------------------------------------------- page allocator */
/* vmm_pages_alloc flags */
#define VMM_PAGES_LAZY 0x1u /* commit lazily (default: eager, never faults) */

/*
 * `pages` pages of kernel virtual memory (the KREGION area), backed by frames
 * that need not be contiguous, with an unmapped guard page just below and
 * just above: an overrun either way faults at once.  Returns the first usable
 * byte, or NULL (pages == 0, no address range, no frame / charge).
 */
void *vmm_pages_alloc(size_t pages, unsigned flags);

/* Free a vmm_pages_alloc block (NULL: no-op; anything else is reported and ignored). */
void vmm_pages_free(void *ptr);

/* Usable bytes of a live block starting at ptr, 0 for anything else. */
size_t vmm_pages_size(const void *ptr);

/*
 * A kernel stack of `pages` pages, eagerly backed, guard page below (the
 * overflow side) and above.  Returns the initial stack pointer (the top), or
 * NULL.  The guard catches an overflow only if the page-fault handler does
 * not run on the same stack (the kernel uses a double-fault task).
 */
void *vmm_kstack_alloc(size_t pages);

/* Free a stack by the top vmm_kstack_alloc returned (anything else is reported). */
void vmm_kstack_free(void *top);

/*
 * The page allocator as an allocator source: grow and map hand out separate
 * guarded blocks, unmap frees one, activate/deactivate commit/decommit pages
 * inside a block.  Static; the VMM locks itself (no lock/unlock).
 */
struct heap_source *vmm_pages_source(void);

/*
 * A source over one kernel or user region, for a heap: a reservation of
 * max_bytes (guard pages on both sides) that grow() commits upward like brk;
 * shrink() decommits the top; activate/deactivate commit/decommit inside;
 * map/unmap use the page allocator (kernel space only).
 */
struct vmm_region_source {
    struct heap_source source; /* hand &rs->source to the allocator */
    struct vmm_space *space;
    uintptr_t base, brk, limit;
    unsigned commit_flags; /* VMM_COMMIT_* used by grow and activate */
};

/*
 * Reserve the region and fill in the source.  max_bytes: a non-zero multiple
 * of MM_PAGE_SIZE.  Returns 0 or a VMM_E* (nothing reserved).
 */
int vmm_region_source_init(struct vmm_region_source *rs, struct vmm_space *space, size_t max_bytes,
                           unsigned commit_flags);

/* Release the whole region (every instance using the source must be gone). */
void vmm_region_source_fini(struct vmm_region_source *rs);

/* ---------------------------------------------------------------- checks */
/*
 * Walk the space's tree and page tables and count violations (tree shape,
 * gaps, overlaps, entries that disagree with their region, counters); each
 * one is reported.  0 = consistent.  O(regions + committed pages).
 */
int vmm_check(struct vmm_space *space);

#endif /* MM_VMM_H */
