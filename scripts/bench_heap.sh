#!/usr/bin/env bash
# scripts/bench_heap.sh [BENCH_HEAP_BINARY] - the allocator benchmark.
#
# Runs every (workload x allocator) pair of tests/bench/bench_heap.c as a
# process of its own, BENCH_REPEAT times (default 3, the repetitions
# interleaved so that a burst of load from elsewhere hits different pairs),
# and writes into $BENCH_OUT (default build/bench):
#   heap-raw.txt         every result line, as printed
#   heap-seeds.txt       mixed once per BENCH_SEED 1..BENCH_FOOT_SEEDS (default
#                        6), ours and glibc: the footprint over more sequences
#   heap-stderr.txt      what the runs printed on stderr (normally nothing)
#   heap-summary.tsv     one line per pair: best throughput, median latency
#                        percentiles and footprint, lowest max of the runs
#   heap.md              the tables (also printed)
#   heap-*.png, *.dat    the plots (scripts/plot_heap.gnuplot) and their data
# Allocators: ours (general heap, slab size classes, composite) and the peers
# through the C library's malloc: glibc (no preload), jemalloc, mimalloc,
# tcmalloc (LD_PRELOAD of their Debian packages' libraries; a peer whose
# library is not found is reported "not installed").  BENCH_SCALE multiplies
# the operation counts, BENCH_SEED picks another request sequence (both are
# passed to every run; the extra mixed runs of heap-seeds.txt set their own
# seed).  Measures only: never fails because a number is bad.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BIN=${1:-build/host/bench/bench_heap}
OUT=${BENCH_OUT:-build/bench}
REPEAT=${BENCH_REPEAT:-3}
mkdir -p "$OUT"

# Columns of every table, in order.  The cost of hardening: a hardened
# variant of ours goes here under the name bench_heap.c's allocator table
# gives it (e.g. general-hardened), and becomes one more column everywhere.
OURS=(general slab composite)
# The general heap and the composite built without their hardening
# (MM_HARDEN=0), when make bench built them: the columns next to `general`
# and `composite` are the cost of the hardening.
NOHARD_BIN=${BENCH_NOHARD_BIN:-build/host/bench/bench_heap_nohard}
[ -x "$NOHARD_BIN" ] && OURS=(general general-unhardened slab composite composite-unhardened)
PEERS=(glibc jemalloc mimalloc tcmalloc)
ALLOCATORS=("${OURS[@]}" "${PEERS[@]}")

# The shared library of a peer, or nothing when it is not installed (glibc: none needed).
peer_library() {
    local soname
    case $1 in
    jemalloc) soname=libjemalloc.so.2 ;;
    mimalloc) soname=libmimalloc.so.2 ;;
    tcmalloc) soname=libtcmalloc_minimal.so.4 ;;
    *) return 0 ;;
    esac
    local path
    path=$(/sbin/ldconfig -p 2>/dev/null | awk -v s="$soname" '$1 == s { print $NF; exit }')
    [ -n "$path" ] && [ -e "$path" ] && echo "$path"
}

# One run of one pair: its result line on stdout.
run_pair() {
    local workload=$1 alloc=$2 lib
    case $alloc in
    *-unhardened)
        "$NOHARD_BIN" "$workload" "${alloc%-unhardened}" "$alloc"
        return
        ;;
    esac
    case " ${OURS[*]} " in
    *" $alloc "*)
        "$BIN" "$workload" "$alloc"
        return
        ;;
    esac
    if [ "$alloc" = glibc ]; then
        "$BIN" "$workload" libc glibc
        return
    fi
    lib=$(peer_library "$alloc")
    if [ -z "$lib" ]; then
        echo "heap-bench workload=$workload alloc=$alloc status=missing"
        return
    fi
    LD_PRELOAD=$lib "$BIN" "$workload" libc "$alloc"
}

if [ ! -x "$BIN" ]; then
    echo "bench_heap.sh: $BIN not built (make build/host/bench/bench_heap)" >&2
    exit 1
fi
mapfile -t WORKLOADS < <("$BIN" list | awk '$1 == "workload" { print $2 }')

