/*
 * user/programs/kill_debug_use_after_free.c - read a malloc block after
 * freeing it, with the debug guard allocator chosen (malloc_use_debug).
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) at the read, with the reason
 * "reserved but not committed" (the freed block's pages were decommitted).
 */
#include "stdlib.h"
#include "utest.h"

int main(void)
{
    UT_EQ(malloc_use_debug(0), 0);
    volatile unsigned char *p = malloc(32);
    UT_CHECK(p != NULL);
    p[0] = 7;
    free((void *)p);
    ut_log("reading a freed block at %p: must be killed", (void *)p);
    unsigned char v = p[0];
    ut_log("read %u", v);
    ut_survived("a use after free of a debug-allocator block");
}
