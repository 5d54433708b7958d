/*
 * kernel/kmain.c - from the boot stub to a running kernel, on i686 and
 * x86-64 alike (the boot stubs, boot/entry.asm and arch/x86_64/boot.asm,
 * both call kmain with the loader's magic and information address).
 *
 * Order matters: the consoles first (so everything after can report), the
 * architecture's descriptor tables and early mappings (so a fault is a
 * report, not a triple fault, and the loader's information can be read
 * wherever it is), the boot information, the memory layers, then
 * interrupts.
 */
#include "karch.h"
#include "kernel/bootinfo.h"
#include "kernel/demo.h"
#include "kernel/kbench.h"
#include "kernel/kernel.h"
#include "kernel/kmalloc.h"
#include "kernel/log.h"
#include "kernel/monitor.h"
#include "kernel/process.h"
#include "kernel/stack_protector.h"
#include "kernel/mm_init.h"
#include "mm/pmm.h"
#include "kernel/panic.h"

#include <string.h>

extern char _kernel_phys_start[], _kernel_phys_end[];

struct boot_info boot_info;

static void print_memory_map(const struct boot_info *bi)
{
    const struct memmap *m = &bi->mem;
    kprintf("Physical memory map (%u ranges):\n", m->count);
    kprintf("  %-18s %-18s %10s  %s\n", "start", "end", "size", "type");
    for (unsigned i = 0; i < m->count; i++) {
        const struct mem_range *r = &m->range[i];
        kprintf("  0x%016llx 0x%016llx %8llu K  %s\n", (unsigned long long)r->base,
                (unsigned long long)(r->base + r->length - 1), (unsigned long long)(r->length >> 10),
                memmap_type_name(r->type));
    }
    uint64_t all = memmap_usable_total(m), low = memmap_usable_below_4g(m);
    kprintf("  usable: %llu KiB (%llu MiB)", (unsigned long long)(all >> 10),
            (unsigned long long)(all >> 20));
    if (all != low && mm_phys_limit() <= 0x100000000ull)
        kprintf(", of which %llu MiB above 4 GiB is clipped (a 32-bit kernel cannot use it)",
                (unsigned long long)((all - low) >> 20));
    else if (all != low)
        kprintf(", of which %llu MiB above 4 GiB", (unsigned long long)((all - low) >> 20));
    kprintf("\n");
    if (m->dropped_empty || m->clipped_overflow || m->overlaps || m->unsorted || bi->warnings)
        kprintf("  map repaired: %u empty, %u overflowing, %u overlapping, %u unsorted entries, "
                "%u malformed fields\n",
                m->dropped_empty, m->clipped_overflow, m->overlaps, m->unsorted, bi->warnings);
}

static int overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    return a0 < b1 && b0 < a1;
}

/*
 * What the picture shows for the cell [lo, hi): the kernel or a module if
 * the cell holds any of it, else usable RAM if any, else the strongest other
 * type, else a hole.
 */
static char picture_char(const struct boot_info *bi, uint64_t lo, uint64_t hi)
{
    char c = ' ';
    if (overlaps(lo, hi, bi->kernel_start, bi->kernel_end))
        return 'K';
    for (unsigned i = 0; i < bi->module_count; i++)
        if (overlaps(lo, hi, bi->module[i].start, bi->module[i].end))
            return 'M';
    for (unsigned i = 0; i < bi->mem.count; i++) {
        const struct mem_range *r = &bi->mem.range[i];
        if (!overlaps(lo, hi, r->base, r->base + r->length))
            continue;
        if (r->type == MEM_USABLE)
            return '.';
        c = (r->type == MEM_RESERVED || r->type == MEM_BAD) ? 'R' : 'A';
    }
    return c;
}

/* One line of 64 cells from 0 to the end of usable RAM below 4 GiB. */
static void print_memory_picture(const struct boot_info *bi)
{
    uint64_t top = 0;
    for (unsigned i = 0; i < bi->mem.count; i++) {
        const struct mem_range *r = &bi->mem.range[i];
        uint64_t end = r->base + r->length;
        if (r->type == MEM_USABLE && r->base < 0x100000000ull && end > top)
            top = end > 0x100000000ull ? 0x100000000ull : end;
    }
    uint64_t cell = (top + 63) / 64;
    kprintf("  0 [");
    for (uint64_t i = 0; i < 64; i++)
        kputc(picture_char(bi, i * cell, (i + 1) * cell));
    kprintf("] %llu MiB\n    %llu KiB/cell  .=usable K=kernel M=module R=reserved A=ACPI  =hole\n",
            (unsigned long long)(top >> 20), (unsigned long long)(cell >> 10));
}

