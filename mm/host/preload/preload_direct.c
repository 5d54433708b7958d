/*
 * mm/host/preload/preload_direct.c - blocks that touch no heap instance,
 * for calls that re-enter libmm (a signal handler calling malloc while its
 * thread was inside malloc or free).
 *
 * How it works: each block is a mapping of its own (mmap, which is
 * async-signal-safe), recorded in the owner map under the marker
 * preload_direct_owner.  A 32-byte header just below the block gives the
 * mapping's base and length; its magic word is the block's address mixed
 * with a constant, so that only the address malloc returned is accepted.
 * Any thread frees one, at any time: the owner map entries go, then the
 * mapping.
 *
 * Costs: a system call each way and at least one page per block; they are
 * for the rare re-entrant call, never for the ordinary path.  Locking:
 * none (the owner map is lock-free).
 */
#include <stdint.h>
#include <sys/mman.h>

#include "mm/host/preload/preload.h"

#define DIRECT_PAGE ((size_t)4096)
#define DIRECT_MAGIC ((uintptr_t)0x6469726563746d6dull) /* "directmm" */

char preload_direct_owner[1];

struct direct_head {
    uintptr_t magic; /* DIRECT_MAGIC ^ the block's address */
    void *base;      /* the mapping */
    size_t bytes;    /* its length */
    size_t unused;
};
_Static_assert(sizeof(struct direct_head) == 32, "the header fills the 32 bytes below a block");

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) & ~(to - 1);
}

void *preload_direct_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t head = round_up(sizeof(struct direct_head), align);
    size_t extra = align > DIRECT_PAGE ? align : 0; /* mmap only aligns to a page */
    if (n > SIZE_MAX / 2 - head - extra)
        return NULL;
    size_t bytes = round_up(head + n + extra, DIRECT_PAGE);
    void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (preload_owner_set((uintptr_t)base, bytes, preload_direct_owner) < 0) {
        munmap(base, bytes);
        return NULL;
    }
    uintptr_t p = round_up((uintptr_t)base + sizeof(struct direct_head), align);
    struct direct_head *h = (struct direct_head *)p - 1;
    *h = (struct direct_head){DIRECT_MAGIC ^ p, base, bytes, 0};
    return (void *)p;
}

/* The header of direct block p, or NULL when p is not the start of one. */
static struct direct_head *head_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if ((a & 15) || a < sizeof(struct direct_head))
        return NULL;
    struct direct_head *h = (struct direct_head *)a - 1;
    /* The header's page must be a direct mapping too, or reading it could fault. */
    if (preload_owner_get(h) != preload_direct_owner || h->magic != (DIRECT_MAGIC ^ a))
        return NULL;
    return h;
}

size_t preload_direct_size(const void *p)
{
    struct direct_head *h = head_of(p);
    return h ? (size_t)((uintptr_t)h->base + h->bytes - (uintptr_t)p) : 0;
}

int preload_direct_free(void *p)
{
    struct direct_head *h = head_of(p);
    if (!h)
        return -1;
    void *base = h->base;
    size_t bytes = h->bytes;
    h->magic = 0; /* a second free of p finds no header */
    preload_owner_set((uintptr_t)base, bytes, NULL);
    munmap(base, bytes);
    return 0;
}
