/*
 * kernel/bootinfo.c - Multiboot 1 and 2 into struct boot_info.
 *
 * Both protocols are parsed from copies: everything is read through a
 * struct boot_reader into kernel buffers (the kernel's reader maps one page
 * at a time through a window), so the information may sit anywhere below
 * 4 GiB and is never touched again after this file.  The reader also makes
 * this file hosted-testable: tests/host/test_bootinfo.c and the fuzz target
 * tests/fuzz/fuzz_bootinfo.c hand it synthetic and malformed structures.
 *
 * Validation: a Multiboot 1 field is read only if its flag bit says it is
 * there; memory-map entries are stepped by `size + 4` with size checked;
 * a Multiboot 2 tag must fit inside total_size and be at least 8 bytes; a
 * memory-map tag's entry_size must hold an entry.  Anything malformed is
 * skipped and counted in bi->warnings.  The ranges themselves are then made
 * consistent by memmap_normalise().
 */
#include "kernel/bootinfo.h"

#include <string.h>

static const struct boot_reader *reader;

/* Copy len bytes of physical memory at paddr into dst; wrapping past 4 GiB reads zeros. */
static void phys_copy(void *dst, uint32_t paddr, uint32_t len)
{
    if ((uint64_t)paddr + len > 0x100000000ull) {
        memset(dst, 0, len);
        return;
    }
    reader->copy(dst, paddr, len, reader->ctx);
}

/* Copy a NUL-terminated string from physical memory, at most max-1 characters. */
static void phys_string(char *dst, uint32_t paddr, unsigned max)
{
    unsigned i = 0;
    for (; i + 1 < max; i++) {
        char c;
        phys_copy(&c, paddr + i, 1);
        if (!c)
            break;
        dst[i] = c;
    }
    dst[i] = 0;
}

static void add_module(struct boot_info *bi, uint32_t start, uint32_t end, const char *name)
{
    if (end <= start || bi->module_count == BOOT_MODULES_MAX) {
        bi->modules_dropped++;
        return;
    }
    struct boot_module *m = &bi->module[bi->module_count++];
    m->start = start;
    m->end = end;
    size_t i = 0;
    for (; i + 1 < sizeof m->name && name[i]; i++)
        m->name[i] = name[i];
    m->name[i] = 0;
}

/* ---------------------------------------------------------------- Multiboot 1 */

struct mb1_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};
_Static_assert(sizeof(struct mb1_info) == 68, "Multiboot 1 info layout");

#define MB1_MEM 0x001u
#define MB1_CMDLINE 0x004u
#define MB1_MODS 0x008u
#define MB1_MMAP 0x040u
#define MB1_LOADER 0x200u
#define MB1_MMAP_MAX 4096u

static size_t mb1_memory_map(const struct mb1_info *info, struct boot_info *bi,
                             struct mem_range *raw, size_t max)
{
    static unsigned char buf[MB1_MMAP_MAX];
    uint32_t len = info->mmap_length;
    size_t n = 0;

    if (len > MB1_MMAP_MAX) {
        bi->warnings++;
        len = MB1_MMAP_MAX;
    }
    phys_copy(buf, info->mmap_addr, len);
    for (uint32_t off = 0; off + 4 <= len && n < max;) {
        uint32_t size;
        memcpy(&size, buf + off, 4);
        if (size < 20 || off + 4 + size > len) { /* an entry must hold base, length, type */
            bi->warnings++;
            break;
        }
        memcpy(&raw[n].base, buf + off + 4, 8);
        memcpy(&raw[n].length, buf + off + 12, 8);
        memcpy(&raw[n].type, buf + off + 20, 4);
        n++;
        off += size + 4;
    }
    return n;
}

static void mb1_parse(uint32_t info_phys, struct boot_info *bi, struct mem_range *raw, size_t *nraw)
{
    struct mb1_info info;
    phys_copy(&info, info_phys, sizeof info);
    bi->info_start = info_phys;
    bi->info_end = info_phys + sizeof info;

    if (info.flags & MB1_CMDLINE)
        phys_string(bi->cmdline, info.cmdline, sizeof bi->cmdline);
    if (info.flags & MB1_LOADER)
        phys_string(bi->loader, info.boot_loader_name, sizeof bi->loader);
    if (info.flags & MB1_MMAP) {
        *nraw = mb1_memory_map(&info, bi, raw, MEMMAP_MAX);
    } else if (info.flags & MB1_MEM) {
        /* no map: the two classic figures, in KiB */
        raw[0] = (struct mem_range){0, (uint64_t)info.mem_lower * 1024, MEM_USABLE};
        raw[1] = (struct mem_range){0x100000, (uint64_t)info.mem_upper * 1024, MEM_USABLE};
        *nraw = 2;
    }
    if (info.flags & MB1_MODS) {
        if (info.mods_count > BOOT_MODULES_MAX)
            bi->modules_dropped += info.mods_count - BOOT_MODULES_MAX;
        for (uint32_t i = 0; i < info.mods_count && i < BOOT_MODULES_MAX; i++) {
            uint32_t mod[4]; /* start, end, string, reserved */
            char name[BOOT_NAME_MAX] = "";
            phys_copy(mod, info.mods_addr + i * 16, sizeof mod);
            if (mod[2])
                phys_string(name, mod[2], sizeof name);
            add_module(bi, mod[0], mod[1], name);
        }
    }
}

