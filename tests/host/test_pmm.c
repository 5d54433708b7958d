/*
 * tests/host/test_pmm.c - hosted tests of the physical memory manager.
 *
 * The PMM never touches the frames it manages, so on the host a "frame" is
 * just a number: the tests feed synthetic memory maps and compare what the
 * PMM says against an independent model built frame by frame from the same
 * ranges (model_build), and against a shadow of every reference handed out.
 */
#include "harness.h"
#include "mm/host/port_linux.h"
#include "mm/pmm.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAMES_4G (1u << 20)
#define MiB 0x100000ull
#define GiB 0x40000000ull
#define FRAME(pfn) ((pmm_paddr_t)(pfn) << 12)

/* ------------------------------------------------------------ fixture */

static void *meta;
static size_t meta_size;

/* Init the PMM on a fresh metadata buffer sized by pmm_metadata_bytes. */
static int setup(const struct pmm_range *usable, size_t n_usable, const struct pmm_range *reserved,
                 size_t n_reserved)
{
    free(meta);
    meta_size = pmm_metadata_bytes(usable, n_usable);
    meta = malloc(meta_size ? meta_size : 1);
    return pmm_init(usable, n_usable, reserved, n_reserved, meta, meta_size);
}

/* QEMU-like maps: 640 KiB minus the EBDA, then RAM from 1 MiB up to the PCI hole. */
static size_t qemu_map(struct pmm_range *out, uint64_t ram, bool q35)
{
    uint64_t hole = q35 ? 0x80000000ull : 0xC0000000ull;
    uint64_t low = ram >= (q35 ? 0xB0000000ull : 0xE0000000ull) ? hole : ram;
    size_t n = 0;

    out[n++] = (struct pmm_range){0, 0x9FC00};
    out[n++] = (struct pmm_range){MiB, low - MiB};
    if (ram > low)
        out[n++] = (struct pmm_range){4 * GiB, ram - low};
    return n;
}

/* The kernel image, boot info, a command line and a module, as a boot would pass them. */
static const struct pmm_range boot_reserved[] = {
    {0x100000, 0x123456},
    {0x9000, 0x1000},
    {0x10000, 0x80},
    {0x300000, 0x50000},
};
#define N_BOOT_RESERVED (sizeof boot_reserved / sizeof boot_reserved[0])

static int setup_qemu(uint64_t ram, bool q35)
{
    struct pmm_range usable[3];
    size_t n = qemu_map(usable, ram, q35);
    return setup(usable, n, boot_reserved, N_BOOT_RESERVED);
}

/* ------------------------------------------------------------ the model */

/* Expected state of each frame below 4 GiB, computed the slow obvious way. */
static uint8_t model[FRAMES_4G];

static uint64_t range_end(const struct pmm_range *r)
{
    return r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;
}

static void model_reserve(const struct pmm_range *r)
{
    uint64_t end = range_end(r);
    if (r->length == 0)
        return;
    for (uint64_t a = r->base & ~0xFFFull; a < end && a < 4 * GiB; a += 4096)
        if (model[a >> 12] != PMM_FRAME_ABSENT)
            model[a >> 12] = PMM_FRAME_RESERVED;
}

/* usable: whole frames inside; reserved (and the firmware areas): every frame touched. */
static size_t model_build(const struct pmm_range *usable, size_t n_usable,
                          const struct pmm_range *reserved, size_t n_reserved)
{
    static const struct pmm_range firmware[] = {{0, 0x1000}, {0x9F000, 0x61000}};
    size_t free = 0;

    memset(model, PMM_FRAME_ABSENT, sizeof model);
    for (size_t i = 0; i < n_usable; i++) {
        uint64_t end = range_end(&usable[i]);
        for (uint64_t a = usable[i].base & ~0xFFFull; a < end && a < 4 * GiB; a += 4096)
            if (a >= usable[i].base && end - a >= 4096)
                model[a >> 12] = PMM_FRAME_FREE;
    }
    for (size_t i = 0; i < 2; i++)
        model_reserve(&firmware[i]);
    for (size_t i = 0; i < n_reserved; i++)
        model_reserve(&reserved[i]);
    for (size_t f = 0; f < FRAMES_4G; f++)
        free += model[f] == PMM_FRAME_FREE;
    return free;
}

/* Frames whose PMM state differs from the model (every frame below 4 GiB). */
static size_t model_mismatches(void)
{
    size_t bad = 0;
    for (uint32_t f = 0; f < FRAMES_4G; f++)
        bad += pmm_frame_state(FRAME(f)) != model[f];
    return bad;
}

/* ------------------------------------------------------------ shadow of references */

static uint32_t shadow[FRAMES_4G]; /* references the tests believe each frame has */

/* Claim a run in the shadow; false if any frame was already handed out or unusable. */
static bool shadow_take(pmm_paddr_t paddr, size_t count)
{
    if (paddr == PMM_NONE || (paddr & 0xFFF) != 0)
        return false;
    for (size_t i = 0; i < count; i++) {
        uint32_t f = (paddr >> 12) + (uint32_t)i;
        if (f >= FRAMES_4G || shadow[f] != 0 || model[f] != PMM_FRAME_FREE)
            return false;
        shadow[f] = 1;
    }
    return true;
}

/* Frames whose reference count differs from the shadow. */
static size_t shadow_mismatches(uint32_t first, uint32_t end)
{
    size_t bad = 0;
    for (uint32_t f = first; f < end; f++)
        bad += pmm_refcount(FRAME(f)) != shadow[f];
    return bad;
}

/* Bytes of the metadata and the statistics, to prove that refused calls change nothing. */
struct snapshot {
    unsigned char *bytes;
    struct pmm_stats stats;
};

static void snapshot_take(struct snapshot *s)
{
    s->bytes = malloc(meta_size);
    memcpy(s->bytes, meta, meta_size);
    pmm_get_stats(&s->stats);
}

static bool snapshot_same(struct snapshot *s)
{
    struct pmm_stats now;
    pmm_get_stats(&now);
    bool same = memcmp(s->bytes, meta, meta_size) == 0 && memcmp(&now, &s->stats, sizeof now) == 0;
    free(s->bytes);
    return same;
}

