/*
 * mm/host/source_linux.c - the hosted heap source (see source_linux.h).
 *
 * How it works: one mmap(PROT_NONE, MAP_NORESERVE) reservation of
 * `capacity` bytes; the break `brk` splits it into the grown part below
 * (read/write, or PROT_NONE pages where decommitted in strict mode) and
 * the untouched part above.  A bitmap with one bit per page of the range
 * says which pages are committed, so the committed counter is exact even
 * when a caller deactivates a range twice.  Separate mappings are recorded
 * in a table so that unmap can refuse what it never mapped and destroy can
 * release what is left: the first MAP_TABLE_FIRST records sit in the
 * struct itself (a heap that maps a few regions - libmm.so's threads, for
 * the slab set's span-map nodes - costs no page for them), more move to a
 * mapping of their own, grown with mremap.
 *
 * Invariants: brk is page aligned and <= capacity; a page at or above brk
 * is never committed; committed == page_size * (bits set).
 *
 * Cost: grow/shrink/activate/deactivate are one or two system calls plus
 * O(pages) bit updates; unmap is O(number of mappings) (a test tool, not a
 * production path).  Not thread safe by itself: callers hold the instance
 * lock (SOURCE_LINUX_LOCKED provides one).
 */
#include "mm/host/source_linux.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm/port.h"

struct mapping {
    void *ptr;
    size_t bytes;
};

#define MAP_TABLE_FIRST 16  /* mapping records inside the struct */
#define MAP_TABLE_START 256 /* records in the first table mapped apart */

struct source_linux {
    struct heap_source src; /* first: the struct heap_source * is this struct */
    unsigned char *base;
    size_t capacity, brk, page;
    size_t map_limit;
    unsigned flags;
    unsigned char *page_bits; /* one bit per page of the range: committed */
    size_t page_bits_bytes;
    struct mapping *maps; /* open mappings (unordered): first_maps, or a mapping of its own */
    size_t map_count, map_slots;
    struct source_linux_stats st;
    int lock_word;
    struct mapping first_maps[MAP_TABLE_FIRST];
};

#define DEFAULT_CAPACITY (sizeof(void *) == 8 ? ((size_t)1 << 30) : ((size_t)256 << 20))

/* The struct heap_source is the first member, so the cast is the container. */
static struct source_linux *to_linux(struct heap_source *src)
{
    return (struct source_linux *)src;
}

