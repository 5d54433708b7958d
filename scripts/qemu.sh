#!/usr/bin/env bash
# scripts/qemu.sh - run the kernel in QEMU.
#
#   qemu.sh run   ISO            headless, serial console on this terminal
#   qemu.sh gui   ISO            a QEMU window (VGA console) plus serial here
#   qemu.sh debug ISO KERNEL     halted at start with the gdb stub on :1234, gdb attached
#
# Environment: MEM (default 128M), MACHINE (pc), CPU (qemu32), QEMU_EXTRA,
# RUN_TIMEOUT (seconds; default none on a terminal, 60 otherwise so that a
# non-interactive `make run` ends).  Ctrl-A X leaves QEMU.
set -euo pipefail

mode=$1 iso=$2
mem=${MEM:-128M}
machine=${MACHINE:-pc}
cpu=${CPU:-qemu32}
common=(-machine "$machine" -cpu "$cpu" -m "$mem" -no-reboot
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom "$iso" -boot d)

if [ -t 0 ]; then timeout_s=${RUN_TIMEOUT:-0}; else timeout_s=${RUN_TIMEOUT:-60}; fi
run_qemu() {
    if [ "$timeout_s" != 0 ]; then
        timeout --foreground "$timeout_s" qemu-system-i386 "$@" || true
    else
        qemu-system-i386 "$@" || true
    fi
}

case "$mode" in
run)
    echo "qemu: booting $iso through GRUB (serial console below; Ctrl-A X quits)"
    run_qemu "${common[@]}" -display none -serial mon:stdio ${QEMU_EXTRA:-}
    ;;
gui)
    run_qemu "${common[@]}" -serial mon:stdio ${QEMU_EXTRA:-}
    ;;
debug)
    kernel=$3
    qemu-system-i386 "${common[@]}" -display none -serial file:build/debug-serial.log \
        -S -gdb tcp::1234 ${QEMU_EXTRA:-} &
    qpid=$!
    trap 'kill $qpid 2>/dev/null || true' EXIT
    echo "qemu: halted with gdb stub on :1234; serial output goes to build/debug-serial.log"
    gdb -q "$kernel" -ex "target remote :1234" -x scripts/gdb/memkernel.gdb
    ;;
*)
    echo "usage: $0 run|gui|debug ISO [KERNEL]" >&2
    exit 2
    ;;
esac
