/*
 * mm/bits.h - bit counting for mm/ without libgcc.
 *
 * __builtin_popcount compiles to a call into libgcc (__popcountsi2) on
 * i686 without the POPCNT instruction, and mm/ links with nothing but its
 * port, so the allocators count bits here.  Used by the checkers only (it
 * runs in O(bits set)), never on an allocation path.
 */
#ifndef MM_BITS_H
#define MM_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Number of bits set in x. */
static inline size_t mm_bits_set(uintptr_t x)
{
    size_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

#endif /* MM_BITS_H */
