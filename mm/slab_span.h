/*
 * mm/slab_span.h - spans: the size-class set's slabs, cut from big aligned
 * runs and found from any pointer in one step.  Internal to mm/slab.c.
 *
 * A SPAN is SPAN_BYTES of address space aligned to SPAN_BYTES, taken from
 * the set's private page heap.  Its first page holds its header: a bitmap
 * of the pages in use, a bitmap of the pages committed, and a per-page
 * table naming the slab that covers each page (NULL: free, or the header)
 * and a 16-bit tag the set gives it (the offset of the slab's class in the
 * set, so that the hot path reads the class from the span, not from the
 * slab's header).
 * Slabs are runs of whole pages cut from spans (first fit).
 *
 * The set finds the span of any address through a SPAN MAP keyed by
 * (addr >> SPAN_SHIFT):
 *
 *     i686    4 GiB / 1 MiB = 4096 entries, one flat array inside the set (16 KiB)
 *     x86-64  48-bit addresses: a root of 1024 entries inside the set, then
 *             two levels of one-page nodes (512 entries) made on demand
 *
 * so the slab of a pointer is the map walk (1 load on i686, 3 on x86-64),
 * then one load from the span's page table.  An address whose map entry is
 * empty is not in any span of the set; one in a free page or a span header
 * has no slab: both are refused without reading the memory they point at.
 *
 * Locking: none; the set calls everything with its source's lock held
 * (lookups run under it too, or without one when the source has none).
 */
#ifndef MM_SLAB_SPAN_H
#define MM_SLAB_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"
#include "mm/port.h"

struct slab;

#define SPAN_SHIFT 20u
#define SPAN_BYTES ((size_t)1 << SPAN_SHIFT)
#define SPAN_PAGES (SPAN_BYTES >> MM_PAGE_SHIFT)
#define SPAN_WORDS ((SPAN_PAGES + 31) / 32)

#if UINTPTR_MAX > 0xffffffffu
#define SPAN_KEY_BITS (48u - SPAN_SHIFT)
#define SPAN_NODE_BITS (MM_PAGE_SHIFT - 3u) /* one page of pointers */
#define SPAN_LEVELS 2u                      /* node levels below the root */
#else
#define SPAN_KEY_BITS (32u - SPAN_SHIFT)
#define SPAN_NODE_BITS (MM_PAGE_SHIFT - 2u)
#define SPAN_LEVELS 0u /* the root is the whole map */
#endif
#define SPAN_ROOT_BITS (SPAN_KEY_BITS - SPAN_LEVELS * SPAN_NODE_BITS)
#define SPAN_ROOT_ENTRIES ((size_t)1 << SPAN_ROOT_BITS)

/* The header at the start of every span. */
struct slab_span {
    uint32_t magic;                     /* SPAN_MAGIC while the span belongs to a set */
    uint32_t used;                      /* pages in use: the header's and the slabs' */
    uint32_t active;                    /* pages committed (the source's activate) */
    uint32_t hdr_pages;                 /* pages the header itself takes */
    struct slab_span *prev, *next;      /* the set's spans */
    uint32_t used_map[SPAN_WORDS];      /* bit p: page p belongs to the header or a slab */
    uint32_t active_map[SPAN_WORDS];    /* bit p: page p is committed */
    struct slab *page_slab[SPAN_PAGES]; /* the slab covering page p, or NULL */
    uint16_t page_tag[SPAN_PAGES];      /* the owner's word about that slab (the set: its class) */
};

/* The set's spans and their map. */
struct span_pool {
    void *root[SPAN_ROOT_ENTRIES]; /* the map: top level (i686: all of it) */
    size_t node_count;             /* map nodes below the root (x86-64) */
    struct slab_span *spans;       /* every span, oldest first */
    size_t nspans, empty;          /* spans, and of them those holding no slab */
    size_t idle_active;    /* free pages left committed, over all spans (SPAN_KEEP_PAGES at most) */
    size_t inactive_bytes; /* span pages decommitted: the page heap counts spans as committed */
    struct heap *pages;    /* where spans and map nodes come from */
    struct heap_source *src;
    bool enabled; /* the source's page is MM_PAGE_SIZE: spans can be cut in pages */
    bool hot;     /* the owner's hot path may use hot_leaf (span_pool_hot) */
    /*
     * The hot path's cache of one leaf of the map: the node holding the
     * entries of every address whose addr >> SPAN_LEAF_SHIFT is hot_key (on
     * i686 the root, which is the whole map).  Exact: a hit reads the same
     * entry the walk would.  Filled only while `hot` (span_hot_fill), never
     * matching otherwise (hot_key SPAN_HOT_NONE, hot_leaf NULL), and
     * emptied when its node is freed.
     */
    uintptr_t hot_key;
    void *const *hot_leaf;
};

