/*
 * user/programs/kill_ldt_selector.c - load a segment register with a
 * selector that points into the LDT.
 *
 * Expects: killed (SYS_KILL_PROTECTION) with a report naming a "general
 * protection fault", error 0xc (the selector's index and TI bit): the
 * kernel loads a null LDT at boot.  With the CPU's reset LDTR (base 0)
 * the descriptor would be read from user address 8 instead, so ring 3
 * could supply its own descriptors wherever it could map page 0.
 */
#include "utest.h"

int main(void)
{
    ut_log("mov fs, 0x0f (LDT index 1): must be killed");
    priv_load_ldt_selector();
    ut_survived("loading an LDT selector");
}
