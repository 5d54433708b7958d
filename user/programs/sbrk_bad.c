/*
 * user/programs/sbrk_bad.c - huge, wrapping and out-of-area break moves fail
 * cleanly.
 *
 * Expects: exit status 0.  Every increment that would put the break below
 * the start of the break area or above its limit - including ones whose
 * sum wraps 2^32 or that are negative when read as signed - returns
 * -ENOMEM and leaves the break (sbrk(0), brk(0), the info page) unchanged;
 * brk to an address outside the area does the same.  A small valid move
 * still works afterwards.
 */
#include "utest.h"

#include <stdint.h>

static long start;

static void unchanged(void)
{
    UT_EQ(sys_sbrk(0), start);
    UT_EQ(sys_brk(0), start);
    UT_EQ(user_info()->brk, start);
}

int main(void)
{
    const volatile struct user_info *info = user_info();
    start = UT_OK(sys_sbrk(0));
    uintptr_t lo = info->brk_start, hi = info->brk_limit;
    ut_log("break 0x%08lx in [%p, %p): moves outside must fail", start, (void *)lo,
           (void *)hi);

    UT_ERR(sys_sbrk(INTPTR_MAX), ENOMEM);
    unchanged();
    UT_ERR(sys_sbrk(INTPTR_MIN), ENOMEM);
    unchanged();
    UT_ERR(sys_sbrk(-(intptr_t)((uintptr_t)start - lo) - 1), ENOMEM); /* one byte below */
    unchanged();
    UT_ERR(sys_sbrk((intptr_t)(hi - (uintptr_t)start) + 1), ENOMEM); /* one byte above */
    unchanged();
    UT_ERR(sys_sbrk(-(intptr_t)start - UT_PAGE), ENOMEM); /* below address 0: wraps */
    unchanged();

    UT_ERR(sys_brk(lo - 1), ENOMEM);
    UT_ERR(sys_brk(hi + 1), ENOMEM);
    UT_ERR(sys_brk(1), ENOMEM);
    UT_ERR(sys_brk(USER_SPACE_END), ENOMEM);
    UT_ERR(sys_brk((uintptr_t)-1), ENOMEM);
    unchanged();

    ut_log("refused cleanly; a small move still works");
    UT_EQ(UT_OK(sys_sbrk(16)), start);
    *(volatile char *)(start + 15) = 1;
    UT_EQ(UT_OK(sys_brk((uintptr_t)start)), start);
    unchanged();
    ut_pass();
}
