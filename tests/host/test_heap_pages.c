/*
 * tests/host/test_heap_pages.c - the page-aligned heap (mm/heap_pages.c).
 *
 * Runs the heap over the hosted source in its three shapes (grow only; grow
 * with activate/deactivate; with map/unmap too), through the shared shadow
 * model, and checks what the model cannot: alignments up to 64 KiB, the
 * footprint the SOURCE sees after everything is freed, misuse reports,
 * the record table growing and shrinking back, and a checker that notices
 * each corrupted record field.  A wrapping source verifies that every
 * source callback runs under the source lock and that the lock never nests.
 */
#include "harness.h"
#include "heap_test_util.h"
#include "lock_check.h"
#include "heap_shadow.h"

#include "mm/heap.h"
#include "mm/heap_pages.h"
#include "mm/heap_pages_internal.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/source_static.h"

#include <stdlib.h>
#include <string.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

/* ------------------------------------------------------------ a lock-checking source */

/*
 * Forwards to an inner source and checks the locking discipline: every
 * grow/map/unmap/activate/deactivate happens with the lock held, and the
 * lock is never taken twice.
 */

/* ------------------------------------------------------------ helpers */

static struct heap_source *linux_source(unsigned flags, size_t capacity)
{
    struct source_linux_config cfg = {.capacity = capacity, .map_limit = capacity, .flags = flags};
    return source_linux_create(&cfg);
}

static size_t source_committed(struct heap_source *src)
{
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    return st.committed + st.mapped;
}

static size_t held(struct heap *h)
{
    struct heap_stats st;
    heap_stats(h, &st);
    return st.bytes_held;
}

static size_t committed(struct heap *h)
{
    struct heap_stats st;
    heap_stats(h, &st);
    return st.bytes_committed;
}

/* Number of mm_report calls made by one heap_free. */
/* heap_check with reports silenced (for tests that corrupt things on purpose). */
/* Run the shadow stress; slack is what bytes_held may keep (grown memory stays). */
static unsigned long stress(struct heap *h, size_t max_size, size_t max_align, size_t slack,
                            unsigned long ops)
{
    struct heap_shadow_config cfg;
    struct heap_shadow_result res;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(ops);
    cfg.max_live = 200;
    cfg.min_size = 1;
    cfg.max_size = max_size;
    cfg.max_align = max_align;
    cfg.footprint_slack = slack;
    cfg.check_every = 2000;
    cfg.seed = harness_rand();
    heap_shadow_stress(h, &cfg, &res);
    if (res.errors)
        printf("#   shadow: %s\n", res.message);
    return res.errors;
}

/* ------------------------------------------------------------ shadow stress */

/* Grow only: no map, no decommit.  Memory stays held but must be reused. */
TEST(stress_grow_only)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_GROW_ONLY, 0);
    struct heap *h = heap_pages_create(src);
    CHECK(h != NULL);
    CHECK_EQ(stress(h, 256 * KIB, 64 * KIB, SIZE_MAX / 2, 20000), 0);
    size_t after_first = held(h);
    /* the same load again must fit into what the heap already holds */
    CHECK_EQ(stress(h, 256 * KIB, 64 * KIB, SIZE_MAX / 2, 20000), 0);
    CHECK(held(h) <= after_first + 2 * MIB);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* Grow with decommit (strict: touching a freed run faults): committed bytes return exactly. */
TEST(stress_grow_commit_strict)
{
    struct heap_source *src =
        linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_NO_SHRINK | SOURCE_LINUX_STRICT, 0);
    struct heap *h = heap_pages_create(src);
    CHECK(h != NULL);
    size_t start = committed(h), src_start = source_committed(src);
    CHECK_EQ(stress(h, 512 * KIB, 64 * KIB, SIZE_MAX / 2, 20000), 0);
    CHECK_EQ(committed(h), start);
    CHECK_EQ(source_committed(src), src_start);
    source_linux_destroy(src);
}

