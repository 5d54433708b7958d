/*
 * kernel/test/test_monitor.c - the memory monitor, driven by scripted input.
 *
 * Each command runs through monitor_execute (or key by key through
 * monitor_input, for the line editor) with the log captured, and the test
 * checks what it printed and what it returned.  `halt` and `reboot` end the
 * machine, so here only their argument checks run; scripts/test.sh (section
 * `monitor`) runs them for real, through the serial port.
 */
#include "karch.h"
#include "arch/x86/ps2kbd.h"
#include "arch/x86/vga.h"
#include "kernel/errno.h"
#include "kernel/ktest.h"
#include "kernel/log.h"
#include "kernel/mm_port.h"
#include "kernel/monitor.h"
#include "kernel/process.h"
#include "lib/format.h"
#include "mm/pmm.h"

#include <string.h>

static char out[16384];

/* Run one line with the log captured into out; its return value. */
static int run_line(const char *line)
{
    log_capture_begin(out, sizeof out);
    int r = monitor_execute(line);
    unsigned n = log_capture_end();
    if (n >= sizeof out)
        ktest_fail(__FILE__, __LINE__, "\"%s\" printed %u bytes, more than the buffer", line, n);
    return r;
}

/*
 * Feed keys to the line editor with the log captured; how many lines ran.
 * Tests that type wrap themselves in monitor_sandbox_begin/end, so the
 * user's history (when `test` runs from the prompt) is left alone.
 */
static int type_keys(const char *keys)
{
    int lines = 0;
    log_capture_begin(out, sizeof out);
    for (const char *k = keys; *k; k++)
        lines += monitor_input(*k);
    log_capture_end();
    return lines;
}

/* The decimal number at s. */
static unsigned long strtoul_dec(const char *s)
{
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    return v;
}

static int seen(const char *text)
{
    size_t n = strlen(text);
    for (const char *p = out; *p; p++)
        if (strncmp(p, text, n) == 0)
            return 1;
    return 0;
}

