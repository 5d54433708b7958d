/*
 * kernel/demo.c - the boot-time demonstration (see demo.h).
 *
 * The programs run concurrently (round robin on the timer), so their lines
 * interleave on the console; each line is prefixed with the program's name
 * and pid.  The kernel waits for each, prints how it ended, then compares
 * the free frames with the count taken before the first spawn: every user
 * page, page table and kernel stack must have come back.  The VMM's
 * region-record pages, which it keeps, are counted as free.
 */
#include "kernel/demo.h"
#include "kernel/log.h"
#include "kernel/process.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

static const char *const demo_programs[] = {"heap_demo", "lazy_commit", "kill_null", "hello"};
#define DEMO_COUNT (sizeof demo_programs / sizeof demo_programs[0])

/*
 * Free frames, counting as free the two kinds the kernel keeps on purpose:
 * pages of region records, and page tables of the kernel half (made on
 * demand on x86-64, shared by every space and never given back).
 */
static size_t frames_now(void)
{
    struct vmm_stats vs;
    vmm_get_stats(&vs);
    return pmm_free_frames() + vs.meta_pages + vs.kernel_page_tables;
}

static void report_end(const char *name, int pid, int status)
{
    if (SYS_WAIT_EXITED(status))
        kprintf("demo: %s (pid %d) exited with status %d\n", name, pid, SYS_WAIT_STATUS(status));
    else
        kprintf("demo: %s (pid %d) was killed: %s (report above)\n", name, pid,
                sys_kill_cause_name(SYS_WAIT_CAUSE(status)));
}

void demo_run(void)
{
    int pids[DEMO_COUNT];
    if (!process_have_initrd()) {
        kprintf("demo: no initrd was loaded, so there are no user programs to run\n");
        return;
    }
    kprintf("\n== demo: %u user programs, each in its own address space (heaps commit lazily)\n",
            (unsigned)DEMO_COUNT);
    size_t before = frames_now();
    for (unsigned i = 0; i < DEMO_COUNT; i++) {
        pids[i] = process_spawn(demo_programs[i], 0, 0);
        if (pids[i] < 0)
            kprintf("demo: cannot start %s: error %d\n", demo_programs[i], pids[i]);
    }
    for (unsigned i = 0; i < DEMO_COUNT; i++) {
        int status;
        if (pids[i] > 0 && process_wait(pids[i], &status) == pids[i])
            report_end(demo_programs[i], pids[i], status);
    }
    size_t after = frames_now();
    kprintf("demo: free frames before the programs %zu, after %zu: %s\n", before, after,
            before == after ? "every frame came back" : "frames were lost");
}
