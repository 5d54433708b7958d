/*
 * mm/heap_pages.c - the page-aligned heap (see heap_pages.h).
 *
 * How it works
 *
 *   Every block, every free stretch of grown memory and the record table's
 *   own memory is a RUN: a whole number of pages described by one record
 *   (struct page_run).  Records live in one table of `cap` slots (a power of
 *   two): first in the instance's own pages (the embedded table), later - when
 *   more are needed - in a META run allocated from this very heap.  Unused
 *   slots form the spare list.
 *
 *   Three structures thread the records:
 *     - a chained hash keyed by a run's start address (buckets[cap], links
 *       through hnext): heap_size/heap_free/tag lookups are O(1) expected and
 *       find only exact block starts, so interior and foreign pointers miss;
 *     - the address list (aprev/anext) of GROWN runs.  Each segment returned
 *       by src->grow is split into runs that stay in address order, so the
 *       neighbours a freed run may merge with are one link away (O(1)
 *       coalescing).  Consecutive list entries from different segments are
 *       simply not adjacent;
 *     - size bins of FREE runs: bin b holds runs of [2^b, 2^(b+1)) pages, and
 *       a bitmap says which bins are non-empty.  An allocation looks at most
 *       BIN_SCAN_LIMIT runs per bin, from the bin of its size upwards, so it
 *       is O(1) (bounded); a miss grows a new segment.
 *
 *   Where a block comes from: with src->map and an alignment of at most a
 *   page, one mapping per block (unmapped at free).  Otherwise - grow-only
 *   sources, larger alignments, or map() failing - a run carved from grown
 *   memory: aligned start inside a free run, the head and tail pieces stay
 *   free.
 *
 *   KEPT runs (HEAP_PAGES_KEEP): a freed block may stay committed (or
 *   mapped) on a FIFO of kept runs, refused by size/free/tag like any freed
 *   block, until an allocation takes it back (no source call) or the
 *   retain budget pushes the oldest out for real; heap_pages_trim gives all
 *   of them back.  The budget (keep_limit, the policy) is KEEP_BASE plus
 *   what the recent peak of live bytes says will be asked for again (the
 *   peak of this window of KEEP_WINDOW calls and the one before, minus the
 *   live bytes; at least live / KEEP_LIVE_DIV, at most live /
 *   KEEP_REUSE_DIV), at most KEEP_RUNS runs: kept memory never lifts the
 *   committed bytes above the recent peak by more than the base and the
 *   1/KEEP_LIVE_DIV, an emptied heap keeps KEEP_BASE at most, and at the
 *   end of each window what the last two windows' peak no longer justifies
 *   goes back.  A request of about a kept run's size takes it whole; a smaller
 *   one takes the front of a grown kept run and leaves the rest kept; a
 *   grown block freed next to kept runs merges with them, so kept memory
 *   does not crumble into pieces nobody asks for.  Such an instance
 *   carves blocks from grown runs rather than mapping each one.  resize
 *   grows a grown block in place into the free or kept run right after it.
 *
 * Invariants (all verified by pages_check)
 *   - every non-spare record is in the hash, in the bucket of its start, and
 *     its seal matches its fields (start, pages, state, origin, self, tag);
 *   - grown runs of one segment tile it in address order; no two adjacent
 *     runs are both free (they are merged at once);
 *   - a run is in bin b iff it is FREE and floor(log2(pages)) clamps to b;
 *   - FREE runs are deactivated (when the source has activate/deactivate),
 *     LIVE, META and KEPT runs are active: freed memory gives its frames
 *     back at once unless it is kept, and bytes_committed counts live and
 *     kept memory;
 *   - the kept list holds exactly the KEPT runs, oldest first, kept_bytes
 *     their total;
 *   - the spare list holds at least RECORDS_PER_ALLOC records between calls,
 *     enough for an allocation that splits a run twice and grows a segment.
 *     Allocations first make sure at least TABLE_LOW_WATER are spare and grow
 *     the table (doubling, O(n) amortised) if not; frees shrink it again when
 *     it is mostly empty, so a heap whose blocks are all freed returns to the
 *     embedded table and to its starting footprint.
 *
 * Complexity: alloc O(1) (bounded bin scan; a table resize is amortised),
 * size/free/tag O(1) expected, check O(records).
 *
 * Locking: every entry point takes src->lock (when the source has one) for
 * its whole duration, and calls the source's grow/map/unmap/activate/
 * deactivate with it held; a source must not take its own lock in those
 * callbacks.  With HEAP_PAGES_NOLOCK the owner holds the lock instead.
 * Nothing blocks here; whether the instance may be used from interrupt
 * context is the source's lock's business (an irq-saving lock makes it so).
 */
#include "mm/heap_pages.h"
#include "mm/heap_pages_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mm/heap.h"
#include "mm/port.h"

#define PAGES_MAGIC 0x50414745u /* "PAGE": a live instance */
#define PAGES_DEAD 0x44454144u  /* "DEAD": a destroyed one */
#define PAGES_JUNK 0xdb         /* MM_DEBUG: fills freed runs that stay committed */
#define RUN_SEAL_MAGIC 0x5255u  /* "RU": seeds every record's checksum */
#define NIL UINT32_MAX
#define BIN_COUNT 32u
#define BIN_SCAN_LIMIT 8u
#define GROW_MIN_PAGES 16u /* segments of at least 64 KiB: fewer grows, fewer records */
#define EMBEDDED_MIN                                                                               \
    64u /* records the instance's own pages hold at least (see table_maybe_shrink) */
#define RECORDS_PER_ALLOC 3u /* one segment + a head and a tail split */
#define TABLE_LOW_WATER (3u * RECORDS_PER_ALLOC)
/*
 * The keep budget (HEAP_PAGES_KEEP, see keep_limit): freed blocks stay
 * committed, up to KEEP_BASE bytes plus 1/KEEP_LIVE_DIV of the live bytes,
 * plus what the recent peak says will be needed again (the peak of the
 * last two windows of KEEP_WINDOW calls, minus the live bytes) up to
 * 1/KEEP_REUSE_DIV of the live bytes; at most KEEP_RUNS runs.  An
 * allocation looks at the KEEP_SCAN newest for one that fits with at most
 * 1/KEEP_WASTE_DIV extra.
 */
#define KEEP_BASE ((size_t)512 * 1024)
#define KEEP_LIVE_DIV 32u
#define KEEP_REUSE_DIV 2u
#define KEEP_WINDOW 128u
#define KEEP_RUNS 32u
#define KEEP_SCAN 8u
#define KEEP_WASTE_DIV 8u

/* Record states and origins (struct page_run.state / .origin). */
enum { RUN_SPARE = 0x5a, RUN_FREE = 0xf3, RUN_LIVE = 0x1c, RUN_META = 0x3e, RUN_KEPT = 0x4b };
enum { RUN_GROWN = 0x67, RUN_MAPPED = 0x6d };

struct heap_pages {
    struct heap heap; /* first: the common API */
    uint32_t magic;
    uint32_t flags;
    struct heap_source *src;
    size_t page;         /* page size, a power of two */
    unsigned page_shift; /* log2(page) */
    bool can_decommit;   /* source has activate and deactivate */

    /* the record table: cap records, then cap bucket heads */
    struct page_run *runs;
    uint32_t *buckets;
    uint32_t cap, cap_shift;
    uint32_t spare, spare_count;
    uint32_t table_run; /* record of the META run holding the table; NIL = embedded */
    uint32_t embedded_cap;
    void *embedded;

