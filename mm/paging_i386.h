/*
 * mm/paging_i386.h - the paging-format description for i386 two-level
 * paging (4 KiB pages, no PAE).  A port selects it from its mm_arch.h; the
 * VMM reads nothing about the format but what this file and mm/pte.h say.
 *
 *   levels      2: page directory (level 1) -> page table (level 0) -> frame
 *   entry       32 bits; frame address in bits 31..12 (so frames below 4 GiB)
 *   index bits  10 per level: 1024 entries, one 4 KiB table each
 *   NX          none (execute permission cannot be taken away)
 *   tables      reached through mm_kmap(frame) like any frame
 *
 * The low 12 bits (present, writable, user, caches, accessed, dirty, large,
 * global and the three software bits) are the x86 family's and are defined
 * once in mm/pte.h.
 */
#ifndef MM_PAGING_I386_H
#define MM_PAGING_I386_H

#include <stdint.h>

typedef uint32_t pte_t;

#define PG_FORMAT_NAME "i386 (2 levels, 32-bit entries)"
#define PG_LEVELS 2u
#define PG_INDEX_BITS 10u
#define PG_FRAME_MASK ((pte_t)0xFFFFF000u)
#define PG_NX ((pte_t)0) /* no execute-disable bit */
/* One past the highest frame address an entry can hold. */
#define PG_PHYS_LIMIT 0x100000000ull

#endif /* MM_PAGING_I386_H */
