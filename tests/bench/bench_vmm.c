/*
 * tests/bench/bench_vmm.c - hosted benchmark of the VMM on the simulated
 * machine (tests/host/vmm_sim.c).
 *
 * Prints Markdown tables: page faults resolved per second on the lazy path
 * (the handler alone, and through the simulated MMU) against an eager commit
 * of the same pages; map/unmap throughput one page at a time and by ranges;
 * region and page-allocator operations with many regions present.  The
 * figures are for the VMM's logic (page-table walks through mm_kmap, frame
 * allocation, zeroing): the simulator's kmap is free and its TLB flushes
 * are counters, so in-kernel figures (kernel/kbench.c) are the real ones.
 *
 * Benchmarks link only libmm.a (Makefile), so the simulator is compiled in
 * here; it defines the port functions libmm.a's VMM needs.
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/host/vmm_sim.c"

#include "mm/host/port_linux.h"

#include <time.h>

#define PAGES 32768u /* 128 MiB of committed memory */
#define RAM (256u << 20)
#define ROUNDS 3

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "bench_vmm: %s failed: %d\n", what, rc);
    exit(1);
}

/* A fresh machine with one loaded user space. */
static void fresh(struct vmm_space *s, enum vmm_policy policy)
{
    vmm_sim_boot(RAM, policy, 64, 0);
    if (vmm_space_create(s) != VMM_OK)
        fail("vmm_space_create", -1);
    vmm_space_switch(s);
}

struct lazy_times {
    double commit, fault_handler, fault_mmu, eager, release;
};

/* One round: lazy commit + faults by handler, by MMU, and an eager commit. */
static void lazy_round(enum vmm_policy policy, struct lazy_times *t)
{
    struct vmm_space s;
    const uintptr_t a = 0x10000000u, b = 0x30000000u, c = 0x50000000u;
    int rc;

    fresh(&s, policy);
    uintptr_t addr = a;
    double t0 = now();
    if ((rc = vmm_reserve(&s, &addr, PAGES * 4096u, VMM_PROT_RW, VMM_RESERVE_COMMIT)))
        fail("lazy commit", rc);
    t->commit = now() - t0;

    t0 = now();
    for (uintptr_t i = 0; i < PAGES; i++)
        if ((rc = vmm_handle_fault(&s, a + i * 4096u, VMM_ACCESS_WRITE | VMM_ACCESS_USER)))
            fail("fault", rc);
    t->fault_handler = now() - t0;
    t0 = now();
    if ((rc = vmm_release(&s, a, PAGES * 4096u)))
        fail("release", rc);
    t->release = now() - t0;

    addr = b;
    if ((rc = vmm_reserve(&s, &addr, PAGES * 4096u, VMM_PROT_RW, VMM_RESERVE_COMMIT)))
        fail("lazy commit", rc);
    t0 = now();
    for (uintptr_t i = 0; i < PAGES; i++)
        if ((rc = vmm_sim_write8(&s, b + i * 4096u, 1, true)))
            fail("touch", rc);
    t->fault_mmu = now() - t0;
    vmm_release(&s, b, PAGES * 4096u);

    addr = c;
    if ((rc = vmm_reserve(&s, &addr, PAGES * 4096u, VMM_PROT_RW, 0)))
        fail("reserve", rc);
    t0 = now();
    if ((rc = vmm_commit(&s, c, PAGES * 4096u, VMM_COMMIT_EAGER)))
        fail("eager commit", rc);
    t->eager = now() - t0;
    vmm_space_destroy(&s);
}

static void bench_lazy(void)
{
    printf("### Lazy commit (faults) vs eager commit, %u pages (%u MiB), best of %d\n\n", PAGES,
           PAGES / 256, ROUNDS);
    printf("| policy | lazy commit | fault (handler) | fault (MMU + handler) | eager commit "
           "| release |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (int p = VMM_POLICY_STRICT; p <= VMM_POLICY_OVERCOMMIT; p++) {
        struct lazy_times best = {1e9, 1e9, 1e9, 1e9, 1e9}, t;
        for (int r = 0; r < ROUNDS; r++) {
            lazy_round((enum vmm_policy)p, &t);
            best.commit = t.commit < best.commit ? t.commit : best.commit;
            best.fault_handler =
                t.fault_handler < best.fault_handler ? t.fault_handler : best.fault_handler;
            best.fault_mmu = t.fault_mmu < best.fault_mmu ? t.fault_mmu : best.fault_mmu;
            best.eager = t.eager < best.eager ? t.eager : best.eager;
            best.release = t.release < best.release ? t.release : best.release;
        }
        printf("| %s | %.0f ns | %.2f M faults/s (%.0f ns) | %.2f M faults/s | %.2f M pages/s "
               "(%.0f ns) | %.0f ns/page |\n",
               p == VMM_POLICY_STRICT ? "strict" : "overcommit", best.commit * 1e9,
               PAGES / best.fault_handler / 1e6, best.fault_handler / PAGES * 1e9,
               PAGES / best.fault_mmu / 1e6, PAGES / best.eager / 1e6, best.eager / PAGES * 1e9,
               best.release / PAGES * 1e9);
    }
    printf("\nA fault allocates a frame, zeroes it (4 KiB memset) and writes one entry; the "
           "eager commit does the same per page inside one walk.  Under overcommit the lazy "
           "commit creates no page table (faults create them).\n\n");
}

