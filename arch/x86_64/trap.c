/*
 * arch/x86_64/trap.c - the 64-bit kernel's exception handling.
 *
 * 32 interrupt gates (isr.asm) into trap64.  A page fault goes to the VMM
 * first (vmm_handle_fault with the #PF error code: present, write, user,
 * reserved bit, instruction fetch), exactly as on i686; a fault it resolves
 * returns to the instruction.  Anything else is a fault report - vector,
 * RIP, CR2, the error code spelled out and the VMM's reason - and, unless
 * a probe expected it, the end of the run (QEMU exits with the fault code).
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/console.h"
#include "arch/x86_64/cpu.h"
#include "lib/format.h"
#include "mm/vmm.h"

#include <stddef.h>

#define EXIT_FAULT 0x12
#define KERNEL_CS 0x08

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type;
    uint16_t offset_mid;
    uint32_t offset_high, zero;
} __attribute__((packed));

static struct idt_gate idt[32];
extern const uint64_t isr_table[32];

static uintptr_t probe_addr;
static int probe_rc;
static char last_report[160];

void idt64_init(void)
{
    for (unsigned v = 0; v < 32; v++) {
        uint64_t a = isr_table[v];
        idt[v] = (struct idt_gate){(uint16_t)a, KERNEL_CS, 0, 0x8E, (uint16_t)(a >> 16),
                                   (uint32_t)(a >> 32), 0};
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) ptr = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

static uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

/* The #PF error code as the VMM's access bits (the same bit positions). */
static unsigned pf_access(uint64_t error)
{
    return (unsigned)(error & (VMM_ACCESS_PRESENT | VMM_ACCESS_WRITE | VMM_ACCESS_USER |
                               VMM_ACCESS_RSVD | VMM_ACCESS_EXEC));
}

static const char *pf_kind(uint64_t error)
{
    if (error & VMM_ACCESS_EXEC)
        return "execute";
    return (error & VMM_ACCESS_WRITE) ? "write" : "read";
}

static void report_page_fault(struct trap_frame *f, uint64_t cr2, int rc)
{
    fmt_snprintf(last_report, sizeof last_report,
                 "page fault: %s of 0x%llx at rip 0x%llx (error 0x%llx): %s", pf_kind(f->error),
                 (unsigned long long)cr2, (unsigned long long)f->rip,
                 (unsigned long long)f->error, vmm_fault_reason(rc));
    console_printf("%s\n", last_report);
}

void trap64(struct trap_frame *f)
{
    if (f->vector == 14) {
        uint64_t cr2 = read_cr2();
        int rc = vmm_handle_fault(vmm_current_space(), (uintptr_t)cr2, pf_access(f->error));
        if (rc == VMM_FAULT_RESOLVED)
            return;
        report_page_fault(f, cr2, rc);
        if (probe_addr && cr2 == probe_addr && f->rip == probe_addr) {
            probe_rc = rc; /* resume as if the probed call had returned */
            probe_addr = 0;
            f->rip = *(uint64_t *)(uintptr_t)f->rsp;
            f->rsp += 8;
            return;
        }
    } else {
        console_printf("exception %llu at rip 0x%llx (error 0x%llx)\n",
                       (unsigned long long)f->vector, (unsigned long long)f->rip,
                       (unsigned long long)f->error);
    }
    qemu_exit(EXIT_FAULT);
}

int trap64_probe_call(void (*fn)(void))
{
    last_report[0] = 0;
    probe_rc = 1;
    probe_addr = (uintptr_t)fn;
    fn();
    probe_addr = 0;
    return probe_rc;
}

const char *trap64_last_report(void)
{
    return last_report;
}
