/*
 * mm/heap_debug.c - the debug guard allocator (see heap_debug.h).
 *
 * How it works.  At creation the instance takes from its source, with grow,
 * a metadata area and then a WINDOW of address space, and deactivates the
 * whole window: every page of it faults.  A block of b body pages takes a
 * SPAN of b + 2 pages at the allocation cursor - a guard page, the body, a
 * guard page - and only the body is activated.  Spans never share a guard.
 * The block is placed inside the body against its right edge (default:
 * user = body_end - round_up(size, align)) or its left edge (HEAP_DEBUG_LEFT,
 * or any alignment above a page); the rest of the body is filled with
 * SIGNATURE bytes, checked at free.
 *
 * Freeing deactivates the body (frames go back at once, the range faults
 * from then on) and pushes the block's record on a ring of recently freed
 * blocks, so that a fault in that range or a second free can still name the
 * block.  The cursor only moves forward; when a span does not fit before the
 * window's end it wraps to the start, and ranges of live blocks are stepped
 * over.  So a freed range is reused only after a whole lap of the window.
 *
 * Metadata, all in the area grown first:
 *   owner[p]   per window page: 1 + index of the record whose span covers
 *              page p (live, or freed and still in the ring), 0 for none;
 *   records    one per block: address, size, span, state, call traces;
 *              unused ones chained on a free list;
 *   ring       indices of the last RING_SIZE freed records; when it is
 *              full the oldest is recycled and its pages forgotten (pages
 *              a newer span took over already point elsewhere).
 * Invariants: a live record's span pages all point at it; a record is on
 * exactly one of: the free list, live, the ring.
 *
 * Cost: alloc is O(span) to check and claim pages (plus the steps over live
 * spans), free O(slack) for the signature and O(span) for the owner map;
 * each block costs at least one frame and three pages of address space.
 *
 * Locking: each operation holds the source's lock around its whole body and
 * calls the source with it held.
 */
#include "mm/heap_debug.h"

#include <stdbool.h>
#include <string.h>

#include "mm/port.h"

#define DEFAULT_WINDOW ((size_t)16 << 20)
#define WINDOW_CHUNK ((size_t)1 << 20) /* window grown (and deactivated) this much at a time */
#define RING_SIZE 256u                 /* freed blocks remembered */
#define SIGNATURE 0xF5u                /* fills the slack around every block */
#define NO_RECORD 0xFFFFFFFFu

enum rec_state { REC_UNUSED = 0, REC_LIVE = 1, REC_FREED = 2 };

struct debug_record {
    uintptr_t user; /* first byte handed out */
    size_t size;    /* bytes requested (at least 1) */
    uint32_t span;  /* first window page of the span (its low guard) */
    uint32_t pages; /* body pages (the span is pages + 2) */
    uint32_t state; /* enum rec_state */
    uint32_t next;  /* free-list link while unused */
    uintptr_t alloc_trace[HEAP_DEBUG_TRACE];
    uintptr_t free_trace[HEAP_DEBUG_TRACE];
};

struct heap_debug {
    struct heap base; /* first: a struct heap * is this struct */
    struct heap_source *src;
    unsigned flags;
    size_t page;
    uintptr_t window;         /* first byte of the window */
    uint32_t window_pages;    /* pages in the window */
    uint32_t cursor;          /* next span starts at or after this page */
    uint32_t *owner;          /* window_pages entries */
    struct debug_record *rec; /* record_count entries */
    uint32_t record_count;
    uint32_t free_head; /* first unused record, NO_RECORD if none */
    uint32_t ring[RING_SIZE];
    uint32_t ring_first, ring_count;
    uint32_t laps; /* how many times the cursor wrapped */
    struct heap_stats st;
};

static struct heap_debug *to_debug(struct heap *h)
{
    return (struct heap_debug *)h;
}

/* ---------------------------------------------------------------- call sites */

/*
 * Return addresses above the allocator's entry point, innermost first: skip
 * this function's, the op's (alloc/free) and heap_alloc/heap_free's own
 * frames.  The walk stops at a frame pointer that does not move up the
 * stack by a plausible amount, so a chain without frame pointers ends the
 * trace instead of wandering.
 */
