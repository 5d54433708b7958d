/*
 * kernel/kbench.h - in-kernel benchmarks.
 *
 * KBENCH(name) { ... } registers a benchmark (in the .kbench section).  When
 * the kernel is booted with `bench` on its command line it runs them all and
 * leaves QEMU; each prints its own Markdown table, between the lines
 * "kbench: begin NAME" and "kbench: end NAME", which scripts/bench.sh copies
 * into build/bench/kernel.md.  Time is measured with the TSC; under QEMU's
 * TCG the figures are emulated-CPU cycles, useful for ratios, not absolutes.
 */
#ifndef KERNEL_KBENCH_H
#define KERNEL_KBENCH_H

struct kbench {
    const char *name;
    void (*fn)(void);
};

#define KBENCH(name)                                                                               \
    static void kbench_fn_##name(void);                                                            \
    __attribute__((used, section(".kbench"), aligned(sizeof(void *)))) static const struct kbench               \
        kbench_rec_##name = {#name, kbench_fn_##name};                                             \
    static void kbench_fn_##name(void)

/* Run every benchmark, then leave QEMU (pass code).  Never returns. */
__attribute__((noreturn)) void kbench_run(void);

/*
 * Run every benchmark (only NULL or "") or the one named, and return (the
 * monitor's `bench`).  Returns 0, or -1 when `only` names no benchmark.
 */
int kbench_run_inline(const char *only);

/* The name of the index-th benchmark, NULL past the last. */
const char *kbench_name(unsigned index);

/* TSC cycles per millisecond, calibrated against the PIT at the first call. */
unsigned long long kbench_cycles_per_ms(void);

#endif
