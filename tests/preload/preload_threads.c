/*
 * tests/preload/preload_threads.c - 4 threads, every block freed by a
 * thread other than the one that allocated it: each thread allocates blocks
 * stamped with their origin, passes them to the next thread through a
 * queue, and checks and frees (or reallocs, then frees) what it receives.
 * Run twice: the second round must leave libmm's live-block count exactly
 * where it found it (the first round warms up what threads cost libc).
 * Then one thread allocates and frees many small blocks and exits: its
 * heap, pooled, must not keep the memory in reserve.  Last, 16 threads at
 * once allocate and free blocks of every size and exit: their heaps, empty,
 * must go back whole (metadata included), and the next threads, which
 * make new heaps in the instances left, must work as before.  And a
 * thread whose blocks are all small must not pay for the general heap it
 * never uses: its heap's committed memory stays within SMALL_ONLY_KIB_MAX.
 */
#include "preload_util.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>

#define THREADS 4
#define PER_THREAD 39997 /* not a multiple of any batch size: a batch is left at exit */
#define QUEUE 256
#define MANY_SMALL 100000
/* Committed growth allowed for a pooled heap: the general heap keeps a little. */
#define POOLED_KIB_MAX 64
#define EXITING 16          /* threads at once whose empty heaps must go back */
#define RETIRED_KIB_MAX 64  /* committed growth allowed after all of them (before: 118 KiB each) */
/* Committed by a live thread that made 16 small blocks (88 KiB; 172 with the general heap made at once). */
#define SMALL_ONLY_KIB_MAX 120

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t *items[QUEUE];
    unsigned head, tail;
};

static struct queue queues[THREADS];
static int bad_blocks;

static void queue_put(struct queue *q, uint32_t *p)
{
    pthread_mutex_lock(&q->lock);
    while (q->tail - q->head == QUEUE)
        pthread_cond_wait(&q->cond, &q->lock);
    q->items[q->tail++ % QUEUE] = p;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* The next block, or NULL when none is there. */
static uint32_t *queue_try_get(struct queue *q)
{
    uint32_t *p = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->head != q->tail) {
        p = q->items[q->head++ % QUEUE];
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return p;
}

/* Words: [0] sender, [1] sequence, [2] count, then seq ^ i for each. */
static uint32_t *make_block(unsigned me, uint32_t seq)
{
    uint32_t words = 3 + seq % 200;
    uint32_t *p = malloc(words * sizeof *p);
    p[0] = me, p[1] = seq, p[2] = words;
    for (uint32_t i = 3; i < words; i++)
        p[i] = seq ^ i;
    return p;
}

static int block_ok(const uint32_t *p, unsigned from)
{
    if (p[0] != from || malloc_usable_size((void *)p) < p[2] * sizeof *p)
        return 0;
    for (uint32_t i = 3; i < p[2]; i++)
        if (p[i] != (p[1] ^ i))
            return 0;
    return 1;
}

/* Check a received block; every third one is grown first (a realloc of another thread's block). */
static int consume(uint32_t *p, unsigned from)
{
    int ok = block_ok(p, from);
    if (ok && p[1] % 3 == 0) {
        uint32_t *q = realloc(p, (p[2] + 50) * sizeof *p);
        ok = q && block_ok(q, from);
        p = q ? q : p;
    }
    free(p);
    return ok;
}

static void *worker(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg, prev = (me + THREADS - 1) % THREADS;
    int bad = 0;
    unsigned sent = 0, got = 0;
    while (sent < PER_THREAD || got < PER_THREAD) {
        uint32_t *in;
        while ((in = queue_try_get(&queues[me])) != NULL) {
            bad += !consume(in, prev);
            got++;
        }
        if (sent < PER_THREAD) {
            void *local = malloc(sent % 300 + 1); /* churn of the thread's own */
            queue_put(&queues[(me + 1) % THREADS], make_block(me, sent++));
            free(local);
        }
    }
    __atomic_add_fetch(&bad_blocks, bad, __ATOMIC_RELAXED);
    return NULL;
}

/* Many small blocks, all freed: a slab set full of empty slabs. */
static void *many_small(void *arg)
{
    (void)arg;
    void **p = malloc(MANY_SMALL * sizeof *p);
    for (unsigned i = 0; p && i < MANY_SMALL; i++)
        if ((p[i] = malloc(16 + i % 200)) != NULL)
            memset(p[i], 1, 16 + i % 200);
    for (unsigned i = 0; p && i < MANY_SMALL; i++)
        free(p[i]);
    free(p);
    return NULL;
}

/* Blocks of every size class and path (slab, general, page heap), stamped, checked, freed. */
static void *every_size(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg, bad = 0;
    static const size_t sizes[] = {16, 100, 700, 2000, 9000, 60000, 200000};
    unsigned char *p[7 * 20];
    for (unsigned i = 0; i < 7 * 20; i++)
        if ((p[i] = malloc(sizes[i % 7])) != NULL)
            memset(p[i], (int)(me + i), sizes[i % 7]);
    for (unsigned i = 0; i < 7 * 20; i++) {
        bad += !p[i] || p[i][0] != (unsigned char)(me + i) ||
               p[i][sizes[i % 7] - 1] != (unsigned char)(me + i);
        free(p[i]);
    }
    __atomic_add_fetch(&bad_blocks, bad, __ATOMIC_RELAXED);
    return NULL;
}

/* Blocks made by a thread that exits before they are freed (by main). */
#define LEFT_BEHIND 2000
static void *left_behind[LEFT_BEHIND];

static void *leave_blocks(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < LEFT_BEHIND; i++)
        if ((left_behind[i] = malloc(100 + i % 300)) != NULL)
            memset(left_behind[i], 3, 100 + i % 300);
    return NULL;
}

