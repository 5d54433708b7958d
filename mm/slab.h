/*
 * mm/slab.h - slab caches: O(1) allocation of fixed-size objects.
 *
 * A cache hands out objects of one size and alignment, carved from slabs
 * (runs of one or more pages) that it gets from a private page heap on its
 * source (mm/heap_pages.h).  There is no per-object header: the slab of an
 * object is found from the object's address alone, and a per-slab bitmap
 * tells live objects from free ones, so a double free or a pointer into the
 * middle of an object is refused.  When a slab becomes empty it is kept as
 * a reserve (SLAB_EMPTY_RESERVE per cache) or returned to the page heap,
 * which deactivates or unmaps its pages.
 *
 * Two ways to use it:
 *   - slab_cache_create(): one cache for one kind of kernel object, with an
 *     optional constructor (Bonwick's object caching: ctor runs once per
 *     object when its slab is made, and objects must be freed back in their
 *     constructed state).  A cache is also a struct heap (slab_cache_heap):
 *     heap_alloc(size <= object size, align <= its alignment);
 *   - heap_slab_create(): a set of size-class caches (HEAP_SLAB_MAX bytes at
 *     most) behind one struct heap, for small kmalloc-style allocations;
 *     its slabs are cut from 1 MiB spans and found through a span map.
 *     Requests it cannot serve (too big, alignment beyond the class) get
 *     NULL; the composite heap (mm/heap_composite.h) routes those elsewhere.
 *
 * Locking: every entry point holds the source's lock (src->lock) for its
 * duration, except while a constructor runs: ctor is called with the lock
 * released, on a slab nobody else can see yet, so it may allocate (even
 * from the same cache).  Nothing sleeps.  Safe from interrupt handlers
 * exactly when the source's lock masks them.  See docs/slab.md.
 */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"

struct slab_cache;

/* Largest request the size-class set serves. */
#define HEAP_SLAB_MAX 4096u

/* Empty slabs a cache keeps instead of returning them (slab_cache_shrink drops them too). */
#define SLAB_EMPTY_RESERVE 1u

/*
 * Create a cache of objects of `size` bytes (>= 1) aligned to `align` (0:
 * HEAP_DEFAULT_ALIGN; else a power of two; at least 4 is used), drawing from
 * src.  ctor, if not NULL, initialises each object once, when its slab is
 * made.  name is kept (not copied).  Returns NULL when the arguments are
 * impossible (size or align beyond a 64 KiB slab) or src has no memory.
 * The cache's struct lives in pages taken from src.
 */
struct slab_cache *slab_cache_create(struct heap_source *src, const char *name, size_t size,
                                     size_t align, void (*ctor)(void *obj));

/* An object, or NULL when the source is exhausted.  O(1) (amortised over slab creation). */
void *slab_cache_alloc(struct slab_cache *c);

/*
 * Give obj back.  NULL is a no-op; a pointer that is not a live object of c
 * (foreign, interior, already free) is reported through mm_report and
 * ignored.  O(1).
 */
void slab_cache_free(struct slab_cache *c, void *obj);

/* Return every empty slab, the reserve included, to the source. */
void slab_cache_shrink(struct slab_cache *c);

/*
 * Destroy a cache made by slab_cache_create: returns 0, or -1 (and a report)
 * when objects are still live, in which case nothing changes.  Mapped pages
 * are unmapped and grown ones deactivated; c must not be used afterwards.
 */
int slab_cache_destroy(struct slab_cache *c);

/* The cache as an instance of the common API (heap_alloc/heap_size/heap_free...). */
struct heap *slab_cache_heap(struct slab_cache *c);

/* Usable size of every object of c (the size it was created with). */
size_t slab_cache_object_size(const struct slab_cache *c);

/* Alignment every object of c has (>= the one asked for; may be larger). */
size_t slab_cache_object_align(const struct slab_cache *c);

/*
 * The size-class set: classes from HEAP_DEFAULT_ALIGN to HEAP_SLAB_MAX
 * bytes (8 16 24 32 48 64 80 96 112 128 192 256 384 512 768 1024 1536 2048 2560
 * 3072 4096, less
 * those that cannot be aligned to HEAP_DEFAULT_ALIGN), each object aligned
 * to the largest power of two dividing its class size.  Returns NULL when
 * src has no memory for the instance.  Whether src has a lock is read
 * here, once: a lock added to src later is not taken.  Slabs come from
 * 1 MiB spans when src can give them, else from runs of their own (see
 * docs/slab.md, "Spans").
 */
struct heap *heap_slab_create(struct heap_source *src);

/*
 * The size-class set's alloc and release (its ops->alloc and ops->release),
 * callable directly by an owner that knows h is a set (the composite), one
 * indirect call fewer on the hot path.  Same contracts: heap_slab_alloc
 * takes a request heap_alloc has normalised and returns NULL when no class
 * serves it or memory is out; heap_slab_release frees ptr and returns its
 * usable size when it is a live object of h, else returns 0 and changes and
 * reports nothing.  A freed object goes to its class's magazine first.
 */
void *heap_slab_alloc(struct heap *h, size_t size, size_t align);
size_t heap_slab_release(struct heap *h, void *ptr);

/*
 * The same with a fallback, for an owner that passes on what the set does
 * not take (the composite), so that the set's hot path is the last call
 * and the owner keeps no frame of its own around it.  The owner registers
 * its fallbacks once with heap_slab_set_rest (0; -1 when the set already
 * has another owner's, then nothing changes: use the set as a plain
 * heap); NULL fallbacks give them back.  heap_slab_alloc_or: a request no
 * class serves (too big, aligned beyond every class that fits: then the
 * set counts no failure), an aligned one its class would serve with more
 * than a quarter of its size and 256 bytes wasted (also no failure: the
 * owner places it better), or one that finds memory out returns
 * alloc_rest(arg, size, align).  heap_slab_free_or: a pointer that is not
 * a live object of h goes to free_rest(arg, ptr), nothing changed or
 * reported here.  Without an owner alloc_rest returns NULL and free_rest
 * reports, as heap_free on the set does.  Registering is not locked: do it
 * before the set is shared.
 */
typedef void *(*heap_slab_alloc_rest)(void *arg, size_t size, size_t align);
typedef void (*heap_slab_free_rest)(void *arg, void *ptr);
int heap_slab_set_rest(struct heap *h, heap_slab_alloc_rest alloc_rest,
                       heap_slab_free_rest free_rest, void *arg);
void *heap_slab_alloc_or(struct heap *h, size_t size, size_t align);
void heap_slab_free_or(struct heap *h, void *ptr);

/*
 * Return every empty slab of every class, reserves included, after giving
 * the magazines' objects back to their slabs.  h must come from heap_slab_create.
 */
void heap_slab_shrink(struct heap *h);

/*
 * Destroy a set made by heap_slab_create, live objects included (they are
 * lost): mapped pages are unmapped and grown ones deactivated.  No other
 * call on h may run concurrently, and h must not be used afterwards.
 */
void heap_slab_destroy(struct heap *h);

/* True if h is a size-class set made by heap_slab_create. */
int heap_is_slab(const struct heap *h);

#endif /* MM_SLAB_H */
