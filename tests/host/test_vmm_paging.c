/*
 * tests/host/test_vmm_paging.c - the VMM over its paging-format description.
 *
 * Built twice: with the i386 description (build/host/tests/, two levels,
 * 32-bit entries, no NX) and with the x86-64 one (build/host/tests-x86_64/,
 * four levels, 64-bit entries, NX).  Every expectation is written in terms
 * of the description (PG_LEVELS, PT_SPAN, PTE_NX, PG_PHYS_LIMIT), so the same
 * test checks both: walks through every level, tables created on the way
 * and freed up the chain, page tables counted once when charged, kernel
 * tables created on demand below the shared top level, NX on every page
 * that is not executable, and frames an entry cannot hold refused.
 */
#include "harness.h"
#include "vmm_sim.h"

#include "mm/host/port_linux.h"
#include "mm/pmm.h"
#include "mm/pte.h"
#include "mm/vmm.h"
#include "mm/vmm_internal.h" /* vmm_pt_missing / vmm_pt_ensure, with the lock */

#include <string.h>

#define PAGE 4096u
#define RAM (32u << 20)
#define MARGIN 16u

/* A user address whose path shares no table below the top with low addresses. */
#define FAR_USER (PG_LEVELS == 2 ? (uintptr_t)0x40000000u : (uintptr_t)1 << 39)

static void boot_with_space(struct vmm_space *s)
{
    vmm_sim_boot(RAM, VMM_POLICY_STRICT, MARGIN, 0);
    mm_host_reset_reports();
    if (vmm_space_create(s) != VMM_OK)
        harness_fail(__FILE__, __LINE__, "vmm_space_create failed");
    vmm_space_switch(s);
}

static size_t user_tables(struct vmm_space *s)
{
    struct vmm_space_stats st;
    vmm_space_get_stats(s, &st);
    return st.page_tables;
}

static size_t kernel_tables(void)
{
    struct vmm_stats st;
    vmm_get_stats(&st);
    return st.kernel_page_tables;
}

static uint64_t pte_of(struct vmm_space *s, uintptr_t va)
{
    struct vmm_page_info info;
    vmm_query(s, va, &info);
    return info.pte;
}

static int commit_at(struct vmm_space *s, uintptr_t va, size_t pages, unsigned prot)
{
    uintptr_t a = va;
    int rc = vmm_reserve(s, &a, pages * PAGE, prot, VMM_RESERVE_COMMIT);
    return rc == VMM_OK && a != va ? VMM_EINVAL : rc;
}

TEST(a_touch_builds_one_table_per_level)
{
    struct vmm_space s;
    boot_with_space(&s);
    size_t free0 = pmm_free_frames();

    CHECK_EQ(vmm_reserve(&s, &(uintptr_t){0x00400000u}, PAGE, VMM_PROT_RW, 0), VMM_OK);
    CHECK_EQ(vmm_commit(&s, 0x00400000u, PAGE, 0), VMM_OK); /* STRICT: tables made up front */
    CHECK_EQ(user_tables(&s), PG_LEVELS - 1u);
    CHECK_EQ(vmm_sim_write8(&s, 0x00400000u, 0x5A, true), 0);
    uint8_t v = 0;
    CHECK_EQ(vmm_sim_read8(&s, 0x00400000u, &v, true), 0);
    CHECK_EQ(v, 0x5A);
    CHECK_EQ(free0 - pmm_free_frames(), PG_LEVELS - 1u + 1u); /* the tables and the page */
    uint64_t e = pte_of(&s, 0x00400000u);
    CHECK(e & PTE_PRESENT);
    CHECK(e & PTE_USER);
    CHECK(e & PTE_OWNED);
    CHECK_EQ(e & PTE_NX, (uint64_t)PTE_NX); /* data is not executable where the format can say so */
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    CHECK_EQ(pmm_free_frames(), free0 + 1); /* + the top-level table */
    vmm_sim_power_off();
}

