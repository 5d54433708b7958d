/*
 * mm/vmm_tree.c - the VMM's interval tree: AVL, keyed by start, augmented
 * with free gaps.
 *
 * How it works.  A plain AVL tree with parent pointers (so that next/prev
 * and bottom-up repair need no stack).  Every structural change ends with
 * fix_upward(), which walks from the lowest changed node to the root,
 * recomputing height and max_gap and rotating where a node's subtrees differ
 * in height by two.  The augmentation:
 *
 *     gap(n)     = n->start - (end of n's in-order predecessor, or t->low)
 *     max_gap(n) = max(gap(n), max_gap(n->left), max_gap(n->right))
 *
 * gap(n) depends on n's predecessor, not on n's position in the tree, so a
 * rotation only recomputes max_gap; an insertion, removal or resize changes
 * the gap of one more node (the successor), which is then fixed upward too.
 * Both walks are O(log n).
 *
 * vmm_tree_find_gap visits nodes in address order but skips every subtree
 * whose max_gap is smaller than the request, and every subtree that lies
 * wholly below lo or above hi: the lowest fitting gap in O(log n) when the
 * request is large, never worse than O(n).
 *
 * Caller's lock; no allocation: nodes are embedded in the caller's records.
 */
#include "mm/vmm_tree.h"

typedef struct vmm_tree_node node_t;

static int height(const node_t *n)
{
    return n ? n->height : 0;
}

static uintptr_t max_gap(const node_t *n)
{
    return n ? n->max_gap : 0;
}

/* Recompute n's height and max_gap from its children. */
static void update(node_t *n)
{
    int hl = height(n->left), hr = height(n->right);
    uintptr_t g = n->gap;

    n->height = 1 + (hl > hr ? hl : hr);
    if (max_gap(n->left) > g)
        g = max_gap(n->left);
    if (max_gap(n->right) > g)
        g = max_gap(n->right);
    n->max_gap = g;
}

/* Make `parent` (or the root) point at `repl` where it pointed at `old`. */
static void replace_child(struct vmm_tree *t, node_t *parent, node_t *old, node_t *repl)
{
    if (!parent)
        t->root = repl;
    else if (parent->left == old)
        parent->left = repl;
    else
        parent->right = repl;
    if (repl)
        repl->parent = parent;
}

/* x's right child y takes x's place; x becomes y's left child.  Returns y. */
static node_t *rotate_left(struct vmm_tree *t, node_t *x)
{
    node_t *y = x->right;

    x->right = y->left;
    if (y->left)
        y->left->parent = x;
    replace_child(t, x->parent, x, y);
    y->left = x;
    x->parent = y;
    update(x);
    update(y);
    return y;
}

static node_t *rotate_right(struct vmm_tree *t, node_t *x)
{
    node_t *y = x->left;

    x->left = y->right;
    if (y->right)
        y->right->parent = x;
    replace_child(t, x->parent, x, y);
    y->right = x;
    x->parent = y;
    update(x);
    update(y);
    return y;
}

/* Restore the AVL property at n (children already balanced); returns the subtree's root. */
static node_t *rebalance(struct vmm_tree *t, node_t *n)
{
    int balance = height(n->left) - height(n->right);

    if (balance > 1) {
        if (height(n->left->left) < height(n->left->right))
            rotate_left(t, n->left);
        return rotate_right(t, n);
    }
    if (balance < -1) {
        if (height(n->right->right) < height(n->right->left))
            rotate_right(t, n->right);
        return rotate_left(t, n);
    }
    return n;
}

/* Repair heights, gaps and balance from n up to the root. */
static void fix_upward(struct vmm_tree *t, node_t *n)
{
    while (n) {
        update(n);
        n = rebalance(t, n);
        n = n->parent;
    }
}

/* Set n's gap from its predecessor (or the low bound) and repair upward. */
static void refresh_gap(struct vmm_tree *t, node_t *n)
{
    const node_t *pred = vmm_tree_prev(n);

    n->gap = n->start - (pred ? pred->end : t->low);
    fix_upward(t, n);
}

void vmm_tree_init(struct vmm_tree *t, uintptr_t low, uintptr_t high)
{
    t->root = NULL;
    t->low = low;
    t->high = high;
    t->count = 0;
}