/* Silence stderr around code that makes pmm_check print on purpose. */
static int stderr_saved = -1;
static void quiet(bool on)
{
    if (on) {
        fflush(stderr);
        stderr_saved = dup(2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        close(null);
    } else {
        fflush(stderr);
        dup2(stderr_saved, 2);
        close(stderr_saved);
    }
}

/* ------------------------------------------------------------ initialisation */

TEST(init_qemu_pc_128m_matches_model)
{
    struct pmm_range usable[3];
    size_t n = qemu_map(usable, 128 * MiB, false);
    size_t expect_free = model_build(usable, n, boot_reserved, N_BOOT_RESERVED);
    struct pmm_stats st;

    CHECK_EQ(setup(usable, n, boot_reserved, N_BOOT_RESERVED), 0);
    CHECK_EQ(pmm_check(), 0);
    CHECK_EQ(model_mismatches(), 0);
    pmm_get_stats(&st);
    CHECK_EQ(st.free, expect_free);
    CHECK_EQ(pmm_free_frames(), expect_free);
    CHECK_EQ(st.total, 159 + (128 * MiB - MiB) / 4096); /* 0x9F frames below 640 KiB */
    CHECK_EQ(st.used, 0);
    CHECK_EQ(st.total, st.free + st.reserved);
    CHECK_EQ(st.zone[PMM_ZONE_LOW].total, 159);
    CHECK_EQ(st.zone[PMM_ZONE_DMA].total, 3840);
    CHECK_EQ(st.zone[PMM_ZONE_HIGH].free, (128 - 16) * MiB / 4096);
    CHECK_EQ(st.largest_free_block, PMM_MAX_CONTIG_FRAMES);
    CHECK_EQ(st.zone[PMM_ZONE_HIGH].largest_free_run, (128 - 16) * MiB / 4096);
    CHECK_EQ(st.metadata_bytes, 32768 * PMM_FRAME_META_BYTES);
    CHECK_EQ(pmm_low_watermark(), expect_free / 64);
    pmm_print_stats();
}

TEST(init_rounds_usable_inward_and_reserved_outward)
{
    const struct pmm_range usable[] = {{0x20001234, 0x5000}}; /* frames 0x20002..0x20005 */
    const struct pmm_range reserved[] = {{0x20003800, 0x10}, {0x20004FFF, 0}};

    CHECK_EQ(setup(usable, 1, reserved, 2), 0);
    CHECK_EQ(pmm_frame_state(0x20001000), PMM_FRAME_ABSENT);
    CHECK_EQ(pmm_frame_state(0x20002000), PMM_FRAME_FREE);
    CHECK_EQ(pmm_frame_state(0x20003000), PMM_FRAME_RESERVED);
    CHECK_EQ(pmm_frame_state(0x20004000), PMM_FRAME_FREE); /* a zero-length range touches nothing */
    CHECK_EQ(pmm_frame_state(0x20005000), PMM_FRAME_FREE);
    CHECK_EQ(pmm_frame_state(0x20006000), PMM_FRAME_ABSENT); /* 0x20006234 rounds down */
    CHECK_EQ(pmm_free_frames(), 3);
    uint32_t first, end;
    pmm_span(&first, &end);
    CHECK_EQ(first, 0x20002);
    CHECK_EQ(end, 0x20006);
    CHECK_EQ(pmm_check(), 0);
}

/* Maps a broken loader could hand over; each is compared frame by frame with the model. */
static const struct {
    const char *name;
    struct pmm_range usable[6];
    size_t n_usable;
    struct pmm_range reserved[3];
    size_t n_reserved;
} malformed[] = {
    {"overlapping", {{MiB, 8 * MiB}, {4 * MiB, 8 * MiB}, {2 * MiB, MiB}}, 3, {{0}}, 0},
    {"unsorted", {{64 * MiB, MiB}, {0, 0x9F000}, {16 * MiB, 3 * MiB}}, 3, {{0}}, 0},
    {"zero-length", {{MiB, 0}, {3 * MiB, 4096}, {0x555, 0}}, 3, {{5 * MiB, 0}}, 1},
    {"overflowing", {{0xFFFFFFFFFFFFF000ull, 0x2000}, {200 * MiB, UINT64_MAX}}, 2, {{0}}, 0},
    {"above 4 GiB", {{4 * GiB, 4 * GiB}, {3 * GiB + 7, GiB}, {5 * GiB, 1}}, 3, {{0}}, 0},
    {"holes",
     {{0, 0x9FC00}, {MiB, MiB}, {3 * MiB, 5}, {8 * MiB, 3 * MiB}},
     4,
     {{MiB + 0x800, 0x1000}},
     1},
    {"sub-frame pieces", {{0x1001, 0xFFF}, {0x3000, 0xFFF}, {0x5800, 0x1800}}, 3, {{0}}, 0},
    {"reserved covers all", {{MiB, 4 * MiB}}, 1, {{0, UINT64_MAX}}, 1},
    {"reserved outside RAM", {{20 * MiB, MiB}}, 1, {{6 * GiB, MiB}, {0, 20 * MiB}}, 2},
    {"identical copies", {{MiB, MiB}, {MiB, MiB}, {MiB, MiB}}, 3, {{MiB, 4096}}, 1},
};

TEST(init_malformed_maps_match_model)
{
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        size_t expect = model_build(malformed[i].usable, malformed[i].n_usable,
                                    malformed[i].reserved, malformed[i].n_reserved);
        int rc = setup(malformed[i].usable, malformed[i].n_usable, malformed[i].reserved,
                       malformed[i].n_reserved);
        if (rc != 0 || pmm_check() != 0 || model_mismatches() != 0 || pmm_free_frames() != expect)
            harness_fail(__FILE__, __LINE__, "map '%s'", malformed[i].name);
        CHECK(!harness_failed());
    }
}

/* A random range: mostly small and low, sometimes empty, straddling 4 GiB or wild. */
static struct pmm_range random_range(void)
{
    uint64_t r = harness_rand(), kind = r % 16;
    if (kind < 11)
        return (struct pmm_range){harness_rand() % (256 * MiB), harness_rand() % (64 * MiB)};
    if (kind < 13)
        return (struct pmm_range){harness_rand() % (256 * MiB), 0};
    if (kind < 15)
        return (struct pmm_range){4 * GiB - harness_rand() % (64 * MiB),
                                  harness_rand() % (128 * MiB)};
    return (struct pmm_range){harness_rand(), harness_rand()};
}

TEST(init_random_maps_match_model)
{
    struct pmm_range usable[12], reserved[6];

    for (int round = 0; round < 24; round++) {
        size_t nu = 1 + harness_rand() % 12, nr = harness_rand() % 6;
        for (size_t i = 0; i < nu; i++)
            usable[i] = random_range();
        for (size_t i = 0; i < nr; i++)
            reserved[i] = random_range();
        size_t expect = model_build(usable, nu, reserved, nr);
        if (setup(usable, nu, reserved, nr) != 0) {
            CHECK_EQ(pmm_metadata_bytes(usable, nu), 0); /* refused only when no frame at all */
            continue;
        }
        CHECK_EQ(pmm_check(), 0);
        CHECK_EQ(model_mismatches(), 0);
        CHECK_EQ(pmm_free_frames(), expect);
    }
}

