/*
 * tests/host/mm_arch.h - the machine the hosted VMM tests simulate
 * (tests/host/vmm_sim.c): the kernel's own, i386 two-level paging and the
 * kernel's layout, so that hosted and in-kernel tests check the same VMM.
 */
#ifndef TESTS_HOST_MM_ARCH_H
#define TESTS_HOST_MM_ARCH_H

#include "arch/x86/port/mm_arch.h"

#endif /* TESTS_HOST_MM_ARCH_H */
