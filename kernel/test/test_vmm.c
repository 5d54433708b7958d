/*
 * kernel/test/test_vmm.c - the VMM on the real machine: lazy commit in the
 * page-fault handler, decommit, eager commit, address spaces, the user-copy
 * routines, the page allocator; and, one per boot, the faults it must turn
 * into reports (read-only, released, reserved-only, guard pages, kernel
 * text, kernel stack overflow, SMEP, SMAP).
 *
 * Every ordinary test must leave the free frame count where it found it
 * (the runner checks).
 */
#include "karch.h"
#include "kernel/errno.h"
#include "kernel/kbench.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/pagefault.h"
#include "kernel/panic.h"
#include "kernel/usercopy.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

#define PAGE 4096u
#define MiB (1024u * 1024u)

void kmain(uint32_t magic, uint32_t info_phys);

/* Reserve `size` bytes of kernel regions with `flags`; 0 on failure. */
static uintptr_t kreserve(size_t size, unsigned prot, unsigned flags)
{
    uintptr_t addr = 0;
    return vmm_reserve(vmm_kernel_space(), &addr, size, prot, flags) == 0 ? addr : 0;
}

static size_t backed_pages(uintptr_t addr)
{
    struct vmm_region_info info;
    return vmm_query_region(vmm_kernel_space(), addr, &info) == 0 ? info.backed : (size_t)-1;
}

