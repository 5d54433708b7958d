/*
 * kernel/test/test_debug_alloc.c - the debug guard allocator (mm/heap_debug.c)
 * on the real machine: a region source in the kernel half, guard pages and
 * freed blocks that fault, and the page-fault report that explains them.
 *
 * Misuse that is a report (signature damage found at free, double, interior
 * and foreign frees) is checked by ordinary tests through the kernel port's
 * report counter; each touch that must fault is a KTEST_FAULT of its own,
 * expecting the explanation the debug heap adds to the fault report.
 */
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "kernel/pagefault.h"
#include "mm/heap_debug.h"
#include "mm/malloc.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

#define PAGE 4096u
#define WINDOW (1024u * 1024)
#define META (256u * 1024)

/* One debug heap on a lazily committed kernel region. */
struct dbg {
    struct vmm_region_source rs;
    struct heap *h;
};

static int dbg_open(struct dbg *d, unsigned flags)
{
    if (vmm_region_source_init(&d->rs, vmm_kernel_space(), WINDOW + META, 0) != 0)
        return -1;
    d->h = heap_debug_create_with(
        &d->rs.source, &(struct heap_debug_config){.window_bytes = WINDOW, .flags = flags});
    if (!d->h) {
        vmm_region_source_fini(&d->rs);
        return -1;
    }
    return 0;
}

static void dbg_close(struct dbg *d)
{
    heap_debug_destroy(d->h);
    vmm_region_source_fini(&d->rs);
}

/* Reports caused by freeing p; *kind must then start the last report's text. */
static int free_reported(struct heap *h, void *p, const char *kind)
{
    unsigned long before = mm_port_report_count();
    mm_port_expect_reports(1);
    heap_free(h, p);
    if (mm_port_report_count() != before + 1)
        return 0;
    const char *r = mm_port_last_report();
    return strncmp(r, "heap_debug: ", 12) == 0 && strncmp(r + 12, kind, strlen(kind)) == 0;
}

static int page_state(uintptr_t addr)
{
    struct vmm_region_info info;
    return vmm_query_region(vmm_kernel_space(), addr, &info) == 0 ? (int)info.state : -1;
}

KTEST(debug_alloc_guards_and_frames)
{
    size_t before = pmm_free_frames();
    struct dbg d;
    KT_ASSERT(dbg_open(&d, 0) == 0);
    size_t with_meta = pmm_free_frames();
    unsigned char *p = heap_alloc(d.h, 3 * PAGE, 0);
    KT_ASSERT(p);
    memset(p, 0x77, 3 * PAGE);
    KT_EQ(with_meta - pmm_free_frames(), 3);
    KT_EQ(page_state((uintptr_t)p), VMM_REGION_COMMITTED);
    KT_EQ(page_state((uintptr_t)p + 3 * PAGE), VMM_REGION_RESERVED); /* the guard above */
    KT_EQ(page_state((uintptr_t)p - 1), VMM_REGION_RESERVED);        /* the guard below */
    heap_free(d.h, p);
    KT_EQ(pmm_free_frames(), with_meta); /* frames back at once */
    KT_EQ(page_state((uintptr_t)p), VMM_REGION_RESERVED);
    unsigned char *q = heap_alloc(d.h, 3 * PAGE, 0);
    KT_ASSERT(q && q != p); /* not reused */
    heap_free(d.h, q);
    KT_EQ(heap_check(d.h), 0);
    dbg_close(&d);
    KT_EQ(pmm_free_frames(), before);
}

KTEST(debug_alloc_reports_each_misuse_by_kind)
{
    struct dbg d;
    KT_ASSERT(dbg_open(&d, 0) == 0);
    unsigned char *p = heap_alloc(d.h, 73, 0);
    KT_ASSERT(p);
    p[73] = 0; /* into the slack: no fault, found at free */
    KT_ASSERT(free_reported(d.h, p, "signature corrupted (overrun into slack)"));
    KT_ASSERT(free_reported(d.h, p, "double free"));
    unsigned char *q = heap_alloc(d.h, 40, 0);
    KT_ASSERT(free_reported(d.h, q + 8, "invalid free (interior pointer)"));
    static int foreign;
    KT_ASSERT(free_reported(d.h, &foreign, "invalid free (not from this heap)"));
    KT_EQ(heap_size(d.h, q), 40); /* the refused frees changed nothing */
    unsigned long before = mm_port_report_count();
    heap_free(d.h, q);
    KT_EQ(mm_port_report_count(), before);
    dbg_close(&d);
}

