/*
 * kernel/test/test_kmalloc.c - the allocator layer inside the kernel.
 *
 * A randomized stress over heaps built exactly like the kernel heap (the
 * composite on a VMM region), once committed lazily and once eagerly: every
 * live block carries a tag pattern that is verified at free and realloc (an
 * overlap or a stray write breaks a neighbour's pattern), alignment and
 * usable size are checked, heap_check runs partway, and destroying the heap
 * must give every frame back (the runner's leak check).  The slab set's
 * magazines in both commit modes: a cached object is exactly free (size 0,
 * a second free reported once) and shrinking gives their memory back; its
 * spans in both commit modes: small objects come from them, emptied spans
 * go back beyond a spare, and a shrink gives back every one.
 * Then the kmalloc contract on the kernel's own instance.
 */
#include "karch.h"
#include "kernel/kbench.h"
#include "kernel/kmalloc.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "mm/heap.h"
#include "mm/heap_composite.h"
#include "mm/malloc.h"
#include "mm/pmm.h"
#include "mm/slab_internal.h"
#include "mm/slab_span.h"

#include <stdint.h>
#include <string.h>

#define SLOTS 256

struct slot {
    uint8_t *ptr;
    size_t size;
    uint8_t tag;
};

static struct slot slots[SLOTS];
static uint32_t rng = 2463534242u;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Mostly small, some medium, a few large (page heap) sizes. */
static size_t random_size(void)
{
    uint32_t r = next_random() % 100;
    if (r < 70)
        return 1 + next_random() % 256;
    if (r < 95)
        return 257 + next_random() % (48 * 1024);
    return 64 * 1024 + next_random() % (192 * 1024);
}

static size_t random_align(void)
{
    static const size_t aligns[] = {0, 0, 0, 16, 64, 256, 4096, 16384};
    return aligns[next_random() % 8];
}

static int verify(const struct slot *s)
{
    for (size_t i = 0; i < s->size; i++)
        if (s->ptr[i] != (uint8_t)(s->tag + i))
            return 0;
    return 1;
}

static void fill(struct slot *s)
{
    for (size_t i = 0; i < s->size; i++)
        s->ptr[i] = (uint8_t)(s->tag + i);
}

/* One random operation on slot i; returns 0 on a detected error. */
static int stress_step(struct heap *h, unsigned i)
{
    struct slot *s = &slots[i];
    if (s->ptr) {
        if (!verify(s))
            return 0;
        if (next_random() % 4 == 0) { /* realloc keeps the prefix */
            size_t n = random_size();
            uint8_t *p = mm_realloc(h, s->ptr, n);
            if (!p)
                return 1; /* failure leaves the block as it was */
            s->ptr = p;
            s->size = n < s->size ? n : s->size;
            if (!verify(s))
                return 0;
            s->size = n;
            fill(s);
            return 1;
        }
        mm_free(h, s->ptr);
        s->ptr = 0;
        return 1;
    }
    size_t n = random_size(), align = random_align();
    s->ptr = align ? mm_memalign(h, align, n) : mm_malloc(h, n);
    if (!s->ptr)
        return 1; /* out of region: allowed, nothing to check */
    if ((align && (uintptr_t)s->ptr % align) || heap_size(h, s->ptr) < n)
        return 0;
    s->size = n;
    s->tag = (uint8_t)next_random();
    fill(s);
    return 1;
}

static void run_stress(int eager)
{
    size_t frames = pmm_free_frames();
    struct kheap_private *p = kheap_private_create(64u << 20, eager);
    KT_ASSERT(p);
    struct heap *h = kheap_private_heap(p);
    memset(slots, 0, sizeof slots);
    for (unsigned op = 0; op < 20000; op++) {
        unsigned i = next_random() % SLOTS;
        if (!stress_step(h, i)) {
            ktest_fail(__FILE__, __LINE__, "block %u (%zu bytes at %p) corrupt or misaligned", i,
                       slots[i].size, (void *)slots[i].ptr);
            return;
        }
        if (op % 5000 == 4999)
            KT_EQ(heap_check(h), 0);
    }
    struct heap_stats st;
    heap_stats(h, &st);
    KT_ASSERT(st.bytes_in_use > 0 && st.bytes_held >= st.bytes_in_use);
    if (eager)
        KT_ASSERT(frames - pmm_free_frames() >= st.bytes_in_use / 4096);
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].ptr) {
            KT_ASSERT(verify(&slots[i]));
            mm_free(h, slots[i].ptr);
        }
    KT_EQ(heap_check(h), 0);
    kheap_private_destroy(p);
}

