/*
 * user/lib/mm_port.c - mm/port.h for ring-3 programs.
 *
 * Only the allocator half of mm/ is compiled into user programs (the heaps
 * and the malloc family; the PMM and VMM are the kernel's), so this port
 * provides what that half calls:
 *   mm_panic   a broken allocator invariant: print it and exit with status
 *              134 (the kernel's wait status shows the process failed);
 *   mm_log     a line on stderr (the console);
 *   mm_report  misuse (double free, foreign pointer): print it, count it,
 *              keep the text for uheap_last_report, and carry on;
 *   locks      no-ops: one thread per process, and no signal handlers, so
 *              nothing can run in the middle of an allocator call.
 * The VMM hooks (mm_kmap, mm_tlb_*, ...) are not provided: nothing in a
 * user program may need them, and the link fails if something does.
 */
#include "mm/port.h"
#include "stdio.h"
#include "sys.h"
#include "uheap.h"

#define EXIT_MM_PANIC 134
#define MESSAGE_MAX 192

static unsigned long report_count;
static char last_report[MESSAGE_MAX];
static unsigned reports_expected; /* announced by the program, still to come */

void mm_panic(const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(SYS_FD_STDERR, "malloc panic: %s\n", msg);
    sys_exit(EXIT_MM_PANIC);
}

void mm_log(const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(SYS_FD_STDERR, "%s\n", msg);
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_report, sizeof last_report, fmt, ap);
    va_end(ap);
    report_count++;
    if (reports_expected) {
        reports_expected--;
        dprintf(SYS_FD_STDERR, "malloc: expected: %s\n", last_report);
    } else {
        dprintf(SYS_FD_STDERR, "malloc: %s\n", last_report);
    }
}

unsigned long uheap_reports(void)
{
    return report_count;
}

const char *uheap_last_report(void)
{
    return last_report;
}

void mm_lock_pmm(void) {}

void mm_unlock_pmm(void) {}

void mm_lock_vmm(void) {}

void mm_unlock_vmm(void) {}

unsigned uheap_expect_reports(unsigned n)
{
    unsigned missing = reports_expected;
    reports_expected = n;
    return missing;
}
