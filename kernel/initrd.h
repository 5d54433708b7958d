/*
 * kernel/initrd.h - the initial ramdisk: a flat archive of named files
 * (the user programs), loaded by GRUB as a Multiboot module or by QEMU's
 * -initrd, packed by scripts/mkinitrd.py.
 *
 * Format, version 1, every integer a little-endian uint32:
 *
 *   offset 0    header (16 bytes)
 *                 magic    INITRD_MAGIC, the bytes "INRD"
 *                 version  INITRD_VERSION
 *                 count    number of files (at most INITRD_MAX_FILES)
 *                 size     bytes in the whole archive
 *   offset 16   table: count entries of 48 bytes, sorted by name
 *                 name     char[32]: 1..31 printable ASCII characters other
 *                          than '/' (0x21-0x7E), then NULs to the end
 *                 offset   where the file's bytes start (from the archive start)
 *                 size     how many bytes
 *                 checksum FNV-1a (32-bit) of those bytes
 *                 flags    0 (reserved)
 *   then        the files' bytes, in table order, not overlapping, after the
 *               table and inside `size` (the packer aligns each to 16 bytes
 *               and pads with zeros)
 *
 * initrd_open checks all of it (strictly ascending names also means no
 * duplicates, and lets initrd_find search by bisection); afterwards the
 * accessors trust the archive.  The archive is read in place and never
 * written; it must stay where it is while the struct initrd is used.
 * Pure C: also compiled into the hosted tests.
 */
#ifndef KERNEL_INITRD_H
#define KERNEL_INITRD_H

#include <stddef.h>
#include <stdint.h>

#define INITRD_MAGIC 0x44524E49u /* "INRD" */
#define INITRD_VERSION 1u
#define INITRD_HEADER_SIZE 16u
#define INITRD_ENTRY_SIZE 48u
#define INITRD_NAME_MAX 32u /* name bytes in an entry, NUL included */
#define INITRD_MAX_FILES 1024u

struct initrd {
    const unsigned char *image; /* the archive */
    size_t size;                /* its size from the header */
    unsigned count;             /* files */
    const char *error;          /* after a refusal: what was wrong */
    int bad_entry;              /* after a refusal: the table entry at fault, -1 if none */
};

struct initrd_file {
    const char *name; /* terminated, inside the archive */
    const void *data;
    size_t size;
};

/*
 * Check the archive [data, data + size) (size may exceed the archive's own
 * size: a module rounded up to pages) and describe it in *rd.  Returns 0,
 * or -EINVAL with rd->error and rd->bad_entry saying what was wrong (and
 * rd->count 0, so the accessors find nothing).
 */
int initrd_open(const void *data, size_t size, struct initrd *rd);

/* The file called `name`: 0 with *data and *size set, or -ENOENT. */
int initrd_find(const struct initrd *rd, const char *name, const void **data, size_t *size);

/* The index-th file in name order: 0 with *file set, or -ENOENT past the last one. */
int initrd_file(const struct initrd *rd, unsigned index, struct initrd_file *file);

/* FNV-1a, 32 bits, of [data, data + size): the entries' checksum. */
uint32_t initrd_checksum(const void *data, size_t size);

#endif /* KERNEL_INITRD_H */
