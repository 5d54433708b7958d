/*
 * user/programs/kill_kernel_read.c - read kernel memory from ring 3.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with a report naming the address
 * UT_KERNEL_TEXT (0xc0100000 on i686) and the reason "user access to a kernel address".
 */
#include "utest.h"

int main(void)
{
    ut_log("reading kernel text at %p: must be killed", (void *)UT_KERNEL_TEXT);
    uint32_t v = *(volatile uint32_t *)UT_KERNEL_TEXT;
    ut_log("read 0x%08x", (unsigned)v);
    ut_survived("reading kernel memory");
}
