/*
 * tests/host/harness.c - main() for every hosted test program (see harness.h).
 */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TESTS 512

static const struct host_test *tests[MAX_TESTS];
static int test_count;
static int current_failed;
static uint64_t rng_state;

void harness_register(const struct host_test *t)
{
    if (test_count == MAX_TESTS) {
        fprintf(stderr, "harness: more than %d tests\n", MAX_TESTS);
        exit(2);
    }
    tests[test_count++] = t;
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    if (current_failed++)
        return; /* the first failure is the one worth reading */
    va_list ap;
    va_start(ap, fmt);
    printf("#   %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

int harness_failed(void)
{
    return current_failed;
}

uint64_t harness_seed(void)
{
    const char *s = getenv("HARNESS_SEED");
    return s ? strtoull(s, NULL, 0) : 0x9E3779B97F4A7C15ull;
}

uint64_t harness_rand(void)
{
    /* xorshift64*: small, fast, and good enough to drive test sequences */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, n = 0;
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < test_count; i++) {
        if (!selected(tests[i]->name, argc, argv))
            continue;
        current_failed = 0;
        rng_state = harness_seed() ^ (0x100000001B3ull * (uint64_t)(i + 1));
        tests[i]->fn();
        n++;
        if (current_failed) {
            printf("not ok %d - %s\n", n, tests[i]->name);
            failed++;
        } else {
            printf("ok %d - %s\n", n, tests[i]->name);
            passed++;
        }
    }
    printf("# %s: %d passed, %d failed\n", prog, passed, failed);
    return failed ? 1 : 0;
}
