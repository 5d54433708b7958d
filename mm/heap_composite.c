/*
 * mm/heap_composite.c - the default heap (see heap_composite.h).
 *
 * How it works
 *
 *   Three sub-heaps and a routing rule.  alloc picks an order of preference
 *   from (size, align) and asks each sub-heap in turn until one returns a
 *   block:
 *
 *     size >= COMPOSITE_LARGE_MIN       large, medium
 *     align >  page                     large, medium
 *     size <= HEAP_SLAB_MAX             small, medium, large
 *     otherwise                         medium, large
 *
 *   so a request one sub-heap refuses (an alignment beyond a slab class, a
 *   size the slab set does not serve, a source that will not grow for it)
 *   is served by the next.  Why these limits: slab classes waste at most
 *   1/8 and need no header, but stop at a page; below 64 KiB the general heap
 *   keeps waste to a header word; from 64 KiB on, whole pages waste at most
 *   1/16 and are given back to the source the moment they are freed
 *   (unmapped or deactivated), without fragmenting the general heap.
 *
 *   Aligned requests below 64 KiB: the slab set passes on one whose class
 *   would waste more than a quarter of it and 256 bytes (10 bytes aligned
 *   to 2048 would take the 2048-byte class), and page-aligned ones go to the
 *   general heap first, which places the block at an aligned address inside
 *   a free block and keeps the gap in front as a free block for the next
 *   request (a page heap run of its own would be a whole page for each).
 *   Only alignments above a page go to the page heap, whose gaps are
 *   decommitted pages.
 *
 *   The slab set is called directly with a fallback (heap_slab_alloc_or,
 *   heap_slab_free_or): a small malloc or free ends in the set's magazine
 *   pop or push, and the set hands on what it does not serve.
 *
 *   heap_size finds the owner: the first sub-heap whose heap_size is not 0.
 *   heap_free offers the pointer to each sub-heap in turn (heap_release:
 *   "free it if it is yours"), so the owner frees it in the same lookup that
 *   recognised it.  Every sub-heap answers exactly (0 for anything that is
 *   not a live block start of its own) without touching foreign memory, so
 *   the owner is unique.  They are asked cheapest-to-reject first: the slab
 *   set with one span-map lookup (mm/slab_span.h), the page heap, which
 *   refuses any pointer that is not page-aligned with one mask (others with
 *   one hash probe), the general heap last.  If nobody owns the pointer the
 *   composite reports it once; nothing changed anywhere.
 *
 *   The general heap runs on a private break carved out of the shared
 *   source (struct sub_brk below), because it gives memory back by
 *   shrinking its break and the shared break's top is not its own.  With
 *   HEAP_COMPOSITE_LAZY_MEDIUM it is made by the first request routed to
 *   it (composite_route); until then the routes and the probe order simply
 *   leave it out, as for a composite without a medium part.
 *
 * Invariants: parts are distinct instances (a heap given twice is asked
 * once); a live block has exactly one owner; the composite itself holds no
 * blocks (with heap_composite_create_from its struct is a block of medium,
 * which the composite refuses to hand out, size or free).
 *
 * Complexity: that of the sub-heap serving the call, plus at most two
 * rejections (O(1) each) for size/free.
 *
 * Locking: none of its own.  The counters are updated atomically; each
 * sub-heap call takes the source's lock for that call, and the private
 * break's state is only touched from the general heap's source callbacks,
 * which run with that lock held.  Interrupt safety is that of the
 * sub-heaps (i.e. of the source's lock).
 */
#include "mm/heap_composite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mm/heap.h"
#include "mm/heap_general.h"
#include "mm/heap_pages.h"
#include "mm/port.h"
#include "mm/slab.h"

#define COMPOSITE_MAGIC 0x434f4d50u /* "COMP" */
/*
 * A block that grows and must move gets half its size extra (mm_realloc):
 * make bench's realloc workload ran fastest with half among 1/4 and 1/2,
 * at no footprint cost (7.2 MiB peak RSS against 7.4 MiB with a quarter).
 */
#define COMPOSITE_REALLOC_HEADROOM 2u

/* ------------------------------------------------------------ the medium heap's break */

