/*
 * mm/pmm.h - the physical memory manager: owner of every physical frame.
 *
 * Input is a list of physical ranges (never a loader's structures): the
 * usable RAM, then the ranges to keep out (kernel image, boot info, modules).
 * Output is frames: single ones in O(1), contiguous aligned runs, from a
 * zone (below 1 MiB, below 16 MiB, anywhere), with per-frame reference
 * counts and reclaim hooks for memory pressure.
 *
 * Frames are named by physical address (pmm_paddr_t, 64-bit on every
 * architecture).  The PMM manages the RAM below the port's limit
 * (mm_phys_limit: 4 GiB for i386 paging, the CPU's physical width for
 * x86-64) and below PMM_PHYS_MAX, whichever is lower; RAM above is ignored.
 * All functions are safe to call with interrupts enabled; the PMM takes its
 * own lock through the port (mm_lock_pmm).
 *
 * Data structure: a buddy allocator per zone over an array of 8-byte frame
 * records; docs/pmm.md explains the choice, the costs and the invariants.
 */
#ifndef MM_PMM_H
#define MM_PMM_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t pmm_paddr_t;

#define PMM_NONE ((pmm_paddr_t)UINT64_MAX) /* failure value: never a frame address */

/*
 * The PMM's own ceiling: 64 GiB - 4 MiB.  The 8-byte frame record links free
 * blocks with 24-bit frame indices, so the frame database covers at most 2^24
 * frames; the ceiling is rounded down to a whole largest buddy block.
 */
#define PMM_PHYS_MAX 0xFFFC00000ull

/*
 * Largest contiguous allocation: 2^PMM_MAX_ORDER frames (4 MiB, one i386
 * large page).  Also the largest alignment pmm_alloc_contig honours.
 */
#define PMM_MAX_ORDER 10u
#define PMM_MAX_CONTIG_FRAMES (1u << PMM_MAX_ORDER)

/*
 * Metadata cost: bytes per frame of the span pmm_init describes (lowest to
 * highest usable frame, holes included): 8 / 4096 = 0.195% of RAM, 8 MiB
 * for a full 4 GiB.  Tests use it to find one frame's record.
 */
#define PMM_FRAME_META_BYTES 8u

/* Zone limits, as physical addresses. */
#define PMM_ZONE_LOW_END 0x100000u  /* 1 MiB */
#define PMM_ZONE_DMA_END 0x1000000u /* 16 MiB */

/* One physical range given to pmm_init. */
struct pmm_range {
    uint64_t base;
    uint64_t length;
};

/* Zones, from the most to the least constrained. */
enum pmm_zone {
    PMM_ZONE_LOW = 0,  /* below 1 MiB  (real-mode, SMP trampolines) */
    PMM_ZONE_DMA = 1,  /* 1 MiB .. 16 MiB (ISA DMA) */
    PMM_ZONE_HIGH = 2, /* 16 MiB .. the physical limit (mm_phys_limit, PMM_PHYS_MAX) */
    PMM_ZONE_COUNT = 3,
};

/* Allocation flags: a limit (zone) and options. */
#define PMM_BELOW_1M 0x1u  /* only from PMM_ZONE_LOW */
#define PMM_BELOW_16M 0x2u /* only from LOW or DMA */
#define PMM_NORECLAIM 0x4u /* fail instead of asking reclaimers */

/* What the PMM knows about one frame (for tests, the monitor's pictures). */
enum pmm_frame_state {
    PMM_FRAME_ABSENT = 0,   /* not RAM, or outside every usable range */
    PMM_FRAME_RESERVED = 1, /* RAM, never handed out (firmware, kernel, boot info, metadata) */
    PMM_FRAME_FREE = 2,
    PMM_FRAME_USED = 3,
};

struct pmm_zone_stats {
    size_t total; /* RAM frames in the zone */
    size_t free;
    size_t reserved;
    size_t used;
    size_t largest_free_run;   /* frames: longest run of adjacent free frames in the zone */
    size_t largest_free_block; /* frames: biggest buddy block, what one contig request can get */
};

struct pmm_stats {
    struct pmm_zone_stats zone[PMM_ZONE_COUNT];
    size_t total, free, reserved, used; /* sums over zones */
    size_t largest_free_run;            /* frames, max over zones (runs never cross zones) */
    size_t largest_free_block;          /* frames, max over zones */
    size_t metadata_bytes;              /* what the PMM's own tables cost */
    size_t reclaimed;                   /* frames given back by reclaimers so far */
    size_t failed;                      /* allocations that returned PMM_NONE */
};

/*
 * A subsystem holding frames it could give back (a buffer cache) registers a
 * reclaimer.  When free frames fall below the low watermark, or an allocation
 * would fail, the PMM calls reclaim(r, want) on each reclaimer until `want`
 * frames came back.  reclaim returns how many frames it freed (through
 * pmm_free / pmm_free_contig) and must not allocate (if it does, that
 * allocation does not reclaim again).  It is called without the PMM lock,
 * from whatever context allocated, possibly with the VMM lock held (the VMM
 * allocates frames under it): a reclaimer must not call the VMM either.
 * Allocations with PMM_NORECLAIM never call reclaimers.  The struct is owned by the caller and must
 * stay valid until pmm_unregister_reclaimer.
 */
struct pmm_reclaimer {
    const char *name;
    size_t (*reclaim)(struct pmm_reclaimer *r, size_t want);
    struct pmm_reclaimer *next; /* PMM-private */
};

