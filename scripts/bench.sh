#!/usr/bin/env bash
# scripts/bench.sh BENCH_BINARY... - run the benchmarks, keep their results.
#
# Hosted benchmarks (build/host/bench/bench_*) print Markdown; each one's
# output goes to build/bench/NAME.md.  Then the kernel is booted with `bench`
# under QEMU and its tables go to build/bench/kernel.md.  Everything is
# printed as well.  Benchmarks measure; they never fail on a slow machine.
# A benchmark binary may write extra files (plots) into $BENCH_OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
export BENCH_OUT=build/bench
mkdir -p "$BENCH_OUT"

for b in "$@"; do
    name=$(basename "$b")
    echo "## $name"
    if [ "$name" = bench_heap ]; then
        scripts/bench_heap.sh "$b" # one process per (workload, allocator): its own tables and plots
    elif [ "$name" = bench_mt ]; then
        scripts/bench_mt.sh "$b" build/host/libmm.so # libmm.so and the peers preloaded
    else
        "$b" | tee "$BENCH_OUT/$name.md"
    fi
    echo
done

echo "## in-kernel (QEMU, TCG)"
timeout 600 qemu-system-i386 -display none -no-reboot -serial stdio -m 512M \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel build/kernel.elf -initrd build/initrd.img -append bench </dev/null 2>&1 | tr -d '\r' |
    awk '/^kbench: begin /{on=1; print "### " $3; next} /^kbench: end /{on=0; print ""; next}
         /^kbench: TSC/{print; print ""} on' | tee "$BENCH_OUT/kernel.md"
echo "results: $BENCH_OUT/"
