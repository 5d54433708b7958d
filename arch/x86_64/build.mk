# arch/x86_64/build.mk - `make ARCH=x86_64 ...`: the 64-bit kernel, from the
# same mm/, lib/ and boot-information code as the i686 one (the Makefile
# includes this file instead of its own rules when ARCH=x86_64).
#
#   make ARCH=x86_64          build/x86_64/kernel.elf and build/x86_64/os.iso
#   make ARCH=x86_64 run      boot the ISO in qemu-system-x86_64 (MEM, MACHINE)
#   make ARCH=x86_64 test     boot it on pc and q35 machines up to 6 GiB and judge
#
# Built with Debian's x86-64 gcc freestanding: -mcmodel=kernel (the image at
# -2 GiB), -mno-red-zone (interrupts would clobber it), -nostdinc.

BUILD := build
B64 := $(BUILD)/x86_64
Q := $(if $(V),,@)
CC64 := cc
LD64 := ld
NM64 := nm
NASM := nasm
CC64_INCLUDE = $(shell $(CC64) -print-file-name=include 2>/dev/null)
# The same hardening as the i686 kernel: the stack protector (its guard is a
# global, kernel/stack_protector.c) and stack-clash protection.
K64CFLAGS = -std=c11 -m64 -mcmodel=kernel -mno-red-zone -ffreestanding -fno-pic -fno-pie \
            -nostdlib -fno-builtin -O2 -g -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
            -mgeneral-regs-only -fno-strict-aliasing \
            -fstack-protector-strong -mstack-protector-guard=global -fstack-clash-protection \
            -Wall -Wextra -Werror -I. -Iarch/x86_64/port \
            -nostdinc -isystem lib/include -isystem $(CC64_INCLUDE) -MD -MP

# The one kernel: lib/, mm/ and kernel/ are the i686 kernel's files; the PC
# devices and CPU helpers of arch/x86 are shared; arch/x86_64 has only what
# differs (boot, GDT/IDT, entry stubs, the syscall entry, user-copy
# routines, kmap).
K64_C := $(wildcard lib/*.c mm/*.c arch/x86_64/*.c) \
         arch/x86/cpu.c arch/x86/irq.c arch/x86/serial.c arch/x86/vga.c arch/x86/ps2kbd.c \
         $(wildcard kernel/*.c kernel/test/*.c)
K64OBJS := $(patsubst %.c,$(B64)/%.o,$(K64_C)) $(patsubst %.asm,$(B64)/%.asm.o,$(wildcard arch/x86_64/*.asm))
KERNEL64 := $(B64)/kernel.elf
ISO64 := $(B64)/os.iso
K64LDFLAGS := -m elf_x86_64 -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
              -T arch/x86_64/linker.ld

.PHONY: all kernel iso run test clean deps test-isos
# The user programs are built for x86-64 too (user/build.mk, included below).
all: $(ISO64) $(BUILD)/x86_64/initrd.img
kernel: $(KERNEL64)
iso: $(ISO64)

$(B64)/%.o: %.c arch/x86_64/build.mk
	@mkdir -p $(dir $@)
	@echo "  CC64    $<"
	$(Q)$(CC64) $(K64CFLAGS) -c $< -o $@

$(B64)/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM64  $<"
	$(Q)$(NASM) -f elf64 -g -F dwarf $< -o $@

# Linked twice, as the i686 kernel: the second link carries the symbol
# table generated from the first (scripts/ksyms.sh), for backtraces.
$(B64)/ksyms-empty.o: scripts/ksyms.sh
	@mkdir -p $(B64)
	$(Q)scripts/ksyms.sh /dev/null $(B64)/ksyms-empty.asm
	$(Q)$(NASM) -f elf64 $(B64)/ksyms-empty.asm -o $@

$(B64)/kernel.pass1.elf: $(K64OBJS) $(B64)/ksyms-empty.o arch/x86_64/linker.ld
	$(Q)$(LD64) $(K64LDFLAGS) -o $@ $(K64OBJS) $(B64)/ksyms-empty.o

$(KERNEL64): $(B64)/kernel.pass1.elf scripts/ksyms.sh
	@echo "  LD64    $@ (with symbol table)"
	$(Q)$(NM64) -n $(B64)/kernel.pass1.elf > $(B64)/kernel.pass1.sym
	$(Q)scripts/ksyms.sh $(B64)/kernel.pass1.sym $(B64)/ksyms.asm
	$(Q)$(NASM) -f elf64 $(B64)/ksyms.asm -o $(B64)/ksyms.o
	$(Q)$(LD64) $(K64LDFLAGS) -o $@.tmp $(K64OBJS) $(B64)/ksyms.o
	$(Q)scripts/ksyms.sh --verify $(B64)/kernel.pass1.sym $@.tmp $(NM64)
	$(Q)grub-file --is-x86-multiboot2 $@.tmp || { echo "$@ is not Multiboot 2"; exit 1; }
	$(Q)mv $@.tmp $@

$(ISO64): $(KERNEL64) $(B64)/initrd.img scripts/mkiso64.sh
	@echo "  ISO64   $@"
	$(Q)scripts/mkiso64.sh $< $@ "" $(B64)/initrd.img

# One-entry ISOs for the test run (QEMU cannot load a 64-bit kernel
# without a loader, so each command line is an ISO): the suite in both
# commit modes and with the eager kernel heap, and the memory-size check.
# The fault tests' ISOs (test=NAME) are made by scripts/test.sh.
TEST64_ISOS := $(B64)/test.iso $(B64)/test-overcommit.iso $(B64)/test-kheap-eager.iso \
               $(B64)/test-memcheck.iso
$(B64)/test.iso: ARGS := test
$(B64)/test-overcommit.iso: ARGS := test overcommit
$(B64)/test-kheap-eager.iso: ARGS := test kheap=eager
$(B64)/test-memcheck.iso: ARGS := memcheck
$(TEST64_ISOS): $(KERNEL64) $(B64)/initrd.img scripts/mkiso64.sh
	@echo "  ISO64   $@"
	$(Q)scripts/mkiso64.sh $< $@ "$(ARGS)" $(B64)/initrd.img
test-isos: $(TEST64_ISOS)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory ARCH=x86_64 all
	QEMU_SYSTEM=qemu-system-x86_64 scripts/qemu.sh run $(ISO64)

# The x86-64 part of `make test`, judged by the same driver as i686.
test: deps
	@$(MAKE) --no-print-directory ARCH=x86_64 all test-isos
	@TEST_ONLY=x86_64 scripts/test.sh

clean:
	rm -rf $(B64)

# The ring-3 programs and their libc for x86-64 (ARCH=x86_64 selects the
# 64-bit half of user/build.mk).
include user/build.mk

-include $(shell find $(B64) -name '*.d' 2>/dev/null)
