/*
 * user/programs/hostile_syscalls.c - bad pointers, lengths and ranges given
 * to every kind of system call get an error code, never a kernel fault.
 *
 * Expects: exit status 0, with each call failing with exactly the error
 * docs/syscalls.md gives: NULL, kernel addresses, ranges that wrap 2^32 or
 * reach the kernel half, ranges that span a hole, strings without a
 * terminator before a hole or within the name limit, read-only destinations,
 * memory just given back (released, decommitted, above the break), the
 * kernel's own areas, malformed region arguments and unknown call numbers.
 * A wait with a bad status pointer must leave the child to be reaped.
 */
#include "utest.h"

#include <string.h>

#define KERNEL_TEXT UT_KERNEL_TEXT
/* The last page of the address space (kernel): two pages from there wrap. */
#define LAST_PAGE ((uintptr_t)0 - UT_PAGE)
#define LONE_PAGE 0x90000000u /* far above anything reserve(0, ...) hands out here */

static uintptr_t hole_page; /* a reserved page of two whose second page is not committed */

/* Two reserved pages, the first committed and filled with fill, the second left reserved. */
static uintptr_t page_then_hole(unsigned char fill)
{
    uintptr_t base = (uintptr_t)UT_OK(sys_reserve(0, 2 * UT_PAGE, SYS_PROT_RW, 0));
    UT_OK(sys_commit(base, UT_PAGE, 0));
    memset((void *)base, fill, UT_PAGE);
    return base;
}

static void bad_write_buffers(void)
{
    ut_log("write: NULL, kernel, wrapping, past the user half, across a hole, bad fd");
    UT_ERR(sys_write(1, NULL, 10), EFAULT);
    UT_ERR(sys_write(1, (void *)KERNEL_TEXT, 16), EFAULT);
    UT_ERR(sys_write(1, (void *)LAST_PAGE, 0x2000), EFAULT);
    UT_ERR(sys_write(1, (void *)(USER_SPACE_END - 16), 0x20), EFAULT);
    UT_ERR(sys_write(1, (void *)(hole_page + UT_PAGE - 8), 16), EFAULT);
    /* all or nothing: an unreadable tail beyond the first chunk is -EFAULT, not a short count */
    UT_ERR(sys_write(1, (void *)(hole_page + UT_PAGE - 600), 700), EFAULT);
    /* the whole range is checked before the length is cut to SYS_WRITE_MAX */
    UT_ERR(sys_write(1, (void *)hole_page, (size_t)-1), EFAULT);             /* wraps */
    UT_ERR(sys_write(1, (void *)USER_INFO_ADDR, 0x40000000u), EFAULT);      /* reaches the end */
    UT_ERR(sys_write(1, (void *)(USER_INFO_ADDR + 8), UT_PAGE), EFAULT);     /* unmapped tail */
    UT_ERR(sys_write(7, "x", 1), EBADF);
    UT_EQ(sys_write(1, NULL, 0), 0);
    /* a readable buffer longer than the first chunk is written whole */
    static const char line[] = "hostile_syscalls: a write of more than one 256-byte chunk,"
                               " checked page by page before any of it was printed, arrives"
                               " whole: the count returned is the length asked for, neither"
                               " less nor more, and nothing else was printed before it; this"
                               " sentence is long enough to need two chunks of the copy loop.\n";
    UT_EQ(sys_write(1, line, sizeof line - 1), sizeof line - 1);
}

static void bad_strings(void)
{
    ut_log("spawn: NULL, kernel, unterminated before a hole, too long, unknown");
    UT_ERR(sys_spawn(NULL, 0), EFAULT);
    UT_ERR(sys_spawn((const char *)KERNEL_TEXT, 0), EFAULT);
    UT_ERR(sys_spawn((const char *)(hole_page + UT_PAGE - 10), 0), EFAULT); /* 10 'x', hole */
    UT_ERR(sys_spawn((const char *)(hole_page + UT_PAGE - 40), 0), ENAMETOOLONG);
    UT_ERR(sys_spawn("a-name-far-too-long-for-any-initrd-file", 0), ENAMETOOLONG);
    UT_ERR(sys_spawn("no-such-program", 0), ENOENT);
    UT_ERR(sys_spawn("", 0), ENOENT);
}

static void bad_destinations(void)
{
    struct sys_region_info q;
    struct sys_memstat ms;
    ut_log("query/memstat: NULL, kernel, read-only text and info page, across a hole");
    UT_ERR(sys_memstat(NULL), EFAULT);
    UT_ERR(sys_memstat((struct sys_memstat *)KERNEL_TEXT), EFAULT);
    UT_ERR(sys_memstat((struct sys_memstat *)(uintptr_t)&bad_destinations), EFAULT);
    UT_ERR(sys_memstat((struct sys_memstat *)USER_INFO_ADDR), EFAULT);
    UT_ERR(sys_memstat((struct sys_memstat *)(hole_page + UT_PAGE - 8)), EFAULT);
    UT_ERR(sys_query(hole_page, NULL), EFAULT);
    UT_ERR(sys_query(hole_page, (struct sys_region_info *)KERNEL_TEXT), EFAULT);
    UT_ERR(sys_query(KERNEL_TEXT, &q), EFAULT);
    UT_ERR(sys_query(0, &q), EFAULT);
    UT_ERR(sys_query(0x80000000u, &q), ENOENT); /* user space, but nothing there */
    UT_OK(sys_memstat(&ms));
}

