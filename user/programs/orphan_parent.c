/*
 * user/programs/orphan_parent.c - leave children behind.
 *
 * Spawns ORPHANS children and exits without waiting for any: child_exit
 * sleeping 0, 10, 20 and 30 ms (the first may end before its parent does,
 * the others end as orphans) and kill_null (killed, possibly as an
 * orphan).  Each child holds a kernel stack, its frames and the commit
 * charge of its stack until it is reaped; the kernel must adopt them and
 * reap them when they end, since nobody will wait for them.
 *
 * Expects: exit status 0 (every spawn succeeded).  The kernel test
 * user_orphans_are_reaped runs it in rounds until more orphans have lived
 * than the process table has slots, and checks that frames, commit charge
 * and slots all come back.  Not run on its own by the test run.
 */
#include "utest.h"

#define ORPHANS 5

int main(void)
{
    for (uint32_t i = 0; i < ORPHANS - 1; i++)
        UT_OK(sys_spawn("child_exit", i));
    UT_OK(sys_spawn("kill_null", 0));
    ut_log("%d children left behind", ORPHANS);
    return 0;
}
