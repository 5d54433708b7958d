/*
 * mm/vmm_pt.c - page tables: reaching them, walking them, changing entries,
 * and the TLB invalidation that goes with it.
 *
 * How it works.
 *
 * The paging format is the port's description (mm/pte.h: levels, entry
 * width, index bits, NX); nothing here is specific to one of them.  Tables
 * are reached through the port's temporary windows: mm_kmap(f) maps any
 * frame the kernel can reach and returns a pointer, so the tables of a
 * space that is not loaded, and tables in high memory, are handled exactly
 * like the current ones (docs/vmm.md explains why not a recursive mapping).
 * At most two windows are held at once (a table and the frame being zeroed,
 * or a parent table and a new child), always released in reverse order; a
 * walk down the levels holds one at a time.
 *
 * The kernel half (top-level entries VMM_KTOP0 and up) gets the table below
 * each top-level entry once, from vmm_pt_build_kernel_half at vmm_init; the
 * entries are copied into every space and their tables kept in
 * vmm_g.kernel_next, so a kernel-half walk never reads a top-level table.
 * On i386 those are all the kernel's page tables; with more levels the
 * tables below are created on first use and kept.  User tables at every
 * level are created on demand; a leaf table that becomes empty is freed,
 * and so is every table above it that becomes empty (never the top).
 *
 * A page's state lives in its entry (mm/pte.h): a lazy marker for a
 * committed-not-backed page carries the very bits the page will get, so the
 * fault path is: read the entry, allocate a frame, zero it, write the entry.
 * A missing user page table (commits under OVERCOMMIT create none) sends the
 * fault to the region tree, O(log n); a new leaf table is filled from the
 * tree (fill_table), which keeps the rule "where a page table exists, its
 * entries are authoritative".
 *
 * Every range operation is a walk: walk_range() visits each leaf chunk's
 * table once (PT_SPAN: 4 MiB on i386, 2 MiB on x86-64; one window, plus one
 * per level to find it) and calls a small per-entry function.
 *
 * TLB: an operation collects the pages whose PRESENT entry it changed in one
 * struct tlb_batch and flushes at the end: one invlpg per page up to
 * TLB_BATCH pages, one CR3 reload (or a global flush in the kernel half)
 * beyond, and nothing at all when the space is not loaded (its entries
 * cannot be in the TLB: user entries are never global).  Making an entry
 * present needs no flush (x86 does not cache non-present entries); freeing
 * a table forces a full flush (the CPU caches upper-level entries).
 *
 * Locking: everything here runs with the VMM lock held (the public
 * vmm_map / vmm_unmap / vmm_query take it).
 */
#include "mm/vmm_internal.h"

#include <string.h>

#define PAGE ((uintptr_t)MM_PAGE_SIZE)
#define KTOP0 VMM_KTOP0
/* Non-leaf entries (PDEs and above) allow everything; the leaf entry decides, NX included. */
#define USER_PDE (PTE_PRESENT | PTE_WRITABLE | PTE_USER)
#define KERN_PDE (PTE_PRESENT | PTE_WRITABLE)

/* Beyond this many pages one full flush is cheaper than invlpg each (Linux uses 33). */
#define TLB_BATCH 32u

_Static_assert(MM_PAGE_SIZE == 4096u, "x86 pages");

/* ------------------------------------------------------------------ frames */

/*
 * The VMM's doors to the PMM: one frame at a time, any zone (kernel page
 * tables prefer low memory: kernel_table_alloc).  Under STRICT, whoever
 * takes a frame for something other than a committed page (a directory, a
 * page table, a record page) first checks vmm_charge_fits, so that the
 * frames promised to lazy commits stay available.
 */
pmm_paddr_t vmm_frame_alloc(void)
{
    return pmm_alloc(0);
}

void vmm_frame_free(pmm_paddr_t frame)
{
    pmm_free(frame);
}

static void frame_zero(pmm_paddr_t frame)
{
    void *p = mm_kmap(frame);
    memset(p, 0, MM_PAGE_SIZE);
    mm_kunmap(p);
}

pmm_paddr_t vmm_frame_alloc_zeroed(void)
{
    pmm_paddr_t frame = vmm_frame_alloc();

    if (frame != PMM_NONE)
        frame_zero(frame);
    return frame;
}

/* ------------------------------------------------------------------ TLB batching */

struct tlb_batch {
    bool live;   /* the space is loaded (or this is the kernel half) */
    bool kernel; /* kernel half: global entries may be involved */
    bool full;   /* too many pages, or a page table went: flush everything */
    unsigned n;
    uintptr_t page[TLB_BATCH];
};

static bool space_is_live(const struct vmm_space *s)
{
    return s->is_kernel || s->page_directory == mm_current_page_directory();
}

