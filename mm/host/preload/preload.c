/*
 * mm/host/preload/preload.c - libmm.so: the project's allocators as the
 * malloc of any dynamically linked Linux program (LD_PRELOAD, or -lmm).
 *
 * How it works.  Every thread gets a heap instance of its own (a composite,
 * mm/heap_composite.h) on a source of its own (source_linux, a private 4
 * GiB reservation), created on the thread's first allocation and handed to
 * a pool when the thread exits, where the next new thread adopts it with
 * whatever blocks are still live in it.  The malloc family (mm/malloc.h)
 * runs over the calling thread's instance.
 *
 * Ownership.  The instance's source is wrapped by a recording source: every
 * range it grows or maps is entered in an address -> instance map
 * (preload_owner.c), and a mapping it unmaps is removed.  free(p) looks p
 * up there: no instance means a pointer libmm never handed out (reported,
 * ignored); the caller's own instance is freed into directly; a block of
 * another thread's instance is put in the batch the caller fills for that
 * owner (a struct remote_batch: an array of PRELOAD_BATCH pointers, so a
 * double free can never tie a list into a loop; taken from the caller's
 * spares, else allocated from its own heap; batches for up to PRELOAD_OPEN
 * owners fill at once).  A full batch is pushed, lock-free, onto the
 * owner's incoming stack; the owner frees what is there at its next malloc
 * or free, and keeps the emptied batch as a spare for its own.  An owner
 * whose thread is not running lets batches pile up: every PRELOAD_BACKLOG
 * of them, a pusher drains the stack itself if the owner is out.
 *
 * Instances nobody owns.  When a thread exits, its instance goes to the
 * pool.  If its heap holds no block, the heap is destroyed (retired): its
 * metadata, slabs, kept pages and reservation all go back to the kernel,
 * and only the struct stays, for the next thread to make a new heap in.
 * Otherwise it gives back its reserve (the slab set's empty slabs, the
 * page heap's kept blocks, the source's kept regions), costing its live
 * blocks and metadata, and is retired when the last of those blocks is
 * freed into it (checked after each drain of a heap nobody owns, and at
 * each thread exit).  A batch for an instance whose thread has exited
 * is pushed all the same, and then drained at once by the pusher, if the
 * instance is free to take (a try-lock: an owner never waits here); if
 * another thread holds it, that thread drains it when it lets go.  So no
 * batch waits for the instance to be adopted.
 *
 * Locking.  Each instance has a lock of its own (preload_lock.h): its
 * owner enters and leaves with plain stores and loads, no atomic
 * read-modify-write; any other thread (reading a block's size for realloc
 * or malloc_usable_size, freeing into an instance nobody owns, libmm_stats,
 * fork) takes its spin lock and waits for the owner to be out.  The heap
 * itself is given no lock hook: every heap call here is made with the
 * instance entered, once per malloc or free.  There is no global lock on
 * any allocation or free: the registry lock is taken only to create,
 * retire or adopt an instance.  An owner never waits for another
 * instance's lock while inside its own (it only tries), so no two threads
 * can wait for each other.
 *
 * Re-entry.  A signal handler that calls malloc, free or realloc while its
 * thread is inside libmm finds the instance entered already (the lock says
 * so); it is served without touching any instance: a new block is a
 * mapping of its own (preload_direct.c), a free is deferred onto its
 * owner's incoming stack in a batch of one on such a mapping, and a
 * realloc or malloc_usable_size of a block of the interrupted instance,
 * whose size cannot be read safely, fails (NULL and ENOMEM, or 0) leaving
 * the block as it was.
 *
 * Each recording source also keeps up to 64 KiB of small regions the heap
 * unmapped, for its next map of the same size: the slab set maps and
 * unmaps single pages at a high rate, and each munmap is a system call
 * and, with threads, a TLB shoot-down.
 *
 * Threads that have no instance yet, or no longer: while a thread is being
 * given one (pthread_setspecific, which may allocate), during library
 * start-up (pthread_atfork allocates) and after its exit destructor ran
 * (glibc frees and may allocate afterwards), allocations are served by the
 * first instance made, the one of the thread that started the library, as
 * "another thread".  Nothing here calls dlsym or the previous malloc, so
 * there is no start-up recursion to break beyond that.
 *
 * fork(): the prepare handler takes the registry lock and every instance's
 * lock, so the child gets every heap in a consistent state; the child
 * re-initialises the locks (it is single-threaded), hands the batches of
 * the threads that did not survive to their owners, and pools their
 * instances for adoption.
 *
 * Costs: malloc = a TLS load, the owner's entry (two stores, one load),
 * one check of the incoming stack and the composite's cost; free = three
 * dependent loads (owner map) and the same; a cross-thread free = a scan
 * of at most PRELOAD_OPEN owners and an array store, plus per
 * PRELOAD_BATCH of them one compare-and-swap on the owner's stack (the
 * batch itself is a spare, or one small allocation), and the frees done
 * later by the owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm/heap.h"
#include "mm/heap_composite.h"
#include "mm/heap_debug.h"
#include "mm/host/preload/libmm.h"
#include "mm/host/preload/preload.h"
#include "mm/host/preload/preload_lock.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"
#include "mm/port.h"

#define PRELOAD_EXPORT __attribute__((visibility("default")))
/*
 * libmm.so is built with -fno-optimize-sibling-calls (every frame stays for
 * the guard heap's call-site traces); malloc and free are not: their
 * general paths are reached by a jump that replaces their frame, which the
 * traces then see instead, so the short paths need not save the registers
 * the general ones use.
 */
#define PRELOAD_JUMPS __attribute__((optimize("optimize-sibling-calls")))
#define PRELOAD_BATCH 64
#define PRELOAD_OPEN 8     /* owners a thread fills batches for at once */
#define PRELOAD_SPARES 8   /* emptied batches an instance keeps for its next ones */
#define PRELOAD_BACKLOG 16 /* batches waiting for a busy owner before a pusher drains them */
#define PRELOAD_CAPACITY ((size_t)4 << 30) /* per-thread reservation */

/* Small unmapped regions a source keeps for its next map: how many, how much in all. */
#define PRELOAD_MAP_CACHE 32
#define PRELOAD_MAP_CACHE_BYTES ((size_t)64 << 10)
#define PRELOAD_MAP_CACHE_MAX ((size_t)64 << 10) /* largest region kept */

enum inst_kind { KIND_THREAD, KIND_GUARD };

/*
 * A batch of cross-thread frees on its way to the owner: pushed onto the
 * owner's incoming stack, freed block by block by the owner on its next
 * malloc or free.  Its own memory is a block of whichever heap made it
 * (or a direct mapping, for a free deferred by a re-entrant call).
 */
struct remote_batch {
    struct remote_batch *next;
    unsigned n;
    void *ptr[PRELOAD_BATCH];
};

struct cached_map {
    void *ptr;
    size_t bytes;
};

