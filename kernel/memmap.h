/*
 * kernel/memmap.h - a physical memory map you can trust.
 *
 * Loaders hand over memory maps with surprises: entries out of order,
 * overlapping entries with different types, zero lengths, ranges whose end
 * overflows 64 bits, ranges above 4 GiB that a 32-bit kernel cannot use.
 * memmap_normalise() turns any such list into a sorted list of disjoint
 * ranges, where an address covered by several entries gets the most
 * restrictive type (anything beats usable), and adjacent ranges of the same
 * type are merged.  Nothing is truncated: 64-bit addresses are kept, and the
 * usable part above 4 GiB is counted separately so that the 32-bit kernel
 * can clip it (memmap_usable_below_4g) rather than wrap it.
 *
 * Pure code: no loader structures, no hardware; tested hosted
 * (tests/host/test_memmap.c).
 */
#ifndef KERNEL_MEMMAP_H
#define KERNEL_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#define MEMMAP_MAX 128

enum mem_type {
    MEM_USABLE = 1,
    MEM_RESERVED = 2,
    MEM_ACPI_RECLAIMABLE = 3,
    MEM_ACPI_NVS = 4,
    MEM_BAD = 5,
};

struct mem_range {
    uint64_t base;
    uint64_t length; /* > 0 */
    uint32_t type;   /* enum mem_type; unknown loader types become MEM_RESERVED */
};

struct memmap {
    struct mem_range range[MEMMAP_MAX];
    unsigned count;
    /* what normalisation found and fixed, for the boot log */
    unsigned dropped_empty;     /* zero-length entries */
    unsigned clipped_overflow;  /* base + length wrapped past 2^64 */
    unsigned overlaps;          /* pairs of input entries that overlapped */
    unsigned unsorted;          /* input entries that came before their predecessor */
    unsigned truncated_input;   /* entries beyond MEMMAP_MAX that were ignored */
};

/*
 * Normalise `n` raw entries into *out (see above).  Never fails: the worst
 * input gives an empty map, and *out says what was fixed.
 */
void memmap_normalise(const struct mem_range *in, size_t n, struct memmap *out);

/* Total bytes of usable RAM in the map (all of it, above 4 GiB included). */
uint64_t memmap_usable_total(const struct memmap *m);

/* Usable bytes below 4 GiB: what a 32-bit kernel can manage. */
uint64_t memmap_usable_below_4g(const struct memmap *m);

/*
 * Copy the usable ranges below 4 GiB (clipped at 4 GiB) into out[max];
 * returns how many were written.
 */
size_t memmap_usable_ranges(const struct memmap *m, struct mem_range *out, size_t max);

/* Short name of a type ("usable", "reserved", "ACPI data", "ACPI NVS", "bad"). */
const char *memmap_type_name(uint32_t type);

#endif /* KERNEL_MEMMAP_H */
