/*
 * user/programs/sbrk_reprotect.c - a page made read-only below the break,
 * given back by a shrink and taken again by a grow, comes back fresh.
 *
 * Expects: exit status 0.  Growing the break brings pages with the default
 * protection (RW) and zero contents, whatever they were the last time they
 * lay below the break: the old read-only protection does not survive the
 * shrink and re-grow (it used to, and the first write killed the program).
 * A page that stays below the break keeps the protection it was given.
 */
#include "utest.h"

int main(void)
{
    struct sys_region_info q;
    long cur = UT_OK(sys_sbrk(0));
    UT_OK(sys_sbrk((intptr_t)(ut_page_up((uintptr_t)cur) - (uintptr_t)cur)));
    uintptr_t base = (uintptr_t)UT_OK(sys_sbrk(3 * UT_PAGE));
    volatile unsigned char *p = (volatile unsigned char *)base;
    p[0] = p[UT_PAGE] = p[2 * UT_PAGE] = 0x5A;
    ut_log("pages 1 and 2 of three at %p made read-only, then given back", (void *)base);
    UT_OK(sys_protect(base + UT_PAGE, 2 * UT_PAGE, SYS_PROT_READ));
    UT_OK(sys_protect(base, UT_PAGE, SYS_PROT_READ));
    UT_OK(sys_sbrk(-2 * (intptr_t)UT_PAGE));

    UT_EQ((uintptr_t)UT_OK(sys_sbrk(2 * UT_PAGE)), base + UT_PAGE);
    UT_OK(sys_query(base + UT_PAGE, &q));
    UT_EQ(q.state, SYS_REGION_COMMITTED);
    UT_EQ(q.prot, SYS_PROT_RW);
    UT_EQ(q.end, base + 3 * UT_PAGE);
    UT_EQ(p[UT_PAGE], 0);
    p[UT_PAGE] = 1; /* the old read-only protection would kill here */
    p[2 * UT_PAGE] = 2;
    UT_EQ(p[UT_PAGE] + p[2 * UT_PAGE], 3);
    /* the page that stayed below the break keeps its protection and contents */
    UT_OK(sys_query(base, &q));
    UT_EQ(q.prot, SYS_PROT_READ);
    UT_EQ(p[0], 0x5A);
    ut_log("the re-grown pages are writable and zero");
    ut_pass();
}
