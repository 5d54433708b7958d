/*
 * tests/host/test_composite.c - the default heap (mm/heap_composite.c).
 *
 * The shadow model drives the composite over the hosted source in its
 * three shapes with sizes from 1 byte to 256 KiB and alignments to 64 KiB;
 * the tests below check the routing, that every alignment is honoured by
 * some sub-heap, misuse of every kind of block, the checker seeing
 * corruption in a sub-heap, the locking discipline, that no sub-heap ever
 * shrinks the shared source, and a composite built from caller-made parts.
 */
#include "harness.h"
#include "heap_test_util.h"
#include "lock_check.h"
#include "heap_shadow.h"

#include "mm/heap.h"
#include "mm/heap_composite.h"
#include "mm/heap_general.h"
#include "mm/heap_pages.h"
#include "mm/heap_pages_internal.h"
#include "mm/malloc.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"
#include "mm/source_static.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KIB ((size_t)1024)

enum { SMALL, MEDIUM, LARGE };

/* ------------------------------------------------------------ a lock-checking source */

/* ------------------------------------------------------------ helpers */

static struct heap_source *linux_source(unsigned flags)
{
    struct source_linux_config cfg = {.flags = flags};
    return source_linux_create(&cfg);
}

/* Which part owns p (SMALL/MEDIUM/LARGE), -1 for none. */
static int owner(struct heap *h, void *p)
{
    for (int k = SMALL; k <= LARGE; k++)
        if (heap_composite_part(h, k) && heap_size(heap_composite_part(h, k), p))
            return k;
    return -1;
}

static unsigned long stress(struct heap *h, size_t max_size, unsigned long ops)
{
    struct heap_shadow_config cfg;
    struct heap_shadow_result res;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(ops);
    cfg.max_live = 1000;
    cfg.min_size = 0;
    cfg.max_size = max_size;
    cfg.max_align = 64 * KIB;
    cfg.align_pct = 10;
    cfg.footprint_slack = SIZE_MAX / 2; /* checked by the callers, after shrinking */
    cfg.check_every = 10000;
    cfg.seed = harness_rand();
    heap_shadow_stress(h, &cfg, &res);
    if (res.errors)
        printf("#   shadow: %s\n", res.message);
    return res.errors;
}

/* ------------------------------------------------------------ shadow stress */

/*
 * After everything is freed and the slab reserve dropped, what stays
 * committed is the general heap's hysteresis (release_keep, 64 KiB by
 * default, plus partial pages around it) and nothing else.
 */
#define GENERAL_KEEP_SLACK (160 * KIB)

static void stress_on(unsigned flags)
{
    struct heap_source *src = linux_source(flags);
    struct heap *h = heap_composite_create(src);
    CHECK(h != NULL && heap_is_composite(h));
    size_t start = heap_stats_of(h).bytes_committed;
    size_t small_start = heap_stats_of(heap_composite_part(h, SMALL)).bytes_committed;
    CHECK_EQ(stress(h, 256 * KIB, 60000), 0);
    heap_composite_shrink(h);
    if (!(flags & SOURCE_LINUX_NO_COMMIT)) /* the slab part returns exactly */
        CHECK_EQ(heap_stats_of(heap_composite_part(h, SMALL)).bytes_committed, small_start);
    CHECK_EQ(heap_check(h), 0);
    struct heap_stats st = heap_stats_of(h);
    CHECK_EQ(st.live_blocks, 0);
    CHECK_EQ(st.bytes_in_use, 0);
    if (!(flags & SOURCE_LINUX_NO_COMMIT) && st.bytes_committed > start + GENERAL_KEEP_SLACK) {
        for (int k = SMALL; k <= LARGE; k++)
            printf("#   part %d: committed %zu held %zu\n", k,
                   heap_stats_of(heap_composite_part(h, k)).bytes_committed,
                   heap_stats_of(heap_composite_part(h, k)).bytes_held);
        printf("#   start %zu now %zu\n", start, st.bytes_committed);
        CHECK(0);
    }
    CHECK_EQ(heap_stats_of(heap_composite_part(h, LARGE)).bytes_in_use, 0);
    source_linux_destroy(src);
}

TEST(stress_grow_only)
{
    stress_on(SOURCE_LINUX_GROW_ONLY);
}

TEST(stress_grow_commit_strict)
{
    stress_on(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT);
}

