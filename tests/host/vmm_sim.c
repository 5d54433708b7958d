/*
 * tests/host/vmm_sim.c - the simulated machine behind the VMM's hosted tests
 * (see vmm_sim.h): physical RAM, boot page tables, a software MMU with a
 * TLB, and the VMM functions of mm/port.h.
 *
 * The port functions check the VMM's side of their contracts and abort on a
 * breach (an abort fails the test program loudly): mm_kmap of an unaligned
 * frame or outside RAM, more than two nested windows, mm_kunmap out of
 * order, a nested mm_lock_vmm, mm_kva_ptr of an unmapped kernel page.
 */
#include "tests/host/vmm_sim.h"
#include "mm/pte.h"
#include "mm/pmm.h"
#include "mm/port.h"
#include "mm/vmm_internal.h" /* vmm_g.ready: a new boot may call vmm_init again */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_PAGE 4096u
#define SIM_MAX_KMAPS 2u  /* the VMM promises no more (mm/port.h) */
#define SIM_TLB_SIZE 256u /* direct-mapped by page number */
#define SIM_LOWMAP_PTS 4u /* 16 MiB */

struct sim_tlb_entry {
    bool valid;
    uint32_t vpn;
    pte_t pde, pte;
};

struct vmm_sim_counters vmm_sim_counters;

static uint8_t *ram;
static size_t ram_bytes;
static void *pmm_metadata;
static uint32_t cr3;
static bool pge; /* global entries survive CR3 loads (VMM_BOOT_GLOBAL) */
static void *kmap_stack[SIM_MAX_KMAPS];
static unsigned kmap_depth;
static unsigned lock_depth;
static struct sim_tlb_entry tlb[SIM_TLB_SIZE];
static uint8_t flushed[(1u << 20) / 8]; /* one bit per virtual page */

__attribute__((noreturn, format(printf, 1, 2))) static void sim_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vmm_sim: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

void *vmm_sim_phys(uint32_t pa)
{
    if (!ram || pa >= ram_bytes)
        sim_die("physical address 0x%x outside RAM (%zu bytes)", pa, ram_bytes);
    return ram + pa;
}

static pte_t *sim_table(uint32_t frame)
{
    return vmm_sim_phys(frame & PTE_FRAME_MASK);
}

size_t vmm_sim_ram_bytes(void)
{
    return ram_bytes;
}

/* ------------------------------------------------------------------ TLB */

static void tlb_drop_nonglobal(void)
{
    for (unsigned i = 0; i < SIM_TLB_SIZE; i++)
        if (!(pge && (tlb[i].pte & PTE_GLOBAL)))
            tlb[i].valid = false;
}

void vmm_sim_tlb_clear(void)
{
    memset(tlb, 0, sizeof tlb);
}

bool vmm_sim_tlb_has(uintptr_t va)
{
    const struct sim_tlb_entry *t = &tlb[(va >> 12) % SIM_TLB_SIZE];
    return t->valid && t->vpn == (uint32_t)(va >> 12);
}

bool vmm_sim_flushed(uintptr_t va)
{
    uint32_t vpn = (uint32_t)(va >> 12);
    return flushed[vpn / 8] & (1u << (vpn % 8));
}

void vmm_sim_reset_counters(void)
{
    memset(&vmm_sim_counters, 0, sizeof vmm_sim_counters);
    memset(flushed, 0, sizeof flushed);
}

unsigned vmm_sim_kmap_depth(void)
{
    return kmap_depth;
}

unsigned vmm_sim_lock_depth(void)
{
    return lock_depth;
}

/* ------------------------------------------------------------------ the port (mm/port.h, VMM) */

void *mm_kmap(uint64_t frame)
{
    if (frame & (SIM_PAGE - 1) || frame >> 32)
        sim_die("mm_kmap(0x%llx): not a frame address", (unsigned long long)frame);
    if (kmap_depth == SIM_MAX_KMAPS)
        sim_die("mm_kmap(0x%llx): more than %u windows at once", (unsigned long long)frame,
                SIM_MAX_KMAPS);
    void *p = vmm_sim_phys((uint32_t)frame);
    kmap_stack[kmap_depth++] = p;
    vmm_sim_counters.kmaps++;
    if (kmap_depth > vmm_sim_counters.kmap_depth_max)
        vmm_sim_counters.kmap_depth_max = kmap_depth;
    return p;
}

void mm_kunmap(void *ptr)
{
    if (kmap_depth == 0 || kmap_stack[kmap_depth - 1] != ptr)
        sim_die("mm_kunmap(%p): not the last window mapped", ptr);
    kmap_depth--;
}

