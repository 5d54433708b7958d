/*
 * kernel/mm_port.c - mm/port.h implemented for this kernel.
 *
 * mm/ reaches the kernel only through these functions: panics and logs go
 * to the kernel log, misuse reports are logged and counted (tests read the
 * count), and the PMM and VMM locks disable interrupts (one CPU: an
 * interrupt handler is the only other context that could touch the frame
 * database or the page tables).
 *
 * mm_kmap: frames inside the low linear map (the first 16 MiB) need no
 * mapping at all; others get a window slot from a small stack of slots,
 * because the VMM nests at most two mappings and releases them in reverse.
 */
#include "mm/port.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/paging.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "kernel/panic.h"
#include "lib/format.h"

static unsigned long report_count;
static char last_report[192];
static unsigned reports_expected; /* announced by a test, still to come */
struct port_lock {
    uint32_t flags;
    int held;
    const char *name;
};
static struct port_lock pmm_lock = {0, 0, "pmm"}, vmm_lock = {0, 0, "vmm"};

#define KMAP_SLOTS 4u
static unsigned kmap_depth;

void mm_panic(const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    panic("mm: %s", msg);
}

void mm_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kputc('\n');
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(last_report, sizeof last_report, fmt, ap);
    va_end(ap);
    report_count++;
    if (reports_expected) {
        reports_expected--;
        kprintf("mm: expected: %s\n", last_report);
    } else {
        kprintf("mm: %s\n", last_report);
    }
}

unsigned mm_port_expect_reports(unsigned n)
{
    unsigned missing = reports_expected;
    reports_expected = n;
    return missing;
}

unsigned long mm_port_report_count(void)
{
    return report_count;
}

const char *mm_port_last_report(void)
{
    return last_report;
}

static void lock_take(struct port_lock *l)
{
    uint32_t flags = irq_save();
    if (l->held)
        panic("mm_lock_%s: taken twice", l->name);
    l->held = 1;
    l->flags = flags;
}

static void lock_drop(struct port_lock *l)
{
    uint32_t flags = l->flags;
    if (!l->held)
        panic("mm_unlock_%s: not held", l->name);
    l->held = 0;
    irq_restore(flags);
}

void mm_lock_pmm(void)
{
    lock_take(&pmm_lock);
}

void mm_unlock_pmm(void)
{
    lock_drop(&pmm_lock);
}

void mm_lock_vmm(void)
{
    lock_take(&vmm_lock);
}

void mm_unlock_vmm(void)
{
    lock_drop(&vmm_lock);
}

/* ---------------------------------------------------------------- VMM hooks */

/* i386 paging without PAE: an entry names a 32-bit frame address. */
uint64_t mm_phys_limit(void)
{
    return 1ull << 32;
}

void *mm_kmap(uint64_t frame)
{
    if (frame >= mm_phys_limit())
        panic("mm_kmap: frame 0x%llx is beyond the physical limit", (unsigned long long)frame);
    if (frame < LOWMAP_SIZE)
        return lowmap_virt((uint32_t)frame);
    uint32_t flags = irq_save();
    if (kmap_depth == KMAP_SLOTS)
        panic("mm_kmap: more than %u nested mappings", KMAP_SLOTS);
    void *p = window_map(WINDOW_SLOT_KMAP + kmap_depth++, (uint32_t)frame);
    irq_restore(flags);
    return p;
}

void mm_kunmap(void *ptr)
{
    uintptr_t va = (uintptr_t)ptr;
    if (va < WINDOW_START || va >= WINDOW_START + WINDOW_PAGES * 4096u)
        return; /* a low-map pointer: nothing was mapped */
    uint32_t flags = irq_save();
    unsigned slot = (unsigned)((va - WINDOW_START) >> 12);
    if (kmap_depth == 0 || slot != WINDOW_SLOT_KMAP + kmap_depth - 1)
        panic("mm_kunmap: 0x%08x is not the most recent mapping", (unsigned)va);
    window_unmap(slot);
    kmap_depth--;
    irq_restore(flags);
}

void *mm_kva_ptr(uintptr_t va)
{
    return (void *)va;
}

void mm_tlb_flush_page(uintptr_t va)
{
    invlpg(va);
}

void mm_tlb_flush_all(void)
{
    load_cr3(read_cr3());
}

void mm_tlb_flush_global(void)
{
    uint32_t cr4 = read_cr4();
    if (cr4 & CR4_PGE) {
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4);
    } else {
        load_cr3(read_cr3());
    }
}

void mm_load_page_directory(uint64_t pd)
{
    load_cr3((uint32_t)pd);
}

uint64_t mm_current_page_directory(void)
{
    return read_cr3() & ~0xFFFu;
}
