/* libmm test for mm/source_static.h: a heap over a static buffer (grow only). */
#include "libmm_use.h"
#include "mm/heap_general.h"
#include "mm/source_static.h"

static unsigned char buffer[256 << 10];

int main(void)
{
    struct source_static s;
    struct heap_source *src = source_static_init(&s, buffer, sizeof buffer, 0);
    USE_EXPECT(src != NULL);
    libmm_use_heap(heap_general_create(src), 8192);
    USE_EXPECT(source_static_init(&s, buffer, sizeof buffer, 3000) == NULL); /* not a power of two */
    return libmm_use_done("mm/source_static.h");
}