TEST(stress_mapped)
{
    stress_on(0);
}

/* A static buffer: grow and shrink only, and little of it.  Failures are fine, damage is not. */
TEST(stress_static_buffer)
{
    static _Alignas(4096) unsigned char buf[2 << 20];
    struct source_static ss;
    struct heap_source *src = source_static_init(&ss, buf, sizeof buf, 0);
    struct heap *h = heap_composite_create(src);
    CHECK(h != NULL);
    struct heap_shadow_config cfg;
    struct heap_shadow_result res;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(20000);
    cfg.max_live = 300;
    cfg.max_size = 128 * KIB;
    cfg.max_align = 64 * KIB;
    cfg.align_pct = 10;
    cfg.allow_failures = 1;
    cfg.footprint_slack = SIZE_MAX / 2;
    cfg.seed = harness_rand();
    heap_shadow_stress(h, &cfg, &res);
    if (res.errors)
        printf("#   shadow: %s\n", res.message);
    CHECK_EQ(res.errors, 0);
    CHECK(res.failed_allocs > 0); /* the buffer did run out */
    CHECK(heap_alloc(h, 100, 0) != NULL);
    CHECK_EQ(heap_check(h), 0);
}

/* ------------------------------------------------------------ routing */

TEST(routing)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_composite_create(src);
    struct {
        size_t size, align;
        int part;
    } cases[] = {
        {1, 0, SMALL},         {100, 0, SMALL},        {HEAP_SLAB_MAX, 0, SMALL},
        {10, 64, SMALL},       {40, 256, SMALL},       {1900, 2048, SMALL},
        {3000, 0, SMALL},      {4096, 4096, SMALL}, /* classes up to a page */
        {HEAP_SLAB_MAX + 1, 0, MEDIUM},                {5000, 0, MEDIUM},
        {60 * KIB, 32, MEDIUM},                        {COMPOSITE_LARGE_MIN, 0, LARGE},
        {300 * KIB, 0, LARGE}, {2000, 64 * KIB, LARGE}, {100, 8192, LARGE},
        /* a class would waste more than a quarter and 256 bytes: the general heap */
        {10, 2048, MEDIUM},    {600, 1024, MEDIUM},    {1000, 2048, MEDIUM},
        /* page-aligned below the large limit: placed inside the general heap's free blocks */
        {100, 4096, MEDIUM},   {5000, 4096, MEDIUM},   {COMPOSITE_LARGE_MIN, 4096, LARGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = heap_alloc(h, cases[i].size, cases[i].align);
        CHECK(p != NULL);
        if (owner(h, p) != cases[i].part) {
            printf("#   case %zu: size %zu align %zu went to part %d\n", i, cases[i].size,
                   cases[i].align, owner(h, p));
            CHECK(0);
        }
        CHECK_EQ(heap_size(h, p), heap_size(heap_composite_part(h, cases[i].part), p));
        heap_free(h, p);
        CHECK_EQ(heap_size(h, p), 0);
    }
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* Every power-of-two alignment from 1 to 64 KiB with sizes that are not multiples of it. */
TEST(alignments)
{
    struct heap_source *src = linux_source(0);
    struct heap *h = heap_composite_create(src);
    for (size_t align = 1; align <= 64 * KIB; align *= 2) {
        size_t sizes[] = {1, align + 1, 3 * align / 2 + 5, 100 * KIB + 3};
        void *p[4];
        for (int k = 0; k < 4; k++) {
            p[k] = heap_alloc(h, sizes[k], align);
            CHECK(p[k] != NULL);
            CHECK_EQ((uintptr_t)p[k] % align, 0);
            CHECK(heap_size(h, p[k]) >= sizes[k]);
            memset(p[k], 0x3c, sizes[k]);
        }
        CHECK_EQ(heap_check(h), 0);
        for (int k = 0; k < 4; k++)
            heap_free(h, p[k]);
    }
    CHECK_EQ(heap_stats_of(h).live_blocks, 0);
    source_linux_destroy(src);
}

TEST(impossible_requests)
{
    struct source_linux_config cfg = {.capacity = 64 << 20, .map_limit = 64 << 20};
    struct heap_source *src = source_linux_create(&cfg);
    struct heap *h = heap_composite_create(src);
    CHECK(heap_alloc(h, SIZE_MAX, 0) == NULL);
    CHECK(heap_alloc(h, HEAP_MAX_REQUEST, 0) == NULL);
    CHECK(heap_alloc(h, 100, 3) == NULL);
    CHECK(heap_alloc(h, 100, 48) == NULL);
    CHECK(heap_alloc(h, 100, (size_t)1 << (sizeof(size_t) * 8 - 2)) == NULL);
    CHECK(h->ops->alloc(h, HEAP_MAX_REQUEST / 2, 4096) == NULL); /* beyond the source */
    CHECK(heap_stats_of(h).failed_calls >= 1);
    CHECK_EQ(heap_stats_of(h).live_blocks, 0);
    CHECK_EQ(heap_check(h), 0);
    void *p = heap_alloc(h, 0, 0);
    CHECK(p != NULL && heap_size(h, p) >= 1);
    heap_free(h, p);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ misuse */

static char global_probe[64];

TEST(foreign_interior_double_free)
{
    struct heap_source *src = linux_source(0);
    struct heap *h = heap_composite_create(src), *other = heap_composite_create(src);
    size_t sizes[] = {48, 5000, 200 * KIB};
    char *mine[3], *theirs[3];
    for (int k = 0; k < 3; k++) {
        mine[k] = heap_alloc(h, sizes[k], 0);
        theirs[k] = heap_alloc(other, sizes[k], 0);
        CHECK(mine[k] && theirs[k] && owner(h, mine[k]) == k);
    }
    char local[16];
    void *m = malloc(40);
    void *bad[] = {theirs[0],
                   theirs[1],
                   theirs[2],
                   mine[0] + 16,
                   mine[1] + 16,
                   mine[2] + 4096,
                   mine[0] + 1,
                   mine[2] + 1,
                   local,
                   global_probe,
                   m,
                   (void *)h,
                   (void *)(uintptr_t)4096};
    struct heap_stats before = heap_stats_of(h);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(heap_size(h, bad[i]), 0);
        if (heap_free_reports(h, bad[i]) != 1) {
            printf("#   bad pointer %zu not reported exactly once\n", i);
            CHECK(0);
        }
    }
    struct heap_stats after = heap_stats_of(h);
    CHECK_EQ(after.live_blocks, before.live_blocks);
    CHECK_EQ(after.bytes_in_use, before.bytes_in_use);
    CHECK_EQ(heap_check(h), 0);
    for (int k = 0; k < 3; k++) {
        heap_free(h, mine[k]);
        CHECK_EQ(heap_free_reports(h, mine[k]), 1);     /* double free of each kind */
        CHECK(heap_size(other, theirs[k]) >= sizes[k]); /* the other heap is untouched */
    }
    CHECK_EQ(heap_check(h), 0);
    CHECK_EQ(heap_check(other), 0);
    free(m);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ checker */

TEST(check_sees_sub_heap_corruption)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_composite_create(src);
    void *small = heap_alloc(h, 64, 0), *large = heap_alloc(h, 100 * KIB, 0);
    CHECK(small && large);
    struct slab *s = slab_debug_slab_of(heap_composite_part(h, SMALL), small);
    struct page_run *r = heap_pages_debug_run(heap_composite_part(h, LARGE), large);
    CHECK(s && r);
    CHECK_EQ(heap_check(h), 0);
    s->inuse++;
    CHECK(heap_check_quietly(h) > 0);
    s->inuse--;
    r->pages++;
    CHECK(heap_check_quietly(h) > 0);
    r->pages--;
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, small);
    heap_free(h, large);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ the shared source */

/* Sub-heaps share one brk: nobody may shrink it, or another instance's memory would go. */
TEST(shared_source_is_never_shrunk)
{
    struct heap_source *src = linux_source(0); /* offers shrink */
    struct heap *h = heap_composite_create(src);
    static void *p[600];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 600; i++)
            p[i] = heap_alloc(h, (size_t)(1 + (i * 7919) % 60000), 0);
        for (int i = 0; i < 600; i++)
            heap_free(h, p[i]);
    }
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    CHECK_EQ(st.shrink_calls, 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

TEST(locking_discipline)
{
    struct heap_source *inner = linux_source(SOURCE_LINUX_NO_SHRINK);
    struct lock_check lc;
    struct heap_source *src = lock_check_wrap(&lc, inner);
    struct heap *h = heap_composite_create(src);
    CHECK(h != NULL);
    CHECK_EQ(stress(h, 128 * KIB, 8000), 0);
    CHECK_EQ(lc.unlocked_calls, 0);
    CHECK_EQ(lc.max_depth, 1);
    CHECK_EQ(lc.depth, 0);
    source_linux_destroy(inner);
}

/* ------------------------------------------------------------ caller-made parts */

TEST(create_from_parts)
{
    struct heap_source *a = linux_source(SOURCE_LINUX_NO_SHRINK), *b = linux_source(0);
    struct heap *small = heap_slab_create(a), *medium = heap_general_create(b);
    struct heap *large = heap_pages_create(a);
    struct heap *h = heap_composite_create_from(small, medium, large);
    CHECK(h != NULL);
    CHECK_EQ(heap_stats_of(h).live_blocks, 0);
    CHECK_EQ(heap_size(h, h), 0); /* the composite's own struct is not a user block */
    CHECK_EQ(heap_free_reports(h, h), 1);
    CHECK_EQ(stress(h, 256 * KIB, 20000), 0);
    void *p = heap_alloc(h, 10, 0), *q = heap_alloc(h, 10000, 0), *r = heap_alloc(h, 1 << 20, 0);
    CHECK(heap_size(small, p) && heap_size(medium, q) && heap_size(large, r));
    heap_free(h, p);
    heap_free(h, q);
    heap_free(h, r);
    /*
     * A second composite over the same set: the first calls the set with
     * its fallbacks, so this one asks it as a plain heap - both exact.
     * Once the first is gone, a third takes the set's fallbacks over.
     */
    struct heap *second = heap_composite_create_from(small, medium, NULL);
    CHECK(second != NULL);
    p = heap_alloc(second, 10, 0);
    q = heap_alloc(h, 10, 0);
    CHECK(heap_size(small, p) == 16 && heap_size(small, q) == 16);
    CHECK_EQ(heap_free_reports(second, (char *)p + 1), 1);
    CHECK_EQ(heap_free_reports(h, (char *)q + 1), 1);
    heap_free(second, q);
    heap_free(h, p);
    CHECK(heap_size(small, p) == 0 && heap_size(small, q) == 0);
    CHECK_EQ(heap_free_reports(second, p), 1);
    CHECK_EQ(heap_free_reports(h, q), 1);
    heap_composite_destroy(h);
    heap_composite_destroy(second);
    h = heap_composite_create_from(small, medium, large);
    CHECK_EQ(stress(h, 4 * KIB, 5000), 0);
    heap_composite_destroy(h);
    CHECK_EQ(heap_stats_of(medium).live_blocks, 0);
    /* only a medium heap: everything goes there */
    h = heap_composite_create_from(NULL, medium, NULL);
    p = heap_alloc(h, 1 << 20, 4096);
    CHECK(p && heap_size(medium, p));
    heap_free(h, p);
    CHECK_EQ(heap_check(h), 0);
    heap_composite_destroy(h);
    source_linux_destroy(a);
    source_linux_destroy(b);
}

static char release_probe[64];

/*
 * heap_release, the composite's one-pass free: a live block of any part is
 * freed and its usable size returned; NULL, foreign, interior and freed
 * pointers give 0 with nothing reported and nothing changed - through the
 * composite and through each part - while heap_free of the same pointers
 * still reports each once.
 */
TEST(release_frees_live_blocks_and_nothing_else)
{
    struct heap_source *src = linux_source(0);
    struct heap *h = heap_composite_create(src);
    static const size_t sizes[] = {40, 5000, 100 * KIB};
    char on_stack[32];
    for (size_t k = 0; k < 3; k++) {
        char *p = heap_alloc(h, sizes[k], 0), *q = heap_alloc(h, sizes[k], 0);
        CHECK(p && q && owner(h, p) == (int)k);
        size_t usable = heap_size(h, p), reports = mm_host_report_count();
        struct heap_stats before = heap_stats_of(h);
        void *bad[] = {NULL, p + 16, p + sizes[k] - 1, on_stack, release_probe + 8};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK_EQ(heap_release(h, bad[i]), 0);
        for (int part = SMALL; part <= LARGE; part++)
            if (part != (int)k)
                CHECK_EQ(heap_release(heap_composite_part(h, part), p), 0);
        struct heap_stats after = heap_stats_of(h);
        CHECK_EQ(after.live_blocks, before.live_blocks);
        CHECK_EQ(after.bytes_in_use, before.bytes_in_use);
        CHECK_EQ(mm_host_report_count(), reports);
        CHECK_EQ(heap_release(h, p), usable);
        CHECK_EQ(heap_size(h, p), 0);
        CHECK_EQ(heap_release(h, p), 0); /* freed: silent */
        CHECK_EQ(mm_host_report_count(), reports);
        CHECK_EQ(heap_free_reports(h, p), 1); /* heap_free still reports it, once */
        size_t qsize = heap_size(h, q);       /* and each part releases its own blocks */
        CHECK_EQ(heap_release(heap_composite_part(h, (int)k), q), qsize);
        CHECK_EQ(heap_size(h, q), 0);
        CHECK_EQ(heap_check(h), 0);
    }
    heap_composite_destroy(h);
    source_linux_destroy(src);
}

/*
 * A small block freed through the composite waits in the slab set's
 * magazine: the composite calls it not live, reports a second free of it
 * once (not passing it on to another part), and a shrink gives its memory
 * back - under a decommitting source and a grow-only one.
 */
static void magazine_through_composite(struct heap_source *src, int decommits)
{
    struct heap *h = heap_composite_create(src);
    struct heap *small = heap_composite_part(h, SMALL);
    size_t start = heap_stats_of(small).bytes_committed;
    enum { N = 700 };
    static void *obj[N];
    for (int i = 0; i < N; i++)
        CHECK((obj[i] = heap_alloc(h, (size_t)(1 + i % 300), 0)) != NULL);
    for (int i = 0; i < N; i++)
        heap_free(h, obj[i]);
    uint32_t n;
    CHECK(slab_debug_magazine(small, 300, &n) != NULL);
    CHECK_EQ(heap_size(h, obj[N - 1]), 0);
    CHECK_EQ(heap_release(h, obj[N - 1]), 0);
    struct heap_stats before = heap_stats_of(h);
    CHECK_EQ(heap_free_reports(h, obj[N - 1]), 1);
    CHECK_EQ(heap_stats_of(h).reported_errors, before.reported_errors + 1);
    CHECK_EQ(heap_stats_of(h).free_calls, before.free_calls);
    CHECK_EQ(heap_check(h), 0);
    CHECK(heap_alloc(h, (size_t)(1 + (N - 1) % 300), 0) == obj[N - 1]);
    heap_free(h, obj[N - 1]);
    heap_composite_shrink(h);
    if (decommits)
        CHECK_EQ(heap_stats_of(small).bytes_committed, start);
    CHECK_EQ(heap_stats_of(h).live_blocks, 0);
    CHECK_EQ(heap_check(h), 0);
    heap_composite_destroy(h);
}

TEST(magazine_objects_through_the_composite)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_STRICT);
    magazine_through_composite(src, 1);
    source_linux_destroy(src);
    static unsigned char buf[4 << 20] __attribute__((aligned(4096)));
    struct source_static ss;
    magazine_through_composite(source_static_init(&ss, buf, sizeof buf, 0), 0);
}

