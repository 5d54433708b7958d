/*
 * kernel/elf.h - loading static ELF32 i386 executables into a user space.
 *
 * Two steps, so that everything that reads the untrusted file is pure code
 * the hosted tests and the fuzzer run:
 *
 *   elf_parse (kernel/elf.c)       checks every header field against the
 *                                  file's size and the process layout and
 *                                  writes a PLAN: the loadable segments
 *                                  (where, how big, which file bytes, which
 *                                  protection) and the entry point.  Reads
 *                                  the file, writes only *out.
 *   elf_load (kernel/elf_load.c)   carries a plan out in an address space
 *                                  through mm/vmm.h.  Kernel only.
 *
 * What is accepted: ELFCLASS32, little-endian, version 1, System V ABI,
 * EM_386, ET_EXEC (static, not position independent), at least one PT_LOAD
 * and at most ELF_MAX_SEGMENTS, each inside the image area
 * [USER_IMAGE_START, USER_IMAGE_END) of kernel/syscall_nr.h, in ascending
 * address order, no two sharing a page (each segment gets pages of its own
 * protection), none both writable and executable, and the entry point in
 * the file-backed part of an executable segment.  PT_INTERP, PT_DYNAMIC,
 * PT_TLS and PT_SHLIB are refused; PT_NULL, PT_NOTE, PT_PHDR and types the
 * loader does not know (PT_GNU_STACK...) are ignored.  docs/processes.md has
 * the full list of checks.
 */
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- file format */
#define ELF_MAG0 0x7F
#define ELF_CLASS32 1
#define ELF_DATA2LSB 1
#define ELF_VERSION_CURRENT 1
#define ELF_OSABI_SYSV 0
#define ELF_ET_EXEC 2
#define ELF_EM_386 3

#define ELF_PT_NULL 0
#define ELF_PT_LOAD 1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP 3
#define ELF_PT_NOTE 4
#define ELF_PT_SHLIB 5
#define ELF_PT_PHDR 6
#define ELF_PT_TLS 7

#define ELF_PF_X 0x1u
#define ELF_PF_W 0x2u
#define ELF_PF_R 0x4u

/* e_ident indices */
enum {
    EI_MAG0,
    EI_MAG1,
    EI_MAG2,
    EI_MAG3,
    EI_CLASS,
    EI_DATA,
    EI_VERSION,
    EI_OSABI,
    EI_ABIVERSION,
    EI_NIDENT = 16
};

/* The file header, as stored (little-endian fields). */
struct elf32_ehdr {
    unsigned char e_ident[EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf32_ehdr) == 52, "Elf32_Ehdr is 52 bytes");

/* A program header, as stored. */
struct elf32_phdr {
    uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};
_Static_assert(sizeof(struct elf32_phdr) == 32, "Elf32_Phdr is 32 bytes");

#define ELF_SHDR_SIZE 40 /* Elf32_Shdr: only its size matters to the loader */

/* ---------------------------------------------------------------- the plan */
#define ELF_MAX_SEGMENTS 8

struct elf_segment {
    uint32_t vaddr;  /* first byte (need not be page aligned) */
    uint32_t memsz;  /* bytes in memory, > 0 */
    uint32_t offset; /* file offset of the first file byte */
    uint32_t filesz; /* bytes from the file (<= memsz); the rest is zero */
    unsigned prot;   /* VMM_PROT_* (READ always; WRITE or EXEC, never both) */
};

struct elf_image {
    uint32_t entry;
    unsigned count; /* loadable segments, ascending vaddr */
    struct elf_segment seg[ELF_MAX_SEGMENTS];
    uint32_t image_start, image_end; /* first and last segment, page-rounded */
    int bad_phdr; /* after a refusal: index of the program header at fault, -1 if none */
};

/*
 * Check the ELF file [file, file + size) and fill *out with its load plan.
 * Pure: reads only the file, writes only *out, any alignment of `file`.
 * Returns 0, or -ENOEXEC when the file is refused; then *why (when why is
 * not NULL) names the problem in a short static sentence ("segment reaches
 * the kernel half") and out->bad_phdr says which program header it was in.
 */
int elf_parse(const void *file, size_t size, struct elf_image *out, const char **why);

struct vmm_space;

/*
 * Carry out a plan made by elf_parse from the same file, in `space` (a user
 * space without regions in the image area; it need not be the loaded one).
 * Each segment becomes a reservation with its protection, committed; the
 * pages holding file bytes are backed now and filled, the rest (bss) stays
 * lazily committed and reads as zeros.  Returns 0, or -ENOMEM (no frame,
 * no commit charge, no region record), -EEXIST (the space already has
 * something there); on failure every segment reserved so far is released.
 * Kernel only (kernel/elf_load.c).
 */
int elf_load(struct vmm_space *space, const void *file, const struct elf_image *img);

#endif /* KERNEL_ELF_H */
