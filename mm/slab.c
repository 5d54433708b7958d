/*
 * mm/slab.c - slab caches and the size-class set (see slab.h).
 *
 * How it works
 *
 *   A cache cuts slabs into objects of `stride` bytes.  A slab is a run of
 *   slab_bytes = page << order bytes (order 0..SLAB_MAX_ORDER, chosen at
 *   creation so that at least SLAB_MIN_OBJECTS objects fit with at most
 *   1/SLAB_WASTE_DIV of the slab wasted, 1/SET_WASTE_DIV for the size-class
 *   set's classes), allocated from a private page heap
 *   (mm/heap_pages.c) ALIGNED TO ITS OWN SIZE.  That makes finding the slab
 *   of any pointer O(1) without touching foreign memory:
 *
 *       base   = ptr & ~(slab_bytes - 1)
 *       header = heap_pages_tag(pages, base)   (NULL unless a slab starts there)
 *
 *   The page heap's record for the run carries the header pointer as its
 *   tag.  The header is at the start of the slab for small objects, or in an
 *   object of an internal header cache ("off-slab") when putting it in the
 *   slab would waste too much (large objects, or objects aligned to the slab
 *   size).  The size-class set, whose slabs come in several sizes, cuts
 *   them from SPANS instead (mm/slab_span.c): runs of 1 MiB aligned to
 *   1 MiB whose header names the slab of each page, found through a span
 *   map keyed by addr >> 20; so one lookup finds the slab of any pointer,
 *   whatever its size, and an address in no span, in a free page or in a
 *   span header is not the set's.  A source that cannot give a span gets
 *   LOOSE slabs, runs of their own recorded page by page in an
 *   address-to-metadata map (mm/addr_map.c), consulted only while the set
 *   has any.
 *   An object's index is a multiply by the stride's rounded-up reciprocal
 *   (stride_inv), checked by multiplying back: no divide on free.
 *
 *   Inside a slab: object i lives at objects + i * stride.  Free objects are
 *   threaded on a singly linked free list whose links are object INDICES
 *   XOR a per-slab cookie, stored in the free object itself (no per-object
 *   header).  Objects never handed out yet are not on the list: they are the
 *   "fresh" tail [fresh, n), so a new slab costs O(1) and its pages are not
 *   touched until used.  One bit per object (free_map) says free or live, so
 *   heap_size/free validate a pointer completely: it must be an object start
 *   ((ptr - objects) % stride == 0, index < n) and its bit must be clear.
 *
 *   Magazines (the size-class set's hot path).  Each class keeps a stack of
 *   the objects freed last, up to SLAB_MAG_BYTES of them (8..64 entries,
 *   each a slab and an index; the 8 of a class above 2 KiB hold more).
 *   free finds the slab and its class with one map lookup (the hot path:
 *   the map leaf it caches, the span's page table and its class tag),
 *   checks the pointer is a live object start, SETS ITS FREE BIT and pushes
 *   it - no free list, no slab list, no move; alloc picks the class from a
 *   table, pops the newest entry, checks its bit still says free
 *   (hardening, MM_HARDEN) and clears it (both leaf functions, their slow
 *   paths reached by tail calls; the owner's fallbacks are kept in the set,
 *   heap_slab_set_rest, so that the hot paths need the argument registers
 *   only; no counter moves on a pop, only free_calls on a push: live, peak
 *   and alloc_calls follow from each cache's held count, see struct
 *   slab_cache).  So ownership stays exact (heap_size is 0 for a cached
 *   object, a second free is refused and reported) while the common case
 *   touches the class, one bitmap word and the map.  A cached object stays
 *   counted in its slab's inuse ("held": live or cached), which is why the
 *   slab lists need no update; a full magazine gives its oldest eighth
 *   back to the slabs (the slow path's work, once per batch), and an
 *   empty one takes a batch - half its capacity, at most what one slab has
 *   free - from the slabs in one slow call (class_refill), in exactly the
 *   cached state: bit set, counted in inuse and held, off the free list.
 *   A refill can take held above the peak; then mag_floor (held - peak)
 *   is the magazine count below which a pop would be a new peak, and the
 *   hot pop's empty test (count <= mag_floor) leaves such pops to the slow
 *   path, which notes the peak: live and peak stay exact with no counter
 *   on the hot path.  heap_slab_shrink empties every magazine first, and so does an
 *   allocation that finds the source exhausted, before it tries once more
 *   (set_drain_locked).  Cost: at most
 *   SLAB_MAG_BYTES of objects per class (and the slabs they keep partial)
 *   stay out of reach of slab release until a shrink; the entries live
 *   after the set's struct (about 12 KiB on x86-64, 7 on i686).
 *
 *   Each cache keeps its slabs on three lists: partial (some objects free),
 *   full, empty.  Allocation takes from the first partial slab, else an empty
 *   one, else makes a slab.  A free that empties a slab moves it to the empty
 *   list; beyond SLAB_EMPTY_RESERVE empty slabs it is returned: a
 *   standalone cache's to the page heap, which deactivates (grown memory)
 *   or unmaps (mapped memory) it; a set's to its span, which keeps a few
 *   idle pages committed, decommits the rest and gives an empty span back
 *   beyond a spare (the policy is slab_span.c's).
 *
 * Invariants (verified by the check op)
 *   - every slab of a cache is on exactly one list and its `list` field says
 *     which; counts match; partial: 0 < inuse < n, full: inuse == n, empty:
 *     inuse == 0;
 *   - inuse == n - popcount(free_map) + (its objects in the magazine); bits
 *     >= n are clear; every object in [fresh, n) is free; the free list and
 *     the magazine together hold exactly the other free objects, each once;
 *   - a magazine entry names a slab of its class and an object below fresh
 *     whose bit is set; a class's held count (live plus cached) is the sum
 *     of its slabs' inuse; live <= peak, and mag_floor = held - peak when
 *     that is positive, else 0;
 *   - a slab cut from a span: each of its pages, and no other, leads to it
 *     through the span map; a loose or standalone slab: the page heap's tag
 *     of its run is the header (and a loose one is in the page map);
 *   - the spans give out exactly the pages of the slabs cut from them, and
 *     the page heap's live runs are exactly the spans, the loose (or
 *     standalone) slabs and the nodes of both maps;
 *   - a free object's link decodes to SLAB_END or to an index < n.
 *
 * Complexity: alloc O(1) (a new slab is O(1) as well; with a constructor it
 * is O(n) once per slab; a magazine refill moves at most SLAB_MAG_MAX / 2
 * objects, once per batch), free O(1) (a magazine flush is O(entries), once
 * per eighth of a magazine of frees), size O(1) (a cache: one page-heap probe;
 * the set: one span-map lookup of 2 loads on i686, 4 on x86-64; the hot
 * free 2 and a compare with its cached leaf), check
 * O(objects + slabs x magazine entries + spans x pages of a span).
 *
 * Locking: every entry point holds src->lock; the private page heap is
 * created with HEAP_PAGES_NOLOCK and only called under that lock.  The lock
 * is dropped only to run a constructor on a slab that is not yet linked
 * anywhere (so ctor may allocate).  Misuse is reported through mm_report
 * and changes nothing; a corrupted free list found while allocating puts
 * its slab aside (reported, never used again) instead of following it.
 */
#include "mm/slab.h"
#include "mm/slab_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mm/addr_map.h"
#include "mm/bits.h"
#include "mm/heap.h"
#include "mm/heap_pages.h"
#include "mm/port.h"
#include "mm/slab_span.h"

#define SLAB_MAGIC 0x534c4142u  /* "SLAB" */
#define SLAB_DEAD 0x2d2d2d2du   /* a header that has been released */
#define CACHE_MAGIC 0x43414348u /* "CACH" */
#define SET_MAGIC 0x534c5354u   /* "SLST" */
#define SLAB_END UINT32_MAX     /* end of a free list */
#define SLAB_JUNK 0x6b          /* MM_DEBUG: fills free objects, catches writes after free */
#define SLAB_MAX_ORDER 4u       /* slabs of at most 16 pages (64 KiB) */
#define SLAB_MIN_OBJECTS 8u
#define SLAB_WASTE_DIV 8u       /* a cache's slab wastes at most 1/8 when possible */
#define SLAB_MAX_OBJECTS 4096u  /* keeps headers (bitmaps) small */
#define SLAB_LINK_BYTES sizeof(uint32_t)
/*
 * The size-class set's slabs waste at most 1/64 when possible (bigger slabs
 * for the classes whose header or tail would take 2-6 % of a page): on
 * churn-256k (262,144 objects of 16..128 B) the peak resident set went
 * 21.81 -> 21.52 MB; 1/128 gave 21.77 (slabs of up to 64 KiB, so more
 * free slots in each class's last slabs).
 */
#define SET_WASTE_DIV 64u
/* aligned requests a class would serve with this much waste or more may be passed on */
#define SET_ALIGN_WASTE_MIN 256u
#define SLAB_CLASS_MAX 21u
/*
 * Magazines: each class of the set caches up to SLAB_MAG_BYTES of freed
 * objects (at least SLAB_MAG_MIN, at most SLAB_MAG_MAX of them); a full one
 * gives its oldest entries back to the slabs.
 */
#define SLAB_MAG_BYTES ((size_t)16 * 1024)
/*
 * A full magazine gives back its oldest 1/SLAB_MAG_FLUSH_DIV: each entry
 * given back may touch a cold slab header, so smaller batches keep the
 * worst free short (p99.99 of churn-1k-in-256k 280-370 ns with halves,
 * 250-260 ns with eighths, in back-to-back runs).
 */
#define SLAB_MAG_FLUSH_DIV 8u
/*
 * An empty magazine takes up to 1/SLAB_MAG_REFILL_DIV of its capacity
 * from one slab in one slow call (class_refill).
 */
#define SLAB_MAG_REFILL_DIV 2u
#define SLAB_MAG_MIN 8u
#define SLAB_MAG_MAX 64u
/*
 * Hardening: the hot pop checks that the magazine entry it hands out still
 * names a free object (a damaged entry or bitmap would otherwise hand out
 * a live object twice).  In a sound heap the check always passes - the bit
 * is set by the push and cleared only by the pop - so MM_HARDEN=0 (only
 * for `make bench`'s unhardened column) leaves it out; the slow paths and
 * heap_check check everything either way.
 */