RAW=$OUT/heap-raw.txt
ERRORS=$OUT/heap-stderr.txt # mm_report lines, crashes: anything here is worth a look
: >"$RAW"
: >"$ERRORS"
start=$SECONDS
for rep in $(seq "$REPEAT"); do
    for w in "${WORKLOADS[@]}"; do
        for a in "${ALLOCATORS[@]}"; do
            run_pair "$w" "$a" 2>>"$ERRORS" | grep '^heap-bench ' | sed "s/\$/ rep=$rep/" >>"$RAW"
        done
    done
    echo "bench_heap.sh: round $rep of $REPEAT done ($((SECONDS - start)) s)" >&2
done

# ---------------------------------------------------------------- footprint over sequences
# One request sequence is one layout of blocks against page boundaries: a few
# words more in a control block move mixed's footprint by about 0.01 of peak
# live with no change of policy (docs/heap.md).  So mixed runs once more for
# each of BENCH_SEED 1..BENCH_FOOT_SEEDS (default 6), ours and glibc, into
# heap-seeds.txt; the targets show the mean next to the single-sequence value.
FOOT_SEEDS=${BENCH_FOOT_SEEDS:-6}
SEEDS_RAW=$OUT/heap-seeds.txt
: >"$SEEDS_RAW"
for seed in $(seq "$FOOT_SEEDS"); do
    for a in composite glibc; do
        BENCH_SEED=$seed run_pair mixed "$a" 2>>"$ERRORS" | grep '^heap-bench ' |
            sed "s/\$/ seed=$seed/" >>"$SEEDS_RAW"
    done
done
# "mean min max glibc-mean sequences" of peak RSS / peak live, or nothing.
SEED_FOOT=$(awk '
function field(name,   i) {
    for (i = 2; i <= NF; i++)
        if (index($i, name "=") == 1)
            return substr($i, length(name) + 2)
    return ""
}
field("status") == "ok" && field("peak_live") > 0 {
    r = field("peak_rss") / field("peak_live"); a = field("alloc")
    n[a]++; sum[a] += r
    if (a == "composite" && (n[a] == 1 || r < lo)) lo = r
    if (a == "composite" && (n[a] == 1 || r > hi)) hi = r
}
END { if (n["composite"] && n["glibc"]) printf "%.4f %.4f %.4f %.4f %d", sum["composite"] / n["composite"], lo, hi, sum["glibc"] / n["glibc"], n["composite"] }
' "$SEEDS_RAW")

# ---------------------------------------------------------------- summary
# Per pair: throughput the best run (least disturbed), percentiles and
# footprint the median run, max the lowest of the runs (the max of a run on
# a shared machine is mostly a preemption), status the worst seen.
SUMMARY=$OUT/heap-summary.tsv
awk '
function field(name,   i) {
    for (i = 2; i <= NF; i++)
        if (index($i, name "=") == 1)
            return substr($i, length(name) + 2)
    return ""
}
function median(key, f,   n, i, j, v, t) {
    n = split(vals[key, f], v, " ")
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n ? v[int((n + 1) / 2)] : ""
}
{
    key = field("workload") SUBSEP field("alloc")
    st = field("status")
    r = $0; sub(/.*reason="/, "", r); sub(/".*/, "", r)
    if (r == $0) r = ""
    if (!(key in status)) { order[++npairs] = key; status[key] = st; reason[key] = r }
    else if (st != "ok" && status[key] == "ok") { status[key] = st; reason[key] = r }
    if (st != "ok") next
    ops = field("ops_per_s") + 0
    if (ops > best[key]) best[key] = ops
    m = field("max_ns") + 0
    if (!(key in lowmax) || m < lowmax[key]) lowmax[key] = m
    split("p50_ns p99_ns p999_ns p9999_ns peak_live peak_rss peak_src timer_ns", fs, " ")
    for (i in fs) vals[key, fs[i]] = vals[key, fs[i]] " " field(fs[i])
}
END {
    print "workload\talloc\tstatus\tops_per_s\tp50_ns\tp99_ns\tp999_ns\tp9999_ns\tmax_ns\tpeak_live\tpeak_rss\tpeak_src\treason\ttimer_ns"
    for (k = 1; k <= npairs; k++) {
        key = order[k]; split(key, wa, SUBSEP)
        printf "%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\n", wa[1], wa[2], status[key],
            best[key], median(key, "p50_ns"), median(key, "p99_ns"), median(key, "p999_ns"),
            median(key, "p9999_ns"), lowmax[key], median(key, "peak_live"),
            median(key, "peak_rss"), median(key, "peak_src"), reason[key], median(key, "timer_ns")
    }
}' "$RAW" >"$SUMMARY"

# ---------------------------------------------------------------- tables
MD=$OUT/heap.md
{
    echo "# Allocator benchmark (make bench: scripts/bench_heap.sh)"
    echo
    echo "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs (shared)," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg); BENCH_SCALE=${BENCH_SCALE:-1}," \
        "$REPEAT runs per pair; $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Peers: $(dpkg-query -W -f='${Package} ${Version}, ' libc6 libjemalloc2 libmimalloc2.0 \
        libtcmalloc-minimal4 2>/dev/null | sed 's/, $//')."
    echo
} >"$MD"

