/*
 * kernel/elf.c - elf_parse: validate a static ELF32 i386 executable and
 * make its load plan (see elf.h).  Pure C: compiled into the kernel and
 * into the hosted tests and the fuzz target.
 *
 * How it works: the file header and each program header are copied out of
 * the file with memcpy (the file may be unaligned and is never written),
 * then checked field by field, each check with its own message.  Sums of
 * file offsets and sizes are done in 64 bits, so no check can be fooled by
 * a 32-bit wrap.  Loadable segments are collected in program-header order
 * (which the ELF specification requires to be ascending by address), then
 * checked against each other and against the entry point.
 *
 * The rules (docs/processes.md lists them as a table):
 *   - identification: magic, 32-bit class, little-endian, version 1, System V
 *     ABI (ABI version 0); ET_EXEC for EM_386, e_version 1, e_flags 0;
 *   - e_ehsize is 52, e_phentsize 32, the program-header table is non-empty,
 *     starts after the file header and ends inside the file; the section
 *     table (unused, but described by the header) is either absent or inside
 *     the file with 40-byte entries and a valid string-table index;
 *   - PT_LOAD: file bytes inside the file, p_filesz <= p_memsz, p_align 0 or
 *     a power of two with p_vaddr = p_offset modulo p_align, only R/W/X flags,
 *     at least one of them, not W and X together, the memory range without
 *     wrap, outside page 0, below the kernel half and inside the image area;
 *     empty segments (p_memsz 0) are skipped;
 *   - segments ascending and not sharing a page; at most ELF_MAX_SEGMENTS;
 *   - the entry point lies in the file-backed part of an executable segment.
 */
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/syscall_nr.h"
#include "mm/vmm.h"

#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elf.c reads little-endian headers in place"
#endif

#define PAGE 4096u

/* A refusal: record the program header and the message, return -ENOEXEC. */
struct verdict {
    struct elf_image *img;
    const char **why;
};

static int refuse(const struct verdict *v, int phdr, const char *message)
{
    v->img->bad_phdr = phdr;
    if (v->why)
        *v->why = message;
    return -ENOEXEC;
}

static uint64_t page_down(uint64_t a)
{
    return a & ~(uint64_t)(PAGE - 1);
}

