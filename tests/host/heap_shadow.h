/*
 * tests/host/heap_shadow.h - a shadow model that drives ANY struct heap *
 * and checks everything the common API promises (mm/heap.h, mm/malloc.h).
 *
 * The shadow keeps its own record of every live block (address, requested
 * size, usable size, alignment, a random tag) in a table plus a treap sorted
 * by address.  Each operation is checked against it:
 *
 *   alloc/calloc  result aligned to max(align, HEAP_DEFAULT_ALIGN);
 *                 heap_size >= request; the usable range [p, p + usable)
 *                 overlaps no other live block (predecessor/successor in
 *                 the treap); calloc memory reads as zero; the block is
 *                 then tag-filled (fully up to 1 KiB, sampled beyond).
 *   free          the tag is intact (nobody wrote into a live block).
 *   realloc       (mm_realloc) the prefix min(old, new) is kept; on
 *                 failure the old block is untouched and still live.
 *   probes        heap_size of an interior or misaligned pointer, of a stack
 *                 and of a global address is 0; heap_free of those and a
 *                 double free are reported (mm_report) exactly once and
 *                 change nothing.
 *   checkpoints   heap_check() == 0; every live tag verified; when the
 *                 instance has stats: bytes_in_use == sum of usable sizes,
 *                 live_blocks == number of live blocks.
 *   close         free everything; the heap's bytes_held and
 *                 bytes_committed are back to what they were at open (plus
 *                 an allowed slack), bytes_in_use and live_blocks are 0.
 *
 * Two ways to use it:
 *   - heap_shadow_stress(h, cfg, out): a randomized run (for unit tests);
 *   - open / alloc / free / realloc / probe / checkpoint / close: one step at
 *     a time (for fuzz targets, which choose the steps from their input).
 *
 * Errors never abort: they are counted, and the first one is kept as a
 * message ("what: details").  Hosted only (uses libc malloc for the model
 * and mm/host/port_linux.h to count reports; reports it provokes on purpose
 * are counted, not printed).
 */
#ifndef TESTS_HOST_HEAP_SHADOW_H
#define TESTS_HOST_HEAP_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"

struct heap_shadow; /* opaque */

/* ----------------------------------------------------------- step API */

/* Start shadowing h (which should be empty) with room for max_live blocks. NULL if out of memory.
 */
struct heap_shadow *heap_shadow_open(struct heap *h, size_t max_live);

/*
 * heap_alloc(h, size, align) (or mm_calloc when zeroed) and record the block.
 * Returns 1 if a block was recorded, 0 if the heap returned NULL (not an
 * error by itself) or the table is full.
 */
int heap_shadow_alloc(struct heap_shadow *s, size_t size, size_t align, int zeroed);

/*
 * Verify and free the live block number `which` (taken modulo the live
 * count; no-op when none is live).  double_free: free it a second time and
 * require exactly one report.
 */
void heap_shadow_free(struct heap_shadow *s, size_t which, int double_free);

/* mm_realloc the live block `which` (modulo) to size; verifies prefix / untouched-on-failure. */
void heap_shadow_realloc(struct heap_shadow *s, size_t which, size_t size);

/*
 * Probe the API with pointers the heap must refuse, chosen by `kind`
 * (modulo the number of kinds): interior/misaligned pointers of the live
 * block `which`, a stack and a global address; half the kinds call
 * heap_free on them and require one report with nothing changed.
 */
void heap_shadow_probe(struct heap_shadow *s, size_t which, unsigned kind);

/* heap_check() == 0, every live tag intact, stats agree with the model. */
void heap_shadow_checkpoint(struct heap_shadow *s);

/* Number of live blocks the model holds. */
size_t heap_shadow_live(const struct heap_shadow *s);

/* Errors so far, and the first one as text ("" when none). */
unsigned long heap_shadow_errors(const struct heap_shadow *s);
const char *heap_shadow_message(const struct heap_shadow *s);

/*
 * Free every live block (verifying each), run a last checkpoint, compare
 * the footprint with the one at open (bytes_held and bytes_committed may
 * exceed it by at most footprint_slack), release the model.  Returns the
 * total number of errors; if msg is not NULL the first message is copied
 * there (msg_size bytes).
 */
unsigned long heap_shadow_close(struct heap_shadow *s, size_t footprint_slack, char *msg,
                                size_t msg_size);

/*
 * Reports the shadow provokes on purpose are never printed; others are
 * printed unless this is called with 0 (use it instead of
 * mm_host_print_reports while a shadow is running, so the setting sticks).
 */
void heap_shadow_print_reports(int on);

/* ----------------------------------------------------------- randomized stress */

struct heap_shadow_config {
    unsigned long ops;         /* operations (default 200000; see heap_shadow_env_ops) */
    size_t max_live;           /* live blocks at most (default 4000) */
    size_t min_size, max_size; /* request sizes (default 0 .. 4096) */
    int log_sizes;             /* 1: log-uniform (many small, some large); 0: uniform (default 1) */
    size_t max_align;   /* 0: default alignment only; else powers of two 1..max_align (default 0) */
    unsigned align_pct; /* % of allocations that ask for an alignment (default 25) */
    unsigned realloc_pct;      /* % of operations that realloc (default 10) */
    unsigned calloc_pct;       /* % of allocations done with calloc (default 5) */
    unsigned probe_pct;        /* % of operations that probe bad pointers (default 2) */
    unsigned double_free_pct;  /* % of frees followed by a double free (default 1) */
    unsigned long check_every; /* checkpoint every N ops; 0: at the halfway mark only (default 0) */
    size_t footprint_slack;    /* see heap_shadow_close (default 0) */
    int allow_failures;        /* 1: alloc returning NULL is fine (finite sources) (default 0) */
    uint64_t seed;             /* default: a fixed constant; tests pass harness_rand() */
};

/* Fill cfg with the defaults above. */
void heap_shadow_config_default(struct heap_shadow_config *cfg);

/* HEAP_STRESS_OPS from the environment when set, else dflt. */
unsigned long heap_shadow_env_ops(unsigned long dflt);

/* Outcome of a stress run. */
struct heap_shadow_result {
    unsigned long allocs, frees, reallocs, failed_allocs, probes;
    size_t peak_live;     /* most blocks live at once */
    size_t peak_bytes;    /* most usable bytes live at once */
    unsigned long errors; /* 0 = the heap behaved */
    char message[256];    /* first error */
};

/*
 * Run cfg->ops random operations on h (empty at entry, empty again at
 * return), alternating fill and drain phases so the heap grows and shrinks.
 * Returns the number of errors (also in out->errors).
 */
unsigned long heap_shadow_stress(struct heap *h, const struct heap_shadow_config *cfg,
                                 struct heap_shadow_result *out);

#endif /* TESTS_HOST_HEAP_SHADOW_H */
