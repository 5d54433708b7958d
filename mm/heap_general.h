/*
 * mm/heap_general.h - the general-purpose heap: byte-granular, good-fit,
 * O(1) alloc/free/size/resize (two-level segregated fit: free lists indexed
 * by two levels of bitmaps, boundary tags, immediate coalescing).
 *
 * Properties (design in heap_general.c and docs/heap.md):
 *   - one word of overhead per allocated block (a header holding the size);
 *     plus one bit per HEAP_DEFAULT_ALIGN bytes of heap for the bitmap of
 *     block starts that makes heap_size/heap_free exact: interior, foreign,
 *     stack and already-freed pointers are recognised, never dereferenced
 *     as headers;
 *   - no operation's cost depends on the number of blocks; calls into the
 *     source touch a number of pages proportional to the bytes involved;
 *   - runs on a grow-only source; uses shrink, map/unmap and
 *     activate/deactivate when the source has them;
 *   - gives memory back: a free span of at least release_threshold bytes
 *     has its interior deactivated (decommitted), and the top of the heap
 *     is shrunk, each keeping release_keep bytes so that an alloc/free cycle
 *     at the boundary does not call the source every time.
 *
 * Locking: every operation takes the source's lock hook (when it has one)
 * for its whole duration and calls the source's other callbacks, and
 * mm_report, with it held; nothing here re-enters the heap.  So:
 *   - one instance used from one context: no lock needed;
 *   - shared between threads/CPUs: give the source a lock;
 *   - used from interrupt handlers too: the lock must disable interrupts
 *     (or the heap must never be used from a context that can interrupt a
 *     holder), and mm_report must not allocate from this heap.
 *
 * Block layout, for debuggers and for the checker's tests (W = word size):
 *   allocated:  [header W: size | flags][user bytes ... ]      user = header + W
 *   free:       [header][next free][prev free][dc lo][dc hi] ... [size W]
 *   size counts the header; flags are the low bits (1 free, 2 previous
 *   block free, 4 has a decommitted range [dc lo, dc hi)).
 */
#ifndef MM_HEAP_GENERAL_H
#define MM_HEAP_GENERAL_H

#include <stddef.h>

#include "mm/heap.h"

/* Bytes of overhead an allocated block carries in front of the user pointer. */
#define HEAP_GENERAL_OVERHEAD sizeof(uintptr_t)

/* Options of heap_general_create_with; 0 in a field means "the default"
 * (heap_general_config_default). */
struct heap_general_config {
    size_t grow_min;          /* smallest grow request (default 64 KiB) */
    size_t release_threshold; /* free span that is given back: top shrunk, interior
                                 decommitted (default 256 KiB; raised to at least
                                 release_keep + grow_min + one page, the hysteresis) */
    size_t release_keep;      /* bytes left committed at the front of a decommitted
                                 span and free at the top after a shrink (default 64 KiB) */
    size_t map_threshold;     /* requests at least this big use src->map when the
                                 source has it (default 256 KiB; SIZE_MAX: never) */
    size_t arena_capacity;    /* address span the first arena's start bitmap covers
                                 before a new arena is needed (default 1 MiB; capped
                                 by the source's grow_limit) */
};

/* Fill *t with the defaults. */
void heap_general_config_default(struct heap_general_config *t);

/*
 * Create a general heap on src with default tunables.  Its control block
 * (about 3 KiB on i386, 10 KiB on x86-64) and the first arena come from the
 * first grow.  Returns NULL when the source cannot provide that.
 * The source must outlive the heap.
 */
struct heap *heap_general_create(struct heap_source *src);

/* The same with options (cfg NULL: defaults).  Unusable values are corrected (see above). */
struct heap *heap_general_create_with(struct heap_source *src, const struct heap_general_config *t);

/* Change the release/map options of a live heap (takes the lock).  Sizes already held stay. */
void heap_general_set_config(struct heap *h, const struct heap_general_config *t);

/*
 * Give everything back to the source: unmap separately mapped blocks,
 * shrink every arena (newest first), control block last.  Live blocks are
 * lost.  Without src->shrink the grown memory stays with the source (it
 * has no way to take it back).  No other call on h may run concurrently,
 * and h must not be used afterwards.
 */
void heap_general_destroy(struct heap *h);

#endif /* MM_HEAP_GENERAL_H */
