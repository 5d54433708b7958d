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
 * another thread's instance is put in the caller's remote-free batch (an
 * array of PRELOAD_BATCH pointers, so a double free can never tie a list
 * into a loop).  A full batch, or one whose owner changes, is copied into
 * a struct remote_batch allocated from the caller's own heap and pushed,
 * lock-free, onto the owner's incoming stack; the owner frees what is there
 * at its next malloc or free, under its own lock, which it takes anyway.
 * An owner that no thread uses (exited, pooled) is freed into directly
 * under its lock.  A thread hands over its last batch and drains its stack
 * when it exits; batches pushed after that wait for the thread that adopts
 * the instance (libmm_stats settles them too).
 *
 * Locking.  Each instance has a lock of its own (struct inst_lock: a
 * recursive spinlock that yields the CPU when it has to wait), given to the
 * heap as its source's lock hook, so every heap operation holds it; a
 * malloc or free takes it once around the whole call, and the heap's own
 * takes inside only count.  The owner thread is normally its only user, so
 * the lock is uncontended on the fast path; another thread takes it to read
 * a block's size (malloc_usable_size, realloc), to free into an instance
 * nobody owns, or to drain it (libmm_stats).  There is no global lock on
 * any allocation or free: the registry lock is taken only to create,
 * retire or adopt an instance.  No path holds two instance locks at once,
 * except fork's prepare handler, which takes them all in registry order.
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
 * first instance made, the one of the thread that started the library.
 * Every heap operation takes the instance's lock, so an instance serving
 * a second thread now and then needs nothing more.  Nothing here calls
 * dlsym or the previous malloc, so there is no start-up recursion to break
 * beyond that.
 *
 * fork(): the prepare handler takes the registry lock and every instance's
 * lock, so the child gets every heap in a consistent state; the child
 * re-initialises the locks (it is single-threaded), hands the batches of
 * the threads that did not survive to their owners, and pools their
 * instances for adoption.
 *
 * Costs: malloc = a TLS load, one check of the incoming stack, an
 * uncontended lock (one compare-and-swap, one store) and the composite's
 * cost; free = two dependent loads (owner map) and the same; a cross-thread
 * free = an array store, plus per PRELOAD_BATCH of them one small
 * allocation and one compare-and-swap on the owner's stack, and the frees
 * done later by the owner.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm/heap.h"
#include "mm/heap_composite.h"
#include "mm/heap_debug.h"
#include "mm/host/preload/libmm.h"
#include "mm/host/preload/preload.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"

#define PRELOAD_EXPORT __attribute__((visibility("default")))
#define PRELOAD_BATCH 64
#define PRELOAD_CAPACITY ((size_t)4 << 30) /* per-thread reservation */

/* Small unmapped regions a source keeps for its next map: how many, how much in all. */
#define PRELOAD_MAP_CACHE 32
#define PRELOAD_MAP_CACHE_BYTES ((size_t)64 << 10)
#define PRELOAD_MAP_CACHE_MAX ((size_t)64 << 10) /* largest region kept */

enum inst_kind { KIND_THREAD, KIND_GUARD };

/*
 * A batch of cross-thread frees on its way to the owner: allocated from the
 * freeing thread's own heap, pushed onto the owner's incoming stack, freed
 * block by block by the owner on its next malloc or free.
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

/*
 * An instance's lock: recursive, so that a malloc or free takes it once and
 * the heap's own lock calls inside (one per sub-heap operation) only count.
 * The owner thread is almost always the only taker: one compare-and-swap to
 * take it, one store to drop it; a contended taker spins, yielding the CPU.
 */
struct inst_lock {
    int word;           /* 0 free, 1 held */
    unsigned depth;     /* holder's nesting */
    const void *holder; /* the holding thread's tls_self address */
};