#ifndef MM_HARDEN
#define MM_HARDEN 1
#endif
/*
 * Object index = (offset * stride_inv) >> INDEX_SHIFT.  With stride_inv
 * rounded up, the result is exact whenever offset * stride < 2^INDEX_SHIFT;
 * both are below the slab size, so slabs of at most 1 MiB (pages up to
 * 64 KiB) are exact, and cache_geometry refuses anything bigger.
 */
#define INDEX_SHIFT 40u
#define INDEX_LIMIT ((size_t)1 << 20)

/* Which list a slab is on (struct slab.list). */
enum { ON_PARTIAL, ON_FULL, ON_EMPTY, ON_NONE, ON_BROKEN };

struct slab_set;

struct slab_cache {
    struct heap heap; /* first: a cache is also a heap */
    uint32_t magic;
    uint32_t mag_count;         /* freed objects cached in mag[0 .. mag_count) */
    struct slab_mag_entry *mag; /* this class's magazine (size-class set only) */
    uint32_t mag_cap;           /* its capacity; 0: no magazine */
    uint32_t mag_floor;         /* held - peak if positive, else 0: a pop below it is a new peak */
    uint32_t objects;           /* per slab */
    const char *name;
    size_t size;         /* usable size of an object */
    size_t stride;       /* distance between objects */
    uint64_t stride_inv; /* ceil(2^INDEX_SHIFT / stride): object index by a multiply */
    size_t align;        /* alignment every object has */
    size_t link_off;     /* offset of the free-list link inside a free object */
    size_t area_off;     /* offset of object 0 from the slab start */
    size_t slab_bytes;   /* page << order; slabs are aligned to it */
    size_t hdr_bytes;    /* header + bitmap */
    void (*ctor)(void *obj);
    struct slab *lists[3]; /* ON_PARTIAL, ON_FULL, ON_EMPTY */
    size_t counts[3];
    size_t broken;       /* slabs put aside because their free list was corrupted */
    size_t constructing; /* slabs whose constructor calls are running (lock dropped) */
    /*
     * Objects its slabs hold (the sum of their inuse: live or in the
     * magazine) and the most ever live.  held changes on the slow paths
     * only: a magazine push or pop moves no counter but mag_count, so live
     * is held - mag_count and alloc_calls is free_calls + live (cache_live,
     * cache_add_stats); count.alloc_calls stays 0.  live passes the peak
     * on a pop only when held > peak, which only a batch refill makes
     * (class_refill): then the pop compares mag_count with mag_floor and
     * moves the peak (cache_floor_sync, mag_note_pop).
     */
    size_t held, peak;
    struct heap_counters count;
    uint32_t secret; /* mixed into every slab's cookie */
    bool internal;   /* a header cache: its objects are not user blocks */
    struct heap_source *src;
    struct heap *pages;           /* private page heap (HEAP_PAGES_NOLOCK) */
    struct slab_cache *hdr_cache; /* off-slab headers come from here, or NULL */
    struct slab_set *set;         /* owning set, or NULL for a standalone cache */
};
_Static_assert(offsetof(struct slab_cache, heap) == 0, "a struct heap * must point at the cache");

/* The size-class set. */
struct slab_set {
    struct heap heap; /* first */
    uint32_t magic;
    unsigned nclasses;
    uint16_t class_at[HEAP_SLAB_MAX / 8]; /* (size - 1) / 8 -> the first class that fits, as its
                                             offset in the set */
    size_t classes_bytes;                 /* nclasses * sizeof classes[0] (set_owns) */
    struct slab_cache classes[SLAB_CLASS_MAX];
    struct slab_cache hdr; /* header cache of off-slab classes */
    struct heap_source *src;
    struct heap *pages;
    struct span_pool spans; /* where the slabs are cut from, and the map finding them */
    struct addr_map map;    /* page -> header, for the loose slabs (no span could be had) */
    size_t loose_slabs;     /* slabs outside spans: each a run of the page heap */
    bool lockless;          /* the source has no lock: the hot paths need none */
    /*
     * The alloc hot path serves size - 1 < hot_limit: HEAP_SLAB_MAX when
     * the source has no lock, 0 when it has one (one compare tests both);
     * the free hot path likewise finds nothing in a locked set's spans
     * (span_pool_hot).
     */
    size_t hot_limit;
    heap_slab_alloc_rest alloc_rest; /* the owner's fallbacks (heap_slab_set_rest) */
    heap_slab_free_rest free_rest;
    void *rest_arg;
    uint32_t mag_entries; /* magazine entries of all classes: they follow the struct */
    struct heap_counters
        count; /* only failed_calls and reported_errors: the caches count the rest */
};
_Static_assert(offsetof(struct slab_set, heap) == 0, "a struct heap * must point at the set");
_Static_assert(sizeof(struct slab_set) % _Alignof(struct slab_mag_entry) == 0,
               "the magazine entries follow the set");
_Static_assert(HEAP_SLAB_MAX % 8 == 0, "class_at indexing");
_Static_assert(offsetof(struct slab_set, hdr) <= UINT16_MAX, "class_at holds every class's offset");

/* Standalone cache: the cache, and the header cache it may need, side by side. */
struct slab_alone {
    struct slab_cache cache; /* first: a struct slab_cache * points here */
    struct slab_cache hdr;
};
_Static_assert(offsetof(struct slab_alone, cache) == 0, "the cache is the standalone struct");

static const struct heap_ops cache_ops, set_ops;

/*
 * The slab of the set covering ptr, or NULL: its span's page table entry;
 * the page map only when the set has loose slabs.  Nothing is read at ptr.
 */
static inline struct slab *set_slab_at(const struct slab_set *set, const void *ptr)
{
    struct slab *s = span_slab_at(&set->spans, (uintptr_t)ptr);
    if (__builtin_expect(!s && set->loose_slabs, 0))
        s = addr_map_get(&set->map, (uintptr_t)ptr);
    return s;
}

/* ------------------------------------------------------------ helpers */

static void src_lock(struct heap_source *src)
{
    if (src->lock)
        src->lock(src);
}

static void src_unlock(struct heap_source *src)
{
    if (src->unlock)
        src->unlock(src);
}

/* Objects of c handed out and not freed: held by its slabs, not cached in its magazine. */
static inline size_t cache_live(const struct slab_cache *c)
{
    return c->held - c->mag_count;
}

