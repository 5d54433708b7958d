/*
 * tests/host/test_slab.c - slab caches and the size-class set (mm/slab.c).
 *
 * The shared shadow model drives a cache (as a heap) and the size-class set
 * over the hosted source in its three shapes; the tests below add what the
 * model does not cover: geometry and alignment of caches from 1 byte to
 * 64 KiB, constructor semantics (and that ctor runs without the lock), the
 * empty-slab reserve and the footprint the source sees, misuse reports, and
 * checker self-tests that corrupt one thing at a time.
 */
#include "harness.h"
#include "heap_test_util.h"
#include "lock_check.h"
#include "heap_shadow.h"

#include "mm/heap.h"
#include "mm/heap_pages.h"
#include "mm/host/port_linux.h"
#include "mm/host/source_linux.h"
#include "mm/slab.h"
#include "mm/slab_internal.h"
#include "mm/slab_span.h"
#include "mm/source_static.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB ((size_t)1024)

/* ------------------------------------------------------------ a lock-checking source */

/* ------------------------------------------------------------ helpers */

static struct heap_source *linux_source(unsigned flags)
{
    struct source_linux_config cfg = {.flags = flags};
    return source_linux_create(&cfg);
}

static size_t source_committed(struct heap_source *src)
{
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    return st.committed + st.mapped;
}

/* The shadow stress; the footprint is checked by the caller after shrinking. */
static unsigned long stress(struct heap *h, size_t min_size, size_t max_size, size_t max_align,
                            unsigned long ops)
{
    struct heap_shadow_config cfg;
    struct heap_shadow_result res;
    heap_shadow_config_default(&cfg);
    cfg.ops = heap_shadow_env_ops(ops);
    cfg.max_live = 1500;
    cfg.min_size = min_size;
    cfg.max_size = max_size;
    cfg.max_align = max_align;
    cfg.footprint_slack = SIZE_MAX / 2; /* reserves stay until shrink */
    cfg.check_every = 10000;
    cfg.seed = harness_rand();
    heap_shadow_stress(h, &cfg, &res);
    if (res.errors)
        printf("#   shadow: %s\n", res.message);
    return res.errors;
}

/* ------------------------------------------------------------ shadow stress */

static void set_stress_on(unsigned flags)
{
    struct heap_source *src = linux_source(flags);
    struct heap *h = heap_slab_create(src);
    CHECK(h != NULL && heap_is_slab(h));
    size_t start = heap_stats_of(h).bytes_committed, src_start = source_committed(src);
    CHECK_EQ(stress(h, 1, HEAP_SLAB_MAX, HEAP_SLAB_MAX, 150000), 0);
    heap_slab_shrink(h);
    CHECK_EQ(heap_check(h), 0);
    if (!(flags & SOURCE_LINUX_NO_COMMIT)) {
        CHECK_EQ(heap_stats_of(h).bytes_committed, start);
        CHECK_EQ(source_committed(src), src_start);
    }
    source_linux_destroy(src);
}

TEST(set_stress_grow_only)
{
    set_stress_on(SOURCE_LINUX_GROW_ONLY);
}

TEST(set_stress_grow_commit_strict)
{
    set_stress_on(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_NO_SHRINK | SOURCE_LINUX_STRICT);
}

TEST(set_stress_mapped)
{
    set_stress_on(SOURCE_LINUX_NO_SHRINK);
}

/* One cache per geometry (on-slab small, off-slab large), driven as a heap. */
TEST(cache_stress)
{
    static const size_t sizes[] = {24, 100, 700, 3000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT);
        size_t src_start = source_committed(src);
        struct slab_cache *c = slab_cache_create(src, "stress", sizes[k], 0, NULL);
        CHECK(c != NULL);
        struct heap *h = slab_cache_heap(c);
        CHECK_EQ(stress(h, 1, sizes[k], 0, 20000), 0);
        slab_cache_shrink(c);
        CHECK_EQ(heap_check(h), 0);
        CHECK_EQ(slab_cache_destroy(c), 0);
        CHECK_EQ(source_committed(src), src_start);
        source_linux_destroy(src);
    }
}

/* Every source callback under the lock, and the lock never nested. */
TEST(locking_discipline)
{
    struct heap_source *inner = linux_source(SOURCE_LINUX_NO_MAP);
    struct lock_check lc;
    struct heap_source *src = lock_check_wrap(&lc, inner);
    struct heap *h = heap_slab_create(src);
    CHECK(h != NULL);
    CHECK_EQ(stress(h, 1, HEAP_SLAB_MAX, 0, 10000), 0);
    heap_slab_shrink(h);
    CHECK_EQ(lc.unlocked_calls, 0);
    CHECK_EQ(lc.max_depth, 1);
    CHECK_EQ(lc.depth, 0);
    source_linux_destroy(inner);
}

/* ------------------------------------------------------------ sizes and alignment */

/* Allocate n objects, check alignment and disjointness by filling them, free them. */
static int exercise_cache(struct slab_cache *c, size_t n, size_t want_align)
{
    size_t size = slab_cache_object_size(c);
    unsigned char **objs = calloc(n, sizeof *objs);
    int ok = objs != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        objs[i] = slab_cache_alloc(c);
        ok = objs[i] && (uintptr_t)objs[i] % want_align == 0 &&
             heap_size(slab_cache_heap(c), objs[i]) == size;
        if (ok)
            memset(objs[i], (int)(i & 0xff), size);
    }
    for (size_t i = 0; ok && i < n; i++)
        ok = objs[i][0] == (unsigned char)i && objs[i][size - 1] == (unsigned char)i;
    for (size_t i = 0; objs && i < n && objs[i]; i++)
        slab_cache_free(c, objs[i]);
    free(objs);
    return ok && heap_check(slab_cache_heap(c)) == 0;
}

/* Caches of every alignment from 1 to 64 KiB with sizes that are not multiples of it. */
TEST(cache_alignments)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    size_t src_start = source_committed(src);
    for (size_t align = 1; align <= 64 * KIB; align *= 2) {
        size_t sizes[] = {1, align + 1, 3 * align / 2 + 3, 1000};
        for (int k = 0; k < 4; k++) {
            if (sizes[k] > 64 * KIB || (sizes[k] % align == 0 && align > 1))
                continue;
            struct slab_cache *c = slab_cache_create(src, "align", sizes[k], align, NULL);
            CHECK(c != NULL);
            CHECK(slab_cache_object_align(c) >= align);
            CHECK(exercise_cache(c, 40, align));
            /* as a heap: sizes up to the object size, alignment up to the cache's
               (heap_alloc asks for HEAP_DEFAULT_ALIGN at least) */
            struct heap *h = slab_cache_heap(c);
            void *p = heap_alloc(h, sizes[k], align);
            if (slab_cache_object_align(c) >= HEAP_DEFAULT_ALIGN)
                CHECK(p != NULL && (uintptr_t)p % align == 0);
            else
                CHECK(p == NULL);
            CHECK(heap_alloc(h, sizes[k] + 1, 0) == NULL);
            CHECK(heap_alloc(h, 1, 2 * slab_cache_object_align(c)) == NULL);
            heap_free(h, p);
            CHECK_EQ(slab_cache_destroy(c), 0);
        }
    }
    CHECK_EQ(source_committed(src), src_start);
    source_linux_destroy(src);
}

