/*
 * tests/host/heap_shadow.c - the shadow model (see heap_shadow.h).
 *
 * How it works: live blocks are kept in a dense table (so a random one can
 * be picked in O(1) and removed by swapping with the last) and in a treap
 * keyed by address (so the blocks just below and just above a new one are
 * found in O(log n), which is all the overlap check needs: if the new range
 * overlaps anything, it overlaps one of those two).  Treap nodes live in a
 * pool indexed from 1; index 0 is the empty tree.
 *
 * Tags: block contents are a function of (tag, offset), written as 64-bit
 * words, so any byte the heap (or another block) overwrote is found at the
 * next verification.  Blocks up to FULL_TAG_LIMIT bytes are filled
 * completely; larger ones at both ends and one word every SAMPLE_STRIDE
 * bytes, which keeps millions of operations affordable under ASan while
 * still touching every page of a block (a decommitted page inside a live
 * block reads back as zero and is caught).
 */
#include "heap_shadow.h"

#include "mm/host/port_linux.h"
#include "mm/malloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FULL_TAG_LIMIT 1024u /* blocks up to this size are tagged completely */
#define EDGE_BYTES 512u      /* larger blocks: this much at each end ... */
#define SAMPLE_STRIDE 256u   /* ... and one word at every multiple of this */
#define GOLDEN 0x9E3779B97F4A7C15ull

struct shadow_block {
    uintptr_t addr;
    size_t req;    /* bytes asked for */
    size_t usable; /* heap_size() when it was allocated */
    size_t align;  /* alignment asked for (0 = default) */
    uint64_t tag;
    uint32_t node; /* its treap node */
};

struct treap_node {
    uintptr_t key;
    uint32_t left, right;
    uint32_t prio;
    uint32_t rec; /* index into blocks[] */
};

struct heap_shadow {
    struct heap *h;
    size_t cap, live;
    struct shadow_block *blocks;
    struct treap_node *nodes; /* cap + 1 entries; 0 is nil */
    uint32_t root, free_nodes;
    uint64_t rng;
    size_t live_usable; /* sum of usable sizes of live blocks */
    size_t start_held, start_committed;
    int has_stats;
    unsigned long errors;
    char message[256];
};

static char shadow_global_probe[64]; /* a global address no heap owns */

/* ---------------------------------------------------------------- errors */

__attribute__((format(printf, 2, 3))) static void shadow_fail(struct heap_shadow *s,
                                                              const char *fmt, ...)
{
    if (s->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->message, sizeof s->message, fmt, ap);
        va_end(ap);
    }
}

static uint64_t shadow_rand(struct heap_shadow *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545F4914F6CDD1Dull;
}

/* ---------------------------------------------------------------- treap */

static void treap_split(struct heap_shadow *s, uint32_t t, uintptr_t key, uint32_t *l, uint32_t *r)
{
    if (!t) {
        *l = *r = 0;
    } else if (s->nodes[t].key < key) {
        treap_split(s, s->nodes[t].right, key, &s->nodes[t].right, r);
        *l = t;
    } else {
        treap_split(s, s->nodes[t].left, key, l, &s->nodes[t].left);
        *r = t;
    }
}

static uint32_t treap_merge(struct heap_shadow *s, uint32_t l, uint32_t r)
{
    if (!l || !r)
        return l ? l : r;
    if (s->nodes[l].prio > s->nodes[r].prio) {
        s->nodes[l].right = treap_merge(s, s->nodes[l].right, r);
        return l;
    }
    s->nodes[r].left = treap_merge(s, l, s->nodes[r].left);
    return r;
}

static uint32_t treap_insert(struct heap_shadow *s, uintptr_t key, uint32_t rec)
{
    uint32_t n = s->free_nodes, l, r;
    s->free_nodes = s->nodes[n].left;
    s->nodes[n] = (struct treap_node){key, 0, 0, (uint32_t)shadow_rand(s), rec};
    treap_split(s, s->root, key, &l, &r);
    s->root = treap_merge(s, treap_merge(s, l, n), r);
    return n;
}

