/*
 * mm/vmm_region.c - regions: reserve, commit, decommit, protect, release.
 *
 * How it works.  A space's regions are records in its interval tree
 * (mm/vmm_tree.c), one per PIECE: a run of pages of one reservation with one
 * state and one protection.  An operation on [start, end):
 *
 *   1. checks that every page is covered by pieces of the allowed kinds
 *      (a hole is VMM_ENOENT, a wrong kind VMM_EPERM) and that the records
 *      and commit charge it may need are available - so that it cannot fail
 *      half-way (eager commit is the one exception and unwinds itself);
 *   2. splits the pieces that straddle start and end (at most two new
 *      records), so the range is made of whole pieces;
 *   3. changes each piece and its page-table entries (mm/vmm.c);
 *   4. merges neighbouring pieces of the same reservation whose state,
 *      protection and flags now agree.
 *
 * The invariant vmm_check verifies: pieces never overlap, two adjacent
 * pieces of one reservation always differ in something, a guard piece always
 * borders a non-guard piece of its reservation, and page-table entries agree
 * with their piece (mm/pte.h lists the encodings).
 *
 * Records come from a static pool (so vmm_init needs no allocator) and, when
 * it runs dry, from pages the VMM maps itself in the first VMM_META_SIZE
 * bytes of the kernel region area: never from the heap, which sits on top of
 * the VMM.  Record pages are kept for reuse, never returned.
 *
 * Locking: the public functions take the VMM lock; the *_locked ones and
 * every static function expect it held.
 */
#include "mm/vmm_internal.h"

#include <string.h>

#define PAGE ((uintptr_t)MM_PAGE_SIZE)

/* Records available before the first metadata page is mapped. */
#define STATIC_RECORDS 64u
/* Records one operation may need: two splits, or a reservation and its two guards. */
#define RECORDS_PER_OP 3u

static struct vmm_region static_records[STATIC_RECORDS];
static struct vmm_region *free_records; /* linked through node.parent */
static uintptr_t meta_next;             /* next unmapped page of the metadata area */

#define STATE_BIT(s) (1u << (s))
#define ANY_STATE                                                                                  \
    (STATE_BIT(VMM_REGION_RESERVED) | STATE_BIT(VMM_REGION_COMMITTED) |                            \
     STATE_BIT(VMM_REGION_GUARD) | STATE_BIT(VMM_REGION_MAPPED))

/* ------------------------------------------------------------------ the record pool */

static void record_put(struct vmm_region *r)
{
    memset(r, 0, sizeof *r);
    r->node.parent = (struct vmm_tree_node *)free_records; /* node is the first member */
    free_records = r;
    vmm_g.stats.regions_free++;
}

static struct vmm_region *record_take(void)
{
    struct vmm_region *r = free_records;

    if (!r)
        mm_panic("vmm: region record pool empty (records were not reserved)");
    free_records = region_of(r->node.parent);
    vmm_g.stats.regions_free--;
    memset(r, 0, sizeof *r);
    return r;
}

/* Map one more metadata page and cut it into records.  VMM_ENOMEM when out. */
static int pool_grow(void)
{
    if (meta_next >= VMM_KREGION_START + VMM_META_SIZE ||
        !vmm_charge_fits(1 + vmm_pt_missing(&vmm_g.kernel, meta_next, meta_next + PAGE)))
        return VMM_ENOMEM;
    pmm_paddr_t frame = vmm_frame_alloc_zeroed();
    if (frame == PMM_NONE)
        return VMM_ENOMEM;
    pte_t e = pte_make(frame, vmm_prot_bits(&vmm_g.kernel, VMM_PROT_RW) | PTE_OWNED);
    if (vmm_pte_set_kernel(meta_next, e) != VMM_OK) {
        vmm_frame_free(frame);
        return VMM_ENOMEM;
    }
    /* records never straddle a page: mm_kva_ptr is valid page by page */
    struct vmm_region *page = mm_kva_ptr(meta_next);
    for (size_t i = 0; i < MM_PAGE_SIZE / sizeof(struct vmm_region); i++)
        record_put(&page[i]);
    meta_next += PAGE;
    vmm_g.stats.meta_pages++;
    return VMM_OK;
}

