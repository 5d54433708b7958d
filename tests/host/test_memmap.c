/*
 * tests/host/test_memmap.c - memory-map normalisation against malformed maps.
 */
#include "harness.h"
#include "kernel/memmap.h"

#include <string.h>

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define U MEM_USABLE
#define R MEM_RESERVED

static struct memmap out;

static void norm(const struct mem_range *in, size_t n)
{
    memmap_normalise(in, n, &out);
}

/* out must be sorted, disjoint, non-empty ranges */
static int well_formed(void)
{
    for (unsigned i = 0; i < out.count; i++) {
        if (out.range[i].length == 0)
            return 0;
        if (i && out.range[i - 1].base + out.range[i - 1].length > out.range[i].base)
            return 0;
        if (i && out.range[i - 1].base + out.range[i - 1].length == out.range[i].base &&
            out.range[i - 1].type == out.range[i].type)
            return 0; /* should have been merged */
    }
    return 1;
}

TEST(qemu_like_map_is_kept)
{
    struct mem_range in[] = {
        {0, 0x9FC00, U}, {0x9FC00, 0x400, R}, {0xF0000, 0x10000, R},
        {0x100000, 127 * MiB, U}, {0xFFFC0000, 0x40000, R},
    };
    norm(in, 5);
    CHECK(well_formed());
    CHECK_EQ(out.count, 5);
    CHECK_EQ(memmap_usable_total(&out), 0x9FC00 + 127 * MiB);
    CHECK_EQ(out.overlaps + out.unsorted + out.dropped_empty, 0);
}

TEST(unsorted_input_is_sorted)
{
    struct mem_range in[] = {{0x100000, MiB, U}, {0, 0x9F000, U}, {0xF0000, 0x10000, R}};
    norm(in, 3);
    CHECK(well_formed());
    CHECK_EQ(out.count, 3);
    CHECK_EQ(out.range[0].base, 0);
    CHECK_EQ(out.range[1].base, 0xF0000);
    CHECK_EQ(out.range[2].base, 0x100000);
    CHECK(out.unsorted >= 1);
}

TEST(reserved_wins_over_usable_in_overlap)
{
    /* usable 0-16 MiB with a reserved hole punched in the middle */
    struct mem_range in[] = {{0, 16 * MiB, U}, {4 * MiB, MiB, R}};
    norm(in, 2);
    CHECK(well_formed());
    CHECK_EQ(out.count, 3);
    CHECK_EQ(out.range[1].base, 4 * MiB);
    CHECK_EQ(out.range[1].type, R);
    CHECK_EQ(memmap_usable_total(&out), 15 * MiB);
    CHECK_EQ(out.overlaps, 1);
}

TEST(order_of_overlapping_entries_does_not_matter)
{
    struct mem_range a[] = {{0, 8 * MiB, U}, {2 * MiB, 4 * MiB, MEM_ACPI_NVS}, {3 * MiB, MiB, U}};
    struct mem_range b[] = {{3 * MiB, MiB, U}, {2 * MiB, 4 * MiB, MEM_ACPI_NVS}, {0, 8 * MiB, U}};
    struct memmap first;
    norm(a, 3);
    first = out;
    norm(b, 3);
    CHECK_EQ(first.count, out.count);
    CHECK(memcmp(first.range, out.range, out.count * sizeof out.range[0]) == 0);
    CHECK_EQ(memmap_usable_total(&out), 4 * MiB);
}

TEST(zero_length_entries_are_dropped)
{
    struct mem_range in[] = {{0x1000, 0, U}, {0, MiB, U}, {5 * MiB, 0, R}};
    norm(in, 3);
    CHECK_EQ(out.count, 1);
    CHECK_EQ(out.dropped_empty, 2);
}

TEST(adjacent_same_type_entries_merge)
{
    struct mem_range in[] = {{0, MiB, U}, {MiB, MiB, U}, {2 * MiB, MiB, U}};
    norm(in, 3);
    CHECK_EQ(out.count, 1);
    CHECK_EQ(out.range[0].length, 3 * MiB);
}

