/*
 * tests/fuzz/fuzz_elf.c - elf_parse_for on arbitrary bytes, for both targets.
 *
 * Input: the whole input is the file, given to the i386 and to the x86-64
 * target in turn (the same bytes reach the ELF32 and the ELF64 reading of
 * the headers).  Whatever it holds, parsing must not
 * read outside it (ASan), must return 0 or -ENOEXEC with a message, and an
 * accepted plan must keep every promise elf.h makes: 1..ELF_MAX_SEGMENTS
 * segments in ascending order without a shared page, each inside the image
 * area with its file bytes inside the file, READ always and never WRITE with
 * EXEC, and the entry point in the file bytes of an executable segment.
 * The corpus holds ring-3 programs of user/programs for both architectures
 * (stripped, as the initrds carry them) and small hand-made variants.
 */
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/syscall_nr.h"
#include "mm/vmm.h"

#include <stdlib.h>
#include <string.h>

static int segment_ok(const struct elf_segment *s, size_t size)
{
    uint64_t end = (uint64_t)s->vaddr + s->memsz;
    if (s->memsz == 0 || s->filesz > s->memsz || (uint64_t)s->offset + s->filesz > size)
        return 0;
    if (s->vaddr < USER_IMAGE_START || end > USER_IMAGE_END)
        return 0;
    return (s->prot & VMM_PROT_READ) && !((s->prot & VMM_PROT_WRITE) && (s->prot & VMM_PROT_EXEC));
}

static int plan_ok(const struct elf_image *img, size_t size)
{
    int entry_found = 0;
    if (img->count == 0 || img->count > ELF_MAX_SEGMENTS || img->bad_phdr != -1)
        return 0;
    for (unsigned i = 0; i < img->count; i++) {
        const struct elf_segment *s = &img->seg[i];
        if (!segment_ok(s, size))
            return 0;
        if (i && (s->vaddr & ~0xFFFu) < (uint64_t)img->seg[i - 1].vaddr + img->seg[i - 1].memsz)
            return 0;
        if ((s->prot & VMM_PROT_EXEC) && img->entry >= s->vaddr &&
            img->entry - s->vaddr < s->filesz)
            entry_found = 1;
    }
    return entry_found && img->image_start == (img->seg[0].vaddr & ~0xFFFu) &&
           img->image_end >= img->image_start;
}

static void parse_for(const struct elf_target *target, const uint8_t *data, size_t size)
{
    static struct elf_image img;
    const char *why = NULL;
    int r = elf_parse_for(target, data, size, &img, &why);
    if (r == 0) {
        if (why != NULL || !plan_ok(&img, size))
            abort();
    } else if (r != -ENOEXEC || why == NULL || strlen(why) == 0 || img.count != 0 ||
               img.bad_phdr < -1) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_for(&elf_target_i386, data, size);
    parse_for(&elf_target_x86_64, data, size);
    return 0;
}