static void memory_given_back(void)
{
    ut_log("memory just given back: released, decommitted, above the break");
    uintptr_t gone = (uintptr_t)UT_OK(sys_reserve(0, UT_PAGE, SYS_PROT_RW, SYS_RESERVE_COMMIT));
    memcpy((void *)gone, "given back\n", 11);
    UT_OK(sys_release(gone, UT_PAGE));
    UT_ERR(sys_write(1, (void *)gone, 11), EFAULT);
    UT_ERR(sys_release(gone, UT_PAGE), ENOENT);
    UT_ERR(sys_commit(gone, UT_PAGE, 0), ENOENT);

    uintptr_t dec = (uintptr_t)UT_OK(sys_reserve(0, UT_PAGE, SYS_PROT_RW, SYS_RESERVE_COMMIT));
    memcpy((void *)dec, "decommitted\n", 12);
    UT_OK(sys_decommit(dec, UT_PAGE, 0));
    UT_ERR(sys_write(1, (void *)dec, 12), EFAULT);
    UT_OK(sys_release(dec, UT_PAGE));

    long cur = UT_OK(sys_sbrk(0));
    uintptr_t above = ut_page_up((uintptr_t)cur);
    UT_ERR(sys_write(1, (void *)above, 4), EFAULT);
    UT_ERR(sys_commit(above, UT_PAGE, 0), EPERM); /* the break area above the break */
}

static void bad_region_arguments(void)
{
    const volatile struct user_info *info = user_info();
    ut_log("region calls: sizes, alignment, flags, ranges, the kernel's own areas");
    UT_ERR(sys_reserve(0, 0, SYS_PROT_RW, 0), EINVAL);
    UT_ERR(sys_reserve(0, 100, SYS_PROT_RW, 0), EINVAL);
    UT_ERR(sys_reserve(0x50000001u, UT_PAGE, SYS_PROT_RW, 0), EINVAL);
    UT_ERR(sys_reserve(0, UT_PAGE, 0x8, 0), EINVAL);
    UT_ERR(sys_reserve(0, UT_PAGE, SYS_PROT_RW, 0x80), EINVAL);
    UT_ERR(sys_reserve(KERNEL_TEXT, UT_PAGE, SYS_PROT_RW, 0), EFAULT);
    UT_ERR(sys_reserve(USER_SPACE_END - UT_PAGE, 2 * UT_PAGE, SYS_PROT_RW, 0), EFAULT);
    UT_ERR(sys_reserve(LAST_PAGE, 2 * UT_PAGE, SYS_PROT_RW, 0), EFAULT);
    UT_ERR(sys_reserve(0, LAST_PAGE, SYS_PROT_RW, 0), ENOMEM);
    UT_ERR(sys_reserve(info->image_start, UT_PAGE, SYS_PROT_RW, 0), EEXIST);
    UT_ERR(sys_reserve(hole_page, UT_PAGE, SYS_PROT_RW, 0), EEXIST);
    UT_EQ((uintptr_t)UT_OK(sys_reserve(LONE_PAGE, UT_PAGE, SYS_PROT_RW, 0)), LONE_PAGE);

    UT_ERR(sys_commit(hole_page + 12, UT_PAGE, 0), EINVAL);
    UT_ERR(sys_commit(hole_page, UT_PAGE, 0x10), EINVAL);
    UT_ERR(sys_commit(LONE_PAGE, 2 * UT_PAGE, 0), ENOENT); /* past its reservation */
    UT_ERR(sys_commit(KERNEL_TEXT, UT_PAGE, 0), EFAULT);
    UT_ERR(sys_commit(LAST_PAGE, 2 * UT_PAGE, 0), EFAULT);
    UT_ERR(sys_protect(hole_page, UT_PAGE, 0x8), EINVAL);
    UT_ERR(sys_release(hole_page, 0), EINVAL);

    UT_ERR(sys_commit(info->image_start, UT_PAGE, 0), EPERM);
    UT_ERR(sys_protect(info->image_start, UT_PAGE, SYS_PROT_RW), EPERM);
    UT_ERR(sys_protect(USER_INFO_ADDR, UT_PAGE, SYS_PROT_RW), EPERM);
    UT_ERR(sys_release(info->image_start, UT_PAGE), EPERM);
    UT_ERR(sys_release(info->stack_low, UT_PAGE), EPERM);
    UT_ERR(sys_decommit(info->stack_low, UT_PAGE, 0), EPERM);
    UT_ERR(sys_release(info->brk_start, UT_PAGE), EPERM);
    UT_ERR(sys_release(USER_LOW_START, UT_PAGE), EPERM);
}

static void bad_wait_and_numbers(void)
{
    int status = -1;
    ut_log("wait: not a child, bad status pointer; unknown call numbers");
    UT_ERR(sys_wait(SYS_WAIT_ANY, NULL), ECHILD);
    UT_ERR(sys_wait(12345, NULL), ECHILD);
    UT_ERR(sys_wait(0, NULL), ECHILD);
    long child = UT_OK(sys_spawn("child_exit", 0));
    UT_ERR(sys_wait((int)child, (int *)KERNEL_TEXT), EFAULT);
    UT_EQ(sys_wait((int)child, &status), child); /* the failed wait did not reap it */
    UT_CHECK(SYS_WAIT_EXITED(status));
    UT_ERR(sys_call(0, 0, 0, 0, 0, 0), ENOSYS);
    UT_ERR(sys_call(SYS_COUNT, 0, 0, 0, 0, 0), ENOSYS);
    UT_ERR(sys_call(-1, 0, 0, 0, 0, 0), ENOSYS);
    UT_ERR(sys_call(0x7FFFFFFF, 0, 0, 0, 0, 0), ENOSYS);
}

int main(void)
{
    hole_page = page_then_hole('x');
    bad_write_buffers();
    bad_strings();
    bad_destinations();
    memory_given_back();
    bad_region_arguments();
    bad_wait_and_numbers();
    ut_pass();
}
