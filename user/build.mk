# user/build.mk - ring-3 programs, their libc, and the initrd that carries
# them, for either architecture.  Included by the one Makefile for i686
# (`-include user/build.mk`, using its BUILD, KCC, KLD, NASM, CROSS, WARN,
# LIBGCC, FREESTANDING_INC and Q) and by arch/x86_64/build.mk for x86-64
# (ARCH=x86_64: Debian's own gcc and binutils, -m64).
#
#   make [ARCH=x86_64] user      every user/programs/NAME.c as NAME.elf
#   make [ARCH=x86_64] initrd    the initrd: every program, stripped, named NAME
#
# Programs are static, non-PIC executables (ELF32 i386 or ELF64 x86-64)
# linked at 0x00400000 by user/user.ld, the same script for both: crt0
# first, the program, then lib.a - user/lib (its *.c, and the assembly of
# user/lib/ARCH: crt0, the system-call stub, the privileged-instruction
# probes), lib/string.c and lib/format.c (the kernel's own string and printf
# code), and mm/'s allocators (the same sources as the kernel heap) - and
# libgcc.  Objects go to USER_BUILD/obj/, apart from the kernel's: the same
# source is compiled with different flags for ring 3.
#
#   ARCH     USER_BUILD           initrd                  ABI
#   i686     build/user/          build/initrd.img        int 0x80
#   x86_64   build/x86_64/user/   build/x86_64/initrd.img syscall

UWARN := -Wall -Wextra -Werror
ifeq ($(ARCH),x86_64)
USER_BUILD := $(BUILD)/x86_64/user
UCC := cc
ULD := ld
UAR := ar
USTRIP := strip
# The small code model (the default): the image area is below 2 GiB
# (kernel/syscall_nr.h), so addresses of code and data fit in 32-bit
# immediates.  The red zone stays on: the kernel enters on its own stack.
UARCHFLAGS := -m64 -mcmodel=small -Iarch/x86_64/port
UASFLAGS := -f elf64 -g -F dwarf
ULDEMU := elf_x86_64
USER_INITRD := $(BUILD)/x86_64/initrd.img
else
USER_BUILD := $(BUILD)/user
UCC = $(KCC)
ULD = $(KLD)
UAR = $(CROSS)ar
USTRIP = $(CROSS)strip
UARCHFLAGS := -m32 -march=i686 -Iarch/x86/port
UASFLAGS := -f elf32 -g -F dwarf
ULDEMU := elf_i386
USER_INITRD := $(BUILD)/initrd.img
endif
USER_ARCH_DIR := user/lib/$(ARCH)
# Like the kernel's: only the compiler's own headers and the tree's (recursive,
# so that the compiler is asked only when a rule runs).
UINC = -nostdinc -isystem lib/include -isystem $(shell $(UCC) -print-file-name=include 2>/dev/null)
ULIBGCC = $(shell $(UCC) $(filter -m32 -m64,$(UARCHFLAGS)) -print-libgcc-file-name 2>/dev/null)
# The kernel's flags for ring 3.  -mgeneral-regs-only: programs never use
# x87/SSE registers, so the kernel need not save them when it switches.
# -fstack-clash-protection: a frame larger than a page is touched page by
# page as it is allocated, so it cannot step over the guard gap below the
# stack into a reservation (docs/processes.md).
UCFLAGS = -std=c11 $(UARCHFLAGS) -ffreestanding -fno-pic -fno-pie -nostdlib -fno-builtin \
           -O2 -g -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -mgeneral-regs-only \
           -fno-stack-protector -fstack-clash-protection -fno-strict-aliasing $(UWARN) \
           -I. -Iuser/include $(UINC) -MD -MP
ULDFLAGS = -m $(ULDEMU) -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T user/user.ld

# All of mm/ by wildcard, as for the kernel: a new allocator cannot miss ring 3.
# The archive holds the PMM and VMM too; the linker takes only what is used.
USER_LIB_C := $(wildcard user/lib/*.c) lib/string.c lib/format.c $(wildcard mm/*.c)
USER_LIB_ASM := $(filter-out %/crt0.asm,$(wildcard $(USER_ARCH_DIR)/*.asm))
USER_LIB_OBJS := $(patsubst %.c,$(USER_BUILD)/obj/%.o,$(USER_LIB_C)) \
                 $(patsubst %.asm,$(USER_BUILD)/obj/%.asm.o,$(USER_LIB_ASM))
USER_CRT0 := $(USER_BUILD)/obj/$(USER_ARCH_DIR)/crt0.asm.o
USER_LIB := $(USER_BUILD)/lib.a
USER_PROGRAM_C := $(wildcard user/programs/*.c)
USER_PROGRAMS := $(patsubst user/programs/%.c,$(USER_BUILD)/programs/%.elf,$(USER_PROGRAM_C))

# Objects reached only through pattern rules: keep them (make would delete them).
.SECONDARY: $(USER_CRT0) $(patsubst %.c,$(USER_BUILD)/obj/%.o,$(USER_PROGRAM_C))

.PHONY: user initrd
user: $(USER_PROGRAMS)
initrd: $(USER_INITRD)

$(USER_BUILD)/obj/%.o: %.c Makefile user/build.mk
	@mkdir -p $(dir $@)
	@echo "  UCC     $<"
	$(Q)$(UCC) $(UCFLAGS) -c $< -o $@

$(USER_BUILD)/obj/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  UAS     $<"
	$(Q)$(NASM) $(UASFLAGS) -MD $(@:.o=.d) -MP $< -o $@

$(USER_LIB): $(USER_LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@
	$(Q)$(UAR) rcs $@ $^

$(USER_BUILD)/programs/%.elf: $(USER_BUILD)/obj/user/programs/%.o $(USER_CRT0) $(USER_LIB) \
                              user/user.ld
	@mkdir -p $(dir $@)
	@echo "  ULD     $@"
	$(Q)$(ULD) $(ULDFLAGS) -o $@ $(USER_CRT0) $< $(USER_LIB) $(ULIBGCC)

# The initrd carries stripped copies (the loader reads only the segments).
USER_STRIPPED := $(patsubst $(USER_BUILD)/programs/%.elf,$(USER_BUILD)/initrd/%,$(USER_PROGRAMS))
$(USER_BUILD)/initrd/%: $(USER_BUILD)/programs/%.elf
	@mkdir -p $(dir $@)
	$(Q)$(USTRIP) -o $@ $<

$(USER_INITRD): $(USER_STRIPPED) scripts/mkinitrd.py
	@echo "  INITRD  $@ ($(words $(USER_STRIPPED)) programs)"
	$(Q)scripts/mkinitrd.py -o $@ $(USER_STRIPPED)
