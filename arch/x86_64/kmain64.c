/*
 * arch/x86_64/kmain64.c - the 64-bit kernel so far: the same mm/ as the
 * i686 kernel, brought up in long mode and checked.
 *
 * boot.asm enters here in the higher half with the direct map of RAM in
 * place.  The boot information is normalised by the same kernel/bootinfo.c
 * as on i686; the PMM gets every usable range (above 4 GiB too: the port's
 * mm_phys_limit reaches 8 GiB); the VMM takes over the boot PML4; a general
 * heap runs on a VMM region source.  Each step is checked and printed as
 * "ok - ..." / "FAIL - ..."; the last line is "x86-64: N passed, N failed"
 * and QEMU leaves with the in-kernel suite's exit codes (0x10 pass, 0x11
 * fail, 0x12 an unexpected fault, reported by arch/x86_64/trap.c).  Page
 * faults go to the VMM first; there are no device interrupts and no ring 3
 * yet.  NX is checked by executing a `ret` from the heap and from the stack.
 */
#include "arch/x86_64/console.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/port/mm_arch.h"
#include "arch/x86_64/trap.h"
#include "kernel/bootinfo.h"
#include "mm/heap.h"
#include "mm/heap_general.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11
#define GiB 0x40000000ull

extern char _kernel_start[], _kernel_end[], boot_pml4[];

static struct boot_info boot_info;
static unsigned passed, failed;

static void check(int ok, const char *what)
{
    console_printf("%s - %s\n", ok ? "ok" : "FAIL", what);
    ++*(ok ? &passed : &failed);
}

static uint64_t phys_of(const void *kernel_va)
{
    return (uint64_t)(uintptr_t)kernel_va - X86_64_KERNEL_VMA;
}

static void direct_copy(void *dst, uint32_t paddr, uint32_t len, void *ctx)
{
    (void)ctx;
    memcpy(dst, (const void *)(uintptr_t)(X86_64_DIRECT_BASE + paddr), len);
}

/* Usable RAM and the ranges to keep, from the normalised map. */
static size_t usable_ranges(struct pmm_range *out, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < boot_info.mem.count && n < max; i++)
        if (boot_info.mem.range[i].type == MEM_USABLE)
            out[n++] = (struct pmm_range){boot_info.mem.range[i].base,
                                          boot_info.mem.range[i].length};
    return n;
}

static size_t kept_ranges(struct pmm_range *out)
{
    size_t n = 0;
    out[n++] = (struct pmm_range){phys_of(_kernel_start), phys_of(_kernel_end) - phys_of(_kernel_start)};
    out[n++] = (struct pmm_range){boot_info.info_start, boot_info.info_end - boot_info.info_start};
    for (unsigned i = 0; i < boot_info.module_count; i++)
        out[n++] = (struct pmm_range){boot_info.module[i].start,
                                      boot_info.module[i].end - boot_info.module[i].start};
    return n;
}

static void pmm_up(void)
{
    static struct pmm_range usable[MEMMAP_MAX], kept[BOOT_MODULES_MAX + 3];
    size_t nu = usable_ranges(usable, MEMMAP_MAX), nk = kept_ranges(kept);
    size_t bytes = pmm_metadata_bytes(usable, nu);
    uint64_t at = 0;

    if (!bytes || pmm_place_metadata(usable, nu, kept, nk, bytes, &at) != 0)
        mm_panic("kmain64: no place for %zu bytes of PMM metadata", bytes);
    kept[nk++] = (struct pmm_range){at, bytes};
    int rc = pmm_init(usable, nu, kept, nk, (void *)(uintptr_t)(X86_64_DIRECT_BASE + at), bytes);
    check(rc == 0, "pmm_init over the Multiboot 2 map");
    console_printf("PMM: physical limit 0x%llx, metadata %zu KiB at 0x%llx\n",
                   (unsigned long long)mm_phys_limit(), bytes >> 10, (unsigned long long)at);
    pmm_print_stats();
    check(pmm_check() == 0, "pmm_check finds the frame database consistent");
}

/* RAM above 4 GiB is managed: the PMM counts it and hands it out first. */
static void check_high_memory(void)
{
    uint64_t above = 0;
    for (unsigned i = 0; i < boot_info.mem.count; i++) {
        const struct mem_range *r = &boot_info.mem.range[i];
        uint64_t end = r->base + r->length;
        if (r->type == MEM_USABLE && end > 4 * GiB)
            above += end - (r->base > 4 * GiB ? r->base : 4 * GiB);
    }
    struct pmm_stats st;
    pmm_get_stats(&st);
    console_printf("RAM above 4 GiB: %llu MiB in the map\n", (unsigned long long)(above >> 20));
    if (above == 0 || above > mm_phys_limit())
        return;
    check(st.total * 4096ull > above, "the PMM manages the RAM above 4 GiB (not clipped)");
    /* take 4 MiB blocks until one lies above 4 GiB (the zone below fills first or not:
     * the buddy allocator picks the smallest fitting block), use it, give all back */
    static pmm_paddr_t taken[4096];
    size_t n = 0;
    pmm_paddr_t f = PMM_NONE;
    while (n < 4096) {
        f = pmm_alloc_contig(PMM_MAX_CONTIG_FRAMES, PMM_MAX_CONTIG_FRAMES, PMM_NORECLAIM);
        if (f == PMM_NONE || f >= 4 * GiB)
            break;
        taken[n++] = f;
    }
    int usable = 0;
    if (f != PMM_NONE && f >= 4 * GiB) {
        volatile uint64_t *p = (uint64_t *)(uintptr_t)(X86_64_DIRECT_BASE + f + 4096 * 1000);
        *p = 0x0123456789ABCDEFull;
        usable = *p == 0x0123456789ABCDEFull;
        console_printf("a 4 MiB block above 4 GiB: 0x%llx (after %zu below)\n",
                       (unsigned long long)f, n);
        pmm_free_contig(f, PMM_MAX_CONTIG_FRAMES);
    }
    check(usable, "a block above 4 GiB is handed out and holds what is written");
    while (n)
        pmm_free_contig(taken[--n], PMM_MAX_CONTIG_FRAMES);
    check(pmm_free_frames() == st.free && pmm_check() == 0, "and every block comes back");
}