struct preload_inst {
    struct heap_source rec;    /* first: the recording source handed to the heap */
    struct heap_source *inner; /* the source_linux behind it */
    struct heap *heap;         /* NULL: retired (no heap until a thread adopts it) */
    uintptr_t grown_lo, grown_hi; /* what the source grew, recorded as this instance's */
    struct heap_stats past;       /* the counters of the heaps it retired */
    unsigned cached_n; /* unmapped regions kept for the next map (instance entered) */
    size_t cached_bytes;
    struct cached_map cached[PRELOAD_MAP_CACHE];
    enum inst_kind kind;
    enum preload_held fork_held; /* how fork_prepare took it */
    struct preload_inst *next;   /* registry: every instance ever made */
    struct preload_inst *pooled; /* pool of instances nobody owns */
    /* written by the owner on every call, by others rarely: a line of its own */
    struct preload_lock lock __attribute__((aligned(64)));
    /* batches other threads pushed, not freed yet: a lock-free stack (push by
     * anyone, take-all by whoever drains), on a cache line of its own */
    struct remote_batch *incoming __attribute__((aligned(64)));
    unsigned long pending; /* batches pushed and not drained yet (atomic, about) */
    /* the rest only with the instance entered */
    /* batches being filled, one per owner of the blocks freed here */
    unsigned open_n __attribute__((aligned(64)));
    unsigned spare_n;
    struct preload_inst *open_to[PRELOAD_OPEN];
    struct remote_batch *open[PRELOAD_OPEN];
    struct remote_batch *spare[PRELOAD_SPARES]; /* emptied batches, for the next ones */
    unsigned long remote_frees, batches_sent;   /* for MM_STATS */
};

/*
 * One entry into an instance: how it was taken, and the batches its drains
 * emptied, which are recycled or freed once every lock is let go.
 */
struct call {
    struct preload_inst *in;
    enum preload_held how;
    struct remote_batch *spent;
};

enum { TLS_NEW, TLS_STARTING, TLS_ACTIVE, TLS_EXITED };
static __thread struct preload_inst *tls_inst __attribute__((tls_model("initial-exec")));
static __thread int tls_state __attribute__((tls_model("initial-exec")));
/* libmm_stats is settling every count: batches are freed directly, never pushed */
static __thread int tls_settling __attribute__((tls_model("initial-exec")));

/*
 * The registry: written when a thread gets or gives back an instance, read
 * by libmm_stats and fork.  On a cache line of its own, so that a thread
 * starting or exiting does not take away from every other thread the line
 * of what each of their calls reads (guard, fallback).
 */
static struct __attribute__((aligned(64))) {
    pthread_mutex_t lock;
    struct preload_inst *all;  /* every instance ever made, through ->next */
    struct preload_inst *pool; /* instances nobody owns, through ->pooled */
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};
static struct preload_inst *fallback; /* the first instance: for threads without one */
static struct preload_inst *guard;    /* the guard-page heap, or NULL */
static pthread_key_t exit_key;
static int ready; /* 0 nothing, 1 fallback exists, 2 complete */
static int print_stats;
/*
 * Where MM_STATS prints at exit: the file MM_STATS_FILE names (its %p the
 * process id), else stderr as it was at start - a copy of fd 2 taken then,
 * so a program that closes stderr before it exits still gets its report.
 */
#define STATS_PATH_MAX 512
static char stats_path[STATS_PATH_MAX];
static int stats_fd = -1; /* the copy of stderr; -1: none could be made */
static struct stat stats_fd_was; /* what it was: the program may close it and reuse the number */
/* Calls that re-entered libmm (signal handlers), for MM_STATS: served apart, or refused. */
static unsigned long reentered_allocs, reentered_frees, reentered_refused;

static void reentered_count(unsigned long *counter)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- the recording source */

static struct preload_inst *inst_of(struct heap_source *src)
{
    return (struct preload_inst *)src; /* rec is the first member */
}

static void *rec_grow(struct heap_source *src, size_t bytes)
{
    struct preload_inst *in = inst_of(src);
    void *p = in->inner->grow(in->inner, bytes);
    if (p && preload_owner_set((uintptr_t)p, bytes, in) < 0) {
        if (in->inner->shrink)
            in->inner->shrink(in->inner, bytes);
        return NULL; /* without an owner entry the block could never be freed */
    }
    if (p && !in->grown_lo)
        in->grown_lo = (uintptr_t)p; /* the break only moves up from its first grow */
    if (p && (uintptr_t)p + bytes > in->grown_hi)
        in->grown_hi = (uintptr_t)p + bytes;
    return p;
}

static int rec_shrink(struct heap_source *src, size_t bytes)
{
    /* The range stays this source's reservation: only this source grows into it again. */
    struct preload_inst *in = inst_of(src);
    return in->inner->shrink(in->inner, bytes);
}

/* A kept region of exactly `bytes`, or NULL.  Under the instance lock. */
static void *map_cache_take(struct preload_inst *in, size_t bytes)
{
    for (unsigned i = 0; i < in->cached_n; i++) {
        if (in->cached[i].bytes != bytes)
            continue;
        void *p = in->cached[i].ptr;
        in->cached[i] = in->cached[--in->cached_n];
        in->cached_bytes -= bytes;
        return p;
    }
    return NULL;
}

/* Keep a small unmapped region for the next map: 1 if kept. */
static int map_cache_put(struct preload_inst *in, void *ptr, size_t bytes)
{
    if (bytes > PRELOAD_MAP_CACHE_MAX || in->cached_n == PRELOAD_MAP_CACHE ||
        in->cached_bytes + bytes > PRELOAD_MAP_CACHE_BYTES)
        return 0;
    in->cached[in->cached_n++] = (struct cached_map){ptr, bytes};
    in->cached_bytes += bytes;
    return 1;
}

/*
 * map: a region kept from an earlier unmap when one of the same size is
 * there (the slab set maps and unmaps single pages at a high rate: each
 * munmap is a system call and, with threads, a TLB shoot-down), else a
 * fresh mapping, recorded as this instance's.
 */
static void *rec_map(struct heap_source *src, size_t bytes)
{
    struct preload_inst *in = inst_of(src);
    void *p = map_cache_take(in, bytes);
    if (p)
        return p; /* still recorded as ours */
    p = in->inner->map(in->inner, bytes);
    if (p && preload_owner_set((uintptr_t)p, bytes, in) < 0) {
        in->inner->unmap(in->inner, p, bytes);
        return NULL;
    }
    return p;
}

static void rec_unmap(struct heap_source *src, void *ptr, size_t bytes)
{
    struct preload_inst *in = inst_of(src);
    if (map_cache_put(in, ptr, bytes))
        return; /* kept, and still ours: nobody else can be given this range */
    /* Forget first: once unmapped, the range may be mapped again by anyone. */
    preload_owner_set((uintptr_t)ptr, bytes, NULL);
    in->inner->unmap(in->inner, ptr, bytes);
}

/* Give back every region kept for a next map (instance entered). */
static void map_cache_flush(struct preload_inst *in)
{
    while (in->cached_n) {
        struct cached_map m = in->cached[--in->cached_n];
        preload_owner_set((uintptr_t)m.ptr, m.bytes, NULL);
        in->inner->unmap(in->inner, m.ptr, m.bytes);
    }
    in->cached_bytes = 0;
}

static int rec_activate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct preload_inst *in = inst_of(src);
    return in->inner->activate(in->inner, ptr, bytes);
}

static void rec_deactivate(struct heap_source *src, void *ptr, size_t bytes)
{
    struct preload_inst *in = inst_of(src);
    in->inner->deactivate(in->inner, ptr, bytes);
}

/* Wrap in->inner: the same features, each one recording ownership on the way. */
static void rec_init(struct preload_inst *in)
{
    struct heap_source *s = in->inner;
    /* No lock hook: every heap call is made with the instance entered (struct call). */
    in->rec = (struct heap_source){
        .grow = rec_grow,
        .shrink = s->shrink ? rec_shrink : NULL,
        .map = s->map ? rec_map : NULL,
        .unmap = s->unmap ? rec_unmap : NULL,
        .activate = s->activate ? rec_activate : NULL,
        .deactivate = s->deactivate ? rec_deactivate : NULL,
        .page_size = s->page_size,
        .grow_limit = s->grow_limit,
        .zeroed = s->zeroed,
    };
}

