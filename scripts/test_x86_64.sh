#!/usr/bin/env bash
# scripts/test_x86_64.sh ISO - boot the 64-bit kernel and judge each boot.
#
# The kernel checks itself (arch/x86_64/kmain64.c) and leaves QEMU with
# 0x10 (status 33) when every check passed.  A boot passes when QEMU's
# status is 33, the kernel's summary says "0 failed" and, on machines with
# RAM above 4 GiB, the PMM reported managing it.  Boots run in parallel
# (TCG, one CPU each).  One "ok"/"FAIL" line per boot, then
# "N passed, N failed"; the exit status is non-zero on any failure.
# KTEST_TIMEOUT: seconds per boot (default 180).
set -uo pipefail
cd "$(dirname "$0")/.."
iso=${1:-build/x86_64/os.iso}
logs=$PWD/build/test-logs
mkdir -p "$logs"
timeout_s=${KTEST_TIMEOUT:-180}
boots=("pc 256M" "pc 4G" "q35 2G" "q35 6G")

boot() { # boot MACHINE MEM LOG
    timeout "$timeout_s" qemu-system-x86_64 -M "$1" -m "$2" -cdrom "$iso" -serial "file:$3" \
        -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 >/dev/null 2>&1
    echo $? >"$3.rc"
}

for b in "${boots[@]}"; do
    set -- $b
    log=$logs/x86_64-$1-$2.log
    : >"$log"
    boot "$1" "$2" "$log" &
done
wait

passed=0 failed=0
for b in "${boots[@]}"; do
    set -- $b
    log=$logs/x86_64-$1-$2.log
    rc=$(cat "$log.rc" 2>/dev/null || echo none)
    why=""
    summary=$(grep -a '^x86-64: ' "$log" | tail -1 | tr -d '\r')
    if [ "$rc" = 124 ]; then
        why="timed out after ${timeout_s}s"
    elif [ -z "$summary" ]; then
        why="no summary line (triple fault or hang; QEMU status $rc)"
    elif [ "$rc" != 33 ] || [[ "$summary" != *" 0 failed" ]]; then
        why="$summary, QEMU status $rc: $(grep -a '^FAIL' "$log" | head -3 | tr -d '\r' | paste -sd ';')"
    elif [ "$(grep -a -c '^RAM above 4 GiB: [1-9]' "$log")" -gt 0 ] &&
         ! grep -a -q '^ok - the PMM manages the RAM above 4 GiB' "$log"; then
        why="RAM above 4 GiB in the map but not managed"
    fi
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        echo "ok x86-64 kernel on $1 with $2: ${summary#x86-64: }"
    else
        failed=$((failed + 1))
        echo "FAIL x86-64 kernel on $1 with $2: $why (see $log)"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
