/*
 * tests/host/test_heap_api.c - the common API (mm/heap.c) and the shadow
 * model itself (tests/host/heap_shadow.c).
 *
 *   - the wrappers: what an implementation is (and is not) shown, defaults
 *     for instances without check/stats/resize/name;
 *   - the contract on every implementation in `implementations` below:
 *     bad alignments, impossible sizes, zero size, NULL, stack/global
 *     pointers, a short shadow stress.  (Other allocators join by adding a
 *     line to that table.)
 *   - the shadow model against deliberately broken heaps: each kind of bug
 *     it claims to catch must make it report, so a passing stress means
 *     something.
 */
#include "harness.h"
#include "heap_shadow.h"

#include "mm/heap_general.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/source_static.h"

#include <string.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

/* ---------------------------------------------------------------- implementations */

/* One instance under test and what it needs to be torn down. */
struct fixture {
    struct heap *heap;
    struct heap_source *linux_src;
    struct source_static static_src;
};

static unsigned char static_buffer[8 * 1024 * 1024];

static void make_general_linux(struct fixture *f)
{
    f->linux_src = source_linux_create(NULL);
    f->heap = heap_general_create(f->linux_src);
}

static void make_general_grow_only(struct fixture *f)
{
    struct source_linux_config c = {.capacity = 256 * MIB, .flags = SOURCE_LINUX_GROW_ONLY};
    f->linux_src = source_linux_create(&c);
    f->heap = heap_general_create(f->linux_src);
}

static void make_general_static(struct fixture *f)
{
    f->heap = heap_general_create(
        source_static_init(&f->static_src, static_buffer, sizeof static_buffer, 0));
}

static void destroy_general(struct fixture *f)
{
    if (f->heap)
        heap_general_destroy(f->heap);
    if (f->linux_src)
        source_linux_destroy(f->linux_src);
}

static const struct implementation {
    const char *name;
    void (*make)(struct fixture *f);
    void (*destroy)(struct fixture *f);
} implementations[] = {
    {"general on the Linux source", make_general_linux, destroy_general},
    {"general on a grow-only source", make_general_grow_only, destroy_general},
    {"general on a static buffer", make_general_static, destroy_general},
};
#define IMPLEMENTATION_COUNT (sizeof implementations / sizeof implementations[0])

/*
 * Run the body once per implementation with `h` bound to a fresh instance
 * (possibly NULL if creation failed: the body checks).  Stops at the first
 * failing implementation; impl_ names it.
 */
#define FOR_EACH_IMPLEMENTATION(h)                                                                 \
    for (size_t impl_ = 0; impl_ < IMPLEMENTATION_COUNT && !harness_failed(); impl_++)             \
        for (struct fixture fx_ = {0}, *once_ = (implementations[impl_].make(&fx_), &fx_); once_;  \
             implementations[impl_].destroy(&fx_), once_ = NULL)                                   \
            for (struct heap *h = fx_.heap, *done_ = NULL; !done_; done_ = (struct heap *)&fx_)

static char global_probe[64];

TEST(every_implementation_refuses_bad_alignments)
{
    FOR_EACH_IMPLEMENTATION(h)
    {
        CHECK(h != NULL);
        const size_t bad[] = {3, 5, 6, 12, 24, 48, 96, 100, 4095, 4097, SIZE_MAX, SIZE_MAX - 1};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK(heap_alloc(h, 10, bad[i]) == NULL);
        for (size_t align = 1; align <= 64 * KIB; align *= 2) {
            void *p = heap_alloc(h, align + 3, align);
            CHECK(p != NULL);
            CHECK_EQ((uintptr_t)p % align, 0);
            CHECK_EQ((uintptr_t)p % HEAP_DEFAULT_ALIGN, 0);
            heap_free(h, p);
        }
        CHECK_EQ(heap_check(h), 0);
    }
}

TEST(every_implementation_refuses_impossible_sizes)
{
    FOR_EACH_IMPLEMENTATION(h)
    {
        size_t reports = mm_host_report_count();
        for (size_t k = 0; k < 32; k++) {
            CHECK(heap_alloc(h, SIZE_MAX - k, 0) == NULL);
            CHECK(heap_alloc(h, SIZE_MAX - k, 64) == NULL);
            CHECK(heap_alloc(h, HEAP_MAX_REQUEST + 1 + k, 0) == NULL);
            CHECK(heap_alloc(h, HEAP_MAX_REQUEST - k, 4096) ==
                  NULL); /* size + align wraps past the limit */
            CHECK(heap_alloc(h, 64, HEAP_MAX_REQUEST + 1) ==
                  NULL); /* 2^(bits-1): too big an alignment */
        }
        CHECK_EQ(mm_host_report_count(), reports);
        CHECK_EQ(heap_check(h), 0);
    }
}

