/*
 * tests/host/test_heap_general.c - the general-purpose heap (mm/heap_general.c).
 *
 * Shadow-model stress on every kind of source (full Linux source in strict
 * mode, grow-only, a static buffer, a source whose grows are not adjacent),
 * alignment sweeps, bad pointers, realloc in place, memory return with its
 * hysteresis, several arenas, the checker against one corruption at a time,
 * destroy, and the lock hook.
 *
 * HEAP_STRESS_OPS raises the stress length (default 2 million operations
 * for the main run, fewer for the others).
 */
#include "harness.h"
#include "heap_shadow.h"

#include "mm/heap_general.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"
#include "mm/source_static.h"

#include <stdlib.h>
#include <string.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define W sizeof(uintptr_t)

static struct heap_source *linux_source(size_t capacity, unsigned flags)
{
    struct source_linux_config c = {.capacity = capacity, .flags = flags};
    return source_linux_create(&c);
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

static struct source_linux_stats src_stats(struct heap_source *src)
{
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    return st;
}

/* Run the shadow stress and fail the test with its first message. */
#define CHECK_STRESS(h, cfg)                                                                       \
    do {                                                                                           \
        struct heap_shadow_result res_;                                                            \
        heap_shadow_stress((h), (cfg), &res_);                                                     \
        if (res_.errors)                                                                           \
            harness_fail(__FILE__, __LINE__, "%lu shadow errors: %s", res_.errors, res_.message);  \
        CHECK(res_.errors == 0);                                                                   \
        CHECK(res_.allocs > (cfg)->ops / 4);                                                       \
    } while (0)

/* ---------------------------------------------------------------- stress */

TEST(stress_strict_linux_source)
{
    /* Strict: a decommitted page faults when touched, so a wrong range is a crash. */
    struct heap_source *src = linux_source(512 * MIB, SOURCE_LINUX_STRICT);
    struct heap *h = heap_general_create(src);
    CHECK(h != NULL);
    struct heap_general_config t;
    heap_general_config_default(&t);
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(2000000);
    cfg.max_align = 4096;
    cfg.check_every = cfg.ops / 8;
    cfg.footprint_slack = t.release_threshold; /* the hysteresis: a smaller free top stays */
    cfg.seed = harness_rand();
    CHECK_STRESS(h, &cfg);
    CHECK_EQ(src_stats(src).committed, committed(h) - src_stats(src).mapped);
    heap_general_destroy(h);
    CHECK_EQ(src_stats(src).grown, 0);
    source_linux_destroy(src);
}

TEST(stress_large_blocks_map_and_decommit)
{
    /* Sizes up to 1 MiB: mapped blocks, decommitted spans, top trims, all at once. */
    struct heap_source *src = linux_source(1024 * MIB, SOURCE_LINUX_STRICT);
    struct heap *h = heap_general_create(src);
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(2000000) / 40; /* page faults dominate here */
    cfg.max_live = 600;
    cfg.max_size = 1 * MIB;
    cfg.max_align = 64 * KIB;
    cfg.check_every = cfg.ops / 4;
    cfg.footprint_slack = 256 * KIB;
    cfg.seed = harness_rand();
    CHECK_STRESS(h, &cfg);
    struct source_linux_stats ss = src_stats(src);
    CHECK(ss.map_calls > 0);
    CHECK(ss.deactivate_calls > 0);
    CHECK(ss.shrink_calls > 0);
    heap_general_destroy(h);
    CHECK_EQ(src_stats(src).grown, 0);
    CHECK_EQ(src_stats(src).mapped, 0);
    source_linux_destroy(src);
}

TEST(stress_grow_only_source)
{
    /* Every allocator must work on grow alone: no shrink, no map, no commit control. */
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_GROW_ONLY);
    struct heap *h = heap_general_create(src);
    CHECK(h != NULL);
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(2000000) / 3;
    cfg.max_size = 64 * KIB;
    cfg.max_align = 64 * KIB;
    cfg.check_every = cfg.ops / 4;
    cfg.footprint_slack = SIZE_MAX / 2; /* nothing can go back without shrink */
    cfg.seed = harness_rand();
    CHECK_STRESS(h, &cfg);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK(st.free_blocks <= 12); /* everything coalesced: one free block per arena */
    CHECK(st.largest_free > st.bytes_held / 3);
    source_linux_destroy(src);
}

