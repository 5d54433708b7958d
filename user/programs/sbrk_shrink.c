/*
 * user/programs/sbrk_shrink.c - shrink the break by a page, grow it again:
 * the page comes back zero-filled.
 *
 * Expects: exit status 0.  After the shrink the page above the break is
 * decommitted (query: RESERVED in the break area); the page below keeps its
 * contents; the re-grown page reads as zeros, not as what was there.
 */
#include "utest.h"

#include <string.h>

static int all_bytes(const volatile unsigned char *p, size_t n, unsigned char value)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

int main(void)
{
    struct sys_region_info q;
    long cur = UT_OK(sys_sbrk(0));
    UT_OK(sys_sbrk((intptr_t)(ut_page_up((uintptr_t)cur) - (uintptr_t)cur)));
    long base = UT_OK(sys_sbrk(2 * UT_PAGE));
    unsigned char *p = (unsigned char *)base;
    ut_log("two pages at 0x%08lx filled with 0xAA, then the top one given back", base);
    memset(p, 0xAA, 2 * UT_PAGE);
    UT_OK(sys_query(base + UT_PAGE, &q));
    UT_EQ(q.state, SYS_REGION_COMMITTED);
    UT_EQ(q.area, SYS_AREA_BREAK);

    UT_EQ(UT_OK(sys_sbrk(-(intptr_t)UT_PAGE)), base + 2 * UT_PAGE);
    UT_EQ(sys_sbrk(0), base + UT_PAGE);
    UT_OK(sys_query(base + UT_PAGE, &q));
    UT_EQ(q.state, SYS_REGION_RESERVED);
    UT_CHECK(all_bytes(p, UT_PAGE, 0xAA));

    UT_EQ(UT_OK(sys_sbrk(UT_PAGE)), base + UT_PAGE);
    UT_CHECK(all_bytes(p + UT_PAGE, UT_PAGE, 0));
    UT_CHECK(all_bytes(p, UT_PAGE, 0xAA));
    ut_log("the re-grown page reads as zeros");
    ut_pass();
}
