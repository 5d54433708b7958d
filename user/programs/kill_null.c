/*
 * user/programs/kill_null.c - touch address 0.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with a report naming the address
 * 0x00000000 and the reason "null pointer (page 0)".
 */
#include "utest.h"

/* Read through a volatile, so the compiler cannot see the null pointer and
 * replace the access by a trap instruction of its own. */
static volatile uintptr_t null_address;

int main(void)
{
    ut_log("writing to address 0: must be killed");
    *(volatile int *)null_address = 1;
    ut_survived("writing to address 0");
}