/*
 * The three sub-heaps grow one brk-style source.  The general heap gives
 * memory back by shrinking "the last bytes grown", which would be another
 * instance's memory as soon as the slab or page heap grew after it; and with
 * its grows interleaved with theirs it ends up with many small arenas it
 * can neither extend nor shrink.
 *
 * So the medium heap gets a private break inside the shared one: the view
 * below reserves CHUNKS from the source (deactivated until used) and runs a
 * brk in them - grow hands out the next bytes of the current chunk (or the
 * next chunk), shrink takes the last bytes back and deactivates them.  The
 * chunks form a stack: those after `current` are empty, so "the last bytes
 * grown" are always at the top of the current chunk (and below it, in the
 * chunk before, once the current one is empty).  Chunk sizes double, so a
 * fixed table covers any heap.  Without activate/deactivate a reservation
 * would cost real memory, so then the view simply forwards grow and offers
 * no shrink.  All callbacks run under the source's lock (the general heap
 * calls them with it held), which also guards this state.
 */
#define BRK_CHUNK_MIN ((size_t)256 * 1024)
#define BRK_CHUNKS 24u

struct brk_chunk {
    uintptr_t base;
    size_t size, used; /* used: the private break, relative to base */
};

struct sub_brk {
    struct heap_source view; /* first: what the medium heap is given */
    struct heap_source *parent;
    unsigned nchunks, current;
    struct brk_chunk chunk[BRK_CHUNKS];
};

static struct sub_brk *to_brk(struct heap_source *v)
{
    return (struct sub_brk *)v;
}

static struct heap_source *brk_parent(struct heap_source *v)
{
    return to_brk(v)->parent;
}

/* A new chunk of at least `bytes` on top of the stack, or NULL; its pages start inactive. */
static struct brk_chunk *brk_chunk_new(struct sub_brk *b, size_t bytes)
{
    struct heap_source *p = b->parent;
    if (b->nchunks == BRK_CHUNKS)
        return NULL;
    size_t want = BRK_CHUNK_MIN << (b->nchunks < 12 ? b->nchunks : 12);
    if (want < bytes)
        want = bytes;
    void *mem = p->grow(p, want);
    if (!mem && want > bytes) { /* the source may have room for the request, not the chunk */
        want = bytes;
        mem = p->grow(p, want);
    }
    if (!mem)
        return NULL;
    p->deactivate(p, mem, want);
    struct brk_chunk *c = &b->chunk[b->nchunks++];
    *c = (struct brk_chunk){(uintptr_t)mem, want, 0};
    return c;
}

static void *brk_grow(struct heap_source *v, size_t bytes)
{
    struct sub_brk *b = to_brk(v);
    struct brk_chunk *c = NULL;
    for (unsigned k = b->current; k < b->nchunks && !c; k++)
        if (b->chunk[k].size - b->chunk[k].used >= bytes)
            c = &b->chunk[k];
    if (!c && !(c = brk_chunk_new(b, bytes)))
        return NULL;
    void *p = (void *)(c->base + c->used);
    if (b->parent->activate(b->parent, p, bytes) != 0)
        return NULL;
    c->used += bytes;
    b->current = (unsigned)(c - b->chunk);
    return p;
}

static int brk_shrink(struct heap_source *v, size_t bytes)
{
    struct sub_brk *b = to_brk(v);
    size_t have = 0;
    for (unsigned k = 0; k <= b->current && b->nchunks; k++)
        have += b->chunk[k].used;
    if (bytes > have)
        return -1;
    while (bytes) {
        struct brk_chunk *c = &b->chunk[b->current];
        size_t cut = bytes < c->used ? bytes : c->used;
        c->used -= cut;
        bytes -= cut;
        if (cut)
            b->parent->deactivate(b->parent, (void *)(c->base + c->used), cut);
        if (c->used == 0 && b->current > 0)
            b->current--;
    }
    return 0;
}

static void *view_map(struct heap_source *v, size_t n)
{
    return brk_parent(v)->map(brk_parent(v), n);
}

static void view_unmap(struct heap_source *v, void *p, size_t n)
{
    brk_parent(v)->unmap(brk_parent(v), p, n);
}

static int view_activate(struct heap_source *v, void *p, size_t n)
{
    return brk_parent(v)->activate(brk_parent(v), p, n);
}

static void view_deactivate(struct heap_source *v, void *p, size_t n)
{
    brk_parent(v)->deactivate(brk_parent(v), p, n);
}

static void view_lock(struct heap_source *v)
{
    brk_parent(v)->lock(brk_parent(v));
}

static void view_unlock(struct heap_source *v)
{
    brk_parent(v)->unlock(brk_parent(v));
}

static void *view_grow(struct heap_source *v, size_t n)
{
    return brk_parent(v)->grow(brk_parent(v), n);
}

