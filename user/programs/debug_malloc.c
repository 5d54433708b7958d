/*
 * user/programs/debug_malloc.c - the malloc family on the debug guard
 * allocator (malloc_use_debug): blocks are usable to the last byte, realloc
 * moves them, and each misuse that is a report - a write into the slack of
 * an odd-sized block found at free, a double free, an interior free - is
 * reported once by kind while the program goes on.
 *
 * Expects: exits 0.
 */
#include "mm/heap.h"
#include "stdlib.h"
#include "uheap.h"
#include "utest.h"

#include <string.h>

/* 1 if the last malloc report names `kind` (after "heap_debug: "). */
static int reported(unsigned long before, const char *kind)
{
    const char *r = uheap_last_report();
    return uheap_reports() == before + 1 && strncmp(r + 12, kind, strlen(kind)) == 0;
}

int main(void)
{
    UT_EQ(malloc_use_debug(0), 0);
    UT_EQ(malloc_use_debug(0), -1); /* chosen once, before the first block */
    unsigned char *p = malloc(64);
    UT_CHECK(p != NULL);
    UT_EQ(((uintptr_t)p + 64) % UT_PAGE, 0); /* against the guard page */
    memset(p, 0x61, 64);
    unsigned char *q = realloc(p, 1000);
    UT_CHECK(q != NULL && q != p && q[63] == 0x61);
    /* the end is as far right as the default alignment allows: 8 bytes on i686, 16 on x86-64 */
    uintptr_t end = ((uintptr_t)q + 1000 + HEAP_DEFAULT_ALIGN - 1) & ~(uintptr_t)(HEAP_DEFAULT_ALIGN - 1);
    UT_EQ(end % UT_PAGE, 0);

    unsigned long before = uheap_reports();
    uheap_expect_reports(3);
    unsigned char *odd = malloc(73);
    odd[73] = 0; /* into the alignment slack: no fault */
    free(odd);
    UT_CHECK(reported(before, "signature corrupted (overrun into slack)"));
    free(odd);
    UT_CHECK(reported(before + 1, "double free"));
    free(q + 4);
    UT_CHECK(reported(before + 2, "invalid free (interior pointer)"));
    free(q);
    UT_EQ(uheap_reports(), before + 3);
    UT_EQ(uheap_expect_reports(0), 0);
    ut_log("three misuses reported by kind; the heap goes on");
    ut_pass();
}
