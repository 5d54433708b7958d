/*
 * kernel/stack_protector.h - the kernel's side of -fstack-protector-strong.
 *
 * GCC puts a copy of __stack_chk_guard between the locals and the return
 * address of every function with an array or an address-taken local, and
 * calls __stack_chk_fail when the copy has changed at return: a local
 * buffer overrun.  The guard starts as a fixed value with a zero byte (so a
 * string overrun cannot reproduce it) and stack_guard_init makes it
 * unpredictable from the TSC.
 */
#ifndef KERNEL_STACK_PROTECTOR_H
#define KERNEL_STACK_PROTECTOR_H

/*
 * Randomise the guard.  Call it first thing in kmain: every function active
 * at that moment keeps the old copy, so none of them may return afterwards
 * (kmain never returns).
 */
void stack_guard_init(void);

/* Called by compiled code on a smashed frame: reports the function and panics. */
__attribute__((noreturn)) void __stack_chk_fail(void);

#endif