/* With map: blocks are mappings, so held and committed both come back exactly. */
TEST(stress_mapped)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_SHRINK, 0);
    struct heap *h = heap_pages_create(src);
    CHECK(h != NULL);
    size_t src_start = source_committed(src);
    CHECK_EQ(stress(h, 256 * KIB, 4 * KIB, 0, 20000), 0);
    CHECK_EQ(source_committed(src), src_start);
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    CHECK_EQ(st.mapped, 0);
    source_linux_destroy(src);
}

/* Every callback under the lock, never nested; a NOLOCK instance never locks. */
TEST(locking_discipline)
{
    struct heap_source *inner = linux_source(SOURCE_LINUX_NO_SHRINK, 0);
    struct lock_check lc;
    struct heap_source *src = lock_check_wrap(&lc, inner);
    struct heap *h = heap_pages_create(src);
    CHECK(h != NULL);
    CHECK_EQ(stress(h, 128 * KIB, 64 * KIB, SIZE_MAX / 2, 5000), 0);
    CHECK_EQ(lc.unlocked_calls, 0);
    CHECK_EQ(lc.max_depth, 1);
    CHECK_EQ(lc.depth, 0);
    CHECK(lc.locks > 5000);

    unsigned long locks = lc.locks;
    lc.depth = 1; /* the owner of a NOLOCK instance holds the lock */
    struct heap *n = heap_pages_create_with(
        src, &(struct heap_pages_config){.flags = HEAP_PAGES_NOLOCK, .extra = 0}, NULL);
    CHECK(n != NULL);
    void *p = heap_alloc(n, 3 * 4096, 0);
    CHECK(p != NULL && heap_size(n, p) == 3 * 4096);
    heap_free(n, p);
    CHECK_EQ(heap_check(n), 0);
    CHECK_EQ(lc.locks, locks);
    CHECK_EQ(lc.unlocked_calls, 0);
    source_linux_destroy(inner);
}

/* ------------------------------------------------------------ alignment and sizes */

static void alignments_on(struct heap *h)
{
    for (size_t align = 1; align <= 64 * KIB; align *= 2) {
        size_t sizes[] = {1, align + 1, 3 * align / 2 + 7, 4096 + align - 1, 5 * 4096 + 3};
        void *p[5];
        for (int i = 0; i < 5; i++) {
            p[i] = heap_alloc(h, sizes[i], align);
            CHECK(p[i] != NULL);
            CHECK_EQ((uintptr_t)p[i] % align, 0);
            CHECK_EQ((uintptr_t)p[i] % 4096, 0);
            size_t usable = heap_size(h, p[i]);
            CHECK(usable >= sizes[i] && usable % 4096 == 0 && usable < sizes[i] + 4096);
            memset(p[i], 0xA5, usable);
        }
        CHECK_EQ(heap_check(h), 0);
        for (int i = 0; i < 5; i++)
            heap_free(h, p[i]);
    }
    CHECK_EQ(heap_check(h), 0);
}

TEST(alignments_grow_only)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_GROW_ONLY, 0);
    struct heap *h = heap_pages_create(src);
    alignments_on(h);
    source_linux_destroy(src);
}

TEST(alignments_mapped)
{
    struct heap_source *src = linux_source(0, 0);
    struct heap *h = heap_pages_create(src);
    size_t start = source_committed(src);
    alignments_on(h);
    CHECK_EQ(source_committed(src), start);
    source_linux_destroy(src);
}

/* A static buffer with a 256-byte grain: the page size comes from the source. */
TEST(static_source_small_pages)
{
    static _Alignas(4096) unsigned char buf[8 * 1024 * 1024];
    struct source_static ss;
    struct heap_source *src = source_static_init(&ss, buf, sizeof buf, 256);
    struct heap *h = heap_pages_create(src);
    CHECK(h != NULL);
    void *a = heap_alloc(h, 1, 0), *b = heap_alloc(h, 300, 1024);
    CHECK(a && b);
    CHECK_EQ((uintptr_t)a % 256, 0);
    CHECK_EQ((uintptr_t)b % 1024, 0);
    CHECK_EQ(heap_size(h, a), 256);
    CHECK_EQ(heap_size(h, b), 512);
    heap_free(h, a);
    heap_free(h, b);
    CHECK_EQ(stress(h, 16 * KIB, 4 * KIB, SIZE_MAX / 2, 5000), 0);
}

