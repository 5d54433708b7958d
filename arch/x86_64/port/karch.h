/*
 * arch/x86_64/port/karch.h - the x86-64 architecture as the shared kernel
 * sees it (kernel/arch.h): the CPU helpers (shared with i686), the 64-bit
 * trap frame, the layout.
 */
#ifndef ARCH_X86_64_PORT_KARCH_H
#define ARCH_X86_64_PORT_KARCH_H

#include "arch/x86/cpu.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/trap.h"
#include "kernel/arch.h"

#endif
