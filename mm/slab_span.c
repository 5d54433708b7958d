/*
 * mm/slab_span.c - spans of the size-class set (see slab_span.h).
 *
 * How it works
 *
 *   Core.  A span is a run of SPAN_BYTES aligned to SPAN_BYTES from the
 *   set's private page heap; its header (page 0) keeps a bitmap of the pages
 *   in use, a bitmap of the pages committed and the page table (page ->
 *   slab, and the set's 16-bit tag for it: the slab's class).  span_carve
 *   cuts a run of whole pages, first fit, from the oldest span that has
 *   room (so the newest spans are the ones that empty and go back), commits
 *   the pages of it that are not, and makes a new span when none has room.
 *   The map (addr >> SPAN_SHIFT -> span) is a flat array on i686 and a root
 *   plus two levels of one-page nodes on x86-64; nodes are made when a span
 *   needs them and freed when empty.  For the set's hot free the pool
 *   caches one leaf of the map (hot_key, hot_leaf: x86-64's second node
 *   level, 512 MiB of address space; the flat map on i686), filled when a
 *   span is made and by span_hot_fill, forgotten when its node is freed,
 *   and only while the set runs without a lock (span_pool_hot).
 *
 *   Policy (when memory goes back).  A carved run given back keeps its
 *   pages committed while the set holds at most SPAN_KEEP_PAGES such idle
 *   pages (a slab freed and made again soon costs no source call); beyond
 *   that they are decommitted at once.  A new span is decommitted but for
 *   its header.  A span left with no slab is kept as a spare (SPAN_SPARE
 *   of them); any further empty span goes back to the page heap, which
 *   gives it back to the source.  span_pool_trim (a shrink) decommits every
 *   idle page and gives back every empty span.
 *
 * Invariants (span_pool_check)
 *   - each span's map entry leads to it, its magic is SPAN_MAGIC, the list
 *     and the counts (spans, empty spans) agree;
 *   - a page is in use iff it is a header page or its page table entry
 *     names a slab, and a page naming no slab has tag 0; used and active
 *     are the popcounts of their bitmaps;
 *     every page in use is committed;
 *   - idle_active is the number of committed pages not in use, and
 *     inactive_bytes the bytes of pages not committed, over all spans.
 *
 * Costs: the lookup is the map walk plus one load (slab_span.h); carve is
 * O(spans + pages of a span / 32) plus a source call when it commits or a
 * span is made; uncarve O(pages of the run), plus a source call when it
 * decommits; a span costs one header page and, on x86-64, map nodes of
 * one page per 512 MiB (inner) or 256 GiB (outer) of address space.
 *
 * Locking: none; the set holds its source's lock around every call.
 */
#include "mm/slab_span.h"

#include <string.h>

#include "mm/bits.h"
#include "mm/heap.h"

#define SPAN_MAGIC 0x5350414eu /* "SPAN" */
/* Free pages kept committed over all spans of a set, for slabs made again soon. */
#define SPAN_KEEP_PAGES 64u
/* Empty spans kept instead of going back to the page heap. */
#define SPAN_SPARE 1u
#define SPAN_HDR_PAGES ((sizeof(struct slab_span) + MM_PAGE_SIZE - 1) / MM_PAGE_SIZE)

_Static_assert(SPAN_HDR_PAGES < SPAN_PAGES, "a span has room for slabs");
_Static_assert(sizeof(struct slab_span) <= MM_PAGE_SIZE, "a span's header takes one page");
_Static_assert(SPAN_ROOT_BITS <= 12, "the root stays small enough to sit inside the set");

/* ------------------------------------------------------------ bits */

static bool page_bit(const uint32_t *map, size_t page)
{
    return map[page / 32] >> (page % 32) & 1u;
}

static void page_bits_set(uint32_t *map, size_t first, size_t n, bool on)
{
    for (size_t i = first; i < first + n; i++) {
        if (on)
            map[i / 32] |= 1u << (i % 32);
        else
            map[i / 32] &= ~(1u << (i % 32));
    }
}

