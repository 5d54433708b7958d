/*
 * arch/x86/arch.c - the i686 side of kernel/arch.h.
 *
 * Physical memory outside the 16 MiB low map is reached through mapping
 * windows (arch/x86/paging.c): the boot-information reader maps one page
 * at a time, and the boot map (PMM metadata at BOOTMAP_START) gets page
 * tables of its own, placed first in the reserved range and filled through
 * a window because they may lie above the low map.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/paging.h"
#include "arch/x86/trap.h"
#include "kernel/arch.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/syscall_nr.h"
#include "mm_arch.h"

#include <string.h>

/* mm_arch.h (the VMM's view) and arch/x86/layout.h describe the same layout: keep them equal. */
_Static_assert(VMM_KERNEL_BASE == KERNEL_VMA, "kernel base");
_Static_assert(VMM_LOWMAP_END == KERNEL_VMA + LOWMAP_SIZE, "low map");
_Static_assert(VMM_BOOTMAP_START == BOOTMAP_START && VMM_BOOTMAP_END == BOOTMAP_END, "boot map");
_Static_assert(VMM_KREGION_START == KREGION_START && VMM_KREGION_END == KREGION_END, "regions");
_Static_assert(VMM_WINDOW_START == WINDOW_START &&
                   VMM_WINDOW_END == WINDOW_START + WINDOW_PAGES * 4096u,
               "windows");

#define PDE_PRESENT_WRITABLE 0x3u

extern char _kernel_vma_check[], boot_stack_bottom[], boot_stack_top[];

const char arch_name[] = "i686";

void arch_init(void)
{
    gdt_init();
    idt_init();
    panic_add_stack((uintptr_t)boot_stack_bottom, (uintptr_t)boot_stack_top);
    paging_early_init();
    if ((uint32_t)(uintptr_t)_kernel_vma_check != KERNEL_VMA)
        panic("arch_init: linker.ld KERNEL_VMA 0x%x != layout.h 0x%x",
              (unsigned)(uintptr_t)_kernel_vma_check, KERNEL_VMA);
}

/* The boot-info parser's reader: physical memory one window page at a time. */
static void window_copy(void *dst, uint32_t paddr, uint32_t len, void *ctx)
{
    unsigned char *d = dst;
    (void)ctx;
    while (len) {
        uint32_t in_page = 4096u - (paddr & 0xFFFu);
        uint32_t n = len < in_page ? len : in_page;
        memcpy(d, window_map(WINDOW_SLOT_BOOTINFO, paddr), n);
        d += n;
        paddr += n;
        len -= n;
    }
    window_unmap(WINDOW_SLOT_BOOTINFO);
}

const struct boot_reader *arch_boot_reader(void)
{
    static const struct boot_reader reader = {window_copy, 0};
    return &reader;
}

static uint32_t pages_of(size_t bytes)
{
    return (uint32_t)((bytes + 4095) / 4096);
}

/* The data's pages plus one page table per 4 MiB of them. */
size_t arch_bootmap_bytes(size_t data)
{
    uint32_t pages = pages_of(data), tables = (pages + 1023) / 1024;
    return (size_t)(pages + tables) * 4096u;
}

/*
 * Map the data at BOOTMAP_START, using the first frames of the reserved
 * range at `phys` as its page tables.
 */
void *arch_bootmap_map(uint64_t phys, size_t data)
{
    uint32_t pages = pages_of(data), tables = (pages + 1023) / 1024;
    uint32_t table_pa = (uint32_t)phys, data_pa = table_pa + tables * 4096u;
    if (arch_bootmap_bytes(data) > BOOTMAP_END - BOOTMAP_START)
        panic("arch_bootmap_map: %u KiB does not fit the boot map", pages * 4);
    for (uint32_t t = 0; t < tables; t++) {
        uint32_t *pt = window_map(WINDOW_SLOT_BOOTINFO, table_pa + t * 4096u);
        memset(pt, 0, 4096);
        for (uint32_t i = 0; i < 1024 && t * 1024 + i < pages; i++)
            pt[i] = (data_pa + (t * 1024 + i) * 4096u) | PDE_PRESENT_WRITABLE;
        early_page_directory[(BOOTMAP_START >> 22) + t] =
            (table_pa + t * 4096u) | PDE_PRESENT_WRITABLE;
    }
    window_unmap(WINDOW_SLOT_BOOTINFO);
    load_cr3(read_cr3());
    return (void *)BOOTMAP_START;
}

void arch_protect_kernel(int global)
{
    paging_protect_kernel(global);
}

uint64_t arch_boot_page_directory(void)
{
    return paging_boot_directory();
}

void arch_print_registers(const struct trap_frame *f)
{
    kprintf("  eax=%08x ebx=%08x ecx=%08x edx=%08x\n", f->eax, f->ebx, f->ecx, f->edx);
    kprintf("  esi=%08x edi=%08x ebp=%08x esp=%08x\n", f->esi, f->edi, f->ebp,
            trap_from_user(f) ? f->user_esp : f->esp_at_pusha + 20);
    kprintf("  cs=%04x ds=%04x eflags=%08x cr0=%08lx cr3=%08lx cr4=%08lx\n", f->cs, f->ds,
            f->eflags, read_cr0(), read_cr3(), read_cr4());
}

void cpu_call_on_stack(void *top, void (*fn)(void))
{
    /* save our stack pointer on the new stack, call, come back */
    __asm__ volatile("mov %%esp, %%eax\n\t"
                     "mov %0, %%esp\n\t"
                     "push %%eax\n\t"
                     "push %%ebp\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%1\n\t"
                     "pop %%ebp\n\t"
                     "pop %%esp"
                     :
                     : "r"(top), "r"(fn)
                     : "eax", "ecx", "edx", "memory");
}

void arch_syscall_init(void)
{
    trap_set_user_gate(SYS_VECTOR);
}

extern char trap_return[]; /* isr.asm */

uintptr_t arch_user_first_frame(void *kstack_top, uintptr_t entry, uintptr_t user_sp)
{
    struct trap_frame *f = (struct trap_frame *)kstack_top - 1;
    memset(f, 0, sizeof *f);
    f->gs = f->fs = f->es = f->ds = SEL_USER_DATA;
    f->eip = entry;
    f->cs = SEL_USER_CODE;
    f->eflags = EFLAGS_IF | 0x2;
    f->user_esp = user_sp;
    f->user_ss = SEL_USER_DATA;
    uint32_t *sp = (uint32_t *)f;
    *--sp = (uint32_t)(uintptr_t)trap_return; /* context_switch's ret */
    for (int i = 0; i < 4; i++)
        *--sp = 0; /* ebp, ebx, esi, edi */
    return (uintptr_t)sp;
}
