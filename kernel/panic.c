/*
 * kernel/panic.c - the fault report, the double-fault report, panic().
 *
 * The backtrace follows the saved-EBP chain (the kernel is built with frame
 * pointers).  Each frame pointer is checked to lie inside a known stack and
 * to increase before it is dereferenced, so a corrupted chain ends the trace
 * instead of faulting inside the report.
 */
#include "kernel/panic.h"
#include "arch/x86/cpu.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/symbols.h"
#include "lib/format.h"

#include <stdarg.h>

#define MAX_STACKS 8
#define MAX_FRAMES 24

static int test_mode;
struct stack_bounds {
    uint32_t bottom, top;
};
static struct stack_bounds stacks[MAX_STACKS];
static unsigned stack_count;
static int in_panic;

void panic_set_test_mode(int on)
{
    test_mode = on;
}

void panic_add_stack(uint32_t bottom, uint32_t top)
{
    if (stack_count < MAX_STACKS)
        stacks[stack_count++] = (struct stack_bounds){bottom, top};
}

static int on_known_stack(uint32_t p, uint32_t bytes)
{
    for (unsigned i = 0; i < stack_count; i++)
        if (p >= stacks[i].bottom && p + bytes <= stacks[i].top && p + bytes > p)
            return 1;
    return 0;
}

static void print_address(uint32_t addr)
{
    uint32_t off;
    const char *name = symbol_lookup(addr, &off);
    if (name)
        kprintf("0x%08x <%s+0x%x>", addr, name, off);
    else
        kprintf("0x%08x", addr);
}

void backtrace_print(uint32_t eip, uint32_t ebp)
{
    kprintf("backtrace:\n");
    kprintf("  #0  ");
    print_address(eip);
    kprintf("\n");
    uint32_t last = 0, repeats = 0;
    for (int i = 1; i < MAX_FRAMES && ebp; i++) {
        if (!on_known_stack(ebp, 8)) {
            kprintf("  (frame pointer 0x%08x is not on a kernel stack: trace ends)\n", ebp);
            break;
        }
        const uint32_t *frame = (const uint32_t *)(uintptr_t)ebp;
        uint32_t ret = frame[1], next = frame[0];
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
        if (next && next <= ebp) {
            kprintf("  (frame pointer goes backwards: trace ends)\n");
            break;
        }
        ebp = next;
    }
    if (repeats)
        kprintf("      ... the same frame %u more times\n", repeats);
}

void pagefault_describe(uint32_t error, char *buf, unsigned size)
{
    fmt_snprintf(buf, size, "%s %s %s%s%s", (error & PF_PRESENT) ? "protection" : "not-present",
                 (error & PF_FETCH) ? "fetch" : (error & PF_WRITE) ? "write" : "read",
                 (error & PF_USER) ? "user" : "supervisor",
                 (error & PF_RESERVED) ? " reserved-bit" : "", "");
}

static void print_registers(const struct trap_frame *f)
{
    kprintf("  eax=%08x ebx=%08x ecx=%08x edx=%08x\n", f->eax, f->ebx, f->ecx, f->edx);
    kprintf("  esi=%08x edi=%08x ebp=%08x esp=%08x\n", f->esi, f->edi, f->ebp,
            trap_from_user(f) ? f->user_esp : f->esp_at_pusha + 20);
    kprintf("  cs=%04x ds=%04x eflags=%08x cr0=%08x cr3=%08x cr4=%08x\n", f->cs, f->ds, f->eflags,
            read_cr0(), read_cr3(), read_cr4());
}

void fault_report(const struct trap_frame *f, const char *why)
{
    unsigned v = f->vector;
    kprintf("\n*** FAULT: %s (#%u) in %s mode%s%s\n", trap_name(v), v,
            trap_from_user(f) ? "user" : "kernel", why ? ": " : "", why ? why : "");
    if (v == TRAP_PAGE_FAULT) {
        char desc[64];
        pagefault_describe(f->error, desc, sizeof desc);
        kprintf("  error=0x%x (%s)  address (cr2)=0x%08x\n", f->error, desc, read_cr2());
    } else {
        kprintf("  error=0x%x\n", f->error);
    }
    kprintf("  eip=");
    print_address(f->eip);
    kprintf("\n");
    print_registers(f);
    if (!trap_from_user(f))
        backtrace_print(f->eip, f->ebp);
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
        kprintf("\n*** fault inside the fault report (vector %u at 0x%08x)\n", f->vector, f->eip);
        stop();
    }
    fault_report(f, why);
    replay_log_for_tests();
    stop();
}

void double_fault_report(void)
{
    struct tss_state st;
    tss_faulting_state(&st);
    kprintf("\n*** FAULT: double fault (#8) in kernel mode\n");
    kprintf("  on its own stack; the faulting context was:\n");
    kprintf("  eip=");
    print_address(st.eip);
    kprintf("\n  esp=%08x ebp=%08x cr2=%08x cr3=%08x\n", st.esp, st.ebp, read_cr2(), st.cr3);
    if (!on_known_stack(st.esp, 4) || (read_cr2() & ~0xFFFu) == ((st.esp - 4) & ~0xFFFu))
        kprintf("  kernel stack overflow: esp 0x%08x ran into the guard page\n", st.esp);
    backtrace_print(st.eip, st.ebp);
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
    const uint32_t *frame = __builtin_frame_address(0);
    backtrace_print((uint32_t)(uintptr_t)__builtin_return_address(0), frame[0]);
    replay_log_for_tests();
    stop();
}
