# scripts/gdb/memkernel.gdb - loaded by `make debug` (and by the gdb test in
# scripts/test.sh).  Commands for looking at the memory layers from gdb,
# against QEMU's gdb stub (docs/monitor.md, "gdb helpers"):
#
#   mk-pmm            the PMM: zones, free lists per order, and a count of
#                     every frame record by kind checked against the zones
#   mk-heap [EXPR]    walk a heap instance (a struct heap *; default: the
#                     kernel heap): a composite's parts, a general heap's
#                     arenas block by block with a picture
#   mk-v2p ADDR       translate a virtual address through the page tables
#                     CR3 points at (read in physical mode: Qqemu.PhyMemMode)
#
# They read the kernel's data structures through its debug information;
# they never call kernel functions, so they work on a kernel stopped
# anywhere (a breakpoint, a hang, after a panic).  The record formats come
# from the debug information too (the bit field of struct pmm_frame's kind,
# enum frame_kind, enum block_header_flag), so a change in the C source
# cannot leave the helpers reading an old layout.  Without a live target
# (QEMU ended, or never connected) they refuse: gdb would otherwise read
# the ELF file's initial data and print zeros.
set pagination off
set disassembly-flavor intel

python
import gdb

ZONES = ("<1M", "<16M", "high")


def mk_require_target(command):
    """Refuse to report unless a live target is attached (not the ELF file's data)."""
    inferior = gdb.selected_inferior()
    try:  # gdb notices a vanished QEMU only when it next talks to it
        alive = inferior.pid != 0 and inferior.threads()
        if alive:
            inferior.read_memory(int(gdb.parse_and_eval("&pmm")), 4)
    except gdb.error:
        alive = False
    if not alive:
        raise gdb.GdbError("%s: no live target (QEMU has ended or gdb is not connected); "
                           "its figures would come from the ELF file, not the kernel. "
                           "Start again with make debug, or: target remote :PORT" % command)


def mk_enum(name, prefix):
    """{value: lower-case name without prefix} of a C enum, from the debug information."""
    return {int(f.enumval): f.name[len(prefix):].lower().replace("_", "-")
            for f in gdb.lookup_type(name).fields()}


def mk_bitfield(struct, field):
    """(word index, shift, mask) of a bit field of a struct, from the debug information."""
    for f in gdb.lookup_type(struct).fields():
        if f.name == field:
            return f.bitpos // 32, f.bitpos % 32, (1 << f.bitsize) - 1
    raise gdb.GdbError("%s has no field %s" % (struct, field))


def mk_read_u32s(addr, count):
    """count little-endian 32-bit words at the virtual address addr."""
    data = bytes(gdb.selected_inferior().read_memory(addr, 4 * count))
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