static void treap_erase(struct heap_shadow *s, uintptr_t key)
{
    uint32_t l, mid, r;
    treap_split(s, s->root, key, &l, &r);
    treap_split(s, r, key + 1, &mid, &r);
    if (mid) { /* exactly one node has this key */
        s->nodes[mid].left = s->free_nodes;
        s->free_nodes = mid;
    }
    s->root = treap_merge(s, l, r);
}

/* Node with the largest key < key (below) or the smallest key > key (!below); 0 if none. */
static uint32_t treap_neighbour(const struct heap_shadow *s, uintptr_t key, int below)
{
    uint32_t t = s->root, best = 0;
    while (t) {
        if (below ? s->nodes[t].key < key : s->nodes[t].key > key) {
            best = t;
            t = below ? s->nodes[t].right : s->nodes[t].left;
        } else {
            t = below ? s->nodes[t].left : s->nodes[t].right;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- tags */

static uint8_t tag_byte(uint64_t tag, size_t off)
{
    uint64_t w = tag ^ ((uint64_t)(off & ~(size_t)7) * GOLDEN);
    return (uint8_t)(w >> (8 * (off & 7)));
}

/* Write (zero=0) or verify (returns the first bad offset, or SIZE_MAX) [a, b) of the pattern. */
static size_t tag_range(unsigned char *p, uint64_t tag, size_t a, size_t b, int write)
{
    size_t off = a;
    while (off < b) {
        if ((off & 7) == 0 && off + 8 <= b) {
            uint64_t w = tag ^ ((uint64_t)off * GOLDEN), got;
            if (write) {
                memcpy(p + off, &w, 8);
            } else {
                memcpy(&got, p + off, 8);
                if (got != w)
                    break;
            }
            off += 8;
        } else {
            if (write)
                p[off] = tag_byte(tag, off);
            else if (p[off] != tag_byte(tag, off))
                break;
            off++;
        }
    }
    if (off >= b)
        return SIZE_MAX;
    while (p[off] == tag_byte(tag, off)) /* word mismatch: find the byte */
        off++;
    return off;
}

/*
 * Apply tag_range (write or verify) to the tagged regions of an n-byte block,
 * clipped to [0, limit).  Returns the first bad offset or SIZE_MAX.
 */
static size_t tag_block(unsigned char *p, uint64_t tag, size_t n, size_t limit, int write)
{
    size_t bad = SIZE_MAX, end = n < limit ? n : limit;
    if (n <= FULL_TAG_LIMIT)
        return tag_range(p, tag, 0, end, write);
    bad = tag_range(p, tag, 0, EDGE_BYTES < end ? EDGE_BYTES : end, write);
    for (size_t off = EDGE_BYTES; bad == SIZE_MAX && off + 8 <= n - EDGE_BYTES;
         off += SAMPLE_STRIDE)
        if (off + 8 <= end)
            bad = tag_range(p, tag, off, off + 8, write);
    if (bad == SIZE_MAX && n - EDGE_BYTES < end)
        bad = tag_range(p, tag, n - EDGE_BYTES, end, write);
    return bad;
}

/* The last usable byte belongs to the caller too: it gets a mark of its own. */
static uint8_t usable_mark(const struct shadow_block *b)
{
    return (uint8_t)(b->tag >> 56) ^ 0x5A;
}

static void block_tag(struct shadow_block *b)
{
    unsigned char *p = (unsigned char *)b->addr;
    tag_block(p, b->tag, b->req, SIZE_MAX, 1);
    if (b->usable > b->req)
        p[b->usable - 1] = usable_mark(b);
}

/* Verify the block's contents; `what` names the moment for the message. */
static int block_verify(struct heap_shadow *s, const struct shadow_block *b, const char *what)
{
    unsigned char *p = (unsigned char *)b->addr;
    size_t bad = tag_block(p, b->tag, b->req, SIZE_MAX, 0);
    if (bad != SIZE_MAX) {
        shadow_fail(s, "%s: block %p (size %zu) corrupted at offset %zu", what, (void *)p, b->req,
                    bad);
        return 0;
    }
    if (b->usable > b->req && p[b->usable - 1] != usable_mark(b)) {
        shadow_fail(s, "%s: block %p last usable byte (%zu) corrupted", what, (void *)p,
                    b->usable - 1);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- model */

static size_t effective_align(size_t align)
{
    return align > HEAP_DEFAULT_ALIGN ? align : HEAP_DEFAULT_ALIGN;
}

/* Check a fresh block against the contract and the other live blocks; 1 if good. */
static int block_admissible(struct heap_shadow *s, void *p, size_t req, size_t align,
                            size_t *usable)
{
    uintptr_t a = (uintptr_t)p;
    *usable = heap_size(s->h, p);
    if (a % effective_align(align)) {
        shadow_fail(s, "alloc(%zu, align %zu) = %p: misaligned", req, align, p);
        return 0;
    }
    if (*usable < req || *usable == 0) {
        shadow_fail(s, "alloc(%zu) = %p: heap_size %zu too small", req, p, *usable);
        return 0;
    }
    uint32_t below = treap_neighbour(s, a + 1, 1), above = treap_neighbour(s, a, 0);
    if (below) {
        const struct shadow_block *o = &s->blocks[s->nodes[below].rec];
        if (o->addr + o->usable > a) {
            shadow_fail(s, "alloc(%zu) = %p overlaps live block %p+%zu", req, p, (void *)o->addr,
                        o->usable);
            return 0;
        }
    }
    if (above && a + *usable > s->nodes[above].key) {
        shadow_fail(s, "alloc(%zu) = %p+%zu overlaps live block %p", req, p, *usable,
                    (void *)s->nodes[above].key);
        return 0;
    }
    return 1;
}

static void model_add(struct heap_shadow *s, void *p, size_t req, size_t usable, size_t align)
{
    struct shadow_block *b = &s->blocks[s->live];
    *b = (struct shadow_block){(uintptr_t)p, req, usable, align, shadow_rand(s), 0};
    b->node = treap_insert(s, b->addr, (uint32_t)s->live);
    s->live++;
    s->live_usable += usable;
}

static void model_remove(struct heap_shadow *s, size_t i)
{
    treap_erase(s, s->blocks[i].addr);
    s->live_usable -= s->blocks[i].usable;
    s->live--;
    if (i != s->live) {
        s->blocks[i] = s->blocks[s->live];
        s->nodes[s->blocks[i].node].rec = (uint32_t)i;
    }
}

static int shadow_print_reports = 1; /* what the caller wants outside provoked reports */

void heap_shadow_print_reports(int on)
{
    shadow_print_reports = on;
    mm_host_print_reports(on);
}

/* Number of mm_report() calls made while running op on (s, p); those are never printed. */
static size_t reports_during(void (*op)(struct heap *, void *), struct heap *h, void *p)
{
    size_t before = mm_host_report_count();
    mm_host_print_reports(0);
    op(h, p);
    mm_host_print_reports(shadow_print_reports);
    return mm_host_report_count() - before;
}

/* ---------------------------------------------------------------- step API */

struct heap_shadow *heap_shadow_open(struct heap *h, size_t max_live)
{
    struct heap_shadow *s = calloc(1, sizeof *s);
    if (!s || max_live == 0 || max_live >= UINT32_MAX)
        goto fail;
    s->h = h;
    s->cap = max_live;
    s->blocks = calloc(max_live, sizeof *s->blocks);
    s->nodes = calloc(max_live + 1, sizeof *s->nodes);
    if (!s->blocks || !s->nodes)
        goto fail;
    for (uint32_t i = 1; i <= max_live; i++) /* node free list through .left */
        s->nodes[i].left = i < max_live ? i + 1 : 0;
    s->free_nodes = 1;
    s->rng = 0x853C49E6748FEA9Bull; /* fixed, never an address: runs must repeat exactly */
    struct heap_stats st;
    heap_stats(h, &st);
    s->has_stats = h->ops->stats != NULL;
    s->start_held = st.bytes_held;
    s->start_committed = st.bytes_committed;
    return s;
fail:
    if (s) {
        free(s->blocks);
        free(s->nodes);
        free(s);
    }
    return NULL;
}

int heap_shadow_alloc(struct heap_shadow *s, size_t size, size_t align, int zeroed)
{
    if (s->live == s->cap)
        return 0;
    void *p = zeroed ? mm_calloc(s->h, 1, size) : heap_alloc(s->h, size, align);
    if (zeroed)
        align = 0;
    if (!p)
        return 0;
    size_t usable;
    if (!block_admissible(s, p, size, align, &usable))
        return 0; /* leave it allocated: freeing a bad block could only add confusion */
    if (zeroed) {
        unsigned char *c = p;
        for (size_t i = 0; i < size; i += (i < FULL_TAG_LIMIT ? 1 : SAMPLE_STRIDE))
            if (c[i]) {
                shadow_fail(s, "calloc(%zu) = %p: byte %zu is not zero", size, p, i);
                break;
            }
    }
    model_add(s, p, size, usable, align);
    block_tag(&s->blocks[s->live - 1]);
    return 1;
}

static void raw_free(struct heap *h, void *p)
{
    heap_free(h, p);
}

void heap_shadow_free(struct heap_shadow *s, size_t which, int double_free)
{
    if (!s->live)
        return;
    size_t i = which % s->live;
    struct shadow_block b = s->blocks[i];
    block_verify(s, &b, "free");
    if (heap_size(s->h, (void *)b.addr) != b.usable)
        shadow_fail(s, "heap_size(%p) changed from %zu to %zu while live", (void *)b.addr, b.usable,
                    heap_size(s->h, (void *)b.addr));
    model_remove(s, i);
    heap_free(s->h, (void *)b.addr);
    if (double_free && reports_during(raw_free, s->h, (void *)b.addr) != 1)
        shadow_fail(s, "double free of %p was not reported exactly once", (void *)b.addr);
}

void heap_shadow_realloc(struct heap_shadow *s, size_t which, size_t size)
{
    if (!s->live)
        return;
    size_t i = which % s->live;
    struct shadow_block b = s->blocks[i];
    if (!block_verify(s, &b, "realloc"))
        return;
    model_remove(s, i);
    void *p = mm_realloc(s->h, (void *)b.addr, size);
    if (!p) { /* failure: the old block must be untouched and still ours */
        if (heap_size(s->h, (void *)b.addr) != b.usable)
            shadow_fail(s, "failed realloc(%p, %zu) changed the block", (void *)b.addr, size);
        model_add(s, (void *)b.addr, b.req, b.usable, b.align);
        s->blocks[s->live - 1].tag = b.tag;
        block_verify(s, &s->blocks[s->live - 1], "failed realloc");
        return;
    }
    size_t usable, keep = b.req < size ? b.req : size;
    size_t bad = tag_block(p, b.tag, b.req, keep, 0);
    if (bad != SIZE_MAX)
        shadow_fail(s, "realloc(%p, %zu) = %p lost byte %zu of the prefix", (void *)b.addr, size, p,
                    bad);
    if (!block_admissible(s, p, size, 0, &usable))
        return;
    model_add(s, p, size, usable, 0);
    block_tag(&s->blocks[s->live - 1]);
}

/* One probe of a pointer the heap must not accept; `freeing` also tries heap_free on it. */
static void probe_pointer(struct heap_shadow *s, void *bad, int freeing, const char *what,
                          const struct shadow_block *victim)
{
    if (heap_size(s->h, bad) != 0)
        shadow_fail(s, "heap_size(%s %p) = %zu, want 0", what, bad, heap_size(s->h, bad));
    if (freeing && reports_during(raw_free, s->h, bad) != 1)
        shadow_fail(s, "heap_free(%s %p) was not reported exactly once", what, bad);
    if (victim && heap_size(s->h, (void *)victim->addr) != victim->usable)
        shadow_fail(s, "probing %s %p changed block %p", what, bad, (void *)victim->addr);
    if (victim)
        block_verify(s, victim, "probe");
}

void heap_shadow_probe(struct heap_shadow *s, size_t which, unsigned kind)
{
    char on_stack[32];
    int freeing = (kind / 4) % 2;
    const struct shadow_block *b = s->live ? &s->blocks[which % s->live] : NULL;
    switch (kind % 4) {
    case 0: /* one byte in: never a block start, whatever the allocator */
        if (b)
            probe_pointer(s, (char *)b->addr + 1, freeing, "misaligned", b);
        break;
    case 1: /* an aligned pointer strictly inside the block */
        if (b && b->usable > 2 * HEAP_DEFAULT_ALIGN)
            probe_pointer(s, (char *)b->addr + HEAP_DEFAULT_ALIGN, freeing, "interior", b);
        break;
    case 2:
        probe_pointer(s, on_stack + 16, freeing, "stack", b);
        break;
    default:
        probe_pointer(s, shadow_global_probe + 16, freeing, "global", b);
        break;
    }
}

void heap_shadow_checkpoint(struct heap_shadow *s)
{
    int violations = heap_check(s->h);
    if (violations)
        shadow_fail(s, "heap_check found %d violation(s) with %zu blocks live", violations,
                    s->live);
    for (size_t i = 0; i < s->live; i++)
        if (!block_verify(s, &s->blocks[i], "checkpoint"))
            break;
    if (!s->has_stats)
        return;
    struct heap_stats st;
    heap_stats(s->h, &st);
    if (st.bytes_in_use != s->live_usable)
        shadow_fail(s, "stats: bytes_in_use %zu, model %zu", st.bytes_in_use, s->live_usable);
    if (st.live_blocks != s->live)
        shadow_fail(s, "stats: live_blocks %zu, model %zu", st.live_blocks, s->live);
    if (st.bytes_committed > st.bytes_held)
        shadow_fail(s, "stats: committed %zu > held %zu", st.bytes_committed, st.bytes_held);
}

size_t heap_shadow_live(const struct heap_shadow *s)
{
    return s->live;
}

unsigned long heap_shadow_errors(const struct heap_shadow *s)
{
    return s->errors;
}

const char *heap_shadow_message(const struct heap_shadow *s)
{
    return s->message;
}

unsigned long heap_shadow_close(struct heap_shadow *s, size_t footprint_slack, char *msg,
                                size_t msg_size)
{
    int violations = heap_check(s->h); /* tags: each free below verifies its own */
    if (violations)
        shadow_fail(s, "heap_check found %d violation(s) at close", violations);
    while (s->live)
        heap_shadow_free(s, s->live - 1, 0);
    heap_shadow_checkpoint(s);
    if (s->has_stats) {
        struct heap_stats st;
        heap_stats(s->h, &st);
        if (st.bytes_held > s->start_held + footprint_slack)
            shadow_fail(s, "footprint: %zu bytes held after freeing everything, %zu at start",
                        st.bytes_held, s->start_held);
        if (st.bytes_committed > s->start_committed + footprint_slack)
            shadow_fail(s, "footprint: %zu bytes committed after freeing everything, %zu at start",
                        st.bytes_committed, s->start_committed);
    }
    unsigned long errors = s->errors;
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", s->message);
    free(s->blocks);
    free(s->nodes);
    free(s);
    return errors;
}

/* ---------------------------------------------------------------- stress */

void heap_shadow_config_default(struct heap_shadow_config *cfg)
{
    *cfg = (struct heap_shadow_config){
        .ops = 200000,
        .max_live = 4000,
        .min_size = 0,
        .max_size = 4096,
        .log_sizes = 1,
        .max_align = 0,
        .align_pct = 25,
        .realloc_pct = 10,
        .calloc_pct = 5,
        .probe_pct = 2,
        .double_free_pct = 1,
        .check_every = 0,
        .footprint_slack = 0,
        .allow_failures = 0,
        .seed = 0x2545F4914F6CDD1Dull,
    };
}

unsigned long heap_shadow_env_ops(unsigned long dflt)
{
    const char *e = getenv("HEAP_STRESS_OPS");
    unsigned long v = e ? strtoul(e, NULL, 0) : 0;
    return v ? v : dflt;
}

static size_t log2_floor(size_t x)
{
    size_t r = 0;
    while (x >>= 1)
        r++;
    return r;
}

/* A request size from the configured distribution. */
static size_t draw_size(struct heap_shadow *s, const struct heap_shadow_config *cfg)
{
    size_t lo = cfg->min_size, hi = cfg->max_size < lo ? lo : cfg->max_size;
    if (!cfg->log_sizes || hi - lo < 2)
        return lo + (size_t)(shadow_rand(s) % (hi - lo + 1));
    /* pick a power-of-two band first, then a size inside it */
    size_t top = log2_floor(hi), bot = log2_floor(lo ? lo : 1);
    size_t band = bot + (size_t)(shadow_rand(s) % (top - bot + 1));
    size_t base = (size_t)1 << band, n = base + (size_t)(shadow_rand(s) % base);
    return n < lo ? lo : n > hi ? hi : n;
}

static size_t draw_align(struct heap_shadow *s, const struct heap_shadow_config *cfg)
{
    if (!cfg->max_align || shadow_rand(s) % 100 >= cfg->align_pct)
        return 0;
    return (size_t)1 << (shadow_rand(s) % (log2_floor(cfg->max_align) + 1));
}

/* One randomized operation; fill phases allocate more than they free, drain phases less. */
static void stress_step(struct heap_shadow *s, const struct heap_shadow_config *cfg, int filling,
                        struct heap_shadow_result *out)
{
    unsigned r = (unsigned)(shadow_rand(s) % 100);
    if (r < cfg->probe_pct) {
        heap_shadow_probe(s, (size_t)shadow_rand(s), (unsigned)shadow_rand(s));
        out->probes++;
    } else if (r < cfg->probe_pct + cfg->realloc_pct && s->live) {
        heap_shadow_realloc(s, (size_t)shadow_rand(s), draw_size(s, cfg));
        out->reallocs++;
    } else if (s->live == 0 ||
               (s->live < cfg->max_live && shadow_rand(s) % 100 < (filling ? 70u : 30u))) {
        size_t size = draw_size(s, cfg), align = draw_align(s, cfg);
        int zeroed = shadow_rand(s) % 100 < cfg->calloc_pct;
        if (heap_shadow_alloc(s, size, align, zeroed)) {
            out->allocs++;
        } else {
            out->failed_allocs++;
            if (!cfg->allow_failures && s->live < s->cap)
                shadow_fail(s, "alloc(%zu, align %zu) failed with %zu blocks live", size, align,
                            s->live);
        }
    } else {
        heap_shadow_free(s, (size_t)shadow_rand(s), shadow_rand(s) % 100 < cfg->double_free_pct);
        out->frees++;
    }
}

unsigned long heap_shadow_stress(struct heap *h, const struct heap_shadow_config *cfg,
                                 struct heap_shadow_result *out)
{
    memset(out, 0, sizeof *out);
    struct heap_shadow *s = heap_shadow_open(h, cfg->max_live ? cfg->max_live : 1);
    if (!s) {
        out->errors = 1;
        snprintf(out->message, sizeof out->message, "heap_shadow_open: out of memory");
        return 1;
    }
    s->rng ^= cfg->seed;
    if (!s->rng) /* xorshift never leaves 0 */
        s->rng = 1;
    unsigned long phase = 3 * (unsigned long)cfg->max_live + 1;
    size_t live_bytes_peak = 0;
    for (unsigned long i = 0; i < cfg->ops; i++) {
        stress_step(s, cfg, (i / phase) % 2 == 0, out);
        if (i == cfg->ops / 2 || (cfg->check_every && i % cfg->check_every == 0))
            heap_shadow_checkpoint(s);
        if (s->live > out->peak_live)
            out->peak_live = s->live;
        if (s->live_usable > live_bytes_peak)
            live_bytes_peak = s->live_usable;
    }
    out->peak_bytes = live_bytes_peak;
    out->errors = heap_shadow_close(s, cfg->footprint_slack, out->message, sizeof out->message);
    return out->errors;
}
