/*
 * mm/host/preload/preload_port.c - mm/port.h for libmm.so.
 *
 * Like mm/host/port_linux.c, but nothing here may allocate (it runs inside
 * malloc): lines are formatted into a stack buffer and written with
 * write(2).  Misuse reports follow MM_BAD_FREE (report, abort, silent).
 * Only the heap part of the port is needed: libmm.so has no PMM or VMM.
 */
#include "mm/port.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mm/host/preload/preload.h"

static enum preload_policy policy = PRELOAD_REPORT;

void preload_set_policy(enum preload_policy p)
{
    policy = p;
}

static void print_v(int fd, const char *prefix, const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s", prefix);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(fd, line, len);
    (void)w; /* nowhere left to complain to */
}

void preload_print(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_v(2, "", fmt, ap);
    va_end(ap);
}

void preload_print_fd(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_v(fd, "", fmt, ap);
    va_end(ap);
}

static void report_v(const char *fmt, va_list ap)
{
    if (policy == PRELOAD_SILENT)
        return;
    print_v(2, "libmm: ", fmt, ap);
    preload_guard_after_report();
    if (policy == PRELOAD_ABORT)
        abort();
}

void preload_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_v(fmt, ap);
    va_end(ap);
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_v(fmt, ap);
    va_end(ap);
}

void mm_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_v(2, "libmm panic: ", fmt, ap);
    va_end(ap);
    abort();
}

void mm_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_v(2, "libmm: ", fmt, ap);
    va_end(ap);
}
