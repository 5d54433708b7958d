/*
 * kernel/symbols.h - kernel function names for backtraces.
 *
 * The table is generated at link time (scripts/ksyms.sh) from the kernel's
 * own symbols and linked into the .ksyms section.
 */
#ifndef KERNEL_SYMBOLS_H
#define KERNEL_SYMBOLS_H

#include <stdint.h>

/* Name of the function containing addr and the offset into it; NULL if none. */
const char *symbol_lookup(uintptr_t addr, uint32_t *offset);
/* Address of a function by name, 0 if unknown. */
uintptr_t symbol_address(const char *name);
unsigned symbol_count(void);

#endif
