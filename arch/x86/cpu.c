/*
 * arch/x86/cpu.c - stopping the CPU and leaving the emulator.
 */
#include "arch/x86/cpu.h"

void cpu_halt_forever(void)
{
    for (;;) {
        cpu_cli();
        cpu_hlt();
    }
}

void qemu_exit(uint32_t code)
{
    /* isa-debug-exit at 0xf4 (-device isa-debug-exit,iobase=0xf4,iosize=0x04).
       Without that device the write does nothing and we halt. */
    outl(0xf4, code);
}
