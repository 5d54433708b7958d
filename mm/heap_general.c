/*
 * mm/heap_general.c - the general-purpose heap (see heap_general.h).
 *
 * How it works
 * ------------
 * Memory comes from the source in ARENAS: contiguous ranges obtained by
 * grow.  An arena is extended in place while grow keeps returning the
 * memory right above it; memory elsewhere starts a new arena.  An arena is
 *
 *   [control block (first arena only)][struct arena][start bitmap]
 *   [block][block]...[block][sentinel]
 *
 * and its blocks tile it exactly.  Every block starts with a one-word
 * header (size | flags); the user pointer is header + W and is
 * HEAP_DEFAULT_ALIGN (= 2W, "GRAIN") aligned, so headers sit at addresses
 * that are W modulo GRAIN and sizes are multiples of GRAIN.  The sentinel
 * is a header of size 0 marked used, so no walk or merge runs off the end.
 *
 * Free blocks additionally hold two free-list links and, in their last word,
 * a copy of their size (the boundary tag); the next block's header has the
 * PREV_FREE flag, so free() finds the block before in O(1).  Free blocks are
 * merged with free neighbours at once (immediate coalescing), so two free
 * blocks are never adjacent.
 *
 * Free lists are segregated by size: first level = power of two (fl),
 * second level = SL_COUNT equal slices of it (sl); sizes below SMALL_LIMIT
 * get one list per GRAIN.  A bitmap of non-empty first levels and one
 * bitmap of non-empty second levels per first level find the smallest
 * non-empty list that can satisfy a request with two find-first-set
 * instructions.  The request is first rounded up to the next list boundary
 * so that ANY block of the list found fits (good fit, no list walk).
 *
 * Ownership: a segment table (sorted, bounded) maps an address to its arena
 * or separately mapped block, and each arena keeps a bitmap with one bit
 * per GRAIN: set exactly at the user pointers of live blocks.  heap_size
 * and heap_free consult the table and the bit before reading any header,
 * so interior, foreign, stack and already-freed pointers give 0 / a report
 * and never corrupt anything.
 *
 * Giving memory back: a free block of at least release_threshold bytes has
 * its page-aligned interior deactivated, except release_keep bytes at its
 * front (range [dc_lo, dc_hi) recorded in the block; invariant: pages of a
 * free block inside its range are decommitted, all other pages of the heap
 * are committed).  Allocation re-activates only the pages it takes.  A
 * range is widened later only when that gains release_keep bytes, so small
 * alloc/free cycles at its edge do not call the source.  The newest arena's
 * top is shrunk when its free top block reaches release_threshold, leaving
 * release_keep free; a newest arena that becomes entirely free is released
 * when the rest of the heap has release_keep free.  Large requests use
 * src->map when present (their own segment, no header at all).
 *
 * Invariants (heap_check verifies each): blocks tile every arena; a free
 * block is in exactly the list of its size class, its tag equals its size,
 * its neighbours are used; PREV_FREE is set iff the block before is free;
 * the start bitmap has a bit exactly at each used block; the counters equal
 * what a walk finds.
 *
 * Complexity: alloc, free, size and resize are O(1) in the number of blocks
 * (a binary search over at most MAX_SEGMENTS segments, bit scans, list
 * splices); source calls touch pages proportional to the bytes involved.
 * check is O(blocks + bitmap words); stats walks one free list.
 *
 * Locking: the source's lock hook around every operation (heap_general.h).
 */
#include "mm/heap_general.h"

#include <stdbool.h>
#include <string.h>

#include "mm/bits.h"
#include "mm/port.h"

/* ---------------------------------------------------------------- geometry */

#define WORD ((size_t)sizeof(uintptr_t))
#define GRAIN ((size_t)HEAP_DEFAULT_ALIGN) /* user pointer alignment, = 2 words */
#define MIN_BLOCK (2 * GRAIN)              /* header + 2 links + tag */
#define FREE_META (5 * WORD)               /* header, links, dc range: never decommitted */
#define WORD_BITS (sizeof(uintptr_t) * 8u)
#define SIZE_BITS (sizeof(size_t) * 8u)

#define SL_LOG2 4u /* 16 lists per power of two */
#define SL_COUNT (1u << SL_LOG2)
#define GRAIN_LOG2 (sizeof(uintptr_t) == 8 ? 4u : 3u)
#define FL_SHIFT (SL_LOG2 + GRAIN_LOG2) /* below 2^FL_SHIFT: one list per GRAIN */
#define SMALL_LIMIT ((size_t)1 << FL_SHIFT)
#define FL_COUNT (SIZE_BITS - FL_SHIFT + 1)

#define CLASS_SCAN_LIMIT 8u    /* blocks list_find_in_class looks at, at most */
#define ALIGNED_SCAN_LIMIT 16u /* blocks list_find_aligned looks at, at most */
#define MAX_SEGMENTS 64u       /* arenas + mapped blocks */
#define SEGMENTS_FOR_ARENA 16u /* mapped blocks never take the last ones */

/*
 * Header flags (low bits of the size; GRAIN >= 8 leaves three).  An enum
 * rather than macros so that the debug information carries them: the gdb
 * helpers (scripts/gdb/memkernel.gdb) read the format from there.
 */
enum block_header_flag {
    HDR_FREE = 1,        /* this block is free, in a list */
    HDR_PREV_FREE = 2,   /* the block before is free: its last word is its size */
    HDR_DECOMMITTED = 4, /* free block with a decommitted range */
    HDR_FLAGS = HDR_FREE | HDR_PREV_FREE | HDR_DECOMMITTED,
};

/*
 * Hardening (free-list link mangling, safe unlinking, the header integrity
 * check) is on unless MM_HARDEN is defined 0; `make bench` builds an
 * unhardened copy only to measure what it costs (docs/debugging.md).
 */
#ifndef MM_HARDEN
#define MM_HARDEN 1
#endif

/* Magic words and junk bytes (named so that a dump tells what it is looking at). */
#define HEAP_MAGIC ((uintptr_t)0x48454150u)  /* "HEAP", xor the control block address */
#define ARENA_MAGIC ((uintptr_t)0x4152454Eu) /* "AREN", xor the arena address */
#define JUNK_FREED 0xDF                      /* MM_DEBUG: freed user bytes */
#define JUNK_FRESH 0xA5                      /* MM_DEBUG: freshly allocated user bytes */
#define DEBUG_CHECK_PERIOD 4096u             /* MM_DEBUG: full check every N operations */

_Static_assert(sizeof(size_t) == sizeof(uintptr_t), "size_t and uintptr_t differ");
_Static_assert(sizeof(unsigned long) == sizeof(size_t), "__builtin_clzl must fit size_t");
_Static_assert(GRAIN == 2 * WORD, "GRAIN must be two words");
_Static_assert(SL_COUNT <= 32, "second-level bitmaps are uint32_t");
_Static_assert(FL_COUNT < SIZE_BITS, "first-level bitmap is one word");

/* The overlay of a block.  Only header is valid in a used block. */
struct block {
    uintptr_t header;       /* size | HDR_* */
    uintptr_t next_free;    /* free only, mangled (link_next) */
    uintptr_t prev_free;    /* free only, mangled (link_prev) */
    uintptr_t dc_lo, dc_hi; /* HDR_DECOMMITTED only: page-aligned, decommitted */
};
_Static_assert(offsetof(struct block, next_free) == sizeof(uintptr_t), "links follow the header");
_Static_assert(sizeof(struct block) == FREE_META, "free metadata size");

/* At the start of every arena (after the control block in the first). */
struct arena {
    uintptr_t magic;     /* ARENA_MAGIC ^ address */
    struct arena *older; /* arena created before this one (NULL for the first) */
    uintptr_t base;      /* what grow returned: the arena spans [base, end) */
    uintptr_t first;     /* header of the first block */
    uintptr_t end;       /* one past the sentinel */
    uintptr_t limit;     /* the start bitmap covers user pointers below this */
    uintptr_t floor;     /* end never shrinks below this */
    uintptr_t *starts;   /* bit i: a live block's user pointer is first + W + i * GRAIN */
};
_Static_assert(sizeof(struct arena) % sizeof(uintptr_t) == 0, "bitmap follows the arena");

