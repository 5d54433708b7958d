/*
 * mm/pmm.c - the physical memory manager: a binary buddy allocator per zone
 * over a flat array of 8-byte frame records.
 *
 * How it works
 *
 *   pmm_init describes the SPAN of physical memory from the lowest to the
 *   highest usable frame with one struct pmm_frame per frame (8 bytes, in
 *   memory the caller provides).  A frame is ABSENT (hole, not RAM),
 *   RESERVED (never handed out), FREE (inside a free block) or USED.
 *
 *   Free frames are grouped into buddy BLOCKS: 2^k frames (k <= PMM_MAX_ORDER)
 *   starting at a frame number that is a multiple of 2^k.  Each zone keeps one
 *   doubly-linked free list per order, threaded through the records of the
 *   blocks' first frames (FREE_HEAD; the other frames are FREE_TAIL), and a
 *   bit mask of the non-empty lists so that the smallest block of at least a
 *   given order is found with one count-trailing-zeros.
 *
 *   Allocation of order k takes the smallest free block of order >= k and
 *   splits it, giving the upper halves back to the lists: at most
 *   PMM_MAX_ORDER steps, so O(1) for a single frame.  Freeing merges the
 *   block with its buddy (frame number XOR 2^k) while the buddy is a free
 *   block of the same order in the same zone: again at most PMM_MAX_ORDER
 *   steps.  A request for n frames takes the covering order and gives the
 *   tail back at once.
 *
 * Invariants (pmm_check verifies every one)
 *
 *   - a FREE_HEAD of order k is 2^k-aligned, its 2^k - 1 followers are
 *     FREE_TAIL, the block lies in one zone and is on exactly one list, the
 *     list of its zone and order;
 *   - two buddies of order k < PMM_MAX_ORDER are never both free heads of
 *     order k (they would have been merged);
 *   - a USED run starts with a frame whose `aux` is the run length; its
 *     other frames are USED with aux 0; every USED frame has refcount >= 1;
 *   - per zone: free + used + reserved = total RAM frames, and the free
 *     counter equals the frames on its lists.
 *
 * Who may call it: anyone after pmm_init.  Each public function takes the
 * PMM lock (mm_lock_pmm: interrupts off in the kernel) around its work and
 * releases it before calling reclaimers.  pmm_init, pmm_reset and
 * pmm_place_metadata run before anything else and take no lock.
 *
 * Misuse (double free, foreign frame, wrong run length) is reported through
 * mm_report and changes nothing; running out of frames returns PMM_NONE.
 */
#include "mm/pmm.h"
#include "mm/port.h"

#include <stdbool.h>
#include <string.h>

/* ------------------------------------------------------------ constants */

#define FRAME_NIL 0xFFFFFFu /* "no frame" in a 24-bit list link */
#define FRAMES_MAX ((uint32_t)(PMM_PHYS_MAX >> MM_PAGE_SHIFT)) /* no frame number reaches this */
#define LOW_END_PFN (PMM_ZONE_LOW_END >> MM_PAGE_SHIFT)
#define DMA_END_PFN (PMM_ZONE_DMA_END >> MM_PAGE_SHIFT)
#define PMM_RECLAIM_BATCH 32u /* frames asked beyond the watermark deficit */
#define CHECK_LOG_LIMIT 8     /* pmm_check prints at most this many violations */
#define PMM_KNOWN_FLAGS (PMM_BELOW_1M | PMM_BELOW_16M | PMM_NORECLAIM)

_Static_assert(FRAMES_MAX < FRAME_NIL, "span indices and FRAME_NIL fit the 24-bit links");
_Static_assert(FRAMES_MAX % PMM_MAX_CONTIG_FRAMES == 0, "the ceiling is a whole largest block");
_Static_assert(PMM_MAX_CONTIG_FRAMES < FRAME_NIL, "run lengths fit the 24-bit aux field");
_Static_assert(PMM_MAX_ORDER < 32, "orders fit the 5-bit field and the nonempty mask");

/* ------------------------------------------------------------ frame records */

enum frame_kind {
    KIND_ABSENT = 0, /* must be 0: pmm_init starts from a zeroed array */
    KIND_RESERVED,
    KIND_FREE_HEAD, /* first frame of a free block, on a free list */
    KIND_FREE_TAIL, /* any other frame of a free block */
    KIND_USED,
};

/* One per frame of the span.  Fields not named for a kind are unused by it. */
struct pmm_frame {
    union {
        uint32_t next;     /* FREE_HEAD: next block on its list (span index, FRAME_NIL) */
        uint32_t refcount; /* USED: references held, >= 1 */
    };
    unsigned int aux : 24;  /* FREE_HEAD: previous block on its list (span index, FRAME_NIL);
                               USED: the run length on a run's first frame, 0 on the others */
    unsigned int order : 5; /* FREE_HEAD: the block has 2^order frames */
    unsigned int kind : 3;  /* enum frame_kind */
};
_Static_assert(sizeof(struct pmm_frame) == PMM_FRAME_META_BYTES, "frame record is 8 bytes");

/* One zone: its fixed limits, its free lists and its counters. */
struct zone {
    uint32_t start_pfn, end_pfn;        /* fixed: [0,1M) [1M,16M) [16M,limit) in frames */
    uint32_t head[PMM_MAX_ORDER + 1];   /* first block of each free list, FRAME_NIL if none */
    uint32_t blocks[PMM_MAX_ORDER + 1]; /* length of each free list */
    uint32_t nonempty;                  /* bit k set <=> head[k] != FRAME_NIL */
    size_t total;                       /* RAM frames in the zone */
    size_t reserved;
    size_t free;
};

static struct {
    struct pmm_frame *frame;    /* frame[i] describes frame number base_pfn + i */
    uint32_t base_pfn, end_pfn; /* the span; empty before pmm_init */
    struct zone zone[PMM_ZONE_COUNT];
    size_t free; /* sum of the zones' free counters */
    size_t low_watermark;
    size_t metadata_bytes;
    size_t reclaimed, failed;
    struct pmm_reclaimer *reclaimers;
    bool reclaiming; /* reclaimers are running: no nested reclaim */
} pmm;

/* Frames that are always reserved: the real-mode IVT and BIOS data area in
 * frame 0, and the EBDA, VGA memory and ROMs from 636 KiB to 1 MiB. */