void *mm_kva_ptr(uintptr_t va)
{
    pte_t pde = sim_table(cr3)[pde_index(va)];
    if (va < VMM_KERNEL_BASE || !pte_present(pde))
        sim_die("mm_kva_ptr(0x%lx): no kernel page table", (unsigned long)va);
    pte_t pte = sim_table(pde)[pte_index(va)];
    if (!pte_present(pte))
        sim_die("mm_kva_ptr(0x%lx): page not mapped", (unsigned long)va);
    return vmm_sim_phys(pte_frame(pte) + (uint32_t)(va & (SIM_PAGE - 1)));
}

void mm_tlb_flush_page(uintptr_t va)
{
    uint32_t vpn = (uint32_t)(va >> 12);
    struct sim_tlb_entry *t = &tlb[vpn % SIM_TLB_SIZE];

    if (t->valid && t->vpn == vpn)
        t->valid = false;
    flushed[vpn / 8] |= (uint8_t)(1u << (vpn % 8));
    vmm_sim_counters.flush_page++;
}

void mm_tlb_flush_all(void)
{
    tlb_drop_nonglobal();
    vmm_sim_counters.flush_all++;
}

void mm_tlb_flush_global(void)
{
    vmm_sim_tlb_clear();
    vmm_sim_counters.flush_global++;
}

void mm_load_page_directory(uint64_t pd)
{
    if (pd & (SIM_PAGE - 1) || pd >> 32)
        sim_die("mm_load_page_directory(0x%llx): not a frame address", (unsigned long long)pd);
    (void)vmm_sim_phys((uint32_t)pd);
    cr3 = (uint32_t)pd;
    tlb_drop_nonglobal();
    vmm_sim_counters.cr3_loads++;
}

uint64_t mm_current_page_directory(void)
{
    return cr3;
}

void mm_lock_vmm(void)
{
    if (lock_depth)
        sim_die("mm_lock_vmm: taken twice (the VMM lock does not nest)");
    lock_depth++;
    vmm_sim_counters.lock_calls++;
}

void mm_unlock_vmm(void)
{
    if (!lock_depth)
        sim_die("mm_unlock_vmm: not held");
    lock_depth--;
}

/* ------------------------------------------------------------------ the MMU */

/* Do a directory entry and a table entry both allow the access?  (CR0.WP on.) */
static bool entries_allow(pte_t pde, pte_t pte, bool write, bool user)
{
    if (user && !((pde & PTE_USER) && (pte & PTE_USER)))
        return false;
    return !write || ((pde & PTE_WRITABLE) && (pte & PTE_WRITABLE));
}

/* A page walk through memory; fills the TLB.  0 or the fault code. */
static unsigned walk(uint32_t vpn, bool write, bool user, struct sim_tlb_entry *t)
{
    unsigned code = VMM_SIM_FAULT | (write ? 2u : 0u) | (user ? 4u : 0u);
    pte_t *pde = &sim_table(cr3)[vpn >> 10];

    if (!pte_present(*pde))
        return code;
    pte_t *pte = &sim_table(*pde)[vpn & 1023];
    if (!pte_present(*pte))
        return code;
    if (!entries_allow(*pde, *pte, write, user))
        return code | 1u;
    /* the CPU sets these itself; the VMM must keep or ignore them */
    *pde |= PTE_ACCESSED;
    *pte |= PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    *t = (struct sim_tlb_entry){true, vpn, *pde, *pte};
    return 0;
}

unsigned vmm_sim_translate(uintptr_t va, unsigned access, void **host)
{
    bool write = access & VMM_ACCESS_WRITE, user = access & VMM_ACCESS_USER;
    uint32_t vpn = (uint32_t)(va >> 12);
    struct sim_tlb_entry *t = &tlb[vpn % SIM_TLB_SIZE];

    if (va > 0xFFFFFFFFu)
        sim_die("translate(0x%lx): not a 32-bit address", (unsigned long)va);
    bool hit = t->valid && t->vpn == vpn;
    if (hit) {
        /* a hit is used as it is, stale or not: that is the point */
        vmm_sim_counters.tlb_hits++;
        if (!entries_allow(t->pde, t->pte, write, user))
            return VMM_SIM_FAULT | 1u | (write ? 2u : 0u) | (user ? 4u : 0u);
    }
    if (!hit || (write && !(t->pte & PTE_DIRTY))) {
        /* a miss, or the first write through an entry: the CPU walks (and sets D) */
        vmm_sim_counters.tlb_misses += !hit;
        unsigned code = walk(vpn, write, user, t);
        if (code)
            return code;
    }
    *host = vmm_sim_phys(pte_frame(t->pte) + (uint32_t)(va & (SIM_PAGE - 1)));
    return 0;
}