/* A block's size padded to the heap's alignment (8 on i686, 16 on x86-64): it ends at the guard. */
static size_t padded(size_t n)
{
    return (n + HEAP_DEFAULT_ALIGN - 1) / HEAP_DEFAULT_ALIGN * HEAP_DEFAULT_ALIGN;
}

KTEST(debug_alloc_realloc_moves_the_end_to_the_guard)
{
    struct dbg d;
    KT_ASSERT(dbg_open(&d, 0) == 0);
    unsigned char *p = mm_malloc(d.h, 24);
    memset(p, 0x3C, 24);
    unsigned char *q = mm_realloc(d.h, p, 200);
    KT_ASSERT(q && q != p && q[23] == 0x3C);
    KT_EQ(((uintptr_t)q + padded(200)) % PAGE, 0);
    unsigned char *r = mm_realloc(d.h, q, 8);
    KT_ASSERT(r && r[7] == 0x3C);
    KT_EQ(((uintptr_t)r + padded(8)) % PAGE, 0);
    mm_free(d.h, r);
    dbg_close(&d);
}

/* ------------------------------------------------------------ faults, one per boot */

static struct dbg fault_heap;

static int explain(uintptr_t addr, uint32_t error, char *buf, unsigned size)
{
    return heap_debug_explain_access(
        fault_heap.h, addr,
        (error & VMM_ACCESS_WRITE) ? HEAP_DEBUG_ACCESS_WRITE : HEAP_DEBUG_ACCESS_READ, buf, size);
}

/* A 64-byte block of a fresh debug heap with `flags`, its explainer registered. */
static volatile unsigned char *fault_block(unsigned flags)
{
    if (dbg_open(&fault_heap, flags) != 0)
        return NULL;
    pagefault_set_explainer(explain);
    volatile unsigned char *p = heap_alloc(fault_heap.h, 64, 0);
    kprintf("debug heap block at %p (64 bytes)\n", (void *)p);
    return p;
}

KTEST_FAULT(debug_alloc_write_one_past,
            "page fault (#14) in kernel mode|out-of-bounds write 1 byte past block|"
            "(64 bytes, allocated at 0x")
{
    volatile unsigned char *p = fault_block(0);
    p[64] = 1;
}

KTEST_FAULT(debug_alloc_read_one_past, "page fault (#14)|out-of-bounds read 1 byte past block")
{
    volatile unsigned char *p = fault_block(0);
    (void)p[64];
}

KTEST_FAULT(debug_alloc_write_one_before,
            "page fault (#14)|out-of-bounds write 1 byte before block")
{
    volatile unsigned char *p = fault_block(HEAP_DEBUG_LEFT);
    p[-1] = 1;
}

KTEST_FAULT(debug_alloc_read_one_before, "page fault (#14)|out-of-bounds read 1 byte before block")
{
    volatile unsigned char *p = fault_block(HEAP_DEBUG_LEFT);
    (void)p[-1];
}

KTEST_FAULT(debug_alloc_read_after_free,
            "page fault (#14)|use-after-free read at offset 0 of freed block|freed at 0x")
{
    volatile unsigned char *p = fault_block(0);
    heap_free(fault_heap.h, (void *)p);
    (void)p[0];
}

KTEST_FAULT(debug_alloc_write_after_free,
            "page fault (#14)|use-after-free write at offset 16 of freed block|freed at 0x")
{
    volatile unsigned char *p = fault_block(0);
    heap_free(fault_heap.h, (void *)p);
    p[16] = 1;
}