    /* freed blocks kept committed (HEAP_PAGES_KEEP): oldest at head, through u.bin */
    uint32_t kept_head, kept_tail, kept_count;
    size_t kept_bytes;
    /* the keep window: live peaks of this window and the one before, calls into this one */
    size_t keep_win_peak, keep_prev_peak;
    uint32_t keep_win_calls;

    /* grown memory */
    uint32_t addr_head, addr_tail;
    uint32_t bin_map;
    uint32_t bins[BIN_COUNT];

    /* accounting, in bytes unless named otherwise */
    size_t self_bytes;     /* the instance's own pages */
    size_t grown_bytes;    /* obtained through grow */
    size_t grown_pages;    /* of it, pages tiled by runs (a misaligned grow loses a page) */
    size_t mapped_bytes;   /* held as mappings */
    size_t inactive_bytes; /* free runs, deactivated */
    size_t live_bytes, peak_bytes, meta_bytes;
    size_t live_blocks, free_runs;
    struct heap_counters count;
};
_Static_assert(offsetof(struct heap_pages, heap) == 0,
               "a struct heap * must point at the instance");

static const struct heap_ops pages_ops;

/* ------------------------------------------------------------ small helpers */

static struct heap_pages *to_pages(struct heap *h)
{
    return (struct heap_pages *)h;
}

static void pages_lock(struct heap_pages *hp)
{
    if (!(hp->flags & HEAP_PAGES_NOLOCK) && hp->src->lock)
        hp->src->lock(hp->src);
}

static void pages_unlock(struct heap_pages *hp)
{
    if (!(hp->flags & HEAP_PAGES_NOLOCK) && hp->src->unlock)
        hp->src->unlock(hp->src);
}

static unsigned floor_log2(uint64_t x)
{
    return 63u - (unsigned)__builtin_clzll(x);
}

