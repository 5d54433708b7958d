/*
 * mm/port.h - everything mm/ needs from the system it runs in.
 *
 * mm/ is compiled three times: into the kernel (i686, freestanding), into
 * ring-3 programs (i686) and into hosted Linux builds (x86-64, tests,
 * benchmarks, libmm.a).  It reaches its host ONLY through the functions
 * declared here, plus memcpy/memmove/memset/memcmp from <string.h>.  To
 * copy mm/ into another kernel, implement these (see docs/porting.md;
 * tests/mm_alone/port_min.c is the smallest complete port); nothing else in
 * mm/ names the host, and `make test` proves it by building a copy of mm/
 * alone (scripts/mm_alone.sh).
 *
 * Implementations: kernel/mm_port.c (kernel), user/lib/mm_port.c (ring 3),
 * mm/host/port_linux.c (hosted).
 */
#ifndef MM_PORT_H
#define MM_PORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Size of a page and of a physical frame.  Every mm/ file uses this name. */
#define MM_PAGE_SIZE  4096u
#define MM_PAGE_SHIFT 12u

/* One switch for expensive consistency checks; they compile to nothing when 0. */
#ifndef MM_DEBUG
#define MM_DEBUG 0
#endif

/*
 * A broken invariant inside mm/ (never bad input from a caller: that is a
 * report).  Formats "function: reason" and does not return.
 */
__attribute__((noreturn, format(printf, 1, 2))) void mm_panic(const char *fmt, ...);

/* Informational log line (no trailing newline needed). */
__attribute__((format(printf, 1, 2))) void mm_log(const char *fmt, ...);

/*
 * Misuse detected at an API boundary: a double free, a foreign pointer, a
 * corrupted header.  The caller has already refused the operation and
 * changed nothing; the port decides what to do with the message (print it,
 * count it for a test, kill a user process...).  Must return.
 */
__attribute__((format(printf, 1, 2))) void mm_report(const char *fmt, ...);

/* ------------------------------------------------------------------ PMM */
/*
 * First physical address the system cannot use: the PMM ignores RAM at and
 * above it (and never goes beyond PMM_PHYS_MAX, 64 GiB - 4 MiB).  i386
 * paging without PAE: 4 GiB (an entry holds a 32-bit frame address);
 * x86-64: 2^MAXPHYADDR, or less if the kernel reaches physical memory
 * through a smaller window.  Must not change after pmm_init.
 */
uint64_t mm_phys_limit(void);

/*
 * The PMM's lock, around every change to the frame database.  Kernel:
 * save EFLAGS and disable interrupts, then restore (an interrupt handler may
 * allocate or free a frame; one CPU).  Hosted: no-ops (single-threaded).
 * Never taken twice by the PMM (it does not nest); mm_report and mm_log may
 * be called while it is held, reclaimers are called without it.
 */
void mm_lock_pmm(void);
void mm_unlock_pmm(void);

/* ------------------------------------------------------------------ VMM */
/*
 * What the VMM (mm/vmm*.c) needs.  Kernel: kernel/mm_port.c over
 * arch/x86/cpu.h and arch/x86/paging.h.  Hosted tests and benchmarks:
 * tests/host/vmm_sim.c, a simulated machine (physical memory, MMU, TLB).
 * Physical addresses are uint64_t here (pmm_paddr_t).
 */

/*
 * Make physical frame `frame` (page aligned, below mm_phys_limit) readable
 * and writable at a temporary kernel address and return it.  Never fails.
 * The VMM holds at most two such mappings at a time and releases them in
 * the reverse order (it may call the PMM while holding them).  It reaches
 * every page table this way (docs/vmm.md), so a cheap path for frames
 * inside the low linear map is worth having; vmm_init takes the kernel's
 * page tables from there when it can.  Called with the VMM lock held
 * (interrupts off).
 */
void *mm_kmap(uint64_t frame);
/* Release a mapping made by mm_kmap (the pointer it returned). */
void mm_kunmap(void *ptr);

/*
 * A pointer through which mm/ reaches kernel virtual address `va`, a page the
 * VMM mapped in the kernel half itself (its region-record pages); valid for
 * accesses inside that page.  Kernel: (void *)va.
 */
void *mm_kva_ptr(uintptr_t va);

/* invlpg: drop the TLB entry of the page containing va. */
void mm_tlb_flush_page(uintptr_t va);
/* Reload CR3: drop every non-global TLB entry. */
void mm_tlb_flush_all(void);
/* Drop every TLB entry, global ones too (toggle CR4.PGE; without PGE, reload CR3). */
void mm_tlb_flush_global(void);

/* Load the top-level page table at physical address pd (CR3). */
void mm_load_page_directory(uint64_t pd);
/* Physical address of the loaded top-level page table (CR3 & ~0xFFF). */
uint64_t mm_current_page_directory(void);

/*
 * The VMM's lock, around every change to spaces, regions and page tables.
 * Kernel: save EFLAGS and disable interrupts, then restore (one CPU).
 * Hosted: a depth counter that catches nesting.  Never taken twice; the VMM
 * calls the PMM (and its lock) while holding it, never the reverse.
 */
void mm_lock_vmm(void);
void mm_unlock_vmm(void);

#endif /* MM_PORT_H */
