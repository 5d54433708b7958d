/*
 * tests/mm_alone/port_min.c - the smallest port of mm/: every function
 * mm/port.h declares, with nothing behind the VMM hooks but a flat address
 * space (frames are addresses).  It compiles freestanding (the i686 link
 * check) and hosted (the smoke test, which also prints the messages).
 * A porter's first step looks like this file.
 */
#include <stdarg.h>
#include <stdint.h>

#include "mm/port.h"

#if __STDC_HOSTED__
#include <stdio.h>
#include <stdlib.h>
#endif

/* Misuse reports seen: the smoke test expects exactly the ones it provokes. */
unsigned port_min_reports;

static void say(const char *kind, const char *fmt, va_list ap)
{
#if __STDC_HOSTED__
    fprintf(stderr, "%s: ", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
#else
    (void)kind;
    (void)fmt;
    (void)ap;
#endif
}

void mm_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("panic", fmt, ap);
    va_end(ap);
#if __STDC_HOSTED__
    abort();
#else
    for (;;)
        ;
#endif
}

void mm_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("log", fmt, ap);
    va_end(ap);
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("report", fmt, ap);
    va_end(ap);
    port_min_reports++;
}

/* One context, no interrupts: the locks have nothing to do. */
void mm_lock_pmm(void) {}
void mm_unlock_pmm(void) {}
void mm_lock_vmm(void) {}
void mm_unlock_vmm(void) {}

/* A flat machine: a frame is reachable at its own address, so no further
 * than a pointer reaches (and the PMM caps it at PMM_PHYS_MAX anyway). */
uint64_t mm_phys_limit(void)
{
    return sizeof(uintptr_t) < sizeof(uint64_t) ? (uint64_t)UINTPTR_MAX + 1 : UINT64_MAX;
}

void *mm_kmap(uint64_t frame)
{
    return (void *)(uintptr_t)frame;
}
void mm_kunmap(void *ptr)
{
    (void)ptr;
}
void *mm_kva_ptr(uintptr_t va)
{
    return (void *)va;
}

/* No TLB and no CR3 on a flat machine. */
static uint64_t page_directory;
void mm_tlb_flush_page(uintptr_t va)
{
    (void)va;
}
void mm_tlb_flush_all(void) {}
void mm_tlb_flush_global(void) {}
void mm_load_page_directory(uint64_t pd)
{
    page_directory = pd;
}
uint64_t mm_current_page_directory(void)
{
    return page_directory;
}