/* The set: alignments up to its largest class are honoured, larger ones refused. */
TEST(set_alignments)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_GROW_ONLY);
    struct heap *h = heap_slab_create(src);
    for (size_t align = 1; align <= 64 * KIB; align *= 2) {
        size_t sizes[] = {1, align + 1, 3 * align / 2 + 3, 2000};
        for (int k = 0; k < 4; k++) {
            void *p = heap_alloc(h, sizes[k], align);
            if (sizes[k] > HEAP_SLAB_MAX || align > HEAP_SLAB_MAX) {
                CHECK(p == NULL);
                continue;
            }
            CHECK(p != NULL);
            CHECK_EQ((uintptr_t)p % align, 0);
            CHECK(heap_size(h, p) >= sizes[k]);
            memset(p, 0x5a, heap_size(h, p));
            heap_free(h, p);
        }
    }
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

TEST(impossible_requests)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    CHECK(slab_cache_create(src, "zero", 0, 0, NULL) == NULL);
    CHECK(slab_cache_create(src, "huge", 64 * KIB + 1, 0, NULL) == NULL);
    CHECK(slab_cache_create(src, "odd", 64, 24, NULL) == NULL);
    CHECK(slab_cache_create(src, "wide", 64, 128 * KIB, NULL) == NULL);
    CHECK(slab_cache_create(src, "max", SIZE_MAX, 0, NULL) == NULL);
    struct heap *h = heap_slab_create(src);
    CHECK(heap_alloc(h, HEAP_SLAB_MAX + 1, 0) == NULL);
    CHECK(heap_alloc(h, SIZE_MAX, 0) == NULL);
    CHECK(heap_alloc(h, HEAP_MAX_REQUEST, 0) == NULL);
    CHECK(heap_alloc(h, 10, 3) == NULL);
    CHECK(heap_alloc(h, 10, 2 * HEAP_SLAB_MAX) == NULL); /* aligned beyond every class */
    CHECK(h->ops->alloc(h, 10, 2 * HEAP_SLAB_MAX) == NULL);
    CHECK_EQ(heap_stats_of(h).live_blocks, 0);
    CHECK(heap_stats_of(h).failed_calls >= 3); /* those that reached the set */
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* A source that runs dry: allocation fails cleanly and recovers after frees. */
TEST(out_of_memory)
{
    static _Alignas(4096) unsigned char buf[256 * 1024];
    struct source_static ss;
    struct heap *h = heap_slab_create(source_static_init(&ss, buf, sizeof buf, 0));
    CHECK(h != NULL);
    static void *objs[8192];
    size_t n = 0;
    while (n < 8192 && (objs[n] = heap_alloc(h, 200, 0)) != NULL)
        n++;
    CHECK(n > 500 && n < 8192);
    CHECK_EQ(heap_check(h), 0);
    for (size_t i = 0; i < n; i++)
        heap_free(h, objs[i]);
    CHECK(heap_alloc(h, 1000, 0) != NULL);
    CHECK_EQ(heap_check(h), 0);
}

/* ------------------------------------------------------------ reserve and footprint */

TEST(empty_slabs_return_beyond_reserve)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT);
    struct slab_cache *c = slab_cache_create(src, "reserve", 256, 0, NULL);
    struct heap *h = slab_cache_heap(c);
    size_t start = heap_stats_of(h).bytes_committed;
    void *first = slab_cache_alloc(c);
    size_t slab = heap_stats_of(h).bytes_committed - start; /* one slab */
    CHECK(slab >= 4096);
    static void *objs[400];
    for (int i = 0; i < 400; i++)
        CHECK((objs[i] = slab_cache_alloc(c)) != NULL);
    CHECK(heap_stats_of(h).bytes_committed >= start + 4 * slab);
    for (int i = 0; i < 400; i++)
        slab_cache_free(c, objs[i]);
    slab_cache_free(c, first);
    /* everything free: only the reserve is kept */
    CHECK_EQ(heap_stats_of(h).bytes_committed, start + SLAB_EMPTY_RESERVE * slab);
    CHECK_EQ(heap_check(h), 0);
    slab_cache_shrink(c);
    CHECK_EQ(heap_stats_of(h).bytes_committed, start);
    CHECK_EQ(slab_cache_destroy(c), 0);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ constructors */

static struct heap_source *ctor_src;
static struct lock_check *ctor_lock;
static struct slab_cache *ctor_other;
static size_t ctor_calls, ctor_locked_calls;
static void *ctor_allocated[4096];

struct ctor_obj {
    uint32_t magic;
    uint32_t generation;
    char payload[52];
};

static void obj_ctor(void *p)
{
    struct ctor_obj *o = p;
    o->magic = 0xC0FFEE;
    o->generation = 0;
    ctor_locked_calls += ctor_lock && ctor_lock->depth != 0;
    /* the lock is dropped: a constructor may allocate from the same source */
    if (ctor_other && ctor_calls < 4096)
        ctor_allocated[ctor_calls] = slab_cache_alloc(ctor_other);
    ctor_calls++;
}

TEST(constructor_runs_once_per_object_without_lock)
{
    struct heap_source *inner = linux_source(SOURCE_LINUX_NO_MAP);
    struct lock_check lc;
    ctor_src = lock_check_wrap(&lc, inner);
    ctor_lock = &lc;
    ctor_calls = ctor_locked_calls = 0;
    ctor_other = slab_cache_create(ctor_src, "other", 40, 0, NULL);
    struct slab_cache *c =
        slab_cache_create(ctor_src, "ctor", sizeof(struct ctor_obj), 0, obj_ctor);
    CHECK(c && ctor_other);
    struct ctor_obj *o[300];
    for (int i = 0; i < 300; i++) {
        o[i] = slab_cache_alloc(c);
        CHECK(o[i] && o[i]->magic == 0xC0FFEE && o[i]->generation == 0);
        o[i]->generation = 7; /* state the cache must keep across free/alloc */
    }
    size_t calls = ctor_calls;
    CHECK(calls >= 300);
    CHECK_EQ(ctor_locked_calls, 0);
    /* free every other object: slabs stay partial, nothing is returned */
    for (int i = 0; i < 300; i += 2)
        slab_cache_free(c, o[i]);
    for (int i = 0; i < 300; i += 2) {
        o[i] = slab_cache_alloc(c);
        CHECK(o[i]->magic == 0xC0FFEE && o[i]->generation == 7); /* state kept, no re-init */
    }
    CHECK_EQ(ctor_calls, calls); /* no slab had to be made again */
    for (size_t i = 0; i < calls && i < 4096; i++)
        CHECK(ctor_allocated[i] != NULL);
    CHECK_EQ(heap_check(slab_cache_heap(c)), 0);
    CHECK_EQ(heap_check(slab_cache_heap(ctor_other)), 0);
    CHECK_EQ(lc.unlocked_calls, 0);
    CHECK_EQ(lc.max_depth, 1);
    ctor_other = NULL;
    ctor_lock = NULL;
    source_linux_destroy(inner);
}

/* ------------------------------------------------------------ misuse */

static char global_probe[64];

