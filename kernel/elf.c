/*
 * kernel/elf.c - elf_parse: validate a static executable, ELF32 i386 or
 * ELF64 x86-64, and make its load plan (see elf.h).  Pure C: compiled into
 * both kernels and into the hosted tests and the fuzz target.
 *
 * How it works: the file header and each program header are copied out of
 * the file with memcpy (the file may be unaligned and is never written)
 * and widened into one class-neutral form (struct ehdr, struct phdr: every
 * address, offset and size 64 bits), then checked field by field, each
 * check with its own message.  So the rules are written once for both
 * classes; only the sizes (header, entries) and the largest address differ,
 * and those come from the class.  Sums of offsets and sizes are checked so
 * that they cannot wrap, in 64 bits as in 32.  Loadable segments are
 * collected in program-header order (which the ELF specification requires
 * to be ascending by address), then checked against each other and against
 * the entry point.
 *
 * The rules (docs/processes.md lists them as a table):
 *   - identification: magic, the target's class, little-endian, version 1,
 *     System V ABI (ABI version 0); ET_EXEC for the target's machine,
 *     e_version 1, e_flags 0;
 *   - e_ehsize and e_phentsize are the class's (52 and 32, or 64 and 56),
 *     the program-header table is non-empty, starts after the file header
 *     and ends inside the file; the section table (unused, but described by
 *     the header) is either absent or inside the file with entries of the
 *     class's size (40 or 64) and a valid string-table index;
 *   - PT_LOAD: file bytes inside the file, p_filesz <= p_memsz, p_align 0 or
 *     a power of two with p_vaddr = p_offset modulo p_align, only R/W/X flags,
 *     at least one of them, not W and X together, the memory range without
 *     wrap, outside page 0, inside user space and inside the image area;
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

const struct elf_target elf_target_i386 = {"i386", ELF_CLASS32, ELF_EM_386, USER32_SPACE_END};
const struct elf_target elf_target_x86_64 = {"x86-64", ELF_CLASS64, ELF_EM_X86_64,
                                             USER64_SPACE_END};

#if defined(__x86_64__)
#define ELF_TARGET_NATIVE elf_target_x86_64
#else
#define ELF_TARGET_NATIVE elf_target_i386
#endif

/* The file header of either class, widened. */
struct ehdr {
    unsigned char ident[EI_NIDENT];
    uint16_t type, machine;
    uint32_t version, flags;
    uint64_t entry, phoff, shoff;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

/* A program header of either class, widened. */
struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
};

/* What differs between the classes: the sizes of things and the largest address. */
struct elf_class_info {
    size_t ehdr_size, phdr_size, shdr_size;
    uint64_t addr_max;
};

static const struct elf_class_info class32 = {sizeof(struct elf32_ehdr), sizeof(struct elf32_phdr),
                                              ELF32_SHDR_SIZE, UINT32_MAX};
static const struct elf_class_info class64 = {sizeof(struct elf64_ehdr), sizeof(struct elf64_phdr),
                                              ELF64_SHDR_SIZE, UINT64_MAX};

