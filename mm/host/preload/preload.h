/*
 * mm/host/preload/preload.h - the pieces of libmm.so that talk to each
 * other (not installed; a program sees only the malloc family and
 * mm/host/preload/libmm.h).
 *
 *   preload.c       the malloc family, one heap instance per thread, fork
 *   preload_owner.c address -> owning instance (the ownership lookup)
 *   preload_lock.c  an instance's lock: no atomics for its owner thread
 *   preload_direct.c blocks on mappings of their own, for re-entrant calls
 *   preload_guard.c the guard-page mode (MM_GUARD) and its fault reports
 *   preload_port.c  mm/port.h for the library: reports honour MM_BAD_FREE
 */
#ifndef MM_HOST_PRELOAD_PRELOAD_H
#define MM_HOST_PRELOAD_PRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"

/* ---------------------------------------------------------------- ownership */

/*
 * Record that [start, start+bytes) (page aligned) belongs to owner (NULL:
 * to nobody).  Called by the recording sources under their instance's
 * lock, so two calls never race for the same range.  Returns 0, or -1 when
 * the map's own memory cannot be had (nothing recorded).
 */
int preload_owner_set(uintptr_t start, size_t bytes, void *owner);

/* Bytes of the map's own memory that are resident (mincore): for MM_STATS. */
size_t preload_owner_resident(void);

/* The map's shape: 4 KiB pages, leaves of 2^18 pages, 47-bit user addresses. */
#define PRELOAD_OWNER_PAGE_SHIFT 12
#define PRELOAD_OWNER_LEAF_BITS 18
#define PRELOAD_OWNER_TOP_BITS (47 - PRELOAD_OWNER_PAGE_SHIFT - PRELOAD_OWNER_LEAF_BITS)

/* The top level: leaf pointers, NULL until a page of their GiB is recorded. */
extern void ***preload_owner_top;

/* The owner recorded for the page holding addr, or NULL.  Lock-free, inline: every free asks. */
static inline void *preload_owner_get(const void *addr)
{
    uintptr_t page = (uintptr_t)addr >> PRELOAD_OWNER_PAGE_SHIFT;
    void ***top = __atomic_load_n(&preload_owner_top, __ATOMIC_ACQUIRE);
    if (!top || (page >> PRELOAD_OWNER_LEAF_BITS) >= ((uintptr_t)1 << PRELOAD_OWNER_TOP_BITS))
        return NULL;
    void **leaf = __atomic_load_n(&top[page >> PRELOAD_OWNER_LEAF_BITS], __ATOMIC_ACQUIRE);
    if (!leaf)
        return NULL;
    return __atomic_load_n(&leaf[page & (((uintptr_t)1 << PRELOAD_OWNER_LEAF_BITS) - 1)],
                           __ATOMIC_ACQUIRE);
}

/* ---------------------------------------------------------------- re-entrant calls */

/* The owner-map value of blocks from preload_direct_alloc. */
extern char preload_direct_owner[1];

/*
 * A block of n bytes aligned to align (a power of two; 0 or less than 16
 * means 16) on a mapping of its own, touching no heap instance: for a call
 * that re-entered libmm.  Zero-filled.  NULL when mmap fails.
 */
void *preload_direct_alloc(size_t n, size_t align);

/* Usable size of direct block p, 0 if p is not one (as handed out). */
size_t preload_direct_size(const void *p);

/* Unmap direct block p: 0, or -1 (nothing done) if p is not one. */
int preload_direct_free(void *p);

/* ---------------------------------------------------------------- guard mode */

/*
 * Read MM_GUARD (all, or N: one allocation in N per thread) and
 * MM_GUARD_WINDOW (MiB of address space for guarded blocks).  Returns 1 and
 * sets *window_bytes when the mode is on, 0 when off; a malformed value is
 * reported and leaves the mode off.
 */
int preload_guard_config(size_t *window_bytes);

/* The guard heap exists: catch faults in its window from now on. */
void preload_guard_start(struct heap *guard);

/* 1 if this allocation should go to the guard heap (all, or one in N per thread). */
int preload_guard_pick(void);

/*
 * Around the free of a guard block (block != 0 before, 0 after): the
 * block's call sites are printed, named, after any report the debug heap
 * makes during that free (an overrun into the slack, a double free).
 */
void preload_guard_freeing(uintptr_t block);

/* Called by the port after each report that was printed. */
void preload_guard_after_report(void);

/* ---------------------------------------------------------------- reports */

/* What to do with a misuse report: MM_BAD_FREE=report (default), abort or silent. */
enum preload_policy { PRELOAD_REPORT, PRELOAD_ABORT, PRELOAD_SILENT };
void preload_set_policy(enum preload_policy p);

/* Report misuse (one line on stderr, then the policy).  No allocation. */
__attribute__((format(printf, 1, 2))) void preload_report(const char *fmt, ...);

/* Write a formatted line to stderr with no allocation (snprintf into a stack buffer). */
__attribute__((format(printf, 1, 2))) void preload_print(const char *fmt, ...);

/* The same to file descriptor fd (the MM_STATS output). */
__attribute__((format(printf, 2, 3))) void preload_print_fd(int fd, const char *fmt, ...);

/* Name code address pc as "function+0xoff (module+0xoff)" into buf. */
void preload_name_pc(uintptr_t pc, char *buf, size_t n);

#endif /* MM_HOST_PRELOAD_PRELOAD_H */
