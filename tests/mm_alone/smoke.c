/*
 * tests/mm_alone/smoke.c - a smoke test of a copy of mm/ built alone.
 *
 * Every layer is brought up over memory this file owns: the PMM over a
 * made-up memory map, and each allocator over a source carved from a static
 * arena (grow, map, activate and deactivate; nothing is ever given back to
 * the arena).  It checks the API contract in a few strokes - alloc, size,
 * free, a foreign free reported once, a clean check - not the allocators'
 * depth, which the hosted tests cover.  Freestanding-clean: no C library
 * call, so the same file is linked freestanding for i686 (entry
 * mm_alone_smoke) and run hosted.
 */
#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"
#include "mm/heap_composite.h"
#include "mm/heap_debug.h"
#include "mm/heap_general.h"
#include "mm/heap_pages.h"
#include "mm/malloc.h"
#include "mm/pmm.h"
#include "mm/slab.h"
#include "mm/source_static.h"

extern unsigned port_min_reports;

#define ARENA_BYTES (8u << 20)
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(4096)));
static size_t arena_used;

/* ---------------------------------------------------------------- a source */

static void *arena_take(size_t bytes)
{
    if (bytes > ARENA_BYTES - arena_used)
        return NULL;
    void *p = arena + arena_used;
    arena_used += bytes;
    return p;
}

static void *bump_grow(struct heap_source *src, size_t bytes)
{
    (void)src;
    return arena_take(bytes);
}

static void *bump_map(struct heap_source *src, size_t bytes)
{
    (void)src;
    return arena_take(bytes);
}

static void bump_unmap(struct heap_source *src, void *p, size_t bytes)
{
    (void)src;
    (void)p;
    (void)bytes;
}

/* A flat machine: every address is backed, commit and decommit are bookkeeping. */
static int bump_activate(struct heap_source *src, void *p, size_t bytes)
{
    (void)src;
    (void)p;
    (void)bytes;
    return 0;
}

static void bump_deactivate(struct heap_source *src, void *p, size_t bytes)
{
    (void)src;
    (void)p;
    (void)bytes;
}

static struct heap_source *bump_source(struct heap_source *s)
{
    *s = (struct heap_source){.grow = bump_grow,
                              .map = bump_map,
                              .unmap = bump_unmap,
                              .activate = bump_activate,
                              .deactivate = bump_deactivate};
    return s;
}

/* ---------------------------------------------------------------- checks */

static int failures;
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            failures++;                                                                            \
    } while (0)

/* The three operations on heap h (blocks up to max_size), one foreign free, its checker. */
static void exercise(struct heap *h, size_t max_size)
{
    EXPECT(h != NULL);
    if (!h)
        return;
    void *blocks[32];
    for (unsigned i = 0; i < 32; i++) {
        size_t size = 8u << (i % 12);
        if (size > max_size)
            size = max_size;
        blocks[i] = heap_alloc(h, size, i % 3 ? 0 : 64);
        EXPECT(blocks[i] != NULL);
        EXPECT(heap_size(h, blocks[i]) >= size);
        if (i % 3 == 0)
            EXPECT(((uintptr_t)blocks[i] & 63u) == 0);
    }
    static long not_mine;
    EXPECT(heap_size(h, &not_mine) == 0);
    unsigned before = port_min_reports;
    heap_free(h, &not_mine);
    EXPECT(port_min_reports == before + 1);
    for (unsigned i = 0; i < 32; i++)
        heap_free(h, blocks[i]);
    EXPECT(heap_check(h) == 0);
}

static void smoke_malloc(struct heap *h)
{
    char *s = mm_malloc(h, 24);
    EXPECT(s != NULL);
    if (!s)
        return;
    for (int i = 0; i < 24; i++)
        s[i] = (char)i;
    s = mm_realloc(h, s, 5000);
    EXPECT(s != NULL && s[23] == 23);
    unsigned *z = mm_calloc(h, 16, sizeof *z);
    EXPECT(z != NULL && z[15] == 0);
    EXPECT(mm_calloc(h, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
    mm_free(h, s);
    mm_free(h, z);
}

static void smoke_pmm(void)
{
    static unsigned char meta[64 << 10] __attribute__((aligned(4096)));
    struct pmm_range ram[] = {{0, 0x9FC00}, {0x100000, 31u << 20}};
    struct pmm_range reserved[] = {{0x100000, 1u << 20}};
    EXPECT(pmm_metadata_bytes(ram, 2) <= sizeof meta);
    EXPECT(pmm_init(ram, 2, reserved, 1, meta, sizeof meta) == 0);
    size_t free_before = pmm_free_frames();
    pmm_paddr_t one = pmm_alloc(0);
    pmm_paddr_t run = pmm_alloc_contig(8, 8, 0);
    EXPECT(one != PMM_NONE && run != PMM_NONE && run % (8u * 4096u) == 0);
    EXPECT(pmm_free_frames() == free_before - 9);
    pmm_free(one);
    pmm_free_contig(run, 8);
    EXPECT(pmm_free_frames() == free_before);
}

/* Returns the number of failed expectations (0: all well). */
int mm_alone_smoke(void)
{
    static unsigned char buffer[1u << 20] __attribute__((aligned(4096)));
    static struct source_static fixed;
    struct heap_source general_src, pages_src, slab_src, composite_src, debug_src;

    smoke_pmm();
    exercise(heap_general_create(source_static_init(&fixed, buffer, sizeof buffer, 0)), 16384);
    exercise(heap_pages_create(bump_source(&pages_src)), 16384);
    exercise(heap_slab_create(bump_source(&slab_src)), 512);
    exercise(
        heap_debug_create_with(bump_source(&debug_src),
                               &(struct heap_debug_config){.window_bytes = 1u << 20, .flags = 0}),
        16384);
    struct heap *composite = heap_composite_create(bump_source(&composite_src));
    exercise(composite, 16384);
    if (composite)
        smoke_malloc(composite);
    exercise(heap_general_create(bump_source(&general_src)), 16384);
    return failures;
}

#if __STDC_HOSTED__
#include <stdio.h>

int main(void)
{
    int bad = mm_alone_smoke();
    printf("mm alone: %d failed expectations, %u reports, %zu KiB of arena used\n", bad,
           port_min_reports, arena_used >> 10);
    return bad != 0;
}
#endif
