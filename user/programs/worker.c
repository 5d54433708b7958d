/*
 * user/programs/worker.c - a program to watch and to kill: it holds a
 * heap block and keeps the CPU busy, for the monitor's `run worker &`,
 * `ps`, `vmm PID` and `kill PID`.
 *
 * It allocates 1 MiB with malloc, writes the first half (so `vmm PID`
 * shows committed pages of which half are backed), then sums the block
 * over and over without sleeping: a CPU-bound process, which the monitor
 * must stay responsive next to.  With arg N > 0 it stops after N seconds
 * of ticks and exits 0; with arg 0 it runs until killed.
 *
 * Expects: exit status 0 with arg > 0; killed by request otherwise.
 * Not run on its own by the test run (arg 0 never ends).
 */
#include "stdlib.h"
#include "utest.h"

#define BLOCK_BYTES (1024u * 1024u)

int main(void)
{
    const volatile struct user_info *info = user_info();
    uint32_t seconds = info->arg;
    uint32_t until = info->ticks + seconds * info->tick_hz;
    volatile unsigned char *block = malloc(BLOCK_BYTES);
    UT_CHECK(block != 0);
    for (uint32_t i = 0; i < BLOCK_BYTES / 2; i += UT_PAGE)
        block[i] = (unsigned char)(i / UT_PAGE + 1); /* page numbers: the sum shows the work */
    ut_log("holding 1 MiB (512 KiB written), busy %s", seconds ? "for a while" : "until killed");
    unsigned sum = 0;
    while (!seconds || (int32_t)(info->ticks - until) < 0)
        for (uint32_t i = 0; i < BLOCK_BYTES / 2; i += UT_PAGE)
            sum += block[i];
    ut_log("done (sum %u)", sum);
    free((void *)block);
    return 0;
}
