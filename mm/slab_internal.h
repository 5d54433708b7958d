/*
 * mm/slab_internal.h - the slab header, for the checker's self-tests and
 * for debuggers.
 *
 * Not part of the API and not installed with libmm: code that includes it
 * depends on the slab layer's layout, which may change.
 */
#ifndef MM_SLAB_INTERNAL_H
#define MM_SLAB_INTERNAL_H

#include <stdint.h>

#include "mm/slab.h"

/*
 * Layout of a slab header.  Not an API: exposed so that debuggers and the
 * checker's self-tests can name the fields.  The header sits at the start of
 * the slab, or - for caches of large objects - in an object of an internal
 * header cache.  The free-list link of a free object is the 32-bit word at
 * offset 0 of the object (just past the object when the cache has a
 * constructor, so that constructed state survives), holding the index of
 * the next free object XOR the slab's cookie.
 *
 * In the size-class set a freed object may instead sit in its class's
 * MAGAZINE (struct slab_mag_entry): its free bit is set, but it is neither
 * on the free list nor in the fresh tail, and the slab still counts it in
 * `inuse` - so inuse is "live plus cached", and a slab whose objects sit in
 * a magazine stays where it is on the lists.
 */
struct slab {
    uint32_t magic;     /* SLAB_MAGIC while the slab belongs to a cache */
    uint32_t inuse;     /* objects neither free-listed nor fresh: live, or cached in a magazine */
    uint32_t free_head; /* index of the first free-listed object, or SLAB_END */
    uint32_t fresh;     /* objects [fresh, objects-per-slab) were never handed out */
    uint32_t list;      /* which list of its cache holds it */
    uint32_t cookie;    /* scrambles the free-list links of this slab */
    struct slab_cache *cache;
    struct slab *prev, *next; /* neighbours on that list */
    unsigned char *objects;   /* object 0 */
    uint32_t free_map[];      /* bit i set: object i is free */
};
_Static_assert(sizeof(struct slab) == 6 * sizeof(uint32_t) + 4 * sizeof(void *),
               "struct slab must have no padding");

/* One freed object cached in a size class's magazine: its slab and its index there. */
struct slab_mag_entry {
    struct slab *slab;
    uint32_t index;
};

/*
 * The header of the slab holding ptr, found the way free() finds it, or
 * NULL.  h is a cache's heap or a size-class set.  For tests and debuggers.
 */
struct slab *slab_debug_slab_of(struct heap *h, const void *ptr);

/*
 * The magazine of the class of a size-class set that serves `size` bytes:
 * its entries (oldest first, the next one popped last) and in *count how
 * many are cached.  NULL when h is not a set or no class serves size.  For
 * the checker's self-tests.
 */
struct slab_mag_entry *slab_debug_magazine(struct heap *h, size_t size, uint32_t *count);

/*
 * The spans of a size-class set and their map (mm/slab_span.h), or NULL
 * when h is not a set.  For the checker's self-tests and for debuggers.
 */
struct span_pool *slab_debug_spans(struct heap *h);

/* How many slabs of a size-class set are loose (outside spans: no span could be had). */
size_t slab_debug_loose_slabs(struct heap *h);

#endif /* MM_SLAB_INTERNAL_H */
