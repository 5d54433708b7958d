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

/* Flags of heap_pages_create_ex(). */
#define HEAP_PAGES_NOLOCK 0x1u /* never take src->lock: the owner holds it around every call */
/*
 * Keep freed blocks committed (or mapped) for reuse, within a budget of
 * 512 KiB plus 1/32 of the live bytes (at most 32 blocks): a block freed
 * and soon allocated again at about the same size costs no call to the
 * source.  heap_pages_trim gives every kept block back.
 */
#define HEAP_PAGES_KEEP 0x2u

/*
 * Like heap_pages_create(), and also reserve `extra` bytes (aligned for any
 * object) in the instance's own pages for the caller's struct, returned in
 * *extra_out (zeroed).  Lets an owner (a slab cache, the composite heap) cost
 * no memory beyond the page heap's instance.  Returns NULL on failure.
 */
struct heap *heap_pages_create_ex(struct heap_source *src, unsigned flags, size_t extra,
                                  void **extra_out);

/*
 * Tear the instance down: every mapped block is unmapped, and every grown
 * page, the instance's own included, is deactivated when the source can.
 * Grown address space stays with the source (a brk-style source cannot take
 * back memory from the middle).  Live blocks are released too: the caller
 * must hold none.  h must not be used afterwards.
 */
void heap_pages_destroy(struct heap *h);

/* Give back every freed block the instance keeps (HEAP_PAGES_KEEP); a no-op without it. */
void heap_pages_trim(struct heap *h);

/* True if h is a page heap. */
int heap_is_pages(const struct heap *h);

/*
 * The tag of the live block that STARTS at ptr, or NULL when ptr is not the
 * start of a live block of h (or its tag is NULL).  O(1).
 */
void *heap_pages_tag(struct heap *h, const void *ptr);

/* Set the tag of the live block starting at ptr.  Returns 0, or -1 (reported) if there is none. */
int heap_pages_set_tag(struct heap *h, void *ptr, void *tag);

/*
 * Layout of a run record.  Not an API: exposed so that debuggers and the
 * checker's self-tests can name the fields.  There is no padding, so every
 * byte of a record is covered by the seal or by a structural check.
 */
struct page_run {
    uintptr_t start; /* first byte, page-aligned */
    size_t pages;    /* length in pages, >= 1 */
    union {
        void *tag; /* live block: the owner's word */
        struct {
            uint32_t prev, next; /* free run: neighbours in its size bin */
        } bin;
        uint64_t raw; /* makes the union 8 bytes everywhere; sealed as such */
    } u;
    uint32_t hnext;        /* next record in the same hash bucket */
    uint32_t aprev, anext; /* grown runs: the address-ordered run list */
    uint16_t state;        /* RUN_SPARE, RUN_FREE, RUN_LIVE, RUN_META (heap_pages.c) */
    uint16_t origin;       /* RUN_GROWN or RUN_MAPPED */
    uint32_t self;         /* own index in the record table */
    uint32_t seal;         /* checksum of start, pages, u, state, origin, self */
};
_Static_assert(sizeof(struct page_run) == 2 * sizeof(uintptr_t) + 8 + 6 * 4,
               "struct page_run must have no padding");

/*
 * The record of the block or free run starting at ptr, or NULL.  For tests
 * that corrupt one on purpose and for debuggers; takes no lock.
 */
struct page_run *heap_pages_debug_run(struct heap *h, const void *ptr);

#endif /* MM_HEAP_PAGES_H */
