/*
 * kernel/usercopy.c - range checks and SMAP around the architecture's
 * copy routines (arch/x86/usercopy.asm, arch/x86_64/usercopy.asm).
 */
#include "kernel/usercopy.h"
#include "karch.h"
#include "kernel/errno.h"

int arch_copy_user(void *dst, const void *src, size_t n);
long arch_strncpy_user(char *dst, const char *src, size_t max);

/* One entry of the routines' table: machine words (dd on i686, dq on x86-64). */
struct fixup {
    uintptr_t start, end, resume;
};
extern const struct fixup usercopy_fixups[];

int user_range_ok(uintptr_t uaddr, size_t n)
{
    if (n == 0)
        return 1;
    return uaddr >= USER_START && uaddr < USER_END && n <= USER_END - uaddr;
}

uintptr_t usercopy_fixup(uintptr_t pc)
{
    for (const struct fixup *f = usercopy_fixups; f->start; f++)
        if (pc >= f->start && pc < f->end)
            return f->resume;
    return 0;
}

/* Lift SMAP (when the CPU has it on) around one copy. */
static void user_access_begin(void)
{
    if (cpu_features.smap)
        cpu_stac();
}

static void user_access_end(void)
{
    if (cpu_features.smap)
        cpu_clac();
}

int copy_from_user(void *dst, uintptr_t usrc, size_t n)
{
    if (!user_range_ok(usrc, n))
        return -EFAULT;
    user_access_begin();
    int r = arch_copy_user(dst, (const void *)usrc, n);
    user_access_end();
    return r ? -EFAULT : 0;
}

int copy_to_user(uintptr_t udst, const void *src, size_t n)
{
    if (!user_range_ok(udst, n))
        return -EFAULT;
    user_access_begin();
    int r = arch_copy_user((void *)udst, src, n);
    user_access_end();
    return r ? -EFAULT : 0;
}

long strncpy_from_user(char *dst, uintptr_t usrc, size_t max)
{
    if (max == 0 || usrc < USER_START || usrc >= USER_END)
        return -EFAULT;
    /* never read past the end of user space, whatever max says */
    size_t limit = max < USER_END - usrc ? max : USER_END - usrc;
    user_access_begin();
    long len = arch_strncpy_user(dst, (const char *)usrc, limit);
    user_access_end();
    if (len < 0)
        return -EFAULT;
    if ((size_t)len == limit) {
        dst[max - 1] = 0;
        return -ENAMETOOLONG;
    }
    return len;
}
