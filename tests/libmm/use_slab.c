/* libmm test for mm/slab.h: an object cache with a constructor, and the size classes. */
#include "libmm_use.h"
#include "mm/host/source_linux.h"
#include "mm/slab.h"

struct thing {
    int state;
    char name[20];
};

static void thing_ctor(void *obj)
{
    ((struct thing *)obj)->state = 42;
}

int main(void)
{
    struct heap_source *src = source_linux_create(NULL);
    struct slab_cache *c = slab_cache_create(src, "thing", sizeof(struct thing), 0, thing_ctor);
    USE_EXPECT(c != NULL);
    struct thing *t = c ? slab_cache_alloc(c) : NULL;
    USE_EXPECT(t && t->state == 42 && slab_cache_object_size(c) >= sizeof *t);
    if (t)
        slab_cache_free(c, t);
    USE_EXPECT(c && slab_cache_destroy(c) == 0);
    struct heap *classes = heap_slab_create(src);
    libmm_use_heap(classes, 1024);
    heap_slab_destroy(classes);
    return libmm_use_done("mm/slab.h");
}
