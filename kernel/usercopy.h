/*
 * kernel/usercopy.h - the only way the kernel reads or writes user memory.
 *
 * Each routine checks the range first (not in page 0, not in the kernel
 * half, not wrapping) and then copies with fault fixups: a page
 * that is committed but not yet backed is backed by the page-fault handler
 * as usual; any other fault (a hole, a reserved-only page, a released range,
 * a protection violation) makes the routine return -EFAULT instead of
 * faulting the kernel.  On -EFAULT a prefix of the destination may have been
 * written.  With SMAP on, these are the only places where the kernel lifts it.
 */
#ifndef KERNEL_USERCOPY_H
#define KERNEL_USERCOPY_H

#include <stddef.h>
#include <stdint.h>

/* Copy n bytes from user address usrc to dst: 0 or -EFAULT. */
int copy_from_user(void *dst, uintptr_t usrc, size_t n);

/* Copy n bytes from src to user address udst: 0 or -EFAULT. */
int copy_to_user(uintptr_t udst, const void *src, size_t n);

/*
 * Copy a NUL-terminated user string into dst[max]: its length (< max), or
 * -EFAULT (bad address), or -ENAMETOOLONG (no NUL within max bytes, or before
 * the end of user space).  max >= 1; dst is always terminated on success.
 */
long strncpy_from_user(char *dst, uintptr_t usrc, size_t max);

/* True if [uaddr, uaddr + n) lies inside user space (n == 0 counts as inside). */
int user_range_ok(uintptr_t uaddr, size_t n);

/*
 * For the page-fault handler: if pc is inside a user-copy routine, return
 * the address to resume at (the routine's fixup), else 0.
 */
uintptr_t usercopy_fixup(uintptr_t pc);

#endif
