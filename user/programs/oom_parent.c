/*
 * user/programs/oom_parent.c - out of memory in a child kills (or refuses)
 * the child; the parent carries on and its own sbrk still works.
 *
 * Expects: exit status 0.  The child (oom_hog) ends either killed with
 * SYS_KILL_NO_MEMORY (overcommit) or with status 3 after a refused commit
 * (strict); then this process grows its break by 1 MiB, writes every page
 * and reads it back.
 */
#include "utest.h"

#define OOM_HOG_REFUSED 3
#define REGROW (1u << 20)

int main(void)
{
    int status = -1;
    long pid = UT_OK(sys_spawn("oom_hog", 0));
    UT_EQ(sys_wait((int)pid, &status), pid);
    if (SYS_WAIT_EXITED(status)) {
        ut_log("the child's commit was refused (status %d)", SYS_WAIT_STATUS(status));
        UT_EQ(SYS_WAIT_STATUS(status), OOM_HOG_REFUSED);
    } else {
        ut_log("the child was killed (%s)", sys_kill_cause_name(SYS_WAIT_CAUSE(status)));
        UT_EQ(status, SYS_WAIT_KILLED | SYS_KILL_NO_MEMORY);
    }
    long base = UT_OK(sys_sbrk(REGROW));
    for (uintptr_t p = (uintptr_t)base; p < (uintptr_t)base + REGROW; p += UT_PAGE)
        *(volatile uint32_t *)p = (uint32_t)p ^ 0xA5A5A5A5u;
    for (uintptr_t p = (uintptr_t)base; p < (uintptr_t)base + REGROW; p += UT_PAGE)
        UT_EQ(*(volatile uint32_t *)p, (uint32_t)p ^ 0xA5A5A5A5u);
    ut_log("the parent's own break still grows and holds data");
    ut_pass();
}