static const struct pmm_range firmware_ranges[] = {
    {0x0, 0x1000},
    {0x9F000, 0x100000 - 0x9F000},
};
#define FIRMWARE_RANGES (sizeof firmware_ranges / sizeof firmware_ranges[0])

/* ------------------------------------------------------------ small helpers */

/* Frame number of a physical address; FRAME_NIL (outside every span) beyond the ceiling. */
static uint32_t pfn_of(pmm_paddr_t paddr)
{
    return paddr < PMM_PHYS_MAX ? (uint32_t)(paddr >> MM_PAGE_SHIFT) : FRAME_NIL;
}

/* Physical address of frame pfn, for messages. */
static unsigned long long paddr_ull(uint32_t pfn)
{
    return (unsigned long long)pfn << MM_PAGE_SHIFT;
}

static struct pmm_frame *frame_at(uint32_t pfn)
{
    return &pmm.frame[pfn - pmm.base_pfn];
}

static bool in_span(uint32_t pfn)
{
    return pfn >= pmm.base_pfn && pfn < pmm.end_pfn;
}

static enum pmm_zone zone_index(uint32_t pfn)
{
    if (pfn < LOW_END_PFN)
        return PMM_ZONE_LOW;
    return pfn < DMA_END_PFN ? PMM_ZONE_DMA : PMM_ZONE_HIGH;
}

static struct zone *zone_of(uint32_t pfn)
{
    return &pmm.zone[zone_index(pfn)];
}

/*
 * Give a frame a kind that is not FREE_HEAD, in canonical form: every field
 * the kind does not use is zero, so that pmm_check can tell a stray bit.
 */
static void set_plain(uint32_t pfn, enum frame_kind kind)
{
    *frame_at(pfn) = (struct pmm_frame){.kind = kind};
}

/* Largest order k such that pfn is 2^k-aligned and 2^k <= frames (frames >= 1). */
static unsigned largest_fitting_order(uint32_t pfn, uint32_t frames)
{
    unsigned order = 0;
    while (order < PMM_MAX_ORDER && !(pfn & (1u << order)) && (2u << order) <= frames)
        order++;
    return order;
}

/* Smallest k with 2^k >= n (n >= 1). */
static unsigned order_covering(size_t n)
{
    unsigned order = 0;
    while (((size_t)1 << order) < n)
        order++;
    return order;
}

/* ------------------------------------------------------------ free lists */

/* Make the block at pfn of 2^order frames a free head on its zone's list. */
static void list_push(struct zone *z, uint32_t pfn, unsigned order)
{
    struct pmm_frame *f = frame_at(pfn);
    uint32_t index = pfn - pmm.base_pfn;

    f->kind = KIND_FREE_HEAD;
    f->order = order;
    f->aux = FRAME_NIL;
    f->next = z->head[order];
    if (z->head[order] != FRAME_NIL)
        pmm.frame[z->head[order]].aux = index;
    z->head[order] = index;
    z->blocks[order]++;
    z->nonempty |= 1u << order;
}

/* Unlink a free head from its list; the caller changes its kind. */
static void list_remove(struct zone *z, uint32_t pfn, unsigned order)
{
    struct pmm_frame *f = frame_at(pfn);

    if (f->aux == FRAME_NIL)
        z->head[order] = f->next;
    else
        pmm.frame[f->aux].next = f->next;
    if (f->next != FRAME_NIL)
        pmm.frame[f->next].aux = f->aux;
    if (--z->blocks[order] == 0)
        z->nonempty &= ~(1u << order);
}

/* True if pfn starts a free block of exactly this order in zone z. */
static bool is_free_block(const struct zone *z, uint32_t pfn, unsigned order)
{
    if (!in_span(pfn) || pfn < z->start_pfn || pfn >= z->end_pfn)
        return false;
    const struct pmm_frame *f = frame_at(pfn);
    return f->kind == KIND_FREE_HEAD && f->order == order;
}

/* ------------------------------------------------------------ buddy core */

/*
 * Give a block back, merging with free buddies.  The block's frames must
 * already be FREE_TAIL and lie in one zone.  Lock held.
 */
static void free_block_locked(uint32_t pfn, unsigned order)
{
    struct zone *z = zone_of(pfn);

    z->free += 1u << order;
    pmm.free += 1u << order;
    while (order < PMM_MAX_ORDER) {
        uint32_t buddy = pfn ^ (1u << order);
        if (!is_free_block(z, buddy, order))
            break;
        list_remove(z, buddy, order);
        /* the upper half's first frame is now inside the merged block */
        set_plain(pfn | (1u << order), KIND_FREE_TAIL);
        pfn &= ~(1u << order);
        order++;
    }
    list_push(z, pfn, order);
}

/* Free [pfn, end) (frames already FREE_TAIL, one zone) as aligned blocks.  Lock held. */
static void free_range_locked(uint32_t pfn, uint32_t end)
{
    while (pfn < end) {
        unsigned order = largest_fitting_order(pfn, end - pfn);
        free_block_locked(pfn, order);
        pfn += 1u << order;
    }
}

/*
 * Take a block of 2^order frames from zone z: the smallest free block that
 * is big enough, split down.  Returns its first frame, or FRAME_NIL.  The
 * frames stay FREE_* until the caller marks them.  Lock held.
 */
static uint32_t take_block_locked(struct zone *z, unsigned order)
{
    uint32_t big_enough = z->nonempty >> order;
    if (big_enough == 0)
        return FRAME_NIL;

    unsigned have = order + (unsigned)__builtin_ctz(big_enough);
    uint32_t pfn = pmm.base_pfn + z->head[have];
    list_remove(z, pfn, have);
    while (have > order) {
        have--;
        list_push(z, pfn + (1u << have), have); /* the upper half stays free */
    }
    z->free -= 1u << order;
    pmm.free -= 1u << order;
    return pfn;
}

/* Mark [pfn, pfn+count) as one USED run with one reference per frame.  Lock held. */
static void mark_run_used_locked(uint32_t pfn, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        struct pmm_frame *f = frame_at(pfn + i);
#if MM_DEBUG
        if (f->kind != KIND_FREE_TAIL)
            mm_panic("pmm_alloc: frame 0x%llx is not free", paddr_ull(pfn + i));
#endif
        *f = (struct pmm_frame){.refcount = 1, .aux = i == 0 ? count : 0, .kind = KIND_USED};
    }
}