static size_t source_calls_of(struct heap_source *src)
{
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    return st.grow_calls + st.shrink_calls + st.map_calls + st.unmap_calls + st.activate_calls +
           st.deactivate_calls;
}

/*
 * Large blocks freed below the recent peak stay committed (the page heap's
 * recent-peak budget) and are taken again without a source call; after
 * everything is freed and a shrink the composite is back where it started.
 */
TEST(large_blocks_below_the_recent_peak_come_back_without_source_calls)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_STRICT);
    struct heap *h = heap_composite_create(src);
    struct source_linux_stats st0;
    source_linux_stats(src, &st0);
    char *b[24];
    for (int i = 0; i < 24; i++) {
        CHECK((b[i] = heap_alloc(h, 200 * KIB, 0)) != NULL);
        memset(b[i], i, 200 * KIB);
    }
    for (int round = 0; round < 4; round++) { /* the working set swings by 1.6 MiB and back */
        for (int i = 0; i < 8; i++)
            heap_free(h, b[i]);
        size_t calls = source_calls_of(src);
        for (int i = 0; i < 8; i++) {
            CHECK((b[i] = heap_alloc(h, 200 * KIB, 0)) != NULL);
            memset(b[i], round, 200 * KIB); /* strict source: committed pages only */
        }
        CHECK_EQ(source_calls_of(src), calls);
    }
    CHECK_EQ(heap_check(h), 0);
    for (int i = 0; i < 24; i++)
        heap_free(h, b[i]);
    heap_composite_shrink(h);
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    CHECK(st.committed + st.mapped <= st0.committed + st0.mapped + 128 * KIB);
    heap_composite_destroy(h);
    source_linux_destroy(src);
}