TEST(every_implementation_handles_zero_null_and_strangers)
{
    FOR_EACH_IMPLEMENTATION(h)
    {
        char on_stack[32];
        void *a = heap_alloc(h, 0, 0), *b = heap_alloc(h, 0, 0);
        CHECK(a != NULL && b != NULL && a != b); /* unique minimal blocks */
        CHECK(heap_size(h, a) >= 1);
        CHECK_EQ(heap_size(h, NULL), 0);
        size_t reports = mm_host_report_count();
        heap_free(h, NULL);
        CHECK_EQ(mm_host_report_count(), reports);
        CHECK_EQ(heap_size(h, on_stack + 8), 0);
        CHECK_EQ(heap_size(h, global_probe + 16), 0);
        mm_host_print_reports(0);
        heap_free(h, on_stack + 8);
        heap_free(h, global_probe + 16);
        heap_free(h, a);
        heap_free(h, a);
        mm_host_print_reports(1);
        CHECK_EQ(mm_host_report_count(), reports + 3);
        heap_free(h, b);
        CHECK_EQ(heap_check(h), 0);
        CHECK(heap_name(h) != NULL);
    }
}

TEST(every_implementation_survives_a_short_shadow_stress)
{
    FOR_EACH_IMPLEMENTATION(h)
    {
        struct heap_shadow_config cfg;
        heap_shadow_config_default(&cfg);
        cfg.ops = 100000;
        cfg.max_live = 1000;
        cfg.max_align = 8192;
        cfg.footprint_slack = SIZE_MAX / 2; /* footprints are each implementation's own test */
        cfg.seed = harness_rand();
        struct heap_shadow_result res;
        heap_shadow_stress(h, &cfg, &res);
        if (res.errors)
            harness_fail(__FILE__, __LINE__, "%s: %s", implementations[impl_].name, res.message);
        CHECK_EQ(res.errors, 0);
    }
}

/* ---------------------------------------------------------------- the wrappers */

/*
 * A spy: a tiny bump allocator with only alloc/size/free that records what
 * the wrappers pass down.  Blocks are never reused; a per-block header
 * keeps (magic, size) so size/free can tell its own blocks.
 */
#define SPY_MAGIC 0x5350595Fu
struct spy {
    struct heap heap;
    unsigned char arena[64 * 1024];
    size_t used;
    size_t calls, last_size, last_align;
};

struct spy_header {
    uint32_t magic, live;
    size_t size;
};

static struct spy *to_spy(struct heap *h)
{
    return (struct spy *)h;
}

static struct spy_header *spy_header(struct spy *s, const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)s->arena + sizeof(struct spy_header);
    if (a < lo || a >= (uintptr_t)s->arena + s->used || a % HEAP_DEFAULT_ALIGN)
        return NULL;
    struct spy_header *hd = (struct spy_header *)(a - sizeof *hd);
    return hd->magic == SPY_MAGIC && hd->live ? hd : NULL;
}

static void *spy_alloc(struct heap *h, size_t size, size_t align)
{
    struct spy *s = to_spy(h);
    s->calls++;
    s->last_size = size;
    s->last_align = align;
    uintptr_t base = (uintptr_t)s->arena + s->used + sizeof(struct spy_header);
    uintptr_t p = (base + align - 1) & ~(uintptr_t)(align - 1);
    if (align > 4096 || size > sizeof s->arena || p + size > (uintptr_t)s->arena + sizeof s->arena)
        return NULL;
    struct spy_header *hd = (struct spy_header *)(p - sizeof *hd);
    *hd = (struct spy_header){SPY_MAGIC, 1, size};
    s->used = p + size - (uintptr_t)s->arena;
    return (void *)p;
}

static size_t spy_size(struct heap *h, const void *p)
{
    struct spy *s = to_spy(h);
    s->calls++;
    struct spy_header *hd = spy_header(s, p);
    return hd ? hd->size : 0;
}

static void spy_free(struct heap *h, void *p)
{
    struct spy *s = to_spy(h);
    s->calls++;
    struct spy_header *hd = spy_header(s, p);
    if (hd)
        hd->live = 0;
    else
        mm_report("spy: bad free %p", p);
}

static const struct heap_ops spy_ops = {.alloc = spy_alloc, .size = spy_size, .free = spy_free};

