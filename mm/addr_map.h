/*
 * mm/addr_map.h - an address-to-metadata map: page -> pointer, in one step.
 *
 * A radix tree over page numbers, shaped like a page table: every node is
 * one page of pointers, so a lookup is a fixed number of dependent loads
 * (2 on i686, 4 on x86-64 with 48-bit addresses) and never touches the
 * memory it describes.  An allocator records which metadata describes each
 * page it owns (a slab header, say) and finds it again from any pointer into
 * that page: an exact ownership test, whatever the shape of the heap.
 *
 * Nodes come from a page heap the owner gives (normally its private one,
 * so they are counted in its footprint); a node whose entries all become
 * NULL is given back at once, so an empty map holds no memory at all.
 *
 * Locking: none; the owner serialises every call (allocators call it with
 * their source's lock held).  Lookups may run concurrently with each other.
 */
#ifndef MM_ADDR_MAP_H
#define MM_ADDR_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "mm/port.h"

struct heap;

struct addr_map {
    void **root;        /* top node, NULL while the map is empty */
    struct heap *nodes; /* where nodes come from: page-sized, page-aligned blocks */
    size_t node_count;  /* nodes held (the map's own footprint is node_count pages) */
    unsigned page_shift, level_bits, levels;
    unsigned top_shift;   /* key bits below the root's index */
    uintptr_t index_mask; /* one level's index */
};

#define ADDR_MAP_ADDR_BITS (sizeof(uintptr_t) == 4 ? 32u : 48u)

/* An empty map of pages of `page` bytes (a power of two) whose nodes are blocks of `nodes`. */
void addr_map_init(struct addr_map *m, struct heap *nodes, size_t page);

/* The page number an address is looked up by (the low 48 bits on 64-bit machines). */
static inline uintptr_t addr_map_key(const struct addr_map *m, uintptr_t addr)
{
#if UINTPTR_MAX > 0xffffffffu
    addr &= ((uintptr_t)1 << ADDR_MAP_ADDR_BITS) - 1;
#endif
    return addr >> m->page_shift;
}

/*
 * The shape of a map of MM_PAGE_SIZE pages, known at compile time: node
 * slots of one level, and levels (i686: 10 bits x 2, x86-64: 9 bits x 4).
 */
#define ADDR_MAP_STD_BITS (MM_PAGE_SHIFT - (sizeof(void *) == 8 ? 3u : 2u))
#define ADDR_MAP_STD_LEVELS                                                                        \
    ((ADDR_MAP_ADDR_BITS - MM_PAGE_SHIFT + ADDR_MAP_STD_BITS - 1) / ADDR_MAP_STD_BITS)

/*
 * addr_map_get for a map of MM_PAGE_SIZE pages: constant shifts and a
 * constant number of levels, so the walk unrolls into one load, one mask
 * and one test per level.
 */
static inline void *addr_map_get_std(const struct addr_map *m, uintptr_t addr)
{
    const uintptr_t mask = ((uintptr_t)1 << ADDR_MAP_STD_BITS) - 1;
    uintptr_t key = addr_map_key(m, addr);
    void **node = m->root;
#pragma GCC unroll 8
    for (unsigned level = ADDR_MAP_STD_LEVELS - 1; level > 0; level--) {
        if (!node)
            return NULL;
        node = node[(key >> (level * ADDR_MAP_STD_BITS)) & mask];
    }
    return node ? node[key & mask] : NULL;
}

/*
 * The value recorded for the page holding addr, or NULL.  Inline: it is
 * the first thing every free does.  One load per level.
 */
static inline void *addr_map_get(const struct addr_map *m, uintptr_t addr)
{
    if (m->page_shift == MM_PAGE_SHIFT)
        return addr_map_get_std(m, addr);
    uintptr_t key = addr_map_key(m, addr);
    void **node = m->root;
    for (unsigned shift = m->top_shift; node; shift -= m->level_bits) {
        void *v = node[(key >> shift) & m->index_mask];
        if (shift == 0)
            return v;
        node = v;
    }
    return NULL;
}

/*
 * Record `value` for every page of [addr, addr + bytes) (addr page-aligned).
 * Returns 0, or -1 when a node could not be allocated: then nothing changed.
 */
int addr_map_set(struct addr_map *m, uintptr_t addr, size_t bytes, void *value);

/* Forget the pages of [addr, addr + bytes); nodes left empty are freed.  Cannot fail. */
void addr_map_clear(struct addr_map *m, uintptr_t addr, size_t bytes);

#endif /* MM_ADDR_MAP_H */