/* Highest zone a request with these flags may use. */
static int top_zone(unsigned flags)
{
    if (flags & PMM_BELOW_1M)
        return PMM_ZONE_LOW;
    return (flags & PMM_BELOW_16M) ? PMM_ZONE_DMA : PMM_ZONE_HIGH;
}

/*
 * Allocate `count` frames as the first part of a block of 2^order, from the
 * highest allowed zone that has one (high memory first keeps the low zones
 * for the requests that need them).  The tail beyond count goes back to the
 * free lists.  Returns the address or PMM_NONE.  Lock held.
 */
static pmm_paddr_t alloc_locked(unsigned order, uint32_t count, unsigned flags)
{
    for (int zi = top_zone(flags); zi >= 0; zi--) {
        struct zone *z = &pmm.zone[zi];
        uint32_t pfn = take_block_locked(z, order);
        if (pfn == FRAME_NIL)
            continue;
        /* the block's other frames are FREE_TAIL already; its head becomes one too */
        set_plain(pfn, KIND_FREE_TAIL);
        mark_run_used_locked(pfn, count);
        free_range_locked(pfn + count, pfn + (1u << order));
        return (pmm_paddr_t)pfn << MM_PAGE_SHIFT;
    }
    return PMM_NONE;
}

/* Count a failed allocation; returns PMM_NONE for the caller to return. */
static pmm_paddr_t refuse(void)
{
    mm_lock_pmm();
    pmm.failed++;
    mm_unlock_pmm();
    return PMM_NONE;
}

/* ------------------------------------------------------------ reclaim */

/*
 * Ask the reclaimers for `want` frames, without the lock.  Returns how many
 * frames became free meanwhile (measured, so a reclaimer that claims more
 * than it freed cannot make an allocation loop forever).  A reclaimer that
 * allocates does not re-enter: nested calls return 0.
 */
static size_t run_reclaimers(size_t want)
{
    mm_lock_pmm();
    if (pmm.reclaiming || pmm.reclaimers == NULL) {
        mm_unlock_pmm();
        return 0;
    }
    pmm.reclaiming = true;
    size_t free_before = pmm.free;
    struct pmm_reclaimer *r = pmm.reclaimers;
    mm_unlock_pmm();

    size_t claimed = 0;
    for (; r != NULL && claimed < want; r = r->next)
        claimed += r->reclaim(r, want - claimed);

    mm_lock_pmm();
    size_t gained = pmm.free > free_before ? pmm.free - free_before : 0;
    pmm.reclaimed += gained;
    pmm.reclaiming = false;
    mm_unlock_pmm();
    return gained;
}

/*
 * The allocation path shared by pmm_alloc and pmm_alloc_contig.  One lock
 * round trip when memory is plentiful.  When an allocation leaves fewer free
 * frames than the low watermark, the reclaimers are asked for the deficit
 * plus a batch (so that they are not called for every frame); when it
 * fails, they are asked for the request (twice as much each round) and the
 * allocation retried while they still free something.
 */
static pmm_paddr_t alloc_with_reclaim(unsigned order, uint32_t count, unsigned flags)
{
    bool may_reclaim = !(flags & PMM_NORECLAIM);
    size_t want = (size_t)1 << order > PMM_RECLAIM_BATCH ? (size_t)1 << order : PMM_RECLAIM_BATCH;

    for (;;) {
        mm_lock_pmm();
        pmm_paddr_t paddr = alloc_locked(order, count, flags);
        size_t free = pmm.free, low = pmm.low_watermark;
        mm_unlock_pmm();
        if (paddr != PMM_NONE) {
            if (may_reclaim && free < low)
                run_reclaimers(low - free + PMM_RECLAIM_BATCH);
            return paddr;
        }
        if (!may_reclaim || run_reclaimers(want) == 0)
            break;
        if (want < FRAMES_MAX)
            want *= 2;
    }
    return refuse();
}

/* ------------------------------------------------------------ allocation API */

/*
 * One frame, O(1): at most PMM_MAX_ORDER splits.  flags: a zone limit
 * (PMM_BELOW_1M, PMM_BELOW_16M) and PMM_NORECLAIM.  Returns PMM_NONE when
 * no frame is left (after asking the reclaimers unless PMM_NORECLAIM).
 * The frame is USED with a reference count of 1; free it with pmm_free.
 */
pmm_paddr_t pmm_alloc(unsigned flags)
{
    if (flags & ~PMM_KNOWN_FLAGS) {
        mm_report("pmm_alloc: bad request (flags 0x%x)", flags);
        return refuse();
    }
    return alloc_with_reclaim(0, 1, flags);
}

/* Check the arguments of a contig request; its order, or -1 (misuse reported). */
static int contig_order(size_t count, size_t align_frames, unsigned flags)
{
    if (count == 0 || (align_frames & (align_frames - 1)) != 0 || (flags & ~PMM_KNOWN_FLAGS)) {
        mm_report("pmm_alloc_contig: bad request (count %zu, align %zu, flags 0x%x)", count,
                  align_frames, flags);
        return -1;
    }
    if (count > PMM_MAX_CONTIG_FRAMES || align_frames > PMM_MAX_CONTIG_FRAMES)
        return -1; /* valid but beyond what a buddy block can hold */
    unsigned order = order_covering(count);
    unsigned align_order = align_frames > 1 ? order_covering(align_frames) : 0;
    return (int)(order > align_order ? order : align_order);
}

/*
 * `count` contiguous frames (1 .. PMM_MAX_CONTIG_FRAMES) starting at a
 * multiple of `align_frames` frames (0 or 1: any; else a power of two up to
 * PMM_MAX_CONTIG_FRAMES).  O(log n): the covering order is taken from the
 * free lists and the unused tail given back.  Returns PMM_NONE when no such
 * run exists; a zero count, a non-power-of-two alignment or unknown flags are
 * reported too.  Every frame of the run is USED with one reference; give the
 * run back with pmm_free_contig(addr, count).
 */
pmm_paddr_t pmm_alloc_contig(size_t count, size_t align_frames, unsigned flags)
{
    int order = contig_order(count, align_frames, flags);
    if (order < 0)
        return refuse();
    return alloc_with_reclaim((unsigned)order, (uint32_t)count, flags);
}

