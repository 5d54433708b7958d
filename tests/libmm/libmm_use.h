/*
 * tests/libmm/libmm_use.h - shared by the one-program-per-header libmm
 * tests: each program includes only installed headers (mm/...) and links
 * with only libmm.a, and says "ok" through these helpers.
 */
#ifndef LIBMM_USE_H
#define LIBMM_USE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/heap.h"
#include "mm/host/port_linux.h"

static int libmm_use_failures;

#define USE_EXPECT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                    \
            libmm_use_failures++;                                                                  \
        }                                                                                          \
    } while (0)

/* Allocate, size, write, free a few blocks and a foreign pointer on h; check it. */
static inline void libmm_use_heap(struct heap *h, size_t max_size)
{
    static long foreign;
    void *p[16];
    USE_EXPECT(h != NULL);
    if (!h)
        return;
    for (int i = 0; i < 16; i++) {
        size_t n = (size_t)16 << (i % 10);
        n = n > max_size ? max_size : n;
        p[i] = heap_alloc(h, n, 0);
        USE_EXPECT(p[i] && heap_size(h, p[i]) >= n);
        if (p[i])
            memset(p[i], i, n);
    }
    USE_EXPECT(heap_size(h, &foreign) == 0);
    mm_host_print_reports(0);
    size_t reports = mm_host_report_count();
    heap_free(h, &foreign); /* reported, changes nothing */
    USE_EXPECT(mm_host_report_count() == reports + 1);
    mm_host_print_reports(1);
    for (int i = 0; i < 16; i++)
        heap_free(h, p[i]);
    USE_EXPECT(heap_check(h) == 0);
}

static inline int libmm_use_done(const char *header)
{
    printf("%s %s\n", libmm_use_failures ? "FAILED" : "ok", header);
    return libmm_use_failures != 0;
}

#endif
