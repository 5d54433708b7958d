/*
 * user/programs/sbrk_big.c - grow the break by 100 MiB and touch its last byte.
 *
 * Expects: exit status 0.  The break moves 100 MiB in one call; the
 * process's commit charge grows by those 25600 pages but only the two
 * pages touched (the first and the last) get frames.  Shrinking back returns the
 * charge.  Under strict commit accounting this needs 100 MiB of free
 * frames: boot the test machine with enough memory.
 */
#include "utest.h"

#define BIG (100u << 20)

int main(void)
{
    struct sys_memstat before, grown, after;
    long start = UT_OK(sys_sbrk(0));
    ut_log("growing the break at 0x%08lx by 100 MiB", start);
    ut_stack_warm(); /* after the first line: printing has touched what it touches */
    UT_OK(sys_memstat(&before));
    UT_EQ(UT_OK(sys_sbrk(BIG)), start);
    volatile unsigned char *first = (unsigned char *)start, *last = first + BIG - 1;
    *last = 0xA5;
    *first = 0x5A;
    UT_EQ(*last, 0xA5);
    UT_EQ(*first, 0x5A);
    UT_OK(sys_memstat(&grown));
    ut_log("last byte 0x%08lx written; committed +%u pages, backed +%u pages", start + BIG - 1,
           (unsigned)(grown.proc_committed - before.proc_committed),
           (unsigned)(grown.proc_backed - before.proc_backed));
    UT_CHECK(grown.proc_committed - before.proc_committed >= BIG / UT_PAGE);
    UT_EQ(grown.proc_backed - before.proc_backed, 2); /* the two touched pages, nothing else */
    UT_EQ(UT_OK(sys_sbrk(-(intptr_t)BIG)), start + BIG);
    UT_OK(sys_memstat(&after));
    UT_EQ(after.proc_committed, before.proc_committed);
    ut_pass();
}
