/*
 * tests/preload/preload_signal.c - malloc, calloc, realloc and free from a
 * signal handler that interrupts the same calls on the same thread.
 *
 * The main thread allocates, checks and frees stamped blocks without a
 * pause; a helper thread sends it SIGUSR1 every few microseconds, and the
 * handler allocates, stamps, checks and frees blocks of its own (and
 * reallocs some).  Many signals land while the main thread is inside
 * malloc or free: the handler must neither deadlock nor see or leave a
 * heap half-way through a change.  Every block's stamp is checked before
 * it is freed; the run is repeated and the second round must leave libmm's
 * live-block count where it found it.  realloc in the handler may fail
 * (NULL, the block untouched) when it interrupted its heap: then the old
 * block is kept.  Last, threads are ended by pthread_exit from a handler,
 * often inside malloc: the heap they leave half-changed must never be
 * handed to a later thread (which would wait for ever, or worse).
 */
#include "preload_util.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#define SLOTS 512
#define HANDLER_SLOTS 64
#define SIGNALS_WANTED 10000
#define ROUND_SECONDS_MAX 20

static pthread_t main_thread;
static volatile int stop_signals;
static volatile unsigned handler_calls;
static volatile unsigned handler_bad, main_bad;

/* The handler's blocks: only the handler touches them while signals flow. */
static unsigned char *hslot[HANDLER_SLOTS];
static size_t hsize[HANDLER_SLOTS];
static unsigned char hstamp[HANDLER_SLOTS];

static int stamp_ok(const unsigned char *p, size_t n, unsigned char stamp)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != stamp)
            return 0;
    return 1;
}

/* Check and free handler slot k, or keep it when the new block could not be had. */
static void handler_replace(unsigned k, unsigned char *p, size_t n, unsigned char stamp)
{
    if (hslot[k] && !stamp_ok(hslot[k], hsize[k], hstamp[k]))
        handler_bad++;
    free(hslot[k]);
    hslot[k] = p, hsize[k] = n, hstamp[k] = stamp;
}

static void on_signal(int sig)
{
    (void)sig;
    int saved_errno = errno;
    unsigned n = handler_calls++;
    unsigned k = n % HANDLER_SLOTS;
    size_t size = 8 + n % 300;
    unsigned char stamp = (unsigned char)(n * 7 + 1);
    if (n % 5 == 4 && hslot[k]) {
        /* Grow in place or move; NULL leaves the block as it was. */
        unsigned char *q = realloc(hslot[k], hsize[k] + 64);
        if (q) {
            if (!stamp_ok(q, hsize[k], hstamp[k]))
                handler_bad++;
            memset(q, hstamp[k], hsize[k] + 64);
            hslot[k] = q;
            hsize[k] += 64;
        }
    } else {
        unsigned char *p = n % 3 ? malloc(size) : calloc(1, size);
        if (p && n % 3 == 0 && !stamp_ok(p, size, 0))
            handler_bad++; /* calloc's block must be zero */
        if (p)
            memset(p, stamp, size);
        handler_replace(k, p, size, stamp);
    }
    errno = saved_errno;
}

