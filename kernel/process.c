/*
 * kernel/process.c - processes: creation from the initrd, the scheduler,
 * exit, kill, wait (see process.h).
 *
 * A new process's kernel stack is built to look as if it had been switched
 * out in the middle of returning from a trap: at the top a struct
 * trap_frame that irets to the ELF entry point in ring 3, below it the
 * registers context_switch pops and a return address of the trap-return
 * path (arch_user_first_frame, per architecture).  The first switch to it
 * therefore "returns" straight into user mode.
 *
 * A process that ends (exit or kill) becomes a zombie: its address space is
 * destroyed at once (every user frame and page table back to the PMM), but
 * its kernel stack - on which it is still running - is freed by whoever
 * collects its status (process_wait), after the switch away.  Children
 * whose parent ended first are adopted by the kernel (ppid 0, `adopted`),
 * which plays init: reap_adopted() frees every adopted zombie that is not
 * the running process.  It runs after every switch (schedule), on every
 * timer tick and before a slot is looked for, so an orphan's kernel stack,
 * commit charge and slot come back at the latest one tick after it ends.
 */
#include "kernel/process.h"
#include "karch.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/log.h"
#include "kernel/pagefault.h"
#include "kernel/panic.h"
#include "lib/format.h"
#include "mm/port.h"

#include <string.h>

#define PAGE 4096u

_Static_assert(USER_STACK_GAP == VMM_STACK_GAP, "the ABI's stack gap is the VMM's");
_Static_assert(USER_INFO_ADDR + 2 * PAGE == USER_END, "the info page's guard is the last user page");


static struct process table[PROCESS_MAX];
static struct process *current;
static uintptr_t idle_sp; /* the boot context's stack while a process runs */
static int next_pid = 1;
static struct initrd initrd;
static int have_initrd;
static char last_kill[192];
static int boot_takes_turns; /* the boot context is one more member of the round */

struct process *process_current(void)
{
    return current;
}

int process_have_initrd(void)
{
    return have_initrd;
}

int process_initrd_file(unsigned index, struct initrd_file *file)
{
    return have_initrd ? initrd_file(&initrd, index, file) : -ENOENT;
}

const char *process_last_kill(void)
{
    return last_kill;
}

unsigned process_count(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        n += table[i].state != PROC_FREE;
    return n;
}

void process_foreach(void (*fn)(const struct process *p, void *ctx), void *ctx)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state != PROC_FREE)
            fn(&table[i], ctx);
}

/* ---------------------------------------------------------------- the reaper */

/* Free what is left of a zombie: its kernel stack and its slot. */
static void release_zombie(struct process *z)
{
    vmm_kstack_free(z->kstack_top);
    z->state = PROC_FREE;
}

/*
 * Collect every adopted process that has ended: nobody else will.  The
 * running process is skipped - it may be a zombie still on its own kernel
 * stack, on its way out through schedule(); the next call frees it.
 * Interrupts off.
 */
static void reap_adopted(void)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *p = &table[i];
        if (p->state == PROC_ZOMBIE && p->adopted && p != current)
            release_zombie(p);
    }
}

/* ---------------------------------------------------------------- scheduling */

/*
 * The next runnable process after the current one, round robin; NULL if
 * none (the boot context runs).  When the boot context takes turns, the
 * round ends at the end of the table and goes back to it before starting
 * over, so the monitor polls its keys between the processes' slices even
 * while one of them never sleeps.
 */
static struct process *pick_next(void)
{
    unsigned start = current ? (unsigned)(current - table) + 1 : 0;
    unsigned span = current && boot_takes_turns ? PROCESS_MAX - start : PROCESS_MAX;
    for (unsigned k = 0; k < span; k++) {
        struct process *p = &table[(start + k) % PROCESS_MAX];
        if (p->state == PROC_RUNNABLE)
            return p;
    }
    return NULL;
}

void process_boot_takes_turns(int on)
{
    boot_takes_turns = on;
}

/* Switch to next (NULL: the boot context).  Interrupts off. */
static void switch_to(struct process *next)
{
    struct process *prev = current;
    if (prev == next)
        return;
    current = next;
    if (next) {
        vmm_space_switch(&next->space);
        tss_set_kernel_stack((uintptr_t)next->kstack_top);
        next->slice = PROCESS_SLICE_TICKS;
    } else {
        vmm_space_switch(vmm_kernel_space());
    }
    context_switch(prev ? &prev->ksp : &idle_sp, next ? next->ksp : idle_sp);
}