/* ---------------------------------------------------------------- instances */

/* The heap of a new instance: a composite, or for the guard mode a debug heap. */
static struct heap *inst_make_heap(struct preload_inst *in, size_t guard_window)
{
    struct source_linux_config cfg = {.capacity = PRELOAD_CAPACITY};
    if (in->kind == KIND_GUARD) {
        /* the window, its records (about 1/64 of it on x86-64) and room to spare */
        cfg.capacity = guard_window + guard_window / 16 + ((size_t)16 << 20);
        cfg.flags = SOURCE_LINUX_STRICT; /* freed blocks and guards must fault */
    }
    in->inner = source_linux_create(&cfg);
    if (!in->inner)
        return NULL;
    rec_init(in);
    if (in->kind == KIND_GUARD)
        return heap_debug_create_with(&in->rec,
                                      &(struct heap_debug_config){.window_bytes = guard_window});
    /* the general heap made at the first request for it: most threads' blocks are all small */
    return heap_composite_create_with(&in->rec, HEAP_COMPOSITE_LAZY_MEDIUM);
}

/* Give `in` a heap of its own (made or adopted with none): 0, or -1 with nothing kept. */
static int inst_heap_new(struct preload_inst *in, size_t guard_window)
{
    in->heap = inst_make_heap(in, guard_window);
    if (in->heap)
        return 0;
    if (in->inner)
        source_linux_destroy(in->inner);
    in->inner = NULL;
    return -1;
}

/*
 * Instance structs, several to a page: carved in turn from chunks mapped
 * INST_CHUNK bytes at a time (their pages cost nothing until a struct is
 * written there) and never given back, since the registry keeps every
 * instance for the next thread; a struct whose heap could not be made goes
 * on a spare list for the next one.  A thread costs a third of a page here
 * instead of a page of its own.  Under reg.lock.
 */
#define INST_CHUNK ((size_t)64 << 10)

struct inst_chunk {
    struct inst_chunk *next; /* every chunk, for MM_STATS's resident count */
};

static struct {
    struct inst_chunk *chunks;
    char *next; /* the next struct of the newest chunk */
    size_t left;
    struct preload_inst *spare; /* through ->pooled */
} inst_mem;