static void *signaller(void *arg)
{
    (void)arg;
    struct timespec gap = {0, 20000};
    while (!stop_signals) {
        pthread_kill(main_thread, SIGUSR1);
        nanosleep(&gap, NULL);
    }
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One round: main-thread churn under a stream of signals, then everything freed. */
static void round_run(void)
{
    static unsigned char *slot[SLOTS];
    static size_t size_of[SLOTS];
    uint64_t s = 88172645463325252ull;
    pthread_t helper;
    unsigned first = handler_calls;
    stop_signals = 0;
    pthread_create(&helper, NULL, signaller, NULL);
    double end = now() + ROUND_SECONDS_MAX;
    for (unsigned long i = 0; handler_calls - first < SIGNALS_WANTED && now() < end; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        unsigned k = (unsigned)(s % SLOTS);
        if (slot[k] && !stamp_ok(slot[k], size_of[k], (unsigned char)k))
            main_bad++;
        size_t n = 16 + (s >> 20) % 700;
        if (slot[k] && (s & 7) == 0) {
            unsigned char *q = realloc(slot[k], n);
            if (q) {
                memset(q, (unsigned char)k, n);
                slot[k] = q, size_of[k] = n;
            }
            continue;
        }
        free(slot[k]);
        slot[k] = malloc(n);
        if (slot[k])
            memset(slot[k], (unsigned char)k, n);
        size_of[k] = slot[k] ? n : 0;
    }
    stop_signals = 1;
    pthread_join(helper, NULL);
    for (unsigned k = 0; k < SLOTS; k++) {
        if (slot[k] && !stamp_ok(slot[k], size_of[k], (unsigned char)k))
            main_bad++;
        free(slot[k]);
        slot[k] = NULL;
    }
    for (unsigned k = 0; k < HANDLER_SLOTS; k++)
        handler_replace(k, NULL, 0, 0);
}

/* ---- threads that end with pthread_exit in a handler, often inside malloc */

#define EXITING_THREADS 100

static void exit_now(int sig)
{
    (void)sig;
    pthread_exit(NULL);
}

static void *churn_until_killed(void *arg)
{
    volatile int *started = arg;
    void *keep[16] = {0};
    for (unsigned i = 0;; i++) {
        free(keep[i % 16]);
        keep[i % 16] = malloc(16 + i % 500);
        *started = 1;
    }
    return NULL;
}

/*
 * A fresh thread allocates and frees: it may adopt a heap a killed thread
 * left, which must be usable (a heap still marked entered would serve it
 * only through page-sized blocks of their own).
 */
static void *one_more(void *arg)
{
    void *p = malloc(100);
    *(int *)arg = p != NULL && malloc_usable_size(p) < 1024;
    free(p);
    return NULL;
}

/* 1 if every later thread got a heap block (a hang would stop the test). */
static int threads_killed_in_malloc(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = exit_now;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    int ok = 1;
    for (int i = 0; i < EXITING_THREADS; i++) {
        volatile int started = 0;
        int got = 0;
        pthread_t t, u;
        pthread_create(&t, NULL, churn_until_killed, (void *)&started);
        while (!started)
            sched_yield();
        pthread_kill(t, SIGUSR2);
        pthread_join(t, NULL);
        pthread_create(&u, NULL, one_more, &got);
        pthread_join(u, NULL);
        ok &= got;
    }
    return ok;
}

int main(void)
{
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    libmm_stats_fn stats = libmm_stats_lookup();
    struct heap_stats before = {0}, after = {0};
    round_run(); /* warms up what a thread and the first signals cost libc */
    if (stats)
        stats(&before, 0);
    unsigned calls_before = handler_calls;
    round_run();
    if (stats)
        stats(&after, 0);

    char what[160];
    snprintf(what, sizeof what, "the handler ran %u times in the second round (want >= %d)",
             handler_calls - calls_before, SIGNALS_WANTED / 2);
    check(handler_calls - calls_before >= SIGNALS_WANTED / 2, what);
    snprintf(what, sizeof what, "every main-thread block kept its stamp (%u bad)", main_bad);
    check(main_bad == 0, what);
    snprintf(what, sizeof what, "every handler block kept its stamp, calloc's were zero (%u bad)",
             handler_bad);
    check(handler_bad == 0, what);
    check(stats != NULL, "runs on libmm (libmm_stats found)");
    snprintf(what, sizeof what, "no block leaked: live blocks %zu before the round, %zu after",
             before.live_blocks, after.live_blocks);
    check(stats && before.live_blocks == after.live_blocks, what);
    check(threads_killed_in_malloc(), "100 threads ended by pthread_exit in a handler, often "
                                      "inside malloc: every later thread gets a working heap");
    return done("preload_signal");
}
