/*
 * user/programs/oom_hog.c - a child for oom_parent: takes memory until the
 * system says no.
 *
 * It reserves and commits 16 MiB at a time and writes every page.  Under
 * strict accounting a commit is refused first: it then exits with status 3
 * (OOM_HOG_REFUSED).  Under overcommit a touch finds no frame and the
 * kernel must kill it (wait status SYS_WAIT_KILLED | SYS_KILL_NO_MEMORY).
 * Running out of address space first also ends in status 3.
 * Not run on its own by the test run.
 */
#include "utest.h"

#define CHUNK (16u << 20)
#define OOM_HOG_REFUSED 3

int main(void)
{
    unsigned mib = 0;
    ut_log("taking memory 16 MiB at a time until refused or killed");
    for (;;) {
        long r = sys_reserve(0, CHUNK, SYS_PROT_RW, SYS_RESERVE_COMMIT);
        if (sys_failed(r)) {
            UT_EQ(r, -ENOMEM);
            ut_log("refused after %u MiB", mib);
            return OOM_HOG_REFUSED;
        }
        for (uintptr_t p = (uintptr_t)r; p < (uintptr_t)r + CHUNK; p += UT_PAGE)
            *(volatile uint32_t *)p = (uint32_t)p;
        mib += CHUNK >> 20;
    }
}
