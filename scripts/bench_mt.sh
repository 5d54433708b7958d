#!/usr/bin/env bash
# scripts/bench_mt.sh [BENCH_MT_BINARY] [LIBMM_SO] - libmm.so as the malloc
# of a multi-threaded program, against glibc, jemalloc, mimalloc, tcmalloc.
#
# Runs tests/bench/mt/bench_mt.c (churn, xfree, prodcons; 1 and 2 threads)
# once per (workload, threads, allocator) as a process of its own, with the
# allocator preloaded (glibc: nothing preloaded), BENCH_REPEAT times
# (default 3, interleaved so that a burst of load from elsewhere hits
# different runs), and keeps the best time and the lowest peak RSS of the
# repetitions, and the lowest CPU time per worker thread (getrusage
# RUSAGE_THREAD, user + system).  Writes $BENCH_OUT/mt-raw.txt (every run) and
# $BENCH_OUT/mt.md (the tables and targets, also printed).  BENCH_MT_SCALE
# multiplies the operation counts.  Measures only: never fails because a
# number is bad; a run that fails shows as "failed".
#
# Targets:
#   churn: libmm's speed-up from 1 to 2 threads >= 1.8x (2 * t1 / t2; the
#          work per thread is the same, so 2.0 is perfect scaling).  With
#          fewer idle CPUs than threads wall time cannot show it; the same
#          ratio on CPU time per thread (2 * cpu1 / cpu2) is printed next to
#          it, as what the library itself allows
#   xfree, prodcons (cross-thread frees): libmm's time <= glibc's, 2 threads
#   every workload: libmm's peak RSS <= glibc's
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BIN=${1:-build/host/bench/bench_mt}
LIBMM_SO=$(realpath "${2:-build/host/libmm.so}")
OUT=${BENCH_OUT:-build/bench}
REPEAT=${BENCH_REPEAT:-3}
SCALE=${BENCH_MT_SCALE:-1}
mkdir -p "$OUT"
RAW=$OUT/mt-raw.txt
: >"$RAW"

ALLOCATORS=(glibc libmm jemalloc mimalloc tcmalloc)
WORKLOADS=(churn xfree prodcons)
THREADS=(1 2)

library() {
    local soname
    case $1 in
    libmm) echo "$LIBMM_SO"; return ;;
    jemalloc) soname=libjemalloc.so.2 ;;
    mimalloc) soname=libmimalloc.so.2 ;;
    tcmalloc) soname=libtcmalloc_minimal.so.4 ;;
    *) return ;;
    esac
    /sbin/ldconfig -p 2>/dev/null | awk -v s="$soname" '$1 == s { print $NF; exit }'
}

# Every run: "ALLOC WORKLOAD THREADS SECONDS OPS RSS_KIB CHECKSUM CPU_PER_THREAD" into $RAW.
for ((r = 0; r < REPEAT; r++)); do
    for w in "${WORKLOADS[@]}"; do
        for t in "${THREADS[@]}"; do
            for a in "${ALLOCATORS[@]}"; do
                lib=$(library "$a")
                if [ "$a" != glibc ] && [ -z "$lib" ]; then
                    continue # not installed: the table says so
                fi
                line=$(LD_PRELOAD=$lib timeout 300 "$BIN" "$w" "$t" "$SCALE" 2>/dev/null) ||
                    line="$w $t failed"
                echo "$a $line" >>"$RAW"
            done
        done
    done
done

# Best time, lowest peak RSS, lowest CPU per thread per (alloc, workload, threads); "-" when none.
best() { # best FIELD(4 time | 6 rss | 8 cpu) ALLOC WORKLOAD THREADS
    awk -v f="$1" -v a="$2" -v w="$3" -v t="$4" '
        $1 == a && $2 == w && $3 == t && $4 != "failed" {
            if (!n || $f < b) b = $f; n++ }
        END { if (n) print b; else print "-" }' "$RAW"
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || y == "-" || y == 0) print "-"; else printf "%.2f", x / y }'; }
scaling() { # scaling FIELD(4 time | 8 cpu) ALLOC WORKLOAD: 2 x (1 thread) / (2 threads)
    ratio "$(awk -v x="$(best "$1" "$2" "$3" 1)" 'BEGIN { if (x == "-") print "-"; else print 2 * x }')" "$(best "$1" "$2" "$3" 2)"
}