static size_t round_up(size_t x, size_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static size_t lowbit(size_t x)
{
    return x & (0 - x);
}

static size_t src_page(const struct heap_source *src)
{
    return src->page_size ? src->page_size : MM_PAGE_SIZE;
}

static size_t header_bytes(uint32_t n)
{
    return sizeof(struct slab) + (n + 31u) / 32u * sizeof(uint32_t);
}

static inline bool bit_free(const struct slab *s, uint32_t i)
{
    return s->free_map[i / 32] >> (i % 32) & 1u;
}

static inline void bit_set(struct slab *s, uint32_t i, bool free)
{
    if (free)
        s->free_map[i / 32] |= 1u << (i % 32);
    else
        s->free_map[i / 32] &= ~(1u << (i % 32));
}

static unsigned char *slab_base(const struct slab_cache *c, const struct slab *s)
{
    return s->objects - c->area_off;
}

static inline unsigned char *object_at(const struct slab_cache *c, const struct slab *s, uint32_t i)
{
    return s->objects + (size_t)i * c->stride;
}

/* The per-slab cookie: a free-list link is only meaningful in the slab it was written in. */
static uint32_t cookie_of(const struct slab_cache *c, const void *base)
{
    uint64_t x = ((uint64_t)(uintptr_t)base ^ c->secret) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

static uint32_t link_read(const struct slab_cache *c, const struct slab *s, uint32_t i)
{
    uint32_t v;
    memcpy(&v, object_at(c, s, i) + c->link_off, sizeof v);
    return v ^ s->cookie;
}

static void link_write(const struct slab_cache *c, struct slab *s, uint32_t i, uint32_t next)
{
    uint32_t v = next ^ s->cookie;
    memcpy(object_at(c, s, i) + c->link_off, &v, sizeof v);
}

/* ------------------------------------------------------------ lists */

static void list_push(struct slab_cache *c, struct slab *s, uint32_t which)
{
    s->list = which;
    s->prev = NULL;
    s->next = c->lists[which];
    if (s->next)
        s->next->prev = s;
    c->lists[which] = s;
    c->counts[which]++;
}

static void list_unlink(struct slab_cache *c, struct slab *s)
{
    if (s->list > ON_EMPTY)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        c->lists[s->list] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    c->counts[s->list]--;
    s->list = ON_NONE;
    s->prev = s->next = NULL;
}

static void list_move(struct slab_cache *c, struct slab *s, uint32_t which)
{
    list_unlink(c, s);
    list_push(c, s, which);
}

/* ------------------------------------------------------------ layout */

/*
 * One way to cut a slab: its size, where object 0 starts, how many objects
 * fit, and the bytes that hold no object (the header counts as waste whether
 * it sits in the slab or in the header cache).
 */
struct layout {
    size_t slab_bytes, area_off, waste;
    uint32_t n;
    bool off_slab;
};

/* How a slab of `bytes` holds objects of `stride`, header on or off the slab. */
static struct layout layout_try(size_t stride, size_t align, size_t bytes, bool off_slab)
{
    struct layout l = {bytes, 0, bytes, 0, off_slab};
    size_t n = bytes / stride;
    if (n > SLAB_MAX_OBJECTS)
        n = SLAB_MAX_OBJECTS;
    /* on the slab, the header (whose bitmap depends on n) comes first: fewer objects may fit */
    if (!off_slab)
        while (n && (l.area_off = round_up(header_bytes((uint32_t)n), align)) + n * stride > bytes)
            n--;
    if (n == 0)
        return l;
    l.n = (uint32_t)n;
    l.waste = bytes - n * stride + (off_slab ? header_bytes(l.n) : 0);
    return l;
}

/* Enough objects per slab to amortise making it, and little enough waste. */
static bool layout_good(const struct layout *l, size_t waste_div)
{
    return l->n >= SLAB_MIN_OBJECTS && l->waste * waste_div <= l->slab_bytes;
}

/* a wastes less (relative to its slab) than b */
static bool layout_better(const struct layout *a, const struct layout *b)
{
    if (!b->n)
        return a->n != 0;
    return a->n && (uint64_t)a->waste * b->slab_bytes < (uint64_t)b->waste * a->slab_bytes;
}

/*
 * The smallest slab (order) whose waste is acceptable, header on the slab
 * when that is good enough; else the least wasteful possibility.  n == 0
 * when the object cannot fit at all.
 */
static struct layout layout_choose(size_t stride, size_t align, size_t page, bool allow_off,
                                   size_t waste_div)
{
    struct layout best = {0};
    for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++) {
        size_t bytes = page << order;
        if (stride > bytes || align > bytes)
            continue;
        struct layout on = layout_try(stride, align, bytes, false);
        struct layout off = allow_off ? layout_try(stride, align, bytes, true) : (struct layout){0};
        if (layout_good(&on, waste_div))
            return on;
        if (layout_good(&off, waste_div))
            return off;
        if (layout_better(&on, &best))
            best = on;
        if (layout_better(&off, &best))
            best = off;
    }
    return best;
}

/*
 * ceil(2^INDEX_SHIFT / d) for d < INDEX_LIMIT, by shift-and-subtract: once
 * per cache, and without a 64-bit divide (which i686 would take from libgcc).
 */
static uint64_t index_reciprocal(size_t d)
{
    uint64_t q = 0, rem = 0;
    for (int bit = INDEX_SHIFT; bit >= 0; bit--) {
        rem = rem << 1 | (bit == INDEX_SHIFT);
        if (rem >= d) {
            rem -= d;
            q |= (uint64_t)1 << bit;
        }
    }
    return q + (rem != 0);
}

/*
 * Fill in c's geometry for objects of `size` at `align` (a power of two).
 * Returns false when no slab can hold them.
 */
static bool cache_geometry(struct slab_cache *c, size_t size, size_t align, size_t page,
                           void (*ctor)(void *), bool allow_off, size_t waste_div)
{
    if (align < SLAB_LINK_BYTES)
        align = SLAB_LINK_BYTES;
    if (size == 0 || size > (page << SLAB_MAX_ORDER) || align > (page << SLAB_MAX_ORDER) ||
        (page << SLAB_MAX_ORDER) > INDEX_LIMIT)
        return false;
    /* with a constructor the link must not overwrite constructed state: put it after */
    c->link_off = ctor ? round_up(size, SLAB_LINK_BYTES) : 0;
    c->stride = round_up(c->link_off + (ctor ? SLAB_LINK_BYTES : size < 4 ? 4 : size), align);
    struct layout l = layout_choose(c->stride, align, page, allow_off, waste_div);
    if (l.n == 0)
        return false;
    c->stride_inv = index_reciprocal(c->stride);
    c->size = size;
    c->objects = l.n;
    c->slab_bytes = l.slab_bytes;
    c->area_off = l.area_off;
    c->hdr_bytes = header_bytes(l.n);
    /*
     * Object i sits at base + area_off + i * stride with base aligned to the
     * slab size: its alignment is the lowest power of two among the three.
     * It is at least the one asked for, often more (heap_alloc can use that).
     */
    c->align = lowbit(c->stride) < l.slab_bytes ? lowbit(c->stride) : l.slab_bytes;
    if (l.area_off && lowbit(l.area_off) < c->align)
        c->align = lowbit(l.area_off);
    c->ctor = ctor;
    return true;
}

/* The part of cache initialisation that is not geometry. */
static void cache_init(struct slab_cache *c, const char *name, struct heap_source *src,
                       struct heap *pages, struct slab_cache *hdr_cache, struct slab_set *set)
{
    c->heap.ops = &cache_ops;
    c->magic = CACHE_MAGIC;
    c->name = name ? name : "slab";
    c->src = src;
    c->pages = pages;
    c->hdr_cache = c->area_off == 0 ? hdr_cache : NULL;
    c->set = set;
    /*
     * Mixes the boot-time seed (heap_set_secret_seed) with our address: a
     * stray or planted index written into a free object decodes to junk,
     * which slab_take refuses (the slab is put aside, reported).
     */
    c->secret = (uint32_t)heap_instance_secret(c) | 1u;
}

/* ------------------------------------------------------------ slabs */

static void *cache_alloc_locked(struct slab_cache *c);
static bool set_drain_locked(struct slab_set *set);
static void object_release(struct slab_cache *c, struct slab *s, uint32_t i);
static struct slab *slab_lookup(struct slab_cache *c, const void *ptr);
static void slab_header_put(struct slab_cache *c, struct slab *s);

/* Write a fresh header for a slab at base: every object free, none handed out. */
static void slab_init(struct slab_cache *c, struct slab *s, unsigned char *base)
{
    memset(s, 0, c->hdr_bytes);
    s->magic = SLAB_MAGIC;
    s->free_head = SLAB_END;
    s->list = ON_NONE;
    s->cookie = cookie_of(c, base);
    s->cache = c;
    s->objects = base + c->area_off;
    for (uint32_t i = 0; i < c->objects; i++)
        bit_set(s, i, true);
}

/* Run the constructor over every object of s with the lock dropped (s is not on any list). */
static void slab_construct(struct slab_cache *c, struct slab *s)
{
    c->constructing++;
    src_unlock(c->src);
    for (uint32_t i = 0; i < c->objects; i++)
        c->ctor(object_at(c, s, i));
    src_lock(c->src);
    c->constructing--;
}

/*
 * A slab's pages.  A set's slab is cut from one of its spans; when no span
 * can be had (a source too small to give one) it is a LOOSE slab, a run of
 * the page heap of its own, found through the set's page map.  A
 * standalone cache's slab is a run aligned to its own size: that is what
 * makes its slab of a pointer findable (slab_lookup).
 */
static unsigned char *slab_pages_get(struct slab_cache *c)
{
    unsigned char *base = c->set ? span_carve(&c->set->spans, c->slab_bytes) : NULL;
    return base ? base : heap_alloc(c->pages, c->slab_bytes, c->slab_bytes);
}

/*
 * The tag a set's slab gets in its span: its class's offset in the set
 * (as class_at holds it), which the hot free reads instead of the slab
 * header's cache pointer.  The header cache is tagged too: it has no
 * magazine, so the hot free never pushes into it.
 */
static uint16_t set_class_tag(const struct slab_cache *c)
{
    return (uint16_t)((const char *)c - (const char *)c->set);
}

/* Is the slab at base cut from a span? */
static bool slab_in_span(const struct slab_cache *c, const unsigned char *base)
{
    return c->set && span_holds(&c->set->spans, base);
}

/* Make the slab at base findable from any of its pages: 0, or -1 when the map needs memory. */
static int slab_pages_name(struct slab_cache *c, unsigned char *base, struct slab *s)
{
    if (slab_in_span(c, base)) {
        span_slab_name(&c->set->spans, base, c->slab_bytes, s, set_class_tag(c));
        return 0;
    }
    if (c->set) {
        if (addr_map_set(&c->set->map, (uintptr_t)base, c->slab_bytes, s) != 0)
            return -1;
        c->set->loose_slabs++;
    }
    heap_pages_set_tag(c->pages, base, s); /* base -> header */
    return 0;
}

/* Give back a slab's pages (forgotten by the map when it was named there). */
static void slab_pages_put(struct slab_cache *c, unsigned char *base, bool named)
{
    if (slab_in_span(c, base)) {
        span_uncarve(&c->set->spans, base, c->slab_bytes);
        return;
    }
    if (c->set && named) {
        addr_map_clear(&c->set->map, (uintptr_t)base, c->slab_bytes);
        c->set->loose_slabs--;
    }
    heap_free(c->pages, base);
}

/* A new empty slab on c's empty list, or NULL when memory is out. */
static struct slab *slab_new(struct slab_cache *c)
{
    unsigned char *base = slab_pages_get(c);
    if (!base)
        return NULL;
    struct slab *s = c->hdr_cache ? cache_alloc_locked(c->hdr_cache) : (struct slab *)base;
    if (!s) {
        slab_pages_put(c, base, false);
        return NULL;
    }
    slab_init(c, s, base);
    if (slab_pages_name(c, base, s) != 0) {
        s->magic = SLAB_DEAD;
        if (c->hdr_cache)
            slab_header_put(c, s);
        slab_pages_put(c, base, false);
        return NULL;
    }
    if (c->ctor)
        slab_construct(c, s);
    list_push(c, s, ON_EMPTY);
    return s;
}

/* Give an off-slab header back to the header cache. */
static void slab_header_put(struct slab_cache *c, struct slab *s)
{
    struct slab *hs = slab_lookup(c->hdr_cache, s);
    if (!hs)
        mm_panic("slab_release: header %p of %s is not in its header cache", (void *)s, c->name);
    object_release(c->hdr_cache, hs,
                   (uint32_t)(((unsigned char *)s - hs->objects) / c->hdr_cache->stride));
}

/* Return an empty slab's memory: its run to the page heap, an off-slab header to its cache. */
static void slab_release(struct slab_cache *c, struct slab *s)
{
    unsigned char *base = slab_base(c, s);
    list_unlink(c, s);
    s->magic = SLAB_DEAD;
    if (c->hdr_cache)
        slab_header_put(c, s);
    slab_pages_put(c, base, true);
}

/* Set s aside for good: its free list cannot be trusted. */
static void slab_quarantine(struct slab_cache *c, struct slab *s, const char *why)
{
    c->count.reported_errors++;
    mm_report("slab %s: slab %p: %s; slab put aside", c->name, (void *)s, why);
    list_unlink(c, s);
    s->list = ON_BROKEN;
    c->broken++;
}

#if MM_DEBUG
/* Free objects are junk-filled (except their link); a changed byte is a write after free. */
static void junk_fill(struct slab_cache *c, unsigned char *obj)
{
    if (!c->ctor)
        memset(obj + SLAB_LINK_BYTES, SLAB_JUNK,
               c->size > SLAB_LINK_BYTES ? c->size - SLAB_LINK_BYTES : 0);
}

static bool junk_intact(const struct slab_cache *c, const unsigned char *obj)
{
    for (size_t k = SLAB_LINK_BYTES; !c->ctor && k < c->size; k++)
        if (obj[k] != SLAB_JUNK)
            return false;
    return true;
}
#endif

/*
 * Index of the next object of s (not full) to hand out - the free list's
 * head, else the first fresh one - now off the list and counted in inuse,
 * its free bit left as it is (set).  SLAB_END if s turned out to be
 * corrupted (then set aside).  The caller puts s on the right list.
 */
static inline uint32_t slab_next_free(struct slab_cache *c, struct slab *s)
{
    uint32_t i = s->free_head;
    if (i != SLAB_END) {
        uint32_t next = i < c->objects && bit_free(s, i) ? link_read(c, s, i) : 0;
        if (i >= c->objects || !bit_free(s, i) ||
            (next != SLAB_END && (next >= c->objects || !bit_free(s, next)))) {
            slab_quarantine(c, s, "corrupted free list");
            return SLAB_END;
        }
#if MM_DEBUG
        if (!junk_intact(c, object_at(c, s, i)))
            mm_report("slab %s: object %p was written after it was freed", c->name,
                      (void *)object_at(c, s, i));
#endif
        s->free_head = next;
    } else if (s->fresh < c->objects && bit_free(s, s->fresh)) {
        i = s->fresh++;
    } else {
        slab_quarantine(c, s, "no free object although not full");
        return SLAB_END;
    }
    s->inuse++;
    return i;
}

/* s just gave objects out: an empty slab becomes partial, one that filled up leaves the list. */
static inline void slab_list_after_take(struct slab_cache *c, struct slab *s)
{
    if (s->inuse == c->objects)
        list_move(c, s, ON_FULL);
    else if (s->list != ON_PARTIAL)
        list_move(c, s, ON_PARTIAL);
}

/* Take one object from s (not full), now live.  NULL if s turned out to be corrupted. */
static void *slab_take(struct slab_cache *c, struct slab *s)
{
    uint32_t i = slab_next_free(c, s);
    if (i == SLAB_END)
        return NULL;
    bit_set(s, i, false);
    slab_list_after_take(c, s);
    return object_at(c, s, i);
}

/* cache_slab_locked's rare case: no slab has a free object.  A new one, or NULL (counted). */
__attribute__((noinline)) static struct slab *cache_slab_new_locked(struct slab_cache *c)
{
    for (;;) {
        struct slab *s = slab_new(c);
        if (s)
            return s;
        /* memory is out: what the set's caches hold may be enough, once given back */
        if (!c->set || c->internal || !set_drain_locked(c->set)) {
            c->count.failed_calls++;
            return NULL;
        }
        if ((s = c->lists[ON_PARTIAL] ? c->lists[ON_PARTIAL] : c->lists[ON_EMPTY]))
            return s;
    }
}

/*
 * A slab of c with a free object (lock held): the first partial slab
 * (keeps empty ones empty, so they can be returned), then the reserve,
 * then a new slab; NULL, counted as a failure, when none can be had.
 */
static inline struct slab *cache_slab_locked(struct slab_cache *c)
{
    struct slab *s = c->lists[ON_PARTIAL] ? c->lists[ON_PARTIAL] : c->lists[ON_EMPTY];
    return s ? s : cache_slab_new_locked(c);
}

/*
 * held or the peak changed (a slow path): recompute mag_floor, the
 * magazine count below which a pop makes live pass the peak.  0 unless a
 * batch refill has taken held above the peak.
 */
static inline void cache_floor_sync(struct slab_cache *c)
{
    c->mag_floor = c->held > c->peak ? (uint32_t)(c->held - c->peak) : 0u;
}

/* live rose on a slow path: a new peak, maybe. */
static inline void cache_note_live(struct slab_cache *c)
{
    if (cache_live(c) > c->peak)
        c->peak = cache_live(c);
    cache_floor_sync(c);
}

/*
 * An object of c (lock held), or NULL when no slab can be had.  Loops
 * only past slabs found corrupted.  A standalone cache and the header
 * cache allocate here; a set's class refills its magazine instead
 * (class_refill).
 */
static void *cache_alloc_locked(struct slab_cache *c)
{
    for (;;) {
        struct slab *s = cache_slab_locked(c);
        if (!s)
            return NULL;
        void *obj = slab_take(c, s);
        if (obj) {
            c->held++;
            cache_note_live(c);
            return obj;
        }
    }
}

/*
 * Object i of s, already marked free (bit set), goes on the slab's free list
 * and leaves inuse; keep or return the slab if it empties.
 */
static void slab_put_back(struct slab_cache *c, struct slab *s, uint32_t i)
{
    /* LIFO: the object freed last is handed out first, while it is still in the cache */
    link_write(c, s, i, s->free_head);
    s->free_head = i;
    s->inuse--;
    c->held--; /* the caller brings mag_floor up to date */
    if (s->list == ON_BROKEN)
        return; /* its list cannot be trusted: the slab stays aside */
    if (s->inuse > 0) {
        if (s->list == ON_FULL)
            list_move(c, s, ON_PARTIAL);
        return;
    }
    /* empty: keep it as the reserve, or give its pages back beyond that */
    list_move(c, s, ON_EMPTY);
    if (c->counts[ON_EMPTY] > SLAB_EMPTY_RESERVE)
        slab_release(c, s);
}

/* Mark live object i of s free (junk-filled under MM_DEBUG) and count the free. */
static inline void object_mark_free(struct slab_cache *c, struct slab *s, uint32_t i)
{
#if MM_DEBUG
    junk_fill(c, object_at(c, s, i));
#endif
    bit_set(s, i, true);
    c->count.free_calls++;
}

/* Free live object i of s straight onto its slab (no magazine). */
static void object_release(struct slab_cache *c, struct slab *s, uint32_t i)
{
    object_mark_free(c, s, i);
    slab_put_back(c, s, i);
    cache_floor_sync(c);
}

/* ------------------------------------------------------------ magazines */

/*
 * Give the `n` oldest cached objects back to their slabs (free lists,
 * list moves, slabs emptied and returned: the slow path's work, done once
 * per batch instead of once per free).
 */
static void mag_flush(struct slab_cache *c, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        slab_put_back(c, c->mag[k].slab, c->mag[k].index);
    c->mag_count -= n;
    cache_floor_sync(c);
    memmove(c->mag, c->mag + n, c->mag_count * sizeof c->mag[0]);
}

/*
 * Free live object i of s into c's magazine, which has room: its bit is
 * set at once (so heap_size says 0 and a second free is refused), but the
 * slab is not touched otherwise.
 */
static inline void mag_store(struct slab_cache *c, struct slab *s, uint32_t i)
{
    object_mark_free(c, s, i);
    c->mag[c->mag_count++] = (struct slab_mag_entry){s, i};
}

/* mag_store; a full magazine first gives its oldest eighth back. */
static void mag_push(struct slab_cache *c, struct slab *s, uint32_t i)
{
    if (c->mag_count == c->mag_cap)
        mag_flush(c, c->mag_cap / SLAB_MAG_FLUSH_DIV);
    mag_store(c, s, i);
}

/*
 * The magazine just went down to n entries: live = held - n.  Below
 * mag_floor that is a new peak (only after a batch refill).
 */
static inline void mag_note_pop(struct slab_cache *c, uint32_t n)
{
    if (n < c->mag_floor) {
        c->peak = c->held - n;
        c->mag_floor = n;
    }
}

/* Hand out cached object i of s: it becomes live. */
static inline void *mag_hand_out(struct slab_cache *c, struct slab *s, uint32_t i)
{
    bit_set(s, i, false);
    unsigned char *obj = object_at(c, s, i);
#if MM_DEBUG
    if (!junk_intact(c, obj))
        mm_report("slab %s: object %p was written after it was freed", c->name, (void *)obj);
#endif
    return obj;
}

/* Can entry e of c's magazine be handed out?  Its object's bit must still say free. */
static inline bool mag_entry_sound(const struct slab_cache *c, struct slab_mag_entry e)
{
    return e.index < c->objects && bit_free(e.slab, e.index);
}

/*
 * The pop mag_pop_hot leaves to the slow path: one that makes a new peak
 * (noted), or past a damaged top entry (an object that is not free, an
 * index out of range: the metadata was written over).  Damaged entries on
 * top are dropped and reported - never handed out - and the first sound
 * one is popped, if any.
 */
static void *mag_pop_slow(struct slab_cache *c)
{
    while (c->mag_count) {
        struct slab_mag_entry e = c->mag[--c->mag_count];
        if (mag_entry_sound(c, e)) {
            mag_note_pop(c, c->mag_count);
            return mag_hand_out(c, e.slab, e.index);
        }
        c->held--; /* neither live nor cached now: heap_check sees its slab's inuse disagree */
        cache_floor_sync(c);
        c->count.reported_errors++;
        mm_report("slab %s: magazine entry (slab %p, object %u) is not a free object; dropped",
                  c->name, (void *)e.slab, e.index);
    }
    return NULL;
}

/*
 * The object freed last into c's magazine, now live; NULL, nothing
 * changed, when the magazine is empty, its top entry is damaged, or the
 * pop would make a new peak (mag_floor: only after a batch refill; the
 * same compare as the empty test) - a leaf: nothing called but under
 * MM_DEBUG, no counter moved.
 */
static inline void *mag_pop_hot(struct slab_cache *c)
{
    uint32_t n = c->mag_count;
    if (n <= c->mag_floor)
        return NULL;
    const struct slab_mag_entry *e = &c->mag[--n];
    c->mag_count = n;
    struct slab *s = e->slab;
    uint32_t i = e->index;
    if (MM_HARDEN && (i >= c->objects || !bit_free(s, i))) {
        c->mag_count++; /* left for the slow path to drop and report */
        return NULL;
    }
    return mag_hand_out(c, s, i);
}

/* The object freed last into c's magazine, now live, or NULL when the magazine is empty. */
static inline void *mag_pop(struct slab_cache *c)
{
    void *p = mag_pop_hot(c);
    return p || !c->mag_count ? p : mag_pop_slow(c);
}

/*
 * Move up to `want` objects of s (not full) into c's empty magazine, in
 * exactly the state of a freed-and-cached object: free bit set, counted in
 * the slab's inuse and the class's held, off the free list (junk-filled
 * under MM_DEBUG, so the pop's check passes).  live does not move.  The
 * object the free list would have given first is popped first.  Returns
 * how many; 0 when s turned out to be corrupted before the first.
 */
static uint32_t mag_fill_from(struct slab_cache *c, struct slab *s, uint32_t want)
{
    uint32_t got = 0;
    while (got < want) {
        uint32_t i = slab_next_free(c, s);
        if (i == SLAB_END)
            break; /* s set aside; what was taken is sound */
#if MM_DEBUG
        junk_fill(c, object_at(c, s, i));
#endif
        c->mag[got++] = (struct slab_mag_entry){s, i};
    }
    for (uint32_t k = 0; k < got / 2; k++) { /* the first taken on top */
        struct slab_mag_entry e = c->mag[k];
        c->mag[k] = c->mag[got - 1 - k];
        c->mag[got - 1 - k] = e;
    }
    c->mag_count = got;
    c->held += got;
    cache_floor_sync(c); /* held may now be above the peak: the pops will tell */
    if (got && s->list != ON_BROKEN)
        slab_list_after_take(c, s);
    return got;
}

/*
 * An object of class c whose magazine is empty (lock held): a batch of up
 * to half the magazine from one slab (at most what it has free) into the
 * magazine, then its top popped - the slow path runs once per batch
 * instead of once per object.  NULL when memory is out.
 */
static void *class_refill(struct slab_cache *c)
{
    uint32_t want = c->mag_cap / SLAB_MAG_REFILL_DIV;
    for (;;) {
        struct slab *s = cache_slab_locked(c);
        if (!s)
            return NULL;
        uint32_t room = c->objects - s->inuse;
        if (mag_fill_from(c, s, want < room ? want : room))
            return mag_pop(c);
    }
}

/* ------------------------------------------------------------ finding an object */

/*
 * The header tagged on the run starting at base, if it looks like a slab
 * header.  Only the page heap's table is consulted for an arbitrary base:
 * the header itself is read only once the page heap vouched for it.
 */
static struct slab *header_at(struct heap *pages, uintptr_t base)
{
    struct slab *s = heap_pages_tag(pages, (void *)base);
    return s && s->magic == SLAB_MAGIC ? s : NULL;
}

/* The slab of c holding ptr, or NULL. */
static struct slab *slab_lookup(struct slab_cache *c, const void *ptr)
{
    if (c->set) {
        struct slab *s = set_slab_at(c->set, ptr);
        return s && s->magic == SLAB_MAGIC && s->cache == c ? s : NULL;
    }
    uintptr_t base = (uintptr_t)ptr & ~(uintptr_t)(c->slab_bytes - 1);
    struct slab *s = header_at(c->pages, base);
    return s && s->cache == c ? s : NULL;
}

/*
 * Index of the object starting at ptr in s, free or live, or SLAB_END.  The
 * index is a multiply, exact for every offset inside the slab, checked by
 * multiplying back: i below the object count and i * stride == off is
 * exactly "off is an object start" (i * stride is then below the slab size,
 * so it cannot wrap; an offset below the objects wraps to a huge one, one
 * beyond them gives i >= objects: both refused without comparing off with
 * the slab size).
 */
static inline uint32_t object_start(const struct slab_cache *c, const struct slab *s,
                                    const void *ptr)
{
    size_t off = (size_t)((const unsigned char *)ptr - s->objects);
    uint32_t i = (uint32_t)(((uint64_t)off * c->stride_inv) >> INDEX_SHIFT);
    return i < c->objects && (size_t)i * c->stride == off ? i : SLAB_END;
}

/* Index of the live object starting at ptr in s, or SLAB_END (the hot path's test). */
static inline uint32_t live_index(const struct slab_cache *c, const struct slab *s, const void *ptr)
{
    uint32_t i = object_start(c, s, ptr);
    return i != SLAB_END && !bit_free(s, i) ? i : SLAB_END;
}

/* live_index, with *why saying what ptr is when it is not a live object. */
static uint32_t object_index(const struct slab_cache *c, const struct slab *s, const void *ptr,
                             const char **why)
{
    uint32_t i = object_start(c, s, ptr);
    if (i == SLAB_END) {
        *why = "not the start of an object (interior pointer)";
        return SLAB_END;
    }
    if (bit_free(s, i)) {
        *why = "double free (object is free)";
        return SLAB_END;
    }
    return i;
}

static void cache_report(struct slab_cache *c, const void *ptr, const char *why)
{
    c->count.reported_errors++;
    mm_report("slab %s: free(%p): %s", c->name, ptr, why);
}

/* Free ptr, known to lie in slab s of c; reports if it is not a live object. */
static void cache_free_in(struct slab_cache *c, struct slab *s, void *ptr)
{
    const char *why;
    uint32_t i = object_index(c, s, ptr, &why);
    if (i == SLAB_END)
        cache_report(c, ptr, why);
    else
        object_release(c, s, i);
}

static size_t cache_size_in(const struct slab_cache *c, const struct slab *s, const void *ptr)
{
    const char *why;
    return object_index(c, s, ptr, &why) == SLAB_END ? 0 : c->size;
}

/* ------------------------------------------------------------ check */

static int violation(const struct slab_cache *c, const void *what_at, const char *what)
{
    mm_report("slab check: %s: %p: %s", c->name, what_at, what);
    return 1;
}

static int check_slab_free_list(const struct slab_cache *c, const struct slab *s);

/* Give back the free bits mag_hide took from s's magazine objects among entries [0, upto). */
static void mag_unhide(const struct slab_cache *c, struct slab *s, uint32_t upto)
{
    for (uint32_t k = 0; k < upto; k++)
        if (c->mag[k].slab == s)
            bit_set(s, c->mag[k].index, true);
}

/*
 * For the length of a check, mark the objects of s sitting in c's
 * magazine live, so that the free list is checked against the other free
 * objects alone: an object both cached and free-listed then shows up as a
 * live object on the list.  Each must be a free object handed out before
 * (below fresh), and appear once.  Returns how many there are, or
 * UINT32_MAX (bits left as they were) when one is not.
 */
static uint32_t mag_hide(const struct slab_cache *c, struct slab *s)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < c->mag_count; k++) {
        if (c->mag[k].slab != s)
            continue;
        if (c->mag[k].index >= s->fresh || !bit_free(s, c->mag[k].index)) {
            mag_unhide(c, s, k);
            return UINT32_MAX;
        }
        bit_set(s, c->mag[k].index, false);
        n++;
    }
    return n;
}

