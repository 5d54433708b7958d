/*
 * arch/x86_64/gdt.c - the 64-bit GDT and TSS.
 *
 * boot.asm's GDT only gets the CPU into long mode.  This one adds the user
 * segments (in the order SYSCALL/SYSRET expects: kernel code, kernel data,
 * user data, user code) and the TSS, whose only jobs in long mode are the
 * stack for traps from ring 3 (RSP0) and the interrupt stacks: IST 1 is
 * the double fault's, so a kernel stack overflow - a page fault that
 * cannot push its frame - lands on a good stack and is reported.
 */
#include "arch/x86/cpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/arch.h"
#include "kernel/panic.h"

#include <stdint.h>
#include <string.h>

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "the 64-bit TSS is 104 bytes");

static uint64_t gdt[7];
static struct tss64 tss;
static uint8_t df_stack[8192] __attribute__((aligned(16)));

/*
 * A flat code or data descriptor (limit 4 GiB, base 0): in long mode only
 * the access byte and the flags nibble (G, D/B, L) matter.
 */
static uint64_t segment(uint8_t access, uint8_t flags)
{
    return 0xFFFFull | ((uint64_t)access << 40) | (0xFull << 48) | ((uint64_t)flags << 52);
}

/* The TSS descriptor: 16 bytes, the base split over both. */
static void set_tss(unsigned i, uintptr_t base, uint32_t limit)
{
    gdt[i] = (limit & 0xFFFFull) | ((base & 0xFFFFFFull) << 16) | (0x89ull << 40) |
             ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)((base >> 24) & 0xFF) << 56);
    gdt[i + 1] = base >> 32;
}

void gdt_init(void)
{
    gdt[0] = 0;
    gdt[1] = segment(0x9A, 0xA); /* 0x08 kernel code: present, ring 0, code; G, L */
    gdt[2] = segment(0x92, 0xC); /* 0x10 kernel data; G, D/B */
    gdt[3] = segment(0xF2, 0xC); /* 0x18 user data (ring 3) */
    gdt[4] = segment(0xFA, 0xA); /* 0x20 user code (ring 3, L) */
    memset(&tss, 0, sizeof tss);
    tss.ist[0] = (uintptr_t)(df_stack + sizeof df_stack);
    tss.iomap_base = sizeof tss; /* no I/O bitmap: ring 3 gets no ports */
    set_tss(5, (uintptr_t)&tss, sizeof tss - 1);
    panic_add_stack((uintptr_t)df_stack, (uintptr_t)(df_stack + sizeof df_stack));

    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) ptr = {sizeof gdt - 1, (uint64_t)(uintptr_t)gdt};
    /*
     * Reload CS with a far return, the data segments, the task register,
     * then a null LDT: the LDTR a loader leaves behind may still describe
     * a table (base 0 after reset), and a ring-3 program loading an LDT
     * selector would make the CPU read it - from page 0.  With a null
     * LDTR that load is a clean #GP.
     */
    __asm__ volatile("lgdt %0\n\t"
                     "pushq $0x08\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov $0x10, %%eax\n\t"
                     "mov %%eax, %%ds\n\t"
                     "mov %%eax, %%es\n\t"
                     "mov %%eax, %%ss\n\t"
                     "xor %%eax, %%eax\n\t"
                     "mov %%eax, %%fs\n\t"
                     "mov %%eax, %%gs\n\t"
                     "mov $0x28, %%eax\n\t"
                     "ltr %%ax\n\t"
                     "xor %%eax, %%eax\n\t"
                     "lldt %%ax"
                     :
                     : "m"(ptr)
                     : "rax", "memory");
}

void tss_set_kernel_stack(uintptr_t rsp0)
{
    tss.rsp[0] = rsp0;
    syscall_set_kernel_stack(rsp0); /* the syscall entry finds it there, not in the TSS */
}