/* A refusal: record the program header and the message, return -ENOEXEC. */
struct verdict {
    struct elf_image *img;
    const char **why;
    const struct elf_target *target;
    const struct elf_class_info *cls;
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

static const char *check_ident(const unsigned char *id, const struct elf_target *t)
{
    if (id[EI_MAG0] != ELF_MAG0 || id[EI_MAG1] != 'E' || id[EI_MAG2] != 'L' || id[EI_MAG3] != 'F')
        return "not an ELF file (bad magic)";
    if (id[EI_CLASS] != t->elf_class)
        return t->elf_class == ELF_CLASS32 ? "not a 32-bit ELF file" : "not a 64-bit ELF file";
    if (id[EI_DATA] != ELF_DATA2LSB)
        return "not a little-endian ELF file";
    if (id[EI_VERSION] != ELF_VERSION_CURRENT)
        return "unknown ELF identification version";
    if (id[EI_OSABI] != ELF_OSABI_SYSV || id[EI_ABIVERSION] != 0)
        return "not the System V ABI";
    return NULL;
}

static const char *check_kind(const struct ehdr *eh, const struct verdict *v)
{
    if (eh->type != ELF_ET_EXEC)
        return "not a static executable (e_type is not ET_EXEC)";
    if (eh->machine != v->target->machine)
        return v->target->machine == ELF_EM_386 ? "not an i386 program" : "not an x86-64 program";
    if (eh->version != ELF_VERSION_CURRENT)
        return "unknown ELF version";
    if (eh->flags != 0)
        return "unknown processor flags";
    if (eh->ehsize != v->cls->ehdr_size)
        return "wrong ELF header size";
    return NULL;
}

/* True if a table of count entries of entry_size bytes at offset lies inside the file. */
static int table_inside(uint64_t offset, uint64_t count, size_t entry_size, size_t size)
{
    return offset <= size && count * entry_size <= size - offset;
}

/* The program-header table and the section-header table must lie inside the file. */
static const char *check_tables(const struct ehdr *eh, const struct elf_class_info *cls,
                                size_t size)
{
    if (eh->phentsize != cls->phdr_size)
        return "wrong program header size";
    if (eh->phnum == 0)
        return "no program headers";
    if (eh->phoff < cls->ehdr_size)
        return "program headers overlap the ELF header";
    if (!table_inside(eh->phoff, eh->phnum, cls->phdr_size, size))
        return "program headers run past the end of the file";
    if (eh->shoff == 0 && eh->shnum == 0)
        return NULL; /* no section table (a stripped file): nothing more to check */
    if (eh->shoff == 0 || eh->shnum == 0)
        return "inconsistent section header table (offset or count is zero)";
    if (eh->shentsize != cls->shdr_size)
        return "wrong section header size";
    if (!table_inside(eh->shoff, eh->shnum, cls->shdr_size, size))
        return "section headers run past the end of the file";
    if (eh->shstrndx >= eh->shnum)
        return "section name table index out of range";
    return NULL;
}

/* ---------------------------------------------------------------- reading either class */

/*
 * The two classes name their fields alike and differ only in widths: one
 * widening each, applied to either struct.
 */
#define EHDR_WIDE(e)                                                                               \
    ((struct ehdr){.type = (e).e_type, .machine = (e).e_machine, .version = (e).e_version,        \
                   .flags = (e).e_flags, .entry = (e).e_entry, .phoff = (e).e_phoff,              \
                   .shoff = (e).e_shoff, .ehsize = (e).e_ehsize, .phentsize = (e).e_phentsize,    \
                   .phnum = (e).e_phnum, .shentsize = (e).e_shentsize, .shnum = (e).e_shnum,      \
                   .shstrndx = (e).e_shstrndx})
#define PHDR_WIDE(p)                                                                               \
    ((struct phdr){(p).p_type, (p).p_flags, (p).p_offset, (p).p_vaddr, (p).p_filesz, (p).p_memsz, \
                   (p).p_align})

/* The file header; the file holds at least the class's header size. */
static void read_ehdr(const unsigned char *bytes, const struct elf_class_info *cls,
                      struct ehdr *out)
{
    if (cls == &class32) {
        struct elf32_ehdr e;
        memcpy(&e, bytes, sizeof e);
        *out = EHDR_WIDE(e);
    } else {
        struct elf64_ehdr e;
        memcpy(&e, bytes, sizeof e);
        *out = EHDR_WIDE(e);
    }
    memcpy(out->ident, bytes, EI_NIDENT);
}

/* Program header i; check_tables made sure it is inside the file. */
static void read_phdr(const unsigned char *bytes, const struct ehdr *eh,
                      const struct elf_class_info *cls, unsigned i, struct phdr *out)
{
    const unsigned char *at = bytes + eh->phoff + (size_t)i * cls->phdr_size;
    if (cls == &class32) {
        struct elf32_phdr p;
        memcpy(&p, at, sizeof p);
        *out = PHDR_WIDE(p);
    } else {
        struct elf64_phdr p;
        memcpy(&p, at, sizeof p);
        *out = PHDR_WIDE(p);
    }
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
static const char *check_file_part(const struct phdr *ph, size_t size)
{
    if (!table_inside(ph->offset, ph->filesz, 1, size))
        return "segment's file bytes run past the end of the file";
    if (ph->filesz > ph->memsz)
        return "segment has more file bytes than memory (p_filesz > p_memsz)";
    if (ph->align & (ph->align - 1))
        return "segment alignment is not a power of two";
    if (ph->align > 1 && (ph->vaddr - ph->offset) % ph->align != 0)
        return "segment address and file offset disagree modulo the alignment";
    return NULL;
}

/* Where the segment goes: no wrap, not page 0, user half, image area. */
static const char *check_memory_part(const struct phdr *ph, const struct verdict *v)
{
    /* vaddr + memsz - 1 must not pass the class's largest address (no wrap) */
    if (ph->vaddr > v->cls->addr_max || ph->memsz - 1 > v->cls->addr_max - ph->vaddr)
        return "segment wraps around the end of the address space";
    uint64_t end = ph->vaddr + ph->memsz;
    if (ph->vaddr < USER_LOW_START)
        return "segment maps page 0";
    if (end > v->target->user_end)
        return "segment reaches the kernel half";
    if (ph->vaddr < USER_IMAGE_START || end > USER_IMAGE_END)
        return "segment outside the program image area";
    return NULL;
}

/* Validate one PT_LOAD with p_memsz > 0 and append it to the plan. */
static const char *add_load(const struct phdr *ph, size_t size, const struct verdict *v)
{
    struct elf_image *img = v->img;
    unsigned prot = 0;
    const char *why = check_file_part(ph, size);
    if (!why)
        why = check_memory_part(ph, v);
    if (!why)
        why = segment_prot(ph->flags, &prot);
    if (!why && img->count == ELF_MAX_SEGMENTS)
        why = "too many loadable segments";
    if (!why && img->count > 0) {
        const struct elf_segment *prev = &img->seg[img->count - 1];
        if (ph->vaddr < prev->vaddr)
            why = "loadable segments are not in ascending address order";
        else if (page_down(ph->vaddr) < page_up((uint64_t)prev->vaddr + prev->memsz))
            why = "segments overlap or share a page";
    }
    if (why)
        return why;
    /* all inside the image area and the file: they fit the plan's types */
    img->seg[img->count++] = (struct elf_segment){
        .vaddr = (uintptr_t)ph->vaddr,
        .memsz = (uintptr_t)ph->memsz,
        .offset = (size_t)ph->offset,
        .filesz = (size_t)ph->filesz,
        .prot = prot,
    };
    return NULL;
}

/* One program header of any type. */
static const char *check_phdr(const struct phdr *ph, size_t size, const struct verdict *v)
{
    switch (ph->type) {
    case ELF_PT_LOAD:
        return ph->memsz == 0 && ph->filesz == 0 ? NULL : add_load(ph, size, v);
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
static int entry_ok(const struct elf_image *img, uint64_t entry)
{
    for (unsigned i = 0; i < img->count; i++) {
        const struct elf_segment *s = &img->seg[i];
        if ((s->prot & VMM_PROT_EXEC) && entry >= s->vaddr && entry - s->vaddr < s->filesz)
            return 1;
    }
    return 0;
}

static int parse_phdrs(const unsigned char *bytes, size_t size, const struct ehdr *eh,
                       const struct verdict *v)
{
    struct elf_image *img = v->img;
    for (unsigned i = 0; i < eh->phnum; i++) {
        struct phdr ph;
        read_phdr(bytes, eh, v->cls, i, &ph);
        const char *why = check_phdr(&ph, size, v);
        if (why)
            return refuse(v, (int)i, why);
    }
    if (img->count == 0)
        return refuse(v, -1, "no loadable segment");
    if (!entry_ok(img, eh->entry))
        return refuse(v, -1, "entry point is not in the code of an executable segment");
    img->entry = (uintptr_t)eh->entry; /* inside a segment: it fits */
    const struct elf_segment *last = &img->seg[img->count - 1];
    img->image_start = (uintptr_t)page_down(img->seg[0].vaddr);
    img->image_end = (uintptr_t)page_up((uint64_t)last->vaddr + last->memsz);
    return 0;
}

/* The file header: identification for the target, then the rest. */
static const char *check_header(const unsigned char *bytes, size_t size, const struct verdict *v,
                                struct ehdr *eh)
{
    if (size < v->cls->ehdr_size)
        return "file too small for an ELF header";
    const char *problem = check_ident(bytes, v->target);
    if (problem)
        return problem;
    read_ehdr(bytes, v->cls, eh);
    problem = check_kind(eh, v);
    return problem ? problem : check_tables(eh, v->cls, size);
}

int elf_parse_for(const struct elf_target *target, const void *file, size_t size,
                  struct elf_image *out, const char **why)
{
    const struct elf_class_info *cls = target->elf_class == ELF_CLASS64 ? &class64 : &class32;
    const struct verdict v = {out, why, target, cls};
    struct ehdr eh;
    memset(out, 0, sizeof *out);
    out->bad_phdr = -1;
    if (why)
        *why = NULL;
    if (!file)
        return refuse(&v, -1, "file too small for an ELF header");
    const char *problem = check_header(file, size, &v, &eh);
    if (problem)
        return refuse(&v, -1, problem);
    int r = parse_phdrs(file, size, &eh, &v);
    if (r != 0) { /* leave no half-made plan behind */
        int bad = out->bad_phdr;
        memset(out, 0, sizeof *out);
        out->bad_phdr = bad;
    }
    return r;
}

int elf_parse(const void *file, size_t size, struct elf_image *out, const char **why)
{
    return elf_parse_for(&ELF_TARGET_NATIVE, file, size, out, why);
}
