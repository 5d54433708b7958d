/*
 * tests/mm_alone/string.h - the string.h "any kernel has": the four memory
 * functions mm/ may call, and nothing else.  The mm/-alone test puts this
 * directory on the include path of a copy of mm/ to prove that mm/ needs no
 * more of its host's C library than this.
 */
#ifndef MM_ALONE_STRING_H
#define MM_ALONE_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
