/*
 * tests/host/test_vmm_region.c - regions on the simulated machine: the
 * overlap matrix, split and merge on partial protect / commit / decommit /
 * release, the state machine, guard pages, commit accounting under both
 * policies, the page allocator, kernel stacks, the heap sources, the
 * interval tree on its own, and a randomized run against a page-by-page
 * shadow model (SHADOW_TRACE=1 in the environment prints its operations;
 * HARNESS_SEED changes them).
 */
#include "harness.h"
#include "vmm_sim.h"

#include "mm/pte.h"
#include "mm/host/port_linux.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define RAM (32u * MIB)
#define MARGIN 16u
#define UW (VMM_ACCESS_USER | VMM_ACCESS_WRITE)

static void boot(enum vmm_policy policy)
{
    vmm_sim_boot(RAM, policy, MARGIN, 0);
    mm_host_reset_reports();
}

static void make_current_space(struct vmm_space *s)
{
    if (vmm_space_create(s) != VMM_OK)
        harness_fail(__FILE__, __LINE__, "vmm_space_create failed");
    vmm_space_switch(s);
}

static int reserve_at(struct vmm_space *s, uintptr_t addr, size_t pages, unsigned prot,
                      unsigned flags)
{
    uintptr_t a = addr;
    int rc = vmm_reserve(s, &a, pages * PAGE, prot, flags);
    if (rc == VMM_OK && a != addr)
        harness_fail(__FILE__, __LINE__, "reserved at 0x%lx, not 0x%lx", (unsigned long)a,
                     (unsigned long)addr);
    return rc;
}

static struct vmm_region_info piece(struct vmm_space *s, uintptr_t va)
{
    struct vmm_region_info ri;
    vmm_query_region(s, va, &ri);
    return ri;
}

static enum vmm_page_state page_state(struct vmm_space *s, uintptr_t va)
{
    struct vmm_page_info info;
    vmm_query(s, va, &info);
    return info.state;
}

static size_t regions(struct vmm_space *s)
{
    struct vmm_space_stats st;
    vmm_space_get_stats(s, &st);
    return st.regions;
}

/* ------------------------------------------------------------------ overlaps */