TEST(wrappers_normalise_what_implementations_see)
{
    static struct spy s;
    memset(&s, 0, sizeof s);
    s.heap.ops = &spy_ops;
    struct heap *h = &s.heap;
    void *p = heap_alloc(h, 0, 0);
    CHECK(p != NULL);
    CHECK_EQ(s.last_size, 1);
    CHECK_EQ(s.last_align, HEAP_DEFAULT_ALIGN);
    heap_alloc(h, 5, 2);
    CHECK_EQ(s.last_align, HEAP_DEFAULT_ALIGN);
    heap_alloc(h, 5, 256);
    CHECK_EQ(s.last_align, 256);
    size_t calls = s.calls;
    CHECK(heap_alloc(h, SIZE_MAX, 0) == NULL);
    CHECK(heap_alloc(h, 10, 12) == NULL);
    CHECK(heap_alloc(h, HEAP_MAX_REQUEST - 8, 64) == NULL);
    CHECK_EQ(heap_size(h, NULL), 0);
    heap_free(h, NULL);
    CHECK_EQ(s.calls, calls); /* none of those reached the implementation */
}

/* heap_alloc_default(h, n) hands the instance exactly what heap_alloc(h, n, 0) would. */
TEST(default_alignment_entry_is_heap_alloc_with_zero)
{
    static struct spy s;
    memset(&s, 0, sizeof s);
    s.heap.ops = &spy_ops;
    struct heap *h = &s.heap;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 4096, HEAP_MAX_REQUEST - HEAP_DEFAULT_ALIGN};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        void *p = heap_alloc_default(h, sizes[k]); /* the spy's arena refuses the biggest */
        size_t size = s.last_size, align = s.last_align;
        CHECK((p != NULL) == (heap_alloc(h, sizes[k], 0) != NULL));
        CHECK_EQ(size, s.last_size);
        CHECK_EQ(align, s.last_align);
        CHECK_EQ(align, HEAP_DEFAULT_ALIGN);
    }
    size_t calls = s.calls;
    for (size_t k = 0; k < 32; k++) {
        CHECK(heap_alloc_default(h, SIZE_MAX - k) == NULL);
        CHECK(heap_alloc_default(h, HEAP_MAX_REQUEST - HEAP_DEFAULT_ALIGN + 1 + k) == NULL);
    }
    CHECK_EQ(s.calls, calls); /* none of those reached the implementation */
    FOR_EACH_IMPLEMENTATION(heap)
    {
        void *a = heap_alloc_default(heap, 0), *b = heap_alloc_default(heap, 0);
        CHECK(a != NULL && b != NULL && a != b && heap_size(heap, a) >= 1);
        CHECK(heap_alloc_default(heap, SIZE_MAX) == NULL);
        heap_free(heap, a);
        heap_free(heap, b);
        CHECK_EQ(heap_check(heap), 0);
    }
}

TEST(wrappers_supply_defaults_for_optional_operations)
{
    static struct spy s;
    memset(&s, 0, sizeof s);
    s.heap.ops = &spy_ops;
    struct heap *h = &s.heap;
    CHECK_EQ(heap_check(h), 0);
    CHECK(strcmp(heap_name(h), "unnamed") == 0);
    struct heap_stats st;
    memset(&st, 0xFF, sizeof st);
    heap_stats(h, &st);
    CHECK_EQ(st.bytes_held, 0);
    CHECK_EQ(st.live_blocks, 0);
    char *p = heap_alloc(h, 100, 0);
    CHECK_EQ(heap_resize(h, p, 50), 0); /* fits already */
    CHECK_EQ(heap_resize(h, p, 100), 0);
    CHECK_EQ(heap_resize(h, p, 101), -1); /* no resize operation: cannot grow */
    CHECK_EQ(heap_resize(h, NULL, 10), -1);
    size_t reports = mm_host_report_count();
    mm_host_print_reports(0);
    CHECK_EQ(heap_resize(h, p + 16, 10), -1);
    mm_host_print_reports(1);
    CHECK_EQ(mm_host_report_count(), reports + 1);
}

/* ---------------------------------------------------------------- the shadow's own tests */

/*
 * A general heap wrapped with one injected bug.  Each fault must make the
 * shadow model report an error mentioning `expect`.
 */
