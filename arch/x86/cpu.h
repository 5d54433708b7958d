/*
 * arch/x86/cpu.h - named helpers for the x86 instructions the kernel needs,
 * for both builds: i686 and x86-64 (arch/x86_64 includes this file).
 * Control registers and the flags register are machine words (unsigned
 * long: 32 bits on i686, 64 on x86-64); the instructions are the same.
 * All inline assembly of the kernel lives under arch/; everything else
 * calls these.
 */
#ifndef ARCH_X86_CPU_H
#define ARCH_X86_CPU_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
/* A short delay for old devices (the PIC): a write to an unused port. */
static inline void io_wait(void) { outb(0x80, 0); }

static inline unsigned long read_cr0(void) { unsigned long v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline unsigned long read_cr2(void) { unsigned long v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline unsigned long read_cr3(void) { unsigned long v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline unsigned long read_cr4(void) { unsigned long v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(unsigned long v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr4(unsigned long v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
/* Switch address space (flushes every non-global TLB entry). */
static inline void load_cr3(unsigned long pd_phys) { __asm__ volatile("mov %0, %%cr3" : : "r"(pd_phys) : "memory"); }
/* Drop one page's TLB entry. */
static inline void invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

static inline unsigned long read_eflags(void)
{
    unsigned long v;
    __asm__ volatile("pushf; pop %0" : "=r"(v));
    return v;
}
static inline void cpu_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cpu_hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/* Read a model-specific register (EFER: 0xC0000080). */
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

/* Write a model-specific register. */
static inline void wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

/* Save the interrupt flag and disable interrupts; irq_restore puts it back. */
static inline unsigned long irq_save(void)
{
    unsigned long flags = read_eflags();
    cpu_cli();
    return flags;
}
static inline void irq_restore(unsigned long flags)
{
    if (flags & 0x200)
        cpu_sti();
}

#define EFLAGS_IF 0x200u
#define CR0_WP    (1u << 16)
#define CR0_PG    (1u << 31)
#define CR4_PSE   (1u << 4)
#define CR4_PGE   (1u << 7)
#define CR4_UMIP  (1u << 11)
#define CR4_SMEP  (1u << 20)
#define CR4_SMAP  (1u << 21)

/* SMAP: allow (stac) / forbid (clac) supervisor access to user pages. */
static inline void cpu_stac(void) { __asm__ volatile("stac" ::: "memory"); }
static inline void cpu_clac(void) { __asm__ volatile("clac" ::: "memory"); }

/* What this CPU can do, filled by cpu_features_init(). */
struct cpu_features {
    int pge;  /* global pages */
    int smep; /* supervisor-mode execution prevention */
    int smap; /* supervisor-mode access prevention */
    int umip; /* user-mode instruction prevention: sgdt, sidt, sldt, smsw, str fault in ring 3 */
    char vendor[13];
};
extern struct cpu_features cpu_features;

/* Read CPUID into cpu_features. */
void cpu_features_init(void);

/*
 * Turn on the protections the CPU has: CR0.WP (the kernel honours read-only
 * pages), CR4.PGE, CR4.SMEP, CR4.SMAP, CR4.UMIP (ring 3 cannot read
 * the descriptor-table registers, which hold kernel addresses).  Call once
 * the kernel's own mappings have their final permissions.
 */
void cpu_protections_enable(void);

/*
 * Call fn() on another stack (top = initial stack pointer); returns when fn
 * does.  For tests that must overflow a guarded kernel stack.
 */
void cpu_call_on_stack(void *top, void (*fn)(void));

/* Stop this CPU for good (interrupts off). */
__attribute__((noreturn)) void cpu_halt_forever(void);

/* Leave QEMU through isa-debug-exit (port 0xf4): QEMU exits with (code << 1) | 1. */
void qemu_exit(uint32_t code);

#endif /* ARCH_X86_CPU_H */
