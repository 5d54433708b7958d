/*
 * tests/host/harness.h - a tiny unit-test harness for the hosted tests.
 *
 * Each tests/host/test_*.c file is one program.  It defines tests with
 *
 *     TEST(name) { CHECK(x == 1); CHECK_EQ(a, b); }
 *
 * and harness.c provides main(): it runs every registered test (or those
 * named on the command line), prints one TAP-like line per test
 * ("ok 3 - name" / "not ok 3 - name: file:line: what") and finishes with
 * "# FILE: P passed, F failed".  The exit status is 0 only if all passed.
 * scripts/test.sh adds the counts of every program into make test's total.
 *
 * A CHECK failure stops the test (return), the other tests still run.
 */
#ifndef TESTS_HOST_HARNESS_H
#define TESTS_HOST_HARNESS_H

#include <stdint.h>
#include <stdio.h>

struct host_test {
    const char *name;
    void (*fn)(void);
};

void harness_register(const struct host_test *t);
void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int harness_failed(void);
/* A fixed seed for randomized tests; HARNESS_SEED in the environment overrides it. */
uint64_t harness_seed(void);
/* xorshift64* generator seeded from harness_seed(); deterministic per test. */
uint64_t harness_rand(void);

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        static const struct host_test t = {#name, test_##name};                                    \
        harness_register(&t);                                                                      \
    }                                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            harness_fail(__FILE__, __LINE__, "%s", #cond);                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long ha_ = (unsigned long long)(a), hb_ = (unsigned long long)(b);           \
        if (ha_ != hb_) {                                                                          \
            harness_fail(__FILE__, __LINE__, "%s == %s (0x%llx != 0x%llx)", #a, #b, ha_, hb_);     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif /* TESTS_HOST_HARNESS_H */