/*
 * Free list, magazine and bitmap of one slab agree with each other and with
 * inuse: the free bits are exactly the fresh tail, the free list and the
 * slab's objects in the magazine, each once.  *cached counts the latter.
 */
static int check_slab_objects(const struct slab_cache *c, struct slab *s, size_t *cached)
{
    uint32_t in_mag = mag_hide(c, s);
    if (in_mag == UINT32_MAX)
        return violation(c, s,
                         "a magazine entry is not a free object of its slab, or is there twice");
    *cached += in_mag;
    int bad = check_slab_free_list(c, s);
    mag_unhide(c, s, c->mag_count);
    return bad;
}

/* With the magazine's objects hidden: free list and bitmap agree with each other and with inuse. */
static int check_slab_free_list(const struct slab_cache *c, const struct slab *s)
{
    uint32_t free_bits = 0, listed = 0;
    for (uint32_t w = 0; w < (c->objects + 31) / 32; w++)
        free_bits += (uint32_t)mm_bits_set(s->free_map[w]);
    if (c->objects % 32 && s->free_map[c->objects / 32] >> (c->objects % 32))
        return violation(c, s, "bitmap has bits beyond the last object");
    if (s->inuse != c->objects - free_bits)
        return violation(c, s, "inuse disagrees with the free bitmap and the magazine");
    if (s->fresh > c->objects)
        return violation(c, s, "fresh index out of range");
    for (uint32_t i = s->fresh; i < c->objects; i++)
        if (!bit_free(s, i))
            return violation(c, s, "a never-used object is marked live");
    for (uint32_t i = s->free_head; i != SLAB_END; i = link_read(c, s, i)) {
        if (i >= s->fresh || !bit_free(s, i) || ++listed > free_bits)
            return violation(c, s, "free list: bad link, live object or loop");
#if MM_DEBUG
        if (!junk_intact(c, object_at(c, s, i)))
            return violation(c, object_at(c, s, i), "free object written after free");
#endif
    }
    if (listed != free_bits - (c->objects - s->fresh))
        return violation(c, s, "free list and magazine do not hold every freed object once");
    return 0;
}