TEST(set_foreign_interior_double_free)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src), *other = heap_slab_create(src);
    struct heap *pages = heap_pages_create(src);
    struct slab_cache *c = slab_cache_create(src, "c", 64, 0, NULL);
    char local[16];
    char *p = heap_alloc(h, 64, 0), *small = heap_alloc(h, 16, 0), *big = heap_alloc(h, 2048, 0);
    void *q = heap_alloc(other, 64, 0), *co = slab_cache_alloc(c), *pg = heap_alloc(pages, 100, 0);
    void *m = malloc(32);
    CHECK(p && small && big && q && co && pg && m);
    struct heap_stats before = heap_stats_of(h);
    struct slab *s = slab_debug_slab_of(h, p);
    CHECK(s != NULL);
    void *bad[] = {p + 1,
                   p + 16,
                   p + 63,
                   big + 1024,
                   small + 8,
                   q,
                   co,
                   pg,
                   m,
                   local,
                   global_probe,
                   (void *)s,
                   (char *)s + 8,
                   (void *)(uintptr_t)4096};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(heap_size(h, bad[i]), 0);
        if (heap_free_reports(h, bad[i]) != 1) {
            printf("#   bad pointer %zu not reported once\n", i);
            CHECK(0);
        }
    }
    struct heap_stats after = heap_stats_of(h);
    CHECK_EQ(after.live_blocks, before.live_blocks);
    CHECK_EQ(after.bytes_in_use, before.bytes_in_use);
    CHECK_EQ(heap_check(h), 0);
    heap_free(h, p);
    CHECK_EQ(heap_free_reports(h, p), 1);
    CHECK(strstr(mm_host_last_report(), "double free") != NULL);
    CHECK_EQ(heap_size(h, p), 0);
    CHECK_EQ(heap_check(h), 0);
    /* the standalone cache refuses the set's objects and its own freed ones */
    CHECK_EQ(heap_free_reports(slab_cache_heap(c), small), 1);
    slab_cache_free(c, co);
    CHECK_EQ(heap_free_reports(slab_cache_heap(c), co), 1);
    CHECK_EQ(heap_check(slab_cache_heap(c)), 0);
    free(m);
    source_linux_destroy(src);
}

/*
 * The object index is a multiply by a rounded-up reciprocal: every object
 * start of every class must be found, and every other offset refused, over
 * whole slabs (the largest offsets are where a wrong reciprocal would err).
 */
TEST(set_every_object_start_and_nothing_else)
{
    struct heap_source *src = linux_source(0);
    struct heap *h = heap_slab_create(src);
    static const size_t sizes[] = {16,  32,  48,  64,  80,  96,   112,  128,
                                   192, 256, 384, 512, 768, 1024, 1536, 2048};
    enum { N = 200 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char *obj[N];
        for (int i = 0; i < N; i++) {
            obj[i] = heap_alloc(h, sizes[k], 0);
            CHECK(obj[i] != NULL);
        }
        for (int i = 0; i < N; i++) {
            CHECK_EQ(heap_size(h, obj[i]), sizes[k]);
            for (size_t off = 1; off < sizes[k]; off += off < 16 ? 1 : 7)
                CHECK_EQ(heap_size(h, obj[i] + off), 0);
        }
        for (int i = 0; i < N; i++)
            heap_free(h, obj[i]);
    }
    CHECK_EQ(heap_check(h), 0);
    heap_slab_destroy(h);
    source_linux_destroy(src);
}

TEST(destroy_refuses_live_objects)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_SHRINK);
    size_t start = source_committed(src);
    struct slab_cache *c = slab_cache_create(src, "busy", 5000, 0, NULL);
    void *o = slab_cache_alloc(c);
    CHECK(o != NULL);
    mm_host_print_reports(0);
    CHECK_EQ(slab_cache_destroy(c), -1);
    mm_host_print_reports(1);
    CHECK_EQ(heap_size(slab_cache_heap(c), o), 5000);
    slab_cache_free(c, o);
    CHECK_EQ(slab_cache_destroy(c), 0);
    CHECK_EQ(source_committed(src), start);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ checker self-tests */

/* A cache whose first slab (8 objects at least) has five live objects and a free list of three. */
struct corrupt_fixture {
    struct heap_source *src;
    struct slab_cache *c;
    struct heap *h;
    unsigned char *obj[8];
    struct slab *s;
};

static void fixture_open(struct corrupt_fixture *f, size_t size)
{
    f->src = linux_source(SOURCE_LINUX_NO_MAP);
    f->c = slab_cache_create(f->src, "victim", size, 0, NULL);
    f->h = slab_cache_heap(f->c);
    for (int i = 0; i < 8; i++)
        f->obj[i] = slab_cache_alloc(f->c);
    slab_cache_free(f->c, f->obj[2]);
    slab_cache_free(f->c, f->obj[5]);
    slab_cache_free(f->c, f->obj[7]); /* free list: 7 -> 5 -> 2 */
    f->s = slab_debug_slab_of(f->h, f->obj[0]);
}

/* Corrupt `bytes` at p by xor with mask, require check() to object, restore, require clean. */
static int detected(struct heap *h, void *p, size_t bytes, uint32_t mask)
{
    unsigned char *b = p;
    for (size_t i = 0; i < bytes; i++)
        b[i] ^= (unsigned char)(mask >> (8 * (i % 4)));
    int bad = heap_check_quietly(h);
    for (size_t i = 0; i < bytes; i++)
        b[i] ^= (unsigned char)(mask >> (8 * (i % 4)));
    return bad > 0 && heap_check(h) == 0;
}

#define DETECTED(h, field, mask) detected(h, &(field), sizeof(field), mask)

static void corruptions_on(size_t size)
{
    struct corrupt_fixture f;
    fixture_open(&f, size);
    CHECK(f.s != NULL && f.s->inuse == 5);
    CHECK_EQ(heap_check(f.h), 0);
    CHECK(detected(f.h, f.obj[7], 4, 0x1));        /* free-list link of the head */
    CHECK(detected(f.h, f.obj[5], 4, 0x00010000)); /* a link in the middle */
    CHECK(detected(f.h, f.obj[2], 4, 0xffffffff)); /* the end marker */
    CHECK(DETECTED(f.h, f.s->inuse, 1));
    CHECK(DETECTED(f.h, f.s->magic, 0x100));
    CHECK(DETECTED(f.h, f.s->free_head, 2));
    CHECK(DETECTED(f.h, f.s->fresh, 1));
    CHECK(DETECTED(f.h, f.s->list, 1));
    CHECK(DETECTED(f.h, f.s->cookie, 0x80));
    CHECK(DETECTED(f.h, f.s->cache, 0x40));
    CHECK(DETECTED(f.h, f.s->objects, 0x10));
    CHECK(DETECTED(f.h, f.s->free_map[0], 1u << 3)); /* a live object marked free */
    CHECK(DETECTED(f.h, f.s->free_map[0], 1u << 5)); /* a free object marked live */
    /* while the magic is broken the slab's objects are not recognised */
    f.s->magic ^= 1;
    CHECK_EQ(heap_size(f.h, f.obj[0]), 0);
    f.s->magic ^= 1;
    CHECK_EQ(heap_size(f.h, f.obj[0]), size);
    CHECK_EQ(heap_check(f.h), 0);
    source_linux_destroy(f.src);
}

TEST(check_detects_corruption_on_slab_header)
{
    corruptions_on(64); /* header at the start of the slab */
}

TEST(check_detects_corruption_off_slab_header)
{
    corruptions_on(2048); /* header in the internal header cache */
}

