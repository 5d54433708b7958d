/*
 * user/lib/utest.c - the checks of user/include/utest.h.
 *
 * Every line a test program prints starts with its name and pid, taken
 * from the info page, so the kernel's test log reads like a transcript:
 * "sbrk_big[7]: growing the break by 100 MiB".
 */
#include "utest.h"
#include "stdio.h"

#include <stdarg.h>

/* "NAME[PID]" of this process, made once. */
static const char *self(void)
{
    static char tag[SYS_NAME_MAX + 16];
    if (!tag[0]) {
        char name[SYS_NAME_MAX];
        const volatile struct user_info *info = user_info();
        for (unsigned i = 0; i < SYS_NAME_MAX; i++)
            name[i] = info->name[i];
        name[SYS_NAME_MAX - 1] = 0;
        snprintf(tag, sizeof tag, "%s[%ld]", name, sys_getpid());
    }
    return tag;
}

/* One line: tag, the formatted message, newline - a single write. */
static void say(const char *prefix, const char *fmt, va_list ap)
{
    char msg[200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    printf("%s: %s%s\n", self(), prefix, msg);
}

void ut_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
}

void ut_fail(const char *file, int line, const char *fmt, ...)
{
    char where[96];
    va_list ap;
    snprintf(where, sizeof where, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    say(where, fmt, ap);
    va_end(ap);
    sys_exit(UT_EXIT_FAILED);
}

void ut_pass(void)
{
    ut_log("PASS");
    sys_exit(0);
}

void ut_survived(const char *what)
{
    ut_log("FAIL: still alive after %s", what);
    sys_exit(UT_EXIT_SURVIVED);
}

int ut_exec_data(volatile unsigned char *buf)
{
    /* mov eax, UT_EXEC_MAGIC; ret */
    static const unsigned char code[] = {0xB8, UT_EXEC_MAGIC & 0xFF, UT_EXEC_MAGIC >> 8, 0, 0,
                                         0xC3};
    for (unsigned i = 0; i < sizeof code; i++)
        buf[i] = code[i];
    int (*run)(void) = (int (*)(void))(uintptr_t)buf;
    return run();
}

void ut_exit_no_nx(int result, const char *what)
{
    UT_EQ(result, UT_EXEC_MAGIC);
    ut_log("no NX in these page tables: %s is executable", what);
    sys_exit(UT_EXIT_NO_NX);
}

#define WARM_BYTES (16u << 10)

void ut_stack_warm(void)
{
    volatile unsigned char depth[WARM_BYTES];
    for (unsigned i = 0; i < WARM_BYTES; i += UT_PAGE / 2)
        depth[i] = 1;
    depth[WARM_BYTES - 1] = depth[0]; /* a read too: the array is used, not just set */
}

static const struct {
    int err;
    const char *name;
} errno_names[] = {{EPERM, "EPERM"},     {ENOENT, "ENOENT"},
                   {ESRCH, "ESRCH"},     {E2BIG, "E2BIG"},
                   {ENOEXEC, "ENOEXEC"}, {ECHILD, "ECHILD"},
                   {EAGAIN, "EAGAIN"},   {ENOMEM, "ENOMEM"},
                   {EFAULT, "EFAULT"},   {EBUSY, "EBUSY"},
                   {EEXIST, "EEXIST"},   {EINVAL, "EINVAL"},
                   {ENOSYS, "ENOSYS"},   {ENAMETOOLONG, "ENAMETOOLONG"}};

const char *ut_errno_name(int err)
{
    for (unsigned i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].err == err)
            return errno_names[i].name;
    return "E?";
}

void ut_expect_err(long result, int err, const char *what, const char *file, int line)
{
    if (result == -err)
        return;
    if (sys_failed(result))
        ut_fail(file, line, "%s: wanted -%s, got -%s (%ld)", what, ut_errno_name(err),
                ut_errno_name((int)-result), result);
    ut_fail(file, line, "%s: wanted -%s, but it succeeded (%ld = 0x%lx)", what, ut_errno_name(err),
            result, (unsigned long)result);
}

long ut_expect_ok(long result, const char *what, const char *file, int line)
{
    if (sys_failed(result))
        ut_fail(file, line, "%s failed with -%s (%ld)", what, ut_errno_name((int)-result), result);
    return result;
}