KTEST(kheap_stress_lazy_commit)
{
    run_stress(0);
}

KTEST(kheap_stress_eager_commit)
{
    run_stress(1);
}

/*
 * Small blocks freed into the slab set's magazines, on a private heap: the
 * one freed last is exactly free (heap_size 0, a second free reported once,
 * nothing changed), it is the next one handed out, and after a shrink the
 * heap commits what it did before the first allocation.
 */
static void run_magazine(int eager)
{
    enum { N = 512 };
    static void *obj[N];
    struct kheap_private *p = kheap_private_create(16u << 20, eager);
    KT_ASSERT(p);
    struct heap *h = kheap_private_heap(p);
    struct heap_stats start, st;
    heap_stats(h, &start);
    for (unsigned i = 0; i < N; i++) {
        obj[i] = mm_malloc(h, 16 + (i % 8) * 48);
        KT_ASSERT(obj[i]);
        memset(obj[i], 0x5a, 16);
    }
    for (unsigned i = 0; i < N; i++)
        mm_free(h, obj[i]);
    KT_EQ(heap_size(h, obj[N - 1]), 0);
    unsigned long reports = mm_port_report_count();
    mm_port_expect_reports(1);
    mm_free(h, obj[N - 1]);
    KT_EQ(mm_port_report_count() - reports, 1);
    KT_EQ(heap_check(h), 0);
    void *again = mm_malloc(h, 16 + ((N - 1) % 8) * 48);
    KT_ASSERT(again == obj[N - 1]);
    mm_free(h, again);
    heap_stats(h, &st);
    KT_EQ(st.live_blocks, 0);
    heap_composite_shrink(h);
    heap_stats(h, &st);
    KT_EQ(st.bytes_committed, start.bytes_committed);
    KT_EQ(heap_check(h), 0);
    kheap_private_destroy(p);
}

KTEST(kheap_magazines_lazy_commit)
{
    run_magazine(0);
}

KTEST(kheap_magazines_eager_commit)
{
    run_magazine(1);
}

/*
 * Enough 2 KiB objects for six spans of the slab set, on a private heap:
 * each is found through the span map, their spans go back (beyond the
 * ones their magazine and reserve keep, and a spare) once they are freed,
 * and after a shrink the heap commits what it did before.
 */
static void run_spans(int eager)
{
    enum { N = 3000 };
    static void *obj[N];
    struct kheap_private *p = kheap_private_create(16u << 20, eager);
    KT_ASSERT(p);
    struct heap *h = kheap_private_heap(p);
    struct span_pool *pool = slab_debug_spans(heap_composite_part(h, 0));
    KT_ASSERT(pool);
    struct heap_stats start, peak, st;
    heap_stats(h, &start);
    for (unsigned i = 0; i < N; i++) {
        obj[i] = mm_malloc(h, 2000);
        KT_ASSERT(obj[i] && span_slab_at(pool, (uintptr_t)obj[i]) != NULL);
        memset(obj[i], 0x5a, 2000);
    }
    size_t peak_spans = pool->nspans;
    KT_ASSERT(peak_spans >= 5);
    KT_EQ(slab_debug_loose_slabs(heap_composite_part(h, 0)), 0);
    KT_EQ(heap_check(h), 0);
    heap_stats(h, &peak);
    for (unsigned i = N; i-- > 0;)
        mm_free(h, obj[i]);
    /* kept: the spans of the slabs the magazine, the reserves and their headers keep, a spare */
    KT_ASSERT(pool->nspans <= 4 && pool->nspans < peak_spans && pool->empty <= 1);
    heap_stats(h, &st);
    KT_ASSERT(st.bytes_committed < peak.bytes_committed);
    KT_EQ(heap_check(h), 0);
    heap_composite_shrink(h);
    heap_stats(h, &st);
    KT_EQ(pool->nspans, 0);
    KT_EQ(st.bytes_committed, start.bytes_committed);
    KT_EQ(heap_check(h), 0);
    kheap_private_destroy(p);
}

