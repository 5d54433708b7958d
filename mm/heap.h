/*
 * mm/heap.h - the common dynamic-memory-allocator API.
 *
 * Three operations are all any allocator has to provide:
 *
 *   heap_alloc(h, size, align)  a block of at least size bytes aligned to align
 *   heap_size(h, ptr)           the usable size of ptr, or 0 if h does not own ptr
 *   heap_free(h, ptr)           give ptr back
 *
 * An allocator is an INSTANCE: a struct whose first member points at a table
 * of function pointers (struct heap_ops).  Any number of instances of any
 * implementation may coexist; the kernel decides which one serves kmalloc,
 * the user libc which one serves malloc, and the malloc family
 * (mm/malloc.h) is written once over a struct heap *.
 *
 * An instance draws its memory from a SOURCE (struct heap_source) that it is
 * given at creation: brk-style grow (required), mmap-style map/unmap
 * (optional), activate/deactivate = commit/decommit (optional), lock/unlock
 * (optional, for sources shared between contexts).
 *
 * The wrappers below do the argument checks that are common to every
 * implementation (alignment must be 0 or a power of two, sizes that cannot be
 * satisfied return NULL) so that implementations only see sane requests.
 */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "mm/port.h"

struct heap;
struct heap_source;

/* Default alignment of heap_alloc(h, n, 0): 8 on i386, 16 on x86-64. */
#define HEAP_DEFAULT_ALIGN (2 * sizeof(void *) > 8 ? 2 * sizeof(void *) : 8)

/*
 * Largest request any instance will consider.  Anything above (SIZE_MAX and
 * its neighbours, size + align that would wrap) is refused with NULL before
 * an implementation sees it.
 */
#define HEAP_MAX_REQUEST (SIZE_MAX / 2)

/* Figures an instance reports through ops->stats.  Unknown fields are 0. */
struct heap_stats {
    size_t bytes_in_use;    /* sum of heap_size() over live blocks */
    size_t bytes_peak;      /* high-water mark of bytes_in_use */
    size_t bytes_held;      /* bytes currently obtained from the source */
    size_t bytes_committed; /* of bytes_held, how many are activated (backed) */
    size_t free_blocks;     /* number of free blocks/objects held */
    size_t largest_free;    /* largest block a request could get without growing */
    size_t live_blocks;     /* number of live allocations */
    size_t alloc_calls;     /* successful allocations since creation */
    size_t free_calls;      /* successful frees since creation */
    size_t failed_calls;    /* allocations that returned NULL */
    size_t reported_errors; /* misuse reports (bad frees, corruption) */
};

/*
 * The call counters every instance keeps, named as the fields of struct
 * heap_stats they feed: an implementation embeds one and its stats op calls
 * heap_counters_add.
 */
struct heap_counters {
    size_t alloc_calls, free_calls, failed_calls, reported_errors;
};

/* Add c's counts to st (sub-heaps of one instance add up). */
static inline void heap_counters_add(struct heap_stats *st, const struct heap_counters *c)
{
    st->alloc_calls += c->alloc_calls;
    st->free_calls += c->free_calls;
    st->failed_calls += c->failed_calls;
    st->reported_errors += c->reported_errors;
}

/*
 * Add the figures of one instance to a sum over several (a composite's
 * sub-heaps, a process's per-thread heaps): counts and bytes add up,
 * largest_free is the largest of them.
 */
static inline void heap_stats_add(struct heap_stats *sum, const struct heap_stats *st)
{
    sum->bytes_in_use += st->bytes_in_use;
    sum->bytes_peak += st->bytes_peak;
    sum->bytes_held += st->bytes_held;
    sum->bytes_committed += st->bytes_committed;
    sum->free_blocks += st->free_blocks;
    sum->live_blocks += st->live_blocks;
    if (st->largest_free > sum->largest_free)
        sum->largest_free = st->largest_free;
    sum->alloc_calls += st->alloc_calls;
    sum->free_calls += st->free_calls;
    sum->failed_calls += st->failed_calls;
    sum->reported_errors += st->reported_errors;
}

/* The table every implementation fills in.  alloc/size/free are required. */
struct heap_ops {
    const char *name;
    /*
     * Called by heap_alloc with size >= 1, align a power of two >=
     * HEAP_DEFAULT_ALIGN and size + align <= HEAP_MAX_REQUEST (no overflow
     * checks needed).  NULL when out of memory.
     */
    void *(*alloc)(struct heap *h, size_t size, size_t align);
    /* 0 when ptr is not a live block of h (NULL, interior, foreign, freed). */
    size_t (*size)(struct heap *h, const void *ptr);
    /* ptr != NULL; a pointer h does not own is reported and ignored. */
    void (*free)(struct heap *h, void *ptr);
    /* optional: walk every structure, report and count violations; 0 = consistent. */
    int (*check)(struct heap *h);
    /* optional: fill *st. */
    void (*stats)(struct heap *h, struct heap_stats *st);
    /* optional: resize in place; returns 0 if ptr now has >= size usable bytes, -1 if not. */
    int (*resize)(struct heap *h, void *ptr, size_t size);
    /*
     * optional: free ptr if it is a live block of h and return its usable
     * size; 0 (nothing changed, nothing reported) when it is not.  One
     * ownership lookup where size-then-free takes two.
     */
    size_t (*release)(struct heap *h, void *ptr);
    /*
     * Policy for mm_realloc: 0 = blocks exactly as asked (the debug heap,
     * whose guards sit at the requested end); n = a growing block that must
     * move gets 1/n of its size extra, so appends move O(log n) times.
     */
    unsigned realloc_headroom;
};

/* Base of every instance.  Implementations embed it as their FIRST member. */
struct heap {
    const struct heap_ops *ops;
};