static void tlb_begin(struct tlb_batch *b, const struct vmm_space *s)
{
    b->live = space_is_live(s);
    b->kernel = s->is_kernel;
    b->full = false;
    b->n = 0;
}

static void tlb_add(struct tlb_batch *b, uintptr_t va)
{
    if (!b->live || b->full)
        return;
    if (b->n == TLB_BATCH)
        b->full = true;
    else
        b->page[b->n++] = va;
}

/* One flush decision for everything the operation changed. */
static void tlb_finish(struct tlb_batch *b)
{
    if (!b->live)
        return;
    if (b->full) {
        if (b->kernel && vmm_g.global_pages)
            mm_tlb_flush_global();
        else
            mm_tlb_flush_all();
        vmm_g.stats.tlb_full++;
        return;
    }
    for (unsigned i = 0; i < b->n; i++)
        mm_tlb_flush_page(b->page[i]);
    vmm_g.stats.tlb_pages += b->n;
}

/* The batch of the operation in progress (operations are serialised by the lock). */
static struct tlb_batch op_batch;
static unsigned op_depth;

void vmm_tlb_open(struct vmm_space *s)
{
    if (op_depth++ == 0)
        tlb_begin(&op_batch, s);
}

void vmm_tlb_close(void)
{
    if (--op_depth == 0)
        tlb_finish(&op_batch);
}

/* ------------------------------------------------------------------ entries */

pte_t vmm_prot_bits(const struct vmm_space *s, unsigned prot)
{
    if (!(prot & VMM_PROT_MASK))
        return 0; /* NONE: the entry will be hidden or a hidden lazy marker */
    pte_t bits = PTE_PRESENT;
    if (prot & VMM_PROT_WRITE)
        bits |= PTE_WRITABLE;
    if (!(prot & VMM_PROT_EXEC))
        bits |= PTE_NX; /* 0 when the format has no NX: execution stays allowed */
    if (!s->is_kernel)
        bits |= PTE_USER;
    else if (vmm_g.global_pages)
        bits |= PTE_GLOBAL;
    return bits;
}

/* The lazy marker of a committed page that will get `bits` (0: protection NONE). */
static pte_t lazy_entry(pte_t bits)
{
    return bits ? (bits & ~PTE_PRESENT) | PTE_LAZY : PTE_LAZY | PTE_HIDDEN;
}

/* Entry e with protection bits `bits`; frame, ownership and cache bits are kept. */
static pte_t entry_reprotect(pte_t e, pte_t bits)
{
    const pte_t prot_mask =
        PTE_PRESENT | PTE_WRITABLE | PTE_USER | PTE_GLOBAL | PTE_HIDDEN | PTE_NX;

    if (e == 0)
        return 0;
    if (pte_is_lazy(e))
        return lazy_entry(bits);
    e &= ~prot_mask;
    return bits ? e | bits : e | PTE_HIDDEN;
}

/* ------------------------------------------------------------------ page tables */

/*
 * Where a walk for va starts: the table below the kernel's top-level entry
 * (kept in vmm_g, no top-level access needed) or the space's top table.
 * Returns the level of *table.
 */
static unsigned walk_start(struct vmm_space *s, uintptr_t va, pmm_paddr_t *table)
{
    unsigned top = pde_index(va);

    if (top >= KTOP0) {
        *table = vmm_g.kernel_next[top - KTOP0];
        return PG_TOP - 1;
    }
    *table = s->page_directory;
    return PG_TOP;
}

/* Entry `index` of table t (one window, released at once). */
static pte_t entry_get(pmm_paddr_t t, unsigned index)
{
    pte_t *tab = mm_kmap(t);
    pte_t e = tab[index];
    mm_kunmap(tab);
    return e;
}

static void entry_put(pmm_paddr_t t, unsigned index, pte_t e)
{
    pte_t *tab = mm_kmap(t);
    tab[index] = e;
    mm_kunmap(tab);
}

/* The table a non-leaf entry names, or PMM_NONE (absent, or a large page). */
static pmm_paddr_t entry_table(pte_t e)
{
    return pte_present(e) && !(e & PDE_LARGE) ? pte_frame(e) : PMM_NONE;
}

/*
 * Fill path[l] with the table of level l on the way to va, from the start
 * table down to `level` (PMM_NONE from the first missing one on).  Returns
 * the start level.  One window at a time, one per level walked.
 */
static unsigned walk_path(struct vmm_space *s, uintptr_t va, unsigned level,
                          pmm_paddr_t path[PG_LEVELS])
{
    pmm_paddr_t t;
    unsigned from = walk_start(s, va, &t);

    path[from] = t;
    for (unsigned l = from; l > level; l--) {
        t = t == PMM_NONE ? PMM_NONE : entry_table(entry_get(t, pg_index(va, l)));
        path[l - 1] = t;
    }
    return from;
}

