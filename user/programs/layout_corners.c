/*
 * user/programs/layout_corners.c - the edges of the fixed layout cannot be
 * reserved around.
 *
 * Expects: exit status 0.  The last user page (USER_SPACE_END - 4096) is
 * the info page's guard: reserve there is -EEXIST, query says GUARD in the
 * INFO area, region calls are -EPERM.  Below the stack lies a guard gap of
 * USER_STACK_GAP bytes: nothing can be reserved in it (-EEXIST), query says
 * GUARD in the STACK area, and the first page below it can be reserved.
 */
#include "utest.h"

static void top_page(void)
{
    struct sys_region_info q;
    const uintptr_t top = USER_INFO_ADDR + UT_PAGE;
    ut_log("the last user page: taken, never mapped");
    UT_ERR(sys_reserve(top, UT_PAGE, SYS_PROT_RW, 0), EEXIST);
    UT_ERR(sys_reserve(top, UT_PAGE, SYS_PROT_RW, SYS_RESERVE_COMMIT), EEXIST);
    UT_OK(sys_query(top, &q));
    UT_EQ(q.state, SYS_REGION_GUARD);
    UT_EQ(q.area, SYS_AREA_INFO);
    UT_EQ(q.end, USER_SPACE_END);
    UT_ERR(sys_commit(top, UT_PAGE, 0), EPERM);
    UT_ERR(sys_protect(top, UT_PAGE, SYS_PROT_RW), EPERM);
    UT_ERR(sys_release(top, UT_PAGE), EPERM);
}

static void stack_gap(void)
{
    struct sys_region_info q;
    const uintptr_t low = user_info()->stack_low, gap = low - USER_STACK_GAP;
    ut_log("the %u KiB guard gap below the stack", (unsigned)(USER_STACK_GAP / 1024));
    UT_ERR(sys_reserve(low - 2 * UT_PAGE, UT_PAGE, SYS_PROT_RW, 0), EEXIST);
    UT_ERR(sys_reserve(low - 64 * 1024 - UT_PAGE, 64 * 1024, SYS_PROT_RW, 0), EEXIST);
    UT_ERR(sys_reserve(gap, UT_PAGE, SYS_PROT_RW, 0), EEXIST);
    UT_OK(sys_query(gap, &q));
    UT_EQ(q.state, SYS_REGION_GUARD);
    UT_EQ(q.area, SYS_AREA_STACK);
    UT_EQ(q.start, gap);
    UT_EQ(q.end, low);
    UT_ERR(sys_commit(gap, UT_PAGE, 0), EPERM);
    /* the first page below the gap is free address space */
    UT_EQ((uintptr_t)UT_OK(sys_reserve(gap - UT_PAGE, UT_PAGE, SYS_PROT_RW, 0)), gap - UT_PAGE);
    UT_OK(sys_release(gap - UT_PAGE, UT_PAGE));
}

int main(void)
{
    top_page();
    stack_gap();
    ut_pass();
}
