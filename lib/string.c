/*
 * lib/string.c - mem* and str* for freestanding builds (kernel, ring 3).
 *
 * Plain byte loops plus a word-at-a-time fast path for memcpy/memset,
 * which the kernel uses for page zeroing and copying.  Hosted builds use the
 * C library instead; tests/host/test_string.c compiles this file under other
 * names and compares the two.
 */
#include <stdint.h>
#include <string.h>

#ifdef LIB_STRING_PREFIX /* hosted test build: rename everything */
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define NAME(f) CAT(LIB_STRING_PREFIX, f)
#else
#define NAME(f) f
#endif

void *NAME(memcpy)(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & (sizeof(uintptr_t) - 1)) == 0) {
        for (; n >= sizeof(uintptr_t); n -= sizeof(uintptr_t)) {
            *(uintptr_t *)(void *)d = *(const uintptr_t *)(const void *)s;
            d += sizeof(uintptr_t);
            s += sizeof(uintptr_t);
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *NAME(memmove)(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

void *NAME(memset)(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    if (((uintptr_t)d & (sizeof(uintptr_t) - 1)) == 0) {
        uintptr_t word = (unsigned char)c;
        word |= word << 8;
        word |= word << 16;
        if (sizeof(uintptr_t) > 4)
            word |= (word << 16) << 16;
        for (; n >= sizeof(uintptr_t); n -= sizeof(uintptr_t)) {
            *(uintptr_t *)(void *)d = word;
            d += sizeof(uintptr_t);
        }
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int NAME(memcmp)(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

void *NAME(memchr)(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

size_t NAME(strlen)(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t NAME(strnlen)(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int NAME(strcmp)(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int NAME(strncmp)(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *NAME(strchr)(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *NAME(strrchr)(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

char *NAME(strstr)(const char *hay, const char *needle)
{
    size_t n = NAME(strlen)(needle);
    for (; *hay; hay++)
        if (NAME(strncmp)(hay, needle, n) == 0)
            return (char *)hay;
    return n == 0 ? (char *)hay : NULL;
}

char *NAME(strncpy)(char *restrict dst, const char *restrict src, size_t n)
{
    size_t i = 0;
    for (; i < n && src[i]; i++)
        dst[i] = src[i];
    for (; i < n; i++)
        dst[i] = 0;
    return dst;
}

size_t NAME(strlcpy)(char *restrict dst, const char *restrict src, size_t size)
{
    size_t len = 0;
    while (src[len])
        len++;
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
        dst[n] = 0;
    }
    return len;
}
