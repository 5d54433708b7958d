/*
 * user/include/stdlib.h - the malloc family and process exit for ring 3.
 *
 * The allocator is mm/'s, the same code as the kernel heap: the malloc
 * family of mm/malloc.h over the process heap of user/include/uheap.h (a
 * composite heap on a source backed by system calls).  Contracts are
 * mm/malloc.h's: size 0 gives a unique minimal block, overflowing sizes give
 * NULL, a foreign or double free is reported on the console and ignored.
 */
#ifndef USER_STDLIB_H
#define USER_STDLIB_H

#include <stddef.h>

void *malloc(size_t n);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t n);
void free(void *ptr);
void *memalign(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);
size_t malloc_usable_size(const void *ptr);

/* malloc_use_debug flags (the same values as mm/heap_debug.h's) */
#define MALLOC_DEBUG_LEFT 0x1u /* blocks against the left page edge: underruns fault */

/*
 * Serve this program's malloc family from the debug guard allocator: each
 * block between two pages that fault (overruns fault at the first byte
 * past the end; with MALLOC_DEBUG_LEFT, underruns at the first byte before),
 * slack signatures checked at free, freed blocks inaccessible and not
 * reused soon, double and invalid frees reported.  Slow and greedy for
 * address space; for finding bugs.  Must be called before the first
 * allocation: returns 0, or -1 (too late, or no memory) and nothing changed.
 */
int malloc_use_debug(unsigned flags);

/* End the process (status & 0xFF is what wait reports). */
__attribute__((noreturn)) void exit(int status);
/* Print "abort" and exit with status 134. */
__attribute__((noreturn)) void abort(void);

#endif /* USER_STDLIB_H */
