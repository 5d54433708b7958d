/*
 * user/programs/kill_debug_overrun.c - write one byte past a malloc block
 * with the debug guard allocator chosen (malloc_use_debug).
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) at the write, with the reason
 * "reserved but not committed" (the guard page after the block).
 */
#include "stdlib.h"
#include "utest.h"

int main(void)
{
    UT_EQ(malloc_use_debug(0), 0);
    volatile unsigned char *p = malloc(128);
    UT_CHECK(p != NULL);
    ut_log("writing one byte past a 128-byte block at %p: must be killed", (void *)p);
    p[128] = 1;
    ut_survived("an overrun of a debug-allocator block");
}
