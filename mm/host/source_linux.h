/*
 * mm/host/source_linux.h - a struct heap_source for Linux programs (tests,
 * benchmarks, and anyone linking libmm.a).
 *
 * It reserves one large range of address space with mmap(PROT_NONE) and
 * implements:
 *   grow        mprotect more of the range read/write (the break moves up);
 *   shrink      madvise(MADV_DONTNEED) + mprotect(PROT_NONE) the top again;
 *   map/unmap   separate anonymous mmap/munmap;
 *   activate    mprotect read/write (pages come back zero-filled on touch);
 *   deactivate  madvise(MADV_DONTNEED): the frames go, the range stays
 *               (in strict mode also mprotect(PROT_NONE), so that touching
 *               decommitted memory faults);
 *   lock/unlock a spinlock, when asked for (SOURCE_LINUX_LOCKED).
 *
 * A capacity limits the range, so tests can simulate running out of memory,
 * and flags take features away, so tests can check that an allocator works
 * with grow alone.  The source keeps exact counters (bytes grown, mapped,
 * committed) and one bit per page of the range; calls that make no sense
 * (ranges outside what was grown, unaligned ranges, unmapping what was not
 * mapped) are reported through mm_report and ignored.
 *
 * Its own memory comes from mmap, never from malloc, so a program may build
 * its malloc on top of it.  Thread safety: the source's callbacks are meant
 * to be called under the instance's lock (the lock hook itself when
 * SOURCE_LINUX_LOCKED is set); source_linux_stats may be read at any time.
 */
#ifndef MM_HOST_SOURCE_LINUX_H
#define MM_HOST_SOURCE_LINUX_H

#include <stddef.h>

#include "mm/heap.h"

/* Feature flags for struct source_linux_config. */
#define SOURCE_LINUX_NO_SHRINK 0x01u /* no shrink: the break never moves down */
#define SOURCE_LINUX_NO_MAP 0x02u    /* no map/unmap */
#define SOURCE_LINUX_NO_COMMIT 0x04u /* no activate/deactivate */
#define SOURCE_LINUX_GROW_ONLY                                                                     \
    (SOURCE_LINUX_NO_SHRINK | SOURCE_LINUX_NO_MAP | SOURCE_LINUX_NO_COMMIT)
#define SOURCE_LINUX_STRICT 0x08u /* decommitted pages are PROT_NONE: touching them faults */
#define SOURCE_LINUX_LOCKED 0x10u /* provide lock/unlock (a spinlock) */

struct source_linux_config {
    size_t capacity;  /* bytes grow can provide in total (0: 1 GiB on 64-bit, 256 MiB on 32-bit) */
    size_t map_limit; /* bytes that may be mapped at once (0: no limit) */
    unsigned flags;   /* SOURCE_LINUX_* */
};

/* Counters of a source, all exact. */
struct source_linux_stats {
    size_t capacity;  /* size of the reserved range */
    size_t grown;     /* current break: bytes grown and not shrunk */
    size_t committed; /* of those, bytes whose pages are activated */
    size_t mapped;    /* bytes in separate mappings */
    size_t grow_calls, shrink_calls, map_calls, unmap_calls;
    size_t activate_calls, deactivate_calls;
    size_t failed_calls; /* grow/map/activate that returned failure */
    size_t table_bytes;  /* the mapping records' own mapping (0 while they fit in the struct) */
};

/*
 * Create a source (cfg NULL: defaults).  Returns NULL if the range cannot
 * be reserved.  The source must outlive every heap that uses it.
 */
struct heap_source *source_linux_create(const struct source_linux_config *cfg);

/* Release the range and every mapping still open.  Heaps using it must be gone. */
void source_linux_destroy(struct heap_source *src);

/* Fill *st. */
void source_linux_stats(struct heap_source *src, struct source_linux_stats *st);

/* 1 if every page of [ptr, ptr+bytes) lies in the grown range and is committed. */
int source_linux_is_committed(struct heap_source *src, const void *ptr, size_t bytes);

#endif /* MM_HOST_SOURCE_LINUX_H */
