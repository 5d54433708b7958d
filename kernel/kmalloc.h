/*
 * kernel/kmalloc.h - the kernel heap: the malloc family over one instance of
 * the common allocator API.
 *
 * The instance is the composite default heap (mm/heap_composite.h: slab size
 * classes, the general heap, the page heap) on a source over one VMM region
 * of the kernel half.  The region is committed lazily (frames appear in the
 * page-fault handler on first touch) or eagerly, chosen at boot with
 * `kheap=lazy` (default) or `kheap=eager`.  Large blocks come from the VMM's
 * page allocator, with guard pages.  `kdebug=all` / `kdebug=N` serve every
 * kmalloc, or one in N, from the debug guard allocator instead (see
 * kmalloc.c and docs/debugging.md).
 *
 * Every function may be called with interrupts on or off, and from
 * interrupt handlers: the source's lock hook disables interrupts.
 */
#ifndef KERNEL_KMALLOC_H
#define KERNEL_KMALLOC_H

#include "kernel/bootinfo.h"
#include "mm/heap.h"

#include <stddef.h>
#include <stdint.h>

/* Create the kernel heap (after the VMM).  Panics if it cannot. */
void kheap_init(const struct boot_info *bi);

/* The instance behind kmalloc, for statistics, checks and tests. */
struct heap *kheap(void);

/*
 * The debug guard allocator behind kmalloc when booted with kdebug=all or
 * kdebug=N (every, or one in N, allocations), else NULL.
 */
struct heap *kheap_debug(void);

/* True if addr lies in the kernel heap's region (for accounting in tests). */
int kheap_owns_address(uintptr_t addr);

/* 1 if the kernel heap region is committed eagerly. */
int kheap_is_eager(void);

/*
 * A heap like the kernel's on a region of its own (for tests, and for
 * subsystems that want their memory apart): eager or lazy commit, at most
 * max_bytes.  Returns NULL on failure; kheap_private_destroy gives every
 * frame and the region back.
 */
struct kheap_private;
struct kheap_private *kheap_private_create(size_t max_bytes, int eager);
struct heap *kheap_private_heap(struct kheap_private *p);
void kheap_private_destroy(struct kheap_private *p);

void *kmalloc(size_t n);
void *kcalloc(size_t nmemb, size_t size);
void *krealloc(void *ptr, size_t n);
void *kmemalign(size_t align, size_t n);
void kfree(void *ptr);
size_t ksize(const void *ptr);

#endif
