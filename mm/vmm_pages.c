/*
 * mm/vmm_pages.c - the kernel page allocator (like vmalloc), kernel stacks,
 * and the VMM as a source for the allocator layer.
 *
 * How it works.  A block of n pages is one reservation of n + 2 pages in the
 * kernel region area: a GUARD piece, the body, a GUARD piece.  The body is
 * committed (eagerly by default: kernel code must not depend on a fault to
 * succeed) with frames from anywhere in physical memory.  An overrun of
 * either end touches a guard page and faults at once (VMM_FAULT_GUARD).
 *
 * A block is found again by its first byte: the piece containing it carries
 * VMM_REGION_PAGES (or VMM_REGION_KSTACK) and its reservation starts one
 * guard page below it.  Freeing releases the body; the guards go with it as
 * orphans (mm/vmm_region.c).  No side table: the region tree is the record.
 *
 * Kernel stacks are blocks whose user keeps the top; the guard below the
 * stack catches an overflow (the page-fault handler must then run on another
 * stack: the kernel's double-fault task).
 *
 * Sources (mm/heap.h): vmm_pages_source hands out whole blocks;
 * vmm_region_source is a brk-style region (one reservation, committed upward
 * by grow) for a heap instance.
 *
 * Locking: each function takes the VMM lock itself; sources need no lock of
 * their own.
 */
#include "mm/vmm_internal.h"

#include <string.h>

#define PAGE ((uintptr_t)MM_PAGE_SIZE)
#define MAX_BLOCK_PAGES ((VMM_KREGION_END - VMM_KREGION_START) / MM_PAGE_SIZE)

/* ------------------------------------------------------------------ blocks */

/* Reserve a guarded block of `pages` and commit its body.  0 on failure. */
static uintptr_t block_alloc(size_t pages, unsigned commit_flags, unsigned kind)
{
    struct vmm_space *k = &vmm_g.kernel;
    const unsigned guards = VMM_RESERVE_GUARD_LOW | VMM_RESERVE_GUARD_HIGH;
    uintptr_t addr = 0;

    if (pages == 0 || pages > MAX_BLOCK_PAGES || !vmm_g.ready)
        return 0;
    vmm_lock();
    int rc = vmm_reserve_locked(k, &addr, pages * PAGE, VMM_PROT_RW, guards, kind);
    if (rc == VMM_OK) {
        rc = vmm_commit_locked(k, addr, pages * PAGE, commit_flags);
        if (rc != VMM_OK)
            vmm_release_locked(k, addr, pages * PAGE); /* the guards go with it */
    }
    vmm_unlock();
    return rc == VMM_OK ? addr : 0;
}

/* The piece holding the first page of a live block of this kind at addr, or NULL. */
static struct vmm_region *block_find(uintptr_t addr, unsigned kind)
{
    struct vmm_region *r;

    if (addr & (PAGE - 1))
        return NULL;
    r = vmm_region_find(&vmm_g.kernel, addr);
    if (!r || !(r->flags & kind) || r->state == VMM_REGION_GUARD || addr != r->base + PAGE)
        return NULL;
    return r;
}

/* End of the block whose first piece is r: where its upper guard starts. */
static uintptr_t block_end(struct vmm_region *r)
{
    uintptr_t end = region_end(r);

    for (struct vmm_tree_node *n = vmm_tree_next(&r->node); n; n = vmm_tree_next(n)) {
        struct vmm_region *p = region_of(n);
        if (region_start(p) != end || p->base != r->base || p->state == VMM_REGION_GUARD)
            break;
        end = region_end(p);
    }
    return end;
}

void *vmm_pages_alloc(size_t pages, unsigned flags)
{
    if (flags & ~VMM_PAGES_LAZY)
        return NULL;
    /* "lazy" still means eager under OVERCOMMIT: a kernel fault must not fail */
    unsigned commit = (flags & VMM_PAGES_LAZY) ? VMM_COMMIT_AUTO : VMM_COMMIT_EAGER;
    return (void *)block_alloc(pages, commit, VMM_REGION_PAGES);
}

void vmm_pages_free(void *ptr)
{
    uintptr_t addr = (uintptr_t)ptr;

    if (!ptr)
        return;
    vmm_lock();
    struct vmm_region *r = block_find(addr, VMM_REGION_PAGES);
    if (r)
        vmm_release_locked(&vmm_g.kernel, addr, block_end(r) - addr);
    vmm_unlock();
    if (!r)
        mm_report("vmm_pages_free: %p is not a live page-allocator block", ptr);
}

size_t vmm_pages_size(const void *ptr)
{
    uintptr_t addr = (uintptr_t)ptr;
    size_t size = 0;

    vmm_lock();
    struct vmm_region *r = vmm_g.ready ? block_find(addr, VMM_REGION_PAGES) : NULL;
    if (r)
        size = block_end(r) - addr;
    vmm_unlock();
    return size;
}

/* ------------------------------------------------------------------ kernel stacks */

void *vmm_kstack_alloc(size_t pages)
{
    uintptr_t base = block_alloc(pages, VMM_COMMIT_EAGER, VMM_REGION_KSTACK);

    return base ? (void *)(base + pages * PAGE) : NULL;
}

void vmm_kstack_free(void *top)
{
    uintptr_t end = (uintptr_t)top;
    bool ok = false;

    vmm_lock();
    /* the page below top is the stack's last page; its block must end exactly at top */
    struct vmm_region *last = end > PAGE ? vmm_region_find(&vmm_g.kernel, end - PAGE) : NULL;
    if (last && (last->flags & VMM_REGION_KSTACK) && last->state != VMM_REGION_GUARD) {
        struct vmm_region *first = block_find(last->base + PAGE, VMM_REGION_KSTACK);
        if (first && block_end(first) == end) {
            vmm_release_locked(&vmm_g.kernel, last->base + PAGE, end - (last->base + PAGE));
            ok = true;
        }
    }
    vmm_unlock();
    if (!ok)
        mm_report("vmm_kstack_free: %p is not the top of a live kernel stack", top);
}

