/*
 * tests/host/heap_test_util.c - see heap_test_util.h.
 */
#include "heap_test_util.h"
#include "mm/host/port_linux.h"

struct heap_stats heap_stats_of(struct heap *h)
{
    struct heap_stats st;
    heap_stats(h, &st);
    return st;
}

size_t heap_free_reports(struct heap *h, void *p)
{
    size_t before = mm_host_report_count();
    mm_host_print_reports(0);
    heap_free(h, p);
    mm_host_print_reports(1);
    return mm_host_report_count() - before;
}

int heap_check_quietly(struct heap *h)
{
    mm_host_print_reports(0);
    int bad = heap_check(h);
    mm_host_print_reports(1);
    return bad;
}