/* Write the tick count into a process's info page (it reads the clock there). */
static void update_info_ticks(struct process *p)
{
    struct user_info *info = mm_kmap(p->info_frame);
    info->ticks = (uint32_t)pit_ticks();
    mm_kunmap(info);
}

static void schedule(void)
{
    struct process *next = pick_next();
    if (next)
        update_info_ticks(next); /* fresh when it resumes, e.g. right after a sleep */
    switch_to(next);
    reap_adopted(); /* on our own stack again: an orphan that just ended can go */
}

static int timer_tick(struct trap_frame *f)
{
    uint64_t now = pit_ticks();
    (void)f;
    reap_adopted(); /* a process that never went through schedule() did not reap */
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state == PROC_SLEEPING && table[i].wake_tick <= now)
            table[i].state = PROC_RUNNABLE;
    if (current) {
        update_info_ticks(current);
        if (--current->slice == 0)
            schedule();
    } else if (pick_next()) {
        schedule(); /* leave the idle loop for a process */
    }
    return 1;
}

void process_yield(void)
{
    uint32_t flags = irq_save();
    schedule();
    irq_restore(flags);
}

void process_sleep(unsigned ms)
{
    uint32_t flags = irq_save();
    uint64_t ticks = ((uint64_t)ms * pit_hz() + 999) / 1000;
    current->wake_tick = pit_ticks() + (ticks ? ticks : 1);
    current->state = PROC_SLEEPING;
    schedule();
    irq_restore(flags);
}

/* ---------------------------------------------------------------- creation */

static struct process *slot_alloc(void)
{
    reap_adopted(); /* ended orphans must not keep the table full */
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state == PROC_FREE) {
            memset(&table[i], 0, sizeof table[i]);
            return &table[i];
        }
    return NULL;
}

static int vmm_to_errno(int r)
{
    return r == VMM_ENOMEM ? -ENOMEM : r == VMM_EEXIST ? -EEXIST : -EINVAL;
}

/* Reserve [addr, addr + size) in p's space; 0 or -errno. */
static int reserve_at(struct process *p, uintptr_t addr, uintptr_t size, unsigned prot,
                      unsigned flags)
{
    uintptr_t a = addr;
    int r = vmm_reserve(&p->space, &a, size, prot, flags);
    return r ? vmm_to_errno(r) : 0;
}

/* The info page: a frame of our own, mapped read-only at USER_INFO_ADDR. */
static int make_info_page(struct process *p, uint32_t arg)
{
    /* its high guard is the page below the kernel half, which is never mapped */
    int r = reserve_at(p, USER_INFO_ADDR, PAGE, VMM_PROT_READ,
                       VMM_RESERVE_MAPPED | VMM_RESERVE_PERMANENT | VMM_RESERVE_GUARD_HIGH);
    if (r)
        return r;
    p->info_frame = pmm_alloc(0);
    if (p->info_frame == PMM_NONE)
        return -ENOMEM;
    if (vmm_map(&p->space, USER_INFO_ADDR, p->info_frame, PAGE, VMM_MAP_OWN)) {
        pmm_free(p->info_frame);
        return -ENOMEM;
    }
    struct user_info *info = mm_kmap(p->info_frame);
    memset(info, 0, PAGE);
    *info = (struct user_info){
        .magic = USER_INFO_MAGIC, .size = sizeof *info, .pid = p->pid, .ppid = p->ppid,
        .arg = arg, .image_start = p->image_start, .image_end = p->image_end,
        .brk_start = p->brk_start, .brk_limit = p->brk_limit, .brk = p->brk,
        .stack_low = USER_STACK_TOP - USER_STACK_SIZE, .stack_top = USER_STACK_TOP,
        .ticks = (uint32_t)pit_ticks(), .tick_hz = pit_hz(),
    };
    memcpy(info->name, p->name, sizeof info->name);
    mm_kunmap(info);
    return 0;
}

/* The layout around the image: no-access low area, break area, stack, info page. */
static int make_layout(struct process *p, const struct elf_image *img, uint32_t arg)
{
    int r;
    p->image_start = img->image_start;
    p->image_end = img->image_end;
    p->brk_start = p->brk = img->image_end;
    p->brk_limit = img->image_end + USER_BRK_MAX;
    if ((r = reserve_at(p, USER_LOW_START, img->image_start - USER_LOW_START, VMM_PROT_NONE,
                        VMM_RESERVE_PERMANENT)))
        return r;
    if ((r = reserve_at(p, p->brk_start, USER_BRK_MAX, VMM_PROT_RW, 0)))
        return r;
    /* below the stack a gap of guard pages, not one: see VMM_STACK_GAP */
    if ((r = reserve_at(p, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_SIZE, VMM_PROT_RW,
                        VMM_RESERVE_COMMIT | VMM_RESERVE_STACK_GAP | VMM_RESERVE_GUARD_HIGH |
                            VMM_RESERVE_PERMANENT)))
        return r;
    return make_info_page(p, arg);
}