class MkPmm(gdb.Command):
    """Print the PMM's zones and free lists, and check the frame records against them."""

    def __init__(self):
        super().__init__("mk-pmm", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        mk_require_target("mk-pmm")
        kinds = mk_enum("enum frame_kind", "KIND_")
        word, shift, mask = mk_bitfield("struct pmm_frame", "kind")
        record_words = gdb.lookup_type("struct pmm_frame").sizeof // 4
        pmm = gdb.parse_and_eval("pmm")
        base, end = int(pmm["base_pfn"]), int(pmm["end_pfn"])
        orders = int(gdb.parse_and_eval("sizeof(pmm.zone[0].head) / sizeof(pmm.zone[0].head[0])"))
        print("pmm: frames 0x%x-0x%x (%d frames), metadata at %s"
              % (base << 12, end << 12, end - base, pmm["frame"]))
        print("pmm: zone     total     free reserved  free blocks by order 0..%d" % (orders - 1))
        zone_free = 0
        for z in range(len(ZONES)):
            zone = pmm["zone"][z]
            blocks = " ".join(str(int(zone["blocks"][k])) for k in range(orders))
            zone_free += int(zone["free"])
            print("pmm: %-5s %8d %8d %8d  %s" % (ZONES[z], int(zone["total"]), int(zone["free"]),
                                                 int(zone["reserved"]), blocks))
        # one record per frame; where its kind lies comes from the debug information
        counts = {k: 0 for k in kinds}
        strange = 0
        addr = int(pmm["frame"])
        pfn = base
        while pfn < end:
            n = min(16384, end - pfn)
            words = mk_read_u32s(addr + 4 * record_words * (pfn - base), record_words * n)
            for i in range(n):
                kind = (words[record_words * i + word] >> shift) & mask
                if kind in counts:
                    counts[kind] += 1
                else:
                    strange += 1
            pfn += n
        free = sum(counts[k] for k in kinds if kinds[k].startswith("free"))
        print("pmm: records: %s%s" % (", ".join("%d %s" % (counts[k], kinds[k]) for k in sorted(kinds)),
                                     ", %d of no known kind" % strange if strange else ""))
        print("pmm: free frames: %d in the records, %d in the zones, %d in the total: %s"
              % (free, zone_free, int(pmm["free"]),
                 "consistent" if free == zone_free == int(pmm["free"]) else "INCONSISTENT"))


def mk_heap_walk_general(h):
    flags = {f.name: int(f.enumval) for f in gdb.lookup_type("enum block_header_flag").fields()}
    gh = h.cast(gdb.lookup_type("struct general_heap").pointer())
    word = gdb.lookup_type("unsigned long").sizeof
    live = free = live_bytes = free_bytes = largest = 0
    print("  general heap at %s: %d segments, %d bytes grown, %d mapped"
          % (h, int(gh["nsegs"]), int(gh["grown"]), int(gh["mapped"])))
    for s in range(int(gh["nsegs"])):
        seg = gh["segs"][s]
        arena = seg["arena"]
        if int(arena) == 0:
            live += 1
            live_bytes += int(seg["usable"])
            print("  mapped block 0x%08x-0x%08x, %d usable bytes" % (int(seg["lo"]), int(seg["hi"]), int(seg["usable"])))
            continue
        first, end = int(arena["first"]), int(arena["end"])
        spans = []  # (is_free, bytes)
        b = first
        while b < end:
            header = mk_read_u32s(b, 1)[0] if word == 4 else int(gdb.parse_and_eval("*(unsigned long *)%d" % b))
            size = header & ~flags["HDR_FLAGS"]
            if size == 0:
                break  # the sentinel
            is_free = bool(header & flags["HDR_FREE"])
            spans.append((is_free, size))
            if is_free:
                free += 1
                free_bytes += size
                largest = max(largest, size)
            else:
                live += 1
                live_bytes += size
            b += size
        width = 64
        total = max(1, end - first)
        picture = []
        for cell in range(width):
            lo, hi = first + cell * total // width, first + (cell + 1) * total // width
            used = 0
            pos = first
            for is_free, size in spans:
                if pos < hi and pos + size > lo and not is_free:
                    used += min(hi, pos + size) - max(lo, pos)
                pos += size
            picture.append("#" if used * 2 >= hi - lo else ".")
        print("  arena 0x%08x-0x%08x: %d blocks" % (first, end, len(spans)))
        print("    [%s]  #=mostly used .=mostly free" % "".join(picture))
    print("  blocks: %d live (%d bytes with headers), %d free (%d bytes, largest %d)"
          % (live, live_bytes, free, free_bytes, largest))


def mk_heap(h, depth=0):
    name = h["ops"]["name"].string()
    print("%s%s instance at %s" % ("  " * depth, name, h))
    if name == "composite":
        c = h.cast(gdb.lookup_type("struct heap_composite").pointer())
        parts = c["part"]
        seen = set()
        for k in range(int(gdb.parse_and_eval("sizeof(((struct heap_composite *)0)->part) / sizeof(void *)"))):
            p = parts[k]
            if int(p) and int(p) not in seen:
                seen.add(int(p))
                mk_heap(p, depth + 1)
    elif name == "general":
        mk_heap_walk_general(h)
    else:
        print("%s  (no walker for \"%s\"; its fields: print *(struct heap *)%s)" % ("  " * depth, name, h))


class MkHeap(gdb.Command):
    """Walk a heap instance: mk-heap [EXPR], EXPR a struct heap * (default: the kernel heap)."""

    def __init__(self):
        super().__init__("mk-heap", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        mk_require_target("mk-heap")
        expr = arg.strip()
        if not expr:
            # the kernel heap; when a router sits in front, the heap behind it
            expr = "kernel_heap"
            try:
                if int(gdb.parse_and_eval("ordinary_heap")):
                    expr = "ordinary_heap"
            except gdb.error:
                pass
        h = gdb.parse_and_eval("(struct heap *)(%s)" % expr)
        if int(h) == 0:
            raise gdb.GdbError("mk-heap: %s is NULL" % expr)
        mk_heap(h)


class MkV2p(gdb.Command):
    """Translate a virtual address through the current page tables: mk-v2p ADDR."""

    def __init__(self):
        super().__init__("mk-v2p", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: mk-v2p ADDR")
        mk_require_target("mk-v2p")
        va = int(gdb.parse_and_eval(arg)) & 0xFFFFFFFF
        cr3 = int(gdb.parse_and_eval("$cr3")) & 0xFFFFF000
        gdb.execute("maintenance packet Qqemu.PhyMemMode:1", to_string=True)
        try:
            pde = mk_read_u32s(cr3 + 4 * (va >> 22), 1)[0]
            pte = None
            if pde & 1 and not pde & 0x80:
                pte = mk_read_u32s((pde & 0xFFFFF000) + 4 * ((va >> 12) & 0x3FF), 1)[0]
        finally:
            gdb.execute("maintenance packet Qqemu.PhyMemMode:0", to_string=True)
        print("v2p: 0x%08x: cr3 0x%08x, pde[%d] = 0x%08x" % (va, cr3, va >> 22, pde))
        if not pde & 1:
            print("v2p: not mapped (page directory entry not present)")
            return
        if pde & 0x80:
            print("v2p: 0x%08x -> phys 0x%08x (4 MiB page)" % (va, (pde & 0xFFC00000) | (va & 0x3FFFFF)))
            return
        flags = [name for bit, name in ((1, "present"), (2, "writable"), (4, "user"), (8, "write-through"),
                                        (16, "no-cache"), (32, "accessed"), (64, "dirty"), (256, "global"))
                 if pte & bit]
        print("v2p: pte[%d] = 0x%08x %s" % ((va >> 12) & 0x3FF, pte, " ".join(flags)))
        if not pte & 1:
            print("v2p: not mapped (page table entry not present)")
            return
        print("v2p: 0x%08x -> phys 0x%08x" % (va, (pte & 0xFFFFF000) | (va & 0xFFF)))


MkPmm()
MkHeap()
MkV2p()
end

# Stop where the C kernel starts; `continue` to boot.
break kmain
echo memkernel: breakpoint at kmain; type 'continue'.  Helpers: mk-pmm, mk-heap [EXPR], mk-v2p ADDR.\n