void vmm_regions_init(void)
{
    free_records = NULL;
    vmm_g.stats.regions_free = 0;
    for (size_t i = 0; i < STATIC_RECORDS; i++)
        record_put(&static_records[i]);
    meta_next = VMM_KREGION_START;
}

int vmm_region_reserve_records(size_t n)
{
    while (vmm_g.stats.regions_free < n)
        if (pool_grow() != VMM_OK)
            return VMM_ENOMEM;
    return VMM_OK;
}

/* ------------------------------------------------------------------ records in the tree */

struct vmm_region *vmm_region_insert(struct vmm_space *s, uintptr_t start, uintptr_t end,
                                     unsigned state, unsigned prot, unsigned flags)
{
    struct vmm_region *r = record_take();

    r->node.start = start;
    r->node.end = end;
    r->base = start;
    r->state = (uint8_t)state;
    r->prot = (uint8_t)prot;
    r->flags = (uint16_t)flags;
    vmm_tree_insert(&s->regions, &r->node);
    s->stats.reserved += pages_in(start, end);
    return r;
}

static void region_remove(struct vmm_space *s, struct vmm_region *r)
{
    s->stats.reserved -= pages_in(region_start(r), region_end(r));
    vmm_tree_remove(&s->regions, &r->node);
    record_put(r);
}

struct vmm_region *vmm_region_find(struct vmm_space *s, uintptr_t addr)
{
    struct vmm_tree_node *n = vmm_tree_find(&s->regions, addr);

    return n ? region_of(n) : NULL;
}

static struct vmm_region *region_next(struct vmm_region *r)
{
    struct vmm_tree_node *n = vmm_tree_next(&r->node);

    return n ? region_of(n) : NULL;
}

/* The first piece ending above addr (the piece containing addr, or the next one). */
static struct vmm_region *region_from(struct vmm_space *s, uintptr_t addr)
{
    struct vmm_tree_node *n = vmm_tree_lower_bound(&s->regions, addr);

    return n ? region_of(n) : NULL;
}

void vmm_regions_drop_all(struct vmm_space *s)
{
    struct vmm_tree_node *n;

    while ((n = vmm_tree_first(&s->regions)) != NULL)
        region_remove(s, region_of(n));
}

/* ------------------------------------------------------------------ split and merge */

/* Make addr a piece boundary (a record must be available). */
static void split_at(struct vmm_space *s, uintptr_t addr)
{
    struct vmm_region *r = vmm_region_find(s, addr);

    if (!r || region_start(r) == addr)
        return;
    uintptr_t end = region_end(r);
    vmm_tree_resized(&s->regions, &r->node, region_start(r), addr);
    struct vmm_region *upper = record_take();
    upper->node.start = addr;
    upper->node.end = end;
    upper->base = r->base;
    upper->state = r->state;
    upper->prot = r->prot;
    upper->flags = r->flags;
    vmm_tree_insert(&s->regions, &upper->node);
}

static bool mergeable(const struct vmm_region *a, const struct vmm_region *b)
{
    return region_end(a) == region_start(b) && a->base == b->base && a->state == b->state &&
           a->prot == b->prot && a->flags == b->flags;
}

/* Clear the private flags of the pieces in [start, end) and merge around them. */
static void settle(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct vmm_region *r = start > s->low ? vmm_region_find(s, start - PAGE) : NULL;

    for (struct vmm_region *p = region_from(s, start); p && region_start(p) < end;
         p = region_next(p))
        p->flags &= (uint16_t)~REGION_TOUCHED;
    if (!r)
        r = region_from(s, start);
    while (r) {
        struct vmm_region *next = region_next(r);
        if (!next || region_start(next) > end)
            break;
        if (mergeable(r, next)) {
            uintptr_t merged_end = region_end(next);
            region_remove(s, next);
            /* the pages stay reserved, now in r */
            s->stats.reserved += pages_in(region_end(r), merged_end);
            vmm_tree_resized(&s->regions, &r->node, region_start(r), merged_end);
            continue; /* r may absorb the following piece too */
        }
        r = next;
    }
}

