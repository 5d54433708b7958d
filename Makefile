# The one Makefile.  Out-of-tree build into build/, per-directory source
# lists found by wildcard (add a file, it is built), dependency files (-MMD).
#
#   make / make all   build/kernel.elf and build/os.iso
#   make run          boot the ISO through GRUB in QEMU, serial on this terminal
#   make run-gui      the same in a QEMU window
#   make debug        QEMU halted with its gdb stub, gdb attached with symbols
#   make test         hosted tests, fuzz-corpus replays, in-kernel tests; last line "N passed, N failed"
#   make bench        hosted (and in-kernel) benchmarks
#   make libmm        build/host/libmm.a: the allocators as a library for Linux programs
#   make fuzz         run the fuzz targets for FUZZ_SECONDS each
#   make format       apply .clang-format
#   make clean

# ARCH=x86_64 on the command line: the 64-bit kernel, whose rules are in
# arch/x86_64/build.mk.  An ARCH from the environment (some build setups
# export one) is not ours and is ignored.
ifeq ($(origin ARCH),command line)
ifeq ($(filter $(ARCH),i686 x86_64),)
$(error ARCH must be i686 (the default) or x86_64, not $(ARCH))
endif
else
override ARCH := i686
endif
ifeq ($(ARCH),x86_64)
include arch/x86_64/build.mk
else

BUILD := build
# V=1 shows every command.
Q := $(if $(V),,@)

# ---------------------------------------------------------------- toolchain
# An i686-elf- cross compiler when one is on PATH, else Debian's i686-linux-gnu-.
ifeq ($(origin CROSS),undefined)
CROSS := $(if $(shell command -v i686-elf-gcc 2>/dev/null),i686-elf-,i686-linux-gnu-)
endif
KCC     := $(CROSS)gcc
KLD     := $(CROSS)ld
KNM     := $(CROSS)nm
KOBJCOPY:= $(CROSS)objcopy
NASM    := nasm
LIBGCC   = $(shell $(KCC) -print-libgcc-file-name 2>/dev/null)
# Freestanding code reads no header outside this tree but the compiler's own
# (stddef.h, stdint.h, stdarg.h, stdbool.h): -nostdinc drops the host's
# /usr/include, which Debian's cross compiler would otherwise search.  The
# tree supplies the rest (lib/include/string.h).  Recursive (=), so that it
# is asked of the compiler only when a rule runs, after deps.sh installed it.
KCC_INCLUDE = $(shell $(KCC) -print-file-name=include 2>/dev/null)
FREESTANDING_INC = -nostdinc -isystem lib/include -isystem $(KCC_INCLUDE)

WARN := -Wall -Wextra -Werror
# -fstack-clash-protection: a frame larger than a page is touched page by
# page, so it meets a kernel stack's guard page instead of stepping over it.
KCFLAGS = -std=c11 -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -nostdlib -fno-builtin \
           -O2 -g -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
           -mgeneral-regs-only -fno-strict-aliasing \
           -fstack-protector-strong -mstack-protector-guard=global -fstack-clash-protection \
           $(WARN) -I. -Iarch/x86/port $(FREESTANDING_INC) -MD -MP
KASFLAGS := -f elf32 -g -F dwarf
KLDFLAGS := -m elf_i386 -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments

# ---------------------------------------------------------------- kernel
KERNEL_C   := $(wildcard lib/*.c arch/x86/*.c mm/*.c kernel/*.c kernel/test/*.c)
KERNEL_ASM := $(wildcard boot/*.asm arch/x86/*.asm)
KOBJS := $(patsubst %.c,$(BUILD)/k/%.o,$(KERNEL_C)) $(patsubst %.asm,$(BUILD)/k/%.asm.o,$(KERNEL_ASM))

KERNEL := $(BUILD)/kernel.elf
ISO    := $(BUILD)/os.iso

.PHONY: all run run-gui debug test bench libmm fuzz format clean deps iso kernel
all: $(KERNEL) $(BUILD)/initrd.img $(ISO)
kernel: $(KERNEL)
iso: $(ISO)

# Kernel objects depend on the Makefile too: a change of flags rebuilds them.
$(BUILD)/k/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(KCC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(NASM) $(KASFLAGS) -MD $(@:.o=.d) -MP $< -o $@

# The kernel is linked twice: once with an empty symbol table, then with the
# table generated from the first link's symbols (for backtraces).  The table
# is the last section of the image, so nothing before it moves between the
# two links; scripts/ksyms.sh checks that the text symbols are identical.
$(BUILD)/ksyms-empty.o: scripts/ksyms.sh
	@mkdir -p $(BUILD)
	$(Q)scripts/ksyms.sh /dev/null $(BUILD)/ksyms-empty.asm
	$(Q)$(NASM) -f elf32 $(BUILD)/ksyms-empty.asm -o $@

$(BUILD)/kernel.pass1.elf: $(KOBJS) $(BUILD)/ksyms-empty.o linker.ld
	$(Q)$(KLD) $(KLDFLAGS) -T linker.ld -o $@ $(KOBJS) $(BUILD)/ksyms-empty.o $(LIBGCC)

$(KERNEL): $(BUILD)/kernel.pass1.elf $(KOBJS) linker.ld scripts/ksyms.sh
	@echo "  LD      $@ (with symbol table)"
	$(Q)$(KNM) -n $(BUILD)/kernel.pass1.elf > $(BUILD)/kernel.pass1.sym
	$(Q)scripts/ksyms.sh $(BUILD)/kernel.pass1.sym $(BUILD)/ksyms.asm
	$(Q)$(NASM) -f elf32 $(BUILD)/ksyms.asm -o $(BUILD)/ksyms.o
	$(Q)$(KLD) $(KLDFLAGS) -T linker.ld -o $@.tmp $(KOBJS) $(BUILD)/ksyms.o $(LIBGCC)
	$(Q)scripts/ksyms.sh --verify $(BUILD)/kernel.pass1.sym $@.tmp $(KNM)
	$(Q)mv $@.tmp $@

$(ISO): $(KERNEL) $(BUILD)/initrd.img iso/boot/grub/grub.cfg
	@echo "  ISO     $@"
	@mkdir -p $(BUILD)/isodir/boot/grub
	$(Q)cp $(KERNEL) $(BUILD)/isodir/boot/kernel.elf
	$(Q)cp $(BUILD)/initrd.img $(BUILD)/isodir/boot/initrd.img
	$(Q)cp iso/boot/grub/grub.cfg $(BUILD)/isodir/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(BUILD)/isodir 2>$(BUILD)/grub-mkrescue.log || \
	  { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# One-entry ISOs for the test run: the suite through GRUB with each protocol,
# and the memory-size check through GRUB.
TEST_ISOS := $(BUILD)/test-mb2.iso $(BUILD)/test-mb1.iso $(BUILD)/test-memcheck.iso
$(BUILD)/test-mb2.iso: $(KERNEL) $(BUILD)/initrd.img scripts/mkiso.sh
	@echo "  ISO     $@"
	$(Q)scripts/mkiso.sh $(KERNEL) $(BUILD)/initrd.img $@ multiboot2 test
$(BUILD)/test-mb1.iso: $(KERNEL) $(BUILD)/initrd.img scripts/mkiso.sh
	@echo "  ISO     $@"
	$(Q)scripts/mkiso.sh $(KERNEL) $(BUILD)/initrd.img $@ multiboot test
$(BUILD)/test-memcheck.iso: $(KERNEL) $(BUILD)/initrd.img scripts/mkiso.sh
	@echo "  ISO     $@"
	$(Q)scripts/mkiso.sh $(KERNEL) $(BUILD)/initrd.img $@ multiboot2 memcheck

# ---------------------------------------------------------------- hosted
# Everything in mm/ (and the pure kernel helpers listed here) also compiles
# for the host, under AddressSanitizer and UBSan, for tests.
HOSTCC := cc
HOSTCXX := c++
HOST_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(WARN) -I. -Itests/host \
               -MMD -MP
HOST_SRC := $(wildcard mm/*.c mm/host/*.c) lib/format.c kernel/memmap.c kernel/bootinfo.c kernel/elf.c kernel/initrd.c
HOST_OBJS := $(patsubst %.c,$(BUILD)/host/san/%.o,$(HOST_SRC))
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/host/tests/%,$(wildcard tests/host/test_*.c))
# Every other .c in tests/host/ (harness, shadow models, simulators) is linked into each test.
HOST_SUPPORT := $(patsubst %.c,$(BUILD)/host/san/%.o,$(filter-out tests/host/test_%.c,$(wildcard tests/host/*.c)))

$(BUILD)/host/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) -c $< -o $@

$(BUILD)/host/tests/%: $(BUILD)/host/san/tests/host/%.o $(HOST_SUPPORT) $(HOST_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	$(Q)$(HOSTCC) $(HOST_SAN) -o $@ $^ -lm

# The VMM's tests again with the x86-64 paging format and layout
# (tests/host/x86_64/mm_arch.h found first): the same mm/ and simulator,
# four levels instead of two.  The tests are written in terms of the format.
HOST64_TESTS := $(patsubst tests/host/%.c,$(BUILD)/host/tests-x86_64/%,\
    tests/host/test_vmm.c tests/host/test_vmm_region.c tests/host/test_vmm_paging.c)
HOST64_OBJS := $(patsubst %.c,$(BUILD)/host/san64/%.o,$(HOST_SRC))
HOST64_SUPPORT := $(patsubst %.c,$(BUILD)/host/san64/%.o,$(filter-out tests/host/test_%.c,$(wildcard tests/host/*.c)))
$(BUILD)/host/san64/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $< (x86-64 paging)"
	$(Q)$(HOSTCC) -Itests/host/x86_64 $(HOST_CFLAGS) $(HOST_SAN) -c $< -o $@
$(BUILD)/host/tests-x86_64/%: $(BUILD)/host/san64/tests/host/%.o $(HOST64_SUPPORT) $(HOST64_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	$(Q)$(HOSTCC) $(HOST_SAN) -o $@ $^ -lm

# The allocator tests again in the debug build (MM_DEBUG=1: full checks,
# junk-filled memory), so that what MM_DEBUG promises is tested too.
HOST_DEBUG_TESTS := $(patsubst tests/host/%.c,$(BUILD)/host/tests-debug/%,\
    $(wildcard tests/host/test_heap*.c tests/host/test_slab.c tests/host/test_malloc.c tests/host/test_composite.c))
HOST_DEBUG_OBJS := $(patsubst %.c,$(BUILD)/host/dbg/%.o,$(HOST_SRC))
HOST_DEBUG_SUPPORT := $(patsubst %.c,$(BUILD)/host/dbg/%.o,$(filter-out tests/host/test_%.c,$(wildcard tests/host/*.c)))
$(BUILD)/host/dbg/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $< (MM_DEBUG)"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $(HOST_SAN) -DMM_DEBUG=1 -c $< -o $@
$(BUILD)/host/tests-debug/%: $(BUILD)/host/dbg/tests/host/%.o $(HOST_DEBUG_SUPPORT) $(HOST_DEBUG_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	$(Q)$(HOSTCC) $(HOST_SAN) -o $@ $^ -lm

# Optimised, sanitizer-free objects for libmm.a and benchmarks.
# Frame pointers kept: the debug allocator's reports name call sites by
# walking them (mm/heap_debug.h), in libmm.a as in the kernel.
HOST_OPT_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O2 -fno-omit-frame-pointer $(WARN) -I. -Itests/host -MMD -MP
$(BUILD)/host/opt/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $< (-O2)"
	$(Q)$(HOSTCC) $(HOST_OPT_CFLAGS) -c $< -o $@

LIBMM_SRC := $(wildcard mm/*.c mm/host/*.c)
LIBMM := $(BUILD)/host/libmm.a
LIBMM_SO := $(BUILD)/host/libmm.so
# The public headers: mm/'s internal ones (the VMM's, bit helpers, page-table
# entries) are not installed, nor the VMM's API, which needs a machine's page
# tables behind mm/port.h (tests/host/vmm_sim.c is a simulated one).
LIBMM_PRIVATE_HEADERS := mm/addr_map.h mm/slab_span.h mm/bits.h mm/pte.h $(wildcard mm/vmm*.h mm/*_internal.h mm/paging_*.h)
LIBMM_HEADERS := $(filter-out $(LIBMM_PRIVATE_HEADERS),$(wildcard mm/*.h mm/host/*.h))
# `make libmm`: the archive plus its public headers under build/host/include
# (use -Ibuild/host/include and #include "mm/heap.h").
libmm: $(LIBMM) $(LIBMM_SO) $(patsubst %,$(BUILD)/host/include/%,$(LIBMM_HEADERS)) \
       $(BUILD)/host/include/libmm.h
$(BUILD)/host/include/libmm.h: mm/host/preload/libmm.h
	@mkdir -p $(dir $@)
	$(Q)cp $< $@
$(BUILD)/host/include/%.h: %.h
	@mkdir -p $(dir $@)
	$(Q)cp $< $@
$(LIBMM): $(patsubst %.c,$(BUILD)/host/opt/%.o,$(LIBMM_SRC))
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# libmm.so: the allocators as the malloc of any dynamically linked program
# (LD_PRELOAD=build/host/libmm.so, or -lmm).  Position-independent objects
# of the heap part of mm/ (no PMM/VMM: they need a machine's page tables),
# the Linux source and mm/host/preload/; only the malloc family and
# libmm_stats are exported.  Sibling calls stay calls so that the guard
# mode's call-site traces keep every frame.
LIBMM_SO_SRC := $(filter-out mm/pmm.c mm/vmm%.c,$(wildcard mm/*.c)) mm/host/source_linux.c \
                $(wildcard mm/host/preload/*.c)
LIBMM_SO_CFLAGS := $(HOST_OPT_CFLAGS) -fPIC -fvisibility=hidden -fno-optimize-sibling-calls \
                   -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-free -fno-builtin-realloc
$(BUILD)/host/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $< (-fPIC)"
	$(Q)$(HOSTCC) $(LIBMM_SO_CFLAGS) -c $< -o $@
$(LIBMM_SO): $(patsubst %.c,$(BUILD)/host/pic/%.o,$(LIBMM_SO_SRC))
	@echo "  LD      $@"
	$(Q)$(HOSTCC) -shared -Wl,-soname,libmm.so -Wl,--no-undefined -o $@ $^

# Programs run under libmm.so by scripts/test.sh (no sanitizers: they run
# on libmm's malloc, or glibc's for comparison).  -rdynamic lets the guard
# mode's reports name their functions.
PRELOAD_TESTS := $(patsubst tests/preload/%.c,$(BUILD)/host/preload/%,$(wildcard tests/preload/*.c)) \
                 $(patsubst tests/preload/%.cc,$(BUILD)/host/preload/%,$(wildcard tests/preload/*.cc))
PRELOAD_TEST_FLAGS := -g -O1 -fno-omit-frame-pointer $(WARN) -I. -rdynamic -pthread
$(BUILD)/host/preload/%: tests/preload/%.c tests/preload/preload_util.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(HOSTCC) -std=c11 -D_GNU_SOURCE $(PRELOAD_TEST_FLAGS) -o $@ $< -ldl
$(BUILD)/host/preload/%: tests/preload/%.cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCXX $<"
	$(Q)$(HOSTCXX) -std=c++17 $(PRELOAD_TEST_FLAGS) -o $@ $< -ldl

# Fuzz targets: tests/fuzz/fuzz_NAME.c, corpus in tests/fuzz/corpus/NAME/.
# The sources they test are instrumented and archived, so each target links
# only the objects it uses.
FUZZCC := clang
FUZZ_BASE := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) -I. -Itests/host \
             -fno-sanitize-recover=all -MMD -MP
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/host/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB := $(BUILD)/host/libmm-fuzz.a
# The Makefile is a prerequisite too: objects made before their dependency
# files existed (or with other flags) are made again when it changes.
$(BUILD)/host/fz/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZCC) $(FUZZ_BASE) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,$(BUILD)/host/fz/%.o,$(HOST_SRC))
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^
$(BUILD)/host/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZCC) $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB)
FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_TARGETS)
	scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The allocators without their hardening (MM_HARDEN=0), only so that
# `make bench` can show what the hardening costs (bench_heap_nohard).
$(BUILD)/host/opt-nohard/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $< (-O2, MM_HARDEN=0)"
	$(Q)$(HOSTCC) $(HOST_OPT_CFLAGS) -DMM_HARDEN=0 -c $< -o $@
LIBMM_NOHARD := $(BUILD)/host/libmm-nohard.a
$(LIBMM_NOHARD): $(patsubst %.c,$(BUILD)/host/opt-nohard/%.o,$(LIBMM_SRC))
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^
$(BUILD)/host/bench/bench_heap_nohard: $(BUILD)/host/opt/tests/bench/bench_heap.o $(LIBMM_NOHARD) $(BUILD)/host/opt/lib/format.o $(BUILD)/host/opt/kernel/memmap.o
	@mkdir -p $(dir $@)
	$(Q)$(HOSTCC) -o $@ $^ -lm

# Benchmarks: tests/bench/bench_NAME.c, optimised, no sanitizers.
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/host/bench/%,$(wildcard tests/bench/bench_*.c))
# Their objects are reached only through the pattern rule: keep them, or make
# deletes them as intermediates and compiles them again on every `make bench`.
.SECONDARY: $(patsubst tests/bench/%.c,$(BUILD)/host/opt/tests/bench/%.o,$(wildcard tests/bench/bench_*.c))
$(BUILD)/host/bench/%: $(BUILD)/host/opt/tests/bench/%.o $(LIBMM) $(BUILD)/host/opt/lib/format.o $(BUILD)/host/opt/kernel/memmap.o
	@mkdir -p $(dir $@)
	$(HOSTCC) -o $@ $^ -lm

# The multi-threaded malloc benchmark: a plain program, run under each
# allocator (libmm.so included) by scripts/bench_mt.sh.
$(BUILD)/host/bench/bench_mt: tests/bench/mt/bench_mt.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=c11 -O2 -g $(WARN) -pthread -o $@ $<

# ---------------------------------------------------------------- commands
deps:
	@scripts/deps.sh

# Each command installs what is missing first, then builds in a second make,
# so that nothing of the toolchain is looked up before it is there.
run: deps
	@$(MAKE) --no-print-directory all
	scripts/qemu.sh run $(ISO)

run-gui:
	@scripts/deps.sh gui
	@$(MAKE) --no-print-directory all
	scripts/qemu.sh gui $(ISO)

debug: deps
	@$(MAKE) --no-print-directory all
	scripts/qemu.sh debug $(ISO) $(KERNEL)

test: deps
	@$(MAKE) --no-print-directory all $(TEST_ISOS) $(HOST_TESTS) $(HOST_DEBUG_TESTS) $(HOST64_TESTS) $(FUZZ_TARGETS) libmm $(PRELOAD_TESTS)
	@$(MAKE) --no-print-directory ARCH=x86_64 all test-isos
	@KCC=$(KCC) scripts/test.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS) $(BUILD)/host/bench/bench_heap_nohard \
	    $(BUILD)/host/bench/bench_mt $(LIBMM_SO)
	scripts/bench.sh $(BENCH_BINS) $(BUILD)/host/bench/bench_mt

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include user/build.mk
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
endif
