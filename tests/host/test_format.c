/*
 * tests/host/test_format.c - lib/format.c against the C library's snprintf.
 */
#include "harness.h"
#include "lib/format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SAME(...)                                                                                  \
    do {                                                                                           \
        char mine[256], libc[256];                                                                 \
        int a = fmt_snprintf(mine, sizeof mine, __VA_ARGS__);                                      \
        int b = snprintf(libc, sizeof libc, __VA_ARGS__);                                          \
        if (a != b || strcmp(mine, libc) != 0) {                                                   \
            harness_fail(__FILE__, __LINE__, "format %s: got \"%s\" (%d), libc \"%s\" (%d)",       \
                         #__VA_ARGS__, mine, a, libc, b);                                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

TEST(integers)
{
    SAME("%d %i %u", 0, -1, 4000000000u);
    SAME("%d", -2147483647 - 1);
    SAME("%x %X", 0xdeadbeefu, 0xdeadbeefu);
    SAME("%5d|%-5d|%05d", 42, 42, -42);
    SAME("%08x|%-8x|%8x", 0xabcu, 0xabcu, 0xabcu);
    SAME("%lu %ld %lx", 123456789ul, -123456789l, 0xfffful);
    SAME("%llu %lld %llx", 18446744073709551615ull, -9223372036854775807ll - 1, 0x123456789abcdefull);
    SAME("%zu %zx", (size_t)12345, (size_t)0xfff);
    SAME("%hhu %hd", 300, 70000);
    SAME("%*d|%-*d", 6, 7, 6, 7);
}

TEST(strings_and_chars)
{
    SAME("%s|%10s|%-10s|", "abc", "abc", "abc");
    SAME("%.2s|%.*s|%5.1s|", "abcdef", 3, "abcdef", "xyz");
    SAME("%c%c%c", 'a', 'b', 'c');
    SAME("100%%");
    SAME("%3c|%-3c|", 'x', 'y');
}

TEST(pointers)
{
    int x;
    SAME("%p", (void *)&x);
    SAME("%p", (void *)0x1000);
}

TEST(truncation_and_return_value)
{
    char buf[8];
    int n = fmt_snprintf(buf, sizeof buf, "%s", "0123456789");
    CHECK_EQ(n, 10);
    CHECK(strcmp(buf, "0123456") == 0);
    n = fmt_snprintf(buf, 0, "%d", 12345);
    CHECK_EQ(n, 5);
    n = fmt_snprintf(buf, 1, "%d", 12345);
    CHECK_EQ(n, 5);
    CHECK_EQ(buf[0], 0);
}

/* Calls the formatter without the compiler's format checking, for deliberately bad formats. */
static int unchecked_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

TEST(null_string_and_unknown_conversions)
{
    char buf[32];
    const char *null_string = NULL;
    unchecked_format(buf, sizeof buf, "%s", null_string);
    CHECK(strcmp(buf, "(null)") == 0);
    unchecked_format(buf, sizeof buf, "a%qb");
    CHECK(strcmp(buf, "a%qb") == 0);
    unchecked_format(buf, sizeof buf, "end%");
    CHECK(strcmp(buf, "end") == 0);
}

TEST(random_numbers_match_libc)
{
    for (int i = 0; i < 20000; i++) {
        unsigned long long v = harness_rand();
        int w = (int)(harness_rand() % 24);
        SAME("%*llx|%0*llu|%-*lld|%*d", w, v, w, v >> (v & 31), w, (long long)v, w, (int)v);
    }
}
