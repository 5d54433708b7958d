/*
 * kernel/monitor_cmds.c - the monitor's commands (see monitor.h and
 * docs/monitor.md).  Each reads the memory layers through their public
 * interfaces only (pmm_frame_state, vmm_query_region_next, heap_stats...)
 * and prints; none changes memory state except run, kill, test and bench,
 * which do what the same code does at boot.
 *
 * A handler returns 0, -1 after printing its own error line, or
 * MONITOR_USAGE for the dispatcher to print the usage line.
 */
#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/kbench.h"
#include "kernel/kernel.h"
#include "kernel/kmalloc.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/monitor.h"
#include "kernel/process.h"
#include "lib/format.h"
#include "mm/heap_composite.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#include <string.h>

#define PICTURE_WIDTH 64 /* cells per line of the `mem` picture */
#define PICTURE_LINES 8  /* at most; a cell covers a power of two of frames */
#define ZONE_BAR 30      /* characters of a zone's usage bar (`mem`) */
#define HEAP_BAR 20      /* characters of a heap's usage bar (`heap`) */
#define LIST_WIDTH 78    /* columns of a list of names (the VGA console has 80) */

/*
 * A decimal or 0x-prefixed hexadecimal number that fits in 32 bits,
 * nothing else: returns 0 and sets *out, or -1.
 */
