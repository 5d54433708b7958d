/*
 * kernel/test/test_pmm.c - in-kernel tests and benchmark of the PMM, on the
 * real memory map, after pmm_init.
 *
 * Tests that take every frame use PMM_NORECLAIM where they must not disturb
 * other subsystems' caches, print nothing while memory is exhausted, and give
 * back exactly what they took: each ends with the free count where it began
 * and pmm_check() == 0.
 */
#include "karch.h"
#include "kernel/bufcache.h"
#include "kernel/kbench.h"
#include "kernel/kernel.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "mm/pmm.h"

#include <stdbool.h>
#include <stdint.h>

#define FRAME(pfn) ((pmm_paddr_t)(pfn) << 12)

/* ------------------------------------------------------------ taking every frame */

/* Runs held by a test: enough for every free block of a 4 GiB machine. */
#define HELD_MAX 8192
static struct held {
    pmm_paddr_t first;
    uint32_t frames;
} held[HELD_MAX];
static size_t n_held;

/*
 * Take every frame the PMM will give with these flags, largest blocks
 * first, so that few records are needed.  Returns false if the record
 * array filled up (the frames taken so far are still recorded).
 */
static bool take_everything(unsigned flags)
{
    for (int order = PMM_MAX_ORDER; order >= 0; order--) {
        size_t frames = (size_t)1 << order;
        pmm_paddr_t p;
        while ((p = pmm_alloc_contig(frames, frames, flags)) != PMM_NONE) {
            if (n_held == HELD_MAX) {
                pmm_free_contig(p, frames);
                return false;
            }
            held[n_held++] = (struct held){p, (uint32_t)frames};
        }
    }
    return true;
}

static void give_everything_back(void)
{
    while (n_held > 0) {
        n_held--;
        pmm_free_contig(held[n_held].first, held[n_held].frames);
    }
}

/* True if every frame of every held run is USED with one reference and aligned to its size. */
static bool held_runs_sane(void)
{
    for (size_t i = 0; i < n_held; i++) {
        if ((held[i].first >> 12) % held[i].frames != 0)
            return false;
        for (uint32_t f = 0; f < held[i].frames; f++)
            if (pmm_refcount(held[i].first + f * 4096u) != 1)
                return false;
    }
    return true;
}

/* ------------------------------------------------------------ invariants */

/* True if frame pfn lies wholly inside a usable range of the boot memory map. */
static bool frame_in_usable_ram(uint32_t pfn)
{
    uint64_t start = (uint64_t)pfn << 12, end = start + 4096;
    for (unsigned i = 0; i < boot_info.mem.count; i++) {
        const struct mem_range *r = &boot_info.mem.range[i];
        if (r->type == MEM_USABLE && r->base <= start && r->base + r->length >= end)
            return true;
    }
    return false;
}

/* True if no frame touched by [start, end) is free or used. */
static bool range_reserved(uint64_t start, uint64_t end)
{
    for (uint64_t a = start & ~0xFFFull; a < end && a < 0x100000000ull; a += 4096) {
        enum pmm_frame_state s = pmm_frame_state((pmm_paddr_t)a);
        if (s == PMM_FRAME_FREE || s == PMM_FRAME_USED)
            return false;
    }
    return true;
}

KTEST(pmm_real_map_invariants)
{
    struct pmm_stats st;
    size_t count[4] = {0};
    uint32_t first, end;

    KT_EQ(pmm_check(), 0);
    pmm_get_stats(&st);
    KT_EQ(st.total, st.free + st.reserved + st.used);
    KT_EQ(st.free, pmm_free_frames());
    KT_ASSERT(st.free > 0 && st.largest_free_block <= st.largest_free_run);
    pmm_span(&first, &end);
    for (uint32_t pfn = first; pfn < end; pfn++) {
        enum pmm_frame_state s = pmm_frame_state(FRAME(pfn));
        count[s]++;
        if (s == PMM_FRAME_FREE || s == PMM_FRAME_USED)
            KT_ASSERT(frame_in_usable_ram(pfn)); /* nothing handed out that is not RAM */
    }
    KT_EQ(count[PMM_FRAME_FREE], st.free);
    KT_EQ(count[PMM_FRAME_RESERVED], st.reserved);
    KT_EQ(count[PMM_FRAME_USED], st.used);
    /* what the PMM was told to keep out, and the firmware areas */
    KT_ASSERT(range_reserved(0, 4096));
    KT_ASSERT(range_reserved(0x9F000, 0x100000));
    KT_ASSERT(range_reserved(boot_info.kernel_start, boot_info.kernel_end));
    KT_ASSERT(range_reserved(boot_info.info_start, boot_info.info_end));
    for (unsigned i = 0; i < boot_info.module_count; i++)
        KT_ASSERT(range_reserved(boot_info.module[i].start, boot_info.module[i].end));
    pmm_print_stats();
}

