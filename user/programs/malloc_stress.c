/*
 * user/programs/malloc_stress.c - the malloc family at ring 3, checked.
 *
 * Expects: exit status 0.  20000 random operations (malloc, calloc,
 * memalign, realloc, free) over 256 slots, sizes from 1 byte to 1 MiB so
 * that all three sub-heaps of the composite serve requests (and large
 * blocks come from reserve/release).  Every block carries a pattern derived
 * from its slot and is verified before it is freed or resized; calloc
 * memory must be zero, alignments must hold, and the heap's own
 * consistency check must find nothing every 1000 operations.  Then the
 * edges: impossible sizes return NULL, a double free and a foreign pointer
 * are reported (counted) and change nothing, and with everything freed the
 * heap has nothing in use (large blocks went out through reserve and came
 * back through release).
 */
#include "mm/heap.h"
#include "stdlib.h"
#include "uheap.h"
#include "utest.h"

#include <stdint.h>
#include <string.h>

#define SLOTS 256
#define ROUNDS 20000
#define CHECK_EVERY 1000

struct slot {
    unsigned char *p;
    size_t n;
    uint32_t seed;
};

static struct slot slots[SLOTS];
static uint32_t rng_state = 0x2545F491u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Mostly small, some medium, a few large: every sub-heap gets work. */
static size_t random_size(void)
{
    uint32_t r = rng() % 100;
    if (r < 70)
        return 1 + rng() % 256;
    if (r < 90)
        return 257 + rng() % (16u << 10);
    if (r < 98)
        return (16u << 10) + rng() % (112u << 10);
    return (128u << 10) + rng() % (896u << 10);
}

static unsigned char byte_at(uint32_t seed, size_t i)
{
    return (unsigned char)(seed + i * 131 + (i >> 8));
}

static void fill(struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->p[i] = byte_at(s->seed, i);
}

/* The first n bytes of the slot still hold its pattern. */
static int intact(const struct slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s->p[i] != byte_at(s->seed, i))
            return 0;
    return 1;
}

static void allocate(struct slot *s)
{
    size_t n = random_size(), align = (size_t)16 << (rng() % 9); /* 16 .. 4096 */
    switch (rng() % 3) {
    case 0:
        s->p = malloc(n);
        break;
    case 1:
        s->p = calloc(1, n);
        UT_CHECK(s->p != NULL);
        for (size_t i = 0; i < n; i++)
            UT_EQ(s->p[i], 0);
        break;
    default:
        s->p = memalign(align, n);
        UT_CHECK(s->p != NULL);
        UT_EQ((uintptr_t)s->p % align, 0);
        break;
    }
    UT_CHECK(s->p != NULL);
    UT_CHECK(malloc_usable_size(s->p) >= n);
    s->n = n;
    s->seed = rng();
    fill(s);
}

static void resize(struct slot *s)
{
    size_t n = random_size(), kept = n < s->n ? n : s->n;
    unsigned char *q = realloc(s->p, n);
    UT_CHECK(q != NULL);
    s->p = q;
    UT_CHECK(intact(s, kept));
    s->n = n;
    fill(s);
}

static void release(struct slot *s)
{
    UT_CHECK(intact(s, s->n));
    free(s->p);
    s->p = NULL;
}

static void stress(void)
{
    for (unsigned round = 1; round <= ROUNDS; round++) {
        struct slot *s = &slots[rng() % SLOTS];
        if (!s->p)
            allocate(s);
        else if (rng() % 5 < 3)
            release(s);
        else
            resize(s);
        if (round % CHECK_EVERY == 0)
            UT_EQ(heap_check(uheap()), 0);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].p)
            release(&slots[i]);
}

static void edges(void)
{
    void *p = NULL;
    UT_CHECK(malloc(SIZE_MAX) == NULL);
    UT_CHECK(calloc(SIZE_MAX / 2, 3) == NULL);
    UT_CHECK(memalign(24, 16) == NULL);
    UT_EQ(posix_memalign(&p, 3, 8), EINVAL);
    UT_CHECK(p == NULL);

    ut_log("a double free and a foreign pointer: both must be reported and ignored");
    unsigned long reports = uheap_reports();
    char on_stack[16];
    /* volatile: the compiler must not see (and refuse) what the heap has to catch */
    char *volatile twice = malloc(40), *volatile foreign = on_stack;
    uheap_expect_reports(2);
    free(twice);
    free(twice);
    UT_EQ(uheap_reports(), reports + 1);
    free(foreign);
    UT_EQ(uheap_reports(), reports + 2);
    UT_EQ(uheap_expect_reports(0), 0);
    UT_EQ(heap_check(uheap()), 0);
}

int main(void)
{
    struct heap_stats hs;
    struct uheap_source_stats ss;
    struct sys_memstat ms;
    ut_log("%u random operations over %u slots, 1 byte to 1 MiB", ROUNDS, SLOTS);
    stress();
    heap_stats(uheap(), &hs);
    uheap_source_stats(&ss);
    ut_log("%zu allocations, %zu frees; source: %zu grows, %zu maps, %zu unmaps, %zu decommits",
           hs.alloc_calls, hs.free_calls, ss.grow_calls, ss.map_calls, ss.unmap_calls,
           ss.deactivate_calls);
    UT_EQ(hs.bytes_in_use, 0);
    UT_EQ(hs.live_blocks, 0);
    UT_CHECK(ss.grow_calls > 0 && ss.map_calls > 0 && ss.unmap_calls > 0);
    edges();
    UT_OK(sys_memstat(&ms));
    ut_log("left: %u pages committed, %u backed", (unsigned)ms.proc_committed,
           (unsigned)ms.proc_backed);
    ut_pass();
}