/* Anonymous private memory, or NULL. */
static void *map_anon(size_t bytes, int prot, int extra)
{
    void *p = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---------------------------------------------------------------- page bits */

/* Set (on) or clear pages [first, first+count) and return how many changed. */
static size_t page_bits_set(struct source_linux *s, size_t first, size_t count, int on)
{
    size_t changed = 0;
    for (size_t i = first; i < first + count; i++) {
        unsigned char mask = (unsigned char)(1u << (i % 8));
        int was = (s->page_bits[i / 8] & mask) != 0;
        if (was == on)
            continue;
        s->page_bits[i / 8] ^= mask;
        changed++;
    }
    return changed;
}

/* Validate that [ptr, ptr+bytes) is page aligned and inside the grown part; report if not. */
static int range_in_grown(struct source_linux *s, const void *ptr, size_t bytes, const char *who)
{
    uintptr_t p = (uintptr_t)ptr, b = (uintptr_t)s->base;
    if (bytes == 0 || p % s->page || bytes % s->page || p < b || p - b > s->brk ||
        bytes > s->brk - (p - b)) {
        mm_report("source_linux %s: bad range %p+%zu (grown %p+%zu)", who, ptr, bytes,
                  (void *)s->base, s->brk);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- callbacks */

/* grow: make the next `bytes` of the reservation read/write and move the break up. */
static void *linux_grow(struct heap_source *src, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    s->st.grow_calls++;
    if (bytes == 0 || bytes % s->page) {
        mm_report("source_linux grow: %zu is not a positive multiple of the page size", bytes);
        return NULL;
    }
    if (bytes > s->capacity - s->brk ||
        mprotect(s->base + s->brk, bytes, PROT_READ | PROT_WRITE) != 0) {
        s->st.failed_calls++;
        return NULL; /* out of (simulated) memory */
    }
    void *p = s->base + s->brk;
    s->st.committed += s->page * page_bits_set(s, s->brk / s->page, bytes / s->page, 1);
    s->brk += bytes;
    return p;
}

/* shrink: the top `bytes` below the break lose their frames and their access. */
static int linux_shrink(struct heap_source *src, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    s->st.shrink_calls++;
    if (bytes == 0 || bytes % s->page || bytes > s->brk) {
        mm_report("source_linux shrink: bad size %zu (grown %zu)", bytes, s->brk);
        return -1;
    }
    unsigned char *top = s->base + s->brk - bytes;
    /* Frames go back and the pages fault again, as above a real break. */
    madvise(top, bytes, MADV_DONTNEED);
    mprotect(top, bytes, PROT_NONE);
    s->st.committed -= s->page * page_bits_set(s, (s->brk - bytes) / s->page, bytes / s->page, 0);
    s->brk -= bytes;
    return 0;
}

/*
 * A table for twice the records (at least MAP_TABLE_START), mapped apart:
 * the records in the struct are copied out once, a mapped table grows with
 * mremap.  0, or -1 with the table as it was.
 */
static int map_table_grow(struct source_linux *s)
{
    bool inside = s->maps == s->first_maps;
    size_t slots = inside ? MAP_TABLE_START : 2 * s->map_slots;
    void *t = inside ? mmap(NULL, slots * sizeof *s->maps, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                     : mremap(s->maps, s->map_slots * sizeof *s->maps, slots * sizeof *s->maps,
                              MREMAP_MAYMOVE);
    if (t == MAP_FAILED)
        return -1;
    if (inside)
        memcpy(t, s->first_maps, sizeof s->first_maps);
    s->maps = t;
    s->map_slots = slots;
    s->st.table_bytes = slots * sizeof *s->maps;
    return 0;
}

/* Remember a mapping; the table grows when full.  -1 if it cannot. */
static int map_table_add(struct source_linux *s, void *p, size_t bytes)
{
    if (s->map_count == s->map_slots && map_table_grow(s) != 0)
        return -1;
    s->maps[s->map_count++] = (struct mapping){p, bytes};
    return 0;
}

/* map: a separate anonymous mapping, within map_limit. */
static void *linux_map(struct heap_source *src, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    s->st.map_calls++;
    if (bytes == 0 || bytes % s->page) {
        mm_report("source_linux map: %zu is not a positive multiple of the page size", bytes);
        return NULL;
    }
    void *p = NULL;
    if (!s->map_limit || bytes <= s->map_limit - s->st.mapped)
        p = map_anon(bytes, PROT_READ | PROT_WRITE, 0);
    if (p && map_table_add(s, p, bytes) != 0) {
        munmap(p, bytes);
        p = NULL;
    }
    if (!p) {
        s->st.failed_calls++;
        return NULL;
    }
    s->st.mapped += bytes;
    return p;
}

/* unmap: only exactly what map returned; anything else is reported. */
static void linux_unmap(struct heap_source *src, void *ptr, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    s->st.unmap_calls++;
    for (size_t i = 0; i < s->map_count; i++) {
        if (s->maps[i].ptr != ptr)
            continue;
        if (s->maps[i].bytes != bytes)
            break;
        munmap(ptr, bytes);
        s->st.mapped -= bytes;
        s->maps[i] = s->maps[--s->map_count];
        return;
    }
    mm_report("source_linux unmap: %p+%zu was not mapped by this source", ptr, bytes);
}

/*
 * activate: pages are already accessible (non-strict) or become so (strict);
 * either way the first touch brings a zeroed frame.
 */
static int linux_activate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    s->st.activate_calls++;
    if (!range_in_grown(s, ptr, bytes, "activate"))
        return -1;
    if ((s->flags & SOURCE_LINUX_STRICT) && mprotect(ptr, bytes, PROT_READ | PROT_WRITE) != 0) {
        s->st.failed_calls++;
        return -1;
    }
    size_t first = (size_t)((unsigned char *)ptr - s->base) / s->page;
    s->st.committed += s->page * page_bits_set(s, first, bytes / s->page, 1);
    return 0;
}

/* deactivate: give the frames back now; strict mode also takes the access away. */
static void linux_deactivate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    s->st.deactivate_calls++;
    if (!range_in_grown(s, ptr, bytes, "deactivate"))
        return;
    madvise(ptr, bytes, MADV_DONTNEED); /* frames go; the next touch sees zeros */
    if (s->flags & SOURCE_LINUX_STRICT)
        mprotect(ptr, bytes, PROT_NONE);
    size_t first = (size_t)((unsigned char *)ptr - s->base) / s->page;
    s->st.committed -= s->page * page_bits_set(s, first, bytes / s->page, 0);
}

/* A test-and-set spinlock that yields: enough for tests and light sharing. */
static void linux_lock(struct heap_source *src)
{
    struct source_linux *s = to_linux(src);
    while (__atomic_test_and_set(&s->lock_word, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void linux_unlock(struct heap_source *src)
{
    __atomic_clear(&to_linux(src)->lock_word, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- public */

/* Fill in the callback table according to the feature flags. */
static void source_linux_wire(struct source_linux *s)
{
    unsigned f = s->flags;
    s->src.grow = linux_grow;
    s->src.shrink = (f & SOURCE_LINUX_NO_SHRINK) ? NULL : linux_shrink;
    s->src.map = (f & SOURCE_LINUX_NO_MAP) ? NULL : linux_map;
    s->src.unmap = (f & SOURCE_LINUX_NO_MAP) ? NULL : linux_unmap;
    s->src.activate = (f & SOURCE_LINUX_NO_COMMIT) ? NULL : linux_activate;
    s->src.deactivate = (f & SOURCE_LINUX_NO_COMMIT) ? NULL : linux_deactivate;
    s->src.lock = (f & SOURCE_LINUX_LOCKED) ? linux_lock : NULL;
    s->src.unlock = (f & SOURCE_LINUX_LOCKED) ? linux_unlock : NULL;
    s->src.page_size = s->page;
    s->src.ctx = s;
    s->src.grow_limit = s->capacity;
    /* grow gives fresh anonymous pages; shrink and deactivate drop frames (MADV_DONTNEED) */
    s->src.zeroed = 1;
}

struct heap_source *source_linux_create(const struct source_linux_config *cfg)
{
    struct source_linux_config c = cfg ? *cfg : (struct source_linux_config){0};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (page == 0 || (page & (page - 1)) != 0)
        return NULL;
    size_t capacity = c.capacity ? c.capacity : DEFAULT_CAPACITY;
    capacity = (capacity + page - 1) & ~(page - 1);
    size_t bits_bytes = (capacity / page + 7) / 8;
    size_t self_bytes = (sizeof(struct source_linux) + bits_bytes + page - 1) & ~(page - 1);

    struct source_linux *s = map_anon(self_bytes, PROT_READ | PROT_WRITE, 0);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->base = map_anon(capacity, PROT_NONE, MAP_NORESERVE);
    if (!s->base) {
        munmap(s, self_bytes);
        return NULL;
    }
    s->capacity = capacity;
    s->page = page;
    s->map_limit = c.map_limit;
    s->flags = c.flags;
    s->page_bits = (unsigned char *)(s + 1);
    s->page_bits_bytes = bits_bytes;
    s->maps = s->first_maps;
    s->map_slots = MAP_TABLE_FIRST;
    source_linux_wire(s);
    return &s->src;
}

/* See the header: mappings, the reservation, then this struct itself. */
void source_linux_destroy(struct heap_source *src)
{
    struct source_linux *s = to_linux(src);
    for (size_t i = 0; i < s->map_count; i++)
        munmap(s->maps[i].ptr, s->maps[i].bytes);
    if (s->maps != s->first_maps)
        munmap(s->maps, s->map_slots * sizeof *s->maps);
    munmap(s->base, s->capacity);
    size_t self_bytes =
        (sizeof(struct source_linux) + s->page_bits_bytes + s->page - 1) & ~(s->page - 1);
    munmap(s, self_bytes);
}

/* See the header. */
void source_linux_stats(struct heap_source *src, struct source_linux_stats *st)
{
    struct source_linux *s = to_linux(src);
    *st = s->st;
    st->capacity = s->capacity;
    st->grown = s->brk;
}

/* See the header; pages partly covered by the range count. */
int source_linux_is_committed(struct heap_source *src, const void *ptr, size_t bytes)
{
    struct source_linux *s = to_linux(src);
    uintptr_t p = (uintptr_t)ptr, b = (uintptr_t)s->base;
    if (p < b || p - b > s->brk || bytes > s->brk - (p - b))
        return 0;
    size_t first = (p - b) / s->page, last = (p - b + bytes + s->page - 1) / s->page;
    for (size_t i = first; i < last; i++)
        if (!(s->page_bits[i / 8] & (1u << (i % 8))))
            return 0;
    return 1;
}
