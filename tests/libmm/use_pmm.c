/* libmm test for mm/pmm.h: the frame allocator over a made-up memory map. */
#include "libmm_use.h"
#include "mm/pmm.h"

int main(void)
{
    struct pmm_range ram[] = {{0, 0x9FC00}, {0x100000, 63u << 20}};
    size_t bytes = pmm_metadata_bytes(ram, 2);
    void *meta = aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095);
    USE_EXPECT(meta && pmm_init(ram, 2, NULL, 0, meta, bytes) == 0);
    size_t before = pmm_free_frames();
    pmm_paddr_t f = pmm_alloc(0), run = pmm_alloc_contig(16, 16, 0);
    USE_EXPECT(f != PMM_NONE && run != PMM_NONE && run % (16 * 4096) == 0);
    USE_EXPECT(pmm_frame_state(f) == PMM_FRAME_USED && pmm_free_frames() == before - 17);
    pmm_free(f);
    pmm_free_contig(run, 16);
    USE_EXPECT(pmm_free_frames() == before);
    free(meta);
    return libmm_use_done("mm/pmm.h");
}
