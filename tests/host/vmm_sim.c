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
#define SIM_LOWMAP_BYTES (16u << 20)
#define SIM_FLUSH_BITS (1u << 20) /* flushed pages, by the low 20 bits of the page number */

/* A cached translation: the leaf entry and what the levels above allow together. */
struct sim_tlb_entry {
    bool valid;
    uintptr_t vpn;
    pte_t pde, pte; /* pde: AND of the non-leaf entries' W/U bits, OR of their NX */
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
static uint8_t flushed[SIM_FLUSH_BITS / 8];
static uint32_t boot_next; /* bump allocator for the boot tables, inside the image */

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

static pte_t *sim_table(uint64_t frame)
{
    return vmm_sim_phys((uint32_t)(frame & PTE_FRAME_MASK));
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
    return t->valid && t->vpn == va >> 12;
}

bool vmm_sim_flushed(uintptr_t va)
{
    uintptr_t bit = (va >> 12) % SIM_FLUSH_BITS;
    return flushed[bit / 8] & (1u << (bit % 8));
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
    pte_t e = PTE_PRESENT | cr3;

    if (va < VMM_KERNEL_BASE)
        sim_die("mm_kva_ptr(0x%lx): not a kernel address", (unsigned long)va);
    for (unsigned l = PG_LEVELS; l-- > 0;) {
        e = sim_table(e)[pg_index(va, l)];
        if (!pte_present(e))
            sim_die("mm_kva_ptr(0x%lx): not mapped (level %u)", (unsigned long)va, l);
    }
    return vmm_sim_phys((uint32_t)pte_frame(e) + (uint32_t)(va & (SIM_PAGE - 1)));
}

void mm_tlb_flush_page(uintptr_t va)
{
    uintptr_t vpn = va >> 12, bit = vpn % SIM_FLUSH_BITS;
    struct sim_tlb_entry *t = &tlb[vpn % SIM_TLB_SIZE];

    if (t->valid && t->vpn == vpn)
        t->valid = false;
    flushed[bit / 8] |= (uint8_t)(1u << (bit % 8));
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

/* Do the levels above (combined) and the leaf entry allow the access?  (CR0.WP on, EFER.NXE on.) */
static bool entries_allow(pte_t pde, pte_t pte, bool write, bool user, bool exec)
{
    if (user && !((pde & PTE_USER) && (pte & PTE_USER)))
        return false;
    if (exec && ((pde | pte) & PTE_NX))
        return false;
    return !write || ((pde & PTE_WRITABLE) && (pte & PTE_WRITABLE));
}

static unsigned fault_code(bool write, bool user, bool exec)
{
    return VMM_SIM_FAULT | (write ? 2u : 0u) | (user ? 4u : 0u) | (exec ? 0x10u : 0u);
}

/* A page walk through memory, every level of the format; fills the TLB.  0 or the fault code. */
static unsigned walk(uintptr_t va, bool write, bool user, bool exec, struct sim_tlb_entry *t)
{
    pte_t *entry[PG_LEVELS];
    pte_t above = PTE_WRITABLE | PTE_USER, table = cr3;

    for (unsigned l = PG_LEVELS; l-- > 0;) {
        entry[l] = &sim_table(table)[pg_index(va, l)];
        if (!pte_present(*entry[l]))
            return fault_code(write, user, exec);
        if (l > 0) {
            above = (above & *entry[l]) | (*entry[l] & PTE_NX);
            table = *entry[l];
        }
    }
    if (!entries_allow(above, *entry[0], write, user, exec))
        return fault_code(write, user, exec) | 1u;
    /* the CPU sets these itself; the VMM must keep or ignore them */
    for (unsigned l = 1; l < PG_LEVELS; l++)
        *entry[l] |= PTE_ACCESSED;
    *entry[0] |= PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    *t = (struct sim_tlb_entry){true, va >> 12, above, *entry[0]};
    return 0;
}

/* An address the format can translate: 32-bit, or canonical 48-bit. */
static bool va_valid(uintptr_t va)
{
    const unsigned bits = 12u + PG_INDEX_BITS * PG_LEVELS;

    if (bits >= 8 * sizeof(uintptr_t))
        return true;
    uintptr_t high = va >> (bits - 1);
    return PG_LEVELS == 2 ? va >> bits == 0 : high == 0 || high == UINTPTR_MAX >> (bits - 1);
}

unsigned vmm_sim_translate(uintptr_t va, unsigned access, void **host)
{
    bool write = access & VMM_ACCESS_WRITE, user = access & VMM_ACCESS_USER;
    bool exec = access & VMM_ACCESS_EXEC;
    uintptr_t vpn = va >> 12;
    struct sim_tlb_entry *t = &tlb[vpn % SIM_TLB_SIZE];

    if (!va_valid(va))
        sim_die("translate(0x%lx): not an address of the %s format", (unsigned long)va,
                PG_FORMAT_NAME);
    bool hit = t->valid && t->vpn == vpn;
    if (hit) {
        /* a hit is used as it is, stale or not: that is the point */
        vmm_sim_counters.tlb_hits++;
        if (!entries_allow(t->pde, t->pte, write, user, exec))
            return fault_code(write, user, exec) | 1u;
    }
    if (!hit || (write && !(t->pte & PTE_DIRTY))) {
        /* a miss, or the first write through an entry: the CPU walks (and sets D) */
        vmm_sim_counters.tlb_misses += !hit;
        unsigned code = walk(va, write, user, exec, t);
        if (code)
            return code;
    }
    *host = vmm_sim_phys((uint32_t)pte_frame(t->pte) + (uint32_t)(va & (SIM_PAGE - 1)));
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

/* A zeroed frame of the pretend image for a boot table. */
static uint32_t boot_alloc(void)
{
    uint32_t f = boot_next;

    if (f >= VMM_SIM_IMAGE_END)
        sim_die("boot tables do not fit in the pretend image");
    boot_next += SIM_PAGE;
    memset(vmm_sim_phys(f), 0, SIM_PAGE);
    return f;
}

/* The boot table of `level` on the way to va, created (kernel bits) if missing. */
static pte_t *boot_table(uintptr_t va, unsigned level)
{
    pte_t *table = sim_table(VMM_SIM_BOOT_PD);

    for (unsigned l = PG_TOP; l > level; l--) {
        pte_t *e = &table[pg_index(va, l)];
        if (!pte_present(*e))
            *e = pte_make(boot_alloc(), PTE_PRESENT | PTE_WRITABLE);
        table = sim_table(*e);
    }
    return table;
}

/*
 * What the boot code builds (boot/entry.asm and paging_early_init on i686):
 * the low 16 MiB at VMM_KERNEL_BASE, the same leaf tables linked at 0 too
 * (the identity map the kernel drops), and an empty leaf table for the
 * windows, all in the pretend image after the top-level table.
 */
static void build_boot_tables(void)
{
    boot_next = VMM_SIM_BOOT_PD;
    boot_alloc(); /* the top-level table */
    for (uint32_t pa = 0; pa < SIM_LOWMAP_BYTES; pa += SIM_PAGE)
        boot_table(VMM_KERNEL_BASE + pa, 0)[pte_index(VMM_KERNEL_BASE + pa)] =
            pte_make(pa, PTE_PRESENT | PTE_WRITABLE);
    for (uintptr_t off = 0; off < SIM_LOWMAP_BYTES; off += PT_SPAN)
        boot_table(off, 1)[pg_index(off, 1)] =
            boot_table(VMM_KERNEL_BASE + off, 1)[pg_index(VMM_KERNEL_BASE + off, 1)];
    boot_table(VMM_WINDOW_START, 0);
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