static int parse_u32(const char *s, uint32_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -1;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return -1;
        v = v * base + d;
        if (v > 0xFFFFFFFFull)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int last_background_pid; /* for `$!`, as in a shell */

/* A process id: a positive decimal number, or `$!` (the last program `run ... &` started). */
static int parse_pid(const char *s, int *pid)
{
    uint32_t v;
    if (strcmp(s, "$!") == 0) {
        *pid = last_background_pid;
        return last_background_pid ? 0 : -1;
    }
    if (parse_u32(s, &v) < 0 || v == 0 || v > 0x7FFFFFFFu)
        return -1;
    *pid = (int)v;
    return 0;
}

/* width characters in brackets: used (#), reserved (R), free (.), in proportion to total. */
static void print_bar(size_t used, size_t reserved, size_t total, unsigned width)
{
    unsigned u = total ? (unsigned)((uint64_t)used * width / total) : 0;
    unsigned r = total ? (unsigned)((uint64_t)reserved * width / total) : 0;
    kputc('[');
    for (unsigned i = 0; i < width; i++)
        kputc(i < u ? '#' : i < u + r ? 'R' : '.');
    kputc(']');
}

/* ---------------------------------------------------------------- help */

static int cmd_help(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    kprintf("Commands (arguments in [] are optional):\n");
    for (unsigned i = 0; i < monitor_cmd_count; i++) {
        const struct monitor_cmd *c = &monitor_cmds[i];
        kprintf("  %-6s %-17s %s\n", c->name, c->args, c->summary);
    }
    kprintf("Keys: Backspace, Delete, Home, End, left/right; up/down: history;\n"
            "  Ctrl-U erases the line, Ctrl-C drops it; Ctrl-A/Ctrl-E as Home/End\n"
            "  (under `make run` QEMU takes Ctrl-A: press it twice)\n");
    return 0;
}

/* ---------------------------------------------------------------- mem */

/*
 * The character for frames [pfn, pfn + count): 'K' if the kernel image
 * lies there, else the most common state among them ('#' used, '.' free,
 * 'R' reserved; ties go to used, then reserved), ' ' if none is RAM.
 */
static char frame_cell(uint32_t pfn, uint32_t count)
{
    uint32_t kfirst = boot_info.kernel_start >> 12, kend = (boot_info.kernel_end + 0xFFFu) >> 12;
    if (pfn < kend && kfirst < pfn + count)
        return 'K';
    uint32_t n[4] = {0, 0, 0, 0};
    for (uint32_t f = pfn; f < pfn + count; f++)
        n[pmm_frame_state(f << 12)]++;
    if (!n[PMM_FRAME_USED] && !n[PMM_FRAME_FREE] && !n[PMM_FRAME_RESERVED])
        return ' ';
    if (n[PMM_FRAME_USED] >= n[PMM_FRAME_FREE] && n[PMM_FRAME_USED] >= n[PMM_FRAME_RESERVED])
        return '#';
    return n[PMM_FRAME_RESERVED] >= n[PMM_FRAME_FREE] ? 'R' : '.';
}

static void print_zone_bars(void)
{
    static const char *const zone_name[PMM_ZONE_COUNT] = {"<1M", "<16M", "high"};
    struct pmm_stats st;
    pmm_get_stats(&st);
    kprintf("  %-5s %-*s %8s %8s %8s %8s\n", "zone", ZONE_BAR + 2, "frames (#=used R=reserved)",
            "total", "used", "reserved", "free");
    for (unsigned z = 0; z < PMM_ZONE_COUNT; z++) {
        const struct pmm_zone_stats *zs = &st.zone[z];
        kprintf("  %-5s ", zone_name[z]);
        print_bar(zs->used, zs->reserved, zs->total, ZONE_BAR);
        kprintf(" %8zu %8zu %8zu %8zu\n", zs->total, zs->used, zs->reserved, zs->free);
    }
}

static int cmd_mem(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    uint32_t first, end;
    pmm_span(&first, &end);
    first &= ~(uint32_t)(PICTURE_WIDTH - 1); /* lines start at a round address */
    uint32_t per_cell = 1;
    while ((uint64_t)per_cell * PICTURE_WIDTH * PICTURE_LINES < end - first)
        per_cell <<= 1;
    kprintf("Physical memory 0x%08llx-0x%08llx: %u frames per cell (%u KiB)\n",
            (unsigned long long)first << 12, (unsigned long long)end << 12, per_cell, per_cell * 4);
    uint32_t per_line = per_cell * PICTURE_WIDTH;
    for (uint32_t line = first; line < end; line += per_line) {
        kprintf("  0x%08llx ", (unsigned long long)line << 12);
        for (uint32_t pfn = line; pfn < line + per_line && pfn < end; pfn += per_cell)
            kputc(frame_cell(pfn, end - pfn < per_cell ? end - pfn : per_cell));
        kputc('\n');
    }
    kprintf("  K=kernel #=used R=reserved .=free ' '=not RAM (a cell: its commonest state)\n");
    print_zone_bars();
    return 0;
}

/* ---------------------------------------------------------------- pmm */

static int cmd_pmm(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    pmm_print_stats();
    int bad = pmm_check();
    kprintf("pmm_check: %d violation%s\n", bad, bad == 1 ? "" : "s");
    return 0;
}

/* ---------------------------------------------------------------- vmm */

static const char *region_state_name(enum vmm_region_state s)
{
    switch (s) {
    case VMM_REGION_RESERVED: return "reserved";
    case VMM_REGION_COMMITTED: return "committed";
    case VMM_REGION_GUARD: return "guard";
    case VMM_REGION_MAPPED: return "mapped";
    default: return "free";
    }
}

/* The region's flags as words separated by blanks ("" if none). */
static void region_flags(unsigned flags, char *out, size_t size)
{
    static const struct {
        unsigned bit;
        const char *word;
    } names[] = {{VMM_REGION_PERMANENT, "permanent"}, {VMM_REGION_FOREIGN, "boot"},
                 {VMM_REGION_PAGES, "page-block"},    {VMM_REGION_KSTACK, "kstack"}};
    size_t len = 0;
    out[0] = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0] && len < size; i++)
        if (flags & names[i].bit)
            len += (size_t)fmt_snprintf(out + len, size - len, "%s%s", len ? " " : "",
                                        names[i].word);
}

/*
 * A region's range: start-end with 32-bit addresses; with 64-bit ones the
 * start alone (the pages column gives the size), so that a line still
 * fits the VGA console's 80 columns.
 */
#define RANGE_WITH_END (sizeof(uintptr_t) == 4)
#define RANGE_COLUMN (RANGE_WITH_END ? 21 : 18)