/* EXITING threads of every_size at once, joined. */
static void exiting_threads(void)
{
    pthread_t t[EXITING];
    for (unsigned i = 0; i < EXITING; i++)
        pthread_create(&t[i], NULL, every_size, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < EXITING; i++)
        pthread_join(t[i], NULL);
}

/* The statistics now (all zero without libmm). */
static struct heap_stats stats_now(libmm_stats_fn stats)
{
    struct heap_stats st = {0};
    if (stats)
        stats(&st, 0);
    return st;
}

/* Run fn on a thread of its own and wait for it to exit. */
static void run_thread(void *(*fn)(void *))
{
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_join(t, NULL);
}

/* Committed KiB in `now` beyond `then`. */
static long committed_kib_since(const struct heap_stats *then, const struct heap_stats *now)
{
    return ((long)now->bytes_committed - (long)then->bytes_committed) / 1024;
}

/* A thread that allocated and freed a lot exits: its heap must keep no reserve. */
static void check_pooled_heap(libmm_stats_fn stats, const struct heap_stats *before)
{
    char what[200];
    run_thread(many_small);
    struct heap_stats pooled = stats_now(stats);
    long grew = committed_kib_since(before, &pooled);
    snprintf(what, sizeof what,
             "an exited thread's heap keeps no reserve: committed grew by %ld KiB after it "
             "(want <= %d)",
             grew, POOLED_KIB_MAX);
    check(stats && grew <= POOLED_KIB_MAX, what);
}

/*
 * EXITING threads exit with empty heaps: those go back whole; the threads
 * after them make new heaps in the instances left, and the counters of the
 * heaps retired stay counted.
 */