KTEST(vmm_lazy_commit_backs_only_touched_pages)
{
    size_t before = pmm_free_frames();
    uintptr_t base = kreserve(64 * MiB, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    KT_ASSERT(base);
    KT_EQ(pmm_free_frames(), before); /* committing costs no frame */
    /* 16 sparse pages, 4 MiB apart: 16 frames (kernel page tables exist already) */
    for (unsigned i = 0; i < 16; i++) {
        volatile uint32_t *p = (volatile uint32_t *)(base + i * 4 * MiB + 123 * 4);
        KT_EQ(*p, 0); /* first touch reads zeros */
        *p = 0xC0FFEE00u + i;
    }
    KT_EQ(before - pmm_free_frames(), 16);
    KT_EQ(backed_pages(base), 16);
    for (unsigned i = 0; i < 16; i++)
        KT_EQ(*(volatile uint32_t *)(base + i * 4 * MiB + 123 * 4), 0xC0FFEE00u + i);
    KT_EQ(vmm_check(vmm_kernel_space()), 0);
    KT_EQ(vmm_release(vmm_kernel_space(), base, 64 * MiB), 0);
    KT_EQ(pmm_free_frames(), before);
}

KTEST(vmm_decommit_returns_frames_and_retouch_reads_zero)
{
    uintptr_t base = kreserve(16 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    KT_ASSERT(base);
    memset((void *)base, 0xA5, 16 * PAGE);
    size_t with_frames = pmm_free_frames();
    KT_EQ(vmm_decommit(vmm_kernel_space(), base, 16 * PAGE, VMM_DECOMMIT_KEEP), 0);
    KT_EQ(pmm_free_frames() - with_frames, 16);
    for (unsigned i = 0; i < 16 * PAGE; i += 512)
        KT_EQ(*(volatile uint8_t *)(base + i), 0);
    KT_EQ(backed_pages(base), 16); /* every page was touched again: fresh frames */
    KT_EQ(vmm_release(vmm_kernel_space(), base, 16 * PAGE), 0);
}

KTEST(vmm_eager_commit_backs_at_once)
{
    size_t before = pmm_free_frames();
    uintptr_t base = kreserve(32 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT | VMM_RESERVE_EAGER);
    KT_ASSERT(base);
    KT_EQ(before - pmm_free_frames(), 32);
    KT_EQ(backed_pages(base), 32);
    for (unsigned i = 0; i < 32; i++)
        KT_EQ(*(volatile uint32_t *)(base + i * PAGE), 0);
    KT_EQ(vmm_release(vmm_kernel_space(), base, 32 * PAGE), 0);
}

KTEST(vmm_partial_protect_splits_and_merges)
{
    uintptr_t base = kreserve(8 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    struct vmm_region_info info;
    KT_ASSERT(base);
    KT_EQ(vmm_protect(vmm_kernel_space(), base + 2 * PAGE, 2 * PAGE, VMM_PROT_READ), 0);
    KT_EQ(vmm_query_region(vmm_kernel_space(), base + 2 * PAGE, &info), 0);
    KT_EQ(info.start, base + 2 * PAGE);
    KT_EQ(info.end, base + 4 * PAGE);
    KT_EQ(info.prot, VMM_PROT_READ);
    KT_EQ(vmm_protect(vmm_kernel_space(), base + 2 * PAGE, 2 * PAGE, VMM_PROT_RW), 0);
    KT_EQ(vmm_query_region(vmm_kernel_space(), base, &info), 0);
    KT_EQ(info.end, base + 8 * PAGE); /* merged back into one piece */
    KT_EQ(vmm_check(vmm_kernel_space()), 0);
    KT_EQ(vmm_release(vmm_kernel_space(), base, 8 * PAGE), 0);
}

KTEST(vmm_overlapping_reservation_refused)
{
    uintptr_t base = kreserve(4 * PAGE, VMM_PROT_RW, 0), addr;
    KT_ASSERT(base);
    addr = base + PAGE;
    KT_EQ(vmm_reserve(vmm_kernel_space(), &addr, 4 * PAGE, VMM_PROT_RW, 0), VMM_EEXIST);
    addr = base + 4 * PAGE; /* adjacent above: fine */
    KT_EQ(vmm_reserve(vmm_kernel_space(), &addr, PAGE, VMM_PROT_RW, 0), 0);
    KT_EQ(vmm_release(vmm_kernel_space(), addr, PAGE), 0);
    KT_EQ(vmm_release(vmm_kernel_space(), base, 4 * PAGE), 0);
}

KTEST(vmm_user_spaces_are_isolated)
{
    static struct vmm_space a, b;
    uintptr_t ua = 0x10000000u, ub = 0x10000000u;
    size_t before = pmm_free_frames();
    KT_EQ(vmm_space_create(&a), 0);
    KT_EQ(vmm_space_create(&b), 0);
    KT_EQ(vmm_reserve(&a, &ua, 4 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT), 0);
    KT_EQ(vmm_reserve(&b, &ub, 4 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT), 0);
    uint32_t value = 0;
    vmm_space_switch(&a);
    value = 0xAAAA;
    KT_EQ(copy_to_user(ua, &value, 4), 0);
    vmm_space_switch(&b);
    KT_EQ(copy_from_user(&value, ub, 4), 0);
    KT_EQ(value, 0); /* b sees its own fresh page, not a's */
    value = 0xBBBB;
    KT_EQ(copy_to_user(ub, &value, 4), 0);
    vmm_space_switch(&a);
    KT_EQ(copy_from_user(&value, ua, 4), 0);
    KT_EQ(value, 0xAAAA);
    /* the kernel half is the same in both */
    KT_EQ(*(volatile uint8_t *)(uintptr_t)kmain, *(const uint8_t *)(uintptr_t)kmain);
    vmm_space_switch(vmm_kernel_space());
    vmm_space_destroy(&a);
    vmm_space_destroy(&b);
    KT_EQ(pmm_free_frames(), before); /* page tables and directories came back */
}

KTEST(usercopy_refuses_bad_addresses)
{
    static struct vmm_space s;
    uintptr_t u = 0x20000000u, reserved_only = 0x30000000u;
    char buf[64];
    KT_EQ(vmm_space_create(&s), 0);
    KT_EQ(vmm_reserve(&s, &u, 2 * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT), 0);
    KT_EQ(vmm_reserve(&s, &reserved_only, PAGE, VMM_PROT_RW, 0), 0);
    vmm_space_switch(&s);
    unsigned long fixups = pagefault_fixups();

    KT_EQ(copy_to_user(u + PAGE - 2, "hello", 6), 0); /* lazily committed, across a page */
    KT_EQ(copy_from_user(buf, u + PAGE - 2, 6), 0);
    KT_ASSERT(strcmp(buf, "hello") == 0);
    KT_EQ(strncpy_from_user(buf, u + PAGE - 2, sizeof buf), 5);
    KT_EQ(copy_from_user(buf, 0, 4), -EFAULT);                       /* NULL */
    KT_EQ(copy_from_user(buf, 0x0FFF, 4), -EFAULT);                  /* page 0 */
    KT_EQ(copy_from_user(buf, (uintptr_t)kmain, 4), -EFAULT);        /* kernel half */
    KT_EQ(copy_to_user(0xBFFFFFF0u, buf, 32), -EFAULT);              /* runs into the kernel */
    KT_EQ(copy_from_user(buf, 0xFFFFFFF0u, 32), -EFAULT);            /* wraps 2^32 */
    KT_EQ(copy_from_user(buf, u + 2 * PAGE - 4, 8), -EFAULT);        /* spans into a hole */
    KT_EQ(copy_from_user(buf, reserved_only, 4), -EFAULT);           /* reserved, not committed */
    KT_EQ(copy_from_user(buf, 0x50000000u, 4), -EFAULT);             /* nothing there */
    KT_ASSERT(pagefault_fixups() >= fixups + 3);
    /* a string with no terminator before the end of its buffer */
    memset(buf, 'x', sizeof buf);
    KT_EQ(copy_to_user(u, buf, sizeof buf), 0);
    KT_EQ(strncpy_from_user(buf, u, 16), -ENAMETOOLONG);
    KT_EQ(buf[15], 0);
    /* memory just given back */
    KT_EQ(vmm_decommit(&s, u, 2 * PAGE, 0), 0);
    KT_EQ(copy_from_user(buf, u, 4), -EFAULT);
    KT_EQ(vmm_release(&s, u, 2 * PAGE), 0);
    KT_EQ(copy_to_user(u, buf, 4), -EFAULT);

    vmm_space_switch(vmm_kernel_space());
    vmm_space_destroy(&s);
}

KTEST(vmm_page_allocator_blocks_and_stacks)
{
    /* the runner counts page-allocator blocks as the kernel heap's cache: check our own */
    size_t before = pmm_free_frames();
    uint8_t *p = vmm_pages_alloc(3, 0);
    KT_ASSERT(p);
    KT_EQ((uintptr_t)p % PAGE, 0);
    KT_EQ(vmm_pages_size(p), 3 * PAGE);
    KT_EQ(vmm_pages_size(p + 1), 0);
    memset(p, 0x5A, 3 * PAGE);
    struct vmm_page_info info;
    KT_EQ(vmm_query(vmm_kernel_space(), (uintptr_t)p - PAGE, &info), 0);
    KT_EQ(info.state, VMM_PAGE_GUARD);
    KT_EQ(vmm_query(vmm_kernel_space(), (uintptr_t)p + 3 * PAGE, &info), 0);
    KT_EQ(info.state, VMM_PAGE_GUARD);
    vmm_pages_free(p);
    uint8_t *top = vmm_kstack_alloc(2);
    KT_ASSERT(top);
    top[-1] = 1;
    vmm_kstack_free(top);
    KT_EQ(vmm_check(vmm_kernel_space()), 0);
    KT_EQ(pmm_free_frames(), before);
}

/* Free frames, counting the kernel half's page tables (kept once made) as free. */
static size_t frames_not_in_use(void)
{
    struct vmm_stats vs;
    vmm_get_stats(&vs);
    return pmm_free_frames() + vs.kernel_page_tables;
}

KTEST(vmm_commit_accounting_follows_policy)
{
    enum vmm_policy old = vmm_get_policy();
    size_t frames = frames_not_in_use(), too_many = (pmm_free_frames() + 4096) * PAGE;
    uintptr_t addr = 0;

    /* strict: a commit larger than free + reclaimable memory is refused */
    KT_EQ(vmm_set_policy(VMM_POLICY_STRICT), 0);
    KT_EQ(vmm_reserve(vmm_kernel_space(), &addr, too_many, VMM_PROT_RW, VMM_RESERVE_COMMIT),
          VMM_ENOMEM);
    KT_EQ(frames_not_in_use(), frames);

    /* overcommit: the same commit is free, and touched pages still work */
    KT_EQ(vmm_set_policy(VMM_POLICY_OVERCOMMIT), 0);
    addr = 0;
    KT_EQ(vmm_reserve(vmm_kernel_space(), &addr, too_many, VMM_PROT_RW, VMM_RESERVE_COMMIT), 0);
    *(volatile uint32_t *)(addr + too_many - PAGE) = 1;
    /* ...but going back to strict with those promises outstanding is refused */
    KT_EQ(vmm_set_policy(VMM_POLICY_STRICT), VMM_ENOMEM);
    KT_EQ(vmm_release(vmm_kernel_space(), addr, too_many), 0);

    /* a kernel allocation that cannot be backed fails cleanly, under either policy */
    KT_ASSERT(vmm_pages_alloc(pmm_free_frames() + 16, 0) == 0);
    KT_EQ(vmm_set_policy(old), 0);
    KT_EQ(frames_not_in_use(), frames);
}

/* ---------------------------------------------------------------- fault tests */

KTEST_FAULT(fault_write_readonly_region,
            "page fault (#14) in kernel mode: access not allowed by the protection|"
            "protection write supervisor")
{
    uintptr_t base = kreserve(PAGE, VMM_PROT_READ, VMM_RESERVE_COMMIT);
    kprintf("read-only page reads %u; now writing it\n", *(volatile uint32_t *)base);
    *(volatile uint32_t *)base = 1;
}

KTEST_FAULT(fault_touch_released_range, "page fault (#14) in kernel mode: address not mapped")
{
    uintptr_t base = kreserve(PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    *(volatile uint32_t *)base = 7;
    vmm_release(vmm_kernel_space(), base, PAGE);
    kprintf("released %p; touching it again\n", (void *)base);
    (void)*(volatile uint32_t *)base;
}

KTEST_FAULT(fault_touch_reserved_not_committed, "page fault (#14)|not committed")
{
    uintptr_t base = kreserve(PAGE, VMM_PROT_RW, 0);
    (void)*(volatile uint32_t *)base;
}

KTEST_FAULT(fault_page_allocator_overrun, "page fault (#14)|guard page")
{
    uint8_t *p = vmm_pages_alloc(1, 0);
    kprintf("writing one byte past a one-page block at %p\n", (void *)p);
    p[PAGE] = 1;
}

KTEST_FAULT(fault_page_allocator_underrun, "page fault (#14)|guard page")
{
    uint8_t *p = vmm_pages_alloc(1, 0);
    (void)*(volatile uint8_t *)(p - 1);
}

KTEST_FAULT(fault_write_kernel_text, "page fault (#14)|protection write supervisor|<ktest_fn_")
{
    kprintf("writing over kmain's first instruction\n");
    *(volatile uint8_t *)(uintptr_t)kmain = 0x90;
}

static void overflow(void)
{
    kprintf("%u\n", recurse(0));
}

KTEST_FAULT(fault_kernel_stack_overflow, "double fault (#8)|kernel stack overflow|<recurse+")
{
    void *top = vmm_kstack_alloc(2);
    panic_add_stack((uintptr_t)top - 2 * PAGE, (uintptr_t)top);
    kprintf("recursing on a 2-page kernel stack with guard pages\n");
    cpu_call_on_stack(top, overflow);
}

/* A user page holding `ret`, in a fresh user space made current. */
static uintptr_t user_page_with_ret(void)
{
    static struct vmm_space s;
    uintptr_t u = 0x00400000u;
    static const uint8_t ret = 0xC3;
    vmm_space_create(&s);
    vmm_reserve(&s, &u, PAGE, VMM_PROT_RW | VMM_PROT_EXEC, VMM_RESERVE_COMMIT);
    vmm_space_switch(&s);
    copy_to_user(u, &ret, 1);
    return u;
}

KTEST_FAULT_ON(fault_smep_kernel_executes_user_page, "max",
               "page fault (#14)|protection fetch supervisor|SMEP")
{
    void (*fn)(void) = (void (*)(void))user_page_with_ret();
    kprintf("calling user code at %p from the kernel\n", (void *)fn);
    fn();
}

KTEST_FAULT_ON(fault_smap_kernel_reads_user_page, "max",
               "page fault (#14)|protection read supervisor|SMAP")
{
    uintptr_t u = user_page_with_ret();
    kprintf("reading user memory at %p without the user-copy routines\n", (void *)u);
    kprintf("%u\n", *(volatile uint8_t *)u);
}

/* ---------------------------------------------------------------- benchmark */

static uint64_t cycles_since(uint64_t t0)
{
    return rdtsc() - t0;
}

/* Touch `pages` pages of a lazily committed region, then of an eager one. */
KBENCH(vmm)
{
    const unsigned pages = 2048;
    uint64_t per_ms = kbench_cycles_per_ms();
    uintptr_t lazy = kreserve(pages * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT);
    uint64_t t = rdtsc();
    for (unsigned i = 0; i < pages; i++)
        *(volatile uint32_t *)(lazy + i * PAGE) = i;
    uint64_t lazy_cycles = cycles_since(t);
    vmm_release(vmm_kernel_space(), lazy, pages * PAGE);

    t = rdtsc();
    uintptr_t eager = kreserve(pages * PAGE, VMM_PROT_RW, VMM_RESERVE_COMMIT | VMM_RESERVE_EAGER);
    for (unsigned i = 0; i < pages; i++)
        *(volatile uint32_t *)(eager + i * PAGE) = i;
    uint64_t eager_cycles = cycles_since(t);
    vmm_release(vmm_kernel_space(), eager, pages * PAGE);

    uintptr_t mapped = kreserve(256 * PAGE, VMM_PROT_RW, VMM_RESERVE_MAPPED);
    pmm_paddr_t frame = pmm_alloc(0);
    t = rdtsc();
    for (unsigned round = 0; round < 16; round++)
        for (unsigned i = 0; i < 256; i++) {
            vmm_map(vmm_kernel_space(), mapped + i * PAGE, frame, PAGE, 0);
            vmm_unmap(vmm_kernel_space(), mapped + i * PAGE, PAGE);
        }
    uint64_t map_cycles = cycles_since(t);
    pmm_free(frame);
    vmm_release(vmm_kernel_space(), mapped, 256 * PAGE);

    kprintf("| operation | pages | cycles/page | pages/s (emulated) |\n|---|---|---|---|\n");
    kprintf("| lazy commit: fault in fresh zeroed pages | %u | %llu | %llu |\n", pages,
            (unsigned long long)(lazy_cycles / pages), (unsigned long long)pages * per_ms * 1000 / (lazy_cycles + 1));
    kprintf("| eager commit of the same pages, then touch | %u | %llu | %llu |\n", pages,
            (unsigned long long)(eager_cycles / pages), (unsigned long long)pages * per_ms * 1000 / (eager_cycles + 1));
    kprintf("| map + unmap one page | %u | %llu | %llu |\n", 16 * 256,
            (unsigned long long)(map_cycles / (16 * 256)),
            (unsigned long long)16 * 256 * per_ms * 1000 / (map_cycles + 1));
}
