/*
 * mm/heap_composite.h - the default heap: one instance routing each request
 * to the sub-heap that serves its size best.  In the kernel it serves
 * kmalloc.
 *
 *   size <= HEAP_SLAB_MAX (4096)                 small: slab size classes (mm/slab.h)
 *   smaller than COMPOSITE_LARGE_MIN (64 KiB)    medium: the general heap (mm/heap_general.h)
 *   COMPOSITE_LARGE_MIN and up, or align > page  large: the page heap (mm/heap_pages.h)
 *
 * An aligned small request whose class would waste a quarter of it and 256
 * bytes goes to the general heap too, which fits it inside a free block.
 *
 * A sub-heap that cannot serve a request (alignment beyond a slab class,
 * source exhausted) passes it on to the next bigger one, so every power of
 * two alignment the API allows is honoured.  Small requests and every free
 * go to the slab set first, by a direct call (its magazines are the hot
 * path).  heap_size and heap_free find the owner by asking the sub-heaps,
 * cheapest to reject first (slab: one address-map lookup; page heap: one
 * mask and a hash probe; general heap last), heap_free in one pass
 * (heap_release); a pointer nobody owns - foreign, interior, freed - is
 * reported once and ignored.  See docs/slab.md.
 *
 * Locking: the composite keeps no state that needs a lock (its counters are
 * atomic); each sub-heap call takes the source's lock itself.  A block's
 * owner cannot change while it is live, so finding the owner and then
 * freeing there is safe without holding a lock across both.
 */
#ifndef MM_HEAP_COMPOSITE_H
#define MM_HEAP_COMPOSITE_H

#include <stddef.h>

#include "mm/heap.h"

/* Requests of at least this many bytes go to the page heap. */
#define COMPOSITE_LARGE_MIN ((size_t)64 * 1024)

/*
 * Create the default heap on src: a slab size-class set, a general heap and
 * a page heap, all drawing from src.  The composite's struct lives in the
 * page heap's own pages.  The general heap, which gives memory back by
 * shrinking its break, gets a private break inside src (chunks reserved
 * from src, decommitted until used; see heap_composite.c) when src can
 * activate/deactivate, and no shrink otherwise: with several instances
 * growing one brk-style source, the top of the shared break is nobody's
 * own.  Returns NULL when src cannot provide the instances (what was taken
 * stays with src).
 */
struct heap *heap_composite_create(struct heap_source *src);

/*
 * Flags of heap_composite_create_with.  HEAP_COMPOSITE_LAZY_MEDIUM: make
 * the general heap only when the first request is routed to it (a small
 * one the slab set passes on, one above HEAP_SLAB_MAX and below
 * COMPOSITE_LARGE_MIN, or one the page heap refused), so that a heap that
 * never serves such a request - a thread of a program whose blocks are
 * all small - never touches the pages of its control block (about 20 KiB
 * on x86-64).  Honoured only on a source without a lock hook, whose
 * callers serialise every call (the first routed request makes it and
 * rewrites the routing tables); with a lock the general heap is made at
 * once.  Until it is made, heap_composite_part(h, 1) is NULL.
 */
#define HEAP_COMPOSITE_LAZY_MEDIUM 0x1u

/* heap_composite_create with HEAP_COMPOSITE_* flags (0: the same). */
struct heap *heap_composite_create_with(struct heap_source *src, unsigned flags);

/*
 * A composite over instances the caller made (any of them may be a heap of
 * any kind; small and large may be NULL, medium may not).  Sizes are routed
 * as above; a sub-heap returning NULL passes the request on.  The
 * composite's struct is allocated from medium (and not counted in the
 * composite's stats).  Returns NULL when medium has no memory for it.
 */
struct heap *heap_composite_create_from(struct heap *small, struct heap *medium,
                                        struct heap *large);

/* Return what the sub-heaps keep in reserve (the slab set's empty slabs). */
void heap_composite_shrink(struct heap *h);

/*
 * Destroy a composite.  One made by heap_composite_create goes with its
 * sub-heaps, live blocks included (mapped memory is unmapped, grown memory
 * deactivated); for one made by heap_composite_create_from only the
 * composite's struct is freed and the parts stay the caller's.  No
 * concurrent calls; h must not be used afterwards.
 */
void heap_composite_destroy(struct heap *h);

/* The sub-heap serving kind 0 (small), 1 (medium) or 2 (large); NULL if none. */
struct heap *heap_composite_part(struct heap *h, int kind);

/* True if h is a composite. */
int heap_is_composite(const struct heap *h);

#endif /* MM_HEAP_COMPOSITE_H */
