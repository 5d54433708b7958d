/*
 * tests/host/test_elf64.c - elf_parse_for(&elf_target_x86_64) on ELF64
 * executables built here in memory, as test_elf.c does for ELF32: a valid
 * program and its plan, then the header fields made wrong one at a time.
 * The rules are shared by both classes (kernel/elf.c widens both into one
 * form), so this file concentrates on what 64 bits change: the sizes of
 * the headers, 64-bit offsets and addresses that would wrap or truncate,
 * the canonical hole and the x86-64 user space, and each target refusing
 * the other's files.  Last, the real user programs when they are built.
 */
#include "harness.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/syscall_nr.h"
#include "mm/vmm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_BYTES 0x4000u
#define PHOFF 64u /* program headers right after the file header */
#define MAX_PH 8u
#define TEXT_VA 0x00400000u
#define ENTRY (TEXT_VA + 0x10u)
#define PT_GNU_STACK 0x6474E551u

static unsigned char file[FILE_BYTES];
static size_t file_size;
static struct elf64_ehdr eh;
static struct elf64_phdr ph[MAX_PH];
static unsigned nph;
static struct elf_image img;
static const char *why;

static struct elf64_phdr load(uint64_t off, uint64_t va, uint64_t filesz, uint64_t memsz,
                              uint32_t flags)
{
    return (struct elf64_phdr){ELF_PT_LOAD, flags, off, va, va, filesz, memsz, 0x1000};
}

/* The valid program: text (R X), rodata (R), data + bss (R W), GNU_STACK. */
static void build_valid(void)
{
    for (size_t i = 0; i < sizeof file; i++)
        file[i] = (unsigned char)(i * 5 + 1);
    eh = (struct elf64_ehdr){
        .e_ident = {ELF_MAG0, 'E', 'L', 'F', ELF_CLASS64, ELF_DATA2LSB, ELF_VERSION_CURRENT},
        .e_type = ELF_ET_EXEC,
        .e_machine = ELF_EM_X86_64,
        .e_version = ELF_VERSION_CURRENT,
        .e_entry = ENTRY,
        .e_phoff = PHOFF,
        .e_ehsize = sizeof(struct elf64_ehdr),
        .e_phentsize = sizeof(struct elf64_phdr),
        .e_phnum = 4,
    };
    memset(ph, 0, sizeof ph);
    ph[0] = load(0x1000, TEXT_VA, 0x234, 0x234, ELF_PF_R | ELF_PF_X);
    ph[1] = load(0x2000, TEXT_VA + 0x1000, 0x100, 0x100, ELF_PF_R);
    ph[2] = load(0x3000, TEXT_VA + 0x2000, 0x80, 0x2345, ELF_PF_R | ELF_PF_W);
    ph[3] = (struct elf64_phdr){PT_GNU_STACK, ELF_PF_R | ELF_PF_W, 0, 0, 0, 0, 0, 16};
    nph = 4;
    file_size = 0x3080;
}

static void write_headers(void)
{
    memcpy(file, &eh, sizeof eh);
    memcpy(file + PHOFF, ph, nph * sizeof ph[0]);
}

static int parse_as(const struct elf_target *t)
{
    write_headers();
    return elf_parse_for(t, file, file_size, &img, &why);
}

static int parse(void)
{
    return parse_as(&elf_target_x86_64);
}

/* True if the file was refused with exactly `message` at program header `phdr`. */
static int refused_with(const struct elf_target *t, int phdr, const char *message)
{
    int r = parse_as(t);
    if (r == -ENOEXEC && why && strcmp(why, message) == 0 && img.bad_phdr == phdr &&
        img.count == 0 && img.entry == 0)
        return 1;
    fprintf(stderr, "  got %d, \"%s\", phdr %d, %u segments; wanted \"%s\", phdr %d\n", r,
            why ? why : "(none)", img.bad_phdr, img.count, message, phdr);
    return 0;
}