TEST(stress_static_buffer_until_exhaustion)
{
    /* A 4 MiB buffer with up to 3000 blocks of up to 16 KiB: the heap runs out and recovers. */
    static unsigned char buffer[4 * 1024 * 1024];
    struct source_static ss;
    struct heap_source *src = source_static_init(&ss, buffer, sizeof buffer, 0);
    CHECK(src != NULL);
    struct heap *h = heap_general_create(src);
    CHECK(h != NULL);
    size_t start_brk = ss.brk;
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(2000000) / 10;
    cfg.max_live = 3000;
    cfg.max_size = 16 * KIB;
    cfg.max_align = 1024;
    cfg.allow_failures = 1;
    cfg.check_every = cfg.ops / 4;
    cfg.footprint_slack = 256 * KIB;
    cfg.seed = harness_rand();
    struct heap_shadow_result res;
    heap_shadow_stress(h, &cfg, &res);
    if (res.errors)
        harness_fail(__FILE__, __LINE__, "%s", res.message);
    CHECK_EQ(res.errors, 0);
    CHECK(res.failed_allocs > 0); /* it did run out */
    CHECK(ss.brk <= start_brk + 256 * KIB);
    heap_general_destroy(h);
    CHECK_EQ(ss.brk, 0);
}

/* A source whose grows are never adjacent: it wastes a page after each one. */
struct gappy_source {
    struct heap_source src;
    struct heap_source *inner;
};

static void *gappy_grow(struct heap_source *src, size_t bytes)
{
    struct gappy_source *g = (struct gappy_source *)src;
    void *p = g->inner->grow(g->inner, bytes + 4096);
    return p;
}

TEST(stress_non_adjacent_grows_make_arenas)
{
    struct heap_source *inner = linux_source(512 * MIB, 0);
    struct gappy_source g = {.src = {.grow = gappy_grow, .page_size = 4096}, .inner = inner};
    struct heap_general_config t;
    heap_general_config_default(&t);
    t.grow_min = 16 * KIB;
    struct heap *h = heap_general_create_with(&g.src, &t);
    CHECK(h != NULL);
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(2000000) / 10;
    cfg.max_live = 2000;
    cfg.max_size = 32 * KIB;
    cfg.max_align = 8192;
    cfg.footprint_slack = SIZE_MAX / 2;
    cfg.check_every = cfg.ops / 4;
    cfg.seed = harness_rand();
    CHECK_STRESS(h, &cfg);
    CHECK(src_stats(inner).grow_calls > 3); /* several arenas were made */
    source_linux_destroy(inner);
}

TEST(stress_small_arena_capacity_releases_arenas)
{
    /* Capacity 256 KiB: arenas come and go; all must go back when everything is free. */
    struct heap_source *src = linux_source(512 * MIB, SOURCE_LINUX_STRICT);
    struct heap_general_config t;
    heap_general_config_default(&t);
    t.arena_capacity = 256 * KIB;
    t.grow_min = 32 * KIB;
    struct heap *h = heap_general_create_with(src, &t);
    size_t start = held(h);
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(2000000) / 6;
    cfg.max_size = 128 * KIB;
    cfg.max_live = 1500;
    cfg.check_every = cfg.ops / 4;
    cfg.footprint_slack = 256 * KIB;
    cfg.seed = harness_rand();
    CHECK_STRESS(h, &cfg);
    CHECK(held(h) <= start + 256 * KIB);
    heap_general_destroy(h);
    CHECK_EQ(src_stats(src).grown, 0);
    source_linux_destroy(src);
}

/* ---------------------------------------------------------------- alignment and sizes */

TEST(every_power_of_two_alignment_with_odd_sizes)
{
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_STRICT);
    struct heap *h = heap_general_create(src);
    for (size_t align = 1; align <= 64 * KIB; align *= 2) {
        const size_t sizes[] = {1, 3, align - 1 ? align - 1 : 5, align + 1, 3 * align + 7, 100003};
        void *p[6];
        for (int i = 0; i < 6; i++) {
            p[i] = heap_alloc(h, sizes[i], align);
            CHECK(p[i] != NULL);
            CHECK_EQ((uintptr_t)p[i] % align, 0);
            CHECK_EQ((uintptr_t)p[i] % HEAP_DEFAULT_ALIGN, 0);
            CHECK(heap_size(h, p[i]) >= sizes[i]);
            memset(p[i], 0x5A, heap_size(h, p[i]));
        }
        CHECK_EQ(heap_check(h), 0);
        for (int i = 0; i < 6; i++)
            heap_free(h, p[i]);
    }
    /* beyond the page size, up to a few MiB */
    for (size_t align = 128 * KIB; align <= 4 * MIB; align *= 4) {
        void *p = heap_alloc(h, align / 3, align);
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p % align, 0);
        heap_free(h, p);
    }
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/*
 * An aligned request takes a free block that already holds an aligned place
 * for it, even when that block is smaller than size + align: 64 blocks of
 * 3000 bytes aligned to a page, every other one freed (each leaves a free
 * block of about 5 KiB around a page boundary), then as many again fit
 * into those blocks: the heap does not grow.  (Taking size + align from the
 * top block instead, it grew by 64 KiB.)
 */
