/*
 * tests/host/x86_64/mm_arch.h - the machine the hosted VMM tests simulate
 * when they are built a second time for the x86-64 format (build/host/
 * tests-x86_64/): four-level paging, canonical 48-bit addresses, the kernel
 * half from 0xFFFF800000000000 and the windows in the last 2 GiB, next to
 * where a 64-bit kernel's image sits.  Same mm/, same tests, other format.
 */
#ifndef TESTS_HOST_X86_64_MM_ARCH_H
#define TESTS_HOST_X86_64_MM_ARCH_H

#include "mm/paging_x86_64.h"

#define VMM_USER_START 0x0000000000001000ull
#define VMM_USER_END 0x00007FFFFFFFF000ull
#define VMM_KERNEL_BASE 0xFFFF800000000000ull
#define VMM_KERNEL_END 0xFFFFFFFFFFFFF000ull
#define VMM_LOWMAP_END 0xFFFF800001000000ull /* the simulator's boot map: 16 MiB */
#define VMM_BOOTMAP_START 0xFFFF800001000000ull
#define VMM_BOOTMAP_END 0xFFFF800010000000ull
#define VMM_KREGION_START 0xFFFFC00000000000ull
#define VMM_KREGION_END 0xFFFFC00100000000ull /* 4 GiB of kernel regions */
#define VMM_WINDOW_START 0xFFFFFFFF7FE00000ull /* one leaf table below -2 GiB */
#define VMM_WINDOW_END 0xFFFFFFFF80000000ull
#define VMM_META_SIZE 0x0000000000400000ull

#endif /* TESTS_HOST_X86_64_MM_ARCH_H */
