/*
 * user/programs/kill_v86.c - iret into virtual-8086 mode with CS 0.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT).  Under QEMU's TCG without SMAP
 * (qemu32) the forged iret enters virtual-8086 mode and the first fetch,
 * at linear 0x1000 (the no-access low range), faults with CS = 0: a CS of
 * 0 must not make the kernel take the fault for its own - the frame's
 * EFLAGS.VM (and the error code's user bit) say ring 3.  With SMAP
 * (-cpu max) the iret's own reads of the virtual-8086 frame are
 * supervisor accesses to the user stack and fault inside the iret.
 */
#include "utest.h"

int main(void)
{
    ut_log("iret to virtual-8086 mode at 0000:1000: must be killed");
    priv_iret_to_v86(0x1000);
    ut_survived("an iret into virtual-8086 mode");
}