__attribute__((noinline)) static void trace_capture(uintptr_t *out)
{
    const unsigned skip = 2; /* the op's frame, then heap_alloc/heap_free's */
    const uintptr_t *fp = __builtin_frame_address(0);
    memset(out, 0, HEAP_DEBUG_TRACE * sizeof *out);
    for (unsigned i = 0; i < skip + HEAP_DEBUG_TRACE && fp; i++) {
        const uintptr_t *next = (const uintptr_t *)fp[0];
        if (i >= skip)
            out[i - skip] = fp[1];
        if (next <= fp || (uintptr_t)next - (uintptr_t)fp > 0x10000 ||
            ((uintptr_t)next & (sizeof(uintptr_t) - 1)))
            break;
        fp = next;
    }
}

/* ---------------------------------------------------------------- records and pages */

static uintptr_t page_addr(const struct heap_debug *d, uint32_t page)
{
    return d->window + (uintptr_t)page * d->page;
}

/* The record whose span covers addr, or NULL (outside the window, or nobody). */
static struct debug_record *record_at(const struct heap_debug *d, uintptr_t addr)
{
    if (addr < d->window || (addr - d->window) / d->page >= d->window_pages)
        return NULL;
    uint32_t o = d->owner[(addr - d->window) / d->page];
    return o ? &d->rec[o - 1] : NULL;
}

/* Point the span's pages at record index idx (+1), or at nobody (clear). */
static void span_claim(struct heap_debug *d, const struct debug_record *r, uint32_t value)
{
    for (uint32_t p = r->span; p < r->span + r->pages + 2; p++)
        d->owner[p] = value;
}

/* Forget a freed record: its pages no longer name it, it goes on the free list. */
static void record_recycle(struct heap_debug *d, uint32_t idx)
{
    struct debug_record *r = &d->rec[idx];
    for (uint32_t p = r->span; p < r->span + r->pages + 2; p++)
        if (d->owner[p] == idx + 1)
            d->owner[p] = 0;
    memset(r, 0, sizeof *r);
    r->next = d->free_head;
    d->free_head = idx;
}

/* Forget the oldest freed block in the ring (ring_count > 0). */
static void ring_drop_oldest(struct heap_debug *d)
{
    record_recycle(d, d->ring[d->ring_first]);
    d->ring_first = (d->ring_first + 1) % RING_SIZE;
    d->ring_count--;
}

/* An unused record, recycling the oldest freed one if need be; NO_RECORD if all are live. */
static uint32_t record_take(struct heap_debug *d)
{
    if (d->free_head == NO_RECORD && d->ring_count)
        ring_drop_oldest(d);
    uint32_t idx = d->free_head;
    if (idx != NO_RECORD)
        d->free_head = d->rec[idx].next;
    return idx;
}

/* Remember a freed record; the oldest is recycled when the ring is full. */
static void ring_push(struct heap_debug *d, uint32_t idx)
{
    if (d->ring_count == RING_SIZE)
        ring_drop_oldest(d);
    d->ring[(d->ring_first + d->ring_count++) % RING_SIZE] = idx;
}

/*
 * First page of a free span of `span` pages at or after the cursor (wrapping
 * once) whose body starts aligned to `align`; NO_RECORD when there is none.
 * Pages of freed blocks count as free; pages of live blocks do not.
 */
static uint32_t span_find(struct heap_debug *d, uint32_t span, size_t align)
{
    uint32_t s = d->cursor, wrapped = 0;
    for (;;) {
        /* the body (s + 1) must start aligned: only matters above a page */
        while (align > d->page && (page_addr(d, s + 1) & (align - 1)))
            s++;
        if ((uint64_t)s + span > d->window_pages) {
            if (wrapped++)
                return NO_RECORD;
            s = 0;
            d->laps++;
            continue;
        }
        uint32_t p = s;
        while (p < s + span && !(d->owner[p] && d->rec[d->owner[p] - 1].state == REC_LIVE))
            p++;
        if (p == s + span)
            return s;
        s = p + 1; /* step over the live block in the way */
        if (wrapped && s > d->cursor)
            return NO_RECORD; /* a whole lap without room */
    }
}

