/*
 * user/programs/sgdt_umip.c - read the GDT register with sgdt.
 *
 * Expects: on a CPU with UMIP (-cpu max) killed (SYS_KILL_PROTECTION,
 * "general protection fault"): the kernel turns CR4.UMIP on, so ring 3
 * cannot learn where the kernel's descriptor tables are.  Without UMIP
 * (qemu32) sgdt cannot be stopped; the program then exits with
 * SGDT_NO_UMIP after checking that what it read is the kernel address it
 * is supposed to hide.
 */
#include "utest.h"

#define SGDT_NO_UMIP 3

int main(void)
{
    /* the limit (2 bytes), then the base: 4 bytes on i686, 8 on x86-64 */
    unsigned char gdtr[2 + sizeof(uintptr_t)] = {0};
    ut_log("sgdt: killed where the CPU has UMIP");
    priv_sgdt(gdtr);
    uintptr_t base = 0;
    for (unsigned i = sizeof(uintptr_t); i > 0; i--)
        base = base << 8 | gdtr[1 + i];
    ut_log("no UMIP: the GDT is at %p", (void *)base);
    UT_CHECK(base >= USER_SPACE_END); /* the kernel half: the leak UMIP closes */
    sys_exit(SGDT_NO_UMIP);
}
