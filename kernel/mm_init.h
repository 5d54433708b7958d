/*
 * kernel/mm_init.h - bringing up the memory layers at boot.
 */
#ifndef KERNEL_MM_INIT_H
#define KERNEL_MM_INIT_H

#include "kernel/bootinfo.h"

#include <stddef.h>

/*
 * Give the PMM every usable frame below 4 GiB, minus the kernel image, the
 * boot information, the modules and the PMM's own metadata (which this maps
 * at BOOTMAP_START).  Panics if the machine has too little memory to run.
 */
void mm_init_pmm(const struct boot_info *bi);

/*
 * The VMM: the kernel image's real permissions (text and rodata read-only),
 * the kernel half's page tables, the page-fault handler, then CR0.WP, global
 * pages, SMEP and SMAP where the CPU has them.  Command line: `overcommit`
 * (or commit=overcommit) picks the overcommit policy; strict is the default.
 */
void mm_init_vmm(const struct boot_info *bi);

/*
 * Map the initial ramdisk (the module named "initrd", else the first
 * module) read-only into the kernel half; returns it and its size, or NULL
 * when the loader gave no module.
 */
const void *mm_map_initrd(const struct boot_info *bi, size_t *size);

/*
 * The layer summary that ends the boot log: frames used/reserved/free as a
 * bar, committed vs backed pages, the kernel space, the kernel heap.
 */
void mm_print_summary(void);

#endif