/* Requests no heap can satisfy, and alignments that are not powers of two. */
TEST(impossible_requests)
{
    struct heap_source *src = linux_source(0, 64 * MIB);
    struct heap *h = heap_pages_create(src);
    size_t before = held(h);
    CHECK(heap_alloc(h, SIZE_MAX, 0) == NULL);
    CHECK(heap_alloc(h, SIZE_MAX - 4095, 0) == NULL);
    CHECK(heap_alloc(h, HEAP_MAX_REQUEST, 0) == NULL);
    CHECK(heap_alloc(h, HEAP_MAX_REQUEST + 1, 0) == NULL);
    CHECK(heap_alloc(h, 100, 3) == NULL);
    CHECK(heap_alloc(h, 100, 4096 + 1) == NULL);
    CHECK(heap_alloc(h, 100, (size_t)1 << (sizeof(size_t) * 8 - 1)) == NULL);
    CHECK(heap_alloc(h, 65 * MIB, 0) == NULL);     /* more than the source has */
    CHECK(heap_alloc(h, 4096, 128 * MIB) == NULL); /* alignment beyond the source */
    /* the implementation itself refuses what the wrapper would have filtered */
    CHECK(h->ops->alloc(h, 0, 4096) == NULL);
    CHECK(h->ops->alloc(h, 100, 48) == NULL);
    CHECK_EQ(held(h), before);
    CHECK_EQ(heap_check(h), 0);
    void *p = heap_alloc(h, 10, 0);
    CHECK(p != NULL);
    heap_free(h, p);
    source_linux_destroy(src);
}

/* Allocate until the source is exhausted; everything still works afterwards. */
TEST(out_of_memory)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 4 * MIB);
    struct heap *h = heap_pages_create(src);
    void *blocks[2048];
    size_t n = 0;
    while (n < 2048 && (blocks[n] = heap_alloc(h, 4096 * (1 + n % 7), 0)) != NULL)
        n++;
    CHECK(n > 100 && n < 2048);
    CHECK_EQ(heap_check(h), 0);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK(st.failed_calls >= 1);
    for (size_t i = 0; i < n; i += 2)
        heap_free(h, blocks[i]);
    CHECK(heap_alloc(h, 4096, 0) != NULL);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ misuse */

static char global_probe[64];

TEST(foreign_interior_double_free)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap *h = heap_pages_create(src), *other = heap_pages_create(src);
    char local[16];
    char *p = heap_alloc(h, 3 * 4096, 0), *q = heap_alloc(other, 4096, 0);
    void *m = malloc(64);
    CHECK(p && q && m);
    struct heap_stats before, after;
    heap_stats(h, &before);
    void *bad[] = {p + 1, p + 4096, p + 2 * 4096, q, local, global_probe, m, (void *)4096};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(heap_size(h, bad[i]), 0);
        CHECK_EQ(heap_free_reports(h, bad[i]), 1);
    }
    CHECK_EQ(heap_size(h, NULL), 0);
    CHECK_EQ(heap_free_reports(h, NULL), 0);
    heap_stats(h, &after);
    CHECK_EQ(after.live_blocks, before.live_blocks);
    CHECK_EQ(after.bytes_in_use, before.bytes_in_use);
    CHECK_EQ(heap_size(h, p), 3 * 4096);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, p);
    CHECK_EQ(heap_free_reports(h, p), 1); /* double free */
    CHECK(strstr(mm_host_last_report(), "double free") || strstr(mm_host_last_report(), "freed"));
    CHECK_EQ(heap_check(h), 0);
    CHECK_EQ(heap_size(other, q), 4096);
    free(m);
    source_linux_destroy(src);
}

