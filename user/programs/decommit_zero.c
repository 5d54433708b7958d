/*
 * user/programs/decommit_zero.c - decommitted memory reads as zeros when
 * it is touched (or committed) again.
 *
 * Expects: exit status 0.  Four committed pages are filled; decommit with
 * SYS_DECOMMIT_KEEP drops the frames of the middle two (query: 2 backed)
 * and leaves them usable: they read as zeros, the others keep their bytes.
 * A plain decommit returns a page to RESERVED; after commit it reads as
 * zeros too.
 */
#include "utest.h"

#include <string.h>

static int all_bytes(uintptr_t at, size_t n, unsigned char value)
{
    for (size_t i = 0; i < n; i++)
        if (((volatile unsigned char *)at)[i] != value)
            return 0;
    return 1;
}

int main(void)
{
    struct sys_region_info q;
    uintptr_t base = (uintptr_t)UT_OK(sys_reserve(0, 4 * UT_PAGE, SYS_PROT_RW, SYS_RESERVE_COMMIT));
    ut_log("four pages at %p filled, the middle two decommitted (kept committed)",
           (void *)base);
    memset((void *)base, 0x5A, 4 * UT_PAGE);
    UT_OK(sys_query(base, &q));
    UT_EQ(q.backed, 4);

    UT_OK(sys_decommit(base + UT_PAGE, 2 * UT_PAGE, SYS_DECOMMIT_KEEP));
    UT_OK(sys_query(base, &q));
    UT_EQ(q.state, SYS_REGION_COMMITTED);
    UT_EQ(q.backed, 2);
    UT_CHECK(all_bytes(base + UT_PAGE, 2 * UT_PAGE, 0));
    UT_CHECK(all_bytes(base, UT_PAGE, 0x5A));
    UT_CHECK(all_bytes(base + 3 * UT_PAGE, UT_PAGE, 0x5A));

    ut_log("the first page decommitted for good, then committed again");
    UT_OK(sys_decommit(base, UT_PAGE, 0));
    UT_OK(sys_query(base, &q));
    UT_EQ(q.state, SYS_REGION_RESERVED);
    UT_EQ(q.end, base + UT_PAGE);
    UT_OK(sys_commit(base, UT_PAGE, 0));
    UT_CHECK(all_bytes(base, UT_PAGE, 0));
    UT_OK(sys_release(base, 4 * UT_PAGE));
    ut_pass();
}
