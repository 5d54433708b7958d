/*
 * kernel/pagefault.h - the page-fault handler (see pagefault.c for the path).
 */
#ifndef KERNEL_PAGEFAULT_H
#define KERNEL_PAGEFAULT_H

#include "karch.h"

#include <stdint.h>

void pagefault_init(void);

/*
 * Called for a ring-3 fault the VMM could not resolve, with the VMM's result
 * (a VMM_FAULT_* code) and the report text; returns 1 if it dealt with it
 * (killed the process and switched away).
 */
typedef int (*pagefault_user_fn)(struct trap_frame *f, uintptr_t addr, int vmm_code,
                                 const char *why);
void pagefault_set_user_hook(pagefault_user_fn fn);

/*
 * Called for every fault the VMM could not resolve, before the report: if
 * it knows what the address is (a debug allocator's guard page or freed
 * block), it writes one line into buf (size bytes) and returns 1, and the
 * line becomes part of the fault's reason.  error: the #PF error code.
 * One explainer at a time (NULL removes it).
 */
typedef int (*pagefault_explain_fn)(uintptr_t addr, uint32_t error, char *buf, unsigned size);
void pagefault_set_explainer(pagefault_explain_fn fn);

/* How many faults in user-copy routines were turned into -EFAULT. */
unsigned long pagefault_fixups(void);

#endif
