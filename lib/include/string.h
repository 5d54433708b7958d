/*
 * lib/include/string.h - the freestanding string and memory functions
 * (lib/string.c).  Kernel and user builds find this header as <string.h>;
 * hosted builds use the C library's, which declares the same functions.
 */
#ifndef LIB_STRING_H
#define LIB_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
/* The first occurrence of needle in hay, or NULL; an empty needle matches at hay. */
char *strstr(const char *hay, const char *needle);
char *strncpy(char *restrict dst, const char *restrict src, size_t n);
/* Copies at most size-1 characters and always terminates (when size > 0); returns strlen(src). */
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);

#endif /* LIB_STRING_H */
