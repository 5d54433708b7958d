/*
 * kernel/monitor.c - the monitor's prompt: the line editor, the history,
 * the command dispatcher and the scripted start (see monitor.h).  The
 * commands themselves are in kernel/monitor_cmds.c.
 *
 * The editor is a small state machine over input bytes, so that keys can be
 * scripted in tests (monitor_input) exactly as they arrive from a terminal:
 * printable bytes insert at the cursor, control bytes edit, and the escape
 * sequences of the arrows (ESC [ A/B/C/D), Home and End (ESC [ H/F, ESC O
 * H/F, ESC [ 1~ / 4~ / 7~ / 8~) and Delete (ESC [ 3~) move through the
 * history or edit the line; other escape sequences are read to their final
 * byte and ignored.
 *
 * The history is a ring of MONITOR_HISTORY lines; history_total counts
 * every line ever added, so line k lives in slot k % MONITOR_HISTORY while
 * k >= history_total - MONITOR_HISTORY.  history_pos is the line the up and
 * down arrows show (history_total: the fresh line being typed).
 *
 * Editor and history live in one struct, so that a test can type into a
 * fresh one and give the user's back untouched (monitor_sandbox_begin).
 *
 * Interrupts are off while a line is edited or a command runs, so a
 * command sees the layers between two steps of the running programs, never
 * in the middle of one; `run` waits, `test` and `bench` turn them on.
 * Between keys they are on: the timer runs the background programs, and
 * the monitor's loop takes its turn in their round (process_boot_takes_turns).
 */
#include "kernel/monitor.h"
#include "arch/x86/cpu.h"
#include "arch/x86/ps2kbd.h"
#include "arch/x86/serial.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/process.h"

#include <string.h>

#define KEY_CTRL_A 0x01
#define KEY_CTRL_C 0x03
#define KEY_CTRL_E 0x05
#define KEY_BS 0x08
#define KEY_CTRL_U 0x15
#define KEY_ESC 0x1B
#define KEY_DEL 0x7F
#define MAX_ARGS 8

enum esc_state { ESC_NONE, ESC_SEEN, ESC_CSI, ESC_SS3 };

struct monitor_state {
    char line[MONITOR_LINE_MAX];
    unsigned len, cursor;
    enum esc_state esc;
    unsigned esc_param; /* the number in ESC [ n ~ */
    char prev;          /* the byte before: CR LF ends one line, not two */
    char history[MONITOR_HISTORY][MONITOR_LINE_MAX];
    unsigned history_total, history_pos;
};
#define SANDBOX_DEPTH 2 /* a test's sandbox, and one inside it (the sandbox's own test) */
static struct monitor_state mon, saved_mon[SANDBOX_DEPTH];
static unsigned sandboxes;

void monitor_sandbox_begin(void)
{
    if (sandboxes == SANDBOX_DEPTH)
        panic("monitor_sandbox_begin: nested more than %d deep", SANDBOX_DEPTH);
    saved_mon[sandboxes++] = mon;
    memset(&mon, 0, sizeof mon);
}

void monitor_sandbox_end(void)
{
    if (!sandboxes)
        panic("monitor_sandbox_end: no sandbox");
    mon = saved_mon[--sandboxes];
}

/* ---------------------------------------------------------------- dispatch */

/* Split line (modified in place) into words; returns their number, -1 if too many. */
static int split_words(char *line, char **argv)
{
    int argc = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = 0;
        if (!*p)
            break;
        if (argc == MAX_ARGS)
            return -1;
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    return argc;
}

static const struct monitor_cmd *command_find(const char *name)
{
    for (unsigned i = 0; i < monitor_cmd_count; i++)
        if (strcmp(monitor_cmds[i].name, name) == 0)
            return &monitor_cmds[i];
    return 0;
}

