/*
 * user/programs/kill_kernel_write.c - write kernel memory from ring 3.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with a report naming the address
 * UT_KERNEL_TEXT (0xc0100000 on i686) and the reason "user access to a kernel address".
 */
#include "utest.h"

int main(void)
{
    ut_log("writing kernel text at %p: must be killed", (void *)UT_KERNEL_TEXT);
    *(volatile uint32_t *)UT_KERNEL_TEXT = 0xDEADBEEFu;
    ut_survived("writing kernel memory");
}
