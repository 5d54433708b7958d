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
    unsigned char gdtr[6] = {0};
    ut_log("sgdt: killed where the CPU has UMIP");
    priv_sgdt(gdtr);
    uint32_t base = (uint32_t)gdtr[2] | (uint32_t)gdtr[3] << 8 | (uint32_t)gdtr[4] << 16 |
                    (uint32_t)gdtr[5] << 24;
    ut_log("no UMIP: the GDT is at 0x%08x", (unsigned)base);
    UT_CHECK(base >= USER_INFO_ADDR); /* the kernel half: the leak UMIP closes */
    sys_exit(SGDT_NO_UMIP);
}
