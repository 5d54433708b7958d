/*
 * kernel/kmalloc.c - the kernel heap (see kmalloc.h).
 *
 * A heap instance needs a source; ours is a struct vmm_region_source (one
 * reservation in the kernel half, grown like a brk by committing pages, with
 * the VMM page allocator for mmap-style blocks).  We wrap it to add the lock
 * hook: the heap takes the source's lock around every operation, and here
 * that lock saves EFLAGS and disables interrupts (one CPU), nesting-safe so
 * that an allocator calling its source under its own lock is fine.
 */
#include "kernel/kmalloc.h"
#include "arch/x86/cpu.h"
#include "kernel/panic.h"
#include "mm/heap_composite.h"
#include "mm/malloc.h"
#include "mm/vmm.h"

#include <stddef.h>

#define KHEAP_MAX_BYTES (128u * 1024 * 1024)

/*
 * A VMM region source plus the interrupt-disabling lock.  region (and its
 * first member, the heap_source) comes first, so the heap_source pointer the
 * allocator hands back to the lock hooks is also a pointer to this struct;
 * the region source keeps its own ctx.
 */
struct kheap_source {
    struct vmm_region_source region;
    unsigned depth;  /* lock nesting */
    uint32_t eflags; /* saved by the outermost lock */
};
_Static_assert(offsetof(struct kheap_source, region) == 0 &&
                   offsetof(struct vmm_region_source, source) == 0,
               "the lock hooks find struct kheap_source from its heap_source");

struct kheap_private {
    struct kheap_source source;
    struct heap *heap;
};

static struct kheap_source kernel_source;
static struct heap *kernel_heap;
static int kernel_eager;

static void kheap_lock(struct heap_source *src)
{
    struct kheap_source *ks = (struct kheap_source *)(void *)src;
    uint32_t flags = irq_save();
    if (ks->depth++ == 0)
        ks->eflags = flags;
}

static void kheap_unlock(struct heap_source *src)
{
    struct kheap_source *ks = (struct kheap_source *)(void *)src;
    if (ks->depth == 0)
        panic("kheap_unlock: not locked");
    if (--ks->depth == 0)
        irq_restore(ks->eflags);
}

/* Reserve the region and make the source; returns 0 or a VMM error. */
static int source_init(struct kheap_source *ks, size_t max_bytes, int eager)
{
    int r = vmm_region_source_init(&ks->region, vmm_kernel_space(), max_bytes,
                                   eager ? VMM_COMMIT_EAGER : 0);
    if (r)
        return r;
    ks->depth = 0;
    ks->region.source.lock = kheap_lock;
    ks->region.source.unlock = kheap_unlock;
    return 0;
}

void kheap_init(const struct boot_info *bi)
{
    char mode[16] = "";
    bootinfo_option(bi, "kheap", mode, sizeof mode);
    kernel_eager = mode[0] == 'e';
    int r = source_init(&kernel_source, KHEAP_MAX_BYTES, kernel_eager);
    if (r)
        panic("kheap_init: no region for the kernel heap: %s", vmm_strerror(r));
    kernel_heap = heap_composite_create(&kernel_source.region.source);
    if (!kernel_heap)
        panic("kheap_init: heap_composite_create failed");
}

struct heap *kheap(void)
{
    return kernel_heap;
}

int kheap_owns_address(uintptr_t addr)
{
    return addr >= kernel_source.region.base && addr < kernel_source.region.limit;
}

int kheap_is_eager(void)
{
    return kernel_eager;
}

struct kheap_private *kheap_private_create(size_t max_bytes, int eager)
{
    struct kheap_private *p = kmalloc(sizeof *p);
    if (!p)
        return NULL;
    if (source_init(&p->source, max_bytes, eager)) {
        kfree(p);
        return NULL;
    }
    p->heap = heap_composite_create(&p->source.region.source);
    if (!p->heap) {
        vmm_region_source_fini(&p->source.region);
        kfree(p);
        return NULL;
    }
    return p;
}

struct heap *kheap_private_heap(struct kheap_private *p)
{
    return p->heap;
}

void kheap_private_destroy(struct kheap_private *p)
{
    heap_composite_destroy(p->heap);
    vmm_region_source_fini(&p->source.region);
    kfree(p);
}

void *kmalloc(size_t n)
{
    return mm_malloc(kernel_heap, n);
}

void *kcalloc(size_t nmemb, size_t size)
{
    return mm_calloc(kernel_heap, nmemb, size);
}

void *krealloc(void *ptr, size_t n)
{
    return mm_realloc(kernel_heap, ptr, n);
}

void *kmemalign(size_t align, size_t n)
{
    return mm_memalign(kernel_heap, align, n);
}

void kfree(void *ptr)
{
    mm_free(kernel_heap, ptr);
}

size_t ksize(const void *ptr)
{
    return mm_malloc_usable_size(kernel_heap, ptr);
}
