/*
 * user/programs/kill_out.c - an `out` instruction at ring 3.
 *
 * Expects: killed (SYS_KILL_PROTECTION) with a report naming a "general
 * protection fault".  Port 0x80 (POST codes) is harmless if it ever got
 * through; the isa-debug-exit port is deliberately not used, since a write
 * there would end the test run with a made-up verdict.
 */
#include "utest.h"

int main(void)
{
    ut_log("out 0x80, al: must be killed");
    priv_outb(0x80, 0x42);
    ut_survived("an out instruction");
}