static size_t round_up(size_t x, size_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static size_t run_bytes(const struct heap_pages *hp, const struct page_run *r)
{
    return r->pages << hp->page_shift;
}

static uintptr_t run_end(const struct heap_pages *hp, const struct page_run *r)
{
    return r->start + run_bytes(hp, r);
}

/* Live bytes rose: the all-time peak and the keep window's peak follow. */
static void live_grew(struct heap_pages *hp, size_t bytes)
{
    hp->live_bytes += bytes;
    if (hp->live_bytes > hp->peak_bytes)
        hp->peak_bytes = hp->live_bytes;
    if (hp->live_bytes > hp->keep_win_peak)
        hp->keep_win_peak = hp->live_bytes;
}

/* ------------------------------------------------------------ records */

static uint64_t seal_mix(uint64_t x, uint64_t v)
{
    x = (x ^ v) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}

/*
 * The checksum that makes a scribbled-on record visible.  Bin links change
 * whenever a neighbour moves, so they are checked structurally instead.
 */
static uint32_t seal_of(const struct page_run *r)
{
    uint64_t x = RUN_SEAL_MAGIC;
    x = seal_mix(x, r->start);
    x = seal_mix(x, r->pages);
    x = seal_mix(x, r->state == RUN_FREE || r->state == RUN_KEPT ? 0 : r->u.raw);
    x = seal_mix(x, (uint64_t)r->state | (uint64_t)r->origin << 16 | (uint64_t)r->self << 32);
    return (uint32_t)(x ^ (x >> 32));
}

static void run_seal(struct page_run *r)
{
    r->seal = seal_of(r);
}

static bool run_sealed(const struct page_run *r)
{
    return r->seal == seal_of(r);
}

/* Take a record from the spare list; the reserve guarantees there is one. */
static uint32_t record_take(struct heap_pages *hp)
{
    uint32_t i = hp->spare;
    if (i == NIL)
        mm_panic("heap_pages: record table exhausted");
    struct page_run *r = &hp->runs[i];
    hp->spare = r->hnext;
    hp->spare_count--;
    r->u.raw = 0;
    r->hnext = r->aprev = r->anext = NIL;
    return i;
}

static void record_put(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    r->start = 0;
    r->pages = 0;
    r->u.raw = 0;
    r->state = RUN_SPARE;
    r->origin = 0;
    r->aprev = r->anext = NIL;
    r->hnext = hp->spare;
    run_seal(r);
    hp->spare = i;
    hp->spare_count++;
}

/* ------------------------------------------------------------ hash by start */

/* Fibonacci hashing of the page number: consecutive pages spread over all buckets. */
static uint32_t bucket_of(const struct heap_pages *hp, uintptr_t start)
{
    uint64_t key = (uint64_t)(start >> hp->page_shift);
    uint32_t h = (uint32_t)(key ^ (key >> 32)) * 0x9E3779B1u;
    return h >> (32u - hp->cap_shift);
}

static void hash_insert(struct heap_pages *hp, uint32_t i)
{
    uint32_t b = bucket_of(hp, hp->runs[i].start);
    hp->runs[i].hnext = hp->buckets[b];
    hp->buckets[b] = i;
}

static void hash_remove(struct heap_pages *hp, uint32_t i)
{
    uint32_t *link = &hp->buckets[bucket_of(hp, hp->runs[i].start)];
    for (uint32_t steps = 0; *link != NIL && steps < hp->cap; steps++) {
        if (*link == i) {
            *link = hp->runs[i].hnext;
            return;
        }
        link = &hp->runs[*link].hnext;
    }
    mm_panic("heap_pages: record %u missing from its hash chain", i);
}

/* Index of the record starting at start, NIL if none.  A looping chain is reported, not followed.
 */
static uint32_t hash_find(struct heap_pages *hp, uintptr_t start)
{
    uint32_t i = hp->buckets[bucket_of(hp, start)];
    for (uint32_t steps = 0; i != NIL; steps++) {
        if (i >= hp->cap || steps >= hp->cap) {
            hp->count.reported_errors++;
            mm_report("heap_pages: corrupted hash chain near %p", (void *)start);
            return NIL;
        }
        if (hp->runs[i].start == start && hp->runs[i].state != RUN_SPARE)
            return i;
        i = hp->runs[i].hnext;
    }
    return NIL;
}

/* ------------------------------------------------------------ size bins */

static unsigned bin_of(size_t pages)
{
    unsigned b = floor_log2(pages);
    return b < BIN_COUNT ? b : BIN_COUNT - 1;
}

static void bin_insert(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    unsigned b = bin_of(r->pages);
    r->u.bin.prev = NIL;
    r->u.bin.next = hp->bins[b];
    if (r->u.bin.next != NIL)
        hp->runs[r->u.bin.next].u.bin.prev = i;
    hp->bins[b] = i;
    hp->bin_map |= 1u << b;
    hp->free_runs++;
}

static void bin_remove(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    unsigned b = bin_of(r->pages);
    if (r->u.bin.prev != NIL)
        hp->runs[r->u.bin.prev].u.bin.next = r->u.bin.next;
    else
        hp->bins[b] = r->u.bin.next;
    if (r->u.bin.next != NIL)
        hp->runs[r->u.bin.next].u.bin.prev = r->u.bin.prev;
    if (hp->bins[b] == NIL)
        hp->bin_map &= ~(1u << b);
    r->u.raw = 0;
    hp->free_runs--;
}

/* ------------------------------------------------------------ address list */

/* Link record i after record `after` (NIL: at the tail). */
static void addr_link_after(struct heap_pages *hp, uint32_t i, uint32_t after)
{
    struct page_run *r = &hp->runs[i];
    if (after == NIL)
        after = hp->addr_tail;
    r->aprev = after;
    r->anext = after == NIL ? hp->addr_head : hp->runs[after].anext;
    if (after == NIL)
        hp->addr_head = i;
    else
        hp->runs[after].anext = i;
    if (r->anext == NIL)
        hp->addr_tail = i;
    else
        hp->runs[r->anext].aprev = i;
}

static void addr_unlink(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    if (r->aprev == NIL)
        hp->addr_head = r->anext;
    else
        hp->runs[r->aprev].anext = r->anext;
    if (r->anext == NIL)
        hp->addr_tail = r->aprev;
    else
        hp->runs[r->anext].aprev = r->aprev;
}

/* ------------------------------------------------------------ grown runs */

static void run_deactivate(struct heap_pages *hp, struct page_run *r)
{
    if (!hp->can_decommit)
        return;
    hp->src->deactivate(hp->src, (void *)r->start, run_bytes(hp, r));
    hp->inactive_bytes += run_bytes(hp, r);
}

static int run_activate(struct heap_pages *hp, struct page_run *r)
{
    if (!hp->can_decommit)
        return 0;
    if (hp->src->activate(hp->src, (void *)r->start, run_bytes(hp, r)) != 0)
        return -1;
    hp->inactive_bytes -= run_bytes(hp, r);
    return 0;
}

/* Split grown run i after its first k pages; the new record (returned) takes the rest. */
static uint32_t run_split(struct heap_pages *hp, uint32_t i, size_t k)
{
    uint32_t j = record_take(hp);
    struct page_run *a = &hp->runs[i], *b = &hp->runs[j];
    b->start = a->start + (k << hp->page_shift);
    b->pages = a->pages - k;
    b->state = a->state;
    b->origin = a->origin;
    b->self = j;
    a->pages = k;
    addr_link_after(hp, j, i);
    hash_insert(hp, j);
    run_seal(a);
    run_seal(b);
    return j;
}

/* Run b (free, out of its bin) disappears into its left neighbour a. */
static void run_absorb(struct heap_pages *hp, uint32_t a, uint32_t b)
{
    hp->runs[a].pages += hp->runs[b].pages;
    run_seal(&hp->runs[a]);
    addr_unlink(hp, b);
    hash_remove(hp, b);
    record_put(hp, b);
}

static bool runs_adjacent(const struct heap_pages *hp, uint32_t a, uint32_t b)
{
    return run_end(hp, &hp->runs[a]) == hp->runs[b].start;
}

/* Merge free run i (not in a bin) with free neighbours; put the result in its bin. */
static void free_run_settle(struct heap_pages *hp, uint32_t i)
{
    uint32_t next = hp->runs[i].anext, prev = hp->runs[i].aprev;
    if (next != NIL && hp->runs[next].state == RUN_FREE && runs_adjacent(hp, i, next)) {
        bin_remove(hp, next);
        run_absorb(hp, i, next);
    }
    if (prev != NIL && hp->runs[prev].state == RUN_FREE && runs_adjacent(hp, prev, i)) {
        bin_remove(hp, prev);
        run_absorb(hp, prev, i);
        i = prev;
    }
    bin_insert(hp, i);
}

/*
 * A grown run goes back to the run map.  `deactivate` is false for a run
 * whose activation failed: it is still inactive and still counted so.
 */
static void grown_free(struct heap_pages *hp, uint32_t i, bool deactivate)
{
    struct page_run *r = &hp->runs[i];
    r->state = RUN_FREE;
    r->u.raw = 0;
    run_seal(r);
#if MM_DEBUG
    /* memory that keeps its frames keeps its contents: junk makes a stale reader visible */
    if (deactivate && !hp->can_decommit)
        memset((void *)r->start, PAGES_JUNK, run_bytes(hp, r));
#endif
    if (deactivate)
        run_deactivate(hp, r);
    free_run_settle(hp, i);
}

/*
 * Grow a segment big enough for `need` bytes (page multiple) and file it as
 * a free run.  Returns 0, or -1 if the source is exhausted.
 */
static int segment_add(struct heap_pages *hp, size_t need)
{
    size_t want =
        need > (GROW_MIN_PAGES << hp->page_shift) ? need : GROW_MIN_PAGES << hp->page_shift;
    void *p = hp->src->grow(hp->src, want);
    if (!p && want > need) { /* the chunk may not fit where the request does */
        want = need;
        p = hp->src->grow(hp->src, want);
    }
    if (!p)
        return -1;
    hp->grown_bytes += want;
    /* a source should give page-aligned memory; if it does not, the partial page is lost */
    uintptr_t start = round_up((uintptr_t)p, hp->page);
    size_t pages = (want - (start - (uintptr_t)p)) >> hp->page_shift;
    if (pages == 0)
        return -1;
    uint32_t i = record_take(hp);
    struct page_run *r = &hp->runs[i];
    r->start = start;
    r->pages = pages;
    r->state = RUN_FREE;
    r->origin = RUN_GROWN;
    r->self = i;
    run_seal(r);
    hash_insert(hp, i);
    addr_link_after(hp, i, NIL);
    hp->grown_pages += pages;
    run_deactivate(hp, r); /* free runs are inactive: the frames go back until used */
    free_run_settle(hp, i);
    return 0;
}

static bool run_fits(const struct heap_pages *hp, const struct page_run *r, size_t pages,
                     size_t align)
{
    /* pages to skip to the first aligned start; (0 - start) & (align - 1) cannot overflow */
    size_t head = ((0 - r->start) & (align - 1)) >> hp->page_shift;
    return r->pages >= head && r->pages - head >= pages;
}

/* A free run that can hold `pages` pages at `align`, or NIL.  Bounded scan per bin. */
static uint32_t fit_find(struct heap_pages *hp, size_t pages, size_t align)
{
    uint32_t map = hp->bin_map & (~0u << bin_of(pages));
    while (map) {
        unsigned b = (unsigned)__builtin_ctz(map);
        map &= map - 1;
        uint32_t i = hp->bins[b];
        for (unsigned n = 0; i != NIL && n < BIN_SCAN_LIMIT; n++, i = hp->runs[i].u.bin.next)
            if (run_fits(hp, &hp->runs[i], pages, align))
                return i;
    }
    return NIL;
}

/* Cut an aligned piece of `pages` pages out of free run i; head and tail stay free. */
static uint32_t run_carve(struct heap_pages *hp, uint32_t i, size_t pages, size_t align)
{
    size_t head = ((0 - hp->runs[i].start) & (align - 1)) >> hp->page_shift;
    bin_remove(hp, i);
    if (head) {
        uint32_t j = run_split(hp, i, head);
        bin_insert(hp, i);
        i = j;
    }
    if (hp->runs[i].pages > pages)
        bin_insert(hp, run_split(hp, i, pages));
    return i;
}

/* An active grown run of `pages` at `align` (still marked FREE), or NIL. */
static uint32_t block_from_grown(struct heap_pages *hp, size_t pages, size_t align, bool may_grow)
{
    size_t bytes = pages << hp->page_shift;
    uint32_t i = fit_find(hp, pages, align);
    if (i == NIL) {
        if (!may_grow || align - hp->page > SIZE_MAX - bytes ||
            segment_add(hp, bytes + align - hp->page) != 0)
            return NIL;
        i = fit_find(hp, pages, align);
        if (i == NIL)
            return NIL;
    }
    i = run_carve(hp, i, pages, align);
    if (run_activate(hp, &hp->runs[i]) != 0) {
        grown_free(hp, i, false);
        return NIL;
    }
    return i;
}

/* A mapping of `pages` pages, or NIL (no map, or map failed). */
static uint32_t block_from_map(struct heap_pages *hp, size_t pages)
{
    size_t bytes = pages << hp->page_shift;
    if (!hp->src->map)
        return NIL;
    void *p = hp->src->map(hp->src, bytes);
    if (!p)
        return NIL;
    if ((uintptr_t)p & (hp->page - 1)) {
        mm_report("heap_pages: source mapped %p, not page-aligned; refused", p);
        hp->count.reported_errors++;
        if (hp->src->unmap)
            hp->src->unmap(hp->src, p, bytes);
        return NIL;
    }
    uint32_t i = record_take(hp);
    struct page_run *r = &hp->runs[i];
    r->start = (uintptr_t)p;
    r->pages = pages;
    r->origin = RUN_MAPPED;
    r->self = i;
    hash_insert(hp, i);
    hp->mapped_bytes += bytes;
    return i;
}

/*
 * A new active run of `pages` pages aligned to `align` (>= page) in state
 * `state` (RUN_LIVE or RUN_META), or NIL.  Needs RECORDS_PER_ALLOC spares.
 * With may_grow false it only reuses free grown runs (used while freeing).
 */
static uint32_t block_new(struct heap_pages *hp, size_t pages, size_t align, uint16_t state,
                          bool may_grow)
{
    uint32_t i = NIL;
    /* kept blocks are reused from grown runs: a mapping per block would be unmapped anyway */
    if (align == hp->page && may_grow && !(hp->flags & HEAP_PAGES_KEEP))
        i = block_from_map(hp, pages);
    if (i == NIL)
        i = block_from_grown(hp, pages, align, may_grow);
    if (i == NIL)
        return NIL;
    struct page_run *r = &hp->runs[i];
    r->state = state;
    r->u.raw = 0;
    run_seal(r);
    if (state == RUN_META) {
        hp->meta_bytes += run_bytes(hp, r);
        return i;
    }
    live_grew(hp, run_bytes(hp, r));
    hp->live_blocks++;
    return i;
}

/* Give back live or META run i: unmap a mapping, return a grown run to the run map. */
static void block_release(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    size_t bytes = run_bytes(hp, r);
    if (r->state == RUN_META) {
        hp->meta_bytes -= bytes;
    } else {
        hp->live_bytes -= bytes;
        hp->live_blocks--;
    }
    if (r->origin == RUN_GROWN) {
        grown_free(hp, i, true);
        return;
    }
    hp->src->unmap(hp->src, (void *)r->start, bytes);
    hp->mapped_bytes -= bytes;
    hash_remove(hp, i);
    record_put(hp, i);
}

/* ------------------------------------------------------------ the record table */

static size_t table_bytes(uint32_t cap)
{
    return (size_t)cap * (sizeof(struct page_run) + sizeof(uint32_t));
}

static uint32_t renumbered(const struct page_run *old, uint32_t i)
{
    return i == NIL ? NIL : old[i].self;
}

/* Copy old record k to its new slot, translating its links; the hash is rebuilt later. */
static void record_move(struct heap_pages *hp, const struct page_run *old, uint32_t k)
{
    struct page_run *d = &hp->runs[old[k].self];
    *d = old[k];
    d->aprev = renumbered(old, old[k].aprev);
    d->anext = renumbered(old, old[k].anext);
    if (d->state == RUN_FREE || d->state == RUN_KEPT) {
        d->u.bin.prev = renumbered(old, old[k].u.bin.prev);
        d->u.bin.next = renumbered(old, old[k].u.bin.next);
    }
    run_seal(d);
}

/* Point the instance at a table of `cap` records at mem, all spare, no buckets. */
static void table_install(struct heap_pages *hp, void *mem, uint32_t cap)
{
    hp->runs = mem;
    hp->buckets = (uint32_t *)(hp->runs + cap);
    hp->cap = cap;
    hp->cap_shift = floor_log2(cap);
    memset(hp->buckets, 0xff, cap * sizeof(uint32_t)); /* every bucket NIL */
    hp->spare = NIL;
    hp->spare_count = 0;
}

/*
 * Move every record into a table of new_cap slots (the embedded one when
 * new_cap == embedded_cap, else a META run of this heap) and free the old
 * table's run.  Returns 0, or -1 when the new run cannot be had.  O(cap).
 */
static int table_resize(struct heap_pages *hp, uint32_t new_cap)
{
    uint32_t meta = NIL;
    void *mem = hp->embedded;
    if (new_cap != hp->embedded_cap) {
        size_t pages = round_up(table_bytes(new_cap), hp->page) >> hp->page_shift;
        /* growing the table may grow the heap; shrinking it (during a free) may not */
        meta = block_new(hp, pages, hp->page, RUN_META, new_cap > hp->cap);
        if (meta == NIL)
            return -1;
        mem = (void *)hp->runs[meta].start;
    }
    /* the new run was allocated in the old table; from here on nothing allocates */
    struct page_run *old = hp->runs;
    uint32_t old_cap = hp->cap, used = 0;
    /* number the survivors densely; old[k].self now holds the new index */
    for (uint32_t k = 0; k < old_cap; k++)
        if (old[k].state != RUN_SPARE)
            old[k].self = used++;
    if (used > new_cap)
        mm_panic("heap_pages: table of %u records cannot hold %u", new_cap, used);
    uint32_t old_meta = renumbered(old, hp->table_run);
    meta = renumbered(old, meta);
    for (unsigned b = 0; b < BIN_COUNT; b++)
        hp->bins[b] = renumbered(old, hp->bins[b]);
    hp->addr_head = renumbered(old, hp->addr_head);
    hp->kept_head = renumbered(old, hp->kept_head);
    hp->kept_tail = renumbered(old, hp->kept_tail);
    hp->addr_tail = renumbered(old, hp->addr_tail);
    /* copy with links translated, then rebuild what depends on cap: buckets and spares */
    table_install(hp, mem, new_cap);
    for (uint32_t k = 0; k < old_cap; k++)
        if (old[k].state != RUN_SPARE)
            record_move(hp, old, k);
    for (uint32_t i = 0; i < used; i++)
        hash_insert(hp, i);
    for (uint32_t i = new_cap; i-- > used;) {
        hp->runs[i].self = i;
        record_put(hp, i);
    }
    /* the old table's run is now just a record in the new table: free it like any block */
    hp->table_run = meta;
    if (old_meta != NIL)
        block_release(hp, old_meta);
    return 0;
}

/* Make sure an allocation finds enough spare records; false if it must fail. */
static bool table_reserve(struct heap_pages *hp)
{
    if (hp->spare_count >= TABLE_LOW_WATER)
        return true;
    if (hp->cap <= UINT32_MAX / 4 && table_resize(hp, hp->cap * 2) == 0)
        return true;
    return hp->spare_count >= 2 * RECORDS_PER_ALLOC; /* the next resize still has its records */
}

/*
 * After a free: move to a smaller table when the records fill a quarter of
 * it or less.  The target keeps half its slots spare beyond the low-water
 * mark, so that the next few allocations cannot bounce it back up; with
 * EMBEDDED_MIN records, a heap down to a couple of dozen runs returns to the
 * embedded table (and gives the table's pages back).
 */
static void table_maybe_shrink(struct heap_pages *hp)
{
    if (hp->table_run == NIL)
        return;
    uint32_t used = hp->cap - hp->spare_count, target = hp->embedded_cap;
    while (target < 2 * (used + TABLE_LOW_WATER))
        target *= 2;
    if (target <= hp->cap / 4 || (target == hp->embedded_cap && target < hp->cap))
        table_resize(hp, target); /* on failure the bigger table simply stays */
}

/* ------------------------------------------------------------ kept blocks */

/*
 * With HEAP_PAGES_KEEP a freed block is not given back at once: it becomes
 * a KEPT run - still committed (or still mapped), not merged, refused by
 * size/free/tag like any freed block - on a FIFO list.  An allocation of
 * about the same size takes the newest fitting one back without a single
 * call to the source; the oldest are given back when the budget is
 * exceeded and all of them by heap_pages_trim.
 */
/*
 * The keep budget when `live` bytes are live.  Memory that was live in the
 * last window or two is likely to be asked for again: up to the recent
 * peak (at most 1/KEEP_REUSE_DIV of the live bytes more) stays committed,
 * so a heap that swings below its peak and back makes no source call.  At
 * the peak itself the budget is KEEP_BASE plus 1/KEEP_LIVE_DIV of the live
 * bytes, so what is kept never raises the peak footprint by more; with
 * nothing live it is KEEP_BASE, the retain budget of an emptied heap.
 */
static size_t keep_limit(const struct heap_pages *hp, size_t live)
{
    if (!(hp->flags & HEAP_PAGES_KEEP))
        return 0;
    size_t recent = hp->keep_win_peak > hp->keep_prev_peak ? hp->keep_win_peak : hp->keep_prev_peak;
    size_t reuse = recent > live ? recent - live : 0;
    size_t floor = live / KEEP_LIVE_DIV, cap = live / KEEP_REUSE_DIV;
    size_t extra = reuse < cap ? reuse : cap;
    return KEEP_BASE + (extra > floor ? extra : floor);
}

static void kept_unlink(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    if (r->u.bin.prev != NIL)
        hp->runs[r->u.bin.prev].u.bin.next = r->u.bin.next;
    else
        hp->kept_head = r->u.bin.next;
    if (r->u.bin.next != NIL)
        hp->runs[r->u.bin.next].u.bin.prev = r->u.bin.prev;
    else
        hp->kept_tail = r->u.bin.prev;
    hp->kept_count--;
    hp->kept_bytes -= run_bytes(hp, r);
    r->u.raw = 0;
}

/* Give the oldest kept run back for real (unmapped, or deactivated and merged). */
static void kept_evict_oldest(struct heap_pages *hp)
{
    uint32_t i = hp->kept_head;
    kept_unlink(hp, i);
    if (hp->runs[i].origin == RUN_GROWN) {
        grown_free(hp, i, true);
        return;
    }
    hp->src->unmap(hp->src, (void *)hp->runs[i].start, run_bytes(hp, &hp->runs[i]));
    hp->mapped_bytes -= run_bytes(hp, &hp->runs[i]);
    hash_remove(hp, i);
    record_put(hp, i);
}

/* Run i (state RUN_KEPT) becomes the newest kept run. */
static void kept_append(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    r->u.bin.next = NIL;
    r->u.bin.prev = hp->kept_tail;
    if (hp->kept_tail != NIL)
        hp->runs[hp->kept_tail].u.bin.next = i;
    else
        hp->kept_head = i;
    hp->kept_tail = i;
    hp->kept_count++;
    hp->kept_bytes += run_bytes(hp, r);
    run_seal(r);
}

/* Is run j a kept grown run right after (or, with `before`, right before) run i? */
static bool kept_neighbour(const struct heap_pages *hp, uint32_t i, uint32_t j, bool before)
{
    return j != NIL && hp->runs[j].state == RUN_KEPT && hp->runs[j].origin == RUN_GROWN &&
           (before ? runs_adjacent(hp, j, i) : runs_adjacent(hp, i, j));
}

/*
 * Grown run i, just kept (not on the list yet), takes in the kept runs
 * adjacent to it, so that kept memory stays in pieces as big as it can:
 * what is cut off one kept run and freed again joins it.  Returns the
 * merged run.
 */
static uint32_t kept_merge(struct heap_pages *hp, uint32_t i)
{
    uint32_t next = hp->runs[i].anext, prev = hp->runs[i].aprev;
    if (kept_neighbour(hp, i, next, false)) {
        kept_unlink(hp, next);
        run_absorb(hp, i, next);
    }
    if (kept_neighbour(hp, i, prev, true)) {
        kept_unlink(hp, prev);
        hp->runs[prev].state = RUN_KEPT;
        run_absorb(hp, prev, i);
        i = prev;
    }
    return i;
}

/* Live run i is being freed: keep it if the budget allows (true), else leave it to the caller. */
static bool kept_put(struct heap_pages *hp, uint32_t i)
{
    struct page_run *r = &hp->runs[i];
    size_t bytes = run_bytes(hp, r);
    size_t limit = keep_limit(hp, hp->live_bytes - bytes); /* against what stays live */
    if (bytes > limit)
        return false;
    hp->live_bytes -= bytes;
    hp->live_blocks--;
    r->state = RUN_KEPT;
    kept_append(hp, r->origin == RUN_GROWN ? kept_merge(hp, i) : i);
    while (hp->kept_bytes > limit || hp->kept_count > KEEP_RUNS)
        kept_evict_oldest(hp);
    return true;
}

/*
 * Count a call into the keep window; at its end the window before is
 * forgotten, and kept memory the new budget no longer allows goes back:
 * memory not needed at any time of the last window is returned at its
 * end, even with no free to trigger it.  O(runs given back).
 */
static void keep_window_tick(struct heap_pages *hp)
{
    if (++hp->keep_win_calls < KEEP_WINDOW)
        return;
    hp->keep_win_calls = 0;
    hp->keep_prev_peak = hp->keep_win_peak;
    hp->keep_win_peak = hp->live_bytes;
    while (hp->kept_count && hp->kept_bytes > keep_limit(hp, hp->live_bytes))
        kept_evict_oldest(hp);
}

/* Does kept run r serve `pages` at `align` with at most 1/KEEP_WASTE_DIV to spare? */
static bool kept_close_fit(const struct page_run *r, size_t pages)
{
    return r->pages - pages <= pages / KEEP_WASTE_DIV;
}

/*
 * The kept run to serve `pages` pages at `align`, among the KEEP_SCAN
 * newest: the first close fit, else the smallest grown one big enough
 * (kept_take cuts it), else NIL.
 */
static uint32_t kept_find(const struct heap_pages *hp, size_t pages, size_t align)
{
    uint32_t i = hp->kept_tail, best = NIL;
    for (unsigned n = 0; i != NIL && n < KEEP_SCAN; n++, i = hp->runs[i].u.bin.prev) {
        const struct page_run *r = &hp->runs[i];
        if (r->pages < pages || (r->start & (align - 1)))
            continue;
        if (kept_close_fit(r, pages))
            return i;
        if (r->origin == RUN_GROWN && (best == NIL || r->pages < hp->runs[best].pages))
            best = i;
    }
    return best;
}

/*
 * A kept run for `pages` pages at `align`, made live again, or NIL.  A
 * bigger grown one is cut: the block takes its front, the rest stays kept
 * (committed, newest), so kept memory serves smaller requests too without
 * a source call.  The split's record is one of the spares alloc_locked
 * makes sure of before (table_reserve).
 */
static uint32_t kept_take(struct heap_pages *hp, size_t pages, size_t align)
{
    uint32_t i = kept_find(hp, pages, align);
    if (i == NIL)
        return NIL;
    kept_unlink(hp, i);
    if (!kept_close_fit(&hp->runs[i], pages))
        kept_append(hp, run_split(hp, i, pages));
    struct page_run *r = &hp->runs[i];
    r->state = RUN_LIVE;
    run_seal(r);
    live_grew(hp, run_bytes(hp, r));
    hp->live_blocks++;
    return i;
}

int heap_is_pages(const struct heap *h)
{
    return h && h->ops == &pages_ops;
}

void heap_pages_trim(struct heap *h)
{
    struct heap_pages *hp = to_pages(h);
    pages_lock(hp);
    while (hp->kept_count)
        kept_evict_oldest(hp);
    table_maybe_shrink(hp);
    pages_unlock(hp);
}

/* ------------------------------------------------------------ entry points */

static void pages_report(struct heap_pages *hp, const void *ptr, const char *why)
{
    hp->count.reported_errors++;
    mm_report("heap_pages: free(%p): %s", ptr, why);
}

/*
 * The live run starting at ptr, or NIL; *why says what else ptr is.  A
 * record whose seal is broken is not trusted (pages_check reports it).
 */
static uint32_t live_find(struct heap_pages *hp, const void *ptr, const char **why)
{
    *why = "not a live block of this heap (foreign, interior or freed)";
    if (!ptr || ((uintptr_t)ptr & (hp->page - 1)))
        return NIL;
    uint32_t i = hash_find(hp, (uintptr_t)ptr);
    if (i == NIL)
        return NIL;
    if (!run_sealed(&hp->runs[i])) {
        *why = "its record is corrupted";
        return NIL;
    }
    if (hp->runs[i].state != RUN_LIVE) {
        *why = hp->runs[i].state == RUN_FREE || hp->runs[i].state == RUN_KEPT
                   ? "double free"
                   : "not a block (heap metadata)";
        return NIL;
    }
    return i;
}

static void *alloc_locked(struct heap_pages *hp, size_t size, size_t align)
{
    if (size == 0 || size > HEAP_MAX_REQUEST || !heap_align_valid(align) ||
        align > HEAP_MAX_REQUEST)
        return NULL;
    if (align < hp->page)
        align = hp->page; /* every block is page-aligned anyway */
    size_t pages = round_up(size, hp->page) >> hp->page_shift;
    keep_window_tick(hp);
    /* records first, for a kept run cut in two as for any split: running
     * out of them halfway through one could not be undone */
    if (!table_reserve(hp))
        return NULL;
    uint32_t i = kept_take(hp, pages, align);
    if (i != NIL) {
        hp->count.alloc_calls++;
        return (void *)hp->runs[i].start;
    }
    i = block_new(hp, pages, align, RUN_LIVE, true);
    if (i == NIL)
        return NULL;
    hp->count.alloc_calls++;
    return (void *)hp->runs[i].start;
}

static void *pages_alloc(struct heap *h, size_t size, size_t align)
{
    struct heap_pages *hp = to_pages(h);
    pages_lock(hp);
    void *p = alloc_locked(hp, size, align);
    if (!p)
        hp->count.failed_calls++;
    pages_unlock(hp);
    return p;
}

static size_t pages_size(struct heap *h, const void *ptr)
{
    struct heap_pages *hp = to_pages(h);
    const char *why;
    pages_lock(hp);
    uint32_t i = live_find(hp, ptr, &why);
    size_t bytes = i == NIL ? 0 : run_bytes(hp, &hp->runs[i]);
    pages_unlock(hp);
    return bytes;
}

/* Free the live block at ptr: its size, or 0 (and reported when `report`) if it is none. */
static size_t free_locked(struct heap_pages *hp, void *ptr, bool report)
{
    const char *why;
    uint32_t i = live_find(hp, ptr, &why);
    if (i == NIL) {
        if (report)
            pages_report(hp, ptr, why);
        return 0;
    }
    size_t bytes = run_bytes(hp, &hp->runs[i]);
    hp->count.free_calls++;
    keep_window_tick(hp);
    if (kept_put(hp, i))
        return bytes;
    block_release(hp, i);
    table_maybe_shrink(hp);
    return bytes;
}

static void pages_free(struct heap *h, void *ptr)
{
    struct heap_pages *hp = to_pages(h);
    pages_lock(hp);
    free_locked(hp, ptr, true);
    pages_unlock(hp);
}

/* ops->release: free ptr if it is a live block here, else say so (0) without a report. */
static size_t pages_release(struct heap *h, void *ptr)
{
    struct heap_pages *hp = to_pages(h);
    pages_lock(hp);
    size_t bytes = free_locked(hp, ptr, false);
    pages_unlock(hp);
    return bytes;
}

/*
 * Grow live grown run i to `pages` pages in place, taking the front of the
 * free run right after it.  Returns 0, or -1 with nothing changed.
 */
/*
 * Live grown run i takes `extra` pages from the kept run right after it
 * (committed already: no source call); the rest of that run stays kept.
 */
static void grow_into_kept(struct heap_pages *hp, uint32_t i, uint32_t next, size_t extra)
{
    kept_unlink(hp, next);
    if (hp->runs[next].pages > extra)
        kept_append(hp, run_split(hp, next, extra));
    run_absorb(hp, i, next);
    live_grew(hp, extra << hp->page_shift);
}

static int grow_in_place(struct heap_pages *hp, uint32_t i, size_t pages)
{
    struct page_run *r = &hp->runs[i];
    uint32_t next = r->anext;
    if (r->origin != RUN_GROWN || next == NIL || !runs_adjacent(hp, i, next) ||
        hp->runs[next].pages < pages - r->pages)
        return -1;
    if (hp->runs[next].state == RUN_KEPT) { /* a spare record is always there for the split */
        grow_into_kept(hp, i, next, pages - r->pages);
        return 0;
    }
    if (hp->runs[next].state != RUN_FREE)
        return -1;
    if (!table_reserve(hp)) /* the split below needs a record */
        return -1;
    size_t extra = pages - hp->runs[i].pages;
    bin_remove(hp, next);
    if (hp->runs[next].pages > extra)
        bin_insert(hp, run_split(hp, next, extra));
    if (run_activate(hp, &hp->runs[next]) != 0) {
        grown_free(hp, next, false); /* back to free, merged again */
        return -1;
    }
    run_absorb(hp, i, next);
    live_grew(hp, extra << hp->page_shift);
    return 0;
}

/* ops->resize: a block that already has the room, or one that can grow into free pages after it. */
static int pages_resize(struct heap *h, void *ptr, size_t size)
{
    struct heap_pages *hp = to_pages(h);
    const char *why;
    int rc = -1;
    pages_lock(hp);
    uint32_t i = live_find(hp, ptr, &why);
    if (i == NIL) {
        hp->count.reported_errors++;
        mm_report("heap_pages: resize(%p): %s", ptr, why);
    } else {
        size_t pages = round_up(size, hp->page) >> hp->page_shift;
        rc = pages <= hp->runs[i].pages ? 0 : grow_in_place(hp, i, pages);
    }
    pages_unlock(hp);
    return rc;
}

/* ------------------------------------------------------------ check */

/* Report a violation and count it. */
static int violation(const char *what, uint32_t i)
{
    mm_report("heap_pages check: %s (record %u)", what, i);
    return 1;
}

/* Every record on its own: seal, fields; and the totals they add up to. */
static int check_records(struct heap_pages *hp, size_t *grown_runs)
{
    int bad = 0;
    size_t live = 0, meta = 0, mapped = 0, grown = 0, inactive = 0, blocks = 0, kept = 0;
    *grown_runs = 0;
    for (uint32_t i = 0; i < hp->cap; i++) {
        struct page_run *r = &hp->runs[i];
        if (r->self != i || !run_sealed(r)) {
            bad += violation("record corrupted (seal or self)", i);
            continue;
        }
        if (r->state == RUN_SPARE)
            continue;
        if (r->pages == 0 || (r->start & (hp->page - 1)))
            bad += violation("run not page-aligned or empty", i);
        if (r->origin != RUN_GROWN && r->origin != RUN_MAPPED)
            bad += violation("bad origin", i);
        if (r->state != RUN_FREE && r->state != RUN_LIVE && r->state != RUN_META &&
            r->state != RUN_KEPT)
            bad += violation("bad state", i);
        if (r->origin == RUN_MAPPED && (r->state == RUN_FREE || r->aprev != NIL || r->anext != NIL))
            bad += violation("mapped run free or on the address list", i);
        size_t bytes = run_bytes(hp, r);
        live += r->state == RUN_LIVE ? bytes : 0;
        blocks += r->state == RUN_LIVE;
        meta += r->state == RUN_META ? bytes : 0;
        mapped += r->origin == RUN_MAPPED ? bytes : 0;
        grown += r->origin == RUN_GROWN ? r->pages : 0;
        inactive += r->state == RUN_FREE ? bytes : 0;
        kept += r->state == RUN_KEPT ? bytes : 0;
        *grown_runs += r->origin == RUN_GROWN;
    }
    if (live != hp->live_bytes || blocks != hp->live_blocks || meta != hp->meta_bytes)
        bad += violation("live/meta totals disagree with the counters", NIL);
    if (mapped != hp->mapped_bytes || grown != hp->grown_pages)
        bad += violation("mapped/grown totals disagree with the counters", NIL);
    if (hp->can_decommit && inactive != hp->inactive_bytes)
        bad += violation("free bytes disagree with the inactive counter", NIL);
    if (kept != hp->kept_bytes)
        bad += violation("kept bytes disagree with the counter", NIL);
    return bad;
}

/* Hash chains: in range, no loops, each record in its own bucket, all non-spare records found. */
static int check_hash(struct heap_pages *hp)
{
    int bad = 0;
    uint32_t found = 0;
    for (uint32_t b = 0; b < hp->cap; b++) {
        for (uint32_t i = hp->buckets[b]; i != NIL; i = hp->runs[i].hnext) {
            if (i >= hp->cap || found > hp->cap)
                return bad + violation("hash chain out of range or looping", i);
            if (hp->runs[i].state == RUN_SPARE || bucket_of(hp, hp->runs[i].start) != b)
                bad += violation("spare record or wrong bucket in a hash chain", i);
            found++;
        }
    }
    uint32_t spares = 0;
    for (uint32_t i = hp->spare; i != NIL; i = hp->runs[i].hnext, spares++)
        if (i >= hp->cap || spares > hp->cap || hp->runs[i].state != RUN_SPARE)
            return bad + violation("spare list broken", i);
    if (spares != hp->spare_count || found + spares != hp->cap)
        bad += violation("hash and spare list do not account for every record", NIL);
    return bad;
}

/* The address list: grown runs only, back links right, in order inside segments, merged. */
static int check_address_list(struct heap_pages *hp, size_t grown_runs)
{
    uint32_t prev = NIL;
    size_t n = 0;
    for (uint32_t i = hp->addr_head; i != NIL; prev = i, i = hp->runs[i].anext, n++) {
        if (i >= hp->cap || n > grown_runs)
            return violation("address list out of range or looping", i);
        struct page_run *r = &hp->runs[i];
        if (r->origin != RUN_GROWN || r->aprev != prev)
            return violation("address list: not grown or bad back link", i);
        if (prev == NIL)
            continue;
        struct page_run *p = &hp->runs[prev];
        if (p->start < r->start && run_end(hp, p) > r->start)
            return violation("address list: runs overlap", i);
        if (runs_adjacent(hp, prev, i) && p->state == RUN_FREE && r->state == RUN_FREE)
            return violation("address list: adjacent free runs not merged", i);
    }
    if (prev != hp->addr_tail || n != grown_runs)
        return violation("address list does not hold every grown run", prev);
    return 0;
}

/* Size bins: free runs in the right bin with right links; the bitmap agrees. */
static int check_bins(struct heap_pages *hp)
{
    size_t n = 0;
    for (unsigned b = 0; b < BIN_COUNT; b++) {
        uint32_t prev = NIL;
        for (uint32_t i = hp->bins[b]; i != NIL; prev = i, i = hp->runs[i].u.bin.next, n++) {
            if (i >= hp->cap || n > hp->cap)
                return violation("bin list out of range or looping", i);
            struct page_run *r = &hp->runs[i];
            if (r->state != RUN_FREE || bin_of(r->pages) != b || r->u.bin.prev != prev)
                return violation("bin list: wrong state, bin or back link", i);
        }
        if (!(hp->bin_map >> b & 1) != (hp->bins[b] == NIL))
            return violation("bin bitmap disagrees with the bins", b);
    }
    return n == hp->free_runs ? 0 : violation("free-run count disagrees with the bins", NIL);
}

/* The kept list: KEPT runs only, back links right, as long as its count. */
static int check_kept(struct heap_pages *hp)
{
    uint32_t prev = NIL, n = 0;
    for (uint32_t i = hp->kept_head; i != NIL; prev = i, i = hp->runs[i].u.bin.next, n++) {
        if (i >= hp->cap || n > hp->kept_count)
            return violation("kept list out of range or looping", i);
        if (hp->runs[i].state != RUN_KEPT || hp->runs[i].u.bin.prev != prev)
            return violation("kept list: wrong state or back link", i);
    }
    if (prev != hp->kept_tail || n != hp->kept_count)
        return violation("kept list does not hold every kept run", prev);
    return 0;
}

static int pages_check(struct heap *h)
{
    struct heap_pages *hp = to_pages(h);
    pages_lock(hp);
    int bad = 0;
    size_t grown_runs = 0;
    if (hp->magic != PAGES_MAGIC) {
        bad = violation("instance magic", NIL);
    } else {
        bad += check_records(hp, &grown_runs);
        bad += check_hash(hp);
        if (bad == 0) /* the lists are only safe to walk over sane records */
            bad += check_address_list(hp, grown_runs) + check_bins(hp) + check_kept(hp);
        uint32_t t = hp->table_run;
        if ((t == NIL) != (hp->runs == hp->embedded) ||
            (t != NIL && (t >= hp->cap || hp->runs[t].state != RUN_META ||
                          hp->runs[t].start != (uintptr_t)hp->runs)))
            bad += violation("table run record does not describe the table", t);
    }
    pages_unlock(hp);
    return bad;
}

/* ------------------------------------------------------------ stats */

static size_t largest_free_bytes(struct heap_pages *hp)
{
    if (!hp->bin_map)
        return 0;
    size_t best = 0;
    unsigned b = floor_log2(hp->bin_map);
    for (uint32_t i = hp->bins[b]; i != NIL; i = hp->runs[i].u.bin.next)
        if (hp->runs[i].pages > best)
            best = hp->runs[i].pages;
    return best << hp->page_shift;
}

static void pages_stats(struct heap *h, struct heap_stats *st)
{
    struct heap_pages *hp = to_pages(h);
    pages_lock(hp);
    st->bytes_in_use = hp->live_bytes;
    st->bytes_peak = hp->peak_bytes;
    st->bytes_held = hp->self_bytes + hp->grown_bytes + hp->mapped_bytes;
    st->bytes_committed = st->bytes_held - hp->inactive_bytes;
    st->free_blocks = hp->free_runs + hp->kept_count;
    st->largest_free = largest_free_bytes(hp);
    st->live_blocks = hp->live_blocks;
    heap_counters_add(st, &hp->count);
    pages_unlock(hp);
}

static const struct heap_ops pages_ops = {
    .name = "pages",
    .alloc = pages_alloc,
    .size = pages_size,
    .free = pages_free,
    .check = pages_check,
    .stats = pages_stats,
    .release = pages_release,
    .resize = pages_resize,
};

/* ------------------------------------------------------------ create / destroy */

#define INSTANCE_ALIGN _Alignof(max_align_t)

/* Lay the instance out in the `bytes` bytes at mem: struct, caller's extra, embedded table. */
static struct heap_pages *instance_init(struct heap_source *src, unsigned flags, void *mem,
                                        size_t bytes, size_t extra, void **extra_out)
{
    /* the caller's extra sits right after the struct; the embedded table after that */
    size_t head =
        round_up(sizeof(struct heap_pages), INSTANCE_ALIGN) + round_up(extra, INSTANCE_ALIGN);
    size_t cap = (bytes - head) / (sizeof(struct page_run) + sizeof(uint32_t));
    struct heap_pages *hp = mem;
    /* grow's memory is zero on some sources: then the extra is not written, its pages untouched */
    memset(hp, 0, src->zeroed ? sizeof *hp : head);
    hp->heap.ops = &pages_ops;
    hp->magic = PAGES_MAGIC;
    hp->flags = flags;
    hp->src = src;
    hp->page = src->page_size ? src->page_size : MM_PAGE_SIZE;
    hp->page_shift = floor_log2(hp->page);
    hp->can_decommit = src->activate && src->deactivate;
    hp->self_bytes = bytes;
    hp->embedded_cap = 1u << floor_log2(cap < UINT32_MAX / 4 ? cap : UINT32_MAX / 4);
    hp->embedded = (char *)mem + head;
    hp->table_run = hp->addr_head = hp->addr_tail = hp->kept_head = hp->kept_tail = NIL;
    for (unsigned b = 0; b < BIN_COUNT; b++)
        hp->bins[b] = NIL;
    table_install(hp, hp->embedded, hp->embedded_cap);
    for (uint32_t i = hp->cap; i-- > 0;) {
        hp->runs[i].self = i;
        record_put(hp, i);
    }
    if (extra_out)
        *extra_out =
            extra ? (char *)mem + round_up(sizeof(struct heap_pages), INSTANCE_ALIGN) : NULL;
    return hp;
}

/*
 * One grow for the struct, the owner's extra and the embedded table: the
 * instance needs no memory but its source's.  The grow is made under the
 * source lock unless the owner holds it (NOLOCK).
 */
struct heap *heap_pages_create_with(struct heap_source *src, const struct heap_pages_config *cfg,
                                    void **extra_out)
{
    unsigned flags = cfg ? cfg->flags : 0;
    size_t extra = cfg ? cfg->extra : 0;
    if ((flags & ~(HEAP_PAGES_NOLOCK | HEAP_PAGES_KEEP)) || (extra && !extra_out))
        return NULL;
    if (!src || !src->grow || (src->page_size & (src->page_size - 1)) ||
        extra > HEAP_MAX_REQUEST / 2 || (!src->map != !src->unmap))
        return NULL;
    size_t page = src->page_size ? src->page_size : MM_PAGE_SIZE;
    size_t need = round_up(sizeof(struct heap_pages), INSTANCE_ALIGN) +
                  round_up(extra, INSTANCE_ALIGN) + INSTANCE_ALIGN +
                  EMBEDDED_MIN * (sizeof(struct page_run) + sizeof(uint32_t));
    size_t bytes = round_up(need, page);
    bool locked = !(flags & HEAP_PAGES_NOLOCK) && src->lock;
    if (locked)
        src->lock(src);
    void *mem = src->grow(src, bytes);
    if (locked)
        src->unlock(src);
    if (!mem)
        return NULL;
    /* a misaligned grow costs at most INSTANCE_ALIGN bytes, which `need` allowed for */
    void *base = (void *)round_up((uintptr_t)mem, INSTANCE_ALIGN);
    size_t usable = bytes - (size_t)((char *)base - (char *)mem);
    struct heap_pages *hp = instance_init(src, flags, base, usable, extra, extra_out);
    hp->self_bytes = bytes; /* what the source gave, alignment loss included */
    return &hp->heap;
}

struct heap *heap_pages_create(struct heap_source *src)
{
    return heap_pages_create_with(src, NULL, NULL);
}

/*
 * Mapped runs are unmapped and active grown runs deactivated; free runs are
 * inactive already.  The address space stays with the source.
 */
void heap_pages_destroy(struct heap *h)
{
    struct heap_pages *hp = to_pages(h);
    struct heap_source *src = hp->src;
    bool locked = !(hp->flags & HEAP_PAGES_NOLOCK) && src->lock;
    if (locked)
        src->lock(src);
    hp->magic = PAGES_DEAD;
    for (uint32_t i = 0; i < hp->cap; i++) {
        struct page_run *r = &hp->runs[i];
        if (r->state == RUN_SPARE || r->state == RUN_FREE || i == hp->table_run)
            continue;
        if (r->origin == RUN_MAPPED)
            src->unmap(src, (void *)r->start, run_bytes(hp, r));
        else if (hp->can_decommit)
            src->deactivate(src, (void *)r->start, run_bytes(hp, r));
    }
    /* the table and the instance go last: the loop above reads them */
    if (hp->table_run != NIL) {
        struct page_run t = hp->runs[hp->table_run];
        if (t.origin == RUN_MAPPED)
            src->unmap(src, (void *)t.start, t.pages << hp->page_shift);
        else if (hp->can_decommit)
            src->deactivate(src, (void *)t.start, t.pages << hp->page_shift);
    }
    uintptr_t self = (uintptr_t)hp;
    size_t page = hp->page;
    if (hp->can_decommit && !(self & (page - 1)))
        src->deactivate(src, hp, hp->self_bytes & ~(page - 1));
    if (locked)
        src->unlock(src);
}

void *heap_pages_tag(struct heap *h, const void *ptr)
{
    struct heap_pages *hp = to_pages(h);
    const char *why;
    pages_lock(hp);
    uint32_t i = live_find(hp, ptr, &why);
    void *tag = i == NIL ? NULL : hp->runs[i].u.tag;
    pages_unlock(hp);
    return tag;
}

int heap_pages_set_tag(struct heap *h, void *ptr, void *tag)
{
    struct heap_pages *hp = to_pages(h);
    const char *why;
    pages_lock(hp);
    uint32_t i = live_find(hp, ptr, &why);
    if (i != NIL) {
        hp->runs[i].u.raw = 0;
        hp->runs[i].u.tag = tag;
        run_seal(&hp->runs[i]);
    } else {
        hp->count.reported_errors++;
        mm_report("heap_pages: set_tag(%p): %s", ptr, why);
    }
    pages_unlock(hp);
    return i == NIL ? -1 : 0;
}

struct page_run *heap_pages_debug_run(struct heap *h, const void *ptr)
{
    struct heap_pages *hp = to_pages(h);
    if ((uintptr_t)ptr & (hp->page - 1))
        return NULL;
    uint32_t i = hash_find(hp, (uintptr_t)ptr);
    return i == NIL ? NULL : &hp->runs[i];
}
