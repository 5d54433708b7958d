/*
 * tests/bench/bench_heap.c - one allocator benchmark run: a named workload
 * over a named allocator, one result line on stdout.
 *
 *   bench_heap WORKLOAD ALLOCATOR [LABEL]
 *   bench_heap list                         workloads and allocators, one per line
 *
 * Allocators: ours (general, slab, composite) run through the malloc family
 * of mm/malloc.h over an instance created on the hosted Linux source
 * (mm/host/source_linux.h); `libc` runs the very same workload code through
 * the C library's malloc/free/realloc/aligned_alloc, so a peer (jemalloc,
 * mimalloc, tcmalloc) is measured by starting this program with LD_PRELOAD
 * of its shared library, and glibc by starting it without.  LABEL names the
 * allocator in the output (default: the allocator's name); for libc the
 * allocator actually serving malloc is detected and printed (impl=) so that
 * a preload that did not take effect is visible.  scripts/bench_heap.sh runs
 * every pair, several times, and makes the tables and plots.
 *
 * Workloads (each a deterministic random sequence, the same for every allocator):
 *   churn-1k/16k/256k  a working set of N live objects of 16..128 B; each step
 *                      frees a random one and allocates a new one in its place
 *   churn-1k-in-256k   the same over 1K objects, in a heap filled with 256K and
 *                      then half emptied at random (heap size without working set)
 *   mixed              8 B..256 KiB (mostly small), lifetimes short (1..32
 *                      steps), medium (256..4096) and long (32K..128K)
 *   realloc            64 buffers grown by realloc, half by appends of
 *                      16..512 B, half by 1.5x, each up to 256 B..256 KiB,
 *                      then freed and started again
 *   aligned            a working set of 4096 objects of 16..2048 B, each
 *                      aligned to a random power of two from 16 to 4096
 * Every block is touched (first and last byte and one byte per page) when it
 * is allocated or grown, as a program would.
 *
 * How it measures.  After setting up (instance, bookkeeping arrays mapped
 * and touched, working set filled) the workload runs two passes of the same
 * number of steps:
 *   1. throughput: no instrumentation; calls (malloc, free, realloc,
 *      aligned_alloc each count one) per second of wall time, workload code
 *      included (it is the same for everybody);
 *   2. latency: every call timed alone with the TSC (rdtsc, converted to ns
 *      by a calibration against CLOCK_MONOTONIC over the pass) into a
 *      histogram; the timer's own cost (median of empty timings) is
 *      subtracted; p50, p99, p99.9, p99.99 and max are reported.  The
 *      TSC of this machine ticks in steps of about 10 ns: so does every figure.
 * Footprint, in two ways:
 *   - peak_rss: the process's peak resident set (VmHWM, reset through
 *     /proc/self/clear_refs after setup) minus its resident set at that
 *     moment; the same measure for every allocator (the only one peers
 *     allow).  The bookkeeping lives in mmap'd, pre-touched memory, never in
 *     the allocator under test, so it is part of the baseline;
 *   - peak_src (ours only): the most memory the source had committed plus
 *     mapped, sampled after every call of pass 2 and every 256 calls of
 *     pass 1 and of setup.
 * peak_live is the most bytes the workload itself had asked for and not yet
 * freed (requested sizes, not usable sizes).  Diagnostics: src_calls, the
 * calls our source served during both passes (grow, shrink, map, unmap,
 * activate, deactivate: each a system call), and moves, the realloc calls
 * that returned a new address (both passes); for ours, after pass 2, the
 * bytes the workload had live, the instance's heap_stats (bytes in use =
 * usable sizes, held, committed) and heap_check's count of violations
 * (anything but 0 fails the run).
 *
 * Output, one line of key=value fields:
 *   heap-bench workload=W alloc=A status=ok impl=I calls=N secs=S ops_per_s=R
 *     p50_ns= p99_ns= p999_ns= p9999_ns= max_ns= timer_ns= lat_calls= peak_live=
 *     peak_rss= peak_src= foot=rss src_calls= moves= end_live= end_in_use=
 *     end_held= end_committed= check=
 * or status=unsupported (the allocator cannot serve the workload's sizes or
 * alignments: the slab set stops at 4096 B) or status=failed reason="..."
 * (NULL from an allocator, a misaligned block; exit status 1).
 * BENCH_SCALE (a positive number, default 1) multiplies the steps of each pass;
 * BENCH_SEED (a number) picks another sequence of requests.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* dlsym(RTLD_DEFAULT) */