awk -F'\t' -v allocs="${ALLOCATORS[*]}" -v ours="${OURS[*]}" '
function cell_status(w, a,   s) {
    s = st[w, a]
    if (s == "") return "-"
    if (s == "missing") return "not installed"
    if (s == "unsupported") return "n/a"
    if (s != "ok") return s
    return ""
}
function ns(v) {
    v += 0
    if (v >= 1e6) return sprintf("%.1f ms", v / 1e6)
    if (v >= 1e4) return sprintf("%.0f us", v / 1e3)
    if (v >= 1e3) return sprintf("%.1f us", v / 1e3)
    return sprintf("%.0f", v)
}
function mib(v) { return sprintf("%.1f", v / 1048576) }
function header(first,   i, h, u) {
    h = "| " first; u = "|---"
    for (i = 1; i <= na; i++) { h = h " | " A[i]; u = u "|---:" }
    print h " |"; print u "|"
}
function row_of(w, col,   i, a, r, c) {
    r = "| " w
    for (i = 1; i <= na; i++) {
        a = A[i]; c = cell_status(w, a)
        r = r " | " (c != "" ? c : ns(d[w, a, col]))
    }
    print r " |"
}
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    w = $1; a = $2
    if (!(w in seen)) { seen[w] = 1; W[++nw] = w }
    st[w, a] = $3
    for (c in col) d[w, a, c] = $(col[c])
    if ($3 == "ok" && ("timer_ns" in col) && timer == "") timer = sprintf("%.0f", $(col["timer_ns"]))
    if ($3 != "ok" && $3 != "unsupported" && $13 != "") notes[++nn] = a " on " w ": " $3 " - " $13
}
END {
    na = split(allocs, A, " ")
    print "## Throughput"
    print ""
    print "Million allocator calls per second (malloc, free, realloc, aligned_alloc each count one;"
    print "workload code included, the same for all), best of the runs, and the ratio to glibc."
    print ""
    header("workload")
    for (k = 1; k <= nw; k++) {
        w = W[k]; r = "| " w; g = d[w, "glibc", "ops_per_s"]
        for (i = 1; i <= na; i++) {
            a = A[i]; c = cell_status(w, a)
            if (c == "" && g > 0) c = sprintf("%.2f (%.2fx)", d[w, a, "ops_per_s"] / 1e6, d[w, a, "ops_per_s"] / g)
            else if (c == "") c = sprintf("%.2f", d[w, a, "ops_per_s"] / 1e6)
            r = r " | " c
        }
        print r " |"
    }
    split("p50_ns:p50|p99_ns:p99|p999_ns:p99.9|max_ns:max (lowest of the runs)", P, "|")
    for (p = 1; p <= 4; p++) {
        split(P[p], pc, ":")
        print ""
        print "## Latency per call, " pc[2] (p < 4 ? " (ns, median of the runs)" : " (ns)")
        print ""
        if (p == 1) {
            print "Each call timed alone with the TSC, less the cost of an empty timing (about " timer " ns"
            print "here); the TSC moves in steps of about 10 ns, so 0 means \"no longer than an empty"
            print "timing\", not free. Cells that are not numbers: see the legend at the end."
            print ""
        }
        header("workload")
        for (k = 1; k <= nw; k++) row_of(W[k], pc[1])
    }
    print ""
    print "## Worst case against heap size (small-object churn)"
    print ""
    print "Columns: 1K, 16K, 256K live objects (heap and working set grow together), and 1K live"
    print "objects replaced in a heap of 256K objects half freed at random (only the heap grows)."
    split("churn-1k churn-16k churn-256k churn-1k-in-256k", C, " ")
    split("p999_ns:p99.9 (median of the runs)|p9999_ns:p99.99 (median of the runs)|max_ns:max (lowest of the runs)", Q, "|")
    for (q = 1; q <= 3; q++) {
        split(Q[q], qc, ":")
        print ""
        print "| " qc[2] " | 1K | 16K | 256K | 1K in 256K |"
        print "|---|---:|---:|---:|---:|"
        for (i = 1; i <= na; i++) {
            a = A[i]; r = "| " a
            for (k = 1; k <= 4; k++) {
                c = cell_status(C[k], a)
                r = r " | " (c != "" ? c : ns(d[C[k], a, qc[1]]))
            }
            print r " |"
        }
    }
    print ""
    print "## Footprint"
    print ""
    print "Peak resident memory the run added (VmHWM after setup, minus the resident set then: the"
    print "same measure for every allocator) in MiB, and its ratio to the peak of live requested bytes."
    print ""
    h = "| workload | peak live"; u = "|---|---:"
    for (i = 1; i <= na; i++) { h = h " | " A[i]; u = u "|---:" }
    print h " |"; print u "|"
    for (k = 1; k <= nw; k++) {
        w = W[k]; live = 0
        for (i = 1; i <= na; i++) if (d[w, A[i], "peak_live"] > live) live = d[w, A[i], "peak_live"]
        r = "| " w " | " mib(live)
        for (i = 1; i <= na; i++) {
            a = A[i]; c = cell_status(w, a)
            if (c == "") c = sprintf("%s (%.2f)", mib(d[w, a, "peak_rss"]), d[w, a, "peak_rss"] / live)
            r = r " | " c
        }
        print r " |"
    }
    no = split(ours, O, " ")
    print ""
    print "Ours as the source counts it: peak of committed + mapped bytes (sampled after every timed"
    print "call), MiB and ratio to peak live. Pages committed but never touched count here, not in RSS."
    print ""
    h = "| workload"; u = "|---"
    for (i = 1; i <= no; i++) { h = h " | " O[i]; u = u "|---:" }
    print h " |"; print u "|"
    for (k = 1; k <= nw; k++) {
        w = W[k]; r = "| " w
        for (i = 1; i <= no; i++) {
            a = O[i]; c = cell_status(w, a)
            if (c == "") c = sprintf("%s (%.2f)", mib(d[w, a, "peak_src"]), d[w, a, "peak_src"] / d[w, a, "peak_live"])
            r = r " | " c
        }
        print r " |"
    }
    print ""
    print "Legend for cells that are not figures: \"n/a\" the allocator cannot serve the workload"
    print "(the slab set stops at 4096 B); \"not installed\" the peer library is missing (deps.sh"
    print "installs it); \"failed\" the run stopped, and why is listed below; \"-\" not run."
    if (nn) {
        print ""
        print "## Runs that did not complete"
        print ""
        for (k = 1; k <= nn; k++) print "- " notes[k]
    }
}' "$SUMMARY" >>"$MD"

