/*
 * tests/preload/preload_scatter.c - 8 threads replace random blocks in one
 * shared array, so each frees blocks of all the others in no order (the
 * larson pattern).  Every block is stamped with its slot and checked
 * before it is freed; at the end everything is freed and libmm's
 * live-block count must be back where it was.  scripts/test.sh also reads
 * MM_STATS: the cross-thread frees must travel in full batches, not one
 * batch per change of owner.
 */
#include "preload_util.h"

#include <pthread.h>
#include <stdint.h>

#define THREADS 8
#define SLOTS 4096
#define STEPS 40000

static uint32_t *slots[SLOTS];
static int bad;

static uint32_t *make(uint32_t slot, uint64_t r)
{
    uint32_t words = 2 + (uint32_t)(r % 60);
    uint32_t *p = malloc(words * sizeof *p);
    if (!p)
        return NULL;
    p[0] = slot, p[1] = words;
    for (uint32_t i = 2; i < words; i++)
        p[i] = slot ^ i;
    return p;
}

static int intact(const uint32_t *p, uint32_t slot)
{
    if (p[0] != slot)
        return 0;
    for (uint32_t i = 2; i < p[1]; i++)
        if (p[i] != (slot ^ i))
            return 0;
    return 1;
}

static void *worker(void *arg)
{
    uint64_t s = 88172645463325252ull + (uintptr_t)arg;
    int wrong = 0;
    for (unsigned i = 0; i < STEPS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t k = (uint32_t)(s % SLOTS);
        uint32_t *old = __atomic_exchange_n(&slots[k], make(k, s >> 20), __ATOMIC_ACQ_REL);
        if (old && !intact(old, k))
            wrong++;
        free(old);
    }
    __atomic_add_fetch(&bad, wrong, __ATOMIC_RELAXED);
    return NULL;
}

static void round_run(void)
{
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (uint32_t k = 0; k < SLOTS; k++) {
        if (slots[k] && !intact(slots[k], k))
            bad++;
        free(slots[k]);
        slots[k] = NULL;
    }
}

int main(void)
{
    libmm_stats_fn stats = libmm_stats_lookup();
    check(stats != NULL, "runs on libmm (libmm_stats found)");
    round_run(); /* warms up what threads cost libc */
    check_no_leak_across(stats, round_run, "the second round");
    char what[160];
    snprintf(what, sizeof what, "every block intact (%d bad of %d x 2 rounds x %d)", bad, THREADS,
             STEPS);
    check(bad == 0, what);
    return done("preload_scatter");
}
