/*
 * user/programs/kill_above_break.c - touch the break area above the break.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "reserved but not
 * committed": the break area is reserved up front, committed only below
 * the (page-rounded) break.
 */
#include "utest.h"

int main(void)
{
    long brk = UT_OK(sys_sbrk(0));
    uintptr_t above = ut_page_up((uintptr_t)brk);
    ut_log("break at 0x%08lx; writing %p: must be killed", brk, (void *)above);
    *(volatile uint32_t *)above = 1;
    ut_survived("writing above the break");
}
