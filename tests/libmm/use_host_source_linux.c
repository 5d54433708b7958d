/* libmm test for mm/host/source_linux.h: the Linux source, its config and counters. */
#include "libmm_use.h"
#include "mm/heap_general.h"
#include "mm/host/source_linux.h"

int main(void)
{
    struct source_linux_config cfg = {.capacity = 16 << 20, .flags = SOURCE_LINUX_LOCKED};
    struct heap_source *src = source_linux_create(&cfg);
    USE_EXPECT(src != NULL);
    struct heap *h = heap_general_create(src);
    void *p = heap_alloc(h, 100000, 0);
    struct source_linux_stats st;
    source_linux_stats(src, &st);
    USE_EXPECT(p && st.capacity == cfg.capacity && st.grown >= 100000 && st.grow_calls >= 1);
    USE_EXPECT(source_linux_is_committed(src, p, 100000));
    heap_free(h, p);
    heap_general_destroy(h);
    source_linux_destroy(src);
    return libmm_use_done("mm/host/source_linux.h");
}
