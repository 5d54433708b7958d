/*
 * tests/mm_alone/mm_arch.h - the minimal port's compile-time half: which
 * paging format the machine has and where things are in its address space.
 * A porter writes one of these for their kernel (the two below are the
 * shapes of this project's i686 and x86-64 kernels); mm/ includes it by
 * this name from mm/pte.h.  A port header may choose by target as it
 * likes: mm/ itself never does.
 */
#ifndef MM_ALONE_MM_ARCH_H
#define MM_ALONE_MM_ARCH_H

#if defined(__x86_64__)

#include "mm/paging_x86_64.h"

/* 47-bit user half; the kernel half from the first canonical high address. */
#define VMM_USER_START 0x0000000000001000ull
#define VMM_USER_END 0x00007FFFFFFFF000ull
#define VMM_KERNEL_BASE 0xFFFF800000000000ull
#define VMM_KERNEL_END 0xFFFFFFFFFFFFF000ull
#define VMM_LOWMAP_END 0xFFFF800100000000ull /* 4 GiB of RAM, linear */
#define VMM_BOOTMAP_START 0xFFFF800100000000ull
#define VMM_BOOTMAP_END 0xFFFF800200000000ull
#define VMM_KREGION_START 0xFFFFC00000000000ull
#define VMM_KREGION_END 0xFFFFE00000000000ull
#define VMM_WINDOW_START 0xFFFFFFFF7FE00000ull /* one leaf table below the kernel image */
#define VMM_WINDOW_END 0xFFFFFFFF80000000ull
#define VMM_META_SIZE 0x0000000000400000ull

#else

#include "mm/paging_i386.h"

/* 3 GiB / 1 GiB split, as in most 32-bit kernels. */
#define VMM_USER_START 0x00001000u
#define VMM_USER_END 0xC0000000u
#define VMM_KERNEL_BASE 0xC0000000u
#define VMM_KERNEL_END 0xFFFFF000u
#define VMM_LOWMAP_END 0xC1000000u
#define VMM_BOOTMAP_START 0xC1000000u
#define VMM_BOOTMAP_END 0xD0000000u
#define VMM_KREGION_START 0xD0000000u
#define VMM_KREGION_END 0xF0000000u
#define VMM_WINDOW_START 0xFF000000u
#define VMM_WINDOW_END 0xFF400000u
#define VMM_META_SIZE 0x00400000u

#endif

#endif /* MM_ALONE_MM_ARCH_H */
