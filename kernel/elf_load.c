/*
 * kernel/elf_load.c - elf_load: carry out a plan from elf_parse in a user
 * address space (see elf.h).
 *
 * How it works, per segment:
 *   1. reserve its pages with the segment's final protection and commit
 *      them lazily (one vmm_reserve): bss pages stay without frames until
 *      the program touches them, and then read as zeros;
 *   2. commit the pages that hold file bytes eagerly, so that each has a
 *      zeroed frame now;
 *   3. for each of those pages, find the frame with vmm_query and copy the
 *      file bytes in through a temporary kernel mapping (mm_kmap).
 *
 * Why through the frames rather than by switching to the new space and
 * using copy_to_user: the target space never has to be the loaded one, so
 * loading does not depend on which space the scheduler restores if the
 * loading thread is preempted; the text never has to be writable, not even
 * for a moment, since the protection is final from step 1; and nothing can
 * fault.  The price is one mapping per page copied.  Interrupts are off
 * while a mapping is held, because mm_kmap's slots are released in
 * reverse order and a thread switch in between could break that order
 * (4 KiB copied per interrupt-free stretch).
 *
 * On failure every segment reserved so far is released, so the space is
 * as it was.  Kernel only: the hosted build has no MMU to load into.
 */
#include "arch/x86/cpu.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/panic.h"
#include "mm/port.h"
#include "mm/vmm.h"

#include <string.h>

#define PAGE MM_PAGE_SIZE

static uintptr_t page_down(uintptr_t a)
{
    return a & ~(uintptr_t)(PAGE - 1);
}

static uintptr_t page_up(uintptr_t a)
{
    return (a + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
}

/* The errno for a VMM_E* result of reserve/commit. */
static int vmm_errno(int vmm_error)
{
    switch (vmm_error) {
    case VMM_ENOMEM:
        return -ENOMEM;
    case VMM_EEXIST:
        return -EEXIST;
    default:
        return -EINVAL; /* a plan elf_parse accepted never gets here */
    }
}

/* Copy n bytes (within one page) to user address va of space, whose page is backed. */
static void copy_to_frame(struct vmm_space *space, uintptr_t va, const unsigned char *src, size_t n)
{
    struct vmm_page_info page;
    if (vmm_query(space, va, &page) != VMM_OK || page.state != VMM_PAGE_BACKED)
        panic("elf_load: page 0x%08x not backed after an eager commit", (unsigned)va);
    uint32_t flags = irq_save();
    unsigned char *frame = mm_kmap(page.frame);
    memcpy(frame + (va & (PAGE - 1)), src, n);
    mm_kunmap(frame);
    irq_restore(flags);
}

/* Reserve and commit one segment, back its file pages and fill them. */
static int load_segment(struct vmm_space *space, const unsigned char *file,
                        const struct elf_segment *seg)
{
    uintptr_t start = page_down(seg->vaddr), end = page_up((uintptr_t)seg->vaddr + seg->memsz);
    int r = vmm_reserve(space, &start, end - start, seg->prot, VMM_RESERVE_COMMIT);
    if (r != VMM_OK)
        return vmm_errno(r);
    if (seg->filesz == 0)
        return 0; /* all bss */
    uintptr_t file_end = (uintptr_t)seg->vaddr + seg->filesz;
    r = vmm_commit(space, start, page_up(file_end) - start, VMM_COMMIT_EAGER);
    if (r != VMM_OK) {
        vmm_release(space, start, end - start);
        return vmm_errno(r);
    }
    for (uintptr_t va = seg->vaddr; va < file_end;) {
        size_t chunk = page_down(va) + PAGE - va;
        if (chunk > file_end - va)
            chunk = file_end - va;
        copy_to_frame(space, va, file + seg->offset + (va - seg->vaddr), chunk);
        va += chunk;
    }
    return 0;
}

/* Release segments [0, count) of img. */
static void unload_segments(struct vmm_space *space, const struct elf_image *img, unsigned count)
{
    while (count-- > 0) {
        const struct elf_segment *seg = &img->seg[count];
        uintptr_t start = page_down(seg->vaddr);
        vmm_release(space, start, page_up((uintptr_t)seg->vaddr + seg->memsz) - start);
    }
}

int elf_load(struct vmm_space *space, const void *file, const struct elf_image *img)
{
    for (unsigned i = 0; i < img->count; i++) {
        int r = load_segment(space, file, &img->seg[i]);
        if (r != 0) {
            unload_segments(space, img, i);
            return r;
        }
    }
    return 0;
}
