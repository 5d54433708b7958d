/*
 * user/include/uheap.h - the process heap: mm/'s composite heap (slab size
 * classes, the general heap, the page heap - the kernel's kmalloc design)
 * running at ring 3 on a struct heap_source made of system calls
 * (user/lib/source_sys.c):
 *
 *   grow        sbrk: the break moves up (page-aligned first if needed);
 *   shrink      sbrk with a negative increment, only while the break is
 *               still where the source's last grow left it;
 *   map/unmap   reserve(0, n, RW, SYS_RESERVE_COMMIT) / release: large blocks;
 *   activate    commit (lazy: frames come on first touch);
 *   deactivate  decommit: the frames and the commit charge go back, and a
 *               touch before the next activate kills the process (a heap
 *               bug shows at once).
 *
 * Its grow_limit is the break area's size from the info page.  One thread
 * per process: the source has no lock.
 */
#ifndef USER_UHEAP_H
#define USER_UHEAP_H

#include "mm/heap.h"

#include <stddef.h>

/* What the source did, for tests and the demo (all exact). */
struct uheap_source_stats {
    size_t grow_calls, shrink_calls, map_calls, unmap_calls;
    size_t activate_calls, deactivate_calls;
    size_t failed_calls; /* grow/map/activate that returned failure, refused shrinks */
    size_t grown;        /* bytes grown and not shrunk */
    size_t mapped;       /* bytes in mapped blocks */
};

/* The process heap, created on first use; NULL if the source could not provide it yet. */
struct heap *uheap(void);

/* The system-call source (set up on first use; the same one uheap() runs on). */
struct heap_source *uheap_source(void);

void uheap_source_stats(struct uheap_source_stats *st);

/* Misuse reports the allocator made (mm_report) since the start, and the last one. */
unsigned long uheap_reports(void);
const char *uheap_last_report(void);

/*
 * The program is about to provoke n misuse reports on purpose: they print
 * as "malloc: expected: ...".  Returns how many of the previous
 * announcement never came (call with 0 after the misuse to check).
 */
unsigned uheap_expect_reports(unsigned n);

#endif /* USER_UHEAP_H */