/* Zeroed memory for an instance struct, or NULL. */
static struct preload_inst *inst_struct_new(void)
{
    /* a struct's first line must start on a line: its fields are aligned to 64 */
    size_t head = (sizeof(struct inst_chunk) + 63) & ~(size_t)63;
    pthread_mutex_lock(&reg.lock);
    struct preload_inst *in = inst_mem.spare;
    if (in) {
        inst_mem.spare = in->pooled;
        memset(in, 0, sizeof *in);
    } else if (inst_mem.left >= sizeof *in ||
               (inst_mem.next = mmap(NULL, INST_CHUNK, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) != MAP_FAILED) {
        if (inst_mem.left < sizeof *in) { /* a new chunk: link it, carve after its head */
            struct inst_chunk *c = (struct inst_chunk *)inst_mem.next;
            c->next = inst_mem.chunks;
            inst_mem.chunks = c;
            inst_mem.next += head;
            inst_mem.left = INST_CHUNK - head;
        }
        in = (struct preload_inst *)inst_mem.next;
        inst_mem.next += sizeof *in;
        inst_mem.left -= sizeof *in;
    } else {
        inst_mem.next = NULL; /* mmap failed: nothing carved, nothing left */
    }
    pthread_mutex_unlock(&reg.lock);
    return in;
}

/* Keep a struct nobody uses (its heap could not be made) for the next instance. */
static void inst_struct_spare(struct preload_inst *in)
{
    pthread_mutex_lock(&reg.lock);
    in->pooled = inst_mem.spare;
    inst_mem.spare = in;
    pthread_mutex_unlock(&reg.lock);
}

/* Resident bytes of the instance structs' chunks (MM_STATS), reg.lock held. */
static size_t inst_structs_resident_locked(void)
{
    size_t n = 0;
    for (struct inst_chunk *c = inst_mem.chunks; c; c = c->next) {
        unsigned char vec[INST_CHUNK / 4096];
        if (mincore(c, INST_CHUNK, vec) != 0)
            continue;
        for (size_t i = 0; i < sizeof vec; i++)
            n += (size_t)(vec[i] & 1) * 4096;
    }
    return n;
}

/*
 * A new instance in the registry, owned by the calling thread for a thread
 * instance, by nobody for the guard heap; NULL when memory is out
 * (nothing is kept).
 */
static struct preload_inst *inst_create(enum inst_kind kind, size_t guard_window)
{
    struct preload_inst *in = inst_struct_new();
    if (!in)
        return NULL;
    in->kind = kind;
    preload_lock_init(&in->lock, kind == KIND_THREAD ? preload_lock_self() : NULL);
    if (inst_heap_new(in, guard_window) < 0) {
        inst_struct_spare(in);
        return NULL;
    }
    pthread_mutex_lock(&reg.lock);
    in->next = reg.all;
    reg.all = in;
    pthread_mutex_unlock(&reg.lock);
    return in;
}

/* Put `in`, nobody's now, in the pool for the next new thread. */
static void inst_pool(struct preload_inst *in)
{
    preload_lock_set_owner(&in->lock, NULL);
    pthread_mutex_lock(&reg.lock);
    in->pooled = reg.pool;
    reg.pool = in;
    pthread_mutex_unlock(&reg.lock);
}

/* An instance for a new thread: an orphan to adopt, else a new one. */
static struct preload_inst *inst_for_thread(void)
{
    pthread_mutex_lock(&reg.lock);
    struct preload_inst *in = reg.pool;
    if (in) {
        reg.pool = in->pooled;
        preload_lock_set_owner(&in->lock, preload_lock_self());
    }
    pthread_mutex_unlock(&reg.lock);
    if (in && !in->heap && inst_heap_new(in, 0) < 0) {
        inst_pool(in); /* retired, and no memory for a new heap: leave it for later */
        return NULL;
    }
    return in ? in : inst_create(KIND_THREAD, 0);
}

/* ---------------------------------------------------------------- entering an instance */

static void drain_locked(struct preload_inst *in, struct remote_batch **spent);
static void orphan_settle(struct preload_inst *in, struct remote_batch **spent);
static void spent_release(struct remote_batch *list);
static int inst_retire_locked(struct preload_inst *in);

/*
 * Enter `in` for heap calls: as its owner when it is the caller's, else as
 * another thread; then free what other threads pushed to it.  Returns 0
 * (nothing entered) when the calling thread is inside `in` already: a
 * signal handler interrupted it there.
 */
static inline int call_enter(struct call *c, struct preload_inst *in)
{
    c->in = in;
    c->spent = NULL;
    c->how = in == tls_inst ? preload_lock_owner(&in->lock) : preload_lock_other(&in->lock);
    if (c->how == PRELOAD_NOT_TAKEN)
        return 0;
    if (__atomic_load_n(&in->incoming, __ATOMIC_RELAXED))
        drain_locked(in, &c->spent);
    return 1;
}

/* Keep emptied batches as spares of the caller's own instance (entered). */
static void spares_keep(struct preload_inst *in, struct remote_batch **spent)
{
    while (*spent && in->spare_n < PRELOAD_SPARES && !tls_settling && tls_state != TLS_EXITED) {
        struct remote_batch *rb = *spent;
        if (preload_owner_get(rb) == preload_direct_owner)
            return; /* a deferred free's mapping: unmapped by spent_release */
        *spent = rb->next;
        in->spare[in->spare_n++] = rb;
    }
}

/* Let go of an instance taken as another thread, settling what was pushed to it meanwhile. */
static void call_unlock(struct call *c)
{
    preload_unlock(&c->in->lock, c->how);
    if (c->how == PRELOAD_OTHER)
        orphan_settle(c->in, &c->spent);
}

/* Let go of c's instance; then give back the batches its drains emptied. */
static inline void call_leave(struct call *c)
{
    if (c->spent && c->in == tls_inst)
        spares_keep(c->in, &c->spent);
    call_unlock(c);
    if (c->spent)
        spent_release(c->spent);
}

/* Let go of t, entered inside c: its emptied batches are c's to give back. */
static void call_leave_into(struct call *t, struct call *c)
{
    call_unlock(t);
    while (t->spent) {
        struct remote_batch *rb = t->spent;
        t->spent = rb->next;
        rb->next = c->spent;
        c->spent = rb;
    }
}

/* ---------------------------------------------------------------- cross-thread frees */

static void bad_pointer(const char *fn, const void *p);

/*
 * Free p into `in` (entered).  A retired instance owns no block: p was a
 * stale pointer (freed twice, the second free racing the retirement), and
 * is reported like any pointer libmm does not own.
 */
static void heap_free_into(struct preload_inst *in, void *p)
{
    if (in->heap)
        heap_free(in->heap, p);
    else
        bad_pointer("free", p);
}

/* Free what other threads pushed to `in` (entered); the emptied batches go on *spent. */
static void drain_locked(struct preload_inst *in, struct remote_batch **spent)
{
    struct remote_batch *rb = __atomic_exchange_n(&in->incoming, NULL, __ATOMIC_ACQUIRE);
    unsigned long drained = 0;
    for (; rb; drained++) {
        struct remote_batch *next = rb->next;
        for (unsigned i = 0; i < rb->n; i++)
            heap_free_into(in, rb->ptr[i]);
        rb->next = *spent;
        *spent = rb;
        rb = next;
    }
    __atomic_sub_fetch(&in->pending, drained, __ATOMIC_RELAXED);
}

/*
 * `in` may have no owner and batches pushed to it: drain them now, if it is
 * free to take.  Whoever holds it calls this again when it lets go, after
 * its unlock; a pusher calls it after its push: each sees the other's
 * store (both fenced), so no batch is left behind.  Only tries: never waits.
 */
static void orphan_settle(struct preload_inst *in, struct remote_batch **spent)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    while (__atomic_load_n(&in->incoming, __ATOMIC_RELAXED) && !preload_lock_owned(&in->lock)) {
        enum preload_held how = preload_lock_try_unowned(&in->lock);
        if (how == PRELOAD_NOT_TAKEN)
            return; /* its holder settles it */
        drain_locked(in, spent);
        inst_retire_locked(in); /* those may have been its last blocks */
        preload_unlock_word(&in->lock, how);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

/* Push rb onto to's incoming stack; the number of batches now waiting there. */
static unsigned long batch_push(struct preload_inst *to, struct remote_batch *rb)
{
    /* Counted before it can be drained: the count never falls below the truth. */
    unsigned long waiting = __atomic_add_fetch(&to->pending, 1, __ATOMIC_RELAXED);
    rb->next = __atomic_load_n(&to->incoming, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&to->incoming, &rb->next, rb, 1, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
        ;
    return waiting;
}

/*
 * An owner that does not drain (its thread is not running: more threads
 * than CPUs) lets freed blocks pile up in its stack, memory nobody can
 * use.  Every PRELOAD_BACKLOG batches a pusher drains the stack itself,
 * if the instance is free and its owner out (a try: no thread waits).
 */
static void backlog_drain(struct call *c, struct preload_inst *to, unsigned long waiting)
{
    if (waiting % PRELOAD_BACKLOG != 0 || to == c->in)
        return;
    enum preload_held how = preload_lock_try_other(&to->lock);
    if (how == PRELOAD_NOT_TAKEN)
        return;
    drain_locked(to, &c->spent);
    preload_unlock_word(&to->lock, how);
}

static void free_block(void *p);

/* Give back emptied batches (each a block of whichever heap made it, or a mapping). */
static void spent_release(struct remote_batch *list)
{
    while (list) {
        struct remote_batch *next = list->next;
        free_block(list);
        list = next;
    }
}

/* A batch to fill: a spare, else a block of the caller's own heap (entered). */
static struct remote_batch *batch_new(struct preload_inst *self)
{
    if (self->spare_n)
        return self->spare[--self->spare_n];
    return heap_alloc(self->heap, sizeof(struct remote_batch), 0);
}

/*
 * Free the n blocks at ptr into `to` directly, waiting for its lock
 * (libmm_stats settling, or no memory for a batch).  0, nothing done, if
 * this thread holds `to` already.
 */
static int batch_free_direct(struct call *c, struct preload_inst *to, void *const *ptr, unsigned n)
{
    struct call t;
    if (!call_enter(&t, to))
        return 0;
    for (unsigned i = 0; i < n; i++)
        heap_free_into(to, ptr[i]);
    inst_retire_locked(to); /* nobody's, and those were its last blocks? */
    call_leave_into(&t, c);
    return 1;
}

/*
 * Hand over open batch i of c's instance (entered): pushed onto its
 * owner's incoming stack (settled at once if the owner has gone), or freed
 * into it directly when libmm_stats settles.
 */
static void batch_send(struct call *c, unsigned i)
{
    struct preload_inst *self = c->in, *to = self->open_to[i];
    struct remote_batch *rb = self->open[i];
    self->batches_sent++;
    self->open_n--;
    self->open_to[i] = self->open_to[self->open_n];
    self->open[i] = self->open[self->open_n];
    if (tls_settling && batch_free_direct(c, to, rb->ptr, rb->n)) {
        rb->next = c->spent; /* emptied: given back with the others */
        c->spent = rb;
        return;
    }
    unsigned long waiting = batch_push(to, rb);
    if (!preload_lock_owned(&to->lock))
        orphan_settle(to, &c->spent);
    else
        backlog_drain(c, to, waiting);
}

/* Hand over every open batch of c's instance (entered). */
static void batch_flush(struct call *c)
{
    while (c->in->open_n)
        batch_send(c, c->in->open_n - 1);
}

/* A batch to fill for `owner` in slot open_n; 0 when none can be had. */
static int batch_open(struct call *c, struct preload_inst *owner)
{
    struct preload_inst *self = c->in;
    if (self->open_n == PRELOAD_OPEN)
        batch_send(c, 0); /* the oldest slot: a batch that fills slowly */
    struct remote_batch *rb = batch_new(self);
    if (!rb)
        rb = preload_direct_alloc(sizeof *rb, 0);
    if (!rb)
        return 0;
    rb->n = 0;
    self->open_to[self->open_n] = owner;
    self->open[self->open_n++] = rb;
    return 1;
}

/*
 * A free of another thread's block, from c's instance (entered): added to
 * the batch open for its owner, which is handed over when full.  Batches
 * for up to PRELOAD_OPEN owners fill at once, so that with many threads
 * each still carries PRELOAD_BATCH blocks.
 */
static void batch_add(struct call *c, struct preload_inst *owner, void *p)
{
    struct preload_inst *self = c->in;
    unsigned i = 0;
    self->remote_frees++;
    while (i < self->open_n && self->open_to[i] != owner)
        i++;
    if (i == self->open_n && !batch_open(c, owner)) {
        if (!batch_free_direct(c, owner, &p, 1))
            preload_report("no memory to hand free(%p) to its heap: it stays allocated", p);
        return;
    }
    struct remote_batch *rb = self->open[i];
    rb->ptr[rb->n++] = p;
    if (rb->n == PRELOAD_BATCH)
        batch_send(c, i);
}

/*
 * A free made by a call that re-entered libmm (a signal handler): a batch
 * of one on a mapping of its own, pushed to the block's owner, which frees
 * it at its next call; nothing of any instance is touched here.
 */
static void free_deferred(struct preload_inst *owner, void *p)
{
    reentered_count(&reentered_frees);
    struct remote_batch *rb = preload_direct_alloc(sizeof *rb, 0);
    if (!rb) {
        preload_report("free(%p) in a signal handler: no memory to defer it; it stays allocated",
                       p);
        return;
    }
    rb->n = 1;
    rb->ptr[0] = p;
    batch_push(owner, rb);
    struct remote_batch *spent = NULL;
    if (!preload_lock_owned(&owner->lock))
        orphan_settle(owner, &spent);
    spent_release(spent);
}

/* Move every spare of `in` (entered) onto *spent, to be given back. */
static void spares_drop(struct preload_inst *in, struct remote_batch **spent)
{
    while (in->spare_n) {
        struct remote_batch *rb = in->spare[--in->spare_n];
        rb->next = *spent;
        *spent = rb;
    }
}

/*
 * Hand over an instance's batch and spares, entered as another thread: its
 * thread is gone (exit, or not copied by fork) or libmm_stats settles it.
 */
static void inst_settle(struct preload_inst *in)
{
    struct call c;
    if (!call_enter(&c, in))
        return;
    batch_flush(&c);
    spares_drop(in, &c.spent);
    call_leave(&c);
}

/*
 * An instance going to the pool keeps no reserve: the slab set's empty
 * slabs, the page heap's kept blocks and the source's kept regions are
 * given back, so that a pooled instance costs only its live blocks and
 * metadata until a new thread adopts it.
 */
static void inst_trim(struct preload_inst *in)
{
    struct call c;
    if (in->kind != KIND_THREAD || !call_enter(&c, in))
        return;
    if (in->heap)
        heap_composite_shrink(in->heap);
    map_cache_flush(in);
    call_leave(&c);
}

/*
 * Keep the counters of `in`'s heap, about to go (entered): what it did
 * stays in MM_STATS and libmm_stats; what it holds does not.
 */
static void past_keep(struct preload_inst *in, const struct heap_stats *st)
{
    struct heap_stats done = *st;
    done.bytes_in_use = done.bytes_held = done.bytes_committed = 0;
    done.live_blocks = 0;
    heap_stats_add(&in->past, &done);
}

/*
 * An exited thread's heap that holds no live block is destroyed rather
 * than pooled: its metadata, its slabs and whatever its retain budgets
 * kept all go back to the kernel, and its reservation is unmapped, so a
 * thread that has gone costs one page (the struct, kept for the next
 * thread, which makes a new heap in it).  A heap still holding blocks
 * (another thread's data, a batch some thread keeps as a spare) is pooled
 * as it is, and retired when the last of them is freed into it.  The
 * fallback instance never is: it serves threads that have no instance.
 */

/* 1 if `in` (entered, nobody's) may be retired: a thread heap with nothing in it or on its way. */
static int inst_retirable(struct preload_inst *in, struct heap_stats *st)
{
    if (in->kind != KIND_THREAD || in == fallback || !in->heap || preload_lock_owned(&in->lock))
        return 0;
    heap_stats(in->heap, st);
    return st->live_blocks == 0 && in->open_n == 0 && in->spare_n == 0 &&
           !__atomic_load_n(&in->incoming, __ATOMIC_ACQUIRE);
}

/* Retire `in` (entered) if it may be: 1 if done. */
static int inst_retire_locked(struct preload_inst *in)
{
    struct heap_stats st;
    if (!inst_retirable(in, &st))
        return 0;
    past_keep(in, &st);
    heap_composite_destroy(in->heap);
    in->heap = NULL;
    map_cache_flush(in);
    /* Forget the grown range before the reservation goes: anyone may map it next. */
    if (in->grown_hi > in->grown_lo)
        preload_owner_set(in->grown_lo, in->grown_hi - in->grown_lo, NULL);
    source_linux_destroy(in->inner);
    in->inner = NULL;
    in->grown_lo = in->grown_hi = 0;
    return 1;
}

static int inst_retire(struct preload_inst *in)
{
    struct call c;
    if (!in->heap || !call_enter(&c, in))
        return 0;
    int done = inst_retire_locked(in);
    call_leave(&c);
    return done;
}

/*
 * Retire every pooled heap that has become empty since it was pooled: one
 * whose blocks other threads still held when its thread exited (data
 * handed over, batches they kept as spares) empties as they free them.
 * Run at each thread exit; the registry lock before an instance's lock, as in fork.
 */
static void pool_retire_empty(void)
{
    pthread_mutex_lock(&reg.lock);
    for (struct preload_inst *in = reg.pool; in; in = in->pooled)
        inst_retire(in);
    pthread_mutex_unlock(&reg.lock);
}

/* Thread exit (the key's destructor): the instance becomes nobody's, then pooled. */
static void thread_exit(void *arg)
{
    struct preload_inst *in = arg;
    tls_state = TLS_EXITED; /* no more spares kept */
    /* Still the owner: its batch, spares and drained batches go back the
     * cheap way (batched to their heaps), a few rounds as they refill it. */
    for (unsigned round = 0; round < 4; round++) {
        struct call c;
        if (!call_enter(&c, in))
            break;
        spares_drop(in, &c.spent);
        batch_flush(&c);
        int more = c.spent != NULL;
        call_leave(&c);
        if (!more && in->open_n == 0)
            break;
    }
    tls_inst = NULL; /* later allocations on this thread: the fallback instance */
    /* Nobody's first: from now on batches for it are settled by their pushers. */
    preload_lock_set_owner(&in->lock, NULL);
    if (preload_lock_owned(&in->lock)) {
        /* Ending in a handler that interrupted this heap: never to be used again. */
        preload_lock_abandon(&in->lock);
        return;
    }
    inst_settle(in);
    if (!inst_retire(in))
        inst_trim(in);
    inst_pool(in);
    pool_retire_empty();
}

/* ---------------------------------------------------------------- fork */

static void fork_prepare(void)
{
    pthread_mutex_lock(&reg.lock);
    for (struct preload_inst *in = reg.all; in; in = in->next)
        in->fork_held = preload_lock_other(&in->lock);
}

static void fork_parent(void)
{
    for (struct preload_inst *in = reg.all; in; in = in->next)
        if (in->fork_held != PRELOAD_NOT_TAKEN)
            preload_unlock_word(&in->lock, in->fork_held);
    pthread_mutex_unlock(&reg.lock);
}

/* The child has one thread: every other thread's instance is an orphan now. */
static void fork_child(void)
{
    pthread_mutex_init(&reg.lock, NULL);
    preload_lock_setup(); /* the registration for membarrier is the parent's */
    struct preload_inst *dead = NULL;
    for (struct preload_inst *in = reg.all; in; in = in->next) {
        if (preload_lock_abandoned(&in->lock)) {
            in->lock.word = NULL, in->lock.others = 0; /* stays abandoned */
            continue;
        }
        int orphan = in->kind == KIND_THREAD && in != tls_inst && in->lock.owner;
        preload_lock_init(&in->lock, in == tls_inst ? preload_lock_self() : NULL);
        if (orphan) {
            in->pooled = dead;
            dead = in;
        }
    }
    /* Every orphan is nobody's before any is settled: their batches are then freed at once. */
    while (dead) {
        struct preload_inst *next = dead->pooled;
        inst_settle(dead);
        dead->pooled = reg.pool;
        reg.pool = dead;
        dead = next;
    }
}
/* ---------------------------------------------------------------- start-up */

/*
 * The hardening secret (free-list link mangling, mm/heap.h): 16 random
 * bytes the kernel gives every process (AT_RANDOM), folded, instead of the
 * instance address alone.
 */
static void seed_secret(void)
{
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    if (!r)
        return;
    uint64_t a, b;
    memcpy(&a, r, sizeof a);
    memcpy(&b, r + 8, sizeof b);
    heap_set_secret_seed((uintptr_t)(a ^ (b << 17 | b >> 47)));
}

/*
 * MM_STATS_FILE (which also turns MM_STATS on), kept now: the program may
 * change its environment before it exits.  With statistics on, stderr is
 * copied (close-on-exec, above the descriptors programs count on) for the
 * report at exit.
 */
static void stats_env(void)
{
    const char *f = getenv("MM_STATS_FILE");
    if (f && *f) {
        if (strlen(f) < sizeof stats_path) {
            strcpy(stats_path, f);
            print_stats = 1;
        } else {
            preload_print("libmm: MM_STATS_FILE is longer than %d bytes: ignored",
                          STATS_PATH_MAX - 1);
        }
    }
    if (!print_stats)
        return;
    stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 100);
    if (stats_fd < 0)
        stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 3); /* a low limit on descriptors */
    if (stats_fd >= 0 && fstat(stats_fd, &stats_fd_was) != 0) {
        close(stats_fd);
        stats_fd = -1;
    }
}

/*
 * The copy of stderr, if it is still the file it was made for: a program
 * that closes every descriptor (a daemon) may have given its number to a
 * file of its own since, which the report must not be written into.
 * Else fd 2 as it is now.
 */
static int stats_stderr(void)
{
    struct stat now;
    if (stats_fd >= 0 && fstat(stats_fd, &now) == 0 && now.st_dev == stats_fd_was.st_dev &&
        now.st_ino == stats_fd_was.st_ino)
        return stats_fd;
    return 2;
}

static void read_env(void)
{
    const char *s = getenv("MM_BAD_FREE");
    if (s && strcmp(s, "abort") == 0)
        preload_set_policy(PRELOAD_ABORT);
    else if (s && strcmp(s, "silent") == 0)
        preload_set_policy(PRELOAD_SILENT);
    else if (s && *s && strcmp(s, "report") != 0)
        preload_print("libmm: MM_BAD_FREE=%s is not report, abort or silent: using report", s);
    s = getenv("MM_STATS");
    print_stats = s && *s && strcmp(s, "0") != 0;
    stats_env();
}

/*
 * Everything global, once; the calling thread gets the first instance.
 * Allocations start-up causes itself go to that instance too.
 */
static void global_init_locked(void)
{
    read_env();
    preload_lock_setup(); /* before any instance, while the process has one thread */
    seed_secret();        /* before the first instance: each keeps the secret it was made with */
    fallback = inst_create(KIND_THREAD, 0);
    if (!fallback)
        return;
    __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    tls_state = TLS_STARTING; /* pthread_atfork may allocate: serve it from fallback */
    size_t window;
    if (preload_guard_config(&window)) {
        guard = inst_create(KIND_GUARD, window);
        if (guard)
            preload_guard_start(guard->heap);
        else
            preload_print("libmm: MM_GUARD: cannot reserve the guard window; guard mode off");
    }
    pthread_key_create(&exit_key, thread_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    pthread_setspecific(exit_key, fallback);
    tls_inst = fallback;
    tls_state = TLS_ACTIVE;
    __atomic_store_n(&ready, 2, __ATOMIC_RELEASE);
}

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* 0 when the fallback instance exists (start-up may still be under way on this thread). */
static int global_init(void)
{
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) == 2)
        return 0;
    if (tls_state == TLS_STARTING)
        return fallback ? 0 : -1; /* start-up allocating on this very thread */
    pthread_mutex_lock(&init_lock);
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) == 0)
        global_init_locked();
    pthread_mutex_unlock(&init_lock);
    return fallback ? 0 : -1;
}

