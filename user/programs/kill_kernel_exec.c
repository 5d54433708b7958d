/*
 * user/programs/kill_kernel_exec.c - jump into kernel text from ring 3.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with a report naming the address
 * 0xc0100000 and the reason "user access to a kernel address" (the fetch
 * itself faults: kernel pages are supervisor-only).
 */
#include "utest.h"

int main(void)
{
    void (*kernel_code)(void) = (void (*)(void))0xC0100000u;
    ut_log("calling kernel text at 0xc0100000: must be killed");
    kernel_code();
    ut_survived("executing kernel code");
}
