/*
 * tests/host/test_initrd.c - the initrd reader on archives packed here the
 * way scripts/mkinitrd.py packs them: a valid archive is found and iterated
 * exactly; every field made wrong one at a time is refused with its own
 * message and entry index, after which nothing can be found; and random
 * corruptions are either refused or describe only bytes inside the archive.
 */
#include "harness.h"
#include "kernel/errno.h"
#include "kernel/initrd.h"

#include <string.h>

#define AR_BYTES 8192u

static unsigned char ar[AR_BYTES];
static size_t ar_size;
static struct initrd rd;

struct spec {
    const char *name, *data;
};

static const struct spec three[] = {
    {"alpha", "the first file"},
    {"beta.elf", "B"},
    {"hello", "hello, ring 3\n"},
};

static void put32(size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        ar[at + (size_t)i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(size_t at)
{
    return (uint32_t)ar[at] | (uint32_t)ar[at + 1] << 8 | (uint32_t)ar[at + 2] << 16 |
           (uint32_t)ar[at + 3] << 24;
}

/* Offset of entry i's field at byte `field` (0 name, 32 offset, 36 size, 40 checksum, 44 flags). */
static size_t entry(unsigned i, unsigned field)
{
    return INITRD_HEADER_SIZE + i * INITRD_ENTRY_SIZE + field;
}

static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Pack n files (names already sorted) as mkinitrd.py does. */
static void pack(const struct spec *files, unsigned n)
{
    memset(ar, 0, sizeof ar);
    size_t at = align16(INITRD_HEADER_SIZE + n * INITRD_ENTRY_SIZE);
    for (unsigned i = 0; i < n; i++) {
        size_t len = strlen(files[i].data);
        memcpy(ar + entry(i, 0), files[i].name, strlen(files[i].name));
        memcpy(ar + at, files[i].data, len);
        put32(entry(i, 32), (uint32_t)at);
        put32(entry(i, 36), (uint32_t)len);
        put32(entry(i, 40), initrd_checksum(ar + at, len));
        at = align16(at + len);
    }
    put32(0, INITRD_MAGIC);
    put32(4, INITRD_VERSION);
    put32(8, n);
    put32(12, (uint32_t)at);
    ar_size = at;
}

/* Recompute entry i's checksum (after a test moved its data on purpose). */
static void reseal(unsigned i)
{
    put32(entry(i, 40), initrd_checksum(ar + get32(entry(i, 32)), get32(entry(i, 36))));
}

/* True if the archive is refused with exactly `message` at entry `bad`, and then empty. */
static int refused_with(int bad, const char *message)
{
    const void *data;
    size_t size;
    struct initrd_file f;
    int r = initrd_open(ar, ar_size, &rd);
    if (r == -EINVAL && rd.error && strcmp(rd.error, message) == 0 && rd.bad_entry == bad &&
        rd.count == 0 && initrd_find(&rd, "alpha", &data, &size) == -ENOENT &&
        initrd_file(&rd, 0, &f) == -ENOENT)
        return 1;
    fprintf(stderr, "  got %d, \"%s\", entry %d; wanted \"%s\", entry %d\n", r,
            rd.error ? rd.error : "(none)", rd.bad_entry, message, bad);
    return 0;
}

#define REFUSED(bad, message) CHECK(refused_with(bad, message))

/* ---------------------------------------------------------------- accepted */

TEST(valid_archive_finds_every_file)
{
    pack(three, 3);
    CHECK_EQ(initrd_open(ar, ar_size, &rd), 0);
    CHECK_EQ(rd.count, 3);
    CHECK(rd.error == NULL);
    for (unsigned i = 0; i < 3; i++) {
        const void *data = NULL;
        size_t size = 0;
        CHECK_EQ(initrd_find(&rd, three[i].name, &data, &size), 0);
        CHECK_EQ(size, strlen(three[i].data));
        CHECK(memcmp(data, three[i].data, size) == 0);
    }
}

TEST(find_misses_what_is_not_there)
{
    const void *data;
    size_t size;
    pack(three, 3);
    CHECK_EQ(initrd_open(ar, ar_size, &rd), 0);
    CHECK_EQ(initrd_find(&rd, "alph", &data, &size), -ENOENT);
    CHECK_EQ(initrd_find(&rd, "alphabet", &data, &size), -ENOENT);
    CHECK_EQ(initrd_find(&rd, "", &data, &size), -ENOENT);
    CHECK_EQ(initrd_find(&rd, "zzz", &data, &size), -ENOENT);
    CHECK_EQ(initrd_find(&rd, "hello-with-a-name-longer-than-thirty-two", &data, &size), -ENOENT);
}

TEST(iteration_is_in_name_order)
{
    struct initrd_file f;
    pack(three, 3);
    CHECK_EQ(initrd_open(ar, ar_size, &rd), 0);
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ(initrd_file(&rd, i, &f), 0);
        CHECK(strcmp(f.name, three[i].name) == 0);
        CHECK_EQ(f.size, strlen(three[i].data));
        CHECK(memcmp(f.data, three[i].data, f.size) == 0);
    }
    CHECK_EQ(initrd_file(&rd, 3, &f), -ENOENT);
}

TEST(empty_archive_and_empty_file)
{
    static const struct spec empty_file[] = {{"nothing", ""}};
    const void *data;
    size_t size = 1;
    pack(NULL, 0);
    CHECK_EQ(initrd_open(ar, ar_size, &rd), 0);
    CHECK_EQ(rd.count, 0);
    CHECK_EQ(initrd_find(&rd, "alpha", &data, &size), -ENOENT);
    pack(empty_file, 1);
    CHECK_EQ(initrd_open(ar, ar_size, &rd), 0);
    CHECK_EQ(initrd_find(&rd, "nothing", &data, &size), 0);
    CHECK_EQ(size, 0);
}

TEST(module_may_be_longer_than_the_archive)
{
    pack(three, 3);
    CHECK_EQ(initrd_open(ar, ar_size + 4096 - ar_size % 4096, &rd), 0);
    CHECK_EQ(rd.size, ar_size);
}

TEST(names_of_31_characters_and_every_allowed_character)
{
    static const struct spec odd[] = {
        {"!#$%&'()*+,-.0123456789:;<=>?@Z", "x"},
        {"[\\]^_`az{|}~", "y"},
    };
    pack(odd, 2);
    CHECK_EQ(strlen(odd[0].name), INITRD_NAME_MAX - 1);
    CHECK_EQ(initrd_open(ar, ar_size, &rd), 0);
    const void *data;
    size_t size;
    CHECK_EQ(initrd_find(&rd, odd[1].name, &data, &size), 0);
}

/* ---------------------------------------------------------------- the header */

TEST(too_small_or_null)
{
    pack(three, 3);
    ar_size = INITRD_HEADER_SIZE - 1;
    REFUSED(-1, "too small for an initrd header");
    CHECK_EQ(initrd_open(NULL, 100, &rd), -EINVAL);
}

TEST(bad_magic)
{
    pack(three, 3);
    ar[3] ^= 0x20;
    REFUSED(-1, "not an initrd (bad magic)");
}

TEST(bad_version)
{
    pack(three, 3);
    put32(4, 2);
    REFUSED(-1, "unknown initrd version");
}

TEST(too_many_files)
{
    pack(three, 3);
    put32(8, INITRD_MAX_FILES + 1);
    REFUSED(-1, "too many files");
    put32(8, 0xFFFFFFFFu);
    REFUSED(-1, "too many files");
}

TEST(truncated_archive)
{
    pack(three, 3);
    ar_size--;
    REFUSED(-1, "archive larger than the data it came in (truncated?)");
}

TEST(table_past_the_end)
{
    pack(three, 3);
    put32(8, 4); /* a fourth entry would end at 16 + 4 * 48 = 208 */
    put32(12, 200);
    REFUSED(-1, "file table runs past the end of the archive");
}

/* ---------------------------------------------------------------- entries */

TEST(empty_name)
{
    pack(three, 3);
    memset(ar + entry(0, 0), 0, INITRD_NAME_MAX);
    REFUSED(0, "empty file name");
}

TEST(unterminated_name)
{
    pack(three, 3);
    memset(ar + entry(2, 0), 'z', INITRD_NAME_MAX);
    REFUSED(2, "file name not terminated");
}

TEST(bad_characters_in_name)
{
    pack(three, 3);
    ar[entry(1, 1)] = ' ';
    REFUSED(1, "file name has a space, a '/' or a non-printable character");
    ar[entry(1, 1)] = '/';
    REFUSED(1, "file name has a space, a '/' or a non-printable character");
    ar[entry(1, 1)] = 0x80;
    REFUSED(1, "file name has a space, a '/' or a non-printable character");
    ar[entry(1, 1)] = '\n';
    REFUSED(1, "file name has a space, a '/' or a non-printable character");
}

TEST(name_padding_not_zero)
{
    pack(three, 3);
    ar[entry(1, 20)] = 'x'; /* after "beta.elf" and its NUL */
    REFUSED(1, "file name not padded with NULs");
}

TEST(names_out_of_order_or_duplicated)
{
    pack(three, 3);
    memcpy(ar + entry(1, 0), "aaa\0\0\0\0\0", 8); /* "aaa" < "alpha" */
    REFUSED(1, "file names not in strictly ascending order (or duplicated)");
    memcpy(ar + entry(1, 0), "alpha\0\0\0", 8);
    REFUSED(1, "file names not in strictly ascending order (or duplicated)");
}

TEST(unknown_flags)
{
    pack(three, 3);
    put32(entry(2, 44), 1);
    REFUSED(2, "unknown entry flags");
}

TEST(data_overlapping_the_table)
{
    pack(three, 3);
    put32(entry(0, 32), INITRD_HEADER_SIZE + 3 * INITRD_ENTRY_SIZE - 1);
    reseal(0);
    REFUSED(0, "file data overlaps the table or the previous file");
}

TEST(data_overlapping_the_previous_file)
{
    pack(three, 3);
    put32(entry(2, 32), get32(entry(1, 32))); /* hello's data onto beta's */
    reseal(2);
    REFUSED(2, "file data overlaps the table or the previous file");
}

TEST(data_past_the_end)
{
    pack(three, 3);
    put32(entry(2, 36), get32(entry(2, 36)) + (uint32_t)(ar_size - get32(entry(2, 32))));
    REFUSED(2, "file data runs past the end of the archive");
    pack(three, 3);
    put32(entry(2, 32), 0xFFFFFFF0u); /* offset + size wraps in 32 bits */
    put32(entry(2, 36), 0x20);
    REFUSED(2, "file data runs past the end of the archive");
}

TEST(checksum_mismatch)
{
    pack(three, 3);
    ar[get32(entry(1, 32))] ^= 1; /* one bit of beta's data */
    REFUSED(1, "file checksum does not match its data");
}

TEST(checksum_is_fnv1a)
{
    CHECK_EQ(initrd_checksum("", 0), 2166136261u);
    CHECK_EQ(initrd_checksum("a", 1), 0xE40C292Cu);
    CHECK_EQ(initrd_checksum("foobar", 6), 0xBF9CF968u);
}

/* ---------------------------------------------------------------- random corruption */

TEST(random_corruptions_are_refused_or_contained)
{
    unsigned accepted = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        pack(three, 3);
        unsigned flips = 1 + (unsigned)(harness_rand() % 3);
        size_t table_end = entry(3, 0);
        for (unsigned k = 0; k < flips; k++)
            ar[harness_rand() % table_end] ^= (unsigned char)(1u << (harness_rand() % 8));
        if (initrd_open(ar, ar_size, &rd) != 0) {
            CHECK(rd.error != NULL && rd.count == 0);
            refused++;
            continue;
        }
        accepted++;
        struct initrd_file f;
        for (unsigned i = 0; initrd_file(&rd, i, &f) == 0; i++) {
            const unsigned char *p = f.data;
            const void *data;
            size_t size;
            CHECK(p >= ar + table_end && p + f.size <= ar + rd.size && rd.size <= ar_size);
            CHECK(strnlen(f.name, INITRD_NAME_MAX) < INITRD_NAME_MAX);
            CHECK_EQ(initrd_find(&rd, f.name, &data, &size), 0);
            CHECK(data == f.data && size == f.size);
        }
    }
    CHECK(accepted > 0 && refused > 0);
}