KTEST(kheap_spans_lazy_commit)
{
    run_spans(0);
}

KTEST(kheap_spans_eager_commit)
{
    run_spans(1);
}

KTEST(kmalloc_contract)
{
    struct heap_stats before, after;
    heap_stats(kheap(), &before);

    uint8_t *p = kmalloc(100);
    KT_ASSERT(p && ksize(p) >= 100 && (uintptr_t)p % HEAP_DEFAULT_ALIGN == 0);
    memset(p, 1, 100);
    uint8_t *q = krealloc(p, 5000); /* grows, keeps the prefix */
    KT_ASSERT(q && q[0] == 1 && q[99] == 1);
    uint8_t *z = kcalloc(64, 64);
    KT_ASSERT(z);
    for (unsigned i = 0; i < 64 * 64; i++)
        KT_EQ(z[i], 0);
    for (size_t align = 1; align <= 65536; align <<= 1) {
        void *a = kmemalign(align, 73);
        KT_ASSERT(a && (uintptr_t)a % align == 0);
        kfree(a);
    }

    /* impossible requests fail with NULL, never a small block */
    KT_ASSERT(kmalloc(SIZE_MAX) == 0);
    KT_ASSERT(kmalloc(SIZE_MAX - 4095) == 0);
    /* n * size overflows a size_t (2^16 * (2^16 + 1) on i686, 2^32 * (2^32 + 1) on x86-64) */
    const size_t half = (size_t)1 << (sizeof(size_t) * 4);
    KT_ASSERT(kcalloc(half, half + 1) == 0);
    KT_ASSERT(kmemalign(48, 16) == 0);
    KT_ASSERT(krealloc(q, SIZE_MAX) == 0 && q[99] == 1); /* failed realloc leaves q */

    /* a foreign, an interior and a double free are reported and change nothing */
    unsigned long reports = mm_port_report_count();
    mm_port_expect_reports(3);
    static uint8_t not_heap[64];
    kfree(not_heap);
    kfree(q + 8);
    kfree(q);
    kfree(q);
    KT_EQ(mm_port_report_count() - reports, 3);
    KT_EQ(ksize(not_heap), 0);
    KT_EQ(heap_check(kheap()), 0);
    kfree(z);

    heap_stats(kheap(), &after);
    KT_EQ(after.live_blocks, before.live_blocks);
    KT_EQ(after.bytes_in_use, before.bytes_in_use);
}

/* ---------------------------------------------------------------- benchmark */

KBENCH(kmalloc)
{
    enum { N = 4096 };
    static void *live[N];
    uint64_t t = rdtsc();
    for (unsigned round = 0; round < 8; round++) {
        for (unsigned i = 0; i < N; i++)
            live[i] = kmalloc(16 + (i % 8) * 16);
        for (unsigned i = 0; i < N; i++)
            kfree(live[i]);
    }
    uint64_t small = rdtsc() - t;
    t = rdtsc();
    for (unsigned i = 0; i < 1024; i++)
        kfree(kmalloc(4096 + (i % 16) * 1024));
    uint64_t medium = rdtsc() - t;
    kprintf("| kmalloc + kfree (kernel heap, %s commit) | cycles/pair |\n|---|---|\n",
            kheap_is_eager() ? "eager" : "lazy");
    kprintf("| 16..128 bytes, 4096 live | %llu |\n", (unsigned long long)(small / (8 * N)));
    kprintf("| 4..19 KiB, one at a time | %llu |\n", (unsigned long long)(medium / 1024));
}
