/*
 * user/include/sys.h - the system calls, as C functions (user/lib/syscalls.c).
 *
 * One function per call of kernel/syscall_nr.h, same arguments, and the
 * kernel's result returned as it is: an error is a value in [-4095, -1]
 * (-ENOMEM, -EFAULT... from kernel/errno.h; test it with sys_failed), any
 * other value is a success - an address, a pid, a count.  There is no errno
 * variable.  docs/syscalls.md has every call's contract.
 */
#ifndef USER_SYS_H
#define USER_SYS_H

#include "kernel/errno.h"
#include "kernel/syscall_nr.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The raw call (user/lib/ARCH/syscall.asm, ARCH i686 or x86_64): the number
 * and five arguments in the registers of kernel/syscall_nr.h.
 */
long sys_call(long number, long a1, long a2, long a3, long a4, long a5);

/* True if a system call's result is an error (-errno). */
static inline int sys_failed(long result)
{
    return result < 0 && result >= -SYS_ERRNO_MAX;
}

/* End the process with status & 0xFF (what the parent's wait sees). */
__attribute__((noreturn)) void sys_exit(int status);
/* Write len bytes to fd 1 or 2 (the console): len, or -EINVAL, -EFAULT. */
long sys_write(int fd, const void *buf, size_t len);
/* Start the initrd program `name` with `arg` in its info page: its pid. */
long sys_spawn(const char *name, uint32_t arg);
/* Wait for child pid (SYS_WAIT_ANY: any) to end; *status (may be NULL); its pid. */
long sys_wait(int pid, int *status);
long sys_getpid(void);
long sys_yield(void);
/* Sleep at least ms milliseconds (0: yield). */
long sys_sleep(uint32_t ms);
/* Set the break to addr (0: only ask): the new break, or -ENOMEM. */
long sys_brk(uintptr_t addr);
/* Move the break by a signed increment: the old break, or -ENOMEM. */
long sys_sbrk(intptr_t increment);
/* Reserve [addr, addr + size) (addr 0: anywhere): its start. */
long sys_reserve(uintptr_t addr, size_t size, unsigned prot, unsigned flags);
long sys_commit(uintptr_t addr, size_t size, unsigned flags);
long sys_decommit(uintptr_t addr, size_t size, unsigned flags);
long sys_protect(uintptr_t addr, size_t size, unsigned prot);
long sys_release(uintptr_t addr, size_t size);
/* Describe the region piece holding addr. */
long sys_query(uintptr_t addr, struct sys_region_info *info);
long sys_memstat(struct sys_memstat *stat);

/* The info page (read-only, kept up to date by the kernel). */
static inline const volatile struct user_info *user_info(void)
{
    return (const volatile struct user_info *)USER_INFO_ADDR;
}

/* Instructions only ring 0 may run (user/lib/ARCH/privileged.asm); each should kill the caller. */
void priv_cli(void);
void priv_hlt(void);
unsigned priv_inb(unsigned port);
void priv_outb(unsigned port, unsigned value);
/* Load FS with an LDT selector (the kernel has no LDT). */
void priv_load_ldt_selector(void);
/* sgdt into 2 + sizeof(uintptr_t) bytes (limit, base): refused at ring 3 under CR4.UMIP. */
void priv_sgdt(void *limit_and_base);
/* iret with EFLAGS.VM set, CS 0 and EIP ip (does not return). */
void priv_iret_to_v86(unsigned ip);
/* getpid through the system-call entry with the stack pointer set to sp (restored after). */
long priv_getpid_with_stack(unsigned long sp);
/* getpid through int 0x80: the system call on i686, a #GP on x86-64. */
long priv_int80_getpid(void);

#endif /* USER_SYS_H */