static unsigned char *page_addr(const struct slab_span *sp, size_t page)
{
    return (unsigned char *)sp + (page << MM_PAGE_SHIFT);
}

static size_t page_of(const struct slab_span *sp, const void *addr)
{
    return (size_t)((const unsigned char *)addr - (const unsigned char *)sp) >> MM_PAGE_SHIFT;
}

/* ------------------------------------------------------------ the map */

static uintptr_t span_key(uintptr_t addr)
{
#if SPAN_LEVELS
    addr &= ((uintptr_t)1 << 48) - 1;
#endif
    return addr >> SPAN_SHIFT;
}

/* The map slot of addr's span; with `make`, the nodes on the way are made (NULL: no memory). */
static void **map_slot(struct span_pool *p, uintptr_t addr, bool make)
{
    uintptr_t key = span_key(addr);
    void **slot = &p->root[key >> (SPAN_LEVELS * SPAN_NODE_BITS)];
    for (unsigned level = SPAN_LEVELS; level > 0; level--) {
        if (!*slot) {
            if (!make || !(*slot = heap_alloc(p->pages, MM_PAGE_SIZE, MM_PAGE_SIZE)))
                return NULL;
            memset(*slot, 0, MM_PAGE_SIZE);
            p->node_count++;
        }
        unsigned shift = (level - 1) * SPAN_NODE_BITS;
        slot = &((void **)*slot)[(key >> shift) & (((uintptr_t)1 << SPAN_NODE_BITS) - 1)];
    }
    return slot;
}

#if SPAN_LEVELS
static bool node_empty(void *const *node)
{
    for (size_t i = 0; i < ((size_t)1 << SPAN_NODE_BITS); i++)
        if (node[i])
            return false;
    return true;
}
#endif

/* The hot path's leaf is gone (its node freed) or off: every span_slab_at_hot misses. */
static void hot_forget(struct span_pool *p)
{
#if SPAN_LEVELS
    p->hot_key = SPAN_HOT_NONE;
#endif
    p->hot_leaf = NULL;
}

/* Forget addr's span; nodes left empty are freed, innermost first. */
static void map_clear(struct span_pool *p, uintptr_t addr)
{
    uintptr_t key = span_key(addr);
    void **path[SPAN_LEVELS + 1]; /* path[l]: the slot leading to the level-l node (0: root slot) */
    path[0] = &p->root[key >> (SPAN_LEVELS * SPAN_NODE_BITS)];
#if SPAN_LEVELS /* (i686: the root is the map, nothing below it) */
    for (unsigned l = 0; l < SPAN_LEVELS; l++) {
        unsigned shift = (SPAN_LEVELS - 1 - l) * SPAN_NODE_BITS;
        path[l + 1] = &((void **)*path[l])[(key >> shift) & (((uintptr_t)1 << SPAN_NODE_BITS) - 1)];
    }
    *path[SPAN_LEVELS] = NULL;
    for (unsigned l = SPAN_LEVELS; l > 0; l--) {
        void **node = *path[l - 1];
        if (!node_empty(node))
            return;
        *path[l - 1] = NULL;
        p->node_count--;
        if (node == p->hot_leaf)
            hot_forget(p);
        heap_free(p->pages, node);
    }
#else
    *path[0] = NULL;
#endif
}

void span_hot_fill(struct span_pool *p, uintptr_t addr)
{
    if (!p->hot)
        return;
#if SPAN_LEVELS
    uintptr_t key = span_key(addr);
    void **mid = p->root[key >> (SPAN_LEVELS * SPAN_NODE_BITS)];
    void **leaf =
        mid ? mid[(key >> SPAN_NODE_BITS) & (((uintptr_t)1 << SPAN_NODE_BITS) - 1)] : NULL;
    _Static_assert(SPAN_LEVELS == 2, "the hot leaf is the second level below the root");
    if (!leaf)
        return;
    p->hot_key = addr >> SPAN_LEAF_SHIFT;
    p->hot_leaf = leaf;
#else
    (void)addr;
    p->hot_leaf = p->root;
#endif
}