/* ------------------------------------------------------------ free and references */

/*
 * Find the record of a USED frame for `who`, or report why it is not one
 * ("pmm_free: frame 0x... is already free") and return NULL.  Lock held.
 */
static struct pmm_frame *used_frame_locked(const char *who, pmm_paddr_t paddr)
{
    uint32_t pfn = pfn_of(paddr);

    if (paddr & (MM_PAGE_SIZE - 1)) {
        mm_report("%s: 0x%08llx is not frame-aligned", who, (unsigned long long)paddr);
        return NULL;
    }
    struct pmm_frame *f = in_span(pfn) ? frame_at(pfn) : NULL;
    if (f == NULL || f->kind == KIND_ABSENT) {
        mm_report("%s: 0x%08llx is not a RAM frame", who, (unsigned long long)paddr);
        return NULL;
    }
    if (f->kind == KIND_RESERVED) {
        mm_report("%s: frame 0x%08llx is reserved", who, (unsigned long long)paddr);
        return NULL;
    }
    if (f->kind != KIND_USED) {
        mm_report("%s: frame 0x%08llx is already free", who, (unsigned long long)paddr);
        return NULL;
    }
    return f;
}

/* First frame of the USED run containing pfn (runs are at most 2^PMM_MAX_ORDER long). */
static uint32_t run_start(uint32_t pfn)
{
    while (frame_at(pfn)->aux == 0 && pfn > pmm.base_pfn)
        pfn--;
    return pfn;
}

/*
 * Drop one reference to a frame.  When the last one goes, the frame is
 * merged back into the free lists, O(1).  A frame that is part of a run
 * longer than one frame loses its last reference only through
 * pmm_free_contig.  Misuse is reported and changes nothing.
 */
void pmm_free(pmm_paddr_t paddr)
{
    mm_lock_pmm();
    struct pmm_frame *f = used_frame_locked("pmm_free", paddr);
    uint32_t pfn = pfn_of(paddr);

    if (f == NULL) {
        /* reported */
    } else if (f->refcount > 1) {
        f->refcount--;
    } else if (f->aux != 1) {
        uint32_t start = run_start(pfn);
        mm_report("pmm_free: frame 0x%08llx belongs to the %u-frame run at 0x%08llx; "
                  "use pmm_free_contig",
                  (unsigned long long)paddr, (unsigned)frame_at(start)->aux, paddr_ull(start));
    } else {
        set_plain(pfn, KIND_FREE_TAIL);
        free_block_locked(pfn, 0);
    }
    mm_unlock_pmm();
}

/* Report why [pfn, pfn+count) is not a whole run that can be freed; true if it is. Lock held. */
static bool run_freeable_locked(pmm_paddr_t paddr, size_t count)
{
    const struct pmm_frame *f = used_frame_locked("pmm_free_contig", paddr);
    uint32_t pfn = pfn_of(paddr);

    if (f == NULL)
        return false;
    if (f->aux == 0) {
        mm_report("pmm_free_contig: frame 0x%08llx is inside the run at 0x%08llx, not its start",
                  (unsigned long long)paddr, paddr_ull(run_start(pfn)));
        return false;
    }
    if (f->aux != count) {
        mm_report("pmm_free_contig: the run at 0x%08llx has %u frames, not %zu",
                  (unsigned long long)paddr,
                  (unsigned)f->aux, count);
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (frame_at(pfn + i)->refcount != 1) {
            mm_report("pmm_free_contig: frame 0x%08llx of the run is shared (%u references)",
                      paddr_ull(pfn + i), (unsigned)frame_at(pfn + i)->refcount);
            return false;
        }
    }
    return true;
}

/*
 * Give back a whole run from pmm_alloc_contig: `paddr` its first frame and
 * `count` the count it was allocated with.  Every frame must hold exactly
 * one reference (drop the others with pmm_free first).  A wrong start,
 * count, or a shared frame is reported and nothing changes.
 */
void pmm_free_contig(pmm_paddr_t paddr, size_t count)
{
    mm_lock_pmm();
    if (run_freeable_locked(paddr, count)) {
        uint32_t pfn = pfn_of(paddr);
        for (uint32_t i = 0; i < count; i++)
            set_plain(pfn + i, KIND_FREE_TAIL);
        free_range_locked(pfn, pfn + (uint32_t)count);
    }
    mm_unlock_pmm();
}

/*
 * Take another reference to a USED frame (a second mapping, copy-on-write).
 * Each reference is dropped with pmm_free.  A frame that is not in use, or
 * whose count would overflow, is reported and nothing changes.
 */
void pmm_ref(pmm_paddr_t paddr)
{
    mm_lock_pmm();
    struct pmm_frame *f = used_frame_locked("pmm_ref", paddr);
    if (f != NULL && f->refcount == UINT32_MAX)
        mm_report("pmm_ref: frame 0x%08llx has too many references", (unsigned long long)paddr);
    else if (f != NULL)
        f->refcount++;
    mm_unlock_pmm();
}

/* ------------------------------------------------------------ queries */

/* References held on the frame containing paddr; 0 unless it is USED. */
unsigned pmm_refcount(pmm_paddr_t paddr)
{
    uint32_t pfn = pfn_of(paddr);
    unsigned count = 0;

    mm_lock_pmm();
    if (in_span(pfn) && frame_at(pfn)->kind == KIND_USED)
        count = frame_at(pfn)->refcount;
    mm_unlock_pmm();
    return count;
}

/* State of the frame containing paddr. */
enum pmm_frame_state pmm_frame_state(pmm_paddr_t paddr)
{
    static const enum pmm_frame_state public_state[] = {
        [KIND_ABSENT] = PMM_FRAME_ABSENT,  [KIND_RESERVED] = PMM_FRAME_RESERVED,
        [KIND_FREE_HEAD] = PMM_FRAME_FREE, [KIND_FREE_TAIL] = PMM_FRAME_FREE,
        [KIND_USED] = PMM_FRAME_USED,
    };
    uint32_t pfn = pfn_of(paddr);
    enum pmm_frame_state state = PMM_FRAME_ABSENT;

