/* libmm test for mm/heap_general.h: the general heap, default and tuned. */
#include "libmm_use.h"
#include "mm/heap_general.h"
#include "mm/host/source_linux.h"

int main(void)
{
    struct heap_source *src = source_linux_create(NULL), *src2 = source_linux_create(NULL);
    libmm_use_heap(heap_general_create(src), 1 << 20);
    struct heap_general_config t;
    heap_general_config_default(&t);
    t.grow_min *= 2;
    struct heap *tuned = heap_general_create_with(src2, &t);
    libmm_use_heap(tuned, 4096);
    heap_general_destroy(tuned);
    return libmm_use_done("mm/heap_general.h");
}