TEST(init_refuses_bad_input_and_keeps_state)
{
    const struct pmm_range none[] = {{MiB, 0}, {5 * GiB, GiB}, {0x1001, 0x1000}};
    const struct pmm_range usable[] = {{MiB, 64 * MiB}};
    char small[64];

    CHECK_EQ(pmm_metadata_bytes(none, 3), 0);
    CHECK_EQ(setup_qemu(32 * MiB, false), 0);
    size_t free_before = pmm_free_frames();
    quiet(true);
    int rc[4] = {pmm_init(none, 3, NULL, 0, small, sizeof small),
                 pmm_init(usable, 1, NULL, 0, small, sizeof small),
                 pmm_init(usable, 1, NULL, 0, NULL, 1 << 20),
                 pmm_init(usable, 1, NULL, 0, small + 1, sizeof small - 1)};
    quiet(false);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(rc[i], -1);
    CHECK_EQ(pmm_free_frames(), free_before);
    CHECK_EQ(pmm_check(), 0);
}

TEST(metadata_cost_4g)
{
    const struct pmm_range all[] = {{0, 4 * GiB}};
    struct pmm_range usable[3];

    CHECK_EQ(pmm_metadata_bytes(all, 1), 8 * MiB); /* 2^20 frames x 8 bytes */
    CHECK_EQ(pmm_metadata_bytes(usable, qemu_map(usable, 4 * GiB, false)), 6 * MiB);
    CHECK_EQ(pmm_metadata_bytes(usable, qemu_map(usable, 8 * MiB, false)), 16384);
    CHECK_EQ(pmm_metadata_bytes(usable, qemu_map(usable, 4 * GiB, true)), 4 * MiB);
}

TEST(api_before_init_is_harmless)
{
    struct pmm_stats st;

    pmm_reset();
    mm_host_print_reports(0);
    mm_host_reset_reports();
    CHECK_EQ(pmm_alloc(0), PMM_NONE);
    CHECK_EQ(pmm_alloc_contig(4, 4, 0), PMM_NONE);
    pmm_free(0x100000);
    CHECK_EQ(mm_host_report_count(), 1);
    CHECK(strstr(mm_host_last_report(), "not a RAM frame") != NULL);
    CHECK_EQ(pmm_check(), 0);
    CHECK_EQ(pmm_frame_state(0x100000), PMM_FRAME_ABSENT);
    pmm_get_stats(&st);
    CHECK_EQ(st.total, 0);
    CHECK_EQ(st.failed, 2);
    mm_host_print_reports(1);
}

/* ------------------------------------------------------------ metadata placement */

/* Lowest run of `frames` model-free frames at or above floor, or UINT32_MAX. */
static uint32_t brute_place(uint32_t floor, uint32_t frames)
{
    uint32_t run = 0;
    for (uint32_t f = floor; f < FRAMES_4G; f++) {
        run = model[f] == PMM_FRAME_FREE ? run + 1 : 0;
        if (run == frames)
            return f + 1 - frames;
    }
    return UINT32_MAX;
}

TEST(place_metadata_prefers_16m_then_1m)
{
    struct pmm_range usable[3];
    uint64_t at;
    size_t n = qemu_map(usable, 128 * MiB, false);
    const struct pmm_range high_taken[] = {{15 * MiB, 200 * MiB}, {MiB, 2 * MiB}};

    CHECK_EQ(pmm_place_metadata(usable, n, boot_reserved, N_BOOT_RESERVED, 256 * 1024, &at), 0);
    CHECK_EQ(at, 16 * MiB);
    CHECK_EQ(pmm_place_metadata(usable, n, high_taken, 2, 5 * 4096 + 1, &at), 0);
    CHECK_EQ(at, 3 * MiB); /* nothing free above 16 MiB: lowest above 1 MiB */
    n = qemu_map(usable, 8 * MiB, false);
    CHECK_EQ(pmm_place_metadata(usable, n, boot_reserved, N_BOOT_RESERVED, 16384, &at), 0);
    CHECK_EQ(at, 0x224000); /* the first 4 frames after the kernel image */
    CHECK_EQ(pmm_place_metadata(usable, n, boot_reserved, N_BOOT_RESERVED, 7 * MiB, &at), -1);
    CHECK_EQ(pmm_place_metadata(usable, n, boot_reserved, N_BOOT_RESERVED, 0, &at), -1);
    const struct pmm_range low_only[] = {{0, 0x9F000}};
    CHECK_EQ(pmm_place_metadata(low_only, 1, NULL, 0, 4096, &at), 0);
    CHECK_EQ(at, 0x1000); /* frame 0 is never used */
}

TEST(place_metadata_random_maps_match_brute_force)
{
    struct pmm_range usable[8], reserved[5];
    uint64_t at;

    for (int round = 0; round < 200; round++) {
        size_t nu = 1 + harness_rand() % 8, nr = harness_rand() % 5;
        for (size_t i = 0; i < nu; i++)
            usable[i] = (struct pmm_range){harness_rand() % (40 * MiB), harness_rand() % (8 * MiB)};
        for (size_t i = 0; i < nr; i++)
            reserved[i] =
                (struct pmm_range){harness_rand() % (40 * MiB), harness_rand() % (2 * MiB)};
        size_t bytes = 1 + harness_rand() % (2 * MiB);
        uint32_t frames = (uint32_t)((bytes + 4095) / 4096);
        model_build(usable, nu, reserved, nr);
        uint32_t expect = brute_place(4096, frames);
        if (expect == UINT32_MAX)
            expect = brute_place(256, frames);
        if (expect == UINT32_MAX)
            expect = brute_place(0, frames);
        int rc = pmm_place_metadata(usable, nu, reserved, nr, bytes, &at);
        CHECK_EQ(rc, expect == UINT32_MAX ? -1 : 0);
        if (rc == 0)
            CHECK_EQ(at, (uint64_t)expect << 12);
    }
}

/* ------------------------------------------------------------ allocate everything */

