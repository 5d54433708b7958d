/*
 * kernel/test/test_hardening.c - the always-on defences: the stack
 * protector (kernel/stack_protector.c) stops a smashed frame before its
 * return address is used.
 */
#include "kernel/ktest.h"
#include "kernel/log.h"

#include <stdint.h>
#include <string.h>

/* Write `len` bytes into a 16-byte local: with len > 16 the canary goes first. */
static __attribute__((noinline)) unsigned smash_local(volatile unsigned len)
{
    char buf[16];
    memset(buf, 'A', len);
    return (unsigned)buf[3] + (unsigned)buf[len - 1];
}

KTEST(stack_protector_leaves_intact_frames_alone)
{
    KT_EQ(smash_local(16), 2u * 'A');
}

KTEST_FAULT(fault_stack_protector_smashed_buffer,
            "PANIC: stack protector: stack smashed in the function at|<smash_local+")
{
    kprintf("writing 32 bytes into a 16-byte local buffer\n");
    kprintf("%u\n", smash_local(32));
}