/*
 * Bytes of metadata pmm_init needs for these usable ranges.  The caller
 * finds that much memory (pmm_place_metadata helps), maps it and passes it in.
 */
size_t pmm_metadata_bytes(const struct pmm_range *usable, size_t n_usable);

/*
 * Choose a physical place for `bytes` of metadata inside the usable ranges
 * and outside the reserved ones (and the always-reserved firmware areas),
 * page aligned.  Policy: the lowest fit at or above 16 MiB (keeps the ISA
 * DMA zone free), else at or above 1 MiB, else anywhere.  Returns 0 and
 * sets *paddr, or -1 if there is no such place or bytes is 0.  The caller
 * then passes the chosen range to pmm_init among the reserved ones.
 */
int pmm_place_metadata(const struct pmm_range *usable, size_t n_usable,
                       const struct pmm_range *reserved, size_t n_reserved, size_t bytes,
                       uint64_t *paddr);

/*
 * Build the frame database.  usable: RAM ranges (may be unsorted, overlapping,
 * zero-length or reach above the physical limit: they are clipped to it and
 * rounded inward to whole frames).  reserved: ranges never handed out (frame 0 and the first
 * MiB's firmware areas are always reserved; pass the kernel image, boot info,
 * modules and the metadata itself).  metadata: mapped, writable memory of at
 * least pmm_metadata_bytes(), 4-byte aligned.  Returns 0, or -1 when
 * metadata is too small or there is no whole usable frame below the limit; on
 * -1 the previous state is untouched.  A second call starts over (forgets
 * reclaimers and statistics).  The low watermark starts at free frames / 64.
 * Call it before anything else uses the PMM (it takes no lock).
 */
int pmm_init(const struct pmm_range *usable, size_t n_usable, const struct pmm_range *reserved,
             size_t n_reserved, void *metadata, size_t metadata_bytes);

/* One frame, O(1).  flags: PMM_BELOW_1M / PMM_BELOW_16M / PMM_NORECLAIM.  PMM_NONE when out. */
pmm_paddr_t pmm_alloc(unsigned flags);

/*
 * `count` physically contiguous frames (1 .. PMM_MAX_CONTIG_FRAMES) whose
 * address is a multiple of `align_frames` frames (0 or 1 = any; else a power
 * of two up to PMM_MAX_CONTIG_FRAMES).  O(log n).  PMM_NONE when no such run
 * (also for larger counts or alignments); a count of 0, an alignment that is
 * not a power of two or unknown flags are reported as well.  Every frame has
 * one reference; give the run back with pmm_free_contig(addr, count).
 */
pmm_paddr_t pmm_alloc_contig(size_t count, size_t align_frames, unsigned flags);

/*
 * Drop one reference to a frame; it becomes free when the count reaches 0,
 * O(1).  A double free, a reserved or absent frame, an unaligned address is
 * reported ("pmm_free: frame 0x... is already free") and changes nothing.
 * Frames of a run longer than one frame can have extra references dropped
 * here, but the last one goes with pmm_free_contig (else: reported).
 */
void pmm_free(pmm_paddr_t frame);

/*
 * Free a run from pmm_alloc_contig: its first frame and the count it was
 * allocated with; every frame must hold exactly one reference.  A wrong
 * count or start, or a frame still shared, is reported; nothing changes.
 */
void pmm_free_contig(pmm_paddr_t frame, size_t count);

/* Take another reference to a used frame (shared / copy-on-write pages); else reported. */
void pmm_ref(pmm_paddr_t frame);

/* Reference count of the frame containing `frame` (0 when free, reserved or absent). */
unsigned pmm_refcount(pmm_paddr_t frame);

/* State of the frame containing `frame`; PMM_FRAME_ABSENT outside the database. */
enum pmm_frame_state pmm_frame_state(pmm_paddr_t frame);

/* Free frames across all zones (cheap). */
size_t pmm_free_frames(void);

/* Fill *st.  Counts are O(1); the largest run walks the free lists (not a hot path). */
void pmm_get_stats(struct pmm_stats *st);

/* Add a reclaimer (asked newest first); registering one twice is reported. */
void pmm_register_reclaimer(struct pmm_reclaimer *r);
/* Remove a reclaimer; not from inside its own reclaim call.  Unknown ones are reported. */
void pmm_unregister_reclaimer(struct pmm_reclaimer *r);

/* Ask reclaimers when free frames drop below `low_frames` (default: 1/64 of RAM). */
void pmm_set_low_watermark(size_t low_frames);

/* Current low watermark, in frames (0 before pmm_init). */
size_t pmm_low_watermark(void);

/* Walk the metadata and count violations (free counts, lists, run maps): 0 = consistent. */
int pmm_check(void);

/*
 * The frames the database describes: [*first_pfn, *end_pfn), frame numbers
 * (physical address >> 12).  Every frame outside is PMM_FRAME_ABSENT.  For
 * pictures of physical memory and for tests that walk every frame.
 */
void pmm_span(uint32_t *first_pfn, uint32_t *end_pfn);

/* Print the statistics table through mm_log (at boot, from the monitor). */
void pmm_print_stats(void);

/*
 * Forget everything: no frame, no reclaimer, zero statistics.  For tests
 * that need the state before pmm_init; the metadata memory is not touched.
 */
void pmm_reset(void);

#endif /* MM_PMM_H */