/* A corrupted link met by an allocation is reported and its slab put aside, never followed. */
TEST(corrupted_free_list_is_not_followed)
{
    struct corrupt_fixture f;
    fixture_open(&f, 64);
    uint32_t garbage = 0x7fff0000;
    memcpy(f.obj[7], &garbage, 4);
    size_t before = mm_host_report_count();
    mm_host_print_reports(0);
    void *a = slab_cache_alloc(f.c), *b = slab_cache_alloc(f.c);
    mm_host_print_reports(1);
    /* the head's link is checked before the head is handed out: both come from a new slab */
    CHECK(a && b && slab_debug_slab_of(f.h, a) != f.s && slab_debug_slab_of(f.h, b) != f.s);
    CHECK(mm_host_report_count() == before + 1);
    slab_cache_free(f.c, f.obj[0]); /* frees into a set-aside slab are accepted, nothing reused */
    CHECK(slab_cache_alloc(f.c) != f.obj[0]);
    CHECK(heap_check_quietly(f.h) > 0); /* the slab stays visible as damage */
    source_linux_destroy(f.src);
}

/* The same corruption inside the size-class set is found by the set's check. */
TEST(set_check_detects_corruption)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    void *p[4];
    for (int i = 0; i < 4; i++)
        p[i] = heap_alloc(h, 1000, 0);
    heap_free(h, p[1]);
    heap_free(h, p[2]);
    heap_slab_shrink(h); /* the magazine gives p[1] and p[2] to the slab's free list */
    struct slab *s = slab_debug_slab_of(h, p[0]);
    CHECK(s != NULL);
    CHECK_EQ(heap_check(h), 0);
    CHECK(detected(h, p[2], 4, 0x3));
    CHECK(DETECTED(h, s->inuse, 2));
    CHECK(DETECTED(h, s->magic, 1));
    CHECK(DETECTED(h, s->free_map[0], 1));
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ magazines */

/*
 * A freed object waits in its class's magazine with its free bit set: not
 * a live block for heap_size, a second free is a double free reported once,
 * and it is handed out again (once) by the next allocation of its class.
 */
TEST(set_magazine_object_is_exactly_free)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    char *p = heap_alloc(h, 64, 0), *q = heap_alloc(h, 64, 0);
    CHECK(p && q);
    uint32_t n0 = 0, n = 99;
    /* what the first allocation's refill left there */
    struct slab_mag_entry *mag = slab_debug_magazine(h, 64, &n0);
    CHECK(mag != NULL);
    heap_free(h, p);
    mag = slab_debug_magazine(h, 64, &n);
    CHECK_EQ(n, n0 + 1);
    CHECK(mag[n0].slab == slab_debug_slab_of(h, p));
    CHECK_EQ(heap_size(h, p), 0);
    CHECK_EQ(heap_release(h, p), 0);
    struct heap_stats before = heap_stats_of(h);
    CHECK_EQ(heap_free_reports(h, p), 1);
    CHECK(strstr(mm_host_last_report(), "double free") != NULL);
    struct heap_stats after = heap_stats_of(h);
    CHECK_EQ(after.live_blocks, before.live_blocks);
    CHECK_EQ(after.reported_errors, before.reported_errors + 1);
    slab_debug_magazine(h, 64, &n);
    CHECK_EQ(n, n0 + 1); /* the refused free pushed nothing */
    CHECK_EQ(heap_check(h), 0);
    char *again = heap_alloc(h, 64, 0), *other = heap_alloc(h, 64, 0);
    CHECK(again == p && other != p && other != q);
    CHECK_EQ(heap_size(h, p), 64);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* A full magazine gives its older half back to the slabs; the books stay exact throughout. */
