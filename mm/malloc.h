/*
 * mm/malloc.h - the C malloc family, written once over any struct heap *.
 *
 * Every function takes the instance first; the kernel wraps them as
 * kmalloc/kfree/... over its kernel heap, the user libc as malloc/free/...
 * over the process heap.  They add only what the C and POSIX contracts say
 * on top of heap_alloc/heap_size/heap_free (mm/heap.h):
 *
 *   - alignment that is not a power of two is refused (NULL / MM_EINVAL);
 *   - sizes that cannot be satisfied (SIZE_MAX and its neighbours, a calloc
 *     product or a pvalloc rounding that overflows) return NULL, never a
 *     small block;
 *   - a pointer the heap does not own, given to free/realloc, is reported by
 *     the heap (mm_report) and nothing changes.
 *
 * Size 0: malloc(0), calloc(0, n), realloc(p, 0) and the aligned variants
 * return a unique minimal block (which must be freed), never NULL unless the
 * heap is exhausted.  So NULL always means "failed" and realloc(p, 0) never
 * frees p behind the caller's back.
 *
 * Locking and interrupt safety are those of the instance (see its header).
 */
#ifndef MM_MALLOC_H
#define MM_MALLOC_H

#include <stddef.h>

#include "mm/heap.h"

/* Error numbers returned by mm_posix_memalign (the values Linux uses). */
#define MM_ENOMEM 12
#define MM_EINVAL 22

/* At least n bytes, default alignment; NULL when out of memory. */
void *mm_malloc(struct heap *h, size_t n);

/* nmemb * size zeroed bytes; NULL when the product overflows or memory is out. */
void *mm_calloc(struct heap *h, size_t nmemb, size_t size);

/*
 * Resize ptr to n bytes.  ptr NULL: like mm_malloc.  The first
 * min(old usable size, n) bytes are kept.  Grows or shrinks in place when the
 * heap can (heap_resize), otherwise allocates, copies and frees.  On failure
 * returns NULL and leaves ptr untouched and still allocated.  A ptr the heap
 * does not own is reported and NULL is returned.
 */
void *mm_realloc(struct heap *h, void *ptr, size_t n);

/* Free ptr (NULL is a no-op; a foreign or double free is reported and ignored). */
void mm_free(struct heap *h, void *ptr);

/* n bytes aligned to align (a power of two, else NULL). */
void *mm_memalign(struct heap *h, size_t align, size_t n);

/*
 * POSIX: *out = n bytes aligned to align.  Returns 0, MM_EINVAL when align is
 * not a power of two multiple of sizeof(void *), MM_ENOMEM when out of memory
 * (*out is then unchanged).
 */
int mm_posix_memalign(struct heap *h, void **out, size_t align, size_t n);

/* C11: n bytes aligned to align (a power of two, else NULL).  Any n is accepted. */
void *mm_aligned_alloc(struct heap *h, size_t align, size_t n);

/* n bytes aligned to the page size. */
void *mm_valloc(struct heap *h, size_t n);

/* n rounded up to whole pages, page aligned; NULL if the rounding overflows. */
void *mm_pvalloc(struct heap *h, size_t n);

/* Usable size of ptr (>= what was asked); 0 for NULL or a pointer h does not own. */
size_t mm_malloc_usable_size(struct heap *h, const void *ptr);

#endif /* MM_MALLOC_H */