KTEST(pmm_exhaustion_and_recovery)
{
    struct pmm_stats before, during, after;

    pmm_get_stats(&before);
    bool all_recorded = take_everything(PMM_NORECLAIM);
    /* nothing is printed from here until the frames are back */
    pmm_paddr_t extra = pmm_alloc(PMM_NORECLAIM), low = pmm_alloc(PMM_BELOW_1M | PMM_NORECLAIM);
    pmm_paddr_t dma = pmm_alloc_contig(1, 0, PMM_BELOW_16M | PMM_NORECLAIM);
    size_t free_during = pmm_free_frames();
    pmm_get_stats(&during);
    int check_during = pmm_check();
    bool sane = held_runs_sane();
    give_everything_back();
    pmm_get_stats(&after);

    KT_ASSERT(all_recorded);
    KT_EQ(extra, PMM_NONE);
    KT_EQ(low, PMM_NONE);
    KT_EQ(dma, PMM_NONE);
    KT_EQ(free_during, 0);
    KT_EQ(during.used, before.used + before.free);
    KT_EQ(during.failed, before.failed + 3 + PMM_MAX_ORDER + 1); /* one per order, then 3 */
    KT_EQ(check_during, 0);
    KT_ASSERT(sane);
    KT_EQ(after.free, before.free);
    KT_EQ(after.largest_free_block, before.largest_free_block);
    KT_EQ(pmm_check(), 0);
}

KTEST(pmm_single_frames_distinct_and_aligned)
{
    enum { N = 1024 };
    static pmm_paddr_t got[N];
    size_t free0 = pmm_free_frames();

    for (int i = 0; i < N; i++) {
        got[i] = pmm_alloc(0);
        KT_ASSERT(got[i] != PMM_NONE && (got[i] & 0xFFF) == 0);
        KT_EQ(pmm_refcount(got[i]), 1);
        KT_ASSERT(frame_in_usable_ram(got[i] >> 12));
    }
    /* insertion sort, then neighbours must differ */
    for (int i = 1; i < N; i++)
        for (int j = i; j > 0 && got[j - 1] > got[j]; j--) {
            pmm_paddr_t t = got[j];
            got[j] = got[j - 1];
            got[j - 1] = t;
        }
    for (int i = 1; i < N; i++)
        KT_ASSERT(got[i - 1] != got[i]);
    for (int i = 0; i < N; i++)
        pmm_free(got[i]);
    KT_EQ(pmm_free_frames(), free0);
    KT_EQ(pmm_check(), 0);
}

