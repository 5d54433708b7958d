/*
 * user/programs/hello.c - the smallest program: print who it is, exit 0.
 *
 * Expects: exit status 0, and the line "hello from ring 3" on the console.
 * Exercises: the loader (text, rodata, data), crt0, the info page, write.
 */
#include "stdio.h"
#include "sys.h"
#include "utest.h"

static const char greeting[] = "hello from ring 3"; /* rodata */
static volatile int calls = 1;                      /* data */
static char scratch[64];                            /* bss */

int main(void)
{
    const volatile struct user_info *info = user_info();
    UT_EQ(calls, 1);
    UT_EQ(scratch[0], 0);
    snprintf(scratch, sizeof scratch, "%s", greeting);
    ut_log("%s (pid %ld, parent %d, image %p-%p, break at %p)", scratch, sys_getpid(),
           (int)info->ppid, (void *)info->image_start, (void *)info->image_end,
           (void *)info->brk);
    UT_EQ(info->pid, sys_getpid());
    return 0;
}
