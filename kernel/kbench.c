/*
 * kernel/kbench.c - runs the KBENCH benchmarks (see kbench.h).
 */
#include "kernel/kbench.h"
#include "karch.h"
#include "kernel/ktest.h"
#include "kernel/log.h"

#include <string.h>

extern const struct kbench __kbench_start[], __kbench_end[];

unsigned long long kbench_cycles_per_ms(void)
{
    static unsigned long long cached;
    if (cached)
        return cached;
    /* count TSC cycles over 10 timer ticks (100 ms at 100 Hz) */
    uint64_t t = pit_ticks();
    while (pit_ticks() == t)
        cpu_hlt();
    uint64_t start_tsc = rdtsc(), start = pit_ticks();
    while (pit_ticks() < start + 10)
        cpu_hlt();
    uint64_t cycles = rdtsc() - start_tsc;
    cached = cycles / (10ull * 1000 / pit_hz());
    return cached ? cached : 1;
}

int kbench_run_inline(const char *only)
{
    int ran = 0;
    for (const struct kbench *b = __kbench_start; b < __kbench_end; b++)
        ran += !only || !*only || strcmp(b->name, only) == 0;
    if (!ran)
        return -1;
    kprintf("kbench: TSC %llu cycles per ms (emulated: compare ratios, not absolutes)\n",
            kbench_cycles_per_ms());
    for (const struct kbench *b = __kbench_start; b < __kbench_end; b++) {
        if (only && *only && strcmp(b->name, only) != 0)
            continue;
        kprintf("kbench: begin %s\n", b->name);
        b->fn();
        kprintf("kbench: end %s\n", b->name);
    }
    kprintf("kbench: done\n");
    return 0;
}

const char *kbench_name(unsigned index)
{
    const struct kbench *b = __kbench_start + index;
    return b < __kbench_end ? b->name : 0;
}

void kbench_run(void)
{
    kbench_run_inline(0);
    qemu_exit(KTEST_EXIT_PASS);
    cpu_halt_forever();
}