static void bench_map(void)
{
    struct vmm_space s;
    const uintptr_t a = 0x40000000u;
    const unsigned n = 200000, range = 1024;
    int rc;

    fresh(&s, VMM_POLICY_STRICT);
    uintptr_t addr = a;
    if ((rc = vmm_reserve(&s, &addr, range * 4096u, VMM_PROT_RW, VMM_RESERVE_MAPPED)))
        fail("reserve mapped", rc);
    pmm_paddr_t frame = pmm_alloc_contig(range, 1, 0);
    if (frame == PMM_NONE)
        fail("pmm_alloc_contig", -1);

    double t0 = now();
    for (unsigned i = 0; i < n; i++) {
        uintptr_t va = a + (i % range) * 4096u;
        if (vmm_map(&s, va, frame, 4096u, 0) || vmm_unmap(&s, va, 4096u))
            fail("map/unmap", -1);
    }
    double single = now() - t0;

    unsigned reps = 200;
    t0 = now();
    for (unsigned i = 0; i < reps; i++)
        if (vmm_map(&s, a, frame, range * 4096u, 0) || vmm_unmap(&s, a, range * 4096u))
            fail("range map/unmap", -1);
    double ranged = now() - t0;

    printf("### Page-level map/unmap\n\n| operation | rate |\n|---|---:|\n");
    printf("| map + unmap one page | %.2f M pairs/s (%.0f ns) |\n", n / single / 1e6,
           single / n * 1e9);
    printf("| map + unmap %u pages in one call | %.1f M pages/s (%.1f ns/page) |\n\n", range,
           reps * (double)range / ranged / 1e6, ranged / (reps * (double)range) * 1e9);
    pmm_free_contig(frame, range);
    vmm_space_destroy(&s);
}

static void bench_regions(void)
{
    struct vmm_space s;
    const unsigned existing = 2000, n = 100000;

    fresh(&s, VMM_POLICY_STRICT);
    for (unsigned i = 0; i < existing; i++) {
        uintptr_t a = 0x20000000u + i * 2 * 4096u;
        if (vmm_reserve(&s, &a, 4096u, VMM_PROT_RW, 0))
            fail("reserve", -1);
    }
    double t0 = now();
    for (unsigned i = 0; i < n; i++) {
        uintptr_t a = 0;
        if (vmm_reserve(&s, &a, 4096u, VMM_PROT_RW, 0) || vmm_release(&s, a, 4096u))
            fail("reserve/release", -1);
    }
    double anywhere = now() - t0;

    const uintptr_t r = 0x60000000u;
    uintptr_t a = r;
    vmm_reserve(&s, &a, 64 * 4096u, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    t0 = now();
    for (unsigned i = 0; i < n; i++) {
        uintptr_t p = r + (i % 62 + 1) * 4096u;
        if (vmm_protect(&s, p, 4096u, VMM_PROT_READ) || vmm_protect(&s, p, 4096u, VMM_PROT_RW))
            fail("protect", -1);
    }
    double split = now() - t0;

    t0 = now();
    for (unsigned i = 0; i < n / 10; i++) {
        void *p = vmm_pages_alloc(4, 0);
        if (!p)
            fail("vmm_pages_alloc", -1);
        vmm_pages_free(p);
    }
    double pages = now() - t0;

    printf("### Regions (%u regions already in the space)\n\n| operation | rate |\n|---|---:|\n",
           existing);
    printf("| reserve anywhere + release, 1 page | %.2f M pairs/s (%.0f ns) |\n",
           n / anywhere / 1e6, anywhere / n * 1e9);
    printf("| protect one page inside a region + back (split, merge) | %.2f M pairs/s "
           "(%.0f ns) |\n",
           n / split / 1e6, split / n * 1e9);
    printf("| vmm_pages_alloc(4) + free (guards, eager, zeroed) | %.2f M pairs/s (%.0f ns) |\n\n",
           n / 10 / pages / 1e6, pages / (n / 10) * 1e9);
    vmm_space_destroy(&s);
}

int main(void)
{
    mm_host_print_reports(1);
    printf("## VMM on the simulated machine (%u MiB RAM)\n\n", RAM >> 20);
    bench_lazy();
    bench_map();
    bench_regions();
    vmm_sim_power_off();
    return 0;
}