/* One entry of the ownership table: an arena, or a block from src->map. */
struct segment {
    uintptr_t lo, hi;    /* address range */
    struct arena *arena; /* NULL for a mapped block */
    uintptr_t user;      /* mapped block: its user pointer */
    size_t usable;       /* mapped block: its usable size */
};

struct general_heap {
    struct heap heap;   /* first: the struct heap * is this struct */
    uintptr_t magic;    /* HEAP_MAGIC ^ address */
    uintptr_t link_key; /* free-list links are stored XOR this XOR their own address */
    struct heap_source *src;
    struct heap_general_config tun;
    size_t page;
    unsigned long fl_bitmap;      /* bit fl: some list heads[fl][*] is non-empty */
    uint32_t sl_bitmap[FL_COUNT]; /* bit sl: heads[fl][sl] is non-empty */
    size_t nsegs;
    struct arena *newest; /* the arena that may extend and shrink */
    size_t grown;         /* bytes obtained by grow, still held */
    size_t mapped;        /* bytes obtained by map, still held */
    size_t decommitted;   /* bytes inside decommitted ranges */
    size_t free_count, free_bytes;
    size_t in_use, peak, live;
    struct heap_counters count;
    size_t ops; /* MM_DEBUG: operation counter */
    /*
     * The big arrays last: on a source whose grown memory is zero the
     * create writes none of them, so the pages they span stay untouched
     * until a list or a segment is used (7 KiB of heads, most never).
     */
    struct segment segs[MAX_SEGMENTS]; /* sorted by lo, disjoint */
    struct block *heads[FL_COUNT][SL_COUNT];
};

/* A page-aligned address range; empty when lo >= hi. */
struct range {
    uintptr_t lo, hi;
};

static const struct heap_ops general_ops;

/* Report misuse (counted in the stats); the caller has refused the operation. */
#define general_report(h, ...)                                                                     \
    do {                                                                                           \
        (h)->count.reported_errors++;                                                              \
        mm_report("heap_general: " __VA_ARGS__);                                                   \
    } while (0)

static struct general_heap *to_general(struct heap *h)
{
    return (struct general_heap *)h;
}

/* Power-of-two rounding (a is a power of two). */
static uintptr_t align_up(uintptr_t x, size_t a)
{
    return (x + a - 1) & ~(uintptr_t)(a - 1);
}

