/*
 * user/programs/kill_exec_stack.c - run code written into a stack buffer.
 *
 * Expects: where the paging format has an execute-disable bit (x86-64;
 * i686 has none without PAE) killed (SYS_KILL_PAGE_FAULT) at the call,
 * with an "execute access" report: the stack is read-write, never
 * executable (W^X).  Without NX the code runs; the program checks it ran
 * and exits with UT_EXIT_NO_NX.
 */
#include "utest.h"

int main(void)
{
    volatile unsigned char code[16];
    ut_log("calling code written on the stack at %p: killed where NX exists", (void *)code);
    ut_exit_no_nx(ut_exec_data(code), "the stack");
}
