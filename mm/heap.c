/*
 * mm/heap.c - the common API: argument checks every implementation shares.
 *
 * How it works: each wrapper normalises its arguments and calls the
 * instance's function table (mm/heap.h).  Implementations therefore only
 * ever see
 *
 *   alloc:  1 <= size <= HEAP_MAX_REQUEST,
 *           align a power of two, HEAP_DEFAULT_ALIGN <= align <= HEAP_MAX_REQUEST,
 *           size + align <= HEAP_MAX_REQUEST (so size + align + a header cannot wrap);
 *   size:   ptr != NULL;
 *   free:   ptr != NULL;
 *   release: ptr != NULL;
 *   resize: ptr != NULL, 1 <= size <= HEAP_MAX_REQUEST.
 *
 * Whether ptr belongs to the instance is the instance's business: only it
 * can tell in O(1).  The wrappers hold no state and take no lock; locking
 * is done by the instance (through its source's lock hook), so they may be
 * called from any context the instance allows.
 *
 * With MM_DEBUG on, every block an instance returns is checked against the
 * contract (alignment, heap_size >= size) and a violation is a panic: that
 * is a bug in the allocator, not in its caller.
 */
#include "mm/heap.h"

#include "mm/port.h"

/*
 * An empty compiler barrier after the call into the instance keeps it from
 * being a tail call, so heap_alloc/heap_free keep their frame while the
 * instance runs: the debug allocator (mm/heap_debug.c) finds the code that
 * called heap_alloc/heap_free exactly one frame above the instance's own.
 * Emits no instruction.
 */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

#if MM_DEBUG
/* A returned block must honour alignment and size: anything else is an allocator bug. */
static void heap_debug_check_block(struct heap *h, void *p, size_t size, size_t align)
{
    size_t usable = h->ops->size(h, p);
    if ((uintptr_t)p % align != 0)
        mm_panic("heap_alloc: %s returned %p, not aligned to %zu", heap_name(h), p, align);
    if (usable < size)
        mm_panic("heap_alloc: %s returned %p with %zu usable bytes for %zu", heap_name(h), p,
                 usable, size);
}
#endif

/*
 * The common request, already in the form instances take: a size of 1 to
 * HEAP_MAX_REQUEST - HEAP_DEFAULT_ALIGN and the default alignment or less
 * (0 or a power of two).  Tested first, so malloc's call checks in one go.
 */
static inline int heap_request_plain(size_t size, size_t align)
{
    return align <= HEAP_DEFAULT_ALIGN && heap_align_valid(align) &&
           size - 1 < HEAP_MAX_REQUEST - HEAP_DEFAULT_ALIGN; /* 0 wraps: not plain */
}

void *heap_alloc(struct heap *h, size_t size, size_t align)
{
    if (heap_request_plain(size, align)) {
        align = HEAP_DEFAULT_ALIGN;
    } else {
        if (!heap_align_valid(align))
            return NULL; /* 3, 24, ...: not an alignment */
        if (align < HEAP_DEFAULT_ALIGN)
            align = HEAP_DEFAULT_ALIGN;
        if (size == 0)
            size = 1; /* a unique minimal block, so NULL only ever means failure */
        /* Written so that none of the comparisons can itself wrap. */
        if (align > HEAP_MAX_REQUEST || size > HEAP_MAX_REQUEST - align)
            return NULL;
    }
    void *p = h->ops->alloc(h, size, align);
    KEEP_FRAME();
#if MM_DEBUG
    if (p)
        heap_debug_check_block(h, p, size, align);
#endif
    return p;
}

void *heap_alloc_default(struct heap *h, size_t size)
{
    if (size - 1 >= HEAP_MAX_REQUEST - HEAP_DEFAULT_ALIGN) /* 0 wraps: the general path */
        return heap_alloc(h, size, 0);
    void *p = h->ops->alloc(h, size, HEAP_DEFAULT_ALIGN);
    KEEP_FRAME();
#if MM_DEBUG
    if (p)
        heap_debug_check_block(h, p, size, HEAP_DEFAULT_ALIGN);
#endif
    return p;
}

size_t heap_size(struct heap *h, const void *ptr)
{
    if (!ptr)
        return 0;
    return h->ops->size(h, ptr);
}

void heap_free(struct heap *h, void *ptr)
{
    if (!ptr)
        return;
    h->ops->free(h, ptr);
    KEEP_FRAME();
}

size_t heap_release(struct heap *h, void *ptr)
{
    if (!ptr)
        return 0;
    if (h->ops->release) {
        size_t n = h->ops->release(h, ptr);
        KEEP_FRAME();
        return n;
    }
    size_t n = h->ops->size(h, ptr); /* the two-lookup way, for instances without release */
    if (n)
        h->ops->free(h, ptr);
    KEEP_FRAME();
    return n;
}

int heap_resize(struct heap *h, void *ptr, size_t size)
{
    if (!ptr || size > HEAP_MAX_REQUEST)
        return -1;
    if (size == 0)
        size = 1;
    if (h->ops->resize)
        return h->ops->resize(h, ptr, size);
    /* Without a resize operation a block can only "resize" within what it already has. */
    size_t usable = h->ops->size(h, ptr);
    if (usable == 0) {
        mm_report("heap_resize: %p is not a live block of %s", ptr, heap_name(h));
        return -1;
    }
    return size <= usable ? 0 : -1;
}

int heap_check(struct heap *h)
{
    return h->ops->check ? h->ops->check(h) : 0;
}

void heap_stats(struct heap *h, struct heap_stats *st)
{
    *st = (struct heap_stats){0};
    if (h->ops->stats)
        h->ops->stats(h, st);
}

const char *heap_name(struct heap *h)
{
    return h->ops->name ? h->ops->name : "unnamed";
}

static uintptr_t secret_seed;

void heap_set_secret_seed(uintptr_t seed)
{
    secret_seed = seed;
}

/*
 * A multiply-xorshift mix of seed and address: every bit of both reaches
 * every bit of the result.
 */
uintptr_t heap_instance_secret(const void *instance)
{
    uint64_t x = (uint64_t)secret_seed ^ ((uint64_t)(uintptr_t)instance * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return (uintptr_t)x;
}
