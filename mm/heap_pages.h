/*
 * mm/heap_pages.h - the page-aligned heap: blocks made of whole pages.
 *
 * An instance of the common allocator API (mm/heap.h) for large blocks,
 * valloc/pvalloc and anything that wants page alignment.  Every block is a
 * whole number of pages and starts on a page boundary (or on a larger
 * requested power-of-two boundary).  Blocks come from the source's map() when
 * it has one (one mapping per block, unmapped at free) and otherwise - or for
 * alignments above a page - from page runs carved out of grown memory and
 * managed by the heap's own run map.  heap_size() and heap_free() find a
 * block's record in O(1) through a hash keyed by the block's start address;
 * interior, foreign and stale pointers are not found and are refused.
 *
 * The slab layer (mm/slab.c) uses a private instance as its page-run
 * allocator; the extended entry points below exist for that kind of owner:
 * one that shares the instance's first page for its own struct, serialises
 * calls itself (HEAP_PAGES_NOLOCK), and hangs one pointer (a tag) on each
 * block.  See docs/slab.md.
 */
#ifndef MM_HEAP_PAGES_H
#define MM_HEAP_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"

/*
 * Create a page heap drawing from src.  The instance lives in the first
 * pages it grows from src.  Returns NULL if src cannot give that memory.
 */
struct heap *heap_pages_create(struct heap_source *src);

/* Flags of struct heap_pages_config. */
#define HEAP_PAGES_NOLOCK 0x1u /* never take src->lock: the owner holds it around every call */

/* Options of heap_pages_create_with; a zeroed struct means the defaults. */
struct heap_pages_config {
    unsigned flags; /* HEAP_PAGES_* */
    size_t extra;   /* bytes to reserve in the instance's own pages for the caller (below) */
};

/*
 * Like heap_pages_create() with options (cfg NULL: defaults).  With
 * cfg->extra, also reserve that many bytes (aligned for any object) in the
 * instance's own pages for the caller's struct, returned in *extra_out
 * (zeroed; extra_out may be NULL when extra is 0).  Lets an owner (a slab
 * cache, the composite heap) cost no memory beyond the page heap's
 * instance.  Returns NULL on failure or unknown flags.
 */
struct heap *heap_pages_create_with(struct heap_source *src, const struct heap_pages_config *cfg,
                                    void **extra_out);

/*
 * Tear the instance down: every mapped block is unmapped, and every grown
 * page, the instance's own included, is deactivated when the source can.
 * Grown address space stays with the source (a brk-style source cannot take
 * back memory from the middle).  Live blocks are released too: the caller
 * must hold none.  h must not be used afterwards.
 */
void heap_pages_destroy(struct heap *h);

/*
 * The tag of the live block that STARTS at ptr, or NULL when ptr is not the
 * start of a live block of h (or its tag is NULL).  O(1).
 */
void *heap_pages_tag(struct heap *h, const void *ptr);

/* Set the tag of the live block starting at ptr.  Returns 0, or -1 (reported) if there is none. */
int heap_pages_set_tag(struct heap *h, void *ptr, void *tag);

#endif /* MM_HEAP_PAGES_H */