static int load_program(struct process *p, const char *name, uint32_t arg)
{
    const void *file;
    size_t size;
    struct elf_image img;
    const char *why = "";
    if (!have_initrd || initrd_find(&initrd, name, &file, &size) < 0)
        return -ENOENT;
    if (elf_parse(file, size, &img, &why) < 0) {
        kprintf("spawn: %s is not a program this kernel runs: %s\n", name, why);
        return -ENOEXEC;
    }
    if (vmm_space_create(&p->space))
        return -ENOMEM;
    int r = elf_load(&p->space, file, &img);
    if (!r)
        r = make_layout(p, &img, arg);
    if (!r && !(p->kstack_top = vmm_kstack_alloc(PROCESS_KSTACK_PAGES)))
        r = -ENOMEM;
    if (r) {
        vmm_space_destroy(&p->space);
        return r;
    }
    /* the kernel stack of a process that has never run: see the top of this file */
    p->ksp = arch_user_first_frame(p->kstack_top, img.entry, USER_STACK_TOP);
    return 0;
}

int process_spawn(const char *name, uint32_t arg, int parent)
{
    uint32_t flags = irq_save();
    struct process *p = slot_alloc();
    int r = -EAGAIN;
    if (p) {
        p->state = PROC_ZOMBIE; /* taken, not runnable, while we build it */
        p->pid = next_pid;
        p->ppid = parent;
        strlcpy(p->name, name, sizeof p->name);
        r = load_program(p, name, arg);
        if (r == 0) {
            next_pid++;
            p->state = PROC_RUNNABLE;
            r = p->pid;
        } else {
            p->state = PROC_FREE;
        }
    }
    irq_restore(flags);
    return r;
}

/* ---------------------------------------------------------------- ending */

static void wake_parent(const struct process *child)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *p = &table[i];
        if (p->state == PROC_WAITING && p->pid == child->ppid &&
            (p->wait_for == SYS_WAIT_ANY || p->wait_for == child->pid))
            p->state = PROC_RUNNABLE;
    }
}

/*
 * Turn p into a zombie with `status`: its address space goes back now, its
 * children are adopted by the kernel (those already ended are reaped on
 * the spot), its parent is woken.  Its kernel stack stays until the status
 * is collected.  Interrupts off; p is not running on its own space any
 * more (the caller loaded the kernel's).
 */
static void make_zombie(struct process *p, int status)
{
    p->status = status;
    vmm_space_destroy(&p->space);
    p->state = PROC_ZOMBIE;
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state != PROC_FREE && table[i].ppid == p->pid && table[i].kstack_top) {
            table[i].ppid = 0;
            table[i].adopted = 1;
        }
    wake_parent(p);
    reap_adopted();
}

/* End the current process: its memory goes now, its kernel stack when collected. */
static __attribute__((noreturn)) void end_current(int status)
{
    cpu_cli();
    vmm_space_switch(vmm_kernel_space());
    make_zombie(current, status);
    schedule();
    panic("end_current: a zombie was scheduled");
}

void process_exit(int status)
{
    end_current(status & 0xFF);
}

static const char *access_text(unsigned long error)
{
    if (error & PF_FETCH)
        return "execute";
    return (error & PF_WRITE) ? "write" : "read";
}

void process_kill(const struct trap_frame *f, int cause, uintptr_t addr, const char *why)
{
    struct process *p = current;
    unsigned long pc = trap_pc(f);
    if (f->vector == TRAP_PAGE_FAULT)
        fmt_snprintf(last_kill, sizeof last_kill,
                     "process %d (%s) killed: page fault at 0x%08lx, " TRAP_PC_NAME
                     " 0x%08lx, %s access: %s",
                     p->pid, p->name, (unsigned long)addr, pc, access_text(f->error), why);
    else
        fmt_snprintf(last_kill, sizeof last_kill,
                     "process %d (%s) killed: %s (#%u), error 0x%lx, " TRAP_PC_NAME " 0x%08lx%s%s",
                     p->pid, p->name, trap_name(f->vector), (unsigned)f->vector,
                     (unsigned long)f->error, pc, why ? ": " : "", why ? why : "");
    kprintf("*** %s\n", last_kill);
    end_current(SYS_WAIT_KILLED | cause);
}

/* ---------------------------------------------------------------- waiting */

