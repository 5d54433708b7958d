/*
 * mm/host/preload/preload_lock.h - the lock of a libmm.so heap instance:
 * free of atomics for the thread that owns the instance.
 *
 * How it works.  An instance is used almost only by its owner thread, so
 * the owner does not take a lock at all: it raises owner_in (a plain
 * store), and checks that no other thread wants in (`others`, a plain
 * load).  Any other thread - one that reads a block's size, frees into an
 * instance nobody owns, drains it for the statistics, forks - counts itself
 * in `others`, takes the spin lock `word`, and then, if the instance has an
 * owner, waits until owner_in is down.  The owner that finds `others`
 * raised lowers owner_in and queues for `word` like everybody else.
 *
 * Why that excludes.  It is Dekker's handshake: the owner stores owner_in
 * then loads others, the other thread stores others then loads owner_in;
 * each must see the other's store, which needs a store-load barrier on
 * both sides.  The owner's is paid by the other thread instead: a
 * membarrier(2) PRIVATE_EXPEDITED makes every running thread of the
 * process execute a full barrier (a thread that is not running passed one
 * when it was switched out), so either the owner's owner_in is visible to
 * the other thread or the owner's load of `others` comes after it and sees
 * it.  Where membarrier is not available (old kernel, seccomp) the owner
 * pays its barrier itself, one fence per call, like an ordinary lock.
 *
 * Re-entry.  A signal handler that calls malloc while its thread is inside
 * an instance (owner_in up, or `word` held by this very thread: `word`
 * holds the holder's name) gets PRELOAD_NOT_TAKEN instead of a deadlock or
 * a second walk through a heap half-way through a change; the caller then
 * serves it from a path that touches no instance (preload_direct.c).
 *
 * Costs: owner in and out, two stores and one load, no atomic
 * read-modify-write; another thread, two atomic additions, a
 * compare-and-swap and, for an owned instance, one membarrier system call.
 * Locking: `owner` is written only with `word` held.
 */
#ifndef MM_HOST_PRELOAD_PRELOAD_LOCK_H
#define MM_HOST_PRELOAD_PRELOAD_LOCK_H

#include <stddef.h>

struct preload_lock {
    int owner_in;      /* the owner thread is inside: written by it alone */
    int others;        /* threads other than the owner holding or wanting word */
    const void *owner; /* the owner's name, NULL when nobody owns it (written with word held) */
    const void *word;  /* NULL free, else the holder's name (preload_lock_self()) */
};

/*
 * How a lock was taken.  0, not taken: the calling thread is inside
 * already (a signal handler re-entering), or for a try, somebody holds it.
 */
enum preload_held { PRELOAD_NOT_TAKEN = 0, PRELOAD_OWNER_FAST, PRELOAD_OWNER_WORD, PRELOAD_OTHER };

/*
 * Choose how the owner's barrier is paid (membarrier if the kernel lets
 * this process use it).  Call once while the process has a single thread:
 * at start, and in the child of a fork.
 */
void preload_lock_setup(void);

/* 1 when owners pay a fence on every entry (no membarrier). */
extern int preload_lock_symmetric;

/* A name for the calling thread, unique among live threads. */
const void *preload_lock_self(void);

/* Slow paths of preload_lock_owner; the lock for any thread that is not the owner. */
enum preload_held preload_lock_owner_slow(struct preload_lock *l);
enum preload_held preload_lock_other(struct preload_lock *l);
void preload_unlock_word(struct preload_lock *l, enum preload_held how);

/*
 * Take the lock of an instance nobody owns, if it is free right now:
 * PRELOAD_OTHER, or PRELOAD_NOT_TAKEN (held, or owned).  Never waits.
 */
enum preload_held preload_lock_try_unowned(struct preload_lock *l);

/*
 * Take the lock of any instance if nobody holds it and its owner is not
 * inside: PRELOAD_OTHER, or PRELOAD_NOT_TAKEN.  Never waits (for an owned
 * instance it costs a membarrier even when it fails).
 */
enum preload_held preload_lock_try_other(struct preload_lock *l);

/*
 * Make `owner` (a preload_lock_self() name, or NULL) the owner, taking
 * `word`.  Nothing changes when the caller is inside already (re-entering).
 */
void preload_lock_set_owner(struct preload_lock *l, const void *owner);

/*
 * Mark the instance abandoned: its owner thread is ending inside it (a
 * handler that interrupted it called pthread_exit), so it stays half-way
 * through a change for good.  Nobody takes its lock from then on (every
 * attempt, waiting ones included, returns PRELOAD_NOT_TAKEN).  Called by
 * that owner thread only.
 */
void preload_lock_abandon(struct preload_lock *l);

/* 1 if preload_lock_abandon marked the instance. */
int preload_lock_abandoned(struct preload_lock *l);

/* 1 if a thread owns the instance (its batches go to its incoming stack). */
static inline int preload_lock_owned(struct preload_lock *l)
{
    return __atomic_load_n(&l->owner, __ATOMIC_SEQ_CST) != NULL;
}

/* Every field free, nobody inside, owned by owner: new, or the child of a fork (one thread). */
static inline void preload_lock_init(struct preload_lock *l, const void *owner)
{
    *l = (struct preload_lock){.owner = owner};
}

/*
 * Enter as the owner thread (only the thread whose instance it is may call
 * this).  Returns PRELOAD_OWNER_FAST (no other thread inside),
 * PRELOAD_OWNER_WORD (another thread wanted in: taken the ordinary way), or
 * PRELOAD_NOT_TAKEN (this thread is inside already: a signal handler).
 */
static inline enum preload_held preload_lock_owner(struct preload_lock *l)
{
    if (__atomic_load_n(&l->owner_in, __ATOMIC_RELAXED))
        return PRELOAD_NOT_TAKEN;
    __atomic_store_n(&l->owner_in, 1, __ATOMIC_RELAXED);
    if (preload_lock_symmetric)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    else
        __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the membarrier of the other side orders it */
    if (__builtin_expect(__atomic_load_n(&l->others, __ATOMIC_ACQUIRE) == 0, 1))
        return PRELOAD_OWNER_FAST;
    return preload_lock_owner_slow(l);
}

/* Leave, however it was entered (not after PRELOAD_NOT_TAKEN). */
static inline void preload_unlock(struct preload_lock *l, enum preload_held how)
{
    if (how == PRELOAD_OWNER_FAST)
        __atomic_store_n(&l->owner_in, 0, __ATOMIC_RELEASE);
    else
        preload_unlock_word(l, how);
}

#endif /* MM_HOST_PRELOAD_PRELOAD_LOCK_H */
