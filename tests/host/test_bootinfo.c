/*
 * tests/host/test_bootinfo.c - the Multiboot 1 and 2 parsers on synthetic
 * physical memory, well formed and malformed.
 */
#include "harness.h"
#include "kernel/bootinfo.h"

#include <string.h>

#define PHYS_SIZE (1u << 20) /* simulated physical memory: the first MiB */
static unsigned char phys[PHYS_SIZE];

static void sim_copy(void *dst, uint32_t paddr, uint32_t len, void *ctx)
{
    (void)ctx;
    for (uint32_t i = 0; i < len; i++)
        ((unsigned char *)dst)[i] = (paddr + i < PHYS_SIZE) ? phys[paddr + i] : 0;
}

static const struct boot_reader sim = {sim_copy, 0};
static struct boot_info bi;

static void put32(uint32_t at, uint32_t v) { memcpy(phys + at, &v, 4); }
static void put64(uint32_t at, uint64_t v) { memcpy(phys + at, &v, 8); }

/* A Multiboot 1 memory-map entry with the given size field; returns the next offset. */
static uint32_t mb1_entry(uint32_t at, uint32_t size, uint64_t base, uint64_t len, uint32_t type)
{
    put32(at, size);
    put64(at + 4, base);
    put64(at + 12, len);
    put32(at + 20, type);
    return at + size + 4;
}

static void mb1_info(uint32_t flags, uint32_t mmap_at, uint32_t mmap_len)
{
    memset(phys, 0, sizeof phys);
    put32(0x9000, flags);
    put32(0x9000 + 44, mmap_len);
    put32(0x9000 + 48, mmap_at);
}

TEST(rejects_unknown_magic)
{
    CHECK_EQ(bootinfo_parse(0x12345678, 0x9000, &sim, &bi), -1);
    CHECK_EQ(bi.protocol, 0);
}

TEST(mb1_map_steps_by_size_plus_4)
{
    mb1_info(0x40, 0xA000, 0);
    uint32_t at = 0xA000;
    at = mb1_entry(at, 20, 0, 0x9FC00, 1);               /* classic 24-byte stride */
    at = mb1_entry(at, 28, 0x100000, 0x700000, 1);       /* a longer entry: 32-byte stride */
    at = mb1_entry(at, 20, 0x9FC00, 0x400, 2);
    put32(0x9000 + 44, at - 0xA000);
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(bi.protocol, 1);
    CHECK_EQ(bi.mem.count, 3);
    CHECK_EQ(memmap_usable_total(&bi.mem), 0x9FC00 + 0x700000);
    CHECK_EQ(bi.warnings, 0);
}

TEST(mb1_entry_too_small_or_overrunning_stops_the_walk)
{
    mb1_info(0x40, 0xA000, 0);
    uint32_t at = mb1_entry(0xA000, 20, 0x100000, 0x100000, 1);
    at = mb1_entry(at, 8, 0x200000, 0x100000, 1); /* size 8 cannot hold an entry */
    put32(0x9000 + 44, at - 0xA000);
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(bi.mem.count, 1);
    CHECK_EQ(bi.warnings, 1);

    mb1_info(0x40, 0xA000, 30); /* length cuts the second entry in half */
    at = mb1_entry(0xA000, 20, 0x100000, 0x100000, 1);
    mb1_entry(at, 20, 0x300000, 0x100000, 1);
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(bi.mem.count, 1);
    CHECK_EQ(bi.warnings, 1);
}

TEST(mb1_fields_are_read_only_when_flagged)
{
    mb1_info(0, 0, 0);
    put32(0x9000 + 16, 0xB000); /* a cmdline pointer, but flag 2 is clear */
    strcpy((char *)phys + 0xB000, "should not be seen");
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(bi.cmdline[0], 0);
    CHECK_EQ(bi.mem.count, 0);
    /* with flag 2 set it is read */
    put32(0x9000, 0x4);
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK(strcmp(bi.cmdline, "should not be seen") == 0);
}

TEST(mb1_without_map_uses_mem_lower_upper)
{
    mb1_info(0x1, 0, 0);
    put32(0x9000 + 4, 639);
    put32(0x9000 + 8, 31 * 1024);
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(memmap_usable_total(&bi.mem), 639 * 1024 + 31 * 1024 * 1024);
}