/*
 * realloc of a large block grows it in place into the pages after it: same
 * address, content kept, still owned by the page heap, the old neighbour's
 * address now an interior pointer; when the pages after it are taken,
 * heap_resize refuses and changes nothing, and realloc moves with the
 * content.
 */
TEST(large_realloc_grows_in_place_and_a_refused_growth_changes_nothing)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_STRICT);
    struct heap *h = heap_composite_create(src);
    char *p = mm_malloc(h, 100 * KIB), *q = mm_malloc(h, 100 * KIB);
    CHECK(p && q == p + 100 * KIB); /* carved one after the other */
    for (size_t i = 0; i < 100 * KIB; i++)
        p[i] = (char)(i * 7);
    mm_free(h, q);
    char *r = mm_realloc(h, p, 180 * KIB);
    CHECK(r == p);
    CHECK(heap_size(h, p) >= 180 * KIB);
    CHECK_EQ(owner(h, p), LARGE);
    for (size_t i = 0; i < 100 * KIB; i++)
        CHECK_EQ(p[i], (char)(i * 7));
    memset(p + 100 * KIB, 1, 80 * KIB);
    CHECK_EQ(heap_size(h, q), 0); /* inside p now */
    CHECK_EQ(heap_free_reports(h, q), 1);
    /* the 5 pages of q that p did not take, asked of the page heap itself */
    char *after = heap_alloc(heap_composite_part(h, LARGE), 20 * KIB, 4096);
    CHECK(after == p + heap_size(h, p));
    size_t usable = heap_size(h, p);
    CHECK_EQ(heap_resize(h, p, usable + 4096), -1);
    CHECK_EQ(heap_size(h, p), usable);
    CHECK_EQ(p[12345], (char)(12345 * 7));
    CHECK_EQ(heap_check(h), 0);
    char *moved = mm_realloc(h, p, usable + 4096);
    CHECK(moved && moved != p);
    CHECK_EQ(moved[12345], (char)(12345 * 7));
    CHECK_EQ(heap_size(h, p), 0);
    CHECK_EQ(heap_check(h), 0);
    mm_free(h, moved);
    mm_free(h, after);
    heap_composite_destroy(h);
    source_linux_destroy(src);
}