/* Leaf page-table frame for va in s, or PMM_NONE (no table, or a large page on the way). */
static pmm_paddr_t table_of(struct vmm_space *s, uintptr_t va)
{
    pmm_paddr_t path[PG_LEVELS];

    walk_path(s, va, 0, path);
    return path[0];
}

static void count_table(struct vmm_space *s, long delta)
{
    if (s->is_kernel) {
        vmm_g.stats.kernel_page_tables += (size_t)delta;
    } else {
        s->stats.page_tables += (size_t)delta;
        vmm_g.stats.page_tables += (size_t)delta;
    }
}

/* Write the lazy markers of every COMMITTED region over the chunk of a new leaf table. */
static void fill_table(struct vmm_space *s, pte_t *table, uintptr_t base)
{
    uintptr_t limit = base + (PT_SPAN - 1); /* inclusive: no wrap at 4 GiB */
    struct vmm_tree_node *n = vmm_tree_lower_bound(&s->regions, base);

    for (; n && n->start <= limit; n = vmm_tree_next(n)) {
        struct vmm_region *r = region_of(n);
        if (r->state != VMM_REGION_COMMITTED)
            continue;
        uintptr_t from = n->start > base ? n->start : base;
        uintptr_t to = n->end - 1 < limit ? n->end - 1 : limit;
        pte_t marker = lazy_entry(vmm_prot_bits(s, r->prot));
        for (uintptr_t va = from; va <= to && va >= from; va += PAGE)
            table[pte_index(va)] = marker;
    }
}

/* A new table of `level` for va, linked into entry `index` of `parent`.  PMM_NONE when out. */
static pmm_paddr_t table_new(struct vmm_space *s, uintptr_t va, unsigned level,
                             pmm_paddr_t parent)
{
    pmm_paddr_t t = vmm_frame_alloc();

    if (t == PMM_NONE)
        return PMM_NONE;
    pte_t *table = mm_kmap(t);
    memset(table, 0, MM_PAGE_SIZE);
    if (level == 0)
        fill_table(s, table, va & ~(PT_SPAN - 1));
    mm_kunmap(table);
    entry_put(parent, pg_index(va, level + 1), pte_make(t, s->is_kernel ? KERN_PDE : USER_PDE));
    count_table(s, 1);
    return t;
}

/*
 * The leaf table for va, creating the missing tables on the way (the leaf
 * filled from the tree).  PMM_NONE when out of frames: the tables created so
 * far stay (empty; user ones are freed with the space).
 */
static pmm_paddr_t table_create(struct vmm_space *s, uintptr_t va)
{
    pmm_paddr_t path[PG_LEVELS];
    unsigned l = walk_path(s, va, 0, path);

    while (l > 0 && path[l - 1] != PMM_NONE)
        l--;
    for (; l > 0 && path[l] != PMM_NONE; l--)
        path[l - 1] = table_new(s, va, l - 1, path[l]);
    return path[0];
}

static bool table_is_empty(pmm_paddr_t t)
{
    pte_t *table = mm_kmap(t);
    bool empty = true;

    for (unsigned i = 0; i < PT_ENTRIES && empty; i++)
        empty = table[i] == 0;
    mm_kunmap(table);
    return empty;
}

/*
 * Free the empty user leaf table of the chunk around va, then every table
 * above it that became empty (never the top one).
 */
static void table_free(struct vmm_space *s, uintptr_t va, struct tlb_batch *b)
{
    pmm_paddr_t path[PG_LEVELS];
    unsigned from = walk_path(s, va, 0, path);

    for (unsigned l = 0; l < from; l++) {
        if (l > 0 && !table_is_empty(path[l]))
            break;
        entry_put(path[l + 1], pg_index(va, l + 1), 0);
        vmm_frame_free(path[l]);
        count_table(s, -1);
    }
    /* the CPU may cache non-leaf entries: the freed frames must not be reachable */
    if (b->live)
        b->full = true;
}

/* Next leaf-chunk boundary above va, or `end` if that comes first (no wrap). */
static uintptr_t chunk_end(uintptr_t va, uintptr_t end)
{
    uintptr_t next = (va | (PT_SPAN - 1)) + 1;
    return next == 0 || next > end ? end : next;
}

/*
 * Tables below the top missing for the leaf chunk at va: each counted once
 * over [start, end) - a missing table of level l is counted at the first
 * chunk it would cover.
 */