/* The calling thread's instance, made on first use; NULL only when memory is out. */
static struct preload_inst *self_slow(void)
{
    if (global_init() < 0)
        return NULL;
    if (tls_state != TLS_NEW || __atomic_load_n(&ready, __ATOMIC_ACQUIRE) != 2)
        return fallback; /* starting up, being given an instance, or exited */
    tls_state = TLS_STARTING;
    struct preload_inst *in = inst_for_thread();
    if (!in) {
        tls_state = TLS_NEW;
        return fallback;
    }
    pthread_setspecific(exit_key, in); /* may allocate: served by fallback */
    tls_inst = in;
    tls_state = TLS_ACTIVE;
    return in;
}

static inline struct preload_inst *self(void)
{
    struct preload_inst *in = tls_inst;
    return __builtin_expect(in != NULL, 1) ? in : self_slow();
}

/* The instance a new block comes from: the guard heap's when it picks this one. */
static struct preload_inst *alloc_inst(void)
{
    if (guard && preload_guard_pick())
        return guard;
    return self();
}

static void *check_result(void *p)
{
    if (!p)
        errno = ENOMEM;
    return p;
}

/*
 * Run call_on_heap on the instance's heap, entered once for the whole call;
 * from the guard heap, or when its window is full from the thread's own.
 * A call that re-entered libmm gets direct_call instead (preload_direct.c).
 */
