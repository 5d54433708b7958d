/*
 * kernel/syscall.c - the system calls (int 0x80 on i686, syscall on x86-64;
 * ABI in kernel/syscall_nr.h and docs/syscalls.md).  The same code for both:
 * arguments and results are register-wide (uintptr_t, long), and the
 * architecture's trap.h says which saved registers carry them.
 *
 * Every argument is hostile until checked: pointers go through the
 * user-copy routines (which refuse NULL, kernel addresses, wrapping ranges
 * and unmapped memory with -EFAULT), sizes and addresses are checked for
 * alignment, wrap-around and the user half before the VMM sees them, and
 * flags are checked against the ones the ABI defines.  A bad call returns
 * -errno; nothing a program passes can fault the kernel.
 */
#include "karch.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/process.h"
#include "kernel/usercopy.h"
#include "mm/pmm.h"
#include "mm/port.h"

#include <string.h>

#define PAGE 4096u

_Static_assert(SYS_PROT_READ == VMM_PROT_READ && SYS_PROT_WRITE == VMM_PROT_WRITE &&
                   SYS_PROT_EXEC == VMM_PROT_EXEC,
               "ABI protection bits are the VMM's");
_Static_assert(SYS_REGION_RESERVED == VMM_REGION_RESERVED &&
                   SYS_REGION_COMMITTED == VMM_REGION_COMMITTED &&
                   SYS_REGION_GUARD == VMM_REGION_GUARD && SYS_REGION_MAPPED == VMM_REGION_MAPPED,
               "ABI region states are the VMM's");
_Static_assert(USER_INFO_ADDR < USER_END && USER_STACK_TOP <= USER_INFO_ADDR, "user layout");

typedef long (*syscall_fn)(struct process *p, const uintptr_t *a);

static long from_vmm(int r)
{
    switch (r) {
    case VMM_OK: return 0;
    case VMM_ENOMEM: return -ENOMEM;
    case VMM_EEXIST: return -EEXIST;
    case VMM_ENOENT: return -ENOENT;
    case VMM_EPERM: return -EPERM;
    default: return -EINVAL;
    }
}

/* Steps 1 and 2 of the documented order: sizes and alignment, then the user half. */
static long check_shape(uintptr_t addr, uintptr_t size)
{
    if (size == 0 || (addr | size) & (PAGE - 1))
        return -EINVAL;
    return user_range_ok(addr, size) ? 0 : -EFAULT;
}

enum region_call { CALL_COMMIT, CALL_DECOMMIT, CALL_PROTECT, CALL_RELEASE };

static uint32_t area_of(const struct process *p, uintptr_t addr);

/*
 * Step 3: where the pages are, lowest first.  No region: -ENOENT.  An area
 * the kernel made (low range, image, stack, info page): -EPERM.  The break
 * area: commit/decommit/protect only below the page-rounded break, release
 * never.  Ranges the process reserved itself: allowed.
 */