static size_t missing_at(struct vmm_space *s, uintptr_t va, uintptr_t start)
{
    pmm_paddr_t path[PG_LEVELS];
    unsigned from = walk_path(s, va, 0, path);
    size_t missing = 0;

    for (unsigned l = 0; l < from; l++)
        if (path[l] == PMM_NONE && path[from] != PMM_NONE &&
            (va == start || (va & (pg_entry_span(l + 1) - 1)) == 0))
            missing++;
    return missing;
}

size_t vmm_pt_missing(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    size_t missing = 0;

    for (uintptr_t va = start; va < end; va = chunk_end(va, end))
        missing += missing_at(s, va, start);
    return missing;
}

int vmm_pt_ensure(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    for (uintptr_t va = start; va < end; va = chunk_end(va, end))
        if (table_of(s, va) == PMM_NONE && table_create(s, va) == PMM_NONE)
            return VMM_ENOMEM;
    return VMM_OK;
}

/* ------------------------------------------------------------------ the entry walker */

/*
 * A walk is an operation over the entries of [start, end): the parameters
 * of the operation, what it counted, and the TLB batch it adds to.  Chunks
 * without a page table are skipped: their pages are described by the
 * region tree alone.
 */
struct walk;
/* Called for each entry of an existing table; may set w->error to stop the walk. */
typedef void (*entry_fn)(struct walk *w, uintptr_t va, pte_t *e);

struct walk {
    struct vmm_space *space;
    struct tlb_batch *tlb; /* the operation's batch */
    pte_t bits;            /* the operation's protection bits */
    bool keep_lazy;        /* clear: leave lazy markers instead of 0 */
    bool reap;             /* free user tables that end up empty */
    pmm_paddr_t map_frame; /* map: next frame to install */
    pte_t map_flags;
    size_t count; /* entries the operation affected */
    int error;
};

/* Every walk belongs to an operation's TLB batch; a lone walk opens its own. */
static void walk_begin(struct walk *w, struct vmm_space *s)
{
    memset(w, 0, sizeof *w);
    w->space = s;
    vmm_tlb_open(s);
    w->tlb = &op_batch;
}

/* Apply fn to every entry of [start, end) whose page table exists. */
static void walk_range(struct walk *w, uintptr_t start, uintptr_t end, entry_fn fn)
{
    struct vmm_space *s = w->space;

    for (uintptr_t va = start; va < end && !w->error;) {
        uintptr_t stop = chunk_end(va, end);
        pmm_paddr_t pt = table_of(s, va);
        if (pt == PMM_NONE) {
            va = stop;
            continue;
        }
        pte_t *table = mm_kmap(pt);
        uintptr_t base = va;
        for (; va < stop && !w->error; va += PAGE)
            fn(w, va, &table[pte_index(va)]);
        mm_kunmap(table);
        if (w->reap && !s->is_kernel && table_is_empty(pt))
            table_free(s, base, w->tlb);
        va = stop;
    }
}

static void walk_finish(struct walk *w)
{
    (void)w;
    vmm_tlb_close();
}

/* commit: an empty entry becomes a lazy marker; a backed page stays as it is. */
static void mark_one(struct walk *w, uintptr_t va, pte_t *e)
{
    (void)va;
    if (*e == 0)
        *e = lazy_entry(w->bits);
}

void vmm_pte_mark_committed(struct vmm_space *s, uintptr_t start, uintptr_t end, unsigned prot)
{
    struct walk w;

    walk_begin(&w, s);
    w.bits = vmm_prot_bits(s, prot);
    walk_range(&w, start, end, mark_one);
    walk_finish(&w); /* nothing was present: no flush */
}

/* Turn lazy marker *e into a freshly zeroed, owned frame.  False when out of frames. */
static bool back_entry(struct vmm_space *s, pte_t *e)
{
    pmm_paddr_t frame = vmm_frame_alloc();

    if (frame == PMM_NONE)
        return false;
    frame_zero(frame);
    if (*e & PTE_HIDDEN)
        *e = pte_make(frame, PTE_HIDDEN | PTE_OWNED); /* NONE: kept, not accessible */
    else
        *e = pte_make(frame, (*e & ~PTE_LAZY) | PTE_PRESENT | PTE_OWNED);
    vmm_count_backed(s, 1);
    return true;
}

/* eager commit: back every lazy marker; stop at the first missing frame. */
static void back_one(struct walk *w, uintptr_t va, pte_t *e)
{
    (void)va;
    if (!pte_is_lazy(*e))
        return;
    if (!back_entry(w->space, e))
        w->error = VMM_ENOMEM;
    else
        w->count++;
}

int vmm_pte_back(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct walk w;

    walk_begin(&w, s);
    walk_range(&w, start, end, back_one);
    walk_finish(&w);
    return w.error;
}

/*
 * decommit / release / unmap: the frame goes back if the VMM owns it (a
 * caller's frame mapped without VMM_MAP_OWN stays the caller's), and a
 * present entry may sit in the TLB, so it joins the batch.
 */