TEST(alloc_everything_4g_then_free_everything)
{
    struct pmm_range usable[3];
    size_t n = qemu_map(usable, 4 * GiB, false);
    usable[1].length = 4 * GiB - MiB; /* the whole 32-bit space, as an extreme */
    size_t start_free = model_build(usable, n, boot_reserved, N_BOOT_RESERVED);
    uint32_t *got = malloc(start_free * sizeof *got);
    size_t count = 0;
    int zone_seen = PMM_ZONE_HIGH;
    struct pmm_stats st;

    memset(shadow, 0, sizeof shadow);
    CHECK_EQ(setup(usable, n, boot_reserved, N_BOOT_RESERVED), 0);
    CHECK_EQ(pmm_free_frames(), start_free);
    for (pmm_paddr_t p; (p = pmm_alloc(0)) != PMM_NONE; got[count++] = p) {
        CHECK(count < start_free);
        CHECK(shadow_take(p, 1)); /* aligned, usable, not reserved, not handed out twice */
        int zone = p < PMM_ZONE_LOW_END ? 0 : p < PMM_ZONE_DMA_END ? 1 : 2;
        CHECK(zone <= zone_seen); /* high memory is used up first */
        zone_seen = zone;
    }
    CHECK_EQ(count, start_free);
    CHECK_EQ(pmm_free_frames(), 0);
    CHECK_EQ(pmm_alloc(PMM_BELOW_1M), PMM_NONE);
    CHECK_EQ(pmm_alloc_contig(2, 0, 0), PMM_NONE);
    pmm_get_stats(&st);
    CHECK_EQ(st.failed, 3);
    CHECK_EQ(st.used, start_free);
    CHECK_EQ(st.largest_free_run, 0);
    CHECK_EQ(pmm_check(), 0);
    for (size_t i = count - 1; i > 0; i--) { /* free in a random order */
        size_t j = harness_rand() % (i + 1);
        uint32_t t = got[i];
        got[i] = got[j];
        got[j] = t;
    }
    for (size_t i = 0; i < count; i++)
        pmm_free(got[i]);
    CHECK_EQ(pmm_free_frames(), start_free);
    CHECK_EQ(pmm_check(), 0);
    CHECK_EQ(model_mismatches(), 0);
    pmm_get_stats(&st);
    CHECK_EQ(st.largest_free_block, PMM_MAX_CONTIG_FRAMES); /* everything merged back */
    CHECK_EQ(st.zone[PMM_ZONE_HIGH].largest_free_run, FRAMES_4G - 4096);
    free(got);
}

TEST(zone_limits_and_preference)
{
    size_t low = 0, dma = 0;
    pmm_paddr_t p;
    struct pmm_stats st;

    CHECK_EQ(setup_qemu(64 * MiB, false), 0);
    pmm_get_stats(&st);
    p = pmm_alloc(0);
    CHECK(p >= PMM_ZONE_DMA_END);
    pmm_free(p);
    while ((p = pmm_alloc(PMM_BELOW_1M | PMM_NORECLAIM)) != PMM_NONE) {
        CHECK(p < PMM_ZONE_LOW_END && p != 0);
        low++;
    }
    CHECK_EQ(low, st.zone[PMM_ZONE_LOW].free);
    while ((p = pmm_alloc(PMM_BELOW_16M)) != PMM_NONE) {
        CHECK(p >= PMM_ZONE_LOW_END && p < PMM_ZONE_DMA_END);
        dma++;
    }
    CHECK_EQ(dma, st.zone[PMM_ZONE_DMA].free);
    p = pmm_alloc_contig(16, 16, 0); /* ordinary requests still have high memory */
    CHECK(p >= PMM_ZONE_DMA_END && p % (16 * 4096) == 0);
    pmm_free_contig(p, 16);
    CHECK_EQ(pmm_check(), 0);
    /* give the low zones back through an arbitrary walk of their frames */
    for (uint32_t f = 0; f < PMM_ZONE_DMA_END >> 12; f++)
        if (pmm_frame_state(FRAME(f)) == PMM_FRAME_USED)
            pmm_free(FRAME(f));
    CHECK_EQ(pmm_free_frames(), st.free);
    CHECK_EQ(pmm_check(), 0);
}

/* ------------------------------------------------------------ contiguous runs */

TEST(contig_many_sizes_and_alignments)
{
    static const size_t counts[] = {1,   2,   3,   5,   7,   8,   15,  16,   17,   31,  64,
                                    100, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024};
    static const size_t aligns[] = {0, 1, 2, 4, 16, 64, 256, 1024};
    struct {
        pmm_paddr_t at;
        size_t count;
    } live[64];
    size_t n_live = 0, start_free;

    struct pmm_range usable[3];
    size_t n = qemu_map(usable, 256 * MiB, false);
    model_build(usable, n, boot_reserved, N_BOOT_RESERVED);
    CHECK_EQ(setup(usable, n, boot_reserved, N_BOOT_RESERVED), 0);
    start_free = pmm_free_frames();
    memset(shadow, 0, sizeof shadow);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
            size_t count = counts[c], align = aligns[a] ? aligns[a] : 1;
            pmm_paddr_t p =
                pmm_alloc_contig(count, aligns[a], harness_rand() & 1 ? PMM_BELOW_16M : 0);
            if (p == PMM_NONE) /* the DMA zone may be full of earlier runs: try anywhere */
                p = pmm_alloc_contig(count, aligns[a], 0);
            CHECK(shadow_take(p, count));
            CHECK_EQ((p >> 12) % align, 0);
            CHECK_EQ(pmm_refcount(p + (pmm_paddr_t)(count - 1) * 4096), 1);
            live[n_live].at = p;
            live[n_live++].count = count;
            if (n_live == 64 || harness_rand() % 3 == 0) { /* free a random live run */
                size_t k = harness_rand() % n_live;
                pmm_free_contig(live[k].at, live[k].count);
                for (size_t i = 0; i < live[k].count; i++)
                    shadow[(live[k].at >> 12) + i] = 0;
                live[k] = live[--n_live];
            }
        }
        CHECK_EQ(pmm_check(), 0);
    }
    CHECK_EQ(shadow_mismatches(0, 256 * MiB >> 12), 0);
    while (n_live > 0) {
        n_live--;
        pmm_free_contig(live[n_live].at, live[n_live].count);
    }
    CHECK_EQ(pmm_free_frames(), start_free);
    CHECK_EQ(pmm_check(), 0);
    struct pmm_stats st;
    pmm_get_stats(&st);
    CHECK_EQ(st.zone[PMM_ZONE_HIGH].largest_free_run, (256 - 16) * MiB / 4096);
}

