/*
 * user/programs/sbrk_contig.c - 5000 one-byte sbrk calls are contiguous.
 *
 * Expects: exit status 0.  Each sbrk(1) must return the previous break,
 * each new byte must be writable at once (the kernel commits the page the
 * break moves into), and afterwards the break, brk(0) and the info page's
 * brk all say start + 5000, with every byte still holding what was written.
 */
#include "utest.h"

#define STEPS 5000

static unsigned char pattern(unsigned i)
{
    return (unsigned char)(i * 31 + 7);
}

int main(void)
{
    long start = UT_OK(sys_sbrk(0));
    ut_log("5000 one-byte increments from the break at 0x%08lx", start);
    for (unsigned i = 0; i < STEPS; i++) {
        long old = UT_OK(sys_sbrk(1));
        UT_EQ(old, start + (long)i);
        *(volatile unsigned char *)old = pattern(i);
    }
    UT_EQ(sys_sbrk(0), start + STEPS);
    UT_EQ(sys_brk(0), start + STEPS);
    UT_EQ(user_info()->brk, start + STEPS);
    for (unsigned i = 0; i < STEPS; i++)
        UT_EQ(((volatile unsigned char *)start)[i], pattern(i));
    ut_pass();
}
