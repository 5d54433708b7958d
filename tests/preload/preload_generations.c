/*
 * tests/preload/preload_generations.c - generations of threads: 150 rounds
 * of 6 threads that replace stamped blocks in one shared array (so most
 * blocks are freed by another thread, often after their maker exited) and
 * exit; every few rounds main frees half of what is left.  Every stamp must
 * hold and nothing may leak.  Each heap whose thread has gone is retired
 * once empty and a later thread makes a new one in its instance: run with
 * MM_STATS=1, scripts/test.sh checks that the instances stay few and that
 * the owner map keeps no trace of the heaps destroyed (its memory line).
 */
#include "preload_util.h"

#include <pthread.h>
#include <stdint.h>

#define ROUNDS 150
#define THREADS 6
#define SLOTS 4096

static void *slots[SLOTS];
static int bad;

/* A block of `size` bytes stamped with its size at both ends. */
static unsigned char *stamped(size_t size)
{
    unsigned char *p = malloc(size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    p[size - 1] = (unsigned char)size;
    return p;
}

static int stamp_ok(const unsigned char *p)
{
    size_t size;
    memcpy(&size, p, sizeof size);
    return size >= 16 && size < 4096 && p[size - 1] == (unsigned char)size;
}

static void *worker(void *arg)
{
    uint64_t s = (uintptr_t)arg * 2654435761u + 1;
    unsigned n = 1000 + (unsigned)(s % 2000), wrong = 0;
    for (unsigned i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        void *old = __atomic_exchange_n(&slots[s % SLOTS], stamped(16 + s % 3000), __ATOMIC_ACQ_REL);
        if (old && !stamp_ok(old))
            wrong++;
        free(old);
    }
    __atomic_add_fetch(&bad, (int)wrong, __ATOMIC_RELAXED);
    return NULL;
}

/* Rounds [from, to) of THREADS threads; every fifth, main frees half of the array. */
static void rounds(unsigned from, unsigned to)
{
    for (unsigned r = from; r < to; r++) {
        pthread_t t[THREADS];
        for (unsigned i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(r * THREADS + i));
        for (unsigned i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        for (unsigned k = r % 2; r % 5 == 0 && k < SLOTS; k += 2) {
            free(slots[k]);
            slots[k] = NULL;
        }
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        free(slots[k]);
        slots[k] = NULL;
    }
}

static void later_rounds(void)
{
    rounds(1, ROUNDS);
}

int main(void)
{
    puts("generations of threads"); /* stdout's buffer, and what threads cost libc, first */
    rounds(0, 1);
    check_no_leak_across(libmm_stats_lookup(), later_rounds, "rounds 2 to 150");
    check(bad == 0, "every block freed by another thread had its stamps");
    return done("preload_generations");
}
