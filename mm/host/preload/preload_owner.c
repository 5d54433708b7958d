/*
 * mm/host/preload/preload_owner.c - which heap instance owns an address.
 *
 * How it works: a two-level radix table over the 47-bit user address space
 * of x86-64, one entry per 4 KiB page.  The top level (2^17 pointers, one
 * per GiB) is mapped at start; a leaf (2^18 entries, 2 MiB of address
 * space) is mapped the first time a page of its GiB is recorded.  Both are
 * anonymous mmap memory: pages of a leaf that are never written cost no
 * RAM, so a thread's 4 GiB reservation costs a few pages of table.
 *
 * The entries are written when an instance's source hands memory out
 * (grow, map) and cleared when it takes a mapping back (unmap); that is the
 * only thing the table knows about the allocators, so it does not depend on
 * how any of them lays out its blocks.
 *
 * Invariants: an entry is the instance whose source produced the page, as
 * long as the page is grown or mapped; a leaf, once installed, is never
 * removed, but the pages of it that a clear covers whole are given back
 * to the kernel (they read as NULL again), so the heaps of threads that
 * came and went leave no resident trace.  Costs: lookup three dependent loads, inlined (preload.h);
 * recording one store per page.
 * Locking: none.  Entries are atomics (a reader on another thread sees an
 * entry or NULL, never half of one); a live block's entry was written
 * before the block was handed out, and the program's own synchronisation
 * that passed the pointer to another thread makes it visible there.  A leaf
 * is installed with a compare-and-swap; the loser gives its copy back.
 */
#include "mm/host/preload/preload.h"

#include <sys/mman.h>

#define OWNER_PAGE_SHIFT PRELOAD_OWNER_PAGE_SHIFT
#define OWNER_LEAF_BITS PRELOAD_OWNER_LEAF_BITS
#define OWNER_LEAF_ENTRIES ((size_t)1 << OWNER_LEAF_BITS)
#define OWNER_TOP_ENTRIES ((size_t)1 << PRELOAD_OWNER_TOP_BITS)

/*
 * OWNER_TOP_ENTRIES leaf pointers, mapped on first use; a leaf is
 * OWNER_LEAF_ENTRIES owner pointers.  Read inline by preload_owner_get.
 */
void ***preload_owner_top;

static void *owner_map_anon(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The top level, mapped once; racing first callers agree on one copy. */
static void ***owner_top_level(void)
{
    void ***top = __atomic_load_n(&preload_owner_top, __ATOMIC_ACQUIRE);
    if (top)
        return top;
    void ***fresh = owner_map_anon(OWNER_TOP_ENTRIES * sizeof *fresh);
    if (!fresh)
        return NULL;
    if (!__atomic_compare_exchange_n(&preload_owner_top, &top, fresh, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        munmap(fresh, OWNER_TOP_ENTRIES * sizeof *fresh);
        return top;
    }
    return fresh;
}

/* The leaf for page number `page`, created when `create`; NULL if none. */
static void **owner_leaf_of(uintptr_t page, int create)
{
    void ***top = owner_top_level();
    if (!top || (page >> OWNER_LEAF_BITS) >= OWNER_TOP_ENTRIES)
        return NULL;
    void ***slot = &top[page >> OWNER_LEAF_BITS];
    void **leaf = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (leaf || !create)
        return leaf;
    void **fresh = owner_map_anon(OWNER_LEAF_ENTRIES * sizeof *fresh);
    if (!fresh)
        return NULL;
    if (!__atomic_compare_exchange_n(slot, &leaf, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        munmap(fresh, OWNER_LEAF_ENTRIES * sizeof *fresh);
        return leaf;
    }
    return fresh;
}

/* Entries of the map that fill one page of a leaf. */
#define OWNER_ENTRIES_PER_PAGE (((size_t)1 << OWNER_PAGE_SHIFT) / sizeof(void *))

/*
 * Clear the entries for pages [p, end) of one leaf: whole pages of the
 * leaf go back to the kernel (they read as NULL from then on, and cost no
 * memory: a heap that is destroyed leaves no resident trace here), the
 * rest are stored NULL; only pages of [p, end) in this leaf.  Returns the
 * page number after the last one cleared.
 */
static uintptr_t owner_clear(void **leaf, uintptr_t p, uintptr_t end)
{
    uintptr_t leaf_end = (p | (OWNER_LEAF_ENTRIES - 1)) + 1;
    if (end > leaf_end)
        end = leaf_end;
    while (p < end) {
        size_t i = p & (OWNER_LEAF_ENTRIES - 1);
        if (i % OWNER_ENTRIES_PER_PAGE == 0 && end - p >= OWNER_ENTRIES_PER_PAGE) {
            madvise(&leaf[i], OWNER_ENTRIES_PER_PAGE * sizeof *leaf, MADV_DONTNEED);
            p += OWNER_ENTRIES_PER_PAGE;
        } else {
            __atomic_store_n(&leaf[i], NULL, __ATOMIC_RELEASE);
            p++;
        }
    }
    return p;
}

int preload_owner_set(uintptr_t start, size_t bytes, void *owner)
{
    uintptr_t first = start >> OWNER_PAGE_SHIFT;
    uintptr_t end = (start + bytes + ((uintptr_t)1 << OWNER_PAGE_SHIFT) - 1) >> OWNER_PAGE_SHIFT;
    /* Create every leaf first, so that a failure records nothing. */
    for (uintptr_t p = first; p < end; p = (p | (OWNER_LEAF_ENTRIES - 1)) + 1)
        if (!owner_leaf_of(p, owner != NULL) && owner)
            return -1;
    for (uintptr_t p = first; p < end;) {
        void **leaf = owner_leaf_of(p, 0);
        if (!leaf)
            p = (p | (OWNER_LEAF_ENTRIES - 1)) + 1;
        else if (!owner)
            p = owner_clear(leaf, p, end);
        else
            __atomic_store_n(&leaf[p++ & (OWNER_LEAF_ENTRIES - 1)], owner, __ATOMIC_RELEASE);
    }
    return 0;
}

/* Resident pages of [p, p+bytes) (page aligned, mapped), counted with mincore in steps. */
static size_t resident_bytes(const void *p, size_t bytes)
{
    unsigned char vec[512];
    size_t page = (size_t)1 << OWNER_PAGE_SHIFT, n = 0;
    for (size_t off = 0; off < bytes; off += sizeof vec * page) {
        size_t len = bytes - off < sizeof vec * page ? bytes - off : sizeof vec * page;
        if (mincore((char *)p + off, len, vec) != 0)
            continue;
        for (size_t i = 0; i < len / page; i++)
            n += vec[i] & 1;
    }
    return n * page;
}

size_t preload_owner_resident(void)
{
    void ***top = __atomic_load_n(&preload_owner_top, __ATOMIC_ACQUIRE);
    if (!top)
        return 0;
    size_t n = resident_bytes(top, OWNER_TOP_ENTRIES * sizeof *top);
    for (size_t i = 0; i < OWNER_TOP_ENTRIES; i++) {
        void **leaf = __atomic_load_n(&top[i], __ATOMIC_ACQUIRE);
        if (leaf)
            n += resident_bytes(leaf, OWNER_LEAF_ENTRIES * sizeof *leaf);
    }
    return n;
}
