/*
 * mm/addr_map.c - the address-to-metadata map (see addr_map.h).
 *
 * How it works
 *
 *   The key is the page number of an address: on 32-bit machines all 32
 *   bits, on 64-bit ones the low 48 (canonical addresses differ in bit 47,
 *   so user and kernel halves stay apart).  Each node is one page holding
 *   page / sizeof(void *) slots, so each level consumes log2 of that many
 *   key bits, most significant first - exactly like a page table:
 *
 *       i686    20 key bits, nodes of 1024 slots: 2 levels (root, leaf)
 *       x86-64  36 key bits, nodes of  512 slots: 4 levels
 *
 *   Interior slots point at the next node, leaf slots hold the values.
 *
 * Invariants: every node holds at least one non-NULL slot (a node that
 * empties is freed and its parent slot cleared, up to the root); node_count
 * is the number of nodes reachable from root.
 *
 * Costs: get is `levels` dependent loads, no branch on the heap's shape;
 * set/clear are O(pages * levels) plus, for clear, a scan of each node that
 * may have emptied (one page of pointers); memory is one page per node,
 * nothing when empty.  Covering one slab costs at most one leaf (plus the
 * interior path); a leaf covers 2 MiB (x86-64) or 4 MiB (i686) of address space.
 *
 * Locking: none (the owner's).
 */
#include "mm/addr_map.h"

#include <stdbool.h>
#include <string.h>

#include "mm/heap.h"

#define ADDR_MAP_MAX_LEVELS 8u

static unsigned log2_of(size_t x)
{
    unsigned n = 0;
    while (x > 1) {
        x >>= 1;
        n++;
    }
    return n;
}

void addr_map_init(struct addr_map *m, struct heap *nodes, size_t page)
{
    unsigned page_shift = log2_of(page);
    unsigned key_bits = ADDR_MAP_ADDR_BITS - page_shift;
    m->root = NULL;
    m->nodes = nodes;
    m->node_count = 0;
    m->page_shift = page_shift;
    m->level_bits = log2_of(((size_t)1 << page_shift) / sizeof(void *));
    m->levels = (key_bits + m->level_bits - 1) / m->level_bits;
    m->top_shift = (m->levels - 1) * m->level_bits;
    m->index_mask = ((uintptr_t)1 << m->level_bits) - 1;
}

static uintptr_t key_of(const struct addr_map *m, uintptr_t addr)
{
    return addr_map_key(m, addr);
}

/* The slot index of key at `level` (0 = root). */
static size_t index_at(const struct addr_map *m, uintptr_t key, unsigned level)
{
    unsigned shift = (m->levels - 1 - level) * m->level_bits;
    return (size_t)(key >> shift) & (((size_t)1 << m->level_bits) - 1);
}

static size_t node_bytes(const struct addr_map *m)
{
    return (size_t)1 << m->page_shift;
}

static void **node_new(struct addr_map *m)
{
    void **n = heap_alloc(m->nodes, node_bytes(m), node_bytes(m));
    if (n) {
        memset(n, 0, node_bytes(m));
        m->node_count++;
    }
    return n;
}

static bool node_empty(const struct addr_map *m, void *const *n)
{
    for (size_t i = 0; i < ((size_t)1 << m->level_bits); i++)
        if (n[i])
            return false;
    return true;
}

/* The leaf slot of addr, making the nodes on the way; NULL when a node cannot be had. */
static void **slot_make(struct addr_map *m, uintptr_t addr)
{
    uintptr_t key = key_of(m, addr);
    if (!m->root && !(m->root = node_new(m)))
        return NULL;
    void **node = m->root;
    for (unsigned level = 0; level + 1 < m->levels; level++) {
        void **slot = &node[index_at(m, key, level)];
        if (!*slot && !(*slot = node_new(m)))
            return NULL;
        node = *slot;
    }
    return &node[index_at(m, key, m->levels - 1)];
}

/* Free the nodes on addr's path that hold nothing, leaf first. */
static void path_prune(struct addr_map *m, uintptr_t addr)
{
    uintptr_t key = key_of(m, addr);
    void ***path[ADDR_MAP_MAX_LEVELS]; /* path[l]: the slot pointing at the level-l node */
    void **node = m->root;
    path[0] = &m->root;
    unsigned depth = 0;
    while (node && depth + 1 < m->levels) {
        path[depth + 1] = (void ***)&node[index_at(m, key, depth)];
        node = *path[depth + 1];
        depth++;
    }
    /* depth: deepest level whose node exists; walk back up while nodes are empty */
    for (int l = (int)depth; l >= 0; l--) {
        void **n = *path[l];
        if (!n || !node_empty(m, n))
            return;
        *path[l] = NULL;
        m->node_count--;
        heap_free(m->nodes, n);
    }
}

/* Is page `off` of [addr, addr + bytes) the first or last of the range in its leaf? (prune once per leaf) */
static bool leaf_edge(const struct addr_map *m, uintptr_t addr, size_t off, size_t bytes)
{
    size_t page = node_bytes(m);
    uintptr_t key = key_of(m, addr + off);
    return off == 0 || off + page >= bytes || index_at(m, key, m->levels - 1) == 0 ||
           index_at(m, key, m->levels - 1) == ((size_t)1 << m->level_bits) - 1;
}

int addr_map_set(struct addr_map *m, uintptr_t addr, size_t bytes, void *value)
{
    size_t page = node_bytes(m);
    /* first make every node, so that the second pass cannot fail half-way */
    for (size_t off = 0; off < bytes; off += page) {
        if (!slot_make(m, addr + off)) {
            for (size_t k = 0; k <= off; k += page)
                if (leaf_edge(m, addr, k, off + page))
                    path_prune(m, addr + k); /* only the nodes made above are empty */
            return -1;
        }
    }
    for (size_t off = 0; off < bytes; off += page)
        *slot_make(m, addr + off) = value;
    return 0;
}

void addr_map_clear(struct addr_map *m, uintptr_t addr, size_t bytes)
{
    size_t page = node_bytes(m);
    for (size_t off = 0; off < bytes; off += page) {
        uintptr_t key = key_of(m, addr + off);
        void **node = m->root;
        for (unsigned level = 0; node && level + 1 < m->levels; level++)
            node = node[index_at(m, key, level)];
        if (node)
            node[index_at(m, key, m->levels - 1)] = NULL;
    }
    for (size_t off = 0; off < bytes; off += page)
        if (leaf_edge(m, addr, off, bytes))
            path_prune(m, addr + off);
}