/* Smallest power of two >= n. */
static size_t covering(size_t n)
{
    size_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

KTEST(pmm_contig_alignment)
{
    size_t free0 = pmm_free_frames();
    struct pmm_stats st;

    pmm_get_stats(&st);
    for (unsigned order = 0; order <= PMM_MAX_ORDER; order++) {
        size_t count = ((size_t)1 << order) + (order % 3); /* some counts not a power of two */
        if (count > PMM_MAX_CONTIG_FRAMES)
            count = PMM_MAX_CONTIG_FRAMES;
        size_t align = (size_t)1 << (order < 6 ? order + 4 : order);
        if (align > PMM_MAX_CONTIG_FRAMES)
            align = PMM_MAX_CONTIG_FRAMES;
        size_t block = covering(count) > align ? covering(count) : align;
        pmm_paddr_t p = pmm_alloc_contig(count, align, PMM_NORECLAIM);
        if (block > st.largest_free_block) { /* e.g. no whole 4 MiB block on an 8 MiB machine */
            KT_EQ(p, PMM_NONE);
            continue;
        }
        KT_ASSERT(p != PMM_NONE);
        KT_EQ((p >> 12) % align, 0);
        for (size_t i = 0; i < count; i++)
            KT_EQ(pmm_frame_state(p + (pmm_paddr_t)i * 4096), PMM_FRAME_USED);
        pmm_free_contig(p, count);
    }
    KT_EQ(pmm_free_frames(), free0);
    KT_EQ(pmm_check(), 0);
}

KTEST(pmm_zone_limits)
{
    struct pmm_stats st;
    pmm_get_stats(&st);

    pmm_paddr_t any = pmm_alloc(0);
    KT_ASSERT(any != PMM_NONE);
    if (st.zone[PMM_ZONE_HIGH].free > 0)
        KT_ASSERT(any >= PMM_ZONE_DMA_END); /* ordinary requests leave low memory alone */
    pmm_paddr_t low = pmm_alloc(PMM_BELOW_1M);
    KT_ASSERT(low != PMM_NONE && low < PMM_ZONE_LOW_END && low != 0);
    pmm_paddr_t dma = pmm_alloc_contig(16, 16, PMM_BELOW_16M);
    KT_ASSERT(dma != PMM_NONE && dma + 16 * 4096 <= PMM_ZONE_DMA_END);
    pmm_free(any);
    pmm_free(low);
    pmm_free_contig(dma, 16);
    KT_EQ(pmm_free_frames(), st.free);
    KT_EQ(pmm_check(), 0);
}

KTEST(pmm_misuse_reported_not_fatal)
{
    unsigned long reports = mm_port_report_count();
    pmm_paddr_t p = pmm_alloc(0), run = pmm_alloc_contig(4, 4, 0);
    size_t free0;

    KT_ASSERT(p != PMM_NONE && run != PMM_NONE);
    pmm_free(p);
    free0 = pmm_free_frames();
    mm_port_expect_reports(6);
    pmm_free(p);                      /* double free */
    pmm_free(0);                      /* frame 0: reserved */
    pmm_free(run + 12);               /* unaligned */
    pmm_free_contig(run, 3);          /* wrong size */
    pmm_free(run);                    /* a run's frame through pmm_free */
    pmm_free(boot_info.kernel_start); /* the kernel image */
    KT_EQ(mm_port_report_count(), reports + 6);
    KT_EQ(pmm_free_frames(), free0);
    KT_EQ(pmm_frame_state(run), PMM_FRAME_USED);
    pmm_free_contig(run, 4);
    KT_EQ(pmm_check(), 0);
}

KTEST(pmm_reference_counts)
{
    pmm_paddr_t p = pmm_alloc(0);
    KT_ASSERT(p != PMM_NONE);
    pmm_ref(p);
    pmm_ref(p);
    KT_EQ(pmm_refcount(p), 3);
    pmm_free(p);
    pmm_free(p);
    KT_EQ(pmm_frame_state(p), PMM_FRAME_USED);
    pmm_free(p);
    KT_EQ(pmm_frame_state(p), PMM_FRAME_FREE);
}

/*
 * The reclaim path: the cache grows until free memory sits just above the
 * low watermark; ordinary allocations then push it below, and the PMM takes
 * buffers back.  Exhausting memory empties the cache entirely before the
 * PMM gives up.
 */
KTEST(pmm_reclaim_with_bufcache)
{
    size_t free0 = pmm_free_frames(), low = pmm_low_watermark();
    struct pmm_stats st0, st1;
    pmm_paddr_t p[64];

    pmm_get_stats(&st0);
    bufcache_init();
    size_t cached = bufcache_fill(low + 16);
    KT_ASSERT(cached > 0);
    if (pmm_free_frames() > low + 16) /* the cache filled up first: move the watermark */
        pmm_set_low_watermark(pmm_free_frames() - 16);
    size_t reclaimed0 = bufcache_reclaimed();
    for (int i = 0; i < 64; i++)
        p[i] = pmm_alloc(0);
    bool reclaimed = bufcache_reclaimed() > reclaimed0 && bufcache_frames() < cached;
    bool above_watermark = pmm_free_frames() >= pmm_low_watermark();
    for (int i = 0; i < 64; i++)
        if (p[i] != PMM_NONE)
            pmm_free(p[i]);

    bool recorded = take_everything(0); /* may reclaim: must drain the cache */
    size_t cache_left = bufcache_frames(), free_left = pmm_free_frames();
    give_everything_back();
    pmm_get_stats(&st1);
    bufcache_shutdown();
    pmm_set_low_watermark(low);

    for (int i = 0; i < 64; i++)
        KT_ASSERT(p[i] != PMM_NONE);
    KT_ASSERT(reclaimed);
    KT_ASSERT(above_watermark);
    KT_ASSERT(recorded);
    KT_EQ(cache_left, 0);
    KT_EQ(free_left, 0);
    KT_ASSERT(st1.reclaimed > st0.reclaimed);
    KT_EQ(pmm_free_frames(), free0);
    KT_EQ(pmm_check(), 0);
}

/* ------------------------------------------------------------ benchmark */

/*
 * One row: cycles and ns per operation, ns in tenths so that a fast
 * operation does not print as 0 (64-bit division: outside the measured
 * loops).  Without a TSC calibration the ns cell says so.
 */
static void bench_line(const char *what, unsigned long long cycles, unsigned long ops)
{
    unsigned long long per_ms = kbench_cycles_per_ms();
    if (!per_ms) {
        kprintf("| %s | %llu | no calibration |\n", what, cycles / ops);
        return;
    }
    unsigned long long tenths = cycles * 10000000ull / per_ms / ops;
    kprintf("| %s | %llu | %llu.%llu |\n", what, cycles / ops, tenths / 10, tenths % 10);
}

/* Cycles for `rounds` x (take `batch` runs of 2^order frames, free them). */
static unsigned long long bench_contig(unsigned order, unsigned batch, unsigned rounds)
{
    static pmm_paddr_t runs[256];
    size_t frames = (size_t)1 << order;
    uint64_t t = rdtsc();
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < batch; i++)
            runs[i] = pmm_alloc_contig(frames, frames, PMM_NORECLAIM);
        for (unsigned i = 0; i < batch; i++)
            if (runs[i] != PMM_NONE)
                pmm_free_contig(runs[i], frames);
    }
    return rdtsc() - t;
}

