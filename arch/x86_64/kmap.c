/*
 * arch/x86_64/kmap.c - how mm/ reaches physical memory on x86-64
 * (mm/port.h).
 *
 * boot.asm maps all RAM below X86_64_DIRECT_BYTES at X86_64_DIRECT_BASE
 * (the direct map), so mm_kmap is an addition and mm_kunmap has nothing to
 * undo.  The physical limit is the smaller of the CPU's physical address
 * width and what the direct map covers: a frame beyond it could not be
 * reached by the kernel, so the PMM must not manage it.
 */
#include "mm/port.h"
#include "arch/x86/cpu.h"
#include "arch/x86_64/layout.h"
#include "kernel/panic.h"

/* 2^MAXPHYADDR (CPUID 0x80000008), capped by what the direct map covers. */
uint64_t mm_phys_limit(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000u, 0, &a, &b, &c, &d);
    unsigned bits = 36;
    if (a >= 0x80000008u) {
        cpuid(0x80000008u, 0, &a, &b, &c, &d);
        bits = a & 0xFFu;
    }
    uint64_t cpu = 1ull << bits;
    return cpu < X86_64_DIRECT_BYTES ? cpu : X86_64_DIRECT_BYTES;
}

void *mm_kmap(uint64_t frame)
{
    if (frame >= X86_64_DIRECT_BYTES)
        panic("mm_kmap: frame 0x%llx is beyond the direct map", (unsigned long long)frame);
    return (void *)(uintptr_t)(X86_64_DIRECT_BASE + frame);
}

void mm_kunmap(void *ptr)
{
    (void)ptr; /* the direct map stays */
}
