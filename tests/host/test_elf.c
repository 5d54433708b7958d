/*
 * tests/host/test_elf.c - elf_parse_for(&elf_target_i386) on ELF32
 * executables built here in memory (test_elf64.c does the same for ELF64):
 * a valid one (text, rodata, data+bss, plus segments the loader ignores),
 * its boundary cases, then every header field made wrong one at a time,
 * each of which must be refused with its own message and the right
 * program-header index, leaving no plan behind.  Last, random byte
 * corruptions of the valid file: whatever is accepted must be a sane plan.
 */
#include "harness.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/syscall_nr.h"
#include "mm/vmm.h"

#include <string.h>

#define FILE_BYTES 0x4000u
#define PHOFF 52u /* program headers right after the file header */
#define MAX_PH 12u
#define TEXT_VA 0x00400000u
#define ENTRY (TEXT_VA + 0x10u)
#define PT_GNU_STACK 0x6474E551u

static unsigned char file[FILE_BYTES + 1];
static size_t file_size;
static struct elf32_ehdr eh;
static struct elf32_phdr ph[MAX_PH];
static unsigned nph; /* program headers written (e_phnum may be made to lie) */
static struct elf_image img;
static const char *why;

static struct elf32_phdr load(uint32_t off, uint32_t va, uint32_t filesz, uint32_t memsz,
                              uint32_t flags)
{
    return (struct elf32_phdr){ELF_PT_LOAD, off, va, va, filesz, memsz, flags, 0x1000};
}

/*
 * The valid program: text (R X) at 0x00400000, rodata (R) a page up, a
 * note, data (R W, 0x80 file bytes then bss) a page further, and a
 * GNU_STACK header.  0x3080 bytes of file.
 */
static void build_valid(void)
{
    for (size_t i = 0; i < sizeof file; i++)
        file[i] = (unsigned char)(i * 7 + 3);
    eh = (struct elf32_ehdr){
        .e_ident = {ELF_MAG0, 'E', 'L', 'F', ELF_CLASS32, ELF_DATA2LSB, ELF_VERSION_CURRENT},
        .e_type = ELF_ET_EXEC,
        .e_machine = ELF_EM_386,
        .e_version = ELF_VERSION_CURRENT,
        .e_entry = ENTRY,
        .e_phoff = PHOFF,
        .e_ehsize = sizeof(struct elf32_ehdr),
        .e_phentsize = sizeof(struct elf32_phdr),
        .e_phnum = 5,
    };
    memset(ph, 0, sizeof ph);
    ph[0] = load(0x1000, TEXT_VA, 0x234, 0x234, ELF_PF_R | ELF_PF_X);
    ph[1] = load(0x2000, TEXT_VA + 0x1000, 0x100, 0x100, ELF_PF_R);
    ph[2] = (struct elf32_phdr){ELF_PT_NOTE, 0x2100, 0, 0, 0x20, 0x20, ELF_PF_R, 4};
    ph[3] = load(0x3000, TEXT_VA + 0x2000, 0x80, 0x2345, ELF_PF_R | ELF_PF_W);
    ph[4] = (struct elf32_phdr){PT_GNU_STACK, 0, 0, 0, 0, 0, ELF_PF_R | ELF_PF_W, 16};
    nph = 5;
    file_size = 0x3080;
}

/* Write the headers into the file and parse it. */
static int parse(void)
{
    memcpy(file, &eh, sizeof eh);
    memcpy(file + PHOFF, ph, nph * sizeof ph[0]);
    return elf_parse_for(&elf_target_i386, file, file_size, &img, &why);
}

/* True if the file was refused with exactly `message` at program header `phdr`. */
static int refused_with(int phdr, const char *message)
{
    int r = parse();
    if (r == -ENOEXEC && why && strcmp(why, message) == 0 && img.bad_phdr == phdr &&
        img.count == 0 && img.entry == 0)
        return 1;
    fprintf(stderr, "  got %d, \"%s\", phdr %d, %u segments; wanted \"%s\", phdr %d\n", r,
            why ? why : "(none)", img.bad_phdr, img.count, message, phdr);
    return 0;
}

#define REFUSED(phdr, message) CHECK(refused_with(phdr, message))

/* ---------------------------------------------------------------- accepted */

