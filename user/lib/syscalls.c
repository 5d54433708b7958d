/*
 * user/lib/syscalls.c - one C function per system call (user/include/sys.h).
 *
 * Each passes its arguments to sys_call (user/lib/ARCH/syscall.asm) in the order
 * of docs/syscalls.md and returns the kernel's result unchanged.  Pointers
 * and sizes cross as register-wide values; a signed increment keeps its sign.
 */
#include "sys.h"

#define ARG(x) ((long)(x))

void sys_exit(int status)
{
    sys_call(SYS_EXIT, status, 0, 0, 0, 0);
    for (;;) /* exit does not return; if the kernel ever did, do not run on */
        sys_call(SYS_EXIT, status, 0, 0, 0, 0);
}

long sys_write(int fd, const void *buf, size_t len)
{
    return sys_call(SYS_WRITE, fd, ARG(buf), ARG(len), 0, 0);
}

long sys_spawn(const char *name, uint32_t arg)
{
    return sys_call(SYS_SPAWN, ARG(name), ARG(arg), 0, 0, 0);
}

long sys_wait(int pid, int *status)
{
    return sys_call(SYS_WAIT, pid, ARG(status), 0, 0, 0);
}

long sys_getpid(void)
{
    return sys_call(SYS_GETPID, 0, 0, 0, 0, 0);
}

long sys_yield(void)
{
    return sys_call(SYS_YIELD, 0, 0, 0, 0, 0);
}

long sys_sleep(uint32_t ms)
{
    return sys_call(SYS_SLEEP, ARG(ms), 0, 0, 0, 0);
}

long sys_brk(uintptr_t addr)
{
    return sys_call(SYS_BRK, ARG(addr), 0, 0, 0, 0);
}

long sys_sbrk(intptr_t increment)
{
    return sys_call(SYS_SBRK, ARG(increment), 0, 0, 0, 0);
}

long sys_reserve(uintptr_t addr, size_t size, unsigned prot, unsigned flags)
{
    return sys_call(SYS_RESERVE, ARG(addr), ARG(size), ARG(prot), ARG(flags), 0);
}

long sys_commit(uintptr_t addr, size_t size, unsigned flags)
{
    return sys_call(SYS_COMMIT, ARG(addr), ARG(size), ARG(flags), 0, 0);
}

long sys_decommit(uintptr_t addr, size_t size, unsigned flags)
{
    return sys_call(SYS_DECOMMIT, ARG(addr), ARG(size), ARG(flags), 0, 0);
}

long sys_protect(uintptr_t addr, size_t size, unsigned prot)
{
    return sys_call(SYS_PROTECT, ARG(addr), ARG(size), ARG(prot), 0, 0);
}

long sys_release(uintptr_t addr, size_t size)
{
    return sys_call(SYS_RELEASE, ARG(addr), ARG(size), 0, 0, 0);
}

long sys_query(uintptr_t addr, struct sys_region_info *info)
{
    return sys_call(SYS_QUERY, ARG(addr), ARG(info), 0, 0, 0);
}

long sys_memstat(struct sys_memstat *stat)
{
    return sys_call(SYS_MEMSTAT, ARG(stat), 0, 0, 0, 0);
}
