/*
 * kernel/ktest.h - in-kernel tests.
 *
 * A test is a function registered with KTEST(name) { ... } in any kernel
 * file (by convention kernel/test/test_*.c).  Registration puts a record in
 * the .ktests linker section; nothing else has to be edited to add a test.
 *
 * When the kernel is booted with `test` on its command line it runs every
 * ordinary test, prints "ktest: plan N", one "ktest: ok NAME" or
 * "ktest: FAIL NAME: file:line: message" line per test and
 * "ktest: done P passed, F failed", then leaves QEMU through isa-debug-exit.
 *
 * Every ordinary test must give back what it took: the runner compares the
 * free frames (plus the frames the kernel heap keeps cached) and the kernel
 * heap's live blocks before and after, and fails a test that leaks (or
 * frees what it did not own).
 *
 * KTEST_FAULT(name, "expected text") registers a test that must end in a
 * fault (a null dereference, a stack overflow...).  Such tests run one per
 * boot, with `test=NAME` on the command line; the host driver passes them
 * when the kernel's fault report contains the expected text and the
 * fault exit code is seen.
 *
 * A test that does not apply here (an i686-only mechanism on x86-64, a CPU
 * feature QEMU's model lacks) says so instead of being silently absent:
 * an ordinary test calls KT_SKIP("reason") and prints "ktest: skip NAME:
 * reason"; a fault test registered with KTEST_FAULT_IF(name, cond, "reason",
 * ...) is listed as "ktest: has skipped-fault NAME: reason" when cond is
 * false.  The host driver counts both as skipped, with the reason.
 */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include <stdint.h>

struct ktest {
    const char *name;
    void (*fn)(void);
    const char *expect_fault; /* NULL for an ordinary test */
    const char *cpu;          /* QEMU -cpu model the test needs, NULL for the default */
    const char *file;
    int long_run; /* KTEST_LONG: only when named (`test=NAME`), in a boot of its own */
    const char *skip; /* why this test does not apply to this build, NULL when it does */
};

/* Records are machine words apart: the section is walked as an array. */
#define KTEST_DEFINE_(name, expect, cpu, long_run, skip)                                           \
    static void ktest_fn_##name(void);                                                             \
    __attribute__((used, section(".ktests"), aligned(sizeof(void *)))) static const struct ktest   \
        ktest_rec_##name = {#name, ktest_fn_##name, expect, cpu, __FILE__, long_run, skip};        \
    static void ktest_fn_##name(void)

#define KTEST(name) KTEST_DEFINE_(name, 0, 0, 0, 0)
/*
 * A long-running ordinary test (a soak): left out of the `test` run, which
 * every suite boot repeats; the host driver boots it alone with `test=NAME`
 * (it learns of it from "ktest: has long NAME").
 */
#define KTEST_LONG(name) KTEST_DEFINE_(name, 0, 0, 1, 0)
/* expected_report: pieces of text separated by '|', all of which must appear. */
#define KTEST_FAULT(name, expected_report) KTEST_DEFINE_(name, expected_report, 0, 0, 0)
/* A fault test that needs a CPU feature: the driver boots it with -cpu `cpu` (e.g. "max"). */
#define KTEST_FAULT_ON(name, cpu, expected_report) KTEST_DEFINE_(name, expected_report, cpu, 0, 0)
/*
 * A fault test that applies only where `cond` (a constant expression) holds;
 * elsewhere it is listed as skipped with `why_not` and never booted.
 */
#define KTEST_FAULT_IF(name, cond, why_not, cpu, expected_report)                                  \
    KTEST_DEFINE_(name, expected_report, cpu, 0, (cond) ? 0 : why_not)

/* Record a failure of the running test (the test goes on; the first message is printed). */
void ktest_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Mark the running test as not applying here, with the reason (printed once). */
void ktest_skip(const char *why);
/* Skip the running test: it does not apply to this build or CPU. */
#define KT_SKIP(why)                                                                               \
    do {                                                                                           \
        ktest_skip(why);                                                                           \
        return;                                                                                    \
    } while (0)

/* Check a condition; on failure record it and return from the test function. */
#define KT_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ktest_fail(__FILE__, __LINE__, "%s", #cond);                                           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Compare two unsigned integers; prints both values on failure. */
#define KT_EQ(a, b)                                                                                \
    do {                                                                                           \
        unsigned long long ka_ = (unsigned long long)(a), kb_ = (unsigned long long)(b);           \
        if (ka_ != kb_) {                                                                          \
            ktest_fail(__FILE__, __LINE__, "%s == %s (0x%llx != 0x%llx)", #a, #b, ka_, kb_);       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/*
 * Run the ordinary tests (only NULL or "": all of them) or the one named,
 * printing the usual protocol lines, and return to the caller instead of
 * leaving QEMU (the monitor's `test`).  Fault tests are refused.  Fills
 * *planned and *passed (a skipped test counts as passed: nothing is wrong);
 * returns 0, or -1 when `only` names no ordinary test.
 * May be called from inside a running test (its failure state is kept).
 */
int ktest_run_inline(const char *only, unsigned *planned, unsigned *passed);

/* 1 if `name` is a fault test, 0 if an ordinary one, -1 if there is none. */
int ktest_is_fault_test(const char *name);

/* The name of the index-th ordinary (non-fault) test, NULL past the last. */
const char *ktest_name(unsigned index);

/* Number of failures recorded in the running test so far. */
int ktest_failures(void);

/* Test helper: recurse with 256-byte frames until the stack runs out (never returns). */
unsigned recurse(unsigned depth);

/* Exit codes written to isa-debug-exit; QEMU exits with (v << 1) | 1. */
#define KTEST_EXIT_PASS  0x10 /* qemu status 33 */
#define KTEST_EXIT_FAIL  0x11 /* qemu status 35 */
#define KTEST_EXIT_FAULT 0x12 /* qemu status 37: a fault report was printed */

#endif /* KERNEL_KTEST_H */