    mm_lock_pmm();
    if (in_span(pfn) && frame_at(pfn)->kind <= KIND_USED)
        state = public_state[frame_at(pfn)->kind];
    mm_unlock_pmm();
    return state;
}

/* Free frames over all zones, O(1). */
size_t pmm_free_frames(void)
{
    mm_lock_pmm();
    size_t free = pmm.free;
    mm_unlock_pmm();
    return free;
}

void pmm_span(uint32_t *first_pfn, uint32_t *end_pfn)
{
    mm_lock_pmm();
    *first_pfn = pmm.base_pfn;
    *end_pfn = pmm.end_pfn;
    mm_unlock_pmm();
}

/* ------------------------------------------------------------ statistics */

/* True if frame pfn of zone z is inside a free block. */
static bool frame_is_free(const struct zone *z, uint32_t pfn)
{
    if (!in_span(pfn) || pfn < z->start_pfn || pfn >= z->end_pfn)
        return false;
    return frame_at(pfn)->kind == KIND_FREE_HEAD || frame_at(pfn)->kind == KIND_FREE_TAIL;
}

/* Frames in the run of adjacent free blocks starting at pfn, within zone z. */
static size_t free_run_from(const struct zone *z, uint32_t pfn)
{
    size_t run = 0;
    while (in_span(pfn) && pfn < z->end_pfn && frame_at(pfn)->kind == KIND_FREE_HEAD) {
        run += 1u << frame_at(pfn)->order;
        pfn += 1u << frame_at(pfn)->order;
    }
    return run;
}

/*
 * Longest run of adjacent free frames in zone z.  Every run starts with a
 * free block whose lower neighbour is not free: walk the free lists, and
 * from each such block follow the blocks above it.  Each block is visited
 * at most twice, so O(free blocks), not O(frames).  Lock held.
 */
static size_t largest_free_run_locked(const struct zone *z)
{
    size_t best = 0;

    for (unsigned k = 0; k <= PMM_MAX_ORDER; k++) {
        uint32_t index = z->head[k];
        for (uint32_t n = 0; index != FRAME_NIL && n < z->blocks[k]; n++) {
            uint32_t pfn = pmm.base_pfn + index;
            size_t run = frame_is_free(z, pfn - 1) ? 0 : free_run_from(z, pfn);
            best = run > best ? run : best;
            index = pmm.frame[index].next;
        }
    }
    return best;
}

/* Fill one zone's figures.  Lock held. */
static void zone_stats_locked(const struct zone *z, struct pmm_zone_stats *zs)
{
    zs->total = z->total;
    zs->free = z->free;
    zs->reserved = z->reserved;
    zs->used = z->total - z->free - z->reserved;
    zs->largest_free_run = largest_free_run_locked(z);
    zs->largest_free_block = z->nonempty ? (size_t)1 << (31 - __builtin_clz(z->nonempty)) : 0;
}

/*
 * Fill *st: per-zone and total counts (O(1)) and the largest free run and
 * block (a walk over the free lists: for the monitor and tests, not hot paths).
 */
void pmm_get_stats(struct pmm_stats *st)
{
    memset(st, 0, sizeof *st);
    mm_lock_pmm();
    for (int zi = 0; zi < PMM_ZONE_COUNT; zi++) {
        struct pmm_zone_stats *zs = &st->zone[zi];
        zone_stats_locked(&pmm.zone[zi], zs);
        st->total += zs->total;
        st->free += zs->free;
        st->reserved += zs->reserved;
        st->used += zs->used;
        if (zs->largest_free_run > st->largest_free_run)
            st->largest_free_run = zs->largest_free_run;
        if (zs->largest_free_block > st->largest_free_block)
            st->largest_free_block = zs->largest_free_block;
    }
    st->metadata_bytes = pmm.metadata_bytes;
    st->reclaimed = pmm.reclaimed;
    st->failed = pmm.failed;
    mm_unlock_pmm();
}

/* One line of the statistics table; sizes in frames and KiB. */
static void print_zone_line(const char *name, const struct pmm_zone_stats *zs)
{
    mm_log("pmm: %-5s %8zu %8zu %8zu %8zu %8zu %8zu KiB", name, zs->total, zs->free, zs->reserved,
           zs->used, zs->largest_free_run, zs->free * (MM_PAGE_SIZE / 1024));
}

void pmm_print_stats(void)
{
    static const char *const names[PMM_ZONE_COUNT] = {"<1M", "<16M", "high"};
    struct pmm_stats st;
    struct pmm_zone_stats all = {0};

    pmm_get_stats(&st);
    mm_log("pmm: zone     total     free reserved     used  max-run     free");
    for (int zi = 0; zi < PMM_ZONE_COUNT; zi++)
        print_zone_line(names[zi], &st.zone[zi]);
    all.total = st.total;
    all.free = st.free;
    all.reserved = st.reserved;
    all.used = st.used;
    all.largest_free_run = st.largest_free_run;
    print_zone_line("all", &all);
    mm_log("pmm: metadata %zu KiB (%u B a frame), largest block %zu frames; "
           "reclaimed %zu, failed %zu",
           st.metadata_bytes / 1024, PMM_FRAME_META_BYTES, st.largest_free_block, st.reclaimed,
           st.failed);
}

/* ------------------------------------------------------------ reclaimers */

/* Register a reclaimer (see pmm.h).  Registering one twice is reported. */
void pmm_register_reclaimer(struct pmm_reclaimer *r)
{
    mm_lock_pmm();
    struct pmm_reclaimer *it = pmm.reclaimers;
    while (it != NULL && it != r)
        it = it->next;
    if (r == NULL || r->reclaim == NULL)
        mm_report("pmm_register_reclaimer: reclaimer without a reclaim function");
    else if (it == r)
        mm_report("pmm_register_reclaimer: %s is already registered", r->name);
    else {
        r->next = pmm.reclaimers;
        pmm.reclaimers = r;
    }
    mm_unlock_pmm();
}

/* Remove a reclaimer; one that is not registered is reported.  Not from inside reclaim. */
void pmm_unregister_reclaimer(struct pmm_reclaimer *r)
{
    mm_lock_pmm();
    struct pmm_reclaimer **link = &pmm.reclaimers;
    while (*link != NULL && *link != r)
        link = &(*link)->next;
    if (*link == NULL)
        mm_report("pmm_unregister_reclaimer: %s is not registered", r ? r->name : "(null)");
    else
        *link = r->next;
    mm_unlock_pmm();
}

