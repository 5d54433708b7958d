/*
 * mm/source_static.c - a grow-only heap source over a caller's buffer
 * (see source_static.h).
 *
 * How it works: the buffer [base, base + size) is split by a break `brk`:
 * below it is what instances have grown, above it what is left.  grow moves
 * the break up, shrink moves it down; both are O(1).
 *
 * Invariants: brk <= size; base, size and brk are multiples of page_size.
 * Lock: none of its own (see the header).
 */
#include "mm/source_static.h"

#include "mm/port.h"

static struct source_static *to_static(struct heap_source *src)
{
    return (struct source_static *)src;
}

static void *static_grow(struct heap_source *src, size_t bytes)
{
    struct source_static *s = to_static(src);
    size_t page = heap_source_page_size(src);
    if (bytes == 0 || bytes % page) {
        mm_report("source_static grow: %zu is not a positive multiple of %zu", bytes, page);
        return NULL;
    }
    if (bytes > s->size - s->brk)
        return NULL; /* the buffer is used up: an ordinary out-of-memory */
    void *p = s->base + s->brk;
    s->brk += bytes;
    return p;
}

static int static_shrink(struct heap_source *src, size_t bytes)
{
    struct source_static *s = to_static(src);
    size_t page = heap_source_page_size(src);
    if (bytes == 0 || bytes % page || bytes > s->brk) {
        mm_report("source_static shrink: bad size %zu (grown %zu)", bytes, s->brk);
        return -1;
    }
    s->brk -= bytes;
    return 0;
}

struct heap_source *source_static_init(struct source_static *s, void *buffer, size_t bytes,
                                       size_t page_size)
{
    size_t page = page_size ? page_size : MM_PAGE_SIZE;
    if ((page & (page - 1)) != 0)
        return NULL;
    uintptr_t start = (uintptr_t)buffer, aligned = (start + page - 1) & ~(uintptr_t)(page - 1);
    if (aligned < start || bytes < aligned - start + page)
        return NULL; /* not even one page after alignment */
    *s = (struct source_static){0};
    s->base = (unsigned char *)aligned;
    s->size = (bytes - (aligned - start)) & ~(page - 1);
    s->src.grow = static_grow;
    s->src.shrink = static_shrink;
    s->src.page_size = page;
    s->src.ctx = s;
    s->src.grow_limit = s->size;
    return &s->src;
}
