/*
 * kernel/memmap.c - memory-map normalisation (see memmap.h).
 *
 * How it works: every input entry contributes two boundaries (start, end).
 * Sorting the boundaries cuts the address space into elementary intervals
 * that no entry boundary crosses; each interval takes the strongest type of
 * the entries that cover it (or none: a hole).  Adjacent intervals of equal
 * type are merged.  With n <= MEMMAP_MAX entries the O(n^2) "which entries
 * cover this interval" step is a few thousand comparisons, once per boot.
 *
 * End addresses are exclusive and computed in 64 bits; an entry whose end
 * would pass 2^64 is clipped to 2^64 - 1 and counted.
 */
#include "kernel/memmap.h"

#define ADDR_END_MAX UINT64_MAX

/* Higher wins when entries overlap: anything is stronger than usable. */
static int type_strength(uint32_t type)
{
    switch (type) {
    case MEM_USABLE: return 1;
    case MEM_ACPI_RECLAIMABLE: return 2;
    case MEM_RESERVED: return 3;
    case MEM_ACPI_NVS: return 4;
    case MEM_BAD: return 5;
    default: return 3; /* unknown types are treated as reserved */
    }
}

static uint32_t canonical_type(uint32_t type)
{
    return (type >= MEM_USABLE && type <= MEM_BAD) ? type : MEM_RESERVED;
}

static uint64_t entry_end(const struct mem_range *r, unsigned *clipped)
{
    if (r->length > ADDR_END_MAX - r->base) {
        (*clipped)++;
        return ADDR_END_MAX;
    }
    return r->base + r->length;
}

static void sort_u64(uint64_t *v, size_t n)
{
    /* insertion sort: n <= 2 * MEMMAP_MAX, and the input is nearly sorted */
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Strongest type covering [start, end), 0 if none does. */
static uint32_t type_of_interval(const struct mem_range *in, const uint64_t *ends, size_t n,
                                 uint64_t start)
{
    uint32_t best = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i].length == 0 || in[i].base > start || ends[i] <= start)
            continue;
        uint32_t t = canonical_type(in[i].type);
        if (!best || type_strength(t) > type_strength(best))
            best = t;
    }
    return best;
}

static void append(struct memmap *out, uint64_t start, uint64_t end, uint32_t type)
{
    if (out->count > 0) {
        struct mem_range *last = &out->range[out->count - 1];
        if (last->type == type && last->base + last->length == start) {
            last->length += end - start;
            return;
        }
    }
    if (out->count < MEMMAP_MAX)
        out->range[out->count++] = (struct mem_range){start, end - start, type};
}

static void count_anomalies(const struct mem_range *in, const uint64_t *ends, size_t n,
                            struct memmap *out)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i].length == 0) {
            out->dropped_empty++;
            continue;
        }
        if (i > 0 && in[i].base < in[i - 1].base)
            out->unsorted++;
        for (size_t j = i + 1; j < n; j++)
            if (in[j].length && in[j].base < ends[i] && in[i].base < ends[j])
                out->overlaps++;
    }
}

void memmap_normalise(const struct mem_range *in, size_t n, struct memmap *out)
{
    static uint64_t ends[MEMMAP_MAX];
    static uint64_t bounds[2 * MEMMAP_MAX];
    size_t nb = 0;

    *out = (struct memmap){0};
    if (n > MEMMAP_MAX) {
        out->truncated_input = (unsigned)(n - MEMMAP_MAX);
        n = MEMMAP_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        ends[i] = entry_end(&in[i], &out->clipped_overflow);
        if (in[i].length == 0)
            continue;
        bounds[nb++] = in[i].base;
        bounds[nb++] = ends[i];
    }
    count_anomalies(in, ends, n, out);
    sort_u64(bounds, nb);
    for (size_t k = 0; k + 1 < nb; k++) {
        if (bounds[k] == bounds[k + 1])
            continue;
        uint32_t t = type_of_interval(in, ends, n, bounds[k]);
        if (t)
            append(out, bounds[k], bounds[k + 1], t);
    }
}

uint64_t memmap_usable_total(const struct memmap *m)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < m->count; i++)
        if (m->range[i].type == MEM_USABLE)
            total += m->range[i].length;
    return total;
}

#define FOUR_GIB 0x100000000ull

size_t memmap_usable_ranges(const struct memmap *m, struct mem_range *out, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < m->count && n < max; i++) {
        const struct mem_range *r = &m->range[i];
        if (r->type != MEM_USABLE || r->base >= FOUR_GIB)
            continue;
        uint64_t end = r->base + r->length;
        if (end > FOUR_GIB)
            end = FOUR_GIB; /* clip, never wrap */
        out[n++] = (struct mem_range){r->base, end - r->base, MEM_USABLE};
    }
    return n;
}

uint64_t memmap_usable_below_4g(const struct memmap *m)
{
    struct mem_range tmp[MEMMAP_MAX];
    size_t n = memmap_usable_ranges(m, tmp, MEMMAP_MAX);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += tmp[i].length;
    return total;
}

const char *memmap_type_name(uint32_t type)
{
    switch (type) {
    case MEM_USABLE: return "usable";
    case MEM_RESERVED: return "reserved";
    case MEM_ACPI_RECLAIMABLE: return "ACPI data";
    case MEM_ACPI_NVS: return "ACPI NVS";
    case MEM_BAD: return "bad";
    default: return "unknown";
    }
}