struct preload_inst {
    struct heap_source rec;    /* first: the recording source handed to the heap */
    struct heap_source *inner; /* the source_linux behind it */
    struct heap *heap;
    /* the heap's lock hook, a batch hand-over, a whole malloc/free; other
     * threads take it: a cache line of its own, apart from the owner's batch */
    struct inst_lock lock __attribute__((aligned(64)));
    unsigned cached_n; /* unmapped regions kept for the next map (under lock) */
    size_t cached_bytes;
    struct cached_map cached[PRELOAD_MAP_CACHE];
    enum inst_kind kind;
    int owned;                   /* a live thread uses it (registry lock) */
    struct preload_inst *next;   /* registry: every instance ever made */
    struct preload_inst *pooled; /* pool of instances nobody owns */
    /* batches other threads pushed, not freed yet: a lock-free stack (push by
     * anyone, take-all by whoever drains), on a cache line of its own */
    struct remote_batch *incoming __attribute__((aligned(64)));
    struct preload_inst *to __attribute__((aligned(64))); /* owner of the blocks in batch[] */
    unsigned batch_n;           /* written only by the thread using this instance */
    void *batch[PRELOAD_BATCH]; /* blocks freed here that belong to `to` */
};

enum { TLS_NEW, TLS_STARTING, TLS_ACTIVE, TLS_EXITED };
static __thread struct preload_inst *tls_inst __attribute__((tls_model("initial-exec")));
static __thread int tls_state __attribute__((tls_model("initial-exec")));
/* libmm_stats is settling every count: batches are freed directly, never pushed */
static __thread int tls_settling __attribute__((tls_model("initial-exec")));

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct preload_inst *registry; /* reg_lock */
static struct preload_inst *pool;     /* reg_lock */
static struct preload_inst *fallback; /* the first instance: for threads without one */
static struct preload_inst *guard;    /* the guard-page heap, or NULL */
static pthread_key_t exit_key;
static int ready; /* 0 nothing, 1 fallback exists, 2 complete */
static int print_stats;

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

/* The address of a thread-local variable: a cheap, unique name for the calling thread. */
static __thread char tls_self __attribute__((tls_model("initial-exec")));

static void inst_lock(struct preload_inst *in)
{
    struct inst_lock *l = &in->lock;
    if (__atomic_load_n(&l->holder, __ATOMIC_RELAXED) == &tls_self) {
        l->depth++; /* only the holder itself can see its own name here */
        return;
    }
    for (unsigned spins = 0;; spins++) {
        int free_word = 0;
        if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&l->word, &free_word, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
        if (spins > 64)
            sched_yield(); /* the holder may not be running: more threads than CPUs */
        else
            __builtin_ia32_pause();
    }
    __atomic_store_n(&l->holder, &tls_self, __ATOMIC_RELAXED);
    l->depth = 1;
}

