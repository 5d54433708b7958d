/*
 * arch/x86_64/mm_port.c - mm/port.h for the 64-bit kernel.
 *
 * Messages go to the serial console; the locks save RFLAGS and disable
 * interrupts (one CPU).  Physical memory is reached through the direct map
 * boot.asm builds (all RAM below X86_64_DIRECT_BYTES at X86_64_DIRECT_BASE),
 * so mm_kmap is an addition and mm_kunmap has nothing to do; the physical
 * limit is the smaller of the CPU's physical width and the direct map.
 */
#include "mm/port.h"
#include "arch/x86_64/console.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/port/mm_arch.h"
#include "lib/format.h"

static unsigned long report_count;
static uint64_t pmm_flags, vmm_flags;
static int pmm_held, vmm_held;

void mm_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_puts("mm panic: ");
    console_vprintf(fmt, ap);
    va_end(ap);
    console_puts("\n");
    qemu_exit(3);
}

void mm_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_vprintf(fmt, ap);
    va_end(ap);
    console_puts("\n");
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_puts("mm: ");
    console_vprintf(fmt, ap);
    va_end(ap);
    console_puts("\n");
    report_count++;
}

unsigned long mm_port_report_count(void)
{
    return report_count;
}

static void lock_take(uint64_t *saved, int *held, const char *name)
{
    uint64_t flags = irq_save();
    if (*held)
        mm_panic("mm_lock_%s: taken twice", name);
    *held = 1;
    *saved = flags;
}

static void lock_drop(uint64_t *saved, int *held, const char *name)
{
    if (!*held)
        mm_panic("mm_unlock_%s: not held", name);
    *held = 0;
    irq_restore(*saved);
}

void mm_lock_pmm(void)
{
    lock_take(&pmm_flags, &pmm_held, "pmm");
}

void mm_unlock_pmm(void)
{
    lock_drop(&pmm_flags, &pmm_held, "pmm");
}

void mm_lock_vmm(void)
{
    lock_take(&vmm_flags, &vmm_held, "vmm");
}

void mm_unlock_vmm(void)
{
    lock_drop(&vmm_flags, &vmm_held, "vmm");
}

/* 2^MAXPHYADDR (CPUID 0x80000008), capped by what the direct map covers. */
uint64_t mm_phys_limit(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000u, &a, &b, &c, &d);
    unsigned bits = 36;
    if (a >= 0x80000008u) {
        cpuid(0x80000008u, &a, &b, &c, &d);
        bits = a & 0xFFu;
    }
    uint64_t cpu = 1ull << bits;
    return cpu < X86_64_DIRECT_BYTES ? cpu : X86_64_DIRECT_BYTES;
}

void *mm_kmap(uint64_t frame)
{
    if (frame >= X86_64_DIRECT_BYTES)
        mm_panic("mm_kmap: frame 0x%llx is beyond the direct map", (unsigned long long)frame);
    return (void *)(uintptr_t)(X86_64_DIRECT_BASE + frame);
}

void mm_kunmap(void *ptr)
{
    (void)ptr; /* the direct map stays */
}

void *mm_kva_ptr(uintptr_t va)
{
    return (void *)va;
}

void mm_tlb_flush_page(uintptr_t va)
{
    invlpg(va);
}

void mm_tlb_flush_all(void)
{
    load_cr3(read_cr3());
}

void mm_tlb_flush_global(void)
{
    uint64_t cr4 = read_cr4();
    if (cr4 & (1u << 7)) {
        write_cr4(cr4 & ~(uint64_t)(1u << 7));
        write_cr4(cr4);
    } else {
        load_cr3(read_cr3());
    }
}

void mm_load_page_directory(uint64_t pd)
{
    load_cr3(pd);
}

uint64_t mm_current_page_directory(void)
{
    return read_cr3() & ~0xFFFull;
}
