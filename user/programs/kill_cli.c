/*
 * user/programs/kill_cli.c - cli at ring 3.
 *
 * Expects: killed (SYS_KILL_PROTECTION) with a report naming a "general
 * protection fault".
 */
#include "utest.h"

int main(void)
{
    ut_log("cli: must be killed");
    priv_cli();
    ut_survived("cli");
}