#define SEES(text)                                                                                 \
    do {                                                                                           \
        if (!seen(text)) {                                                                         \
            ktest_fail(__FILE__, __LINE__, "output lacks \"%s\": %.80s", text, out);               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

KTEST(log_capture_diverts_and_counts)
{
    char small[8];
    log_capture_begin(small, sizeof small);
    kprintf("0123456789");
    KT_EQ(log_capture_end(), 10);
    KT_ASSERT(strcmp(small, "0123456") == 0); /* cut, terminated */
    char other[8];
    log_capture_begin(other, sizeof other); /* a new capture leaves the old buffer alone */
    kprintf("abc");
    KT_EQ(log_capture_end(), 3);
    KT_ASSERT(strcmp(small, "0123456") == 0 && strcmp(other, "abc") == 0);
}

/* Reports a test provokes on purpose say so; an announced report that never comes is counted. */
KTEST(expected_misuse_reports_are_marked)
{
    log_capture_begin(out, sizeof out);
    mm_port_expect_reports(2);
    pmm_free(0); /* frame 0 is reserved: a report */
    unsigned missing = mm_port_expect_reports(0);
    pmm_free(0); /* not announced: an ordinary report */
    log_capture_end();
    KT_EQ(missing, 1);
    SEES("mm: expected: pmm_free: frame 0x00000000 is reserved\n"
         "mm: pmm_free: frame 0x00000000 is reserved\n");
}

KTEST(monitor_help_lists_every_command)
{
    KT_EQ(run_line("help"), 0);
    for (unsigned i = 0; i < monitor_cmd_count; i++)
        SEES(monitor_cmds[i].name);
    KT_EQ(run_line(""), 0);
    KT_EQ(out[0], 0); /* an empty line prints nothing */
}

KTEST(monitor_rejects_unknown_commands_and_bad_arguments)
{
    KT_EQ(run_line("frobnicate"), -1);
    SEES("unknown command \"frobnicate\"");
    static const struct {
        const char *line, *usage;
    } bad[] = {
        {"help me", "usage: help\n"},       {"mem 1", "usage: mem\n"},
        {"pmm x", "usage: pmm\n"},          {"vmm abc", "usage: vmm [PID|$!]"},
        {"vmm 0", "usage: vmm [PID|$!]"},      {"vmm 1 2", "usage: vmm [PID|$!]"},
        {"heap x", "usage: heap\n"},        {"ps -a", "usage: ps\n"},
        {"run", "usage: run PROGRAM [ARG] [&]"}, {"run hello 12z", "usage: run PROGRAM [ARG]"},
        {"run &", "usage: run PROGRAM"},     {"run hello 1 2 &", "usage: run PROGRAM"},
        {"kill", "usage: kill PID|$!"},        {"kill -3", "usage: kill PID|$!"},
        {"kill 0x", "usage: kill PID|$!"},     {"test a b", "usage: test [NAME]"},
        {"bench a b", "usage: bench [NAME]"}, {"reboot now", "usage: reboot\n"},
        {"halt now", "usage: halt\n"},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        KT_EQ(run_line(bad[i].line), -1);
        SEES(bad[i].usage);
    }
    KT_EQ(run_line("a b c d e f g h i"), -1);
    SEES("too many words");
}

KTEST(monitor_mem_pmm_heap_show_the_layers)
{
    KT_EQ(run_line("mem"), 0);
    SEES("frames per cell");
    SEES("K"); /* the kernel image is in the picture */
    SEES("  <16M  [");
    SEES("  high  [");
    KT_EQ(run_line("pmm"), 0);
    SEES("pmm: zone     total");
    SEES("pmm_check: 0 violations");
    KT_EQ(run_line("heap"), 0);
    SEES("composite");
    SEES("medium  general");
    SEES("heap_check: 0 violations");
    KT_EQ(run_line("vmm"), 0);
    SEES("Kernel space");
    char low_map[24]; /* the low map (i686) or direct map (x86-64) starts the kernel half */
    fmt_snprintf(low_map, sizeof low_map, "  0x%0*lx", (int)sizeof(uintptr_t) * 2,
                 (unsigned long)VMM_KERNEL_BASE);
    SEES(low_map);
    SEES("committed");
    SEES(" page tables map the kernel half"); /* not "0 page tables" (they are shared) */
    KT_ASSERT(!seen("  0 page tables"));
}

/* Tests that run programs need some: ring 3 on this port, and an initrd. */
#define NO_PROGRAMS "no user programs (this port has no ring 3 yet, or no initrd was loaded)"

KTEST(monitor_run_reports_exit_and_kill)
{
    if (!process_have_initrd())
        KT_SKIP(NO_PROGRAMS);
    KT_EQ(run_line("run hello"), 0);
    SEES("exited with status 0");
    KT_EQ(run_line("run kill_null 0"), 0);
    SEES("*** process ");
    SEES("killed: page fault at 0x00000000");
    SEES("(kill_null) killed: page fault"); /* the kernel's report, once */
    SEES("run: kill_null (pid ");
    SEES(") was killed: page fault\n");
    KT_ASSERT(!strstr(strstr(out, "run: kill_null"), "0x00000000")); /* not repeated */
    KT_EQ(run_line("run no_such_program"), -1);
    SEES("no_such_program: no such program");
    SEES("programs:");
    SEES(" hello");
    KT_EQ(process_count(), 0);
}

/* Every line of out is at most width columns. */
static int lines_fit(unsigned width)
{
    unsigned column = 0;
    for (const char *p = out; *p; p++) {
        column = *p == '\n' ? 0 : column + 1;
        if (column > width)
            return 0;
    }
    return 1;
}

KTEST(monitor_lists_wrap_to_the_console_width)
{
    KT_EQ(run_line("run"), -1);
    SEES("programs:");
    if (process_have_initrd())
        SEES(" worker");
    KT_ASSERT(lines_fit(80));
    KT_EQ(run_line("test mon"), -1); /* no such test: those containing "mon" */
    SEES("no test named \"mon\"");
    SEES("those whose name contains it");
    SEES(" monitor_help_lists_every_command");
    KT_ASSERT(!seen("format_in_kernel"));
    KT_EQ(run_line("test zzzz"), -1); /* nothing contains it: all of them */
    SEES(" format_in_kernel");
    KT_ASSERT(lines_fit(80));
    /* the pictures and tables fit the VGA console's 80 columns */
    static const char *const commands[] = {"help", "mem", "heap", "vmm", "ps"};
    for (unsigned i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        KT_EQ(run_line(commands[i]), 0);
        if (!lines_fit(80))
            ktest_fail(__FILE__, __LINE__, "`%s` prints lines wider than 80 columns", commands[i]);
    }
}

/* A process spawned with interrupts off stays switched out until they come back on. */
KTEST(monitor_ps_vmm_kill_a_process)
{
    if (!process_have_initrd())
        KT_SKIP(NO_PROGRAMS);
    unsigned long flags = irq_save();
    int pid = process_spawn("hello", 0, 0);
    KT_ASSERT(pid > 0);
    char line[32];
    fmt_snprintf(line, sizeof line, "vmm %d", pid);
    int r_vmm = run_line(line);
    int vmm_ok = seen("guard") && seen("committed") && seen("permanent");
    int r_ps = run_line("ps");
    int ps_ok = seen("hello") && seen("runnable") && seen("1 process ");
    fmt_snprintf(line, sizeof line, "kill %d", pid);
    int r_kill = run_line(line);
    int kill_ok = seen("killed: by request");
    int r_again = run_line(line);
    irq_restore(flags);
    KT_EQ(r_vmm, 0);
    KT_ASSERT(vmm_ok);
    KT_EQ(r_ps, 0);
    KT_ASSERT(ps_ok);
    KT_EQ(r_kill, 0);
    KT_ASSERT(kill_ok);
    KT_EQ(r_again, -1);
    SEES("no running process");
    KT_EQ(process_count(), 0); /* its parent is the kernel: reaped at once */
    KT_EQ(process_kill_pid(0), -EINVAL);
    fmt_snprintf(line, sizeof line, "vmm %d", pid);
    KT_EQ(run_line(line), -1);
    SEES("no process");
}

/*
 * `run worker &` returns at once; with interrupts off the worker stays
 * switched out, so ps, vmm PID and kill see it exactly as it was spawned.
 * Then a background program that ends by itself is collected and named.
 */
KTEST(monitor_runs_a_program_in_the_background)
{
    if (!process_have_initrd())
        KT_SKIP(NO_PROGRAMS);
    unsigned long flags = irq_save();
    KT_EQ(run_line("run worker &"), 0);
    int pid = 0;
    const char *as = strstr(out, "in the background as pid ");
    if (as)
        pid = (int)strtoul_dec(as + strlen("in the background as pid "));
    int r_test = run_line("test format_in_kernel");
    int refused = seen("1 program is running; `kill` it first");
    int r_ps = run_line("ps");
    int ps_ok = seen("worker") && seen("runnable") && seen("1 process ");
    char line[32];
    fmt_snprintf(line, sizeof line, "vmm %d", pid);
    int r_vmm = run_line(line);
    int vmm_ok = seen("Process ") && seen("page tables of its own");
    int r_kill = run_line("kill $!"); /* $!: the last program started with & */
    int kill_ok = seen("(worker) killed: by request");
    unsigned collected = monitor_collect_background();
    irq_restore(flags);
    KT_ASSERT(pid > 0);
    KT_EQ(r_test, -1);
    KT_ASSERT(refused);
    KT_EQ(r_ps, 0);
    KT_ASSERT(ps_ok);
    KT_EQ(r_vmm, 0);
    KT_ASSERT(vmm_ok);
    KT_EQ(r_kill, 0);
    KT_ASSERT(kill_ok);
    KT_EQ(collected, 1); /* dropped from the list, no second report */
    KT_EQ(process_count(), 0);
    /* one that ends by itself: the line comes when the monitor collects it */
    KT_EQ(run_line("run hello&"), 0);
    SEES("hello started in the background");
    int ended = process_wait_ended(SYS_WAIT_ANY); /* interrupts on: it runs and exits */
    KT_ASSERT(ended > 0);
    log_capture_begin(out, sizeof out);
    KT_EQ(monitor_collect_background(), 1);
    log_capture_end();
    SEES("run: hello (pid ");
    SEES(") exited with status 0");
    KT_EQ(process_count(), 0);
}

KTEST(monitor_test_and_bench_run_inline)
{
    KT_EQ(run_line("test format_in_kernel"), 0);
    SEES("ktest: ok format_in_kernel");
    SEES("test: 1 of 1 passed");
    KT_EQ(run_line("test no_such_test"), -1);
    SEES("no test named \"no_such_test\"");
    KT_EQ(run_line("test fault_null_deref"), -1);
    SEES("must fault; boot with test=fault_null_deref");
    KT_EQ(run_line("bench no_such_bench"), -1);
    SEES("no benchmark named \"no_such_bench\"\nbenchmarks:");
    SEES(" pmm");
}

KTEST(monitor_line_editor_keys_and_history)
{
    monitor_sandbox_begin();
    type_keys("\x15"); /* the line left by a failed check of another run (none in a sandbox) */
    KT_EQ(type_keys("pmX\x7fm\r"), 1); /* backspace */
    SEES("pmm_check: 0 violations");
    KT_EQ(type_keys("garbage\x15help\r\n"), 1); /* Ctrl-U; CR LF is one line end */
    SEES("Commands");
    KT_ASSERT(!seen("unknown command"));
    KT_EQ(type_keys("ee\x1b[D\x1b[Dm\x1b[C\x1b[Cm\r"), 1); /* arrows: "ee" -> "meem" */
    SEES("unknown command \"meem\"");
    KT_EQ(type_keys("\x1b[A\x1b[A\x1b[A\r"), 1); /* three back: pmm */
    SEES("pmm_check");
    KT_EQ(type_keys("\x1b[A\x1b[B\r"), 1); /* up then down: the empty line again */
    KT_ASSERT(!seen("pmm_check") && !seen("unknown"));
    KT_EQ(type_keys("xyz\x03"), 0); /* Ctrl-C drops the line */
    KT_EQ(type_keys("\r"), 1);
    KT_ASSERT(!seen("unknown"));
    KT_EQ(type_keys("\x1b[24~\x1bOx\x1b[2;5Dq\r"), 1); /* F12, ESC O x, Ctrl-Left: ignored */
    SEES("unknown command \"q\"");
    monitor_sandbox_end();
}

KTEST(monitor_line_editor_home_end_delete_ctrl_c)
{
    monitor_sandbox_begin();
    /* Home, End and Delete as xterm, the Linux console, rxvt and tmux send them */
    KT_EQ(type_keys("bcd\x1b[Ha\x1b[Fe\r"), 1);
    SEES("unknown command \"abcde\"");
    KT_EQ(type_keys("bcd\x1bOHa\x1bOFe\r"), 1);
    SEES("unknown command \"abcde\"");
    KT_EQ(type_keys("bcd\x1b[1~a\x1b[4~e\x1b[7~<\x1b[8~>\r"), 1);
    SEES("unknown command \"<abcde>\"");
    KT_EQ(type_keys("xabc\x1b[H\x1b[3~\x1b[F\x1b[3~\r"), 1); /* Delete under the cursor; at the end: nothing */
    SEES("unknown command \"abc\"");
    KT_EQ(type_keys("bc\x01" "a\x05" "d\r"), 1); /* Ctrl-A, Ctrl-E */
    SEES("unknown command \"abcd\"");
    /* Ctrl-C with the cursor mid-line: the rest of the line is shown before ^C, nothing runs */
    KT_EQ(type_keys("hello\x1b[D\x1b[D\x03"), 0);
    SEES("lo^C\n" MONITOR_PROMPT);
    KT_EQ(type_keys("\r"), 1);
    KT_ASSERT(!seen("unknown"));
    /* the up arrow brings back only what was typed here */
    KT_EQ(type_keys("\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\r"), 1);
    SEES("unknown command \"abcde\"");
    monitor_sandbox_end();
}

KTEST(monitor_sandbox_keeps_the_users_history)
{
    monitor_sandbox_begin();
    KT_EQ(type_keys("users_line\r"), 1); /* the "user" types a line */
    monitor_sandbox_begin();
    KT_EQ(type_keys("\x1b[A\r"), 1); /* a nested sandbox starts empty */
    KT_ASSERT(!seen("users_line"));
    KT_EQ(type_keys("tests_line\r"), 1);
    monitor_sandbox_end();
    KT_EQ(type_keys("\x1b[A\r"), 1); /* back: the user's last line, not the test's */
    SEES("unknown command \"users_line\"");
    monitor_sandbox_end();
}

/* Scancodes (set 1) in, the bytes a terminal would send out. */
static unsigned keys_to_bytes(const uint8_t *codes, unsigned n, char *out)
{
    struct ps2kbd_state st = {0, 0, 0, 0};
    unsigned len = 0;
    for (unsigned i = 0; i < n; i++)
        len += ps2kbd_translate(&st, codes[i], out + len);
    out[len] = 0;
    return len;
}

KTEST(ps2_keyboard_translates_like_a_terminal)
{
    char bytes[64];
    /* p, m, m, Enter, each pressed and released */
    static const uint8_t pmm[] = {0x19, 0x99, 0x32, 0xB2, 0x32, 0xB2, 0x1C, 0x9C};
    KT_EQ(keys_to_bytes(pmm, sizeof pmm, bytes), 4);
    KT_ASSERT(strcmp(bytes, "pmm\r") == 0);
    /* Shift held over 1 and a, released before 2; Backspace; space */
    static const uint8_t shifted[] = {0x2A, 0x02, 0x82, 0x1E, 0x9E, 0xAA, 0x03, 0x0E, 0x39};
    KT_EQ(keys_to_bytes(shifted, sizeof shifted, bytes), 5);
    KT_ASSERT(strcmp(bytes, "!A2\b ") == 0);
    /* Ctrl-U (left Ctrl), Ctrl-C (right Ctrl: E0 1D), Ctrl with a digit gives nothing */
    static const uint8_t ctrl[] = {0x1D, 0x16, 0x96, 0x9D, 0xE0, 0x1D, 0x2E, 0x03, 0xE0, 0x9D, 0x16};
    KT_EQ(keys_to_bytes(ctrl, sizeof ctrl, bytes), 3);
    KT_ASSERT(bytes[0] == 0x15 && bytes[1] == 0x03 && bytes[2] == 'u');
    /* arrows up, left (E0-prefixed, with their releases), Esc and F1 give nothing */
    static const uint8_t arrows[] = {0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x4B, 0xE0, 0xCB, 0x01, 0x3B};
    KT_EQ(keys_to_bytes(arrows, sizeof arrows, bytes), 6);
    KT_ASSERT(strcmp(bytes, "\x1b[A\x1b[D") == 0);
    /* Home, End, Delete, PgUp, PgDn as an xterm sends them */
    static const uint8_t edit[] = {0xE0, 0x47, 0xE0, 0x4F, 0xE0, 0x53, 0xE0, 0x49, 0xE0, 0x51};
    KT_EQ(keys_to_bytes(edit, sizeof edit, bytes), 18);
    KT_ASSERT(strcmp(bytes, "\x1b[H\x1b[F\x1b[3~\x1b[5~\x1b[6~") == 0);
}

KTEST(ps2_keyboard_shift_pgup_pgdn_scroll_the_console)
{
    struct ps2kbd_state st = {0, 0, 0, 0};
    char bytes[PS2KBD_MAX_BYTES];
    KT_EQ(ps2kbd_translate(&st, 0x2A, bytes), 0); /* Shift held */
    KT_EQ(ps2kbd_translate(&st, 0xE0, bytes), 0);
    KT_EQ(ps2kbd_translate(&st, 0x49, bytes), 0); /* PgUp: no bytes for the program */
    KT_EQ(st.scroll, 1);
    st.scroll = 0;
    KT_EQ(ps2kbd_translate(&st, 0xE0, bytes), 0);
    KT_EQ(ps2kbd_translate(&st, 0x51, bytes), 0); /* PgDn */
    KT_EQ(st.scroll, -1);
}

/* Row r of the VGA screen as text (trailing blanks kept). */
static void screen_row(unsigned r, char text[VGA_COLS + 1])
{
    const volatile uint16_t *screen = (const volatile uint16_t *)lowmap_virt(0xB8000);
    for (unsigned c = 0; c < VGA_COLS; c++)
        text[c] = (char)(screen[r * VGA_COLS + c] & 0xFF);
    text[VGA_COLS] = 0;
}

/* Writes straight to the VGA console (not the log), so the serial log stays clean. */
static void vga_puts(const char *s)
{
    while (*s)
        vga_putc(*s++);
}

KTEST(vga_console_scrolls_back_and_returns_on_output)
{
    char line[16], row[VGA_COLS + 1];
    for (unsigned i = 0; i < 60; i++) {
        fmt_snprintf(line, sizeof line, "vga-line-%02u\n", i);
        vga_puts(line);
    }
    screen_row(VGA_ROWS - 2, row); /* the cursor is on the empty last row */
    KT_ASSERT(strncmp(row, "vga-line-59 ", 12) == 0);
    vga_scroll(10);
    screen_row(VGA_ROWS - 2, row);
    KT_ASSERT(strncmp(row, "vga-line-49 ", 12) == 0);
    vga_scroll(-3);
    screen_row(VGA_ROWS - 2, row);
    KT_ASSERT(strncmp(row, "vga-line-52 ", 12) == 0);
    vga_scroll(-100); /* not past the bottom */
    screen_row(VGA_ROWS - 2, row);
    KT_ASSERT(strncmp(row, "vga-line-59 ", 12) == 0);
    vga_scroll(VGA_HISTORY * 2); /* stops at the oldest line kept */
    char oldest[VGA_COLS + 1];
    screen_row(0, oldest);
    vga_scroll(1);
    screen_row(0, row);
    KT_ASSERT(strcmp(row, oldest) == 0);
    vga_puts("x"); /* output brings the view back to the bottom */
    screen_row(VGA_ROWS - 1, row);
    KT_ASSERT(row[0] == 'x');
    screen_row(VGA_ROWS - 2, row);
    KT_ASSERT(strncmp(row, "vga-line-59 ", 12) == 0);
    vga_puts("\n");
}
