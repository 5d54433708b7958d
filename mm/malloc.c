/*
 * mm/malloc.c - the malloc family over any struct heap * (see malloc.h).
 *
 * How it works: each function is a few lines over heap_alloc / heap_size /
 * heap_resize / heap_free (mm/heap.c), which already refuse impossible
 * sizes and non-power-of-two alignments.  What is added here is what only
 * the C/POSIX contracts need: calloc's overflow check and zeroing, realloc's
 * in-place-then-move logic (a growing block that moves gets headroom, see
 * realloc_target), posix_memalign's error numbers and the page
 * rounding of valloc/pvalloc.
 *
 * No state and no lock of its own: the instance serialises itself (through
 * its source's lock hook), so these may be called wherever the instance may.
 * Cost is the instance's plus, for calloc and a moving realloc, O(n) bytes
 * of memset/memcpy.
 */
#include "mm/malloc.h"

#include <string.h>

#include "mm/port.h"

void *mm_malloc(struct heap *h, size_t n)
{
    return heap_alloc_default(h, n);
}

void *mm_calloc(struct heap *h, size_t nmemb, size_t size)
{
    /* The product must not wrap: a wrapped product would hand out a small block. */
    if (size != 0 && nmemb > SIZE_MAX / size)
        return NULL;
    size_t n = nmemb * size;
    void *p = heap_alloc(h, n, 0);
    if (p)
        memset(p, 0, n);
    return p;
}

/*
 * Where a block that has to move goes.  A block that grows and cannot grow
 * in place gets 1/d more than asked when its heap's policy says d
 * (ops->realloc_headroom) and that much can be had, so a buffer grown by
 * small appends moves O(log n) times instead of once per append - O(n)
 * bytes copied in all rather than O(n^2).  The headroom is the block's own
 * usable size (heap_size says so).
 */
static void *realloc_target(struct heap *h, size_t old, size_t n)
{
    unsigned d = h->ops->realloc_headroom;
    size_t roomy = d ? n + n / d : n;
    void *q = n > old && roomy > n ? heap_alloc(h, roomy, 0) : NULL;
    return q ? q : heap_alloc(h, n, 0);
}

void *mm_realloc(struct heap *h, void *ptr, size_t n)
{
    if (!ptr)
        return mm_malloc(h, n);
    size_t old = heap_size(h, ptr);
    if (old == 0) {
        /* Not ours (or already freed): touching it could only corrupt someone else. */
        mm_report("mm_realloc: %p is not a live block of %s", ptr, heap_name(h));
        return NULL;
    }
    if (heap_resize(h, ptr, n) == 0)
        return ptr; /* grown or shrunk where it is */
    void *q = realloc_target(h, old, n);
    if (!q)
        return NULL; /* ptr untouched, still allocated */
    memcpy(q, ptr, old < n ? old : n);
    heap_free(h, ptr);
    return q;
}

void mm_free(struct heap *h, void *ptr)
{
    heap_free(h, ptr);
}

void *mm_memalign(struct heap *h, size_t align, size_t n)
{
    if (align == 0)
        return NULL; /* 0 is not an alignment here (heap_alloc would read it as "default") */
    return heap_alloc(h, n, align);
}

int mm_posix_memalign(struct heap *h, void **out, size_t align, size_t n)
{
    if (align == 0 || !heap_align_valid(align) || align % sizeof(void *) != 0)
        return MM_EINVAL;
    void *p = heap_alloc(h, n, align);
    if (!p)
        return MM_ENOMEM;
    *out = p;
    return 0;
}

void *mm_aligned_alloc(struct heap *h, size_t align, size_t n)
{
    return mm_memalign(h, align, n);
}

void *mm_valloc(struct heap *h, size_t n)
{
    return heap_alloc(h, n, MM_PAGE_SIZE);
}

void *mm_pvalloc(struct heap *h, size_t n)
{
    if (n > SIZE_MAX - (MM_PAGE_SIZE - 1))
        return NULL; /* rounding up would wrap to a tiny size */
    size_t rounded = (n + MM_PAGE_SIZE - 1) & ~(size_t)(MM_PAGE_SIZE - 1);
    return heap_alloc(h, rounded ? rounded : MM_PAGE_SIZE, MM_PAGE_SIZE);
}

size_t mm_malloc_usable_size(struct heap *h, const void *ptr)
{
    return heap_size(h, ptr);
}
