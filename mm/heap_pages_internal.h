/*
 * mm/heap_pages_internal.h - the page heap's run record, for its checker's
 * self-tests and for debuggers.
 *
 * Not part of the API and not installed with libmm: code that includes it
 * depends on the page heap's layout, which may change.
 */
#ifndef MM_HEAP_PAGES_INTERNAL_H
#define MM_HEAP_PAGES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mm/heap_pages.h"

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

#endif /* MM_HEAP_PAGES_INTERNAL_H */
