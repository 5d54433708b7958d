/*
 * kernel/monitor.c - the monitor's prompt: the line editor, the history,
 * the command dispatcher and the scripted start (see monitor.h).  The
 * commands themselves are in kernel/monitor_cmds.c.
 *
 * The editor is a small state machine over input bytes, so that keys can be
 * scripted in tests (monitor_input) exactly as they arrive from a terminal:
 * printable bytes insert at the cursor, control bytes edit, and the escape
 * sequences ESC [ A/B/C/D (arrows) move through the history or the line;
 * other escape sequences are read to their final byte and ignored.
 *
 * The history is a ring of MONITOR_HISTORY lines; history_total counts
 * every line ever added, so line k lives in slot k % MONITOR_HISTORY while
 * k >= history_total - MONITOR_HISTORY.  history_pos is the line the up and
 * down arrows show (history_total: the fresh line being typed).
 */
#include "kernel/monitor.h"
#include "arch/x86/cpu.h"
#include "arch/x86/ps2kbd.h"
#include "arch/x86/serial.h"
#include "kernel/log.h"

#include <string.h>

#define KEY_CTRL_A 0x01
#define KEY_CTRL_C 0x03
#define KEY_CTRL_E 0x05
#define KEY_BS 0x08
#define KEY_CTRL_U 0x15
#define KEY_ESC 0x1B
#define KEY_DEL 0x7F
#define MAX_ARGS 8

enum esc_state { ESC_NONE, ESC_SEEN, ESC_CSI };

static struct {
    char line[MONITOR_LINE_MAX];
    unsigned len, cursor;
    enum esc_state esc;
    char prev; /* the byte before: CR LF ends one line, not two */
} ed;

static char history[MONITOR_HISTORY][MONITOR_LINE_MAX];
static unsigned history_total, history_pos;

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

/* Redraw the whole line and put the terminal's cursor back at ed.cursor. */
static void redraw(void)
{
    kprintf("\r" MONITOR_PROMPT "%s\x1b[K", ed.line);
    for (unsigned i = ed.cursor; i < ed.len; i++)
        kputc(KEY_BS);
}

static void set_line(const char *text)
{
    strlcpy(ed.line, text, sizeof ed.line);
    ed.len = ed.cursor = (unsigned)strlen(ed.line);
    redraw();
}

static void insert_char(char c)
{
    if (ed.len + 1 >= sizeof ed.line)
        return; /* full: the byte is dropped */
    memmove(ed.line + ed.cursor + 1, ed.line + ed.cursor, ed.len - ed.cursor + 1);
    ed.line[ed.cursor++] = c;
    ed.len++;
    if (ed.cursor == ed.len)
        kputc(c);
    else
        redraw();
}

static void erase_before_cursor(void)
{
    if (!ed.cursor)
        return;
    memmove(ed.line + ed.cursor - 1, ed.line + ed.cursor, ed.len - ed.cursor + 1);
    ed.cursor--;
    ed.len--;
    if (ed.cursor == ed.len)
        kprintf("\b \b");
    else
        redraw();
}

static void history_add(const char *line)
{
    if (!*line)
        return;
    if (history_total && strcmp(history[(history_total - 1) % MONITOR_HISTORY], line) == 0)
        return; /* a repeated command is kept once */
    strlcpy(history[history_total % MONITOR_HISTORY], line, MONITOR_LINE_MAX);
    history_total++;
}

/* Step through the history: -1 older, +1 newer (past the newest: an empty line). */
static void history_step(int dir)
{
    unsigned oldest = history_total > MONITOR_HISTORY ? history_total - MONITOR_HISTORY : 0;
    if (dir < 0 && history_pos > oldest)
        history_pos--;
    else if (dir > 0 && history_pos < history_total)
        history_pos++;
    else
        return;
    set_line(history_pos == history_total ? "" : history[history_pos % MONITOR_HISTORY]);
}

/* The final byte of an escape sequence ESC [ ... c. */
static void escape_final(char c)
{
    switch (c) {
    case 'A': history_step(-1); break;
    case 'B': history_step(1); break;
    case 'C':
        if (ed.cursor < ed.len) {
            ed.cursor++;
            kprintf("\x1b[C");
        }
        break;
    case 'D':
        if (ed.cursor) {
            ed.cursor--;
            kputc(KEY_BS);
        }
        break;
    default: break; /* Home, End, Delete, function keys: not used */
    }
}

static void clear_line(void)
{
    ed.len = ed.cursor = 0;
    ed.line[0] = 0;
    history_pos = history_total;
}

/* The line is complete: run it and prompt again. */
static void finish_line(void)
{
    char line[MONITOR_LINE_MAX];
    memcpy(line, ed.line, ed.len + 1);
    kputc('\n');
    clear_line();
    history_add(line);
    history_pos = history_total;
    monitor_execute(line);
    kprintf(MONITOR_PROMPT);
}

int monitor_input(char c)
{
    char prev = ed.prev;
    ed.prev = c;
    if (ed.esc == ESC_SEEN) {
        ed.esc = c == '[' ? ESC_CSI : ESC_NONE;
        return 0;
    }
    if (ed.esc == ESC_CSI) {
        if (c >= 0x40 && c <= 0x7E) { /* parameters and intermediates come before */
            ed.esc = ESC_NONE;
            escape_final(c);
        }
        return 0;
    }
    switch (c) {
    case '\n':
        if (prev == '\r')
            return 0; /* CR LF: the CR ended the line */
        /* fall through */
    case '\r': finish_line(); return 1;
    case KEY_ESC: ed.esc = ESC_SEEN; return 0;
    case KEY_BS:
    case KEY_DEL: erase_before_cursor(); return 0;
    case KEY_CTRL_U:
        clear_line();
        redraw();
        return 0;
    case KEY_CTRL_C:
        kprintf("^C\n" MONITOR_PROMPT);
        clear_line();
        return 0;
    case KEY_CTRL_A:
        ed.cursor = 0;
        redraw();
        return 0;
    case KEY_CTRL_E:
        ed.cursor = ed.len;
        redraw();
        return 0;
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
        history_add(line);
        monitor_execute(line);
    }
}

void monitor_run(const char *script)
{
    kprintf("Memory monitor: type `help` for the commands.\n");
    clear_line();
    if (script)
        run_script(script);
    kprintf(MONITOR_PROMPT);
    cpu_sti();
    for (;;) {
        int c = serial_getc_nonblock();
        if (c < 0)
            c = ps2kbd_getc_nonblock(); /* the keyboard sends what a terminal would */
        if (c < 0)
            cpu_hlt(); /* the timer (or anything else) wakes us to poll again */
        else
            monitor_input((char)c);
    }
}
