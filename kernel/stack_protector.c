/*
 * kernel/stack_protector.c - the stack-protector guard and its failure
 * report (see stack_protector.h).
 */
#include "kernel/stack_protector.h"
#include "karch.h"
#include "kernel/panic.h"

#include <stdint.h>

/* The low byte is 0: a runaway string copy stops at it instead of rewriting the guard. */
uintptr_t __stack_chk_guard = 0xe2dee300u;

void stack_guard_init(void)
{
    uint64_t t = rdtsc();
    /* mix both halves (the high one barely changes between boots), keep the zero byte */
    uint32_t g = (uint32_t)t * 0x9E3779B1u ^ (uint32_t)(t >> 32) * 0x85EBCA77u;
    __stack_chk_guard = (g & ~0xFFu) | 0x00u;
    if (__stack_chk_guard == 0)
        __stack_chk_guard = 0xe2dee300u;
}

void __stack_chk_fail(void)
{
    /* our return address lies in the function whose frame was smashed, just before its return */
    panic("stack protector: stack smashed in the function at %p (a local buffer overrun)",
          __builtin_return_address(0));
}