#define ALLOC_WITH(call_on_heap, direct_call)                                                      \
    do {                                                                                           \
        struct preload_inst *in_ = alloc_inst();                                                   \
        struct call c_;                                                                            \
        void *p_ = NULL;                                                                           \
        if (!in_)                                                                                  \
            return check_result(NULL);                                                             \
        if (!call_enter(&c_, in_)) {                                                               \
            reentered_count(&reentered_allocs);                                                    \
            return check_result(direct_call);                                                      \
        }                                                                                          \
        p_ = call_on_heap(in_->heap);                                                              \
        call_leave(&c_);                                                                           \
        if (!p_ && in_ == guard && (in_ = self()) != NULL && call_enter(&c_, in_)) {               \
            p_ = call_on_heap(in_->heap);                                                          \
            call_leave(&c_);                                                                       \
        }                                                                                          \
        return check_result(p_);                                                                   \
    } while (0)

/* ---------------------------------------------------------------- the malloc family */

static void bad_pointer(const char *fn, const void *p)
{
    preload_report("%s(%p): not a block allocated by libmm; ignored", fn, p);
}

/*
 * free into owner, from whichever thread: the caller's own heap directly,
 * another thread's block batched, an instance nobody uses (or the guard
 * heap) entered as another thread.  Always inlined into free, so that the
 * debug heap's free trace (a few frames deep) reaches past libmm into the
 * program.
 */
