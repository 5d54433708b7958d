/*
 * kernel/arch.h - what the shared kernel asks of an architecture.
 *
 * kernel/ is compiled unchanged for i686 and x86-64.  What truly differs
 * between the two - descriptor tables, interrupt entry, how physical memory
 * is reached before the VMM runs, the register dump - is behind these
 * functions, implemented once per architecture (arch/x86/arch.c,
 * arch/x86_64/arch.c).  Each port directory has a karch.h that includes
 * this file together with the architecture's cpu.h, trap.h and layout.h;
 * kernel code includes "karch.h" for them.  What both architectures share
 * - the PC devices (serial.h, vga.h, ps2kbd.h) and the x86 instructions
 * (cpu.h) - it includes from arch/x86/ by path.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include "kernel/bootinfo.h"

#include <stddef.h>
#include <stdint.h>

struct trap_frame;

/* "i686" or "x86-64": for the banner and reports. */
extern const char arch_name[];

/*
 * Descriptor tables, the exception and interrupt entry, the early mappings
 * the boot-information reader needs; the boot stack registered with the
 * fault report.  Called by kmain right after the consoles; interrupts stay
 * off.
 */
void arch_init(void);

/* The boot-information parser's reader of physical memory (valid after arch_init). */
const struct boot_reader *arch_boot_reader(void);

/*
 * Boot-time permanent mappings (the PMM's frame metadata, placed before the
 * VMM exists).  arch_bootmap_bytes(data) is what to reserve for `data`
 * bytes: the data plus whatever page tables the mapping needs.  Then
 * arch_bootmap_map(phys, data) maps the reserved range at phys and returns
 * the kernel address of the data.  Panics if the boot map cannot hold it.
 */
size_t arch_bootmap_bytes(size_t data);
void *arch_bootmap_map(uint64_t phys, size_t data);

/*
 * The kernel image's final permissions in the boot page tables (text
 * read-only, data not executable; global when `global`), and the physical
 * address of the boot page directory the VMM adopts.
 */
void arch_protect_kernel(int global);
uint64_t arch_boot_page_directory(void);

/*
 * Open the way from ring 3 into the kernel (docs/syscalls.md): i686 lets
 * `int SYS_VECTOR` through a DPL-3 gate; x86-64 turns on `syscall` and
 * points it at an entry that makes the same trap frame, vector SYS_VECTOR.
 * Either way the call reaches the handler set for SYS_VECTOR.
 */
void arch_syscall_init(void);

/*
 * The kernel stack of a process that has never run: at the top of
 * [.., kstack_top), the trap frame that enters ring 3 at `entry` with the
 * stack pointer `user_sp`, interrupts on and every other register zero;
 * below it what context_switch pops (callee-saved registers, 0) and its
 * return address, the trap-return path.  Returns the stack pointer to hand
 * to context_switch.
 */
uintptr_t arch_user_first_frame(void *kstack_top, uintptr_t entry, uintptr_t user_sp);

/* Switch kernel stacks: save the callee-saved registers and the stack pointer in *save_sp, load load_sp. */
void context_switch(uintptr_t *save_sp, uintptr_t load_sp);

/* The general registers and control registers of a trap frame, for the fault report. */
void arch_print_registers(const struct trap_frame *f);

/*
 * The faulting context of a double fault, as the architecture saved it
 * (i686: the task switch's TSS; x86-64: the IST frame).
 */
struct fault_context {
    uintptr_t pc, sp, fp, cr3;
};

#endif /* KERNEL_ARCH_H */