TEST(set_magazine_overflow_goes_back_to_slabs)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    enum { N = 1000 };
    static void *obj[N];
    for (int i = 0; i < N; i++)
        CHECK((obj[i] = heap_alloc(h, 32, 0)) != NULL);
    uint32_t n, most = 0;
    for (int i = 0; i < N; i++) {
        heap_free(h, obj[i]);
        slab_debug_magazine(h, 32, &n);
        most = n > most ? n : most;
        if (i % 97 == 0)
            CHECK_EQ(heap_check(h), 0);
    }
    CHECK(most >= 8 && most < N);
    CHECK_EQ(heap_stats_of(h).live_blocks, 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(heap_size(h, obj[i]), 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* The checker sees a damaged magazine: an entry naming a live object, another slab, twice the same.
 */
TEST(set_check_detects_magazine_corruption)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    char *o[6];
    for (int i = 0; i < 6; i++)
        CHECK((o[i] = heap_alloc(h, 128, 0)) != NULL);
    heap_slab_shrink(h); /* the refill's batch back to the slab: the magazine holds the frees only */
    heap_free(h, o[1]);
    heap_free(h, o[3]);
    uint32_t n;
    struct slab_mag_entry *mag = slab_debug_magazine(h, 128, &n);
    CHECK_EQ(n, 2);
    CHECK_EQ(heap_check(h), 0);
    CHECK(DETECTED(h, mag[0].index, 1));     /* now names o[0] or o[2]: live */
    CHECK(DETECTED(h, mag[1].index, 0x40));  /* a never-used object */
    CHECK(DETECTED(h, mag[0].slab, 0x1000)); /* not a slab of this class */
    struct slab_mag_entry keep = mag[1];
    mag[1] = mag[0]; /* the same object twice, o[3] lost */
    CHECK(heap_check_quietly(h) > 0);
    mag[1] = keep;
    CHECK_EQ(heap_check(h), 0);
    /* an entry naming a live object is never handed out: reported and dropped */
    mag[1].index ^= 1; /* o[3] -> o[2] */
    size_t before = mm_host_report_count();
    mm_host_print_reports(0);
    char *got = heap_alloc(h, 128, 0);
    mm_host_print_reports(1);
    CHECK(got == o[1]);
    CHECK_EQ(mm_host_report_count(), before + 1);
    CHECK_EQ(heap_size(h, o[2]), 128);
    source_linux_destroy(src);
}

/*
 * The counters the hot paths no longer move (live, peak, alloc_calls are
 * derived from the slabs' held count and the magazine's) stay exact
 * through pushes, pops, overflows to the slabs and refused frees, and the
 * peak is the true high-water mark of live objects.
 */
TEST(set_statistics_exact_through_magazines)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    enum { N = 700, SIZE = 48 };
    static char *obj[N];
    size_t live = 0, peak = 0, allocs = 0, frees = 0;
    uint64_t seed = 12345;
    struct heap_stats st0 = heap_stats_of(h);
    for (int step = 0; step < 20000; step++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((seed >> 33) % N);
        if (obj[i]) {
            heap_free(h, obj[i]);
            obj[i] = NULL;
            live--, frees++;
        } else {
            CHECK((obj[i] = heap_alloc(h, SIZE, 0)) != NULL);
            live++, allocs++;
            peak = live > peak ? live : peak;
        }
        if (step % 1999 == 0 && live) { /* a refused free moves nothing */
            int j = 0;
            while (!obj[j])
                j++;
            CHECK_EQ(heap_free_reports(h, obj[j] + 1), 1);
        }
        if (step % 499 == 0) {
            struct heap_stats st = heap_stats_of(h);
            CHECK_EQ(st.live_blocks, live);
            CHECK_EQ(st.bytes_in_use, live * SIZE);
            CHECK_EQ(st.bytes_peak, peak * SIZE);
            CHECK_EQ(st.alloc_calls - st0.alloc_calls, allocs);
            CHECK_EQ(st.free_calls - st0.free_calls, frees);
            CHECK_EQ(heap_check(h), 0);
        }
    }
    /* popping what was freed never raises the peak; one beyond it does */
    for (int i = 0; i < N; i++)
        if (obj[i]) {
            heap_free(h, obj[i]);
            obj[i] = NULL;
        }
    for (size_t i = 0; i < peak; i++)
        CHECK((obj[i] = heap_alloc(h, SIZE, 0)) != NULL);
    CHECK_EQ(heap_stats_of(h).bytes_peak, peak * SIZE);
    CHECK((obj[peak] = heap_alloc(h, SIZE, 0)) != NULL);
    CHECK_EQ(heap_stats_of(h).bytes_peak, (peak + 1) * SIZE);
    CHECK_EQ(heap_stats_of(h).live_blocks, peak + 1);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/*
 * An empty magazine is refilled with a batch from one slab in one slow
 * call.  The objects it takes are exactly free - heap_size 0, a free of
 * one refused and reported once, heap_check clean - and the statistics do
 * not see them: live, peak and the call counts move only as objects are
 * handed out, whether the pops go the hot way (a lockless source) or under
 * the source's lock, and a pop past the peak raises it by exactly one.
 */
static void refill_is_exactly_free(unsigned flags)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | flags);
    struct heap *h = heap_slab_create(src);
    enum { SIZE = 48 };
    struct heap_stats st0 = heap_stats_of(h);
    char *p = heap_alloc(h, SIZE, 0);
    CHECK(p != NULL);
    uint32_t n;
    struct slab_mag_entry *mag = slab_debug_magazine(h, SIZE, &n);
    struct slab *s = slab_debug_slab_of(h, p);
    CHECK(n >= 7 && mag[n - 1].slab == s);
    CHECK_EQ(s->inuse, n + 1); /* the batch is held by its slab: cached, not free-listed */
    struct heap_stats st = heap_stats_of(h);
    CHECK_EQ(st.live_blocks, 1);
    CHECK_EQ(st.bytes_peak, SIZE);
    CHECK_EQ(st.alloc_calls - st0.alloc_calls, 1);
    CHECK_EQ(st.free_calls - st0.free_calls, 0);
    for (uint32_t k = 0; k < n; k++) {
        char *obj = (char *)mag[k].slab->objects + (size_t)mag[k].index * SIZE;
        CHECK(mag[k].slab == s && obj != p);
        CHECK_EQ(heap_size(h, obj), 0);
    }
    char *top = (char *)s->objects + (size_t)mag[n - 1].index * SIZE;
    CHECK_EQ(heap_free_reports(h, top), 1);
    CHECK(strstr(mm_host_last_report(), "double free") != NULL);
    uint32_t after;
    slab_debug_magazine(h, SIZE, &after);
    CHECK_EQ(after, n); /* nothing pushed, nothing lost */
    st = heap_stats_of(h);
    CHECK_EQ(st.live_blocks, 1);
    CHECK_EQ(st.free_calls - st0.free_calls, 0);
    CHECK_EQ(heap_check(h), 0);
    /* the batch is handed out in slab order, each pop a new peak of exactly one more */
    for (uint32_t k = 1; k <= n; k++) {
        char *q = heap_alloc(h, SIZE, 0);
        CHECK(q == p + (size_t)k * SIZE);
        st = heap_stats_of(h);
        CHECK_EQ(st.live_blocks, k + 1);
        CHECK_EQ(st.bytes_peak, (k + 1) * SIZE);
        CHECK_EQ(st.alloc_calls - st0.alloc_calls, k + 1);
    }
    slab_debug_magazine(h, SIZE, &after);
    CHECK_EQ(after, 0);
    CHECK_EQ(heap_check(h), 0);
    /* below the peak: the next refill's objects, popped, do not raise it */
    for (uint32_t k = 0; k <= n; k++)
        heap_free(h, p + (size_t)k * SIZE);
    heap_slab_shrink(h); /* the magazine empty, the objects back on the slab */
    for (uint32_t k = 0; k <= n; k++)
        CHECK(heap_alloc(h, SIZE, 0) != NULL);
    st = heap_stats_of(h);
    CHECK_EQ(st.live_blocks, n + 1);
    CHECK_EQ(st.bytes_peak, (n + 1) * SIZE);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

TEST(set_magazine_refill_is_exactly_free)
{
    refill_is_exactly_free(0);
    refill_is_exactly_free(SOURCE_LINUX_LOCKED);
}

/* What the magazines hold comes back with heap_slab_shrink: the footprint returns to its start. */
TEST(set_shrink_returns_magazine_memory)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT);
    struct heap *h = heap_slab_create(src);
    size_t start = source_committed(src);
    static const size_t sizes[] = {16, 96, 256, 1024, 2048};
    enum { N = 300 };
    static void *obj[N];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int i = 0; i < N; i++)
            CHECK((obj[i] = heap_alloc(h, sizes[k], 0)) != NULL);
        for (int i = 0; i < N; i++)
            heap_free(h, obj[N - 1 - i]);
    }
    uint32_t n;
    slab_debug_magazine(h, 16, &n);
    CHECK(n > 0);
    CHECK(source_committed(src) > start);
    heap_slab_shrink(h);
    slab_debug_magazine(h, 16, &n);
    CHECK_EQ(n, 0);
    CHECK_EQ(source_committed(src), start);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ spans */

/* The span (the first of the set's) holding p. */
static uintptr_t span_base_of(const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(SPAN_BYTES - 1);
}

/* A pointer no live block starts at: size 0, and a free of it reported once, changing nothing. */
static int refused_exactly(struct heap *h, void *p)
{
    size_t live = heap_stats_of(h).live_blocks;
    return heap_size(h, p) == 0 && heap_free_reports(h, p) == 1 &&
           heap_stats_of(h).live_blocks == live;
}

/*
 * 64-byte objects fill a whole span, up to its last page.  The span map
 * finds them from every byte, and refuses the span's first byte (its
 * header), its last byte (not an object start), the pages just outside it,
 * foreign, interior and freed pointers - each free reported once.
 */
TEST(set_span_lookups_at_the_edges)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    enum { N = 20000 };
    static unsigned char *obj[N];
    for (int i = 0; i < N; i++)
        CHECK((obj[i] = heap_alloc(h, 64, 0)) != NULL);
    struct span_pool *pool = slab_debug_spans(h);
    CHECK(pool != NULL && pool->nspans >= 2);
    CHECK_EQ(slab_debug_loose_slabs(h), 0);
    uintptr_t span = (uintptr_t)pool->spans;
    unsigned char *last = NULL; /* the object starting last in the first span */
    for (int i = 0; i < N; i++)
        if (span_base_of(obj[i]) == span && (!last || obj[i] > last))
            last = obj[i];
    CHECK(last != NULL && (uintptr_t)last >= span + SPAN_BYTES - MM_PAGE_SIZE);
    CHECK_EQ(heap_size(h, last), 64);
    CHECK(slab_debug_slab_of(h, last) != NULL);
    CHECK(span_slab_at(pool, span + SPAN_BYTES - 1) == slab_debug_slab_of(h, last));
    CHECK(span_slab_at(pool, span) == NULL); /* the header page */
    CHECK(refused_exactly(h, (void *)span));
    CHECK(refused_exactly(h, (void *)(span + SPAN_BYTES - 1)));
    CHECK(refused_exactly(h, (void *)(span - 1)));
    CHECK(refused_exactly(h, (void *)(span - MM_PAGE_SIZE)));
    CHECK(refused_exactly(h, (void *)(span + SPAN_BYTES))); /* no span, or another's header */
    CHECK(span_slab_at(pool, span + SPAN_BYTES) == NULL);
    int on_stack;
    CHECK(refused_exactly(h, &on_stack));
    CHECK(refused_exactly(h, h)); /* the set's own struct */
    CHECK(refused_exactly(h, last + 1));
    CHECK(refused_exactly(h, last + 16));
    heap_free(h, last);
    CHECK(refused_exactly(h, last)); /* freed: in the magazine, exactly free */
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/*
 * Spans emptied of their slabs go back (beyond a spare) without a shrink;
 * a shrink gives back the rest, to the footprint the source saw at first.
 */
