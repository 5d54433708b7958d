/*
 * user/lib/start.c - from _start (crt0.asm) to main and back out.
 *
 * Before main runs, two things the program relies on are checked, so that
 * a mismatch is a clear message instead of strange behaviour later: the
 * program was linked where kernel/syscall_nr.h says programs live
 * (user/user.ld repeats that address), and the kernel's info page is the
 * one this libc was built for.  Either mismatch exits with status 127.
 */
#include "stdio.h"
#include "stdlib.h"
#include "sys.h"

#define EXIT_ABI_MISMATCH 127

extern char __image_start[]; /* user/user.ld */
int main(void);
__attribute__((noreturn)) void libc_start(void);

void libc_start(void)
{
    const volatile struct user_info *info = user_info();
    if ((uintptr_t)__image_start != USER_IMAGE_START) {
        dprintf(SYS_FD_STDERR, "start: linked at %p, but programs live at 0x%08x\n",
                (void *)__image_start, USER_IMAGE_START);
        sys_exit(EXIT_ABI_MISMATCH);
    }
    if (info->magic != USER_INFO_MAGIC || info->size != sizeof(struct user_info)) {
        dprintf(SYS_FD_STDERR, "start: the info page is not the one this libc knows\n");
        sys_exit(EXIT_ABI_MISMATCH);
    }
    exit(main());
}

void exit(int status)
{
    sys_exit(status); /* output is unbuffered between calls: nothing to flush */
}

void abort(void)
{
    dprintf(SYS_FD_STDERR, "abort\n");
    sys_exit(134);
}