static void inst_unlock(struct preload_inst *in)
{
    struct inst_lock *l = &in->lock;
    if (--l->depth)
        return;
    __atomic_store_n(&l->holder, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
}

static void rec_lock(struct heap_source *src)
{
    inst_lock(inst_of(src));
}

static void rec_unlock(struct heap_source *src)
{
    inst_unlock(inst_of(src));
}

/* The child of a fork: only the forking thread exists, whoever held the lock. */
static void inst_lock_init(struct preload_inst *in)
{
    in->lock = (struct inst_lock){0};
}

/* Wrap in->inner: the same features, each one recording ownership on the way. */
static void rec_init(struct preload_inst *in)
{
    struct heap_source *s = in->inner;
    in->rec = (struct heap_source){
        .grow = rec_grow,
        .shrink = s->shrink ? rec_shrink : NULL,
        .map = s->map ? rec_map : NULL,
        .unmap = s->unmap ? rec_unmap : NULL,
        .activate = s->activate ? rec_activate : NULL,
        .deactivate = s->deactivate ? rec_deactivate : NULL,
        .lock = rec_lock,
        .unlock = rec_unlock,
        .page_size = s->page_size,
        .grow_limit = s->grow_limit,
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
    return heap_composite_create(&in->rec);
}

/* A new instance in the registry, or NULL (out of memory: nothing is kept). */
static struct preload_inst *inst_create(enum inst_kind kind, size_t guard_window)
{
    struct preload_inst *in =
        mmap(NULL, sizeof *in, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (in == MAP_FAILED)
        return NULL;
    in->kind = kind;
    inst_lock_init(in);
    in->heap = inst_make_heap(in, guard_window);
    if (!in->heap) {
        if (in->inner)
            source_linux_destroy(in->inner);
        munmap(in, sizeof *in);
        return NULL;
    }
    pthread_mutex_lock(&reg_lock);
    in->owned = kind == KIND_THREAD;
    in->next = registry;
    registry = in;
    pthread_mutex_unlock(&reg_lock);
    return in;
}

/* An instance for a new thread: an orphan to adopt, else a new one. */
static struct preload_inst *inst_for_thread(void)
{
    pthread_mutex_lock(&reg_lock);
    struct preload_inst *in = pool;
    if (in) {
        pool = in->pooled;
        in->owned = 1;
    }
    pthread_mutex_unlock(&reg_lock);
    return in ? in : inst_create(KIND_THREAD, 0);
}

/* Free the blocks of from's batch into their owner directly, under the owner's lock once. */
static void batch_free_locked(struct preload_inst *from)
{
    struct preload_inst *to = from->to;
    inst_lock(to);
    for (unsigned i = 0; i < from->batch_n; i++)
        heap_free(to->heap, from->batch[i]);
    inst_unlock(to);
}

/*
 * Hand the blocks batched in `from` to their owner.  An owner with a live
 * thread gets them as one remote_batch pushed onto its incoming stack (no
 * lock: the owner frees them on its next operation); an owner nobody uses
 * now, or a batch that cannot be allocated, is freed into directly.
 */
static void batch_flush(struct preload_inst *from)
{
    struct preload_inst *to = from->to;
    if (from->batch_n == 0)
        return;
    struct remote_batch *rb = NULL;
    if (__atomic_load_n(&to->owned, __ATOMIC_RELAXED) && to != from && !tls_settling) {
        inst_lock(from);
        rb = heap_alloc(from->heap, sizeof *rb, 0);
        inst_unlock(from);
    }
    if (rb) {
        rb->n = from->batch_n;
        memcpy(rb->ptr, from->batch, rb->n * sizeof rb->ptr[0]);
        rb->next = __atomic_load_n(&to->incoming, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&to->incoming, &rb->next, rb, 1, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED))
            ;
    } else {
        batch_free_locked(from);
    }
    __atomic_store_n(&from->batch_n, 0, __ATOMIC_RELEASE);
}

static void free_owned_any(struct preload_inst *owner, void *p);

/*
 * Free what other threads pushed to `in` (under in's lock, taken here; it
 * nests in the caller's).  Each remote_batch goes back to the heap it came
 * from like any block.  Called by the owner at each malloc/free, at its
 * exit, and by libmm_stats for every instance.
 */
static void drain_incoming(struct preload_inst *in)
{
    if (!__atomic_load_n(&in->incoming, __ATOMIC_RELAXED))
        return;
    struct remote_batch *rb = __atomic_exchange_n(&in->incoming, NULL, __ATOMIC_ACQUIRE);
    inst_lock(in);
    while (rb) {
        struct remote_batch *next = rb->next;
        for (unsigned i = 0; i < rb->n; i++)
            heap_free(in->heap, rb->ptr[i]);
        struct preload_inst *maker = preload_owner_get(rb);
        if (maker)
            free_owned_any(maker, rb);
        rb = next;
    }
    inst_unlock(in);
}

/* A free of another thread's block: batched for its owner. */
static void batch_add(struct preload_inst *self, struct preload_inst *owner, void *p)
{
    if (self->to != owner) {
        batch_flush(self);
        self->to = owner;
    }
    self->batch[self->batch_n] = p;
    __atomic_store_n(&self->batch_n, self->batch_n + 1, __ATOMIC_RELEASE);
    if (self->batch_n == PRELOAD_BATCH)
        batch_flush(self);
}

/* Thread exit (the key's destructor): return the batch, pool the instance. */
static void thread_exit(void *arg)
{
    struct preload_inst *in = arg;
    batch_flush(in);
    drain_incoming(in); /* what arrives later waits for the adopter (or libmm_stats) */
    batch_flush(in);    /* the drained batches' own blocks */
    tls_inst = NULL;
    tls_state = TLS_EXITED; /* later allocations on this thread: the fallback instance */
    pthread_mutex_lock(&reg_lock);
    __atomic_store_n(&in->owned, 0, __ATOMIC_RELAXED);
    in->pooled = pool;
    pool = in;
    pthread_mutex_unlock(&reg_lock);
}

/* ---------------------------------------------------------------- fork */

static void fork_prepare(void)
{
    pthread_mutex_lock(&reg_lock);
    for (struct preload_inst *in = registry; in; in = in->next)
        inst_lock(in);
}

static void fork_parent(void)
{
    for (struct preload_inst *in = registry; in; in = in->next)
        inst_unlock(in);
    pthread_mutex_unlock(&reg_lock);
}

/* The child has one thread: every other thread's instance is an orphan now. */
static void fork_child(void)
{
    pthread_mutex_init(&reg_lock, NULL);
    for (struct preload_inst *in = registry; in; in = in->next)
        inst_lock_init(in);
    /* First every dead thread's instance becomes nobody's, so that the
     * flushes below free into them directly instead of pushing batches
     * that only an adopter would drain. */
    struct preload_inst *dead = NULL;
    for (struct preload_inst *in = registry; in; in = in->next) {
        if (in->kind != KIND_THREAD || in == tls_inst || !in->owned)
            continue;
        in->owned = 0;
        in->pooled = dead;
        dead = in;
    }
    for (struct preload_inst *in = dead; in; in = in->pooled) {
        batch_flush(in);
        drain_incoming(in); /* batches pushed before the fork */
        batch_flush(in);
    }
    while (dead) {
        struct preload_inst *next = dead->pooled;
        dead->pooled = pool;
        pool = dead;
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
}

/*
 * Everything global, once; the calling thread gets the first instance.
 * Allocations start-up causes itself go to that instance too.
 */
static void global_init_locked(void)
{
    read_env();
    seed_secret(); /* before the first instance: each keeps the secret it was made with */
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
 * Run call_on_heap on the instance's heap with its lock held once for the
 * whole call (the heap's own lock calls inside then only count); from the
 * guard heap, or when its window is full from the thread's own.
 */
#define ALLOC_WITH(call_on_heap)                                                                   \
    do {                                                                                           \
        struct preload_inst *in_ = alloc_inst();                                                   \
        void *p_ = NULL;                                                                           \
        if (in_) {                                                                                 \
            inst_lock(in_);                                                                        \
            if (in_ == tls_inst)                                                                   \
                drain_incoming(in_);                                                               \
            p_ = call_on_heap(in_->heap);                                                          \
            inst_unlock(in_);                                                                      \
        }                                                                                          \
        if (!p_ && in_ && in_ == guard && (in_ = self()) != NULL) {                                \
            inst_lock(in_);                                                                        \
            p_ = call_on_heap(in_->heap);                                                          \
            inst_unlock(in_);                                                                      \
        }                                                                                          \
        return check_result(p_);                                                                   \
    } while (0)

/* ---------------------------------------------------------------- the malloc family */

static void bad_pointer(const char *fn, const void *p)
{
    preload_report("%s(%p): not a block allocated by libmm; ignored", fn, p);
}

/*
 * free into owner, from whichever thread.  Always inlined, like the guard
 * heap's free below, so that the debug heap's free trace (a few frames
 * deep) reaches past libmm into the program.
 */
static inline __attribute__((always_inline)) void free_owned(struct preload_inst *owner, void *p)
{
    struct preload_inst *in = tls_inst;
    if (owner == in) {
        inst_lock(in);
        drain_incoming(in);
        heap_free(owner->heap, p);
        inst_unlock(in);
    } else if (owner->kind == KIND_GUARD) {
        preload_guard_freeing((uintptr_t)p);
        heap_free(owner->heap, p);
        preload_guard_freeing(0);
    } else if (in && owner->kind == KIND_THREAD) {
        batch_add(in, owner, p);
    } else {
        heap_free(owner->heap, p); /* takes owner's lock */
    }
}

/* free_owned for the drain: not inlined there (the guard's traces do not pass through it). */
static void free_owned_any(struct preload_inst *owner, void *p)
{
    free_owned(owner, p);
}

PRELOAD_EXPORT void free(void *p)
{
    if (!p)
        return;
    struct preload_inst *owner = preload_owner_get(p);
    if (!owner)
        bad_pointer("free", p);
    else
        free_owned(owner, p);
}

#define MALLOC_ON(h) mm_malloc(h, n)
PRELOAD_EXPORT void *malloc(size_t n)
{
    ALLOC_WITH(MALLOC_ON);
}

#define CALLOC_ON(h) mm_calloc(h, nmemb, size)
PRELOAD_EXPORT void *calloc(size_t nmemb, size_t size)
{
    ALLOC_WITH(CALLOC_ON);
}

/* realloc of a block another instance owns (or when the guard heap takes the new one): move it. */
static void *realloc_move(struct preload_inst *owner, void *p, size_t n, struct heap *to)
{
    size_t old = heap_size(owner->heap, p);
    if (old == 0) {
        preload_report("realloc(%p): not a live block (already freed, or interior)", p);
        return NULL;
    }
    void *q = mm_malloc(to, n);
    if (!q)
        return check_result(NULL);
    memcpy(q, p, old < n ? old : n);
    free_owned(owner, p);
    return q;
}

PRELOAD_EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    struct preload_inst *owner = preload_owner_get(p);
    if (!owner) {
        bad_pointer("realloc", p);
        return NULL;
    }
    struct preload_inst *to = alloc_inst();
    if (!to)
        return check_result(NULL);
    if (owner != to || owner == guard)
        return realloc_move(owner, p, n, to->heap);
    inst_lock(to);
    void *q = mm_realloc(to->heap, p, n); /* in place when it can */
    inst_unlock(to);
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
    ALLOC_WITH(MEMALIGN_ON);
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
    ALLOC_WITH(VALLOC_ON);
}

#define PVALLOC_ON(h) mm_pvalloc(h, n)
PRELOAD_EXPORT void *pvalloc(size_t n)
{
    ALLOC_WITH(PVALLOC_ON);
}

PRELOAD_EXPORT size_t malloc_usable_size(void *p)
{
    struct preload_inst *owner = p ? preload_owner_get(p) : NULL;
    return owner ? heap_size(owner->heap, p) : 0;
}

/* ---------------------------------------------------------------- statistics */

static const char *kind_name(const struct preload_inst *in)
{
    return in->kind == KIND_GUARD ? "guard" : "thread";
}

static void stats_print_one(const char *what, const struct heap_stats *st)
{
    preload_print("libmm: %-8s in use %zu B (peak %zu), held %zu B, committed %zu B, "
                  "live %zu, allocs %zu, frees %zu, failed %zu, reports %zu",
                  what, st->bytes_in_use, st->bytes_peak, st->bytes_held, st->bytes_committed,
                  st->live_blocks, st->alloc_calls, st->free_calls, st->failed_calls,
                  st->reported_errors);
}

PRELOAD_EXPORT int libmm_stats(struct heap_stats *sum, int print)
{
    memset(sum, 0, sizeof *sum);
    tls_settling = 1;
    if (tls_inst)
        batch_flush(tls_inst);
    pthread_mutex_lock(&reg_lock);
    int n = 0;
    for (struct preload_inst *in = registry; in; in = in->next)
        drain_incoming(in);
    if (tls_inst)
        batch_flush(tls_inst); /* the batches' own blocks, freed by the drains */
    tls_settling = 0;
    for (struct preload_inst *in = registry; in; in = in->next, n++) {
        struct heap_stats st;
        heap_stats(in->heap, &st);
        heap_stats_add(sum, &st);
        if (print)
            stats_print_one(kind_name(in), &st);
    }
    pthread_mutex_unlock(&reg_lock);
    if (print)
        stats_print_one("total", sum);
    return n;
}

__attribute__((destructor)) static void stats_at_exit(void)
{
    if (print_stats && fallback) {
        struct heap_stats sum;
        libmm_stats(&sum, 1);
    }
}

/* Start when loaded, so MM_* settings and the guard mode apply from the first call on. */
__attribute__((constructor)) static void start(void)
{
    global_init();
}
