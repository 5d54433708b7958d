/*
 * kernel/process.h - ring-3 processes and the scheduler.
 *
 * A process is an address space (struct vmm_space) laid out as
 * kernel/syscall_nr.h describes - its ELF segments, a break area, a stack
 * with a guard page below it, a read-only info page at the same address in
 * every process - plus a kernel stack (with guard pages, from the VMM page
 * allocator) on which it runs its system calls and faults.
 *
 * A process whose parent ends first is adopted by the kernel (ppid 0,
 * `adopted` set): nobody will wait for it, so when it ends the kernel's
 * reaper frees what is left of it - its kernel stack and its slot - as
 * soon as it is no longer running on that stack (the next switch away, a
 * timer tick, or a spawn looking for a slot).  The kernel's own waits
 * (process_wait from the boot context) never see adopted processes.
 *
 * Scheduling is round robin over the process table, preemptive on the
 * timer (a slice of PROCESS_SLICE_TICKS).  When nothing is runnable the CPU
 * returns to the boot context, which idles (hlt) or waits for its children.
 * Everything here runs with interrupts off (trap handlers, or callers that
 * disabled them); one CPU.
 */
#ifndef KERNEL_PROCESS_H
#define KERNEL_PROCESS_H

#include "karch.h"
#include "kernel/syscall_nr.h"
#include "mm/vmm.h"

#include <stddef.h>
#include <stdint.h>

#define PROCESS_MAX 64
#define PROCESS_SLICE_TICKS 2
#define PROCESS_KSTACK_PAGES 4

enum process_state {
    PROC_FREE = 0,
    PROC_RUNNABLE,
    PROC_SLEEPING, /* until wake_tick */
    PROC_WAITING,  /* for a child to end */
    PROC_ZOMBIE,   /* ended; its parent has not collected the status */
};

struct process {
    int pid, ppid;
    enum process_state state;
    char name[SYS_NAME_MAX];
    struct vmm_space space;
    void *kstack_top;  /* from vmm_kstack_alloc */
    uintptr_t ksp;     /* saved kernel stack pointer while switched out */
    uint64_t wake_tick;
    int wait_for;      /* the pid a WAITING process waits for (SYS_WAIT_ANY: any) */
    int status;        /* exit status, or SYS_WAIT_KILLED | cause */
    unsigned slice;    /* ticks left in this slice */
    uintptr_t brk_start, brk, brk_limit;
    uintptr_t image_start, image_end;
    pmm_paddr_t info_frame;
    int adopted;       /* its parent ended first: the kernel's reaper collects it */
};

/* The running process, or NULL in the boot (idle) context. */
struct process *process_current(void);

/* Install the timer hook, the system-call gate and the fault hooks. */
void process_init(const void *initrd, size_t initrd_size);

/* True if an initrd was given at boot. */
int process_have_initrd(void);

/* The index-th program of the initrd (name order): 0, or -ENOENT past the last. */
struct initrd_file;
int process_initrd_file(unsigned index, struct initrd_file *file);

/*
 * Start the program `name` from the initrd with `arg` in its info page, as
 * a child of `parent` (0: the kernel).  Returns the pid, or -ENOENT (no such
 * program), -ENOEXEC (not a valid ELF), -ENOMEM, -EAGAIN (table full).
 */
int process_spawn(const char *name, uint32_t arg, int parent);

/*
 * Wait for the child `pid` (SYS_WAIT_ANY: any) of the calling context to
 * end; store its status; free what was left of it.  Returns the pid, or
 * -ECHILD.  From the boot context this idles until the child is done.
 */
int process_wait(int pid, int *status);

/*
 * process_wait without the waiting: if a child matching pid (SYS_WAIT_ANY:
 * any) has ended, collect it, store its status and return its pid; 0 if
 * matching children exist but none has ended; -ECHILD if there is none.
 * For the monitor, which reaps its background programs between commands.
 */
int process_try_wait(int pid, int *status);

/*
 * The two halves of process_wait, for wait(): block until a child matching
 * pid has ended and return its pid (-ECHILD if there is none) without
 * collecting it; its status; collect it (free its kernel stack and slot).
 */
int process_wait_ended(int pid);
int process_status(int pid);
int process_reap(int pid);

/* End the current process with `status` (never returns). */
__attribute__((noreturn)) void process_exit(int status);

/*
 * Kill the current process for a fault: print the report (pid, name,
 * address, EIP, access, reason), end it with SYS_WAIT_KILLED | cause and
 * switch away (never returns).
 */
__attribute__((noreturn)) void process_kill(const struct trap_frame *f, int cause, uintptr_t addr,
                                            const char *why);

/*
 * End process `pid` from outside (the monitor's `kill`), with status
 * SYS_WAIT_KILLED | SYS_KILL_REQUESTED and a kill report (process_last_kill).
 * Called from the boot context or a system call, never a trap handler.
 * Another process is switched out, so it is torn down on the spot: its
 * space destroyed, its children adopted by the kernel, its parent woken; if
 * its parent is the kernel nobody else will collect it, so it is reaped
 * too (its slot and kernel stack freed).  The current process ends as with
 * a fault (never returns).  Returns 0, -ESRCH (no such process, or it has
 * already ended) or -EINVAL (pid <= 0).
 */
int process_kill_pid(int pid);

/* The address space of process `pid`, NULL if there is none or it has ended. */
struct vmm_space *process_space(int pid);

/* Give up the CPU (the timer does this at the end of a slice). */
void process_yield(void);

/* Sleep for ms milliseconds (at least one tick). */
void process_sleep(unsigned ms);

/*
 * Number of processes that exist (any state but FREE).  An adopted process
 * that has ended but is not yet reaped still counts, until the next switch
 * or timer tick reaps it.
 */
unsigned process_count(void);

/*
 * on: the boot context (the monitor's loop) becomes one more member of the
 * round robin, after the last process of the table, so it keeps polling
 * for keys while a process computes without sleeping.  Off (the default,
 * for the boot demo and the tests): it runs only when nothing else can.
 */
void process_boot_takes_turns(int on);


/* The text of the last kill report, for tests ("" if none). */
const char *process_last_kill(void);

/* Visit every process (for the monitor and tests). */
void process_foreach(void (*fn)(const struct process *p, void *ctx), void *ctx);

/* System calls (kernel/syscall.c). */
void syscall_init(void);

#endif