static long check_areas(const struct process *p, uintptr_t addr, uintptr_t size,
                        enum region_call call)
{
    uintptr_t end = addr + size, brk_top = (p->brk + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    struct vmm_region_info info;
    for (uintptr_t a = addr; a < end; a = info.end) {
        if (vmm_query_region((struct vmm_space *)&p->space, a, &info))
            return -ENOENT;
        switch (area_of(p, a)) {
        case SYS_AREA_RESERVE:
            break;
        case SYS_AREA_BREAK:
            if (call == CALL_RELEASE || end > brk_top)
                return -EPERM;
            break;
        default:
            return -EPERM;
        }
    }
    return 0;
}

static long check_region_call(const struct process *p, uintptr_t addr, uintptr_t size,
                              enum region_call call)
{
    long r = check_shape(addr, size);
    return r ? r : check_areas(p, addr, size, call);
}

/* ---------------------------------------------------------------- processes */

static long sys_exit(struct process *p, const uintptr_t *a)
{
    (void)p;
    process_exit((int)a[0]);
}

/*
 * Is every page of [buf, buf + len) readable?  One byte per page is
 * enough (protection is per page); reading it also backs a committed page
 * that has no frame yet, so the copy that follows cannot fail half-way.
 */
static int user_pages_readable(uintptr_t buf, uintptr_t len)
{
    char byte;
    for (uintptr_t a = buf; a - buf < len; a = (a & ~(uintptr_t)(PAGE - 1)) + PAGE)
        if (copy_from_user(&byte, a, 1))
            return 0;
    return 1;
}

/*
 * All or nothing: the whole range [buf, buf + len) must be in user space
 * (before the length is cut to SYS_WRITE_MAX, so a range that wraps or
 * reaches the kernel half is refused whatever its length), and every page
 * of the part to be written must be readable before the first byte goes
 * out.  So -EFAULT means nothing was printed, and a success is the whole
 * (cut) length.
 */
static long sys_write(struct process *p, const uintptr_t *a)
{
    char chunk[256];
    uintptr_t fd = a[0], buf = a[1], len = a[2];
    (void)p;
    if (fd != SYS_FD_STDOUT && fd != SYS_FD_STDERR)
        return -EBADF;
    if (!user_range_ok(buf, len))
        return -EFAULT;
    if (len > SYS_WRITE_MAX)
        len = SYS_WRITE_MAX;
    if (!user_pages_readable(buf, len))
        return -EFAULT;
    for (uintptr_t done = 0; done < len;) {
        size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
        if (copy_from_user(chunk, buf + done, n))
            return -EFAULT; /* not reached: every page was just read */
        for (size_t i = 0; i < n; i++)
            kputc(chunk[i]);
        done += n;
    }
    return (long)len;
}

static long sys_spawn(struct process *p, const uintptr_t *a)
{
    char name[SYS_NAME_MAX];
    long r = strncpy_from_user(name, a[0], sizeof name);
    if (r < 0)
        return r;
    if (a[1] > UINT32_MAX)
        return -EINVAL; /* the info page's arg is 32 bits in both ABIs */
    return process_spawn(name, (uint32_t)a[1], p->pid);
}

static long sys_wait(struct process *p, const uintptr_t *a)
{
    (void)p;
    if ((long)a[0] != (int)a[0])
        return -ECHILD; /* no pid is that large (x86-64: the register is wider than int) */
    /* block until a child has ended; it stays until its status is delivered */
    int pid = process_wait_ended((int)a[0]);
    if (pid < 0)
        return pid;
    int status = process_status(pid);
    if (a[1] && copy_to_user(a[1], &status, sizeof status))
        return -EFAULT; /* the child stays to be waited for */
    return process_reap(pid);
}

static long sys_getpid(struct process *p, const uintptr_t *a)
{
    (void)a;
    return p->pid;
}

static long sys_yield(struct process *p, const uintptr_t *a)
{
    (void)p, (void)a;
    process_yield();
    return 0;
}

static long sys_sleep(struct process *p, const uintptr_t *a)
{
    (void)p;
    if (a[0] == 0)
        process_yield();
    else
        process_sleep(a[0] > 3600000u ? 3600000u : a[0]);
    return 0;
}

/* ---------------------------------------------------------------- the break */

static void publish_brk(struct process *p)
{
    struct user_info *info = mm_kmap(p->info_frame);
    info->brk = p->brk;
    mm_kunmap(info);
}

static uintptr_t page_up(uintptr_t a)
{
    return (a + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
}

/*
 * Pages that come into use by the break: fresh, as if never used - default
 * protection (a page made read-only before the break last shrank over it
 * must not stay so), then committed lazily.  A failed commit leaves only
 * reserved pages' protection changed, which nothing can see but query.
 */
static int grow_brk_pages(struct process *p, uintptr_t from, uintptr_t to)
{
    int r = vmm_protect(&p->space, from, to - from, VMM_PROT_RW);
    return r ? r : vmm_commit(&p->space, from, to - from, 0);
}

/*
 * Move the break to `want` (inside [brk_start, brk_limit]): pages that come
 * into use are committed (lazily: frames on first touch) with the default
 * protection, pages that leave it are decommitted (their frames go back; a
 * later re-grow reads zeros).
 */
static long set_brk(struct process *p, uintptr_t want)
{
    if (want < p->brk_start || want > p->brk_limit)
        return -ENOMEM;
    uintptr_t old_top = page_up(p->brk), new_top = page_up(want);
    int r = 0;
    if (new_top > old_top)
        r = grow_brk_pages(p, old_top, new_top);
    else if (new_top < old_top)
        r = vmm_decommit(&p->space, new_top, old_top - new_top, 0);
    if (r)
        return from_vmm(r);
    p->brk = want;
    publish_brk(p);
    return 0;
}

static long sys_brk(struct process *p, const uintptr_t *a)
{
    if (a[0] == 0)
        return (long)p->brk; /* brk(0): where the break is */
    long r = set_brk(p, a[0]);
    return r ? r : (long)p->brk;
}

static long sys_sbrk(struct process *p, const uintptr_t *a)
{
    intptr_t incr = (intptr_t)a[0];
    uintptr_t old = p->brk, want;
    /* the increment is signed: compare distances, so that nothing can wrap */
    if (incr >= 0) {
        if ((uintptr_t)incr > p->brk_limit - old)
            return -ENOMEM;
        want = old + (uintptr_t)incr;
    } else {
        uintptr_t down = (uintptr_t)0 - (uintptr_t)incr; /* |incr|, INTPTR_MIN included */
        if (down > old - p->brk_start)
            return -ENOMEM;
        want = old - down;
    }
    long r = set_brk(p, want);
    return r ? r : (long)old;
}

/* ---------------------------------------------------------------- regions */

static long sys_reserve(struct process *p, const uintptr_t *a)
{
    uintptr_t addr = a[0], size = a[1], prot = a[2], flags = a[3];
    if ((prot & ~SYS_PROT_MASK) || (flags & ~SYS_RESERVE_COMMIT))
        return -EINVAL;
    if (size == 0 || (addr | size) & (PAGE - 1))
        return -EINVAL;
    if (addr && !user_range_ok(addr, size))
        return -EFAULT;
    if (!addr && size > USER_END - USER_START)
        return -ENOMEM; /* no free range can be that large */
    uintptr_t where = addr;
    int r = vmm_reserve(&p->space, &where, size, prot,
                        (flags & SYS_RESERVE_COMMIT) ? VMM_RESERVE_COMMIT : 0);
    return r ? from_vmm(r) : (long)where;
}

static long sys_commit(struct process *p, const uintptr_t *a)
{
    if (a[2] & ~SYS_COMMIT_EAGER)
        return -EINVAL;
    long c = check_region_call(p, a[0], a[1], CALL_COMMIT);
    return c ? c
             : from_vmm(vmm_commit(&p->space, a[0], a[1],
                                   (a[2] & SYS_COMMIT_EAGER) ? VMM_COMMIT_EAGER : 0));
}

static long sys_decommit(struct process *p, const uintptr_t *a)
{
    if (a[2] & ~SYS_DECOMMIT_KEEP)
        return -EINVAL;
    long c = check_region_call(p, a[0], a[1], CALL_DECOMMIT);
    return c ? c
             : from_vmm(vmm_decommit(&p->space, a[0], a[1],
                                     (a[2] & SYS_DECOMMIT_KEEP) ? VMM_DECOMMIT_KEEP : 0));
}

static long sys_protect(struct process *p, const uintptr_t *a)
{
    if (a[2] & ~SYS_PROT_MASK)
        return -EINVAL;
    long c = check_region_call(p, a[0], a[1], CALL_PROTECT);
    return c ? c : from_vmm(vmm_protect(&p->space, a[0], a[1], a[2]));
}

static long sys_release(struct process *p, const uintptr_t *a)
{
    long c = check_region_call(p, a[0], a[1], CALL_RELEASE);
    return c ? c : from_vmm(vmm_release(&p->space, a[0], a[1]));
}

static uint32_t area_of(const struct process *p, uintptr_t addr)
{
    if (addr >= USER_INFO_ADDR && addr < USER_END)
        return SYS_AREA_INFO; /* and its guard page, the last below the kernel */
    if (addr >= USER_STACK_TOP - USER_STACK_SIZE - USER_STACK_GAP && addr < USER_STACK_TOP + PAGE)
        return SYS_AREA_STACK; /* the stack, its guard gap and its guard page */
    if (addr >= p->brk_start && addr < p->brk_limit)
        return SYS_AREA_BREAK;
    if (addr >= p->image_start && addr < p->image_end)
        return SYS_AREA_IMAGE;
    if (addr < USER_IMAGE_START)
        return SYS_AREA_LOW;
    return SYS_AREA_RESERVE;
}

static long sys_query(struct process *p, const uintptr_t *a)
{
    struct vmm_region_info info;
    struct sys_region_info out;
    if (a[0] < USER_START || a[0] >= USER_END || !user_range_ok(a[1], sizeof out))
        return -EFAULT;
    if (vmm_query_region(&p->space, a[0], &info))
        return -ENOENT;
    out = (struct sys_region_info){info.start, info.end, info.base, info.state,
                                   info.prot, (uint32_t)info.backed, area_of(p, a[0])};
    return copy_to_user(a[1], &out, sizeof out);
}

static long sys_memstat(struct process *p, const uintptr_t *a)
{
    struct pmm_stats ps;
    struct vmm_stats vs;
    struct vmm_space_stats ss;
    pmm_get_stats(&ps);
    vmm_get_stats(&vs);
    vmm_space_get_stats(&p->space, &ss);
    struct sys_memstat out = {
        (uint32_t)ps.total, (uint32_t)ps.free, (uint32_t)vs.committed, (uint32_t)vs.backed,
        (uint32_t)vs.policy, (uint32_t)ss.reserved, (uint32_t)ss.committed, (uint32_t)ss.backed,
        (uint32_t)ss.page_tables, (uint32_t)ss.regions,
    };
    return copy_to_user(a[0], &out, sizeof out);
}

/* ---------------------------------------------------------------- dispatch */

static const syscall_fn calls[SYS_COUNT] = {
    [SYS_EXIT] = sys_exit,         [SYS_WRITE] = sys_write,     [SYS_SPAWN] = sys_spawn,
    [SYS_WAIT] = sys_wait,         [SYS_GETPID] = sys_getpid,   [SYS_YIELD] = sys_yield,
    [SYS_SLEEP] = sys_sleep,       [SYS_BRK] = sys_brk,         [SYS_SBRK] = sys_sbrk,
    [SYS_RESERVE] = sys_reserve,   [SYS_COMMIT] = sys_commit,   [SYS_DECOMMIT] = sys_decommit,
    [SYS_PROTECT] = sys_protect,   [SYS_RELEASE] = sys_release, [SYS_QUERY] = sys_query,
    [SYS_MEMSTAT] = sys_memstat,
};

static int syscall_trap(struct trap_frame *f)
{
    struct process *p = process_current();
    if (!p || !trap_from_user(f))
        return 0; /* int 0x80 from the kernel: not a system call, report it */
    uintptr_t args[5], nr = trap_syscall_number(f);
    trap_syscall_args(f, args);
    syscall_fn fn = nr < SYS_COUNT ? calls[nr] : 0;
    trap_set_syscall_result(f, fn ? (uintptr_t)fn(p, args) : (uintptr_t)-ENOSYS);
    return 1;
}

void syscall_init(void)
{
    arch_syscall_init();
    trap_set_handler(SYS_VECTOR, syscall_trap);
}