static void clear_one(struct walk *w, uintptr_t va, pte_t *e)
{
    pte_t old = *e;

    if (pte_has_frame(old)) {
        if (old & PTE_OWNED)
            vmm_frame_free(pte_frame(old));
        w->count++;
    }
    if (pte_present(old))
        tlb_add(w->tlb, va);
    *e = w->keep_lazy ? lazy_entry(w->bits) : 0;
}

size_t vmm_pte_clear(struct vmm_space *s, uintptr_t start, uintptr_t end, bool keep_lazy,
                     unsigned prot)
{
    struct walk w;

    walk_begin(&w, s);
    w.keep_lazy = keep_lazy;
    w.bits = vmm_prot_bits(s, prot);
    w.reap = !keep_lazy;
    walk_range(&w, start, end, clear_one);
    walk_finish(&w);
    return w.count;
}

/* protect: markers and backed entries take the new bits; only a present one needs a flush. */
static void protect_one(struct walk *w, uintptr_t va, pte_t *e)
{
    pte_t old = *e, new = entry_reprotect(old, w->bits);

    if (new == old)
        return;
    *e = new;
    if (pte_present(old))
        tlb_add(w->tlb, va);
}

void vmm_pte_protect(struct vmm_space *s, uintptr_t start, uintptr_t end, unsigned prot)
{
    struct walk w;

    walk_begin(&w, s);
    w.bits = vmm_prot_bits(s, prot);
    walk_range(&w, start, end, protect_one);
    walk_finish(&w);
}

static void count_one(struct walk *w, uintptr_t va, pte_t *e)
{
    (void)va;
    if (pte_has_frame(*e))
        w->count++;
}

size_t vmm_pte_count_backed(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct walk w;

    walk_begin(&w, s);
    walk_range(&w, start, end, count_one);
    walk_finish(&w);
    return w.count;
}

/* One kernel entry, outside any walk: the VMM's record pages (never in a batch). */
int vmm_pte_set_kernel(uintptr_t va, pte_t e)
{
    pmm_paddr_t pt = table_of(&vmm_g.kernel, va);

    if (pt == PMM_NONE)
        pt = table_create(&vmm_g.kernel, va);
    if (pt == PMM_NONE)
        return VMM_ENOMEM;
    pte_t *table = mm_kmap(pt);
    pte_t old = table[pte_index(va)];
    table[pte_index(va)] = e;
    mm_kunmap(table);
    if (pte_present(old))
        mm_tlb_flush_page(va);
    return VMM_OK;
}

/* Read the entry for va (0 when there is no page table). */
static pte_t entry_read(struct vmm_space *s, uintptr_t va)
{
    pmm_paddr_t pt = table_of(s, va);

    if (pt == PMM_NONE)
        return 0;
    pte_t *table = mm_kmap(pt);
    pte_t e = table[pte_index(va)];
    mm_kunmap(table);
    return e;
}

/* ------------------------------------------------------------------ the kernel half, teardown */

/*
 * A frame for a kernel page table.  These are walked on every kernel-half
 * operation for the life of the system, so they are taken from the low 16
 * MiB when possible: the kernel's mm_kmap reaches that through the linear
 * low map without a window (mm/port.h).
 */
static pmm_paddr_t kernel_table_alloc(void)
{
    pmm_paddr_t pt = pmm_alloc(PMM_BELOW_16M | PMM_NORECLAIM);

    return pt != PMM_NONE ? pt : vmm_frame_alloc();
}

int vmm_pt_build_kernel_half(pte_t *dir)
{
    uint32_t created[(VMM_KTOP_COUNT + 31) / 32] = {0}; /* which tables are ours */

    for (unsigned i = KTOP0; i < PT_ENTRIES; i++) {
        unsigned k = i - KTOP0;
        if (!pte_present(dir[i])) {
            pmm_paddr_t pt = kernel_table_alloc();
            if (pt == PMM_NONE)
                goto fail;
            frame_zero(pt);
            dir[i] = pte_make(pt, KERN_PDE);
            created[k / 32] |= 1u << (k % 32);
            vmm_g.stats.kernel_page_tables++;
        }
        vmm_g.kernel_top[k] = dir[i];
        vmm_g.kernel_next[k] = entry_table(dir[i]);
    }
    return VMM_OK;
fail:
    for (unsigned k = 0; k < VMM_KTOP_COUNT; k++) {
        if (created[k / 32] & (1u << (k % 32))) {
            vmm_frame_free(pte_frame(dir[KTOP0 + k]));
            dir[KTOP0 + k] = 0;
        }
    }
    vmm_g.stats.kernel_page_tables = 0;
    return VMM_ENOMEM;
}