/* One slab header: magic, owner, place, tag; then its objects (*cached: in the magazine). */
/* What the walk over the slabs found, for the cross-checks with the page heap and the spans. */
struct check_tally {
    size_t slabs;      /* every slab (loose or not, broken and under construction included) */
    size_t span_slabs; /* of them, slabs cut from spans */
    size_t span_pages; /* and the pages those cover */
};

/* A slab cut from a span: every one of its pages, and no other, leads to it. */
static int check_slab_in_span(const struct slab_cache *c, const struct slab *s, uintptr_t base,
                              struct check_tally *t)
{
    const struct span_pool *sp = &c->set->spans;
    for (size_t off = 0; off < c->slab_bytes; off += MM_PAGE_SIZE)
        if (span_slab_at(sp, base + off) != s || span_tag_at(sp, base + off) != set_class_tag(c))
            return violation(c, s, "the span's page table does not lead to this slab and class");
    if (span_slab_at(sp, base - 1) == s || span_slab_at(sp, base + c->slab_bytes) == s)
        return violation(c, s, "the span's page table gives this slab a page beyond it");
    t->span_slabs++;
    t->span_pages += c->slab_bytes >> MM_PAGE_SHIFT;
    return 0;
}

/* A slab of its own run: aligned to its size, tagged, and (in a set) in the page map. */
static int check_slab_loose(const struct slab_cache *c, const struct slab *s, uintptr_t base)
{
    if (base & (c->slab_bytes - 1) || heap_pages_tag(c->pages, (void *)base) != s)
        return violation(c, s, "slab misplaced or its run is not tagged with it");
    if (c->set && (addr_map_get(&c->set->map, base) != s ||
                   addr_map_get(&c->set->map, base + c->slab_bytes - 1) != s))
        return violation(c, s, "the address map does not lead to this slab");
    return 0;
}

/* Where the slab lies: its span's page table or its own run lead to it. */
static int check_slab_place(const struct slab_cache *c, const struct slab *s, struct check_tally *t)
{
    uintptr_t base = (uintptr_t)slab_base(c, s);
    if (s->cookie != cookie_of(c, (void *)base))
        return violation(c, s, "cookie wrong");
    if (slab_in_span(c, (const unsigned char *)base))
        return check_slab_in_span(c, s, base, t);
    return check_slab_loose(c, s, base);
}

static int check_slab(const struct slab_cache *c, struct slab *s, uint32_t which, size_t *cached,
                      struct check_tally *t)
{
    if (s->magic != SLAB_MAGIC || s->cache != c || s->list != which)
        return violation(c, s, "header magic, cache or list field wrong");
    if (check_slab_place(c, s, t))
        return 1;
    bool ok = which == ON_EMPTY  ? s->inuse == 0
              : which == ON_FULL ? s->inuse == c->objects
                                 : s->inuse > 0 && s->inuse < c->objects;
    if (!ok)
        return violation(c, s, "inuse does not fit the list the slab is on");
    return check_slab_objects(c, s, cached);
}