/* Make b's view of src: a private break when src can decommit, else grow passed through. */
static void sub_brk_init(struct sub_brk *b, struct heap_source *src)
{
    struct heap_source *v = &b->view;
    memset(b, 0, sizeof *b);
    b->parent = src;
    bool chunked = src->activate && src->deactivate;
    v->grow = chunked ? brk_grow : view_grow;
    v->shrink = chunked ? brk_shrink : NULL;
    v->map = src->map ? view_map : NULL;
    v->unmap = src->unmap ? view_unmap : NULL;
    v->activate = src->activate ? view_activate : NULL;
    v->deactivate = src->deactivate ? view_deactivate : NULL;
    v->lock = src->lock ? view_lock : NULL;
    v->unlock = src->unlock ? view_unlock : NULL;
    v->page_size = src->page_size;
    v->grow_limit = src->grow_limit;
    v->zeroed = src->zeroed; /* a chunk's pages start deactivated: activate gives zeros */
}

enum { PART_SMALL, PART_MEDIUM, PART_LARGE, PARTS };
/* The request kinds routing distinguishes; each has its order of parts (filled in at creation). */
enum { ROUTE_ALIGNED, ROUTE_SMALL, ROUTE_MEDIUM, ROUTE_LARGE, ROUTES };

struct heap_composite {
    struct heap heap; /* first: the common API */
    uint32_t magic;
    bool owns_parts;           /* made by heap_composite_create: destroyed with it */
    struct heap *part[PARTS];  /* by kind; small and large may be NULL */
    struct heap *probe[PARTS]; /* distinct parts, in the order ownership is asked */
    unsigned nprobe;
    struct heap *route[ROUTES][PARTS]; /* by request kind (ROUTE_*): the parts to try, best first */
    unsigned nroute[ROUTES];
    size_t page;
    struct heap *small_set; /* part[PART_SMALL] when it is a slab set: called directly */
    struct heap_counters
        count; /* failed_calls and reported_errors, atomic: the sub-heaps count the rest */
    bool medium_later; /* HEAP_COMPOSITE_LAZY_MEDIUM: the medium heap is not made yet */
    struct sub_brk medium_src; /* the medium heap's private break (create only) */
};
_Static_assert(offsetof(struct heap_composite, heap) == 0, "a struct heap * must point at it");
_Static_assert(offsetof(struct sub_brk, view) == 0, "the view is the sub_brk");

static const struct heap_ops composite_ops, composite_set_ops;

static struct heap_composite *to_composite(struct heap *h)
{
    return (struct heap_composite *)h;
}