/* ---------------------------------------------------------------- signature */

/* Fill the body around the block with the signature. */
static void slack_fill(struct heap_debug *d, const struct debug_record *r)
{
    unsigned char *body = (unsigned char *)page_addr(d, r->span + 1);
    unsigned char *end = body + (size_t)r->pages * d->page;
    memset(body, SIGNATURE, r->user - (uintptr_t)body);
    memset((unsigned char *)r->user + r->size, SIGNATURE,
           (size_t)(end - (unsigned char *)r->user) - r->size);
}

/* Address of the first slack byte that lost its signature, or 0 (after the block first). */
static uintptr_t slack_damage(struct heap_debug *d, const struct debug_record *r)
{
    const unsigned char *body = (const unsigned char *)page_addr(d, r->span + 1);
    const unsigned char *end = body + (size_t)r->pages * d->page;
    for (const unsigned char *p = (const unsigned char *)r->user + r->size; p < end; p++)
        if (*p != SIGNATURE)
            return (uintptr_t)p;
    for (const unsigned char *p = (const unsigned char *)r->user; p-- > body;)
        if (*p != SIGNATURE)
            return (uintptr_t)p;
    return 0;
}

/* ---------------------------------------------------------------- operations */

/* Where the block goes in a body of `pages` pages starting at body. */
static uintptr_t block_place(const struct heap_debug *d, uintptr_t body, uint32_t pages,
                             size_t size, size_t align)
{
    if ((d->flags & HEAP_DEBUG_LEFT) || align > d->page)
        return body;
    return (body + (size_t)pages * d->page - size) & ~(uintptr_t)(align - 1);
}

static void *debug_alloc(struct heap *h, size_t size, size_t align)
{
    struct heap_debug *d = to_debug(h);
    uintptr_t trace[HEAP_DEBUG_TRACE];
    trace_capture(trace);
    /* right placement needs the aligned size inside the body */
    size_t need = (size + align - 1) & ~(align - 1);
    size_t pages = (need + d->page - 1) / d->page;
    void *result = NULL;

    heap_source_lock(d->src);
    if (pages + 2 > d->window_pages)
        goto out;
    uint32_t s = span_find(d, (uint32_t)pages + 2, align);
    if (s == NO_RECORD)
        goto out;
    uintptr_t body = page_addr(d, s + 1);
    if (d->src->activate(d->src, (void *)body, pages * d->page) != 0)
        goto out;
    uint32_t idx = record_take(d);
    if (idx == NO_RECORD) {
        d->src->deactivate(d->src, (void *)body, pages * d->page);
        goto out;
    }
    struct debug_record *r = &d->rec[idx];
    r->span = s;
    r->pages = (uint32_t)pages;
    r->size = size;
    r->user = block_place(d, body, r->pages, size, align);
    r->state = REC_LIVE;
    memcpy(r->alloc_trace, trace, sizeof trace);
    span_claim(d, r, idx + 1);
    slack_fill(d, r);
    d->cursor = s + r->pages + 2;
    d->st.bytes_in_use += size;
    if (d->st.bytes_in_use > d->st.bytes_peak)
        d->st.bytes_peak = d->st.bytes_in_use;
    d->st.bytes_committed += pages * d->page;
    d->st.live_blocks++;
    d->st.alloc_calls++;
    result = (void *)r->user;
out:
    if (!result)
        d->st.failed_calls++;
    heap_source_unlock(d->src);
    return result;
}

static size_t debug_size(struct heap *h, const void *ptr)
{
    struct heap_debug *d = to_debug(h);
    heap_source_lock(d->src);
    const struct debug_record *r = record_at(d, (uintptr_t)ptr);
    size_t size = r && r->state == REC_LIVE && r->user == (uintptr_t)ptr ? r->size : 0;
    heap_source_unlock(d->src);
    return size;
}