/* ------------------------------------------------------------------ the page-allocator source */

static void *pages_map(struct heap_source *src, size_t bytes)
{
    (void)src;
    if (bytes == 0 || (bytes & (PAGE - 1)))
        return NULL;
    return vmm_pages_alloc(bytes / PAGE, 0);
}

static void pages_unmap(struct heap_source *src, void *ptr, size_t bytes)
{
    (void)src;
    size_t size = vmm_pages_size(ptr);
    if (size != bytes) {
        mm_report("vmm_pages_source: unmap(%p, %zu) but the block has %zu bytes", ptr, bytes, size);
        return;
    }
    vmm_pages_free(ptr);
}

static int pages_activate(struct heap_source *src, void *ptr, size_t bytes)
{
    (void)src;
    return vmm_commit(&vmm_g.kernel, (uintptr_t)ptr, bytes, VMM_COMMIT_AUTO) == VMM_OK ? 0 : -1;
}

static void pages_deactivate(struct heap_source *src, void *ptr, size_t bytes)
{
    (void)src;
    if (vmm_decommit(&vmm_g.kernel, (uintptr_t)ptr, bytes, 0) != VMM_OK)
        mm_report("vmm_pages_source: deactivate(%p, %zu) outside a block", ptr, bytes);
}

static struct heap_source pages_source = {
    .grow = pages_map, /* every grow is a separate block: allocators cope (mm/heap.h) */
    .map = pages_map,
    .unmap = pages_unmap,
    .activate = pages_activate,
    .deactivate = pages_deactivate,
    .page_size = MM_PAGE_SIZE,
};

struct heap_source *vmm_pages_source(void)
{
    return &pages_source;
}

/* ------------------------------------------------------------------ the region source */

static struct vmm_region_source *rs_of(struct heap_source *src)
{
    return (struct vmm_region_source *)src->ctx;
}

/* Is [ptr, ptr + bytes) a page-aligned range below the source's break? */
static bool rs_inside(const struct vmm_region_source *rs, const void *ptr, size_t bytes)
{
    uintptr_t a = (uintptr_t)ptr;
    return bytes && !((a | bytes) & (PAGE - 1)) && a >= rs->base && a <= rs->brk &&
           bytes <= rs->brk - a;
}

static void *rs_grow(struct heap_source *src, size_t bytes)
{
    struct vmm_region_source *rs = rs_of(src);

    if (bytes == 0 || (bytes & (PAGE - 1)) || bytes > rs->limit - rs->brk)
        return NULL;
    if (vmm_commit(rs->space, rs->brk, bytes, rs->commit_flags) != VMM_OK)
        return NULL;
    uintptr_t old = rs->brk;
    rs->brk += bytes;
    return (void *)old;
}

static int rs_shrink(struct heap_source *src, size_t bytes)
{
    struct vmm_region_source *rs = rs_of(src);

    if (bytes == 0 || (bytes & (PAGE - 1)) || bytes > rs->brk - rs->base)
        return -1;
    if (vmm_decommit(rs->space, rs->brk - bytes, bytes, 0) != VMM_OK)
        return -1;
    rs->brk -= bytes;
    return 0;
}

static int rs_activate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct vmm_region_source *rs = rs_of(src);

    if (!rs_inside(rs, ptr, bytes))
        return -1;
    return vmm_commit(rs->space, (uintptr_t)ptr, bytes, rs->commit_flags) == VMM_OK ? 0 : -1;
}

static void rs_deactivate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct vmm_region_source *rs = rs_of(src);

    if (!rs_inside(rs, ptr, bytes) || vmm_decommit(rs->space, (uintptr_t)ptr, bytes, 0) != VMM_OK)
        mm_report("vmm_region_source: deactivate(%p, %zu) outside the region", ptr, bytes);
}

int vmm_region_source_init(struct vmm_region_source *rs, struct vmm_space *space, size_t max_bytes,
                           unsigned commit_flags)
{
    const unsigned guards = VMM_RESERVE_GUARD_LOW | VMM_RESERVE_GUARD_HIGH;
    uintptr_t addr = 0;

    memset(rs, 0, sizeof *rs);
    if (!space || (commit_flags & ~(VMM_COMMIT_EAGER | VMM_COMMIT_AUTO)))
        return VMM_EINVAL;
    int rc = vmm_reserve(space, &addr, max_bytes, VMM_PROT_RW, guards);
    if (rc != VMM_OK)
        return rc;
    rs->space = space;
    rs->base = rs->brk = addr;
    rs->limit = addr + max_bytes;
    rs->commit_flags = commit_flags;
    rs->source.grow = rs_grow;
    rs->source.shrink = rs_shrink;
    rs->source.activate = rs_activate;
    rs->source.deactivate = rs_deactivate;
    if (space->is_kernel) { /* separate large blocks come from the page allocator */
        rs->source.map = pages_map;
        rs->source.unmap = pages_unmap;
    }
    rs->source.page_size = MM_PAGE_SIZE;
    rs->source.ctx = rs;
    return VMM_OK;
}

void vmm_region_source_fini(struct vmm_region_source *rs)
{
    if (!rs->space)
        return;
    if (vmm_release(rs->space, rs->base, rs->limit - rs->base) != VMM_OK)
        mm_report("vmm_region_source_fini: region at 0x%lx already gone", (unsigned long)rs->base);
    memset(rs, 0, sizeof *rs);
}