static void print_range(uintptr_t start, uintptr_t end)
{
    if (RANGE_WITH_END)
        kprintf("  0x%08lx-0x%08lx", (unsigned long)start, (unsigned long)end);
    else
        kprintf("  0x%016lx", (unsigned long)start);
}

static void print_region(const struct vmm_region_info *r)
{
    char flags[48];
    region_flags(r->flags, flags, sizeof flags);
    print_range(r->start, r->end);
    kprintf(" %7lu %-9s %c%c%c %7zu%s%s\n", (unsigned long)((r->end - r->start) >> 12),
            region_state_name(r->state),
            (r->prot & VMM_PROT_READ) ? 'r' : '-', (r->prot & VMM_PROT_WRITE) ? 'w' : '-',
            (r->prot & VMM_PROT_EXEC) ? 'x' : '-', r->backed, flags[0] ? "  " : "", flags);
}

/*
 * Every region piece of space in [from, to), then the space's totals.  The
 * kernel half's page tables belong to no space (every directory shares
 * them), so for the kernel space the VMM's global count is shown.
 */
static void print_space(struct vmm_space *space, uintptr_t from, uintptr_t to)
{
    struct vmm_region_info info;
    struct vmm_space_stats st;
    kprintf("  %-*s %7s %-9s %3s %7s  %s\n", RANGE_COLUMN, RANGE_WITH_END ? "range" : "start",
            "pages", "state", "prt", "backed", "flags");
    for (uintptr_t a = from; a < to && vmm_query_region_next(space, a, &info) == 0 && info.start < to;
         a = info.end) {
        print_region(&info);
        if (info.end == 0)
            break; /* the last piece ends at the top of the address space */
    }
    vmm_space_get_stats(space, &st);
    kprintf("  %zu regions: %zu pages reserved, %zu committed, %zu backed, %zu mapped\n",
            st.regions, st.reserved, st.committed, st.backed, st.mapped);
    if (space == vmm_kernel_space()) {
        struct vmm_stats vs;
        vmm_get_stats(&vs);
        kprintf("  %zu page tables map the kernel half, shared by every address space\n",
                vs.kernel_page_tables);
    } else {
        kprintf("  %zu page tables of its own (the kernel half's are shared)\n", st.page_tables);
    }
}

static int cmd_vmm(int argc, char **argv)
{
    if (argc > 2)
        return MONITOR_USAGE;
    if (argc == 1) {
        kprintf("Kernel space (shared by every address space):\n");
        print_space(vmm_kernel_space(), VMM_KERNEL_BASE, VMM_KERNEL_END);
        return 0;
    }
    int pid;
    if (parse_pid(argv[1], &pid) < 0)
        return MONITOR_USAGE;
    struct vmm_space *space = process_space(pid);
    if (!space) {
        kprintf("vmm: no process %d with an address space (`ps` lists them)\n", pid);
        return -1;
    }
    kprintf("Process %d, user half:\n", pid);
    print_space(space, VMM_USER_START, VMM_USER_END);
    return 0;
}

/* ---------------------------------------------------------------- heap */

static void print_heap(const char *label, struct heap *h)
{
    struct heap_stats st;
    heap_stats(h, &st);
    size_t free_bytes = st.bytes_held > st.bytes_in_use ? st.bytes_held - st.bytes_in_use : 0;
    kprintf("  %-7s %-10s ", label, heap_name(h));
    print_bar(st.bytes_in_use, 0, st.bytes_held, HEAP_BAR);
    kprintf(" %zu of %zu bytes in use\n", st.bytes_in_use, st.bytes_held);
    kprintf("          %zu live blocks, %zu free blocks, largest free %zu", st.live_blocks,
            st.free_blocks, st.largest_free);
    /* fragmentation: the share of held-but-free bytes that one request cannot reach */
    if (st.largest_free && st.largest_free <= free_bytes)
        kprintf(" (fragmentation %u%%)",
                (unsigned)(100 - (uint64_t)st.largest_free * 100 / free_bytes));
    kprintf("\n          committed %zu bytes, peak %zu bytes in use\n", st.bytes_committed,
            st.bytes_peak);
    kprintf("          calls: %zu alloc, %zu free, %zu failed; %zu errors reported\n",
            st.alloc_calls, st.free_calls, st.failed_calls, st.reported_errors);
}

