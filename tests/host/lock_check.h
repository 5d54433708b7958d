/*
 * tests/host/lock_check.h - a source that checks an allocator's locking.
 *
 * lock_check_wrap(c, inner) returns a source that forwards every callback
 * the inner source has (grow, map, unmap, activate, deactivate) and adds
 * lock/unlock hooks that count nesting.  A callback made while the lock is
 * not held exactly once counts in unlocked_calls; max_depth shows whether
 * the allocator ever took the lock twice; locks counts every lock call.  Tests require unlocked_calls == 0
 * and max_depth == 1.
 */
#ifndef TESTS_HOST_LOCK_CHECK_H
#define TESTS_HOST_LOCK_CHECK_H

#include "mm/heap.h"

struct lock_check {
    struct heap_source src; /* first: the callbacks cast back to struct lock_check */
    struct heap_source *inner;
    int depth, max_depth;
    unsigned long locks;          /* lock calls in all */
    unsigned long unlocked_calls;
};

struct heap_source *lock_check_wrap(struct lock_check *c, struct heap_source *inner);

#endif