static void count(size_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ routing */

static unsigned route_kind(const struct heap_composite *c, size_t size, size_t align)
{
    return size >= COMPOSITE_LARGE_MIN ? ROUTE_LARGE
           : align > c->page           ? ROUTE_ALIGNED
           : size <= HEAP_SLAB_MAX     ? ROUTE_SMALL
                                       : ROUTE_MEDIUM;
}

/* Fill c->route: for each kind, the distinct sub-heaps to try, best first. */
static void route_init(struct heap_composite *c)
{
    static const int8_t pref[ROUTES][PARTS] = {
        [ROUTE_ALIGNED] = {PART_LARGE, PART_MEDIUM, -1},
        [ROUTE_SMALL] = {PART_SMALL, PART_MEDIUM, PART_LARGE},
        [ROUTE_MEDIUM] = {PART_MEDIUM, PART_LARGE, -1},
        [ROUTE_LARGE] = {PART_LARGE, PART_MEDIUM, -1},
    };
    for (unsigned k = 0; k < ROUTES; k++) {
        unsigned n = 0;
        for (unsigned i = 0; i < PARTS && pref[k][i] >= 0; i++) {
            struct heap *h = c->part[pref[k][i]];
            if (h && (n == 0 || c->route[k][n - 1] != h))
                c->route[k][n++] = h;
        }
        c->nroute[k] = n;
    }
}

/* The sub-heap owning the live block at ptr (its usable size in *usable), or NULL. */
static struct heap *owner_of(struct heap_composite *c, const void *ptr, size_t *usable)
{
    if (ptr == c) /* create_from: the composite's own struct, a block of medium */
        return NULL;
    for (unsigned i = 0; i < c->nprobe; i++) {
        size_t n = heap_size(c->probe[i], ptr);
        if (n) {
            *usable = n;
            return c->probe[i];
        }
    }
    return NULL;
}

static void composite_report(struct heap_composite *c, const char *op, const void *ptr)
{
    count(&c->count.reported_errors);
    mm_report("composite: %s(%p): not a live block of any sub-heap (foreign, interior or freed)",
              op, ptr);
}

/* ------------------------------------------------------------ operations */

static int composite_make_medium(struct heap_composite *c);

/* Ask the parts of route kind k, from the first-th on, until one serves; NULL if none does. */
static void *route_try(struct heap_composite *c, unsigned k, unsigned first, size_t size,
                       size_t align)
{
    /* heap_alloc already checked and normalised the request: the parts get it as it is */
    for (unsigned i = first; i < c->nroute[k]; i++) {
        void *p = c->route[k][i]->ops->alloc(c->route[k][i], size, align);
        if (p)
            return p;
    }
    return NULL;
}

/*
 * Ask the parts of route kind k, from the first-th on, until one serves.
 * A medium heap not made yet (HEAP_COMPOSITE_LAZY_MEDIUM) is made first
 * for the kinds it comes before the page heap in (small requests the set
 * passed on, medium ones), and for the others only once the page heap has
 * refused.  Kept out of line so that the hot path below saves no
 * registers for it.
 */
__attribute__((noinline)) static void *composite_route(struct heap_composite *c, unsigned k,
                                                       unsigned first, size_t size, size_t align)
{
    if (c->medium_later && (k == ROUTE_SMALL || k == ROUTE_MEDIUM))
        composite_make_medium(c);
    void *p = route_try(c, k, first, size, align);
    if (!p && c->medium_later && composite_make_medium(c) == 0)
        p = route_try(c, k, first, size, align);
    if (!p)
        count(&c->count.failed_calls);
    return p;
}

/* Every request that is not for the slab set: its route, from the first part. */
__attribute__((noinline)) static void *composite_alloc_routed(struct heap_composite *c, size_t size,
                                                              size_t align)
{
    return composite_route(c, route_kind(c, size, align), 0, size, align);
}

/*
 * What the slab set passes on (heap_slab_alloc_or): a small request it
 * could not serve goes on along the small route (the set is its first part,
 * composite_init), any other request along its own route from the start.
 */
static void *composite_alloc_rest(void *arg, size_t size, size_t align)
{
    struct heap_composite *c = arg;
    unsigned k = route_kind(c, size, align);
    return composite_route(c, k, k == ROUTE_SMALL ? 1 : 0, size, align);
}

static void *composite_alloc(struct heap *h, size_t size, size_t align)
{
    return composite_alloc_routed(to_composite(h), size, align);
}

/*
 * With a slab set called directly (small_set, composite_set_ops) every
 * request goes to the set first, a tail call with nothing tested here: a
 * small object from a magazine returns from there, nothing kept here; the
 * set hands on whatever it does not serve (composite_alloc_rest).
 */
static void *composite_alloc_via_set(struct heap *h, size_t size, size_t align)
{
    return heap_slab_alloc_or(to_composite(h)->small_set, size, align);
}

static size_t composite_size(struct heap *h, const void *ptr)
{
    size_t usable = 0;
    owner_of(to_composite(h), ptr, &usable);
    return usable;
}

/* Offer ptr to each sub-heap after the slab set, when that is called directly (small_set). */
static size_t release_past_set(struct heap_composite *c, void *ptr)
{
    for (unsigned i = c->small_set ? 1 : 0; i < c->nprobe; i++) {
        struct heap *p = c->probe[i];
        size_t n = p->ops->release ? p->ops->release(p, ptr) : heap_release(p, ptr);
        if (n)
            return n;
    }
    return 0;
}

/* Offer ptr to each sub-heap: the owner frees it in the same lookup that recognises it. */
static inline size_t release_once(struct heap_composite *c, void *ptr)
{
    if (ptr == c) /* create_from: the composite's own struct, a block of medium */
        return 0;
    /* the slab set is asked first (probe[0]); directly when it is one */
    size_t n = c->small_set ? heap_slab_release(c->small_set, ptr) : 0;
    return n ? n : release_past_set(c, ptr);
}

/*
 * Every free the slab set does not take (its heap_slab_free_or fallback):
 * the other parts, else a report.
 */
__attribute__((noinline)) static void composite_free_rest(void *arg, void *ptr)
{
    struct heap_composite *c = arg;
    if (ptr == c || !release_past_set(c, ptr)) /* c: see release_once */
        composite_report(c, "free", ptr);
}

static void composite_free(struct heap *h, void *ptr)
{
    composite_free_rest(h, ptr);
}

/*
 * With a slab set called directly, it is asked first, a tail call: it frees
 * a small object of its own and returns from there, and hands on every
 * other pointer (composite_free_rest; our own struct under create_from
 * included: never the set's).
 */
static void composite_free_via_set(struct heap *h, void *ptr)
{
    heap_slab_free_or(to_composite(h)->small_set, ptr);
}

static size_t composite_release(struct heap *h, void *ptr)
{
    return release_once(to_composite(h), ptr);
}

/* In place only, and only within the owner (a block never changes sub-heap). */
static int composite_resize(struct heap *h, void *ptr, size_t size)
{
    struct heap_composite *c = to_composite(h);
    size_t usable;
    struct heap *owner = owner_of(c, ptr, &usable);
    if (!owner) {
        composite_report(c, "resize", ptr);
        return -1;
    }
    if (size <= usable)
        return 0;
    return owner->ops->resize ? owner->ops->resize(owner, ptr, size) : -1;
}

static int composite_check(struct heap *h)
{
    struct heap_composite *c = to_composite(h);
    if (c->magic != COMPOSITE_MAGIC) {
        mm_report("composite check: %p: bad magic", (void *)c);
        return 1;
    }
    int bad = 0;
    for (unsigned i = 0; i < c->nprobe; i++)
        bad += heap_check(c->probe[i]);
    return bad;
}

/*
 * Sums over the sub-heaps.  failed_calls is the composite's own: a sub-heap
 * refusing a request another one then serves is routing, not failure.
 */
static void composite_stats(struct heap *h, struct heap_stats *st)
{
    struct heap_composite *c = to_composite(h);
    for (unsigned i = 0; i < c->nprobe; i++) {
        struct heap_stats sub;
        heap_stats(c->probe[i], &sub);
        heap_stats_add(st, &sub);
    }
    if (!c->owns_parts) { /* our own struct is a block of medium: not the user's */
        st->bytes_in_use -= heap_size(c->part[PART_MEDIUM], c);
        st->live_blocks--;
        st->alloc_calls--;
    }
    st->failed_calls = __atomic_load_n(&c->count.failed_calls, __ATOMIC_RELAXED);
    st->reported_errors += __atomic_load_n(&c->count.reported_errors, __ATOMIC_RELAXED);
}

/* What both tables share: they differ only in how alloc and free reach the slab set. */
#define COMPOSITE_OPS_SHARED                                                                       \
    .name = "composite", .size = composite_size, .check = composite_check,                         \
    .stats = composite_stats, .resize = composite_resize, .release = composite_release,            \
    .realloc_headroom = COMPOSITE_REALLOC_HEADROOM

static const struct heap_ops composite_ops = {
    COMPOSITE_OPS_SHARED,
    .alloc = composite_alloc,
    .free = composite_free,
};

/* A composite whose slab set is called directly (small_set): nothing to test on the way there. */
static const struct heap_ops composite_set_ops = {
    COMPOSITE_OPS_SHARED,
    .alloc = composite_alloc_via_set,
    .free = composite_free_via_set,
};

/* ------------------------------------------------------------ create / destroy */

/*
 * The slab set to call directly with our fallbacks (small_set), or NULL:
 * small must be a set, asked first for ownership and for small requests,
 * and not already called this way by another composite (then it is asked
 * as a plain heap).
 */
static struct heap *direct_set(struct heap_composite *c, struct heap *small)
{
    if (!heap_is_slab(small) || c->probe[0] != small || c->route[ROUTE_SMALL][0] != small)
        return NULL;
    return heap_slab_set_rest(small, composite_alloc_rest, composite_free_rest, c) == 0 ? small
                                                                                        : NULL;
}

/*
 * Fill in c.  The probe order is small, large, medium, each heap once: the
 * slab set answers from its address map and the page heap refuses anything
 * not page-aligned with a mask, so only pointers of neither reach the general
 * heap's (dearer) lookup.
 */
static void composite_init(struct heap_composite *c, struct heap *small, struct heap *medium,
                           struct heap *large, size_t page, bool owns_parts)
{
    static const int probe_order[PARTS] = {PART_SMALL, PART_LARGE, PART_MEDIUM};
    c->heap.ops = &composite_ops;
    c->magic = COMPOSITE_MAGIC;
    c->owns_parts = owns_parts;
    c->part[PART_SMALL] = small;
    c->part[PART_MEDIUM] = medium;
    c->part[PART_LARGE] = large;
    c->page = page;
    c->nprobe = 0;
    for (unsigned i = 0; i < PARTS; i++) {
        struct heap *p = c->part[probe_order[i]];
        bool seen = false;
        for (unsigned k = 0; k < c->nprobe; k++)
            seen |= c->probe[k] == p;
        if (p && !seen)
            c->probe[c->nprobe++] = p;
    }
    route_init(c);
    c->small_set = direct_set(c, small);
    c->heap.ops = c->small_set ? &composite_set_ops : &composite_ops;
}

/*
 * Make the medium heap of a composite created with
 * HEAP_COMPOSITE_LAZY_MEDIUM, on its private break, and route to it from
 * now on.  0, or -1 (no memory: still not made, asked again next time).
 * Callers are serialised (the flag is only taken on a source without a
 * lock), so nobody routes while the tables change.
 */
static int composite_make_medium(struct heap_composite *c)
{
    struct heap *medium = heap_general_create(&c->medium_src.view);
    if (!medium)
        return -1;
    c->medium_later = false;
    composite_init(c, c->part[PART_SMALL], medium, c->part[PART_LARGE], c->page, true);
    return 0;
}

struct heap *heap_composite_create(struct heap_source *src)
{
    return heap_composite_create_with(src, 0);
}

struct heap *heap_composite_create_with(struct heap_source *src, unsigned flags)
{
    void *mem;
    if (!src || !src->grow)
        return NULL;
    struct heap *large =
        heap_pages_create_with(src,
                               &(struct heap_pages_config){.flags = HEAP_PAGES_KEEP,
                                                           .extra = sizeof(struct heap_composite)},
                               &mem);
    if (!large)
        return NULL;
    struct heap_composite *c = mem;
    sub_brk_init(&c->medium_src, src);
    struct heap *small = heap_slab_create(src);
    /* later only where every call is serialised by the caller: no lock hook to race under */
    bool later = (flags & HEAP_COMPOSITE_LAZY_MEDIUM) && !src->lock;
    struct heap *medium = small && !later ? heap_general_create(&c->medium_src.view) : NULL;
    if (!small || (!medium && !later))
        goto fail;
    composite_init(c, small, medium, large, src->page_size ? src->page_size : MM_PAGE_SIZE, true);
    c->medium_later = later;
    return &c->heap;
fail:
    if (small)
        heap_slab_destroy(small);
    heap_pages_destroy(large);
    return NULL;
}

struct heap *heap_composite_create_from(struct heap *small, struct heap *medium, struct heap *large)
{
    if (!medium)
        return NULL;
    struct heap_composite *c = heap_alloc(medium, sizeof *c, 0);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    composite_init(c, small, medium, large, MM_PAGE_SIZE, false);
    return &c->heap;
}

void heap_composite_shrink(struct heap *h)
{
    struct heap_composite *c = to_composite(h);
    for (unsigned i = 0; i < c->nprobe; i++) {
        if (heap_is_slab(c->probe[i]))
            heap_slab_shrink(c->probe[i]);
        else if (heap_is_pages(c->probe[i]))
            heap_pages_trim(c->probe[i]);
        else if (heap_is_composite(c->probe[i]))
            heap_composite_shrink(c->probe[i]);
    }
}

void heap_composite_destroy(struct heap *h)
{
    struct heap_composite *c = to_composite(h);
    if (!c->owns_parts) {
        struct heap *medium = c->part[PART_MEDIUM];
        if (c->small_set) /* the caller's set: free for another owner */
            heap_slab_set_rest(c->small_set, NULL, NULL, NULL);
        c->magic = 0;
        heap_free(medium, c);
        return;
    }
    struct heap *large = c->part[PART_LARGE];
    c->magic = 0;
    heap_slab_destroy(c->part[PART_SMALL]);
    if (c->part[PART_MEDIUM]) /* not made yet (HEAP_COMPOSITE_LAZY_MEDIUM): nothing to destroy */
        heap_general_destroy(c->part[PART_MEDIUM]);
    heap_pages_destroy(large); /* c lives in large's pages: last */
}

struct heap *heap_composite_part(struct heap *h, int kind)
{
    return kind >= 0 && kind < PARTS ? to_composite(h)->part[kind] : NULL;
}

int heap_is_composite(const struct heap *h)
{
    return h && (h->ops == &composite_ops || h->ops == &composite_set_ops);
}
