/*
 * kernel/panic.h - panics and fault reports.
 *
 * An unexpected exception prints a report a person can act on: the
 * exception's name and number, the error code decoded (for a page fault:
 * present/write/user/reserved/fetch), EIP and CR2 with symbol names, the
 * registers, and a backtrace.  Then, in a test run, QEMU is left with the
 * fault exit code; in a normal boot the kernel halts.
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "karch.h"

#include <stdint.h>

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* Print "#n 0x... <function+0x..>" for each frame, starting at pc and the frame at fp. */
void backtrace_print(uintptr_t pc, uintptr_t fp);

/* Print the report for frame f (also used by later layers before killing a process). */
void fault_report(const struct trap_frame *f, const char *why);

/* Report the fault (with `why`, may be NULL) and stop: halt, or leave QEMU in a test run. */
__attribute__((noreturn)) void fault_fatal(const struct trap_frame *f, const char *why);

/* Decode a page-fault error code into buf: "not-present write supervisor". */
void pagefault_describe(unsigned long error, char *buf, unsigned size);

/*
 * Where a ring-3 exception goes (processes install it): returns 1 when the
 * process was killed and f now belongs to whatever runs next.
 */
typedef int (*user_fault_fn)(struct trap_frame *f, const char *why);
void panic_set_user_fault_hook(user_fault_fn fn);

/* The test run sets this so that a fault leaves QEMU instead of halting. */
void panic_set_test_mode(int on);

/* Bounds of the stacks a backtrace may walk (the frame pointer must stay inside). */
void panic_add_stack(uintptr_t bottom, uintptr_t top);

#endif