TEST(destroy)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_SHRINK);
    struct heap *h = heap_composite_create(src);
    CHECK(heap_alloc(h, 10, 0) && heap_alloc(h, 10000, 0) && heap_alloc(h, 1 << 20, 0));
    heap_composite_destroy(h);
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    CHECK_EQ(st.mapped, 0);
    CHECK_EQ(st.committed, 0); /* every frame back, the general heap's break included */
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ metadata on zeroed memory */

/* Resident pages of [lo, hi) (page-rounded), by mincore(2). */
static size_t resident_pages(uintptr_t lo, uintptr_t hi)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    lo &= ~(uintptr_t)(page - 1);
    hi = (hi + page - 1) & ~(uintptr_t)(page - 1);
    size_t n = (hi - lo) / page, count = 0;
    unsigned char *vec = malloc(n);
    if (!vec || mincore((void *)lo, hi - lo, vec) != 0) {
        free(vec);
        return SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++)
        count += vec[i] & 1;
    free(vec);
    return count;
}

/* Pages touched by creating a composite on source_linux and one malloc-sized request of each kind.
 */
static void pages_touched_by_create(int zeroed, size_t *touched, size_t *mag_pages)
{
    struct heap_source *src = linux_source(0);
    src->zeroed = zeroed; /* 0: as a source that cannot promise zeros */
    struct heap *h = heap_composite_create(src);
    CHECK(h != NULL);
    void *a = heap_alloc(h, 16, 0), *b = heap_alloc(h, 5000, 0);
    CHECK(a && b);
    /* the magazine pool: from the first class's entries to past the last's (nothing freed yet) */
    struct heap *small = heap_composite_part(h, SMALL);
    uint32_t n;
    uintptr_t pool_lo = (uintptr_t)slab_debug_magazine(small, 16, &n);
    uintptr_t pool_hi = (uintptr_t)(slab_debug_magazine(small, 2048, &n) + 8);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t inner_lo = (pool_lo + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t inner_hi = pool_hi & ~(uintptr_t)(page - 1);
    *mag_pages = inner_hi > inner_lo ? resident_pages(inner_lo, inner_hi) : 0;
    /* the first grow holds every part's metadata: the page heaps, the set, the general heap */
    uintptr_t base = (uintptr_t)heap_composite_part(h, LARGE);
    *touched = resident_pages(base, base + 256 * KIB);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, a);
    heap_free(h, b);
    heap_composite_destroy(h);
    source_linux_destroy(src);
}

