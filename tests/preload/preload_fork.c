/*
 * tests/preload/preload_fork.c - fork and exec under libmm.so, with other
 * threads allocating while the fork happens: the child allocates and frees
 * (blocks of its parent's other threads included), runs a program through
 * exec (which starts libmm again), and the parent goes on allocating.
 */
#include "preload_util.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHARED_BLOCKS 64

static volatile int stop;
static int filled; /* set by the first thread once from_thread is complete */
static char *from_thread[SHARED_BLOCKS];

/* Allocates and frees until told to stop; the first one leaves SHARED_BLOCKS blocks for main. */
static void *churn(void *arg)
{
    for (int i = 0; arg && i < SHARED_BLOCKS; i++) {
        from_thread[i] = malloc(100);
        snprintf(from_thread[i], 100, "block %d", i);
    }
    if (arg)
        __atomic_store_n(&filled, 1, __ATOMIC_RELEASE);
    while (!stop) {
        void *p = malloc(64);
        void *q = malloc(4000);
        free(p);
        free(q);
    }
    return NULL;
}

/* In the child: allocate, free the other thread's blocks, exec echo. */
static int child(void)
{
    int ok = 1;
    for (int i = 0; i < SHARED_BLOCKS; i++) {
        char want[32];
        snprintf(want, sizeof want, "block %d", i);
        ok &= strcmp(from_thread[i], want) == 0;
        free(from_thread[i]);
    }
    for (int i = 0; i < 10000; i++)
        free(malloc((size_t)i % 5000 + 1));
    if (!ok)
        return 3;
    execl("/bin/sh", "sh", "-c", "echo exec-ok", (char *)NULL);
    return 4;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, i == 0 ? (void *)1 : NULL);
    /* a loaded machine may not run the thread within any fixed delay: wait for its blocks */
    while (!__atomic_load_n(&filled, __ATOMIC_ACQUIRE))
        usleep(1000);
    usleep(20000);
    int ok = 1;
    for (int round = 0; round < 20 && ok; round++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(child());
        int status = 0;
        waitpid(pid, &status, 0);
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        free(malloc(1000));
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    check(ok, "20 forks with 2 threads allocating: children allocate, free, exec");
    return done("preload_fork");
}
