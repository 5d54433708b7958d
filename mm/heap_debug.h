/*
 * mm/heap_debug.h - the debug guard allocator: an instance of the common
 * allocator API (mm/heap.h) for finding memory bugs, not for speed.
 *
 * Every block lives on pages of its own, with a page that faults on either
 * side of it; the block sits against the right page edge (an overrun faults
 * at the first byte past the end, as far as the alignment allows) or, with
 * HEAP_DEBUG_LEFT, against the left edge (an underrun faults at the first
 * byte before it).  The bytes between the block and the page edges (the
 * alignment slack) hold a signature that is verified at free, so that an
 * overrun too small to reach the guard is still caught.  A freed block's
 * pages lose their frames at once and fault when touched; its address range
 * is not handed out again until the allocation cursor has gone once round
 * the whole window.
 *
 * Misuse is reported through mm_report, naming the kind of bug:
 *   "double free", "invalid free (interior pointer)",
 *   "invalid free (not from this heap)", "signature corrupted (overrun into slack)"
 * with the block's address, size and the code that allocated (and freed) it.
 * A fault inside the window is explained by heap_debug_explain (the kernel's
 * page-fault report calls it): "out-of-bounds write 1 byte past block ...",
 * "use-after-free read at offset 8 of block ...".
 *
 * What the source must provide: grow (the metadata and the window, taken
 * once at creation), activate and deactivate, and a deactivate that leaves
 * the pages inaccessible - the guard pages and freed blocks are simply
 * deactivated pages.  The kernel's vmm_region_source does that (decommit
 * returns pages to RESERVED); hosted, source_linux with SOURCE_LINUX_STRICT.
 *
 * Call sites are recorded by following the frame-pointer chain (every build
 * of mm/ keeps frame pointers): the return addresses above heap_alloc /
 * heap_free, innermost first.
 *
 * Locking: every operation takes the source's lock; heap_debug_explain does
 * not (it is called from fault handlers and only reads).
 */
#ifndef MM_HEAP_DEBUG_H
#define MM_HEAP_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"

/* Flags of struct heap_debug_config. */
#define HEAP_DEBUG_LEFT 0x1u /* blocks against the left page edge: underruns fault */

/* Return addresses recorded per allocation and per free. */
#define HEAP_DEBUG_TRACE 4

/* heap_debug_explain_access `access` values */
#define HEAP_DEBUG_ACCESS_UNKNOWN 0u
#define HEAP_DEBUG_ACCESS_READ 1u
#define HEAP_DEBUG_ACCESS_WRITE 2u

/* Options of heap_debug_create_with; a zeroed struct means the defaults. */
struct heap_debug_config {
    size_t window_bytes; /* address space for blocks, a multiple of the page size (0: 16 MiB) */
    unsigned flags;      /* HEAP_DEBUG_* */
};

/*
 * Create a debug heap on src whose blocks come from a window of
 * cfg->window_bytes of address space (cfg NULL: the defaults).
 * The window is taken from src->grow at once (page by page deactivated, so
 * it costs address space, not frames) together with the metadata: 4 bytes
 * per window page plus one record per possible block (about 24 bytes per
 * window page on i386).  Returns NULL when src lacks grow/activate/
 * deactivate or cannot provide the memory.  Blocks larger than the window
 * (minus its guards) are refused with NULL.
 */
struct heap *heap_debug_create_with(struct heap_source *src, const struct heap_debug_config *cfg);

/* The same with the defaults: a 16 MiB window, blocks against the right edge. */
struct heap *heap_debug_create(struct heap_source *src);

/* 1 if addr lies in h's window (a block, a guard, a freed range), else 0. */
int heap_debug_owns_address(struct heap *h, uintptr_t addr);

/*
 * Explain a faulting address: write one line into buf (n bytes, always
 * terminated when n > 0) and return 1, or return 0 when addr is not near
 * anything h knows (outside its window, or in a range whose block's record
 * has been recycled).  access: HEAP_DEBUG_ACCESS_*.  Examples:
 *   "out-of-bounds write 1 byte past block 0x... (64 bytes, allocated at 0x...)"
 *   "out-of-bounds read 1 byte before block 0x... (64 bytes, allocated at 0x...)"
 *   "use-after-free write at offset 8 of block 0x... (64 bytes, allocated at 0x..., freed at
 * 0x...)" Reads h without its lock: call it while no other context is operating on h.
 */
int heap_debug_explain_access(struct heap *h, uintptr_t addr, unsigned access, char *buf, size_t n);

/* heap_debug_explain_access with the access unknown ("access"). */
int heap_debug_explain(struct heap *h, uintptr_t addr, char *buf, size_t n);

/* What h knows about the block covering addr (live, or freed and still remembered). */
struct heap_debug_block {
    uintptr_t address;                       /* first byte handed out */
    size_t size;                             /* bytes requested */
    int live;                                /* 1 live, 0 freed */
    uintptr_t alloc_trace[HEAP_DEBUG_TRACE]; /* innermost first; 0 = unknown */
    uintptr_t free_trace[HEAP_DEBUG_TRACE];  /* all 0 while live */
};

/* Fill *out for the block whose pages (guards included) hold addr: 1, or 0 if none. */
int heap_debug_lookup(struct heap *h, uintptr_t addr, struct heap_debug_block *out);

/*
 * Give every block's frames back and forget them; the window and metadata
 * stay with the source (a grow-style source has no way to take them back).
 * h must not be used afterwards.
 */
void heap_debug_destroy(struct heap *h);

#endif /* MM_HEAP_DEBUG_H */
