/*
 * kernel/elf.h - loading static executables into a user space: ELF32 i386
 * for the i686 kernel, ELF64 x86-64 for the 64-bit one.
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
 * The parser reads both classes; what a kernel accepts is its TARGET (the
 * class, the machine and the end of user space): elf_parse uses the one
 * the kernel is built for, elf_parse_for any of them (the hosted tests
 * check both from one binary, the fuzzer feeds both the same bytes).
 *
 * What is accepted: the target's class (ELFCLASS32 or ELFCLASS64),
 * little-endian, version 1, System V ABI, the target's machine (EM_386 or
 * EM_X86_64), ET_EXEC (static, not position independent), at least one PT_LOAD
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
#define ELF_CLASS64 2
#define ELF_DATA2LSB 1
#define ELF_VERSION_CURRENT 1
#define ELF_OSABI_SYSV 0
#define ELF_ET_EXEC 2
#define ELF_EM_386 3
#define ELF_EM_X86_64 62

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

/* The 64-bit file header: the same fields, addresses and offsets widened. */
struct elf64_ehdr {
    unsigned char e_ident[EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "Elf64_Ehdr is 64 bytes");

/* The 64-bit program header: p_flags moves up next to p_type. */
struct elf64_phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "Elf64_Phdr is 56 bytes");

/* Section headers: only their size matters to the loader. */
#define ELF32_SHDR_SIZE 40
#define ELF64_SHDR_SIZE 64

/* ---------------------------------------------------------------- targets */
/*
 * What a kernel runs.  user_end is where user space ends (the kernel half
 * on i686, the last page below the non-canonical hole on x86-64:
 * USER32_SPACE_END / USER64_SPACE_END of kernel/syscall_nr.h); the image
 * area [USER_IMAGE_START, USER_IMAGE_END) is the same for both.
 */
struct elf_target {
    const char *name;        /* "i386", "x86-64" */
    unsigned char elf_class; /* ELF_CLASS32 or ELF_CLASS64 */
    uint16_t machine;        /* ELF_EM_386 or ELF_EM_X86_64 */
    uint64_t user_end;
};
extern const struct elf_target elf_target_i386, elf_target_x86_64;

/* ---------------------------------------------------------------- the plan */
#define ELF_MAX_SEGMENTS 8

/* Addresses are uintptr_t: every one lies in the image area, below 1 GiB. */
struct elf_segment {
    uintptr_t vaddr; /* first byte (need not be page aligned) */
    uintptr_t memsz; /* bytes in memory, > 0 */
    size_t offset;   /* file offset of the first file byte */
    size_t filesz;   /* bytes from the file (<= memsz); the rest is zero */
    unsigned prot;   /* VMM_PROT_* (READ always; WRITE or EXEC, never both) */
};

struct elf_image {
    uintptr_t entry;
    unsigned count; /* loadable segments, ascending vaddr */
    struct elf_segment seg[ELF_MAX_SEGMENTS];
    uintptr_t image_start, image_end; /* first and last segment, page-rounded */
    int bad_phdr; /* after a refusal: index of the program header at fault, -1 if none */
};

/*
 * Check the ELF file [file, file + size) against `target` and fill *out
 * with its load plan.  Pure: reads only the file, writes only *out, any
 * alignment of `file`.  Returns 0, or -ENOEXEC when the file is refused;
 * then *why (when why is not NULL) names the problem in a short static
 * sentence ("segment reaches the kernel half") and out->bad_phdr says which
 * program header it was in.
 */
int elf_parse_for(const struct elf_target *target, const void *file, size_t size,
                  struct elf_image *out, const char **why);

/* elf_parse_for the target this file is compiled for (x86-64 in the hosted build). */
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