TEST(mb1_long_cmdline_and_modules_are_bounded)
{
    mb1_info(0x4 | 0x8, 0, 0);
    put32(0x9000 + 16, 0xB000);
    memset(phys + 0xB000, 'x', 4000); /* no terminator for 4000 bytes */
    put32(0x9000 + 20, 40);           /* 40 modules */
    put32(0x9000 + 24, 0xC000);
    for (uint32_t i = 0; i < 40; i++) {
        put32(0xC000 + i * 16, 0x200000 + i * 0x1000);
        put32(0xC000 + i * 16 + 4, i == 3 ? 0x200000 : 0x200000 + i * 0x1000 + 0x800);
        put32(0xC000 + i * 16 + 8, i == 0 ? 0xD000 : 0);
    }
    strcpy((char *)phys + 0xD000, "/boot/initrd");
    CHECK_EQ(bootinfo_parse(MULTIBOOT1_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
    /* the first 16 are read, one of them (index 3) is empty: 15 kept, 25 dropped */
    CHECK_EQ(bi.module_count, BOOT_MODULES_MAX - 1);
    CHECK(strcmp(bi.module[0].name, "/boot/initrd") == 0);
    CHECK_EQ(bi.modules_dropped, 40 - BOOT_MODULES_MAX + 1);
    for (unsigned i = 0; i < bi.module_count; i++)
        CHECK(bi.module[i].end > bi.module[i].start); /* the empty one was dropped */
}

/* ---------------------------------------------------------------- Multiboot 2 */

static uint32_t tag_at;

static void mb2_begin(void)
{
    memset(phys, 0, sizeof phys);
    tag_at = 0x9000 + 8;
}

static uint32_t mb2_tag(uint32_t type, uint32_t size)
{
    uint32_t at = tag_at;
    put32(at, type);
    put32(at + 4, size);
    tag_at += (size + 7) & ~7u;
    return at;
}

static void mb2_end(void)
{
    mb2_tag(0, 8);
    put32(0x9000, tag_at - 0x9000);
}

TEST(mb2_well_formed)
{
    mb2_begin();
    uint32_t t = mb2_tag(1, 8 + 10);
    memcpy(phys + t + 8, "test=abc ", 10);
    t = mb2_tag(2, 8 + 5);
    memcpy(phys + t + 8, "GRUB", 5);
    t = mb2_tag(6, 16 + 3 * 24);
    put32(t + 8, 24);
    put32(t + 12, 0);
    put64(t + 16, 0);         put64(t + 24, 0x9FC00);   put32(t + 32, 1);
    put64(t + 40, 0x100000);  put64(t + 48, 0x7EE0000); put32(t + 56, 1);
    put64(t + 64, 0xFFFC0000); put64(t + 72, 0x40000);  put32(t + 80, 2);
    t = mb2_tag(3, 16 + 7);
    put32(t + 8, 0x400000);
    put32(t + 12, 0x410000);
    memcpy(phys + t + 16, "initrd", 7);
    mb2_end();
    CHECK_EQ(bootinfo_parse(MULTIBOOT2_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(bi.protocol, 2);
    CHECK(strcmp(bi.cmdline, "test=abc ") == 0);
    CHECK(strcmp(bi.loader, "GRUB") == 0);
    CHECK_EQ(bi.mem.count, 3);
    CHECK_EQ(bi.module_count, 1);
    CHECK(strcmp(bi.module[0].name, "initrd") == 0);
    CHECK_EQ(bi.info_end - bi.info_start, tag_at - 0x9000);
    CHECK_EQ(bi.warnings, 0);
    char value[16];
    CHECK(bootinfo_option(&bi, "test", value, sizeof value));
    CHECK(strcmp(value, "abc") == 0);
    CHECK(!bootinfo_option(&bi, "tes", 0, 0));
}

TEST(mb2_tag_overrunning_total_size_stops_parsing)
{
    mb2_begin();
    uint32_t t = mb2_tag(1, 8 + 4);
    memcpy(phys + t + 8, "abc", 4);
    t = mb2_tag(6, 4000); /* claims far more than total_size */
    put32(t + 8, 24);
    mb2_end();
    put32(0x9000, 64); /* total covers the first tag and part of the second */
    CHECK_EQ(bootinfo_parse(MULTIBOOT2_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK(strcmp(bi.cmdline, "abc") == 0);
    CHECK_EQ(bi.mem.count, 0);
    CHECK_EQ(bi.warnings, 1);
}

TEST(mb2_bad_entry_size_and_tiny_tags)
{
    mb2_begin();
    uint32_t t = mb2_tag(6, 16 + 48);
    put32(t + 8, 12); /* an entry cannot be 12 bytes */
    mb2_tag(1, 4);    /* a tag smaller than its own header */
    mb2_end();
    CHECK_EQ(bootinfo_parse(MULTIBOOT2_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK_EQ(bi.mem.count, 0);
    CHECK_EQ(bi.warnings, 2);
}

TEST(mb2_absurd_total_size_is_capped)
{
    mb2_begin();
    put32(0x9000, 0xFFFFFFF0);
    CHECK_EQ(bootinfo_parse(MULTIBOOT2_MAGIC, 0x9000, &sim, &bi), 0);
    CHECK(bi.warnings >= 1);
    /* info at the very top of the address space: reads wrap to zeros, no crash */
    CHECK_EQ(bootinfo_parse(MULTIBOOT2_MAGIC, 0xFFFFFFFC, &sim, &bi), 0);
}
