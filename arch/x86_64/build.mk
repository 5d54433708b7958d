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
NASM := nasm
CC64_INCLUDE = $(shell $(CC64) -print-file-name=include 2>/dev/null)
K64CFLAGS = -std=c11 -m64 -mcmodel=kernel -mno-red-zone -ffreestanding -fno-pic -fno-pie \
            -nostdlib -fno-builtin -O2 -g -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
            -mgeneral-regs-only -fno-strict-aliasing -fno-stack-protector \
            -Wall -Wextra -Werror -I. -Iarch/x86_64/port \
            -nostdinc -isystem lib/include -isystem $(CC64_INCLUDE) -MD -MP
K64_C := $(wildcard arch/x86_64/*.c mm/*.c) lib/format.c lib/string.c kernel/bootinfo.c \
         kernel/memmap.c
K64OBJS := $(patsubst %.c,$(B64)/%.o,$(K64_C)) $(patsubst %.asm,$(B64)/%.asm.o,$(wildcard arch/x86_64/*.asm))
KERNEL64 := $(B64)/kernel.elf
ISO64 := $(B64)/os.iso

.PHONY: all kernel iso run test clean deps
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

$(KERNEL64): $(K64OBJS) arch/x86_64/linker.ld
	@echo "  LD64    $@"
	$(Q)$(LD64) -m elf_x86_64 -nostdlib -z max-page-size=0x1000 -z noexecstack \
	    --no-warn-rwx-segments -T arch/x86_64/linker.ld -o $@ $(K64OBJS)
	$(Q)grub-file --is-x86-multiboot2 $@ || { echo "$@ is not Multiboot 2"; exit 1; }

$(ISO64): $(KERNEL64)
	@echo "  ISO64   $@"
	$(Q)scripts/mkiso64.sh $< $@

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory ARCH=x86_64 all
	$(if $(CMD),@echo "note: the x86-64 kernel has no monitor yet; CMD is ignored (it prints its checks and the PMM table, then exits)")
	qemu-system-x86_64 -M $(or $(MACHINE),pc) -m $(or $(MEM),128M) -cdrom $(ISO64) \
	    -serial stdio -display none -no-reboot \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 || true

test: deps
	@$(MAKE) --no-print-directory ARCH=x86_64 all
	@scripts/test_x86_64.sh $(ISO64)

clean:
	rm -rf $(B64)

# The ring-3 programs and their libc for x86-64 (ARCH=x86_64 selects the
# 64-bit half of user/build.mk).
include user/build.mk

-include $(shell find $(B64) -name '*.d' 2>/dev/null)
