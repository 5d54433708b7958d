/* libmm test for mm/heap.h: the common API over an instance of one's own. */
#include "libmm_use.h"

/* The smallest allocator there is: a bump pointer over a static buffer. */
struct bump {
    struct heap heap;
    unsigned char *next, *end;
};

static unsigned char buffer[1 << 16];

static void *bump_alloc(struct heap *h, size_t size, size_t align)
{
    struct bump *b = (struct bump *)h;
    uintptr_t at = ((uintptr_t)b->next + sizeof(size_t) + align - 1) & ~(uintptr_t)(align - 1);
    if (at + size > (uintptr_t)b->end)
        return NULL;
    ((size_t *)at)[-1] = size;
    b->next = (unsigned char *)(at + size);
    return (void *)at;
}

static size_t bump_size(struct heap *h, const void *ptr)
{
    struct bump *b = (struct bump *)h;
    const unsigned char *p = ptr;
    return p > buffer && p < b->next ? ((const size_t *)ptr)[-1] : 0;
}

static void bump_free(struct heap *h, void *ptr)
{
    if (!bump_size(h, ptr))
        mm_report("bump: free of %p: not mine", ptr);
}

static const struct heap_ops bump_ops = {.alloc = bump_alloc, .size = bump_size, .free = bump_free};

int main(void)
{
    struct bump b = {.heap = {.ops = &bump_ops}, .next = buffer, .end = buffer + sizeof buffer};
    libmm_use_heap(&b.heap, 512);
    return libmm_use_done("mm/heap.h");
}