# ---------------------------------------------------------------- targets
# The default allocator's targets, each with its measured value and met / not
# met (ratios from this run only).  A target whose inputs are missing (a peer
# not installed, a run that failed) says so instead of guessing.
awk -F'\t' -v us=composite -v seedfoot="$SEED_FOOT" '
NR == 1 { next }
$3 == "ok" { ok[$1, $2] = 1; ops[$1, $2] = $4; p9999[$1, $2] = $8; live[$1, $2] = $10; rss[$1, $2] = $11; W[$1] = 1 }
function row(what, value, goal, met) {
    printf "| %s | %s | %s | %s |\n", what, value, goal, met ? "met" : "**not met**"
}
function missing(what, goal) { printf "| %s | no measurement | %s | not measured |\n", what, goal }
function vs(w, peer, goal,   r) {
    if (!ok[w, us] || !ok[w, peer]) { missing(us " / " peer " on " w, ">= " goal); return }
    r = ops[w, us] / ops[w, peer]
    row(us " / " peer " on " w " (throughput)", sprintf("%.2fx", r), ">= " sprintf("%.2f", goal), r >= goal)
}
END {
    print ""
    print "## Targets (the default allocator: " us ")"
    print ""
    print "| target | measured | goal | |"
    print "|---|---:|---:|---|"
    split("churn-1k churn-16k churn-1k-in-256k", fast, " ")
    for (i = 1; i <= 3; i++) vs(fast[i], "mimalloc", 1.0)
    n = 0
    for (w in W) names[++n] = w
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (names[j] < names[i]) { t = names[i]; names[i] = names[j]; names[j] = t }
    for (i = 1; i <= n; i++) vs(names[i], "glibc", 1.0)
    if (ok["mixed", us] && live["mixed", us] > 0) {
        r = rss["mixed", us] / live["mixed", us]
        row("footprint on mixed (peak RSS / peak live)", sprintf("%.2f", r), "<= 1.10", r <= 1.10)
    } else missing("footprint on mixed", "<= 1.10")
    if (split(seedfoot, S, " ") == 5)
        row(sprintf("footprint on mixed, mean of %d more sequences (range; glibc mean)", S[5]),
            sprintf("%.2f (%.2f-%.2f; glibc %.2f)", S[1], S[2], S[3], S[4]), "<= 1.10", S[1] <= 1.10)
    else missing("footprint on mixed over more sequences", "<= 1.10")
    split("glibc jemalloc mimalloc tcmalloc", P, " ")
    for (i = 1; i <= n; i++) {
        w = names[i]; best = ""; bestp = ""
        for (k = 1; k <= 4; k++) if (ok[w, P[k]] && (best == "" || rss[w, P[k]] < best)) { best = rss[w, P[k]]; bestp = P[k] }
        if (!ok[w, us] || best == "") { missing("footprint on " w " vs the best peer", "<= best peer"); continue }
        row("footprint on " w " vs the best peer (" bestp ")", sprintf("%.1f / %.1f MiB", rss[w, us] / 1048576, best / 1048576),
            "<= best peer", rss[w, us] <= best)
    }
    a = "churn-1k-in-256k"; b = "churn-1k"
    if (ok[a, us] && ok[b, us] && p9999[b, us] > 0) {
        r = p9999[a, us] / p9999[b, us]
        row("p99.99 " a " / p99.99 " b, sprintf("%s / %s ns = %.2f", p9999[a, us], p9999[b, us], r), "<= 1.5", r <= 1.5)
    } else missing("p99.99 " a " / " b, "<= 1.5")
    if (ok[a, us] && ok[a, "glibc"])
        row("p99.99 " a " against glibc", sprintf("%s / %s ns", p9999[a, us], p9999[a, "glibc"]), "below glibc", p9999[a, us] + 0 < p9999[a, "glibc"] + 0)
    else missing("p99.99 " a " against glibc", "below glibc")
}' "$SUMMARY" >>"$MD"

