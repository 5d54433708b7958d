/*
 * user/programs/kill_released.c - touch a range after releasing it.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "address not mapped".
 */
#include "utest.h"

int main(void)
{
    uintptr_t page = (uintptr_t)UT_OK(sys_reserve(0, UT_PAGE, SYS_PROT_RW, SYS_RESERVE_COMMIT));
    *(volatile uint32_t *)page = 1;
    UT_OK(sys_release(page, UT_PAGE));
    ut_log("reading %p after releasing it: must be killed", (void *)page);
    uint32_t v = *(volatile uint32_t *)page;
    ut_log("read %u", (unsigned)v);
    ut_survived("touching a released range");
}