static void overlap_matrix(struct vmm_space *s, uintptr_t a)
{
    CHECK_EQ(reserve_at(s, a, 4, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(reserve_at(s, a, 4, VMM_PROT_RW, 0), VMM_EEXIST);            /* same range */
    CHECK_EQ(reserve_at(s, a + PAGE, 2, VMM_PROT_RW, 0), VMM_EEXIST);     /* contained */
    CHECK_EQ(reserve_at(s, a - PAGE, 6, VMM_PROT_RW, 0), VMM_EEXIST);     /* containing */
    CHECK_EQ(reserve_at(s, a - 2 * PAGE, 3, VMM_PROT_RW, 0), VMM_EEXIST); /* overlaps the low end */
    CHECK_EQ(reserve_at(s, a + 3 * PAGE, 3, VMM_PROT_RW, 0),
             VMM_EEXIST); /* overlaps the high end */
    CHECK_EQ(reserve_at(s, a + 3 * PAGE, 1, VMM_PROT_RW, 0), VMM_EEXIST); /* last page */
    CHECK_EQ(reserve_at(s, a - PAGE, 1, VMM_PROT_RW, VMM_RESERVE_GUARD_HIGH), VMM_EEXIST);
    CHECK_EQ(regions(s) >= 1, 1);
    size_t before = regions(s);
    CHECK_EQ(reserve_at(s, a - 2 * PAGE, 2, VMM_PROT_RW, 0), VMM_OK); /* adjacent below */
    CHECK_EQ(reserve_at(s, a + 4 * PAGE, 2, VMM_PROT_RW, 0), VMM_OK); /* adjacent above */
    CHECK_EQ(regions(s), before + 2); /* separate reservations never merge */
    CHECK_EQ(vmm_check(s), 0);
}

TEST(overlap_matrix_user_and_kernel)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    overlap_matrix(&s, 0x08000000u);
    overlap_matrix(vmm_kernel_space(), VMM_KREGION_START + 0x10000000u);
    /* the kernel's fixed areas are taken */
    CHECK_EQ(reserve_at(vmm_kernel_space(), VMM_BOOTMAP_START, 1, VMM_PROT_RW, 0), VMM_EEXIST);
    CHECK_EQ(reserve_at(vmm_kernel_space(), VMM_WINDOW_END - PAGE, 2, VMM_PROT_RW, 0), VMM_EEXIST);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(overlap_with_guard_pages)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const unsigned guards = VMM_RESERVE_GUARD_LOW | VMM_RESERVE_GUARD_HIGH;
    CHECK_EQ(reserve_at(&s, 0x08000000u, 2, VMM_PROT_RW, guards), VMM_OK);
    CHECK_EQ(reserve_at(&s, 0x08000000u - PAGE, 1, VMM_PROT_RW, 0), VMM_EEXIST); /* the guard */
    CHECK_EQ(reserve_at(&s, 0x08002000u, 1, VMM_PROT_RW, 0), VMM_EEXIST);
    CHECK_EQ(reserve_at(&s, 0x08000000u - 2 * PAGE, 1, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(reserve_at(&s, 0x08003000u, 1, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(page_state(&s, 0x08000000u - PAGE), VMM_PAGE_GUARD);
    CHECK_EQ(page_state(&s, 0x08002000u), VMM_PAGE_GUARD);
    CHECK_EQ(piece(&s, 0x08002000u).base, 0x08000000u - PAGE);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

/* A stack's guard gap: 256 GUARD pages, nothing can be reserved in it, a touch is a guard fault. */
TEST(stack_gap_is_256_guard_pages)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const uintptr_t stack = 0x40000000u, gap_low = stack - VMM_STACK_GAP;
    CHECK_EQ(VMM_STACK_GAP, 256u * PAGE);
    uintptr_t a = stack;
    CHECK_EQ(vmm_reserve(&s, &a, 4 * PAGE, VMM_PROT_RW,
                         VMM_RESERVE_STACK_GAP | VMM_RESERVE_GUARD_LOW),
             VMM_EINVAL); /* one low guard or the other */
    CHECK_EQ(reserve_at(&s, stack, 4, VMM_PROT_RW, VMM_RESERVE_COMMIT | VMM_RESERVE_STACK_GAP),
             VMM_OK);
    CHECK_EQ(page_state(&s, stack - PAGE), VMM_PAGE_GUARD);
    CHECK_EQ(page_state(&s, gap_low), VMM_PAGE_GUARD);
    CHECK_EQ(piece(&s, gap_low).base, gap_low);
    CHECK_EQ(reserve_at(&s, stack - 17 * PAGE, 16, VMM_PROT_RW, 0), VMM_EEXIST); /* stack clash */
    CHECK_EQ(reserve_at(&s, gap_low, 1, VMM_PROT_RW, 0), VMM_EEXIST);
    CHECK_EQ(reserve_at(&s, gap_low - PAGE, 1, VMM_PROT_RW, 0), VMM_OK); /* just below it */
    CHECK_EQ(vmm_handle_fault(&s, stack - 64 * PAGE, VMM_ACCESS_WRITE | VMM_ACCESS_USER),
             VMM_FAULT_GUARD);
    CHECK_EQ(vmm_handle_fault(&s, gap_low, VMM_ACCESS_WRITE | VMM_ACCESS_USER), VMM_FAULT_GUARD);
    CHECK_EQ(vmm_check(&s), 0);
    CHECK_EQ(vmm_release(&s, stack, 4 * PAGE), VMM_OK); /* the gap goes with its stack */
    CHECK_EQ(reserve_at(&s, gap_low, 1, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ split and merge */

TEST(partial_protect_splits_and_merges)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const uintptr_t a = 0x00400000u;
    CHECK_EQ(reserve_at(&s, a, 8, VMM_PROT_RW, VMM_RESERVE_COMMIT), VMM_OK);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(vmm_sim_write8(&s, a + i * PAGE, (uint8_t)(i + 1), true), 0);
    CHECK_EQ(regions(&s), 1u);

    CHECK_EQ(vmm_protect(&s, a + 2 * PAGE, 2 * PAGE, VMM_PROT_READ), VMM_OK);
    CHECK_EQ(regions(&s), 3u);
    struct vmm_region_info mid = piece(&s, a + 3 * PAGE);
    CHECK_EQ(mid.start, a + 2 * PAGE);
    CHECK_EQ(mid.end, a + 4 * PAGE);
    CHECK_EQ(mid.prot, VMM_PROT_READ);
    CHECK_EQ(mid.backed, 2u);
    CHECK_EQ(vmm_sim_write8(&s, a + 2 * PAGE, 0, true), VMM_FAULT_PROTECTION);
    CHECK_EQ(vmm_sim_write8(&s, a + 4 * PAGE, 0, true), 0);
    CHECK_EQ(vmm_check(&s), 0);

    CHECK_EQ(vmm_protect(&s, a + 2 * PAGE, 2 * PAGE, VMM_PROT_RW), VMM_OK); /* merges back */
    CHECK_EQ(regions(&s), 1u);
    CHECK_EQ(vmm_protect(&s, a, 3 * PAGE, VMM_PROT_READ), VMM_OK);
    CHECK_EQ(regions(&s), 2u);
    CHECK_EQ(vmm_protect(&s, a + 3 * PAGE, 5 * PAGE, VMM_PROT_READ), VMM_OK); /* joins */
    CHECK_EQ(regions(&s), 1u);
    CHECK_EQ(piece(&s, a).end, a + 8 * PAGE);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, a + 7 * PAGE, &v, true), 0);
    CHECK_EQ(v, 8); /* protection changes keep the data */
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(partial_commit_and_decommit_split_and_merge)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const uintptr_t a = 0x00400000u;
    CHECK_EQ(reserve_at(&s, a, 8, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(vmm_commit(&s, a + 2 * PAGE, 3 * PAGE, 0), VMM_OK);
    CHECK_EQ(regions(&s), 3u);
    CHECK_EQ(piece(&s, a + 2 * PAGE).state, VMM_REGION_COMMITTED);
    CHECK_EQ(piece(&s, a + PAGE).state, VMM_REGION_RESERVED);
    CHECK_EQ(vmm_commit(&s, a + 4 * PAGE, 4 * PAGE, 0), VMM_OK); /* overlaps: fine */
    CHECK_EQ(regions(&s), 2u);
    CHECK_EQ(piece(&s, a + 7 * PAGE).start, a + 2 * PAGE);
    CHECK_EQ(vmm_sim_write8(&s, a + 5 * PAGE, 1, true), 0);

    CHECK_EQ(vmm_decommit(&s, a + 5 * PAGE, PAGE, 0), VMM_OK);
    CHECK_EQ(regions(&s), 4u);
    CHECK_EQ(page_state(&s, a + 5 * PAGE), VMM_PAGE_RESERVED);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, a + 5 * PAGE, &v, true), VMM_FAULT_NOT_COMMITTED);
    CHECK_EQ(vmm_decommit(&s, a, 8 * PAGE, 0), VMM_OK);
    CHECK_EQ(regions(&s), 1u);
    CHECK_EQ(piece(&s, a).end, a + 8 * PAGE);
    struct vmm_space_stats st;
    vmm_space_get_stats(&s, &st);
    CHECK_EQ(st.committed, 0u);
    CHECK_EQ(st.backed, 0u);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(partial_release_keeps_the_rest)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const uintptr_t a = 0x00400000u;
    CHECK_EQ(reserve_at(&s, a, 8, VMM_PROT_RW, VMM_RESERVE_COMMIT), VMM_OK);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(vmm_sim_write8(&s, a + i * PAGE, (uint8_t)(i + 1), true), 0);
    size_t free_before = pmm_free_frames();
    CHECK_EQ(vmm_release(&s, a + 2 * PAGE, 2 * PAGE), VMM_OK);
    CHECK_EQ(pmm_free_frames(), free_before + 2);
    CHECK_EQ(regions(&s), 2u);
    CHECK_EQ(piece(&s, a).end, a + 2 * PAGE);
    CHECK_EQ(piece(&s, a + 4 * PAGE).base, a); /* still one reservation */
    CHECK_EQ(page_state(&s, a + 2 * PAGE), VMM_PAGE_FREE);
    CHECK_EQ(vmm_release(&s, a + PAGE, 2 * PAGE), VMM_ENOENT); /* runs into the hole */
    CHECK_EQ(vmm_release(&s, a + 7 * PAGE, 2 * PAGE), VMM_ENOENT);
    CHECK_EQ(regions(&s), 2u); /* refused: nothing changed */
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, a + 4 * PAGE, &v, true), 0);
    CHECK_EQ(v, 5);
    CHECK_EQ(vmm_release(&s, a, 2 * PAGE), VMM_OK);
    CHECK_EQ(vmm_release(&s, a + 4 * PAGE, 4 * PAGE), VMM_OK);
    CHECK_EQ(regions(&s), 0u);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(state_machine_reserved_committed_backed_decommitted_released)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const uintptr_t a = 0x00400000u;
    uint8_t v;
    size_t free0 = pmm_free_frames();

    CHECK_EQ(reserve_at(&s, a, 2, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(page_state(&s, a), VMM_PAGE_RESERVED);
    CHECK_EQ(vmm_sim_read8(&s, a, &v, true), VMM_FAULT_NOT_COMMITTED);
    CHECK_EQ(pmm_free_frames(), free0);

    CHECK_EQ(vmm_commit(&s, a, 2 * PAGE, 0), VMM_OK);
    CHECK_EQ(page_state(&s, a), VMM_PAGE_COMMITTED);

    CHECK_EQ(vmm_sim_write8(&s, a, 42, true), 0);
    CHECK_EQ(page_state(&s, a), VMM_PAGE_BACKED);
    CHECK_EQ(page_state(&s, a + PAGE), VMM_PAGE_COMMITTED);

    CHECK_EQ(vmm_decommit(&s, a, 2 * PAGE, 0), VMM_OK);
    CHECK_EQ(page_state(&s, a), VMM_PAGE_RESERVED);
    CHECK_EQ(vmm_sim_read8(&s, a, &v, true), VMM_FAULT_NOT_COMMITTED);

    CHECK_EQ(vmm_commit(&s, a, 2 * PAGE, 0), VMM_OK); /* recommit: fresh zeroes */
    CHECK_EQ(vmm_sim_read8(&s, a, &v, true), 0);
    CHECK_EQ(v, 0);

    CHECK_EQ(vmm_release(&s, a, 2 * PAGE), VMM_OK);
    CHECK_EQ(page_state(&s, a), VMM_PAGE_FREE);
    CHECK_EQ(vmm_sim_read8(&s, a, &v, true), VMM_FAULT_UNMAPPED);
    CHECK_EQ(pmm_free_frames(), free0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(guards_go_with_their_reservation)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const unsigned guards = VMM_RESERVE_GUARD_LOW | VMM_RESERVE_GUARD_HIGH;
    CHECK_EQ(reserve_at(&s, 0x00401000u, 4, VMM_PROT_RW, guards | VMM_RESERVE_COMMIT), VMM_OK);
    CHECK_EQ(regions(&s), 3u);
    CHECK_EQ(vmm_commit(&s, 0x00400000u, PAGE, 0), VMM_EPERM); /* a guard */
    CHECK_EQ(vmm_protect(&s, 0x00405000u, PAGE, VMM_PROT_RW), VMM_EPERM);
    CHECK_EQ(vmm_release(&s, 0x00401000u, PAGE), VMM_OK);
    CHECK_EQ(page_state(&s, 0x00400000u), VMM_PAGE_FREE); /* low guard lost its body */
    CHECK_EQ(page_state(&s, 0x00405000u), VMM_PAGE_GUARD);
    CHECK_EQ(vmm_release(&s, 0x00402000u, 3 * PAGE), VMM_OK);
    CHECK_EQ(regions(&s), 0u);
    struct vmm_space_stats st;
    vmm_space_get_stats(&s, &st);
    CHECK_EQ(st.reserved, 0u);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(rejected_arguments_change_nothing)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    uintptr_t a = 0x00400123u;
    CHECK_EQ(vmm_reserve(&s, &a, PAGE, VMM_PROT_RW, 0), VMM_EINVAL); /* unaligned */
    a = 0x00400000u;
    CHECK_EQ(vmm_reserve(&s, &a, 0, VMM_PROT_RW, 0), VMM_EINVAL);
    CHECK_EQ(vmm_reserve(&s, &a, 100, VMM_PROT_RW, 0), VMM_EINVAL);
    CHECK_EQ(vmm_reserve(&s, &a, PAGE, 0x40, 0), VMM_EINVAL);
    CHECK_EQ(vmm_reserve(&s, &a, PAGE, VMM_PROT_RW, 0x1000), VMM_EINVAL);
    CHECK_EQ(vmm_reserve(&s, &a, PAGE, VMM_PROT_RW, VMM_RESERVE_MAPPED | VMM_RESERVE_COMMIT),
             VMM_EINVAL);
    a = VMM_USER_END - PAGE;
    CHECK_EQ(vmm_reserve(&s, &a, 2 * PAGE, VMM_PROT_RW, 0), VMM_EINVAL); /* into the kernel */
    a = VMM_KERNEL_BASE + 0x08000000u;
    CHECK_EQ(vmm_reserve(&s, &a, PAGE, VMM_PROT_RW, 0), VMM_EINVAL); /* wrong half */
    a = 0;
    CHECK_EQ(vmm_reserve(&s, &a, PAGE, VMM_PROT_RW, VMM_RESERVE_GUARD_LOW), VMM_OK);
    CHECK_EQ(a, VMM_USER_START + PAGE); /* page 0 is never handed out; the guard is at 0x1000 */
    CHECK_EQ(vmm_commit(&s, a, PAGE, 0x8), VMM_EINVAL);
    CHECK_EQ(vmm_commit(&s, 0x50000000u, PAGE, 0), VMM_ENOENT);
    CHECK_EQ(vmm_decommit(&s, 0x50000000u, PAGE, 0), VMM_ENOENT);
    CHECK_EQ(vmm_protect(&s, 0x50000000u, PAGE, VMM_PROT_READ), VMM_ENOENT);
    CHECK_EQ(vmm_release(&s, (uintptr_t)0 - PAGE, 2 * PAGE), VMM_EINVAL); /* wraps */
    CHECK_EQ(vmm_commit(vmm_kernel_space(), 0x00400000u, PAGE, 0), VMM_EINVAL);
    uintptr_t p = 0;
    CHECK_EQ(vmm_reserve(vmm_kernel_space(), &p, PAGE, VMM_PROT_RW, VMM_RESERVE_PERMANENT), VMM_OK);
    CHECK_EQ(vmm_release(vmm_kernel_space(), p, PAGE), VMM_EPERM);
    CHECK_EQ(vmm_check(&s), 0);
    CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(reserve_anywhere_takes_the_lowest_gap)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    uintptr_t a[4] = {0};
    for (int i = 0; i < 3; i++)
        CHECK_EQ(vmm_reserve(&s, &a[i], PAGE, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(a[0], VMM_USER_START);
    CHECK_EQ(a[1], VMM_USER_START + PAGE);
    CHECK_EQ(a[2], VMM_USER_START + 2 * PAGE);
    CHECK_EQ(vmm_release(&s, a[1], PAGE), VMM_OK);
    a[3] = 0;
    CHECK_EQ(vmm_reserve(&s, &a[3], 2 * PAGE, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(a[3], VMM_USER_START + 3 * PAGE); /* the hole is too small */
    a[3] = 0;
    CHECK_EQ(vmm_reserve(&s, &a[3], PAGE, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(a[3], VMM_USER_START + PAGE); /* this one fits it */
    uintptr_t big = 0;
    CHECK_EQ(vmm_reserve(&s, &big, VMM_USER_END - VMM_USER_START, VMM_PROT_RW, 0), VMM_ENOMEM);
    uintptr_t k = 0;
    CHECK_EQ(vmm_reserve(vmm_kernel_space(), &k, PAGE, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(k, VMM_KREGION_START + VMM_META_SIZE); /* after the VMM's own records */
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ accounting */

/* Largest n such that n pages at a table boundary plus their tables fit in `room`. */
/*
 * Pages a fresh user space can commit with `room` frames: each leaf table
 * costs one, and a range inside one non-leaf table of the format's
 * next-to-leaf level needs one table per level above the leaves (0 on i386).
 */
static size_t fitting_pages(size_t room)
{
    const size_t above = PG_LEVELS - 2;
    size_t n = room - (room + PT_ENTRIES) / (PT_ENTRIES + 1);
    while (n + (n + PT_ENTRIES - 1) / PT_ENTRIES + above > room)
        n--;
    return n;
}

TEST(strict_commit_never_overpromises)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    const uintptr_t a = 0x10000000u;
    CHECK_EQ(reserve_at(&s, a, 16384, VMM_PROT_RW, 0), VMM_OK); /* 64 MiB: reserving is free */
    struct vmm_stats st;
    vmm_get_stats(&st);
    CHECK_EQ(st.margin, MARGIN);
    size_t n = fitting_pages(st.available - MARGIN);
    size_t free_before = pmm_free_frames();

    CHECK_EQ(vmm_commit(&s, a, (n + 1) * PAGE, 0), VMM_ENOMEM);
    CHECK_EQ(pmm_free_frames(), free_before); /* refused whole */
    CHECK_EQ(piece(&s, a).state, VMM_REGION_RESERVED);
    vmm_get_stats(&st);
    CHECK_EQ(st.commits_refused, 1u);

    CHECK_EQ(vmm_commit(&s, a, n * PAGE, 0), VMM_OK);
    uintptr_t other = 0;
    CHECK_EQ(vmm_reserve(&s, &other, PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT), VMM_ENOMEM);
    /* every committed page can be backed: no fault fails */
    for (size_t i = 0; i < n; i++)
        if (vmm_sim_write8(&s, a + i * PAGE, 1, true) != 0) {
            CHECK(!"a strict commitment could not be backed");
        }
    vmm_get_stats(&st);
    CHECK_EQ(st.outstanding, 0u);
    CHECK(pmm_free_frames() >= MARGIN);
    CHECK_EQ(vmm_decommit(&s, a, (n / 2) * PAGE, 0), VMM_OK);
    CHECK_EQ(vmm_reserve(&s, &other, PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT), VMM_OK);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

/* A cache of frames the PMM may take back: what "reclaimable" means. */
static pmm_paddr_t cache[512];
static size_t cache_n, cache_reclaimed;

static size_t cache_count(void)
{
    return cache_n;
}

static size_t cache_reclaim(struct pmm_reclaimer *r, size_t want)
{
    size_t n = 0;
    (void)r;
    while (cache_n && n < want) {
        pmm_free(cache[--cache_n]);
        n++;
    }
    cache_reclaimed += n;
    return n;
}

TEST(strict_counts_reclaimable_memory)
{
    struct vmm_space s;
    struct pmm_reclaimer rec = {.name = "test cache", .reclaim = cache_reclaim};
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    for (cache_n = 0; cache_n < 512; cache_n++)
        cache[cache_n] = pmm_alloc(0);
    cache_reclaimed = 0;
    const uintptr_t a = 0x10000000u;
    CHECK_EQ(reserve_at(&s, a, 16384, VMM_PROT_RW, 0), VMM_OK);
    struct vmm_stats st;
    vmm_get_stats(&st);
    size_t without = st.available;
    pmm_register_reclaimer(&rec);
    vmm_set_reclaimable(cache_count);
    vmm_get_stats(&st);
    CHECK_EQ(st.available, without + 512);

    size_t n = fitting_pages(st.available - MARGIN);
    CHECK(n > fitting_pages(without - MARGIN)); /* the cache made room */
    CHECK_EQ(vmm_commit(&s, a, n * PAGE, 0), VMM_OK);
    for (size_t i = 0; i < n; i++)
        if (vmm_sim_write8(&s, a + i * PAGE, 1, true) != 0) {
            CHECK(!"a page charged against reclaimable memory could not be backed");
        }
    CHECK(cache_reclaimed > 0); /* the PMM took frames back from the cache */
    vmm_set_reclaimable(NULL);
    pmm_unregister_reclaimer(&rec);
    while (cache_n)
        pmm_free(cache[--cache_n]);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(overcommit_commits_freely_and_fails_faults_or_allocations_cleanly)
{
    struct vmm_space s;
    boot(VMM_POLICY_OVERCOMMIT);
    make_current_space(&s);
    size_t free0 = pmm_free_frames();
    const uintptr_t a = 0x10000000u;
    const size_t pages = 16384; /* twice the RAM */
    CHECK_EQ(reserve_at(&s, a, pages, VMM_PROT_RW, VMM_RESERVE_COMMIT), VMM_OK);
    size_t ok = 0;
    int rc = 0;
    for (size_t i = 0; i < pages && rc == 0; i++)
        if ((rc = vmm_sim_write8(&s, a + i * PAGE, 1, true)) == 0)
            ok++;
    CHECK_EQ(rc, VMM_FAULT_NOMEM); /* the process would be killed */
    CHECK(ok > 7000 && ok < free0);
    CHECK_EQ(page_state(&s, a + ok * PAGE), VMM_PAGE_COMMITTED);
    CHECK_EQ(pmm_free_frames(), 0u);

    /* kernel allocations are eager under OVERCOMMIT and fail with NULL */
    CHECK(vmm_pages_alloc(4, 0) == NULL);
    CHECK(vmm_pages_alloc(4, VMM_PAGES_LAZY) == NULL);
    CHECK(vmm_kstack_alloc(2) == NULL);

    /* a failing eager commit gives back what it took */
    CHECK_EQ(vmm_release(&s, a, 10 * PAGE), VMM_OK);
    size_t free1 = pmm_free_frames();
    CHECK(free1 >= 10);
    uintptr_t b = 0x60000000u;
    CHECK_EQ(reserve_at(&s, b, 64, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(vmm_commit(&s, b, 64 * PAGE, VMM_COMMIT_EAGER), VMM_ENOMEM);
    CHECK_EQ(pmm_free_frames(), free1);
    CHECK_EQ(piece(&s, b).state, VMM_REGION_RESERVED);
    CHECK_EQ(vmm_check(&s), 0);

    CHECK_EQ(vmm_set_policy(VMM_POLICY_STRICT), VMM_ENOMEM); /* promises it cannot keep */
    CHECK_EQ(vmm_get_policy(), VMM_POLICY_OVERCOMMIT);
    CHECK_EQ(vmm_release(&s, a + 10 * PAGE, (pages - 10) * PAGE), VMM_OK);
    CHECK_EQ(vmm_set_policy(VMM_POLICY_STRICT), VMM_OK);
    vmm_space_destroy(&s);
    CHECK_EQ(pmm_free_frames(), free0 + 1); /* + the directory, taken before free0 */
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ page allocator */

/*
 * Free frames, counting the kernel's page tables as free: they are created
 * once (all at boot on i386, on first use below the top level on x86-64)
 * and kept for reuse, like the VMM's record pages.
 */
static size_t free_and_kernel_tables(void)
{
    struct vmm_stats st;
    vmm_get_stats(&st);
    return pmm_free_frames() + st.kernel_page_tables;
}

TEST(page_allocator_blocks_have_guards)
{
    boot(VMM_POLICY_STRICT);
    struct vmm_space *k = vmm_kernel_space();
    size_t free0 = free_and_kernel_tables();
    uintptr_t p = (uintptr_t)vmm_pages_alloc(3, 0);
    CHECK(p != 0);
    CHECK(p >= VMM_KREGION_START && p < VMM_KREGION_END);
    CHECK_EQ(vmm_pages_size((void *)p), 3u * PAGE);
    CHECK_EQ(vmm_pages_size((void *)(p + PAGE)), 0u);
    CHECK_EQ(free0 - free_and_kernel_tables(), 3u); /* eager: 3 frames (+ new kernel tables) */
    CHECK_EQ(page_state(k, p - PAGE), VMM_PAGE_GUARD);
    CHECK_EQ(page_state(k, p + 3 * PAGE), VMM_PAGE_GUARD);
    CHECK_EQ(page_state(k, p + 2 * PAGE), VMM_PAGE_BACKED);
    uint8_t v;
    CHECK_EQ(vmm_sim_write8(k, p + 3 * PAGE, 1, false), VMM_FAULT_GUARD); /* overrun */
    CHECK_EQ(vmm_sim_write8(k, p - 1, 1, false), VMM_FAULT_GUARD);        /* underrun */
    CHECK_EQ(vmm_sim_read8(k, p + 3 * PAGE - 1, &v, false), 0);

    uintptr_t q = (uintptr_t)vmm_pages_alloc(1, 0);
    CHECK(q >= p + 4 * PAGE); /* blocks do not share guards */
    mm_host_print_reports(0);
    vmm_pages_free((void *)(p + PAGE));
    CHECK_EQ(mm_host_report_count(), 1u);
    vmm_pages_free((void *)p);
    vmm_pages_free((void *)p); /* double free: reported, nothing else */
    CHECK_EQ(mm_host_report_count(), 2u);
    mm_host_print_reports(1);
    vmm_pages_free((void *)q);
    vmm_pages_free(NULL);
    CHECK_EQ(free_and_kernel_tables(), free0);
    CHECK_EQ(page_state(k, p - PAGE), VMM_PAGE_FREE);
    CHECK(vmm_pages_alloc(0, 0) == NULL);
    CHECK(vmm_pages_alloc(1, 0x80) == NULL);

    uintptr_t lazy = (uintptr_t)vmm_pages_alloc(2, VMM_PAGES_LAZY);
    CHECK_EQ(page_state(k, lazy), VMM_PAGE_COMMITTED); /* STRICT: lazy is safe */
    vmm_pages_free((void *)lazy);
    CHECK_EQ(vmm_check(k), 0);
    vmm_sim_power_off();
}

TEST(kernel_stack_overflow_hits_the_guard)
{
    boot(VMM_POLICY_STRICT);
    struct vmm_space *k = vmm_kernel_space();
    size_t free0 = free_and_kernel_tables();
    uintptr_t top = (uintptr_t)vmm_kstack_alloc(4);
    CHECK(top != 0);
    CHECK_EQ(vmm_sim_write8(k, top - 1, 1, false), 0);
    CHECK_EQ(vmm_sim_write8(k, top - 4 * PAGE, 1, false), 0);
    CHECK_EQ(vmm_sim_write8(k, top - 4 * PAGE - 4, 1, false), VMM_FAULT_GUARD);
    CHECK_EQ(piece(k, top - PAGE).flags & VMM_REGION_KSTACK, VMM_REGION_KSTACK);
    mm_host_print_reports(0);
    vmm_kstack_free((void *)(top - PAGE));
    CHECK_EQ(mm_host_report_count(), 1u);
    void *block = vmm_pages_alloc(1, 0);
    vmm_kstack_free((char *)block + PAGE); /* a page block is not a stack */
    CHECK_EQ(mm_host_report_count(), 2u);
    mm_host_print_reports(1);
    vmm_pages_free(block);
    vmm_kstack_free((void *)top);
    CHECK_EQ(free_and_kernel_tables(), free0);
    vmm_sim_power_off();
}

TEST(pages_source_maps_and_unmaps_blocks)
{
    boot(VMM_POLICY_STRICT);
    struct heap_source *src = vmm_pages_source();
    struct vmm_space *k = vmm_kernel_space();
    size_t free0 = free_and_kernel_tables();
    uintptr_t p = (uintptr_t)src->map(src, 4 * PAGE);
    uintptr_t g = (uintptr_t)src->grow(src, PAGE);
    CHECK(p && g);
    CHECK(src->map(src, 100) == NULL);
    src->deactivate(src, (void *)(p + PAGE), 2 * PAGE);
    CHECK_EQ(page_state(k, p + PAGE), VMM_PAGE_RESERVED);
    CHECK_EQ(src->activate(src, (void *)(p + PAGE), PAGE), 0);
    CHECK_EQ(page_state(k, p + PAGE), VMM_PAGE_COMMITTED);
    CHECK_EQ(vmm_pages_size((void *)p), 4u * PAGE); /* still one block */
    mm_host_print_reports(0);
    src->unmap(src, (void *)p, PAGE); /* wrong size: reported, kept */
    CHECK_EQ(mm_host_report_count(), 1u);
    mm_host_print_reports(1);
    src->unmap(src, (void *)p, 4 * PAGE);
    src->unmap(src, (void *)g, PAGE);
    CHECK_EQ(free_and_kernel_tables(), free0);
    CHECK_EQ(vmm_check(k), 0);
    vmm_sim_power_off();
}

static void region_source_round(struct vmm_space *s, unsigned flags, bool expect_backed)
{
    struct vmm_region_source rs;
    size_t free0 = free_and_kernel_tables();
    CHECK_EQ(vmm_region_source_init(&rs, s, 16 * PAGE, flags), VMM_OK);
    struct heap_source *src = &rs.source;
    uintptr_t a = (uintptr_t)src->grow(src, 2 * PAGE);
    uintptr_t b = (uintptr_t)src->grow(src, 4 * PAGE);
    CHECK_EQ(b, a + 2 * PAGE); /* brk-style: adjacent */
    CHECK_EQ(page_state(s, b + 3 * PAGE), expect_backed ? VMM_PAGE_BACKED : VMM_PAGE_COMMITTED);
    CHECK_EQ(vmm_sim_write8(s, b + 3 * PAGE, 7, s->is_kernel ? false : true), 0);
    CHECK(src->grow(src, 11 * PAGE) == NULL); /* past max_bytes */
    CHECK(src->grow(src, 100) == NULL);
    CHECK_EQ(page_state(s, a - PAGE), VMM_PAGE_GUARD);
    CHECK_EQ(src->shrink(src, 4 * PAGE), 0);
    CHECK_EQ(page_state(s, b), VMM_PAGE_RESERVED);
    CHECK_EQ(src->shrink(src, 8 * PAGE), -1);
    src->deactivate(src, (void *)a, PAGE);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(s, a, &v, false), VMM_FAULT_NOT_COMMITTED);
    CHECK_EQ(src->activate(src, (void *)a, PAGE), 0);
    CHECK_EQ(src->activate(src, (void *)b, PAGE), -1); /* above the break */
    CHECK_EQ(vmm_sim_read8(s, a, &v, false), 0);
    CHECK((src->map != NULL) == s->is_kernel);
    vmm_region_source_fini(&rs);
    CHECK_EQ(page_state(s, a - PAGE), VMM_PAGE_FREE);
    CHECK_EQ(free_and_kernel_tables(), free0);
}

TEST(region_source_grows_like_brk)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    region_source_round(vmm_kernel_space(), VMM_COMMIT_AUTO, false);
    region_source_round(vmm_kernel_space(), VMM_COMMIT_EAGER, true);
    make_current_space(&s);
    region_source_round(&s, 0, false);
    CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
    vmm_space_destroy(&s);
    vmm_set_policy(VMM_POLICY_OVERCOMMIT);
    region_source_round(vmm_kernel_space(), VMM_COMMIT_AUTO, true); /* AUTO: eager now */
    vmm_sim_power_off();
}

TEST(many_regions_grow_the_record_pool)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    /* 600 separate one-page reservations need far more records than the static pool */
    for (uintptr_t i = 0; i < 600; i++)
        CHECK_EQ(reserve_at(&s, 0x20000000u + i * 2 * PAGE, 1, VMM_PROT_RW, 0), VMM_OK);
    struct vmm_stats st;
    vmm_get_stats(&st);
    CHECK(st.meta_pages >= 5);
    CHECK_EQ(page_state(vmm_kernel_space(), VMM_KREGION_START), VMM_PAGE_MAPPED);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_get_stats(&st);
    CHECK(st.regions_free >= 600); /* records come back for reuse */
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ the tree alone */

#define TREE_SLOTS 64

static int tree_errors;
static void tree_report(const char *what, uintptr_t at)
{
    (void)what;
    (void)at;
    tree_errors++;
}

/* Brute force: lowest a >= lo, aligned, with [a, a+size) free and below hi. */
static bool brute_gap(const bool *used, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                      uintptr_t *out)
{
    for (uintptr_t a = lo; a + size <= hi; a++) {
        if (a % align)
            continue;
        bool ok = true;
        for (uintptr_t x = a; x < a + size && ok; x++)
            ok = !used[x];
        if (ok) {
            *out = a;
            return true;
        }
    }
    return false;
}

TEST(interval_tree_against_brute_force)
{
    static struct vmm_tree_node nodes[TREE_SLOTS];
    bool live[TREE_SLOTS] = {false};
    bool used[256] = {false};
    struct vmm_tree t;
    vmm_tree_init(&t, 0, 256);
    for (int step = 0; step < 4000; step++) {
        int i = (int)(harness_rand() % TREE_SLOTS);
        if (live[i]) {
            for (uintptr_t x = nodes[i].start; x < nodes[i].end; x++)
                used[x] = false;
            vmm_tree_remove(&t, &nodes[i]);
            live[i] = false;
        } else {
            uintptr_t start = harness_rand() % 250, len = 1 + harness_rand() % 6;
            struct vmm_tree_node *lb = vmm_tree_lower_bound(&t, start);
            if (lb && lb->start < start + len)
                continue; /* would overlap */
            nodes[i].start = start;
            nodes[i].end = start + len;
            vmm_tree_insert(&t, &nodes[i]);
            live[i] = true;
            for (uintptr_t x = start; x < start + len; x++)
                used[x] = true;
        }
        if (step % 7 == 0 && live[i] && nodes[i].end - nodes[i].start > 1) {
            used[nodes[i].end - 1] = false; /* shrink a node in place */
            vmm_tree_resized(&t, &nodes[i], nodes[i].start, nodes[i].end - 1);
        }
        tree_errors = 0;
        CHECK_EQ(vmm_tree_check(&t, tree_report), 0);
        uintptr_t probe = harness_rand() % 256;
        struct vmm_tree_node *f = vmm_tree_find(&t, probe);
        CHECK_EQ(f != NULL, used[probe]);
        size_t size = 1 + harness_rand() % 12, align = (size_t)1 << (harness_rand() % 3);
        uintptr_t lo = harness_rand() % 128, hi = 128 + harness_rand() % 129, got = 0, want = 0;
        bool g = vmm_tree_find_gap(&t, size, align, lo, hi, &got);
        CHECK_EQ(g, brute_gap(used, size, align, lo, hi, &want));
        if (g)
            CHECK_EQ(got, want);
    }
    /* the checker notices a broken gap field */
    struct vmm_tree_node *first = vmm_tree_first(&t);
    if (first) {
        first->gap++;
        tree_errors = 0;
        CHECK(vmm_tree_check(&t, tree_report) > 0);
        CHECK(tree_errors > 0);
        first->gap--;
    }
}

/* ------------------------------------------------------------------ shadow model */

#define WIN_BASE 0x003C0000u /* crosses the 4 MiB boundary at 0x00400000 */
#define WIN_PAGES 160u

enum { M_FREE = 0, M_RESERVED, M_COMMITTED, M_GUARD };

struct model_page {
    uint8_t kind, prot, byte;
    bool backed;
    uintptr_t base;
};

static struct model_page model[WIN_PAGES];

static uintptr_t va_of(unsigned i)
{
    return WIN_BASE + (uintptr_t)i * PAGE;
}

/* First page of [first, first+n) that the operation does not accept, as the VMM reports it. */
static int model_range(unsigned first, unsigned n, bool allow_guard)
{
    for (unsigned i = first; i < first + n; i++) {
        if (model[i].kind == M_FREE)
            return VMM_ENOENT;
        if (model[i].kind == M_GUARD && !allow_guard)
            return VMM_EPERM;
    }
    return VMM_OK;
}

static void model_drop_orphan(int g)
{
    if (g < 0 || g >= (int)WIN_PAGES || model[g].kind != M_GUARD)
        return;
    for (int d = -1; d <= 1; d += 2) {
        int n = g + d;
        if (n >= 0 && n < (int)WIN_PAGES && model[n].kind != M_FREE && model[n].kind != M_GUARD &&
            model[n].base == model[g].base)
            return;
    }
    model[g].kind = M_FREE;
}

static int model_reserve(struct vmm_space *s, unsigned first, unsigned n, unsigned prot,
                         unsigned flags)
{
    unsigned lo = (flags & VMM_RESERVE_GUARD_LOW) ? 1 : 0;
    unsigned hi = (flags & VMM_RESERVE_GUARD_HIGH) ? 1 : 0;
    if (first < lo || first + n + hi > WIN_PAGES)
        return 0; /* keep everything inside the window */
    int expect = VMM_OK;
    for (unsigned i = first - lo; i < first + n + hi; i++)
        if (model[i].kind != M_FREE)
            expect = VMM_EEXIST;
    int rc = reserve_at(s, va_of(first), n, prot, flags);
    if (rc != expect)
        return harness_fail(__FILE__, __LINE__, "reserve rc %d, model %d", rc, expect), -1;
    if (rc != VMM_OK)
        return 0;
    uintptr_t base = va_of(first - lo);
    for (unsigned i = first - lo; i < first + n + hi; i++) {
        bool guard = i < first || i >= first + n;
        model[i] = (struct model_page){guard ? M_GUARD : M_RESERVED, guard ? 0 : (uint8_t)prot, 0,
                                       false, base};
        if (!guard && (flags & VMM_RESERVE_COMMIT)) {
            model[i].kind = M_COMMITTED;
            model[i].backed = (flags & VMM_RESERVE_EAGER) != 0;
        }
    }
    return 0;
}

static int model_op(struct vmm_space *s, int op, unsigned first, unsigned n)
{
    unsigned prot = (unsigned)(harness_rand() % 8);
    int expect = model_range(first, n, op == 4), rc;
    bool flag = harness_rand() % 2;

    switch (op) {
    case 1: /* commit */
        rc = vmm_commit(s, va_of(first), n * PAGE, flag ? VMM_COMMIT_EAGER : 0);
        break;
    case 2: /* decommit */
        rc = vmm_decommit(s, va_of(first), n * PAGE, flag ? VMM_DECOMMIT_KEEP : 0);
        break;
    case 3: /* protect */
        rc = vmm_protect(s, va_of(first), n * PAGE, prot);
        break;
    default: /* release */
        rc = vmm_release(s, va_of(first), n * PAGE);
        break;
    }
    if (rc != expect)
        return harness_fail(__FILE__, __LINE__, "op %d rc %d, model %d", op, rc, expect), -1;
    if (rc != VMM_OK)
        return 0;
    for (unsigned i = first; i < first + n; i++) {
        struct model_page *m = &model[i];
        if (op == 1) {
            if (m->kind == M_RESERVED)
                *m = (struct model_page){M_COMMITTED, m->prot, 0, false, m->base};
            if (flag && !m->backed)
                m->backed = true, m->byte = 0;
        } else if (op == 2 && m->kind == M_COMMITTED) {
            m->backed = false;
            if (!flag)
                m->kind = M_RESERVED;
        } else if (op == 3) {
            m->prot = (uint8_t)prot;
        } else if (op == 4) {
            memset(m, 0, sizeof *m);
        }
    }
    if (op == 4) {
        model_drop_orphan((int)first - 1);
        model_drop_orphan((int)(first + n));
    }
    return 0;
}

static int model_touch(struct vmm_space *s, unsigned i)
{
    struct model_page *m = &model[i];
    bool write = harness_rand() % 2;
    uint8_t value = (uint8_t)harness_rand(), got = 0;
    int expect;

    if (m->kind == M_FREE)
        expect = VMM_FAULT_UNMAPPED;
    else if (m->kind == M_GUARD)
        expect = VMM_FAULT_GUARD;
    else if (m->kind == M_RESERVED)
        expect = VMM_FAULT_NOT_COMMITTED;
    else if (m->prot == 0 || (write && !(m->prot & VMM_PROT_WRITE)))
        expect = VMM_FAULT_PROTECTION;
    else
        expect = 0;
    int rc =
        write ? vmm_sim_write8(s, va_of(i), value, true) : vmm_sim_read8(s, va_of(i), &got, true);
    if (rc != expect)
        return harness_fail(__FILE__, __LINE__, "touch rc %d, model %d", rc, expect), -1;
    if (rc != 0)
        return 0;
    if (!m->backed)
        m->backed = true, m->byte = 0;
    if (!write && got != m->byte)
        return harness_fail(__FILE__, __LINE__, "read %u, model %u", got, m->byte), -1;
    if (write)
        m->byte = value;
    return 0;
}

/* Same kind, prot and reservation: the pages one merged piece must span. */
static bool same_piece(const struct model_page *a, const struct model_page *b)
{
    return a->kind == b->kind && a->base == b->base && (a->kind == M_GUARD || a->prot == b->prot);
}

static int model_compare(struct vmm_space *s)
{
    static const enum vmm_page_state want[] = {VMM_PAGE_FREE, VMM_PAGE_RESERVED, VMM_PAGE_COMMITTED,
                                               VMM_PAGE_GUARD};
    size_t backed = 0;
    for (unsigned i = 0; i < WIN_PAGES; i++) {
        const struct model_page *m = &model[i];
        struct vmm_page_info info;
        vmm_query(s, va_of(i), &info);
        enum vmm_page_state w = m->backed ? VMM_PAGE_BACKED : want[m->kind];
        backed += m->backed;
        if (info.state != w)
            return harness_fail(__FILE__, __LINE__, "page %u state %d, model %d", i, info.state, w),
                   -1;
        if (m->kind == M_FREE)
            continue;
        unsigned lo = i, hi = i + 1;
        while (lo > 0 && same_piece(&model[lo - 1], m))
            lo--;
        while (hi < WIN_PAGES && same_piece(&model[hi], m))
            hi++;
        if (info.region_start != va_of(lo) || info.region_end != va_of(hi) ||
            (m->kind != M_GUARD && info.prot != m->prot))
            return harness_fail(__FILE__, __LINE__,
                                "page %u piece 0x%lx-0x%lx prot %u, model 0x%lx-0x%lx prot %u", i,
                                (unsigned long)info.region_start, (unsigned long)info.region_end,
                                info.prot, (unsigned long)va_of(lo), (unsigned long)va_of(hi),
                                m->prot),
                   -1;
    }
    struct vmm_space_stats st;
    vmm_space_get_stats(s, &st);
    if (st.backed != backed)
        return harness_fail(__FILE__, __LINE__, "backed %zu, model %zu", st.backed, backed), -1;
    return 0;
}

static void shadow_run(enum vmm_policy policy, int steps)
{
    struct vmm_space s;
    boot(policy);
    size_t free0 = free_and_kernel_tables();
    make_current_space(&s);
    memset(model, 0, sizeof model);
    for (int step = 0; step < steps; step++) {
        int op = (int)(harness_rand() % 7);
        unsigned first = (unsigned)(harness_rand() % WIN_PAGES);
        unsigned n = 1 + (unsigned)(harness_rand() % 12);
        if (first + n > WIN_PAGES)
            n = WIN_PAGES - first;
        int rc;
        if (getenv("SHADOW_TRACE"))
            fprintf(stderr, "step %d op %d first %u n %u\n", step, op, first, n);
        if (op == 0) {
            unsigned flags =
                (unsigned)(harness_rand() % 16) & (VMM_RESERVE_COMMIT | VMM_RESERVE_EAGER |
                                                   VMM_RESERVE_GUARD_LOW | VMM_RESERVE_GUARD_HIGH);
            if (!(flags & VMM_RESERVE_COMMIT))
                flags &= ~VMM_RESERVE_EAGER;
            rc = model_reserve(&s, first, n, (unsigned)(harness_rand() % 8), flags);
        } else if (op <= 4) {
            rc = model_op(&s, op, first, n);
        } else {
            rc = model_touch(&s, first);
        }
        if (rc || model_compare(&s))
            return;
        if (step % 16 == 0)
            CHECK_EQ(vmm_check(&s), 0);
    }
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    struct vmm_stats st;
    vmm_get_stats(&st);
    CHECK_EQ(free_and_kernel_tables() + st.meta_pages, free0); /* record pages are kept for reuse */
    CHECK_EQ(pmm_check(), 0);
    vmm_sim_power_off();
}

TEST(random_operations_match_the_shadow_model_strict)
{
    shadow_run(VMM_POLICY_STRICT, 2500);
}

TEST(random_operations_match_the_shadow_model_overcommit)
{
    shadow_run(VMM_POLICY_OVERCOMMIT, 2500);
}
