/*
 * kernel/syscall_nr.h - the ring-3 ABI, shared by the kernel and user/.
 *
 * Everything a user program and the kernel must agree on lives here and
 * nowhere else: system-call numbers, the flags and structures that cross
 * int 0x80, how wait() encodes a status, and the fixed parts of a process's
 * address space (the image area, the break area, the stack, the read-only
 * per-process info page).  docs/syscalls.md and docs/processes.md explain
 * each item; this header is the definition the code compiles against.
 *
 * Calling conventions (docs/syscalls.md has the reasons):
 *
 *   i686    int 0x80: eax = number, ebx ecx edx esi edi = up to five
 *           arguments, result in eax; every other register is preserved.
 *   x86-64  the syscall instruction: rax = number, rdi rsi rdx r10 r8 =
 *           up to five arguments, result in rax; rcx and r11 are destroyed
 *           (the CPU keeps the return address and the flags in them), every
 *           other register is preserved.
 *
 * A result in [-4095, -1] is an error (-errno, kernel/errno.h); any other
 * value is a success.  User addresses end at USER_SPACE_END (0xC0000000 on
 * i686, just below the non-canonical hole on x86-64), so an address
 * returned by a call never looks like an error.
 *
 * Only fixed-width types and sys_uptr_t (an address: 32 bits in the i686
 * ABI, 64 in the x86-64 one), so the header reads the same in either
 * kernel, its user programs and the hosted tests.  kernel/ owns the file;
 * user programs include it through user/include/sys.h.
 */
#ifndef KERNEL_SYSCALL_NR_H
#define KERNEL_SYSCALL_NR_H

#include <stdint.h>

/*
 * The ABI of the compiler building this file: i686 for -m32, x86-64 for
 * -m64 (the 64-bit kernel, its programs, and the hosted tests).
 */
#if defined(__x86_64__)
#define SYS_ABI_NAME "x86-64"
typedef uint64_t sys_uptr_t;
#elif defined(__i386__)
#define SYS_ABI_NAME "i686"
typedef uint32_t sys_uptr_t;
#else
#error "kernel/syscall_nr.h: no system-call ABI for this architecture"
#endif

/* ---------------------------------------------------------------- numbers */
/* Number 0 is never valid, so an uninitialised eax fails with -ENOSYS. */
#define SYS_EXIT 1      /* exit(status)                          no return */
#define SYS_WRITE 2     /* write(fd, buf, len)                   bytes written */
#define SYS_SPAWN 3     /* spawn(name, arg)                      child pid */
#define SYS_WAIT 4      /* wait(pid, status *)                   reaped pid */
#define SYS_GETPID 5    /* getpid()                              pid */
#define SYS_YIELD 6     /* yield()                               0 */
#define SYS_SLEEP 7     /* sleep(milliseconds)                   0 */
#define SYS_BRK 8       /* brk(addr)                             new break */
#define SYS_SBRK 9      /* sbrk(signed increment)                old break */
#define SYS_RESERVE 10  /* reserve(addr, size, prot, flags)      start address */
#define SYS_COMMIT 11   /* commit(addr, size, flags)             0 */
#define SYS_DECOMMIT 12 /* decommit(addr, size, flags)           0 */
#define SYS_PROTECT 13  /* protect(addr, size, prot)             0 */
#define SYS_RELEASE 14  /* release(addr, size)                   0 */
#define SYS_QUERY 15    /* query(addr, struct sys_region_info *) 0 */
#define SYS_MEMSTAT 16  /* memstat(struct sys_memstat *)         0 */
#define SYS_COUNT 17    /* numbers at or above this: -ENOSYS */

/* i686: the interrupt vector of the system-call gate (DPL 3).  x86-64 uses syscall. */
#define SYS_VECTOR 0x80

/* Results in [-SYS_ERRNO_MAX, -1] are errors. */
#define SYS_ERRNO_MAX 4095

/* ---------------------------------------------------------------- write */
#define SYS_FD_STDOUT 1         /* the console (serial and VGA) */
#define SYS_FD_STDERR 2         /* the console too */
#define SYS_WRITE_MAX 0x100000u /* longer writes are cut to this many bytes */

/* ---------------------------------------------------------------- spawn / wait */
#define SYS_NAME_MAX 32   /* program names, NUL included (= INITRD_NAME_MAX) */
#define SYS_WAIT_ANY (-1) /* wait's pid: any child */

