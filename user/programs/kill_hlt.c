/*
 * user/programs/kill_hlt.c - hlt at ring 3.
 *
 * Expects: killed (SYS_KILL_PROTECTION) with a report naming a "general
 * protection fault".
 */
#include "utest.h"

int main(void)
{
    ut_log("hlt: must be killed");
    priv_hlt();
    ut_survived("hlt");
}