# ---------------------------------------------------------------- plots
# Data for gnuplot: one row per workload (or working set), one column per allocator; "?" = none.
awk -F'\t' -v allocs="${ALLOCATORS[*]}" -v out="$OUT" '
function put(file, rowname, colname, v) {
    if (!((file, rowname) in has)) { has[file, rowname] = 1; rows[file, ++nr[file]] = rowname }
    val[file, rowname, colname] = v
}
NR == 1 { next }
{
    if ($3 != "ok") next
    put("throughput", $1, $2, $4 / 1e6)
    if ($10 > 0) put("footprint", $1, $2, $11 / $10)
    if ($1 ~ /^churn-/) {
        s = $1; sub(/^churn-/, "", s)
        put("p999", s, $2, $7); put("max", s, $2, $9)
    }
}
END {
    na = split(allocs, A, " ")
    split("throughput footprint p999 max", F, " ")
    for (f = 1; f <= 4; f++) {
        file = out "/heap-" F[f] ".dat"
        h = "row"; for (i = 1; i <= na; i++) h = h " " A[i]
        print h > file
        for (k = 1; k <= nr[F[f]]; k++) {
            r = rows[F[f], k]; line = r
            for (i = 1; i <= na; i++) {
                v = ((F[f], r, A[i]) in val) ? val[F[f], r, A[i]] : "?"
                line = line " " v
            }
            print line > file
        }
        close(file)
    }
}' "$SUMMARY"

if command -v gnuplot >/dev/null 2>&1; then
    gnuplot -e "dir='$OUT'; n=${#ALLOCATORS[@]}" scripts/plot_heap.gnuplot &&
        echo "Plots: $OUT/heap-throughput.png, heap-latency.png, heap-footprint.png" >>"$MD"
else
    echo "Plots: not made (gnuplot not installed)." >>"$MD"
fi

if [ -s "$ERRORS" ]; then
    echo "The runs printed $(wc -l <"$ERRORS") lines on stderr: see $ERRORS." >>"$MD"
fi
cat "$MD"
echo "bench_heap.sh: $((SECONDS - start)) s; results in $OUT/heap.md" >&2
