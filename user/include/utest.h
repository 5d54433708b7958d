/*
 * user/include/utest.h - checks for the ring-3 test programs (user/lib/utest.c).
 *
 * A test program says what it does on the console (ut_log prints
 * "NAME[PID]: ..."), checks with the UT_ macros and ends with ut_pass():
 * exit status 0.  A failed check prints "NAME[PID]: FAIL file:line: ..."
 * and exits with UT_EXIT_FAILED.  A program whose behaviour is to be killed
 * calls ut_survived() right after the forbidden action: it prints what
 * should have killed it and exits with UT_EXIT_SURVIVED, so the kernel's
 * test run sees an exit where it expected a kill.
 */
#ifndef USER_UTEST_H
#define USER_UTEST_H

#include "sys.h"

#define UT_EXIT_FAILED 1
#define UT_EXIT_SURVIVED 2

#define UT_PAGE 4096u

/*
 * The first page of the kernel's text (where its linker script puts it):
 * ring 3 may neither read, write nor execute it.
 */
#if defined(__x86_64__)
#define UT_KERNEL_TEXT 0xFFFFFFFF80100000ull
#else
#define UT_KERNEL_TEXT 0xC0100000u
#endif

static inline uintptr_t ut_page_up(uintptr_t a)
{
    return (a + UT_PAGE - 1) & ~(uintptr_t)(UT_PAGE - 1);
}

/*
 * For the NX tests: write `mov eax, UT_EXEC_MAGIC; ret` (the same bytes in
 * 32- and 64-bit mode) into writable memory at `buf` (8 bytes) and call it.
 * Where the page tables have an execute-disable bit the call faults and
 * the kernel kills the program; without one the code runs and returns
 * UT_EXEC_MAGIC, and the program then ends with ut_exit_no_nx.
 */
#define UT_EXEC_MAGIC 0x4E58
#define UT_EXIT_NO_NX 3
int ut_exec_data(volatile unsigned char *buf);
/* Log that `what` executed (no NX), check the code's result, exit with UT_EXIT_NO_NX. */
__attribute__((noreturn)) void ut_exit_no_nx(int result, const char *what);

void ut_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn, format(printf, 3, 4))) void ut_fail(const char *file, int line,
                                                             const char *fmt, ...);
__attribute__((noreturn)) void ut_pass(void);
__attribute__((noreturn)) void ut_survived(const char *what);

/* Fail unless the condition holds. */
#define UT_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ut_fail(__FILE__, __LINE__, "%s", #cond);                                              \
    } while (0)

/* Fail unless a == b (compared and printed as unsigned 64-bit). */
#define UT_EQ(a, b)                                                                                \
    do {                                                                                           \
        unsigned long long ua_ = (unsigned long long)(a), ub_ = (unsigned long long)(b);           \
        if (ua_ != ub_)                                                                            \
            ut_fail(__FILE__, __LINE__, "%s == %s (0x%llx != 0x%llx)", #a, #b, ua_, ub_);          \
    } while (0)

/* A system call that must fail with exactly -err. */
#define UT_ERR(call, err) ut_expect_err((call), (err), #call, __FILE__, __LINE__)

/* A system call that must succeed; evaluates to its result. */
#define UT_OK(call) ut_expect_ok((call), #call, __FILE__, __LINE__)

void ut_expect_err(long result, int err, const char *what, const char *file, int line);
long ut_expect_ok(long result, const char *what, const char *file, int line);

/*
 * Touch the next 16 KiB of stack below the caller, so that later calls
 * (printf, the system-call stubs) run on pages that already have frames and
 * a test can count the frames it causes exactly.
 */
void ut_stack_warm(void);

/* The name of an errno value ("EFAULT"), or "E?" for one this libc does not know. */
const char *ut_errno_name(int err);

#endif /* USER_UTEST_H */
