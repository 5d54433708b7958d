/*
 * kernel/monitor.h - the interactive memory monitor: a `mm> ` prompt on the
 * serial console, after boot, with commands that show the memory layers at
 * work (docs/monitor.md lists them).
 *
 * Input is polled from COM1 and from the PS/2 keyboard (for the VGA
 * console; arch/x86/ps2kbd.h turns keys into terminal bytes); the CPU
 * halts between polls and the timer wakes it.  The line editor knows
 * Backspace, Delete, Ctrl-U (erase the line), Ctrl-C (drop it), Home and
 * End (or Ctrl-A / Ctrl-E), the left and right arrows, and a history of the
 * last MONITOR_HISTORY lines on the up and down arrows.
 *
 * Everything here runs in the boot context (no process current), one CPU,
 * with interrupts off except between keys (and inside run, test, bench).
 */
#ifndef KERNEL_MONITOR_H
#define KERNEL_MONITOR_H

#define MONITOR_LINE_MAX 128 /* bytes per command line, NUL included */
#define MONITOR_HISTORY 16   /* lines the up arrow can bring back */
#define MONITOR_PROMPT "mm> "

/*
 * Run the monitor; never returns (`halt` leaves QEMU, `reboot` resets).
 * script: NULL, or commands to run first, as the kernel command line's
 * `monitor=SCRIPT` carries them: ';' separates commands and ',' stands for
 * a space (`monitor=mem;run,worker,&;vmm,$!;kill,$!;halt`; not '_', which program
 * and test names contain).  Each is echoed after the prompt as if
 * typed.  Then the prompt waits for serial input.
 */
__attribute__((noreturn)) void monitor_run(const char *script);

/*
 * Execute one command line (no prompt, no history).  Returns 0 when the
 * command did its work, -1 when it printed a usage or error line (unknown
 * command, bad arguments, a failure such as "no such process").  An empty
 * line does nothing and returns 0.  `halt` and `reboot` do not return.
 */
int monitor_execute(const char *line);

/*
 * Feed one input byte to the line editor, as if it came from the serial
 * port: edits the line and echoes; at the end of a line (CR or LF) the line
 * is added to the history, executed and a new prompt printed.  Returns 1
 * when a line was executed, else 0.  The serial loop uses it; tests use it
 * to drive the editor with scripted keys.
 */
int monitor_input(char c);

/*
 * The command table (kernel/monitor_cmds.c).  A handler gets the words of
 * the line (argv[0] is the command) and returns 0, or -1 after printing
 * an error; MONITOR_USAGE asks the dispatcher to print the usage line.
 */
#define MONITOR_USAGE (-2)
struct monitor_cmd {
    const char *name;
    const char *args;    /* argument synopsis for the usage line, "" if none */
    const char *summary; /* one line for `help` */
    int (*run)(int argc, char **argv);
};
extern const struct monitor_cmd monitor_cmds[];
extern const unsigned monitor_cmd_count;

/*
 * Collect the programs `run PROG &` started that have ended, printing one
 * line for each ("run: NAME (pid N) exited with status S" or "... was
 * killed: CAUSE"); returns how many.  The prompt calls it after each
 * command, and while it waits on an empty line (then the prompt is
 * printed again below the lines); a program ended by `kill` is dropped
 * silently (the kill's report named it).
 */
unsigned monitor_collect_background(void);

/* 1 if a program `run ... &` started has ended and is still to be collected. */
int monitor_background_ended(void);

/*
 * For tests that type keys: begin gives the editor a fresh line and an
 * empty history, end gives the user's line and history back as they were,
 * so lines a test typed never show up under the up arrow.  Nests two deep
 * (a broken pairing is a panic: it is a bug in a test).
 */
void monitor_sandbox_begin(void);
void monitor_sandbox_end(void);

#endif /* KERNEL_MONITOR_H */
