/*
 * user/programs/kill_kernel_exec.c - jump into kernel text from ring 3.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with a report naming the address
 * UT_KERNEL_TEXT (0xc0100000 on i686) and the reason "user access to a kernel address" (the fetch
 * itself faults: kernel pages are supervisor-only).
 */
#include "utest.h"

int main(void)
{
    void (*kernel_code)(void) = (void (*)(void))UT_KERNEL_TEXT;
    ut_log("calling kernel text at %p: must be killed", (void *)UT_KERNEL_TEXT);
    kernel_code();
    ut_survived("executing kernel code");
}