/* Double free of a mapped block: the record is gone, the pointer is refused all the same. */
TEST(double_free_mapped)
{
    struct heap_source *src = linux_source(0, 0);
    struct heap *h = heap_pages_create(src);
    void *p = heap_alloc(h, 8192, 0);
    CHECK(p != NULL);
    heap_free(h, p);
    CHECK_EQ(heap_free_reports(h, p), 1);
    CHECK_EQ(heap_size(h, p), 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ tags */

TEST(tags)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap *h = heap_pages_create(src);
    char *p = heap_alloc(h, 2 * 4096, 8192);
    CHECK(p != NULL);
    CHECK(heap_pages_tag(h, p) == NULL);
    CHECK_EQ(heap_pages_set_tag(h, p, &global_probe), 0);
    CHECK(heap_pages_tag(h, p) == &global_probe);
    CHECK(heap_pages_tag(h, p + 4096) == NULL);
    mm_host_print_reports(0);
    CHECK_EQ(heap_pages_set_tag(h, p + 4096, p), -1);
    mm_host_print_reports(1);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, p);
    CHECK(heap_pages_tag(h, p) == NULL);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ the record table */

/* Thousands of records: the table moves to a META run and comes back to the embedded one. */
TEST(table_grows_and_shrinks)
{
    enum { N = 3000 };
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_NO_SHRINK, 0);
    struct heap *h = heap_pages_create(src);
    static void *blocks[N];
    size_t start = committed(h), src_start = source_committed(src);
    /* every other block freed afterwards leaves N/2 separate free runs: N records */
    for (int i = 0; i < N; i++) {
        blocks[i] = heap_alloc(h, 4096, 0);
        CHECK(blocks[i] != NULL);
    }
    for (int i = 0; i < N; i += 2)
        heap_free(h, blocks[i]);
    CHECK_EQ(heap_check(h), 0);
    struct heap_stats st;
    heap_stats(h, &st);
    /* isolated by live neighbours, except where a freed block meets a segment's free tail */
    CHECK(st.free_blocks >= N / 2 - 16);
    for (int i = 1; i < N; i += 2)
        heap_free(h, blocks[i]);
    CHECK_EQ(heap_check(h), 0);
    CHECK_EQ(committed(h), start);
    CHECK_EQ(source_committed(src), src_start);
    heap_stats(h, &st);
    CHECK_EQ(st.live_blocks, 0);
    source_linux_destroy(src);
}

/* Segments that are not adjacent (a second user grows in between) stay separate runs. */
TEST(interleaved_segments)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap *h = heap_pages_create(src);
    void *a = heap_alloc(h, 64 * 4096, 0);
    CHECK(src->grow(src, 4096) != NULL); /* someone else's page */
    void *b = heap_alloc(h, 64 * 4096, 0);
    CHECK(a && b);
    heap_free(h, a);
    heap_free(h, b);
    CHECK_EQ(heap_check(h), 0);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK_EQ(st.free_blocks, 2);
    CHECK_EQ(st.largest_free, 64 * 4096);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ checker self-tests */

/* Flip one bit of *word; the checker must notice; flip back; clean again. */
static int detects_flip(struct heap *h, void *word, size_t bytes, unsigned bit)
{
    unsigned char *b = word;
    b[bit / 8 % bytes] ^= (unsigned char)(1u << bit % 8);
    int bad = heap_check_quietly(h);
    b[bit / 8 % bytes] ^= (unsigned char)(1u << bit % 8);
    return bad > 0 && heap_check(h) == 0;
}

#define FLIP(h, field, bit) detects_flip(h, &(field), sizeof(field), bit)

