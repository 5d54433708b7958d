/* libmm test for mm/heap_composite.h: the default allocator, small to large blocks. */
#include "libmm_use.h"
#include "mm/heap_composite.h"
#include "mm/host/source_linux.h"

int main(void)
{
    struct heap *h = heap_composite_create(source_linux_create(NULL));
    USE_EXPECT(h && heap_is_composite(h));
    libmm_use_heap(h, 4 << 20);
    heap_composite_shrink(h);
    heap_composite_destroy(h);
    return libmm_use_done("mm/heap_composite.h");
}