/*
 * On a source whose grown memory is zero, creating a heap writes only the
 * metadata that is not zero: the slab set's magazine pool, the span map's
 * root, the general heap's list heads and first bitmap stay untouched until
 * used.  On a source that cannot promise zeros everything is zeroed.
 */
TEST(metadata_on_zeroed_memory_stays_untouched_until_used)
{
    size_t zeroed = SIZE_MAX, written = SIZE_MAX, mag_zeroed = SIZE_MAX, mag_written = 0;
    pages_touched_by_create(1, &zeroed, &mag_zeroed);
    pages_touched_by_create(0, &written, &mag_written);
    printf("# pages touched by create + 2 allocations: %zu on a zeroed source, %zu zeroing; "
           "magazine pool pages %zu / %zu\n",
           zeroed, written, mag_zeroed, mag_written);
    CHECK(zeroed != SIZE_MAX && written != SIZE_MAX);
    CHECK_EQ(mag_zeroed, 0);
    CHECK(mag_written > 0);
    CHECK(zeroed + 3 <= written);
}

/* Pages of the first 256 KiB of h's metadata resident after a create and one small request. */
static void pages_touched_small(unsigned create_flags, struct heap **out, struct heap_source **src,
                                size_t *pages)
{
    *pages = SIZE_MAX;
    *src = linux_source(0);
    *out = heap_composite_create_with(*src, create_flags);
    CHECK(*out != NULL);
    void *a = heap_alloc(*out, 16, 0);
    CHECK(a != NULL);
    heap_free(*out, a);
    uintptr_t base = (uintptr_t)heap_composite_part(*out, LARGE);
    *pages = resident_pages(base, base + 256 * KIB);
}