/* ---------------------------------------------------------------- Multiboot 2 */

#define MB2_INFO_MAX 65536u
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void copy_tag_string(char *dst, const unsigned char *s, uint32_t len, unsigned max)
{
    unsigned i = 0;
    for (; i + 1 < max && i < len && s[i]; i++)
        dst[i] = (char)s[i];
    dst[i] = 0;
}

static size_t mb2_memory_map(const unsigned char *tag, uint32_t size, struct boot_info *bi,
                             struct mem_range *raw, size_t n, size_t max)
{
    uint32_t entry_size = rd32(tag + 8);
    if (size < 16 || entry_size < 24 || (entry_size & 7)) {
        bi->warnings++;
        return n;
    }
    for (uint32_t off = 16; off + entry_size <= size && n < max; off += entry_size) {
        memcpy(&raw[n].base, tag + off, 8);
        memcpy(&raw[n].length, tag + off + 8, 8);
        memcpy(&raw[n].type, tag + off + 16, 4);
        n++;
    }
    return n;
}

static void mb2_parse(uint32_t info_phys, struct boot_info *bi, struct mem_range *raw, size_t *nraw)
{
    static unsigned char buf[MB2_INFO_MAX];
    uint32_t total;

    phys_copy(&total, info_phys, 4);
    if (total < 16 || total > MB2_INFO_MAX) {
        bi->warnings++;
        total = total < 16 ? 8 : MB2_INFO_MAX;
    }
    phys_copy(buf, info_phys, total);
    bi->info_start = info_phys;
    bi->info_end = info_phys + total;

    for (uint32_t off = 8; off + 8 <= total;) {
        uint32_t type = rd32(buf + off), size = rd32(buf + off + 4);
        if (type == MB2_TAG_END)
            break;
        if (size < 8 || size > total - off) {
            bi->warnings++;
            break;
        }
        const unsigned char *tag = buf + off;
        if (type == MB2_TAG_CMDLINE)
            copy_tag_string(bi->cmdline, tag + 8, size - 8, sizeof bi->cmdline);
        else if (type == MB2_TAG_LOADER)
            copy_tag_string(bi->loader, tag + 8, size - 8, sizeof bi->loader);
        else if (type == MB2_TAG_MMAP)
            *nraw = mb2_memory_map(tag, size, bi, raw, *nraw, MEMMAP_MAX);
        else if (type == MB2_TAG_MODULE && size >= 16) {
            char name[BOOT_NAME_MAX];
            copy_tag_string(name, tag + 16, size - 16, sizeof name);
            add_module(bi, rd32(tag + 8), rd32(tag + 12), name);
        }
        off += (size + 7) & ~7u;
    }
}

/* ---------------------------------------------------------------- common */

int bootinfo_parse(uint32_t magic, uint32_t info_phys, const struct boot_reader *rd,
                   struct boot_info *bi)
{
    static struct mem_range raw[MEMMAP_MAX];
    size_t nraw = 0;

    memset(bi, 0, sizeof *bi);
    reader = rd;
    if (magic == MULTIBOOT1_MAGIC) {
        bi->protocol = 1;
        mb1_parse(info_phys, bi, raw, &nraw);
    } else if (magic == MULTIBOOT2_MAGIC) {
        bi->protocol = 2;
        mb2_parse(info_phys, bi, raw, &nraw);
    } else {
        return -1;
    }
    memmap_normalise(raw, nraw, &bi->mem);
    return 0;
}

int bootinfo_option(const struct boot_info *bi, const char *word, char *value, unsigned value_max)
{
    size_t wl = strlen(word);
    for (const char *p = bi->cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        size_t tl = (size_t)(p - tok);
        if (tl < wl || strncmp(tok, word, wl) != 0)
            continue;
        if (tl == wl) {
            if (value && value_max)
                value[0] = 0;
            return 1;
        }
        if (tok[wl] == '=') {
            if (value && value_max) {
                size_t vl = tl - wl - 1;
                if (vl >= value_max)
                    vl = value_max - 1;
                memcpy(value, tok + wl + 1, vl);
                value[vl] = 0;
            }
            return 1;
        }
    }
    return 0;
}
