/*
 * kernel/test/test_user.c - ring-3 programs from the initrd, one behaviour
 * each (user/programs/).  The kernel spawns the program, waits for it, and
 * checks how it ended - its exit status, or the cause it was killed for and
 * the text of the kill report - and that every frame came back (the
 * runner's leak check covers the process's pages, page tables and kernel
 * stack).  Every program in the initrd must have a line here.
 */
#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/process.h"

#include <string.h>

struct expectation {
    const char *program;
    uint32_t arg;
    int status;         /* the wait status: exit code, or SYS_WAIT_KILLED | cause */
    const char *report; /* text the kill report must contain (killed programs) */
};

#define EXITS(prog, code) {#prog, 0, code, 0}
#define KILLED(prog, cause, text) {#prog, 0, SYS_WAIT_KILLED | cause, text}
#define HELPER(prog) {#prog, 0, -1, 0} /* run by other programs, not alone */

static const struct expectation programs[] = {
    EXITS(hello, 0),
    EXITS(sbrk_contig, 0),
    EXITS(sbrk_big, 0),
    EXITS(sbrk_shrink, 0),
    EXITS(sbrk_bad, 0),
    EXITS(lazy_commit, 0),
    EXITS(decommit_zero, 0),
    EXITS(malloc_stress, 0),
    EXITS(heap_demo, 0),
    EXITS(hostile_syscalls, 0),
    EXITS(isolation, 0),
    EXITS(spawn_wait, 0),
    EXITS(oom_parent, 0),
    EXITS(debug_malloc, 0),
    HELPER(child_exit),
    HELPER(oom_hog),
    {"worker", 1, 0, 0}, /* busy for a second, then exits; with 0 it runs until killed */
    KILLED(kill_null, SYS_KILL_PAGE_FAULT, "page fault at 0x00000000"),
    KILLED(kill_kernel_read, SYS_KILL_PAGE_FAULT, "page fault at 0xc0100000"),
    KILLED(kill_kernel_write, SYS_KILL_PAGE_FAULT, "page fault at 0xc0100000"),
    KILLED(kill_kernel_exec, SYS_KILL_PAGE_FAULT, "page fault at 0xc0100000"),
    KILLED(kill_text_write, SYS_KILL_PAGE_FAULT, "write access: access not allowed"),
    KILLED(kill_info_write, SYS_KILL_PAGE_FAULT, "write access: access not allowed"),
    KILLED(kill_stack_overflow, SYS_KILL_PAGE_FAULT, "guard page"),
    KILLED(kill_above_break, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_decommitted, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_debug_overrun, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_debug_use_after_free, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_released, SYS_KILL_PAGE_FAULT, "address not mapped"),
    KILLED(kill_in, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_out, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_cli, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_hlt, SYS_KILL_PROTECTION, "general protection fault"),
};

static const struct expectation *expectation_for(const char *name)
{
    for (unsigned i = 0; i < sizeof programs / sizeof programs[0]; i++)
        if (strcmp(programs[i].program, name) == 0)
            return &programs[i];
    return 0;
}

/* Run one program and compare how it ended with its expectation. */
static void check_program(const char *name)
{
    const struct expectation *e = expectation_for(name);
    int status = -1;
    KT_ASSERT(process_have_initrd());
    KT_ASSERT(e != 0);
    if (e->report) /* so that a reader of the log knows the report below is no bug */
        kprintf("ktest: expected: %s is killed on purpose (\"%s\")\n", name, e->report);
    int pid = process_spawn(e->program, e->arg, 0);
    if (pid < 0) {
        ktest_fail(__FILE__, __LINE__, "spawn %s: error %d", name, pid);
        return;
    }
    KT_EQ(process_wait(pid, &status), pid);
    if (status != e->status) {
        ktest_fail(__FILE__, __LINE__, "%s ended with status 0x%x, expected 0x%x (last kill: %s)",
                   name, status, e->status, process_last_kill());
        return;
    }
    if (e->report && !strstr(process_last_kill(), e->report))
        ktest_fail(__FILE__, __LINE__, "%s: the kill report lacks \"%s\": %s", name, e->report,
                   process_last_kill());
    KT_EQ(process_count(), 0);
}

#define USER_TEST(prog)                                                                            \
    KTEST(user_##prog)                                                                             \
    {                                                                                              \
        check_program(#prog);                                                                      \
    }

USER_TEST(hello)
USER_TEST(sbrk_contig)
USER_TEST(sbrk_big)
USER_TEST(sbrk_shrink)
USER_TEST(sbrk_bad)
USER_TEST(lazy_commit)
USER_TEST(decommit_zero)
USER_TEST(malloc_stress)
USER_TEST(heap_demo)
USER_TEST(hostile_syscalls)
USER_TEST(isolation)
USER_TEST(spawn_wait)
USER_TEST(oom_parent)
USER_TEST(debug_malloc)
USER_TEST(worker)
USER_TEST(kill_debug_overrun)
USER_TEST(kill_debug_use_after_free)
USER_TEST(kill_null)
USER_TEST(kill_kernel_read)
USER_TEST(kill_kernel_write)
USER_TEST(kill_kernel_exec)
USER_TEST(kill_text_write)
USER_TEST(kill_info_write)
USER_TEST(kill_stack_overflow)
USER_TEST(kill_above_break)
USER_TEST(kill_decommitted)
USER_TEST(kill_released)
USER_TEST(kill_in)
USER_TEST(kill_out)
USER_TEST(kill_cli)
USER_TEST(kill_hlt)

/* A program nobody tests is a behaviour nobody checks. */
KTEST(user_every_program_has_an_expectation)
{
    KT_ASSERT(process_have_initrd());
    for (unsigned i = 0;; i++) {
        struct initrd_file f;
        if (process_initrd_file(i, &f) < 0)
            break;
        if (!expectation_for(f.name))
            ktest_fail(__FILE__, __LINE__, "initrd program %s has no expectation", f.name);
    }
}

KTEST(user_spawn_refuses_bad_programs)
{
    KT_EQ(process_spawn("no_such_program", 0, 0), -ENOENT);
}