void span_pool_hot(struct span_pool *p, bool on)
{
    p->hot = on;
    hot_forget(p);
    if (on && p->spans)
        span_hot_fill(p, (uintptr_t)p->spans);
}

static struct slab_span *span_of(const struct span_pool *p, const void *addr)
{
    void **slot = map_slot((struct span_pool *)p, (uintptr_t)addr, false);
    return slot ? *slot : NULL;
}

bool span_holds(const struct span_pool *p, const void *base)
{
    return span_of(p, base) != NULL;
}

/* ------------------------------------------------------------ committing pages */

static bool can_decommit(const struct span_pool *p)
{
    return p->src->deactivate != NULL;
}

/* Commit the pages of [first, first + n) of sp that are not.  0, or -1 (some may be committed). */
static int pages_commit(struct span_pool *p, struct slab_span *sp, size_t first, size_t n)
{
    for (size_t i = first; i < first + n;) {
        size_t run = 0;
        while (i + run < first + n && !page_bit(sp->active_map, i + run))
            run++;
        if (run) {
            if (p->src->activate &&
                p->src->activate(p->src, page_addr(sp, i), run << MM_PAGE_SHIFT))
                return -1;
            page_bits_set(sp->active_map, i, run, true);
            sp->active += (uint32_t)run;
            p->inactive_bytes -= run << MM_PAGE_SHIFT;
            i += run;
        } else {
            i++;
        }
    }
    return 0;
}

/* Decommit pages [first, first + n) of sp, all committed and not in use. */
static void pages_decommit(struct span_pool *p, struct slab_span *sp, size_t first, size_t n)
{
    p->src->deactivate(p->src, page_addr(sp, first), n << MM_PAGE_SHIFT);
    page_bits_set(sp->active_map, first, n, false);
    sp->active -= (uint32_t)n;
    p->inactive_bytes += n << MM_PAGE_SHIFT;
}

/* Committed pages of [first, first + n) of sp (not in use: they count as idle). */
static size_t pages_active(const struct slab_span *sp, size_t first, size_t n)
{
    size_t k = 0;
    for (size_t i = first; i < first + n; i++)
        k += page_bit(sp->active_map, i);
    return k;
}

/* Decommit every idle page of sp. */
static void span_decommit_idle(struct span_pool *p, struct slab_span *sp)
{
    for (size_t i = sp->hdr_pages; i < SPAN_PAGES; i++) {
        if (page_bit(sp->active_map, i) && !page_bit(sp->used_map, i)) {
            pages_decommit(p, sp, i, 1);
            p->idle_active--;
        }
    }
}

/* ------------------------------------------------------------ spans */

static void span_link(struct span_pool *p, struct slab_span *sp)
{
    struct slab_span **at = &p->spans, *prev = NULL;
    while (*at) {
        prev = *at;
        at = &(*at)->next;
    }
    sp->prev = prev;
    sp->next = NULL;
    *at = sp;
    p->nspans++;
}

static void span_unlink(struct span_pool *p, struct slab_span *sp)
{
    if (sp->prev)
        sp->prev->next = sp->next;
    else
        p->spans = sp->next;
    if (sp->next)
        sp->next->prev = sp->prev;
    p->nspans--;
}

