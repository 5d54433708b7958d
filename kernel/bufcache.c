/*
 * kernel/bufcache.c - the demonstration buffer cache (see bufcache.h).
 *
 * The cache is a stack of buffers (first frame, frame count): filling pushes,
 * reclaiming pops, so the newest buffer goes first.  The PMM hands out high
 * memory first, which makes the newest buffers also the lowest in memory:
 * reclaiming them first gives a constrained request (below 16 MiB) its
 * frames back soonest.
 */
#include "kernel/bufcache.h"
#include "karch.h"
#include "mm/pmm.h"

#include <stdbool.h>
#include <stdint.h>

struct buffer {
    uint32_t first_pfn; /* frame number of the first frame (physical address >> 12) */
    uint32_t frames;    /* a power of two, <= PMM_MAX_CONTIG_FRAMES */
};
_Static_assert(sizeof(struct buffer) == 8, "buffer records stay small");

static struct buffer buffers[BUFCACHE_MAX_BUFFERS];
static size_t n_buffers; /* buffers[0 .. n_buffers) are held; changed with interrupts off */
static size_t frames_held;
static size_t frames_reclaimed;
static bool registered;

static size_t reclaim(struct pmm_reclaimer *r, size_t want);
static struct pmm_reclaimer reclaimer = {"bufcache", reclaim, 0};

/* Push a buffer; false if the cache is full. */
static bool push(pmm_paddr_t first, uint32_t frames)
{
    bool pushed = false;
    unsigned long flags = irq_save();
    if (n_buffers < BUFCACHE_MAX_BUFFERS) {
        buffers[n_buffers++] = (struct buffer){(uint32_t)(first >> 12), frames};
        frames_held += frames;
        pushed = true;
    }
    irq_restore(flags);
    return pushed;
}

/* Pop the newest buffer into *b; false if the cache is empty. */
static bool pop(struct buffer *b)
{
    bool popped = false;
    unsigned long flags = irq_save();
    if (n_buffers > 0) {
        *b = buffers[--n_buffers];
        frames_held -= b->frames;
        popped = true;
    }
    irq_restore(flags);
    return popped;
}

size_t bufcache_drop(size_t frames)
{
    size_t dropped = 0;
    struct buffer b;
    while (dropped < frames && pop(&b)) {
        pmm_free_contig((pmm_paddr_t)b.first_pfn << 12, b.frames);
        dropped += b.frames;
    }
    return dropped;
}

/* The PMM's call when memory is short: whole buffers, newest first.  Never allocates. */
static size_t reclaim(struct pmm_reclaimer *r, size_t want)
{
    (void)r;
    size_t given = bufcache_drop(want);
    frames_reclaimed += given;
    return given;
}

void bufcache_init(void)
{
    if (!registered) {
        pmm_register_reclaimer(&reclaimer);
        registered = true;
    }
}

/* Largest order whose block still leaves at least keep_free frames free. */
static unsigned fill_order(size_t free, size_t keep_free)
{
    unsigned order = PMM_MAX_ORDER;
    while (order > 0 && free - keep_free < ((size_t)1 << order))
        order--;
    return order;
}

size_t bufcache_fill(size_t keep_free)
{
    size_t free;
    while ((free = pmm_free_frames()) > keep_free && n_buffers < BUFCACHE_MAX_BUFFERS) {
        unsigned order = fill_order(free, keep_free);
        pmm_paddr_t first;
        /* no block of this order left (fragmentation): try smaller ones */
        while ((first = pmm_alloc_contig((size_t)1 << order, 0, PMM_NORECLAIM)) == PMM_NONE &&
               order > 0)
            order--;
        if (first == PMM_NONE)
            break;
        if (!push(first, 1u << order)) {
            pmm_free_contig(first, (size_t)1 << order);
            break;
        }
    }
    return frames_held;
}

size_t bufcache_frames(void)
{
    return frames_held;
}

size_t bufcache_reclaimed(void)
{
    return frames_reclaimed;
}

void bufcache_shutdown(void)
{
    bufcache_drop(SIZE_MAX);
    if (registered) {
        pmm_unregister_reclaimer(&reclaimer);
        registered = false;
    }
}
