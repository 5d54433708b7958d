/*
 * user/programs/region_churn.c - use up the region records a process may
 * have, then give them back.
 *
 * Expects: exit status 0.  One-page reservations, each its own region,
 * until reserve fails: with -ENOMEM, at VMM_SPACE_REGIONS_MAX records
 * (memstat's proc_regions).  At the limit, releasing a whole reservation
 * works (it needs no record), and so does cutting a hole in one (release
 * may go a little past the limit), while a commit that would split a
 * piece is -ENOMEM.  Everything released, the records are back and reserve
 * works again.  The kernel test user_region_records_come_back checks that
 * the record pages went back to the PMM.
 */
#include "utest.h"

#define QUOTA 4096u /* VMM_SPACE_REGIONS_MAX (mm/vmm.h) */

static uint32_t regions(void)
{
    struct sys_memstat ms;
    UT_OK(sys_memstat(&ms));
    return ms.proc_regions;
}

int main(void)
{
    static uintptr_t got[QUOTA];
    uint32_t start = regions(), n = 0;
    uintptr_t big = (uintptr_t)UT_OK(sys_reserve(0, 4 * UT_PAGE, SYS_PROT_RW, 0));
    long r;
    while ((r = sys_reserve(0, UT_PAGE, SYS_PROT_NONE, 0)) > 0 && !sys_failed(r)) {
        UT_CHECK(n < QUOTA);
        got[n++] = (uintptr_t)r;
    }
    UT_EQ(r, -ENOMEM);
    ut_log("%u one-page reservations, then -ENOMEM at %u region records", (unsigned)n,
           (unsigned)regions());
    UT_EQ(regions(), QUOTA);
    UT_ERR(sys_commit(big + UT_PAGE, UT_PAGE, 0), ENOMEM); /* a split past the limit */
    UT_OK(sys_release(big + UT_PAGE, UT_PAGE));             /* a hole: allowed */
    UT_EQ(regions(), QUOTA + 1);
    UT_OK(sys_release(got[--n], UT_PAGE)); /* whole: no record needed */
    for (uint32_t i = 0; i < n; i++)
        UT_OK(sys_release(got[i], UT_PAGE));
    UT_OK(sys_release(big, UT_PAGE));
    UT_OK(sys_release(big + 2 * UT_PAGE, 2 * UT_PAGE));
    UT_EQ(regions(), start);
    UT_OK(sys_release((uintptr_t)UT_OK(sys_reserve(0, UT_PAGE, SYS_PROT_RW, 0)), UT_PAGE));
    ut_pass();
}