{
    echo "### libmm.so against the C library's allocators (bench_mt, best of $REPEAT)"
    echo
    echo "Time in seconds (x glibc: time / glibc's time, lower is better); peak RSS in MiB."
    echo "Every thread does the same work at 1 and 2 threads. Machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)."
    for w in "${WORKLOADS[@]}"; do
        echo
        echo "#### $w"
        echo
        printf "| threads |"; for a in "${ALLOCATORS[@]}"; do printf " %s s (x glibc) | %s RSS |" "$a" "$a"; done; echo
        printf "|---|"; for a in "${ALLOCATORS[@]}"; do printf -- "---:|---:|"; done; echo
        for t in "${THREADS[@]}"; do
            g=$(best 4 glibc "$w" "$t")
            printf "| %s |" "$t"
            for a in "${ALLOCATORS[@]}"; do
                s=$(best 4 "$a" "$w" "$t"); k=$(best 6 "$a" "$w" "$t")
                if [ "$s" = - ]; then
                    printf " %s | - |" "$([ -n "$(library "$a")" ] || [ "$a" = glibc ] && echo failed || echo 'not installed')"
                else
                    printf " %s (%s) | %s |" "$s" "$(ratio "$s" "$g")" "$(awk -v k="$k" 'BEGIN { printf "%.1f", k / 1024 }')"
                fi
            done
            echo
        done
    done
    echo
    echo "#### CPU time per worker thread (user + system, seconds; x glibc)"
    echo
    echo "The same work per thread at 1 and 2 threads: a library that scales keeps it."
    echo
    printf "| workload, threads |"; for a in "${ALLOCATORS[@]}"; do printf " %s |" "$a"; done; echo
    printf "|---|"; for a in "${ALLOCATORS[@]}"; do printf -- "---:|"; done; echo
    for w in "${WORKLOADS[@]}"; do
        for t in "${THREADS[@]}"; do
            g=$(best 8 glibc "$w" "$t")
            printf "| %s, %s |" "$w" "$t"
            for a in "${ALLOCATORS[@]}"; do
                c=$(best 8 "$a" "$w" "$t")
                if [ "$c" = - ]; then printf " - |"; else printf " %s (%s) |" "$c" "$(ratio "$c" "$g")"; fi
            done
            echo
        done
    done
    echo
    echo "#### Scaling from 1 to 2 threads (2 x t1 / t2; 2.00 is perfect): wall time / CPU time per thread"
    echo
    printf "| workload |"; for a in "${ALLOCATORS[@]}"; do printf " %s |" "$a"; done; echo
    printf "|---|"; for a in "${ALLOCATORS[@]}"; do printf -- "---:|"; done; echo
    for w in "${WORKLOADS[@]}"; do
        printf "| %s |" "$w"
        for a in "${ALLOCATORS[@]}"; do
            printf " %s / %s |" "$(scaling 4 "$a" "$w")" "$(scaling 8 "$a" "$w")"
        done
        echo
    done
    echo
    echo "#### Targets"
    echo
    verdict() { awk -v v="$1" -v lim="$2" -v op="$3" 'BEGIN {
        if (v == "-") { print "not measured"; exit }
        ok = op == ">=" ? v + 0 >= lim + 0 : v + 0 <= lim + 0; print ok ? "met" : "not met" }'; }
    sc=$(scaling 4 libmm churn); scc=$(scaling 8 libmm churn)
    echo "- churn scaling 1 -> 2 threads >= 1.80x (wall time): $sc -> $(verdict "$sc" 1.8 '>=')"
    echo "  (by CPU time per thread, what the library allows where each thread has a CPU: $scc -> $(verdict "$scc" 1.8 '>='); glibc $(scaling 8 glibc churn) by CPU, $(scaling 4 glibc churn) by wall time)"
    for w in xfree prodcons; do
        x=$(ratio "$(best 4 libmm "$w" 2)" "$(best 4 glibc "$w" 2)")
        echo "- $w, 2 threads, time <= glibc's (x glibc <= 1.00): $x -> $(verdict "$x" 1.0 '<=')"
    done
    # The peers' own ratio next to libmm's: how far the target is from what allocators of this design reach.
    peers() { # peers FIELD WORKLOAD THREADS: "jemalloc 1.27, mimalloc 1.66, ..." x glibc
        local a out=
        for a in "${ALLOCATORS[@]:2}"; do
            out="$out${out:+, }$a $(ratio "$(best "$1" "$a" "$2" "$3")" "$(best "$1" glibc "$2" "$3")")"
        done
        echo "$out"
    }
    for w in xfree prodcons; do
        echo "  ($w, 2 threads, the peers' time x glibc: $(peers 4 "$w" 2))"
    done
    for w in "${WORKLOADS[@]}"; do
        for t in "${THREADS[@]}"; do
            x=$(ratio "$(best 6 libmm "$w" "$t")" "$(best 6 glibc "$w" "$t")")
            echo "- $w, $t thread(s), peak RSS <= glibc's (x glibc <= 1.00): $x -> $(verdict "$x" 1.0 '<=') (peers: $(peers 6 "$w" "$t"))"
        done
    done
} | tee "$OUT/mt.md"