/* ------------------------------------------------------------------ range checks */

int vmm_range_valid(const struct vmm_space *s, uintptr_t addr, size_t size)
{
    if (!s || (!s->is_kernel && !s->page_directory) || !vmm_g.ready)
        return VMM_EINVAL;
    if (size == 0 || (addr & (PAGE - 1)) || (size & (PAGE - 1)))
        return VMM_EINVAL;
    if (addr < s->low || addr >= s->high || size > s->high - addr)
        return VMM_EINVAL;
    return VMM_OK;
}

/*
 * Is [start, end) wholly covered by pieces whose state is in `states` (a
 * STATE_BIT mask) and whose flags avoid `forbidden`?
 */
static int range_check(struct vmm_space *s, uintptr_t start, uintptr_t end, unsigned states,
                       unsigned forbidden)
{
    uintptr_t at = start;

    for (struct vmm_region *r = region_from(s, start); at < end; r = region_next(r)) {
        if (!r || region_start(r) > at)
            return VMM_ENOENT;
        if (!(states & STATE_BIT(r->state)) || (r->flags & forbidden))
            return VMM_EPERM;
        at = region_end(r);
    }
    return VMM_OK;
}

int vmm_range_is_mapped_kind(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    return range_check(s, start, end, STATE_BIT(VMM_REGION_MAPPED), VMM_REGION_FOREIGN);
}

/* Pages of [start, end) that lie in pieces of state `state`. */
static size_t pages_in_state(struct vmm_space *s, uintptr_t start, uintptr_t end, unsigned state)
{
    size_t pages = 0;

    for (struct vmm_region *r = region_from(s, start); r && region_start(r) < end;
         r = region_next(r)) {
        if (r->state != state)
            continue;
        uintptr_t from = region_start(r) > start ? region_start(r) : start;
        uintptr_t to = region_end(r) < end ? region_end(r) : end;
        pages += pages_in(from, to);
    }
    return pages;
}

/* Split at both ends so that [start, end) is made of whole pieces. */
static int split_range(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    if (vmm_region_reserve_records(2) != VMM_OK)
        return VMM_ENOMEM;
    split_at(s, start);
    split_at(s, end);
    return VMM_OK;
}

/* ------------------------------------------------------------------ reserve */

/* Where a reservation of `total` bytes goes when the caller does not say. */
static int pick_address(struct vmm_space *s, size_t total, uintptr_t *out)
{
    uintptr_t lo = s->is_kernel ? VMM_KREGION_START : VMM_USER_START;
    uintptr_t hi = s->is_kernel ? VMM_KREGION_END : VMM_USER_END;

    return vmm_tree_find_gap(&s->regions, total, MM_PAGE_SIZE, lo, hi, out) ? VMM_OK : VMM_ENOMEM;
}

int vmm_reserve_locked(struct vmm_space *s, uintptr_t *addr, size_t size, unsigned prot,
                       unsigned flags, unsigned region_flags)
{
    uintptr_t guard_lo = (flags & VMM_RESERVE_STACK_GAP) ? VMM_STACK_GAP
                         : (flags & VMM_RESERVE_GUARD_LOW) ? PAGE
                                                           : 0;
    uintptr_t guard_hi = (flags & VMM_RESERVE_GUARD_HIGH) ? PAGE : 0;
    uintptr_t base;
    struct vmm_region *r;
    int rc;

    if (size > SIZE_MAX - VMM_STACK_GAP - PAGE)
        return VMM_EINVAL;
    size_t total = size + guard_lo + guard_hi;
    if (*addr == 0) {
        rc = pick_address(s, total, &base);
        if (rc != VMM_OK)
            return rc;
    } else {
        base = *addr - guard_lo;
        if (*addr < guard_lo || vmm_range_valid(s, base, total) != VMM_OK)
            return VMM_EINVAL;
        r = region_from(s, base);
        if (r && region_start(r) < base + total)
            return VMM_EEXIST;
    }
    if (vmm_region_reserve_records(RECORDS_PER_OP) != VMM_OK)
        return VMM_ENOMEM;

    uintptr_t start = base + guard_lo, end = start + size;
    unsigned state = (flags & VMM_RESERVE_MAPPED) ? VMM_REGION_MAPPED : VMM_REGION_RESERVED;
    if (guard_lo)
        vmm_region_insert(s, base, start, VMM_REGION_GUARD, VMM_PROT_NONE, region_flags);
    vmm_region_insert(s, start, end, state, prot, region_flags)->base = base;
    if (guard_hi)
        vmm_region_insert(s, end, end + guard_hi, VMM_REGION_GUARD, VMM_PROT_NONE, region_flags)
            ->base = base;

    if (flags & VMM_RESERVE_COMMIT) {
        unsigned how = (flags & VMM_RESERVE_EAGER) ? VMM_COMMIT_EAGER : 0;
        rc = vmm_commit_locked(s, start, size, how);
        if (rc != VMM_OK) {
            /* the commit undid itself: only the records are left to drop */
            while ((r = region_from(s, base)) && region_start(r) < base + total)
                region_remove(s, r);
            return rc;
        }
    }
    *addr = start;
    return VMM_OK;
}

