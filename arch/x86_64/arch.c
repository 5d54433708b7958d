/*
 * arch/x86_64/arch.c - the x86-64 side of kernel/arch.h.
 *
 * boot.asm left the direct map of the first 8 GiB of physical memory at
 * X86_64_DIRECT_BASE, so reading the boot information and mapping the
 * PMM's metadata need no page tables of their own: both go through it.
 * The image's W^X permissions were set by boot.asm; arch_protect_kernel
 * only makes its pages global.
 */
#include "arch/x86/cpu.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/trap.h"
#include "kernel/arch.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#include <string.h>

#define PTE_PRESENT 0x001ull
#define PTE_GLOBAL 0x100ull

extern char _kernel_vma_check[], boot_stack_bottom[], boot_stack_top[], boot_pml4[];
extern uint64_t boot_pt_image[512];

const char arch_name[] = "x86-64";

/* A double fault arrives on IST 1 with the faulting context in its frame. */
static int double_fault(struct trap_frame *f)
{
    struct fault_context c = {f->rip, f->rsp, f->rbp, read_cr3()};
    double_fault_report(&c);
}

void arch_init(void)
{
    gdt_init();
    idt_init();
    trap_set_handler(TRAP_DOUBLE_FAULT, double_fault);
    panic_add_stack((uintptr_t)boot_stack_bottom, (uintptr_t)boot_stack_top);
    if ((uintptr_t)_kernel_vma_check != X86_64_KERNEL_VMA)
        panic("arch_init: linker.ld KERNEL_VMA 0x%lx != layout.h 0x%llx",
              (unsigned long)(uintptr_t)_kernel_vma_check, X86_64_KERNEL_VMA);
}

static void direct_copy(void *dst, uint32_t paddr, uint32_t len, void *ctx)
{
    (void)ctx;
    memcpy(dst, lowmap_virt(paddr), len);
}

const struct boot_reader *arch_boot_reader(void)
{
    static const struct boot_reader reader = {direct_copy, 0};
    return &reader;
}

/* Nothing but the data: the direct map already maps it. */
size_t arch_bootmap_bytes(size_t data)
{
    return (data + 4095) & ~(size_t)4095;
}

void *arch_bootmap_map(uint64_t phys, size_t data)
{
    if (phys + data > X86_64_DIRECT_BYTES)
        panic("arch_bootmap_map: 0x%llx + %zu bytes lies beyond the direct map",
              (unsigned long long)phys, data);
    return lowmap_virt(phys);
}

void arch_protect_kernel(int global)
{
    if (!global)
        return;
    for (unsigned i = 0; i < 512; i++)
        if (boot_pt_image[i] & PTE_PRESENT)
            boot_pt_image[i] |= PTE_GLOBAL;
    load_cr3(read_cr3());
}

uint64_t arch_boot_page_directory(void)
{
    return kernel_image_phys(boot_pml4);
}

void arch_print_registers(const struct trap_frame *f)
{
    kprintf("  rax=%016llx rbx=%016llx rcx=%016llx\n", (unsigned long long)f->rax,
            (unsigned long long)f->rbx, (unsigned long long)f->rcx);
    kprintf("  rdx=%016llx rsi=%016llx rdi=%016llx\n", (unsigned long long)f->rdx,
            (unsigned long long)f->rsi, (unsigned long long)f->rdi);
    kprintf("  rbp=%016llx rsp=%016llx r8 =%016llx\n", (unsigned long long)f->rbp,
            (unsigned long long)f->rsp, (unsigned long long)f->r8);
    kprintf("  r9 =%016llx r10=%016llx r11=%016llx\n", (unsigned long long)f->r9,
            (unsigned long long)f->r10, (unsigned long long)f->r11);
    kprintf("  r12=%016llx r13=%016llx r14=%016llx\n", (unsigned long long)f->r12,
            (unsigned long long)f->r13, (unsigned long long)f->r14);
    kprintf("  r15=%016llx cs=%04llx rflags=%08llx\n", (unsigned long long)f->r15,
            (unsigned long long)f->cs, (unsigned long long)f->rflags);
    kprintf("  cr0=%08lx cr3=%016lx cr4=%08lx\n", read_cr0(), read_cr3(), read_cr4());
}

void cpu_call_on_stack(void *top, void (*fn)(void))
{
    /* save our stack pointer on the new stack (kept 16-byte aligned), call, come back */
    __asm__ volatile("mov %%rsp, %%rax\n\t"
                     "mov %0, %%rsp\n\t"
                     "push %%rax\n\t"
                     "push %%rbp\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%1\n\t"
                     "pop %%rbp\n\t"
                     "pop %%rsp"
                     :
                     : "r"(top), "r"(fn)
                     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
}
