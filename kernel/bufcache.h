/*
 * kernel/bufcache.h - a demonstration buffer cache that gives memory back.
 *
 * A real kernel keeps file and block data in frames it could drop at any
 * moment (clean cached buffers): idle memory is put to use, and returned
 * when something else needs it.  bufcache plays that part for the PMM's
 * reclaim hooks.  bufcache_fill grows the cache into free memory without
 * triggering reclaim (PMM_NORECLAIM); the reclaimer it registers gives
 * buffers back, newest first, whenever the PMM runs low or an allocation
 * would fail.
 *
 * Buffers are contiguous runs of 2^k frames: large ones while much memory
 * is free, smaller ones as the fill approaches its target, so the newest
 * buffers (given back first) are the small ones and reclaim is fine-grained.
 * The cache never touches the contents of its frames.
 *
 * Safe against the reclaimer running from an interrupt handler's
 * allocation: the buffer list is changed with interrupts off.
 */
#ifndef KERNEL_BUFCACHE_H
#define KERNEL_BUFCACHE_H

#include <stddef.h>

/* Most buffers the cache holds at once (each up to PMM_MAX_CONTIG_FRAMES frames). */
#define BUFCACHE_MAX_BUFFERS 4096

/* Register the reclaimer with the PMM.  Calling it again does nothing. */
void bufcache_init(void);

/*
 * Grow the cache until at most `keep_free` frames are free in the PMM, or
 * the cache is full, or no frame is left.  Never asks reclaimers.  Returns
 * the frames the cache holds afterwards.
 */
size_t bufcache_fill(size_t keep_free);

/* Give back up to `frames` frames (whole buffers, newest first); returns how many went back. */
size_t bufcache_drop(size_t frames);

/* Frames the cache holds now. */
size_t bufcache_frames(void);

/* Frames the PMM took back through the reclaimer since boot. */
size_t bufcache_reclaimed(void);

/* Give everything back and unregister the reclaimer. */
void bufcache_shutdown(void);

#endif