#endif
#include "mm/heap.h"
#include "mm/heap_composite.h"
#include "mm/heap_general.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"
#include "mm/slab.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define PAGE 4096u
#define KiB ((size_t)1024)
#define SEED 0x5eed5eedu /* every allocator sees the same sequence of requests */

/* ------------------------------------------------------------------ helpers */

/* What is being run, for the result line of a run that fails. */
static const char *run_workload = "?", *run_label = "?";

/* Give up: a failed result line on stdout (so the tables show why), the reason on stderr too. */
static void die(const char *what)
{
    printf("heap-bench workload=%s alloc=%s status=failed reason=\"%s\"\n", run_workload, run_label,
           what);
    fprintf(stderr, "bench_heap: %s %s: %s\n", run_workload, run_label, what);
    exit(1);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The timer used around single calls: TSC ticks (or ns where there is no TSC). */
static inline uint64_t tick(void)
{
#if HAVE_TSC
    return __rdtsc();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/*
 * Bookkeeping memory: mmap'd (never from the allocator under test) and
 * touched now, so that it is resident before the footprint baseline.
 */
static void *bench_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap for bookkeeping failed");
    memset(p, 0, bytes);
    return p;
}

/* splitmix64: small, fast, and the same sequence on every run. */
struct rng {
    uint64_t state;
};

static inline uint64_t rng_next(struct rng *g)
{
    uint64_t z = (g->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (the modulo bias is irrelevant here). */
static inline size_t rng_range(struct rng *g, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(g) % (hi - lo + 1));
}

/* Write the first and last byte of [p, p+n) and one byte per page between, as a user would. */
static inline void touch(void *p, size_t n)
{
    volatile unsigned char *b = p;
    for (size_t off = 0; off < n; off += PAGE)
        b[off] = (unsigned char)off;
    b[n - 1] = 1;
}

/* ------------------------------------------------------------------ footprint */

/* Read a small /proc file into buf (no stdio: it would allocate from the allocator under test). */
static void read_proc(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

/* Resident bytes now (/proc/self/statm, second field). */
static size_t rss_now(void)
{
    char buf[256];
    read_proc("/proc/self/statm", buf, sizeof buf);
    char *p = strchr(buf, ' ');
    return p ? (size_t)strtoull(p + 1, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Peak resident bytes since the last rss_peak_reset (VmHWM in /proc/self/status). */
static size_t rss_peak(void)
{
    char buf[4096];
    read_proc("/proc/self/status", buf, sizeof buf);
    char *p = strstr(buf, "VmHWM:");
    return p ? (size_t)strtoull(p + 6, NULL, 10) * KiB : 0;
}

/* Make the peak start again from the current resident set. 0 on success. */
static int rss_peak_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    int ok = fd >= 0 && write(fd, "5", 1) == 1;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ latency histogram */

/*
 * One bin per tick below LAT_EXACT (~27 us at 2.4 GHz), the rare longer
 * calls kept individually (up to LAT_SLOW of them; beyond that only their
 * count and the maximum are kept, and the percentiles above them are
 * reported as the largest kept value).
 */
#define LAT_EXACT (1u << 16)
#define LAT_SLOW (1u << 16)

struct latency {
    uint32_t *bins; /* LAT_EXACT counters */
    uint64_t *slow; /* values >= LAT_EXACT, unsorted */
    size_t nslow, count;
    uint64_t max;
};

static void latency_init(struct latency *l)
{
    l->bins = bench_map(LAT_EXACT * sizeof *l->bins);
    l->slow = bench_map(LAT_SLOW * sizeof *l->slow);
    l->nslow = l->count = 0;
    l->max = 0;
}

static inline void latency_add(struct latency *l, uint64_t ticks)
{
    l->count++;
    if (ticks > l->max)
        l->max = ticks;
    if (ticks < LAT_EXACT)
        l->bins[ticks]++;
    else if (l->nslow < LAT_SLOW)
        l->slow[l->nslow++] = ticks;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The value of rank ceil(q * count) (1-based), in ticks.  Sorts the slow values first. */
static uint64_t latency_quantile(struct latency *l, double q)
{
    if (l->count == 0)
        return 0;
    size_t rank = (size_t)(q * (double)l->count + 0.999999), seen = 0;
    if (rank < 1)
        rank = 1;
    for (uint32_t t = 0; t < LAT_EXACT; t++) {
        seen += l->bins[t];
        if (seen >= rank)
            return t;
    }
    qsort(l->slow, l->nslow, sizeof *l->slow, cmp_u64);
    size_t i = rank - seen - 1;
    return l->nslow == 0 ? l->max : l->slow[i < l->nslow ? i : l->nslow - 1];
}

/* Median cost, in ticks, of timing nothing: subtracted from every figure. */
static uint64_t timer_overhead(void)
{
    struct latency l;
    latency_init(&l);
    for (int i = 0; i < 100000; i++) {
        uint64_t t0 = tick();
        latency_add(&l, tick() - t0);
    }
    uint64_t median = latency_quantile(&l, 0.5);
    munmap(l.bins, LAT_EXACT * sizeof *l.bins);
    munmap(l.slow, LAT_SLOW * sizeof *l.slow);
    return median;
}

/* ------------------------------------------------------------------ allocators */

/* Our instance and its source (NULL for libc). */
static struct heap *the_heap;
static struct heap_source *the_source;

static void *ours_malloc(size_t n)
{
    return mm_malloc(the_heap, n);
}

static void ours_free(void *p)
{
    mm_free(the_heap, p);
}

static void *ours_realloc(void *p, size_t n)
{
    return mm_realloc(the_heap, p, n);
}

static void *ours_aligned(size_t align, size_t n)
{
    return mm_aligned_alloc(the_heap, align, n);
}

static void *libc_malloc(size_t n)
{
    return malloc(n);
}

static void libc_free(void *p)
{
    free(p);
}

static void *libc_realloc(void *p, size_t n)
{
    return realloc(p, n);
}

static void *libc_aligned(size_t align, size_t n)
{
    return aligned_alloc(align, n);
}

/* The malloc family a workload calls: ours over the_heap, or the C library's. */
struct calls {
    void *(*malloc)(size_t n);
    void (*free)(void *p);
    void *(*realloc)(void *p, size_t n);
    void *(*aligned)(size_t align, size_t n);
};

static const struct calls ours_calls = {ours_malloc, ours_free, ours_realloc, ours_aligned};
static const struct calls libc_calls = {libc_malloc, libc_free, libc_realloc, libc_aligned};

struct allocator {
    const char *name;
    struct heap *(*create)(struct heap_source *src); /* NULL: the C library */
    size_t max_size, max_align;                      /* what it can serve; 0: anything */
};

/*
 * Every allocator the driver knows.  The cost of hardening: a
 * hardened variant of ours is one more line here - its own name and a
 * create function that turns header canaries / free-list mangling on - and
 * one more name in ALLOCATORS in scripts/bench_heap.sh; the tables and plots
 * pick it up as another column.
 */
static const struct allocator allocators[] = {
    {"general", heap_general_create, 0, 0},
    {"slab", heap_slab_create, HEAP_SLAB_MAX, HEAP_DEFAULT_ALIGN},
    {"composite", heap_composite_create, 0, 0},
    {"libc", NULL, 0, 0},
};

/* Which malloc the C library calls really reach (a symbol only that allocator exports). */
static const char *libc_impl(void)
{
    if (dlsym(RTLD_DEFAULT, "mallctl"))
        return "jemalloc";
    if (dlsym(RTLD_DEFAULT, "mi_malloc"))
        return "mimalloc";
    if (dlsym(RTLD_DEFAULT, "tc_malloc"))
        return "tcmalloc";
    return "glibc";
}

/* Create our instance on a fresh hosted source (map, commit/decommit, shrink: everything). */
static void allocator_start(const struct allocator *a)
{
    if (!a->create)
        return;
    the_source = source_linux_create(NULL);
    if (!the_source)
        die("source_linux_create failed");
    the_heap = a->create(the_source);
    if (!the_heap)
        die("creating the heap failed");
}

/* ------------------------------------------------------------------ a run */

/* Everything a workload pass needs: the calls, the counters, and its own state. */
struct run {
    const struct calls *c;
    struct rng rng;
    int timed;              /* pass 2: time each call */
    size_t calls;           /* allocator calls so far */
    size_t live, peak_live; /* requested bytes not yet freed */
    size_t src_peak;        /* ours: committed + mapped, sampled */
    size_t moves;           /* realloc calls that returned a new address */
    struct latency lat;
    /* workload state: slots of live blocks and per-workload extras */
    size_t nslots;
    void **ptr;
    uint32_t *size;
    uint32_t *aux;               /* mixed: next in death bucket; realloc: target size */
    uint32_t *heads;             /* mixed: death buckets */
    uint32_t *free_slots, nfree; /* mixed: unused slot stack */
    uint64_t clock;              /* mixed: the current step */
};

/* Calls our source has served so far (0 for libc). */
static size_t source_calls(void)
{
    if (!the_source)
        return 0;
    struct source_linux_stats st;
    source_linux_stats(the_source, &st);
    return st.grow_calls + st.shrink_calls + st.map_calls + st.unmap_calls + st.activate_calls +
           st.deactivate_calls;
}

/* Committed + mapped bytes of our source, peak kept. */
static void sample_source(struct run *r)
{
    if (!the_source)
        return;
    struct source_linux_stats st;
    source_linux_stats(the_source, &st);
    size_t foot = st.committed + st.mapped;
    if (foot > r->src_peak)
        r->src_peak = foot;
}

/* Before a call: its start time when this pass is timed. */
static inline uint64_t call_begin(const struct run *r)
{
    return r->timed ? tick() : 0;
}

/* After a call: record its time (pass 2), count it, sample the footprint now and then. */
static inline void call_end(struct run *r, uint64_t t0)
{
    if (r->timed) {
        latency_add(&r->lat, tick() - t0);
        sample_source(r);
    } else if ((r->calls & 255) == 0) {
        sample_source(r);
    }
    r->calls++;
}

/* A block the workload asked for must exist: running out is not part of any workload. */
static inline void require_block(const void *p)
{
    if (!p)
        die("the allocator returned NULL");
}

static inline void live_add(struct run *r, size_t n)
{
    r->live += n;
    if (r->live > r->peak_live)
        r->peak_live = r->live;
}

static inline void *run_malloc(struct run *r, size_t n)
{
    uint64_t t0 = call_begin(r);
    void *p = r->c->malloc(n);
    call_end(r, t0);
    require_block(p);
    live_add(r, n);
    touch(p, n);
    return p;
}

static inline void *run_aligned(struct run *r, size_t align, size_t n)
{
    uint64_t t0 = call_begin(r);
    void *p = r->c->aligned(align, n);
    call_end(r, t0);
    require_block(p);
    if ((uintptr_t)p & (align - 1)) {
        char why[96];
        snprintf(why, sizeof why, "aligned_alloc(%zu, %zu) returned %p, misaligned", align, n, p);
        die(why);
    }
    live_add(r, n);
    touch(p, n);
    return p;
}

/* Grow p (old bytes, may be NULL with old 0) to n bytes and touch the new part. */
static inline void *run_realloc(struct run *r, void *p, size_t old, size_t n)
{
    uint64_t t0 = call_begin(r);
    void *q = r->c->realloc(p, n);
    call_end(r, t0);
    require_block(q);
    r->moves += p && q != p;
    r->live -= old;
    live_add(r, n);
    touch((char *)q + old, n - old);
    return q;
}

static inline void run_free(struct run *r, void *p, size_t n)
{
    uint64_t t0 = call_begin(r);
    r->c->free(p);
    call_end(r, t0);
    r->live -= n;
}

/* Slot arrays for n live blocks (pointer and requested size, plus an extra word). */
static void run_slots(struct run *r, size_t n)
{
    r->nslots = n;
    r->ptr = bench_map(n * sizeof *r->ptr);
    r->size = bench_map(n * sizeof *r->size);
    r->aux = bench_map(n * sizeof *r->aux);
}

/* Free every live slot (not measured). */
static void run_free_slots(struct run *r)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->ptr[i]) {
            run_free(r, r->ptr[i], r->size[i]);
            r->ptr[i] = NULL;
        }
}

/* ------------------------------------------------------------------ workloads */

struct workload {
    const char *name;
    size_t max_size, max_align;                 /* what an allocator must serve */
    long steps;                                 /* per pass, at BENCH_SCALE 1 */
    size_t param;                               /* slots: the working set for churn and aligned */
    void (*setup)(struct run *r, size_t param); /* bookkeeping only: no allocation */
    void (*fill)(struct run *r);                /* the initial working set, or NULL */
    void (*pass)(struct run *r, long steps);
    void (*teardown)(struct run *r);
};

/* churn: a working set of `nslots` objects of 16..128 B. */
#define CHURN_MIN 16
#define CHURN_MAX 128
#define HOT_LIVE 1024u /* churn-1k-in-256k: the objects the steps replace */

static void churn_fill(struct run *r)
{
    for (size_t i = 0; i < r->nslots; i++) {
        r->size[i] = (uint32_t)rng_range(&r->rng, CHURN_MIN, CHURN_MAX);
        r->ptr[i] = run_malloc(r, r->size[i]);
    }
}

/* Each step replaces a random one of the first `hot` objects by a new one of a random size. */
static void churn_steps(struct run *r, long steps, size_t hot)
{
    for (long s = 0; s < steps; s++) {
        size_t i = (size_t)(rng_next(&r->rng) % hot);
        run_free(r, r->ptr[i], r->size[i]);
        r->size[i] = (uint32_t)rng_range(&r->rng, CHURN_MIN, CHURN_MAX);
        r->ptr[i] = run_malloc(r, r->size[i]);
    }
}

static void churn_pass(struct run *r, long steps)
{
    churn_steps(r, steps, r->nslots);
}

/*
 * churn-1k-in-256k: the heap is big (256K objects, a random half of them
 * then freed, so free blocks of every small size are scattered over it) but
 * the steps replace only HOT_LIVE objects: what grows is the heap, not the
 * working set, so cache misses stay those of churn-1k and any growth of the
 * cost with the heap's size shows.
 */
static void hot_fill(struct run *r)
{
    churn_fill(r);
    for (size_t i = HOT_LIVE; i < r->nslots; i++)
        if (rng_next(&r->rng) & 1) {
            run_free(r, r->ptr[i], r->size[i]);
            r->ptr[i] = NULL;
        }
}

static void hot_pass(struct run *r, long steps)
{
    churn_steps(r, steps, HOT_LIVE);
}

/*
 * mixed: one allocation per step, its size from a distribution skewed to
 * small blocks and its lifetime from three classes; a ring of death buckets
 * (a timing wheel, one bucket per step) frees each block when its time comes.
 */
#define MIXED_SLOTS (1u << 16)
#define MIXED_RING (1u << 18) /* longer than the longest lifetime */
#define NO_SLOT UINT32_MAX

static size_t mixed_size(struct rng *g)
{
    uint64_t x = rng_next(g) % 1000;
    return x < 800   ? rng_range(g, 8, 256)
           : x < 950 ? rng_range(g, 257, 4 * KiB)
           : x < 995 ? rng_range(g, 4 * KiB + 1, 64 * KiB)
                     : rng_range(g, 64 * KiB + 1, 256 * KiB);
}

static uint32_t mixed_lifetime(struct rng *g)
{
    uint64_t x = rng_next(g) % 100;
    return (uint32_t)(x < 70   ? rng_range(g, 1, 32)
                      : x < 95 ? rng_range(g, 256, 4096)
                               : rng_range(g, 32768, 131072));
}

static void mixed_setup(struct run *r, size_t slots)
{
    run_slots(r, slots);
    r->heads = bench_map(MIXED_RING * sizeof *r->heads);
    r->free_slots = bench_map(MIXED_SLOTS * sizeof *r->free_slots);
    for (uint32_t i = 0; i < MIXED_RING; i++)
        r->heads[i] = NO_SLOT;
    for (uint32_t i = 0; i < slots; i++)
        r->free_slots[i] = (uint32_t)(slots - 1 - i);
    r->nfree = (uint32_t)slots;
}

/* Free every block whose death is the current step. */
static void mixed_reap(struct run *r)
{
    uint32_t *head = &r->heads[r->clock & (MIXED_RING - 1)];
    while (*head != NO_SLOT) {
        uint32_t i = *head;
        *head = r->aux[i];
        run_free(r, r->ptr[i], r->size[i]);
        r->ptr[i] = NULL;
        r->free_slots[r->nfree++] = i;
    }
}

static void mixed_pass(struct run *r, long steps)
{
    for (long s = 0; s < steps; s++) {
        r->clock++;
        mixed_reap(r);
        if (r->nfree == 0)
            die("mixed: out of slots");
        uint32_t i = r->free_slots[--r->nfree];
        r->size[i] = (uint32_t)mixed_size(&r->rng);
        r->ptr[i] = run_malloc(r, r->size[i]);
        uint32_t *head = &r->heads[(r->clock + mixed_lifetime(&r->rng)) & (MIXED_RING - 1)];
        r->aux[i] = *head;
        *head = i;
    }
}

/*
 * realloc: REALLOC_BUFFERS buffers; a step grows a random one - by an
 * append of 16..512 B (odd slots) or by half its size (even slots) - until
 * it passes its target (256 B << 0..10), then frees it and starts again.
 */
#define REALLOC_BUFFERS 64u

static size_t realloc_next_size(struct run *r, size_t i)
{
    size_t cur = r->size[i];
    if (i & 1)
        return cur + rng_range(&r->rng, 16, 512);
    return cur < 32 ? 48 : cur + cur / 2;
}

static void realloc_pass(struct run *r, long steps)
{
    for (long s = 0; s < steps; s++) {
        size_t i = (size_t)(rng_next(&r->rng) % REALLOC_BUFFERS);
        if (r->ptr[i] && r->size[i] >= r->aux[i]) {
            run_free(r, r->ptr[i], r->size[i]);
            r->ptr[i] = NULL;
            r->size[i] = 0;
        }
        if (!r->ptr[i])
            r->aux[i] = (uint32_t)(256u << rng_range(&r->rng, 0, 10));
        size_t n = realloc_next_size(r, i);
        r->ptr[i] = run_realloc(r, r->ptr[i], r->size[i], n);
        r->size[i] = (uint32_t)n;
    }
}

/* aligned: like churn, 4096 objects of 16..2048 B aligned to 16 << 0..8. */
#define ALIGNED_LIVE 4096u

static void *aligned_one(struct run *r, size_t i)
{
    size_t align = (size_t)16 << rng_range(&r->rng, 0, 8);
    r->size[i] = (uint32_t)rng_range(&r->rng, 16, 2048);
    return run_aligned(r, align, r->size[i]);
}

static void aligned_fill(struct run *r)
{
    for (size_t i = 0; i < r->nslots; i++)
        r->ptr[i] = aligned_one(r, i);
}

static void aligned_pass(struct run *r, long steps)
{
    for (long s = 0; s < steps; s++) {
        size_t i = (size_t)(rng_next(&r->rng) % ALIGNED_LIVE);
        run_free(r, r->ptr[i], r->size[i]);
        r->ptr[i] = aligned_one(r, i);
    }
}

static const struct workload workloads[] = {
    {"churn-1k", CHURN_MAX, 0, 1000000, 1024, run_slots, churn_fill, churn_pass, run_free_slots},
    {"churn-16k", CHURN_MAX, 0, 1000000, 16 * 1024, run_slots, churn_fill, churn_pass,
     run_free_slots},
    {"churn-256k", CHURN_MAX, 0, 1000000, 256 * 1024, run_slots, churn_fill, churn_pass,
     run_free_slots},
    {"churn-1k-in-256k", CHURN_MAX, 0, 1000000, HOT_LIVE + 256 * 1024, run_slots, hot_fill,
     hot_pass, run_free_slots},
    {"mixed", 256 * KiB, 0, 300000, MIXED_SLOTS, mixed_setup, NULL, mixed_pass, run_free_slots},
    {"realloc", 384 * KiB, 0, 300000, REALLOC_BUFFERS, run_slots, NULL, realloc_pass,
     run_free_slots},
    {"aligned", 2048, 4096, 500000, ALIGNED_LIVE, run_slots, aligned_fill, aligned_pass,
     run_free_slots},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ driver */

struct result {
    double secs;
    size_t calls, base_rss, peak_rss, source_calls, moves;
    size_t end_live;       /* requested bytes live after pass 2 */
    struct heap_stats end; /* ours: the instance's figures then */
    int check;             /* ours: heap_check violations then */
    double ticks_per_ns;
    uint64_t overhead;
};

/* Steps per pass: the workload's, times BENCH_SCALE, at least 1000. */
static long scaled_steps(const struct workload *w)
{
    const char *env = getenv("BENCH_SCALE");
    double scale = env ? strtod(env, NULL) : 1.0;
    if (!(scale > 0))
        scale = 1.0;
    double steps = (double)w->steps * scale;
    return steps < 1000 ? 1000 : (long)steps;
}

/*
 * Bookkeeping, footprint baseline, the initial working set, the throughput
 * pass, the timed pass; teardown is not measured.
 */
static void measure(const struct workload *w, struct run *r, struct result *res)
{
    long steps = scaled_steps(w);
    latency_init(&r->lat);
    res->overhead = timer_overhead();
    w->setup(r, w->param);
    res->base_rss = rss_now();
    if (rss_peak_reset() != 0)
        res->base_rss = 0; /* no reset: the peak is since start; say so by a 0 baseline */
    if (w->fill)
        w->fill(r);

    size_t calls0 = r->calls, source0 = source_calls();
    double t = now_sec();
    w->pass(r, steps);
    res->secs = now_sec() - t;
    res->calls = r->calls - calls0;

    r->timed = 1;
    uint64_t k0 = tick();
    t = now_sec();
    w->pass(r, steps);
    res->ticks_per_ns = HAVE_TSC ? (double)(tick() - k0) / ((now_sec() - t) * 1e9) : 1.0;
    r->timed = 0;
    res->peak_rss = rss_peak();
    res->source_calls = source_calls() - source0;
    res->moves = r->moves;
    res->end_live = r->live;
    if (the_heap) {
        heap_stats(the_heap, &res->end);
        res->check = heap_check(the_heap);
    }
    w->teardown(r);
}

/* Ticks to ns, less the timer's own cost. */
static double to_ns(const struct result *res, uint64_t ticks)
{
    double ns = ((double)ticks - (double)res->overhead) / res->ticks_per_ns;
    return ns > 0 ? ns : 0;
}

static void print_result(const char *w, const char *label, const char *impl, struct run *r,
                         const struct result *res)
{
    printf("heap-bench workload=%s alloc=%s status=ok impl=%s calls=%zu secs=%.4f "
           "ops_per_s=%.0f p50_ns=%.0f p99_ns=%.0f p999_ns=%.0f p9999_ns=%.0f max_ns=%.0f "
           "timer_ns=%.1f lat_calls=%zu peak_live=%zu peak_rss=%zu peak_src=%zu foot=rss "
           "src_calls=%zu "
           "moves=%zu end_live=%zu end_in_use=%zu end_held=%zu end_committed=%zu check=%d\n",
           w, label, impl, res->calls, res->secs, (double)res->calls / res->secs,
           to_ns(res, latency_quantile(&r->lat, 0.5)), to_ns(res, latency_quantile(&r->lat, 0.99)),
           to_ns(res, latency_quantile(&r->lat, 0.999)),
           to_ns(res, latency_quantile(&r->lat, 0.9999)), to_ns(res, r->lat.max),
           (double)res->overhead / res->ticks_per_ns, r->lat.count, r->peak_live,
           res->peak_rss > res->base_rss ? res->peak_rss - res->base_rss : 0, r->src_peak,
           res->source_calls, res->moves, res->end_live, res->end.bytes_in_use, res->end.bytes_held,
           res->end.bytes_committed, res->check);
}

static void list_names(void)
{
    for (size_t i = 0; i < COUNT(workloads); i++)
        printf("workload %s\n", workloads[i].name);
    for (size_t i = 0; i < COUNT(allocators); i++)
        printf("allocator %s\n", allocators[i].name);
}

static const struct workload *find_workload(const char *name)
{
    for (size_t i = 0; i < COUNT(workloads); i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    return NULL;
}

static const struct allocator *find_allocator(const char *name)
{
    for (size_t i = 0; i < COUNT(allocators); i++)
        if (strcmp(allocators[i].name, name) == 0)
            return &allocators[i];
    return NULL;
}

/* True if a can serve every request of w. */
static int supports(const struct allocator *a, const struct workload *w)
{
    return (a->max_size == 0 || w->max_size <= a->max_size) &&
           (a->max_align == 0 || w->max_align <= a->max_align);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        list_names();
        return 0;
    }
    const struct workload *w = argc >= 3 ? find_workload(argv[1]) : NULL;
    const struct allocator *a = argc >= 3 ? find_allocator(argv[2]) : NULL;
    if (!w || !a) {
        fprintf(stderr, "usage: bench_heap WORKLOAD ALLOCATOR [LABEL] | bench_heap list\n");
        return 2;
    }
    const char *label = argc >= 4 ? argv[3] : a->name;
    run_workload = w->name;
    run_label = label;
    if (!supports(a, w)) {
        printf("heap-bench workload=%s alloc=%s status=unsupported reason=\"serves at most %zu B, "
               "align %zu\"\n",
               w->name, label, a->max_size, a->max_align);
        return 0;
    }
    allocator_start(a);
    const char *seed = getenv("BENCH_SEED");
    struct run r = {.c = a->create ? &ours_calls : &libc_calls,
                    .rng = {seed ? strtoull(seed, NULL, 0) : SEED}};
    struct result res = {0};
    measure(w, &r, &res);
    if (res.check != 0)
        die("heap_check found violations after the run");
    print_result(w->name, label, a->create ? a->name : libc_impl(), &r, &res);
    return 0;
}
