/*
 * user/programs/kill_exec_heap.c - run code written into a malloc block.
 *
 * Expects: where the paging format has an execute-disable bit (x86-64;
 * i686 has none without PAE) killed (SYS_KILL_PAGE_FAULT) at the call,
 * with an "execute access" report: the heap is committed read-write and
 * never executable (W^X).  Without NX the code runs; the program checks it
 * ran and exits with UT_EXIT_NO_NX.
 */
#include "stdlib.h"
#include "utest.h"

int main(void)
{
    volatile unsigned char *p = malloc(64);
    UT_CHECK(p != NULL);
    ut_log("calling code written into a malloc block at %p: killed where NX exists", (void *)p);
    ut_exit_no_nx(ut_exec_data(p), "the heap");
}