TEST(empty_tables_are_freed_up_to_the_top)
{
    struct vmm_space s;
    boot_with_space(&s);
    size_t free0 = pmm_free_frames();

    CHECK_EQ(commit_at(&s, 0x00400000u, 2, VMM_PROT_RW), VMM_OK);
    CHECK_EQ(commit_at(&s, FAR_USER, 2, VMM_PROT_RW), VMM_OK);
    CHECK_EQ(vmm_sim_write8(&s, 0x00400000u, 1, true), 0);
    CHECK_EQ(vmm_sim_write8(&s, FAR_USER + PAGE, 2, true), 0);
    /* two separate paths below the top: one table per level each */
    CHECK_EQ(user_tables(&s), 2u * (PG_LEVELS - 1u));
    CHECK_EQ(vmm_release(&s, FAR_USER, 2 * PAGE), VMM_OK);
    CHECK_EQ(user_tables(&s), PG_LEVELS - 1u); /* its whole path went, not only the leaf */
    CHECK_EQ(vmm_check(&s), 0);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, 0x00400000u, &v, true), 0); /* the other path is intact */
    CHECK_EQ(v, 1);
    CHECK_EQ(vmm_release(&s, 0x00400000u, 2 * PAGE), VMM_OK);
    CHECK_EQ(user_tables(&s), 0u);
    CHECK_EQ(pmm_free_frames(), free0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(missing_tables_are_counted_once_and_match_what_is_built)
{
    struct vmm_space s;
    boot_with_space(&s);
    /* three leaf chunks inside one table of the level above the leaves */
    const uintptr_t a = 4 * PT_SPAN, end = a + 3 * PT_SPAN;

    CHECK_EQ(vmm_reserve(&s, &(uintptr_t){a}, end - a, VMM_PROT_RW, 0), VMM_OK);
    vmm_lock();
    size_t missing = vmm_pt_missing(&s, a, end);
    size_t before = s.stats.page_tables;
    int rc = vmm_pt_ensure(&s, a, end);
    size_t built = s.stats.page_tables - before;
    size_t after = vmm_pt_missing(&s, a, end);
    vmm_unlock();
    CHECK_EQ(rc, VMM_OK);
    CHECK_EQ(missing, 3u + (PG_LEVELS - 2u));
    CHECK_EQ(built, missing);
    CHECK_EQ(after, 0u);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(kernel_tables_below_the_shared_top_level)
{
    struct vmm_space s;
    boot_with_space(&s);
    size_t k0 = kernel_tables();

    void *p = vmm_pages_alloc(1, 0);
    CHECK(p != NULL);
    /* i386: every kernel leaf table exists since boot; x86-64: one per level below the top */
    CHECK_EQ(kernel_tables() - k0, PG_LEVELS - 2u);
    /* a kernel mapping made now is seen from a space created before it */
    CHECK_EQ(vmm_sim_write8(&s, (uintptr_t)p, 7, false), 0);
    struct vmm_space t;
    CHECK_EQ(vmm_space_create(&t), VMM_OK);
    vmm_space_switch(&t);
    uint8_t v = 0;
    CHECK_EQ(vmm_sim_read8(&t, (uintptr_t)p, &v, false), 0);
    CHECK_EQ(v, 7);
    vmm_pages_free(p);
    CHECK_EQ(kernel_tables() - k0, PG_LEVELS - 2u); /* kept for the next block */
    CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
    vmm_space_switch(&s);
    vmm_space_destroy(&t);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(instruction_fetch_from_data_faults_where_the_format_has_nx)
{
    struct vmm_space s;
    boot_with_space(&s);
    const unsigned fetch = VMM_ACCESS_USER | VMM_ACCESS_EXEC;
    const int expect = PTE_NX ? VMM_FAULT_PROTECTION : 0;
    void *host;

    CHECK_EQ(commit_at(&s, 0x00400000u, 2, VMM_PROT_RW), VMM_OK);
    CHECK_EQ(commit_at(&s, 0x00800000u, 1, VMM_PROT_READ | VMM_PROT_EXEC), VMM_OK);
    /* a lazy page: the fault path itself refuses the fetch, and backs nothing */
    CHECK_EQ(vmm_sim_access(&s, 0x00401000u, fetch, &host), expect);
    struct vmm_page_info info;
    vmm_query(&s, 0x00401000u, &info);
    CHECK_EQ(info.state, PTE_NX ? VMM_PAGE_COMMITTED : VMM_PAGE_BACKED);
    /* a backed page: the MMU refuses it and the handler agrees */
    CHECK_EQ(vmm_sim_write8(&s, 0x00400000u, 1, true), 0);
    CHECK_EQ(vmm_sim_access(&s, 0x00400000u, fetch, &host), expect);
    /* code is fetched; making data executable is a protection change like any other */
    CHECK_EQ(vmm_sim_access(&s, 0x00800000u, fetch, &host), 0);
    CHECK_EQ(pte_of(&s, 0x00800000u) & PTE_NX, 0u);
    CHECK_EQ(vmm_protect(&s, 0x00400000u, PAGE, VMM_PROT_READ | VMM_PROT_EXEC), VMM_OK);
    CHECK_EQ(vmm_sim_access(&s, 0x00400000u, fetch, &host), 0);
    CHECK_EQ(vmm_protect(&s, 0x00400000u, PAGE, VMM_PROT_RW), VMM_OK);
    CHECK_EQ(vmm_sim_access(&s, 0x00400000u, fetch, &host), expect); /* the TLB was flushed */
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(frames_an_entry_cannot_hold_are_refused)
{
    struct vmm_space s;
    boot_with_space(&s);
    uintptr_t a = 0;

    CHECK_EQ(vmm_reserve(&s, &a, 2 * PAGE, VMM_PROT_RW, VMM_RESERVE_MAPPED), VMM_OK);
    CHECK_EQ(vmm_map(&s, a, PG_PHYS_LIMIT - PAGE, 2 * PAGE, 0), VMM_EINVAL); /* crosses it */
    CHECK_EQ(vmm_map(&s, a, PG_PHYS_LIMIT, PAGE, 0), VMM_EINVAL);
    const uint64_t high = 0x140000000ull; /* 5 GiB: only a 64-bit entry holds it */
    int rc = vmm_map(&s, a, high, PAGE, 0);
    if (PG_PHYS_LIMIT > high) {
        CHECK_EQ(rc, VMM_OK);
        struct vmm_page_info info;
        CHECK_EQ(vmm_query(&s, a, &info), VMM_OK);
        CHECK_EQ(info.frame, high);
        CHECK_EQ(vmm_unmap(&s, a, PAGE), VMM_OK);
    } else {
        CHECK_EQ(rc, VMM_EINVAL);
    }
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}