/* Report a free that is refused: the kind, the pointer, and the block it hit if any. */
static void report_bad_free(struct heap_debug *d, const char *kind, const void *ptr,
                            const struct debug_record *r, uintptr_t caller)
{
    d->st.reported_errors++;
    if (!r) {
        mm_report("heap_debug: invalid free (not from this heap) of %p at 0x%lx", ptr,
                  (unsigned long)caller);
        return;
    }
    if (r->state == REC_FREED)
        mm_report("heap_debug: %s of %p at 0x%lx: block 0x%lx (%lu bytes, allocated at 0x%lx, "
                  "freed at 0x%lx)",
                  kind, ptr, (unsigned long)caller, (unsigned long)r->user, (unsigned long)r->size,
                  (unsigned long)r->alloc_trace[0], (unsigned long)r->free_trace[0]);
    else
        mm_report("heap_debug: %s of %p at 0x%lx: block 0x%lx (%lu bytes, allocated at 0x%lx)",
                  kind, ptr, (unsigned long)caller, (unsigned long)r->user, (unsigned long)r->size,
                  (unsigned long)r->alloc_trace[0]);
}

static void debug_free(struct heap *h, void *ptr)
{
    struct heap_debug *d = to_debug(h);
    uintptr_t trace[HEAP_DEBUG_TRACE];
    trace_capture(trace);

    heap_source_lock(d->src);
    struct debug_record *r = record_at(d, (uintptr_t)ptr);
    if (!r) {
        report_bad_free(d, "", ptr, NULL, trace[0]);
    } else if (r->user != (uintptr_t)ptr) {
        report_bad_free(d, "invalid free (interior pointer)", ptr, r, trace[0]);
    } else if (r->state == REC_FREED) {
        report_bad_free(d, "double free", ptr, r, trace[0]);
    } else {
        uintptr_t bad = slack_damage(d, r);
        if (bad) {
            d->st.reported_errors++;
            /* the block is freed all the same: its owner is done with it */
            /* the port's formatter may lack the '+' flag: the sign is spelt out */
            mm_report("heap_debug: signature corrupted (overrun into slack) at 0x%lx = block "
                      "0x%lx%s%lu (%lu bytes, allocated at 0x%lx), found at free",
                      (unsigned long)bad, (unsigned long)r->user, bad >= r->user ? "+" : "-",
                      (unsigned long)(bad >= r->user ? bad - r->user : r->user - bad),
                      (unsigned long)r->size, (unsigned long)r->alloc_trace[0]);
        }
        d->src->deactivate(d->src, (void *)page_addr(d, r->span + 1), (size_t)r->pages * d->page);
        r->state = REC_FREED;
        memcpy(r->free_trace, trace, sizeof trace);
        ring_push(d, (uint32_t)(r - d->rec));
        d->st.bytes_in_use -= r->size;
        d->st.bytes_committed -= (size_t)r->pages * d->page;
        d->st.live_blocks--;
        d->st.free_calls++;
    }
    heap_source_unlock(d->src);
}

/*
 * Resize in place only to the same size: any other size must move, so that
 * the block's end stays against its guard (mm_realloc then copies).
 */
static int debug_resize(struct heap *h, void *ptr, size_t size)
{
    size_t old = debug_size(h, ptr);
    if (old == 0) {
        mm_report("heap_debug: invalid resize of %p (not a live block)", ptr);
        return -1;
    }
    return old == size ? 0 : -1;
}

/* Every live record: its pages, placement and signature; freed ones: their pages. */
static int debug_check(struct heap *h)
{
    struct heap_debug *d = to_debug(h);
    int bad = 0;
    heap_source_lock(d->src);
    for (uint32_t i = 0; i < d->record_count; i++) {
        const struct debug_record *r = &d->rec[i];
        if (r->state != REC_LIVE)
            continue;
        uintptr_t body = page_addr(d, r->span + 1);
        int ok = r->user >= body && r->user + r->size <= body + (size_t)r->pages * d->page;
        for (uint32_t p = r->span; ok && p < r->span + r->pages + 2; p++)
            ok = d->owner[p] == i + 1;
        if (!ok) {
            mm_report("heap_debug check: record %u (block 0x%lx) disagrees with its pages", i,
                      (unsigned long)r->user);
            bad++;
        } else if (slack_damage(d, r)) {
            mm_report("heap_debug check: signature corrupted (overrun into slack) around block "
                      "0x%lx (%lu bytes)",
                      (unsigned long)r->user, (unsigned long)r->size);
            bad++;
        }
    }
    heap_source_unlock(d->src);
    return bad;
}