static inline __attribute__((always_inline)) void free_owned(struct preload_inst *owner, void *p)
{
    struct preload_inst *self = tls_inst;
    struct call c;
    if (owner->kind == KIND_GUARD) {
        if (!call_enter(&c, owner)) {
            free_deferred(owner, p);
            return;
        }
        preload_guard_freeing((uintptr_t)p);
        heap_free(owner->heap, p);
        preload_guard_freeing(0);
    } else if (self && (owner == self || !tls_settling)) {
        if (!call_enter(&c, self)) {
            free_deferred(owner, p);
            return;
        }
        if (owner == self)
            heap_free(self->heap, p);
        else
            batch_add(&c, owner, p);
    } else {
        if (!call_enter(&c, owner)) {
            free_deferred(owner, p);
            return;
        }
        heap_free_into(owner, p);
    }
    call_leave(&c);
}

static inline __attribute__((always_inline)) void free_impl(void *p)
{
    if (!p)
        return;
    void *owner = preload_owner_get(p);
    if (owner == preload_direct_owner) {
        if (preload_direct_free(p) < 0)
            bad_pointer("free", p);
    } else if (!owner) {
        bad_pointer("free", p);
    } else {
        free_owned(owner, p);
    }
}

/* free for libmm's own blocks (spent batches): not inlined, nothing traces through it. */
static void free_block(void *p)
{
    free_impl(p);
}

/*
 * The owner's own call, when nothing else needs doing: no batch waiting
 * to be drained, no other thread wanting in.  Returns 1 with the instance
 * entered (leave with self_leave_fast), else 0 with nothing entered: the
 * general path (call_enter) then does whatever there is to do.  A batch
 * pushed between the check and the entry is drained at the next call,
 * as it would be had it been pushed a moment later.
 */
static inline int self_enter_fast(struct preload_inst *in)
{
    if (__atomic_load_n(&in->incoming, __ATOMIC_RELAXED))
        return 0;
    enum preload_held how = preload_lock_owner(&in->lock);
    if (__builtin_expect(how == PRELOAD_OWNER_FAST, 1))
        return 1;
    if (how != PRELOAD_NOT_TAKEN)
        preload_unlock(&in->lock, how); /* another thread waits: the general path queues */
    return 0;
}

static inline void self_leave_fast(struct preload_inst *in)
{
    preload_unlock(&in->lock, PRELOAD_OWNER_FAST);
}

/* Every free but free's short path: kept out of free, so that path saves no registers for it. */
__attribute__((noinline)) static void free_general(void *p)
{
    free_impl(p);
}

/*
 * free: a block of the caller's own heap, with nothing else to do, is
 * freed straight into it (no struct call, no batch check, no spent list);
 * everything else is free_general's, reached by a jump, not a call
 * (PRELOAD_JUMPS), so the guard heap's call-site trace sees the same
 * frames as if it were inlined here.
 */
PRELOAD_EXPORT PRELOAD_JUMPS void free(void *p)
{
    struct preload_inst *self = tls_inst;
    if (__builtin_expect(p && self && preload_owner_get(p) == self, 1) && self_enter_fast(self)) {
        heap_free(self->heap, p);
        self_leave_fast(self);
        return;
    }
    free_general(p);
}

#define MALLOC_ON(h) mm_malloc(h, n)
static inline __attribute__((always_inline)) void *malloc_impl(size_t n)
{
    ALLOC_WITH(MALLOC_ON, preload_direct_alloc(n, 0));
}

/* Every malloc but malloc's short path (see free_general). */
__attribute__((noinline)) static void *malloc_general(size_t n)
{
    return malloc_impl(n);
}

/* malloc: the caller's own heap entered the short way when it can (self_enter_fast). */
PRELOAD_EXPORT PRELOAD_JUMPS void *malloc(size_t n)
{
    struct preload_inst *in = tls_inst;
    if (__builtin_expect(in && !guard, 1) && self_enter_fast(in)) {
        void *p = mm_malloc(in->heap, n);
        self_leave_fast(in);
        return p ? p : check_result(NULL);
    }
    return malloc_general(n);
}

/*
 * calloc's zeroing.  A large block is mostly whole pages: writing zeros
 * over them would make every page resident even when the program touches
 * a few (a sparse table), where glibc's fresh mapping costs nothing until
 * touched.  So the whole pages go back to the kernel instead
 * (MADV_DONTNEED: the next touch of each brings a zeroed page, as a fresh
 * mapping would) and only the partial pages at either end are written.
 * The block is the caller's alone, so no other data is on those pages.
 * Below PRELOAD_CALLOC_DROP a memset costs less than the system call and
 * the faults after it.
 */
#define PRELOAD_CALLOC_DROP ((size_t)128 << 10)

static void *calloc_zero(void *p, size_t n)
{
    if (!p || n < PRELOAD_CALLOC_DROP) {
        if (p)
            memset(p, 0, n);
        return p;
    }
    uintptr_t start = (uintptr_t)p, end = start + n;
    uintptr_t page = MM_PAGE_SIZE;
    uintptr_t first = (start + page - 1) & ~(page - 1), last = end & ~(page - 1);
    if (madvise((void *)first, last - first, MADV_DONTNEED) != 0)
        first = last = end; /* refused: write every byte */
    memset(p, 0, first - start);
    memset((void *)last, 0, end - last);
    return p;
}

#define CALLOC_ON(h) calloc_zero(mm_malloc(h, nmemb * size), nmemb * size)
PRELOAD_EXPORT void *calloc(size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        return check_result(NULL);                                /* the product would wrap */
    ALLOC_WITH(CALLOC_ON, preload_direct_alloc(nmemb * size, 0)); /* a new mapping is zeroed */
}

/*
 * The usable size of owner's block p into *n (0: not a live block).
 * Returns 0, nothing read, when the call re-entered that heap: a signal
 * handler interrupted this thread inside it, and its size is unreadable.
 */
static int owned_size(struct preload_inst *owner, const void *p, size_t *n)
{
    struct call c;
    if (!call_enter(&c, owner)) {
        reentered_count(&reentered_refused);
        return 0;
    }
    *n = owner->heap ? heap_size(owner->heap, p) : 0;
    call_leave(&c);
    return 1;
}

/* realloc by copying into a new block: p is another instance's, a direct block, or guarded. */
static void *realloc_move(void *owner, void *p, size_t n)
{
    size_t old;
    if (owner == preload_direct_owner)
        old = preload_direct_size(p);
    else if (!owned_size(owner, p, &old))
        return check_result(NULL); /* re-entering: the block stays as it is */
    if (old == 0) {
        preload_report("realloc(%p): not a live block (already freed, or interior)", p);
        return NULL;
    }
    void *q = malloc_impl(n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    free_impl(p);
    return q;
}

PRELOAD_EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc_impl(n);
    void *owner = preload_owner_get(p);
    if (!owner) {
        bad_pointer("realloc", p);
        return NULL;
    }
    struct preload_inst *to = alloc_inst();
    if (!to)
        return check_result(NULL);
    if (owner != to || to == guard)
        return realloc_move(owner, p, n);
    struct call c;
    if (!call_enter(&c, to)) {
        reentered_count(&reentered_refused);
        return check_result(NULL); /* re-entering: the block cannot be read safely */
    }
    void *q = mm_realloc(to->heap, p, n); /* in place when it can */
    call_leave(&c);
    return check_result(q);
}

PRELOAD_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL; /* the product would wrap: never a short block */
    }
    return realloc(p, nmemb * size);
}

#define MEMALIGN_ON(h) mm_memalign(h, align, n)
PRELOAD_EXPORT void *memalign(size_t align, size_t n)
{
    if (align == 0 || !heap_align_valid(align)) {
        errno = EINVAL;
        return NULL;
    }
    ALLOC_WITH(MEMALIGN_ON, preload_direct_alloc(n, align));
}