node_t *vmm_tree_lower_bound(const struct vmm_tree *t, uintptr_t addr)
{
    node_t *n = t->root, *best = NULL;

    while (n) {
        if (n->end > addr) {
            best = n; /* candidate; an earlier one may be on the left */
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

node_t *vmm_tree_find(const struct vmm_tree *t, uintptr_t addr)
{
    node_t *n = vmm_tree_lower_bound(t, addr);

    return n && n->start <= addr ? n : NULL;
}

node_t *vmm_tree_first(const struct vmm_tree *t)
{
    node_t *n = t->root;

    while (n && n->left)
        n = n->left;
    return n;
}

node_t *vmm_tree_next(const node_t *n)
{
    if (n->right) {
        n = n->right;
        while (n->left)
            n = n->left;
        return (node_t *)n;
    }
    while (n->parent && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

node_t *vmm_tree_prev(const node_t *n)
{
    if (n->left) {
        n = n->left;
        while (n->right)
            n = n->right;
        return (node_t *)n;
    }
    while (n->parent && n->parent->left == n)
        n = n->parent;
    return n->parent;
}

void vmm_tree_insert(struct vmm_tree *t, node_t *n)
{
    node_t **link = &t->root, *parent = NULL;

    while (*link) {
        parent = *link;
        link = n->start < parent->start ? &parent->left : &parent->right;
    }
    n->left = n->right = NULL;
    n->parent = parent;
    n->height = 1;
    n->gap = n->max_gap = 0;
    *link = n;
    t->count++;

    refresh_gap(t, n);
    node_t *succ = vmm_tree_next(n);
    if (succ)
        refresh_gap(t, succ); /* its predecessor is n now */
}

void vmm_tree_remove(struct vmm_tree *t, node_t *n)
{
    node_t *succ = vmm_tree_next(n), *fix_from;

    if (!n->left || !n->right) {
        fix_from = n->parent;
        replace_child(t, n->parent, n, n->left ? n->left : n->right);
    } else {
        /* n's in-order successor s (no left child) takes n's place */
        node_t *s = succ;
        if (s->parent != n) {
            fix_from = s->parent;
            s->parent->left = s->right;
            if (s->right)
                s->right->parent = s->parent;
            s->right = n->right;
            n->right->parent = s;
        } else {
            fix_from = s;
        }
        s->left = n->left;
        n->left->parent = s;
        replace_child(t, n->parent, n, s);
    }
    t->count--;
    n->left = n->right = n->parent = NULL;

    fix_upward(t, fix_from);
    if (succ)
        refresh_gap(t, succ); /* its predecessor is n's predecessor now */
}

void vmm_tree_resized(struct vmm_tree *t, node_t *n, uintptr_t start, uintptr_t end)
{
    n->start = start;
    n->end = end;
    refresh_gap(t, n);
    node_t *succ = vmm_tree_next(n);
    if (succ)
        refresh_gap(t, succ);
}

/* Does [gap_start, gap_end) clipped to [lo, hi) hold `size` bytes at an aligned address? */
static bool gap_fits(uintptr_t gap_start, uintptr_t gap_end, size_t size, size_t align,
                     uintptr_t lo, uintptr_t hi, uintptr_t *out)
{
    if (gap_start < lo)
        gap_start = lo;
    if (gap_end > hi)
        gap_end = hi;
    if (gap_start >= gap_end)
        return false;
    uintptr_t a = (gap_start + (align - 1)) & ~(uintptr_t)(align - 1);
    if (a < gap_start || a >= gap_end || gap_end - a < size)
        return false;
    *out = a;
    return true;
}

static bool search(const node_t *n, size_t size, size_t align, uintptr_t lo, uintptr_t hi,
                   uintptr_t *out)
{
    if (!n || n->max_gap < size)
        return false;
    /* gaps on the left end at or below n->start: useless unless n->start > lo */
    if (n->start > lo && search(n->left, size, align, lo, hi, out))
        return true;
    if (n->gap >= size && gap_fits(n->start - n->gap, n->start, size, align, lo, hi, out))
        return true;
    /* gaps on the right start at or above n->end */
    return n->end < hi && search(n->right, size, align, lo, hi, out);
}

bool vmm_tree_find_gap(const struct vmm_tree *t, size_t size, size_t align, uintptr_t lo,
                       uintptr_t hi, uintptr_t *out)
{
    if (size == 0 || align == 0 || (align & (align - 1)) || lo >= hi)
        return false;
    if (search(t->root, size, align, lo, hi, out))
        return true;
    /* the gap after the last interval is nobody's `gap` field */
    const node_t *last = t->root;
    while (last && last->right)
        last = last->right;
    return gap_fits(last ? last->end : t->low, t->high, size, align, lo, hi, out);
}

/* ------------------------------------------------------------------ check */

struct check_state {
    const struct vmm_tree *t;
    void (*report)(const char *what, uintptr_t at);
    uintptr_t prev_end;
    size_t seen;
    int errors;
};

static void violation(struct check_state *cs, const char *what, uintptr_t at)
{
    cs->errors++;
    if (cs->report)
        cs->report(what, at);
}

/* In-order walk checking one node after its left subtree; returns the subtree height. */
static int check_node(struct check_state *cs, const node_t *n, const node_t *parent)
{
    if (!n)
        return 0;
    if (n->parent != parent)
        violation(cs, "parent link", n->start);
    int hl = check_node(cs, n->left, n);

    cs->seen++;
    if (n->start >= n->end || n->start < cs->t->low || n->end > cs->t->high)
        violation(cs, "interval empty or out of bounds", n->start);
    if (n->start < cs->prev_end)
        violation(cs, "overlap or order", n->start);
    else if (n->gap != n->start - cs->prev_end)
        violation(cs, "gap field", n->start);
    cs->prev_end = n->end;

    int hr = check_node(cs, n->right, n);
    if (n->height != 1 + (hl > hr ? hl : hr))
        violation(cs, "height field", n->start);
    if (hl - hr > 1 || hr - hl > 1)
        violation(cs, "unbalanced", n->start);
    uintptr_t g = n->gap;
    if (max_gap(n->left) > g)
        g = max_gap(n->left);
    if (max_gap(n->right) > g)
        g = max_gap(n->right);
    if (n->max_gap != g)
        violation(cs, "max_gap field", n->start);
    return n->height;
}

int vmm_tree_check(const struct vmm_tree *t, void (*report)(const char *what, uintptr_t at))
{
    struct check_state cs = {.t = t, .report = report, .prev_end = t->low};

    check_node(&cs, t->root, NULL);
    if (cs.seen != t->count)
        violation(&cs, "node count", cs.seen);
    return cs.errors;
}