/*
 * Where an instance gets memory.  The source outlives every instance using
 * it.  All sizes are multiples of page_size unless stated.
 */
struct heap_source {
    /*
     * brk-style, REQUIRED: extend the region by at least `bytes` (a multiple
     * of page_size) and return the start of the new part, or NULL when out of
     * memory.  Successive calls normally return adjacent memory; an instance
     * must cope when they do not (treat the result as a new segment).
     */
    void *(*grow)(struct heap_source *src, size_t bytes);
    /*
     * optional: give back the last `bytes` obtained through grow (the break
     * moves down; a multiple of page_size, never more than was grown).
     * Returns 0, or -1 if the source refuses (nothing changed).
     */
    int (*shrink)(struct heap_source *src, size_t bytes);
    /* optional mmap-style: a separate page-aligned region of `bytes`, or NULL. */
    void *(*map)(struct heap_source *src, size_t bytes);
    void (*unmap)(struct heap_source *src, void *ptr, size_t bytes);
    /*
     * optional: make [ptr, ptr+bytes) backed by frames (commit) / let its frames
     * go but keep the addresses (decommit; contents become zero or junk).
     * Page-aligned.  activate returns 0 or -1 (out of memory).
     * A source on an unpaged system leaves them NULL.
     */
    int (*activate)(struct heap_source *src, void *ptr, size_t bytes);
    void (*deactivate)(struct heap_source *src, void *ptr, size_t bytes);
    /*
     * optional: for an instance used from several contexts (threads, CPUs,
     * interrupt handlers).  An instance takes it around each of its
     * operations and calls the callbacks above with it held, so they must not
     * take it again.  To allocate from interrupt handlers it must disable
     * interrupts (docs/heap.md, "Locking").
     */
    void (*lock)(struct heap_source *src);
    void (*unlock)(struct heap_source *src);
    size_t page_size; /* power of two, 0 means MM_PAGE_SIZE */
    void *ctx;        /* the source's own state */
    /*
     * optional: the most grow can ever return in total (a static buffer, a
     * fixed kernel heap window); 0 = unknown.  Lets an instance size its
     * metadata for the memory it can actually get.
     */
    size_t grow_limit;
    /*
     * optional: nonzero when every byte grow returns reads as zero (fresh
     * pages, or pages whose frames shrink or deactivate let go), also after
     * an activate.  An instance may then leave its zero metadata unwritten,
     * so that the pages it does not use yet stay untouched (uncommitted on a
     * demand-paged system).  0 = unknown: the instance zeroes what it needs.
     */
    int zeroed;
};

/*
 * Allocate at least `size` bytes aligned to `align` (0 = HEAP_DEFAULT_ALIGN).
 * Returns NULL when align is not 0 or a power of two, when size cannot be
 * satisfied (> HEAP_MAX_REQUEST, size + align wraps) or when the source is
 * exhausted.  size 0 returns a unique minimal block.
 */
void *heap_alloc(struct heap *h, size_t size, size_t align);

/*
 * heap_alloc(h, size, 0), with the alignment test left out: what malloc
 * calls.  Same contract and results.
 */
void *heap_alloc_default(struct heap *h, size_t size);

/* Usable size (>= requested) of a live block of h; 0 for NULL or a pointer h does not own. */
size_t heap_size(struct heap *h, const void *ptr);

/* Free a block of h.  NULL is a no-op; a foreign or double free is reported and ignored. */
void heap_free(struct heap *h, void *ptr);

/*
 * Free ptr if it is a live block of h: returns the usable size it had, or 0
 * when it is not one of h's live blocks (NULL, foreign, interior, freed) -
 * then nothing changed and nothing is reported, so a caller holding several
 * heaps can offer a pointer to each in turn (the composite does).
 */
size_t heap_release(struct heap *h, void *ptr);

/* Run the instance's consistency check: number of violations (0 if it has no check). */
int heap_check(struct heap *h);

/*
 * Resize a live block of h in place: 0 if ptr now has at least `size` usable
 * bytes (its address and its first min(old, size) bytes unchanged), -1 if
 * that is not possible in place (nothing changed) or h has no resize.
 * ptr must be a live block of h (checked: a foreign pointer is reported).
 */
int heap_resize(struct heap *h, void *ptr, size_t size);

/* Fill *st (zeroed first); instances without stats leave it zero. */
void heap_stats(struct heap *h, struct heap_stats *st);

/* Name of the implementation, never NULL. */
const char *heap_name(struct heap *h);

/*
 * Hardening: a secret per instance for mangling free-list links
 * (heap_general, slab).  The secret mixes a process-wide seed with the
 * instance's address.  heap_set_secret_seed sets the seed (the kernel: from
 * the TSC at boot); call it before creating instances - an instance keeps
 * the secret it was created with.  Without a seed the address alone is
 * mixed (enough to turn a planted pointer into garbage, not a secret).
 */
void heap_set_secret_seed(uintptr_t seed);
uintptr_t heap_instance_secret(const void *instance);

/* True if align is 0 or a power of two. */
static inline int heap_align_valid(size_t align)
{
    return (align & (align - 1)) == 0;
}

/* The source's page size (MM_PAGE_SIZE when it leaves page_size 0). */
static inline size_t heap_source_page_size(const struct heap_source *src)
{
    return src->page_size ? src->page_size : MM_PAGE_SIZE;
}

/* Take / drop the source's lock when it has one (instances call these around each operation). */
static inline void heap_source_lock(struct heap_source *src)
{
    if (src->lock)
        src->lock(src);
}

static inline void heap_source_unlock(struct heap_source *src)
{
    if (src->unlock)
        src->unlock(src);
}

#endif /* MM_HEAP_H */