static int cmd_heap(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    static const char *const part_name[3] = {"small", "medium", "large"};
    struct heap *h = kheap();
    kprintf("Kernel heap (kmalloc), %s commit; bar: #=in use .=held but free\n",
            kheap_is_eager() ? "eager" : "lazy");
    print_heap("all", h);
    if (heap_is_composite(h))
        for (int k = 0; k < 3; k++) {
            struct heap *part = heap_composite_part(h, k);
            if (part)
                print_heap(part_name[k], part);
        }
    int bad = heap_check(h);
    kprintf("heap_check: %d violation%s\n", bad, bad == 1 ? "" : "s");
    return 0;
}

/* ---------------------------------------------------------------- processes */

static const char *process_state_name(enum process_state s)
{
    switch (s) {
    case PROC_RUNNABLE: return "runnable";
    case PROC_SLEEPING: return "sleeping";
    case PROC_WAITING: return "waiting";
    case PROC_ZOMBIE: return "zombie";
    default: return "free";
    }
}

static void print_process(const struct process *p, void *ctx)
{
    struct vmm_space_stats st = {0};
    struct vmm_space *space = process_space(p->pid);
    (void)ctx;
    if (space)
        vmm_space_get_stats(space, &st);
    kprintf("  %5d %5d %-9s %-16s %9zu %9zu %9zu\n", p->pid, p->ppid,
            process_state_name(p->state), p->name, st.reserved, st.committed, st.backed);
}

static int cmd_ps(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    kprintf("  %5s %5s %-9s %-16s %9s %9s %9s\n", "pid", "ppid", "state", "name", "reserved",
            "committed", "backed");
    process_foreach(print_process, 0);
    kprintf("  %u process%s (pages per address space)\n", process_count(),
            process_count() == 1 ? "" : "es");
    return 0;
}

/*
 * Names as wrapped lines under a heading: those containing `filter` (NULL or
 * "": all; if none contains it, all again), at most LIST_WIDTH columns a line.
 */
static void print_names(const char *heading, const char *(*name_at)(unsigned),
                        const char *filter)
{
    unsigned matches = 0, column = LIST_WIDTH;
    for (unsigned i = 0; filter && *filter && name_at(i); i++)
        matches += strstr(name_at(i), filter) != 0;
    if (!matches)
        filter = 0;
    kprintf("%s%s:", heading, filter ? " (those whose name contains it)" : "");
    for (unsigned i = 0; name_at(i); i++) {
        const char *name = name_at(i);
        if (filter && !strstr(name, filter))
            continue;
        if (column + 1 + strlen(name) > LIST_WIDTH) {
            kprintf("\n ");
            column = 1;
        }
        kprintf(" %s", name);
        column += 1 + (unsigned)strlen(name);
    }
    kprintf("\n");
}

static const char *program_name(unsigned index)
{
    struct initrd_file f;
    return process_initrd_file(index, &f) == 0 ? f.name : 0;
}

/* Say how a program ended; a kill's full report was printed by the kernel already. */
static void print_end(const char *name, int pid, int status)
{
    if (SYS_WAIT_EXITED(status))
        kprintf("run: %s (pid %d) exited with status %d\n", name, pid, SYS_WAIT_STATUS(status));
    else
        kprintf("run: %s (pid %d) was killed: %s\n", name, pid,
                sys_kill_cause_name(SYS_WAIT_CAUSE(status)));
}

/*
 * Background programs (`run PROG &`): their names, so that the line saying
 * how one ended can name it after its slot is gone.  The monitor collects
 * them between commands (monitor_collect_background).
 */
static struct {
    int pid;
    char name[SYS_NAME_MAX];
} background[PROCESS_MAX];

