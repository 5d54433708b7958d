#!/usr/bin/env python3
"""scripts/mkinitrd.py - pack files into an initial ramdisk (kernel/initrd.h).

    mkinitrd.py -o build/initrd.img build/user/programs/hello.elf ...
    mkinitrd.py --list build/initrd.img

Each file is stored under its base name without a trailing ".elf"
(build/user/programs/hello.elf becomes "hello"); NAME=PATH stores PATH as
NAME.  The archive is the header, the table sorted by name, then each
file's bytes in the same order, each aligned to 16 bytes and padded with
zeros.  Every integer is a little-endian uint32.  The names and sizes are
checked here with the same rules the kernel's initrd_open applies, so a bad
archive fails the build, not the boot.  Python 3 standard library only.
"""

import argparse
import os
import struct
import sys

MAGIC = 0x44524E49  # "INRD"
VERSION = 1
HEADER = struct.Struct("<4I")  # magic, version, count, size
ENTRY = struct.Struct("<32s4I")  # name, offset, size, checksum, flags
NAME_MAX = 32
MAX_FILES = 1024
DATA_ALIGN = 16


def fnv1a32(data):
    """The entries' checksum: FNV-1a, 32 bits (initrd_checksum in kernel/initrd.c)."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def check_name(name):
    """Refuse what initrd_open refuses: 1..31 printable ASCII characters, no '/'."""
    raw = name.encode("ascii", "replace")
    if not 0 < len(raw) < NAME_MAX:
        sys.exit(f"mkinitrd: name {name!r} must have 1 to {NAME_MAX - 1} characters")
    if any(c < 0x21 or c > 0x7E or c == ord("/") for c in raw):
        sys.exit(f"mkinitrd: name {name!r} has a space, a '/' or a non-printable character")
    return raw


def name_and_path(arg):
    """NAME=PATH, or PATH stored as its base name without '.elf'."""
    if "=" in arg:
        name, path = arg.split("=", 1)
    else:
        path = arg
        name = os.path.basename(arg)
        if name.endswith(".elf"):
            name = name[: -len(".elf")]
    return check_name(name), path


def align(n):
    return (n + DATA_ALIGN - 1) // DATA_ALIGN * DATA_ALIGN


def pack(args):
    files = {}
    for arg in args:
        name, path = name_and_path(arg)
        if name in files:
            sys.exit(f"mkinitrd: two files named {name.decode()}")
        with open(path, "rb") as f:
            files[name] = f.read()
    if len(files) > MAX_FILES:
        sys.exit(f"mkinitrd: more than {MAX_FILES} files")
    names = sorted(files)  # bytewise, as the kernel's strcmp
    offset = align(HEADER.size + ENTRY.size * len(names))
    table, data = [], bytearray()
    for name in names:
        body = files[name]
        table.append(ENTRY.pack(name, offset, len(body), fnv1a32(body), 0))
        data += body + bytes(align(len(body)) - len(body))
        offset += align(len(body))
    head = HEADER.pack(MAGIC, VERSION, len(names), offset)
    out = head + b"".join(table)
    out += bytes(align(len(out)) - len(out)) + data
    if len(out) != offset or offset > 0xFFFFFFFF:
        sys.exit("mkinitrd: archive too large")
    return out


def list_archive(path):
    with open(path, "rb") as f:
        img = f.read()
    magic, version, count, size = HEADER.unpack_from(img, 0)
    if magic != MAGIC or version != VERSION:
        sys.exit(f"mkinitrd: {path}: not a version {VERSION} initrd")
    print(f"{path}: {count} files, {size} bytes")
    for i in range(count):
        name, off, length, checksum, _ = ENTRY.unpack_from(img, HEADER.size + i * ENTRY.size)
        ok = "ok" if fnv1a32(img[off : off + length]) == checksum else "BAD CHECKSUM"
        text = name.rstrip(bytes(1)).decode("ascii", "replace")
        print(f"  {text:<31} {off:#010x} {length:8d}  {ok}")


def main():
    ap = argparse.ArgumentParser(description="Pack files into an initrd (kernel/initrd.h).")
    ap.add_argument("-o", "--output", help="archive to write")
    ap.add_argument("--list", metavar="IMAGE", help="describe an archive instead")
    ap.add_argument("files", nargs="*", help="PATH or NAME=PATH")
    opts = ap.parse_args()
    if opts.list:
        list_archive(opts.list)
        return
    if not opts.output:
        ap.error("-o is required when packing")
    img = pack(opts.files)
    tmp = opts.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(img)
    os.replace(tmp, opts.output)


if __name__ == "__main__":
    main()