/*
 * wait() status: a normal exit gives exit's argument & 0xFF; a process the
 * kernel killed gives SYS_WAIT_KILLED | one SYS_KILL_* cause.
 */
#define SYS_WAIT_KILLED 0x100
#define SYS_KILL_PAGE_FAULT 1 /* an access the VMM refused (reason in the report) */
#define SYS_KILL_PROTECTION 2 /* #GP: privileged or I/O instruction, bad segment */
#define SYS_KILL_EXCEPTION 3  /* any other exception (#UD, #DE, ...) */
#define SYS_KILL_NO_MEMORY 4  /* no frame for a committed page (overcommit) */
#define SYS_KILL_REQUESTED 5  /* ended by request (process_kill_pid: the monitor's kill) */
#define SYS_WAIT_EXITED(s) (((s)&SYS_WAIT_KILLED) == 0)
#define SYS_WAIT_STATUS(s) ((s)&0xFF)
#define SYS_WAIT_CAUSE(s) ((s)&0xFF) /* when killed */

/* The name of a SYS_KILL_* cause, for reports (kernel) and logs (programs). */
static inline const char *sys_kill_cause_name(int cause)
{
    switch (cause) {
    case SYS_KILL_PAGE_FAULT: return "page fault";
    case SYS_KILL_PROTECTION: return "protection fault";
    case SYS_KILL_EXCEPTION: return "exception";
    case SYS_KILL_NO_MEMORY: return "out of memory";
    case SYS_KILL_REQUESTED: return "by request";
    default: return "unknown cause";
    }
}

/* ---------------------------------------------------------------- regions */
/* Protection bits: the values of mm/vmm.h's VMM_PROT_* (the kernel checks). */
#define SYS_PROT_NONE 0x0u
#define SYS_PROT_READ 0x1u
#define SYS_PROT_WRITE 0x2u /* implies READ on x86 */
#define SYS_PROT_EXEC 0x4u  /* recorded; not enforced without NX */
#define SYS_PROT_RW (SYS_PROT_READ | SYS_PROT_WRITE)
#define SYS_PROT_MASK 0x7u

#define SYS_RESERVE_COMMIT 0x1u /* reserve: commit the whole range too (lazily) */
#define SYS_COMMIT_EAGER 0x1u   /* commit: back every page now */
#define SYS_DECOMMIT_KEEP 0x1u  /* decommit: drop the frames but stay committed (zero on touch) */

/* Region states reported by query: the values of enum vmm_region_state. */
#define SYS_REGION_RESERVED 1
#define SYS_REGION_COMMITTED 2
#define SYS_REGION_GUARD 3
#define SYS_REGION_MAPPED 4

/* Which part of the layout a region belongs to (query). */
#define SYS_AREA_RESERVE 0 /* made by the process with reserve */
#define SYS_AREA_IMAGE 1   /* a segment of the program */
#define SYS_AREA_BREAK 2   /* the break area (brk / sbrk) */
#define SYS_AREA_STACK 3   /* the user stack, its guard gap and guard page */
#define SYS_AREA_INFO 4    /* the per-process info page and the guard page above it */
#define SYS_AREA_LOW 5     /* the no-access range below the image */

/* query(): the region piece containing an address. */
struct sys_region_info {
    sys_uptr_t start, end; /* this piece, [start, end) */
    sys_uptr_t base;       /* start of the reservation it belongs to */
    uint32_t state;        /* SYS_REGION_* */
    uint32_t prot;         /* SYS_PROT_* */
    uint32_t backed;       /* pages of the piece that have a frame */
    uint32_t area;         /* SYS_AREA_* */
};
_Static_assert(sizeof(struct sys_region_info) == 3 * sizeof(sys_uptr_t) + 16, "ABI: sys_region_info");

/* memstat(): the machine's memory and the calling process's, in pages. */
struct sys_memstat {
    uint32_t frames_total;     /* frames the PMM manages */
    uint32_t frames_free;      /* of those, free now */
    uint32_t committed;        /* pages committed in all spaces */
    uint32_t backed;           /* of those, pages with a frame */
    uint32_t policy;           /* 0 strict, 1 overcommit (enum vmm_policy) */
    uint32_t proc_reserved;    /* pages inside the process's regions */
    uint32_t proc_committed;   /* its commit charge */
    uint32_t proc_backed;      /* its pages with a frame */
    uint32_t proc_page_tables; /* page-table frames its space owns */
    uint32_t proc_regions;     /* region records of its space */
};
_Static_assert(sizeof(struct sys_memstat) == 40, "ABI: sys_memstat");

