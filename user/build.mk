# user/build.mk - ring-3 programs, their libc, and the initrd that carries
# them.  Included by the one Makefile (`-include user/build.mk`); uses its
# BUILD, KCC, KLD, NASM, CROSS, WARN, LIBGCC and Q.
#
#   make user      build/user/programs/NAME.elf for every user/programs/NAME.c
#   make initrd    build/initrd.img: every program, stripped, named NAME (scripts/mkinitrd.py)
#
# Programs are static ELF32 executables linked at 0x00400000 by
# user/user.ld: crt0 first, the program, then build/user/lib.a - user/lib,
# lib/string.c and lib/format.c (the kernel's own string and printf code),
# and mm/'s allocators (the same sources as the kernel heap) - and libgcc.
# Objects go to build/user/obj/, apart from the kernel's build/k/: the same
# source is compiled with different flags for ring 3.

USER_BUILD := $(BUILD)/user
UAR := $(CROSS)ar
# The kernel's flags for ring 3.  -mgeneral-regs-only: programs never use
# x87/SSE registers, so the kernel need not save them when it switches.
# -fstack-clash-protection: a frame larger than a page is touched page by
# page as it is allocated, so it cannot step over the guard gap below the
# stack into a reservation (docs/processes.md).
UCFLAGS = -std=c11 -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -nostdlib -fno-builtin \
           -O2 -g -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -mgeneral-regs-only \
           -fno-stack-protector -fstack-clash-protection -fno-strict-aliasing $(WARN) \
           -I. -Iarch/x86/port -Iuser/include $(FREESTANDING_INC) -MD -MP
UASFLAGS := -f elf32 -g -F dwarf
ULDFLAGS := -m elf_i386 -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T user/user.ld

# All of mm/ by wildcard, as for the kernel: a new allocator cannot miss ring 3.
# The archive holds the PMM and VMM too; the linker takes only what is used.
USER_LIB_C := $(wildcard user/lib/*.c) lib/string.c lib/format.c $(wildcard mm/*.c)
USER_LIB_ASM := $(filter-out user/lib/crt0.asm,$(wildcard user/lib/*.asm))
USER_LIB_OBJS := $(patsubst %.c,$(USER_BUILD)/obj/%.o,$(USER_LIB_C)) \
                 $(patsubst %.asm,$(USER_BUILD)/obj/%.asm.o,$(USER_LIB_ASM))
USER_CRT0 := $(USER_BUILD)/obj/user/lib/crt0.asm.o
USER_LIB := $(USER_BUILD)/lib.a
USER_PROGRAM_C := $(wildcard user/programs/*.c)
USER_PROGRAMS := $(patsubst user/programs/%.c,$(USER_BUILD)/programs/%.elf,$(USER_PROGRAM_C))
INITRD := $(BUILD)/initrd.img

# Objects reached only through pattern rules: keep them (make would delete them).
.SECONDARY: $(USER_CRT0) $(patsubst %.c,$(USER_BUILD)/obj/%.o,$(USER_PROGRAM_C))

.PHONY: user initrd
user: $(USER_PROGRAMS)
initrd: $(INITRD)

$(USER_BUILD)/obj/%.o: %.c Makefile user/build.mk
	@mkdir -p $(dir $@)
	@echo "  UCC     $<"
	$(Q)$(KCC) $(UCFLAGS) -c $< -o $@

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
	$(Q)$(KLD) $(ULDFLAGS) -o $@ $(USER_CRT0) $< $(USER_LIB) $(LIBGCC)

# The initrd carries stripped copies (the loader reads only the segments).
USER_STRIPPED := $(patsubst $(USER_BUILD)/programs/%.elf,$(USER_BUILD)/initrd/%,$(USER_PROGRAMS))
$(USER_BUILD)/initrd/%: $(USER_BUILD)/programs/%.elf
	@mkdir -p $(dir $@)
	$(Q)$(CROSS)strip -o $@ $<

$(INITRD): $(USER_STRIPPED) scripts/mkinitrd.py
	@echo "  INITRD  $@ ($(words $(USER_STRIPPED)) programs)"
	$(Q)scripts/mkinitrd.py -o $@ $(USER_STRIPPED)
