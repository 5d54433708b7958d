/*
 * kernel/test/test_boot.c - in-kernel tests of the boot foundation: the
 * parsed boot information, the descriptor tables and timer, symbols, and
 * the fault reports (one fault per boot).  The same tests on i686 and
 * x86-64; each architecture's own checks are in arch/x86/test_arch.c and
 * arch/x86_64/test_arch.c.
 */
#include "karch.h"
#include "kernel/kernel.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/symbols.h"
#include "lib/format.h"

#include <string.h>

void kmain(uint32_t magic, uint32_t info_phys);

/*
 * The loader's command line was kept and its words are found.  Whatever
 * the boot (`test` for the suite, nothing under GRUB's default entry when
 * the monitor's `test` runs this), so the line itself is parsed too.
 */
KTEST(bootinfo_has_command_line)
{
    char value[32];
    KT_ASSERT(boot_info.protocol == 1 || boot_info.protocol == 2);
    KT_ASSERT(strlen(boot_info.cmdline) < sizeof boot_info.cmdline);
    for (const char *p = boot_info.cmdline; *p;) { /* each word of the real line */
        char word[32];
        unsigned n = 0;
        while (*p == ' ')
            p++;
        for (; *p && *p != ' ' && *p != '='; p++)
            if (n + 1 < sizeof word)
                word[n++] = *p;
        word[n] = 0;
        while (*p && *p != ' ')
            p++;
        if (n && n + 1 < sizeof word)
            KT_ASSERT(bootinfo_option(&boot_info, word, value, sizeof value));
    }
    KT_ASSERT(!bootinfo_option(&boot_info, "no-such-option", 0, 0));
    struct boot_info line = {0};
    strlcpy(line.cmdline, "nodemo  test=pmm_zone_limits kdebug=3", sizeof line.cmdline);
    KT_ASSERT(bootinfo_option(&line, "test", value, sizeof value));
    KT_ASSERT(strcmp(value, "pmm_zone_limits") == 0);
    KT_ASSERT(bootinfo_option(&line, "nodemo", value, sizeof value) && value[0] == 0);
    KT_ASSERT(!bootinfo_option(&line, "kdebug=3x", 0, 0) && !bootinfo_option(&line, "tes", 0, 0));
}

KTEST(memmap_sorted_disjoint_and_holds_kernel)
{
    const struct memmap *m = &boot_info.mem;
    int kernel_in_usable = 0;
    KT_ASSERT(m->count > 0);
    for (unsigned i = 0; i < m->count; i++) {
        const struct mem_range *r = &m->range[i];
        KT_ASSERT(r->length > 0);
        if (i > 0)
            KT_ASSERT(m->range[i - 1].base + m->range[i - 1].length <= r->base);
        if (r->type == MEM_USABLE && r->base <= boot_info.kernel_start &&
            r->base + r->length >= boot_info.kernel_end)
            kernel_in_usable = 1;
    }
    KT_ASSERT(kernel_in_usable);
    KT_ASSERT(memmap_usable_below_4g(m) >= 4u << 20);
}

KTEST(kernel_extent_matches_linker)
{
    extern char _kernel_end[];
    KT_EQ(boot_info.kernel_start, KERNEL_PHYS);
    KT_EQ(boot_info.kernel_end, kernel_image_phys(_kernel_end));
    KT_ASSERT(boot_info.kernel_end <= KERNEL_IMAGE_LIMIT);
}

KTEST(timer_ticks_advance)
{
    uint64_t start = pit_ticks();
    /* hlt wakes on every interrupt; a few timer periods must pass */
    for (int i = 0; i < 1000 && pit_ticks() < start + 3; i++)
        cpu_hlt();
    KT_ASSERT(pit_ticks() >= start + 3);
    KT_ASSERT(read_eflags() & EFLAGS_IF);
}

KTEST(symbols_resolve_kernel_functions)
{
    uint32_t off = 1;
    const char *name = symbol_lookup((uintptr_t)kmain, &off);
    KT_ASSERT(symbol_count() > 50);
    KT_ASSERT(name && strcmp(name, "kmain") == 0);
    KT_EQ(off, 0);
    name = symbol_lookup((uintptr_t)kmain + 5, &off);
    KT_ASSERT(name && strcmp(name, "kmain") == 0);
    KT_EQ(off, 5);
    KT_EQ(symbol_address("kmain"), (uintptr_t)kmain);
    KT_ASSERT(symbol_lookup(0x1000, &off) == 0);
}

KTEST(format_in_kernel)
{
    char buf[64];
    KT_EQ(fmt_snprintf(buf, sizeof buf, "%08x|%-4d|%s|%llu", 0xBEEFu, -7, "ok", 1ull << 40), 30);
    KT_ASSERT(strcmp(buf, "0000beef|-7  |ok|1099511627776") == 0);
}

KTEST(pagefault_decoding)
{
    char buf[64];
    pagefault_describe(PF_WRITE | PF_USER, buf, sizeof buf);
    KT_ASSERT(strcmp(buf, "not-present write user") == 0);
    pagefault_describe(PF_PRESENT | PF_FETCH, buf, sizeof buf);
    KT_ASSERT(strcmp(buf, "protection fetch supervisor") == 0);
}

/* ---------------------------------------------------------------- fault tests */

KTEST_FAULT(fault_null_deref,
            "page fault (#14) in kernel mode|not-present read supervisor|(cr2)=0x00000000|"
            "<ktest_fn_fault_null_deref+|backtrace:|<ktest_run+")
{
    volatile uint32_t *null = 0;
    kprintf("read from address 0: 0x%x\n", *null);
}

KTEST_FAULT(fault_identity_map_dropped, "page fault (#14)|(cr2)=0x" KARCH_ADDR_PAD "00100000")
{
    /* the kernel's physical address: mapped at boot, dropped in the higher half */
    volatile uint32_t *identity = (volatile uint32_t *)KERNEL_PHYS;
    kprintf("read from the old identity map: 0x%x\n", *identity);
}

static volatile unsigned recurse_limit = 0xFFFFFFFFu; /* never reached: the stack ends first */

unsigned __attribute__((noinline)) recurse(unsigned depth)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    if (depth >= recurse_limit)
        return 0;
    return recurse(depth + 1) + pad[0];
}

KTEST_FAULT(fault_stack_overflow, "double fault (#8)|kernel stack overflow|<recurse+")
{
    kprintf("recursing until the boot stack overflows\n");
    kprintf("%u\n", recurse(0));
}

KTEST_FAULT(fault_divide_error, "divide error (#0) in kernel mode|<ktest_fn_fault_divide_error+")
{
    volatile unsigned zero = 0;
    kprintf("%u\n", 10u / zero);
}

KTEST_FAULT(fault_invalid_opcode, "invalid opcode (#6)|<ktest_fn_fault_invalid_opcode+")
{
    __asm__ volatile("ud2");
}

KTEST_FAULT(fault_panic_backtrace,
            "PANIC: deliberate panic 42|backtrace:|<ktest_fn_fault_panic_backtrace+|last kernel log lines")
{
    panic("deliberate panic %d", 42);
}