/* ---------------------------------------------------------------- layout */
/*
 * A process's address space (docs/processes.md), the same shape in both
 * ABIs; only its top differs (USER_SPACE_END):
 *
 *   0 - 0xFFF                 page 0, never mapped
 *   0x1000 - 0x3FFFFF         reserved, no access (catches NULL + offset)
 *   USER_IMAGE_START ...      the program's segments (ELF, linked here)
 *   image end (page) ...      the break area: USER_BRK_MAX reserved bytes,
 *                             committed up to the break
 *   ...                       free: reserve(0, ...) lands here, lowest first
 *   stack guard gap           USER_STACK_GAP bytes of GUARD pages below the
 *                             stack (256 pages: stack clash)
 *   USER_STACK_TOP - SIZE     the user stack, committed lazily
 *   USER_STACK_TOP            one GUARD page
 *   USER_INFO_ADDR            the info page, read-only
 *   USER_SPACE_END - 0x1000   the info page's GUARD page: never mapped,
 *                             nothing can be reserved there
 *
 * i686: USER_SPACE_END is 0xC0000000, where the kernel half starts.
 * x86-64: 0x00007FFFFFFFF000, one page below the end of the lower
 * canonical half.  That last page stays out of user space so that no
 * instruction can end at the hole: a syscall made from it would return to
 * a non-canonical address, and sysret would fault in ring 0.
 *
 * The image area is the same in both: below 2 GiB, where -fno-pic
 * programs of the x86-64 small code model must be linked.
 */
#define USER32_SPACE_END 0xC0000000u
#define USER64_SPACE_END 0x00007FFFFFFFF000ull
#if defined(__x86_64__)
#define USER_SPACE_END USER64_SPACE_END
#else
#define USER_SPACE_END USER32_SPACE_END
#endif
#define USER_LOW_START 0x00001000u
#define USER_IMAGE_START 0x00400000u /* where user/user.ld links programs */
#define USER_IMAGE_END 0x40000000u   /* every segment ends at or below this */
#define USER_BRK_MAX 0x20000000u     /* size of the break area (512 MiB) */
#define USER_STACK_SIZE 0x00040000u  /* 256 KiB */
#define USER_STACK_TOP (USER_SPACE_END - 0x3000u) /* initial stack pointer */
#define USER_STACK_GAP 0x00100000u                /* guard gap below the stack (1 MiB) */
#define USER_INFO_ADDR (USER_SPACE_END - 0x2000u)

#define USER_INFO_MAGIC 0x4F464E49u /* "INFO" */

/*
 * The info page: at USER_INFO_ADDR in every process, read-only to it,
 * written by the kernel.  `ticks` changes behind the program's back (read
 * it through a volatile pointer); `brk` follows every brk/sbrk.  The
 * 32-bit fields come first, eight of them, so that the addresses are
 * naturally aligned and the structure has no padding in either ABI.
 */
struct user_info {
    uint32_t magic;                    /* USER_INFO_MAGIC */
    uint32_t size;                     /* sizeof(struct user_info): differs per ABI */
    int32_t pid, ppid;                 /* ppid 0: started by the kernel */
    uint32_t arg;                      /* spawn's second argument */
    uint32_t ticks;                    /* timer ticks since boot */
    uint32_t tick_hz;                  /* ticks per second */
    uint32_t reserved;                 /* zero */
    sys_uptr_t image_start, image_end; /* the segments, page-rounded */
    sys_uptr_t brk_start, brk_limit;   /* the break area [brk_start, brk_limit) */
    sys_uptr_t brk;                    /* the current break */
    sys_uptr_t stack_low, stack_top;   /* the stack, guard page excluded */
    char name[SYS_NAME_MAX];           /* the program's name in the initrd */
};
_Static_assert(sizeof(struct user_info) == 32 + 7 * sizeof(sys_uptr_t) + SYS_NAME_MAX,
               "ABI: user_info");

#endif /* KERNEL_SYSCALL_NR_H */
