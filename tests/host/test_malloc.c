/*
 * tests/host/test_malloc.c - the malloc family (mm/malloc.c) over a general
 * heap, and over a heap without a resize operation (so realloc's moving
 * path is exercised on its own).
 */
#include "harness.h"
#include "heap_shadow.h"

#include "mm/heap_general.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"

#include <string.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define PAGE ((size_t)MM_PAGE_SIZE)

static struct heap_source *src;

static struct heap *fresh_heap(void)
{
    struct source_linux_config c = {
        .capacity = 256 * MIB, .map_limit = 64 * MIB, .flags = SOURCE_LINUX_STRICT};
    src = source_linux_create(&c);
    return heap_general_create(src);
}

static void drop_heap(struct heap *h)
{
    CHECK_EQ(heap_check(h), 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/* Fill with a pattern that depends on the offset, and check it. */
static void pattern_fill(void *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = (unsigned char)(i * 31 + seed);
}

static int pattern_ok(const void *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != (unsigned char)(i * 31 + seed))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- malloc, calloc, free */

TEST(malloc_zero_gives_unique_blocks)
{
    struct heap *h = fresh_heap();
    void *a = mm_malloc(h, 0), *b = mm_malloc(h, 0);
    CHECK(a && b && a != b);
    CHECK(mm_malloc_usable_size(h, a) >= 1);
    mm_free(h, a);
    mm_free(h, b);
    mm_free(h, NULL);
    drop_heap(h);
}

TEST(calloc_zeroes_recycled_memory)
{
    struct heap *h = fresh_heap();
    unsigned char *dirty = mm_malloc(h, 4000);
    memset(dirty, 0xAB, 4000);
    mm_free(h, dirty);
    unsigned char *z = mm_calloc(h, 100, 40);
    CHECK(z == dirty); /* the same memory came back: zeroing is calloc's doing */
    for (size_t i = 0; i < 4000; i++)
        CHECK_EQ(z[i], 0);
    mm_free(h, z);
    void *none = mm_calloc(h, 0, 100);
    CHECK(none != NULL);
    mm_free(h, none);
    drop_heap(h);
}

TEST(calloc_product_overflow_returns_null)
{
    struct heap *h = fresh_heap();
    const size_t half = (size_t)1 << (sizeof(size_t) * 4);
    CHECK(mm_calloc(h, half, half) == NULL);     /* wraps to 0 */
    CHECK(mm_calloc(h, half + 1, half) == NULL); /* wraps to a small number */
    CHECK(mm_calloc(h, SIZE_MAX, 2) == NULL);
    CHECK(mm_calloc(h, 2, SIZE_MAX / 2 + 1) == NULL); /* wraps to 0 */
    CHECK(mm_calloc(h, 3, SIZE_MAX / 3 + 1) == NULL); /* wraps to 2 */
    CHECK(mm_calloc(h, SIZE_MAX / 2, 1) == NULL);     /* no wrap, just impossible */
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK_EQ(st.live_blocks, 0);
    drop_heap(h);
}

TEST(malloc_impossible_sizes_return_null)
{
    struct heap *h = fresh_heap();
    for (size_t k = 0; k < 16; k++)
        CHECK(mm_malloc(h, SIZE_MAX - k) == NULL);
    CHECK(mm_malloc(h, HEAP_MAX_REQUEST + 1) == NULL);
    drop_heap(h);
}

/* ---------------------------------------------------------------- realloc */

TEST(realloc_null_and_zero)
{
    struct heap *h = fresh_heap();
    char *p = mm_realloc(h, NULL, 50);
    CHECK(p != NULL);
    pattern_fill(p, 50, 1);
    char *q = mm_realloc(h, p, 0); /* a minimal block, never a hidden free */
    CHECK(q != NULL);
    CHECK(mm_malloc_usable_size(h, q) >= 1);
    CHECK(pattern_ok(q, 1, 1));
    mm_free(h, q);
    drop_heap(h);
}

TEST(realloc_grows_in_place_when_the_next_block_is_free)
{
    struct heap *h = fresh_heap();
    char *p = mm_malloc(h, 1000), *gap = mm_malloc(h, 3000), *wall = mm_malloc(h, 10);
    mm_free(h, gap);
    pattern_fill(p, 1000, 2);
    char *q = mm_realloc(h, p, 3500);
    CHECK(q == p);
    CHECK(pattern_ok(q, 1000, 2));
    CHECK(mm_malloc_usable_size(h, q) >= 3500);
    /* no more room: it moves, keeping the prefix */
    pattern_fill(q, 3500, 3);
    char *r = mm_realloc(h, q, 9000);
    CHECK(r != NULL && r != q);
    CHECK(pattern_ok(r, 3500, 3));
    CHECK_EQ(mm_malloc_usable_size(h, q), 0); /* the old block is gone */
    mm_free(h, r);
    mm_free(h, wall);
    drop_heap(h);
}

TEST(realloc_shrinks_in_place_and_keeps_the_prefix)
{
    struct heap *h = fresh_heap();
    char *p = mm_malloc(h, 8000);
    pattern_fill(p, 8000, 4);
    char *q = mm_realloc(h, p, 100);
    CHECK(q == p);
    CHECK(pattern_ok(q, 100, 4));
    CHECK(mm_malloc_usable_size(h, q) < 200); /* the tail went back */
    char *next = mm_malloc(h, 4000);
    CHECK(next > q && next < q + 8000); /* and is used again */
    mm_free(h, next);
    mm_free(h, q);
    drop_heap(h);
}

TEST(realloc_failure_leaves_the_block_untouched)
{
    struct heap *h = fresh_heap();
    char *p = mm_malloc(h, 300);
    pattern_fill(p, 300, 5);
    size_t usable = mm_malloc_usable_size(h, p);
    CHECK(mm_realloc(h, p, SIZE_MAX) == NULL);
    CHECK(mm_realloc(h, p, SIZE_MAX - 100) == NULL);
    CHECK(mm_realloc(h, p, 512 * MIB) == NULL); /* more than the source has */
    CHECK_EQ(mm_malloc_usable_size(h, p), usable);
    CHECK(pattern_ok(p, 300, 5));
    mm_free(h, p);
    drop_heap(h);
}

TEST(realloc_of_a_foreign_pointer_is_reported)
{
    struct heap *h = fresh_heap();
    char local[64];
    char *p = mm_malloc(h, 64);
    size_t reports = mm_host_report_count();
    mm_host_print_reports(0);
    CHECK(mm_realloc(h, local, 100) == NULL);
    CHECK(mm_realloc(h, p + 16, 100) == NULL);
    mm_free(h, p);
    CHECK(mm_realloc(h, p, 100) == NULL); /* after free */
    mm_host_print_reports(1);
    CHECK_EQ(mm_host_report_count(), reports + 3);
    drop_heap(h);
}

/*
 * A buffer grown by small appends where it can never grow in place (the
 * heap seen without resize) must still move only a logarithmic number of
 * times - each move leaves headroom - not once per append.
 */
TEST(realloc_appends_move_rarely)
{
    struct heap *h = fresh_heap();
    struct heap_ops no_resize = *h->ops;
    const struct heap_ops *saved = h->ops;
    no_resize.resize = NULL;
    h->ops = &no_resize;
    size_t n = 1024, moves = 0;
    char *p = mm_malloc(h, n);
    pattern_fill(p, n, 9);
    while (n < 256 * KIB) {
        char *q = mm_realloc(h, p, n + 64);
        CHECK(q != NULL);
        moves += q != p;
        p = q;
        n += 64;
    }
    CHECK(pattern_ok(p, 1024, 9));
    CHECK(moves <= 32); /* 1 KiB to 256 KiB with headroom: about 14 moves, at most 25 */
    mm_free(h, p);
    h->ops = saved;
    drop_heap(h);
}

TEST(realloc_moves_on_a_heap_without_resize)
{
    /* the same instance seen through a table without resize: realloc must move */
    struct heap *h = fresh_heap();
    struct heap_ops no_resize = *h->ops;
    const struct heap_ops *saved = h->ops;
    no_resize.resize = NULL;
    h->ops = &no_resize;
    char *p = mm_malloc(h, 100);
    pattern_fill(p, 100, 6);
    CHECK(mm_realloc(h, p, 50) == p); /* fits already: no move */
    char *q = mm_realloc(h, p, 5000);
    CHECK(q != NULL && q != p);
    CHECK(pattern_ok(q, 100, 6));
    mm_free(h, q);
    h->ops = saved;
    drop_heap(h);
}

/* ---------------------------------------------------------------- aligned allocation */

TEST(memalign_and_aligned_alloc)
{
    struct heap *h = fresh_heap();
    for (size_t align = 1; align <= 64 * KIB; align *= 2) {
        void *p = mm_memalign(h, align, align * 3 + 1), *q = mm_aligned_alloc(h, align, 7);
        CHECK(p && q);
        CHECK_EQ((uintptr_t)p % align, 0);
        CHECK_EQ((uintptr_t)q % align, 0);
        mm_free(h, p);
        mm_free(h, q);
    }
    CHECK(mm_memalign(h, 0, 10) == NULL);
    CHECK(mm_memalign(h, 24, 10) == NULL);
    CHECK(mm_aligned_alloc(h, 3, 10) == NULL);
    CHECK(mm_memalign(h, 64, SIZE_MAX - 32) == NULL);
    drop_heap(h);
}

TEST(posix_memalign_error_numbers)
{
    struct heap *h = fresh_heap();
    void *out = (void *)0x1234;
    CHECK_EQ(mm_posix_memalign(h, &out, 0, 10), MM_EINVAL);
    CHECK_EQ(mm_posix_memalign(h, &out, 3, 10), MM_EINVAL);
    CHECK_EQ(mm_posix_memalign(h, &out, sizeof(void *) / 2, 10), MM_EINVAL);
    CHECK_EQ(mm_posix_memalign(h, &out, 64, SIZE_MAX), MM_ENOMEM);
    CHECK(out == (void *)0x1234); /* untouched on error */
    CHECK_EQ(mm_posix_memalign(h, &out, 256, 1000), 0);
    CHECK_EQ((uintptr_t)out % 256, 0);
    mm_free(h, out);
    drop_heap(h);
}

TEST(valloc_and_pvalloc)
{
    struct heap *h = fresh_heap();
    void *v = mm_valloc(h, 10);
    CHECK(v != NULL);
    CHECK_EQ((uintptr_t)v % PAGE, 0);
    void *pv = mm_pvalloc(h, PAGE + 1);
    CHECK(pv != NULL);
    CHECK_EQ((uintptr_t)pv % PAGE, 0);
    CHECK(mm_malloc_usable_size(h, pv) >= 2 * PAGE);
    void *pz = mm_pvalloc(h, 0);
    CHECK(pz != NULL);
    CHECK(mm_malloc_usable_size(h, pz) >= PAGE);
    CHECK(mm_pvalloc(h, SIZE_MAX) == NULL); /* rounding would wrap */
    CHECK(mm_pvalloc(h, SIZE_MAX - PAGE + 2) == NULL);
    mm_free(h, v);
    mm_free(h, pv);
    mm_free(h, pz);
    drop_heap(h);
}

TEST(usable_size_of_null_and_strangers_is_zero)
{
    struct heap *h = fresh_heap();
    int local;
    CHECK_EQ(mm_malloc_usable_size(h, NULL), 0);
    CHECK_EQ(mm_malloc_usable_size(h, &local), 0);
    char *p = mm_malloc(h, 77);
    CHECK(mm_malloc_usable_size(h, p) >= 77);
    CHECK_EQ(mm_malloc_usable_size(h, p + 1), 0);
    mm_free(h, p);
    drop_heap(h);
}

TEST(family_under_the_shadow_model)
{
    /* The stress uses mm_calloc and mm_realloc for a share of its operations. */
    struct heap *h = fresh_heap();
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = 300000;
    cfg.realloc_pct = 30;
    cfg.calloc_pct = 20;
    cfg.max_size = 20000;
    cfg.footprint_slack = 256 * KIB;
    cfg.seed = harness_rand();
    struct heap_shadow_result res;
    heap_shadow_stress(h, &cfg, &res);
    if (res.errors)
        harness_fail(__FILE__, __LINE__, "%s", res.message);
    CHECK_EQ(res.errors, 0);
    CHECK(res.reallocs > 50000);
    drop_heap(h);
}
