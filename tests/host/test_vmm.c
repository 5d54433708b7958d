/*
 * tests/host/test_vmm.c - the VMM's page-table layer on the simulated
 * machine: vmm_init, spaces (create / destroy returns every frame / switch),
 * the shared kernel half, page-level map / unmap / query, the fault path,
 * TLB invalidation (checked against a simulated TLB that keeps stale
 * entries), page-table reaping and the consistency checker.
 */
#include "harness.h"
#include "vmm_sim.h"

#include "mm/pte.h"
#include "mm/host/port_linux.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "mm/vmm_internal.h" /* VMM_KTOP0, VMM_KTOP_COUNT */

#include <string.h>

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define RAM (32u * MIB)
#define MARGIN 16u
#define UW (VMM_ACCESS_USER | VMM_ACCESS_WRITE)
/* User tables on the way to a page of a fresh space: one per level below the top. */
#define PATH_TABLES (PG_LEVELS - 1u)
/* A kernel-half address inside the boot's low map (the image at 1 MiB). */
#define KERNEL_IMAGE_VA (VMM_KERNEL_BASE + 0x100000u)

static void boot(enum vmm_policy policy)
{
    vmm_sim_boot(RAM, policy, MARGIN, 0);
    mm_host_reset_reports();
}

/* A user space, loaded. */
static void make_current_space(struct vmm_space *s)
{
    if (vmm_space_create(s) != VMM_OK)
        harness_fail(__FILE__, __LINE__, "vmm_space_create failed");
    vmm_space_switch(s);
}

/* Reserve [addr, addr + pages) with prot and flags; fail the test on error. */
#define RESERVE(s, addr, pages, prot, flags)                                                       \
    do {                                                                                           \
        uintptr_t a_ = (addr);                                                                     \
        CHECK_EQ(vmm_reserve((s), &a_, (size_t)(pages)*PAGE, (prot), (flags)), VMM_OK);            \
        CHECK_EQ(a_, (addr));                                                                      \
    } while (0)

static enum vmm_page_state page_state(struct vmm_space *s, uintptr_t va)
{
    struct vmm_page_info info;
    vmm_query(s, va, &info);
    return info.state;
}

/* The leaf table mapping va in s, read through the simulated memory (NULL if missing). */
static pte_t *leaf_table(struct vmm_space *s, uintptr_t va)
{
    pte_t e = PTE_PRESENT | (pte_t)s->page_directory;
    for (unsigned l = PG_LEVELS; l-- > 1;) {
        e = ((pte_t *)vmm_sim_phys((uint32_t)pte_frame(e)))[pg_index(va, l)];
        if (!pte_present(e))
            return NULL;
    }
    return vmm_sim_phys((uint32_t)pte_frame(e));
}

static uint64_t page_pte(struct vmm_space *s, uintptr_t va)
{
    struct vmm_page_info info;
    vmm_query(s, va, &info);
    return info.pte;
}

/* ------------------------------------------------------------------ init */

TEST(init_builds_the_kernel_half_once)
{
    size_t before;
    vmm_sim_power_on(RAM);
    before = pmm_free_frames();
    const pte_t *pd = vmm_sim_phys(VMM_SIM_BOOT_PD);
    unsigned boot_made = 0; /* kernel top-level entries the boot tables already have */
    for (unsigned i = VMM_KTOP0; i < PT_ENTRIES; i++)
        boot_made += pte_present(pd[i]);
    struct vmm_boot b = {
        .page_directory = 0, .flags = 0, .policy = VMM_POLICY_STRICT, .commit_margin = MARGIN};
    CHECK_EQ(vmm_init(&b), VMM_OK);
    CHECK_EQ(vmm_init(&b), VMM_EINVAL); /* once */

    struct vmm_stats st;
    vmm_get_stats(&st);
    /* 256 kernel top-level entries, minus those the boot tables had (i386: the 4
     * low-map tables and the window table; x86-64: the low map's and the windows' PDPTs) */
    CHECK_EQ(st.kernel_page_tables, VMM_KTOP_COUNT - boot_made);
    CHECK_EQ(before - pmm_free_frames(), st.kernel_page_tables);

    for (unsigned i = 0; i < VMM_KTOP0; i++)
        CHECK_EQ(pd[i], 0u); /* the boot identity map is gone */
    for (unsigned i = VMM_KTOP0; i < PT_ENTRIES; i++)
        CHECK(pd[i] & PTE_PRESENT);
    CHECK_EQ(pd[pde_index(VMM_KERNEL_BASE)] & PTE_FRAME_MASK, VMM_SIM_BOOT_PD + PAGE);

    struct vmm_space *k = vmm_kernel_space();
    struct vmm_page_info info;
    CHECK_EQ(vmm_query(k, KERNEL_IMAGE_VA, &info), VMM_OK);
    CHECK_EQ(info.state, VMM_PAGE_MAPPED);
    CHECK_EQ(info.frame, 0x100000u);
    CHECK_EQ(vmm_query(NULL, KERNEL_IMAGE_VA, &info), VMM_OK); /* kernel half: any space */
    struct vmm_region_info ri;
    CHECK_EQ(vmm_query_region(k, VMM_WINDOW_START, &ri), VMM_OK);
    CHECK(ri.flags & VMM_REGION_FOREIGN);
    CHECK_EQ(vmm_map(k, VMM_KERNEL_BASE + 0xF00000u, 0x200000u, PAGE, 0), VMM_EPERM); /* boot's */
    CHECK_EQ(vmm_release(k, VMM_KERNEL_BASE, PAGE), VMM_EPERM);
    CHECK_EQ(vmm_current_space(), k);
    CHECK_EQ(vmm_check(k), 0);
    CHECK_EQ(vmm_sim_counters.kmap_depth_max <= 2, 1);
    vmm_sim_power_off();
}

