/*
 * kernel/panic.c - the fault report, the double-fault report, panic().
 *
 * The backtrace follows the saved-EBP chain (the kernel is built with frame
 * pointers).  Each frame pointer is checked to lie inside a known stack and
 * to increase before it is dereferenced, so a corrupted chain ends the trace
 * instead of faulting inside the report.
 */
#include "kernel/panic.h"
#include "karch.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/symbols.h"
#include "lib/format.h"

#include <stdarg.h>

#define MAX_STACKS 8
#define MAX_FRAMES 24

static int test_mode;
struct stack_bounds {
    uintptr_t bottom, top;
};
static struct stack_bounds stacks[MAX_STACKS];
static unsigned stack_count;
static int in_panic;

void panic_set_test_mode(int on)
{
    test_mode = on;
}

void panic_add_stack(uintptr_t bottom, uintptr_t top)
{
    if (stack_count < MAX_STACKS)
        stacks[stack_count++] = (struct stack_bounds){bottom, top};
}

static int on_known_stack(uintptr_t p, uintptr_t bytes)
{
    for (unsigned i = 0; i < stack_count; i++)
        if (p >= stacks[i].bottom && p + bytes <= stacks[i].top && p + bytes > p)
            return 1;
    return 0;
}

/* Addresses print at the machine's width: 8 hex digits on i686, 16 on x86-64. */
#define ADDR_DIGITS ((int)sizeof(uintptr_t) * 2)

static void print_address(uintptr_t addr)
{
    uint32_t off;
    const char *name = symbol_lookup(addr, &off);
    if (name)
        kprintf("0x%0*lx <%s+0x%x>", ADDR_DIGITS, (unsigned long)addr, name, off);
    else
        kprintf("0x%0*lx", ADDR_DIGITS, (unsigned long)addr);
}

void backtrace_print(uintptr_t pc, uintptr_t fp)
{
    kprintf("backtrace:\n");
    kprintf("  #0  ");
    print_address(pc);
    kprintf("\n");
    uintptr_t last = 0;
    unsigned repeats = 0;
    for (int i = 1; i < MAX_FRAMES && fp; i++) {
        if (!on_known_stack(fp, 2 * sizeof(uintptr_t))) {
            kprintf("  (frame pointer 0x%0*lx is not on a kernel stack: trace ends)\n", ADDR_DIGITS,
                    (unsigned long)fp);
            break;
        }
        /* a frame: the caller's frame pointer, then the return address */
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t ret = frame[1], next = frame[0];
        if (!ret)
            break;
        if (ret == last) { /* deep recursion: say how deep instead of repeating */
            repeats++;
            i--;
        } else {
            if (repeats)
                kprintf("      ... the same frame %u more times\n", repeats);
            repeats = 0;
            last = ret;
            kprintf("  #%-2d ", i);
            print_address(ret);
            kprintf("\n");
        }
        if (next && next <= fp) {
            kprintf("  (frame pointer goes backwards: trace ends)\n");
            break;
        }
        fp = next;
    }
    if (repeats)
        kprintf("      ... the same frame %u more times\n", repeats);
}

void pagefault_describe(unsigned long error, char *buf, unsigned size)
{
    fmt_snprintf(buf, size, "%s %s %s%s%s", (error & PF_PRESENT) ? "protection" : "not-present",
                 (error & PF_FETCH) ? "fetch" : (error & PF_WRITE) ? "write" : "read",
                 (error & PF_USER) ? "user" : "supervisor",
                 (error & PF_RESERVED) ? " reserved-bit" : "", "");
}

void fault_report(const struct trap_frame *f, const char *why)
{
    unsigned v = f->vector;
    kprintf("\n*** FAULT: %s (#%u) in %s mode%s%s\n", trap_name(v), v,
            trap_from_user(f) ? "user" : "kernel", why ? ": " : "", why ? why : "");
    if (v == TRAP_PAGE_FAULT) {
        char desc[64];
        pagefault_describe(f->error, desc, sizeof desc);
        kprintf("  error=0x%lx (%s)  address (cr2)=0x%0*lx\n", (unsigned long)f->error, desc,
                ADDR_DIGITS, read_cr2());
    } else {
        kprintf("  error=0x%lx\n", (unsigned long)f->error);
    }
    kprintf("  %s=", TRAP_PC_NAME);
    print_address(trap_pc(f));
    kprintf("\n");
    arch_print_registers(f);
    if (!trap_from_user(f))
        backtrace_print(trap_pc(f), trap_frame_pointer(f));
}

/* In a test run, what led up to a fault or panic: the tail of the kernel log. */
static void replay_log_for_tests(void)
{
    if (!test_mode)
        return;
    kprintf("--- last kernel log lines ---\n");
    log_replay_tail(12);
    kprintf("-----------------------------\n");
}

static __attribute__((noreturn)) void stop(void)
{
    if (test_mode) {
        kprintf("ktest: fault report complete\n");
        qemu_exit(KTEST_EXIT_FAULT);
    }
    kprintf("*** kernel halted\n");
    cpu_halt_forever();
}

static user_fault_fn user_fault_hook;

void panic_set_user_fault_hook(user_fault_fn fn)
{
    user_fault_hook = fn;
}

void trap_unhandled(struct trap_frame *f)
{
    /* a ring-3 exception kills the process, never the kernel */
    if (trap_from_user(f) && user_fault_hook && user_fault_hook(f, 0))
        return;
    fault_fatal(f, 0);
}

void fault_fatal(const struct trap_frame *f, const char *why)
{
    if (in_panic++) {
        kprintf("\n*** fault inside the fault report (vector %u at 0x%0*lx)\n", (unsigned)f->vector,
                ADDR_DIGITS, (unsigned long)trap_pc(f));
        stop();
    }
    fault_report(f, why);
    replay_log_for_tests();
    stop();
}

void double_fault_report(const struct fault_context *c)
{
    uintptr_t page = (uintptr_t)read_cr2() & ~(uintptr_t)0xFFF;
    kprintf("\n*** FAULT: double fault (#8) in kernel mode\n");
    kprintf("  on its own stack; the faulting context was:\n");
    kprintf("  %s=", TRAP_PC_NAME);
    print_address(c->pc);
    kprintf("\n  sp=%0*lx fp=%0*lx cr2=%0*lx cr3=%0*lx\n", ADDR_DIGITS, (unsigned long)c->sp,
            ADDR_DIGITS, (unsigned long)c->fp, ADDR_DIGITS, read_cr2(), ADDR_DIGITS,
            (unsigned long)c->cr3);
    if (!on_known_stack(c->sp, sizeof(uintptr_t)) || page == ((c->sp - sizeof(uintptr_t)) & ~(uintptr_t)0xFFF))
        kprintf("  kernel stack overflow: sp 0x%0*lx ran into the guard page\n", ADDR_DIGITS,
                (unsigned long)c->sp);
    backtrace_print(c->pc, c->fp);
    stop();
}

void panic(const char *fmt, ...)
{
    va_list ap;
    cpu_cli();
    kprintf("\n*** PANIC: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    /* start at our caller: its return address, then the frame above ours */
    const uintptr_t *frame = __builtin_frame_address(0);
    backtrace_print((uintptr_t)__builtin_return_address(0), frame[0]);
    replay_log_for_tests();
    stop();
}
