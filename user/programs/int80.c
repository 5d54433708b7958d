/*
 * user/programs/int80.c - getpid through int 0x80.
 *
 * Expects: on i686 exit status 0 (int 0x80 is the system call); on x86-64
 * killed (SYS_KILL_PROTECTION, "general protection fault"): the 64-bit
 * kernel enters through syscall only, and vector 0x80 is a DPL-0 gate
 * there like every other.
 */
#include "utest.h"

int main(void)
{
    ut_log("getpid through int 0x80");
    UT_EQ(priv_int80_getpid(), sys_getpid());
#if defined(__x86_64__)
    ut_survived("int 0x80 on x86-64");
#endif
    ut_pass();
}