TEST(valid_program_gives_its_plan)
{
    build_valid();
    CHECK_EQ(parse(), 0);
    CHECK(why == NULL);
    CHECK_EQ(img.bad_phdr, -1);
    CHECK_EQ(img.entry, ENTRY);
    CHECK_EQ(img.count, 3);
    CHECK_EQ(img.seg[0].vaddr, TEXT_VA);
    CHECK_EQ(img.seg[0].memsz, 0x234);
    CHECK_EQ(img.seg[0].offset, 0x1000);
    CHECK_EQ(img.seg[0].filesz, 0x234);
    CHECK_EQ(img.seg[0].prot, VMM_PROT_READ | VMM_PROT_EXEC);
    CHECK_EQ(img.seg[1].prot, VMM_PROT_READ);
    CHECK_EQ(img.seg[2].vaddr, TEXT_VA + 0x2000);
    CHECK_EQ(img.seg[2].filesz, 0x80);
    CHECK_EQ(img.seg[2].memsz, 0x2345);
    CHECK_EQ(img.seg[2].prot, VMM_PROT_RW);
    CHECK_EQ(img.image_start, TEXT_VA);
    CHECK_EQ(img.image_end, TEXT_VA + 0x5000);
}

TEST(file_may_be_unaligned_and_why_may_be_null)
{
    static unsigned char shifted[FILE_BYTES + 1];
    build_valid();
    CHECK_EQ(parse(), 0);
    memcpy(shifted + 1, file, file_size);
    CHECK_EQ(elf_parse_for(&elf_target_i386, shifted + 1, file_size, &img, NULL), 0);
    CHECK_EQ(img.count, 3);
    eh.e_machine = 62;
    memcpy(shifted + 1, &eh, sizeof eh);
    CHECK_EQ(elf_parse_for(&elf_target_i386, shifted + 1, file_size, &img, NULL), -ENOEXEC);
}

TEST(empty_load_segment_is_skipped)
{
    build_valid();
    ph[2] = load(0, 0, 0, 0, ELF_PF_R); /* p_memsz 0: nothing to load, wherever it says */
    CHECK_EQ(parse(), 0);
    CHECK_EQ(img.count, 3);
}

TEST(bss_only_segment_is_accepted)
{
    build_valid();
    ph[4] = load(0, TEXT_VA + 0x8000, 0, 0x10000, ELF_PF_R | ELF_PF_W); /* after data */
    CHECK_EQ(parse(), 0);
    CHECK_EQ(img.count, 4);
    CHECK_EQ(img.seg[3].filesz, 0);
    CHECK_EQ(img.image_end, TEXT_VA + 0x18000);
}

TEST(boundaries_are_inclusive)
{
    build_valid(); /* the data segment's file bytes end exactly at the end of the file */
    ph[3].p_vaddr = USER_IMAGE_END - 0x3000;
    ph[3].p_memsz = 0x3000;                /* ends exactly at the end of the image area */
    eh.e_entry = USER_IMAGE_START + 0x233; /* the last byte of text, which starts the area */
    CHECK_EQ(parse(), 0);
    CHECK_EQ(img.image_start, USER_IMAGE_START);
    CHECK_EQ(img.image_end, USER_IMAGE_END);
    eh.e_entry = USER_IMAGE_START; /* the first byte of text */
    CHECK_EQ(parse(), 0);
}

TEST(adjacent_pages_are_not_shared)
{
    build_valid();
    ph[1].p_vaddr = TEXT_VA + 0x1000; /* text's last page is 0x00400000: next page is fine */
    ph[0].p_memsz = 0x1000;
    CHECK_EQ(parse(), 0);
}

TEST(section_table_inside_the_file_is_accepted)
{
    build_valid();
    eh.e_shoff = 0x2200;
    eh.e_shnum = 4;
    eh.e_shentsize = ELF32_SHDR_SIZE;
    eh.e_shstrndx = 3;
    CHECK_EQ(parse(), 0);
}

TEST(alignment_zero_and_one_mean_none)
{
    build_valid();
    ph[1].p_align = 0;
    ph[1].p_offset = 0x2003; /* no congruence required */
    ph[3].p_align = 1;
    CHECK_EQ(parse(), 0);
}

/* ---------------------------------------------------------------- the file header */

TEST(too_small_or_null_is_refused)
{
    build_valid();
    file_size = sizeof(struct elf32_ehdr) - 1;
    REFUSED(-1, "file too small for an ELF header");
    CHECK_EQ(elf_parse_for(&elf_target_i386, NULL, 100, &img, &why), -ENOEXEC);
    CHECK(strcmp(why, "file too small for an ELF header") == 0);
}