TEST(set_span_returned_after_its_slabs_empty)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT);
    struct heap *h = heap_slab_create(src);
    size_t start = source_committed(src);
    enum { N = 80000 }; /* five spans of 64-byte objects */
    static void *obj[N];
    for (int i = 0; i < N; i++)
        CHECK((obj[i] = heap_alloc(h, 64, 0)) != NULL);
    struct span_pool *pool = slab_debug_spans(h);
    size_t spans = pool->nspans, peak = source_committed(src);
    CHECK(spans >= 5);
    for (int i = N - 1; i >= 0; i--)
        heap_free(h, obj[i]);
    CHECK_EQ(heap_check(h), 0);
    /* what stays: the slabs the magazine and the reserve keep, one spare span, idle pages */
    CHECK(pool->nspans <= 3 && pool->empty <= 1); /* a span each for those slabs, a spare */
    CHECK(source_committed(src) - start < 512 * KIB);
    CHECK(peak - start > 2 * SPAN_BYTES);
    heap_slab_shrink(h);
    CHECK_EQ(pool->nspans, 0);
    CHECK_EQ(source_committed(src), start);
    CHECK_EQ(heap_check(h), 0);
    /* and the set works on as before */
    CHECK(heap_alloc(h, 64, 0) != NULL && pool->nspans == 1);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* Write v over *slot, require the checker to object, put the old value back, require it clean. */
static int span_entry_detected(struct heap *h, struct slab **slot, struct slab *v)
{
    struct slab *old = *slot;
    *slot = v;
    int bad = heap_check_quietly(h);
    *slot = old;
    return bad > 0 && heap_check(h) == 0;
}

/* The checker sees a damaged span: its page table, bitmaps, counts, magic; the pool's counts. */
TEST(set_check_detects_span_corruption)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP | SOURCE_LINUX_STRICT);
    struct heap *h = heap_slab_create(src);
    void *a = heap_alloc(h, 64, 0), *b = heap_alloc(h, 2048, 0), *c = heap_alloc(h, 256, 0);
    CHECK(a && b && c);
    struct span_pool *pool = slab_debug_spans(h);
    struct slab_span *sp = pool->spans;
    CHECK(sp != NULL && span_base_of(a) == (uintptr_t)sp);
    size_t pa = ((uintptr_t)a - (uintptr_t)sp) / MM_PAGE_SIZE;
    size_t pb = ((uintptr_t)b - (uintptr_t)sp) / MM_PAGE_SIZE;
    size_t free_page = SPAN_PAGES - 1; /* three small slabs leave the end of the span free */
    CHECK(sp->page_slab[pa] != NULL && sp->page_slab[free_page] == NULL);
    CHECK_EQ(heap_check(h), 0);
    CHECK(span_entry_detected(h, &sp->page_slab[pa], NULL)); /* a slab page forgotten */
    CHECK(span_entry_detected(h, &sp->page_slab[pa], sp->page_slab[pb])); /* another slab's */
    CHECK(span_entry_detected(h, &sp->page_slab[free_page], sp->page_slab[pa])); /* a free page */
    CHECK(span_entry_detected(h, &sp->page_slab[0], sp->page_slab[pa])); /* the header page */
    CHECK(DETECTED(h, sp->used_map[SPAN_WORDS - 1], 1u << 31)); /* a free page marked used */
    CHECK(DETECTED(h, sp->used_map[0], 1u << pa));              /* a slab page marked free */
    CHECK(DETECTED(h, sp->active_map[0], 1u << pa));            /* a page in use decommitted */
    CHECK(DETECTED(h, sp->used, 1));
    CHECK(DETECTED(h, sp->active, 2));
    CHECK(DETECTED(h, sp->magic, 0x100));
    CHECK(DETECTED(h, sp->page_tag[pa], 8));        /* a slab page tagged with another class */
    CHECK(DETECTED(h, sp->page_tag[free_page], 8)); /* a free page tagged */
    CHECK(DETECTED(h, pool->nspans, 1));
    CHECK(DETECTED(h, pool->empty, 1));
    CHECK(DETECTED(h, pool->idle_active, 1));
    CHECK(DETECTED(h, pool->inactive_bytes, MM_PAGE_SIZE));
    /* while a page's entry is forgotten, its objects are not the set's: refused, nothing changes */
    struct slab *saved = sp->page_slab[pa];
    sp->page_slab[pa] = NULL;
    CHECK_EQ(heap_size(h, a), 0);
    CHECK_EQ(heap_release(h, a), 0);
    sp->page_slab[pa] = saved;
    CHECK_EQ(heap_size(h, a), 64);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* Exactness on a set whose slabs are loose or cut from spans: foreign, interior, double frees. */
static void exact_frees_on(struct heap *h, void **objs, size_t n)
{
    CHECK(refused_exactly(h, (char *)objs[0] + 8));
    int on_stack;
    CHECK(refused_exactly(h, &on_stack));
    heap_free(h, objs[n - 1]);
    CHECK(refused_exactly(h, objs[n - 1]));
    objs[n - 1] = heap_alloc(h, 8, 0);
    CHECK(objs[n - 1] != NULL);
    CHECK_EQ(heap_check(h), 0);
}

/*
 * A grow-only static buffer too small for a span: every slab is loose (a
 * run of its own, found through the page map) and the set works exactly as
 * with spans; one big enough for a span and then some mixes both kinds.
 */
TEST(set_small_grow_only_source)
{
    static _Alignas(4096) unsigned char small[512 * 1024], big[3 * 1024 * 1024];
    static const size_t sizes[] = {16, 64, 256, 1024, 2048};
    enum { MAX_OBJS = 16384 };
    static void *objs[MAX_OBJS];
    struct source_static ss;
    unsigned char *bufs[] = {small, big};
    size_t lens[] = {sizeof small, sizeof big};
    for (int b = 0; b < 2; b++) {
        struct heap *h = heap_slab_create(source_static_init(&ss, bufs[b], lens[b], 0));
        CHECK(h != NULL);
        size_t n = 0;
        while (n < MAX_OBJS && (objs[n] = heap_alloc(h, sizes[n % 5], 0)) != NULL)
            n++;
        CHECK(n > 100 && n < MAX_OBJS);
        CHECK(slab_debug_loose_slabs(h) > 0);
        CHECK_EQ(slab_debug_spans(h)->nspans, b == 0 ? 0u : 1u);
        CHECK_EQ(heap_check(h), 0);
        exact_frees_on(h, objs, n);
        for (size_t i = 0; i < n; i++)
            if (objs[i])
                heap_free(h, objs[i]);
        heap_slab_shrink(h);
        CHECK_EQ(slab_debug_loose_slabs(h), 0);
        CHECK_EQ(heap_stats_of(h).live_blocks, 0);
        CHECK_EQ(heap_check(h), 0);
        CHECK(heap_alloc(h, 2048, 0) != NULL);
    }
}