/* Every slab of c; *t accumulates how many there are and where (for the cross-checks). */
static int check_cache(const struct slab_cache *c, struct check_tally *t)
{
    int bad = 0;
    size_t inuse = 0, cached = 0;
    if (c->magic != CACHE_MAGIC)
        return violation(c, c, "cache magic");
    if (c->mag_count > c->mag_cap)
        return violation(c, c, "magazine count beyond its capacity");
    for (uint32_t which = ON_PARTIAL; which <= ON_EMPTY; which++) {
        size_t n = 0;
        const struct slab *prev = NULL;
        for (struct slab *s = c->lists[which]; s; prev = s, s = s->next, n++) {
            if (n >= c->counts[which] || s->prev != prev) {
                bad += violation(c, s, "slab list longer than its count or back link wrong");
                break;
            }
            if (check_slab(c, s, which, &cached, t)) {
                bad++;
                break; /* a bad header's links are not worth following */
            }
            inuse += s->inuse;
        }
        if (n != c->counts[which] && !bad)
            bad += violation(c, c, "slab list shorter than its count");
    }
    if (!bad && !c->broken && cached != c->mag_count)
        bad += violation(c, c, "a magazine entry is not an object of this cache's slabs");
    if (!bad && !c->broken && inuse != c->held)
        bad += violation(c, c, "live count disagrees with the slabs and the magazine");
    if (cache_live(c) > c->peak || c->mag_floor != (c->held > c->peak ? c->held - c->peak : 0))
        bad += violation(c, c, "peak below live, or the magazine's peak floor out of step");
    if (c->broken)
        bad += violation(c, c, "slabs were put aside after corruption");
    t->slabs += c->counts[ON_PARTIAL] + c->counts[ON_FULL] + c->counts[ON_EMPTY] + c->broken +
                c->constructing;
    return bad;
}

/* The private page heap is sane and holds exactly `runs` runs. */
static int check_pages(struct heap *pages, const struct slab_cache *c, size_t runs)
{
    int bad = heap_check(pages);
    struct heap_stats st;
    heap_stats(pages, &st);
    if (st.live_blocks != runs)
        bad += violation(c, pages, "page heap holds runs that are not slabs (or misses some)");
    return bad;
}

/* ------------------------------------------------------------ stats */

static void cache_add_stats(const struct slab_cache *c, struct heap_stats *st)
{
    size_t live = cache_live(c);
    st->bytes_in_use += live * c->size;
    st->bytes_peak += c->peak * c->size;
    st->free_blocks +=
        c->counts[ON_PARTIAL] * c->objects + c->counts[ON_EMPTY] * c->objects + c->mag_count;
    st->live_blocks += live;
    heap_counters_add(st, &c->count);
    st->alloc_calls += c->count.free_calls + live; /* every live or freed object was allocated */
    if ((c->counts[ON_PARTIAL] || c->counts[ON_EMPTY]) && c->size > st->largest_free)
        st->largest_free = c->size;
}

/* Footprint: what the private page heap (the instance's pages included) holds. */
static void pages_add_stats(struct heap *pages, struct heap_stats *st)
{
    struct heap_stats ps;
    heap_stats(pages, &ps);
    st->bytes_held += ps.bytes_held;
    st->bytes_committed += ps.bytes_committed;
    st->reported_errors += ps.reported_errors;
}

/* ------------------------------------------------------------ a cache as a heap */

static struct slab_cache *to_cache(struct heap *h)
{
    return (struct slab_cache *)h;
}

static void *cache_op_alloc(struct heap *h, size_t size, size_t align)
{
    struct slab_cache *c = to_cache(h);
    if (size > c->size || align > c->align) {
        src_lock(c->src);
        c->count.failed_calls++;
        src_unlock(c->src);
        return NULL;
    }
    return slab_cache_alloc(c);
}

static size_t cache_op_size(struct heap *h, const void *ptr)
{
    struct slab_cache *c = to_cache(h);
    src_lock(c->src);
    struct slab *s = slab_lookup(c, ptr);
    size_t n = s ? cache_size_in(c, s, ptr) : 0;
    src_unlock(c->src);
    return n;
}

static void cache_op_free(struct heap *h, void *ptr)
{
    slab_cache_free(to_cache(h), ptr);
}

static int cache_op_check(struct heap *h)
{
    struct slab_cache *c = to_cache(h);
    struct check_tally t = {0};
    src_lock(c->src);
    int bad = check_cache(c, &t);
    if (c->hdr_cache)
        bad += check_cache(c->hdr_cache, &t);
    bad += check_pages(c->pages, c, t.slabs);
    src_unlock(c->src);
    return bad;
}

static void cache_op_stats(struct heap *h, struct heap_stats *st)
{
    struct slab_cache *c = to_cache(h);
    src_lock(c->src);
    cache_add_stats(c, st);
    if (c->hdr_cache) { /* its calls and objects are bookkeeping, not the user's */
        st->reported_errors += c->hdr_cache->count.reported_errors;
    }
    pages_add_stats(c->pages, st);
    src_unlock(c->src);
}

static const struct heap_ops cache_ops = {
    .name = "slab-cache",
    .alloc = cache_op_alloc,
    .size = cache_op_size,
    .free = cache_op_free,
    .check = cache_op_check,
    .stats = cache_op_stats,
};

/* ------------------------------------------------------------ standalone caches */

/*
 * The geometry is worked out on the stack first, so that the instance's
 * pages (a private page heap with the cache struct in its first page) are
 * only taken from the source when the cache can exist.
 */
struct slab_cache *slab_cache_create(struct heap_source *src, const char *name, size_t size,
                                     size_t align, void (*ctor)(void *obj))
{
    struct slab_alone a;
    if (!src || !src->grow || !heap_align_valid(align))
        return NULL;
    memset(&a, 0, sizeof a);
    size_t page = src_page(src);
    if (!cache_geometry(&a.cache, size, align ? align : HEAP_DEFAULT_ALIGN, page, ctor, true,
                        SLAB_WASTE_DIV))
        return NULL;
    if (a.cache.area_off == 0 &&
        !cache_geometry(&a.hdr, a.cache.hdr_bytes, HEAP_DEFAULT_ALIGN, page, NULL, false,
                        SLAB_WASTE_DIV))
        return NULL;
    void *mem;
    src_lock(src);
    struct heap *pages = heap_pages_create_with(
        src, &(struct heap_pages_config){.flags = HEAP_PAGES_NOLOCK, .extra = sizeof a}, &mem);
    src_unlock(src);
    if (!pages)
        return NULL;
    struct slab_alone *alone = mem;
    *alone = a;
    cache_init(&alone->cache, name, src, pages, &alone->hdr, NULL);
    if (alone->cache.hdr_cache) {
        cache_init(&alone->hdr, "slab-headers", src, pages, NULL, NULL);
        alone->hdr.internal = true;
    }
    return &alone->cache;
}

void *slab_cache_alloc(struct slab_cache *c)
{
    src_lock(c->src);
    void *obj = cache_alloc_locked(c);
    src_unlock(c->src);
    return obj;
}

void slab_cache_free(struct slab_cache *c, void *obj)
{
    if (!obj)
        return;
    src_lock(c->src);
    struct slab *s = slab_lookup(c, obj);
    if (s)
        cache_free_in(c, s, obj);
    else
        cache_report(c, obj, "not an object of this cache (foreign pointer)");
    src_unlock(c->src);
}

/* Return the empty slabs of c (reserve included). */
static void cache_shrink_locked(struct slab_cache *c)
{
    while (c->lists[ON_EMPTY])
        slab_release(c, c->lists[ON_EMPTY]);
}

void slab_cache_shrink(struct slab_cache *c)
{
    src_lock(c->src);
    cache_shrink_locked(c);
    if (c->hdr_cache)
        cache_shrink_locked(c->hdr_cache);
    src_unlock(c->src);
}

int slab_cache_destroy(struct slab_cache *c)
{
    struct heap_source *src = c->src;
    src_lock(src);
    if (c->set || c->internal || cache_live(c) || c->broken) {
        c->count.reported_errors++;
        mm_report("slab_cache_destroy: %s: %zu objects live or not a standalone cache", c->name,
                  cache_live(c));
        src_unlock(src);
        return -1;
    }
    cache_shrink_locked(c);
    c->magic = 0;
    heap_pages_destroy(c->pages); /* c lives in the page heap's pages: last use */
    src_unlock(src);
    return 0;
}

struct heap *slab_cache_heap(struct slab_cache *c)
{
    return &c->heap;
}

size_t slab_cache_object_size(const struct slab_cache *c)
{
    return c->size;
}

size_t slab_cache_object_align(const struct slab_cache *c)
{
    return c->align;
}

/* ------------------------------------------------------------ the size-class set */

/*
 * Steps of a quarter between 64 and 128 bytes (80, 112), where most small
 * objects are: a request of 65 bytes takes 80, not 96 (churn of 16..128 B
 * wasted 1.23x the live bytes with 64/96/128 alone).  Their alignment is
 * 16, enough for HEAP_DEFAULT_ALIGN on both machines.  Classes up to a page
 * (2560, 3072, 4096): requests of 2-4 KiB were the general heap's most
 * frequent ones on make bench's mixed (8 % of its calls against 4.5 % for
 * 4-64 KiB); from magazines it ran 1.2-1.6x faster, with a footprint no
 * bigger (peak 18.69 -> 18.64 MB).
 */
static const uint16_t class_sizes[] = {8,   16,  24,   32,   48,   64,   80,   96,   112,  128, 192,
                                       256, 384, 512,  768,  1024, 1536, 2048, 2560, 3072, 4096};
static const char *const class_names[] = {
    "slab-8",    "slab-16",   "slab-24",   "slab-32",   "slab-48",   "slab-64",   "slab-80",
    "slab-96",   "slab-112",  "slab-128",  "slab-192",  "slab-256",  "slab-384",  "slab-512",
    "slab-768",  "slab-1024", "slab-1536", "slab-2048", "slab-2560", "slab-3072", "slab-4096"};
_Static_assert(sizeof class_sizes / sizeof class_sizes[0] == SLAB_CLASS_MAX, "one size per class");
_Static_assert(sizeof class_names / sizeof class_names[0] == SLAB_CLASS_MAX, "one name per class");

static struct slab_set *to_set(struct heap *h)
{
    return (struct slab_set *)h;
}

/*
 * Is c one of set's user-visible caches?  A range check, so that a
 * corrupted header's cache pointer is never followed.
 */
