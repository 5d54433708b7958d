/*
 * tests/host/test_string.c - lib/string.c (built here under lib_ names)
 * against the C library, on many sizes and alignments.
 */
#define LIB_STRING_PREFIX lib_
#include "../../lib/string.c"

#include "harness.h"

static unsigned char a[512], b[512], c[512];

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)harness_rand();
}

TEST(memcpy_memset_all_alignments)
{
    for (size_t src = 0; src < 8; src++)
        for (size_t dst = 0; dst < 8; dst++)
            for (size_t n = 0; n < 100; n += 7) {
                fill(a, sizeof a);
                memcpy(b, a, sizeof a);
                memcpy(c, a, sizeof a);
                lib_memcpy(b + dst, a + 200 + src, n);
                memcpy(c + dst, a + 200 + src, n);
                CHECK(memcmp(b, c, sizeof b) == 0);
                lib_memset(b + src, (int)n, n);
                memset(c + src, (int)n, n);
                CHECK(memcmp(b, c, sizeof b) == 0);
            }
}

TEST(memmove_overlaps_both_ways)
{
    for (int shift = -9; shift <= 9; shift++)
        for (size_t n = 0; n < 64; n += 5) {
            fill(a, sizeof a);
            memcpy(b, a, sizeof a);
            lib_memmove(a + 100 + shift, a + 100, n);
            memmove(b + 100 + shift, b + 100, n);
            CHECK(memcmp(a, b, sizeof a) == 0);
        }
}

TEST(compare_and_search)
{
    CHECK(lib_memcmp("abc", "abd", 3) < 0);
    CHECK(lib_memcmp("abd", "abc", 3) > 0);
    CHECK(lib_memcmp("abc", "abd", 2) == 0);
    CHECK(lib_memcmp("\x80", "\x01", 1) > 0); /* unsigned bytes */
    CHECK(lib_strcmp("abc", "abc") == 0);
    CHECK(lib_strcmp("ab", "abc") < 0);
    CHECK(lib_strncmp("abcx", "abcy", 3) == 0);
    CHECK(lib_strncmp("abcx", "abcy", 4) < 0);
    const char *s = "hello world";
    CHECK(lib_strchr(s, 'o') == s + 4);
    CHECK(lib_strrchr(s, 'o') == s + 7);
    CHECK(lib_strchr(s, 0) == s + 11);
    CHECK(lib_strchr(s, 'z') == NULL);
    CHECK(lib_memchr(s, 'w', 11) == s + 6);
    CHECK(lib_strstr(s, "o w") == s + 4);
    CHECK(lib_strstr(s, "world") == s + 6);
    CHECK(lib_strstr(s, "worlds") == NULL);
    CHECK(lib_strstr(s, "") == s);
    CHECK(lib_memchr(s, 'w', 6) == NULL);
    CHECK_EQ(lib_strlen(s), 11);
    CHECK_EQ(lib_strnlen(s, 5), 5);
    CHECK_EQ(lib_strnlen(s, 50), 11);
}

TEST(copies_terminate)
{
    char buf[8];
    CHECK_EQ(lib_strlcpy(buf, "0123456789", sizeof buf), 10);
    CHECK(strcmp(buf, "0123456") == 0);
    CHECK_EQ(lib_strlcpy(buf, "ab", sizeof buf), 2);
    CHECK(strcmp(buf, "ab") == 0);
    memset(buf, 'x', sizeof buf);
    lib_strncpy(buf, "ab", sizeof buf);
    CHECK(buf[2] == 0 && buf[7] == 0);
}
