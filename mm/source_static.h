/*
 * mm/source_static.h - a heap source over a buffer the caller provides
 * (a static array, a reserved boot region, memory on an unpaged system).
 *
 * grow hands out the buffer from the bottom up (a break inside it) and
 * shrink moves the break back down; there is no map/unmap and no
 * activate/deactivate, so every instance on it runs on grow alone.  Its
 * grow_limit is the usable part of the buffer, so instances can size their
 * metadata to it.
 *
 * No lock: set src.lock/src.unlock after source_static_init if the source
 * is shared between contexts.  All memory stays the caller's; nothing is
 * ever freed.
 */
#ifndef MM_SOURCE_STATIC_H
#define MM_SOURCE_STATIC_H

#include <stddef.h>

#include "mm/heap.h"

struct source_static {
    struct heap_source src; /* first: pass &s->src to heap constructors */
    unsigned char *base;    /* buffer start, aligned up to page_size */
    size_t size;            /* usable bytes from base (a multiple of page_size) */
    size_t brk;             /* bytes handed out by grow */
};

/*
 * Make s a source over [buffer, buffer + bytes).  page_size is the grain of
 * grow/shrink (a power of two; 0 means MM_PAGE_SIZE; a small buffer may use
 * a smaller grain such as 256).  The start is aligned up to page_size and
 * the usable size rounded down to it.  Returns &s->src, or NULL if
 * page_size is not a power of two or nothing usable is left.
 */
struct heap_source *source_static_init(struct source_static *s, void *buffer, size_t bytes,
                                       size_t page_size);

#endif /* MM_SOURCE_STATIC_H */