TEST(bad_magic)
{
    build_valid();
    eh.e_ident[EI_MAG0] = 0x7E;
    REFUSED(-1, "not an ELF file (bad magic)");
    build_valid();
    eh.e_ident[EI_MAG3] = 'f';
    REFUSED(-1, "not an ELF file (bad magic)");
}

TEST(bad_class)
{
    build_valid();
    eh.e_ident[EI_CLASS] = 2;
    REFUSED(-1, "not a 32-bit ELF file");
}

TEST(bad_data_encoding)
{
    build_valid();
    eh.e_ident[EI_DATA] = 2;
    REFUSED(-1, "not a little-endian ELF file");
}

TEST(bad_ident_version)
{
    build_valid();
    eh.e_ident[EI_VERSION] = 0;
    REFUSED(-1, "unknown ELF identification version");
}

TEST(bad_os_abi)
{
    build_valid();
    eh.e_ident[EI_OSABI] = 3;
    REFUSED(-1, "not the System V ABI");
    build_valid();
    eh.e_ident[EI_ABIVERSION] = 1;
    REFUSED(-1, "not the System V ABI");
}

TEST(not_an_executable)
{
    build_valid();
    eh.e_type = 3; /* ET_DYN: a PIE or a shared object */
    REFUSED(-1, "not a static executable (e_type is not ET_EXEC)");
    eh.e_type = 1; /* ET_REL */
    REFUSED(-1, "not a static executable (e_type is not ET_EXEC)");
}

TEST(bad_machine)
{
    build_valid();
    eh.e_machine = 62; /* x86-64 */
    REFUSED(-1, "not an i386 program");
}

TEST(bad_version)
{
    build_valid();
    eh.e_version = 2;
    REFUSED(-1, "unknown ELF version");
}

TEST(bad_flags)
{
    build_valid();
    eh.e_flags = 1;
    REFUSED(-1, "unknown processor flags");
}

TEST(bad_header_size)
{
    build_valid();
    eh.e_ehsize = 64;
    REFUSED(-1, "wrong ELF header size");
}

TEST(bad_program_header_size)
{
    build_valid();
    eh.e_phentsize = 56;
    REFUSED(-1, "wrong program header size");
}

TEST(no_program_headers)
{
    build_valid();
    eh.e_phnum = 0;
    REFUSED(-1, "no program headers");
}

TEST(program_headers_overlapping_the_header)
{
    build_valid();
    eh.e_phoff = 0;
    REFUSED(-1, "program headers overlap the ELF header");
}

TEST(program_headers_past_the_end)
{
    build_valid();
    eh.e_phoff = (uint32_t)file_size - 5 * 32 + 1;
    REFUSED(-1, "program headers run past the end of the file");
    eh.e_phoff = 0xFFFFFFF0u; /* offset + table wraps in 32 bits */
    REFUSED(-1, "program headers run past the end of the file");
    build_valid();
    eh.e_phnum = 0xFFFF;
    REFUSED(-1, "program headers run past the end of the file");
}

TEST(program_headers_ending_at_the_end_are_read)
{
    build_valid();
    /* the table ends exactly at the end of the file (accepted); the segments do not (refused) */
    file_size = PHOFF + nph * sizeof(struct elf32_phdr);
    REFUSED(0, "segment's file bytes run past the end of the file");
}

TEST(section_table_inconsistent)
{
    build_valid();
    eh.e_shoff = 0x2200;
    REFUSED(-1, "inconsistent section header table (offset or count is zero)");
    build_valid();
    eh.e_shnum = 3;
    eh.e_shentsize = ELF32_SHDR_SIZE;
    REFUSED(-1, "inconsistent section header table (offset or count is zero)");
}

TEST(section_table_bad_entry_size)
{
    build_valid();
    eh.e_shoff = 0x2200;
    eh.e_shnum = 3;
    eh.e_shentsize = 64;
    REFUSED(-1, "wrong section header size");
}

TEST(section_table_past_the_end)
{
    build_valid();
    eh.e_shoff = (uint32_t)file_size - 2 * ELF32_SHDR_SIZE;
    eh.e_shnum = 3;
    eh.e_shentsize = ELF32_SHDR_SIZE;
    REFUSED(-1, "section headers run past the end of the file");
    eh.e_shoff = 0xFFFFFFF0u;
    REFUSED(-1, "section headers run past the end of the file");
}

TEST(section_name_index_out_of_range)
{
    build_valid();
    eh.e_shoff = 0x2200;
    eh.e_shnum = 3;
    eh.e_shentsize = ELF32_SHDR_SIZE;
    eh.e_shstrndx = 3;
    REFUSED(-1, "section name table index out of range");
}

