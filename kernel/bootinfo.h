/*
 * kernel/bootinfo.h - what the boot loader told us, in one loader-neutral form.
 *
 * bootinfo_parse() reads a Multiboot 1 or Multiboot 2 information structure
 * (copying it out of physical memory through a window, so it may lie
 * anywhere below 4 GiB), validates every field it uses, and fills struct
 * boot_info.  Nothing after that reads Multiboot structures.
 */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H

#include "kernel/memmap.h"

#include <stdint.h>

#define BOOT_CMDLINE_MAX 256
#define BOOT_MODULES_MAX 16
#define BOOT_NAME_MAX 64

#define MULTIBOOT1_MAGIC 0x2BADB002u
#define MULTIBOOT2_MAGIC 0x36D76289u

struct boot_module {
    uint32_t start, end; /* physical, end exclusive */
    char name[BOOT_NAME_MAX];
};

struct boot_info {
    int protocol; /* 1 or 2 */
    char loader[BOOT_NAME_MAX];
    char cmdline[BOOT_CMDLINE_MAX];
    struct memmap mem;
    struct boot_module module[BOOT_MODULES_MAX];
    unsigned module_count;
    unsigned modules_dropped;  /* malformed or beyond BOOT_MODULES_MAX */
    uint32_t kernel_start, kernel_end; /* the kernel image, physical */
    uint32_t info_start, info_end;     /* the loader's information structure, physical */
    unsigned warnings;                 /* malformed fields that were ignored */
};

/*
 * How the parser reads physical memory: copy len bytes at physical paddr
 * into dst.  The kernel reads through a mapping window; hosted tests and
 * the fuzz target read from a simulated memory.  Reads past the end of
 * physical memory must yield zeros, not fail.
 */
struct boot_reader {
    void (*copy)(void *dst, uint32_t paddr, uint32_t len, void *ctx);
    void *ctx;
};

/*
 * Parse the loader's information.  Returns 0, or -1 if `magic` is neither
 * Multiboot magic (then *bi is zeroed).  The kernel extent is the caller's
 * to fill in (it comes from the linker, not the loader).
 */
int bootinfo_parse(uint32_t magic, uint32_t info_phys, const struct boot_reader *rd,
                   struct boot_info *bi);

/* True if the command line has the word `word` or `word=...`; *value gets what follows '='. */
int bootinfo_option(const struct boot_info *bi, const char *word, char *value, unsigned value_max);

#endif /* KERNEL_BOOTINFO_H */