PRELOAD_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

PRELOAD_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align == 0 || !heap_align_valid(align) || align % sizeof(void *) != 0)
        return EINVAL;
    void *p = memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

#define VALLOC_ON(h) mm_valloc(h, n)
PRELOAD_EXPORT void *valloc(size_t n)
{
    ALLOC_WITH(VALLOC_ON, preload_direct_alloc(n, 4096));
}

#define PVALLOC_ON(h) mm_pvalloc(h, n)
PRELOAD_EXPORT void *pvalloc(size_t n)
{
    ALLOC_WITH(PVALLOC_ON, preload_direct_alloc(n, 4096));
}

PRELOAD_EXPORT size_t malloc_usable_size(void *p)
{
    void *owner = p ? preload_owner_get(p) : NULL;
    size_t n = 0;
    if (owner == preload_direct_owner)
        n = preload_direct_size(p);
    else if (owner && !owned_size(owner, p, &n))
        n = 0; /* re-entering its heap: unreadable */
    return n;
}

/* ---------------------------------------------------------------- statistics */

static const char *kind_name(const struct preload_inst *in)
{
    return in->kind == KIND_GUARD ? "guard" : "thread";
}

static void stats_print_one(int fd, const char *what, const struct heap_stats *st)
{
    preload_print_fd(fd, "libmm: %-8s in use %zu B (peak %zu), held %zu B, committed %zu B, "
                  "live %zu, allocs %zu, frees %zu, failed %zu, reports %zu",
                  what, st->bytes_in_use, st->bytes_peak, st->bytes_held, st->bytes_committed,
                  st->live_blocks, st->alloc_calls, st->free_calls, st->failed_calls,
                  st->reported_errors);
}

/* Give back `in`'s spares and what was pushed to it, entered (libmm_stats: frees go direct). */
static void stats_settle(struct preload_inst *in)
{
    struct call c;
    if (!call_enter(&c, in))
        return;
    if (in == tls_inst)
        batch_flush(&c);
    spares_drop(in, &c.spent);
    call_leave(&c);
}

/* What the instances' sources hold, for the memory line of MM_STATS. */
struct mem_tally {
    int instances, retired;
    size_t committed, mapped, cached;
    size_t structs; /* resident bytes of the instance structs' chunks */
};

/* `in`'s heap_stats into *st, its source's figures added to *mem; entered for the reading. */
static void stats_read(struct preload_inst *in, struct heap_stats *st, struct mem_tally *mem)
{
    struct call c;
    memset(st, 0, sizeof *st);
    mem->instances++;
    if (!call_enter(&c, in))
        return;
    if (in->heap)
        heap_stats(in->heap, st);
    heap_stats_add(st, &in->past);
    mem->retired += in->kind == KIND_THREAD && !in->heap;
    if (in->inner) { /* a retired instance has none: retired under its lock, so not now */
        struct source_linux_stats src;
        source_linux_stats(in->inner, &src);
        mem->committed += src.committed;
        mem->mapped += src.mapped;
        mem->cached += in->cached_bytes;
    }
    call_leave(&c);
}

/*
 * Where the process's memory goes, beyond the heaps' own counts: what the
 * sources have committed or mapped (the heaps' blocks, their metadata and
 * what they keep), the part of it kept for the next maps, the owner map's
 * resident pages and the instance structs' (several to a page).
 */
static void stats_print_memory(int fd, const struct mem_tally *m)
{
    preload_print_fd(fd,
                     "libmm: memory: %d instances (%d retired), sources %zu KiB committed + %zu "
                     "KiB mapped (%zu KiB of it kept for the next maps), owner map %zu KiB "
                     "resident, instance structs %zu KiB resident",
                     m->instances, m->retired, m->committed >> 10, m->mapped >> 10,
                     m->cached >> 10, preload_owner_resident() >> 10, m->structs >> 10);
}

/* libmm_stats, printing to fd (-1: not at all). */
static int stats_collect(struct heap_stats *sum, int fd)
{
    memset(sum, 0, sizeof *sum);
    tls_settling = 1;
    if (tls_inst)
        stats_settle(tls_inst);
    pthread_mutex_lock(&reg.lock);
    for (struct preload_inst *in = reg.all; in; in = in->next)
        stats_settle(in);
    tls_settling = 0;
    int n = 0;
    unsigned long remote = 0, batches = 0;
    struct mem_tally mem = {0};
    for (struct preload_inst *in = reg.all; in; in = in->next, n++) {
        struct heap_stats st;
        stats_read(in, &st, &mem);
        remote += in->remote_frees; /* read without the lock: for display */
        batches += in->batches_sent;
        heap_stats_add(sum, &st);
        if (fd >= 0)
            stats_print_one(fd, kind_name(in), &st);
    }
    mem.structs = inst_structs_resident_locked();
    pthread_mutex_unlock(&reg.lock);
    if (fd >= 0) {
        stats_print_one(fd, "total", sum);
        preload_print_fd(fd, "libmm: cross-thread frees %lu in %lu batches", remote, batches);
        preload_print_fd(fd,
                         "libmm: re-entered (signal handlers): %lu blocks mapped apart, %lu frees "
                         "deferred, %lu reallocs/sizes refused",
                         __atomic_load_n(&reentered_allocs, __ATOMIC_RELAXED),
                         __atomic_load_n(&reentered_frees, __ATOMIC_RELAXED),
                         __atomic_load_n(&reentered_refused, __ATOMIC_RELAXED));
        stats_print_memory(fd, &mem);
    }
    return n;
}

PRELOAD_EXPORT int libmm_stats(struct heap_stats *sum, int print)
{
    return stats_collect(sum, print ? 2 : -1);
}

/* stats_path with each %p replaced by the process id ("%%": one '%'); 0, or -1 if too long. */
static int stats_path_expand(char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = stats_path; *p; p++) {
        char piece[24] = {*p, 0};
        if (p[0] == '%' && (p[1] == 'p' || p[1] == '%')) {
            if (*++p == 'p')
                snprintf(piece, sizeof piece, "%ld", (long)getpid());
        }
        size_t len = strlen(piece);
        if (o + len >= n)
            return -1;
        memcpy(out + o, piece, len);
        o += len;
    }
    out[o] = 0;
    return 0;
}

/*
 * The descriptor for the report at exit: MM_STATS_FILE opened for
 * appending (*opened = 1: close it after), else the copy of stderr, else
 * fd 2 as it is now.  A file that cannot be opened is said so on stderr,
 * where the report then goes.
 */
static int stats_out(int *opened)
{
    int err = stats_stderr();
    *opened = 0;
    if (!stats_path[0])
        return err;
    char path[STATS_PATH_MAX + 64];
    int fd = -1;
    if (stats_path_expand(path, sizeof path) == 0)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        preload_print_fd(err, "libmm: MM_STATS_FILE=%s: cannot open it (%s); the report follows here",
                         stats_path, strerror(errno));
        return err;
    }
    *opened = 1;
    return fd;
}

__attribute__((destructor)) static void stats_at_exit(void)
{
    if (print_stats && fallback) {
        struct heap_stats sum;
        int opened, fd = stats_out(&opened);
        stats_collect(&sum, fd);
        if (opened)
            close(fd);
    }
}

/* Start when loaded, so MM_* settings and the guard mode apply from the first call on. */
__attribute__((constructor)) static void start(void)
{
    global_init();
}