#define REFUSED(phdr, message) CHECK(refused_with(&elf_target_x86_64, phdr, message))

/* ---------------------------------------------------------------- accepted */

TEST(valid_elf64_program_gives_its_plan)
{
    build_valid();
    CHECK_EQ(parse(), 0);
    CHECK(why == NULL);
    CHECK_EQ(img.entry, ENTRY);
    CHECK_EQ(img.count, 3);
    CHECK_EQ(img.seg[0].vaddr, TEXT_VA);
    CHECK_EQ(img.seg[0].prot, VMM_PROT_READ | VMM_PROT_EXEC);
    CHECK_EQ(img.seg[1].prot, VMM_PROT_READ);
    CHECK_EQ(img.seg[2].offset, 0x3000);
    CHECK_EQ(img.seg[2].filesz, 0x80);
    CHECK_EQ(img.seg[2].memsz, 0x2345);
    CHECK_EQ(img.seg[2].prot, VMM_PROT_RW);
    CHECK_EQ(img.image_start, TEXT_VA);
    CHECK_EQ(img.image_end, TEXT_VA + 0x5000);
}

TEST(native_target_of_a_64_bit_build_is_x86_64)
{
    build_valid();
    write_headers();
    CHECK_EQ(elf_parse(file, file_size, &img, &why), 0);
    CHECK_EQ(img.count, 3);
}

TEST(section_table_of_64_byte_entries_is_accepted)
{
    build_valid();
    eh.e_shoff = 0x2200;
    eh.e_shnum = 4;
    eh.e_shentsize = ELF64_SHDR_SIZE;
    eh.e_shstrndx = 3;
    CHECK_EQ(parse(), 0);
    eh.e_shentsize = ELF32_SHDR_SIZE;
    REFUSED(-1, "wrong section header size");
}

/* ---------------------------------------------------------------- class and machine */

TEST(each_target_refuses_the_other_class)
{
    build_valid();
    CHECK(refused_with(&elf_target_i386, -1, "not a 32-bit ELF file"));
    eh.e_ident[EI_CLASS] = ELF_CLASS32;
    REFUSED(-1, "not a 64-bit ELF file");
}

TEST(i386_machine_in_an_elf64_file_is_refused)
{
    build_valid();
    eh.e_machine = ELF_EM_386;
    REFUSED(-1, "not an x86-64 program");
}

TEST(elf32_header_and_entry_sizes_are_refused)
{
    build_valid();
    file_size = sizeof(struct elf64_ehdr) - 1;
    REFUSED(-1, "file too small for an ELF header");
    build_valid();
    eh.e_ehsize = sizeof(struct elf32_ehdr);
    REFUSED(-1, "wrong ELF header size");
    build_valid();
    eh.e_phentsize = sizeof(struct elf32_phdr);
    REFUSED(-1, "wrong program header size");
    build_valid();
    eh.e_phoff = sizeof(struct elf32_ehdr); /* inside the 64-byte header */
    REFUSED(-1, "program headers overlap the ELF header");
}

/* ---------------------------------------------------------------- 64-bit offsets */

TEST(table_offsets_that_would_wrap_are_refused)
{
    build_valid();
    eh.e_phoff = UINT64_MAX - 8; /* offset + count * 56 wraps to a small number */
    REFUSED(-1, "program headers run past the end of the file");
    build_valid();
    eh.e_phoff = 0x100000000ull + PHOFF; /* truncated to 32 bits it would be right */
    REFUSED(-1, "program headers run past the end of the file");
    build_valid();
    eh.e_shoff = UINT64_MAX - 0x3F;
    eh.e_shnum = 2;
    eh.e_shentsize = ELF64_SHDR_SIZE;
    REFUSED(-1, "section headers run past the end of the file");
}