/*
 * Index of the first present table entry of t at or after `from` and below
 * `end` (end when none), and that entry.  One window per call, so that
 * walking a tree holds one window at a time whatever its depth.
 */
static unsigned next_table_entry(pmm_paddr_t t, unsigned from, unsigned end, pte_t *e)
{
    pte_t *table = mm_kmap(t);

    while (from < end && entry_table(table[from]) == PMM_NONE)
        from++;
    if (from < end)
        *e = table[from];
    mm_kunmap(table);
    return from;
}

/* Called for each user leaf table (frame, first address it maps). */
typedef void (*leaf_fn)(struct vmm_space *s, pmm_paddr_t leaf, uintptr_t base, int *count);

/*
 * Visit the leaf tables below entries [0, end) of table t of `level` (which
 * maps from `base`), in address order; with `free_tables` each table below
 * t is freed after its subtree.  The depth is the format's: 1 on i386.
 */
static void visit_leaves(struct vmm_space *s, pmm_paddr_t t, unsigned level, uintptr_t base,
                         unsigned end, bool free_tables, leaf_fn fn, int *count)
{
    pte_t e = 0;

    for (unsigned i = 0; (i = next_table_entry(t, i, end, &e)) < end; i++) {
        uintptr_t child_base = base + (uintptr_t)i * pg_entry_span(level);
        pmm_paddr_t child = pte_frame(e);
        if (level == 1)
            fn(s, child, child_base, count);
        else
            visit_leaves(s, child, level - 1, child_base, PT_ENTRIES, free_tables, fn, count);
        if (free_tables)
            vmm_frame_free(child);
    }
}

/* Free every owned frame named by a user leaf table (the table goes with the visit). */
static void leaf_destroy(struct vmm_space *s, pmm_paddr_t pt, uintptr_t base, int *count)
{
    pte_t *table = mm_kmap(pt);

    (void)s, (void)base, (void)count;
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (pte_has_frame(table[i]) && (table[i] & PTE_OWNED))
            vmm_frame_free(pte_frame(table[i]));
    mm_kunmap(table);
}

void vmm_pt_destroy_user(struct vmm_space *s)
{
    visit_leaves(s, s->page_directory, PG_TOP, 0, KTOP0, true, leaf_destroy, NULL);
    vmm_g.stats.page_tables -= s->stats.page_tables;
    s->stats.page_tables = 0;
}

/* ------------------------------------------------------------------ page-level mappings */

static void check_empty_one(struct walk *w, uintptr_t va, pte_t *e)
{
    (void)va;
    if (*e)
        w->error = VMM_EEXIST;
}

static void map_one(struct walk *w, uintptr_t va, pte_t *e)
{
    (void)va;
    *e = w->bits ? pte_make(w->map_frame, w->bits | w->map_flags)
                 : pte_make(w->map_frame, PTE_HIDDEN | w->map_flags);
    w->map_frame += MM_PAGE_SIZE;
    w->count++;
}

/* Install the frames, one region piece at a time (each has its own protection). */
static void map_pieces(struct vmm_space *s, uintptr_t va, uintptr_t end, pmm_paddr_t frame,
                       pte_t flags)
{
    struct walk w;

    walk_begin(&w, s);
    w.map_frame = frame;
    w.map_flags = flags;
    for (struct vmm_tree_node *n = vmm_tree_lower_bound(&s->regions, va); n && n->start < end;
         n = vmm_tree_next(n)) {
        uintptr_t from = n->start > va ? n->start : va, to = n->end < end ? n->end : end;
        w.map_frame = frame + (pmm_paddr_t)(from - va);
        w.bits = vmm_prot_bits(s, region_of(n)->prot);
        walk_range(&w, from, to, map_one);
    }
    s->stats.mapped += w.count;
    walk_finish(&w);
}

static pte_t map_flag_bits(unsigned flags)
{
    pte_t bits = (flags & VMM_MAP_OWN) ? PTE_OWNED : 0;

    if (flags & VMM_MAP_NOCACHE)
        bits |= PTE_NOCACHE;
    if (flags & VMM_MAP_WRITETHROUGH)
        bits |= PTE_WRITETHROUGH;
    return bits;
}