/* ------------------------------------------------------------------ commit */

/* Undo a failed commit: the pieces it committed go back to RESERVED. */
static void commit_unwind(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    for (struct vmm_region *r = region_from(s, start); r && region_start(r) < end;
         r = region_next(r)) {
        if (r->state == VMM_REGION_RESERVED) {
            vmm_pte_clear(s, region_start(r), region_end(r), false, 0); /* frees empty tables */
        } else if (r->flags & REGION_TOUCHED) {
            size_t freed = vmm_pte_clear(s, region_start(r), region_end(r), false, 0);
            vmm_count_backed(s, -(long)freed);
            vmm_count_committed(s, -(long)pages_in(region_start(r), region_end(r)));
            r->state = VMM_REGION_RESERVED;
        }
    }
}

/* Every RESERVED piece of [start, end) becomes COMMITTED (entries: lazy markers). */
static void commit_pieces(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    for (struct vmm_region *r = region_from(s, start); r && region_start(r) < end;
         r = region_next(r)) {
        if (r->state != VMM_REGION_RESERVED)
            continue;
        r->state = VMM_REGION_COMMITTED;
        r->flags |= REGION_TOUCHED;
        vmm_pte_mark_committed(s, region_start(r), region_end(r), r->prot);
        vmm_count_committed(s, (long)pages_in(region_start(r), region_end(r)));
    }
}

int vmm_commit_locked(struct vmm_space *s, uintptr_t addr, size_t size, unsigned flags)
{
    uintptr_t end = addr + size;
    unsigned allowed = STATE_BIT(VMM_REGION_RESERVED) | STATE_BIT(VMM_REGION_COMMITTED);
    int rc = range_check(s, addr, end, allowed, 0);

    if (rc != VMM_OK)
        return rc;
    bool eager = (flags & VMM_COMMIT_EAGER) ||
                 ((flags & VMM_COMMIT_AUTO) && vmm_g.policy == VMM_POLICY_OVERCOMMIT);
    /* STRICT: tables now, so that a fault never needs a frame for one */
    bool tables = eager || vmm_g.policy == VMM_POLICY_STRICT;
    size_t charge = pages_in_state(s, addr, end, VMM_REGION_RESERVED);
    if (tables)
        charge += vmm_pt_missing(s, addr, end);
    if (!vmm_charge_fits(charge))
        return VMM_ENOMEM;
    vmm_tlb_open(s);
    rc = split_range(s, addr, end);
    if (rc == VMM_OK && tables)
        rc = vmm_pt_ensure(s, addr, end);
    if (rc == VMM_OK) {
        commit_pieces(s, addr, end);
        if (eager)
            rc = vmm_pte_back(s, addr, end);
    }
    if (rc != VMM_OK)
        commit_unwind(s, addr, end);
    settle(s, addr, end);
    vmm_tlb_close();
    return rc;
}

/* ------------------------------------------------------------------ decommit */

