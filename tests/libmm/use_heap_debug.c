/*
 * libmm test for mm/heap_debug.h: the guard-page allocator, and that its
 * reports name real call sites in the optimised library.  The block is
 * allocated in allocate_here() and freed in free_here(); the program prints
 * the recorded call sites, and the test maps them back to function names
 * (addr2line) and requires these two.
 */
#include "libmm_use.h"
#include "mm/heap_debug.h"
#include "mm/host/source_linux.h"

__attribute__((noinline)) static void *allocate_here(struct heap *h)
{
    void *p = heap_alloc(h, 40, 0);
    __asm__ volatile("" ::: "memory"); /* keep the call a call, not a tail jump */
    return p;
}

__attribute__((noinline)) static void free_here(struct heap *h, void *p)
{
    heap_free(h, p);
    __asm__ volatile("" ::: "memory");
}

int main(void)
{
    struct heap *h =
        heap_debug_create_with(source_linux_create(NULL),
                               &(struct heap_debug_config){.window_bytes = 4 << 20, .flags = 0});
    libmm_use_heap(h, 8192);
    void *p = allocate_here(h);
    USE_EXPECT(p && heap_size(h, p) == 40);
    free_here(h, p);
    struct heap_debug_block b;
    USE_EXPECT(heap_debug_lookup(h, (uintptr_t)p, &b) == 1 && !b.live);
    printf("allocated at 0x%lx\nfreed at 0x%lx\n", (unsigned long)b.alloc_trace[0],
           (unsigned long)b.free_trace[0]);
    char why[160];
    USE_EXPECT(heap_debug_explain(h, (uintptr_t)p + 3, why, sizeof why) == 1 &&
               strstr(why, "use-after-free"));
    printf("explained: %s\n", why);
    heap_debug_destroy(h);
    return libmm_use_done("mm/heap_debug.h");
}