/* The in-kernel table (QEMU): cycles and ns per operation, and the metadata cost. */
KBENCH(pmm)
{
    enum { PAIRS = 100000, BATCH = 256, ROUNDS = 100 };
    static const struct {
        unsigned order, batch;
        const char *what;
    } contig[] = {
        {0, BATCH, "contig order 0 (4 KiB), 256 taken then freed"},
        {3, BATCH, "contig order 3 (32 KiB), 256 taken then freed"},
        {6, BATCH, "contig order 6 (256 KiB), 256 taken then freed"},
        {10, 16, "contig order 10 (4 MiB), 16 taken then freed"},
    };
    struct pmm_stats st;

    kprintf("| PMM operation (in-kernel) | cycles/op | ns/op |\n|---|---|---|\n");
    uint64_t t = rdtsc();
    for (int i = 0; i < PAIRS; i++)
        pmm_free(pmm_alloc(0));
    bench_line("single frame alloc+free, same frame", rdtsc() - t, PAIRS);
    for (unsigned i = 0; i < sizeof contig / sizeof contig[0]; i++)
        bench_line(contig[i].what, bench_contig(contig[i].order, contig[i].batch, ROUNDS),
                   (unsigned long)contig[i].batch * ROUNDS);
    t = rdtsc();
    pmm_get_stats(&st);
    bench_line("pmm_get_stats", rdtsc() - t, 1);
    t = rdtsc();
    int bad = pmm_check();
    bench_line(bad ? "pmm_check (VIOLATIONS)" : "pmm_check (full walk)", rdtsc() - t, 1);
    /* thousandths of a percent of RAM; 64-bit because 8 MiB x 10^5 overflows 32 bits */
    unsigned long long ram = (unsigned long long)st.total * 4096;
    unsigned long long milli = ram ? (unsigned long long)st.metadata_bytes * 100000 / ram : 0;
    kprintf("\nns/op: the TSC's cycles over its rate measured against the PIT at boot; under QEMU's\n"
            "TCG both are emulated, so compare the rows with each other, not with a real machine.\n");
    kprintf("\nmetadata: %zu KiB for %zu RAM frames = %llu.%03llu%% of RAM (%u bytes per frame)\n",
            st.metadata_bytes / 1024, st.total, milli / 1000, milli % 1000, PMM_FRAME_META_BYTES);
}
