/*
 * user/programs/spawn_wait.c - many processes alive at once: spawn, sleep,
 * wait, exit statuses.
 *
 * Expects: exit status 0.  Eight children (child_exit, arg 1..8) sleep at
 * the same time; wait(SYS_WAIT_ANY) reaps each exactly once with exit
 * status 40 + its arg, then reports -ECHILD.  A wait for one pid reaps that
 * pid.  sleep(100) lets at least 100 ms of ticks pass on the info page.
 */
#include "utest.h"

#define CHILDREN 8
#define STATUS_BASE 40

static long pids[CHILDREN + 1];

/* Index of pid among the children, or fail. */
static unsigned child_index(long pid)
{
    for (unsigned i = 1; i <= CHILDREN; i++)
        if (pids[i] == pid)
            return i;
    ut_fail(__FILE__, __LINE__, "wait returned %ld, not a child", pid);
}

int main(void)
{
    const volatile struct user_info *info = user_info();
    unsigned reaped = 0;
    ut_log("spawning %u children that sleep at the same time", CHILDREN);
    for (unsigned i = 1; i <= CHILDREN; i++)
        pids[i] = UT_OK(sys_spawn("child_exit", i));
    while (reaped < CHILDREN) {
        int status = -1;
        long pid = UT_OK(sys_wait(SYS_WAIT_ANY, &status));
        unsigned i = child_index(pid);
        UT_CHECK(SYS_WAIT_EXITED(status));
        UT_EQ(SYS_WAIT_STATUS(status), STATUS_BASE + i);
        pids[i] = 0;
        reaped++;
    }
    UT_ERR(sys_wait(SYS_WAIT_ANY, NULL), ECHILD);

    int status = -1;
    long one = UT_OK(sys_spawn("child_exit", 9));
    UT_EQ(sys_wait((int)one, &status), one);
    UT_EQ(SYS_WAIT_STATUS(status), STATUS_BASE + 9);

    uint32_t t0 = info->ticks;
    UT_OK(sys_sleep(100));
    uint32_t t1 = info->ticks;
    ut_log("all reaped; sleep(100) took %u ticks at %u Hz", (unsigned)(t1 - t0),
           (unsigned)info->tick_hz);
    UT_CHECK(t1 - t0 >= info->tick_hz / 10);
    ut_pass();
}
