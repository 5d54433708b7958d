/*
 * mm/paging_x86_64.h - the paging-format description for x86-64 four-level
 * paging (4 KiB pages, 48-bit virtual addresses).  A port selects it from
 * its mm_arch.h; the VMM reads nothing about the format but what this file
 * and mm/pte.h say.
 *
 *   levels      4: PML4 (3) -> PDPT (2) -> page directory (1) -> page table
 *               (0) -> frame; 9 index bits each, 512 entries of 8 bytes
 *   entry       64 bits; frame address in bits 51..12 (52-bit physical)
 *   NX          bit 63 (execute-disable; the CPU honours it with EFER.NXE,
 *               which the port turns on before the VMM makes entries)
 *   tables      reached through mm_kmap(frame) like any frame
 *
 * Virtual addresses are canonical: bits 63..48 copy bit 47, so the kernel
 * half starts at 0xFFFF800000000000 (top-level entry 256).  The VMM only
 * indexes with bits 47..12 and never builds a non-canonical address.
 */
#ifndef MM_PAGING_X86_64_H
#define MM_PAGING_X86_64_H

#include <stdint.h>

typedef uint64_t pte_t;

#define PG_FORMAT_NAME "x86-64 (4 levels, 64-bit entries)"
#define PG_LEVELS 4u
#define PG_INDEX_BITS 9u
#define PG_FRAME_MASK ((pte_t)0x000FFFFFFFFFF000ull)
#define PG_NX ((pte_t)1 << 63)
#define PG_PHYS_LIMIT 0x10000000000000ull /* 2^52 */

#endif /* MM_PAGING_X86_64_H */