enum fault {
    FAULT_NONE,
    FAULT_HAND_OUT_TWICE,  /* alloc returns a block that is still live */
    FAULT_MISALIGN,        /* large alignments are not honoured */
    FAULT_SIZE_UNSTABLE,   /* heap_size of a live block changes by itself */
    FAULT_SCRIBBLE,        /* alloc writes into the previous block */
    FAULT_SILENT_BAD_FREE, /* foreign/double frees are ignored without a report */
    FAULT_INTERIOR_SIZE,   /* heap_size accepts interior pointers */
    FAULT_LEAK,            /* free forgets some blocks (stats stay high) */
    FAULT_RESIZE_LIES,     /* resize claims success without growing */
    FAULT_CHECK_FAILS,     /* check reports a violation */
};

struct faulty {
    struct heap heap;
    struct heap *inner;
    enum fault fault;
    unsigned long count;
    void *last;
};

static struct faulty *to_faulty(struct heap *h)
{
    return (struct faulty *)h;
}

static void *faulty_alloc(struct heap *h, size_t size, size_t align)
{
    struct faulty *f = to_faulty(h);
    f->count++;
    /* Only when the live block is big enough: calloc's memset or realloc's copy
     * into a smaller one would wreck the inner heap before the model could look. */
    if (f->fault == FAULT_HAND_OUT_TWICE && f->last && f->count % 97 == 0 &&
        heap_size(f->inner, f->last) >= size)
        return f->last;
    if (f->fault == FAULT_SCRIBBLE && f->last && f->count % 89 == 0)
        ((unsigned char *)f->last)[0] ^= 0x40;
    if (f->fault == FAULT_MISALIGN && align >= 64) {
        char *p = heap_alloc(f->inner, size + 64, align);
        return p ? p + HEAP_DEFAULT_ALIGN : NULL;
    }
    f->last = heap_alloc(f->inner, size, align);
    return f->last;
}

static size_t faulty_size(struct heap *h, const void *p)
{
    struct faulty *f = to_faulty(h);
    size_t n = heap_size(f->inner, p);
    if (f->fault == FAULT_SIZE_UNSTABLE && n > 64 && ++f->count % 5 == 0)
        return n - 8;
    if (f->fault == FAULT_INTERIOR_SIZE && !n)
        return heap_size(f->inner, (const char *)p - HEAP_DEFAULT_ALIGN);
    if (f->fault == FAULT_MISALIGN && !n)
        return heap_size(f->inner, (const char *)p - HEAP_DEFAULT_ALIGN) - HEAP_DEFAULT_ALIGN;
    return n;
}

static void faulty_free(struct heap *h, void *p)
{
    struct faulty *f = to_faulty(h);
    if (f->fault == FAULT_MISALIGN && !heap_size(f->inner, p))
        p = (char *)p - HEAP_DEFAULT_ALIGN;
    if (f->fault == FAULT_SILENT_BAD_FREE && !heap_size(f->inner, p))
        return;
    if (f->fault == FAULT_LEAK && ++f->count % 50 == 0)
        return;
    if (p == f->last)
        f->last = NULL;
    heap_free(f->inner, p);
}

static int faulty_resize(struct heap *h, void *p, size_t size)
{
    struct faulty *f = to_faulty(h);
    if (f->fault == FAULT_RESIZE_LIES)
        return 0;
    return heap_resize(f->inner, p, size);
}

static int faulty_check(struct heap *h)
{
    struct faulty *f = to_faulty(h);
    return heap_check(f->inner) + (f->fault == FAULT_CHECK_FAILS);
}

static void faulty_stats(struct heap *h, struct heap_stats *st)
{
    heap_stats(to_faulty(h)->inner, st);
}

static const struct heap_ops faulty_ops = {
    .name = "faulty",
    .alloc = faulty_alloc,
    .size = faulty_size,
    .free = faulty_free,
    .check = faulty_check,
    .stats = faulty_stats,
    .resize = faulty_resize,
};

/* Run a short stress against the fault; return the shadow's first message (or ""). */
static unsigned long stress_with_fault(enum fault fault, int probes, char *msg, size_t msg_size)
{
    struct heap_source *src = source_linux_create(NULL);
    struct faulty f = {.heap = {&faulty_ops}, .inner = heap_general_create(src), .fault = fault};
    struct heap_shadow_config cfg;
    heap_shadow_config_default(&cfg);
    cfg.ops = 20000;
    cfg.max_live = 500;
    cfg.max_align = 256;
    cfg.probe_pct = probes ? 5 : 0; /* off where a probe would trip over the fault first */
    cfg.double_free_pct = probes ? 5 : 0;
    cfg.check_every = 2000;
    cfg.footprint_slack = SIZE_MAX / 2;
    struct heap_shadow_result res;
    heap_shadow_print_reports(0); /* the broken heaps report a lot, on purpose */
    heap_shadow_stress(&f.heap, &cfg, &res);
    heap_shadow_print_reports(1);
    snprintf(msg, msg_size, "%s", res.message);
    heap_general_destroy(f.inner);
    source_linux_destroy(src);
    return res.errors;
}

