/*
 * arch/x86_64/test_arch.c - in-kernel tests of what only the x86-64 port
 * has: long mode with NX enabled, the kernel image at -2 GiB with W^X
 * permissions from boot.asm, the direct map, and RAM above 4 GiB managed
 * by the PMM.  (The i686 port's own tests: arch/x86/test_arch.c.)
 */
#include "arch/x86/cpu.h"
#include "arch/x86_64/layout.h"
#include "kernel/bootinfo.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "mm/pmm.h"
#include "mm/port.h"
#include "mm/vmm.h"

#include <stdint.h>

#define MSR_EFER 0xC0000080u
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)
#define CR4_PAE (1u << 5)
#define GiB 0x40000000ull

extern char _text_start[], _text_end[], _rodata_end[];
extern struct boot_info boot_info;

KTEST(long_mode_with_nx_enabled)
{
    uint64_t efer = rdmsr(MSR_EFER);
    KT_ASSERT(efer & EFER_LME);
    KT_ASSERT(efer & EFER_LMA);
    KT_ASSERT(efer & EFER_NXE);
    KT_ASSERT(read_cr4() & CR4_PAE);
    KT_ASSERT((uintptr_t)_text_start >= X86_64_KERNEL_VMA);
}

/*
 * The image's pages as boot.asm mapped them: text executable, the rest NX;
 * rodata read-only.  (The image is no VMM region - it lies outside the
 * kernel regions' range - so vmm_query answers ENOENT but still reads the
 * entry.)
 */
KTEST(kernel_image_is_w_xor_x)
{
    struct vmm_page_info text, rodata, data;
    vmm_query(vmm_kernel_space(), (uintptr_t)_text_start, &text);
    vmm_query(vmm_kernel_space(), (uintptr_t)_rodata_end - 4096, &rodata);
    vmm_query(vmm_kernel_space(), (uintptr_t)&boot_info, &data);
    KT_ASSERT(text.pte & PTE_PRESENT);
    KT_ASSERT(!(text.pte & PTE_NX) && !(text.pte & PTE_WRITABLE));
    KT_ASSERT((rodata.pte & PTE_NX) && !(rodata.pte & PTE_WRITABLE));
    KT_ASSERT((data.pte & PTE_NX) && (data.pte & PTE_WRITABLE));
}

/* Usable RAM above 4 GiB in the loader's map. */
static uint64_t ram_above_4g(void)
{
    uint64_t above = 0;
    for (unsigned i = 0; i < boot_info.mem.count; i++) {
        const struct mem_range *r = &boot_info.mem.range[i];
        uint64_t end = r->base + r->length;
        if (r->type == MEM_USABLE && end > 4 * GiB)
            above += end - (r->base > 4 * GiB ? r->base : 4 * GiB);
    }
    return above;
}

/*
 * RAM above 4 GiB is managed, not clipped: the PMM counts it, and taking
 * 4 MiB blocks until one lies above 4 GiB finds one that holds what is
 * written through the direct map.  Everything is given back.
 */
KTEST(pmm_manages_ram_above_4g)
{
    static pmm_paddr_t taken[4096];
    uint64_t above = ram_above_4g();
    if (above == 0)
        KT_SKIP("this machine has no RAM above 4 GiB (q35 with MEM=6G has)");
    struct pmm_stats st;
    pmm_get_stats(&st);
    KT_ASSERT(st.total * 4096ull > above);
    size_t n = 0, free0 = pmm_free_frames();
    pmm_paddr_t f = PMM_NONE;
    while (n < 4096) {
        f = pmm_alloc_contig(PMM_MAX_CONTIG_FRAMES, PMM_MAX_CONTIG_FRAMES, PMM_NORECLAIM);
        if (f == PMM_NONE || f >= 4 * GiB)
            break;
        taken[n++] = f;
    }
    int held = 0;
    if (f != PMM_NONE && f >= 4 * GiB) {
        volatile uint64_t *p = mm_kmap(f + 4096 * 1000);
        *p = 0x0123456789ABCDEFull;
        held = *p == 0x0123456789ABCDEFull;
        mm_kunmap((void *)p);
        kprintf("a 4 MiB block above 4 GiB: 0x%llx (after %zu below)\n", (unsigned long long)f, n);
        pmm_free_contig(f, PMM_MAX_CONTIG_FRAMES);
    }
    while (n)
        pmm_free_contig(taken[--n], PMM_MAX_CONTIG_FRAMES);
    KT_ASSERT(held);
    KT_EQ(pmm_free_frames(), free0);
    KT_EQ(pmm_check(), 0);
}
