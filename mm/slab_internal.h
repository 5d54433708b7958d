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
 */
struct slab {
    uint32_t magic;     /* SLAB_MAGIC while the slab belongs to a cache */
    uint32_t inuse;     /* live objects */
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

/*
 * The header of the slab holding ptr, found the way free() finds it, or
 * NULL.  h is a cache's heap or a size-class set.  For tests and debuggers.
 */
struct slab *slab_debug_slab_of(struct heap *h, const void *ptr);

#endif /* MM_SLAB_INTERNAL_H */