TEST(shadow_passes_a_correct_heap)
{
    char msg[256];
    CHECK_EQ(stress_with_fault(FAULT_NONE, 1, msg, sizeof msg), 0);
}

TEST(shadow_catches_each_injected_bug)
{
#if MM_DEBUG
    return; /* MM_DEBUG's heap_alloc checks turn these bugs into panics before the model sees them
             */
#endif
    static const struct {
        enum fault fault;
        int probes;
        const char *expect;
    } cases[] = {
        {FAULT_HAND_OUT_TWICE, 1, "overlaps"},
        {FAULT_MISALIGN, 0, "misaligned"},
        {FAULT_SIZE_UNSTABLE, 1, "heap_size"},
        {FAULT_SCRIBBLE, 1, "corrupted"},
        {FAULT_SILENT_BAD_FREE, 1, "not reported"},
        {FAULT_INTERIOR_SIZE, 1, "want 0"},
        {FAULT_LEAK, 0, "stats"},
        {FAULT_RESIZE_LIES, 1, "too small"},
        {FAULT_CHECK_FAILS, 1, "heap_check"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256];
        unsigned long errors = stress_with_fault(cases[i].fault, cases[i].probes, msg, sizeof msg);
        if (!errors || !strstr(msg, cases[i].expect))
            harness_fail(__FILE__, __LINE__, "fault %d: %lu errors, message \"%s\", wanted \"%s\"",
                         (int)cases[i].fault, errors, msg, cases[i].expect);
        CHECK(errors > 0);
        CHECK(strstr(msg, cases[i].expect) != NULL);
    }
}

TEST(shadow_step_api_counts_and_closes)
{
    struct heap_source *src = source_linux_create(NULL);
    struct heap *h = heap_general_create(src);
    struct heap_shadow *s = heap_shadow_open(h, 4);
    CHECK(s != NULL);
    for (int i = 0; i < 6; i++)
        heap_shadow_alloc(s, 100 + (size_t)i, 0, i % 2);
    CHECK_EQ(heap_shadow_live(s), 4); /* the table holds 4 */
    heap_shadow_realloc(s, 1, 5000);
    heap_shadow_free(s, 0, 1);
    for (unsigned k = 0; k < 8; k++)
        heap_shadow_probe(s, 0, k);
    heap_shadow_checkpoint(s);
    CHECK_EQ(heap_shadow_live(s), 3);
    CHECK_EQ(heap_shadow_errors(s), 0);
    char msg[64];
    CHECK_EQ(heap_shadow_close(s, 256 * KIB, msg, sizeof msg), 0);
    struct heap_stats st;
    heap_stats(h, &st);
    CHECK_EQ(st.live_blocks, 0);
    heap_general_destroy(h);
    source_linux_destroy(src);
}

/*
 * source_linux records its first mappings inside its own struct: a heap
 * that maps a few regions (libmm.so's threads map the slab set's span-map
 * nodes) costs no page of table; past those the records move out, and
 * every mapping stays known (unmapped exactly once, refused twice).
 */
TEST(linux_source_first_mappings_need_no_table)
{
    struct heap_source *src = source_linux_create(NULL);
    enum { MAPS = 600 }; /* past the records inside, the first table and one doubling */
    static void *p[MAPS];
    struct source_linux_stats st;
    for (int i = 0; i < MAPS; i++) {
        p[i] = src->map(src, 4096);
        CHECK(p[i] != NULL);
        source_linux_stats(src, &st);
        if (i == 0)
            CHECK_EQ(st.table_bytes, 0); /* one mapping: recorded inside the struct */
    }
    source_linux_stats(src, &st);
    CHECK(st.table_bytes >= MAPS * 2 * sizeof(void *));
    CHECK_EQ(st.mapped, (size_t)MAPS * 4096);
    for (int i = 0; i < MAPS; i += 2)
        src->unmap(src, p[i], 4096);
    size_t reports = mm_host_report_count();
    src->unmap(src, p[0], 4096); /* twice: refused, reported */
    CHECK_EQ(mm_host_report_count(), reports + 1);
    source_linux_stats(src, &st);
    CHECK_EQ(st.mapped, (size_t)MAPS / 2 * 4096);
    source_linux_destroy(src); /* the odd ones go with it */
}
