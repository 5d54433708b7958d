/*
 * user/programs/kill_info_write.c - write to the read-only info page.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "access not allowed
 * by the protection".
 */
#include "utest.h"

int main(void)
{
    volatile uint32_t *pid = (volatile uint32_t *)(uintptr_t)&user_info()->pid;
    ut_log("writing the info page's pid at %p: must be killed", (void *)(uintptr_t)pid);
    *pid = 1;
    ut_survived("writing the read-only info page");
}