TEST(contig_needs_merging_to_come_back)
{
    const struct pmm_range usable[] = {{32 * MiB, 4 * MiB}}; /* exactly one max-order block */
    pmm_paddr_t frames[1024];

    CHECK_EQ(setup(usable, 1, NULL, 0), 0);
    for (int i = 0; i < 1024; i++)
        CHECK((frames[i] = pmm_alloc(0)) != PMM_NONE);
    for (int i = 0; i < 1024; i += 2)
        pmm_free(frames[i]);
    CHECK_EQ(pmm_free_frames(), 512);
    CHECK_EQ(pmm_alloc_contig(2, 0, PMM_NORECLAIM), PMM_NONE); /* 512 free, none adjacent */
    struct pmm_stats st;
    pmm_get_stats(&st);
    CHECK_EQ(st.largest_free_run, 1);
    for (int i = 1; i < 1024; i += 2)
        pmm_free(frames[i]);
    pmm_paddr_t p = pmm_alloc_contig(1024, 1024, 0);
    CHECK_EQ(p, 32 * MiB);
    pmm_free_contig(p, 1024);
    CHECK_EQ(pmm_check(), 0);
}

TEST(contig_bad_requests)
{
    struct pmm_stats st;

    CHECK_EQ(setup_qemu(64 * MiB, false), 0);
    mm_host_print_reports(0);
    mm_host_reset_reports();
    CHECK_EQ(pmm_alloc_contig(0, 0, 0), PMM_NONE);
    CHECK_EQ(pmm_alloc_contig(4, 3, 0), PMM_NONE);
    CHECK_EQ(pmm_alloc(0x80), PMM_NONE);
    CHECK(strstr(mm_host_last_report(), "pmm_alloc: bad request") != NULL);
    CHECK_EQ(pmm_alloc_contig(1, 0, 0x80), PMM_NONE);
    CHECK_EQ(mm_host_report_count(), 4);
    CHECK(strstr(mm_host_last_report(), "pmm_alloc_contig: bad request") != NULL);
    CHECK_EQ(pmm_alloc_contig(PMM_MAX_CONTIG_FRAMES + 1, 0, 0), PMM_NONE); /* valid, too big */
    CHECK_EQ(pmm_alloc_contig(1, 2 * PMM_MAX_CONTIG_FRAMES, 0), PMM_NONE);
    CHECK_EQ(pmm_alloc_contig(SIZE_MAX, 0, 0), PMM_NONE);
    CHECK_EQ(mm_host_report_count(), 4);
    pmm_get_stats(&st);
    CHECK_EQ(st.failed, 7);
    CHECK_EQ(st.used, 0);
    mm_host_print_reports(1);
}

/* ------------------------------------------------------------ misuse */

/* Run one misuse; it must be reported with `text` and leave every byte as it was. */
#define CHECK_REFUSED(call, text)                                                                  \
    do {                                                                                           \
        struct snapshot snap_;                                                                     \
        size_t reports_ = mm_host_report_count();                                                  \
        snapshot_take(&snap_);                                                                     \
        call;                                                                                      \
        CHECK(snapshot_same(&snap_));                                                              \
        CHECK_EQ(mm_host_report_count(), reports_ + 1);                                            \
        if (strstr(mm_host_last_report(), text) == NULL)                                           \
            harness_fail(__FILE__, __LINE__, "report '%s' lacks '%s'", mm_host_last_report(),      \
                         text);                                                                    \
        CHECK(!harness_failed());                                                                  \
    } while (0)

TEST(misuse_is_reported_and_changes_nothing)
{
    CHECK_EQ(setup_qemu(64 * MiB, false), 0);
    mm_host_print_reports(0);
    pmm_paddr_t one = pmm_alloc(0), run = pmm_alloc_contig(6, 2, 0), freed = pmm_alloc(0);
    char text[80];
    pmm_free(freed);

    snprintf(text, sizeof text, "pmm_free: frame 0x%08llx is already free",
             (unsigned long long)freed);
    CHECK_REFUSED(pmm_free(freed), text);
    CHECK_REFUSED(pmm_free(0), "pmm_free: frame 0x00000000 is reserved");
    CHECK_REFUSED(pmm_free(0x100000), "is reserved"); /* the kernel image */
    CHECK_REFUSED(pmm_free(0xFFFFF000), "pmm_free: 0xfffff000 is not a RAM frame");
    CHECK_REFUSED(pmm_free(0xA0000), "is not a RAM frame"); /* the map's hole at 640 KiB */
    CHECK_REFUSED(pmm_free(one + 8), "is not frame-aligned");
    CHECK_REFUSED(pmm_free(run), "belongs to the 6-frame run");
    CHECK_REFUSED(pmm_free(run + 3 * 4096), "use pmm_free_contig");
    CHECK_REFUSED(pmm_free_contig(run, 5), "has 6 frames, not 5");
    CHECK_REFUSED(pmm_free_contig(run, 8), "has 6 frames, not 8");
    CHECK_REFUSED(pmm_free_contig(run + 4096, 5), "not its start");
    CHECK_REFUSED(pmm_free_contig(freed, 1), "is already free");
    CHECK_REFUSED(pmm_free_contig(one, 2), "has 1 frames, not 2");
    CHECK_REFUSED(pmm_ref(freed), "pmm_ref: frame");
    pmm_free(one);
    pmm_free_contig(run, 6);
    CHECK_EQ(pmm_check(), 0);
    mm_host_print_reports(1);
}

TEST(reference_counts)
{
    CHECK_EQ(setup_qemu(32 * MiB, false), 0);
    mm_host_print_reports(0);
    size_t free0 = pmm_free_frames();
    pmm_paddr_t p = pmm_alloc(0), run = pmm_alloc_contig(4, 4, 0);

    CHECK_EQ(pmm_refcount(p), 1);
    pmm_ref(p);
    pmm_ref(p);
    CHECK_EQ(pmm_refcount(p), 3);
    pmm_free(p);
    pmm_free(p);
    CHECK_EQ(pmm_frame_state(p), PMM_FRAME_USED);
    pmm_free(p);
    CHECK_EQ(pmm_frame_state(p), PMM_FRAME_FREE);
    CHECK_EQ(pmm_refcount(p), 0);
    /* a shared frame inside a run: the run is given back only when nobody shares it */
    pmm_ref(run + 2 * 4096);
    CHECK_EQ(pmm_refcount(run + 2 * 4096), 2);
    CHECK_REFUSED(pmm_free_contig(run, 4), "is shared (2 references)");
    pmm_free(run + 2 * 4096); /* drops the extra reference */
    pmm_free_contig(run, 4);
    CHECK_EQ(pmm_free_frames(), free0);
    CHECK_EQ(pmm_refcount(0), 0);
    CHECK_EQ(pmm_refcount(0xFFFFF000), 0);
    CHECK_EQ(pmm_check(), 0);
    mm_host_print_reports(1);
}