void pmm_set_low_watermark(size_t low_frames)
{
    mm_lock_pmm();
    pmm.low_watermark = low_frames;
    mm_unlock_pmm();
}

size_t pmm_low_watermark(void)
{
    mm_lock_pmm();
    size_t low = pmm.low_watermark;
    mm_unlock_pmm();
    return low;
}

/* ------------------------------------------------------------ ranges to frames */

typedef bool (*range_frames_fn)(const struct pmm_range *r, uint32_t *first, uint32_t *end);

/*
 * First frame number the PMM never describes: the port's physical limit
 * (what the kernel can map: 4 GiB for i386 paging) capped by the PMM's own
 * ceiling, rounded down to a whole frame.  RAM at and above is ignored.
 */
static uint32_t frames_limit(void)
{
    uint64_t limit = mm_phys_limit();
    return limit < PMM_PHYS_MAX ? (uint32_t)(limit >> MM_PAGE_SHIFT) : FRAMES_MAX;
}

/* End of r clipped to the physical limit; a base + length that wraps means "to the top". */
static uint64_t range_end_clipped(const struct pmm_range *r)
{
    uint64_t end = r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;
    uint64_t limit = (uint64_t)frames_limit() << MM_PAGE_SHIFT;
    return end > limit ? limit : end;
}

