/*
 * arch/x86/gdt.c - the GDT and the two TSSs.
 *
 * Selectors: 0x08 kernel code, 0x10 kernel data, 0x18 user code, 0x20 user
 * data (both used with RPL 3), 0x28 the main TSS (ring-0 stack for traps from
 * ring 3), 0x30 the double-fault TSS.
 *
 * A double fault is delivered through a task gate to the second TSS, which
 * has its own stack: when the kernel stack overflows into its guard page, the
 * #PF cannot push its frame, the CPU raises #DF, and instead of a triple
 * fault we switch to a known-good stack and can report what happened.  The
 * task switch saves the faulting state in the main TSS, which the report reads.
 *
 * There is no LDT, and the LDT register is loaded with the null selector:
 * the CPU's reset LDTR (base 0, limit 0xFFFF) would otherwise make every
 * selector with TI=1 read its descriptor from linear addresses 0-0xFFFF,
 * which are user addresses - ring 3 could hand the CPU its own segment
 * descriptors if those pages were ever mapped.  With a null LDTR such a
 * selector raises #GP, which kills the process like any bad segment.
 */
#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"
#include "kernel/arch.h"

#include <stdint.h>
#include <string.h>

struct tss {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap_base;
};
_Static_assert(sizeof(struct tss) == 104, "TSS layout is fixed by the CPU");

struct gdt_entry {
    uint16_t limit_low;
    uint16_t base_low;
    uint8_t base_mid;
    uint8_t access;
    uint8_t gran;
    uint8_t base_high;
} __attribute__((packed));
_Static_assert(sizeof(struct gdt_entry) == 8, "GDT entries are 8 bytes");

struct gdt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

#define GDT_ENTRIES 7
static struct gdt_entry gdt[GDT_ENTRIES];
static struct tss main_tss, df_tss;
static uint8_t df_stack[8192] __attribute__((aligned(16)));

static void set_entry(int i, uint32_t base, uint32_t limit, uint8_t access, uint8_t gran)
{
    gdt[i].limit_low = (uint16_t)limit;
    gdt[i].base_low = (uint16_t)base;
    gdt[i].base_mid = (uint8_t)(base >> 16);
    gdt[i].access = access;
    gdt[i].gran = (uint8_t)(((limit >> 16) & 0x0F) | (gran & 0xF0));
    gdt[i].base_high = (uint8_t)(base >> 24);
}

/* The double-fault task: the faulting context is what the task switch saved in main_tss. */
static void df_task_entry(void)
{
    struct fault_context c = {main_tss.eip, main_tss.esp, main_tss.ebp, main_tss.cr3};
    double_fault_report(&c);
}

void gdt_init(void)
{
    set_entry(0, 0, 0, 0, 0);
    set_entry(1, 0, 0xFFFFF, 0x9A, 0xC0); /* kernel code */
    set_entry(2, 0, 0xFFFFF, 0x92, 0xC0); /* kernel data */
    set_entry(3, 0, 0xFFFFF, 0xFA, 0xC0); /* user code */
    set_entry(4, 0, 0xFFFFF, 0xF2, 0xC0); /* user data */

    memset(&main_tss, 0, sizeof main_tss);
    main_tss.ss0 = 0x10;
    main_tss.iomap_base = sizeof main_tss; /* no I/O bitmap: ring 3 gets no ports */
    set_entry(5, (uint32_t)(uintptr_t)&main_tss, sizeof main_tss - 1, 0x89, 0x00);

    memset(&df_tss, 0, sizeof df_tss);
    df_tss.eip = (uint32_t)(uintptr_t)df_task_entry;
    df_tss.esp = df_tss.esp0 = (uint32_t)(uintptr_t)(df_stack + sizeof df_stack);
    df_tss.ss = df_tss.ss0 = df_tss.ds = df_tss.es = df_tss.fs = df_tss.gs = 0x10;
    df_tss.cs = 0x08;
    df_tss.cr3 = read_cr3();
    df_tss.eflags = 0x2; /* interrupts off */
    df_tss.iomap_base = sizeof df_tss;
    set_entry(6, (uint32_t)(uintptr_t)&df_tss, sizeof df_tss - 1, 0x89, 0x00);

    struct gdt_ptr p = {sizeof gdt - 1, (uint32_t)(uintptr_t)gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "mov $0x10, %%ax\n\t"
                     "mov %%ax, %%ds\n\t"
                     "mov %%ax, %%es\n\t"
                     "mov %%ax, %%fs\n\t"
                     "mov %%ax, %%gs\n\t"
                     "mov %%ax, %%ss\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\n\t"
                     "mov $0x28, %%ax\n\t"
                     "ltr %%ax\n\t"
                     "xor %%eax, %%eax\n\t"
                     "lldt %%ax"
                     :
                     : "m"(p)
                     : "eax", "memory");
}

/* Kernel stack for traps from ring 3 (used once processes exist). */
void tss_set_kernel_stack(uint32_t esp0)
{
    main_tss.esp0 = esp0;
}
