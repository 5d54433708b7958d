/*
 * tests/bench/mt/bench_mt.c - multi-threaded malloc workloads, run under
 * each allocator by scripts/bench_mt.sh (LD_PRELOAD; glibc: nothing
 * preloaded).  Patterned after the well-known allocator benchmarks:
 *
 *   churn     every thread replaces random objects of its own (16..512
 *             bytes) in a private array: the per-thread fast path, and how
 *             it scales (threadtest, mimalloc-bench's "alloc-test" style)
 *   xfree     server-style: the threads replace random objects in ONE
 *             shared array, so most objects are freed by a thread other
 *             than the one that allocated them (larson style)
 *   prodcons  every thread allocates messages and passes them to the next
 *             thread through a single-producer/single-consumer ring, which
 *             frees them (a producer-consumer pipeline; with one thread, the
 *             thread consumes its own ring when it is full)
 *
 * Usage: bench_mt WORKLOAD THREADS [SCALE].  Every thread does the same
 * amount of work whatever THREADS is, so perfect scaling keeps the time.
 * Prints one line: "WORKLOAD THREADS SECONDS OPS PEAK_RSS_KIB CHECKSUM
 * CPU_PER_THREAD": the last is the CPU time (user + system, getrusage
 * RUSAGE_THREAD) each worker thread used, averaged.  Where the machine has
 * fewer free CPUs than threads the wall time cannot show scaling, but the
 * CPU each thread needs for the same work still does.
 * The random sequence is fixed (per thread), so every allocator gets the
 * same requests.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHURN_SLOTS 20000 /* live objects per thread: about 2 MiB, so that fixed costs do not decide RSS */
#define RING 1024

static unsigned long ops_per_thread = 2000000;
static unsigned nthreads;
static void **shared_slots; /* xfree */
static size_t shared_count;
static uint64_t checksums[64];
static double cpu_seconds[64]; /* each worker's own CPU time */

struct ring {
    void *item[RING];
    unsigned head __attribute__((aligned(64))); /* consumer's */
    unsigned tail __attribute__((aligned(64))); /* producer's */
};
static struct ring rings[64];

/* The calling thread's CPU time so far (user + system), in seconds. */
static double thread_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Mostly small, sometimes up to 512 bytes: what programs ask for. */
static size_t object_size(uint64_t r)
{
    return (r & 3) ? 16 + (r >> 8) % 112 : 16 + (r >> 8) % 496;
}

static void *new_object(uint64_t r)
{
    size_t n = object_size(r);
    unsigned char *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_mt: out of memory\n");
        exit(1);
    }
    p[0] = (unsigned char)r;
    p[n - 1] = (unsigned char)n;
    return p;
}

static void *churn(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    uint64_t s = 88172645463325252ull + me, sum = 0;
    void **slot = calloc(CHURN_SLOTS, sizeof *slot);
    for (unsigned long i = 0; i < ops_per_thread; i++) {
        uint64_t r = next_random(&s);
        size_t k = r % CHURN_SLOTS;
        if (slot[k])
            sum += *(unsigned char *)slot[k];
        free(slot[k]);
        slot[k] = new_object(r >> 16);
    }
    for (size_t k = 0; k < CHURN_SLOTS; k++)
        free(slot[k]);
    free(slot);
    checksums[me] = sum;
    cpu_seconds[me] = thread_cpu();
    return NULL;
}

static void *xfree(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    uint64_t s = 88172645463325252ull + me, sum = 0;
    for (unsigned long i = 0; i < ops_per_thread; i++) {
        uint64_t r = next_random(&s);
        void *old = __atomic_exchange_n(&shared_slots[r % shared_count], new_object(r >> 16),
                                        __ATOMIC_ACQ_REL);
        if (old)
            sum += *(unsigned char *)old;
        free(old);
    }
    checksums[me] = sum;
    cpu_seconds[me] = thread_cpu();
    return NULL;
}

static int ring_put(struct ring *q, void *p)
{
    unsigned tail = q->tail;
    if (tail - __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == RING)
        return 0;
    q->item[tail % RING] = p;
    __atomic_store_n(&q->tail, tail + 1, __ATOMIC_RELEASE);
    return 1;
}

static void *ring_get(struct ring *q)
{
    unsigned head = q->head;
    if (head == __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE))
        return NULL;
    void *p = q->item[head % RING];
    __atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
    return p;
}

/* Free everything waiting in my ring; the sum of first bytes. */
static uint64_t drain(struct ring *q)
{
    uint64_t sum = 0;
    void *p;
    while ((p = ring_get(q)) != NULL) {
        sum += *(unsigned char *)p;
        free(p);
    }
    return sum;
}

static unsigned done_producing;

static void *prodcons(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    struct ring *mine = &rings[me], *next = &rings[(me + 1) % nthreads];
    uint64_t s = 88172645463325252ull + me, sum = 0;
    for (unsigned long i = 0; i < ops_per_thread; i++) {
        void *p = new_object(next_random(&s));
        while (!ring_put(next, p)) {
            uint64_t got = drain(mine); /* the next thread is behind: consume mine meanwhile */
            if (!got)
                sched_yield(); /* nothing to do: let it run (the machine may have fewer cores) */
            sum += got;
        }
        if ((i & 63) == 0)
            sum += drain(mine);
    }
    __atomic_add_fetch(&done_producing, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&done_producing, __ATOMIC_ACQUIRE) < nthreads) {
        uint64_t got = drain(mine);
        if (!got)
            sched_yield();
        sum += got;
    }
    sum += drain(mine);
    checksums[me] = sum;
    cpu_seconds[me] = thread_cpu();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_mt churn|xfree|prodcons THREADS [SCALE]\n");
        return 2;
    }
    void *(*fn)(void *) = strcmp(argv[1], "churn") == 0      ? churn
                          : strcmp(argv[1], "xfree") == 0    ? xfree
                          : strcmp(argv[1], "prodcons") == 0 ? prodcons
                                                             : NULL;
    nthreads = (unsigned)atoi(argv[2]);
    if (!fn || nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "bench_mt: unknown workload or bad thread count\n");
        return 2;
    }
    if (argc > 3)
        ops_per_thread = (unsigned long)(ops_per_thread * atof(argv[3]));
    shared_count = (size_t)CHURN_SLOTS * nthreads;
    shared_slots = calloc(shared_count, sizeof *shared_slots);
    struct timespec t0, t1;
    pthread_t t[64];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
    uint64_t sum = 0;
    double cpu = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        sum += checksums[i];
        cpu += cpu_seconds[i];
    }
    for (size_t k = 0; k < shared_count; k++)
        free(shared_slots[k]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(shared_slots);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s %u %.4f %lu %ld %llu %.4f\n", argv[1], nthreads, secs, ops_per_thread * nthreads,
           ru.ru_maxrss, (unsigned long long)sum, cpu / nthreads);
    return 0;
}