static inline bool set_owns(const struct slab_set *set, const struct slab_cache *c)
{
    /* one compare: below the classes wraps to a huge offset */
    return (uintptr_t)c - (uintptr_t)set->classes < set->classes_bytes;
}

/*
 * The slab of a user object of set holding ptr, or NULL: one map lookup,
 * whatever the slab's size.  The map only holds our own slabs' headers, so
 * the header is only read once the map vouched for it; header-cache slabs
 * are in the map too, and refused.
 */
static inline struct slab *set_lookup(struct slab_set *set, const void *ptr)
{
    struct slab *s = set_slab_at(set, ptr);
    return s && s->magic == SLAB_MAGIC && set_owns(set, s->cache) ? s : NULL;
}

/* From class k on, the first aligned to `align`, or -1. */
static int set_class_aligned(const struct slab_set *set, unsigned k, size_t align)
{
    /* a bigger class is not always more aligned (48 after 32): scan on to one aligned enough */
    for (; k < set->nclasses; k++)
        if (set->classes[k].align >= align)
            return (int)k;
    return -1;
}

/* The class of a default-aligned request of 1..HEAP_SLAB_MAX bytes: one table load. */
static inline struct slab_cache *set_class_at(struct slab_set *set, size_t size)
{
    return (struct slab_cache *)((char *)set + set->class_at[(size - 1) / 8]);
}

/* The class serving (size, align), or -1. */
static inline int set_class(struct slab_set *set, size_t size, size_t align)
{
    if (size - 1 >= HEAP_SLAB_MAX) /* 0 wraps: refused with the too big */
        return -1;
    unsigned k = (unsigned)(set_class_at(set, size) - set->classes);
    if (align <= HEAP_DEFAULT_ALIGN)
        return (int)k; /* every class is aligned at least that much (set_geometry) */
    return set_class_aligned(set, k, align);
}

/* No class serves the request (too big, aligned beyond every class that fits). */
static void *set_refuse(struct slab_set *set)
{
    src_lock(set->src);
    set->count.failed_calls++;
    src_unlock(set->src);
    return NULL;
}

/* An object of class c (lock held, or none needed): the magazine's newest, else from a slab. */
static inline void *class_alloc(struct slab_cache *c)
{
    void *p = mag_pop(c);
    return p ? p : class_refill(c);
}

/* class_alloc under the source's lock; out of line, so the lockless path saves no registers. */
__attribute__((noinline)) static void *class_alloc_locking(struct heap_source *src,
                                                           struct slab_cache *c)
{
    src->lock(src);
    void *p = class_alloc(c);
    src_unlock(src);
    return p;
}

/*
 * Every request the hot path below does not finish: a class to find for
 * an alignment, a lock to take, an empty magazine or a damaged entry.
 */
__attribute__((noinline)) static void *set_alloc_slow(struct slab_set *set, size_t size,
                                                      size_t align)
{
    int k = set_class(set, size, align);
    if (k < 0)
        return set_refuse(set);
    struct heap_source *src = set->src;
    if (src->lock)
        return class_alloc_locking(src, &set->classes[k]);
    return class_alloc(&set->classes[k]);
}

/*
 * The hot path's test: the class whose magazine's newest entry a request
 * takes, or NULL.  Without a lock and for a default alignment, the class
 * by one table load, and an entry whose bit is seen free.  hot_limit is 0
 * for a set whose source has a lock: one compare tests the size and the
 * lock.  With mag_take_top, a leaf: no counter moves (struct
 * slab_cache.held); all else tail-calls the slow path, which saves the
 * registers it needs.
 */
static inline bool set_hot(const struct slab_set *set, size_t size, size_t align)
{
    return size - 1 < set->hot_limit && align <= HEAP_DEFAULT_ALIGN;
}

/*
 * The pop both entry points share, ending in their own slow path (a
 * constant after inlining: each compiles to a leaf with direct tail calls).
 */
typedef void *set_alloc_slow_fn(struct slab_set *set, size_t size, size_t align);

static inline __attribute__((always_inline)) void *
set_alloc_hot(struct slab_set *set, size_t size, size_t align, set_alloc_slow_fn *slow)
{
    if (!set_hot(set, size, align))
        return slow(set, size, align);
    void *p = mag_pop_hot(set_class_at(set, size));
    /* heap_alloc's alignment is at least the default: here it is the default */
    return p ? p : slow(set, size, HEAP_DEFAULT_ALIGN);
}

void *heap_slab_alloc(struct heap *h, size_t size, size_t align)
{
    return set_alloc_hot(to_set(h), size, align, set_alloc_slow);
}

/*
 * Would class k serve an aligned request for size bytes at more than a
 * quarter, and at least SET_ALIGN_WASTE_MIN bytes, above size?  Then
 * heap_slab_alloc_or passes it on: a class aligned enough for align >= size
 * is a class of at least align bytes (64 B aligned to 1024 takes 1024),
 * while the general heap places the block at an aligned address inside a
 * free block and keeps the gap in front as a free block.  Small waste (a
 * 40-byte object aligned to 64) stays on the magazine path.  On bench_heap's
 * aligned workload (16..2048 B aligned to 16..4096) the composite's peak
 * source footprint went 8.10 -> 7.59 MB (glibc's peak RSS 7.70).  The
 * standalone set, which has nobody to pass to, still serves them.
 */
static bool set_align_wasteful(const struct slab_set *set, int k, size_t size, size_t align)
{
    size_t waste = set->classes[k].size - size;
    return align > HEAP_DEFAULT_ALIGN && waste > size / 4 && waste >= SET_ALIGN_WASTE_MIN;
}

/* heap_slab_alloc_or's every request but a magazine hit: the set's slow path, else the owner's. */
__attribute__((noinline)) static void *set_alloc_slow_or(struct slab_set *set, size_t size,
                                                         size_t align)
{
    int k = set_class(set, size, align);
    /* not a request for the set: no failure of its own */
    if (k < 0 || set_align_wasteful(set, k, size, align))
        return set->alloc_rest(set->rest_arg, size, align);
    void *p = set_alloc_slow(set, size, align);
    return p ? p : set->alloc_rest(set->rest_arg, size, align);
}

/* heap_slab_alloc's hot path; the slow path passes on to the owner's fallback. */
void *heap_slab_alloc_or(struct heap *h, size_t size, size_t align)
{
    return set_alloc_hot(to_set(h), size, align, set_alloc_slow_or);
}

static size_t set_size(struct heap *h, const void *ptr)
{
    struct slab_set *set = to_set(h);
    src_lock(set->src);
    struct slab *s = set_lookup(set, ptr);
    size_t n = s ? cache_size_in(s->cache, s, ptr) : 0;
    src_unlock(set->src);
    return n;
}

/*
 * Free ptr into its class's magazine when it is a live object of the set
 * (lock held): its usable size, else 0 with *why saying what it is.
 */
static size_t set_release_locked(struct slab_set *set, void *ptr, const char **why)
{
    struct slab *s = set_lookup(set, ptr);
    *why = "not an object of this heap (foreign pointer)";
    uint32_t i = s ? object_index(s->cache, s, ptr, why) : SLAB_END;
    if (i == SLAB_END)
        return 0;
    mag_push(s->cache, s, i);
    return s->cache->size;
}

/* Report a free the set refuses (heap_free on the set, or a free_or without an owner). */
static void set_report(struct slab_set *set, void *ptr, const char *why)
{
    set->count.reported_errors++;
    mm_report("slab: free(%p): %s", ptr, why);
}

static void set_free(struct heap *h, void *ptr)
{
    struct slab_set *set = to_set(h);
    const char *why;
    src_lock(set->src);
    if (!set_release_locked(set, ptr, &why))
        set_report(set, ptr, why);
    src_unlock(set->src);
}

/*
 * The push both hot paths share (lock held, or none needed): the object at
 * ptr, in slab s of class c (as the span map gave them), goes onto c's
 * magazine when it is a live object start and the magazine has room - its
 * index by a multiply, its bit set, nothing else.  False, nothing done,
 * otherwise.
 */
static inline bool class_push_live(struct slab_cache *c, struct slab *s, void *ptr)
{
    if (c->mag_count >= c->mag_cap)
        return false;
    uint32_t i = live_index(c, s, ptr);
    if (i == SLAB_END)
        return false;
    mag_store(c, s, i);
    return true;
}

/* class_push_live after a full lookup (the header's magic and cache checked): the size, or 0. */
static inline size_t set_push_live(struct slab_set *set, void *ptr)
{
    struct slab *s = set_lookup(set, ptr);
    return s && class_push_live(s->cache, s, ptr) ? s->cache->size : 0;
}

/* set_push_live, else set_release_locked (a flush, or the answer 0 for what is not ours). */
static inline size_t set_release_fast(struct slab_set *set, void *ptr)
{
    const char *why;
    size_t n = set_push_live(set, ptr);
    return n ? n : set_release_locked(set, ptr, &why);
}

/* set_release_fast under the source's lock; out of line, like class_alloc_locking. */
__attribute__((noinline)) static size_t set_release_locking(struct slab_set *set, void *ptr)
{
    struct heap_source *src = set->src;
    src->lock(src);
    size_t n = set_release_fast(set, ptr);
    src_unlock(src);
    return n;
}

size_t heap_slab_release(struct heap *h, void *ptr)
{
    struct slab_set *set = to_set(h);
    if (!set->lockless)
        return set_release_locking(set, ptr);
    return set_release_fast(set, ptr); /* nothing to take: no call, nothing reloaded */
}

/*
 * heap_slab_free_or's every free but a hot push: the set's slow path (a
 * lock, a full magazine, a span whose map leaf the hot path does not hold -
 * then it is cached for the next free), else the owner's fallback.
 */
__attribute__((noinline)) static void set_free_slow_or(struct slab_set *set, void *ptr)
{
    const char *why;
    size_t n = set->lockless ? set_release_locked(set, ptr, &why) : set_release_locking(set, ptr);
    if (!n)
        set->free_rest(set->rest_arg, ptr);
    else if (set->lockless) /* the leaf is cached only where no lock is taken */
        span_hot_fill(&set->spans, (uintptr_t)ptr);
}

/*
 * The hot path, a leaf: the slab and its class from the span map's cached
 * leaf and the span's page table, then the push; everything else
 * tail-calls the slow path.  The slab header's magic and cache pointer are
 * not read: the map and the spans are the set's own, written only by it
 * (heap_check compares them with the headers; the slow path reads both).
 */
