/*
 * kernel/kmalloc.c - the kernel heap (see kmalloc.h).
 *
 * A heap instance needs a source; ours is a struct vmm_region_source (one
 * reservation in the kernel half, grown like a brk by committing pages, with
 * the VMM page allocator for mmap-style blocks).  We wrap it to add the lock
 * hook: the heap takes the source's lock around every operation, and here
 * that lock saves EFLAGS and disables interrupts (one CPU), nesting-safe so
 * that an allocator calling its source under its own lock is fine.
 *
 * With `kdebug=all` or `kdebug=N` on the command line, a debug guard
 * allocator (mm/heap_debug.h) on a region of its own serves every kmalloc,
 * or one in N; a small router instance then stands in front of both heaps.
 * It routes heap_size/free/resize by ownership (is the pointer in the debug
 * window?), so blocks of either heap may be freed in any order, and a
 * pointer that neither owns is reported by the ordinary heap as before.
 * When the debug heap is out of room the request falls back to the
 * ordinary heap.  The page-fault report asks the debug heap to explain a
 * faulting address.  Without the option nothing of this exists.
 */
#include "kernel/kmalloc.h"
#include "karch.h"
#include "kernel/log.h"
#include "kernel/pagefault.h"
#include "kernel/panic.h"
#include "mm/heap_composite.h"
#include "mm/heap_debug.h"
#include "mm/malloc.h"
#include "mm/vmm.h"

#include <stddef.h>

#define KHEAP_MAX_BYTES (128u * 1024 * 1024)
#define KDEBUG_WINDOW (64u * 1024 * 1024) /* address space the debug heap cycles through */
#define KDEBUG_META (1024u * 1024)        /* its metadata (about 390 KiB for that window) */

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

/* kdebug=: the debug heap, its source, and the router in front of both heaps. */
static struct kheap_source debug_source;
static struct heap *debug_heap;
static struct heap *ordinary_heap;
static unsigned debug_every;          /* serve 1 in debug_every allocations (1: all) */
static unsigned long debug_count;     /* allocations seen by the router */
static unsigned long debug_fallbacks; /* sampled allocations the debug heap could not serve */

static void kheap_lock(struct heap_source *src)
{
    struct kheap_source *ks = (struct kheap_source *)(void *)src;
    unsigned long flags = irq_save();
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

/* ------------------------------------------------------------------ kdebug router */

/* The heap that owns ptr: the debug heap for anything in its window. */
static struct heap *router_owner(const void *ptr)
{
    return heap_debug_owns_address(debug_heap, (uintptr_t)ptr) ? debug_heap : ordinary_heap;
}

static void *router_alloc(struct heap *h, size_t size, size_t align)
{
    (void)h;
    if (__atomic_add_fetch(&debug_count, 1, __ATOMIC_RELAXED) % debug_every == 0) {
        void *p = heap_alloc(debug_heap, size, align);
        if (p)
            return p;
        __atomic_add_fetch(&debug_fallbacks, 1, __ATOMIC_RELAXED);
    }
    return heap_alloc(ordinary_heap, size, align);
}

static size_t router_size(struct heap *h, const void *ptr)
{
    (void)h;
    return heap_size(router_owner(ptr), ptr);
}

static void router_free(struct heap *h, void *ptr)
{
    (void)h;
    heap_free(router_owner(ptr), ptr);
}

static int router_resize(struct heap *h, void *ptr, size_t size)
{
    (void)h;
    return heap_resize(router_owner(ptr), ptr, size);
}

static int router_check(struct heap *h)
{
    (void)h;
    return heap_check(ordinary_heap) + heap_check(debug_heap);
}

/* Both heaps' figures added field by field (the peak is then an upper bound). */
static void router_stats(struct heap *h, struct heap_stats *st)
{
    struct heap_stats a, b;
    (void)h;
    heap_stats(ordinary_heap, &a);
    heap_stats(debug_heap, &b);
    _Static_assert(sizeof(struct heap_stats) % sizeof(size_t) == 0, "heap_stats is all size_t");
    size_t *out = (size_t *)st;
    const size_t *x = (const size_t *)&a, *y = (const size_t *)&b;
    for (unsigned i = 0; i < sizeof *st / sizeof(size_t); i++)
        out[i] = x[i] + y[i];
}

static const struct heap_ops router_ops = {
    .name = "kdebug router",
    .alloc = router_alloc,
    .size = router_size,
    .free = router_free,
    .check = router_check,
    .stats = router_stats,
    .resize = router_resize,
};
static struct heap router = {&router_ops};

/* The page-fault report's explainer: what the debug heap knows about addr. */
static int kdebug_explain(uintptr_t addr, uint32_t error, char *buf, unsigned size)
{
    unsigned access = (error & VMM_ACCESS_WRITE) ? HEAP_DEBUG_ACCESS_WRITE : HEAP_DEBUG_ACCESS_READ;
    return heap_debug_explain_access(debug_heap, addr, access, buf, size);
}

/* "all" -> 1, "N" (N >= 1) -> N, anything else -> 0. */
static unsigned kdebug_parse(const char *v)
{
    if (v[0] == 'a' && v[1] == 'l' && v[2] == 'l' && !v[3])
        return 1;
    unsigned n = 0;
    for (; *v >= '0' && *v <= '9' && n < 100000000u; v++)
        n = n * 10 + (unsigned)(*v - '0');
    return *v ? 0 : n;
}

/* kdebug=all|N: put the debug heap and the router in front of the ordinary heap. */
static void kdebug_init(const struct boot_info *bi)
{
    char value[16] = "";
    if (!bootinfo_option(bi, "kdebug", value, sizeof value))
        return;
    debug_every = kdebug_parse(value);
    if (!debug_every)
        panic("kheap_init: kdebug=%s: expected kdebug=all or kdebug=N (N >= 1)", value);
    int r = source_init(&debug_source, KDEBUG_WINDOW + KDEBUG_META, 0);
    if (r)
        panic("kheap_init: no region for the debug heap: %s", vmm_strerror(r));
    debug_heap = heap_debug_create_with(
        &debug_source.region.source,
        &(struct heap_debug_config){.window_bytes = KDEBUG_WINDOW, .flags = 0});
    if (!debug_heap)
        panic("kheap_init: heap_debug_create failed");
    ordinary_heap = kernel_heap;
    kernel_heap = &router;
    pagefault_set_explainer(kdebug_explain);
    kprintf("kheap: kdebug: 1 in %u allocations from the debug guard allocator\n", debug_every);
}

struct heap *kheap_debug(void)
{
    return debug_heap;
}

/* ------------------------------------------------------------------ the heap */

void kheap_init(const struct boot_info *bi)
{
    char mode[16] = "";
    bootinfo_option(bi, "kheap", mode, sizeof mode);
    kernel_eager = mode[0] == 'e';
    /* before the first instance: each keeps the secret it is created with */
    heap_set_secret_seed((uintptr_t)rdtsc());
    int r = source_init(&kernel_source, KHEAP_MAX_BYTES, kernel_eager);
    if (r)
        panic("kheap_init: no region for the kernel heap: %s", vmm_strerror(r));
    kernel_heap = heap_composite_create(&kernel_source.region.source);
    if (!kernel_heap)
        panic("kheap_init: heap_composite_create failed");
    kdebug_init(bi);
}

struct heap *kheap(void)
{
    return kernel_heap;
}

int kheap_owns_address(uintptr_t addr)
{
    return (addr >= kernel_source.region.base && addr < kernel_source.region.limit) ||
           (debug_heap && heap_debug_owns_address(debug_heap, addr));
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