/* ------------------------------------------------------------ randomized stress */

struct live_run {
    pmm_paddr_t at;
    uint32_t count;
};

/* One random operation against the PMM and the shadow; false on a broken invariant. */
static bool stress_step(struct live_run *live, size_t *n_live, size_t cap)
{
    uint64_t op = harness_rand() % 10;
    if (op < 5 && *n_live < cap) { /* allocate */
        size_t count = op < 3 ? 1 : 1 + harness_rand() % (harness_rand() % 2 ? 8 : 300);
        size_t align = (size_t)1 << (harness_rand() % 6);
        unsigned flags = (unsigned)(harness_rand() % 8 == 0 ? PMM_BELOW_16M : 0);
        pmm_paddr_t p =
            count == 1 && align == 1 ? pmm_alloc(flags) : pmm_alloc_contig(count, align, flags);
        if (p == PMM_NONE)
            return true; /* exhaustion is allowed */
        if (!shadow_take(p, count) || (p >> 12) % align != 0 ||
            (flags && p + count * 4096 > PMM_ZONE_DMA_END))
            return false;
        live[(*n_live)++] = (struct live_run){p, (uint32_t)count};
    } else if (op < 8 && *n_live > 0) { /* free one run */
        size_t k = harness_rand() % *n_live;
        uint32_t f = live[k].at >> 12;
        for (uint32_t i = 0; i < live[k].count; i++) /* drop any extra references first */
            for (; shadow[f + i] > 1; shadow[f + i]--)
                pmm_free(FRAME(f + i));
        pmm_free_contig(live[k].at, live[k].count);
        for (uint32_t i = 0; i < live[k].count; i++)
            shadow[f + i] = 0;
        live[k] = live[--*n_live];
    } else if (*n_live > 0) { /* share a frame */
        struct live_run *r = &live[harness_rand() % *n_live];
        uint32_t f = (r->at >> 12) + (uint32_t)(harness_rand() % r->count);
        pmm_ref(FRAME(f));
        shadow[f]++;
    }
    return true;
}

TEST(random_stress_against_shadow)
{
    enum { CAP = 4096, OPS = 120000 };
    struct live_run *live = malloc(CAP * sizeof *live);
    size_t n_live = 0, start_free;
    struct pmm_range usable[3];
    size_t n = qemu_map(usable, 96 * MiB, false);

    model_build(usable, n, boot_reserved, N_BOOT_RESERVED);
    memset(shadow, 0, sizeof shadow);
    CHECK_EQ(setup(usable, n, boot_reserved, N_BOOT_RESERVED), 0);
    start_free = pmm_free_frames();
    for (int i = 0; i < OPS; i++) {
        CHECK(stress_step(live, &n_live, CAP));
        if (i % 20000 == 0) {
            CHECK_EQ(pmm_check(), 0);
            CHECK_EQ(shadow_mismatches(0, 96 * MiB >> 12), 0);
        }
    }
    CHECK_EQ(shadow_mismatches(0, 96 * MiB >> 12), 0);
    while (n_live > 0) {
        struct live_run *r = &live[--n_live];
        for (uint32_t i = 0; i < r->count; i++)
            for (; shadow[(r->at >> 12) + i] > 1; shadow[(r->at >> 12) + i]--)
                pmm_free(r->at + i * 4096);
        pmm_free_contig(r->at, r->count);
    }
    CHECK_EQ(pmm_free_frames(), start_free);
    CHECK_EQ(pmm_check(), 0);
    free(live);
}

/* ------------------------------------------------------------ reclaim */

/* A test cache: holds frames, gives them back newest first when asked. */
struct test_cache {
    struct pmm_reclaimer r;
    pmm_paddr_t frames[70000];
    size_t n, calls;
    bool lie; /* claim frames without freeing any */
    bool allocate_inside;
};

static size_t cache_reclaim(struct pmm_reclaimer *r, size_t want)
{
    struct test_cache *c = (struct test_cache *)r;
    size_t given = 0;
    c->calls++;
    if (c->lie)
        return want;
    if (c->allocate_inside) { /* forbidden, but must not recurse into reclaim */
        pmm_paddr_t p = pmm_alloc(0);
        if (p != PMM_NONE)
            pmm_free(p);
    }
    while (given < want && c->n > 0) {
        pmm_free(c->frames[--c->n]);
        given++;
    }
    return given;
}

static struct test_cache cache = {.r = {"test-cache", cache_reclaim, NULL}};

/* Fill the cache until only `keep` frames are free (or it is full). */
static void cache_fill(size_t keep)
{
    pmm_paddr_t p;
    while (pmm_free_frames() > keep && cache.n < 70000 &&
           (p = pmm_alloc(PMM_NORECLAIM)) != PMM_NONE)
        cache.frames[cache.n++] = p;
}

static void cache_reset(void)
{
    cache.n = cache.calls = 0;
    cache.lie = cache.allocate_inside = false;
}

TEST(reclaim_at_low_watermark)
{
    CHECK_EQ(setup_qemu(64 * MiB, false), 0);
    cache_reset();
    pmm_register_reclaimer(&cache.r);
    pmm_set_low_watermark(256);
    CHECK_EQ(pmm_low_watermark(), 256);
    cache_fill(300);
    CHECK_EQ(cache.calls, 0); /* NORECLAIM fills never ask */
    size_t cached = cache.n;
    pmm_paddr_t p[60];
    for (int i = 0; i < 60; i++)
        CHECK((p[i] = pmm_alloc(0)) != PMM_NONE);
    CHECK(cache.calls > 0);
    CHECK(cache.n < cached);
    CHECK(pmm_free_frames() >= 256); /* reclaim kept free memory at the watermark */
    struct pmm_stats st;
    pmm_get_stats(&st);
    CHECK_EQ(st.reclaimed, cached - cache.n);
    for (int i = 0; i < 60; i++)
        pmm_free(p[i]);
    pmm_unregister_reclaimer(&cache.r);
    CHECK_EQ(pmm_check(), 0);
}