TEST(aligned_request_fills_a_free_block_that_holds_an_aligned_place)
{
    enum { N = 64 };
    struct heap_source *src = linux_source(64 * MIB, SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_general_create(src);
    void *p[N];
    for (int i = 0; i < N; i++)
        CHECK((p[i] = heap_alloc(h, 3000, 4096)) != NULL);
    for (int i = 1; i < N; i += 2)
        heap_free(h, p[i]);
    struct heap_stats before, after;
    heap_stats(h, &before);
    for (int i = 1; i < N; i += 2) {
        void *q = heap_alloc(h, 3000, 4096);
        CHECK(q != NULL);
        CHECK_EQ((uintptr_t)q % 4096, 0);
        p[i] = q;
    }
    heap_stats(h, &after);
    CHECK_EQ(after.bytes_held, before.bytes_held);
    CHECK_EQ(heap_check(h), 0);
    for (int i = 0; i < N; i++)
        heap_free(h, p[i]);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(impossible_sizes_and_bad_alignments_return_null)
{
    struct source_linux_config c = {.capacity = 64 * MIB, .map_limit = 8 * MIB};
    struct heap_source *src = source_linux_create(&c);
    struct heap *h = heap_general_create(src);
    size_t reports = mm_host_report_count();
    for (size_t k = 0; k < 64; k++) {
        CHECK(heap_alloc(h, SIZE_MAX - k, 0) == NULL);
        CHECK(heap_alloc(h, SIZE_MAX / 2 + k + 1, 0) == NULL);
        CHECK(heap_alloc(h, SIZE_MAX - 4096 - k, 4096) == NULL);
    }
    CHECK(heap_alloc(h, HEAP_MAX_REQUEST, 0) == NULL); /* allowed, but the source is 64 MiB */
    CHECK(heap_alloc(h, 64 * MIB, 0) == NULL);
    CHECK(heap_alloc(h, 100, (size_t)1 << (sizeof(size_t) * 8 - 1)) == NULL);
    const size_t bad_align[] = {3, 6, 12, 24, 100, 4097, SIZE_MAX, SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++)
        CHECK(heap_alloc(h, 16, bad_align[i]) == NULL);
    CHECK_EQ(mm_host_report_count(), reports); /* refusing a request is not misuse */
    CHECK_EQ(heap_check(h), 0);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK_EQ(st.live_blocks, 0);
    void *p = heap_alloc(h, 100, 0); /* and it still works */
    CHECK(p != NULL);
    heap_free(h, p);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(per_block_overhead_is_one_word)
{
    struct heap_source *src = linux_source(64 * MIB, 0);
    struct heap *h = heap_general_create(src);
    for (size_t n = 1; n <= 2000; n += 7) {
        char *a = heap_alloc(h, n, 0), *b = heap_alloc(h, n, 0);
        size_t step = (size_t)(b - a);
        size_t expect = (n + W + HEAP_DEFAULT_ALIGN - 1) / HEAP_DEFAULT_ALIGN * HEAP_DEFAULT_ALIGN;
        if (expect < 2 * HEAP_DEFAULT_ALIGN)
            expect = 2 * HEAP_DEFAULT_ALIGN;
        CHECK_EQ(step, expect); /* consecutive blocks: header word + rounding only */
        CHECK_EQ(heap_size(h, a), expect - W);
        heap_free(h, a);
        heap_free(h, b);
    }
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* ---------------------------------------------------------------- bad pointers */

static char global_buffer[256];

/* Free ptr and require one report and no change in the heap. */
#define CHECK_REFUSED_FREE(h, ptr)                                                                 \
    do {                                                                                           \
        struct heap_stats a_, b_;                                                                  \
        heap_stats((h), &a_);                                                                      \
        size_t r_ = mm_host_report_count();                                                        \
        CHECK_EQ(heap_size((h), (ptr)), 0);                                                        \
        heap_free((h), (ptr));                                                                     \
        CHECK_EQ(mm_host_report_count(), r_ + 1);                                                  \
        heap_stats((h), &b_);                                                                      \
        CHECK_EQ(a_.bytes_in_use, b_.bytes_in_use);                                                \
        CHECK_EQ(a_.free_blocks, b_.free_blocks);                                                  \
        CHECK_EQ(a_.live_blocks, b_.live_blocks);                                                  \
        CHECK_EQ(heap_check(h), 0);                                                                \
    } while (0)

TEST(foreign_interior_and_double_frees_are_reported)
{
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_STRICT);
    struct heap *h = heap_general_create(src), *other = heap_general_create(src);
    char on_stack[64];
    char *a = heap_alloc(h, 100, 0), *b = heap_alloc(h, 5000, 64), *c = heap_alloc(h, 40, 0);
    char *big = heap_alloc(h, 2 * MIB, 0); /* mapped */
    char *theirs = heap_alloc(other, 100, 0);
    mm_host_print_reports(0);
    CHECK_REFUSED_FREE(h, a + 1);
    CHECK_REFUSED_FREE(h, a + HEAP_DEFAULT_ALIGN);
    CHECK_REFUSED_FREE(h, b + 64);
    CHECK_REFUSED_FREE(h, big + 4096);
    CHECK_REFUSED_FREE(h, big + HEAP_DEFAULT_ALIGN);
    CHECK_REFUSED_FREE(h, on_stack + 16);
    CHECK_REFUSED_FREE(h, global_buffer + 16);
    CHECK_REFUSED_FREE(h, theirs);
    CHECK_REFUSED_FREE(h, (char *)h + 64); /* inside the control block */
    CHECK_REFUSED_FREE(h, (void *)(uintptr_t)4096);
    heap_free(h, c);
    CHECK_REFUSED_FREE(h, c); /* double free */
    heap_free(h, big);
    CHECK_REFUSED_FREE(h, big); /* double free of an unmapped block */
    mm_host_print_reports(1);
    CHECK(heap_size(h, a) >= 100); /* still live */
    CHECK(heap_size(h, b) >= 5000);
    CHECK_EQ(heap_size(other, theirs) >= 100, 1);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK_EQ(st.reported_errors, 12);
    heap_free(h, a);
    heap_free(h, b);
    heap_free(other, theirs);
    heap_general_destroy(other);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* ---------------------------------------------------------------- resize */

TEST(resize_in_place_grow_shrink_and_failure)
{
    struct heap_source *src = linux_source(8 * MIB, SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_general_create(src);
    char *a = heap_alloc(h, 1000, 0), *b = heap_alloc(h, 1000, 0), *guard = heap_alloc(h, 8, 0);
    heap_free(h, b); /* room after a */
    CHECK_EQ(heap_resize(h, a, 1900), 0);
    CHECK(heap_size(h, a) >= 1900);
    CHECK_EQ(heap_resize(h, a, 3000), -1); /* guard is in the way */
    CHECK_EQ(heap_resize(h, a, 100), 0);   /* shrink gives the tail back */
    CHECK(heap_size(h, a) < 200);
    CHECK_EQ(heap_check(h), 0);
    /* at the top of the heap a block grows by extending the arena */
    heap_free(h, guard);
    char *top = heap_alloc(h, 100, 0);
    size_t before = src_stats(src).grown;
    CHECK_EQ(heap_resize(h, top, 512 * KIB), 0); /* within the arena's 1 MiB capacity */
    CHECK(src_stats(src).grown > before);
    memset(top, 1, 512 * KIB);
    /* failure: nothing changes */
    size_t usable = heap_size(h, top);
    CHECK_EQ(heap_resize(h, top, 64 * MIB), -1);
    CHECK_EQ(heap_size(h, top), usable);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, top);
    heap_free(h, a);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* ---------------------------------------------------------------- giving memory back */

TEST(free_span_is_decommitted_and_recommitted_on_use)
{
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_STRICT | SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_general_create(src);
    char *a = heap_alloc(h, 100, 0), *span = heap_alloc(h, 4 * MIB, 0), *z = heap_alloc(h, 100, 0);
    memset(span, 7, 4 * MIB);
    size_t before = src_stats(src).committed;
    heap_free(h, span);
    size_t after = src_stats(src).committed;
    CHECK(before - after >= 4 * MIB - 64 * KIB - 3 * 4096);
    CHECK(!source_linux_is_committed(src, span + 2 * MIB, 4096));
    CHECK(source_linux_is_committed(src, span, 32 * KIB)); /* release_keep stays */
    CHECK_EQ(committed(h), src_stats(src).committed);
    /* taking it again commits exactly what is taken */
    char *again = heap_alloc(h, 3 * MIB, 0);
    CHECK(again == span);
    memset(again, 9, 3 * MIB); /* would fault in strict mode if any page were left out */
    CHECK_EQ(committed(h), src_stats(src).committed);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, again);
    heap_free(h, a);
    heap_free(h, z);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(top_shrinks_back_after_growth)
{
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_general_create(src);
    size_t start = held(h);
    void *p[400];
    for (int i = 0; i < 400; i++)
        p[i] = heap_alloc(h, 50 * KIB, 0);
    CHECK(held(h) > 19 * MIB);
    for (int i = 0; i < 400; i++)
        heap_free(h, p[(i * 7) % 400]); /* all freed, in an order that is not the reverse */
    CHECK(held(h) <= start + 256 * KIB);
    CHECK_EQ(src_stats(src).grown, held(h));
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(empty_heap_releases_its_arenas_whatever_was_freed_last)
{
    /* Three 64 KiB arenas and a reserve (release_keep) bigger than two of them:
     * the newest arena empties while a mapped block is still live, so only
     * the last free, of the mapped block, can give the arenas back. */
    struct heap_source *src = linux_source(256 * MIB, 0);
    struct heap_general_config t = {.arena_capacity = 64 * KIB,
                                    .grow_min = 16 * KIB,
                                    .release_keep = 128 * KIB,
                                    .release_threshold = 1};
    struct heap *h = heap_general_create_with(src, &t);
    size_t start = held(h), threshold = 128 * KIB + 16 * KIB + 4096; /* as raised */
    void *p[18];
    for (int i = 0; i < 18; i++)
        p[i] = heap_alloc(h, 10 * KIB, 0);
    void *mapped = heap_alloc(h, 1 * MIB, 0);
    CHECK(src_stats(src).mapped > 0);
    CHECK(held(h) >= 3 * 60 * KIB);
    for (int i = 0; i < 18; i++)
        heap_free(h, p[i]); /* oldest arenas empty first, the newest last */
    heap_free(h, mapped);
    CHECK(held(h) <= start + threshold);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(alloc_free_cycles_at_the_boundary_do_not_thrash)
{
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_general_create(src);
    /* fill to exactly the top, then cycle around it */
    struct heap_stats st;
    heap_stats(h, &st);
    void *fill = heap_alloc(h, st.largest_free - W, 0);
    CHECK(fill != NULL);
    struct source_linux_stats s0 = src_stats(src);
    for (int i = 0; i < 1000; i++) {
        void *p = heap_alloc(h, (size_t)(i % 5 + 1) * 20 * KIB, 0);
        CHECK(p != NULL);
        heap_free(h, p);
    }
    struct source_linux_stats s1 = src_stats(src);
    CHECK(s1.grow_calls - s0.grow_calls <= 2);
    CHECK(s1.shrink_calls - s0.shrink_calls <= 2);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(alloc_free_cycles_at_a_decommitted_edge_do_not_thrash)
{
    /* no shrink: a free span stays and is decommitted instead */
    struct heap_source *src = linux_source(256 * MIB, SOURCE_LINUX_NO_MAP | SOURCE_LINUX_NO_SHRINK);
    struct heap *h = heap_general_create(src);
    char *span = heap_alloc(h, 2 * MIB, 0);
    CHECK(heap_alloc(h, 100, 0) != NULL);
    struct heap_stats st;
    int rounds = 0;
    for (heap_stats(h, &st); st.free_blocks && rounds < 20; heap_stats(h, &st), rounds++)
        CHECK(heap_alloc(h, st.largest_free - W, 0) != NULL); /* use up every other free block */
    CHECK(rounds < 20); /* an exact fit is served from the block, not by growing */
    heap_free(h, span);
    heap_stats(h, &st);
    CHECK_EQ(st.free_blocks, 1);
    CHECK(st.bytes_committed < st.bytes_held - MIB);
    struct source_linux_stats s0 = src_stats(src), s1;
    for (int i = 0; i < 1000; i++) {
        void *p = heap_alloc(h, (size_t)(i % 7 + 1) * 4 * KIB, 0);
        heap_free(h, p);
    }
    s1 = src_stats(src);
    CHECK(s1.activate_calls - s0.activate_calls <= 2);
    CHECK(s1.deactivate_calls - s0.deactivate_calls <= 2);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* A source whose activate can be made to fail (commit failing = out of memory). */
struct failing_source {
    struct heap_source src;
    struct heap_source *inner;
    int fail_activate;
};

static struct failing_source *failing(struct heap_source *s)
{
    return (struct failing_source *)s;
}

static void *failing_grow(struct heap_source *s, size_t n)
{
    return failing(s)->inner->grow(failing(s)->inner, n);
}

static int failing_shrink(struct heap_source *s, size_t n)
{
    return failing(s)->inner->shrink(failing(s)->inner, n);
}

static int failing_activate(struct heap_source *s, void *p, size_t n)
{
    if (failing(s)->fail_activate)
        return -1;
    return failing(s)->inner->activate(failing(s)->inner, p, n);
}

static void failing_deactivate(struct heap_source *s, void *p, size_t n)
{
    failing(s)->inner->deactivate(failing(s)->inner, p, n);
}

TEST(activate_failure_changes_nothing)
{
    struct heap_source *inner = linux_source(256 * MIB, SOURCE_LINUX_STRICT);
    struct failing_source f = {.src = {.grow = failing_grow,
                                       .shrink = failing_shrink,
                                       .activate = failing_activate,
                                       .deactivate = failing_deactivate,
                                       .page_size = 4096},
                               .inner = inner};
    struct heap *h = heap_general_create(&f.src);
    char *a = heap_alloc(h, 100, 0), *span = heap_alloc(h, 2 * MIB, 0), *z = heap_alloc(h, 100, 0);
    heap_free(h, span); /* decommitted now */
    struct heap_stats before, after;
    heap_stats(h, &before);
    f.fail_activate = 1;
    CHECK(heap_alloc(h, 1 * MIB, 0) == NULL); /* needs pages of the span committed again */
    heap_stats(h, &after);
    CHECK_EQ(after.bytes_committed, before.bytes_committed);
    CHECK_EQ(after.free_blocks, before.free_blocks);
    CHECK_EQ(after.live_blocks, before.live_blocks);
    CHECK_EQ(heap_check(h), 0);
    f.fail_activate = 0;
    char *p = heap_alloc(h, 1 * MIB, 0);
    CHECK(p == span);
    memset(p, 3, 1 * MIB); /* strict source: every page is really committed */
    heap_free(h, p);
    heap_free(h, a);
    heap_free(h, z);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(inner);
}

TEST(mapped_blocks_beyond_the_segment_table_fall_back_to_arenas)
{
    struct heap_source *src = linux_source(512 * MIB, 0);
    struct heap *h = heap_general_create(src);
    void *p[80];
    for (int i = 0; i < 80; i++) {
        p[i] = heap_alloc(h, 300 * KIB + (size_t)i, 0);
        CHECK(p[i] != NULL);
        memset(p[i], i, 300 * KIB);
    }
    CHECK(src_stats(src).map_calls < 80); /* the table keeps room for arenas */
    CHECK_EQ(heap_check(h), 0);
    for (int i = 0; i < 80; i++)
        heap_free(h, p[(i * 3) % 80]);
    CHECK_EQ(src_stats(src).mapped, 0);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(mapped_blocks_follow_map_threshold)
{
    struct heap_source *src = linux_source(256 * MIB, 0);
    struct heap *h = heap_general_create(src);
    size_t maps = src_stats(src).map_calls;
    void *small = heap_alloc(h, 100 * KIB, 0), *large = heap_alloc(h, 300 * KIB, 0);
    CHECK_EQ(src_stats(src).map_calls, maps + 1);
    CHECK(heap_size(h, large) >= 300 * KIB);
    struct heap_general_config t;
    heap_general_config_default(&t);
    t.map_threshold = SIZE_MAX;
    heap_general_set_config(h, &t);
    void *unmapped = heap_alloc(h, 300 * KIB, 0);
    CHECK_EQ(src_stats(src).map_calls, maps + 1);
    heap_free(h, large);
    CHECK_EQ(src_stats(src).mapped, 0);
    heap_free(h, small);
    heap_free(h, unmapped);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(exhaustion_returns_null_and_recovers)
{
    struct heap_source *src = linux_source(2 * MIB, SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_general_create(src);
    void *p[1024];
    int n = 0;
    while (n < 1024 && (p[n] = heap_alloc(h, 10 * KIB, 0)) != NULL)
        n++;
    CHECK(n > 150 && n < 210);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK(st.failed_calls >= 1);
    CHECK_EQ(heap_check(h), 0);
    while (n--)
        heap_free(h, p[n]);
    CHECK(heap_alloc(h, 1 * MIB, 0) != NULL);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

TEST(tiny_static_buffer)
{
    static unsigned char buffer[12 * 1024];
    struct source_static ss;
    struct heap_source *src = source_static_init(&ss, buffer + 3, sizeof buffer - 3, 256);
    struct heap *h = heap_general_create(src);
    CHECK(h != NULL);
    void *p = heap_alloc(h, 1000, 0);
    CHECK(p != NULL);
    CHECK((unsigned char *)p >= buffer && (unsigned char *)p < buffer + sizeof buffer);
    CHECK(heap_alloc(h, 64 * KIB, 0) == NULL);
    heap_free(h, p);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    CHECK_EQ(ss.brk, 0);
}

/* ---------------------------------------------------------------- checker self-tests */

/* Corrupt *word with value, require check to report it, then put it back. */
static int corrupted_check(struct heap *h, uintptr_t *word, uintptr_t value)
{
    uintptr_t saved = *word;
    *word = value;
    mm_host_print_reports(0);
    int bad = heap_check(h);
    mm_host_print_reports(1);
    *word = saved;
    return bad;
}

TEST(checker_reports_each_corruption)
{
    struct heap_source *src = linux_source(64 * MIB, 0);
    struct heap *h = heap_general_create(src);
    char *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = heap_alloc(h, 200, 0);
    heap_free(h, p[2]); /* free blocks between used ones: p[2] and p[5] */
    heap_free(h, p[5]);
    CHECK_EQ(heap_check(h), 0);
    uintptr_t *used_header = (uintptr_t *)(p[3] - W);
    uintptr_t *free_header = (uintptr_t *)(p[2] - W);
    uintptr_t *free_next = (uintptr_t *)p[2];
    uintptr_t *free_prev = (uintptr_t *)(p[2] + W);
    size_t free_size = *free_header & ~(uintptr_t)7;
    uintptr_t *free_tag = (uintptr_t *)(p[2] - W + free_size - W);

    CHECK(corrupted_check(h, used_header, *used_header + 4 * HEAP_DEFAULT_ALIGN) > 0);
    CHECK(corrupted_check(h, used_header, *used_header | 1) > 0); /* "free" */
    CHECK(corrupted_check(h, used_header, *used_header ^ 2) > 0); /* previous-free flag */
    CHECK(corrupted_check(h, free_header, *free_header + HEAP_DEFAULT_ALIGN) > 0);
    CHECK(corrupted_check(h, free_next, (uintptr_t)p[4] - W) > 0); /* link to a used block */
    CHECK(corrupted_check(h, free_next, (uintptr_t)global_buffer) > 0);
    CHECK(corrupted_check(h, free_prev, (uintptr_t)p[6] - W) > 0);
    CHECK(corrupted_check(h, free_tag, *free_tag + HEAP_DEFAULT_ALIGN) > 0);
    CHECK_EQ(heap_check(h), 0); /* everything restored */

    /* a used block with a corrupted header is refused, not freed */
    uintptr_t saved = *used_header;
    *used_header = saved | 1;
    size_t reports = mm_host_report_count();
    mm_host_print_reports(0);
    heap_free(h, p[3]);
    mm_host_print_reports(1);
    CHECK_EQ(mm_host_report_count(), reports + 1);
    *used_header = saved;
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* ---------------------------------------------------------------- hardening */

/*
 * A use-after-free write plants a pointer in a free block's next link.  The
 * link is stored mangled, so the planted value decodes to garbage; the next
 * allocation that unlinks that block must report the list, not follow it,
 * and the heap must go on serving requests without ever handing out the
 * planted address.
 */
TEST(planted_free_list_link_is_reported_not_followed)
{
    struct heap_source *src = linux_source(64 * MIB, 0);
    struct heap *h = heap_general_create(src);
    char *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = heap_alloc(h, 200, 0);
    heap_free(h, p[2]);
    heap_free(h, p[5]); /* the list head now; its next link is p[2]'s block */
    uintptr_t planted = (uintptr_t)global_buffer + W;
    CHECK(*(uintptr_t *)p[5] != (uintptr_t)p[2] - W); /* not stored in the clear */
    memset(global_buffer, 0x5C, sizeof global_buffer);
    *(uintptr_t *)p[5] = planted;

    size_t reports = mm_host_report_count();
    mm_host_print_reports(0);
    char *q = heap_alloc(h, 200, 0);
    mm_host_print_reports(1);
    CHECK(q == p[5]); /* the block being unlinked is still handed out */
    CHECK_EQ(mm_host_report_count(), reports + 1);
    CHECK(strstr(mm_host_last_report(), "free list") != NULL);
    for (int i = 0; i < 64; i++) {
        char *r = heap_alloc(h, 200, 0);
        CHECK(r != NULL);
        CHECK(r < global_buffer || r >= global_buffer + sizeof global_buffer);
        memset(r, 1, 200);
    }
    for (size_t i = 0; i < sizeof global_buffer; i++)
        CHECK_EQ((unsigned char)global_buffer[i], 0x5C); /* never written through */
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* A back link that does not point back (a stale or forged neighbour) is caught the same way. */
TEST(broken_back_link_is_reported_and_the_heap_stays_usable)
{
    struct heap_source *src = linux_source(64 * MIB, 0);
    struct heap *h = heap_general_create(src);
    char *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = heap_alloc(h, 200, 0);
    heap_free(h, p[2]);
    heap_free(h, p[5]);
    ((uintptr_t *)p[2])[1] ^= 8 * HEAP_DEFAULT_ALIGN; /* p[2]'s prev link, off by some blocks */
    size_t reports = mm_host_report_count();
    mm_host_print_reports(0);
    heap_free(h, p[1]); /* merges with p[2]: unlinks it */
    mm_host_print_reports(1);
    CHECK_EQ(mm_host_report_count(), reports + 1);
    CHECK(strstr(mm_host_last_report(), "free list") != NULL);
    heap_free(h, p[3]); /* merges with the block that absorbed p[2]: a sound one */
    CHECK_EQ(mm_host_report_count(), reports + 1);
    for (int i = 0; i < 32; i++)
        CHECK(heap_alloc(h, 100 + (size_t)i * 40, 0) != NULL);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* ---------------------------------------------------------------- lifetime and locking */

TEST(destroy_gives_everything_back)
{
    struct heap_source *src = linux_source(256 * MIB, 0);
    struct heap_general_config t;
    heap_general_config_default(&t);
    t.arena_capacity = 128 * KIB; /* several arenas */
    t.grow_min = 16 * KIB;
    struct heap *h = heap_general_create_with(src, &t);
    for (int i = 0; i < 300; i++)
        CHECK(heap_alloc(h, (size_t)(i % 13 + 1) * 3000, 0) != NULL);
    CHECK(heap_alloc(h, 3 * MIB, 0) != NULL); /* mapped */
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    CHECK_EQ(src_stats(src).grown, 0);
    CHECK_EQ(src_stats(src).mapped, 0);
    source_linux_destroy(src);
}

struct counting_source {
    struct heap_source src;
    struct heap_source *inner;
    int depth, max_depth, locks;
};

static struct counting_source *counting(struct heap_source *s)
{
    return (struct counting_source *)s;
}

static void *counting_grow(struct heap_source *s, size_t n)
{
    if (counting(s)->depth != 1) /* must be called with the lock held */
        harness_fail(__FILE__, __LINE__, "grow called with lock depth %d", counting(s)->depth);
    return counting(s)->inner->grow(counting(s)->inner, n);
}

static int counting_shrink(struct heap_source *s, size_t n)
{
    return counting(s)->inner->shrink(counting(s)->inner, n);
}

static void counting_lock(struct heap_source *s)
{
    struct counting_source *c = counting(s);
    c->locks++;
    if (++c->depth > c->max_depth)
        c->max_depth = c->depth;
}

static void counting_unlock(struct heap_source *s)
{
    counting(s)->depth--;
}

TEST(every_operation_takes_the_source_lock_once)
{
    struct heap_source *inner = linux_source(64 * MIB, 0);
    struct counting_source c = {.src = {.grow = counting_grow,
                                        .shrink = counting_shrink,
                                        .lock = counting_lock,
                                        .unlock = counting_unlock,
                                        .page_size = 4096},
                                .inner = inner};
    struct heap *h = heap_general_create(&c.src);
    CHECK(h != NULL);
    int before = c.locks;
    void *p = heap_alloc(h, 100, 0);
    heap_size(h, p);
    heap_resize(h, p, 300);
    heap_free(h, p);
    heap_check(h);
    CHECK_EQ(c.locks - before, 5 + MM_DEBUG); /* MM_DEBUG: heap_alloc also asks for the size */
    CHECK_EQ(c.depth, 0);
    CHECK_EQ(c.max_depth, 1); /* never re-entered */
    heap_general_destroy(h);
    source_linux_destroy(inner);
}

/*
 * A header overwritten with a size that looks valid (aligned, inside the
 * arena, "used") is caught at the next operation on the block: free and
 * size report it and change nothing, and the heap goes on working once the
 * header is repaired.
 */
TEST(plausible_corrupted_size_is_reported_not_followed)
{
    struct heap_source *src = source_linux_create(NULL);
    struct heap *h = heap_general_create(src);
    CHECK(h != NULL);
    char *a = heap_alloc(h, 64, 0), *b = heap_alloc(h, 64, 0), *c = heap_alloc(h, 64, 0);
    CHECK(a && b && c);
    memset(b, 0x5B, 64);
    uintptr_t *header = (uintptr_t *)(void *)a - 1;
    uintptr_t saved = *header;
    *header = saved + 32; /* two grains more: still aligned, still inside the arena */
    mm_host_print_reports(0);
    size_t reports = mm_host_report_count();
    heap_free(h, a);
    CHECK_EQ(mm_host_report_count(), reports + 1);
    CHECK(strstr(mm_host_last_report(), "corrupted header") != NULL);
    CHECK_EQ(heap_size(h, a), 0);
    for (int i = 0; i < 64; i++) /* the neighbour was not touched */
        CHECK_EQ((unsigned char)b[i], 0x5B);
    *header = saved;
    mm_host_print_reports(1);
    CHECK(heap_size(h, a) >= 64);
    heap_free(h, a);
    heap_free(h, b);
    heap_free(h, c);
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

#if MM_DEBUG
/*
 * The debug build fills fresh blocks with 0xA5 (uninitialised reads show a
 * pattern) and freed ones with 0xDF (dangling reads show a pattern).
 */
TEST(debug_build_junk_fills_fresh_and_freed_blocks)
{
    struct heap_source *src = source_linux_create(NULL);
    struct heap *h = heap_general_create(src);
    CHECK(h != NULL);
    unsigned char *keep = heap_alloc(h, 32, 0); /* pins the block after p, so p's bytes stay */
    unsigned char *p = heap_alloc(h, 256, 0), *after = heap_alloc(h, 32, 0);
    CHECK(keep && p && after);
    for (int i = 0; i < 256; i++)
        CHECK_EQ(p[i], 0xA5);
    heap_free(h, p);
    /* past the free-list links (two words) and short of the boundary tag (one word) */
    for (size_t i = 2 * sizeof(void *); i < 256 - sizeof(void *); i++)
        CHECK_EQ(p[i], 0xDF);
    heap_free(h, keep);
    heap_free(h, after);
    heap_general_destroy(h);
    source_linux_destroy(src);
}
#endif
