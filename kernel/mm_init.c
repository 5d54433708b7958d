/*
 * kernel/mm_init.c - the PMM and the VMM from the boot information.
 *
 * The PMM is handed plain physical ranges (mm/ never sees Multiboot): the
 * usable RAM below the port's physical limit (mm_phys_limit: 4 GiB on
 * i686, the direct map on x86-64) from the normalised memory map, and the
 * ranges it must never hand out.  Its metadata (a few bytes per frame) is
 * placed in usable RAM by pmm_place_metadata, together with whatever the
 * architecture needs to map it before the VMM exists (arch_bootmap_bytes:
 * page tables on i686, nothing through x86-64's direct map).
 */
#include "kernel/mm_init.h"
#include "karch.h"
#include "kernel/bufcache.h"
#include "kernel/kmalloc.h"
#include "kernel/log.h"
#include "kernel/pagefault.h"
#include "kernel/panic.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/port.h"
#include "mm/vmm.h"

#include <string.h>

/* mm_arch.h (the VMM's view of the layout) and the kernel's layout.h agree. */
_Static_assert(VMM_USER_START == USER_START && VMM_USER_END == USER_END, "user space");

#define MAX_RESERVED (BOOT_MODULES_MAX + 4)

static struct pmm_range usable[MEMMAP_MAX];
static struct pmm_range reserved[MAX_RESERVED];

/* Usable RAM, clipped to what the port's page tables and mappings can reach. */
static size_t collect_usable(const struct boot_info *bi)
{
    uint64_t limit = mm_phys_limit();
    size_t n = 0;
    for (unsigned i = 0; i < bi->mem.count && n < MEMMAP_MAX; i++) {
        const struct mem_range *r = &bi->mem.range[i];
        if (r->type != MEM_USABLE || r->base >= limit)
            continue;
        uint64_t end = r->base + r->length > limit ? limit : r->base + r->length;
        usable[n++] = (struct pmm_range){r->base, end - r->base};
    }
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

void mm_init_pmm(const struct boot_info *bi)
{
    size_t n_usable = collect_usable(bi), n_reserved = collect_reserved(bi);
    size_t meta = pmm_metadata_bytes(usable, n_usable);
    size_t bytes = arch_bootmap_bytes(meta);
    uint64_t place;

    if (n_usable == 0 || meta == 0)
        panic("mm_init_pmm: the memory map has no usable RAM the kernel can reach");
    if (pmm_place_metadata(usable, n_usable, reserved, n_reserved, bytes, &place) < 0)
        panic("mm_init_pmm: no room for %zu KiB of frame metadata", bytes >> 10);

    reserved[n_reserved++] = (struct pmm_range){place, bytes};
    void *at = arch_bootmap_map(place, meta);
    if (pmm_init(usable, n_usable, reserved, n_reserved, at, meta) < 0)
        panic("mm_init_pmm: pmm_init refused the memory map");
    kprintf("PMM: %zu KiB of frame metadata at phys 0x%08llx, mapped at %p\n", meta >> 10,
            (unsigned long long)(place + bytes - ((meta + 4095) & ~(size_t)4095)), at);
}

void mm_init_vmm(const struct boot_info *bi)
{
    char policy[16];
    int overcommit = bootinfo_option(bi, "overcommit", 0, 0) ||
                     (bootinfo_option(bi, "commit", policy, sizeof policy) &&
                      policy[0] == 'o');
    cpu_features_init();
    arch_protect_kernel(cpu_features.pge);
    struct vmm_boot boot = {
        .page_directory = arch_boot_page_directory(),
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
