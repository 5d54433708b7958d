/*
 * kernel/ktest.c - the in-kernel test runner (see ktest.h for the protocol).
 */
#include "kernel/ktest.h"
#include "karch.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "kernel/panic.h"
#include "lib/format.h"
#include "kernel/kmalloc.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <stdarg.h>
#include <string.h>

extern const struct ktest __ktests_start[], __ktests_end[];

static int failures;
static char first_failure[192];
static const char *skipped; /* the running test's reason for not applying, or NULL */
static unsigned skips;        /* tests of the current run that did not apply */

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
    if (failures++)
        return; /* the first failure explains the test; later ones are consequences */
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    fmt_snprintf(first_failure, sizeof first_failure, "%s:%d: %s", base ? base + 1 : file, line,
                 what);
}

void ktest_skip(const char *why)
{
    skipped = why;
}

int ktest_failures(void)
{
    return failures;
}

static const struct ktest *find(const char *name)
{
    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return 0;
}

/* List every test: the host driver uses this to learn which fault tests exist. */
static void list_tests(void)
{
    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
        if (t->skip)
            kprintf("ktest: has skipped-fault %s: %s\n", t->name, t->skip);
        else
            kprintf("ktest: has %s %s%s%s\n",
                    t->expect_fault ? "fault" : t->long_run ? "long" : "test", t->name,
                    t->cpu ? " cpu=" : "", t->cpu ? t->cpu : "");
}

/*
 * What a test must give back: its frames, and the kernel heap's live blocks
 * (a forgotten kfree).  Three layers keep frames on purpose and are counted
 * as if free: the kernel heap (its caches - empty slabs, the general heap's
 * hysteresis - live in its region and in page-allocator blocks), the VMM's
 * region-record pages (one empty page is kept, docs/vmm.md) and the kernel
 * half's page tables (all made at boot on i686; made on demand and kept,
 * since every space shares them, on x86-64).  So a test's
 * own page-allocator blocks are not covered here: such tests check their
 * frames themselves.
 */
struct footprint {
    size_t frames;
    size_t kheap_blocks;
};

/* Frames backing kernel-heap memory: its region and every page-allocator block. */
static size_t cached_frames(void)
{
    size_t frames = 0;
    struct vmm_region_info info;
    for (uintptr_t a = VMM_KREGION_START;
         a < VMM_KREGION_END && vmm_query_region_next(vmm_kernel_space(), a, &info) == 0;
         a = info.end)
        if ((info.flags & VMM_REGION_PAGES) || kheap_owns_address(info.start))
            frames += info.backed;
    return frames;
}

static struct footprint footprint(void)
{
    struct heap_stats st;
    struct vmm_stats vs;
    heap_stats(kheap(), &st);
    vmm_get_stats(&vs);

    return (struct footprint){pmm_free_frames() + cached_frames() + vs.meta_pages +
                                  vs.kernel_page_tables,
                              st.live_blocks};
}

static void check_footprint(const struct ktest *t, struct footprint before)
{
    struct footprint after = footprint();
    if (after.frames != before.frames)
        ktest_fail(t->file, 0, "free frames %zu before, %zu after: %s %zu frames", before.frames,
                   after.frames, after.frames < before.frames ? "leaked" : "freed foreign",
                   after.frames < before.frames ? before.frames - after.frames
                                                : after.frames - before.frames);
    else if (after.kheap_blocks != before.kheap_blocks)
        ktest_fail(t->file, 0, "kernel heap had %zu live blocks before, %zu after",
                   before.kheap_blocks, after.kheap_blocks);
}

/* One test: 1 if it passed or does not apply here, 0 if it failed. */
static int run_one(const struct ktest *t)
{
    failures = 0;
    skipped = t->skip;
    struct footprint before = footprint();
    if (!skipped)
        t->fn();
    unsigned missing = mm_port_expect_reports(0);
    if (missing && !failures)
        ktest_fail(t->file, 0, "%u misuse report%s announced but never made", missing,
                   missing == 1 ? "" : "s");
    if (!failures && !t->expect_fault)
        check_footprint(t, before);
    if (skipped && !failures) {
        kprintf("ktest: skip %s: %s\n", t->name, skipped);
        skips++;
    }
    else if (failures)
        kprintf("ktest: FAIL %s: %s\n", t->name, first_failure);
    else
        kprintf("ktest: ok %s\n", t->name);
    return failures == 0;
}

