/*
 * mm/host/port_linux.c - mm/port.h for hosted Linux builds (tests, benchmarks,
 * libmm.a).  Panics abort (so ASan prints a stack), logs and reports go to
 * stderr, and reports are also counted so tests can require them.
 */
#include "mm/port.h"
#include "mm/host/port_linux.h"

#include <stdio.h>
#include <stdlib.h>

static size_t report_count;
static char last_report[512];
static int print_reports = 1;

void mm_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mm panic: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

void mm_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_report, sizeof last_report, fmt, ap);
    va_end(ap);
    report_count++;
    if (print_reports)
        fprintf(stderr, "mm: %s\n", last_report);
}

size_t mm_host_report_count(void)
{
    return report_count;
}

const char *mm_host_last_report(void)
{
    return last_report;
}

void mm_host_reset_reports(void)
{
    report_count = 0;
    last_report[0] = 0;
}

void mm_host_print_reports(int on)
{
    print_reports = on;
}

/* 4 GiB unless a test asks for more: i386 entries name 32-bit frames. */
static uint64_t phys_limit = 1ull << 32;

uint64_t mm_phys_limit(void)
{
    return phys_limit;
}

void mm_host_set_phys_limit(uint64_t limit)
{
    phys_limit = limit;
}

/* Hosted builds are single-threaded: the PMM lock has nothing to exclude. */
void mm_lock_pmm(void)
{
}

void mm_unlock_pmm(void)
{
}
