/*
 * user/programs/kill_stack_overflow.c - recurse until the stack runs into
 * the guard page below it.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "guard page"
 * (the fault address one page below info->stack_low at most).
 */
#include "utest.h"

#define FRAME 1024

/* Each call keeps a frame alive until the next returns; the depth bound is
 * far beyond the stack, so only the guard page can stop it. */
static unsigned dive(unsigned depth)
{
    volatile unsigned char frame[FRAME];
    frame[depth % FRAME] = (unsigned char)depth;
    if (depth > (1u << 24))
        return frame[0];
    return dive(depth + 1) + frame[depth % FRAME];
}

int main(void)
{
    ut_log("recursing through a %u KiB stack with 1 KiB frames: must be killed",
           (unsigned)(user_info()->stack_top - user_info()->stack_low) / 1024);
    unsigned r = dive(0);
    ut_log("came back with %u", r);
    ut_survived("overflowing its stack");
}
