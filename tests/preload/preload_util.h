/*
 * tests/preload/preload_util.h - what the programs run under libmm.so
 * share: TAP-like results and libmm's totals looked up at run time (the
 * programs also run on glibc, where there are none).
 */
#ifndef TESTS_PRELOAD_UTIL_H
#define TESTS_PRELOAD_UTIL_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/heap.h"

static int util_failed, util_count;

/* One result line: "ok N - what" or "not ok N - what". */
static inline void check(int cond, const char *what)
{
    util_count++;
    if (!cond)
        util_failed++;
    printf("%s %d - %s\n", cond ? "ok" : "not ok", util_count, what);
    fflush(stdout);
}

/* The summary line scripts/test.sh looks for; the exit status. */
static inline int done(const char *name)
{
    printf("# %s: %d passed, %d failed\n", name, util_count - util_failed, util_failed);
    return util_failed ? 1 : 0;
}

/* Name of the shared object that defines the function at fn ("" if unknown). */
static inline const char *module_of(void *fn)
{
    Dl_info info;
    if (!dladdr(fn, &info) || !info.dli_fname)
        return "";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

typedef int (*libmm_stats_fn)(struct heap_stats *sum, int print);

/* libmm's totals, or NULL when the program does not run on libmm. */
static inline libmm_stats_fn libmm_stats_lookup(void)
{
    return (libmm_stats_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "libmm_stats");
}

/*
 * Run fn between two readings of libmm's totals and check that the live
 * blocks came back to where they were ("what: no block leaked ...").
 * Returns the totals after (zero without libmm, where the check fails).
 */
static inline struct heap_stats check_no_leak_across(libmm_stats_fn stats, void (*fn)(void),
                                                     const char *what)
{
    struct heap_stats before = {0}, after = {0};
    if (stats)
        stats(&before, 0);
    fn();
    if (stats)
        stats(&after, 0);
    char line[200];
    snprintf(line, sizeof line, "%s: no block leaked (live blocks %zu before, %zu after)", what,
             before.live_blocks, after.live_blocks);
    check(stats && before.live_blocks == after.live_blocks, line);
    return after;
}

#endif /* TESTS_PRELOAD_UTIL_H */