static void check_retired_heaps(libmm_stats_fn stats)
{
    char what[200];
    struct heap_stats before = stats_now(stats);
    exiting_threads();
    struct heap_stats retired = stats_now(stats);
    long grew = committed_kib_since(&before, &retired);
    snprintf(what, sizeof what,
             "%d exited threads' empty heaps went back whole: committed grew by %ld KiB "
             "(want <= %d)",
             EXITING, grew, RETIRED_KIB_MAX);
    check(stats && grew <= RETIRED_KIB_MAX, what);
    bad_blocks = 0;
    exiting_threads();
    exiting_threads();
    check(bad_blocks == 0, "threads making new heaps in retired instances: every block intact");
    struct heap_stats again = stats_now(stats);
    snprintf(what, sizeof what,
             "and their counters kept: %zu allocations counted after, %zu before (want more), "
             "live blocks %zu == %zu",
             again.alloc_calls, retired.alloc_calls, again.live_blocks, retired.live_blocks);
    check(stats && again.alloc_calls >= retired.alloc_calls + 2 * EXITING * 7 * 20 &&
              again.live_blocks == retired.live_blocks && again.reported_errors == 0,
          what);
}

/* A heap whose thread exited while its blocks lived on goes back when main frees the last. */
static void check_retired_later(libmm_stats_fn stats)
{
    char what[200];
    struct heap_stats start = stats_now(stats);
    run_thread(leave_blocks);
    struct heap_stats held = stats_now(stats);
    for (unsigned i = 0; i < LEFT_BEHIND; i++)
        free(left_behind[i]);
    struct heap_stats freed = stats_now(stats);
    long kept = committed_kib_since(&start, &freed);
    snprintf(what, sizeof what,
             "an exited thread's heap emptied later by main goes back: %ld KiB committed "
             "beyond the start (%ld KiB while its blocks lived; want <= %d)",
             kept, committed_kib_since(&start, &held), RETIRED_KIB_MAX);
    check(stats && kept <= RETIRED_KIB_MAX && freed.live_blocks == start.live_blocks, what);
}

static pthread_barrier_t small_made, small_seen;

/* 16 small blocks of 16 sizes, kept until main has read the statistics. */
static void *small_only(void *arg)
{
    (void)arg;
    void *p[16];
    for (unsigned i = 0; i < 16; i++)
        p[i] = malloc(16 + 32 * i);
    pthread_barrier_wait(&small_made);
    pthread_barrier_wait(&small_seen);
    for (unsigned i = 0; i < 16; i++)
        free(p[i]);
    return NULL;
}

/* A live thread that only ever made small blocks costs no general heap. */
static void check_small_only_thread(libmm_stats_fn stats)
{
    char what[200];
    pthread_t t;
    pthread_barrier_init(&small_made, NULL, 2);
    pthread_barrier_init(&small_seen, NULL, 2);
    struct heap_stats before = stats_now(stats);
    pthread_create(&t, NULL, small_only, NULL);
    pthread_barrier_wait(&small_made);
    struct heap_stats during = stats_now(stats);
    pthread_barrier_wait(&small_seen);
    pthread_join(t, NULL);
    long grew = committed_kib_since(&before, &during);
    snprintf(what, sizeof what,
             "a thread with 16 small blocks: its heap committed %ld KiB (want <= %d: no general "
             "heap made for it)",
             grew, SMALL_ONLY_KIB_MAX);
    check(stats && grew > 0 && grew <= SMALL_ONLY_KIB_MAX, what);
}

static void round_of_threads(void)
{
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

int main(void)
{
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_mutex_init(&queues[i].lock, NULL);
        pthread_cond_init(&queues[i].cond, NULL);
    }
    libmm_stats_fn stats = libmm_stats_lookup();
    check(stats != NULL, "runs on libmm (libmm_stats found)");
    round_of_threads();
    struct heap_stats after = check_no_leak_across(stats, round_of_threads, "the second round");
    check(bad_blocks == 0, "every block arrived intact (4 threads x 2 rounds x 39997)");
    check(stats && after.reported_errors == 0, "no misuse reported by the heaps");
    check_pooled_heap(stats, &after);
    check_retired_heaps(stats);
    check_retired_later(stats);
    check_small_only_thread(stats);
    return done("preload_threads");
}
