/*
 * tests/host/test_heap_debug.c - the debug guard allocator (mm/heap_debug.c).
 *
 * Over the hosted source in strict mode (deactivated pages are PROT_NONE).
 * A touch of a guard page or of a freed block must raise SIGSEGV: each such
 * access runs under sigsetjmp with a SIGSEGV handler that jumps back and
 * records the faulting address, so one test can check several traps.  The
 * misuse that is reported instead (double free, bad frees, signature
 * damage) is checked by the exact kind named in the report.
 */
#include "harness.h"
#include "heap_test_util.h"

#include "mm/heap.h"
#include "mm/heap_debug.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"

#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define PAGE 4096u
#define WINDOW ((size_t)4 << 20)

static struct heap_source *strict_source(void)
{
    struct source_linux_config cfg = {.capacity = 16u << 20, .flags = SOURCE_LINUX_STRICT};
    return source_linux_create(&cfg);
}

/* ------------------------------------------------------------ catching faults */

static sigjmp_buf fault_jump;
static volatile uintptr_t fault_address;

static void on_segv(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    fault_address = (uintptr_t)info->si_addr;
    siglongjmp(fault_jump, 1);
}

/* Touch *p (write if `write`); 1 if it faulted at exactly p, 0 if it went through. */
static int traps(volatile unsigned char *p, int write)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old);
    fault_address = 0;
    int faulted = 0;
    if (sigsetjmp(fault_jump, 1) == 0) {
        if (write)
            *p = 0x42;
        else
            (void)*p;
    } else {
        faulted = fault_address == (uintptr_t)p;
    }
    sigaction(SIGSEGV, &old, NULL);
    return faulted;
}

/* The kind of bug named by the last report, after "heap_debug: ". */
static int last_report_is(const char *kind)
{
    const char *r = mm_host_last_report();
    return strncmp(r, "heap_debug: ", 12) == 0 && strncmp(r + 12, kind, strlen(kind)) == 0;
}

/* Reports caused by freeing p (quietly). */
static int explains(struct heap *h, const void *addr, unsigned access, const char *text)
{
    char buf[192];
    if (!heap_debug_explain_access(h, (uintptr_t)addr, access, buf, sizeof buf))
        return 0;
    if (!strstr(buf, text)) {
        printf("#   explanation \"%s\" lacks \"%s\"\n", buf, text);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ placement and guards */

TEST(right_placement_overrun_traps_at_first_byte_past)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 64, 0);
    CHECK(p);
    CHECK_EQ(((uintptr_t)p + 64) % PAGE, 0); /* flush against the page end */
    CHECK_EQ(heap_size(h, p), 64);
    memset(p, 0x11, 64); /* the whole block is usable */
    CHECK(traps(p + 64, 1));
    CHECK(traps(p + 64, 0));
    CHECK(explains(h, p + 64, HEAP_DEBUG_ACCESS_WRITE, "out-of-bounds write 1 byte past block"));
    CHECK(explains(h, p + 70, HEAP_DEBUG_ACCESS_READ, "out-of-bounds read 7 bytes past block"));
    CHECK(!traps(p - 1, 1));              /* the left side is slack, not guard ... */
    CHECK_EQ(heap_free_reports(h, p), 1); /* ... and the damage is found at free */
    CHECK(last_report_is("signature corrupted (overrun into slack)"));
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(left_placement_underrun_traps_at_first_byte_before)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = HEAP_DEBUG_LEFT});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 100, 0);
    CHECK(p);
    CHECK_EQ((uintptr_t)p % PAGE, 0);
    CHECK(traps(p - 1, 0));
    CHECK(traps(p - 1, 1));
    CHECK(explains(h, p - 1, HEAP_DEBUG_ACCESS_READ, "out-of-bounds read 1 byte before block"));
    CHECK(traps(p + PAGE, 1)); /* the page after the body is the other guard */
    CHECK_EQ(heap_free_reports(h, p), 0);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(odd_size_overrun_into_slack_is_caught_at_free)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 73, 0);
    CHECK(p);
    CHECK_EQ(heap_size(h, p), 73);
    p[73] = 0; /* inside the alignment gap: no fault */
    mm_host_print_reports(0);
    CHECK_EQ(heap_check(h), 1);
    mm_host_print_reports(1);
    CHECK_EQ(heap_free_reports(h, p), 1);
    CHECK(last_report_is("signature corrupted (overrun into slack)"));
    CHECK(strstr(mm_host_last_report(), "+73 (73 bytes, allocated at 0x") != NULL);
    /* an intact odd-sized block frees silently */
    unsigned char *q = heap_alloc(h, 73, 0);
    memset(q, 0xFF, 73);
    CHECK_EQ(heap_free_reports(h, q), 0);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(left_placement_slack_after_block_is_checked)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = HEAP_DEBUG_LEFT});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 10, 0);
    p[10] = 1;
    CHECK_EQ(heap_free_reports(h, p), 1);
    CHECK(last_report_is("signature corrupted (overrun into slack)"));
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ after free */

