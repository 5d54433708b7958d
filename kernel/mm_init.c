/*
 * kernel/mm_init.c - the PMM from the boot information.
 *
 * The PMM is handed plain physical ranges (mm/ never sees Multiboot): the
 * usable RAM below 4 GiB from the normalised memory map, and the ranges it
 * must never hand out.  Its metadata (a few bytes per frame) is placed in
 * usable RAM by pmm_place_metadata, together with the page tables that map
 * it at BOOTMAP_START; those page tables are filled through a mapping window
 * because the chosen frames may lie above the 16 MiB low map.
 */
#include "kernel/mm_init.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/paging.h"
#include "kernel/bufcache.h"
#include "kernel/kmalloc.h"
#include "kernel/log.h"
#include "kernel/pagefault.h"
#include "kernel/panic.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

/* mm/vmm.h and arch/x86/layout.h describe the same layout: keep them equal. */
_Static_assert(VMM_KERNEL_BASE == KERNEL_VMA, "kernel base");
_Static_assert(VMM_LOWMAP_END == KERNEL_VMA + LOWMAP_SIZE, "low map");
_Static_assert(VMM_BOOTMAP_START == BOOTMAP_START && VMM_BOOTMAP_END == BOOTMAP_END, "boot map");
_Static_assert(VMM_KREGION_START == KREGION_START && VMM_KREGION_END == KREGION_END, "regions");
_Static_assert(VMM_WINDOW_START == WINDOW_START &&
                   VMM_WINDOW_END == WINDOW_START + WINDOW_PAGES * 4096u, "windows");
_Static_assert(VMM_USER_START == USER_START && VMM_USER_END == USER_END, "user space");

#define MAX_RESERVED (BOOT_MODULES_MAX + 4)
#define PDE_PRESENT_WRITABLE 0x3u

static struct pmm_range usable[MEMMAP_MAX];
static struct pmm_range reserved[MAX_RESERVED];

static size_t collect_usable(const struct boot_info *bi)
{
    static struct mem_range ranges[MEMMAP_MAX];
    size_t n = memmap_usable_ranges(&bi->mem, ranges, MEMMAP_MAX);
    for (size_t i = 0; i < n; i++)
        usable[i] = (struct pmm_range){ranges[i].base, ranges[i].length};
    return n;
}

static size_t collect_reserved(const struct boot_info *bi)
{
    size_t n = 0;
    reserved[n++] = (struct pmm_range){bi->kernel_start, bi->kernel_end - bi->kernel_start};
    if (bi->info_end > bi->info_start)
        reserved[n++] = (struct pmm_range){bi->info_start, bi->info_end - bi->info_start};
    for (unsigned i = 0; i < bi->module_count; i++)
        reserved[n++] = (struct pmm_range){bi->module[i].start,
                                           bi->module[i].end - bi->module[i].start};
    return n;
}

/*
 * Map `pages` pages starting at physical data_pa at BOOTMAP_START, using the
 * `tables` frames at table_pa as page tables.
 */
static void map_bootmap(uint32_t table_pa, uint32_t tables, uint32_t data_pa, uint32_t pages)
{
    for (uint32_t t = 0; t < tables; t++) {
        uint32_t *pt = window_map(WINDOW_SLOT_BOOTINFO, table_pa + t * 4096u);
        memset(pt, 0, 4096);
        for (uint32_t i = 0; i < 1024 && t * 1024 + i < pages; i++)
            pt[i] = (data_pa + (t * 1024 + i) * 4096u) | PDE_PRESENT_WRITABLE;
        early_page_directory[(BOOTMAP_START >> 22) + t] = (table_pa + t * 4096u) | PDE_PRESENT_WRITABLE;
    }
    window_unmap(WINDOW_SLOT_BOOTINFO);
    load_cr3(read_cr3());
}

void mm_init_pmm(const struct boot_info *bi)
{
    size_t n_usable = collect_usable(bi), n_reserved = collect_reserved(bi);
    size_t meta = pmm_metadata_bytes(usable, n_usable);
    uint32_t pages = (uint32_t)((meta + 4095) / 4096), tables = (pages + 1023) / 1024;
    uint64_t place;

    if (n_usable == 0 || meta == 0)
        panic("mm_init_pmm: the memory map has no usable RAM below 4 GiB");
    if ((uint64_t)(pages + tables) * 4096u > BOOTMAP_END - BOOTMAP_START)
        panic("mm_init_pmm: %u KiB of frame metadata does not fit the boot map", pages * 4);
    if (pmm_place_metadata(usable, n_usable, reserved, n_reserved,
                           (size_t)(pages + tables) * 4096u, &place) < 0)
        panic("mm_init_pmm: no room for %u KiB of frame metadata", (pages + tables) * 4);

    reserved[n_reserved++] = (struct pmm_range){place, (uint64_t)(pages + tables) * 4096u};
    map_bootmap((uint32_t)place, tables, (uint32_t)place + tables * 4096u, pages);
    if (pmm_init(usable, n_usable, reserved, n_reserved, (void *)BOOTMAP_START, meta) < 0)
        panic("mm_init_pmm: pmm_init refused the memory map");
    kprintf("PMM: %zu KiB of frame metadata at phys 0x%08x, mapped at 0x%08x\n", meta >> 10,
            (uint32_t)place + tables * 4096u, BOOTMAP_START);
}

