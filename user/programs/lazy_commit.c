/*
 * user/programs/lazy_commit.c - sparse touches of a 1 GiB reservation.
 *
 * Expects: exit status 0.  Reserving 1 GiB costs no frame and no commit
 * charge.  One 1 MiB window every 64 MiB is then committed (16 MiB of
 * charge, so this works under strict accounting too) and one page of each
 * is touched: each window reports exactly one backed page, and the
 * process's backed count grows by exactly those 16 (the stack and the
 * library are warmed first, so no page of theirs appears meanwhile).  Releasing the reservation
 * returns the charge.
 */
#include "utest.h"

#define GIB (1u << 30)
#define STRIDE (64u << 20)
#define WINDOW (1u << 20)
#define TOUCHES (GIB / STRIDE)

static uintptr_t window(long base, unsigned i)
{
    return (uintptr_t)base + (uintptr_t)i * STRIDE;
}

int main(void)
{
    struct sys_memstat before, committed, touched, after;
    struct sys_region_info q;
    ut_log("reserving 1 GiB, committing 1 MiB every 64 MiB, touching one page of each");
    ut_stack_warm(); /* after the first line: printing has touched what it touches */
    UT_OK(sys_memstat(&before));
    long base = UT_OK(sys_reserve(0, GIB, SYS_PROT_RW, 0));
    UT_OK(sys_query((uintptr_t)base, &q));
    UT_EQ(q.state, SYS_REGION_RESERVED);
    UT_EQ(q.end - q.start, GIB);
    UT_EQ(q.area, SYS_AREA_RESERVE);

    for (unsigned i = 0; i < TOUCHES; i++)
        UT_OK(sys_commit(window(base, i), WINDOW, 0));
    UT_OK(sys_memstat(&committed));
    UT_EQ(committed.proc_committed - before.proc_committed, TOUCHES * WINDOW / UT_PAGE);
    UT_EQ(committed.proc_backed, before.proc_backed);

    for (unsigned i = 0; i < TOUCHES; i++)
        *(volatile uint32_t *)(window(base, i) + 3 * UT_PAGE + 8) = 0xC0FFEE00u + i;
    UT_OK(sys_memstat(&touched));
    for (unsigned i = 0; i < TOUCHES; i++) {
        UT_EQ(*(volatile uint32_t *)(window(base, i) + 3 * UT_PAGE + 8), 0xC0FFEE00u + i);
        UT_OK(sys_query(window(base, i), &q));
        UT_EQ(q.state, SYS_REGION_COMMITTED);
        UT_EQ(q.start, window(base, i));
        UT_EQ(q.end, window(base, i) + WINDOW);
        UT_EQ(q.backed, 1);
    }
    unsigned backed = (unsigned)(touched.proc_backed - before.proc_backed);
    ut_log("1 GiB at 0x%08lx: 16 MiB committed, %u pages touched: %u frames", base, TOUCHES,
           backed);
    UT_EQ(backed, TOUCHES);

    UT_OK(sys_release((uintptr_t)base, GIB));
    UT_OK(sys_memstat(&after));
    UT_EQ(after.proc_committed, before.proc_committed);
    UT_ERR(sys_query((uintptr_t)base, &q), ENOENT);
    ut_pass();
}