TEST(check_detects_corrupted_fields)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap *h = heap_pages_create(src);
    char *live = heap_alloc(h, 2 * 4096, 0), *gap = heap_alloc(h, 4096, 0);
    char *keep = heap_alloc(h, 4096, 0);
    CHECK(live && gap && keep);
    heap_free(h, gap); /* a free run between two live ones */
    CHECK_EQ(heap_check(h), 0);
    struct page_run *r = heap_pages_debug_run(h, live), *f = heap_pages_debug_run(h, gap);
    CHECK(r && f && r != f);
    CHECK(FLIP(h, r->start, 13));
    CHECK(FLIP(h, r->pages, 0));
    CHECK(FLIP(h, r->state, 2));
    CHECK(FLIP(h, r->origin, 1));
    CHECK(FLIP(h, r->self, 0));
    CHECK(FLIP(h, r->seal, 7));
    CHECK(FLIP(h, r->u.tag, 3));
    CHECK(FLIP(h, r->aprev, 0));
    CHECK(FLIP(h, r->anext, 1));
    CHECK(FLIP(h, r->hnext, 31));
    CHECK(FLIP(h, f->pages, 1));
    CHECK(FLIP(h, f->u.bin.prev, 0));
    CHECK(FLIP(h, f->u.bin.next, 4));
    CHECK(FLIP(h, f->state, 0));
    /* a double free found by lookups is refused while the record is corrupted */
    r->pages ^= 1;
    CHECK_EQ(heap_free_reports(h, live), 1);
    r->pages ^= 1;
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, live);
    heap_free(h, keep);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* Every single bit of a record, flipped one at a time, is noticed. */
static int every_bit_detected(struct heap *h, struct page_run *r, const char *what)
{
    for (unsigned bit = 0; bit < 8 * sizeof(struct page_run); bit++) {
        if (!detects_flip(h, r, sizeof(struct page_run), bit)) {
            printf("#   %s record: bit %u not detected\n", what, bit);
            return 0;
        }
    }
    return 1;
}

/* Exhaustively: a live (tagged) run, a free run, and a mapped block. */
TEST(check_detects_every_bit)
{
    struct heap_source *grown_src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap_source *map_src = linux_source(0, 0);
    struct heap *h = heap_pages_create(grown_src), *m = heap_pages_create(map_src);
    char *live = heap_alloc(h, 4096, 0), *gap = heap_alloc(h, 4096, 0);
    char *keep = heap_alloc(h, 4096, 0), *mapped = heap_alloc(m, 4096, 0);
    CHECK(live && gap && keep && mapped);
    heap_free(h, gap);
    CHECK_EQ(heap_pages_set_tag(h, live, keep), 0);
    CHECK(heap_pages_debug_run(h, live) && heap_pages_debug_run(h, gap));
    CHECK(heap_pages_debug_run(m, mapped) != NULL);
    CHECK(every_bit_detected(h, heap_pages_debug_run(h, live), "live"));
    CHECK(every_bit_detected(h, heap_pages_debug_run(h, gap), "free"));
    CHECK(every_bit_detected(m, heap_pages_debug_run(m, mapped), "mapped"));
    source_linux_destroy(grown_src);
    source_linux_destroy(map_src);
}

/* ------------------------------------------------------------ destroy */

TEST(destroy_returns_frames)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_SHRINK, 0);
    size_t start = source_committed(src);
    struct heap *h = heap_pages_create(src);
    CHECK(heap_alloc(h, 5 * 4096, 0) != NULL);
    CHECK(heap_alloc(h, 4096, 64 * KIB) != NULL);
    heap_pages_destroy(h);
    CHECK_EQ(source_committed(src), start);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ kept blocks */

static size_t source_calls(struct heap_source *src)
{
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    return st.grow_calls + st.map_calls + st.unmap_calls + st.activate_calls + st.deactivate_calls;
}

/*
 * HEAP_PAGES_KEEP: a freed block stays committed and comes back for the
 * next request of about its size without a single source call, while it is
 * refused like any freed block; a smaller request is cut from it and the
 * piece joins the rest again when freed; the budget bounds what is kept,
 * and trim gives all of it back.
 */