/* Usable RAM: the whole frames inside r, below the limit (rounded inward). */
static bool frames_inside(const struct pmm_range *r, uint32_t *first, uint32_t *end)
{
    if (r->base >= ((uint64_t)frames_limit() << MM_PAGE_SHIFT))
        return false;
    *first = (uint32_t)((r->base + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT);
    *end = (uint32_t)(range_end_clipped(r) >> MM_PAGE_SHIFT);
    return *first < *end;
}

/* Reserved memory: every frame r touches, below the limit (rounded outward). */
static bool frames_touched(const struct pmm_range *r, uint32_t *first, uint32_t *end)
{
    if (r->length == 0 || r->base >= ((uint64_t)frames_limit() << MM_PAGE_SHIFT))
        return false;
    *first = (uint32_t)(r->base >> MM_PAGE_SHIFT);
    *end = (uint32_t)((range_end_clipped(r) + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT);
    return *first < *end;
}

/*
 * The next piece of the union of `ranges` at or after frame `cursor`:
 * [*first, *end), where *first is the lowest covered frame >= cursor.
 * False when nothing at or above cursor is covered.  The ranges may be
 * unsorted and overlap; no scratch memory is needed.  O(n); walking the
 * whole union this way is O(n^2) in the number of ranges.
 */
static bool union_next(const struct pmm_range *ranges, size_t n, range_frames_fn to_frames,
                       uint32_t cursor, uint32_t *first, uint32_t *end)
{
    uint32_t lo = 0, hi = 0, a, b;
    bool found = false;

    for (size_t i = 0; i < n; i++) {
        if (!to_frames(&ranges[i], &a, &b) || b <= cursor)
            continue;
        a = a > cursor ? a : cursor;
        if (!found || a < lo)
            lo = a;
        found = true;
    }
    if (!found)
        return false;
    for (size_t i = 0; i < n; i++)
        if (to_frames(&ranges[i], &a, &b) && a <= lo && b > lo && b > hi)
            hi = b;
    *first = lo;
    *end = hi;
    return true;
}

/* ------------------------------------------------------------ initialisation */

/* The span of the usable ranges: false when they hold no whole frame below the limit. */
static bool usable_span(const struct pmm_range *usable, size_t n, uint32_t *first, uint32_t *end)
{
    uint32_t a, b;
    bool found = false;

    for (size_t i = 0; i < n; i++) {
        if (!frames_inside(&usable[i], &a, &b))
            continue;
        *first = found && *first < a ? *first : a;
        *end = found && *end > b ? *end : b;
        found = true;
    }
    return found;
}

/*
 * Bytes of metadata for these usable ranges: one record per frame from the
 * lowest to the highest usable frame, rounded up to a whole page.  0 when
 * the ranges hold no whole frame below the limit.
 */
size_t pmm_metadata_bytes(const struct pmm_range *usable, size_t n_usable)
{
    uint32_t first, end;
    if (!usable_span(usable, n_usable, &first, &end))
        return 0;
    size_t bytes = (size_t)(end - first) * PMM_FRAME_META_BYTES;
    return (bytes + MM_PAGE_SIZE - 1) & ~(size_t)(MM_PAGE_SIZE - 1);
}

/*
 * Give records [pfn, pfn+count) the canonical record of `kind`.  A fill by
 * doubling copies (memcpy of 1, 2, 4... records) rather than a loop with a
 * branch per frame: initialising 4 GiB costs about as much as a memset.
 */
static void fill_plain(uint32_t pfn, uint32_t count, enum frame_kind kind)
{
    struct pmm_frame *f = frame_at(pfn);

    if (count == 0)
        return;
    *f = (struct pmm_frame){.kind = kind};
    for (uint32_t done = 1; done < count;) {
        uint32_t n = done < count - done ? done : count - done;
        memcpy(f + done, f, n * sizeof *f);
        done += n;
    }
}

/* Add RAM frames [a, b) to their zones, as reserved or as free blocks. */
static void add_ram(uint32_t a, uint32_t b, bool is_reserved)
{
    while (a < b) {
        struct zone *z = zone_of(a);
        uint32_t end = b < z->end_pfn ? b : z->end_pfn;
        z->total += end - a;
        if (is_reserved) {
            fill_plain(a, end - a, KIND_RESERVED);
            z->reserved += end - a;
        } else {
            fill_plain(a, end - a, KIND_FREE_TAIL);
            free_range_locked(a, end);
        }
        a = end;
    }
}

/* The next piece at or after cursor of the caller's reserved ranges or the firmware ones. */
static bool reserved_next(const struct pmm_range *reserved, size_t n_reserved, uint32_t cursor,
                          uint32_t *first, uint32_t *end)
{
    uint32_t a, b;
    bool caller = union_next(reserved, n_reserved, frames_touched, cursor, first, end);
    bool firmware = union_next(firmware_ranges, FIRMWARE_RANGES, frames_touched, cursor, &a, &b);

    if (firmware && (!caller || a < *first)) {
        *first = a;
        *end = b;
    }
    return caller || firmware;
}

/* Add the usable frames [a, b): the parts that reserved ranges touch, and the rest. */
static void add_usable_piece(uint32_t a, uint32_t b, const struct pmm_range *reserved,
                             size_t n_reserved)
{
    uint32_t ra, rb;

    while (a < b) {
        if (!reserved_next(reserved, n_reserved, a, &ra, &rb) || ra >= b) {
            add_ram(a, b, false);
            return;
        }
        rb = rb < b ? rb : b;
        add_ram(a, ra, false);
        add_ram(ra, rb, true);
        a = rb;
    }
}

/*
 * Forget everything: the state before pmm_init.  The metadata memory is
 * not touched; reclaimers are forgotten.
 */
void pmm_reset(void)
{
    const uint32_t zone_limits[PMM_ZONE_COUNT + 1] = {0, LOW_END_PFN, DMA_END_PFN,
                                                      FRAMES_MAX};
    memset(&pmm, 0, sizeof pmm);
    for (int zi = 0; zi < PMM_ZONE_COUNT; zi++) {
        struct zone *z = &pmm.zone[zi];
        z->start_pfn = zone_limits[zi];
        z->end_pfn = zone_limits[zi + 1];
        for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
            z->head[k] = FRAME_NIL;
    }
}

/*
 * Build the frame database (contract in pmm.h).  The union of the usable
 * ranges is walked piece by piece in ascending order, each piece split by
 * the reserved ranges; free parts become buddy blocks.  Cost: a memset and
 * memory fills over the span, O(n^3) in the number of ranges (no sorting,
 * no scratch memory), O(blocks) list insertions.  Not locked: runs before
 * anything else uses the PMM.  On failure the previous state is untouched.
 */
int pmm_init(const struct pmm_range *usable, size_t n_usable, const struct pmm_range *reserved,
             size_t n_reserved, void *metadata, size_t metadata_bytes)
{
    uint32_t first, end;

    if (!usable_span(usable, n_usable, &first, &end)) {
        mm_log("pmm_init: no usable frame below the physical limit (0x%llx)",
               (unsigned long long)frames_limit() << MM_PAGE_SHIFT);
        return -1;
    }
    size_t need = (size_t)(end - first) * PMM_FRAME_META_BYTES;
    if (metadata == NULL || metadata_bytes < need ||
        ((uintptr_t)metadata & (_Alignof(struct pmm_frame) - 1)) != 0) {
        mm_log("pmm_init: metadata needs %zu bytes, got %zu", need, metadata_bytes);
        return -1;
    }

    pmm_reset();
    pmm.frame = metadata;
    pmm.base_pfn = first;
    pmm.end_pfn = end;
    pmm.metadata_bytes = need;
    memset(metadata, 0, need); /* every frame ABSENT */
    for (uint32_t cursor = first, a, b; union_next(usable, n_usable, frames_inside, cursor, &a, &b);
         cursor = b)
        add_usable_piece(a, b, reserved, n_reserved);
    pmm.low_watermark = pmm.free / 64;
    return 0;
}

/* ------------------------------------------------------------ metadata placement */

/* True if [pfn, pfn+frames) is all usable RAM and touches no reserved range. */
static bool place_fits(const struct pmm_range *usable, size_t n_usable,
                       const struct pmm_range *reserved, size_t n_reserved, uint32_t pfn,
                       uint32_t frames)
{
    uint32_t a, b, cursor = pfn;

    if (frames > frames_limit() - pfn)
        return false;
    while (cursor < pfn + frames) {
        if (!union_next(usable, n_usable, frames_inside, cursor, &a, &b) || a != cursor)
            return false;
        cursor = b;
    }
    for (size_t i = 0; i < n_reserved + FIRMWARE_RANGES; i++) {
        const struct pmm_range *r =
            i < n_reserved ? &reserved[i] : &firmware_ranges[i - n_reserved];
        if (frames_touched(r, &a, &b) && a < pfn + frames && b > pfn)
            return false;
    }
    return true;
}

/*
 * Lowest place at or above `floor` for `frames` frames, or FRAME_NIL.  The
 * lowest fit starts at the floor, at the start of a usable range or at the
 * end of a reserved one, so only those are tried: O(n^3) in range count.
 */
static uint32_t place_lowest(const struct pmm_range *usable, size_t n_usable,
                             const struct pmm_range *reserved, size_t n_reserved, uint32_t floor,
                             uint32_t frames)
{
    uint32_t best = FRAME_NIL, a, b;
    size_t n_candidates = 1 + n_usable + n_reserved + FIRMWARE_RANGES;

    for (size_t i = 0; i < n_candidates; i++) {
        uint32_t c = floor;
        if (i >= 1 && i <= n_usable) {
            if (!frames_inside(&usable[i - 1], &c, &b))
                continue;
        } else if (i > n_usable) {
            size_t j = i - 1 - n_usable;
            const struct pmm_range *r =
                j < n_reserved ? &reserved[j] : &firmware_ranges[j - n_reserved];
            if (!frames_touched(r, &a, &c))
                continue;
        }
        if (c >= floor && c < best && place_fits(usable, n_usable, reserved, n_reserved, c, frames))
            best = c;
    }
    return best;
}

/*
 * Where to put `bytes` of metadata (contract in pmm.h).  Policy: the lowest
 * fit at or above 16 MiB, so that the ISA DMA zone stays free; else the
 * lowest at or above 1 MiB; else the lowest anywhere.  -1 when bytes is 0
 * or nothing fits.
 */
int pmm_place_metadata(const struct pmm_range *usable, size_t n_usable,
                       const struct pmm_range *reserved, size_t n_reserved, size_t bytes,
                       uint64_t *paddr)
{
    static const uint32_t floors[] = {DMA_END_PFN, LOW_END_PFN, 0};

    uint64_t frames = ((uint64_t)bytes + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
    if (bytes == 0 || frames > frames_limit())
        return -1;
    for (size_t i = 0; i < sizeof floors / sizeof floors[0]; i++) {
        uint32_t pfn =
            place_lowest(usable, n_usable, reserved, n_reserved, floors[i], (uint32_t)frames);
        if (pfn != FRAME_NIL) {
            *paddr = (uint64_t)pfn << MM_PAGE_SHIFT;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ consistency check */

struct check_state {
    int violations;
    uint32_t heads[PMM_ZONE_COUNT][PMM_MAX_ORDER + 1]; /* free heads seen in the walk */
    size_t free[PMM_ZONE_COUNT], reserved[PMM_ZONE_COUNT], total[PMM_ZONE_COUNT];
};

/* Count one violation at frame pfn, printing the first few. */
static void violation(struct check_state *cs, uint32_t pfn, const char *what)
{
    if (cs->violations++ < CHECK_LOG_LIMIT)
        mm_log("pmm_check: frame 0x%08llx: %s", paddr_ull(pfn), what);
}

/* True if the record's unused fields are zero (every kind but FREE_HEAD and USED). */
static bool is_plain(const struct pmm_frame *f)
{
    return f->next == 0 && f->aux == 0 && f->order == 0;
}

/* A free block at pfn: aligned, inside its zone and the span, followed by its tails. */
static uint32_t check_free_block(struct check_state *cs, uint32_t pfn)
{
    const struct pmm_frame *f = frame_at(pfn);
    unsigned order = f->order;
    uint32_t size = 1u << (order <= PMM_MAX_ORDER ? order : 0);
    const struct zone *z = zone_of(pfn);

    if (order > PMM_MAX_ORDER || (pfn & (size - 1)) != 0 || pfn + size > pmm.end_pfn ||
        pfn + size > z->end_pfn) {
        violation(cs, pfn, "free block with a bad order, alignment or extent");
        return 1;
    }
    for (uint32_t i = 1; i < size; i++)
        if (frame_at(pfn + i)->kind != KIND_FREE_TAIL || !is_plain(frame_at(pfn + i))) {
            violation(cs, pfn, "free block with a frame that is not free");
            return i; /* the frames before i are free: the walk goes on at the bad one */
        }
    if (order < PMM_MAX_ORDER && is_free_block(z, pfn ^ size, order))
        violation(cs, pfn, "two free buddies that were not merged");
    cs->heads[zone_index(pfn)][order]++;
    cs->free[zone_index(pfn)] += size;
    return size;
}

/* A used run at pfn: its length, its frames all USED with aux 0 and references. */
static uint32_t check_used_run(struct check_state *cs, uint32_t pfn)
{
    uint32_t length = frame_at(pfn)->aux;

    if (length == 0 || length > PMM_MAX_CONTIG_FRAMES || length > pmm.end_pfn - pfn ||
        length > zone_of(pfn)->end_pfn - pfn) {
        violation(cs, pfn, "used frame outside any run");
        return 1;
    }
    for (uint32_t i = 0; i < length; i++) {
        const struct pmm_frame *f = frame_at(pfn + i);
        if (f->kind != KIND_USED || (i > 0 && f->aux != 0) || f->refcount == 0 || f->order != 0) {
            violation(cs, pfn, "used run with a bad frame");
            return i > 0 ? i : 1; /* the frames before i are used: go on at the bad one */
        }
    }
    return length;
}

/* Walk every frame of the span once. */
static void check_frames(struct check_state *cs)
{
    uint32_t pfn = pmm.base_pfn;

    while (pfn < pmm.end_pfn) {
        enum pmm_zone zi = zone_index(pfn);
        uint32_t step = 1;
        const struct pmm_frame *f = frame_at(pfn);
        if ((f->kind == KIND_ABSENT || f->kind == KIND_RESERVED) && !is_plain(f))
            violation(cs, pfn, "stray bits in an absent or reserved frame");
        switch (f->kind) {
        case KIND_ABSENT:
            break;
        case KIND_RESERVED:
            cs->reserved[zi]++;
            break;
        case KIND_FREE_HEAD:
            step = check_free_block(cs, pfn);
            break;
        case KIND_USED:
            step = check_used_run(cs, pfn);
            break;
        default:
            violation(cs, pfn, "free frame outside any free block");
            break;
        }
        /* a step is one frame, or frames of one zone verified to be free or used */
        cs->total[zi] += f->kind != KIND_ABSENT ? step : 0;
        pfn += step;
    }
}

/* Walk one free list: heads of this order and zone, consistent back links, right length. */
static void check_list(struct check_state *cs, const struct zone *z, unsigned order)
{
    uint32_t index = z->head[order], prev = FRAME_NIL, length = 0;
    uint32_t span = pmm.end_pfn - pmm.base_pfn;

    while (index != FRAME_NIL && length <= z->blocks[order]) {
        const struct pmm_frame *f = index < span ? &pmm.frame[index] : NULL;
        if (f == NULL || f->kind != KIND_FREE_HEAD || f->order != order || f->aux != prev ||
            zone_of(pmm.base_pfn + index) != z) {
            violation(cs, pmm.base_pfn + index, "free list holds a bad block");
            return;
        }
        prev = index;
        index = f->next;
        length++;
    }
    if (index != FRAME_NIL || length != z->blocks[order] ||
        ((z->nonempty >> order) & 1u) != (length != 0))
        violation(cs, z->start_pfn, "free list length or mask is wrong");
}

/*
 * Walk the whole database and count violations of the invariants listed at
 * the top of this file; 0 means consistent.  O(span).  The first few
 * violations are printed through mm_log.
 */
int pmm_check(void)
{
    struct check_state cs;
    size_t free_sum = 0;

    memset(&cs, 0, sizeof cs);
    mm_lock_pmm();
    check_frames(&cs);
    for (int zi = 0; zi < PMM_ZONE_COUNT; zi++) {
        const struct zone *z = &pmm.zone[zi];
        for (unsigned k = 0; k <= PMM_MAX_ORDER; k++) {
            check_list(&cs, z, k);
            if (cs.heads[zi][k] != z->blocks[k])
                violation(&cs, z->start_pfn, "free blocks and list lengths differ");
        }
        if (cs.free[zi] != z->free || cs.reserved[zi] != z->reserved || cs.total[zi] != z->total)
            violation(&cs, z->start_pfn, "zone counters do not match the frames");
        free_sum += z->free;
    }
    if (free_sum != pmm.free)
        violation(&cs, pmm.base_pfn, "total free counter does not match the zones");
    mm_unlock_pmm();
    return cs.violations;
}
