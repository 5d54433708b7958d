/*
 * user/programs/child_exit.c - a child for spawn_wait and hostile_syscalls:
 * sleeps `arg` x 10 ms, checks who it is, exits with 40 + arg.
 *
 * Expects (when a parent spawns it with arg): exit status 40 + arg & 0xFF.
 * Not run on its own by the test run.
 */
#include "utest.h"

#define STATUS_BASE 40

int main(void)
{
    const volatile struct user_info *info = user_info();
    uint32_t arg = info->arg;
    UT_EQ(info->pid, sys_getpid());
    UT_CHECK(info->ppid > 0 && info->ppid != info->pid);
    UT_OK(sys_sleep(arg * 10));
    UT_EQ(sys_yield(), 0);
    return (int)(STATUS_BASE + arg);
}
