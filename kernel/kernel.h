/*
 * kernel/kernel.h - kernel-wide declarations that have no better home.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include "kernel/bootinfo.h"

#define KERNEL_VERSION "0.1"
#define TIMER_HZ 100

/* The normalised boot information, filled once in kmain. */
extern struct boot_info boot_info;

/* Run in-kernel tests (kernel/ktest.c); never returns. */
__attribute__((noreturn)) void ktest_run(const char *only);
/* Misbehave on purpose (triple, hang, short, noplan, liar) to check the host driver. */
__attribute__((noreturn)) void ktest_selfcheck(const char *what);

#endif