int monitor_execute(const char *text)
{
    char line[MONITOR_LINE_MAX];
    char *argv[MAX_ARGS + 1];
    if (strlen(text) >= sizeof line) {
        kprintf("line too long (at most %u characters)\n", MONITOR_LINE_MAX - 1);
        return -1;
    }
    memcpy(line, text, strlen(text) + 1);
    int argc = split_words(line, argv);
    if (argc == 0)
        return 0;
    if (argc < 0) {
        kprintf("too many words (at most %d)\n", MAX_ARGS);
        return -1;
    }
    argv[argc] = 0;
    const struct monitor_cmd *cmd = command_find(argv[0]);
    if (!cmd) {
        kprintf("unknown command \"%s\"; `help` lists the commands\n", argv[0]);
        return -1;
    }
    int r = cmd->run(argc, argv);
    if (r == MONITOR_USAGE)
        kprintf("usage: %s%s%s\n", cmd->name, *cmd->args ? " " : "", cmd->args);
    return r == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- editor */

/* Redraw the whole line and put the terminal's cursor back at mon.cursor. */
static void redraw(void)
{
    kprintf("\r" MONITOR_PROMPT "%s\x1b[K", mon.line);
    for (unsigned i = mon.cursor; i < mon.len; i++)
        kputc(KEY_BS);
}

static void set_line(const char *text)
{
    strlcpy(mon.line, text, sizeof mon.line);
    mon.len = mon.cursor = (unsigned)strlen(mon.line);
    redraw();
}

static void insert_char(char c)
{
    if (mon.len + 1 >= sizeof mon.line)
        return; /* full: the byte is dropped */
    memmove(mon.line + mon.cursor + 1, mon.line + mon.cursor, mon.len - mon.cursor + 1);
    mon.line[mon.cursor++] = c;
    mon.len++;
    if (mon.cursor == mon.len)
        kputc(c);
    else
        redraw();
}

static void erase_before_cursor(void)
{
    if (!mon.cursor)
        return;
    memmove(mon.line + mon.cursor - 1, mon.line + mon.cursor, mon.len - mon.cursor + 1);
    mon.cursor--;
    mon.len--;
    if (mon.cursor == mon.len)
        kprintf("\b \b");
    else
        redraw();
}

static void history_add(const char *line)
{
    if (!*line)
        return;
    if (mon.history_total && strcmp(mon.history[(mon.history_total - 1) % MONITOR_HISTORY], line) == 0)
        return; /* a repeated command is kept once */
    strlcpy(mon.history[mon.history_total % MONITOR_HISTORY], line, MONITOR_LINE_MAX);
    mon.history_total++;
}

/* Step through the history: -1 older, +1 newer (past the newest: an empty line). */
static void history_step(int dir)
{
    unsigned oldest = mon.history_total > MONITOR_HISTORY ? mon.history_total - MONITOR_HISTORY : 0;
    if (dir < 0 && mon.history_pos > oldest)
        mon.history_pos--;
    else if (dir > 0 && mon.history_pos < mon.history_total)
        mon.history_pos++;
    else
        return;
    set_line(mon.history_pos == mon.history_total ? "" : mon.history[mon.history_pos % MONITOR_HISTORY]);
}

static void cursor_to(unsigned pos)
{
    mon.cursor = pos;
    redraw();
}

static void erase_at_cursor(void)
{
    if (mon.cursor == mon.len)
        return;
    memmove(mon.line + mon.cursor, mon.line + mon.cursor + 1, mon.len - mon.cursor);
    mon.len--;
    redraw();
}

/*
 * The final byte of ESC [ n c or ESC O c.  Terminals differ for Home and
 * End (xterm: ESC [ H / ESC O H, the Linux console and tmux: ESC [ 1~,
 * rxvt: ESC [ 7~), so all are taken.
 */
static void escape_final(char c, unsigned param)
{
    switch (c) {
    case 'A': history_step(-1); break;
    case 'B': history_step(1); break;
    case 'C':
        if (mon.cursor < mon.len) {
            mon.cursor++;
            kprintf("\x1b[C");
        }
        break;
    case 'D':
        if (mon.cursor) {
            mon.cursor--;
            kputc(KEY_BS);
        }
        break;
    case 'H': cursor_to(0); break;
    case 'F': cursor_to(mon.len); break;
    case '~':
        if (param == 1 || param == 7)
            cursor_to(0);
        else if (param == 4 || param == 8)
            cursor_to(mon.len);
        else if (param == 3)
            erase_at_cursor();
        break; /* Insert, PgUp, PgDn, function keys: not used */
    default: break;
    }
}

/* Feed a byte of an escape sequence (mon.esc is not ESC_NONE). */
static void escape_byte(char c)
{
    if (mon.esc == ESC_SEEN) {
        mon.esc = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
        mon.esc_param = 0;
        return;
    }
    if (mon.esc == ESC_CSI && c >= '0' && c <= '9') {
        if (mon.esc_param < 1000)
            mon.esc_param = mon.esc_param * 10 + (unsigned)(c - '0');
        return;
    }
    if (mon.esc == ESC_SS3 || (c >= 0x40 && c <= 0x7E)) { /* the final byte */
        mon.esc = ESC_NONE;
        escape_final(c, mon.esc_param);
    } /* else: other parameter or intermediate bytes */
}

static void clear_line(void)
{
    mon.len = mon.cursor = 0;
    mon.line[0] = 0;
    mon.history_pos = mon.history_total;
}

/* Run one line as typed at the prompt (the history gets it), then collect ended programs. */
static void execute_typed(const char *line)
{
    history_add(line);
    mon.history_pos = mon.history_total;
    monitor_execute(line);
    monitor_collect_background();
}

/* The line is complete: run it and prompt again. */
static void finish_line(void)
{
    char line[MONITOR_LINE_MAX];
    memcpy(line, mon.line, mon.len + 1);
    kputc('\n');
    clear_line();
    execute_typed(line);
    kprintf(MONITOR_PROMPT);
}

/* Ctrl-C: show the line as it was, mark it dropped, start afresh. */
static void drop_line(void)
{
    kprintf("%s^C\n" MONITOR_PROMPT, mon.line + mon.cursor); /* the cursor goes to the end first */
    clear_line();
}

int monitor_input(char c)
{
    char prev = mon.prev;
    mon.prev = c;
    if (mon.esc != ESC_NONE) {
        escape_byte(c);
        return 0;
    }
    switch (c) {
    case '\n':
        if (prev == '\r')
            return 0; /* CR LF: the CR ended the line */
        /* fall through */
    case '\r': finish_line(); return 1;
    case KEY_ESC: mon.esc = ESC_SEEN; return 0;
    case KEY_BS:
    case KEY_DEL: erase_before_cursor(); return 0;
    case KEY_CTRL_U:
        clear_line();
        redraw();
        return 0;
    case KEY_CTRL_C: drop_line(); return 0;
    case KEY_CTRL_A: cursor_to(0); return 0;
    case KEY_CTRL_E: cursor_to(mon.len); return 0;
    default:
        if (c >= 0x20 && c < 0x7F)
            insert_char(c);
        return 0; /* other control bytes are ignored */
    }
}

/* ---------------------------------------------------------------- main loop */

/* Run the `monitor=` script: ';' separates commands, ',' is a space. */
static void run_script(const char *script)
{
    while (*script) {
        char line[MONITOR_LINE_MAX];
        unsigned n = 0;
        for (; *script && *script != ';'; script++)
            if (n + 1 < sizeof line)
                line[n++] = *script == ',' ? ' ' : *script;
        line[n] = 0;
        if (*script == ';')
            script++;
        kprintf(MONITOR_PROMPT "%s\n", line);
        execute_typed(line);
    }
}

/*
 * Waiting for keys on an empty line: say at once that a background program
 * ended, in place of the bare prompt, and prompt again.  With a line half
 * typed the news waits for its Enter, so nothing is drawn over the line.
 */
static void announce_ended_programs(void)
{
    if (mon.len || mon.esc != ESC_NONE || !monitor_background_ended())
        return;
    kprintf("\r\x1b[K"); /* the bare prompt goes; the lines take its place */
    monitor_collect_background();
    kprintf(MONITOR_PROMPT);
}

void monitor_run(const char *script)
{
    kprintf("Memory monitor: type `help` for the commands.\n");
    process_boot_takes_turns(1); /* keys are read next to a busy background program */
    cpu_cli();
    clear_line();
    if (script)
        run_script(script);
    kprintf(MONITOR_PROMPT);
    for (;;) {
        cpu_sti(); /* between keys the timer runs the programs */
        int c = serial_getc_nonblock();
        if (c < 0)
            c = ps2kbd_getc_nonblock(); /* the keyboard sends what a terminal would */
        if (c < 0) {
            cpu_cli();
            announce_ended_programs();
            cpu_sti();
            cpu_hlt(); /* the timer (or anything else) wakes us to poll again */
            continue;
        }
        cpu_cli();
        monitor_input((char)c);
    }
}