static void debug_stats(struct heap *h, struct heap_stats *st)
{
    struct heap_debug *d = to_debug(h);
    heap_source_lock(d->src);
    *st = d->st;
    st->bytes_held = (size_t)d->window_pages * d->page;
    heap_source_unlock(d->src);
}

static const struct heap_ops debug_ops = {
    .name = "debug",
    .alloc = debug_alloc,
    .size = debug_size,
    .free = debug_free,
    .check = debug_check,
    .stats = debug_stats,
    .resize = debug_resize,
};

/* ---------------------------------------------------------------- explanation */

int heap_debug_owns_address(struct heap *h, uintptr_t addr)
{
    struct heap_debug *d = to_debug(h);
    return addr >= d->window && (addr - d->window) / d->page < d->window_pages;
}

int heap_debug_lookup(struct heap *h, uintptr_t addr, struct heap_debug_block *out)
{
    const struct debug_record *r = record_at(to_debug(h), addr);
    if (!r)
        return 0;
    out->address = r->user;
    out->size = r->size;
    out->live = r->state == REC_LIVE;
    memcpy(out->alloc_trace, r->alloc_trace, sizeof out->alloc_trace);
    memcpy(out->free_trace, r->free_trace, sizeof out->free_trace);
    return 1;
}

static const char *access_name(unsigned access)
{
    return access == HEAP_DEBUG_ACCESS_WRITE  ? "write"
           : access == HEAP_DEBUG_ACCESS_READ ? "read"
                                              : "access";
}

/*
 * A bounded text builder for the explanation, so that mm/ needs no printf
 * of its host: appends are cut at the buffer's end, always NUL-terminated.
 */
struct text {
    char *buf;
    size_t cap, len;
};

static void text_str(struct text *t, const char *s)
{
    for (; *s; s++) {
        if (t->len + 1 < t->cap)
            t->buf[t->len] = *s;
        t->len++;
    }
    if (t->cap)
        t->buf[t->len < t->cap ? t->len : t->cap - 1] = '\0';
}

