/* libmm test for mm/malloc.h: the malloc family over any heap. */
#include "libmm_use.h"
#include "mm/heap_composite.h"
#include "mm/host/source_linux.h"
#include "mm/malloc.h"

int main(void)
{
    struct heap *h = heap_composite_create(source_linux_create(NULL));
    char *s = mm_malloc(h, 10);
    USE_EXPECT(s != NULL);
    strcpy(s, "libmm");
    s = mm_realloc(h, s, 100000);
    USE_EXPECT(s && strcmp(s, "libmm") == 0);
    int *z = mm_calloc(h, 100, sizeof *z);
    USE_EXPECT(z && z[99] == 0);
    USE_EXPECT(mm_calloc(h, (size_t)-1 / 2, 4) == NULL);
    void *a = NULL;
    USE_EXPECT(mm_posix_memalign(h, &a, 256, 1000) == 0 && ((uintptr_t)a & 255) == 0);
    void *v = mm_valloc(h, 10);
    USE_EXPECT(v && ((uintptr_t)v & 4095) == 0 && mm_malloc_usable_size(h, v) >= 10);
    mm_free(h, s);
    mm_free(h, z);
    mm_free(h, a);
    mm_free(h, v);
    USE_EXPECT(heap_check(h) == 0);
    return libmm_use_done("mm/malloc.h");
}