TEST(overflowing_entry_is_clipped_not_wrapped)
{
    struct mem_range in[] = {{0, MiB, U}, {0xFFFFFFFFFFFFF000ull, 0x10000, R}};
    norm(in, 2);
    CHECK(well_formed());
    CHECK_EQ(out.clipped_overflow, 1);
    CHECK_EQ(out.count, 2);
    CHECK_EQ(out.range[1].base + out.range[1].length, UINT64_MAX);
}

TEST(above_4g_is_clipped_never_truncated)
{
    /* QEMU q35 with 3.5 GiB: 2 GiB low, 1.5 GiB from 4 GiB */
    struct mem_range in[] = {{0, 0x9FC00, U}, {0x100000, 2 * GiB - 0x100000, U},
                             {4 * GiB, 1536 * MiB, U}};
    norm(in, 3);
    CHECK_EQ(memmap_usable_total(&out), 0x9FC00 + 2 * GiB - 0x100000 + 1536 * MiB);
    CHECK_EQ(memmap_usable_below_4g(&out), 0x9FC00 + 2 * GiB - 0x100000);
    /* a range straddling 4 GiB keeps its low part only */
    struct mem_range straddle[] = {{3 * GiB, 2 * GiB, U}};
    struct mem_range clipped[4];
    norm(straddle, 1);
    CHECK_EQ(memmap_usable_ranges(&out, clipped, 4), 1);
    CHECK_EQ(clipped[0].base, 3 * GiB);
    CHECK_EQ(clipped[0].length, GiB);
    /* a truncating kernel would have seen base 0 here: we must see nothing */
    struct mem_range high_only[] = {{4 * GiB, GiB, U}};
    norm(high_only, 1);
    CHECK_EQ(memmap_usable_ranges(&out, clipped, 4), 0);
    CHECK_EQ(memmap_usable_below_4g(&out), 0);
}

TEST(unknown_types_become_reserved)
{
    struct mem_range in[] = {{0, MiB, 77}, {0, 2 * MiB, U}};
    norm(in, 2);
    CHECK_EQ(out.range[0].type, R);
    CHECK_EQ(memmap_usable_total(&out), MiB);
}

TEST(too_many_entries_are_counted)
{
    static struct mem_range in[MEMMAP_MAX + 10];
    for (unsigned i = 0; i < MEMMAP_MAX + 10; i++)
        in[i] = (struct mem_range){i * 2 * MiB, MiB, U};
    norm(in, MEMMAP_MAX + 10);
    CHECK_EQ(out.truncated_input, 10);
    CHECK_EQ(out.count, MEMMAP_MAX);
    CHECK(well_formed());
}

TEST(random_maps_are_always_well_formed)
{
    /* Every address's final type must be the strongest of the inputs covering it. */
    for (int round = 0; round < 2000; round++) {
        struct mem_range in[12];
        size_t n = 1 + harness_rand() % 12;
        for (size_t i = 0; i < n; i++) {
            in[i].base = (harness_rand() % 64) * MiB;
            in[i].length = (harness_rand() % 16) * MiB;
            in[i].type = 1 + harness_rand() % 6;
        }
        norm(in, n);
        CHECK(well_formed());
        for (uint64_t a = 0; a < 80 * MiB; a += MiB / 2) {
            uint32_t want = 0, got = 0;
            for (size_t i = 0; i < n; i++) {
                if (!(a >= in[i].base && a < in[i].base + in[i].length))
                    continue;
                uint32_t t = in[i].type > 5 ? R : in[i].type;
                static const int strength[] = {0, 1, 3, 2, 4, 5};
                if (!want || strength[t] > strength[want])
                    want = t;
            }
            for (unsigned k = 0; k < out.count; k++)
                if (a >= out.range[k].base && a < out.range[k].base + out.range[k].length)
                    got = out.range[k].type;
            CHECK_EQ(got, want);
        }
    }
}

TEST(type_names)
{
    CHECK(strcmp(memmap_type_name(MEM_USABLE), "usable") == 0);
    CHECK(strcmp(memmap_type_name(MEM_ACPI_NVS), "ACPI NVS") == 0);
    CHECK(strcmp(memmap_type_name(99), "unknown") == 0);
}