static uintptr_t align_down(uintptr_t x, size_t a)
{
    return x & ~(uintptr_t)(a - 1);
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Index of the highest set bit (x != 0). */
static unsigned msb(size_t x)
{
    return (unsigned)(SIZE_BITS - 1) - (unsigned)__builtin_clzl(x);
}

/* ---------------------------------------------------------------- block encoding
 * Every read and write of a header, tag or free-list link goes through these,
 * so that header canaries or link mangling can be added in one place. */

/* Size of the block, header included (a multiple of GRAIN; 0 for a sentinel). */
static size_t block_size(const struct block *b)
{
    return b->header & ~HDR_FLAGS;
}

static bool block_is_free(const struct block *b)
{
    return (b->header & HDR_FREE) != 0;
}

/* The one place a header is written: canaries would be added here. */
static void block_set_header(struct block *b, size_t size, enum block_header_flag flags)
{
    b->header = size | flags;
}

/* Tell block b whether the block before it is free (and so has a valid tag). */
static void block_set_prev_free(struct block *b, bool prev_free)
{
    b->header = prev_free ? (b->header | HDR_PREV_FREE) : (b->header & ~HDR_PREV_FREE);
}

static struct block *block_next(const struct block *b)
{
    return (struct block *)((uintptr_t)b + block_size(b));
}

/* The boundary tag: a free block's size again, in its last word. */
static uintptr_t block_tag(const struct block *b)
{
    return *(const uintptr_t *)((uintptr_t)b + block_size(b) - WORD);
}

static void block_write_tag(struct block *b)
{
    *(uintptr_t *)((uintptr_t)b + block_size(b) - WORD) = block_size(b);
}

/* The block before b; only valid when b has HDR_PREV_FREE. */
static struct block *block_prev(const struct block *b)
{
    return (struct block *)((uintptr_t)b - ((const uintptr_t *)b)[-1]);
}

/*
 * Free-list links: the one place they are read and written.  They are
 * stored mangled - XOR the instance's secret (from heap_instance_secret: a
 * boot-time seed and the heap's address) and the address of the word itself
 * - so that an overrun or a use-after-free write into a free block cannot
 * plant a chosen pointer: whatever it writes decodes to an address that
 * list_remove's checks refuse.  Costs two XORs per link access.
 */
static struct block *link_decode(const struct general_heap *h, const void *word, uintptr_t stored)
{
    if (!MM_HARDEN)
        return (struct block *)stored;
    return (struct block *)(stored ^ h->link_key ^ (uintptr_t)word);
}

static uintptr_t link_encode(const struct general_heap *h, const void *word, const struct block *p)
{
    if (!MM_HARDEN)
        return (uintptr_t)p;
    return (uintptr_t)p ^ h->link_key ^ (uintptr_t)word;
}

static struct block *link_next(const struct general_heap *h, const struct block *b)
{
    return link_decode(h, &b->next_free, b->next_free);
}

static struct block *link_prev(const struct general_heap *h, const struct block *b)
{
    return link_decode(h, &b->prev_free, b->prev_free);
}

static void link_set(const struct general_heap *h, struct block *b, struct block *next,
                     struct block *prev)
{
    b->next_free = link_encode(h, &b->next_free, next);
    b->prev_free = link_encode(h, &b->prev_free, prev);
}

/* Header address <-> user pointer. */
static void *block_user(const struct block *b)
{
    return (void *)((uintptr_t)b + WORD);
}

static struct block *user_block(uintptr_t user)
{
    return (struct block *)(user - WORD);
}

/* The decommitted range of a free block (empty when it has none). */
static struct range block_range(const struct block *b)
{
    if (!(b->header & HDR_DECOMMITTED))
        return (struct range){0, 0};
    return (struct range){b->dc_lo, b->dc_hi};
}

/* Record r as b's decommitted range, or clear the flag when r is empty. */
static void block_set_range(struct block *b, struct range r)
{
    if (r.lo < r.hi) {
        b->header |= HDR_DECOMMITTED;
        b->dc_lo = r.lo;
        b->dc_hi = r.hi;
    } else {
        b->header &= ~HDR_DECOMMITTED;
    }
}

/* Block size needed for `size` user bytes. */
static size_t block_need(size_t size)
{
    return max_size(align_up(size + WORD, GRAIN), MIN_BLOCK);
}

/* ---------------------------------------------------------------- size classes */

/*
 * The list of a free block of `size` bytes: below SMALL_LIMIT one list per
 * GRAIN, above it the power of two (fl) and which of its SL_COUNT slices (sl).
 */
static void size_class(size_t size, unsigned *fl, unsigned *sl)
{
    if (size < SMALL_LIMIT) {
        *fl = 0;
        *sl = (unsigned)(size / GRAIN);
        return;
    }
    unsigned top = msb(size);
    *fl = top - FL_SHIFT + 1;
    *sl = (unsigned)(size >> (top - SL_LOG2)) - SL_COUNT;
}

/* Round size up to the lower bound of the next class, so every block of that class fits. */
static size_t size_class_round_up(size_t size)
{
    if (size < SMALL_LIMIT)
        return size;
    size_t step = (size_t)1 << (msb(size) - SL_LOG2);
    return (size + step - 1) & ~(step - 1);
}

/* Push b at the head of its list and mark the list non-empty.  O(1). */
static void list_insert(struct general_heap *h, struct block *b)
{
    unsigned fl, sl;
    size_class(block_size(b), &fl, &sl);
    struct block *head = h->heads[fl][sl];
    link_set(h, b, head, NULL);
    if (head)
        link_set(h, head, link_next(h, head), b);
    h->heads[fl][sl] = b;
    h->fl_bitmap |= 1ul << fl;
    h->sl_bitmap[fl] |= 1u << sl;
    h->free_count++;
    h->free_bytes += block_size(b);
}

/* Forget list (fl, sl) altogether: after a corrupted link its nodes cannot be trusted. */
static void list_drop(struct general_heap *h, unsigned fl, unsigned sl)
{
    h->heads[fl][sl] = NULL;
    h->sl_bitmap[fl] &= ~(1u << sl);
    if (!h->sl_bitmap[fl])
        h->fl_bitmap &= ~(1ul << fl);
}

/*
 * A cheap test that p may be a block of this heap: at a header position and
 * inside the span from the lowest to the highest segment (two compares: a
 * decoded planted pointer is practically never there).  Only then is p read.
 */
static bool link_in_span(const struct general_heap *h, const struct block *p)
{
    uintptr_t a = (uintptr_t)p;
    return a % GRAIN == WORD && h->nsegs && a >= h->segs[0].lo && a < h->segs[h->nsegs - 1].hi;
}

/* Is p NULL or a free block in this heap's span whose `back` link (next or prev) names b? */
static bool link_plausible(const struct general_heap *h, const struct block *p,
                           const struct block *b, bool back_is_prev)
{
    if (!p)
        return true;
    if (!link_in_span(h, p) || !block_is_free(p))
        return false;
    return (back_is_prev ? link_prev(h, p) : link_next(h, p)) == b;
}

/*
 * Unlink b; clear the bitmap bits when its list becomes empty.  O(1).
 * Before following b's links it checks that each names a free block in the
 * heap's span that links back to b (safe unlinking).  A link that
 * fails is reported and not followed: the whole list is dropped (its other
 * blocks stay free but are never used again - leaked, not trusted), and b
 * counts as unlinked, so the operation in progress goes on safely.
 */
static void list_remove(struct general_heap *h, struct block *b)
{
    unsigned fl, sl;
    size_class(block_size(b), &fl, &sl);
    struct block *next = link_next(h, b), *prev = link_prev(h, b);
    if (MM_HARDEN && (!link_plausible(h, next, b, true) ||
                      (prev ? !link_plausible(h, prev, b, false) : h->heads[fl][sl] != b))) {
        general_report(h, "free list %u/%u corrupted at block %p (links %p, %p): list dropped", fl,
                       sl, (void *)b, (void *)next, (void *)prev);
        list_drop(h, fl, sl);
    } else {
        if (next)
            link_set(h, next, link_next(h, next), prev);
        if (prev)
            link_set(h, prev, next, link_prev(h, prev));
        else
            h->heads[fl][sl] = next;
        if (!h->heads[fl][sl])
            list_drop(h, fl, sl);
    }
    h->free_count--;
    h->free_bytes -= block_size(b);
}

/* A free block of at least size bytes (still in its list), or NULL.  O(1). */
static struct block *list_find(struct general_heap *h, size_t size)
{
    unsigned fl, sl;
    size_class(size_class_round_up(size), &fl, &sl);
    uint32_t sl_map = h->sl_bitmap[fl] & (~0u << sl);
    if (!sl_map) {
        unsigned long fl_map = h->fl_bitmap & (~0ul << (fl + 1));
        if (!fl_map)
            return NULL;
        fl = (unsigned)__builtin_ctzl(fl_map);
        sl_map = h->sl_bitmap[fl];
    }
    return h->heads[fl][__builtin_ctz(sl_map)];
}

/*
 * Is b, reached by walking list heads[fl][sl], a sound free block?  If
 * not, the list is corrupted: it is reported and dropped (its blocks are
 * lost to allocation, never handed out twice).
 */
static bool list_link_sound(struct general_heap *h, unsigned fl, unsigned sl, struct block *b)
{
    if (link_in_span(h, b) && block_is_free(b))
        return true;
    general_report(h, "free list %u/%u corrupted: link to %p: list dropped", fl, sl, (void *)b);
    list_drop(h, fl, sl);
    return false;
}

/*
 * Fallback when list_find has nothing: a block of the request's own class
 * may still be big enough (list_find skips that class because not every
 * block in it fits).  Looking at a bounded number of its blocks keeps this
 * O(1) and saves growing the heap for a request that exactly matches a free
 * block, e.g. the largest one.
 */
static struct block *list_find_in_class(struct general_heap *h, size_t size)
{
    unsigned fl, sl, looked = 0;
    size_class(size, &fl, &sl);
    for (struct block *b = h->heads[fl][sl]; b && looked < CLASS_SCAN_LIMIT; b = link_next(h, b)) {
        if (!list_link_sound(h, fl, sl, b))
            return NULL;
        if (block_size(b) >= size)
            return b;
        looked++;
    }
    return NULL;
}

/*
 * Bytes from free block f to the block whose user pointer is the first one
 * aligned to align that leaves in front either nothing or a free block.
 */
static size_t carve_gap(const struct block *f, size_t align)
{
    uintptr_t user = (uintptr_t)block_user(f);
    size_t gap = align_up(user, align) - user;
    if (gap && gap < MIN_BLOCK)
        gap += align; /* the part in front must be able to stand alone as a free block */
    return gap;
}

/*
 * An aligned request's first look: a free block of at least `need` bytes
 * that already holds an aligned block of `need` bytes (the front gap, if
 * any, stays a free block), among at most ALIGNED_SCAN_LIMIT blocks of the
 * classes from need's own up to, not including, the one of `want` (need +
 * align + GRAIN: from there on every block fits, list_find's business).
 * Without it an aligned request always splits a block of need + align, so
 * the gaps it leaves in front are too small for the next aligned request
 * of the same kind and the heap grows for each; with it those gaps are
 * filled.  Bounded, so O(1).
 */
static struct block *list_find_aligned(struct general_heap *h, size_t need, size_t align,
                                       size_t want)
{
    unsigned fl, sl, last_fl, last_sl, looked = 0;
    size_class(need, &fl, &sl);
    size_class(size_class_round_up(want), &last_fl, &last_sl);
    for (; fl <= last_fl; fl++, sl = 0) {
        uint32_t map = h->sl_bitmap[fl] & (~0u << sl);
        if (fl == last_fl)
            map &= (1u << last_sl) - 1;
        for (; map; map &= map - 1) {
            unsigned s = (unsigned)__builtin_ctz(map);
            for (struct block *b = h->heads[fl][s]; b; b = link_next(h, b)) {
                if (!list_link_sound(h, fl, s, b))
                    break;
                if (carve_gap(b, align) + need <= block_size(b))
                    return b;
                if (++looked == ALIGNED_SCAN_LIMIT)
                    return NULL;
            }
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- segments */

/* The segment containing address p, or NULL.  Binary search: O(log MAX_SEGMENTS). */
static struct segment *seg_find(struct general_heap *h, uintptr_t p)
{
    size_t lo = 0, hi = h->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->segs[mid].lo <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || p >= h->segs[lo - 1].hi)
        return NULL;
    return &h->segs[lo - 1];
}

/* Insert keeping the table sorted (at most MAX_SEGMENTS moves); -1 when full. */
static int seg_insert(struct general_heap *h, struct segment s)
{
    if (h->nsegs == MAX_SEGMENTS)
        return -1;
    size_t i = h->nsegs;
    while (i > 0 && h->segs[i - 1].lo > s.lo) {
        h->segs[i] = h->segs[i - 1];
        i--;
    }
    h->segs[i] = s;
    h->nsegs++;
    return 0;
}

/* Remove an entry, keeping the table sorted. */
static void seg_remove(struct general_heap *h, struct segment *s)
{
    size_t i = (size_t)(s - h->segs);
    for (; i + 1 < h->nsegs; i++)
        h->segs[i] = h->segs[i + 1];
    h->nsegs--;
}

/* ---------------------------------------------------------------- start bitmap */

/* Start bitmap: bit of user pointer `user` (GRAIN aligned, inside the arena). */
static size_t start_index(const struct arena *a, uintptr_t user)
{
    return (user - a->first - WORD) / GRAIN;
}

static bool start_test(const struct arena *a, uintptr_t user)
{
    size_t i = start_index(a, user);
    return (a->starts[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

static void start_flip(struct arena *a, uintptr_t user)
{
    size_t i = start_index(a, user);
    a->starts[i / WORD_BITS] ^= (uintptr_t)1 << (i % WORD_BITS);
}

/* Words of start bitmap for an arena spanning cap bytes. */
static size_t bitmap_words(size_t cap)
{
    return (cap / GRAIN + WORD_BITS - 1) / WORD_BITS;
}

/* Bytes an arena of capacity cap spends on itself (header, bitmap, alignment, sentinel). */
static size_t arena_overhead(size_t cap)
{
    return sizeof(struct arena) + bitmap_words(cap) * WORD + GRAIN + WORD;
}

/* The size-0 used header that ends the arena. */
static struct block *arena_sentinel(const struct arena *a)
{
    return (struct block *)(a->end - WORD);
}

/*
 * The header integrity check made before any operation trusts a used block
 * b's size: the block that size points to must fit.  It must not say its
 * predecessor is free, and it must be the arena's sentinel, a used block the
 * start bitmap knows, or a free block whose boundary tag repeats its size.
 * A header overwritten with a plausible size (aligned, inside the arena)
 * fails this unless the overwrite happens to land exactly on another block
 * - so corruption is reported at the next operation on the block instead of
 * being followed.  One extra header read; no extra word per block.
 */
static bool next_agrees(const struct arena *a, const struct block *b)
{
    const struct block *next = block_next(b);
    if (next->header & HDR_PREV_FREE)
        return false;
    if (next == arena_sentinel(a))
        return true;
    if (block_is_free(next)) {
        size_t n = block_size(next);
        return n >= MIN_BLOCK && n % GRAIN == 0 && n <= a->end - WORD - (uintptr_t)next &&
               block_tag(next) == n;
    }
    return start_test(a, (uintptr_t)block_user(next));
}

/* What a pointer handed to size/free/resize turned out to be. */
enum lookup {
    NOT_OURS,     /* not a live block of this heap (foreign, interior, freed) */
    ARENA_BLOCK,  /* a live block in an arena */
    MAPPED_BLOCK, /* a live block in its own mapping */
    CORRUPTED,    /* the start bitmap says live but the header is not sane */
};

/*
 * Classify p; for ARENA_BLOCK/CORRUPTED *bp is its block, for MAPPED_BLOCK
 * *segp its segment.  The header is read only once the segment table and
 * the start bitmap vouch for p, so a wild pointer is never dereferenced.
 */
static enum lookup lookup(struct general_heap *h, uintptr_t p, struct segment **segp,
                          struct block **bp)
{
    struct segment *seg = seg_find(h, p);
    *segp = seg;
    if (!seg)
        return NOT_OURS;
    if (!seg->arena)
        return p == seg->user ? MAPPED_BLOCK : NOT_OURS;
    struct arena *a = seg->arena;
    if (p < a->first + WORD || (p - a->first - WORD) % GRAIN || !start_test(a, p))
        return NOT_OURS;
    struct block *b = *bp = user_block(p);
    size_t size = block_size(b);
    if (block_is_free(b) || size < MIN_BLOCK || size % GRAIN || size > a->end - WORD - (uintptr_t)b)
        return CORRUPTED;
    return (!MM_HARDEN || next_agrees(a, b)) ? ARENA_BLOCK : CORRUPTED;
}

/* Report a pointer size/free/resize refused; the caller changes nothing. */
static void report_bad_pointer(struct general_heap *h, const char *op, const void *ptr,
                               enum lookup kind, const struct block *b)
{
    if (kind == CORRUPTED)
        general_report(h, "%s of %p: corrupted header %#lx", op, ptr, (unsigned long)b->header);
    else
        general_report(h, "%s of %p: not a live block (foreign, interior or freed)", op, ptr);
}

/* ---------------------------------------------------------------- source calls */

/* Deactivate [lo, hi) (page aligned) and count it. */
static void pages_deactivate(struct general_heap *h, uintptr_t lo, uintptr_t hi)
{
    if (lo >= hi)
        return;
    h->src->deactivate(h->src, (void *)lo, hi - lo);
    h->decommitted += hi - lo;
}

/* Activate [lo, hi); 0 or -1.  A source without activate commits on touch. */
static int pages_activate(struct general_heap *h, uintptr_t lo, uintptr_t hi)
{
    if (lo >= hi)
        return 0;
    if (h->src->activate && h->src->activate(h->src, (void *)lo, hi - lo) != 0)
        return -1;
    h->decommitted -= hi - lo;
    return 0;
}

/* grow(*bytes), falling back to grow(min_bytes); the result is GRAIN aligned or NULL. */
static void *source_grow(struct general_heap *h, size_t *bytes, size_t min_bytes)
{
    void *p = h->src->grow(h->src, *bytes);
    if (!p && *bytes > min_bytes) {
        *bytes = min_bytes;
        p = h->src->grow(h->src, *bytes);
    }
    if (p && (uintptr_t)p % GRAIN) {
        general_report(h, "source grow returned misaligned %p", p);
        if (h->src->shrink)
            h->src->shrink(h->src, *bytes);
        p = NULL;
    }
    return p;
}

/* ---------------------------------------------------------------- giving memory back */

/* Merge the decommitted ranges of two blocks that became one; the gap between them goes too. */
static struct range range_join(struct general_heap *h, struct range left, struct range right)
{
    if (left.lo >= left.hi)
        return right;
    if (right.lo >= right.hi)
        return left;
    pages_deactivate(h, left.hi, right.lo);
    return (struct range){left.lo, right.hi};
}

/*
 * Decommit the interior of a large free block b whose current decommitted
 * range is `have`, keeping release_keep bytes at its front.  A range is only
 * created for blocks of release_threshold bytes and only widened by at
 * least release_keep at a time: that is the hysteresis.
 */
static void block_release_frames(struct general_heap *h, struct block *b, struct range have)
{
    size_t keep = h->tun.release_keep;
    uintptr_t start = (uintptr_t)b, end = start + block_size(b);
    struct range want = {align_up(start + FREE_META + keep, h->page),
                         align_down(end - WORD, h->page)};
    if (h->src->deactivate && want.lo < want.hi) {
        if (have.lo >= have.hi) {
            if (block_size(b) >= h->tun.release_threshold) {
                pages_deactivate(h, want.lo, want.hi);
                have = want;
            }
        } else {
            if (want.lo + keep <= have.lo) {
                pages_deactivate(h, want.lo, have.lo);
                have.lo = want.lo;
            }
            if (have.hi + keep <= want.hi) {
                pages_deactivate(h, have.hi, want.hi);
                have.hi = want.hi;
            }
        }
    }
    block_set_range(b, have);
}

/* The segment-table entry of arena a. */
static struct segment *arena_segment(struct general_heap *h, const struct arena *a)
{
    return seg_find(h, a->base);
}

/*
 * Give the whole newest arena back (its only block, top, is free and out of
 * the lists).  0 on success; -1 if the source refused (nothing changed).
 */
static int arena_release(struct general_heap *h, struct arena *a, struct block *top)
{
    struct range r = block_range(top);
    struct arena *older = a->older;
    size_t bytes = a->end - a->base;
    struct segment *seg = arena_segment(h, a);
    if (h->src->shrink(h->src, bytes) != 0)
        return -1;
    /* a and top are gone now: only locals from here on */
    h->decommitted -= r.hi - r.lo;
    seg_remove(h, seg);
    h->newest = older;
    h->grown -= bytes;
    return 0;
}

/*
 * Shrink the newest arena so that its free top block (out of the lists)
 * keeps release_keep bytes.  The page that will hold the new tag and
 * sentinel is activated first if it lies in the decommitted range.
 */
static void arena_trim_top(struct general_heap *h, struct arena *a, struct block *top)
{
    uintptr_t target = (uintptr_t)top + max_size(h->tun.release_keep, MIN_BLOCK) + WORD;
    if (target < a->floor)
        target = a->floor;
    if (target >= a->end)
        return;
    size_t cut = align_down(a->end - target, h->page);
    if (cut == 0)
        return;
    uintptr_t new_end = a->end - cut, new_hi = align_down(new_end - 2 * WORD, h->page);
    struct range r = block_range(top);
    uintptr_t act_lo = r.lo > new_hi ? r.lo : new_hi, act_hi = r.hi < new_end ? r.hi : new_end;
    if (act_lo < act_hi && pages_activate(h, act_lo, act_hi) != 0)
        return;
    if (h->src->shrink(h->src, cut) != 0) {
        if (act_lo < act_hi)
            pages_deactivate(h, act_lo, act_hi); /* back as it was */
        return;
    }
    if (r.hi > act_hi) /* pages above new_end left with the shrink */
        h->decommitted -= r.hi - (act_hi > r.lo ? act_hi : r.lo);
    r.hi = r.hi < new_hi ? r.hi : new_hi;
    a->end = new_end;
    arena_segment(h, a)->hi = new_end;
    h->grown -= cut;
    block_set_header(top, new_end - WORD - (uintptr_t)top, HDR_FREE);
    block_set_range(top, r);
    block_write_tag(top);
    block_set_header(arena_sentinel(a), 0, HDR_PREV_FREE);
}

/*
 * After a free: shrink the newest arena's top, or release the newest arena
 * altogether when it is entirely free and either the rest of the heap keeps
 * release_keep free bytes (the reserve is elsewhere) or the heap is empty
 * (so an empty heap holds no more than its first arena); then look at the
 * arena below, and so on.
 */
static void trim_newest(struct general_heap *h)
{
    while (h->src->shrink) {
        struct arena *a = h->newest;
        struct block *sentinel = arena_sentinel(a);
        if (!(sentinel->header & HDR_PREV_FREE))
            return;
        struct block *top = block_prev(sentinel);
        size_t size = block_size(top);
        bool whole = (uintptr_t)top == a->first && a->older &&
                     (h->free_bytes - size >= h->tun.release_keep || h->live == 0);
        if (!whole && size < h->tun.release_threshold)
            return;
        list_remove(h, top);
        if (whole && arena_release(h, a, top) == 0)
            continue;
        arena_trim_top(h, a, top);
        list_insert(h, top);
        return;
    }
}

/*
 * Turn the used block b into free memory: merge with free neighbours,
 * decommit what is large enough, put it in its list, trim the top.
 */
static void block_release(struct general_heap *h, struct block *b)
{
    struct range left = {0, 0}, right = {0, 0};
    struct block *next = block_next(b);
    size_t size = block_size(b);
    if (b->header & HDR_PREV_FREE) {
        struct block *prev = block_prev(b);
        list_remove(h, prev);
        left = block_range(prev);
        size += block_size(prev);
        b = prev;
    }
    if (block_is_free(next)) {
        list_remove(h, next);
        right = block_range(next);
        size += block_size(next);
    }
    block_set_header(b, size, HDR_FREE);
    block_write_tag(b);
    block_set_prev_free(block_next(b), true);
    block_release_frames(h, b, range_join(h, left, right));
    list_insert(h, b);
    trim_newest(h);
}

/* ---------------------------------------------------------------- taking memory */

/*
 * Take the front of free block f (in its list) up to address cut; the rest
 * becomes a free block if it is big enough.  Pages of f's decommitted range
 * that the taken part (and the rest's metadata) cover are activated first.
 * Returns the end of what was taken (cut, or f's end when the rest is too
 * small to stand alone), or 0 if activation failed (nothing changed).
 */
static uintptr_t block_take_front(struct general_heap *h, struct block *f, uintptr_t cut)
{
    uintptr_t end = (uintptr_t)f + block_size(f);
    bool split = end - cut >= MIN_BLOCK;
    struct range r = block_range(f), rest = {0, 0};
    if (r.lo < r.hi) {
        uintptr_t used_to = split ? align_up(cut + FREE_META, h->page) : end;
        if (pages_activate(h, r.lo, r.hi < used_to ? r.hi : used_to) != 0)
            return 0;
        rest = (struct range){r.lo > used_to ? r.lo : used_to, r.hi};
    }
    list_remove(h, f);
    if (!split) {
        block_set_prev_free((struct block *)end, false);
        return end;
    }
    struct block *tail = (struct block *)cut;
    block_set_header(tail, end - cut, HDR_FREE);
    block_set_range(tail, rest);
    block_write_tag(tail);
    list_insert(h, tail);
    return cut;
}

/* Carve a block of `need` bytes whose user pointer is aligned to align out of free block f. */
static void *block_carve(struct general_heap *h, struct block *f, size_t need, size_t align)
{
    size_t gap = carve_gap(f, align);
    struct block *u = (struct block *)((uintptr_t)f + gap);
    uintptr_t flags = f->header & HDR_PREV_FREE;
    uintptr_t end = block_take_front(h, f, (uintptr_t)u + need);
    if (!end)
        return NULL;
    if (gap) {
        block_set_header(f, gap, HDR_FREE | flags);
        block_write_tag(f);
        list_insert(h, f);
        flags = HDR_PREV_FREE;
    }
    block_set_header(u, end - (uintptr_t)u, flags);
    start_flip(seg_find(h, (uintptr_t)u)->arena, (uintptr_t)block_user(u));
    return block_user(u);
}

/*
 * Lay out an arena in [base, base + bytes) whose start bitmap covers cap
 * bytes from base; prefix bytes at base are the caller's (the control
 * block).  Returns its single free block (in the lists), or NULL.
 */
static struct block *arena_init(struct general_heap *h, uintptr_t base, size_t bytes, size_t cap,
                                size_t prefix)
{
    struct arena *a = (struct arena *)(base + prefix);
    uintptr_t *bits = (uintptr_t *)(a + 1);
    size_t words = bitmap_words(cap);
    uintptr_t first = align_up((uintptr_t)(bits + words) + WORD, GRAIN) - WORD;
    uintptr_t end = base + bytes;
    if (first + MIN_BLOCK + WORD > end || seg_insert(h, (struct segment){base, end, a, 0, 0}) != 0)
        return NULL;
    if (!h->src->zeroed) /* else grow's memory is zero: the bitmap's pages stay untouched */
        memset(bits, 0, words * WORD);
    *a = (struct arena){
        .magic = ARENA_MAGIC ^ (uintptr_t)a,
        .older = h->newest,
        .base = base,
        .first = first,
        .end = end,
        .limit = base + cap,
        .floor = first + MIN_BLOCK + WORD, /* one block and the sentinel */
        .starts = bits,
    };
    struct block *b = (struct block *)first;
    block_set_header(b, end - WORD - first, HDR_FREE);
    block_write_tag(b);
    block_set_header(arena_sentinel(a), 0, HDR_PREV_FREE);
    h->newest = a;
    h->grown += bytes;
    list_insert(h, b);
    return b;
}

/* Memory grow returned away from the newest arena: make it an arena of its own. */
static struct block *arena_adopt(struct general_heap *h, void *p, size_t bytes)
{
    struct block *b = arena_init(h, (uintptr_t)p, bytes, bytes, 0);
    if (!b && h->src->shrink)
        h->src->shrink(h->src, bytes); /* too small or no segment left: hand it back */
    return b;
}

/*
 * Make the newest arena's free top block at least `want` bytes by growing
 * in place.  Returns that block (in its list), or NULL when the arena's
 * bitmap cannot cover more or the source fails.
 */
static struct block *arena_extend(struct general_heap *h, size_t want)
{
    struct arena *a = h->newest;
    struct block *sentinel = arena_sentinel(a), *top = NULL;
    size_t have = 0;
    if (sentinel->header & HDR_PREV_FREE) {
        top = block_prev(sentinel);
        have = block_size(top);
    }
    if (have >= want)
        return top;
    size_t small = align_up(want - have, h->page), bytes = max_size(small, h->tun.grow_min);
    if (small > a->limit - a->end)
        return NULL;
    if (bytes > a->limit - a->end)
        bytes = small;
    void *p = source_grow(h, &bytes, small);
    if (!p)
        return NULL;
    if ((uintptr_t)p != a->end) {
        struct block *b = arena_adopt(h, p, bytes);
        return b && block_size(b) >= want ? b : NULL;
    }
    /* the old sentinel becomes the header of the new space */
    struct block *nb = sentinel;
    block_set_header(nb, bytes, HDR_FREE | (sentinel->header & HDR_PREV_FREE));
    if (top) {
        list_remove(h, top);
        block_set_header(top, have + bytes, HDR_FREE | (top->header & HDR_DECOMMITTED));
        nb = top;
    }
    a->end += bytes;
    arena_segment(h, a)->hi = a->end;
    h->grown += bytes;
    block_write_tag(nb);
    block_set_header(arena_sentinel(a), 0, HDR_PREV_FREE);
    list_insert(h, nb);
    return nb;
}

/* A new arena with a free block of at least `want` bytes (in its list), or NULL. */
static struct block *arena_create(struct general_heap *h, size_t want)
{
    size_t cap = align_up(max_size(max_size(want, h->grown), h->tun.arena_capacity), h->page);
    size_t small;
    while ((small = align_up(arena_overhead(cap) + want + GRAIN, h->page)) > cap)
        cap = small;          /* the bitmap grows slower than cap: this settles at once */
    if (h->src->grow_limit) { /* no bitmap for memory the source can never give */
        size_t left = h->src->grow_limit > h->grown ? h->src->grow_limit - h->grown : 0;
        if (cap > left)
            cap = max_size(small, align_down(left, h->page));
    }
    size_t bytes = max_size(max_size(small, h->tun.grow_min), align_up(h->grown / 4, h->page));
    if (bytes > cap)
        bytes = cap;
    void *p = source_grow(h, &bytes, small);
    if (!p)
        return NULL;
    struct block *b = arena_init(h, (uintptr_t)p, bytes, cap, 0);
    if (!b && h->src->shrink)
        h->src->shrink(h->src, bytes);
    return b;
}

/* A free block of at least `want` bytes from new memory, or NULL when the source is out. */
static struct block *heap_grow_for(struct general_heap *h, size_t want)
{
    struct block *b = arena_extend(h, want);
    return b ? b : arena_create(h, want);
}

/* ---------------------------------------------------------------- mapped blocks */

/* Should a request of `size` bytes get a mapping of its own? */
static bool wants_map(const struct general_heap *h, size_t size)
{
    return size >= h->tun.map_threshold && h->src->map && h->src->unmap &&
           h->nsegs < MAX_SEGMENTS - SEGMENTS_FOR_ARENA;
}

/* A block in its own mapping: no header, the segment table remembers it. */
static void *mapped_alloc(struct general_heap *h, size_t size, size_t align)
{
    size_t extra = align > h->page ? align - h->page : 0;
    size_t len = align_up(size + extra, h->page);
    void *m = h->src->map(h->src, len);
    if (!m)
        return NULL;
    uintptr_t lo = (uintptr_t)m, user = align_up(lo, align);
    seg_insert(h, (struct segment){lo, lo + len, NULL, user, lo + len - user});
    h->mapped += len;
    h->in_use += lo + len - user;
    return (void *)user;
}

/* Unmap a mapped block and forget its segment. */
static void mapped_free(struct general_heap *h, struct segment *seg)
{
    struct segment s = *seg;
    seg_remove(h, seg);
    h->src->unmap(h->src, (void *)s.lo, s.hi - s.lo);
    h->mapped -= s.hi - s.lo;
    h->in_use -= s.usable;
}

/* ---------------------------------------------------------------- operations */

static void debug_after_op(struct general_heap *h);

/* Allocate from the free lists, growing the heap when they have nothing that fits. */
static void *arena_alloc(struct general_heap *h, size_t size, size_t align)
{
    size_t need = block_need(size);
    /* room to move the start up to the alignment and leave a free block in front */
    size_t want = align > GRAIN ? need + align + GRAIN : need;
    struct block *f = align > GRAIN ? list_find_aligned(h, need, align, want) : NULL;
    if (!f)
        f = list_find(h, want);
    if (!f)
        f = list_find_in_class(h, want);
    if (!f)
        f = heap_grow_for(h, want);
    if (!f)
        return NULL;
    void *p = block_carve(h, f, need, align);
    if (p)
        h->in_use += block_size(user_block((uintptr_t)p)) - WORD;
    return p;
}

/*
 * ops->alloc.  heap.c guarantees 1 <= size, GRAIN <= align, size + align
 * <= HEAP_MAX_REQUEST.  Large requests try src->map first.
 */
static void *general_alloc(struct heap *hp, size_t size, size_t align)
{
    struct general_heap *h = to_general(hp);
    heap_source_lock(h->src);
    void *p = wants_map(h, size) ? mapped_alloc(h, size, align) : NULL;
    if (!p)
        p = arena_alloc(h, size, align);
    if (p) {
        h->count.alloc_calls++;
        h->live++;
        if (h->in_use > h->peak)
            h->peak = h->in_use;
#if MM_DEBUG
        memset(p, JUNK_FRESH, size); /* uninitialised reads show up as a pattern */
#endif
    } else {
        h->count.failed_calls++;
    }
    debug_after_op(h);
    heap_source_unlock(h->src);
    return p;
}

/* ops->size: usable bytes of a live block, 0 for anything else. */
static size_t general_size(struct heap *hp, const void *ptr)
{
    struct general_heap *h = to_general(hp);
    struct segment *seg;
    struct block *b = NULL;
    size_t usable = 0;
    heap_source_lock(h->src);
    enum lookup kind = lookup(h, (uintptr_t)ptr, &seg, &b);
    if (kind == MAPPED_BLOCK)
        usable = seg->usable;
    else if (kind == ARENA_BLOCK)
        usable = block_size(b) - WORD;
    else if (kind == CORRUPTED)
        report_bad_pointer(h, "size", ptr, kind, b); /* only corruption: size is a query */
    heap_source_unlock(h->src);
    return usable;
}

/*
 * Free the live block at ptr (lock held): its usable size, or 0 when ptr is
 * none.  Then only corruption is reported, unless `report` asks for every
 * kind of bad pointer (free does, release leaves that to its caller).
 */
static size_t free_locked(struct general_heap *h, void *ptr, bool report)
{
    struct segment *seg;
    struct block *b = NULL;
    size_t usable = 0;
    enum lookup kind = lookup(h, (uintptr_t)ptr, &seg, &b);
    if (kind == MAPPED_BLOCK || kind == ARENA_BLOCK) {
        h->count.free_calls++;
        h->live--; /* before block_release: trimming looks at it */
    }
    if (kind == MAPPED_BLOCK) {
        usable = seg->usable;
        mapped_free(h, seg);
        trim_newest(h); /* the heap may have just become empty */
    } else if (kind == ARENA_BLOCK) {
        usable = block_size(b) - WORD;
        start_flip(seg->arena, (uintptr_t)ptr);
        h->in_use -= usable;
#if MM_DEBUG
        memset(ptr, JUNK_FREED, usable); /* dangling reads show up as a pattern */
#endif
        block_release(h, b);
    } else if (report || kind == CORRUPTED) {
        report_bad_pointer(h, "free", ptr, kind, b);
    }
    debug_after_op(h);
    return usable;
}

/* ops->free: free a live block; anything else is reported and left alone. */
static void general_free(struct heap *hp, void *ptr)
{
    struct general_heap *h = to_general(hp);
    heap_source_lock(h->src);
    free_locked(h, ptr, true);
    heap_source_unlock(h->src);
}

/* ops->release: free a live block and return its size; 0 for anything else, unreported. */
static size_t general_release(struct heap *hp, void *ptr)
{
    struct general_heap *h = to_general(hp);
    heap_source_lock(h->src);
    size_t usable = free_locked(h, ptr, false);
    heap_source_unlock(h->src);
    return usable;
}

/* Give the tail of b beyond `need` bytes back, when it can stand alone. */
static void block_shrink(struct general_heap *h, struct block *b, size_t need)
{
    size_t size = block_size(b);
    if (size - need < MIN_BLOCK)
        return;
    block_set_header(b, need, b->header & HDR_PREV_FREE);
    struct block *tail = (struct block *)((uintptr_t)b + need);
    block_set_header(tail, size - need, 0);
    h->in_use -= size - need;
    block_release(h, tail);
}

/* Grow b to `need` bytes into the free block after it (extending the arena if b is at its top). */
static int block_grow(struct general_heap *h, struct arena *a, struct block *b, size_t need)
{
    size_t size = block_size(b);
    struct block *next = block_next(b);
    bool at_top =
        next == arena_sentinel(a) || (block_is_free(next) && block_next(next) == arena_sentinel(a));
    if (a == h->newest && at_top && (!block_is_free(next) || size + block_size(next) < need)) {
        arena_extend(h, need - size);
        next = block_next(b);
    }
    if (!block_is_free(next) || size + block_size(next) < need)
        return -1;
    uintptr_t end = block_take_front(h, next, (uintptr_t)b + need);
    if (!end)
        return -1;
    block_set_header(b, end - (uintptr_t)b, b->header & HDR_PREV_FREE);
    h->in_use += block_size(b) - size;
    if (h->in_use > h->peak)
        h->peak = h->in_use;
    return 0;
}

/* ops->resize: shrink in place, or grow into the free block after (see block_grow). */
static int general_resize(struct heap *hp, void *ptr, size_t size)
{
    struct general_heap *h = to_general(hp);
    struct segment *seg;
    struct block *b = NULL;
    int rc = -1;
    heap_source_lock(h->src);
    enum lookup kind = lookup(h, (uintptr_t)ptr, &seg, &b);
    if (kind == MAPPED_BLOCK) {
        rc = size <= seg->usable ? 0 : -1; /* mapped blocks keep their mapping */
    } else if (kind == ARENA_BLOCK) {
        size_t need = block_need(size);
        if (need <= block_size(b)) {
            block_shrink(h, b, need);
            rc = 0;
        } else {
            rc = block_grow(h, seg->arena, b, need);
        }
    } else {
        report_bad_pointer(h, "resize", ptr, kind, b);
    }
    debug_after_op(h);
    heap_source_unlock(h->src);
    return rc;
}

/* ---------------------------------------------------------------- check */

/* What a walk found, compared with the counters at the end. */
struct walk_totals {
    size_t free_count, free_bytes, live, in_use, decommitted, grown, arenas;
};

#define check_fail(count, ...)                                                                     \
    do {                                                                                           \
        (*(count))++;                                                                              \
        mm_report("heap_general check: " __VA_ARGS__);                                             \
    } while (0)

/* Is the decommitted range of free block b sane? */
static void check_range(struct general_heap *h, const struct block *b, int *bad,
                        struct walk_totals *t)
{
    struct range r = block_range(b);
    if (!(b->header & HDR_DECOMMITTED))
        return;
    uintptr_t lo = align_up((uintptr_t)b + FREE_META, h->page);
    uintptr_t hi = align_down((uintptr_t)b + block_size(b) - WORD, h->page);
    if (r.lo % h->page || r.hi % h->page || r.lo >= r.hi || r.lo < lo || r.hi > hi)
        check_fail(bad, "block %p: decommitted range %#lx..%#lx outside its interior", (void *)b,
                   (unsigned long)r.lo, (unsigned long)r.hi);
    else
        t->decommitted += r.hi - r.lo;
}

/* One block of a walk; returns false when the walk cannot go on. */
static bool check_block(struct general_heap *h, struct arena *a, struct block *b, bool prev_free,
                        int *bad, struct walk_totals *t)
{
    size_t size = block_size(b);
    if (size < MIN_BLOCK || size % GRAIN || size > a->end - WORD - (uintptr_t)b) {
        check_fail(bad, "block %p: bad size %#lx", (void *)b, (unsigned long)b->header);
        return false;
    }
    if (((b->header & HDR_PREV_FREE) != 0) != prev_free)
        check_fail(bad, "block %p: previous-free flag wrong", (void *)b);
    bool listed_start = start_test(a, (uintptr_t)block_user(b));
    if (!block_is_free(b)) {
        if (!listed_start)
            check_fail(bad, "used block %p missing from the start bitmap", (void *)b);
        t->live++;
        t->in_use += size - WORD;
        return true;
    }
    if (prev_free)
        check_fail(bad, "free blocks side by side at %p", (void *)b);
    if (block_tag(b) != size)
        check_fail(bad, "free block %p: boundary tag %#lx, size %#lx", (void *)b,
                   (unsigned long)block_tag(b), (unsigned long)size);
    if (listed_start)
        check_fail(bad, "free block %p marked live in the start bitmap", (void *)b);
    check_range(h, b, bad, t);
    t->free_count++;
    t->free_bytes += size;
    return true;
}

/* Live blocks the start bitmap of arena a claims. */
static size_t bitmap_count(const struct arena *a)
{
    size_t n = 0, words = bitmap_words(a->limit - a->base);
    for (size_t i = 0; i < words; i++)
        n += mm_bits_set(a->starts[i]);
    return n;
}

/* Walk arena a block by block, adding what it finds to *t. */
static void check_arena(struct general_heap *h, struct arena *a, int *bad, struct walk_totals *t)
{
    if (a->magic != (ARENA_MAGIC ^ (uintptr_t)a) || a->first < a->base || a->end > a->limit ||
        a->first >= a->end) {
        check_fail(bad, "arena %p: header corrupted", (void *)a);
        return;
    }
    size_t live_before = t->live;
    bool prev_free = false;
    struct block *b = (struct block *)a->first, *sentinel = arena_sentinel(a);
    while (b != sentinel) {
        if (!check_block(h, a, b, prev_free, bad, t))
            return;
        prev_free = block_is_free(b);
        b = block_next(b);
    }
    if (block_size(b) != 0 || block_is_free(b) || ((b->header & HDR_PREV_FREE) != 0) != prev_free)
        check_fail(bad, "arena %p: sentinel corrupted", (void *)a);
    if (bitmap_count(a) != t->live - live_before)
        check_fail(bad, "arena %p: start bitmap has %zu bits for %zu live blocks", (void *)a,
                   bitmap_count(a), t->live - live_before);
    t->grown += a->end - a->base;
    t->arenas++;
}

/* Is b a plausible free-list node (inside an arena, at a header position)? */
static bool check_node_address(struct general_heap *h, const struct block *b)
{
    struct segment *seg = seg_find(h, (uintptr_t)b);
    return seg && seg->arena && (uintptr_t)b % GRAIN == WORD && (uintptr_t)b >= seg->arena->first &&
           (uintptr_t)b < seg->arena->end - WORD;
}

/* Walk list (fl, sl); returns how many nodes it holds. */
static size_t check_list(struct general_heap *h, unsigned fl, unsigned sl, size_t budget, int *bad)
{
    size_t n = 0;
    struct block *prev = NULL;
    for (struct block *b = h->heads[fl][sl]; b; prev = b, b = link_next(h, b)) {
        unsigned bfl, bsl;
        if (n++ > budget) {
            check_fail(bad, "list %u/%u: longer than the free-block count (a cycle?)", fl, sl);
            break;
        }
        if (!check_node_address(h, b) || !block_is_free(b)) {
            check_fail(bad, "list %u/%u: link to %p, not a free block", fl, sl, (void *)b);
            break;
        }
        size_class(block_size(b), &bfl, &bsl);
        if (bfl != fl || bsl != sl)
            check_fail(bad, "list %u/%u: block %p of size %zu belongs to %u/%u", fl, sl, (void *)b,
                       block_size(b), bfl, bsl);
        if (link_prev(h, b) != prev)
            check_fail(bad, "list %u/%u: block %p has a wrong back link", fl, sl, (void *)b);
    }
    return n;
}

/* Every list and bitmap bit, and the lists' total against the walk's free blocks. */
static void check_lists(struct general_heap *h, size_t walked_free, int *bad)
{
    size_t listed = 0, budget = max_size(walked_free, h->free_count);
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        if (((h->fl_bitmap >> fl) & 1) != (h->sl_bitmap[fl] != 0))
            check_fail(bad, "first-level bitmap bit %u wrong", fl);
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            if (((h->sl_bitmap[fl] >> sl) & 1) != (h->heads[fl][sl] != NULL))
                check_fail(bad, "second-level bitmap bit %u/%u wrong", fl, sl);
            listed += check_list(h, fl, sl, budget, bad);
        }
    }
    if (listed != walked_free)
        check_fail(bad, "%zu blocks in the free lists, %zu free blocks in the arenas", listed,
                   walked_free);
}

/* Segments sorted and disjoint; mapped blocks consistent; arenas walked. */
static void check_segments(struct general_heap *h, int *bad, struct walk_totals *t, size_t *mapped)
{
    for (size_t i = 0; i < h->nsegs; i++) {
        struct segment *s = &h->segs[i];
        if (s->lo >= s->hi || (i > 0 && h->segs[i - 1].hi > s->lo))
            check_fail(bad, "segment %zu overlaps or is empty", i);
        if (s->arena) {
            if (s->arena->base != s->lo || s->arena->end != s->hi)
                check_fail(bad, "segment %zu does not match its arena", i);
            check_arena(h, s->arena, bad, t);
        } else if (s->user < s->lo || s->user >= s->hi || s->usable != s->hi - s->user) {
            check_fail(bad, "mapped segment %zu corrupted", i);
        } else {
            *mapped += s->hi - s->lo;
            t->live++;
            t->in_use += s->usable;
        }
    }
}

/*
 * ops->check: segments and arenas, lists, arena chain, counters.  Each
 * violation is reported; returns how many.  O(blocks + bitmap words).
 */
static int general_check(struct heap *hp)
{
    struct general_heap *h = to_general(hp);
    struct walk_totals t = {0};
    size_t mapped = 0, chain = 0;
    int bad = 0;
    heap_source_lock(h->src);
    if (h->magic != (HEAP_MAGIC ^ (uintptr_t)h))
        check_fail(&bad, "control block %p: bad magic", (void *)h);
    check_segments(h, &bad, &t, &mapped);
    check_lists(h, t.free_count, &bad);
    for (struct arena *a = h->newest; a && chain <= t.arenas; a = a->older)
        chain++;
    if (chain != t.arenas)
        check_fail(&bad, "arena chain has %zu arenas, segment table %zu", chain, t.arenas);
    if (t.free_count != h->free_count || t.free_bytes != h->free_bytes || t.live != h->live ||
        t.in_use != h->in_use || t.decommitted != h->decommitted || t.grown != h->grown ||
        mapped != h->mapped)
        check_fail(&bad,
                   "counters disagree with the walk (free %zu/%zu, live %zu/%zu, "
                   "in use %zu/%zu, decommitted %zu/%zu)",
                   t.free_count, h->free_count, t.live, h->live, t.in_use, h->in_use, t.decommitted,
                   h->decommitted);
    heap_source_unlock(h->src);
    return bad;
}

#if MM_DEBUG
static void debug_after_op(struct general_heap *h)
{
    if (++h->ops % DEBUG_CHECK_PERIOD)
        return;
    heap_source_unlock(h->src); /* general_check takes the lock itself */
    int bad = general_check(&h->heap);
    heap_source_lock(h->src);
    if (bad)
        mm_panic("heap_general: %d inconsistencies after %zu operations", bad, h->ops);
}
#else
static void debug_after_op(struct general_heap *h)
{
    (void)h;
}
#endif

/* ---------------------------------------------------------------- stats */

/* Largest free block: the head class is known from the bitmaps; walk that one list. */
static size_t largest_free(const struct general_heap *h)
{
    if (!h->fl_bitmap)
        return 0;
    unsigned fl = msb(h->fl_bitmap);
    unsigned sl = 31u - (unsigned)__builtin_clz(h->sl_bitmap[fl]);
    size_t best = 0;
    for (const struct block *b = h->heads[fl][sl]; b; b = link_next(h, b))
        best = max_size(best, block_size(b));
    return best;
}

/* ops->stats: counters kept up to date by every operation, plus largest_free. */
static void general_stats(struct heap *hp, struct heap_stats *st)
{
    struct general_heap *h = to_general(hp);
    heap_source_lock(h->src);
    st->bytes_in_use = h->in_use;
    st->bytes_peak = h->peak;
    st->bytes_held = h->grown + h->mapped;
    st->bytes_committed = h->grown + h->mapped - h->decommitted;
    st->free_blocks = h->free_count;
    st->largest_free = largest_free(h);
    st->live_blocks = h->live;
    heap_counters_add(st, &h->count);
    heap_source_unlock(h->src);
}

static const struct heap_ops general_ops = {
    .name = "general",
    .alloc = general_alloc,
    .size = general_size,
    .free = general_free,
    .check = general_check,
    .stats = general_stats,
    .resize = general_resize,
    .release = general_release,
    .realloc_headroom = 2, /* half extra for a growing block that moves (as the composite) */
};

/* ---------------------------------------------------------------- create / destroy */

void heap_general_config_default(struct heap_general_config *t)
{
    t->grow_min = 64 * 1024;
    t->release_threshold = 256 * 1024;
    t->release_keep = 64 * 1024;
    t->map_threshold = 256 * 1024;
    t->arena_capacity = 1024 * 1024;
}

/* Defaults for zero fields, page rounding, and the hysteresis rule. */
static struct heap_general_config tunables_fix(const struct heap_general_config *in, size_t page)
{
    struct heap_general_config d, t = in ? *in : (struct heap_general_config){0};
    heap_general_config_default(&d);
    t.grow_min = align_up(t.grow_min ? t.grow_min : d.grow_min, page);
    t.release_keep = align_up(t.release_keep ? t.release_keep : d.release_keep, page);
    t.release_threshold = t.release_threshold ? t.release_threshold : d.release_threshold;
    t.release_threshold = max_size(t.release_threshold, t.release_keep + t.grow_min + page);
    t.map_threshold = t.map_threshold ? t.map_threshold : d.map_threshold;
    t.arena_capacity = align_up(
        max_size(t.arena_capacity ? t.arena_capacity : d.arena_capacity, t.grow_min), page);
    return t;
}

/* First grow: control block + first arena.  Halves the request until the source agrees. */
static void *first_grow(struct heap_source *src, size_t prefix, size_t *bytes, size_t *cap)
{
    size_t page = heap_source_page_size(src);
    for (;;) {
        size_t least = align_up(prefix + arena_overhead(*cap) + MIN_BLOCK, page);
        if (*bytes < least)
            return NULL;
        void *p = src->grow(src, *bytes);
        if (p && (uintptr_t)p % GRAIN == 0)
            return p;
        if (p && src->shrink)
            src->shrink(src, *bytes);
        *bytes = align_up(*bytes / 2, page);
        *cap = *bytes;
    }
}

/* See heap_general.h.  The control block is the start of the first grow. */
struct heap *heap_general_create_with(struct heap_source *src,
                                      const struct heap_general_config *tunables)
{
    size_t page = heap_source_page_size(src);
    if (!src->grow || page < 4 * GRAIN || (page & (page - 1)))
        return NULL;
    struct heap_general_config t = tunables_fix(tunables, page);
    size_t prefix = align_up(sizeof(struct general_heap), GRAIN), cap = t.arena_capacity;
    size_t bytes = align_up(prefix + arena_overhead(cap) + t.grow_min, page);
    if (src->grow_limit && bytes > src->grow_limit)
        bytes = align_down(src->grow_limit, page);
    if (src->grow_limit && cap > src->grow_limit)
        cap = align_down(src->grow_limit, page);
    cap = max_size(cap, bytes);

    heap_source_lock(src);
    struct general_heap *h = first_grow(src, prefix, &bytes, &cap);
    if (h) {
        if (!src->zeroed)
            memset(h, 0, sizeof *h);
        h->heap.ops = &general_ops;
        h->magic = HEAP_MAGIC ^ (uintptr_t)h;
        h->link_key = heap_instance_secret(h);
        h->src = src;
        h->tun = t;
        h->page = page;
        if (arena_init(h, (uintptr_t)h, bytes, cap, prefix))
            h->newest->floor = h->newest->end; /* never shrink below the first grow */
        else
            h = NULL; /* cannot happen: first_grow checked the size */
    }
    heap_source_unlock(src);
    return h ? &h->heap : NULL;
}

struct heap *heap_general_create(struct heap_source *src)
{
    return heap_general_create_with(src, NULL);
}

/* See heap_general.h. */
void heap_general_set_config(struct heap *hp, const struct heap_general_config *t)
{
    struct general_heap *h = to_general(hp);
    heap_source_lock(h->src);
    h->tun = tunables_fix(t, h->page);
    heap_source_unlock(h->src);
}

/* See heap_general.h.  Mapped blocks first, then arenas newest first. */
void heap_general_destroy(struct heap *hp)
{
    struct general_heap *h = to_general(hp);
    struct heap_source *src = h->src;
    for (size_t i = h->nsegs; i-- > 0;)
        if (!h->segs[i].arena)
            mapped_free(h, &h->segs[i]);
    struct arena *a = h->newest;
    h->magic = 0; /* a stale handle no longer checks out */
    if (!src->shrink)
        return;
    while (a) { /* newest first: shrink gives back the last grown bytes */
        struct arena *older = a->older;
        size_t bytes = a->end - a->base;
        if (src->shrink(src, bytes) != 0)
            break;
        a = older;
    }
}