/* A new span, empty, decommitted but for its header, in the map; NULL when none can be had. */
static struct slab_span *span_new(struct span_pool *p)
{
    struct slab_span *sp = heap_alloc(p->pages, SPAN_BYTES, SPAN_BYTES);
    if (!sp)
        return NULL;
    void **slot = map_slot(p, (uintptr_t)sp, true);
    if (!slot) {
        heap_free(p->pages, sp);
        return NULL;
    }
    *slot = sp;
    memset(sp, 0, sizeof *sp);
    sp->magic = SPAN_MAGIC;
    sp->hdr_pages = SPAN_HDR_PAGES;
    sp->used = sp->hdr_pages;
    sp->active = SPAN_PAGES; /* the page heap committed all of it */
    page_bits_set(sp->used_map, 0, sp->hdr_pages, true);
    page_bits_set(sp->active_map, 0, SPAN_PAGES, true);
    if (can_decommit(p))
        pages_decommit(p, sp, sp->hdr_pages, SPAN_PAGES - sp->hdr_pages);
    span_link(p, sp);
    p->empty++;
    span_hot_fill(p, (uintptr_t)sp); /* the newest span's leaf: where the next frees go */
    return sp;
}

/* Give an empty span back to the page heap. */
static void span_free(struct span_pool *p, struct slab_span *sp)
{
    if (can_decommit(p))
        p->idle_active -= pages_active(sp, sp->hdr_pages, SPAN_PAGES - sp->hdr_pages);
    p->inactive_bytes -= (size_t)(SPAN_PAGES - sp->active) << MM_PAGE_SHIFT;
    p->empty--;
    span_unlink(p, sp);
    map_clear(p, (uintptr_t)sp);
    sp->magic = 0;
    heap_free(p->pages, sp);
}

/* First page of a run of n free pages in sp, or 0 (page 0 is always the header's). */
static size_t run_find(const struct slab_span *sp, size_t n)
{
    size_t run = 0;
    for (size_t i = sp->hdr_pages; i < SPAN_PAGES; i++) {
        if (i % 32 == 0 && run == 0 && sp->used_map[i / 32] == UINT32_MAX) {
            i += 31; /* a full word */
            continue;
        }
        run = page_bit(sp->used_map, i) ? 0 : run + 1;
        if (run == n)
            return i + 1 - n;
    }
    return 0;
}

void span_pool_init(struct span_pool *p, struct heap *pages, struct heap_source *src, size_t page)
{
    p->pages = pages;
    p->src = src;
    p->enabled = page == MM_PAGE_SIZE;
    hot_forget(p);
}

void *span_carve(struct span_pool *p, size_t bytes)
{
    size_t n = bytes >> MM_PAGE_SHIFT, first = 0;
    struct slab_span *sp;
    if (!p->enabled || n == 0 || n > SPAN_PAGES - SPAN_HDR_PAGES)
        return NULL;
    for (sp = p->spans; sp; sp = sp->next)
        if (SPAN_PAGES - sp->used >= n && (first = run_find(sp, n)) != 0)
            break;
    if (!sp) {
        if (!(sp = span_new(p)))
            return NULL;
        first = sp->hdr_pages;
    }
    size_t idle = can_decommit(p) ? pages_active(sp, first, n) : 0;
    if (pages_commit(p, sp, first, n) != 0) {
        p->idle_active += pages_active(sp, first, n) - idle; /* what did commit is idle */
        return NULL;
    }
    p->idle_active -= idle;
    if (sp->used == sp->hdr_pages)
        p->empty--;
    page_bits_set(sp->used_map, first, n, true);
    sp->used += (uint32_t)n;
    return page_addr(sp, first);
}

void span_slab_name(struct span_pool *p, void *base, size_t bytes, struct slab *s, uint16_t tag)
{
    struct slab_span *sp = span_of(p, base);
    size_t first = page_of(sp, base);
    for (size_t i = first; i < first + (bytes >> MM_PAGE_SHIFT); i++) {
        sp->page_slab[i] = s;
        sp->page_tag[i] = tag;
    }
}

uint16_t span_tag_at(const struct span_pool *p, uintptr_t addr)
{
    const struct slab_span *sp = span_of(p, (const void *)addr);
    return sp->page_tag[page_of(sp, (const void *)addr)];
}