static void background_add(int pid, const char *name)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (!background[i].pid) {
            background[i].pid = pid;
            strlcpy(background[i].name, name, sizeof background[i].name);
            return;
        }
}

unsigned monitor_collect_background(void)
{
    unsigned ended = 0;
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        int status, pid = background[i].pid;
        if (!pid)
            continue;
        int r = process_try_wait(pid, &status);
        if (r == 0)
            continue; /* still running */
        if (r > 0)
            print_end(background[i].name, pid, status);
        /* -ECHILD: `kill` ended it and the kernel reaped it (the report said so) */
        background[i].pid = 0;
        ended++;
    }
    return ended;
}

int monitor_background_ended(void)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (background[i].pid && !process_space(background[i].pid))
            return 1; /* a zombie, or gone (killed and reaped) */
    return 0;
}

static const char *spawn_error(int err)
{
    return err == -ENOENT    ? "no such program"
           : err == -ENOEXEC ? "not a valid executable"
           : err == -ENOMEM  ? "out of memory"
           : err == -EAGAIN  ? "the process table is full"
                             : "cannot start";
}

/* `run PROG [ARG] [&]`: a trailing "&" word, or '&' glued to the last word. */
static int take_background_mark(int *argc, char **argv)
{
    char *last = argv[*argc - 1];
    size_t n = strlen(last);
    if (strcmp(last, "&") == 0) {
        argv[--*argc] = 0;
        return 1;
    }
    if (n > 1 && last[n - 1] == '&') {
        last[n - 1] = 0;
        return 1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    uint32_t arg = 0;
    int in_background = argc > 1 && take_background_mark(&argc, argv);
    if (argc < 2 || argc > 3) {
        print_names("programs", program_name, 0);
        return MONITOR_USAGE;
    }
    if (argc == 3 && parse_u32(argv[2], &arg) < 0)
        return MONITOR_USAGE;
    int pid = process_spawn(argv[1], arg, 0);
    if (pid < 0) {
        kprintf("run: %s: %s\n", argv[1], spawn_error(pid));
        if (pid == -ENOENT)
            print_names("programs", program_name, argv[1]);
        return -1;
    }
    if (in_background) {
        background_add(pid, argv[1]);
        last_background_pid = pid;
        kprintf("run: %s started in the background as pid %d (`ps`, `vmm %d`, `kill %d`)\n",
                argv[1], pid, pid, pid);
        return 0;
    }
    int status = 0;
    if (process_wait(pid, &status) < 0) {
        kprintf("run: %s (pid %d) ended and was collected by someone else\n", argv[1], pid);
        return -1;
    }
    print_end(argv[1], pid, status);
    return 0;
}

static int cmd_kill(int argc, char **argv)
{
    int pid;
    if (argc != 2 || parse_pid(argv[1], &pid) < 0)
        return MONITOR_USAGE;
    int r = process_kill_pid(pid);
    if (r < 0) {
        kprintf("kill: no running process %d (`ps` lists them)\n", pid);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- tests, benchmarks */

/*
 * Tests and benchmarks count frames and heap blocks before and after, and
 * time with the timer: a program running next to them would disturb both.
 */
static int refuse_beside_programs(const char *cmd)
{
    if (!process_count())
        return 0;
    kprintf("%s: %u program%s running; `kill` %s first (`ps` lists them)\n", cmd,
            process_count(), process_count() == 1 ? " is" : "s are",
            process_count() == 1 ? "it" : "them");
    return -1;
}

static int cmd_test(int argc, char **argv)
{
    if (argc > 2)
        return MONITOR_USAGE;
    const char *name = argc == 2 ? argv[1] : "";
    if (*name && ktest_is_fault_test(name) == 1) {
        kprintf("test: %s must fault; boot with test=%s to run it\n", name, name);
        return -1;
    }
    if (*name && ktest_is_fault_test(name) < 0) {
        kprintf("test: no test named \"%s\"\n", name);
        print_names("tests", ktest_name, name);
        return -1;
    }
    if (refuse_beside_programs("test") < 0)
        return -1;
    unsigned planned, passed;
    uint32_t flags = irq_save();
    cpu_sti(); /* tests wait for timer ticks */
    ktest_run_inline(name, &planned, &passed);
    irq_restore(flags);
    kprintf("test: %u of %u passed\n", passed, planned);
    return 0;
}

static int bench_exists(const char *name)
{
    for (unsigned i = 0; kbench_name(i); i++)
        if (strcmp(kbench_name(i), name) == 0)
            return 1;
    return 0;
}

static int cmd_bench(int argc, char **argv)
{
    if (argc > 2)
        return MONITOR_USAGE;
    if (argc == 2 && !bench_exists(argv[1])) {
        kprintf("bench: no benchmark named \"%s\"\n", argv[1]);
        print_names("benchmarks", kbench_name, 0);
        return -1;
    }
    if (refuse_beside_programs("bench") < 0)
        return -1;
    uint32_t flags = irq_save();
    cpu_sti(); /* benchmarks are timed with the timer */
    kbench_run_inline(argc == 2 ? argv[1] : 0);
    irq_restore(flags);
    return 0;
}

/* ---------------------------------------------------------------- leaving */

static int cmd_reboot(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    kprintf("Rebooting.\n");
    cpu_cli();
    /* the 8042 keyboard controller pulses the reset line: wait for its input buffer */
    for (int spins = 0; spins < 100000 && (inb(0x64) & 0x02); spins++)
        ;
    outb(0x64, 0xFE);
    /* no 8042 (or it ignored us): an empty IDT turns the next exception into a triple fault */
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uintptr_t base; /* 4 bytes on i686, 8 on x86-64: what lidt reads */
    } no_idt = {0, 0};
    __asm__ volatile("lidt %0; int3" : : "m"(no_idt));
    cpu_halt_forever();
}

/*
 * With `ktest-state` on the command line, `halt` first prints the figures
 * the gdb test compares its helpers with, as one line of name=value fields,
 * so that no test has to pick numbers out of the human-readable tables.
 */
static void print_test_state(void)
{
    struct heap *h = kheap();
    struct heap_stats st = {0};
    for (int k = 0; heap_is_composite(h) && k < 3; k++) {
        struct heap *part = heap_composite_part(h, k);
        if (part && strcmp(heap_name(part), "general") == 0)
            heap_stats(part, &st);
    }
    kprintf("ktest: state pmm_free=%zu kernel_image=0x%08x kheap_general_largest_free=%zu\n",
            pmm_free_frames(), (unsigned)boot_info.kernel_start, st.largest_free);
}

static int cmd_halt(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return MONITOR_USAGE;
    if (bootinfo_option(&boot_info, "ktest-state", 0, 0))
        print_test_state();
    kprintf("Halting.\n");
    qemu_exit(KTEST_EXIT_PASS); /* under QEMU: leave with the pass code */
    cpu_halt_forever();
}

const struct monitor_cmd monitor_cmds[] = {
    {"help", "", "this list", cmd_help},
    {"mem", "", "physical memory as a picture, per-zone usage", cmd_mem},
    {"pmm", "", "the PMM per zone and its consistency check", cmd_pmm},
    {"vmm", "[PID|$!]", "regions of the kernel space, or of a process", cmd_vmm},
    {"heap", "", "the kernel heap: usage, fragmentation, check", cmd_heap},
    {"ps", "", "processes and their pages", cmd_ps},
    {"run", "PROGRAM [ARG] [&]", "run an initrd program (& in the background)", cmd_run},
    {"kill", "PID|$!", "end a process ($!: the last one run with &)", cmd_kill},
    {"test", "[NAME]", "run the in-kernel tests, or one", cmd_test},
    {"bench", "[NAME]", "run the in-kernel benchmarks, or one", cmd_bench},
    {"reboot", "", "reset the machine", cmd_reboot},
    {"halt", "", "stop (leaves QEMU)", cmd_halt},
};
const unsigned monitor_cmd_count = sizeof monitor_cmds / sizeof monitor_cmds[0];