/* Free the frames of the committed pages of [start, end); they stay committed. */
static void discard_range(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    for (struct vmm_region *r = region_from(s, start); r && region_start(r) < end;
         r = region_next(r)) {
        if (r->state != VMM_REGION_COMMITTED)
            continue;
        uintptr_t from = region_start(r) > start ? region_start(r) : start;
        uintptr_t to = region_end(r) < end ? region_end(r) : end;
        vmm_count_backed(s, -(long)vmm_pte_clear(s, from, to, true, r->prot));
    }
}

/* Every COMMITTED piece of [start, end) gives its frames back and becomes RESERVED. */
static void return_to_reserved(struct vmm_space *s, uintptr_t addr, uintptr_t end)
{
    for (struct vmm_region *r = region_from(s, addr); r && region_start(r) < end;
         r = region_next(r)) {
        if (r->state != VMM_REGION_COMMITTED)
            continue;
        size_t freed = vmm_pte_clear(s, region_start(r), region_end(r), false, 0);
        vmm_count_backed(s, -(long)freed);
        vmm_count_committed(s, -(long)pages_in(region_start(r), region_end(r)));
        r->state = VMM_REGION_RESERVED;
    }
    settle(s, addr, end);
}

int vmm_decommit_locked(struct vmm_space *s, uintptr_t addr, size_t size, unsigned flags)
{
    uintptr_t end = addr + size;
    unsigned allowed = STATE_BIT(VMM_REGION_RESERVED) | STATE_BIT(VMM_REGION_COMMITTED);
    int rc = range_check(s, addr, end, allowed, 0);

    if (rc != VMM_OK)
        return rc;
    vmm_tlb_open(s);
    if (flags & VMM_DECOMMIT_KEEP)
        discard_range(s, addr, end); /* no state changes: no split */
    else if ((rc = split_range(s, addr, end)) == VMM_OK)
        return_to_reserved(s, addr, end);
    vmm_tlb_close();
    return rc;
}

/* ------------------------------------------------------------------ protect */

static int protect_locked(struct vmm_space *s, uintptr_t addr, size_t size, unsigned prot)
{
    uintptr_t end = addr + size;
    unsigned allowed = STATE_BIT(VMM_REGION_RESERVED) | STATE_BIT(VMM_REGION_COMMITTED) |
                       STATE_BIT(VMM_REGION_MAPPED);
    int rc = range_check(s, addr, end, allowed, VMM_REGION_FOREIGN);

    if (rc == VMM_OK)
        rc = split_range(s, addr, end);
    if (rc != VMM_OK)
        return rc;
    vmm_tlb_open(s);
    for (struct vmm_region *r = region_from(s, addr); r && region_start(r) < end;
         r = region_next(r)) {
        if (r->prot == prot)
            continue;
        r->prot = (uint8_t)prot;
        if (r->state != VMM_REGION_RESERVED)
            vmm_pte_protect(s, region_start(r), region_end(r), prot);
    }
    settle(s, addr, end);
    vmm_tlb_close();
    return VMM_OK;
}

/* ------------------------------------------------------------------ release */

/* Remove guard piece g if it no longer borders a non-guard piece of its reservation. */
static void drop_orphan_guard(struct vmm_space *s, struct vmm_region *g)
{
    if (!g || g->state != VMM_REGION_GUARD)
        return;
    struct vmm_tree_node *p = vmm_tree_prev(&g->node), *n = vmm_tree_next(&g->node);
    struct vmm_region *prev = p ? region_of(p) : NULL, *next = n ? region_of(n) : NULL;
    bool attached = (prev && region_end(prev) == region_start(g) && prev->base == g->base &&
                     prev->state != VMM_REGION_GUARD) ||
                    (next && region_start(next) == region_end(g) && next->base == g->base &&
                     next->state != VMM_REGION_GUARD);
    if (!attached)
        region_remove(s, g);
}

