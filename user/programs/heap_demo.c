/*
 * user/programs/heap_demo.c - the demo: a process's heap activity, step by
 * step, as reserved, committed and backed pages.
 *
 * Expects: exit status 0.  Small blocks come from the break; four 1 MiB
 * blocks are separate lazily committed regions, so they cost commit charge
 * but no frames until touched; touching them brings frames; freeing them
 * gives both back.  Each step prints one line of memstat figures.
 */
#include "stdlib.h"
#include "utest.h"

#include <string.h>

#define SMALL 1000
#define LARGE 4
#define MIB (1u << 20)

/* One row of the table (KiB), under the header main prints: fits 80 columns. */
static void show(const char *step)
{
    struct sys_memstat ms;
    UT_OK(sys_memstat(&ms));
    ut_log("%-30s %9u %9u %9u", step, (unsigned)ms.proc_reserved * 4,
           (unsigned)ms.proc_committed * 4, (unsigned)ms.proc_backed * 4);
}

int main(void)
{
    static char *small[SMALL], *large[LARGE];
    ut_log("%-30s %9s %9s %9s", "KiB of this process", "reserved", "committed", "backed");
    show("start");
    for (unsigned i = 0; i < SMALL; i++)
        UT_CHECK((small[i] = malloc(100)) != NULL);
    show("1000 x 100 bytes allocated");
    for (unsigned i = 0; i < LARGE; i++)
        UT_CHECK((large[i] = malloc(MIB)) != NULL);
    show("4 x 1 MiB allocated, untouched");
    for (unsigned i = 0; i < LARGE; i++)
        memset(large[i], (int)i, MIB);
    show("4 x 1 MiB written");
    for (unsigned i = 0; i < LARGE; i++)
        free(large[i]);
    show("4 x 1 MiB freed");
    for (unsigned i = 0; i < SMALL; i++)
        free(small[i]);
    show("1000 x 100 bytes freed");
    ut_pass();
}