TEST(segment_file_offsets_that_would_wrap_are_refused)
{
    build_valid();
    ph[2].p_offset = UINT64_MAX - 0x3F; /* + filesz 0x80 wraps to 0x40 */
    REFUSED(2, "segment's file bytes run past the end of the file");
    build_valid();
    ph[2].p_offset = 0x100000000ull + 0x3000; /* low 32 bits inside the file */
    REFUSED(2, "segment's file bytes run past the end of the file");
    build_valid();
    ph[2].p_filesz = 0x100000000ull + 0x80;
    REFUSED(2, "segment's file bytes run past the end of the file");
}

/* ---------------------------------------------------------------- 64-bit addresses */

TEST(segment_wrapping_64_bits_is_refused)
{
    build_valid();
    ph[2].p_vaddr = 0xFFFFFFFFFFFFF000ull;
    ph[2].p_offset = 0x3000;
    ph[2].p_memsz = 0x2000;
    REFUSED(2, "segment wraps around the end of the address space");
}

TEST(segment_in_the_hole_or_the_kernel_half_is_refused)
{
    build_valid();
    ph[2].p_vaddr = USER64_SPACE_END; /* the last page below the hole: not user space */
    ph[2].p_memsz = 0x80;
    REFUSED(2, "segment reaches the kernel half");
    ph[2].p_vaddr = 0x0000800000000000ull; /* non-canonical */
    REFUSED(2, "segment reaches the kernel half");
    ph[2].p_vaddr = 0xFFFFFFFF80103000ull; /* the kernel image */
    REFUSED(2, "segment reaches the kernel half");
}

TEST(segment_in_user_space_above_the_image_area_is_refused)
{
    build_valid();
    ph[2].p_vaddr = 0x0000100000003000ull; /* user space, but far above 1 GiB */
    REFUSED(2, "segment outside the program image area");
    ph[2].p_vaddr = 0x100000000ull + TEXT_VA + 0x2000; /* low 32 bits inside the area */
    REFUSED(2, "segment outside the program image area");
}

TEST(entry_with_high_bits_is_refused)
{
    build_valid();
    eh.e_entry = 0x100000000ull + ENTRY; /* truncated it would be the real entry */
    REFUSED(-1, "entry point is not in the code of an executable segment");
}

TEST(wx_and_dynamic_elf64_are_refused)
{
    build_valid();
    ph[0].p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X;
    REFUSED(0, "segment is both writable and executable");
    build_valid();
    ph[3].p_type = ELF_PT_INTERP;
    REFUSED(3, "asks for an interpreter (PT_INTERP): only static programs are supported");
}

/* ---------------------------------------------------------------- real programs */

/*
 * The x86-64 user programs, when `make ARCH=x86_64 user` has built them
 * (make test does): each must be accepted by the x86-64 target and refused
 * by the i386 one.  The i686 programs, likewise the other way round.
 */
static unsigned programs_checked;

static void check_programs(const char *dir, const struct elf_target *yes,
                           const struct elf_target *no)
{
    static const char *const names[] = {"hello", "malloc_stress", "hostile_syscalls", "kill_hlt"};
    static unsigned char buf[1 << 20];
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s.elf", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK(n > 0 && n < sizeof buf);
        CHECK_EQ(elf_parse_for(yes, buf, n, &img, &why), 0);
        CHECK(img.count >= 2 && img.entry == USER_IMAGE_START);
        CHECK_EQ(elf_parse_for(no, buf, n, &img, &why), -ENOEXEC);
        programs_checked++;
    }
}

TEST(built_user_programs_are_accepted_by_their_own_target_only)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char dir[200];
    snprintf(dir, sizeof dir, "%s/x86_64/user/programs", build);
    check_programs(dir, &elf_target_x86_64, &elf_target_i386);
    snprintf(dir, sizeof dir, "%s/user/programs", build);
    check_programs(dir, &elf_target_i386, &elf_target_x86_64);
    if (programs_checked == 0)
        fprintf(stderr, "  (no built user programs under %s: nothing to check)\n", build);
}
