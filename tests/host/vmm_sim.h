/*
 * tests/host/vmm_sim.h - a simulated x86 machine for the VMM's hosted tests
 * and benchmarks, with the paging format of the build's mm_arch.h: i386
 * two-level (tests/host/mm_arch.h, the kernel's) or x86-64 four-level with
 * NX (tests/host/x86_64/mm_arch.h).  The MMU walks every level, combines
 * the permissions of the levels above the leaf, and refuses a fetch from
 * an NX page (EFER.NXE on).
 *
 * Physical memory is one malloc'd array; the PMM runs over it for real.
 * The simulator implements the VMM part of mm/port.h: mm_kmap returns
 * sim_base + frame (and checks nesting), CR3 is a variable, and a small
 * software MMU translates virtual addresses through the simulated tables
 * with a TLB that behaves like the hardware's: it caches present entries,
 * keeps global entries across a CR3 load, and forgets an entry only on
 * invlpg, CR3 load or global flush.  A VMM that forgets a flush is caught
 * because the stale translation is still used.  The MMU also sets the
 * accessed and dirty bits as the CPU does.
 *
 * "Boot" builds what boot/entry.asm and kernel/mm_init.c build on the real
 * machine: a top-level table and the tables mapping the first 16 MiB at
 * VMM_KERNEL_BASE (and, like entry.asm before it drops it, at 0), plus the
 * window page table, all inside a pretend kernel image at 1 MiB that the
 * PMM is told to keep out.
 *
 * Only symbols prefixed vmm_sim_ and the mm/port.h VMM functions are
 * defined here: this file is linked into every hosted test.
 */
#ifndef TESTS_HOST_VMM_SIM_H
#define TESTS_HOST_VMM_SIM_H

#include "mm/vmm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the pretend kernel image and its boot tables live (physical). */
#define VMM_SIM_IMAGE_START 0x00100000u
#define VMM_SIM_IMAGE_END 0x00200000u
#define VMM_SIM_BOOT_PD 0x00100000u /* the top-level table, then the other boot tables */

/* What the port saw since the last vmm_sim_reset_counters(). */
struct vmm_sim_counters {
    size_t flush_page;   /* mm_tlb_flush_page calls */
    size_t flush_all;    /* mm_tlb_flush_all calls */
    size_t flush_global; /* mm_tlb_flush_global calls */
    size_t cr3_loads;    /* mm_load_page_directory calls */
    size_t kmaps;        /* mm_kmap calls */
    unsigned kmap_depth_max;
    size_t lock_calls;
    size_t tlb_hits, tlb_misses;
};
extern struct vmm_sim_counters vmm_sim_counters;

/*
 * Power on: `mem_bytes` of physical RAM (a multiple of 4 MiB, at least
 * 16 MiB), PMM initialised over it, boot tables built and loaded.  Any
 * previous machine is shut down first.
 */
void vmm_sim_power_on(size_t mem_bytes);

/* Power on and vmm_init with this policy, commit margin (frames) and VMM_BOOT_* flags. */
void vmm_sim_boot(size_t mem_bytes, enum vmm_policy policy, size_t margin, unsigned flags);

/* Free the simulated machine (the VMM and PMM state become garbage until the next boot). */
void vmm_sim_power_off(void);

/* Host pointer to physical address pa (aborts outside RAM). */
void *vmm_sim_phys(uint32_t pa);

size_t vmm_sim_ram_bytes(void);

/*
 * What the MMU does for one access with the loaded directory and the TLB:
 * 0 and *host set when it succeeds, else the x86 #PF error code | 0x100
 * (so that a non-present read fault, error code 0, is not 0).
 */
#define VMM_SIM_FAULT 0x100u
unsigned vmm_sim_translate(uintptr_t va, unsigned access, void **host);

/*
 * An access as a CPU with the kernel's fault handler would do it: translate,
 * and on a fault call vmm_handle_fault(space, va, error code) and retry once.
 * Returns 0 and *host, or the (negative) VMM_FAULT_* code the handler gave.
 */
int vmm_sim_access(struct vmm_space *space, uintptr_t va, unsigned access, void **host);

/* Byte-wide helpers over vmm_sim_access (space must be loaded, or va in the kernel half). */
int vmm_sim_write8(struct vmm_space *space, uintptr_t va, uint8_t value, bool user);
int vmm_sim_read8(struct vmm_space *space, uintptr_t va, uint8_t *value, bool user);

/* Forget the whole TLB (as if an interrupt had reloaded everything). */
void vmm_sim_tlb_clear(void);
/* Is a translation for va's page cached? */
bool vmm_sim_tlb_has(uintptr_t va);
/* Was va's page invalidated by invlpg since the counters were reset? */
bool vmm_sim_flushed(uintptr_t va);

void vmm_sim_reset_counters(void);

/* Depth of mm_kmap mappings and of the VMM lock right now (both 0 between calls). */
unsigned vmm_sim_kmap_depth(void);
unsigned vmm_sim_lock_depth(void);

#endif /* TESTS_HOST_VMM_SIM_H */