int vmm_sim_access(struct vmm_space *space, uintptr_t va, unsigned access, void **host)
{
    unsigned code = vmm_sim_translate(va, access, host);

    if (!code)
        return 0;
    int rc = vmm_handle_fault(space, va, code & 0x1Fu);
    if (rc != VMM_FAULT_RESOLVED)
        return rc;
    code = vmm_sim_translate(va, access, host);
    if (code)
        sim_die("access 0x%lx faults again (code 0x%x) after the handler resolved it",
                (unsigned long)va, code);
    return 0;
}

int vmm_sim_write8(struct vmm_space *space, uintptr_t va, uint8_t value, bool user)
{
    void *host;
    int rc = vmm_sim_access(space, va, VMM_ACCESS_WRITE | (user ? VMM_ACCESS_USER : 0), &host);

    if (rc == 0)
        *(uint8_t *)host = value;
    return rc;
}

int vmm_sim_read8(struct vmm_space *space, uintptr_t va, uint8_t *value, bool user)
{
    void *host;
    int rc = vmm_sim_access(space, va, user ? VMM_ACCESS_USER : 0, &host);

    if (rc == 0)
        *value = *(uint8_t *)host;
    return rc;
}

/* ------------------------------------------------------------------ power */

/* What boot/entry.asm and paging_early_init build: low map (twice) and window table. */
static void build_boot_tables(void)
{
    pte_t *pd = vmm_sim_phys(VMM_SIM_BOOT_PD);

    for (uint32_t t = 0; t < SIM_LOWMAP_PTS; t++) {
        uint32_t pt_pa = VMM_SIM_BOOT_PD + (t + 1) * SIM_PAGE;
        pte_t *pt = vmm_sim_phys(pt_pa);
        for (uint32_t i = 0; i < PT_ENTRIES; i++)
            pt[i] = pte_make((t * PT_ENTRIES + i) * SIM_PAGE, PTE_PRESENT | PTE_WRITABLE);
        pd[t] = pte_make(pt_pa, PTE_PRESENT | PTE_WRITABLE);
        pd[pde_index(VMM_KERNEL_BASE) + t] = pd[t];
    }
    uint32_t window_pt = VMM_SIM_BOOT_PD + (SIM_LOWMAP_PTS + 1) * SIM_PAGE;
    pd[pde_index(VMM_WINDOW_START)] = pte_make(window_pt, PTE_PRESENT | PTE_WRITABLE);
    cr3 = VMM_SIM_BOOT_PD;
}

static void start_pmm(void)
{
    struct pmm_range usable = {0, ram_bytes};
    struct pmm_range image = {VMM_SIM_IMAGE_START, VMM_SIM_IMAGE_END - VMM_SIM_IMAGE_START};
    size_t meta = pmm_metadata_bytes(&usable, 1);

    pmm_reset();
    pmm_metadata = malloc(meta);
    if (!pmm_metadata || pmm_init(&usable, 1, &image, 1, pmm_metadata, meta) != 0)
        sim_die("pmm_init over %zu bytes failed", ram_bytes);
}

void vmm_sim_power_off(void)
{
    if (kmap_depth || lock_depth)
        sim_die("power off with %u windows and %u locks held", kmap_depth, lock_depth);
    free(ram);
    free(pmm_metadata);
    ram = NULL;
    pmm_metadata = NULL;
    ram_bytes = 0;
    vmm_g.ready = false;
}

void vmm_sim_power_on(size_t mem_bytes)
{
    if (ram)
        vmm_sim_power_off();
    if (mem_bytes < 16u << 20 || mem_bytes % (4u << 20) || mem_bytes > 1024u << 20)
        sim_die("power_on(%zu): RAM must be 16 MiB .. 1 GiB in 4 MiB steps", mem_bytes);
    ram = aligned_alloc(SIM_PAGE, mem_bytes);
    if (!ram)
        sim_die("no host memory for %zu bytes of RAM", mem_bytes);
    memset(ram, 0, mem_bytes);
    ram_bytes = mem_bytes;
    pge = false;
    vmm_sim_tlb_clear();
    vmm_sim_reset_counters();
    build_boot_tables();
    start_pmm();
    vmm_g.ready = false;
}

void vmm_sim_boot(size_t mem_bytes, enum vmm_policy policy, size_t margin, unsigned flags)
{
    struct vmm_boot boot = {
        .page_directory = 0, .flags = flags, .policy = policy, .commit_margin = margin};

    vmm_sim_power_on(mem_bytes);
    pge = (flags & VMM_BOOT_GLOBAL) != 0;
    int rc = vmm_init(&boot);
    if (rc != VMM_OK)
        sim_die("vmm_init: %s", vmm_strerror(rc));
    vmm_sim_reset_counters();
}