int vmm_map(struct vmm_space *space, uintptr_t va, pmm_paddr_t frame, size_t size, unsigned flags)
{
    const unsigned known = VMM_MAP_OWN | VMM_MAP_NOCACHE | VMM_MAP_WRITETHROUGH;
    int rc = vmm_range_valid(space, va, size);

    if (rc == VMM_OK && ((frame & (PAGE - 1)) || (flags & ~known) || frame >= PG_PHYS_LIMIT ||
                         size > PG_PHYS_LIMIT - frame)) /* an entry could not hold the frame */
        rc = VMM_EINVAL;
    if (rc != VMM_OK)
        return rc;
    vmm_lock();
    uintptr_t end = va + size;
    rc = vmm_range_is_mapped_kind(space, va, end);
    if (rc == VMM_OK) {
        struct walk w;
        walk_begin(&w, space);
        walk_range(&w, va, end, check_empty_one);
        walk_finish(&w);
        rc = w.error;
    }
    if (rc == VMM_OK && !vmm_charge_fits(vmm_pt_missing(space, va, end)))
        rc = VMM_ENOMEM;
    if (rc == VMM_OK)
        rc = vmm_pt_ensure(space, va, end);
    if (rc == VMM_OK)
        map_pieces(space, va, end, frame, map_flag_bits(flags));
    vmm_unlock();
    return rc;
}

int vmm_unmap(struct vmm_space *space, uintptr_t va, size_t size)
{
    int rc = vmm_range_valid(space, va, size);

    if (rc != VMM_OK)
        return rc;
    vmm_lock();
    rc = vmm_range_is_mapped_kind(space, va, va + size);
    if (rc == VMM_OK)
        space->stats.mapped -= vmm_pte_clear(space, va, va + size, false, 0);
    vmm_unlock();
    return rc;
}

/* The kernel's top-level entry for va if the boot code made it a large page, else NULL. */
static const pte_t *boot_large_page(uintptr_t va)
{
    unsigned i = pde_index(va);

    if (i < KTOP0 || vmm_g.kernel_next[i - KTOP0] != PMM_NONE)
        return NULL;
    return &vmm_g.kernel_top[i - KTOP0];
}

static enum vmm_page_state page_state(const struct vmm_region *r, pte_t e)
{
    switch (r->state) {
    case VMM_REGION_RESERVED:
        return VMM_PAGE_RESERVED;
    case VMM_REGION_GUARD:
        return VMM_PAGE_GUARD;
    case VMM_REGION_COMMITTED:
        return pte_has_frame(e) ? VMM_PAGE_BACKED : VMM_PAGE_COMMITTED;
    default:
        return pte_has_frame(e) ? VMM_PAGE_MAPPED : VMM_PAGE_UNMAPPED;
    }
}

int vmm_query(struct vmm_space *space, uintptr_t va, struct vmm_page_info *info)
{
    uintptr_t page = va & ~(PAGE - 1);
    struct vmm_space *s = space_for(space, page);

    memset(info, 0, sizeof *info);
    info->frame = PMM_NONE;
    vmm_lock();
    pte_t e = entry_read(s, page);
    const pte_t *large = boot_large_page(page);
    if (large) /* as the 4 KiB entry the large page amounts to */
        e = pte_make(pte_frame(*large) + (page & (pg_entry_span(PG_TOP) - 1)), *large & ~PDE_LARGE);
    struct vmm_region *r = vmm_region_find(s, page);
    info->pte = e;
    if (pte_has_frame(e))
        info->frame = pte_frame(e);
    if (r) {
        info->state = page_state(r, e);
        info->prot = r->prot;
        info->region_start = region_start(r);
        info->region_end = region_end(r);
    }
    vmm_unlock();
    return r ? VMM_OK : VMM_ENOENT;
}

/* ------------------------------------------------------------------ resolving a fault */

/* Why a page with an empty entry (or no table) faulted, from its region. */
static int classify(struct vmm_region *r, uintptr_t page)
{
    if (!r)
        return page < PAGE ? VMM_FAULT_NULL : VMM_FAULT_UNMAPPED;
    switch (r->state) {
    case VMM_REGION_GUARD:
        return VMM_FAULT_GUARD;
    case VMM_REGION_RESERVED:
        return VMM_FAULT_NOT_COMMITTED;
    case VMM_REGION_MAPPED:
        return VMM_FAULT_UNMAPPED;
    default:
        mm_panic("vmm_handle_fault: committed page 0x%lx has an empty entry", (unsigned long)page);
    }
}

/* Resolve a fault from the entry alone; 1 = the entry is empty, ask the tree. */
static int resolve_entry(struct vmm_space *s, uintptr_t page, pte_t *e, unsigned access)
{
    bool write = access & VMM_ACCESS_WRITE, user = access & VMM_ACCESS_USER;
    bool exec = access & VMM_ACCESS_EXEC;
    pte_t old = *e;

    if (pte_present(old)) {
        if (!pte_allows(old, write, user, exec))
            return VMM_FAULT_PROTECTION;
        /* the entry allows it: the TLB held an older, stricter one */
        mm_tlb_flush_page(page);
        vmm_g.stats.faults_spurious++;
        return VMM_FAULT_RESOLVED;
    }
    if (old == 0)
        return 1;
    if (!pte_is_lazy(old) || (old & PTE_HIDDEN))
        return VMM_FAULT_PROTECTION; /* protection NONE, backed or not */
    if (!pte_allows((old & ~PTE_LAZY) | PTE_PRESENT, write, user, exec))
        return VMM_FAULT_PROTECTION; /* e.g. a write to a read-only page, a fetch from data */
    if (!back_entry(s, e))
        return VMM_FAULT_NOMEM;
    return VMM_FAULT_RESOLVED;
}