#if SPAN_LEVELS
#define SPAN_LEAF_SHIFT (SPAN_SHIFT + SPAN_NODE_BITS) /* a leaf: 512 spans, 512 MiB */
#define SPAN_HOT_NONE UINTPTR_MAX                     /* above every addr >> SPAN_LEAF_SHIFT */
#endif

/*
 * The slab covering addr, and in *tag its pages' tag, when the hot path's
 * leaf holds its entry, else NULL (then span_slab_at answers): on x86-64
 * one compare replaces the two upper levels of the walk.  A leaf covers
 * 512 MiB of address space, so the spans of a set normally share one.
 */
static inline struct slab *span_slab_at_hot(const struct span_pool *p, uintptr_t addr,
                                            uint16_t *tag)
{
#if SPAN_LEVELS
    if (addr >> SPAN_LEAF_SHIFT != p->hot_key)
        return NULL;
    void *const *leaf = p->hot_leaf;
    const struct slab_span *span = leaf[(addr >> SPAN_SHIFT) & ((1u << SPAN_NODE_BITS) - 1)];
#else
    void *const *leaf = p->hot_leaf;
    if (!leaf)
        return NULL;
    const struct slab_span *span = leaf[addr >> SPAN_SHIFT];
#endif
    if (!span)
        return NULL;
    size_t page = (addr & (SPAN_BYTES - 1)) >> MM_PAGE_SHIFT;
    *tag = span->page_tag[page];
    return span->page_slab[page];
}

/*
 * The slab covering addr, or NULL when addr is in no span of the pool, in
 * a free page or in a span's header.  Reads only the map and the span
 * header the map leads to.
 */
static inline struct slab *span_slab_at(const struct span_pool *p, uintptr_t addr)
{
#if SPAN_LEVELS
    uintptr_t key = (addr & (((uintptr_t)1 << 48) - 1)) >> SPAN_SHIFT;
    const uintptr_t mask = ((uintptr_t)1 << SPAN_NODE_BITS) - 1;
    void **node = p->root[key >> (SPAN_LEVELS * SPAN_NODE_BITS)];
    if (!node)
        return NULL;
    node = node[(key >> SPAN_NODE_BITS) & mask];
    if (!node)
        return NULL;
    struct slab_span *span = (struct slab_span *)node[key & mask];
#else
    struct slab_span *span = (struct slab_span *)p->root[addr >> SPAN_SHIFT];
#endif
    return span ? span->page_slab[(addr & (SPAN_BYTES - 1)) >> MM_PAGE_SHIFT] : NULL;
}

/*
 * An empty pool over the set's page heap `pages` and its source, in zeroed
 * memory (the set's: its page heap hands it over zeroed).  The map's root
 * is not written here, so its pages stay untouched until spans are made.
 */
void span_pool_init(struct span_pool *p, struct heap *pages, struct heap_source *src, size_t page);

/*
 * `bytes` (whole pages, at most a span less its header) cut from a span
 * and committed; its page table entries stay NULL until span_slab_name.
 * Returns the start, or NULL when no span can be had (the source cannot
 * give SPAN_BYTES aligned to SPAN_BYTES, or is exhausted, or its page is
 * not MM_PAGE_SIZE): the caller then takes a run of its own.
 */
void *span_carve(struct span_pool *p, size_t bytes);

/*
 * Name `s` as the slab of every page of [base, base + bytes), carved by
 * span_carve, with the tag span_slab_at_hot gives.
 */
void span_slab_name(struct span_pool *p, void *base, size_t bytes, struct slab *s, uint16_t tag);

/* The tag span_slab_name gave addr's page; addr must be in a page of a slab. */
uint16_t span_tag_at(const struct span_pool *p, uintptr_t addr);

/*
 * Give back [base, base + bytes) carved by span_carve: its pages are
 * forgotten, decommitted beyond SPAN_KEEP_PAGES idle ones, and a span left
 * empty goes back to the page heap beyond SPAN_SPARE empty spans.
 */
void span_uncarve(struct span_pool *p, void *base, size_t bytes);

/*
 * Let the owner's hot path use span_slab_at_hot (on: the owner takes no
 * lock there), or stop it (off: every span_slab_at_hot misses).
 */
void span_pool_hot(struct span_pool *p, bool on);

/* Cache the leaf holding addr's entry for span_slab_at_hot, when the pool is hot and it exists. */
void span_hot_fill(struct span_pool *p, uintptr_t addr);

/* Is base inside one of the pool's spans? */
bool span_holds(const struct span_pool *p, const void *base);

/* Decommit every idle page and give back every empty span (a shrink). */
void span_pool_trim(struct span_pool *p);

/*
 * Check every span: its map entry, bitmaps against counts and the page
 * table.  *slab_pages gets the pages the spans give to slabs (for the set
 * to compare with its slabs); *spans the number of spans and map nodes
 * (runs of the page heap).  Returns the violations found, each reported.
 */
int span_pool_check(const struct span_pool *p, size_t *slab_pages, size_t *runs);

#endif /* MM_SLAB_SPAN_H */