void span_uncarve(struct span_pool *p, void *base, size_t bytes)
{
    struct slab_span *sp = span_of(p, base);
    size_t first = page_of(sp, base), n = bytes >> MM_PAGE_SHIFT;
    for (size_t i = first; i < first + n; i++) {
        sp->page_slab[i] = NULL;
        sp->page_tag[i] = 0;
    }
    page_bits_set(sp->used_map, first, n, false);
    sp->used -= (uint32_t)n;
    if (can_decommit(p)) {
        if (p->idle_active + n > SPAN_KEEP_PAGES)
            pages_decommit(p, sp, first, n); /* beyond the budget: the frames go back now */
        else
            p->idle_active += n;
    }
    if (sp->used == sp->hdr_pages && ++p->empty > SPAN_SPARE)
        span_free(p, sp);
}

void span_pool_trim(struct span_pool *p)
{
    struct slab_span *next;
    for (struct slab_span *sp = p->spans; sp; sp = next) {
        next = sp->next;
        if (sp->used == sp->hdr_pages)
            span_free(p, sp);
        else if (can_decommit(p))
            span_decommit_idle(p, sp);
    }
}

/* ------------------------------------------------------------ check */

static int span_violation(const void *at, const char *what)
{
    mm_report("slab span check: %p: %s", at, what);
    return 1;
}

static size_t bits_counted(const uint32_t *map)
{
    size_t n = 0;
    for (size_t w = 0; w < SPAN_WORDS; w++)
        n += (size_t)mm_bits_set(map[w]);
    return n;
}

/* One span: map entry, counts, and each page's use against its page table entry. */
static int span_check(const struct span_pool *p, const struct slab_span *sp, size_t *idle,
                      size_t *inactive)
{
    if (sp->magic != SPAN_MAGIC || sp->hdr_pages != SPAN_HDR_PAGES)
        return span_violation(sp, "magic or header size wrong");
    if (span_of(p, sp) != sp || span_of(p, page_addr(sp, SPAN_PAGES) - 1) != sp)
        return span_violation(sp, "the span map does not lead to this span");
    if (bits_counted(sp->used_map) != sp->used || bits_counted(sp->active_map) != sp->active)
        return span_violation(sp, "page counts disagree with the bitmaps");
    for (size_t i = 0; i < SPAN_PAGES; i++) {
        bool used = page_bit(sp->used_map, i), active = page_bit(sp->active_map, i);
        if (used != (i < sp->hdr_pages || sp->page_slab[i] != NULL) ||
            (i < sp->hdr_pages && sp->page_slab[i]) || (!sp->page_slab[i] && sp->page_tag[i]))
            return span_violation(page_addr(sp, i), "page table and page use disagree");
        if (used && !active)
            return span_violation(page_addr(sp, i), "a page in use is not committed");
        *idle += active && !used;
    }
    *inactive += (size_t)(SPAN_PAGES - sp->active) << MM_PAGE_SHIFT;
    return 0;
}

int span_pool_check(const struct span_pool *p, size_t *slab_pages, size_t *runs)
{
    size_t n = 0, empty = 0, idle = 0, inactive = 0;
    const struct slab_span *prev = NULL;
    for (const struct slab_span *sp = p->spans; sp; prev = sp, sp = sp->next, n++) {
        if (n >= p->nspans || sp->prev != prev)
            return span_violation(sp, "span list longer than its count or back link wrong");
        if (span_check(p, sp, &idle, &inactive))
            return 1;
        empty += sp->used == sp->hdr_pages;
        *slab_pages += sp->used - sp->hdr_pages;
    }
    if (n != p->nspans || empty != p->empty)
        return span_violation(p, "span or empty span count wrong");
    if ((can_decommit(p) && idle != p->idle_active) || inactive != p->inactive_bytes)
        return span_violation(p, "idle or decommitted page count wrong");
    *runs += p->nspans + p->node_count;
    return 0;
}