/* ---------------------------------------------------------------- loadable segments */

TEST(segment_file_bytes_past_the_end)
{
    build_valid();
    ph[3].p_filesz = 0x81;
    REFUSED(3, "segment's file bytes run past the end of the file");
    build_valid();
    ph[1].p_offset = 0xFFFFF000u; /* offset + size wraps in 32 bits */
    ph[1].p_filesz = 0x1000;
    ph[1].p_memsz = 0x1000;
    ph[1].p_align = 0;
    REFUSED(1, "segment's file bytes run past the end of the file");
}

TEST(segment_filesz_above_memsz)
{
    build_valid();
    ph[0].p_memsz = 0x233;
    REFUSED(0, "segment has more file bytes than memory (p_filesz > p_memsz)");
    build_valid();
    ph[1].p_memsz = 0; /* p_memsz 0 with file bytes is not an empty segment */
    REFUSED(1, "segment has more file bytes than memory (p_filesz > p_memsz)");
}

TEST(segment_alignment_not_a_power_of_two)
{
    build_valid();
    ph[1].p_align = 0x3000;
    REFUSED(1, "segment alignment is not a power of two");
}

TEST(segment_address_and_offset_disagree)
{
    build_valid();
    ph[1].p_offset = 0x2010;
    REFUSED(1, "segment address and file offset disagree modulo the alignment");
}

TEST(segment_wraps)
{
    build_valid();
    ph[3].p_vaddr = 0xFFFFF000u;
    ph[3].p_memsz = 0x2000;
    REFUSED(3, "segment wraps around the end of the address space");
}

TEST(segment_in_page_zero)
{
    build_valid();
    ph[0].p_vaddr = 0;
    REFUSED(0, "segment maps page 0");
    ph[0].p_vaddr = 0x100; /* starts and ends inside page 0 */
    ph[0].p_offset = 0x1100;
    REFUSED(0, "segment maps page 0");
}

TEST(segment_in_the_kernel_half)
{
    build_valid();
    ph[3].p_vaddr = USER32_SPACE_END - 0x1000;
    ph[3].p_memsz = 0x1001;
    REFUSED(3, "segment reaches the kernel half");
    ph[3].p_vaddr = 0xC0100000u;
    ph[3].p_memsz = 0x80;
    REFUSED(3, "segment reaches the kernel half");
}

TEST(segment_outside_the_image_area)
{
    build_valid();
    ph[0].p_vaddr = USER_IMAGE_START - 0x1000;
    REFUSED(0, "segment outside the program image area");
    build_valid();
    ph[3].p_vaddr = USER_IMAGE_END - 0x1000;
    ph[3].p_memsz = 0x1001;
    REFUSED(3, "segment outside the program image area");
}

TEST(segment_flags)
{
    build_valid();
    ph[1].p_flags = ELF_PF_R | 0x8;
    REFUSED(1, "unknown segment flags");
    ph[1].p_flags = ELF_PF_R | 0x0FF00000u; /* PF_MASKOS */
    REFUSED(1, "unknown segment flags");
    ph[1].p_flags = 0;
    REFUSED(1, "segment grants no access");
    ph[1].p_flags = ELF_PF_W | ELF_PF_X;
    REFUSED(1, "segment is both writable and executable");
}

TEST(too_many_segments)
{
    build_valid();
    nph = eh.e_phnum = ELF_MAX_SEGMENTS + 1;
    for (unsigned i = 0; i < nph; i++)
        ph[i] = load(0x1000, TEXT_VA + i * 0x1000, 0x20, 0x20, ELF_PF_R | ELF_PF_X);
    REFUSED(ELF_MAX_SEGMENTS, "too many loadable segments");
    nph = eh.e_phnum = ELF_MAX_SEGMENTS; /* the limit itself is fine */
    CHECK_EQ(parse(), 0);
    CHECK_EQ(img.count, ELF_MAX_SEGMENTS);
}

TEST(segments_out_of_order)
{
    build_valid();
    struct elf32_phdr t = ph[0];
    ph[0] = ph[1];
    ph[1] = t;
    REFUSED(1, "loadable segments are not in ascending address order");
}

TEST(segments_overlap)
{
    build_valid();
    ph[3].p_vaddr = TEXT_VA + 0x1000; /* onto rodata */
    ph[3].p_offset = 0x3000;
    REFUSED(3, "segments overlap or share a page");
}

