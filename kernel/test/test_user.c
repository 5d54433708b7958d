/*
 * kernel/test/test_user.c - ring-3 programs from the initrd, one behaviour
 * each (user/programs/).  The kernel spawns the program, waits for it, and
 * checks how it ended - its exit status, or the cause it was killed for and
 * the text of the kill report - and that every frame came back (the
 * runner's leak check covers the process's pages, page tables and kernel
 * stack).  Every program in the initrd must have a line here.
 */
#include "karch.h"
#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/process.h"
#include "lib/format.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

/* A protection the kill depends on; without it the program exits instead. */
enum needs { NEEDS_NOTHING, NEEDS_UMIP, NEEDS_NX, NEEDS_SMAP };

struct expectation {
    const char *program;
    uint32_t arg;
    int status;         /* the wait status: exit code, or SYS_WAIT_KILLED | cause */
    const char *report; /* text the kill report must contain (killed programs) */
    enum needs needs;   /* what must be there for `status` */
    int status_without; /* the status when it is not */
};

#define EXITS(prog, code) {#prog, 0, code, 0, NEEDS_NOTHING, 0}
#define KILLED(prog, cause, text) {#prog, 0, SYS_WAIT_KILLED | cause, text, NEEDS_NOTHING, 0}
#define HELPER(prog) {#prog, 0, -1, 0, NEEDS_NOTHING, 0} /* run by other programs, not alone */
/* Killed where CR4.UMIP is on; exits with `code` where the CPU lacks UMIP. */
#define KILLED_BY_UMIP(prog, code)                                                                 \
    {#prog, 0, SYS_WAIT_KILLED | SYS_KILL_PROTECTION, "general protection fault", NEEDS_UMIP, code}
/*
 * Killed for executing data where the page tables have an execute-disable
 * bit (PTE_NX); exits with `code` where they have none (i686 without PAE).
 */
#define KILLED_BY_NX(prog, code)                                                                   \
    {#prog, 0, SYS_WAIT_KILLED | SYS_KILL_PAGE_FAULT,                                              \
     "execute access: access not allowed by the protection", NEEDS_NX, code}

/* The first page of kernel text (utest.h's UT_KERNEL_TEXT), as kill reports print it. */
#if defined(__x86_64__)
#define KERNEL_TEXT_FAULT "page fault at 0xffffffff80100000"
#else
#define KERNEL_TEXT_FAULT "page fault at 0xc0100000"
#endif

static const struct expectation programs[] = {
    EXITS(hello, 0),
    EXITS(sbrk_contig, 0),
    EXITS(sbrk_big, 0),
    EXITS(sbrk_shrink, 0),
    EXITS(sbrk_bad, 0),
    EXITS(sbrk_reprotect, 0),
    EXITS(lazy_commit, 0),
    EXITS(decommit_zero, 0),
    EXITS(malloc_stress, 0),
    EXITS(heap_demo, 0),
    EXITS(hostile_syscalls, 0),
    EXITS(isolation, 0),
    EXITS(spawn_wait, 0),
    EXITS(oom_parent, 0),
    EXITS(debug_malloc, 0),
    EXITS(layout_corners, 0),
    EXITS(region_churn, 0),
    EXITS(syscall_bad_stack, 0),
#if defined(__x86_64__)
    /* the error code names the IDT entry; QEMU and hardware disagree on its scale */
    KILLED(int80, SYS_KILL_PROTECTION, "general protection fault (#13)"),
#else
    EXITS(int80, 0),
#endif
    HELPER(child_exit),
    HELPER(oom_hog),
    /* busy for a second, then exits; with 0 it runs until killed */
    {"worker", 1, 0, 0, NEEDS_NOTHING, 0},
    HELPER(orphan_parent), /* run by user_orphans_are_reaped: its children outlive it */
    KILLED(kill_null, SYS_KILL_PAGE_FAULT, "page fault at 0x00000000"),
    KILLED(kill_kernel_read, SYS_KILL_PAGE_FAULT, KERNEL_TEXT_FAULT),
    KILLED(kill_kernel_write, SYS_KILL_PAGE_FAULT, KERNEL_TEXT_FAULT),
    KILLED(kill_kernel_exec, SYS_KILL_PAGE_FAULT, KERNEL_TEXT_FAULT),
    KILLED(kill_text_write, SYS_KILL_PAGE_FAULT, "write access: access not allowed"),
    KILLED(kill_info_write, SYS_KILL_PAGE_FAULT, "write access: access not allowed"),
    KILLED(kill_stack_overflow, SYS_KILL_PAGE_FAULT, "guard page"),
    KILLED(kill_stack_clash, SYS_KILL_PAGE_FAULT, "guard page"),
    KILLED(kill_above_break, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_decommitted, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_debug_overrun, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_debug_use_after_free, SYS_KILL_PAGE_FAULT, "reserved but not committed"),
    KILLED(kill_released, SYS_KILL_PAGE_FAULT, "address not mapped"),
    KILLED(kill_in, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_out, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_cli, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_hlt, SYS_KILL_PROTECTION, "general protection fault"),
    KILLED(kill_ldt_selector, SYS_KILL_PROTECTION, "general protection fault (#13), error 0xc"),
#if defined(__x86_64__)
    /*
     * Long mode has no virtual-8086 mode: the forged iretq's null CS is a
     * #GP - unless SMAP stops QEMU's iretq first, whose reads of the frame
     * on the user stack it counts as supervisor accesses.
     */
    {"kill_v86", 0, SYS_WAIT_KILLED | SYS_KILL_PAGE_FAULT, "SMAP: a ring-3 instruction", NEEDS_SMAP,
     SYS_WAIT_KILLED | SYS_KILL_PROTECTION},
#else
    KILLED(kill_v86, SYS_KILL_PAGE_FAULT, "killed: page fault at 0x"),
#endif
    KILLED_BY_UMIP(sgdt_umip, 3),
    KILLED_BY_NX(kill_exec_heap, 3),
    KILLED_BY_NX(kill_exec_stack, 3),
};

/* True if what the expectation's kill depends on is there. */
static int needs_met(enum needs needs)
{
    switch (needs) {
    case NEEDS_UMIP: return cpu_features.umip != 0;
    case NEEDS_NX: return PTE_NX != 0;
    case NEEDS_SMAP: return cpu_features.smap != 0;
    default: return 1;
    }
}

/*
 * Skip the running test where there are no ring-3 programs to run: a port
 * whose ring 3 does not run yet, or a boot without the initrd.
 */
#define NEEDS_PROGRAMS()                                                                           \
    do {                                                                                           \
        if (!process_have_initrd())                                                                \
            KT_SKIP("no user programs (this port has no ring 3 yet, or no initrd was loaded)");     \
    } while (0)

static const struct expectation *expectation_for(const char *name)
{
    for (unsigned i = 0; i < sizeof programs / sizeof programs[0]; i++)
        if (strcmp(programs[i].program, name) == 0)
            return &programs[i];
    return 0;
}

/* Run one program with `arg` and compare how it ended with its expectation. */
static void check_program_arg(const char *name, uint32_t arg)
{
    const struct expectation *e = expectation_for(name);
    int status = -1;
    NEEDS_PROGRAMS();
    KT_ASSERT(e != 0);
    if (e->report) /* so that a reader of the log knows the report below is no bug */
        kprintf("ktest: expected: %s is killed on purpose (\"%s\")\n", name, e->report);
    int pid = process_spawn(e->program, arg, 0);
    if (pid < 0) {
        ktest_fail(__FILE__, __LINE__, "spawn %s: error %d", name, pid);
        return;
    }
    KT_EQ(process_wait(pid, &status), pid);
    int want = needs_met(e->needs) ? e->status : e->status_without;
    if (status != want) {
        ktest_fail(__FILE__, __LINE__, "%s ended with status 0x%x, expected 0x%x (last kill: %s)",
                   name, status, want, process_last_kill());
        return;
    }
    if (want == e->status && e->report && !strstr(process_last_kill(), e->report))
        ktest_fail(__FILE__, __LINE__, "%s: the kill report lacks \"%s\": %s", name, e->report,
                   process_last_kill());
    KT_EQ(process_count(), 0);
}

/* Run one program as its expectation says. */
static void check_program(const char *name)
{
    const struct expectation *e = expectation_for(name);
    KT_ASSERT(e != 0);
    check_program_arg(name, e->arg);
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
USER_TEST(sbrk_reprotect)
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
USER_TEST(layout_corners)
USER_TEST(region_churn)
USER_TEST(kill_stack_clash)
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
USER_TEST(kill_ldt_selector)
USER_TEST(kill_v86)
USER_TEST(sgdt_umip)
USER_TEST(kill_exec_heap)
USER_TEST(kill_exec_stack)
USER_TEST(syscall_bad_stack)
USER_TEST(int80)

/* UMIP is on exactly when the CPU has it (-cpu max has, qemu32 has not). */
KTEST(cpu_umip_on_when_present)
{
    KT_EQ((read_cr4() & CR4_UMIP) != 0, cpu_features.umip != 0);
}

/* A program nobody tests is a behaviour nobody checks. */
KTEST(user_every_program_has_an_expectation)
{
    NEEDS_PROGRAMS();
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
    NEEDS_PROGRAMS();
    KT_EQ(process_spawn("no_such_program", 0, 0), -ENOENT);
}

/* ---------------------------------------------------------------- orphans */

/* What a process can hold on to: frames, commit charge, slots. */
struct machine {
    size_t frames;  /* free frames, counting the VMM's record pages as free */
    size_t charge;  /* pages committed in all spaces */
    unsigned procs; /* process slots in use */
};

static struct machine machine_now(void)
{
    struct vmm_stats vs;
    vmm_get_stats(&vs);
    return (struct machine){pmm_free_frames() + vs.meta_pages, vs.committed, process_count()};
}

/* Idle until every process is gone (orphans included), at most `ms`: 1 if so. */
static int wait_until_no_process(unsigned ms)
{
    uint64_t deadline = pit_ticks() + (uint64_t)ms * pit_hz() / 1000 + 1;
    unsigned long flags = irq_save();
    while (process_count() && pit_ticks() < deadline) {
        cpu_sti(); /* sti's one-instruction shadow: no tick is lost before hlt */
        cpu_hlt(); /* the timer runs them, and reaps the orphans among them */
        cpu_cli();
    }
    irq_restore(flags);
    return process_count() == 0;
}

static void check_machine(const char *when, struct machine before)
{
    struct machine after = machine_now();
    if (after.frames != before.frames || after.charge != before.charge ||
        after.procs != before.procs)
        ktest_fail(__FILE__, __LINE__,
                   "%s: free frames %zu -> %zu, commit charge %zu -> %zu, processes %u -> %u",
                   when, before.frames, after.frames, before.charge, after.charge, before.procs,
                   after.procs);
}

/* One orphan_parent: it must exit 0 (all its spawns worked); its children are left running. */
static void run_orphan_parent(void)
{
    int status = -1, pid = process_spawn("orphan_parent", 0, 0);
    KT_ASSERT(pid > 0);
    KT_EQ(process_wait(pid, &status), pid);
    KT_EQ(status, 0);
}

/*
 * Children outliving their parent are adopted and reaped by the kernel:
 * more orphans than the table has slots live and die in turn, and every
 * frame, page of commit charge and slot comes back.  The first round warms
 * up what stays allocated for good (kernel page tables for stacks).
 */
KTEST(user_orphans_are_reaped)
{
    NEEDS_PROGRAMS();
    run_orphan_parent();
    KT_ASSERT(wait_until_no_process(5000));
    struct machine before = machine_now();
    for (unsigned round = 0; round * 5 <= 2 * PROCESS_MAX && !ktest_failures(); round++) {
        run_orphan_parent();
        KT_ASSERT(wait_until_no_process(5000));
        check_machine("after a round of orphans", before);
    }
}

/* A process that used up its region records gives back the record pages too. */
KTEST(user_region_records_come_back)
{
    NEEDS_PROGRAMS();
    struct vmm_stats before, after;
    vmm_get_stats(&before);
    check_program("region_churn");
    vmm_get_stats(&after);
    /* some 40 record pages were in use; one empty page may stay as a spare */
    if (after.meta_pages > before.meta_pages + 1)
        ktest_fail(__FILE__, __LINE__, "record pages: %zu before, %zu after", before.meta_pages,
                   after.meta_pages);
}

/* ---------------------------------------------------------------- soak */

#define SOAK_ROUNDS 10 /* per commit policy */

/*
 * The arg a program gets in the soak: its usual one, but malloc_stress does
 * 2000 operations instead of 20000 (it is nine tenths of a round's time
 * otherwise; its own test runs the full count).
 */
static uint32_t soak_arg(const struct expectation *e)
{
    return strcmp(e->program, "malloc_stress") == 0 ? 2000 : e->arg;
}

/* Every program that runs alone, once, checked as its own test checks it; then orphans. */
static void soak_round(void)
{
    for (unsigned i = 0; i < sizeof programs / sizeof programs[0] && !ktest_failures(); i++)
        if (programs[i].status != -1)
            check_program_arg(programs[i].program, soak_arg(&programs[i]));
    if (!ktest_failures())
        run_orphan_parent();
    KT_ASSERT(wait_until_no_process(5000));
}

/* How many programs a round runs alone (the helpers are left out). */
static unsigned soak_programs(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < sizeof programs / sizeof programs[0]; i++)
        n += programs[i].status != -1;
    return n;
}

static void soak_policy(enum vmm_policy policy, const char *name)
{
    KT_EQ(vmm_set_policy(policy), 0);
    soak_round(); /* warm-up: what stays allocated for good is allocated now */
    struct machine before = machine_now();
    for (unsigned round = 1; round <= SOAK_ROUNDS && !ktest_failures(); round++) {
        soak_round();
        char when[48];
        fmt_snprintf(when, sizeof when, "%s, after round %u", name, round);
        check_machine(when, before);
    }
    if (ktest_failures())
        return; /* the failure says what drifted */
    kprintf("soak: %s: %u rounds of %u programs and an orphan_parent; free frames %zu, "
            "commit charge %zu, processes %u after each\n",
            name, SOAK_ROUNDS + 1, soak_programs(), before.frames, before.charge, before.procs);
}

/*
 * Long runs: the whole set of ring-3 programs, round after round, under
 * both commit policies; after every round the free frames, the commit
 * charge and the process table must be where they were.  Booted alone
 * (KTEST_LONG) by the host driver.
 */
KTEST_LONG(user_soak)
{
    NEEDS_PROGRAMS();
    enum vmm_policy boot_policy = vmm_get_policy();
    uint64_t start = pit_ticks();
    soak_policy(VMM_POLICY_STRICT, "strict");
    if (!ktest_failures())
        soak_policy(VMM_POLICY_OVERCOMMIT, "overcommit");
    KT_EQ(vmm_set_policy(boot_policy), 0);
    kprintf("soak: %u ticks at %u Hz\n", (unsigned)(pit_ticks() - start), pit_hz());
}
