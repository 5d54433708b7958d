/*
 * user/programs/kill_stack_clash.c - a frame far larger than a page.
 *
 * A 3 MiB local array on a 256 KiB stack: without stack-clash protection
 * the first write lands 3 MiB below the stack pointer, past any guard, in
 * the region this program reserved and committed just below the guard gap
 * - silently.  Built with -fstack-clash-protection (user/build.mk) the
 * function touches its frame page by page as it allocates it and runs into
 * the guard gap first.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "guard page".
 */
#include "utest.h"

#define BIG (3u << 20)
#define TARGET (4u << 20)

static __attribute__((noinline)) unsigned clash(unsigned seed)
{
    volatile unsigned char frame[BIG];
    frame[0] = (unsigned char)seed; /* the lowest address of the frame */
    return frame[0];
}

int main(void)
{
    uintptr_t gap = user_info()->stack_low - USER_STACK_GAP;
    /* the victim: committed memory right below the stack's guard gap */
    UT_OK(sys_reserve(gap - TARGET, TARGET, SYS_PROT_RW, SYS_RESERVE_COMMIT));
    ut_log("a %u MiB frame on a %u KiB stack: must be killed", BIG >> 20,
           (unsigned)(user_info()->stack_top - user_info()->stack_low) / 1024);
    unsigned r = clash(7);
    ut_log("wrote below the stack and came back with %u", r);
    ut_survived("a stack frame larger than the stack");
}
