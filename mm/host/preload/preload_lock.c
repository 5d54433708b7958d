/*
 * mm/host/preload/preload_lock.c - the slow paths of an instance's lock
 * (preload_lock.h explains the handshake): the spin lock `word`, the wait
 * for an owner to leave, and the choice between membarrier and a fence.
 */
#include "mm/host/preload/preload_lock.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mm/port.h"

int preload_lock_symmetric = 1; /* until preload_lock_setup finds membarrier */

/* The owner of an abandoned instance: no thread has this name. */
static const char abandoned_owner;

void preload_lock_abandon(struct preload_lock *l)
{
    __atomic_store_n(&l->owner, (const void *)&abandoned_owner, __ATOMIC_SEQ_CST);
}

int preload_lock_abandoned(struct preload_lock *l)
{
    return __atomic_load_n(&l->owner, __ATOMIC_SEQ_CST) == &abandoned_owner;
}

/* The address of a thread-local variable: a cheap, unique name for the calling thread. */
static __thread char lock_self_name __attribute__((tls_model("initial-exec")));

const void *preload_lock_self(void)
{
    return &lock_self_name;
}

void preload_lock_setup(void)
{
    /* MM_OWNER_FENCE=1 forces the fence on every owner entry (to test that path). */
    const char *force = getenv("MM_OWNER_FENCE");
    if (force && *force && strcmp(force, "0") != 0) {
        preload_lock_symmetric = 1;
        return;
    }
    preload_lock_symmetric =
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0;
}

/* Spin (then yield: the holder may not be running) until word is ours; 0 if it is already. */
static int word_take(struct preload_lock *l)
{
    const void *me = preload_lock_self();
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == me)
        return 0;
    for (unsigned spins = 0;; spins++) {
        const void *free_word = NULL;
        if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == NULL &&
            __atomic_compare_exchange_n(&l->word, &free_word, me, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return 1;
        if (spins > 64)
            sched_yield();
        else
            __builtin_ia32_pause();
    }
}

static void word_drop(struct preload_lock *l)
{
    __atomic_store_n(&l->word, NULL, __ATOMIC_RELEASE);
}

enum preload_held preload_lock_owner_slow(struct preload_lock *l)
{
    /* Down (it was down before this entry), to let the thread that waits in. */
    __atomic_store_n(&l->owner_in, 0, __ATOMIC_RELEASE);
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == preload_lock_self())
        return PRELOAD_NOT_TAKEN; /* a handler interrupted this thread holding word */
    word_take(l);
    /* Up again, so that a signal handler arriving now sees this thread inside;
     * other threads look at owner_in only once they hold word. */
    __atomic_store_n(&l->owner_in, 1, __ATOMIC_RELAXED);
    return PRELOAD_OWNER_WORD;
}

/* The other side of the handshake: make the owner's owner_in visible, or our `others` to it. */
static void owner_barrier(void)
{
    if (preload_lock_symmetric) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return;
    }
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        mm_panic("preload_lock_other: membarrier failed after it was registered");
}

enum preload_held preload_lock_other(struct preload_lock *l)
{
    const void *me = preload_lock_self();
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == me ||
        (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me &&
         __atomic_load_n(&l->owner_in, __ATOMIC_RELAXED)) ||
        preload_lock_abandoned(l))
        return PRELOAD_NOT_TAKEN; /* inside already (a signal handler), or for good */
    __atomic_add_fetch(&l->others, 1, __ATOMIC_SEQ_CST);
    word_take(l);
    if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED)) {
        owner_barrier();
        for (unsigned spins = 0; __atomic_load_n(&l->owner_in, __ATOMIC_ACQUIRE); spins++) {
            if (preload_lock_abandoned(l)) {
                preload_unlock_word(l, PRELOAD_OTHER);
                return PRELOAD_NOT_TAKEN; /* its owner ended inside it */
            }
            if (spins > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
        }
    }
    return PRELOAD_OTHER;
}

void preload_unlock_word(struct preload_lock *l, enum preload_held how)
{
    if (how == PRELOAD_OWNER_WORD)
        __atomic_store_n(&l->owner_in, 0, __ATOMIC_RELAXED); /* word's release publishes it */
    word_drop(l);
    if (how == PRELOAD_OTHER)
        __atomic_sub_fetch(&l->others, 1, __ATOMIC_RELEASE);
}

enum preload_held preload_lock_try_unowned(struct preload_lock *l)
{
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) || __atomic_load_n(&l->owner, __ATOMIC_RELAXED))
        return PRELOAD_NOT_TAKEN;
    __atomic_add_fetch(&l->others, 1, __ATOMIC_SEQ_CST);
    const void *free_word = NULL;
    if (__atomic_compare_exchange_n(&l->word, &free_word, preload_lock_self(), 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        if (!__atomic_load_n(&l->owner, __ATOMIC_RELAXED))
            return PRELOAD_OTHER; /* owner changes only with word held: it stays NULL */
        word_drop(l);
    }
    __atomic_sub_fetch(&l->others, 1, __ATOMIC_RELEASE);
    return PRELOAD_NOT_TAKEN;
}

enum preload_held preload_lock_try_other(struct preload_lock *l)
{
    const void *me = preload_lock_self();
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) ||
        __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me)
        return PRELOAD_NOT_TAKEN;
    __atomic_add_fetch(&l->others, 1, __ATOMIC_SEQ_CST);
    const void *free_word = NULL;
    if (__atomic_compare_exchange_n(&l->word, &free_word, me, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED))
            owner_barrier();
        if (!__atomic_load_n(&l->owner_in, __ATOMIC_ACQUIRE))
            return PRELOAD_OTHER;
        word_drop(l); /* the owner is inside: it drains its stack itself */
    }
    __atomic_sub_fetch(&l->others, 1, __ATOMIC_RELEASE);
    return PRELOAD_NOT_TAKEN;
}

void preload_lock_set_owner(struct preload_lock *l, const void *owner)
{
    enum preload_held how = preload_lock_other(l);
    if (how == PRELOAD_NOT_TAKEN)
        return; /* a thread exiting from a handler that interrupted its own heap: it stays owned */
    __atomic_store_n(&l->owner, owner, __ATOMIC_SEQ_CST);
    preload_unlock_word(l, how);
}
