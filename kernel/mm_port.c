/*
 * kernel/mm_port.c - mm/port.h implemented for this kernel.
 *
 * mm/ reaches the kernel only through these functions: panics and logs go
 * to the kernel log, misuse reports are logged and counted (tests read the
 * count), and the PMM and VMM locks disable interrupts (one CPU: an
 * interrupt handler is the only other context that could touch the frame
 * database or the page tables).
 *
 * The same file on i686 and x86-64.  What differs - how a physical frame
 * is reached (mm_kmap, mm_kunmap) and how much physical memory page-table
 * entries can name (mm_phys_limit) - is in arch/x86/kmap.c and
 * arch/x86_64/kmap.c.
 */
#include "mm/port.h"
#include "karch.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "kernel/panic.h"
#include "lib/format.h"

static unsigned long report_count;
static char last_report[192];
static unsigned reports_expected; /* announced by a test, still to come */
struct port_lock {
    unsigned long flags;
    int held;
    const char *name;
};
static struct port_lock pmm_lock = {0, 0, "pmm"}, vmm_lock = {0, 0, "vmm"};


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
    unsigned long flags = irq_save();
    if (l->held)
        panic("mm_lock_%s: taken twice", l->name);
    l->held = 1;
    l->flags = flags;
}

static void lock_drop(struct port_lock *l)
{
    unsigned long flags = l->flags;
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
    unsigned long cr4 = read_cr4();
    if (cr4 & CR4_PGE) {
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4);
    } else {
        load_cr3(read_cr3());
    }
}

void mm_load_page_directory(uint64_t pd)
{
    load_cr3((unsigned long)pd);
}

uint64_t mm_current_page_directory(void)
{
    return read_cr3() & ~0xFFFul;
}
