/*
 * mm/host/preload/libmm.h - what libmm.so offers besides the malloc family.
 *
 * A program running on libmm.so (LD_PRELOAD or -lmm) gets malloc, free,
 * calloc, realloc, reallocarray, memalign, posix_memalign, aligned_alloc,
 * valloc, pvalloc and malloc_usable_size from it.  This header adds the
 * one extra entry point; a program that may also run without libmm looks
 * it up with dlsym(RTLD_DEFAULT, "libmm_stats") instead of linking it.
 *
 * Environment (read once, when the library starts):
 *   MM_BAD_FREE=report|abort|silent  a free/realloc of a pointer libmm does
 *                                    not own: one line on stderr and ignored
 *                                    (report, the default), that line then
 *                                    abort(), or ignored without a word
 *   MM_STATS=1                       every instance's heap_stats on stderr at exit
 *                                    (stderr as it was at start: the report still
 *                                    comes when the program closed fd 2)
 *   MM_STATS_FILE=path               the same report appended to path instead
 *                                    (%p: the process id), MM_STATS implied
 *   MM_GUARD=all|N                   every allocation, or one in N per thread,
 *                                    on guard pages (docs/debugging.md)
 *   MM_GUARD_WINDOW=MiB              address space for guarded blocks (default 256)
 *   MM_GUARD_VERBOSE=1               say so on stderr when the guard mode starts
 *   MM_OWNER_FENCE=1                 a thread pays a fence on each entry into its
 *                                    own heap instead of relying on membarrier(2)
 */
#ifndef MM_HOST_PRELOAD_LIBMM_H
#define MM_HOST_PRELOAD_LIBMM_H

#include "mm/heap.h"

/*
 * Sum the heap_stats of every instance (every thread's, living or pooled,
 * and the guard heap) into *sum, after handing the calling
 * thread's batched cross-thread frees to their owners, so that
 * sum->live_blocks counts exactly the blocks not freed yet by threads that
 * have exited or are the caller.  print != 0 also writes one line per
 * instance and the total on stderr.  Returns the number of instances.
 */
int libmm_stats(struct heap_stats *sum, int print);

#endif /* MM_HOST_PRELOAD_LIBMM_H */
