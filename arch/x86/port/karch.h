/*
 * arch/x86/port/karch.h - the i686 architecture as the shared kernel sees
 * it (kernel/arch.h): the CPU helpers, the trap frame, the layout.
 */
#ifndef ARCH_X86_PORT_KARCH_H
#define ARCH_X86_PORT_KARCH_H

#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/trap.h"
#include "kernel/arch.h"

#endif
