/*
 * kernel/test/test_nx.c - W^X in the kernel: data, stacks and heaps are
 * not executable.  The page tables' NX bit does it (PTE_NX, from the
 * port's paging format); i686 without PAE has none, so there these tests
 * are listed as skipped with that reason.
 *
 * Each fault test writes a `ret` into memory the kernel may write and
 * calls it: with NX the instruction fetch faults (the report says
 * "protection fetch"); without, the `ret` would run and the test would
 * return, which the driver counts as a failure.  (The call is a tail call
 * at -O2, so the report's backtrace need not name the test.)
 */
#include "karch.h"
#include "kernel/kmalloc.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "mm/vmm.h"

#include <stdint.h>

#define NO_NX_REASON "the paging format has no NX bit (i686 without PAE): data is executable"
#define RET 0xC3

KTEST(kernel_pages_are_not_executable)
{
    if (PTE_NX == 0)
        KT_SKIP(NO_NX_REASON);
    unsigned char *p = vmm_pages_alloc(2, 0);
    KT_ASSERT(p != 0);
    struct vmm_page_info info;
    KT_EQ(vmm_query(vmm_kernel_space(), (uintptr_t)p, &info), 0);
    KT_ASSERT(info.state == VMM_PAGE_BACKED && (info.pte & PTE_NX));
    vmm_pages_free(p);
    /* the kernel heap's memory too */
    void *block = kmalloc(64);
    KT_ASSERT(block != 0);
    KT_EQ(vmm_query(vmm_kernel_space(), (uintptr_t)block, &info), 0);
    KT_ASSERT(info.pte & PTE_NX);
    kfree(block);
}

static void __attribute__((noinline)) call_ret_at(unsigned char *code)
{
    code[0] = RET;
    kprintf("calling the ret written at %p\n", (void *)code);
    ((void (*)(void))(uintptr_t)code)();
}

KTEST_FAULT_IF(fault_execute_kernel_heap, PTE_NX != 0, NO_NX_REASON, 0,
               "page fault (#14) in kernel mode: access not allowed by the protection|"
               "protection fetch supervisor")
{
    call_ret_at(kmalloc(64));
}

KTEST_FAULT_IF(fault_execute_kernel_stack, PTE_NX != 0, NO_NX_REASON, 0,
               "page fault (#14) in kernel mode: access not allowed by the protection|"
               "protection fetch supervisor")
{
    unsigned char code[16];
    call_ret_at(code);
}
