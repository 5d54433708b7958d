/*
 * user/programs/isolation.c - one process cannot see another's heap.
 *
 * Expects: exit status 0.  The parent fills a page of its break area with
 * a secret and spawns a second copy of this program with that address as
 * its arg.  The child, with the same layout, grows its own break over the
 * same address: it must read zeros there (its own fresh page), never the
 * secret, and then scribbles on it.  The parent's page must still hold the
 * secret afterwards.  Child exit status: 0 if isolated, 1 if it saw the
 * secret.
 */
#include "utest.h"

#define SECRET 0x5EC12E75u

static int page_holds(uintptr_t page, uint32_t value)
{
    for (unsigned i = 0; i < UT_PAGE / 4; i++)
        if (((volatile uint32_t *)page)[i] != value)
            return 0;
    return 1;
}

static void fill(uintptr_t page, uint32_t value)
{
    for (unsigned i = 0; i < UT_PAGE / 4; i++)
        ((volatile uint32_t *)page)[i] = value;
}

/* The child: make the parent's address part of its own break and look. */
static int child(uintptr_t page)
{
    long cur = UT_OK(sys_sbrk(0));
    UT_CHECK((uintptr_t)cur <= page);
    UT_OK(sys_sbrk((intptr_t)(page + UT_PAGE - (uintptr_t)cur)));
    if (!page_holds(page, 0)) {
        ut_log("FAIL: the parent's page %p is visible here", (void *)page);
        return 1;
    }
    fill(page, ~SECRET);
    ut_log("%p is my own zero page", (void *)page);
    return 0;
}

int main(void)
{
    uint32_t arg = user_info()->arg;
    if (arg)
        return child(arg);
    long cur = UT_OK(sys_sbrk(0));
    uintptr_t page = ut_page_up((uintptr_t)cur);
    UT_OK(sys_sbrk((intptr_t)(page + UT_PAGE - (uintptr_t)cur)));
    fill(page, SECRET);
    ut_log("secret written at %p; a copy of me will look there", (void *)page);
    int status = -1;
    long pid = UT_OK(sys_spawn("isolation", (uint32_t)page));
    UT_EQ(sys_wait((int)pid, &status), pid);
    UT_EQ(status, 0);
    UT_CHECK(page_holds(page, SECRET));
    ut_pass();
}