/* ------------------------------------------------------------ fallbacks */

static size_t rest_allocs, rest_frees;
static void *rest_last;
static char rest_block[64];

static void *alloc_rest(void *arg, size_t size, size_t align)
{
    (void)size;
    (void)align;
    rest_allocs++;
    return arg;
}

static void free_rest(void *arg, void *ptr)
{
    (void)arg;
    rest_frees++;
    rest_last = ptr;
}

/*
 * heap_slab_alloc_or / heap_slab_free_or: what the set serves never
 * reaches the fallback; what it does not (too big, aligned beyond its
 * classes, not its object: foreign, interior, freed) goes there with
 * nothing counted, reported or changed in the set.
 */
TEST(set_passes_on_what_it_does_not_serve)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    size_t reports = mm_host_report_count();
    CHECK_EQ(heap_slab_set_rest(h, alloc_rest, free_rest, rest_block), 0);
    char *p = heap_slab_alloc_or(h, 100, HEAP_DEFAULT_ALIGN);
    CHECK(p != NULL && p != rest_block && rest_allocs == 0 && heap_size(h, p) == 112);
    CHECK(heap_slab_alloc_or(h, HEAP_SLAB_MAX + 1, HEAP_DEFAULT_ALIGN) == rest_block);
    CHECK(heap_slab_alloc_or(h, 64, 4096) == rest_block);
    /* aligned requests a class would serve with much waste are passed on ... */
    CHECK(heap_slab_alloc_or(h, 10, 2048) == rest_block);
    CHECK(heap_slab_alloc_or(h, 600, 1024) == rest_block);
    CHECK_EQ(rest_allocs, 4);
    /* ... a little waste is not (40 B aligned to 64 takes the 64-byte class) ... */
    void *q = heap_slab_alloc_or(h, 40, 64);
    CHECK(q != rest_block && heap_size(h, q) == 64 && (uintptr_t)q % 64 == 0);
    heap_slab_free_or(h, q);
    CHECK_EQ(rest_frees, 0);
    /* ... and the set alone, with nobody to pass to, serves them all */
    q = heap_alloc(h, 10, 2048);
    CHECK(q && heap_size(h, q) == 2048 && (uintptr_t)q % 2048 == 0);
    heap_free(h, q);
    CHECK_EQ(heap_stats_of(h).failed_calls, 0);
    heap_slab_free_or(h, rest_block);
    CHECK(rest_frees == 1 && rest_last == rest_block);
    heap_slab_free_or(h, p + 16);
    CHECK(rest_frees == 2 && rest_last == p + 16);
    CHECK_EQ(heap_size(h, p), 112);
    heap_slab_free_or(h, p);
    CHECK(rest_frees == 2 && heap_size(h, p) == 0);
    heap_slab_free_or(h, p); /* a second free: the owner's to report */
    CHECK(rest_frees == 3 && rest_last == p);
    CHECK_EQ(mm_host_report_count(), reports);
    CHECK_EQ(heap_stats_of(h).reported_errors, 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* A set with counting fallbacks, for the hot free (heap_slab_free_or). */
static struct heap *set_with_rests(struct heap_source *src)
{
    struct heap *h = heap_slab_create(src);
    if (!h || heap_slab_set_rest(h, alloc_rest, free_rest, rest_block) != 0)
        abort();
    return h;
}

/* heap_slab_free_or(p) goes to the fallback, once, and changes nothing in the set. */
static int passed_on(struct heap *h, void *p)
{
    size_t frees = rest_frees, live = heap_stats_of(h).live_blocks;
    heap_slab_free_or(h, p);
    return rest_frees == frees + 1 && rest_last == p && heap_stats_of(h).live_blocks == live;
}

/*
 * The hot free's object-start test over whole slabs of every class: the
 * start of each live object is freed once, every other byte of the slab
 * (its header, the inside of objects, the tail past the last one) and the
 * second free of each start are passed on with nothing changed.
 */
TEST(set_hot_free_takes_object_starts_and_nothing_else)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = set_with_rests(src);
    static const size_t sizes[] = {16,  32,  48,  64,  80,  96,   112,  128,
                                   192, 256, 384, 512, 768, 1024, 1536, 2048};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        enum { N = 64 };
        unsigned char *obj[N];
        for (int i = 0; i < N; i++)
            CHECK((obj[i] = heap_slab_alloc_or(h, sizes[k], HEAP_DEFAULT_ALIGN)) != NULL);
        struct slab *s = slab_debug_slab_of(h, obj[0]);
        uintptr_t first = (uintptr_t)obj[0] & ~(uintptr_t)(MM_PAGE_SIZE - 1);
        size_t bad = 0, starts = 0;
        for (uintptr_t a = first; slab_debug_slab_of(h, (void *)a) == s; a++) {
            bool live = false;
            for (int i = 0; i < N && !live; i++)
                live = (uintptr_t)obj[i] == a;
            if (!live)
                bad += !passed_on(h, (void *)a);
            starts += live;
        }
        CHECK_EQ(bad, 0);
        CHECK(starts > 0);
        /* an off-slab header is an object of the set's internal header cache: not a block */
        CHECK(passed_on(h, s));
        for (int i = 0; i < N; i++) {
            size_t frees = rest_frees;
            heap_slab_free_or(h, obj[i]);
            CHECK(rest_frees == frees && heap_size(h, obj[i]) == 0);
            CHECK(passed_on(h, obj[i])); /* a double free */
        }
        CHECK_EQ(heap_check(h), 0);
    }
    CHECK_EQ(heap_stats_of(h).reported_errors, 0);
    source_linux_destroy(src);
}

/*
 * The hot free reads the class from the span, not from the slab header: a
 * header whose magic or cache pointer was written over still sees interior
 * and double frees passed on and live objects freed exactly; heap_check
 * reports the damage, and the slow paths (heap_size) refuse the slab.
 */
TEST(set_hot_free_stays_exact_over_a_damaged_header)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = set_with_rests(src);
    unsigned char *a = heap_slab_alloc_or(h, 64, HEAP_DEFAULT_ALIGN);
    unsigned char *b = heap_slab_alloc_or(h, 64, HEAP_DEFAULT_ALIGN);
    struct slab *s = slab_debug_slab_of(h, a);
    CHECK(s != NULL && s == slab_debug_slab_of(h, b));
    struct slab saved = *s;
    s->magic ^= 0x100;
    s->cache = (struct slab_cache *)(uintptr_t)0x1000; /* followed, it would fault */
    CHECK(heap_check_quietly(h) > 0);
    CHECK_EQ(heap_size(h, a), 0);
    CHECK(passed_on(h, a + 1));
    CHECK(passed_on(h, a + 32));
    size_t frees = rest_frees;
    heap_slab_free_or(h, a);
    CHECK_EQ(rest_frees, frees);
    CHECK(passed_on(h, a));
    s->magic = saved.magic;
    s->cache = saved.cache;
    CHECK_EQ(heap_size(h, a), 0);
    CHECK_EQ(heap_size(h, b), 64);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/*
 * The hot free's cached leaf of the span map: filled while the set runs
 * without a lock, forgotten when its node is freed (a shrink gives every
 * span back), never used for a set whose source has a lock; a stale
 * pointer after the shrink is passed on without reading the freed node.
 */
