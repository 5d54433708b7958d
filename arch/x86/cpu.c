/*
 * arch/x86/cpu.c - CPU features and protections, stopping the CPU, leaving
 * the emulator.  The same on i686 and x86-64 (both builds compile it).
 */
#include "arch/x86/cpu.h"

struct cpu_features cpu_features;

void cpu_features_init(void)
{
    uint32_t a, b, c, d, max;
    cpuid(0, 0, &max, &b, &c, &d);
    for (int i = 0; i < 4; i++) {
        cpu_features.vendor[i] = (char)(b >> (8 * i));
        cpu_features.vendor[4 + i] = (char)(d >> (8 * i));
        cpu_features.vendor[8 + i] = (char)(c >> (8 * i));
    }
    cpu_features.vendor[12] = 0;
    cpuid(1, 0, &a, &b, &c, &d);
    cpu_features.pge = (d >> 13) & 1;
    if (max >= 7) {
        cpuid(7, 0, &a, &b, &c, &d);
        cpu_features.smep = (b >> 7) & 1;
        cpu_features.smap = (b >> 20) & 1;
        cpu_features.umip = (c >> 2) & 1;
    }
}

void cpu_protections_enable(void)
{
    unsigned long cr4 = read_cr4();
    write_cr0(read_cr0() | CR0_WP);
    if (cpu_features.pge)
        cr4 |= CR4_PGE;
    if (cpu_features.smep)
        cr4 |= CR4_SMEP;
    if (cpu_features.smap)
        cr4 |= CR4_SMAP;
    if (cpu_features.umip)
        cr4 |= CR4_UMIP;
    write_cr4(cr4);
}

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