/* v in decimal (base 10) or as 0x-prefixed hex (base 16). */
static void text_num(struct text *t, uintptr_t v, unsigned base)
{
    char digits[2 + 2 * sizeof v + 1], *p = digits + sizeof digits;
    *--p = '\0';
    do {
        *--p = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (base == 16) {
        *--p = 'x';
        *--p = '0';
    }
    text_str(t, p);
}

/* "<n> byte(s)" */
static void text_bytes(struct text *t, uintptr_t n)
{
    text_num(t, n, 10);
    text_str(t, n == 1 ? " byte" : " bytes");
}

int heap_debug_explain_access(struct heap *h, uintptr_t addr, unsigned access, char *buf, size_t n)
{
    const struct debug_record *r = record_at(to_debug(h), addr);
    if (!r)
        return 0;
    struct text t = {buf, n, 0};
    if (r->state != REC_LIVE)
        text_str(&t, "use-after-free ");
    if (addr >= r->user + r->size || addr < r->user) {
        bool past = addr >= r->user;
        text_str(&t, "out-of-bounds ");
        text_str(&t, access_name(access));
        text_str(&t, " ");
        text_bytes(&t, past ? addr - r->user - r->size + 1 : r->user - addr);
        text_str(&t, past ? " past " : " before ");
    } else {
        text_str(&t, access_name(access));
        text_str(&t, " at offset ");
        text_num(&t, addr - r->user, 10);
        text_str(&t, " of ");
    }
    text_str(&t, r->state == REC_LIVE ? "block " : "freed block ");
    text_num(&t, r->user, 16);
    text_str(&t, " (");
    text_bytes(&t, r->size);
    text_str(&t, ", allocated at ");
    text_num(&t, r->alloc_trace[0], 16);
    if (r->state != REC_LIVE) {
        text_str(&t, ", freed at ");
        text_num(&t, r->free_trace[0], 16);
    }
    text_str(&t, ")");
    return 1;
}

int heap_debug_explain(struct heap *h, uintptr_t addr, char *buf, size_t n)
{
    return heap_debug_explain_access(h, addr, HEAP_DEBUG_ACCESS_UNKNOWN, buf, n);
}

/* ---------------------------------------------------------------- life cycle */

/*
 * Grow the window in chunks, deactivating each (it costs address space, not
 * frames); stop at the first chunk the source refuses or places elsewhere.
 * Returns the pages obtained.
 */
static uint32_t window_take(struct heap_debug *d, size_t bytes)
{
    size_t got = 0;
    while (got < bytes) {
        size_t chunk = bytes - got < WINDOW_CHUNK ? bytes - got : WINDOW_CHUNK;
        void *p = d->src->grow(d->src, chunk);
        if (!p)
            break;
        d->src->deactivate(d->src, p, chunk);
        if (got == 0)
            d->window = (uintptr_t)p;
        else if ((uintptr_t)p != d->window + got)
            break; /* not adjacent: the window ends here (the chunk stays with the source) */
        got += chunk;
    }
    return (uint32_t)(got / d->page);
}

struct heap *heap_debug_create(struct heap_source *src)
{
    return heap_debug_create_with(src, NULL);
}

struct heap *heap_debug_create_with(struct heap_source *src, const struct heap_debug_config *cfg)
{
    size_t window_bytes = cfg ? cfg->window_bytes : 0;
    unsigned flags = cfg ? cfg->flags : 0;
    size_t page = heap_source_page_size(src);
    if (!src->grow || !src->activate || !src->deactivate || (flags & ~HEAP_DEBUG_LEFT))
        return NULL;
    if (!window_bytes)
        window_bytes = DEFAULT_WINDOW;
    window_bytes &= ~(page - 1);
    size_t pages = window_bytes / page;
    if (pages < 3 || pages > 0x40000000u)
        return NULL;
    /* a live block needs three pages; RING_SIZE more records keep freed ones */
    size_t records = pages / 3 + RING_SIZE;
    size_t meta = sizeof(struct heap_debug) + pages * sizeof(uint32_t) +
                  records * sizeof(struct debug_record);
    meta = (meta + page - 1) & ~(page - 1);

    heap_source_lock(src);
    struct heap_debug *d = src->grow(src, meta);
    if (d) {
        memset(d, 0, sizeof *d);
        d->base.ops = &debug_ops;
        d->src = src;
        d->flags = flags;
        d->page = page;
        /* records first: they need word alignment, the owner map only 4 bytes */
        d->rec = (struct debug_record *)(d + 1);
        d->owner = (uint32_t *)(d->rec + records);
        d->record_count = (uint32_t)records;
        d->window_pages = window_take(d, window_bytes);
        /* fresh memory is zero: owner[] and the records are clear; chain the records */
        d->free_head = NO_RECORD;
        for (uint32_t i = d->record_count; i-- > 0;) {
            d->rec[i].next = d->free_head;
            d->free_head = i;
        }
        d->st.bytes_held = meta;
    }
    heap_source_unlock(src);
    if (d && d->window_pages < 3)
        return NULL; /* what was taken stays with the source */
    return d ? &d->base : NULL;
}

void heap_debug_destroy(struct heap *h)
{
    struct heap_debug *d = to_debug(h);
    heap_source_lock(d->src);
    for (uint32_t i = 0; i < d->record_count; i++) {
        struct debug_record *r = &d->rec[i];
        if (r->state == REC_LIVE)
            d->src->deactivate(d->src, (void *)page_addr(d, r->span + 1),
                               (size_t)r->pages * d->page);
    }
    d->base.ops = NULL;
    heap_source_unlock(d->src);
}