TEST(init_fails_cleanly_without_frames)
{
    vmm_sim_power_on(16 * MIB);
    /* take every frame: no kernel page table can be made */
    size_t taken = 0;
    static pmm_paddr_t frames[16 * MIB / PAGE];
    for (pmm_paddr_t f; (f = pmm_alloc(PMM_NORECLAIM)) != PMM_NONE;)
        frames[taken++] = f;
    for (size_t i = 0; i < 100; i++)
        pmm_free(frames[--taken]); /* leave 100: not enough for 251 tables */
    size_t free_before = pmm_free_frames();
    struct vmm_boot b = {.policy = VMM_POLICY_STRICT, .commit_margin = 1};
    CHECK_EQ(vmm_init(&b), VMM_ENOMEM);
    CHECK_EQ(pmm_free_frames(), free_before);
    const pte_t *pd = vmm_sim_phys(VMM_SIM_BOOT_PD);
    CHECK_EQ(pd[pde_index(VMM_KREGION_START)], 0u); /* nothing left half-built */
    while (taken)
        pmm_free(frames[--taken]);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ spaces */

TEST(space_create_shares_the_kernel_half)
{
    struct vmm_space a;
    boot(VMM_POLICY_STRICT);
    size_t before = pmm_free_frames();
    CHECK_EQ(vmm_space_create(&a), VMM_OK);
    CHECK_EQ(before - pmm_free_frames(), 1u); /* just the directory */
    const pte_t *boot_pd = vmm_sim_phys(VMM_SIM_BOOT_PD);
    const pte_t *pd = vmm_sim_phys((uint32_t)a.page_directory);
    for (unsigned i = 0; i < VMM_KTOP0; i++)
        CHECK_EQ(pd[i], 0u);
    CHECK(memcmp(pd + VMM_KTOP0, boot_pd + VMM_KTOP0, VMM_KTOP_COUNT * sizeof(pte_t)) == 0);
    vmm_space_destroy(&a);
    CHECK_EQ(pmm_free_frames(), before);
    vmm_sim_power_off();
}

TEST(kernel_mapping_made_in_one_space_is_seen_in_all)
{
    struct vmm_space a, b;
    boot(VMM_POLICY_STRICT);
    CHECK_EQ(vmm_space_create(&a), VMM_OK);
    CHECK_EQ(vmm_space_create(&b), VMM_OK);
    vmm_space_switch(&a);
    uintptr_t k = 0;
    CHECK_EQ(vmm_reserve(vmm_kernel_space(), &k, 4 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT),
             VMM_OK);
    CHECK(k >= VMM_KREGION_START && k < VMM_KREGION_END);
    CHECK_EQ(vmm_sim_write8(&a, k + PAGE + 7, 0x5A, false), 0); /* lazily backed from space a */
    vmm_space_switch(&b);
    uint8_t v = 0;
    CHECK_EQ(vmm_sim_read8(&b, k + PAGE + 7, &v, false), 0);
    CHECK_EQ(v, 0x5A);
    struct vmm_page_info ia, ib;
    vmm_query(&a, k + PAGE, &ia);
    vmm_query(&b, k + PAGE, &ib);
    CHECK_EQ(ia.frame, ib.frame);
    CHECK_EQ(ia.state, VMM_PAGE_BACKED);
    /* a user-half reservation made in a is not in b */
    RESERVE(&a, 0x10000000u, 1, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    CHECK_EQ(page_state(&b, 0x10000000u), VMM_PAGE_FREE);
    vmm_space_destroy(&a);
    vmm_space_destroy(&b);
    CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
    vmm_sim_power_off();
}

/* Fill a space with every kind of frame the VMM can hold. */
static void populate(struct vmm_space *s, pmm_paddr_t *foreign)
{
    RESERVE(s, 0x00400000u, 16, VMM_PROT_RW, VMM_RESERVE_COMMIT); /* lazy */
    RESERVE(s, 0x10000000u, 8, VMM_PROT_RW, VMM_RESERVE_COMMIT | VMM_RESERVE_EAGER);
    RESERVE(s, 0x7FFF0000u, 4, VMM_PROT_READ, VMM_RESERVE_COMMIT | VMM_RESERVE_GUARD_LOW);
    RESERVE(s, 0xBFF00000u, 4, VMM_PROT_RW, VMM_RESERVE_MAPPED);
    RESERVE(s, 0x20000000u, 1024, VMM_PROT_RW, 0); /* reserved only */
    for (unsigned i = 0; i < 16; i += 3)
        CHECK_EQ(vmm_sim_write8(s, 0x00400000u + i * PAGE, (uint8_t)i, true), 0);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(s, 0x7FFF0000u, &v, true), 0);
    CHECK_EQ(vmm_decommit(s, 0x00400000u, 2 * PAGE, VMM_DECOMMIT_KEEP), VMM_OK);
    CHECK_EQ(vmm_protect(s, 0x10000000u + PAGE, PAGE, VMM_PROT_NONE), VMM_OK); /* hidden frame */
    pmm_paddr_t own = pmm_alloc(0);
    *foreign = pmm_alloc(0);
    CHECK_EQ(vmm_map(s, 0xBFF00000u, own, PAGE, VMM_MAP_OWN), VMM_OK);
    CHECK_EQ(vmm_map(s, 0xBFF01000u, *foreign, PAGE, 0), VMM_OK);
}

TEST(destroy_returns_every_frame_under_both_policies)
{
    for (int policy = VMM_POLICY_STRICT; policy <= VMM_POLICY_OVERCOMMIT; policy++) {
        struct vmm_space s;
        pmm_paddr_t foreign = PMM_NONE;
        boot((enum vmm_policy)policy);
        size_t before = pmm_free_frames();
        make_current_space(&s);
        populate(&s, &foreign);
        CHECK_EQ(vmm_check(&s), 0);
        struct vmm_space_stats ss;
        vmm_space_get_stats(&s, &ss);
        CHECK(ss.backed >= 8 + 1 + 4);
        CHECK(ss.page_tables >= 4);
        CHECK_EQ(ss.mapped, 2u);
        CHECK(pmm_free_frames() < before);

        vmm_space_destroy(&s);
        CHECK_EQ(mm_current_page_directory(), vmm_kernel_space()->page_directory);
        CHECK_EQ(pmm_free_frames(), before - 1); /* all but the frame mapped without OWN */
        CHECK_EQ(pmm_refcount(foreign), 1u);
        pmm_free(foreign);
        CHECK_EQ(pmm_free_frames(), before);
        struct vmm_stats st;
        vmm_get_stats(&st);
        CHECK_EQ(st.committed, 0u);
        CHECK_EQ(st.backed, 0u);
        CHECK_EQ(st.page_tables, 0u);
        CHECK_EQ(pmm_check(), 0);
        vmm_sim_power_off();
    }
}

TEST(destroy_refuses_the_kernel_space)
{
    boot(VMM_POLICY_STRICT);
    mm_host_print_reports(0);
    vmm_space_destroy(vmm_kernel_space());
    CHECK_EQ(mm_host_report_count(), 1u);
    CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
    mm_host_print_reports(1);
    vmm_sim_power_off();
}

TEST(switch_loads_cr3_only_when_needed)
{
    struct vmm_space a;
    boot(VMM_POLICY_STRICT);
    CHECK_EQ(vmm_space_create(&a), VMM_OK);
    vmm_space_switch(&a);
    CHECK_EQ(vmm_sim_counters.cr3_loads, 1u);
    CHECK_EQ(mm_current_page_directory(), a.page_directory);
    vmm_space_switch(&a);
    CHECK_EQ(vmm_sim_counters.cr3_loads, 1u);
    CHECK_EQ(vmm_current_space(), &a);
    vmm_space_switch(vmm_kernel_space());
    CHECK_EQ(vmm_sim_counters.cr3_loads, 2u);
    vmm_space_destroy(&a);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ faults */

TEST(lazy_commit_backs_zeroed_frames_on_first_touch)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    size_t before = pmm_free_frames();
    RESERVE(&s, 0x00800000u, 4, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    CHECK_EQ(before - pmm_free_frames(), PATH_TABLES); /* STRICT: the tables, no page */
    CHECK_EQ(page_state(&s, 0x00801000u), VMM_PAGE_COMMITTED);
    CHECK(pte_is_lazy(page_pte(&s, 0x00801000u)));

    uint8_t v = 0xFF;
    CHECK_EQ(vmm_sim_read8(&s, 0x00801FFFu, &v, true), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(page_state(&s, 0x00801000u), VMM_PAGE_BACKED);
    CHECK_EQ(before - pmm_free_frames(), PATH_TABLES + 1);
    CHECK_EQ(vmm_sim_write8(&s, 0x00801000u, 0x77, true), 0);
    CHECK_EQ(vmm_sim_read8(&s, 0x00801000u, &v, true), 0);
    CHECK_EQ(v, 0x77);
    uint64_t e = page_pte(&s, 0x00801000u);
    CHECK(e & PTE_USER);
    CHECK(e & PTE_WRITABLE);
    CHECK(e & PTE_OWNED);
    CHECK(!(e & PTE_GLOBAL));

    /* discard: the frame goes, the page stays committed and comes back zeroed */
    CHECK_EQ(vmm_decommit(&s, 0x00801000u, PAGE, VMM_DECOMMIT_KEEP), VMM_OK);
    CHECK_EQ(page_state(&s, 0x00801000u), VMM_PAGE_COMMITTED);
    CHECK_EQ(before - pmm_free_frames(), PATH_TABLES);
    CHECK_EQ(vmm_sim_read8(&s, 0x00801000u, &v, true), 0);
    CHECK_EQ(v, 0);

    struct vmm_space_stats ss;
    vmm_space_get_stats(&s, &ss);
    CHECK_EQ(ss.faults_resolved, 2u);
    CHECK_EQ(ss.committed, 4u);
    CHECK_EQ(ss.backed, 1u);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(fault_reasons)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    RESERVE(&s, 0x01000000u, 2, VMM_PROT_RW, 0);
    RESERVE(&s, 0x01100000u, 2, VMM_PROT_READ, VMM_RESERVE_COMMIT | VMM_RESERVE_GUARD_LOW);
    RESERVE(&s, 0x01200000u, 2, VMM_PROT_NONE, VMM_RESERVE_COMMIT);
    uint8_t v;

    CHECK_EQ(vmm_sim_read8(&s, 0x00002000u, &v, true), VMM_FAULT_UNMAPPED);
    CHECK_EQ(vmm_sim_read8(&s, 0x00000010u, &v, true), VMM_FAULT_NULL);
    CHECK_EQ(vmm_sim_read8(&s, 0x01000000u, &v, true), VMM_FAULT_NOT_COMMITTED);
    CHECK_EQ(vmm_sim_read8(&s, 0x01100000u, &v, true), 0);
    CHECK_EQ(vmm_sim_write8(&s, 0x01100000u, 1, true), VMM_FAULT_PROTECTION); /* present, RO */
    CHECK_EQ(vmm_sim_write8(&s, 0x01101000u, 1, true), VMM_FAULT_PROTECTION); /* lazy, RO */
    CHECK_EQ(page_state(&s, 0x01101000u), VMM_PAGE_COMMITTED); /* not backed by the failure */
    CHECK_EQ(vmm_sim_read8(&s, 0x010FF000u, &v, true), VMM_FAULT_GUARD);
    CHECK_EQ(vmm_sim_read8(&s, 0x01200000u, &v, true), VMM_FAULT_PROTECTION);
    CHECK_EQ(vmm_sim_read8(&s, KERNEL_IMAGE_VA, &v, true), VMM_FAULT_KERNEL_ADDRESS);
    CHECK_EQ(vmm_sim_read8(&s, VMM_KREGION_START + 0x08000000u, &v, false), VMM_FAULT_UNMAPPED);
    CHECK_EQ(vmm_handle_fault(&s, 0x01100000u, VMM_ACCESS_RSVD | VMM_ACCESS_PRESENT),
             VMM_FAULT_BAD_ENTRY);
    /* the kernel touching committed user memory (a user copy) resolves it */
    RESERVE(&s, 0x01300000u, 1, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    CHECK_EQ(vmm_sim_write8(&s, 0x01300000u, 9, false), 0);

    const int codes[] = {VMM_FAULT_RESOLVED,       VMM_FAULT_UNMAPPED, VMM_FAULT_NOT_COMMITTED,
                         VMM_FAULT_PROTECTION,     VMM_FAULT_GUARD,    VMM_FAULT_NOMEM,
                         VMM_FAULT_KERNEL_ADDRESS, VMM_FAULT_NULL,     VMM_FAULT_BAD_ENTRY};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(vmm_fault_reason(codes[i]), vmm_fault_reason(codes[j])) != 0);
    CHECK(strcmp(vmm_fault_reason(12345), "unknown fault code") == 0);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(kernel_region_faults_resolve_in_any_space)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    void *p = vmm_pages_alloc(4, VMM_PAGES_LAZY);
    CHECK(p != NULL);
    uintptr_t k = (uintptr_t)p;
    CHECK_EQ(page_state(&s, k), VMM_PAGE_COMMITTED);
    CHECK_EQ(vmm_sim_write8(&s, k + 3 * PAGE, 1, false), 0);
    CHECK_EQ(page_state(vmm_kernel_space(), k + 3 * PAGE), VMM_PAGE_BACKED);
    struct vmm_space_stats ks;
    vmm_space_get_stats(vmm_kernel_space(), &ks);
    CHECK_EQ(ks.faults_resolved, 1u); /* counted where the region lives */
    vmm_pages_free(p);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(spurious_fault_from_a_stale_tlb_entry_is_flushed)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    RESERVE(&s, 0x00400000u, 1, VMM_PROT_READ, VMM_RESERVE_COMMIT);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, 0x00400000u, &v, true), 0); /* TLB: read-only entry */
    /* someone made the entry writable without a flush (another CPU, a lazy upgrade) */
    pte_t *e = &leaf_table(&s, 0x00400000u)[pte_index(0x00400000u)];
    *e |= PTE_WRITABLE;
    vmm_sim_reset_counters();
    CHECK_EQ(vmm_sim_write8(&s, 0x00400000u, 3, true), 0);
    CHECK(vmm_sim_flushed(0x00400000u));
    struct vmm_stats st;
    vmm_get_stats(&st);
    CHECK_EQ(st.faults_spurious, 1u);
    *e &= ~PTE_WRITABLE; /* put it back so vmm_check agrees */
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ TLB */

static void touch_pages(struct vmm_space *s, uintptr_t va, unsigned pages)
{
    for (unsigned i = 0; i < pages; i++)
        if (vmm_sim_write8(s, va + i * PAGE, (uint8_t)i, true) != 0)
            harness_fail(__FILE__, __LINE__, "touch of 0x%lx failed", (unsigned long)va);
}

TEST(tlb_invlpg_for_a_few_pages)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    RESERVE(&s, 0x00400000u, 3, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    touch_pages(&s, 0x00400000u, 3);
    CHECK(vmm_sim_tlb_has(0x00401000u));
    vmm_sim_reset_counters();
    CHECK_EQ(vmm_protect(&s, 0x00401000u, PAGE, VMM_PROT_READ), VMM_OK);
    CHECK_EQ(vmm_sim_counters.flush_page, 1u);
    CHECK_EQ(vmm_sim_counters.flush_all, 0u);
    CHECK(vmm_sim_flushed(0x00401000u));
    CHECK(!vmm_sim_flushed(0x00400000u));
    /* without that invlpg the simulated TLB would still allow this write */
    CHECK_EQ(vmm_sim_write8(&s, 0x00401000u, 1, true), VMM_FAULT_PROTECTION);
    CHECK_EQ(vmm_sim_write8(&s, 0x00402000u, 1, true), 0);

    vmm_sim_reset_counters();
    CHECK_EQ(vmm_release(&s, 0x00400000u, 3 * PAGE), VMM_OK);
    /* the page table went too: one full flush at the end of the operation replaces the invlpgs */
    CHECK_EQ(vmm_sim_counters.flush_all, 1u);
    CHECK_EQ(vmm_sim_counters.flush_page, 0u);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, 0x00400000u, &v, true), VMM_FAULT_UNMAPPED);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(tlb_one_full_flush_when_cheaper)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    RESERVE(&s, 0x00400000u, 64, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    touch_pages(&s, 0x00400000u, 64);
    vmm_sim_reset_counters();
    CHECK_EQ(vmm_protect(&s, 0x00400000u, 64 * PAGE, VMM_PROT_READ), VMM_OK);
    CHECK_EQ(vmm_sim_counters.flush_page, 0u);
    CHECK_EQ(vmm_sim_counters.flush_all, 1u);
    for (unsigned i = 0; i < 64; i++)
        CHECK_EQ(vmm_sim_write8(&s, 0x00400000u + i * PAGE, 1, true), VMM_FAULT_PROTECTION);
    struct vmm_stats st;
    vmm_get_stats(&st);
    CHECK(st.tlb_full >= 1);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(tlb_untouched_when_the_space_is_not_loaded)
{
    struct vmm_space a, b;
    boot(VMM_POLICY_STRICT);
    make_current_space(&b);
    RESERVE(&b, 0x00400000u, 4, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    touch_pages(&b, 0x00400000u, 4);
    make_current_space(&a);
    vmm_sim_reset_counters();
    CHECK_EQ(vmm_protect(&b, 0x00400000u, 4 * PAGE, VMM_PROT_READ), VMM_OK);
    CHECK_EQ(vmm_decommit(&b, 0x00401000u, PAGE, 0), VMM_OK);
    CHECK_EQ(vmm_sim_counters.flush_page + vmm_sim_counters.flush_all, 0u);
    vmm_space_switch(&b);
    CHECK_EQ(vmm_sim_write8(&b, 0x00400000u, 1, true), VMM_FAULT_PROTECTION);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&b, 0x00400000u, &v, true), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(vmm_sim_read8(&b, 0x00401000u, &v, true), VMM_FAULT_NOT_COMMITTED);
    vmm_space_destroy(&a);
    vmm_space_destroy(&b);
    vmm_sim_power_off();
}

TEST(tlb_kernel_half_uses_global_entries)
{
    struct vmm_space a;
    vmm_sim_boot(RAM, VMM_POLICY_STRICT, MARGIN, VMM_BOOT_GLOBAL);
    void *small = vmm_pages_alloc(4, 0), *big = vmm_pages_alloc(64, 0);
    CHECK(small && big);
    CHECK(page_pte(NULL, (uintptr_t)small) & PTE_GLOBAL);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(vmm_kernel_space(), (uintptr_t)small, &v, false), 0);
    CHECK_EQ(vmm_space_create(&a), VMM_OK);
    vmm_space_switch(&a);
    CHECK(vmm_sim_tlb_has((uintptr_t)small)); /* survived the CR3 load */
    vmm_sim_reset_counters();
    vmm_pages_free(small);
    CHECK_EQ(vmm_sim_counters.flush_page, 4u);
    CHECK(!vmm_sim_tlb_has((uintptr_t)small));
    CHECK_EQ(vmm_sim_read8(&a, (uintptr_t)small, &v, false), VMM_FAULT_UNMAPPED);
    for (unsigned i = 0; i < 64; i++)
        CHECK_EQ(vmm_sim_read8(&a, (uintptr_t)big + i * PAGE, &v, false), 0);
    vmm_sim_reset_counters();
    vmm_pages_free(big); /* 64 pages: one flush, and it must include global entries */
    CHECK_EQ(vmm_sim_counters.flush_global, 1u);
    CHECK_EQ(vmm_sim_counters.flush_page, 0u);
    CHECK_EQ(vmm_sim_read8(&a, (uintptr_t)big, &v, false), VMM_FAULT_UNMAPPED);
    vmm_space_destroy(&a);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ page-level mappings */

TEST(map_unmap_query_pages)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    RESERVE(&s, 0x40000000u, 4, VMM_PROT_RW, VMM_RESERVE_MAPPED);
    RESERVE(&s, 0x40100000u, 1, VMM_PROT_RW, 0);
    pmm_paddr_t own = pmm_alloc(0), dev = pmm_alloc(0);
    memset(vmm_sim_phys(dev), 0xAB, PAGE);

    CHECK_EQ(vmm_map(&s, 0x40000000u, own, PAGE, VMM_MAP_OWN), VMM_OK);
    CHECK_EQ(vmm_map(&s, 0x40001000u, dev, PAGE, VMM_MAP_NOCACHE), VMM_OK);
    CHECK_EQ(vmm_map(&s, 0x40001000u, dev, PAGE, 0), VMM_EEXIST);
    CHECK_EQ(vmm_map(&s, 0x40000000u, dev, 2 * PAGE, 0), VMM_EEXIST);
    CHECK_EQ(vmm_map(&s, 0x40100000u, dev, PAGE, 0), VMM_EPERM);      /* not a MAPPED region */
    CHECK_EQ(vmm_map(&s, 0x40200000u, dev, PAGE, 0), VMM_ENOENT);     /* not reserved */
    CHECK_EQ(vmm_map(&s, 0x40003000u, dev, 2 * PAGE, 0), VMM_ENOENT); /* runs past the end */
    CHECK_EQ(vmm_map(&s, 0x40002000u, dev + 1, PAGE, 0), VMM_EINVAL);
    CHECK_EQ(vmm_map(&s, 0x40002000u, dev, PAGE, 0x80), VMM_EINVAL);

    struct vmm_page_info info;
    CHECK_EQ(vmm_query(&s, 0x40001234u, &info), VMM_OK);
    CHECK_EQ(info.state, VMM_PAGE_MAPPED);
    CHECK_EQ(info.frame, dev);
    CHECK(info.pte & PTE_NOCACHE);
    CHECK_EQ(page_state(&s, 0x40002000u), VMM_PAGE_UNMAPPED);
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, 0x40001010u, &v, true), 0);
    CHECK_EQ(v, 0xAB);
    CHECK_EQ(vmm_sim_read8(&s, 0x40002000u, &v, true), VMM_FAULT_UNMAPPED);

    /* protection NONE keeps the frame; back to RW finds the data */
    CHECK_EQ(vmm_protect(&s, 0x40001000u, PAGE, VMM_PROT_NONE), VMM_OK);
    CHECK_EQ(vmm_sim_read8(&s, 0x40001010u, &v, true), VMM_FAULT_PROTECTION);
    CHECK_EQ(page_state(&s, 0x40001000u), VMM_PAGE_MAPPED);
    CHECK_EQ(vmm_protect(&s, 0x40001000u, PAGE, VMM_PROT_RW), VMM_OK);
    CHECK_EQ(vmm_sim_read8(&s, 0x40001010u, &v, true), 0);
    CHECK_EQ(v, 0xAB);
    CHECK(page_pte(&s, 0x40001000u) & PTE_NOCACHE); /* protect keeps cache bits */
    CHECK_EQ(vmm_check(&s), 0);

    CHECK_EQ(vmm_unmap(&s, 0x40000000u, 4 * PAGE), VMM_OK);
    CHECK_EQ(pmm_refcount(own), 0u); /* owned: freed */
    CHECK_EQ(pmm_refcount(dev), 1u); /* the caller's */
    CHECK_EQ(vmm_unmap(&s, 0x40100000u, PAGE), VMM_EPERM);
    CHECK_EQ(page_state(&s, 0x40000000u), VMM_PAGE_UNMAPPED);
    pmm_free(dev);
    CHECK_EQ(vmm_check(&s), 0);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(kernel_boot_map_area_takes_page_mappings)
{
    boot(VMM_POLICY_STRICT);
    struct vmm_space *k = vmm_kernel_space();
    pmm_paddr_t f = pmm_alloc(0);
    CHECK_EQ(vmm_map(k, VMM_BOOTMAP_START + 64 * PAGE, f, PAGE, VMM_MAP_OWN), VMM_OK);
    uint8_t v;
    CHECK_EQ(vmm_sim_write8(k, VMM_BOOTMAP_START + 64 * PAGE, 5, false), 0);
    CHECK_EQ(vmm_sim_read8(k, VMM_BOOTMAP_START + 64 * PAGE, &v, false), 0);
    CHECK_EQ(v, 5);
    CHECK_EQ(vmm_check(k), 0);
    CHECK_EQ(vmm_unmap(k, VMM_BOOTMAP_START + 64 * PAGE, PAGE), VMM_OK);
    CHECK_EQ(pmm_refcount(f), 0u);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ page tables */

TEST(overcommit_creates_page_tables_on_fault)
{
    struct vmm_space s;
    boot(VMM_POLICY_OVERCOMMIT);
    make_current_space(&s);
    size_t before = pmm_free_frames();
    RESERVE(&s, 0x10000000u, 16384, VMM_PROT_RW, VMM_RESERVE_COMMIT); /* 64 MiB > RAM */
    CHECK_EQ(pmm_free_frames(), before); /* no frame, not even a page table */
    CHECK_EQ(page_state(&s, 0x12345000u), VMM_PAGE_COMMITTED);
    CHECK_EQ(page_pte(&s, 0x12345000u), 0u);
    CHECK_EQ(vmm_sim_write8(&s, 0x12345000u, 1, true), 0);
    CHECK_EQ(before - pmm_free_frames(), PATH_TABLES + 1); /* its tables (leaf filled from the tree) + the page */
    CHECK(pte_is_lazy(page_pte(&s, 0x12346000u)));
    CHECK_EQ(vmm_check(&s), 0);
    CHECK_EQ(vmm_release(&s, 0x10000000u, 16384 * PAGE), VMM_OK);
    CHECK_EQ(pmm_free_frames(), before);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(strict_commit_creates_page_tables_up_front)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    size_t before = pmm_free_frames();
    RESERVE(&s, 0x003FF000u, 1026, VMM_PROT_RW, VMM_RESERVE_COMMIT); /* crosses leaf chunks */
    const uintptr_t first = 0x003FF000u, last = first + 1025 * PAGE;
    const size_t tables = (last / PT_SPAN - first / PT_SPAN + 1) + (PG_LEVELS - 2u); /* i386: 3 */
    CHECK_EQ(before - pmm_free_frames(), tables);
    struct vmm_space_stats ss;
    vmm_space_get_stats(&s, &ss);
    CHECK_EQ(ss.page_tables, tables);
    CHECK_EQ(vmm_decommit(&s, 0x003FF000u, 1026 * PAGE, 0), VMM_OK);
    CHECK_EQ(pmm_free_frames(), before); /* empty tables went back */
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(release_reaps_only_empty_page_tables)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    size_t before = pmm_free_frames();
    RESERVE(&s, 0x00400000u, 2, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    RESERVE(&s, 0x00402000u, 2, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    touch_pages(&s, 0x00400000u, 4);
    CHECK_EQ(before - pmm_free_frames(), PATH_TABLES + 4);
    CHECK_EQ(vmm_release(&s, 0x00400000u, 2 * PAGE), VMM_OK);
    CHECK_EQ(before - pmm_free_frames(), PATH_TABLES + 2); /* the tables still serve the neighbour */
    uint8_t v;
    CHECK_EQ(vmm_sim_read8(&s, 0x00402000u, &v, true), 0);
    CHECK_EQ(v, 2);
    CHECK_EQ(vmm_release(&s, 0x00402000u, 2 * PAGE), VMM_OK);
    CHECK_EQ(pmm_free_frames(), before);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

/* ------------------------------------------------------------------ the checker */

TEST(check_finds_entries_that_disagree)
{
    struct vmm_space s;
    boot(VMM_POLICY_STRICT);
    make_current_space(&s);
    RESERVE(&s, 0x00400000u, 4, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    RESERVE(&s, 0x00404000u, 4, VMM_PROT_RW, 0);
    touch_pages(&s, 0x00400000u, 1);
    CHECK_EQ(vmm_check(&s), 0);
    pte_t *table = leaf_table(&s, 0x00400000u) + pte_index(0x00400000u);
    mm_host_print_reports(0);

    pte_t saved = table[4]; /* a reserved page that claims to be committed */
    table[4] = PTE_LAZY | PTE_WRITABLE | PTE_USER;
    CHECK(vmm_check(&s) > 0);
    table[4] = saved;
    saved = table[0]; /* a backed page the VMM would not free */
    table[0] &= ~PTE_OWNED;
    CHECK(vmm_check(&s) > 0);
    table[0] = saved;
    table[100] = 0x12345000u | PTE_PRESENT; /* an entry outside every region */
    CHECK(vmm_check(&s) > 0);
    table[100] = 0;
    table[1] |= PTE_PRESENT; /* a lazy marker turned present: wrong kind */
    CHECK(vmm_check(&s) > 0);
    table[1] &= ~PTE_PRESENT;
    size_t reports = mm_host_report_count();
    CHECK(reports >= 4);
    CHECK_EQ(vmm_check(&s), 0);
    mm_host_print_reports(1);
    vmm_space_destroy(&s);
    vmm_sim_power_off();
}

TEST(kmap_windows_stay_nested_two_deep)
{
    struct vmm_space s;
    pmm_paddr_t foreign;
    boot(VMM_POLICY_OVERCOMMIT);
    make_current_space(&s);
    populate(&s, &foreign);
    vmm_space_destroy(&s);
    pmm_free(foreign);
    CHECK(vmm_sim_counters.kmap_depth_max <= 2);
    CHECK_EQ(vmm_sim_kmap_depth(), 0u);
    CHECK_EQ(vmm_sim_lock_depth(), 0u);
    vmm_sim_power_off();
}
