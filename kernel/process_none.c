/*
 * kernel/process_none.c - the process layer of a kernel without ring 3.
 *
 * Built instead of kernel/process.c (and syscall.c, elf_load.c) on a port
 * whose ring 3 does not run yet - x86-64 today, see arch/x86_64/build.mk.
 * It is not a pretend process layer: it states the truth of such a kernel
 * through kernel/process.h - there are no programs and never a process -
 * so that everything above it (kmain, the demo, the monitor with its
 * memory commands) is the same code on every port.  `run` answers "no such
 * program" and lists none; `ps` shows no process; `kill` finds nobody.
 */
#include "kernel/process.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#include <stddef.h>

void process_init(const void *initrd, size_t initrd_size)
{
    (void)initrd;
    (void)initrd_size;
    kprintf("processes: this port has no ring 3 yet; the kernel runs no programs\n");
}

struct process *process_current(void)
{
    return NULL;
}

int process_have_initrd(void)
{
    return 0;
}

int process_initrd_file(unsigned index, struct initrd_file *file)
{
    (void)index;
    (void)file;
    return -ENOENT;
}

int process_spawn(const char *name, uint32_t arg, int parent)
{
    (void)name;
    (void)arg;
    (void)parent;
    return -ENOENT;
}

int process_wait(int pid, int *status)
{
    (void)pid;
    (void)status;
    return -ECHILD;
}

int process_try_wait(int pid, int *status)
{
    return process_wait(pid, status);
}

int process_wait_ended(int pid)
{
    (void)pid;
    return -ECHILD;
}

int process_kill_pid(int pid)
{
    return pid <= 0 ? -EINVAL : -ESRCH;
}

struct vmm_space *process_space(int pid)
{
    (void)pid;
    return NULL;
}

const char *process_last_kill(void)
{
    return "";
}

unsigned process_count(void)
{
    return 0;
}

void process_boot_takes_turns(int on)
{
    (void)on; /* no process ever competes with the boot context */
}

void process_foreach(void (*fn)(const struct process *p, void *ctx), void *ctx)
{
    (void)fn;
    (void)ctx;
}
