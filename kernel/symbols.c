/*
 * kernel/symbols.c - binary search over the generated symbol table.
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

const char *symbol_lookup(uint32_t addr, uint32_t *offset)
{
    if (ksyms_count == 0 || addr < (uint32_t)(uintptr_t)_text_start ||
        addr >= (uint32_t)(uintptr_t)_text_end || addr < ksyms_table[0].addr)
        return 0;
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

uint32_t symbol_address(const char *name)
{
    for (uint32_t i = 0; i < ksyms_count; i++)
        if (strcmp(ksyms_names + ksyms_table[i].name, name) == 0)
            return ksyms_table[i].addr;
    return 0;
}

unsigned symbol_count(void)
{
    return ksyms_count;
}