TEST(reclaim_before_failing)
{
    CHECK_EQ(setup_qemu(32 * MiB, false), 0);
    size_t free0 = pmm_free_frames();
    cache_reset();
    pmm_register_reclaimer(&cache.r);
    pmm_set_low_watermark(0);
    cache_fill(0);
    CHECK_EQ(pmm_free_frames(), 0);
    CHECK_EQ(pmm_alloc(PMM_NORECLAIM), PMM_NONE);
    CHECK_EQ(cache.calls, 0);
    pmm_paddr_t one = pmm_alloc(0);
    CHECK(one != PMM_NONE);
    CHECK_EQ(cache.calls, 1);
    pmm_paddr_t run = pmm_alloc_contig(64, 64, 0); /* needs merging of reclaimed frames */
    CHECK(run != PMM_NONE && (run >> 12) % 64 == 0);
    pmm_paddr_t low = pmm_alloc(PMM_BELOW_1M); /* the cache's newest frames are low ones */
    CHECK(low != PMM_NONE && low < PMM_ZONE_LOW_END);
    pmm_free(one);
    pmm_free(low);
    pmm_free_contig(run, 64);
    while (cache.n > 0)
        pmm_free(cache.frames[--cache.n]);
    CHECK_EQ(pmm_free_frames(), free0);
    pmm_unregister_reclaimer(&cache.r);
    CHECK_EQ(pmm_check(), 0);
}

TEST(reclaim_misbehaving_reclaimers)
{
    CHECK_EQ(setup_qemu(32 * MiB, false), 0);
    mm_host_print_reports(0);
    cache_reset();
    pmm_register_reclaimer(&cache.r);
    CHECK_REFUSED(pmm_register_reclaimer(&cache.r), "already registered");
    pmm_set_low_watermark(0); /* only failing allocations ask */
    cache_fill(0);
    cache.lie = true; /* says it freed frames, frees none: the allocation must still fail */
    CHECK_EQ(pmm_alloc(0), PMM_NONE);
    CHECK_EQ(cache.calls, 1); /* no progress: no second round */
    cache.lie = false;
    cache.allocate_inside = true;
    cache.calls = 0;
    CHECK(pmm_alloc(0) != PMM_NONE);
    CHECK_EQ(cache.calls, 1); /* the reclaimer's own allocation did not call it again */
    pmm_unregister_reclaimer(&cache.r);
    CHECK_REFUSED(pmm_unregister_reclaimer(&cache.r), "is not registered");
    CHECK_EQ(pmm_check(), 0);
    mm_host_print_reports(1);
}

/* ------------------------------------------------------------ the checker */

