/*
 * tests/fuzz/fuzz_bootinfo.c - the boot-info parsers on arbitrary bytes.
 *
 * Input: byte 0 picks the protocol, the rest is physical memory from
 * address 0x1000 on (the information structure is at 0x1000; anything it
 * points to elsewhere reads as zeros or as the input itself).  Whatever the
 * input, parsing must not crash and its result must be well formed: a
 * sorted, disjoint memory map, terminated strings, non-empty modules.
 */
#include "kernel/bootinfo.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t *mem;
static size_t mem_size;

static void fuzz_copy(void *dst, uint32_t paddr, uint32_t len, void *ctx)
{
    (void)ctx;
    /* zeros, then the part of [paddr, paddr+len) that the input covers */
    memset(dst, 0, len);
    uint64_t lo = paddr > 0x1000 ? paddr : 0x1000, hi = (uint64_t)paddr + len;
    if (hi > 0x1000 + mem_size)
        hi = 0x1000 + mem_size;
    if (lo < hi)
        memcpy((uint8_t *)dst + (lo - paddr), mem + (lo - 0x1000), hi - lo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct boot_info bi;
    static const struct boot_reader rd = {fuzz_copy, 0};
    if (size < 1)
        return 0;
    mem = data + 1;
    mem_size = size - 1;
    uint32_t magic = (data[0] & 1) ? MULTIBOOT2_MAGIC : MULTIBOOT1_MAGIC;
    if (bootinfo_parse(magic, 0x1000, &rd, &bi) != 0)
        abort();
    if (strnlen(bi.cmdline, sizeof bi.cmdline) == sizeof bi.cmdline ||
        strnlen(bi.loader, sizeof bi.loader) == sizeof bi.loader)
        abort();
    for (unsigned i = 0; i < bi.mem.count; i++) {
        const struct mem_range *r = &bi.mem.range[i];
        if (r->length == 0 || (i && bi.mem.range[i - 1].base + bi.mem.range[i - 1].length > r->base))
            abort();
    }
    if (bi.module_count > BOOT_MODULES_MAX)
        abort();
    for (unsigned i = 0; i < bi.module_count; i++)
        if (bi.module[i].end <= bi.module[i].start)
            abort();
    return 0;
}