int vmm_pt_fault(struct vmm_space *s, uintptr_t page, unsigned access)
{
    if (boot_large_page(page))
        return (access & VMM_ACCESS_PRESENT) ? VMM_FAULT_PROTECTION : VMM_FAULT_UNMAPPED;
    pmm_paddr_t pt = table_of(s, page);
    if (pt == PMM_NONE) {
        struct vmm_region *r = vmm_region_find(s, page);
        if (!r || r->state != VMM_REGION_COMMITTED)
            return classify(r, page);
        pt = table_create(s, page); /* filled from the tree: the entry is a lazy marker now */
        if (pt == PMM_NONE)
            return VMM_FAULT_NOMEM;
    }
    pte_t *table = mm_kmap(pt);
    int rc = resolve_entry(s, page, &table[pte_index(page)], access);
    mm_kunmap(table);
    return rc == 1 ? classify(vmm_region_find(s, page), page) : rc;
}

/* ------------------------------------------------------------------ checking entries */

static void check_report(const char *what, uintptr_t at)
{
    mm_report("vmm_check: %s at 0x%lx", what, (unsigned long)at);
}

/* May an entry of an existing page table inside region r be e? */
static bool entry_agrees(const struct vmm_region *r, pte_t e, pte_t bits)
{
    const pte_t ignore = PTE_FRAME_MASK | PTE_HW_SET_BITS | PTE_NOCACHE | PTE_WRITETHROUGH;
    /* whoever mapped a MAPPED page chose its cache and global bits */
    const pte_t access = PTE_PRESENT | PTE_WRITABLE | PTE_USER | PTE_HIDDEN | PTE_LAZY | PTE_NX;

    switch (r->state) {
    case VMM_REGION_RESERVED:
    case VMM_REGION_GUARD:
        return e == 0;
    case VMM_REGION_COMMITTED:
        /* a lazy marker with the region's bits, or an owned frame with them */
        if (pte_is_lazy(e))
            return e == lazy_entry(bits);
        return (e & PTE_OWNED) && (e & ~ignore) == ((bits ? bits : PTE_HIDDEN) | PTE_OWNED);
    default: /* MAPPED: nothing, or a frame with the region's access bits */
        if (e == 0)
            return true;
        return !pte_is_lazy(e) && (e & access) == ((bits ? bits : PTE_HIDDEN) & access);
    }
}

int vmm_pte_check_region(struct vmm_space *s, const struct vmm_region *r, size_t *backed,
                         size_t *mapped)
{
    int errors = 0;
    pte_t bits = vmm_prot_bits(s, r->prot);

    if (r->flags & VMM_REGION_FOREIGN)
        return 0; /* its entries belong to the boot code or the port */
    for (uintptr_t va = region_start(r); va < region_end(r);) {
        uintptr_t stop = chunk_end(va, region_end(r));
        pmm_paddr_t pt = table_of(s, va);
        if (pt == PMM_NONE) { /* no table: nothing backed (commits may be lazy here) */
            va = stop;
            continue;
        }
        pte_t *table = mm_kmap(pt);
        for (; va < stop; va += PAGE) {
            pte_t e = table[pte_index(va)];
            if (!entry_agrees(r, e, bits)) {
                check_report("entry disagrees with its region", va);
                errors++;
            }
            if (pte_has_frame(e))
                ++*(r->state == VMM_REGION_COMMITTED ? backed : mapped);
        }
        mm_kunmap(table);
    }
    return errors;
}

/* Every non-empty user entry must lie in a region. */
static void leaf_check_orphans(struct vmm_space *s, pmm_paddr_t pt, uintptr_t base, int *errors)
{
    pte_t *table = mm_kmap(pt);

    for (unsigned j = 0; j < PT_ENTRIES; j++)
        if (table[j] && !vmm_region_find(s, base + j * PAGE)) {
            check_report("entry outside every region", base + j * PAGE);
            ++*errors;
        }
    mm_kunmap(table);
}

int vmm_pt_check_orphans(struct vmm_space *s)
{
    int errors = 0;

    visit_leaves(s, s->page_directory, PG_TOP, 0, KTOP0, false, leaf_check_orphans, &errors);
    return errors;
}
