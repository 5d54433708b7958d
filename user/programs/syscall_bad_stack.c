/*
 * user/programs/syscall_bad_stack.c - enter the kernel with a stack
 * pointer that points at nothing the program may write: NULL, the kernel
 * half, a guard page, a non-canonical address on x86-64.
 *
 * Expects: exit status 0.  The entry (int 0x80's gate, or syscall_entry
 * on x86-64, which switches stacks itself) must not use the user stack:
 * each getpid answers with the pid, and the program goes on.
 */
#include "utest.h"

int main(void)
{
    long pid = sys_getpid();
    const unsigned long stacks[] = {
        0,
        (unsigned long)UT_KERNEL_TEXT,
        (unsigned long)user_info()->stack_low - UT_PAGE, /* the guard gap */
        (unsigned long)USER_SPACE_END,
#if defined(__x86_64__)
        0x0000800000000000ul, /* non-canonical */
#endif
    };
    for (unsigned i = 0; i < sizeof stacks / sizeof stacks[0]; i++) {
        ut_log("getpid with the stack pointer at %p", (void *)stacks[i]);
        UT_EQ(priv_getpid_with_stack(stacks[i]), pid);
    }
    ut_pass();
}
