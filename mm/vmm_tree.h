/*
 * mm/vmm_tree.h - an AVL tree of disjoint address intervals, augmented with
 * the free gaps between them.
 *
 * Each node is an interval [start, end); nodes never overlap and are keyed
 * by start.  Besides the usual find (O(log n)), every node records the free
 * gap between its predecessor's end (or the tree's low bound) and its own
 * start, and the largest such gap in its subtree, so that "lowest free range
 * of n bytes inside [lo, hi)" is answered without visiting subtrees whose
 * gaps are all too small.
 *
 * The tree is intrusive: a caller's record embeds struct vmm_tree_node and
 * owns its memory.  No locking here; the VMM calls it under its lock.
 */
#ifndef MM_VMM_TREE_H
#define MM_VMM_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_tree_node {
    struct vmm_tree_node *left, *right, *parent;
    uintptr_t start, end; /* the interval; change only through vmm_tree_resized */
    uintptr_t gap;        /* start - (predecessor's end, or tree low) */
    uintptr_t max_gap;    /* largest gap in this subtree */
    int height;           /* 1 for a leaf */
};

struct vmm_tree {
    struct vmm_tree_node *root;
    uintptr_t low, high; /* every interval lies inside [low, high) */
    size_t count;
};

void vmm_tree_init(struct vmm_tree *t, uintptr_t low, uintptr_t high);

/* The node whose interval contains addr, or NULL.  O(log n). */
struct vmm_tree_node *vmm_tree_find(const struct vmm_tree *t, uintptr_t addr);

/* The first node with end > addr (the one containing addr, or the next one), or NULL. */
struct vmm_tree_node *vmm_tree_lower_bound(const struct vmm_tree *t, uintptr_t addr);

struct vmm_tree_node *vmm_tree_first(const struct vmm_tree *t);
struct vmm_tree_node *vmm_tree_next(const struct vmm_tree_node *n);
struct vmm_tree_node *vmm_tree_prev(const struct vmm_tree_node *n);

/*
 * Insert n (start/end set, start < end, inside [low, high), overlapping no
 * node: the caller has checked with vmm_tree_lower_bound).
 */
void vmm_tree_insert(struct vmm_tree *t, struct vmm_tree_node *n);

/* Unlink n; its memory is the caller's again. */
void vmm_tree_remove(struct vmm_tree *t, struct vmm_tree_node *n);

/*
 * Change n's interval to [start, end) in place.  The new interval must still
 * overlap no other node (so the order is unchanged).
 */
void vmm_tree_resized(struct vmm_tree *t, struct vmm_tree_node *n, uintptr_t start, uintptr_t end);

/*
 * Lowest address a with lo <= a, a + size <= hi, a multiple of `align` (a
 * power of two), such that [a, a + size) overlaps no node.  Returns true and
 * sets *out, or false.  [lo, hi) must lie inside [low, high).
 */
bool vmm_tree_find_gap(const struct vmm_tree *t, size_t size, size_t align, uintptr_t lo,
                       uintptr_t hi, uintptr_t *out);

/*
 * Count violations of the invariants (order, no overlap, bounds, parent
 * links, heights and balance, gaps and max gaps, count).  0 = consistent.
 * `report` (may be NULL) receives one line per violation.
 */
int vmm_tree_check(const struct vmm_tree *t, void (*report)(const char *what, uintptr_t at));

#endif /* MM_VMM_TREE_H */