void heap_slab_free_or(struct heap *h, void *ptr)
{
    struct slab_set *set = to_set(h);
    uint16_t tag;
    struct slab *s = span_slab_at_hot(&set->spans, (uintptr_t)ptr, &tag);
    if (s && class_push_live((struct slab_cache *)((char *)set + tag), s, ptr))
        return;
    set_free_slow_or(set, ptr);
}

/* Without an owner's fallbacks: nothing to allocate from, and a refused free is reported. */
static void *set_alloc_rest_none(void *arg, size_t size, size_t align)
{
    (void)arg, (void)size, (void)align;
    return NULL;
}

static void set_free_rest_none(void *arg, void *ptr)
{
    set_report(arg, ptr, "not a live object of this heap (foreign, interior or freed)");
}

int heap_slab_set_rest(struct heap *h, heap_slab_alloc_rest alloc_rest,
                       heap_slab_free_rest free_rest, void *arg)
{
    struct slab_set *set = to_set(h);
    if (!alloc_rest || !free_rest) { /* given back: the set's own again */
        set->alloc_rest = set_alloc_rest_none;
        set->free_rest = set_free_rest_none;
        set->rest_arg = set;
        return 0;
    }
    if (set->free_rest != set_free_rest_none && set->rest_arg != arg)
        return -1; /* another owner's */
    set->alloc_rest = alloc_rest;
    set->free_rest = free_rest;
    set->rest_arg = arg;
    return 0;
}

/*
 * The spans agree with the slabs (the pages they give out are exactly the
 * span slabs' pages), and the page heap holds exactly the spans, the loose
 * slabs and the nodes of both maps.
 */
static int set_check_spans(struct slab_set *set, const struct check_tally *t)
{
    size_t span_pages = 0, runs = 0;
    if (span_pool_check(&set->spans, &span_pages, &runs))
        return 1;
    if (span_pages != t->span_pages)
        return violation(&set->hdr, &set->spans, "spans give out pages no slab holds");
    if (t->slabs - t->span_slabs != set->loose_slabs)
        return violation(&set->hdr, set, "loose slab count wrong");
    runs += set->loose_slabs + set->map.node_count;
    return check_pages(set->pages, &set->hdr, runs);
}

static int set_check(struct heap *h)
{
    struct slab_set *set = to_set(h);
    struct check_tally t = {0};
    int bad = 0;
    src_lock(set->src);
    if (set->magic != SET_MAGIC)
        bad = violation(&set->hdr, set, "set magic");
    for (unsigned k = 0; k < set->nclasses && !bad; k++)
        bad += check_cache(&set->classes[k], &t);
    if (!bad)
        bad += check_cache(&set->hdr, &t);
    if (!bad)
        bad += set_check_spans(set, &t);
    src_unlock(set->src);
    return bad;
}

static void set_stats(struct heap *h, struct heap_stats *st)
{
    struct slab_set *set = to_set(h);
    src_lock(set->src);
    for (unsigned k = 0; k < set->nclasses; k++)
        cache_add_stats(&set->classes[k], st);
    heap_counters_add(st, &set->count);
    st->reported_errors += set->hdr.count.reported_errors;
    pages_add_stats(set->pages, st);
    st->bytes_committed -= set->spans.inactive_bytes; /* the page heap counts spans as committed */
    src_unlock(set->src);
}

static const struct heap_ops set_ops = {
    .name = "slab",
    .alloc = heap_slab_alloc,
    .size = set_size,
    .free = set_free,
    .check = set_check,
    .stats = set_stats,
    .release = heap_slab_release,
};

/* Magazine capacity of a class of `size` bytes. */
static uint32_t mag_capacity(size_t size)
{
    size_t n = SLAB_MAG_BYTES / size;
    return (uint32_t)(n < SLAB_MAG_MIN ? SLAB_MAG_MIN : n > SLAB_MAG_MAX ? SLAB_MAG_MAX : n);
}

/* Geometry of every class (and of the header cache) in a set not yet placed in memory. */
static bool set_geometry(struct slab_set *set, size_t page)
{
    size_t hdr_max = 0;
    for (unsigned k = 0; k < SLAB_CLASS_MAX; k++) {
        size_t size = class_sizes[k];
        if (lowbit(size) < HEAP_DEFAULT_ALIGN)
            continue; /* such objects could not honour the default alignment */
        struct slab_cache *c = &set->classes[set->nclasses];
        if (!cache_geometry(c, size, lowbit(size), page, NULL, true, SET_WASTE_DIV))
            return false;
        c->name = class_names[k];
        c->mag_cap = mag_capacity(size);
        set->mag_entries += c->mag_cap;
        if (c->area_off == 0 && c->hdr_bytes > hdr_max)
            hdr_max = c->hdr_bytes;
        set->nclasses++;
    }
    if (!cache_geometry(&set->hdr, hdr_max ? hdr_max : sizeof(struct slab), HEAP_DEFAULT_ALIGN,
                        page, NULL, false, SLAB_WASTE_DIV))
        return false;
    return true;
}

/* Wire up the classes of a set now at its final address. */
static void set_init(struct slab_set *set, struct heap_source *src, struct heap *pages)
{
    set->heap.ops = &set_ops;
    set->magic = SET_MAGIC;
    set->src = src;
    set->lockless = !src->lock;
    set->hot_limit = set->lockless ? HEAP_SLAB_MAX : 0;
    set->pages = pages;
    span_pool_init(&set->spans, pages, src, src_page(src));
    span_pool_hot(&set->spans, set->lockless);
    heap_slab_set_rest(&set->heap, NULL, NULL, NULL);
    addr_map_init(&set->map, pages, src_page(src));
    cache_init(&set->hdr, "slab-headers", src, pages, NULL, set);
    set->hdr.internal = true;
    struct slab_mag_entry *pool = (struct slab_mag_entry *)(set + 1);
    for (unsigned k = 0; k < set->nclasses; k++) {
        struct slab_cache *c = &set->classes[k];
        cache_init(c, c->name, src, pages, &set->hdr, set);
        c->mag = pool;
        pool += c->mag_cap;
    }
    /* class_at: for each 8-byte step of size, the first class at least that big */
    unsigned k = 0;
    for (unsigned i = 0; i < HEAP_SLAB_MAX / 8; i++) {
        while (set->classes[k].size < (i + 1) * 8)
            k++;
        set->class_at[i] = (uint16_t)((char *)&set->classes[k] - (char *)set);
    }
    set->classes_bytes = set->nclasses * sizeof set->classes[0];
}

/* Magazine entries of every class a set has (those set_geometry keeps). */
static uint32_t set_mag_entries(void)
{
    uint32_t n = 0;
    for (unsigned k = 0; k < SLAB_CLASS_MAX; k++)
        if (lowbit(class_sizes[k]) >= HEAP_DEFAULT_ALIGN)
            n += mag_capacity(class_sizes[k]);
    return n;
}

/*
 * The set is laid out in place, in its page heap's first pages (it is too
 * big for a kernel stack: the span map's root is in it); a geometry that
 * cannot be had gives those pages back.
 */
struct heap *heap_slab_create(struct heap_source *src)
{
    if (!src || !src->grow)
        return NULL;
    void *mem;
    size_t extra = sizeof(struct slab_set) + set_mag_entries() * sizeof(struct slab_mag_entry);
    src_lock(src);
    struct heap *pages = heap_pages_create_with(
        src, &(struct heap_pages_config){.flags = HEAP_PAGES_NOLOCK, .extra = extra}, &mem);
    if (pages && !set_geometry(mem, src_page(src))) {
        heap_pages_destroy(pages);
        pages = NULL;
    }
    src_unlock(src);
    if (!pages)
        return NULL;
    struct slab_set *set = mem;
    set_init(set, src, pages);
    return &set->heap;
}

/*
 * Give back everything the set holds for reuse (lock held): the magazines'
 * objects to their slabs, every empty slab (reserves included) and the
 * header slabs that frees, the runs its page heap keeps.  True if any of
 * that held something, so that an allocation that found no memory may try
 * once more.
 */
static bool set_drain_locked(struct slab_set *set)
{
    struct heap_stats before, after;
    heap_stats(set->pages, &before);
    size_t inactive = set->spans.inactive_bytes;
    bool cached = false;
    for (unsigned k = 0; k < set->nclasses; k++) {
        cached |= set->classes[k].mag_count != 0;
        mag_flush(&set->classes[k], set->classes[k].mag_count);
        cache_shrink_locked(&set->classes[k]);
    }
    cache_shrink_locked(&set->hdr); /* last: the classes just gave their headers back */
    span_pool_trim(&set->spans);    /* idle pages decommitted, empty spans given back */
    heap_stats(set->pages, &after);
    return cached || set->spans.inactive_bytes > inactive ||
           after.bytes_committed < before.bytes_committed || after.live_blocks < before.live_blocks;
}

void heap_slab_shrink(struct heap *h)
{
    if (!heap_is_slab(h))
        return;
    struct slab_set *set = to_set(h);
    src_lock(set->src);
    set_drain_locked(set);
    src_unlock(set->src);
}

void heap_slab_destroy(struct heap *h)
{
    struct slab_set *set = to_set(h);
    struct heap_source *src = set->src;
    src_lock(src);
    set->magic = 0;
    heap_pages_destroy(set->pages); /* the set lives in its page heap's pages: last use */
    src_unlock(src);
}

struct slab_mag_entry *slab_debug_magazine(struct heap *h, size_t size, uint32_t *count)
{
    int k = heap_is_slab(h) ? set_class(to_set(h), size, 0) : -1;
    if (k < 0)
        return NULL;
    *count = to_set(h)->classes[k].mag_count;
    return to_set(h)->classes[k].mag;
}

int heap_is_slab(const struct heap *h)
{
    return h && h->ops == &set_ops;
}

struct slab *slab_debug_slab_of(struct heap *h, const void *ptr)
{
    if (h->ops == &cache_ops) {
        struct slab_cache *c = to_cache(h);
        uintptr_t base = (uintptr_t)ptr & ~(uintptr_t)(c->slab_bytes - 1);
        return heap_pages_tag(c->pages, (void *)base);
    }
    if (h->ops != &set_ops)
        return NULL;
    return set_slab_at(to_set(h), ptr);
}

struct span_pool *slab_debug_spans(struct heap *h)
{
    return heap_is_slab(h) ? &to_set(h)->spans : NULL;
}

size_t slab_debug_loose_slabs(struct heap *h)
{
    return heap_is_slab(h) ? to_set(h)->loose_slabs : 0;
}
