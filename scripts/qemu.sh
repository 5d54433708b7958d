#!/usr/bin/env bash
# scripts/qemu.sh - run the kernel in QEMU.
#
#   qemu.sh run   ISO            headless, serial console on this terminal
#   qemu.sh gui   ISO            a QEMU window (VGA console) plus serial here
#   qemu.sh debug ISO KERNEL     halted at start with the gdb stub on :GDB_PORT (1234), gdb attached
#
# Environment: MEM (default 128M), MACHINE (pc), CPU (qemu32; qemu64 for the
# 64-bit kernel), QEMU_SYSTEM (qemu-system-i386; `make ARCH=x86_64 run`
# sets qemu-system-x86_64), QEMU_EXTRA,
# RUN_TIMEOUT (seconds; default none on a terminal, 60 otherwise so that a
# non-interactive `make run` ends).  Ctrl-A X leaves QEMU.
#
# CMD="mem; vmm; halt" (run mode): type these monitor commands, separated
# by ';', into the serial port, each one after the kernel's `mm> ` prompt
# appeared (so neither GRUB nor the boot sees them).  QEMU ends when a
# command ends it (halt, reboot) or, after the last command, at the next
# prompt.  The exit status is 0 then (QEMU's pass code included), else
# QEMU's (124: RUN_TIMEOUT, default 120 s).
set -euo pipefail

mode=$1 iso=$2
mem=${MEM:-128M}
machine=${MACHINE:-pc}
qemu=${QEMU_SYSTEM:-qemu-system-i386}
if [ "$qemu" = qemu-system-x86_64 ]; then cpu=${CPU:-qemu64}; else cpu=${CPU:-qemu32}; fi
common=(-machine "$machine" -cpu "$cpu" -m "$mem" -no-reboot
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$iso" -boot d)

if [ -t 0 ]; then timeout_s=${RUN_TIMEOUT:-0}; else timeout_s=${RUN_TIMEOUT:-60}; fi
run_qemu() {
    if [ "$timeout_s" != 0 ]; then
        timeout --foreground "$timeout_s" "$qemu" "$@" || true
    else
        "$qemu" "$@" || true
    fi
}

# run_scripted: boot, then type $CMD into the serial port prompt by prompt.
run_scripted() {
    local tmp fifo out qpid sent=0 prompts rc ended_by_us=0 cmds=()
    tmp=$(mktemp -d)
    fifo=$tmp/serial-in out=$tmp/serial-out
    mkfifo "$fifo"
    : >"$out" # exists before tail starts: QEMU's own redirection happens after the FIFO opens
    IFS=';' read -ra cmds <<<"$CMD"
    timeout "${RUN_TIMEOUT:-120}" "$qemu" "${common[@]}" -display none -serial stdio \
        ${QEMU_EXTRA:-} <"$fifo" >"$out" 2>&1 &
    qpid=$!
    exec 3>"$fifo" # QEMU's stdin; opening it lets QEMU start
    tail -n +1 -f --pid="$qpid" "$out" &
    while kill -0 "$qpid" 2>/dev/null; do
        prompts=$(grep -ao 'mm> ' "$out" | wc -l || true)
        if [ "$prompts" -gt "$sent" ]; then
            if [ "$sent" -lt "${#cmds[@]}" ]; then
                # trim the spaces around each command; the kernel reads CR as Enter
                printf '%s\r' "$(sed 's/^ *//; s/ *$//' <<<"${cmds[$sent]}")" >&3
                sent=$((sent + 1))
            else
                ended_by_us=1
                kill "$qpid" 2>/dev/null || true
                break
            fi
        fi
        sleep 0.1
    done
    rc=0
    wait "$qpid" || rc=$?
    exec 3>&-
    sleep 0.2 # let tail print the last lines
    rm -rf "$tmp"
    echo
    if [ "$ended_by_us" = 1 ] || [ "$rc" = 0 ] || [ "$rc" = 33 ]; then return 0; fi
    echo "qemu: exit status $rc" >&2
    return "$rc"
}

case "$mode" in
run)
    if [ -n "${CMD:-}" ]; then
        run_scripted
        exit
    fi
    echo "qemu: booting $iso through GRUB (serial console below; Ctrl-A X quits)"
    run_qemu "${common[@]}" -display none -serial mon:stdio ${QEMU_EXTRA:-}
    ;;
gui)
    # Ask for the window explicitly: left to itself QEMU falls back to a VNC
    # server without a word when it has no window to open.
    if [ -z "${QEMU_DISPLAY:-}" ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        echo "qemu: make run-gui needs a graphical session (DISPLAY is not set)." >&2
        echo "qemu: use make run for the serial console, or QEMU_DISPLAY=vnc=:0 make run-gui" >&2
        exit 2
    fi
    run_qemu "${common[@]}" -display "${QEMU_DISPLAY:-gtk}" -serial mon:stdio ${QEMU_EXTRA:-}
    ;;
debug)
    # QEMU runs in a session of its own (setsid): the terminal's Ctrl-C must
    # reach only gdb, which turns it into a stop of the target, not end QEMU.
    kernel=$3 port=${GDB_PORT:-1234}
    setsid "$qemu" "${common[@]}" -display none -serial file:build/debug-serial.log \
        -S -gdb "tcp::$port" ${QEMU_EXTRA:-} </dev/null &
    qpid=$!
    trap 'kill $qpid 2>/dev/null || true' EXIT
    trap : INT # the shell waits for gdb; Ctrl-C is gdb's (a handler, not SIG_IGN, which gdb would inherit)
    echo "qemu: halted with gdb stub on :$port; serial output goes to build/debug-serial.log"
    gdb -q "$kernel" -ex "target remote :$port" -x scripts/gdb/memkernel.gdb
    ;;
*)
    echo "usage: $0 run|gui|debug ISO [KERNEL]" >&2
    exit 2
    ;;
esac