TEST(use_after_free_traps_and_is_explained)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 256, 0);
    CHECK(p);
    memset(p, 7, 256);
    heap_free(h, p);
    CHECK(traps(p, 0));
    CHECK(traps(p + 8, 1));
    CHECK(explains(h, p + 8, HEAP_DEBUG_ACCESS_WRITE,
                   "use-after-free write at offset 8 of freed block"));
    CHECK(explains(h, p, HEAP_DEBUG_ACCESS_READ, "freed at 0x"));
    CHECK_EQ(heap_size(h, p), 0);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(double_interior_and_foreign_frees_are_reported_by_kind)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 48, 0);
    CHECK_EQ(heap_size(h, p + 1), 0);
    CHECK_EQ(heap_free_reports(h, p + 1), 1);
    CHECK(last_report_is("invalid free (interior pointer)"));
    static int not_heap;
    CHECK_EQ(heap_size(h, &not_heap), 0);
    CHECK_EQ(heap_free_reports(h, &not_heap), 1);
    CHECK(last_report_is("invalid free (not from this heap)"));
    CHECK_EQ(heap_size(h, p), 48); /* the refused frees changed nothing */
    CHECK_EQ(heap_free_reports(h, p), 0);
    CHECK_EQ(heap_free_reports(h, p), 1);
    CHECK(last_report_is("double free"));
    CHECK(strstr(mm_host_last_report(), "freed at 0x") != NULL);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK_EQ(st.reported_errors, 3);
    CHECK_EQ(st.live_blocks, 0);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ realloc, reuse, frames */

TEST(realloc_grow_and_shrink_keep_the_guard_at_the_new_end)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p = mm_malloc(h, 32);
    memset(p, 0x5A, 32);
    unsigned char *q = mm_realloc(h, p, 96);
    CHECK(q && q != p);
    CHECK_EQ(q[31], 0x5A);
    CHECK(traps(q + 96, 1));
    CHECK(traps(p, 0)); /* the old block is freed */
    unsigned char *r = mm_realloc(h, q, 16);
    CHECK(r && r != q);
    CHECK_EQ(r[15], 0x5A);
    CHECK(traps(r + 16, 0));
    CHECK(mm_realloc(h, r, 16) == r); /* same size: stays */
    mm_free(h, r);
    CHECK_EQ(heap_check(h), 0);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(freed_ranges_are_not_reused_until_the_window_wraps)
{
    struct heap_source *src = strict_source();
    const size_t window = 64 * PAGE;
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = window, .flags = 0});
    CHECK(h);
    unsigned char *first = heap_alloc(h, 8, 0);
    unsigned char *seen[64];
    size_t n = 0;
    heap_free(h, first);
    /* 3-page spans: 21 fit in 64 pages; all of them are new addresses */
    for (; n < 20; n++) {
        seen[n] = heap_alloc(h, 8, 0);
        CHECK(seen[n] && seen[n] != first);
        for (size_t k = 0; k < n; k++)
            CHECK(seen[k] != seen[n]);
        heap_free(h, seen[n]);
    }
    CHECK(heap_alloc(h, 8, 0) == first); /* the lap is done: back to the start */
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(live_blocks_are_stepped_over_when_the_cursor_wraps)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = 9 * PAGE, .flags = 0});
    CHECK(h);
    void *a = heap_alloc(h, 8, 0), *b = heap_alloc(h, 8, 0), *c = heap_alloc(h, 8, 0);
    CHECK(a && b && c);
    CHECK(heap_alloc(h, 8, 0) == NULL); /* full */
    heap_free(h, b);
    void *d = heap_alloc(h, 8, 0);
    CHECK(d == b); /* the only free span, found after stepping over a */
    heap_free(h, a);
    heap_free(h, c);
    heap_free(h, d);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(frames_go_back_at_free)
{
    struct heap_source *src = strict_source();
    struct source_linux_stats st;
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    source_linux_stats(src, &st);
    size_t base = st.committed;
    void *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = heap_alloc(h, 3 * PAGE, 0);
    source_linux_stats(src, &st);
    CHECK_EQ(st.committed - base, 8 * 3 * PAGE);
    for (int i = 0; i < 8; i++)
        heap_free(h, p[i]);
    source_linux_stats(src, &st);
    CHECK_EQ(st.committed, base);
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(alignments_and_sizes)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    for (size_t align = 16; align <= 4 * PAGE; align *= 2) {
        for (size_t size = 1; size < 3 * PAGE; size = size * 3 + 1) {
            unsigned char *p = heap_alloc(h, size, align);
            CHECK(p);
            CHECK_EQ((uintptr_t)p % align, 0);
            CHECK_EQ(heap_size(h, p), size);
            memset(p, 0xAB, size);
            CHECK_EQ(heap_free_reports(h, p), 0);
        }
    }
    CHECK(heap_alloc(h, WINDOW, 0) == NULL); /* bigger than the window */
    CHECK(heap_debug_create_with(
              src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0x80}) ==
          NULL); /* unknown flag */
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(records_identify_the_allocating_and_freeing_callers)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p = heap_alloc(h, 24, 0);
    uintptr_t here = (uintptr_t) && after_alloc;
