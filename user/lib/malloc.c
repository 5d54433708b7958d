/*
 * user/lib/malloc.c - the C malloc family of ring-3 programs: mm/malloc.h
 * over the process heap.
 *
 * The process heap is a composite heap (mm/heap_composite.h), the kernel's
 * kmalloc design, on the system-call source of source_sys.c.  It is made on
 * the first call, so a program that never allocates never touches the
 * heap's pages; if it cannot be made (no memory yet), that call fails like
 * an exhausted heap and the next one tries again.
 *
 * malloc_use_debug, called before the first allocation, makes the process
 * heap the debug guard allocator (mm/heap_debug.h) on the same source
 * instead: every block on pages of its own between pages that fault, freed
 * blocks decommitted and not reused soon - an overrun or a use after free
 * kills the program at the faulting instruction.
 */
#include "mm/heap_composite.h"
#include "mm/heap_debug.h"
#include "mm/malloc.h"
#include "stdlib.h"
#include "uheap.h"

/* Address space the debug heap cycles through (costs no frames until used). */
#define DEBUG_WINDOW (8u * 1024 * 1024)

static struct heap *process_heap;

int malloc_use_debug(unsigned flags)
{
    if (process_heap)
        return -1; /* blocks of the ordinary heap exist, or it is already chosen */
    process_heap = heap_debug_create_with(
        uheap_source(), &(struct heap_debug_config){.window_bytes = DEBUG_WINDOW, .flags = flags});
    return process_heap ? 0 : -1;
}

struct heap *uheap(void)
{
    if (!process_heap)
        process_heap = heap_composite_create(uheap_source());
    return process_heap;
}

void *malloc(size_t n)
{
    struct heap *h = uheap();
    return h ? mm_malloc(h, n) : NULL;
}

void *calloc(size_t nmemb, size_t size)
{
    struct heap *h = uheap();
    return h ? mm_calloc(h, nmemb, size) : NULL;
}

void *realloc(void *ptr, size_t n)
{
    struct heap *h = uheap();
    return h ? mm_realloc(h, ptr, n) : NULL;
}

void free(void *ptr)
{
    if (ptr) /* a block exists, so the heap does */
        mm_free(uheap(), ptr);
}

void *memalign(size_t align, size_t n)
{
    struct heap *h = uheap();
    return h ? mm_memalign(h, align, n) : NULL;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    struct heap *h = uheap();
    return h ? mm_posix_memalign(h, out, align, n) : MM_ENOMEM;
}

void *aligned_alloc(size_t align, size_t n)
{
    struct heap *h = uheap();
    return h ? mm_aligned_alloc(h, align, n) : NULL;
}

void *valloc(size_t n)
{
    struct heap *h = uheap();
    return h ? mm_valloc(h, n) : NULL;
}

void *pvalloc(size_t n)
{
    struct heap *h = uheap();
    return h ? mm_pvalloc(h, n) : NULL;
}

size_t malloc_usable_size(const void *ptr)
{
    return ptr && process_heap ? mm_malloc_usable_size(process_heap, ptr) : 0;
}
