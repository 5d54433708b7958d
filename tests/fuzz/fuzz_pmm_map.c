/*
 * tests/fuzz/fuzz_pmm_map.c - libFuzzer target: the PMM's memory-map input.
 *
 * Input layout (little-endian, every part optional: a short input just has
 * fewer ranges):
 *
 *   byte 0        number of usable ranges (mod 33)
 *   byte 1        number of reserved ranges (mod 17)
 *   byte 2        allocation pattern: single frames to take, and the size
 *                 and alignment of a contiguous request
 *   then          16 bytes per range: u64 base, u64 length (usable first)
 *
 * For any input: pmm_init succeeds exactly when the map holds a whole frame
 * below 4 GiB; the database is consistent (pmm_check); the statistics add
 * up; the edges of every usable range are RAM, no reserved frame is free;
 * pmm_place_metadata's answer is free RAM; allocations return used frames
 * inside the span and freeing them restores the free count exactly.  Any
 * violation traps, so the fuzzer keeps the input.
 *
 * The full pmm_check and frame-count walks are O(span); under the fuzzer's
 * comparison tracing they take seconds for a 4 GiB span, so they run only
 * for spans up to WALK_LIMIT frames (the hosted tests walk 4 GiB spans).
 */
#include "mm/host/port_linux.h"
#include "mm/pmm.h"

#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USABLE 32
#define MAX_RESERVED 16
#define MAX_SINGLE 64
#define WALK_LIMIT (1u << 16) /* frames: 256 MiB */
#define META_MAX (8u << 20)   /* metadata for a full 4 GiB span */

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Parse up to `max` ranges from the input; returns how many were read. */
static size_t read_ranges(const uint8_t **data, size_t *size, struct pmm_range *out, size_t want)
{
    size_t n = 0;
    while (n < want && *size >= 16) {
        out[n].base = read_u64(*data);
        out[n].length = read_u64(*data + 8);
        *data += 16;
        *size -= 16;
        n++;
    }
    return n;
}

/* The first and last whole frame of a usable range must be RAM (free or reserved). */
static void check_usable_edges(const struct pmm_range *r)
{
    uint64_t end = r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;
    uint64_t first = (r->base + 0xFFF) & ~0xFFFull;
    end = (end > 0x100000000ull ? 0x100000000ull : end) & ~0xFFFull;
    if (r->base >= 0x100000000ull || first >= end)
        return;
    REQUIRE(pmm_frame_state((pmm_paddr_t)first) != PMM_FRAME_ABSENT);
    REQUIRE(pmm_frame_state((pmm_paddr_t)(end - 0x1000)) != PMM_FRAME_ABSENT);
}

/* No frame touched by a reserved range may be free (edges and middle sampled). */
static void check_reserved(const struct pmm_range *r)
{
    uint64_t end = r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;
    if (r->length == 0 || r->base >= 0x100000000ull)
        return;
    end = end > 0x100000000ull ? 0x100000000ull : end;
    uint64_t probes[3] = {r->base, end - 1, r->base + (end - r->base) / 2};
    for (int i = 0; i < 3; i++)
        REQUIRE(pmm_frame_state((pmm_paddr_t)probes[i]) != PMM_FRAME_FREE);
}

/* Statistics add up, and match a frame count when the span is small enough to walk. */
static void check_stats(void)
{
    struct pmm_stats st;
    uint32_t first, end;
    size_t counted[4] = {0};

    pmm_get_stats(&st);
    REQUIRE(st.total == st.free + st.reserved + st.used);
    REQUIRE(st.free == pmm_free_frames());
    REQUIRE(st.largest_free_block <= st.largest_free_run || st.free == 0);
    pmm_span(&first, &end);
    if (end - first > WALK_LIMIT)
        return; /* one pmm_frame_state call per frame: only small spans */
    for (uint32_t f = first; f < end; f++)
        counted[pmm_frame_state((pmm_paddr_t)f << 12)]++;
    REQUIRE(counted[PMM_FRAME_FREE] == st.free && counted[PMM_FRAME_RESERVED] == st.reserved);
    REQUIRE(counted[PMM_FRAME_USED] == st.used);
}

