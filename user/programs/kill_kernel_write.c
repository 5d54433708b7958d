/*
 * user/programs/kill_kernel_write.c - write kernel memory from ring 3.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with a report naming the address
 * 0xc0100000 and the reason "user access to a kernel address".
 */
#include "utest.h"

int main(void)
{
    ut_log("writing kernel text at 0xc0100000: must be killed");
    *(volatile uint32_t *)0xC0100000u = 0xDEADBEEFu;
    ut_survived("writing kernel memory");
}