int vmm_release_locked(struct vmm_space *s, uintptr_t addr, size_t size)
{
    uintptr_t end = addr + size;
    int rc = range_check(s, addr, end, ANY_STATE, VMM_REGION_PERMANENT);

    if (rc == VMM_OK)
        rc = split_range(s, addr, end);
    if (rc != VMM_OK)
        return rc;
    vmm_tlb_open(s);
    struct vmm_region *r = region_from(s, addr);
    while (r && region_start(r) < end) {
        struct vmm_region *next = region_next(r);
        if (r->state == VMM_REGION_COMMITTED || r->state == VMM_REGION_MAPPED) {
            size_t had = vmm_pte_clear(s, region_start(r), region_end(r), false, 0);
            if (r->state == VMM_REGION_MAPPED) {
                s->stats.mapped -= had;
            } else {
                vmm_count_backed(s, -(long)had);
                vmm_count_committed(s, -(long)pages_in(region_start(r), region_end(r)));
            }
        }
        region_remove(s, r);
        r = next;
    }
    if (addr > s->low)
        drop_orphan_guard(s, vmm_region_find(s, addr - PAGE));
    drop_orphan_guard(s, vmm_region_find(s, end));
    vmm_tlb_close();
    return VMM_OK;
}

/* ------------------------------------------------------------------ public wrappers */

/* With MM_DEBUG, every operation ends with a full consistency check. */
static int debug_check(struct vmm_space *s, int rc)
{
#if MM_DEBUG
    if (vmm_check(s) != 0)
        mm_panic("vmm: inconsistent after an operation (rc %d)", rc);
#else
    (void)s;
#endif
    return rc;
}

int vmm_reserve(struct vmm_space *space, uintptr_t *addr, size_t size, unsigned prot,
                unsigned flags)
{
    const unsigned known = VMM_RESERVE_COMMIT | VMM_RESERVE_EAGER | VMM_RESERVE_GUARD_LOW |
                           VMM_RESERVE_GUARD_HIGH | VMM_RESERVE_MAPPED | VMM_RESERVE_PERMANENT |
                           VMM_RESERVE_STACK_GAP;
    const unsigned both_low = VMM_RESERVE_GUARD_LOW | VMM_RESERVE_STACK_GAP;

    if (!addr || (prot & ~VMM_PROT_MASK) || (flags & ~known) ||
        ((flags & VMM_RESERVE_MAPPED) && (flags & VMM_RESERVE_COMMIT)) ||
        (flags & both_low) == both_low)
        return VMM_EINVAL;
    /* the address is checked against the space below; the size here */
    if (vmm_range_valid(space, space ? space->low : 0, size) != VMM_OK)
        return VMM_EINVAL;
    unsigned region_flags = (flags & VMM_RESERVE_PERMANENT) ? VMM_REGION_PERMANENT : 0;
    vmm_lock();
    int rc = vmm_reserve_locked(space, addr, size, prot, flags, region_flags);
    vmm_unlock();
    return debug_check(space, rc);
}

int vmm_commit(struct vmm_space *space, uintptr_t addr, size_t size, unsigned flags)
{
    int rc = vmm_range_valid(space, addr, size);

    if (rc != VMM_OK || (flags & ~(VMM_COMMIT_EAGER | VMM_COMMIT_AUTO)))
        return VMM_EINVAL;
    vmm_lock();
    rc = vmm_commit_locked(space, addr, size, flags);
    vmm_unlock();
    return debug_check(space, rc);
}

int vmm_decommit(struct vmm_space *space, uintptr_t addr, size_t size, unsigned flags)
{
    int rc = vmm_range_valid(space, addr, size);

    if (rc != VMM_OK || (flags & ~VMM_DECOMMIT_KEEP))
        return VMM_EINVAL;
    vmm_lock();
    rc = vmm_decommit_locked(space, addr, size, flags);
    vmm_unlock();
    return debug_check(space, rc);
}

int vmm_protect(struct vmm_space *space, uintptr_t addr, size_t size, unsigned prot)
{
    int rc = vmm_range_valid(space, addr, size);

    if (rc != VMM_OK || (prot & ~VMM_PROT_MASK))
        return VMM_EINVAL;
    vmm_lock();
    rc = protect_locked(space, addr, size, prot);
    vmm_unlock();
    return debug_check(space, rc);
}