/* Flip every bit of one frame record in turn: each flip must be caught, each undo must pass. */
static int undetected_bit_flips(uint32_t pfn)
{
    uint32_t first, end;
    int undetected = 0;
    pmm_span(&first, &end);
    unsigned char *rec = (unsigned char *)meta + (size_t)(pfn - first) * PMM_FRAME_META_BYTES;

    quiet(true);
    for (unsigned bit = 0; bit < 8 * PMM_FRAME_META_BYTES; bit++) {
        rec[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        undetected += pmm_check() == 0;
        rec[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        undetected += pmm_check() != 0;
    }
    quiet(false);
    return undetected;
}

/* First frame of a free max-order block (all its frames free and it is aligned). */
static uint32_t find_free_max_block(void)
{
    uint32_t first, end;
    pmm_span(&first, &end);
    for (uint32_t f = first; f + PMM_MAX_CONTIG_FRAMES <= end; f += PMM_MAX_CONTIG_FRAMES) {
        uint32_t i = 0;
        while (i < PMM_MAX_CONTIG_FRAMES && pmm_frame_state(FRAME(f + i)) == PMM_FRAME_FREE)
            i++;
        if (i == PMM_MAX_CONTIG_FRAMES && f % PMM_MAX_CONTIG_FRAMES == 0)
            return f;
    }
    return 0;
}

TEST(check_catches_every_bit_flip)
{
    const struct pmm_range usable[] = {{16 * MiB, 8 * MiB}, {0, 0x9FC00}};
    const struct pmm_range reserved[] = {{0x5000, 0x1000}};
    CHECK_EQ(setup(usable, 2, reserved, 1), 0);
    pmm_paddr_t a = pmm_alloc(0), b = pmm_alloc(0), c = pmm_alloc(0);
    pmm_free(b); /* b: an order-0 free head on a list with neighbours */
    CHECK_EQ(pmm_check(), 0);
    uint32_t block = find_free_max_block();
    CHECK(block != 0);
    CHECK_EQ(undetected_bit_flips(b >> 12), 0);
    CHECK_EQ(undetected_bit_flips(block), 0);     /* a max-order head */
    CHECK_EQ(undetected_bit_flips(block + 1), 0); /* a free tail */
    CHECK_EQ(undetected_bit_flips(5), 0);         /* a reserved frame */
    CHECK_EQ(undetected_bit_flips(0x200), 0);     /* an absent frame in the hole */
    CHECK_EQ(pmm_refcount(a) + pmm_refcount(c), 2);
}

TEST(check_catches_corrupt_used_records)
{
    const struct pmm_range usable[] = {{16 * MiB, 8 * MiB}};
    CHECK_EQ(setup(usable, 1, NULL, 0), 0);
    pmm_paddr_t run = pmm_alloc_contig(3, 0, 0);
    uint32_t first, end;
    pmm_span(&first, &end);
    unsigned char *rec = (unsigned char *)meta + (size_t)((run >> 12) - first) * 8;
    unsigned char saved[24];

    memcpy(saved, rec, sizeof saved);
    quiet(true);
    memset(rec, 0, 4); /* refcount 0 on the first frame */
    int zero_ref = pmm_check();
    memcpy(rec, saved, 24);
    memset(rec + 8, 0, 8); /* the second frame becomes ABSENT */
    int absent = pmm_check();
    memcpy(rec, saved, 24);
    memcpy(rec + 8, saved, 8); /* the second frame claims to start a run */
    int two_heads = pmm_check();
    memcpy(rec, saved, 24);
    quiet(false);
    CHECK(zero_ref > 0);
    CHECK(absent > 0);
    CHECK(two_heads > 0);
    CHECK_EQ(pmm_check(), 0);
}

/* ------------------------------------------------------------ machine sizes */

TEST(machine_sizes_8m_to_4g_pc_and_q35)
{
    static const uint64_t sizes[] = {8 * MiB, 16 * MiB, 17 * MiB, 128 * MiB,
                                     GiB,     3 * GiB,  4 * GiB,  8 * GiB};
    for (int q35 = 0; q35 < 2; q35++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct pmm_range usable[3];
            size_t n = qemu_map(usable, sizes[i], q35);
            uint64_t at;
            size_t bytes = pmm_metadata_bytes(usable, n);
            CHECK_EQ(pmm_place_metadata(usable, n, boot_reserved, N_BOOT_RESERVED, bytes, &at), 0);
            struct pmm_range reserved[N_BOOT_RESERVED + 1];
            memcpy(reserved, boot_reserved, sizeof boot_reserved);
            reserved[N_BOOT_RESERVED] = (struct pmm_range){at, bytes};
            CHECK_EQ(setup(usable, n, reserved, N_BOOT_RESERVED + 1), 0);
            CHECK_EQ(pmm_frame_state((pmm_paddr_t)at), PMM_FRAME_RESERVED);
            CHECK_EQ(pmm_check(), 0);
            pmm_paddr_t big = pmm_alloc_contig(PMM_MAX_CONTIG_FRAMES, PMM_MAX_CONTIG_FRAMES, 0);
            CHECK(big != PMM_NONE); /* even 8 MiB has an aligned 4 MiB block */
            pmm_free_contig(big, PMM_MAX_CONTIG_FRAMES);
            pmm_paddr_t dma = pmm_alloc_contig(16, 16, PMM_BELOW_16M);
            CHECK(dma != PMM_NONE && dma + 16 * 4096 <= PMM_ZONE_DMA_END);
            pmm_free_contig(dma, 16);
        }
    }
}

/* ------------------------------------------------------------ RAM above 4 GiB */

/* A 6 GiB q35 machine when the port can address 64 GiB (an x86-64 kernel's view). */
static int setup_q35_6g_wide(void)
{
    mm_host_set_phys_limit(64 * GiB);
    return setup_qemu(6 * GiB, true);
}

TEST(ram_above_4g_is_managed_when_the_port_reaches_it)
{
    struct pmm_stats st;
    uint32_t first, end;

    CHECK_EQ(setup_q35_6g_wide(), 0);
    pmm_span(&first, &end);
    CHECK_EQ(end, (uint32_t)((4 * GiB + 4 * GiB) >> 12)); /* 2 GiB low + 4 GiB above the hole */
    pmm_get_stats(&st);
    CHECK(st.total * 4096ull > 4 * GiB); /* more than 4 GiB of RAM managed */
    CHECK_EQ(st.zone[PMM_ZONE_HIGH].total * 4096ull, 6 * GiB - 16 * MiB);
    CHECK_EQ(pmm_frame_state(5 * GiB), PMM_FRAME_FREE);
    CHECK_EQ(pmm_frame_state(8 * GiB), PMM_FRAME_ABSENT);
    CHECK_EQ(pmm_frame_state(3 * GiB), PMM_FRAME_ABSENT); /* the PCI hole */
    /* high memory first: the first frame and the first big block come from above 4 GiB */
    pmm_paddr_t p = pmm_alloc(0);
    CHECK(p >= 4 * GiB && p < 8 * GiB);
    CHECK_EQ(pmm_refcount(p), 1);
    pmm_paddr_t run = pmm_alloc_contig(PMM_MAX_CONTIG_FRAMES, PMM_MAX_CONTIG_FRAMES, 0);
    CHECK(run >= 4 * GiB && run % (4 * MiB) == 0);
    pmm_ref(p);
    pmm_free(p);
    CHECK_EQ(pmm_frame_state(p), PMM_FRAME_USED);
    pmm_free(p);
    pmm_free_contig(run, PMM_MAX_CONTIG_FRAMES);
    CHECK_EQ(pmm_frame_state(p), PMM_FRAME_FREE);
    CHECK_EQ(pmm_free_frames(), st.free);
    CHECK_EQ(pmm_check(), 0);
    mm_host_set_phys_limit(4 * GiB);
}

TEST(ram_above_4g_is_clipped_when_the_port_cannot_reach_it)
{
    struct pmm_stats st;
    uint32_t first, end;

    mm_host_set_phys_limit(4 * GiB); /* i386 paging: the default */
    CHECK_EQ(setup_qemu(6 * GiB, true), 0);
    pmm_span(&first, &end);
    CHECK_EQ(end, (uint32_t)(2 * GiB >> 12));
    pmm_get_stats(&st);
    CHECK_EQ(st.total * 4096ull, 0x9F000 + 2 * GiB - MiB); /* below 640 KiB, then 1 MiB .. 2 GiB */
    CHECK_EQ(pmm_frame_state(5 * GiB), PMM_FRAME_ABSENT);
    CHECK_EQ(pmm_check(), 0);
}

TEST(limit_beyond_the_pmm_ceiling_is_capped)
{
    /* RAM from 60 to 70 GiB: the database stops at PMM_PHYS_MAX whatever the port says */
    struct pmm_range usable[] = {{60 * GiB, 10 * GiB}};
    uint32_t first, end;

    mm_host_set_phys_limit(UINT64_MAX);
    CHECK_EQ(setup(usable, 1, NULL, 0), 0);
    pmm_span(&first, &end);
    CHECK_EQ(first, (uint32_t)(60 * GiB >> 12));
    CHECK_EQ(end, (uint32_t)(PMM_PHYS_MAX >> 12));
    CHECK_EQ(pmm_free_frames(), (PMM_PHYS_MAX - 60 * GiB) >> 12);
    pmm_paddr_t p = pmm_alloc(0);
    CHECK(p >= 60 * GiB && p < PMM_PHYS_MAX);
    pmm_free(p);
    CHECK_EQ(pmm_check(), 0);
    mm_host_set_phys_limit(4 * GiB);
}

TEST(addresses_beyond_the_ceiling_never_alias_a_frame)
{
    /* 2^44 + 5 frames: its frame number truncated to 32 bits would be frame 5 */
    const pmm_paddr_t alias = (1ull << 44) + 5 * 4096;

    CHECK_EQ(setup_q35_6g_wide(), 0);
    pmm_paddr_t p = pmm_alloc(PMM_BELOW_1M);
    CHECK(p != PMM_NONE);
    const pmm_paddr_t far = (1ull << 44) + p;
    mm_host_print_reports(0);
    mm_host_reset_reports();
    pmm_free(far);
    CHECK_EQ(mm_host_report_count(), 1);
    CHECK(strstr(mm_host_last_report(), "is not a RAM frame") != NULL);
    pmm_ref(far);
    CHECK_EQ(mm_host_report_count(), 2);
    mm_host_print_reports(1);
    CHECK_EQ(pmm_refcount(p), 1); /* the real frame kept its one reference */
    CHECK_EQ(pmm_refcount(far), 0);
    CHECK_EQ(pmm_frame_state(alias), PMM_FRAME_ABSENT);
    CHECK_EQ(pmm_frame_state(PMM_NONE), PMM_FRAME_ABSENT);
    pmm_free(p);
    CHECK_EQ(pmm_check(), 0);
    mm_host_set_phys_limit(4 * GiB);
}
