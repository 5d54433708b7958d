/*
 * kernel/initrd.c - the initial-ramdisk reader (format in initrd.h).
 *
 * How it works: initrd_open walks the header and the table once, checking
 * each entry against the archive's size and against the entry before it
 * (names strictly ascending, data in table order without overlap), and
 * verifies every file's checksum, so a truncated or corrupted module is
 * refused at boot rather than found out when a program is spawned.  All
 * integers are read byte by byte as little-endian, so neither the
 * archive's alignment nor the host's byte order matters.  After a
 * successful open, find is a bisection over the sorted names and
 * iteration is by index; both only read entries open has checked.
 */
#include "kernel/initrd.h"
#include "kernel/errno.h"

#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* Field offsets inside a table entry. */
#define ENTRY_OFFSET 32u
#define ENTRY_SIZE 36u
#define ENTRY_CHECKSUM 40u
#define ENTRY_FLAGS 44u

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const unsigned char *entry_at(const struct initrd *rd, unsigned index)
{
    return rd->image + INITRD_HEADER_SIZE + (size_t)index * INITRD_ENTRY_SIZE;
}

uint32_t initrd_checksum(const void *data, size_t size)
{
    const unsigned char *p = data;
    uint32_t h = FNV_OFFSET;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

static int refuse(struct initrd *rd, int entry, const char *why)
{
    rd->count = 0;
    rd->error = why;
    rd->bad_entry = entry;
    return -EINVAL;
}

/* ---------------------------------------------------------------- checks */

/* A name field: 1..31 allowed characters, then only NULs. */
static const char *check_name(const unsigned char *name)
{
    size_t len = 0;
    while (len < INITRD_NAME_MAX && name[len])
        len++;
    if (len == 0)
        return "empty file name";
    if (len == INITRD_NAME_MAX)
        return "file name not terminated";
    for (size_t i = 0; i < len; i++)
        if (name[i] < 0x21 || name[i] > 0x7E || name[i] == '/')
            return "file name has a space, a '/' or a non-printable character";
    for (size_t i = len; i < INITRD_NAME_MAX; i++)
        if (name[i])
            return "file name not padded with NULs";
    return NULL;
}

/*
 * Entry e, whose data must start at or after *data_floor (the end of the
 * table or of the previous file); advances *data_floor past its data.
 */
static const char *check_entry(const struct initrd *rd, const unsigned char *e,
                               const unsigned char *prev, uint64_t *data_floor)
{
    const char *why = check_name(e);
    if (why)
        return why;
    if (prev && strcmp((const char *)prev, (const char *)e) >= 0)
        return "file names not in strictly ascending order (or duplicated)";
    if (le32(e + ENTRY_FLAGS) != 0)
        return "unknown entry flags";
    uint64_t start = le32(e + ENTRY_OFFSET), end = start + le32(e + ENTRY_SIZE);
    if (start < *data_floor)
        return "file data overlaps the table or the previous file";
    if (end > rd->size)
        return "file data runs past the end of the archive";
    if (initrd_checksum(rd->image + start, (size_t)(end - start)) != le32(e + ENTRY_CHECKSUM))
        return "file checksum does not match its data";
    *data_floor = end;
    return NULL;
}

static const char *check_header(const unsigned char *p, size_t size)
{
    if (!p || size < INITRD_HEADER_SIZE)
        return "too small for an initrd header";
    if (le32(p) != INITRD_MAGIC)
        return "not an initrd (bad magic)";
    if (le32(p + 4) != INITRD_VERSION)
        return "unknown initrd version";
    uint32_t count = le32(p + 8), total = le32(p + 12);
    if (count > INITRD_MAX_FILES)
        return "too many files";
    if (total > size)
        return "archive larger than the data it came in (truncated?)";
    if ((uint64_t)INITRD_HEADER_SIZE + (uint64_t)count * INITRD_ENTRY_SIZE > total)
        return "file table runs past the end of the archive";
    return NULL;
}

/* ---------------------------------------------------------------- public */

int initrd_open(const void *data, size_t size, struct initrd *rd)
{
    const unsigned char *p = data;
    *rd = (struct initrd){.image = p, .bad_entry = -1};
    const char *why = check_header(p, size);
    if (why)
        return refuse(rd, -1, why);
    rd->size = le32(p + 12);
    rd->count = le32(p + 8);
    uint64_t floor = INITRD_HEADER_SIZE + (uint64_t)rd->count * INITRD_ENTRY_SIZE;
    for (unsigned i = 0; i < rd->count; i++) {
        why = check_entry(rd, entry_at(rd, i), i ? entry_at(rd, i - 1) : NULL, &floor);
        if (why)
            return refuse(rd, (int)i, why);
    }
    return 0;
}

int initrd_file(const struct initrd *rd, unsigned index, struct initrd_file *file)
{
    if (index >= rd->count)
        return -ENOENT;
    const unsigned char *e = entry_at(rd, index);
    file->name = (const char *)e;
    file->data = rd->image + le32(e + ENTRY_OFFSET);
    file->size = le32(e + ENTRY_SIZE);
    return 0;
}

int initrd_find(const struct initrd *rd, const char *name, const void **data, size_t *size)
{
    unsigned lo = 0, hi = rd->count; /* the name, if present, is in [lo, hi) */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const unsigned char *e = entry_at(rd, mid);
        int order = strncmp(name, (const char *)e, INITRD_NAME_MAX);
        if (order == 0) {
            *data = rd->image + le32(e + ENTRY_OFFSET);
            *size = le32(e + ENTRY_SIZE);
            return 0;
        }
        if (order < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -ENOENT;
}
