/* libmm test for mm/heap_pages.h: page-granular blocks. */
#include "libmm_use.h"
#include "mm/heap_pages.h"
#include "mm/host/source_linux.h"

int main(void)
{
    struct heap *h = heap_pages_create(source_linux_create(NULL));
    libmm_use_heap(h, 1 << 20);
    void *p = heap_alloc(h, 100, 0);
    USE_EXPECT(p && ((uintptr_t)p & 4095) == 0 && heap_size(h, p) == 4096);
    USE_EXPECT(heap_pages_set_tag(h, p, (void *)h) == 0 && heap_pages_tag(h, p) == (void *)h);
    heap_free(h, p);
    heap_pages_destroy(h);
    return libmm_use_done("mm/heap_pages.h");
}