TEST(kept_blocks_are_reused_and_stay_exact)
{
    struct heap_source *src = linux_source(0, 0);
    struct heap *h =
        heap_pages_create_with(src, &(struct heap_pages_config){.flags = HEAP_PAGES_KEEP}, NULL);
    CHECK(h != NULL);
    size_t start = source_committed(src);
    char *p = heap_alloc(h, 100 * KIB, 0);
    CHECK(p != NULL);
    memset(p, 1, 100 * KIB);
    heap_free(h, p);
    CHECK_EQ(heap_size(h, p), 0);
    CHECK_EQ(heap_free_reports(h, p), 1); /* double free of a kept block */
    CHECK(strstr(mm_host_last_report(), "double free") != NULL);
    CHECK(heap_pages_tag(h, p) == NULL);
    CHECK_EQ(heap_check(h), 0);
    size_t calls = source_calls(src);
    char *q = heap_alloc(h, 96 * KIB, 0); /* within 1/8 of the kept block */
    CHECK(q == p);
    CHECK_EQ(source_calls(src), calls);
    CHECK_EQ(heap_size(h, q), 100 * KIB);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, q);
    /* a smaller request is cut from the kept block: no source call, the rest stays kept */
    calls = source_calls(src);
    char *small = heap_alloc(h, 4096, 0);
    CHECK(small == p);
    CHECK_EQ(source_calls(src), calls);
    CHECK_EQ(heap_size(h, small), 4096);
    CHECK_EQ(heap_size(h, p + 4096), 0);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, small);
    /* freed again, it joins the kept rest: the whole block serves a request of its size */
    char *whole = heap_alloc(h, 100 * KIB, 0);
    CHECK(whole == p);
    CHECK_EQ(source_calls(src), calls);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, whole);
    /* free far more than the budget: what stays committed is bounded */
    char *blocks[64];
    for (int i = 0; i < 64; i++)
        CHECK((blocks[i] = heap_alloc(h, 64 * KIB, 0)) != NULL);
    for (int i = 0; i < 64; i++)
        heap_free(h, blocks[i]);
    CHECK_EQ(heap_check(h), 0);
    CHECK(source_committed(src) <= start + 512 * KIB + 64 * KIB);
    heap_pages_trim(h);
    CHECK_EQ(heap_check(h), 0);
    CHECK_EQ(source_committed(src), start);
    heap_pages_destroy(h);
    source_linux_destroy(src);
}

/*
 * Many small blocks cut one after the other from one kept block, none
 * freed: every cut takes a record for the piece that stays kept, so the
 * record reserve must be topped up before a cut as before any other split
 * (it was not: the spare list ran dry and the heap panicked).
 */
TEST(kept_block_cut_many_times)
{
    struct heap_source *src = linux_source(0, 0);
    struct heap *h =
        heap_pages_create_with(src, &(struct heap_pages_config){.flags = HEAP_PAGES_KEEP}, NULL);
    char *big = heap_alloc(h, 400 * KIB, 0);
    CHECK(big != NULL);
    heap_free(h, big); /* kept: 100 pages */
    char *piece[99];
    for (int i = 0; i < 99; i++) {
        piece[i] = heap_alloc(h, 4096, 0);
        CHECK(piece[i] == big + (size_t)i * 4096);
        piece[i][0] = (char)i;
    }
    CHECK_EQ(heap_check(h), 0);
    for (int i = 0; i < 99; i++) {
        CHECK(piece[i][0] == (char)i);
        heap_free(h, piece[i]);
    }
    CHECK_EQ(heap_check(h), 0);
    heap_pages_destroy(h);
    source_linux_destroy(src);
}

/*
 * The keep budget follows the recent peak: blocks freed below it stay
 * committed (far beyond the fixed base) and come back without a source
 * call; a heap that stays lower for two windows gives the surplus back;
 * an emptied heap keeps at most the base, and trim returns to the start.
 */