/* The place pmm_place_metadata picks must be free RAM after an init with the same map. */
static void check_placement(const struct pmm_range *u, size_t nu, const struct pmm_range *r,
                            size_t nr, size_t bytes)
{
    uint64_t at;
    if (pmm_place_metadata(u, nu, r, nr, bytes, &at) != 0)
        return;
    REQUIRE((at & 0xFFF) == 0 && at + bytes <= 0x100000000ull);
    for (uint64_t a = at; a < at + bytes; a += 0x1000)
        REQUIRE(pmm_frame_state((pmm_paddr_t)a) == PMM_FRAME_FREE);
}

/* Take some frames and a contiguous run, check them, give everything back. */
static void check_alloc_cycle(uint8_t pattern)
{
    pmm_paddr_t single[MAX_SINGLE];
    size_t free0 = pmm_free_frames(), n = pattern % MAX_SINGLE;
    size_t count = 1 + (pattern >> 2), align = (size_t)1 << (pattern & 7);
    uint32_t first, end;

    pmm_span(&first, &end);
    for (size_t i = 0; i < n; i++) {
        single[i] = pmm_alloc(PMM_NORECLAIM);
        REQUIRE(single[i] == PMM_NONE ||
                (pmm_frame_state(single[i]) == PMM_FRAME_USED && pmm_refcount(single[i]) == 1 &&
                 (single[i] >> 12) >= first && (single[i] >> 12) < end));
    }
    pmm_paddr_t run = pmm_alloc_contig(count, align, PMM_NORECLAIM);
    REQUIRE(run == PMM_NONE || (run >> 12) % align == 0);
    for (size_t i = 0; run != PMM_NONE && i < count; i++)
        REQUIRE(pmm_frame_state(run + (pmm_paddr_t)i * 4096) == PMM_FRAME_USED);
    check_stats();
    if (run != PMM_NONE)
        pmm_free_contig(run, count);
    for (size_t i = 0; i < n; i++)
        if (single[i] != PMM_NONE)
            pmm_free(single[i]);
    REQUIRE(pmm_free_frames() == free0);
}

/* pmm_check when the span is small enough to walk at fuzzing speed. */
static void check_database(void)
{
    uint32_t first, end;
    pmm_span(&first, &end);
    if (end - first <= WALK_LIMIT)
        REQUIRE(pmm_check() == 0);
}

/*
 * Metadata memory for one run: the last `bytes` of one 8 MiB buffer kept for
 * the whole session (a fresh 8 MiB allocation per run spends most of the
 * time in page faults).  The part before it is poisoned and the heap
 * redzone follows it, so ASan still catches an access on either side.
 */
static void *metadata_for(size_t bytes)
{
    static unsigned char *buffer;
    if (buffer == NULL)
        buffer = malloc(META_MAX);
    ASAN_UNPOISON_MEMORY_REGION(buffer, META_MAX);
    ASAN_POISON_MEMORY_REGION(buffer, META_MAX - bytes);
    return buffer + (META_MAX - bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pmm_range usable[MAX_USABLE], reserved[MAX_RESERVED];

    if (size < 3)
        return 0;
    size_t want_u = data[0] % (MAX_USABLE + 1), want_r = data[1] % (MAX_RESERVED + 1);
    uint8_t pattern = data[2];
    data += 3;
    size -= 3;
    size_t nu = read_ranges(&data, &size, usable, want_u);
    size_t nr = read_ranges(&data, &size, reserved, want_r);

    mm_host_print_reports(0);
    size_t bytes = pmm_metadata_bytes(usable, nu);
    REQUIRE(bytes % 4096 == 0 && bytes <= META_MAX);
    void *meta = metadata_for(bytes);
    int rc = pmm_init(usable, nu, reserved, nr, meta, bytes);
    REQUIRE((rc == 0) == (bytes != 0));
    if (rc == 0) {
        check_database();
        REQUIRE(pmm_frame_state(0) != PMM_FRAME_FREE && pmm_frame_state(0xA0000) != PMM_FRAME_FREE);
        for (size_t i = 0; i < nu; i++)
            check_usable_edges(&usable[i]);
        for (size_t i = 0; i < nr; i++)
            check_reserved(&reserved[i]);
        check_stats();
        check_placement(usable, nu, reserved, nr, 1 + (size_t)pattern * 4096);
        check_alloc_cycle(pattern);
        check_database();
    }
    pmm_reset(); /* the next input must not see this one's metadata */
    return 0;
}