static void vmm_up(void)
{
    struct vmm_boot boot = {.page_directory = phys_of(boot_pml4), .policy = VMM_POLICY_STRICT};
    int rc = vmm_init(&boot);
    check(rc == VMM_OK, "vmm_init adopts the boot PML4 (four levels)");
    if (rc != VMM_OK)
        return;
    check(vmm_check(vmm_kernel_space()) == 0, "vmm_check of the kernel space");
}

static void check_pages_and_nx(void)
{
    size_t free0 = pmm_free_frames();
    unsigned char *p = vmm_pages_alloc(4, 0);
    check(p != NULL, "vmm_pages_alloc(4) in the kernel regions");
    if (!p)
        return;
    for (size_t i = 0; i < 4 * 4096; i++)
        p[i] = (unsigned char)i;
    size_t bad = 0;
    for (size_t i = 0; i < 4 * 4096; i++)
        bad += p[i] != (unsigned char)i;
    check(bad == 0, "its pages hold what was written");
    struct vmm_page_info info;
    vmm_query(vmm_kernel_space(), (uintptr_t)p, &info);
    check((info.pte & PTE_NX) && info.state == VMM_PAGE_BACKED, "kernel data pages are NX");
    vmm_query(vmm_kernel_space(), (uintptr_t)p - 4096, &info);
    check(info.state == VMM_PAGE_GUARD, "a guard page below the block");
    vmm_pages_free(p);
    struct vmm_stats st;
    vmm_get_stats(&st);
    check(pmm_free_frames() + st.kernel_page_tables >= free0, "freeing the block gives its frames back");
}

/*
 * W^X: data is not executable.  A `ret` is written into `code` and called;
 * the fetch must fault (the VMM says protection, the report says execute),
 * and the probe resumes after the call.  Without NX the `ret` would run.
 */
static void check_exec_fault(unsigned char *code, const char *what)
{
    code[0] = 0xC3; /* ret */
    int rc = trap64_probe_call((void (*)(void))(uintptr_t)code);
    check(rc == VMM_FAULT_PROTECTION && strstr(trap64_last_report(), "page fault: execute"), what);
}

static void check_stack_not_executable(void)
{
    unsigned char code[16];
    check_exec_fault(code, "executing from the stack faults with an execute report");
}

static void check_heap(void)
{
    static struct vmm_region_source rs;
    size_t free0 = pmm_free_frames();
    if (vmm_region_source_init(&rs, vmm_kernel_space(), 64u << 20, VMM_COMMIT_EAGER) != VMM_OK) {
        check(0, "a 64 MiB heap region");
        return;
    }
    struct heap *h = heap_general_create(&rs.source);
    check(h != NULL, "a general heap on a VMM region source");
    if (!h)
        return;
    static void *block[512];
    for (unsigned i = 0; i < 512; i++) {
        block[i] = heap_alloc(h, 16 + (i * 37) % 3000, 0);
        if (block[i])
            memset(block[i], (int)i, 16);
    }
    unsigned ok = 0;
    for (unsigned i = 0; i < 512; i++)
        ok += block[i] && ((unsigned char *)block[i])[15] == (unsigned char)i;
    check(ok == 512, "512 heap blocks of 16..3000 bytes, each keeps its bytes");
    check_exec_fault(block[7], "executing from the heap faults with an execute report");
    for (unsigned i = 0; i < 512; i += 2)
        heap_free(h, block[i]);
    for (unsigned i = 1; i < 512; i += 2)
        heap_free(h, block[i]);
    check(heap_check(h) == 0, "heap_check after freeing everything");
    heap_general_destroy(h);
    vmm_region_source_fini(&rs);
    struct vmm_stats st;
    vmm_get_stats(&st);
    check(pmm_free_frames() + st.kernel_page_tables + st.meta_pages >= free0,
          "the heap's frames come back with it");
    check(vmm_check(vmm_kernel_space()) == 0, "vmm_check after the heap");
}

void kmain64(uint32_t magic, uint32_t info_phys)
{
    console_init();
    idt64_init();
    console_puts("memkernel x86-64: long mode, higher half at -2 GiB\n");
    static const struct boot_reader reader = {direct_copy, 0};
    if (bootinfo_parse(magic, info_phys, &reader, &boot_info) < 0 || boot_info.protocol != 2) {
        console_printf("kmain64: not started by Multiboot 2 (magic 0x%08x)\n", magic);
        qemu_exit(EXIT_FAIL);
    }
    console_printf("Booted by %s via Multiboot 2; %u memory ranges\n",
                   boot_info.loader[0] ? boot_info.loader : "(unnamed loader)", boot_info.mem.count);
    for (unsigned i = 0; i < boot_info.mem.count; i++)
        console_printf("  0x%016llx-0x%016llx type %u\n",
                       (unsigned long long)boot_info.mem.range[i].base,
                       (unsigned long long)(boot_info.mem.range[i].base + boot_info.mem.range[i].length),
                       boot_info.mem.range[i].type);
    pmm_up();
    check_high_memory();
    vmm_up();
    check_pages_and_nx();
    check_heap();
    check_stack_not_executable();
    console_printf("x86-64: %u passed, %u failed\n", passed, failed);
    qemu_exit(failed ? EXIT_FAIL : EXIT_PASS);
}
