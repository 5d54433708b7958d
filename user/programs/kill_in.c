/*
 * user/programs/kill_in.c - an `in` instruction at ring 3.
 *
 * Expects: killed (SYS_KILL_PROTECTION) with a report naming a "general
 * protection fault": IOPL is 0 and there is no I/O permission bitmap.
 */
#include "utest.h"

int main(void)
{
    ut_log("in al, 0x3fd (COM1 line status): must be killed");
    unsigned v = priv_inb(0x3FD);
    ut_log("read 0x%02x", v);
    ut_survived("an in instruction");
}