static uint64_t page_up(uint64_t a)
{
    return (a + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

/* ---------------------------------------------------------------- the file header */

static const char *check_ident(const unsigned char *id)
{
    if (id[EI_MAG0] != ELF_MAG0 || id[EI_MAG1] != 'E' || id[EI_MAG2] != 'L' || id[EI_MAG3] != 'F')
        return "not an ELF file (bad magic)";
    if (id[EI_CLASS] != ELF_CLASS32)
        return "not a 32-bit ELF file";
    if (id[EI_DATA] != ELF_DATA2LSB)
        return "not a little-endian ELF file";
    if (id[EI_VERSION] != ELF_VERSION_CURRENT)
        return "unknown ELF identification version";
    if (id[EI_OSABI] != ELF_OSABI_SYSV || id[EI_ABIVERSION] != 0)
        return "not the System V ABI";
    return NULL;
}

static const char *check_kind(const struct elf32_ehdr *eh)
{
    if (eh->e_type != ELF_ET_EXEC)
        return "not a static executable (e_type is not ET_EXEC)";
    if (eh->e_machine != ELF_EM_386)
        return "not an i386 program";
    if (eh->e_version != ELF_VERSION_CURRENT)
        return "unknown ELF version";
    if (eh->e_flags != 0)
        return "unknown processor flags";
    if (eh->e_ehsize != sizeof(struct elf32_ehdr))
        return "wrong ELF header size";
    return NULL;
}

/* The program-header table and the section-header table must lie inside the file. */
static const char *check_tables(const struct elf32_ehdr *eh, size_t size)
{
    if (eh->e_phentsize != sizeof(struct elf32_phdr))
        return "wrong program header size";
    if (eh->e_phnum == 0)
        return "no program headers";
    if (eh->e_phoff < sizeof(struct elf32_ehdr))
        return "program headers overlap the ELF header";
    if ((uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(struct elf32_phdr) > size)
        return "program headers run past the end of the file";
    if (eh->e_shoff == 0 && eh->e_shnum == 0)
        return NULL; /* no section table (a stripped file): nothing more to check */
    if (eh->e_shoff == 0 || eh->e_shnum == 0)
        return "inconsistent section header table (offset or count is zero)";
    if (eh->e_shentsize != ELF_SHDR_SIZE)
        return "wrong section header size";
    if ((uint64_t)eh->e_shoff + (uint64_t)eh->e_shnum * ELF_SHDR_SIZE > size)
        return "section headers run past the end of the file";
    if (eh->e_shstrndx >= eh->e_shnum)
        return "section name table index out of range";
    return NULL;
}

/* ---------------------------------------------------------------- one segment */

/* The protection of a PT_LOAD from its flags, in *prot: NULL, or what is wrong. */
static const char *segment_prot(uint32_t flags, unsigned *prot)
{
    if (flags & ~(ELF_PF_R | ELF_PF_W | ELF_PF_X))
        return "unknown segment flags";
    if (!(flags & (ELF_PF_R | ELF_PF_W | ELF_PF_X)))
        return "segment grants no access";
    if ((flags & ELF_PF_W) && (flags & ELF_PF_X))
        return "segment is both writable and executable";
    /* x86 cannot write or execute what it cannot read: READ is always given. */
    *prot = VMM_PROT_READ | ((flags & ELF_PF_W) ? VMM_PROT_WRITE : 0) |
            ((flags & ELF_PF_X) ? VMM_PROT_EXEC : 0);
    return NULL;
}

/* Where the segment's bytes come from. */
static const char *check_file_part(const struct elf32_phdr *ph, size_t size)
{
    if ((uint64_t)ph->p_offset + ph->p_filesz > size)
        return "segment's file bytes run past the end of the file";
    if (ph->p_filesz > ph->p_memsz)
        return "segment has more file bytes than memory (p_filesz > p_memsz)";
    if (ph->p_align & (ph->p_align - 1))
        return "segment alignment is not a power of two";
    if (ph->p_align > 1 && (ph->p_vaddr - ph->p_offset) % ph->p_align != 0)
        return "segment address and file offset disagree modulo the alignment";
    return NULL;
}

/* Where the segment goes: no wrap, not page 0, user half, image area. */
static const char *check_memory_part(const struct elf32_phdr *ph)
{
    uint64_t end = (uint64_t)ph->p_vaddr + ph->p_memsz;
    if (end > UINT32_MAX)
        return "segment wraps around the end of the address space";
    if (ph->p_vaddr < VMM_USER_START)
        return "segment maps page 0";
    if (end > VMM_USER_END)
        return "segment reaches the kernel half";
    if (ph->p_vaddr < USER_IMAGE_START || end > USER_IMAGE_END)
        return "segment outside the program image area";
    return NULL;
}

/* Validate one PT_LOAD with p_memsz > 0 and append it to the plan. */
static const char *add_load(const struct elf32_phdr *ph, size_t size, struct elf_image *img)
{
    unsigned prot = 0;
    const char *why = check_file_part(ph, size);
    if (!why)
        why = check_memory_part(ph);
    if (!why)
        why = segment_prot(ph->p_flags, &prot);
    if (!why && img->count == ELF_MAX_SEGMENTS)
        why = "too many loadable segments";
    if (!why && img->count > 0) {
        const struct elf_segment *prev = &img->seg[img->count - 1];
        if (ph->p_vaddr < prev->vaddr)
            why = "loadable segments are not in ascending address order";
        else if (page_down(ph->p_vaddr) < page_up((uint64_t)prev->vaddr + prev->memsz))
            why = "segments overlap or share a page";
    }
    if (why)
        return why;
    img->seg[img->count++] = (struct elf_segment){
        .vaddr = ph->p_vaddr,
        .memsz = ph->p_memsz,
        .offset = ph->p_offset,
        .filesz = ph->p_filesz,
        .prot = prot,
    };
    return NULL;
}

/* One program header of any type. */
static const char *check_phdr(const struct elf32_phdr *ph, size_t size, struct elf_image *img)
{
    switch (ph->p_type) {
    case ELF_PT_LOAD:
        return ph->p_memsz == 0 && ph->p_filesz == 0 ? NULL : add_load(ph, size, img);
    case ELF_PT_DYNAMIC:
        return "dynamically linked (PT_DYNAMIC): only static programs are supported";
    case ELF_PT_INTERP:
        return "asks for an interpreter (PT_INTERP): only static programs are supported";
    case ELF_PT_TLS:
        return "uses thread-local storage (PT_TLS), which is not supported";
    case ELF_PT_SHLIB:
        return "PT_SHLIB segment (reserved, does not conform to the ABI)";
    default:
        return NULL; /* PT_NULL, PT_NOTE, PT_PHDR, PT_GNU_STACK, ...: nothing to load */
    }
}

/* ---------------------------------------------------------------- the whole plan */

/* True if entry lies in the file-backed bytes of an executable segment. */
static int entry_ok(const struct elf_image *img)
{
    for (unsigned i = 0; i < img->count; i++) {
        const struct elf_segment *s = &img->seg[i];
        if ((s->prot & VMM_PROT_EXEC) && img->entry >= s->vaddr &&
            img->entry - s->vaddr < s->filesz)
            return 1;
    }
    return 0;
}

static int parse_phdrs(const unsigned char *bytes, size_t size, const struct elf32_ehdr *eh,
                       const struct verdict *v)
{
    struct elf_image *img = v->img;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        struct elf32_phdr ph;
        memcpy(&ph, bytes + eh->e_phoff + (size_t)i * sizeof ph, sizeof ph);
        const char *why = check_phdr(&ph, size, img);
        if (why)
            return refuse(v, (int)i, why);
    }
    if (img->count == 0)
        return refuse(v, -1, "no loadable segment");
    if (!entry_ok(img))
        return refuse(v, -1, "entry point is not in the code of an executable segment");
    const struct elf_segment *last = &img->seg[img->count - 1];
    img->image_start = (uint32_t)page_down(img->seg[0].vaddr);
    img->image_end = (uint32_t)page_up((uint64_t)last->vaddr + last->memsz);
    return 0;
}

int elf_parse(const void *file, size_t size, struct elf_image *out, const char **why)
{
    const struct verdict v = {out, why};
    struct elf32_ehdr eh;
    memset(out, 0, sizeof *out);
    out->bad_phdr = -1;
    if (why)
        *why = NULL;
    if (!file || size < sizeof eh)
        return refuse(&v, -1, "file too small for an ELF header");
    memcpy(&eh, file, sizeof eh);
    const char *problem = check_ident(eh.e_ident);
    if (!problem)
        problem = check_kind(&eh);
    if (!problem)
        problem = check_tables(&eh, size);
    if (problem)
        return refuse(&v, -1, problem);
    out->entry = eh.e_entry;
    int r = parse_phdrs(file, size, &eh, &v);
    if (r != 0) { /* leave no half-made plan behind */
        int bad = out->bad_phdr;
        memset(out, 0, sizeof *out);
        out->bad_phdr = bad;
    }
    return r;
}