/*
 * HEAP_COMPOSITE_LAZY_MEDIUM: a heap whose requests are all small or large
 * never makes its general heap (libmm.so's threads: 5 pages of control
 * block each); the first request routed to it makes it, and from then on
 * the composite is the usual one.  A source with a lock makes it at once.
 */
TEST(lazy_medium_heap_is_made_by_the_first_request_it_serves)
{
    struct heap *eager = NULL, *h = NULL;
    struct heap_source *eager_src = NULL, *src = NULL;
    size_t eager_pages, lazy_pages;
    pages_touched_small(0, &eager, &eager_src, &eager_pages);
    pages_touched_small(HEAP_COMPOSITE_LAZY_MEDIUM, &h, &src, &lazy_pages);
    CHECK(eager_pages != SIZE_MAX && lazy_pages != SIZE_MAX);
    printf("# pages touched by create + a small request: %zu eager, %zu lazy\n", eager_pages,
           lazy_pages);
    CHECK(lazy_pages + 4 <= eager_pages);
    heap_composite_destroy(eager);
    source_linux_destroy(eager_src);

    CHECK(heap_composite_part(h, MEDIUM) == NULL);
    void *small = heap_alloc(h, 100, 0), *large = heap_alloc(h, 200 * KIB, 0);
    void *aligned = heap_alloc(h, 5000, 8 * KIB);
    CHECK(small && large && aligned);
    CHECK_EQ(owner(h, small), SMALL);
    CHECK_EQ(owner(h, large), LARGE);
    CHECK_EQ(owner(h, aligned), LARGE);
    CHECK(heap_composite_part(h, MEDIUM) == NULL); /* the page heap served them all */
    void *medium = heap_alloc(h, 5000, 0);
    CHECK(medium != NULL);
    CHECK(heap_composite_part(h, MEDIUM) != NULL);
    CHECK_EQ(owner(h, medium), MEDIUM);
    CHECK_EQ(heap_size(h, medium), heap_size(heap_composite_part(h, MEDIUM), medium));
    CHECK_EQ(heap_check(h), 0);
    void *p[] = {small, large, aligned, medium};
    for (unsigned i = 0; i < 4; i++)
        heap_free(h, p[i]);
    struct heap_stats st = heap_stats_of(h);
    CHECK_EQ(st.live_blocks, 0);
    CHECK_EQ(st.failed_calls, 0);
    CHECK_EQ(heap_check(h), 0);
    heap_composite_destroy(h);
    source_linux_destroy(src);

    /* the shadow model over a lazy heap: every size and alignment, misuse included */
    src = linux_source(0);
    h = heap_composite_create_with(src, HEAP_COMPOSITE_LAZY_MEDIUM);
    CHECK_EQ(stress(h, 256 * KIB, 20000), 0);
    CHECK_EQ(heap_check(h), 0);
    heap_composite_destroy(h);
    source_linux_destroy(src);

    /* a source with a lock: callers may race, so the general heap is made at once */
    src = linux_source(SOURCE_LINUX_LOCKED);
    h = heap_composite_create_with(src, HEAP_COMPOSITE_LAZY_MEDIUM);
    CHECK(h != NULL && heap_composite_part(h, MEDIUM) != NULL);
    heap_composite_destroy(h);
    source_linux_destroy(src);
}