after_alloc:;
    struct heap_debug_block b;
    CHECK(heap_debug_lookup(h, (uintptr_t)p + 30, &b)); /* in the guard: still this block */
    CHECK_EQ(b.address, (uintptr_t)p);
    CHECK_EQ(b.size, 24);
    CHECK(b.live);
    /* the recorded caller is this function (heap_alloc returned into it) */
    uintptr_t fn = (uintptr_t)test_records_identify_the_allocating_and_freeing_callers;
    CHECK(b.alloc_trace[0] > fn && b.alloc_trace[0] < here + 64);
    heap_free(h, p);
    CHECK(heap_debug_lookup(h, (uintptr_t)p, &b));
    CHECK(!b.live);
    CHECK(b.free_trace[0] > fn && b.free_trace[0] < fn + 4096);
    CHECK(!heap_debug_lookup(h, (uintptr_t)&b, &b));
    heap_debug_destroy(h);
    source_linux_destroy(src);
}

TEST(refuses_a_source_without_activate)
{
    struct source_linux_config cfg = {.capacity = 1u << 20, .flags = SOURCE_LINUX_NO_COMMIT};
    struct heap_source *src = source_linux_create(&cfg);
    CHECK(heap_debug_create_with(src, &(struct heap_debug_config){.window_bytes = 0, .flags = 0}) ==
          NULL);
    source_linux_destroy(src);
}

TEST(the_ring_remembers_the_last_256_frees)
{
    struct heap_source *src = strict_source();
    struct heap *h = heap_debug_create_with(
        src, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = 0});
    CHECK(h);
    unsigned char *p[300];
    for (int i = 0; i < 300; i++) {
        p[i] = heap_alloc(h, 16, 0);
        CHECK(p[i]);
        heap_free(h, p[i]);
    }
    char buf[160];
    CHECK(!heap_debug_explain(h, (uintptr_t)p[43], buf, sizeof buf)); /* forgotten */
    CHECK(heap_debug_explain(h, (uintptr_t)p[44], buf, sizeof buf));  /* the oldest kept */
    CHECK(heap_debug_explain(h, (uintptr_t)p[299], buf, sizeof buf));
    CHECK(traps(p[43], 0)); /* forgotten, still inaccessible */
    CHECK_EQ(heap_free_reports(h, p[43]), 1);
    CHECK(last_report_is("invalid free (not from this heap)"));
    CHECK_EQ(heap_free_reports(h, p[299]), 1);
    CHECK(last_report_is("double free"));
    heap_debug_destroy(h);
    source_linux_destroy(src);
}
