/*
 * tests/host/heap_test_util.h - small helpers the allocator tests share.
 */
#ifndef TESTS_HOST_HEAP_TEST_UTIL_H
#define TESTS_HOST_HEAP_TEST_UTIL_H

#include "mm/heap.h"

#include <stddef.h>

/* The instance's figures, by value. */
struct heap_stats heap_stats_of(struct heap *h);

/* heap_free(h, p) with report printing off; returns how many reports it made. */
size_t heap_free_reports(struct heap *h, void *p);

/* heap_check(h) with report printing off; returns its violation count. */
int heap_check_quietly(struct heap *h);

#endif
