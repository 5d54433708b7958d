/*
 * tests/host/lock_check.c - the lock-checking source (see lock_check.h).
 */
#include "lock_check.h"

#include <string.h>

static struct lock_check *lc_of(struct heap_source *s)
{
    return (struct lock_check *)s;
}

static void lc_note(struct heap_source *s)
{
    lc_of(s)->unlocked_calls += lc_of(s)->depth != 1;
}

static void *lc_grow(struct heap_source *s, size_t n)
{
    lc_note(s);
    return lc_of(s)->inner->grow(lc_of(s)->inner, n);
}

static void *lc_map(struct heap_source *s, size_t n)
{
    lc_note(s);
    return lc_of(s)->inner->map(lc_of(s)->inner, n);
}

static void lc_unmap(struct heap_source *s, void *p, size_t n)
{
    lc_note(s);
    lc_of(s)->inner->unmap(lc_of(s)->inner, p, n);
}

static int lc_activate(struct heap_source *s, void *p, size_t n)
{
    lc_note(s);
    return lc_of(s)->inner->activate(lc_of(s)->inner, p, n);
}

static void lc_deactivate(struct heap_source *s, void *p, size_t n)
{
    lc_note(s);
    lc_of(s)->inner->deactivate(lc_of(s)->inner, p, n);
}

static void lc_lock(struct heap_source *s)
{
    struct lock_check *c = lc_of(s);
    c->locks++;
    if (++c->depth > c->max_depth)
        c->max_depth = c->depth;
}

static void lc_unlock(struct heap_source *s)
{
    lc_of(s)->depth--;
}

struct heap_source *lock_check_wrap(struct lock_check *c, struct heap_source *inner)
{
    memset(c, 0, sizeof *c);
    c->inner = inner;
    c->src.grow = lc_grow;
    c->src.map = inner->map ? lc_map : NULL;
    c->src.unmap = inner->unmap ? lc_unmap : NULL;
    c->src.activate = inner->activate ? lc_activate : NULL;
    c->src.deactivate = inner->deactivate ? lc_deactivate : NULL;
    c->src.lock = lc_lock;
    c->src.unlock = lc_unlock;
    c->src.page_size = inner->page_size;
    return &c->src;
}
