/*
 * arch/x86/test_arch.c - in-kernel tests of what only the i686 port has:
 * the mapping windows through which it reaches physical memory outside
 * its 16 MiB low map.  (The x86-64 port reaches all RAM through its direct
 * map: arch/x86_64/test_arch.c.)
 */
#include "arch/x86/layout.h"
#include "arch/x86/paging.h"
#include "kernel/ktest.h"

#include <stdint.h>
#include <string.h>

void kmain(uint32_t magic, uint32_t info_phys);

KTEST(window_maps_any_physical_page)
{
    /* the kernel image through the low map and through a window: same bytes */
    const unsigned char *low = (const unsigned char *)kmain;
    uint32_t phys = lowmap_phys(low);
    const unsigned char *win = window_map(WINDOW_SLOT_FIRST_FREE, phys);
    /* the window maps one page: compare up to its end wherever kmain falls in it */
    size_t n = 4096 - (phys & 4095u) < 64 ? 4096 - (phys & 4095u) : 64;
    KT_ASSERT(memcmp(low, win, n) == 0);
    window_unmap(WINDOW_SLOT_FIRST_FREE);
}