TEST(kept_budget_follows_the_recent_peak)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT, 0);
    struct heap *h =
        heap_pages_create_with(src, &(struct heap_pages_config){.flags = HEAP_PAGES_KEEP}, NULL);
    size_t start = source_committed(src);
    char *b[32];
    for (int i = 0; i < 32; i++) {
        CHECK((b[i] = heap_alloc(h, 128 * KIB, 0)) != NULL);
        memset(b[i], i, 128 * KIB);
    }
    for (int i = 0; i < 32; i += 2) /* 2 MiB freed, 2 MiB live: not adjacent, kept one by one */
        heap_free(h, b[i]);
    CHECK_EQ(heap_check(h), 0);
    /* 1 MiB of it is kept (half the live bytes): the fixed budget alone would keep 576 KiB */
    CHECK(source_committed(src) >= start + 2 * MIB + MIB);
    size_t calls = source_calls(src);
    for (int i = 0; i < 32; i += 4) {
        CHECK((b[i] = heap_alloc(h, 128 * KIB, 0)) != NULL);
        memset(b[i], 1, 128 * KIB); /* strict source: faults if not committed */
    }
    CHECK_EQ(source_calls(src), calls);
    for (int i = 0; i < 32; i += 4)
        heap_free(h, b[i]);
    /* two windows of calls with the live bytes flat: the peak is forgotten, the surplus goes */
    for (int n = 0; n < 1024; n++) {
        void *q = heap_alloc(h, 4096, 0);
        CHECK(q != NULL);
        heap_free(h, q);
    }
    CHECK_EQ(heap_check(h), 0);
    CHECK(source_committed(src) <= start + 2 * MIB + 512 * KIB + 64 * KIB + 4096);
    for (int i = 1; i < 32; i += 2)
        heap_free(h, b[i]);
    CHECK(source_committed(src) <= start + 512 * KIB); /* emptied: the base budget at most */
    heap_pages_trim(h);
    CHECK_EQ(source_committed(src), start);
    CHECK_EQ(heap_check(h), 0);
    heap_pages_destroy(h);
    source_linux_destroy(src);
}

/* A block grows in place into the kept block right after it: no source call, the rest stays kept.
 */
TEST(resize_grows_into_a_kept_neighbour)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap *h =
        heap_pages_create_with(src, &(struct heap_pages_config){.flags = HEAP_PAGES_KEEP}, NULL);
    char *p = heap_alloc(h, 4 * 4096, 0), *q = heap_alloc(h, 4 * 4096, 0);
    CHECK(p && q == p + 4 * 4096);
    memset(p, 7, 4 * 4096);
    heap_free(h, q); /* kept: still committed */
    size_t calls = source_calls(src);
    CHECK_EQ(heap_resize(h, p, 6 * 4096), 0);
    CHECK_EQ(source_calls(src), calls);
    CHECK_EQ(heap_size(h, p), 6 * 4096);
    CHECK(p[4 * 4096 - 1] == 7);
    memset(p, 8, 6 * 4096);
    CHECK_EQ(heap_size(h, q), 0);
    CHECK_EQ(heap_check(h), 0);
    char *r = heap_alloc(h, 2 * 4096, 0); /* the rest of the kept block */
    CHECK(r == p + 6 * 4096);
    CHECK_EQ(source_calls(src), calls);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, r);
    heap_free(h, p);
    heap_pages_trim(h);
    CHECK_EQ(heap_check(h), 0);
    heap_pages_destroy(h);
    source_linux_destroy(src);
}

/* A block grows in place into the free pages right after it, and refuses (changing nothing) when
 * they are not free. */
TEST(resize_grows_in_place)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP, 0);
    struct heap *h = heap_pages_create(src);
    char *p = heap_alloc(h, 4 * 4096, 0), *q = heap_alloc(h, 4 * 4096, 0);
    CHECK(p && q == p + 4 * 4096); /* carved one after the other */
    memset(p, 7, 4 * 4096);
    heap_free(h, q);
    CHECK_EQ(heap_resize(h, p, 6 * 4096 + 1), 0);
    CHECK_EQ(heap_size(h, p), 7 * 4096);
    CHECK(p[4 * 4096 - 1] == 7);
    memset(p, 8, 7 * 4096); /* the new pages are committed */
    CHECK_EQ(heap_check(h), 0);
    char *r = heap_alloc(h, 4096, 0);
    CHECK(r == p + 7 * 4096);
    CHECK_EQ(heap_resize(h, p, 8 * 4096), -1); /* r is in the way */
    CHECK_EQ(heap_size(h, p), 7 * 4096);
    CHECK_EQ(heap_resize(h, p, 3 * 4096), 0); /* already big enough */
    mm_host_print_reports(0);
    size_t reports = mm_host_report_count();
    CHECK_EQ(heap_resize(h, p + 4096, 8 * 4096), -1); /* interior: reported */
    CHECK_EQ(mm_host_report_count(), reports + 1);
    mm_host_print_reports(1);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, p);
    heap_free(h, r);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}
