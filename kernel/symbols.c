/*
 * kernel/symbols.c - binary search over the generated symbol table.
 *
 * The table (scripts/ksyms.sh) holds the low 32 bits of each text address:
 * the kernel's text lies inside one 4 GiB-aligned span on both
 * architectures (at 3 GiB on i686, at -2 GiB on x86-64), so the high half
 * of every symbol is that of _text_start.
 */
#include "kernel/symbols.h"

#include <string.h>

struct ksym {
    uint32_t addr;
    uint32_t name; /* offset into ksyms_names */
};

extern const uint32_t ksyms_count;
extern const struct ksym ksyms_table[];
extern const char ksyms_names[];
extern char _text_start[], _text_end[];

static uintptr_t full_address(uint32_t low)
{
    return ((uintptr_t)_text_start & ~(uintptr_t)0xFFFFFFFFu) | low;
}

const char *symbol_lookup(uintptr_t target, uint32_t *offset)
{
    if (ksyms_count == 0 || target < (uintptr_t)_text_start || target >= (uintptr_t)_text_end ||
        target < full_address(ksyms_table[0].addr))
        return 0;
    uint32_t addr = (uint32_t)target;
    uint32_t lo = 0, hi = ksyms_count; /* last entry with addr <= target */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ksyms_table[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    if (offset)
        *offset = addr - ksyms_table[lo].addr;
    return ksyms_names + ksyms_table[lo].name;
}

uintptr_t symbol_address(const char *name)
{
    for (uint32_t i = 0; i < ksyms_count; i++)
        if (strcmp(ksyms_names + ksyms_table[i].name, name) == 0)
            return full_address(ksyms_table[i].addr);
    return 0;
}

unsigned symbol_count(void)
{
    return ksyms_count;
}
