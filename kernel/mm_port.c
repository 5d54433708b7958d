/*
 * kernel/mm_port.c - mm/port.h implemented for this kernel.
 *
 * mm/ reaches the kernel only through these functions: panics and logs go
 * to the kernel log, misuse reports are logged and counted (tests read the
 * count), and the PMM lock disables interrupts (one CPU: an interrupt
 * handler is the only other context that could touch the frame database).
 */
#include "mm/port.h"
#include "arch/x86/cpu.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "kernel/panic.h"
#include "lib/format.h"

static unsigned long report_count;
static char last_report[192];
static uint32_t pmm_lock_flags;
static int pmm_lock_held;

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
    kprintf("mm: %s\n", last_report);
}

unsigned long mm_port_report_count(void)
{
    return report_count;
}

const char *mm_port_last_report(void)
{
    return last_report;
}

void mm_lock_pmm(void)
{
    uint32_t flags = irq_save();
    if (pmm_lock_held)
        panic("mm_lock_pmm: taken twice");
    pmm_lock_held = 1;
    pmm_lock_flags = flags;
}

void mm_unlock_pmm(void)
{
    uint32_t flags = pmm_lock_flags;
    pmm_lock_held = 0;
    irq_restore(flags);
}