int vmm_release(struct vmm_space *space, uintptr_t addr, size_t size)
{
    int rc = vmm_range_valid(space, addr, size);

    if (rc != VMM_OK)
        return rc;
    vmm_lock();
    rc = vmm_release_locked(space, addr, size);
    vmm_unlock();
    return debug_check(space, rc);
}

/* Fill *info from r (VMM lock held). */
static void describe_region(struct vmm_space *s, struct vmm_region *r, struct vmm_region_info *info)
{
    info->start = region_start(r);
    info->end = region_end(r);
    info->base = r->base;
    info->state = (enum vmm_region_state)r->state;
    info->prot = r->prot;
    info->flags = r->flags;
    info->backed = vmm_pte_count_backed(s, info->start, info->end);
}

int vmm_query_region_next(struct vmm_space *space, uintptr_t addr, struct vmm_region_info *info)
{
    struct vmm_space *s = space_for(space, addr);

    memset(info, 0, sizeof *info);
    vmm_lock();
    struct vmm_tree_node *n = vmm_tree_lower_bound(&s->regions, addr);
    if (n)
        describe_region(s, region_of(n), info);
    vmm_unlock();
    return n ? VMM_OK : VMM_ENOENT;
}

int vmm_query_region(struct vmm_space *space, uintptr_t addr, struct vmm_region_info *info)
{
    struct vmm_space *s = space_for(space, addr);

    memset(info, 0, sizeof *info);
    vmm_lock();
    struct vmm_region *r = vmm_region_find(s, addr);
    if (r)
        describe_region(s, r, info);
    vmm_unlock();
    return r ? VMM_OK : VMM_ENOENT;
}

/* ------------------------------------------------------------------ consistency */

struct region_sums {
    size_t reserved, committed, backed, mapped;
};

/* Report one violation and count it. */
static int violation(const char *what, uintptr_t at)
{
    mm_report("vmm_check: %s at 0x%lx", what, (unsigned long)at);
    return 1;
}

/* Field-level checks of one piece against its neighbours. */
static int check_piece(struct vmm_region *r, struct vmm_region *next)
{
    int errors = 0;
    uintptr_t at = region_start(r);

    if ((region_start(r) | region_end(r)) & (PAGE - 1))
        errors += violation("piece not page aligned", at);
    if (r->state < VMM_REGION_RESERVED || r->state > VMM_REGION_MAPPED ||
        (r->prot & ~VMM_PROT_MASK) || (r->flags & REGION_TOUCHED) || r->base > at)
        errors += violation("piece has bad fields", at);
    if (next && mergeable(r, next))
        errors += violation("pieces not merged", at);
    if (r->state == VMM_REGION_GUARD) {
        struct vmm_tree_node *p = vmm_tree_prev(&r->node);
        bool ok = (p && region_end(region_of(p)) == at && region_of(p)->base == r->base) ||
                  (next && region_start(next) == region_end(r) && next->base == r->base);
        if (!ok)
            errors += violation("orphan guard page", at);
    }
    return errors;
}

int vmm_regions_check(struct vmm_space *s)
{
    struct region_sums sum = {0};
    int errors = 0;

    for (struct vmm_region *r = region_from(s, s->low); r; r = region_next(r)) {
        errors += check_piece(r, region_next(r));
        size_t pages = pages_in(region_start(r), region_end(r));
        sum.reserved += pages;
        if (r->state == VMM_REGION_COMMITTED)
            sum.committed += pages;
        if (r->flags & VMM_REGION_FOREIGN)
            continue;
        errors += vmm_pte_check_region(s, r, &sum.backed, &sum.mapped);
    }
    if (sum.reserved != s->stats.reserved || sum.committed != s->stats.committed ||
        sum.backed != s->stats.backed || sum.mapped != s->stats.mapped) {
        mm_report("vmm_check: counters reserved %zu/%zu committed %zu/%zu backed %zu/%zu "
                  "mapped %zu/%zu (walked/recorded)",
                  sum.reserved, s->stats.reserved, sum.committed, s->stats.committed, sum.backed,
                  s->stats.backed, sum.mapped, s->stats.mapped);
        errors++;
    }
    return errors;
}