/* A heap destroyed before its general heap was made gives everything back all the same. */
TEST(lazy_medium_heap_never_made_destroys_cleanly)
{
    struct heap_source *src = linux_source(0);
    struct heap *h = heap_composite_create_with(src, HEAP_COMPOSITE_LAZY_MEDIUM);
    CHECK(h != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(heap_alloc(h, (size_t)(8 + i * 16), 0) != NULL); /* live at destroy */
    CHECK(heap_composite_part(h, MEDIUM) == NULL);
    heap_composite_destroy(h);
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    CHECK_EQ(st.mapped, 0);
    source_linux_destroy(src);
}

/* The same heap over memory full of junk (a source that promises nothing) works as on zeros. */
TEST(metadata_on_junk_memory_is_zeroed)
{
    static _Alignas(4096) unsigned char buf[4 << 20];
    memset(buf, 0xa5, sizeof buf);
    struct source_static ss;
    struct heap_source *src = source_static_init(&ss, buf, sizeof buf, 0);
    CHECK_EQ(src->zeroed, 0);
    struct heap *h = heap_composite_create(src);
    CHECK(h != NULL);
    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = heap_alloc(h, (size_t)(i % 3 == 2 ? 3000 + i : 8 + 24 * i), 0);
        CHECK(p[i] != NULL);
    }
    CHECK_EQ(heap_check(h), 0);
    for (int i = 0; i < 64; i += 2)
        heap_free(h, p[i]);
    CHECK_EQ(heap_check(h), 0);
    for (int i = 1; i < 64; i += 2)
        heap_free(h, p[i]);
    struct heap_stats st = heap_stats_of(h);
    CHECK_EQ(st.live_blocks, 0);
    CHECK_EQ(heap_check(h), 0);
}

/* ------------------------------------------------------------ numbers (informational) */

TEST(speed_and_overhead)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_SHRINK);
    struct heap *h = heap_composite_create(src);
    enum { N = 4096 };
    static void *ring[N];
    uint64_t x = 88172645463325252ull;
    size_t live_bytes = 0, max_ratio_num = 0, max_ratio_den = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long ops = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < N; i++, ops++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly small, some medium, a few large */
            size_t size = x % 100 < 85 ? 8 + x % 500 : x % 100 < 99 ? 1000 + x % 30000 : 100 * KIB;
            ring[i] = heap_alloc(h, size, 0);
            live_bytes += heap_size(h, ring[i]);
        }
        struct heap_stats st = heap_stats_of(h);
        if (st.bytes_committed * max_ratio_den > max_ratio_num * st.bytes_in_use) {
            max_ratio_num = st.bytes_committed;
            max_ratio_den = st.bytes_in_use;
        }
        for (int i = 0; i < N; i++, ops++) {
            live_bytes -= heap_size(h, ring[i]);
            heap_free(h, ring[i]);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# composite: %.2f M ops/s (ASan build, alloc+size / free+size); "
           "committed/in-use at peak %.3f\n",
           (double)ops / s / 1e6, (double)max_ratio_num / (double)max_ratio_den);
    CHECK_EQ(live_bytes, 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}