/*
 * `memcheck` boots: one machine-readable line for the host's memory-size
 * tests, after the PMM and VMM came up on this machine's map.
 */
static void memcheck_and_exit(const struct boot_info *bi)
{
    uint64_t all = memmap_usable_total(&bi->mem), low = memmap_usable_below_4g(&bi->mem);
    struct pmm_stats st;
    pmm_get_stats(&st);
    kprintf("memcheck: usable_kib=%llu below4g_kib=%llu above4g_kib=%llu ranges=%u "
            "pmm_total_kib=%zu pmm_free_kib=%zu pmm_check=%d\n",
            (unsigned long long)(all >> 10), (unsigned long long)(low >> 10),
            (unsigned long long)((all - low) >> 10), bi->mem.count, st.total * 4, st.free * 4,
            pmm_check());
    qemu_exit(0x10);
    cpu_halt_forever();
}

void kmain(uint32_t magic, uint32_t info_phys)
{
    stack_guard_init(); /* first: no function active now may return afterwards */
    log_init();
    arch_init();

    kprintf("\nmemkernel %s - an %s kernel about memory management\n", KERNEL_VERSION, arch_name);
    if (bootinfo_parse(magic, info_phys, arch_boot_reader(), &boot_info) < 0) {
        kprintf("kmain: not started by a Multiboot loader (magic 0x%08x, expected 0x%08x or "
                "0x%08x); halting\n", magic, MULTIBOOT1_MAGIC, MULTIBOOT2_MAGIC);
        cpu_halt_forever();
    }
    boot_info.kernel_start = (uint32_t)(uintptr_t)_kernel_phys_start;
    boot_info.kernel_end = (uint32_t)(uintptr_t)_kernel_phys_end;
    kprintf("Booted by %s via Multiboot %d\n", boot_info.loader[0] ? boot_info.loader : "(unnamed loader)",
            boot_info.protocol);
    kprintf("Command line: \"%s\"\n", boot_info.cmdline);
    kprintf("Kernel image: 0x%08x-0x%08x (%u KiB)\n", boot_info.kernel_start, boot_info.kernel_end,
            (boot_info.kernel_end - boot_info.kernel_start) >> 10);
    for (unsigned i = 0; i < boot_info.module_count; i++)
        kprintf("Module %u: 0x%08x-0x%08x %s\n", i, boot_info.module[i].start,
                boot_info.module[i].end, boot_info.module[i].name);
    print_memory_map(&boot_info);
    print_memory_picture(&boot_info);

    mm_init_pmm(&boot_info);
    pmm_print_stats();
    mm_init_vmm(&boot_info);
    kheap_init(&boot_info);
    size_t initrd_size = 0;
    const void *initrd = mm_map_initrd(&boot_info, &initrd_size);
    process_init(initrd, initrd_size);
    if (bootinfo_option(&boot_info, "memcheck", 0, 0))
        memcheck_and_exit(&boot_info);

    pic_init();
    pit_init(TIMER_HZ);
    cpu_sti();

    if (bootinfo_option(&boot_info, "bench", 0, 0))
        kbench_run();

    char test_name[64];
    if (bootinfo_option(&boot_info, "ktest-selfcheck", test_name, sizeof test_name))
        ktest_selfcheck(test_name);
    if (bootinfo_option(&boot_info, "test", test_name, sizeof test_name))
        ktest_run(test_name);

    if (!bootinfo_option(&boot_info, "nodemo", 0, 0))
        demo_run();
    mm_print_summary();

    /* the monitor: `monitor=SCRIPT` runs commands first (';' between them, ',' for a space) */
    static char monitor_script[BOOT_CMDLINE_MAX];
    monitor_run(bootinfo_option(&boot_info, "monitor", monitor_script, sizeof monitor_script)
                    ? monitor_script
                    : 0);
}