void mm_init_vmm(const struct boot_info *bi)
{
    char policy[16];
    int overcommit = bootinfo_option(bi, "overcommit", 0, 0) ||
                     (bootinfo_option(bi, "commit", policy, sizeof policy) &&
                      policy[0] == 'o');
    cpu_features_init();
    paging_protect_kernel(cpu_features.pge);
    struct vmm_boot boot = {
        .page_directory = paging_boot_directory(),
        .flags = cpu_features.pge ? VMM_BOOT_GLOBAL : 0,
        .policy = overcommit ? VMM_POLICY_OVERCOMMIT : VMM_POLICY_STRICT,
        .commit_margin = 0,
    };
    int r = vmm_init(&boot);
    if (r != 0)
        panic("mm_init_vmm: vmm_init failed: %s", vmm_strerror(r));
    vmm_set_reclaimable(bufcache_frames);
    pagefault_init();
    cpu_protections_enable();
    struct vmm_stats st;
    vmm_get_stats(&st);
    /* within 80 columns, as the whole boot log: the VGA console shows it too */
    kprintf("VMM: kernel half shared by every space (%zu page tables), commit policy %s\n",
            st.kernel_page_tables, overcommit ? "overcommit" : "strict");
    kprintf("CPU: %s; WP on; PGE %s; SMEP %s; SMAP %s; UMIP %s\n",
            cpu_features.vendor, cpu_features.pge ? "on" : "absent",
            cpu_features.smep ? "on" : "absent", cpu_features.smap ? "on" : "absent",
            cpu_features.umip ? "on" : "absent");
}

/* The initrd module mapped read-only into the kernel half; NULL when there is none. */
const void *mm_map_initrd(const struct boot_info *bi, size_t *size)
{
    const struct boot_module *m = 0;
    for (unsigned i = 0; i < bi->module_count && !m; i++)
        if (strstr(bi->module[i].name, "initrd"))
            m = &bi->module[i];
    if (!m && bi->module_count)
        m = &bi->module[0]; /* qemu -initrd gives the module no name */
    if (!m)
        return 0;
    uint32_t first = m->start & ~0xFFFu, bytes = ((m->end + 0xFFFu) & ~0xFFFu) - first;
    uintptr_t va = 0;
    if (vmm_reserve(vmm_kernel_space(), &va, bytes, VMM_PROT_READ, VMM_RESERVE_MAPPED) ||
        vmm_map(vmm_kernel_space(), va, first, bytes, 0)) {
        kprintf("initrd: cannot map %u KiB module\n", bytes >> 10);
        return 0;
    }
    *size = m->end - m->start;
    return (const void *)(va + (m->start - first));
}

/* Cells of a `cells`-wide bar for part of total: a non-zero part shows as at least one. */
static size_t bar_cells(size_t part, size_t total, unsigned cells)
{
    return part ? (part * cells + total - 1) / total : 0;
}

/* A bar of `cells` characters: used '#', reserved 'r', free '.', in proportion. */
static void print_frame_bar(const struct pmm_stats *st, unsigned cells)
{
    size_t used = bar_cells(st->used, st->total, cells);
    size_t reserved = bar_cells(st->reserved, st->total, cells);
    for (unsigned i = 0; i < cells; i++)
        kputc(i < used ? '#' : i < used + reserved ? 'r' : '.');
}

void mm_print_summary(void)
{
    struct pmm_stats ps;
    struct vmm_stats vs;
    struct vmm_space_stats ks;
    struct heap_stats hs;
    pmm_get_stats(&ps);
    vmm_get_stats(&vs);
    vmm_space_get_stats(vmm_kernel_space(), &ks);
    heap_stats(kheap(), &hs);
    /* every line within 80 columns: the VGA console shows the same log */
    kprintf("\n== memory at a glance (type `help` at the prompt for more)\n");
    kprintf("  frames [");
    print_frame_bar(&ps, 48);
    kprintf("] %zu MiB of RAM\n", ps.total >> 8);
    kprintf("         # used %zu, r reserved %zu, . free %zu, of %zu frames\n", ps.used,
            ps.reserved, ps.free, ps.total);
    kprintf("  pages  %zu committed in all spaces, %zu backed, %zu promised (policy %s)\n",
            vs.committed, vs.backed, vs.outstanding,
            vs.policy == VMM_POLICY_STRICT ? "strict" : "overcommit");
    kprintf("  kernel %zu regions: %zu pages reserved, %zu committed, %zu backed\n", ks.regions,
            ks.reserved, ks.committed, ks.backed);
    kprintf("         %zu page tables map the kernel half, shared by every space\n",
            vs.kernel_page_tables);
    kprintf("  kheap  %zu KiB live in %zu blocks, %zu KiB held (%zu KiB committed),\n",
            hs.bytes_in_use >> 10, hs.live_blocks, hs.bytes_held >> 10, hs.bytes_committed >> 10);
    kprintf("         largest free block %zu KiB\n", hs.largest_free >> 10);
}
