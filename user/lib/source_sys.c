/*
 * user/lib/source_sys.c - the process heap's struct heap_source, made of
 * system calls (see user/include/uheap.h for what each callback does).
 *
 * How it works: grow and shrink move the process break with sbrk.  The
 * break is shared with anything else in the program that calls sbrk, so
 * grow first rounds the break up to a page (the allocator is promised
 * page-aligned memory) and remembers where it left the break (`top`);
 * shrink gives bytes back only if the break is still there, since otherwise
 * the top of the break area is not the heap's to give.  map/unmap and
 * activate/deactivate are the region calls, one each.
 *
 * Invariants: top is 0 or page aligned; grown counts the bytes grow handed
 * out minus those shrink took back; mapped the bytes of live maps.
 * One thread per process: no lock.
 */
#include "mm/port.h"
#include "sys.h"
#include "uheap.h"

#include <stdint.h>

#define PAGE MM_PAGE_SIZE

struct source_sys {
    struct heap_source src; /* first: the allocator's struct heap_source * is this struct */
    uintptr_t top;          /* the break after the last grow (0: none yet) */
    struct uheap_source_stats st;
};
_Static_assert(offsetof(struct source_sys, src) == 0, "the source is the struct");

static struct source_sys sys_source;

static struct source_sys *to_sys(struct heap_source *src)
{
    return (struct source_sys *)src;
}

static uintptr_t page_up(uintptr_t a)
{
    return (a + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
}

static int size_ok(size_t bytes, const char *who)
{
    if (bytes != 0 && bytes % PAGE == 0 && bytes <= INTPTR_MAX)
        return 1;
    mm_report("source_sys %s: %zu is not a positive multiple of the page size", who, bytes);
    return 0;
}

/* ---------------------------------------------------------------- callbacks */

static void *sys_grow(struct heap_source *src, size_t bytes)
{
    struct source_sys *s = to_sys(src);
    s->st.grow_calls++;
    long cur = sys_sbrk(0);
    if (!size_ok(bytes, "grow") || sys_failed(cur))
        goto fail;
    uintptr_t start = page_up((uintptr_t)cur);
    size_t pad = start - (uintptr_t)cur;
    /* the increment is signed: a size that does not fit must not turn into a shrink */
    if (bytes > (size_t)INTPTR_MAX - pad || sys_failed(sys_sbrk((intptr_t)(pad + bytes))))
        goto fail;
    s->top = start + bytes;
    s->st.grown += bytes;
    return (void *)start;
fail:
    s->st.failed_calls++;
    return NULL;
}

static int sys_shrink(struct heap_source *src, size_t bytes)
{
    struct source_sys *s = to_sys(src);
    s->st.shrink_calls++;
    if (!size_ok(bytes, "shrink") || bytes > s->st.grown) {
        s->st.failed_calls++;
        return -1;
    }
    if ((uintptr_t)sys_sbrk(0) != s->top || sys_failed(sys_sbrk(-(intptr_t)bytes))) {
        s->st.failed_calls++; /* someone else moved the break: the top is not ours */
        return -1;
    }
    s->top -= bytes;
    s->st.grown -= bytes;
    return 0;
}

static void *sys_map(struct heap_source *src, size_t bytes)
{
    struct source_sys *s = to_sys(src);
    s->st.map_calls++;
    long r =
        size_ok(bytes, "map") ? sys_reserve(0, bytes, SYS_PROT_RW, SYS_RESERVE_COMMIT) : -EINVAL;
    if (sys_failed(r)) {
        s->st.failed_calls++;
        return NULL;
    }
    s->st.mapped += bytes;
    return (void *)(uintptr_t)r;
}

static void sys_unmap(struct heap_source *src, void *ptr, size_t bytes)
{
    struct source_sys *s = to_sys(src);
    s->st.unmap_calls++;
    long r = sys_release((uintptr_t)ptr, bytes);
    if (sys_failed(r)) {
        mm_report("source_sys unmap: release(%p, %zu) failed with %ld", ptr, bytes, r);
        return;
    }
    s->st.mapped -= bytes;
}

static int sys_activate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct source_sys *s = to_sys(src);
    s->st.activate_calls++;
    if (sys_failed(sys_commit((uintptr_t)ptr, bytes, 0))) {
        s->st.failed_calls++;
        return -1;
    }
    return 0;
}

static void sys_deactivate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct source_sys *s = to_sys(src);
    s->st.deactivate_calls++;
    long r = sys_decommit((uintptr_t)ptr, bytes, 0);
    if (sys_failed(r))
        mm_report("source_sys deactivate: decommit(%p, %zu) failed with %ld", ptr, bytes, r);
}

/* ---------------------------------------------------------------- public */

struct heap_source *uheap_source(void)
{
    struct heap_source *src = &sys_source.src;
    if (src->grow)
        return src;
    const volatile struct user_info *info = user_info();
    src->grow = sys_grow;
    src->shrink = sys_shrink;
    src->map = sys_map;
    src->unmap = sys_unmap;
    src->activate = sys_activate;
    src->deactivate = sys_deactivate;
    src->page_size = PAGE;
    src->ctx = &sys_source;
    src->grow_limit = info->brk_limit - info->brk_start;
    return src;
}

void uheap_source_stats(struct uheap_source_stats *st)
{
    *st = sys_source.st;
}
