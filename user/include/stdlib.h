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

/* End the process (status & 0xFF is what wait reports). */
__attribute__((noreturn)) void exit(int status);
/* Print "abort" and exit with status 134. */
__attribute__((noreturn)) void abort(void);

#endif /* USER_STDLIB_H */