TEST(segments_share_a_page)
{
    build_valid();
    ph[1].p_vaddr = TEXT_VA + 0x800; /* after text's last byte, on its page */
    ph[1].p_offset = 0x2800;
    REFUSED(1, "segments overlap or share a page");
}

TEST(dynamic_interp_tls_and_shlib_are_refused)
{
    build_valid();
    ph[2].p_type = ELF_PT_DYNAMIC;
    REFUSED(2, "dynamically linked (PT_DYNAMIC): only static programs are supported");
    ph[2].p_type = ELF_PT_INTERP;
    REFUSED(2, "asks for an interpreter (PT_INTERP): only static programs are supported");
    ph[2].p_type = ELF_PT_TLS;
    REFUSED(2, "uses thread-local storage (PT_TLS), which is not supported");
    ph[2].p_type = ELF_PT_SHLIB;
    REFUSED(2, "PT_SHLIB segment (reserved, does not conform to the ABI)");
}

TEST(no_loadable_segment)
{
    build_valid();
    for (unsigned i = 0; i < nph; i++)
        if (ph[i].p_type == ELF_PT_LOAD)
            ph[i].p_type = ELF_PT_NOTE;
    REFUSED(-1, "no loadable segment");
}

/* ---------------------------------------------------------------- the entry point */

TEST(entry_outside_every_segment)
{
    build_valid();
    eh.e_entry = TEXT_VA + 0x8000;
    REFUSED(-1, "entry point is not in the code of an executable segment");
    eh.e_entry = 0;
    REFUSED(-1, "entry point is not in the code of an executable segment");
}

TEST(entry_in_a_segment_that_is_not_executable)
{
    build_valid();
    eh.e_entry = TEXT_VA + 0x1010; /* rodata */
    REFUSED(-1, "entry point is not in the code of an executable segment");
    eh.e_entry = TEXT_VA + 0x2010; /* data */
    REFUSED(-1, "entry point is not in the code of an executable segment");
}

TEST(entry_past_the_code)
{
    build_valid();
    ph[0].p_memsz = 0x1000;
    eh.e_entry = TEXT_VA + 0x234; /* just past the file bytes: zeros, not code */
    REFUSED(-1, "entry point is not in the code of an executable segment");
    eh.e_entry = TEXT_VA + 0x233;
    CHECK_EQ(parse(), 0);
}

/* ---------------------------------------------------------------- random corruption */

/* Everything elf_parse promises about an accepted plan. */
static int plan_is_sane(const struct elf_image *p, size_t size)
{
    int exec_entry = 0;
    for (unsigned i = 0; i < p->count; i++) {
        const struct elf_segment *s = &p->seg[i];
        uint64_t end = (uint64_t)s->vaddr + s->memsz;
        if (s->memsz == 0 || s->filesz > s->memsz || (uint64_t)s->offset + s->filesz > size ||
            s->vaddr < USER_IMAGE_START || end > USER_IMAGE_END)
            return 0;
        if (!(s->prot & VMM_PROT_READ) || ((s->prot & VMM_PROT_WRITE) && (s->prot & VMM_PROT_EXEC)))
            return 0;
        if (i && (s->vaddr & ~0xFFFu) < ((uint64_t)p->seg[i - 1].vaddr + p->seg[i - 1].memsz))
            return 0;
        if ((s->prot & VMM_PROT_EXEC) && p->entry >= s->vaddr && p->entry - s->vaddr < s->filesz)
            exec_entry = 1;
    }
    return p->count > 0 && p->count <= ELF_MAX_SEGMENTS && exec_entry && p->bad_phdr == -1;
}

TEST(random_corruptions_are_refused_or_sane)
{
    unsigned accepted = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        build_valid();
        memcpy(file, &eh, sizeof eh);
        memcpy(file + PHOFF, ph, nph * sizeof ph[0]);
        unsigned flips = 1 + (unsigned)(harness_rand() % 4);
        for (unsigned k = 0; k < flips; k++) /* headers are where the decisions are */
            file[harness_rand() % (PHOFF + nph * 32)] ^=
                (unsigned char)(1u << (harness_rand() % 8));
        size_t size = harness_rand() % 8 ? file_size : harness_rand() % (file_size + 1);
        int r = elf_parse_for(&elf_target_i386, file, size, &img, &why);
        if (r == 0) {
            CHECK(plan_is_sane(&img, size));
            accepted++;
        } else {
            CHECK_EQ(r, -ENOEXEC);
            CHECK(why != NULL && img.count == 0);
            refused++;
        }
    }
    CHECK(accepted > 0 && refused > 0);
}