static struct process *find_zombie_child(int parent, int pid)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *p = &table[i];
        if (p->state == PROC_ZOMBIE && p->ppid == parent && p->kstack_top && !p->adopted &&
            (pid == SYS_WAIT_ANY || p->pid == pid))
            return p;
    }
    return NULL;
}

static int has_child(int parent, int pid)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state != PROC_FREE && table[i].ppid == parent && !table[i].adopted &&
            (pid == SYS_WAIT_ANY || table[i].pid == pid))
            return 1;
    return 0;
}

static struct process *find_pid(int pid)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state != PROC_FREE && table[i].pid == pid)
            return &table[i];
    return NULL;
}

int process_wait_ended(int pid)
{
    uint32_t flags = irq_save();
    int self = current ? current->pid : 0, r;
    for (;;) {
        struct process *z = find_zombie_child(self, pid);
        if (z) {
            r = z->pid;
            break;
        }
        if (!has_child(self, pid)) {
            r = -ECHILD;
            break;
        }
        if (current) {
            current->state = PROC_WAITING;
            current->wait_for = pid;
            schedule();
        } else {
            cpu_sti(); /* the boot context idles; the timer runs the children */
            cpu_hlt();
            cpu_cli();
        }
    }
    irq_restore(flags);
    return r;
}

int process_status(int pid)
{
    struct process *z = find_pid(pid);
    return z ? z->status : -1;
}

int process_reap(int pid)
{
    uint32_t flags = irq_save();
    struct process *z = find_pid(pid);
    int r = -ECHILD;
    if (z && z->state == PROC_ZOMBIE) {
        release_zombie(z);
        r = pid;
    }
    irq_restore(flags);
    return r;
}

int process_try_wait(int pid, int *status)
{
    uint32_t flags = irq_save();
    int self = current ? current->pid : 0, r = 0;
    struct process *z = find_zombie_child(self, pid);
    if (z) {
        r = z->pid;
        if (status)
            *status = z->status;
        process_reap(r);
    } else if (!has_child(self, pid)) {
        r = -ECHILD;
    }
    irq_restore(flags);
    return r;
}

int process_wait(int pid, int *status)
{
    int r = process_wait_ended(pid);
    if (r < 0)
        return r;
    if (status)
        *status = process_status(r);
    return process_reap(r);
}

struct vmm_space *process_space(int pid)
{
    struct process *p = find_pid(pid);
    return p && p->state != PROC_ZOMBIE ? &p->space : NULL;
}

int process_kill_pid(int pid)
{
    if (pid <= 0)
        return -EINVAL;
    uint32_t flags = irq_save();
    struct process *p = find_pid(pid);
    if (!p || p->state == PROC_ZOMBIE) {
        irq_restore(flags);
        return -ESRCH;
    }
    fmt_snprintf(last_kill, sizeof last_kill, "process %d (%s) killed: by request", p->pid,
                 p->name);
    kprintf("*** %s\n", last_kill);
    if (p == current)
        end_current(SYS_WAIT_KILLED | SYS_KILL_REQUESTED);
    /* switched out: nothing runs on its space or its kernel stack now */
    make_zombie(p, SYS_WAIT_KILLED | SYS_KILL_REQUESTED); /* reaps p if it was adopted */
    if (p->ppid == 0 && p->state == PROC_ZOMBIE)
        release_zombie(p);
    irq_restore(flags);
    return 0;
}

/* ---------------------------------------------------------------- faults */

static int user_page_fault(struct trap_frame *f, uintptr_t addr, int vmm_code, const char *why)
{
    if (!current)
        return 0;
    int cause = vmm_code == VMM_FAULT_NOMEM ? SYS_KILL_NO_MEMORY : SYS_KILL_PAGE_FAULT;
    process_kill(f, cause, addr, why);
}

static int user_exception(struct trap_frame *f, const char *why)
{
    if (!current)
        return 0;
    int cause = f->vector == 13 ? SYS_KILL_PROTECTION : SYS_KILL_EXCEPTION;
    if (f->vector == 13 && !why)
        why = "a privileged or I/O instruction, or a bad segment";
    process_kill(f, cause, 0, why);
}

void process_init(const void *image, size_t size)
{
    if (image && initrd_open(image, size, &initrd) == 0)
        have_initrd = 1;
    else if (image)
        kprintf("initrd: refused: %s\n", initrd.error ? initrd.error : "?");
    pagefault_set_user_hook(user_page_fault);
    panic_set_user_fault_hook(user_exception);
    pit_set_tick_hook(timer_tick);
    syscall_init();
}