/*
 * Run all ordinary tests but the long ones (only NULL or "") or the one named, printing the
 * protocol lines; *planned and *passed receive the counts.  A fault test
 * runs only when allow_fault is set (it is expected not to return; if it
 * does, that is a failure).  Returns 0, or -1 when `only` names no test
 * (nothing was run, the counts are 0).  Saves and restores the running
 * test's failure state, so a test may run others (the monitor's `test`).
 */
static int run_suite(const char *only, int allow_fault, unsigned *planned, unsigned *passed)
{
    int saved_failures = failures;
    const char *saved_skipped = skipped;
    unsigned saved_skips = skips;
    skips = 0;
    char saved_first[sizeof first_failure];
    memcpy(saved_first, first_failure, sizeof saved_first);
    *planned = *passed = 0;
    if (only && *only) {
        const struct ktest *t = find(only);
        if (!t || (t->expect_fault && !allow_fault)) {
            skips = saved_skips;
            return -1;
        }
        kprintf("ktest: plan 1\n");
        if (t->expect_fault)
            kprintf("ktest: expecting a fault report containing \"%s\"\n", t->expect_fault);
        *passed = run_one(t) && (!t->expect_fault || t->skip);
        if (t->expect_fault && !t->skip)
            kprintf("ktest: FAIL %s: returned without the expected fault\n", t->name);
        *planned = 1;
    } else {
        for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
            *planned += !t->expect_fault && !t->long_run;
        kprintf("ktest: plan %u\n", *planned);
        for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
            if (!t->expect_fault && !t->long_run)
                *passed += run_one(t);
    }
    kprintf("ktest: done %u passed, %u failed, %u skipped\n", *passed - skips, *planned - *passed,
            skips);
    skips = saved_skips;
    failures = saved_failures;
    skipped = saved_skipped;
    memcpy(first_failure, saved_first, sizeof first_failure);
    return 0;
}

int ktest_run_inline(const char *only, unsigned *planned, unsigned *passed)
{
    return run_suite(only, 0, planned, passed);
}

const char *ktest_name(unsigned index)
{
    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
        if (!t->expect_fault && index-- == 0)
            return t->name;
    return 0;
}

int ktest_is_fault_test(const char *name)
{
    const struct ktest *t = find(name);
    return t ? t->expect_fault != 0 : -1;
}

/*
 * Run the tests: all ordinary ones when `only` is empty, else the one named
 * (which may be a fault test: then reaching the end is itself a failure).
 * Never returns: leaves QEMU with KTEST_EXIT_PASS or KTEST_EXIT_FAIL.
 */
void ktest_run(const char *only)
{
    unsigned planned, passed;
    panic_set_test_mode(1);
    list_tests();
    if (run_suite(only, 1, &planned, &passed) < 0) {
        kprintf("ktest: plan 1\nktest: FAIL %s: no such test\n", only);
        qemu_exit(KTEST_EXIT_FAIL);
        cpu_halt_forever();
    }
    qemu_exit(passed == planned ? KTEST_EXIT_PASS : KTEST_EXIT_FAIL);
    cpu_halt_forever();
}

/*
 * Deliberate misbehaviour, so the host driver can prove that it notices each
 * way a test boot can go wrong (scripts/test.sh, "driver self-checks").
 * `ktest-selfcheck=WHAT` on the command line; never returns.
 */
void ktest_selfcheck(const char *what)
{
    if (strcmp(what, "triple") == 0) {
        /* an empty IDT: the breakpoint cannot be delivered, nor the #GP, nor the #DF */
        static const struct __attribute__((packed)) { uint16_t limit; uintptr_t base; } none = {0, 0};
        kprintf("ktest: plan 1\n");
        __asm__ volatile("lidt %0; int3" : : "m"(none));
    } else if (strcmp(what, "hang") == 0) {
        kprintf("ktest: plan 1\n");
        cpu_halt_forever();
    } else if (strcmp(what, "short") == 0) {
        kprintf("ktest: plan 3\nktest: ok first\n");
        qemu_exit(KTEST_EXIT_PASS);
    } else if (strcmp(what, "noplan") == 0) {
        kprintf("ktest: ok lonely\n");
        qemu_exit(KTEST_EXIT_PASS);
    } else if (strcmp(what, "liar") == 0) {
        kprintf("ktest: plan 1\nktest: ok fine\n");
        qemu_exit(KTEST_EXIT_FAIL);
    }
    kprintf("ktest-selfcheck: unknown mode \"%s\"\n", what);
    cpu_halt_forever();
}