TEST(set_hot_leaf_follows_the_map)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = set_with_rests(src);
    struct span_pool *pool = slab_debug_spans(h);
    CHECK(pool->hot && pool->hot_leaf == NULL);
    void *p = heap_slab_alloc_or(h, 64, HEAP_DEFAULT_ALIGN);
    uint16_t tag;
    CHECK(pool->hot_leaf != NULL && span_slab_at_hot(pool, (uintptr_t)p, &tag) != NULL);
    CHECK(span_slab_at_hot(pool, (uintptr_t)p, &tag) == span_slab_at(pool, (uintptr_t)p));
    heap_slab_free_or(h, p);
    heap_slab_shrink(h);
    CHECK_EQ(pool->nspans, 0);
#if SPAN_LEVELS
    CHECK(pool->hot_leaf == NULL && pool->node_count == 0);
#endif
    CHECK(span_slab_at_hot(pool, (uintptr_t)p, &tag) == NULL);
    CHECK(passed_on(h, p));
    void *q = heap_slab_alloc_or(h, 64, HEAP_DEFAULT_ALIGN);
    CHECK(q != NULL && span_slab_at_hot(pool, (uintptr_t)q, &tag) != NULL);
    heap_slab_free_or(h, q);
    CHECK_EQ(heap_size(h, q), 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);

    struct heap_source *inner = linux_source(SOURCE_LINUX_NO_MAP);
    struct lock_check lc;
    h = set_with_rests(lock_check_wrap(&lc, inner));
    pool = slab_debug_spans(h);
    p = heap_slab_alloc_or(h, 64, HEAP_DEFAULT_ALIGN);
    CHECK(p != NULL && !pool->hot && pool->hot_leaf == NULL);
    CHECK(span_slab_at_hot(pool, (uintptr_t)p, &tag) == NULL);
    heap_slab_free_or(h, p); /* the slow path, under the lock */
    CHECK_EQ(heap_size(h, p), 0);
    CHECK(passed_on(h, p));
    CHECK(lc.unlocked_calls == 0 && lc.max_depth == 1 && lc.depth == 0);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(inner);
}

/* One owner's fallbacks at a time; given back, the set takes another's. */
TEST(set_rest_has_one_owner)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    static char other;
    CHECK_EQ(heap_slab_set_rest(h, alloc_rest, free_rest, rest_block), 0);
    CHECK_EQ(heap_slab_set_rest(h, alloc_rest, free_rest, rest_block), 0); /* the same owner */
    CHECK_EQ(heap_slab_set_rest(h, alloc_rest, free_rest, &other), -1);
    /* still the first owner's */
    CHECK(heap_slab_alloc_or(h, HEAP_SLAB_MAX + 1, HEAP_DEFAULT_ALIGN) == rest_block);
    CHECK_EQ(heap_slab_set_rest(h, NULL, NULL, NULL), 0);
    /* without an owner: nothing beyond the set, and a refused free is reported once */
    CHECK(heap_slab_alloc_or(h, HEAP_SLAB_MAX + 1, HEAP_DEFAULT_ALIGN) == NULL);
    int on_stack;
    size_t reports = mm_host_report_count();
    mm_host_print_reports(0);
    heap_slab_free_or(h, &on_stack);
    mm_host_print_reports(1);
    CHECK_EQ(mm_host_report_count(), reports + 1);
    CHECK_EQ(heap_stats_of(h).reported_errors, 1);
    CHECK_EQ(heap_slab_set_rest(h, alloc_rest, free_rest, &other), 0);
    CHECK(heap_slab_alloc_or(h, HEAP_SLAB_MAX + 1, HEAP_DEFAULT_ALIGN) == &other);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/*
 * The set's slabs waste at most 1/64 (header, tail): for each class, fill
 * its first slab and measure what its objects leave of the slab (a page
 * multiple of a power of two, aligned to its size, holding them all).
 */
TEST(set_class_slabs_waste_at_most_a_64th)
{
    struct heap_source *src = linux_source(0);
    struct heap *h = heap_slab_create(src);
    for (size_t size = 16; size <= 256; size += 16) {
        void *first = heap_alloc(h, size, 0), *p;
        struct slab *s = slab_debug_slab_of(h, first);
        size_t usable = heap_size(h, first), n = 1;
        uintptr_t lo = (uintptr_t)first, hi = lo + usable;
        void **kept = malloc(8192 * sizeof *kept);
        kept[0] = first;
        while ((p = heap_alloc(h, size, 0)) && slab_debug_slab_of(h, p) == s) {
            kept[n++] = p;
            lo = (uintptr_t)p < lo ? (uintptr_t)p : lo;
            hi = (uintptr_t)p + usable > hi ? (uintptr_t)p + usable : hi;
        }
        size_t slab_bytes = 4096;
        uintptr_t base = lo & ~(uintptr_t)4095;
        while (base + slab_bytes < hi)
            slab_bytes *= 2;
        size_t waste = slab_bytes - n * usable;
        if (waste * 64 > slab_bytes)
            printf("#   class %zu: %zu objects in %zu bytes, %zu wasted\n", usable, n, slab_bytes,
                   waste);
        CHECK(waste * 64 <= slab_bytes);
        heap_free(h, p);
        for (size_t i = 0; i < n; i++)
            heap_free(h, kept[i]);
        free(kept);
    }
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

/* ------------------------------------------------------------ speed (informational) */

TEST(speed)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct heap *h = heap_slab_create(src);
    static void *ring[1024];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long ops = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 1024; i++, ops++)
            ring[i] = heap_alloc(h, (size_t)(16 + (i * 37) % 500), 0);
        for (int i = 0; i < 1024; i++, ops++)
            heap_free(h, ring[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# slab set: %.1f M ops/s (ASan build)\n", (double)ops / s / 1e6);
    CHECK_EQ(heap_check(h), 0);
    source_linux_destroy(src);
}

#if MM_DEBUG
/* Debug builds junk-fill free objects: a write after free is seen by check and by the next alloc.
 */
TEST(debug_junk_catches_write_after_free)
{
    struct heap_source *src = linux_source(SOURCE_LINUX_NO_MAP);
    struct slab_cache *c = slab_cache_create(src, "junk", 64, 0, NULL);
    unsigned char *a = slab_cache_alloc(c), *b = slab_cache_alloc(c);
    CHECK(a && b);
    slab_cache_free(c, a);
    CHECK_EQ(heap_check(slab_cache_heap(c)), 0);
    a[40] = 1; /* dangling write */
    CHECK(heap_check_quietly(slab_cache_heap(c)) > 0);
    size_t before = mm_host_report_count();
    mm_host_print_reports(0);
    CHECK(slab_cache_alloc(c) == a);
    mm_host_print_reports(1);
    CHECK_EQ(mm_host_report_count(), before + 1);
    source_linux_destroy(src);
}
#endif
