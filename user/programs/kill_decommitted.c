/*
 * user/programs/kill_decommitted.c - touch a page after decommitting it.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "reserved but not
 * committed".
 */
#include "utest.h"

int main(void)
{
    uintptr_t page = (uintptr_t)UT_OK(sys_reserve(0, UT_PAGE, SYS_PROT_RW, SYS_RESERVE_COMMIT));
    *(volatile uint32_t *)page = 1;
    UT_OK(sys_decommit(page, UT_PAGE, 0));
    ut_log("reading %p after decommitting it: must be killed", (void *)page);
    uint32_t v = *(volatile uint32_t *)page;
    ut_log("read %u", (unsigned)v);
    ut_survived("touching a decommitted page");
}
