#!/usr/bin/env bash
# scripts/test.sh - run every test at every level and judge it.  Called by
# `make test` after everything is built.
#
#   1. hosted unit tests (build/host/tests/test_*, ASan + UBSan): TAP-like lines
#   2. fuzz targets: replay the corpus, then a bounded run with a fixed seed
#   3. the kernel in QEMU with `test`: directly (-kernel, Multiboot 1) and
#      through GRUB ISOs (Multiboot 2 and 1); one result per in-kernel test
#   4. long tests (KTEST_LONG: the soak of the ring-3 programs), one per boot
#   5. fault tests, one per boot (`test=NAME`): pass when the fault report
#      contains every expected piece of text and QEMU left with the fault code
#   6. memory sizes on the pc and q35 machines (`memcheck`): the usable RAM
#      the kernel parsed must match what QEMU was given, less its holes
#   7. the monitor: commands typed into the serial port after its prompt
#      (as `make run CMD=...` does), `monitor=SCRIPT`, halt and reboot
#   8. the gdb helpers (scripts/gdb/memkernel.gdb) in batch mode against a
#      stopped kernel, checked against what the kernel printed itself
#   8. README's sample output: each line must match a line of a real boot
#      through GRUB, numbers aside (scripts/readme_sample.py)
#   9. the x86-64 build of the same kernel: its suite, memory sizes, monitor
#      and fault tests through GRUB ISOs, judged by the same functions
#
# The kernel is judged from its output and QEMU's exit status together: a
# missing plan line, fewer results than planned, a triple fault (QEMU exits
# 0 with -no-reboot), a timeout, or an unexpected exit code is a failure
# with a one-line reason.  A test that does not apply to a build (`ktest:
# skip`, `has skipped-fault`) is counted as skipped, with its reason.  The
# last line is "N passed, N failed" (", N skipped" when some were); the
# exit status is non-zero if anything failed.
#
# Environment: TEST_ONLY=hosted|fuzz|kernel|faults|memory (comma list) to run
# a subset (also: selfcheck, monitor, gdb, readme, libmm, preload, hygiene, x86_64); KTEST_TIMEOUT (seconds per suite boot, default 180).
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=build
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
passed=0
failed=0
skipped=0
failures=()
only=${TEST_ONLY:-all}
suite_timeout=${KTEST_TIMEOUT:-180}

# Exit codes of isa-debug-exit: (value << 1) | 1 (kernel/ktest.h).
EXIT_PASS=33
EXIT_FAIL=35
EXIT_FAULT=37

want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }
pass() { passed=$((passed + 1)); }
skip() { skipped=$((skipped + 1)); echo "  skip $1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "  FAIL $1"; }
section() { echo; echo "== $1"; }

# ---------------------------------------------------------------- hosted
run_hosted() {
    section "hosted unit tests (AddressSanitizer + UBSan)"
    run_hosted_dir "$BUILD/host/tests" ""
    section "allocator tests again in the debug build (MM_DEBUG=1)"
    run_hosted_dir "$BUILD/host/tests-debug" "-debug"
    section "VMM tests again with the x86-64 paging format (four levels, NX)"
    run_hosted_dir "$BUILD/host/tests-x86_64" "-x86_64"
}

# run_hosted_dir DIR SUFFIX: every test program in DIR.
run_hosted_dir() {
    local t
    for t in "$1"/test_*; do
        [ -x "$t" ] || continue
        local name log p f
        name=$(basename "$t")$2
        log=$LOGS/$name.log
        timeout 300 "$t" >"$log" 2>&1
        local rc=$?
        p=$(grep -c '^ok ' "$log")
        f=$(grep -c '^not ok ' "$log")
        passed=$((passed + p))
        while read -r line; do
            fail "$name: ${line#not ok }"
        done < <(grep '^not ok ' "$log")
        if ! grep -q "^# $(basename "$t"): " "$log"; then
            fail "$name: ended without its summary (exit $rc; crash or sanitizer report?) - see $log"
        elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            fail "$name: exit status $rc with no failing test - see $log"
        fi
        printf "  %-28s %3d passed, %d failed\n" "$name" "$p" "$f"
    done
}

# ---------------------------------------------------------------- fuzz
run_fuzz() {
    section "fuzz targets: corpus replay + fixed-seed run"
    local t
    for t in "$BUILD"/host/fuzz/fuzz_*; do
        [ -x "$t" ] || continue
        local name corpus work log
        name=$(basename "$t")
        corpus=tests/fuzz/corpus/$name
        work=$(mktemp -d)
        [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
        log=$LOGS/$name.log
        local n
        n=$(find "$work" -type f | wc -l)
        if timeout 300 "$t" -seed=1 -runs=${FUZZ_RUNS:-20000} -max_len=4096 "$work" >"$log" 2>&1; then
            pass
            printf "  %-28s ok (%d corpus inputs + %d seeded runs)\n" "$name" "$n" "${FUZZ_RUNS:-20000}"
        else
            fail "$name: fuzz target failed - see $log"
        fi
        rm -rf "$work"
    done
}

# ---------------------------------------------------------------- libmm
# The example in docs/porting.md, built against the installed library.
run_libmm_example() {
    section "libmm: the example from docs/porting.md"
    local dir log
    dir=$(mktemp -d)
    log=$LOGS/libmm-example.log
    awk '/^```c$/ {n++; on = (n == 1); next} /^```$/ {on = 0} on' docs/porting.md > "$dir/example.c"
    if ! cc -std=c11 -Wall -Wextra -Werror -I"$BUILD/host/include" "$dir/example.c" \
            "$BUILD/host/libmm.a" -o "$dir/example" >"$log" 2>&1; then
        fail "libmm example: does not build - see $log"
    elif ! "$dir/example" >>"$log" 2>&1; then
        fail "libmm example: exits non-zero - see $log"
    elif ! grep -q 'hello from libmm' "$log" || ! grep -q 'check found 0 problems' "$log" ||
         ! grep -q 'not a live block' "$log"; then
        fail "libmm example: unexpected output - see $log"
    else
        pass
        printf "  %-40s ok (%s)\n" "docs/porting.md example" "$(grep -m1 'hello from libmm' "$log")"
    fi
    rm -rf "$dir"
}

# ---------------------------------------------------------------- libmm.so
# Programs under LD_PRELOAD=libmm.so (tests/preload/): their own checks
# (TAP-like lines), real programs compared with their glibc runs, the
# bad-free policy and the guard-page mode's reports.
PRELOAD_BIN=$BUILD/host/preload
LIBMM_SO=$PWD/$BUILD/host/libmm.so

# preload_tap NAME LOG CMD...: run CMD, one result per "ok"/"not ok" line; it must end with its summary.
preload_tap() {
    local name=$1 log=$2 rc p f
    shift 2
    timeout 300 "$@" >"$log" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    passed=$((passed + p))
    while read -r line; do
        fail "$name: ${line#not ok }"
    done < <(grep '^not ok ' "$log")
    if ! grep -q "^# " "$log"; then
        fail "$name: ended without its summary (exit $rc) - see $log"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name: exit status $rc with no failing check - see $log"
    fi
    printf "  %-40s %3d passed, %d failed\n" "$name" "$p" "$f"
}

# preload_ok NAME WHY: pass when WHY is empty, else fail with it.
preload_ok() {
    if [ -n "$2" ]; then
        fail "$1: $2"
    else
        pass
        printf "  %-40s ok\n" "$1"
    fi
}

run_preload_programs() {
    section "libmm.so: the malloc family, threads, fork, C++ (LD_PRELOAD)"
    local t
    for t in preload_family preload_threads preload_fork preload_cxx; do
        preload_tap "$t" "$LOGS/$t.log" env LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/$t"
    done
    local n
    # The owner's fence instead of membarrier(2): the lock's other way, same checks.
    preload_tap "preload_threads with MM_OWNER_FENCE=1" "$LOGS/preload_threads-fence.log" \
        env MM_OWNER_FENCE=1 LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_threads"
    run_preload_signal
    run_preload_scatter
    run_preload_generations
    n=$(grep -c '^exec-ok$' "$LOGS/preload_fork.log")
    preload_ok "preload_fork: every child exec'd" "$([ "$n" = 20 ] || echo "$n of 20 children printed exec-ok - see $LOGS/preload_fork.log")"
    # Linked with -lmm instead of preloaded: the same checks, resolution into libmm.so included.
    local work log=$LOGS/preload-link.log
    work=$(mktemp -d)
    if cc -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -I. tests/preload/preload_family.c \
            -L"$BUILD/host" -lmm -Wl,-rpath,"$PWD/$BUILD/host" -ldl -o "$work/family" >"$log" 2>&1; then
        preload_tap "preload_family linked with -lmm" "$log" "$work/family"
    else
        fail "preload_family does not link with -lmm - see $log"
    fi
    rm -rf "$work"
}

# preload_stats_run NAME PATTERN: run program NAME with MM_STATS=1 (its own
# checks counted); set STATS_A and STATS_B to the two numbers of its
# MM_STATS line matching the sed PATTERN (two \([0-9]*\) groups), 0 if none.
preload_stats_run() {
    local log=$LOGS/$1.log nums
    preload_tap "$1" "$log" env MM_STATS=1 LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/$1"
    nums=$(sed -n "s/^libmm: $2.*/\\1 \\2/p" "$log" | tail -1)
    read -r STATS_A STATS_B <<<"${nums:-0 0}"
}

# malloc from a signal handler that interrupted malloc on the same thread:
# the program's checks, and libmm must have served such calls apart.
run_preload_signal() {
    preload_stats_run preload_signal 're-entered.*: \([0-9]*\) blocks mapped apart, \([0-9]*\) frees'
    preload_ok "preload_signal: handlers re-entered libmm ($STATS_A blocks apart, $STATS_B frees deferred)" \
        "$([ "$STATS_A" -gt 0 ] && [ "$STATS_B" -gt 0 ] || echo "no re-entered call was counted - see $LOGS/preload_signal.log")"
}

# 8 threads free each other's blocks in no order: the program's checks, and
# the cross-thread frees must travel in batches of many (one per change of
# owner would be a few blocks per batch with 8 threads).
run_preload_scatter() {
    preload_stats_run preload_scatter 'cross-thread frees \([0-9]*\) in \([0-9]*\) batches'
    preload_ok "preload_scatter: $STATS_A cross-thread frees in $STATS_B batches (want >= 16 per batch)" \
        "$([ "$STATS_B" -gt 0 ] && [ "$STATS_A" -ge $((16 * STATS_B)) ] || echo "see $LOGS/preload_scatter.log")"
}

# Generations of threads: the program's checks, and its heaps retired and
# made again in few instances, with no trace left in the owner map (before
# its pages were given back, 108 to 160 KiB of it stayed resident; 36 to 84
# now: the pages at the edges of a cleared range stay, and where the threads'
# heaps land decides how many - the bound sits between the two).
run_preload_generations() {
    preload_stats_run preload_generations 'memory: \([0-9]*\) instances .* owner map \([0-9]*\) KiB'
    preload_ok "preload_generations: $STATS_A instances, owner map $STATS_B KiB resident (want <= 16, <= 96)" \
        "$([ "$STATS_A" -ge 2 ] && [ "$STATS_A" -le 16 ] && [ "$STATS_B" -le 96 ] || echo "see $LOGS/preload_generations.log")"
    # Instance structs share pages (a page each before: 4 KiB per instance).
    local structs
    structs=$(sed -n 's/^libmm: memory: .*instance structs \([0-9]*\) KiB resident.*/\1/p' "$LOGS/preload_generations.log" | tail -1)
    preload_ok "preload_generations: instance structs ${structs:-?} KiB resident for $STATS_A instances (want <= 2 each + 4)" \
        "$([ -n "$structs" ] && [ "$structs" -le $((2 * STATS_A + 4)) ] || echo "see $LOGS/preload_generations.log")"
}

run_preload_badfree() {
    section "libmm.so: bad frees (MM_BAD_FREE=report|abort|silent)"
    local log=$LOGS/preload-badfree.log out err rc lines
    for mode in report abort silent; do
        out=$(MM_BAD_FREE=$mode LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family" badfree 2>"$log")
        rc=$?
        lines=$(grep -c '^libmm: ' "$log")
        local why=
        case $mode in
        report) [ "$rc" = 0 ] && [ "$out" = survived ] && [ "$lines" = 2 ] ||
                    why="want 2 report lines and survival, got $lines lines, exit $rc" ;;
        abort)  [ "$rc" = 134 ] && [ "$lines" = 1 ] && [ -z "$out" ] ||
                    why="want 1 report line then SIGABRT (134), got $lines lines, exit $rc" ;;
        silent) [ "$rc" = 0 ] && [ "$out" = survived ] && [ ! -s "$log" ] ||
                    why="want no output and survival, got exit $rc, stderr $(head -c 200 "$log")" ;;
        esac
        preload_ok "MM_BAD_FREE=$mode" "$why"
    done
}

# MM_STATS reaches its reader when the program closed stderr before exit:
# through the copy of stderr taken at start, or into MM_STATS_FILE (%p: the
# process id); a file that cannot be opened is said so, and the report goes
# to stderr instead.  The program keeps 40 of its 100 blocks live.
run_preload_stats_out() {
    section "libmm.so: MM_STATS when stderr is closed, MM_STATS_FILE"
    local log=$LOGS/preload-stats-out.log work out files why
    work=$(mktemp -d)
    out=$(MM_STATS=1 LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family" closestderr 2>"$log")
    why=
    if [ "$out" != "closing stderr" ] || ! grep -q '^libmm: total .* live 4[0-9], ' "$log"; then
        why="no 'libmm: total' line (with the 40 live blocks) after close(2) - see $log"
    elif ! grep -Eq '^libmm: memory: [1-9][0-9]* instances .* [1-9][0-9]* KiB committed .*owner map [1-9]' "$log"; then
        why="no 'libmm: memory' line (instances, committed, owner map) - see $log"
    fi
    preload_ok "MM_STATS=1, stderr closed by the program" "$why"
    MM_STATS_FILE="$work/stats.%p" LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family" closestderr \
        >/dev/null 2>"$log"
    files=$(find "$work" -name 'stats.[0-9]*' | wc -l)
    why=
    if [ "$files" != 1 ] || ! grep -q '^libmm: total ' "$work"/stats.[0-9]*; then
        why="want one file stats.PID with the total, found $files"
    elif grep -q '^libmm:' "$log"; then
        why="the report also went to stderr - see $log"
    fi
    preload_ok "MM_STATS_FILE=dir/stats.%p" "$why"
    MM_STATS_FILE=/nonexistent/dir/stats LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family" \
        closestderr >/dev/null 2>"$log"
    why=
    if ! grep -q 'MM_STATS_FILE=/nonexistent/dir/stats: cannot open' "$log" ||
        ! grep -q '^libmm: total ' "$log"; then
        why="want the open error and the report on stderr - see $log"
    fi
    preload_ok "MM_STATS_FILE that cannot be opened" "$why"
    # A daemon closes every descriptor and opens a file that gets the
    # number of libmm's copy of stderr: the report must not land in it.
    MM_STATS=1 LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family" reusefd "$work/data" 2>"$log"
    why=
    if [ "$(cat "$work/data" 2>/dev/null)" != data ]; then
        why="the program's file holds more than its own line: $(head -c 200 "$work/data")"
    fi
    preload_ok "MM_STATS=1, the copy's number reused by the program" "$why"
    rm -rf "$work"
}

run_preload_real_programs() {
    section "libmm.so under real programs: same results as on glibc"
    local py=/usr/bin/python3 work why
    work=$(mktemp -d)
    # Python with every object a malloc; MM_STATS proves libmm served them.
    # Only python is preloaded (env sets it up past timeout): timeout's own
    # report would be counted too, now that it arrives although timeout
    # closes stderr at exit.
    PYTHONMALLOC=malloc timeout 300 $py tests/preload/alloc_heavy.py >"$work/py-glibc" 2>&1
    timeout 300 env PYTHONMALLOC=malloc MM_STATS=1 LD_PRELOAD="$LIBMM_SO" $py tests/preload/alloc_heavy.py \
        >"$work/py-libmm" 2>"$LOGS/preload-python.log"
    local allocs
    allocs=$(awk '/^libmm: total/ {for (i = 1; i <= NF; i++) if ($i == "allocs") print $(i + 1)}' \
        "$LOGS/preload-python.log" | tr -d ,)
    why=
    if ! cmp -s "$work/py-glibc" "$work/py-libmm"; then
        why="output differs from the glibc run - see $LOGS/preload-python.log"
    elif [ "${allocs:-0}" -lt 1000000 ]; then
        why="libmm served ${allocs:-no} allocations (want > 1000000) - see $LOGS/preload-python.log"
    fi
    preload_ok "python3 tests/preload/alloc_heavy.py (${allocs:-?} mallocs)" "$why"
    # Python threads: objects made by producers and dropped by consumers.
    local log=$LOGS/preload-python-threads.log instances
    PYTHONMALLOC=malloc timeout 300 $py tests/preload/threads_heavy.py >"$work/pyt-glibc" 2>&1
    timeout 300 env PYTHONMALLOC=malloc MM_STATS=1 LD_PRELOAD="$LIBMM_SO" $py tests/preload/threads_heavy.py \
        >"$work/pyt-libmm" 2>"$log"
    allocs=$(awk '/^libmm: total/ {for (i = 1; i <= NF; i++) if ($i == "allocs") print $(i + 1)}' "$log" | tr -d ,)
    instances=$(grep -c '^libmm: thread' "$log")
    why=
    if ! cmp -s "$work/pyt-glibc" "$work/pyt-libmm" || [ ! -s "$work/pyt-glibc" ]; then
        why="output differs from the glibc run - see $log"
    elif [ "${allocs:-0}" -lt 1000000 ] || [ "$instances" -lt 2 ]; then
        why="libmm served ${allocs:-no} allocations in $instances thread heaps (want > 1000000, >= 2) - see $log"
    fi
    preload_ok "python3 tests/preload/threads_heavy.py (${allocs:-?} mallocs, $instances thread heaps)" "$why"
    # gcc (cc1, as: every process of the driver) compiling a file of this project.
    local flags="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. -c mm/heap_general.c"
    cc $flags -o "$work/glibc.o" 2>"$LOGS/preload-gcc.log"
    MM_STATS=1 LD_PRELOAD="$LIBMM_SO" cc $flags -o "$work/libmm.o" 2>>"$LOGS/preload-gcc.log"
    local served
    served=$(grep -c '^libmm: total' "$LOGS/preload-gcc.log")
    why=
    if [ ! -s "$work/glibc.o" ] || ! cmp -s "$work/glibc.o" "$work/libmm.o"; then
        why="the object files differ (or were not made) - see $LOGS/preload-gcc.log"
    elif [ "$served" -lt 2 ]; then
        why="libmm reported from $served processes (cc, cc1, as: want >= 2)"
    fi
    preload_ok "gcc -O2 -g mm/heap_general.c: identical object ($served processes on libmm)" "$why"
    rm -rf "$work"
}

# preload_guard_case MODE RC TEXT...: the planted bug MODE under MM_GUARD=all
# ends with exit status RC and its report has every TEXT (extended regexps).
preload_guard_case() {
    local mode=$1 want_rc=$2 log=$LOGS/preload-guard-$1.log rc missing= t
    shift 2
    # in a subshell whose stderr is dropped: the shell's notice of the expected SIGSEGV
    rc=$( { MM_GUARD=all LD_PRELOAD="$LIBMM_SO" timeout 60 "$PRELOAD_BIN/preload_guard" "$mode" \
              >"$log" 2>&1; echo $?; } 2>/dev/null)
    for t in "$@"; do
        grep -Eq "$t" "$log" || missing="$missing [$t]"
    done
    local why=
    [ "$rc" = "$want_rc" ] || why="exit status $rc, want $want_rc; "
    [ -z "$missing" ] || why="${why}report lacks$missing; "
    preload_ok "MM_GUARD=all: $mode" "${why:+${why}see $log}"
}

run_preload_guard() {
    section "libmm.so: guard-page mode (MM_GUARD)"
    preload_guard_case overrun 139 'out-of-bounds write 1 byte past block' \
        'faulting instruction plant_overrun\+' 'allocated at make_block\+' \
        'called from plant_overrun\+'
    preload_guard_case uaf 139 'use-after-free read at offset 8 of freed block' \
        'faulting instruction plant_use_after_free\+' 'allocated at make_block\+' \
        'freed at +release_block\+' 'called from plant_use_after_free\+'
    preload_guard_case small 0 'signature corrupted \(overrun into slack\)' \
        'this free at release_block\+' 'allocated at make_block\+' 'after the bug'
    # The module offsets are what addr2line takes: the allocation's line is the malloc call.
    local off line want
    off=$(grep -m1 -oE 'allocated at make_block\+0x[0-9a-f]+ \(preload_guard\+0x[0-9a-f]+' \
        "$LOGS/preload-guard-overrun.log" | sed 's/.*preload_guard+//')
    line=$(addr2line -e "$PRELOAD_BIN/preload_guard" "$off" 2>/dev/null)
    want="tests/preload/preload_guard.c:$(grep -n 'char \*p = malloc(n);' tests/preload/preload_guard.c | cut -d: -f1)"
    preload_ok "guard report -> addr2line -> $want" \
        "$([[ "$line" == *"$want" ]] || echo "offset '$off' gives '$line'")"
    # Sampling: one in 3 allocations guarded, the family's checks still hold.
    preload_tap "preload_family with MM_GUARD=3" "$LOGS/preload-family-guard.log" \
        env MM_GUARD=3 LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family"
    # Every block guarded: misuse is still reported once, with its call sites on the lines after.
    preload_tap "preload_family with MM_GUARD=all" "$LOGS/preload-family-guard-all.log" \
        env MM_GUARD=all LD_PRELOAD="$LIBMM_SO" "$PRELOAD_BIN/preload_family"
    # The mode's banner only when asked: not once more in every child of a preloaded shell.
    local quiet loud
    quiet=$(MM_GUARD=3 LD_PRELOAD="$LIBMM_SO" sh -c '/bin/true; /bin/true' 2>&1 | grep -c 'guard mode:')
    loud=$(MM_GUARD=3 MM_GUARD_VERBOSE=1 LD_PRELOAD="$LIBMM_SO" /bin/true 2>&1 | grep -c 'guard mode:')
    preload_ok "MM_GUARD banner only with MM_GUARD_VERBOSE=1" \
        "$([ "$quiet" = 0 ] && [ "$loud" = 1 ] || echo "banner lines: $quiet without asking (want 0), $loud when asked (want 1)")"
}

# ---------------------------------------------------------------- build hygiene
# The freestanding builds (kernel, ring 3) read no header outside this tree
# and the cross compiler's own include directory.  They are compiled with
# -MD, so their dependency files list every header read, system ones too.
# hermetic_check WHAT COMPILER LOG DIR...: every absolute path named by a
# dependency file under the DIRs must lie in COMPILER's own include directory.
hermetic_check() {
    local what=$1 inc dfiles bad log=$3
    inc=$($2 -print-file-name=include)
    shift 3
    dfiles=$(find "$@" -name '*.d' 2>/dev/null | sort)
    if [ -z "$dfiles" ]; then
        fail "hermetic $what: no dependency files under $*"
        return
    fi
    # Every absolute path named by a dependency file, with the file naming it.
    echo "$dfiles" | xargs awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) {sub(/:$/, "", $i); print FILENAME ": " $i}}' \
        >"$log"
    bad=$(grep -v ": $inc/" "$log" | head -5)
    if [ -n "$bad" ]; then
        fail "hermetic $what: headers from outside the tree and $inc: $bad"
    elif ! grep -q ": $inc/" "$log"; then
        fail "hermetic $what: no object names the compiler's headers (are the dependency files complete, -MD?)"
    else
        pass
        printf "  %-40s ok (%d objects, headers only from the tree and %s)\n" "hermetic $what build" \
            "$(echo "$dfiles" | wc -l)" "$inc"
    fi
}

run_hermetic_check() {
    section "build hygiene: freestanding objects read only the tree and the compiler's headers"
    hermetic_check "kernel and ring-3" "${KCC:-i686-linux-gnu-gcc}" "$LOGS/hermetic.log" "$BUILD/k" "$BUILD/user"
}

# The 64-bit kernel's objects read only the tree and the x86-64 compiler's headers.
run_hermetic_check_x86_64() {
    hermetic_check "x86-64 kernel" cc "$LOGS/hermetic-x86_64.log" "$BUILD/x86_64"
}

# The 64-bit kernel (make ARCH=x86_64): the same kernel/ and mm/ as the i686
# one, so the same in-kernel suite, judged by the same functions.  The
# boots run two at a time (TCG, one CPU each).  QEMU cannot load a 64-bit
# kernel without a loader, so every command line is a GRUB ISO.
run_x86_64_kernel() {
    section "x86-64 kernel: the same kernel/ and mm/, Multiboot 2, long mode at -2 GiB"
    local b64=$BUILD/x86_64 pair machine
    if ! grub-file --is-x86-multiboot2 "$b64/kernel.elf" 2>/dev/null; then
        fail "x86-64: $b64/kernel.elf missing or not Multiboot 2"
        return
    fi
    pass
    echo "  grub-file: $b64/kernel.elf is Multiboot 2"
    boot64_bg "$LOGS/x86_64-max.log" "$suite_timeout" -M pc -m 128M -cpu max -cdrom "$b64/test.iso"
    boot64_bg "$LOGS/x86_64-q35-6G.log" "$suite_timeout" -M q35 -m 6G -cdrom "$b64/test.iso"
    wait
    boot64_bg "$LOGS/x86_64-overcommit.log" "$suite_timeout" -M pc -m 128M -cdrom "$b64/test-overcommit.iso"
    boot64_bg "$LOGS/x86_64-kheap-eager.log" "$suite_timeout" -M pc -m 128M -cdrom "$b64/test-kheap-eager.iso"
    wait
    for pair in "max:pc 128M, -cpu max" "q35-6G:q35 6 GiB" "overcommit:overcommit policy" \
                "kheap-eager:kheap=eager"; do
        rc_of "$LOGS/x86_64-${pair%%:*}.log"
        judge_suite "x86-64[${pair#*:}]" "$LOGS/x86_64-${pair%%:*}.log"
    done
    for machine in "pc 256" "pc 4096" "q35 2048" "q35 6144"; do
        memcheck_one ${machine% *} ${machine#* } x86-64
    done
    run_x86_64_monitor
    run_x86_64_fault_tests "$LOGS/x86_64-max.log"
}

# README's `MACHINE=q35 MEM=6G make ARCH=x86_64 run CMD="pmm; halt"`: the
# monitor on x86-64 types through the serial port like i686's, the PMM it
# shows manages more than 4 GiB, and the demo before it lost no frame.
run_x86_64_monitor() {
    local log=$LOGS/x86_64-monitor.log label="x86-64 monitor: q35 6G, CMD=\"pmm; halt\"" frames why=""
    QEMU_SYSTEM=qemu-system-x86_64 MACHINE=q35 MEM=6G CMD="pmm; halt" RUN_TIMEOUT=120 \
        scripts/qemu.sh run "$BUILD/x86_64/os.iso" </dev/null >"$log" 2>&1
    rc=$?
    frames=$(grep -a -m1 '^pmm: all ' "$log" | awk '{print $3}')
    if [ "$rc" -ne 0 ]; then
        why="scripts/qemu.sh exit status $rc"
    elif ! grep -aq '^mm> pmm' "$log" || ! grep -aq '^Halting\.' "$log"; then
        why="the commands were not both typed and run"
    elif ! grep -aq '^pmm_check: 0 violations' "$log"; then
        why="pmm_check did not report 0 violations"
    elif [ -z "$frames" ] || [ "$frames" -le 1048576 ]; then
        why="the PMM manages ${frames:-no} frames, not more than 4 GiB"
    elif ! grep -aq '^demo: free frames .*every frame came back' "$log"; then
        why="the demo's programs did not give every frame back"
    fi
    if [ -n "$why" ]; then
        fail "$label: $why - see $log"
    else
        pass
        printf "  %-40s ok (%d frames managed, %d MiB)\n" "x86-64 monitor CMD=\"pmm; halt\"" \
            "$frames" $((frames / 256))
    fi
}

# The fault tests the 64-bit kernel listed: one ISO (test=NAME) and one boot each, two at a time.
run_x86_64_fault_tests() {
    local list=$1 isos=$BUILD/x86_64/fault-isos entry name cpu names
    skip_listed_faults "$list" "x86-64 "
    names=$(fault_test_names "$list")
    [ -n "$names" ] || { fail "x86-64 fault tests: the kernel listed none - see $list"; return; }
    mkdir -p "$isos"
    for entry in $names; do
        name=${entry%%:*}
        scripts/mkiso64.sh "$BUILD/x86_64/kernel.elf" "$isos/$name.iso" "test=$name" &
        [ "$(jobs -r | wc -l)" -ge 2 ] && wait -n
    done
    wait
    set -- $names
    while [ $# -gt 0 ]; do
        for entry in "$1" "${2:-}"; do
            [ -n "$entry" ] || continue
            name=${entry%%:*} cpu=qemu64
            [[ $entry == *:cpu=* ]] && cpu=${entry#*:cpu=}
            boot64_bg "$LOGS/x86_64-fault-$name.log" 60 -M pc -m 128M -cpu "$cpu" -cdrom "$isos/$name.iso"
        done
        wait
        for entry in "$1" "${2:-}"; do
            [ -n "$entry" ] || continue
            name=${entry%%:*} cpu=qemu64
            [[ $entry == *:cpu=* ]] && cpu=${entry#*:cpu=}
            rc_of "$LOGS/x86_64-fault-$name.log"
            judge_fault "$name" "$LOGS/x86_64-fault-$name.log" "$cpu" "x86-64 "
        done
        shift
        [ $# -gt 0 ] && shift
    done
}

# mm/ copied alone into an empty directory builds and runs (scripts/mm_alone.sh).
run_mm_alone() {
    section "mm/ alone: copied into an empty directory, built and run with a minimal port"
    local line
    while read -r line; do
        case $line in
            ok\ *) pass; echo "  $line" ;;
            *) fail "${line#FAIL }" ;;
        esac
    done < <(scripts/mm_alone.sh "${KCC:-i686-linux-gnu-gcc}")
}

# libmm.a is whole: for every installed header but the port's, the program
# tests/libmm/use_NAME.c (NAME: the header's path under mm/, / as _) builds
# against only the installed headers and libmm.a, and runs.  use_heap_debug
# also proves that reports name real call sites (frame pointers in libmm.a).
run_libmm_headers() {
    section "libmm: one program per installed header, linked with libmm.a alone"
    local inc=$BUILD/host/include work hdr name src log
    work=$(mktemp -d)
    for hdr in $(cd "$inc" && find mm -name '*.h' | sort); do
        [ "$hdr" = mm/port.h ] && continue
        name=${hdr#mm/}
        name=use_${name//\//_}
        name=${name%.h}
        src=tests/libmm/$name.c
        log=$LOGS/libmm-$name.log
        if [ ! -f "$src" ]; then
            fail "libmm: installed header $hdr has no program $src"
            continue
        fi
        if ! cc -std=c11 -Wall -Wextra -Werror -g -O1 -no-pie -I"$inc" "$src" "$BUILD/host/libmm.a" \
                -o "$work/$name" >"$log" 2>&1; then
            fail "libmm: $src does not build against the installed headers and libmm.a - see $log"
        elif ! "$work/$name" >>"$log" 2>&1 || ! grep -q "^ok $hdr\$" "$log"; then
            fail "libmm: $name fails - see $log"
        elif [ "$name" = use_heap_debug ] && ! libmm_call_sites_named "$work/$name" "$log"; then
            fail "libmm: debug allocator reports do not name the allocating and freeing functions - see $log"
        else
            pass
            printf "  %-40s ok\n" "$hdr"
        fi
    done
    rm -rf "$work"
}

# libmm_call_sites_named PROGRAM LOG: the call sites it printed are in allocate_here and free_here.
libmm_call_sites_named() {
    local at fn ok=0
    at=$(sed -n 's/^allocated at //p' "$2")
    fn=$(addr2line -f -e "$1" "$at" | head -1)
    echo "allocation site $at is in $fn" >>"$2"
    [ "$fn" = allocate_here ] || ok=1
    at=$(sed -n 's/^freed at //p' "$2")
    fn=$(addr2line -f -e "$1" "$at" | head -1)
    echo "free site $at is in $fn" >>"$2"
    [ "$fn" = free_here ] || ok=1
    return $ok
}

# ---------------------------------------------------------------- kernel boots
QEMU_BASE=(qemu-system-i386 -display none -no-reboot -serial stdio
           -device isa-debug-exit,iobase=0xf4,iosize=0x04)

# boot LOG TIMEOUT QEMU-ARGS...: run QEMU, output to LOG, sets $rc.
boot() {
    local log=$1 secs=$2
    shift 2
    timeout "$secs" "${QEMU_BASE[@]}" "$@" </dev/null >"$log" 2>&1
    rc=$?
}

# boot64 LOG TIMEOUT QEMU-ARGS...: the same for the 64-bit kernel, sets $rc.
boot64() {
    local log=$1 secs=$2
    shift 2
    timeout "$secs" qemu-system-x86_64 -display none -no-reboot -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" </dev/null >"$log" 2>&1
    rc=$?
}

# boot64_bg LOG TIMEOUT QEMU-ARGS...: boot64 in the background; its status goes to LOG.rc.
boot64_bg() {
    local log=$1
    rm -f "$log.rc"
    ( boot64 "$@"; echo "$rc" >"$log.rc" ) &
}

# rc_of LOG: the status a background boot left (sets $rc).
rc_of() {
    rc=$(cat "$1.rc" 2>/dev/null || echo 1)
}

# Why a boot's exit status is wrong, in words.
exit_reason() {
    case $1 in
    0) echo "triple fault or reset (QEMU exited 0)";;
    124) echo "timeout";;
    1) echo "QEMU error (exit 1)";;
    $EXIT_PASS) echo "kernel reported pass";;
    $EXIT_FAIL) echo "kernel reported failure";;
    $EXIT_FAULT) echo "kernel fault: $(grep -m1 -a '^\*\*\* ' "$2" | tr -d '\r')";;
    *) echo "unexpected exit status $1";;
    esac
}

# suite_verdict LOG: why one suite boot failed as a whole ("" if it did not);
# reads $rc.  Individual FAIL lines are counted separately by judge_suite.
suite_verdict() {
    local log=$1 plan p f s
    plan=$(grep -a -m1 -o '^ktest: plan [0-9]*' "$log" | awk '{print $3}')
    p=$(grep -a -c '^ktest: ok ' "$log")
    f=$(grep -a -c '^ktest: FAIL ' "$log")
    s=$(grep -a -c '^ktest: skip ' "$log")
    if [ -z "$plan" ]; then
        echo "no plan line ($(exit_reason "$rc" "$log"))"
    elif [ $((p + f + s)) -ne "$plan" ]; then
        echo "planned $plan tests, $((p + f + s)) reported ($(exit_reason "$rc" "$log"))"
    elif [ "$f" -eq 0 ] && [ "$rc" -ne "$EXIT_PASS" ]; then
        echo "all tests passed but $(exit_reason "$rc" "$log")"
    elif [ "$f" -gt 0 ] && [ "$rc" -ne "$EXIT_FAIL" ]; then
        echo "failures reported and $(exit_reason "$rc" "$log")"
    fi
}

# judge_suite LABEL LOG: count the in-kernel results of one suite boot.
# A test that does not apply to the build or CPU is skipped with its reason.
judge_suite() {
    local label=$1 log=$2 plan verdict p=0 f=0 s=0
    plan=$(grep -a -m1 -o '^ktest: plan [0-9]*' "$log" | awk '{print $3}')
    while read -r line; do
        case $line in
        "ktest: ok "*) p=$((p + 1)); pass;;
        "ktest: FAIL "*) f=$((f + 1)); fail "$label: ${line#ktest: FAIL }";;
        "ktest: skip "*) s=$((s + 1)); skipped=$((skipped + 1));;
        esac
    done < <(grep -a -E '^ktest: (ok|FAIL|skip) ' "$log" | tr -d '\r')
    # the skipped tests, one line per reason
    grep -a '^ktest: skip ' "$log" | tr -d '\r' | sed 's/^ktest: skip [^:]*: //' | sort | uniq -c |
        while read -r n reason; do echo "  skip $label: $n test(s): $reason"; done
    verdict=$(suite_verdict "$log")
    [ -n "$verdict" ] && fail "$label: $verdict - see $log"
    # Both kernels run ring 3 and every ISO carries the initrd: a suite that
    # finds no programs has lost them, which must not pass as a skip.
    if grep -a -q '^ktest: skip .*no user programs' "$log"; then
        fail "$label: the ring-3 tests found no user programs (initrd missing from the boot?) - see $log"
    fi
    printf "  %-40s %3d passed, %d failed, %d skipped (plan %s)\n" "$label" "$p" "$f" "$s" "${plan:-none}"
}

# The driver must notice every way a boot can go wrong: the kernel misbehaves
# on purpose (ktest-selfcheck=MODE) and the verdict must name the problem.
run_driver_selfchecks() {
    section "driver self-checks (the kernel misbehaves on purpose)"
    local mode expect verdict
    for pair in "triple:triple fault" "hang:planned 1 tests, 0 reported (timeout)" "short:planned 3 tests, 1 reported" \
                "noplan:no plan line (kernel reported pass)" "liar:all tests passed but kernel reported failure"; do
        mode=${pair%%:*} expect=${pair#*:}
        boot "$LOGS/selfcheck-$mode.log" 15 -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" \
             -append "ktest-selfcheck=$mode" -m 32M
        verdict=$(suite_verdict "$LOGS/selfcheck-$mode.log")
        if [[ "$verdict" == *"$expect"* ]]; then
            pass
            printf "  %-40s caught: %s\n" "$mode" "$verdict"
        else
            fail "driver self-check $mode: expected a verdict with \"$expect\", got \"$verdict\""
        fi
    done
}

run_kernel_suites() {
    section "in-kernel tests"
    boot "$LOGS/kernel-direct.log" "$suite_timeout" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -append test -m 128M -cpu max
    judge_suite "kernel[direct, Multiboot 1, -cpu max]" "$LOGS/kernel-direct.log"
    boot "$LOGS/kernel-overcommit.log" "$suite_timeout" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" \
         -append "test overcommit" -m 128M
    judge_suite "kernel[direct, overcommit policy]" "$LOGS/kernel-overcommit.log"
    boot "$LOGS/kernel-kheap-eager.log" "$suite_timeout" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" \
         -append "test kheap=eager" -m 128M
    judge_suite "kernel[direct, kheap=eager]" "$LOGS/kernel-kheap-eager.log"
    boot "$LOGS/kernel-grub-mb2.log" "$suite_timeout" -cdrom "$BUILD/test-mb2.iso" -m 128M
    judge_suite "kernel[GRUB ISO, Multiboot 2, qemu32]" "$LOGS/kernel-grub-mb2.log"
    boot "$LOGS/kernel-grub-mb1.log" "$suite_timeout" -cdrom "$BUILD/test-mb1.iso" -m 128M
    judge_suite "kernel[GRUB ISO, Multiboot 1, qemu32]" "$LOGS/kernel-grub-mb1.log"
}

# ---------------------------------------------------------------- long tests
# KTEST_LONG tests (the soak) are not in the suite every boot repeats: each
# is booted alone with test=NAME and judged like a suite of one.
run_long_tests() {
    section "long tests (one per boot)"
    local list=$LOGS/kernel-direct.log
    [ -f "$list" ] || boot "$list" "$suite_timeout" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -append test -m 128M
    local names name
    names=$(grep -a '^ktest: has long ' "$list" | tr -d '\r' | awk '{print $4}')
    [ -n "$names" ] || { fail "long tests: the kernel listed none - see $list"; return; }
    for name in $names; do
        local log=$LOGS/long-$name.log
        boot "$log" "${LONG_TIMEOUT:-420}" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" \
             -append "test=$name" -m 128M
        judge_suite "long test $name" "$log"
        grep -a '^soak: ' "$log" | tr -d '\r' | sed 's/^/    /'
    done
}

# ---------------------------------------------------------------- fault tests
run_fault_tests() {
    section "fault tests (one per boot)"
    local list=$LOGS/kernel-direct.log
    [ -f "$list" ] || boot "$list" "$suite_timeout" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -append test -m 128M
    skip_listed_faults "$list" ""
    local names
    names=$(fault_test_names "$list")
    [ -n "$names" ] || { fail "fault tests: the kernel listed none - see $list"; return; }
    local entry name cpu
    for entry in $names; do
        name=${entry%%:*} cpu=qemu32
        [[ $entry == *:cpu=* ]] && cpu=${entry#*:cpu=}
        local log=$LOGS/fault-$name.log
        boot "$log" 60 -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -append "test=$name" -m 128M -cpu "$cpu"
        judge_fault "$name" "$log" "$cpu" ""
    done
}

# fault_test_names LOG: "NAME" or "NAME:cpu=MODEL" for each fault test the kernel listed.
fault_test_names() {
    grep -a '^ktest: has fault ' "$1" | tr -d '\r' | awk '{print $4 ($5 ? ":" $5 : "")}'
}

# skip_listed_faults LOG LABEL: the fault tests that do not apply to this build, with the reason.
skip_listed_faults() {
    local line
    while read -r line; do
        skip "${2}fault ${line#ktest: has skipped-fault }"
    done < <(grep -a '^ktest: has skipped-fault ' "$1" | tr -d '\r')
}

# judge_fault NAME LOG CPU LABEL-PREFIX: a fault boot passes when QEMU left
# with the fault code and the report has every expected piece (reads $rc).
judge_fault() {
    local name=$1 log=$2 cpu=$3 label="${4}fault $1" expect missing="" piece
    expect=$(grep -a -m1 '^ktest: expecting a fault report containing' "$log" | tr -d '\r' |
             sed 's/^[^"]*"//; s/"$//')
    if [ -z "$expect" ]; then
        fail "$label: the kernel never announced what it expects ($(exit_reason "$rc" "$log")) - see $log"
        return
    fi
    IFS='|' read -ra pieces <<<"$expect"
    for piece in "${pieces[@]}"; do
        # only text after the announcement counts
        sed -n '/^ktest: expecting/,$p' "$log" | tail -n +2 | grep -aqF -- "$piece" || missing="$piece"
    done
    if [ "$rc" -ne "$EXIT_FAULT" ]; then
        fail "$label: expected a fault report, got: $(exit_reason "$rc" "$log") - see $log"
    elif [ -n "$missing" ]; then
        fail "$label: the report lacks \"$missing\" - see $log"
    else
        pass
        printf "  %-40s ok (-cpu %s)\n" "${4}$name" "$cpu"
    fi
}

# ---------------------------------------------------------------- memory sizes
# memcheck_one MACHINE MIB [iso]: the kernel's parsed usable RAM vs. -m.
memcheck_one() {
    local machine=$1 mib=$2 via=${3:-direct} log args
    log=$LOGS/memcheck-$machine-$mib-$via.log
    if [ "$via" = x86-64 ]; then
        boot64 "$log" 90 -machine "$machine" -m "${mib}M" -cdrom "$BUILD/x86_64/test-memcheck.iso"
    else
        if [ "$via" = direct ]; then
            args=(-kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -append memcheck)
        else
            args=(-cdrom "$BUILD/test-memcheck.iso")
        fi
        boot "$log" 60 -machine "$machine" -m "${mib}M" "${args[@]}"
    fi
    local line usable below4g above4g given label="memory $machine -m ${mib}M ($via)"
    line=$(grep -a -m1 '^memcheck:' "$log" | tr -d '\r')
    if [ -z "$line" ] || [ "$rc" -ne "$EXIT_PASS" ]; then
        fail "$label: no memcheck result ($(exit_reason "$rc" "$log")) - see $log"
        return
    fi
    # every field must be there: a missing one is a failure, not a guess
    local ranges pmm_total pmm_free pmm_check name value
    for name in usable below4g above4g ranges pmm_total pmm_free pmm_check; do
        value=$(grep -o "\b${name}\(_kib\)\?=-\?[0-9]*" <<<"$line" | head -1 | cut -d= -f2)
        if [ -z "$value" ]; then
            fail "$label: the memcheck line has no $name field: $line"
            return
        fi
        printf -v "$name" '%s' "$value"
    done
    given=$((mib * 1024))
    # what the PMM must manage: below 4 GiB on i686 (clipped), everything on x86-64
    local managed=$below4g clipped=clipped
    [ "$via" = x86-64 ] && managed=$usable clipped=managed
    # QEMU's holes: 385 KiB at 0x9FC00-0x100000 plus firmware-reserved RAM
    # (ACPI tables, SeaBIOS) at the top of low memory: well under 2 MiB.
    local slack=2048
    if [ "$usable" -gt "$given" ] || [ "$usable" -lt $((given - slack)) ]; then
        fail "$label: usable $usable KiB, expected $((given - slack))..$given KiB"
    elif [ $((below4g + above4g)) -ne "$usable" ]; then
        fail "$label: below 4 GiB ($below4g) + above ($above4g) != usable ($usable)"
    elif [ "$mib" -ge 3584 ] && [ "$machine" = q35 ] && [ "$above4g" -eq 0 ]; then
        fail "$label: expected RAM above 4 GiB on q35 with ${mib} MiB, found none"
    elif [ "$pmm_check" != 0 ]; then
        fail "$label: pmm_check found $pmm_check violations"
    elif [ "$pmm_total" -gt "$managed" ] || [ "$pmm_total" -lt $((managed - 8 * ranges)) ]; then
        # each range loses less than a frame at each end when rounded inward
        fail "$label: the PMM manages $pmm_total KiB of the $managed KiB it should"
    elif [ "$pmm_free" -le 0 ] || [ "$pmm_free" -ge "$pmm_total" ]; then
        fail "$label: implausible free figure $pmm_free KiB of $pmm_total KiB"
    else
        pass
        printf "  %-34s usable %8d KiB (%d above 4 GiB, %s); PMM %d KiB, %d free\n" \
            "$label" "$usable" "$above4g" "$clipped" "$pmm_total" "$pmm_free"
    fi
}

run_memory_tests() {
    section "memory sizes: parsed usable RAM vs. what QEMU was given, PMM and VMM up"
    local machine mib
    for machine in pc q35; do
        for mib in 8 128 1024 3584 4096; do
            memcheck_one "$machine" "$mib"
        done
    done
    memcheck_one pc 128 grub-mb2
    memcheck_one q35 3584 grub-mb2
}

# ---------------------------------------------------------------- monitor
# monitor_expect LABEL LOG STATUS WANT-STATUS PIECE...: pass when the status
# is as wanted and every piece of text is in the log.
monitor_expect() {
    local label=$1 log=$2 status=$3 want_status=$4 piece missing=""
    shift 4
    for piece in "$@"; do
        grep -aqF -- "$piece" "$log" || { missing=$piece; break; }
    done
    if [ "$status" -ne "$want_status" ]; then
        fail "monitor $label: exit status $status, expected $want_status - see $log"
    elif [ -n "$missing" ]; then
        fail "monitor $label: the output lacks \"$missing\" - see $log"
    else
        pass
        printf "  %-40s ok\n" "$label"
    fi
}

# The monitor end to end: commands typed into the real serial port after
# the prompt (scripts/qemu.sh, as `make run CMD=...` does), through GRUB;
# the kernel command line's monitor=SCRIPT; halt and reboot for real.
run_monitor_tests() {
    section "monitor: scripted commands through the serial port"
    local log=$LOGS/monitor-serial.log st
    CMD="help; mem; pmm; vmm; heap; ps; run hello; run kill_null; frob; vmm 99; pmX"$'\x7f'"m; halt" \
        RUN_TIMEOUT=120 scripts/qemu.sh run "$BUILD/os.iso" >"$log" 2>&1 </dev/null
    st=$?
    monitor_expect "serial input, GRUB ISO" "$log" "$st" 0 \
        "mm> help" "reboot                   reset the machine" \
        "mm> mem" "frames per cell" "  <16M  [" \
        "mm> pmm" "pmm_check: 0 violations" \
        "mm> vmm" "Kernel space (shared by every address space):" \
        "mm> heap" "heap_check: 0 violations" \
        "mm> ps" "0 processes" \
        "mm> run hello" ") exited with status 0" \
        "mm> run kill_null" "killed: page fault at 0x00000000" ") was killed: page fault" \
        'unknown command "frob"' "vmm: no process 99 with an address space" \
        "Halting."
    # the line with a DEL in it must have run as "pmm": a second check result
    if [ "$(grep -ac 'pmm_check: 0 violations' "$log")" -ne 2 ]; then
        fail "monitor serial input: backspace (DEL) did not edit \"pmX\" into \"pmm\" - see $log"
    else
        pass
        printf "  %-40s ok\n" "line editing over serial (DEL)"
    fi

    # a CPU-bound program in the background: the prompt must keep answering
    # next to it (the monitor takes turns with it), and ps, vmm PID and kill
    # PID must see it alive; `$!` is the pid `run ... &` printed
    log=$LOGS/monitor-background.log
    CMD='run worker &; ps; vmm $!; run hello; kill $!; ps; vmm $!; halt' \
        RUN_TIMEOUT=120 scripts/qemu.sh run "$BUILD/os.iso" >"$log" 2>&1 </dev/null
    st=$?
    monitor_expect "run PROG &, ps, vmm PID, kill PID" "$log" "$st" 0 \
        "mm> run worker &" "started in the background as pid" "busy until killed" \
        "mm> ps" " runnable  worker" "1 process (pages" \
        'mm> vmm $!' "committed rw-     128" "page tables of its own" \
        "mm> run hello" "exited with status 0" \
        'mm> kill $!' "(worker) killed: by request" "0 processes" \
        "vmm: no process" "Halting."

    # a background program that ends while the prompt waits on an empty line:
    # the line saying so must come by itself, without a key pressed
    log=$LOGS/monitor-idle-end.log
    rm -f "$log"
    timeout 60 "${QEMU_BASE[@]}" -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -m 128M \
        -append "nodemo monitor=run,worker,1,&" </dev/null >"$log" 2>&1 &
    local qpid=$! tries
    for tries in $(seq 100); do
        grep -aq 'exited with status' "$log" && break
        sleep 0.3
    done
    kill "$qpid" 2>/dev/null
    wait "$qpid" 2>/dev/null
    monitor_expect "background end told at an idle prompt" "$log" 0 0 \
        "started in the background as pid 1" "run: worker (pid 1) exited with status 0"

    log=$LOGS/monitor-reboot.log
    CMD="reboot" RUN_TIMEOUT=60 scripts/qemu.sh run "$BUILD/os.iso" >"$log" 2>&1 </dev/null
    st=$?
    # -no-reboot: the reset makes QEMU leave with status 0, well before the timeout
    monitor_expect "reboot (QEMU leaves on the reset)" "$log" "$st" 0 "mm> reboot" "Rebooting."

    log=$LOGS/monitor-cmdline.log
    boot "$log" 60 -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -m 128M \
        -append "nodemo monitor=pmm;run,hello,7;kill,1;test,format_in_kernel;halt"
    monitor_expect "monitor=SCRIPT on the command line" "$log" "$rc" "$EXIT_PASS" \
        "mm> pmm" "pmm_check: 0 violations" "mm> run hello 7" "exited with status 0" \
        "mm> kill 1" "kill: no running process 1" "ktest: ok format_in_kernel" \
        "test: 1 of 1 passed" "Halting."

    # the PS/2 keyboard: keys pressed through QEMU's monitor (sendkey), one
    # of them a Backspace; the echo and the command's output reach the log
    log=$LOGS/monitor-keyboard.log
    rm -f "$log"
    local fifo qpid key tries
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    timeout 60 qemu-system-i386 -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -m 128M -append nodemo \
        -serial "file:$log" -monitor stdio <"$fifo" >/dev/null 2>&1 &
    qpid=$!
    exec 4>"$fifo"
    for tries in $(seq 300); do
        grep -aq 'mm> ' "$log" 2>/dev/null && break
        sleep 0.1
    done
    for key in p m x backspace m ret; do
        echo "sendkey $key" >&4
        sleep 0.2
    done
    for tries in $(seq 100); do
        grep -aq 'pmm_check' "$log" 2>/dev/null && break
        sleep 0.1
    done
    for key in h a l t ret; do
        echo "sendkey $key" >&4
        sleep 0.2
    done
    wait "$qpid"
    st=$?
    exec 4>&-
    rm -f "$fifo"
    monitor_expect "PS/2 keyboard (QEMU sendkey)" "$log" "$st" "$EXIT_PASS" \
        "mm> pmx"$'\b \b'"m" "pmm_check: 0 violations" "mm> halt" "Halting."
}

# `make debug` as a person uses it: scripts/qemu.sh debug with gdb reading
# commands, then the terminal's Ctrl-C - a SIGINT to the whole foreground
# process group - while the kernel runs.  gdb must stop the kernel, QEMU
# must survive it, and a helper must then report from the live target.
run_debug_interrupt_test() {
    local log=$LOGS/debug-interrupt.log fifo=$LOGS/debug-interrupt.in pid why=""
    rm -f "$fifo" build/debug-serial.log && mkfifo "$fifo"
    GDB_PORT=$((20000 + ($$ + 7) % 20000)) setsid scripts/qemu.sh debug "$BUILD/os.iso" \
        "$BUILD/kernel.elf" <"$fifo" >"$log" 2>&1 &
    pid=$!
    exec 7>"$fifo"
    printf 'delete\ncontinue\n' >&7
    # let it boot to the monitor's prompt (the serial log shows it), then Ctrl-C
    local tries
    for tries in $(seq 120); do
        grep -aq '^mm> ' build/debug-serial.log 2>/dev/null && break
        sleep 0.5
    done
    sleep 1 # the kernel idles at its prompt
    kill -INT -- "-$pid" 2>/dev/null
    sleep 2
    printf 'mk-pmm\nquit\n' >&7
    exec 7>&-
    timeout 30 tail --pid="$pid" -f /dev/null
    kill -- "-$pid" 2>/dev/null
    rm -f "$fifo"
    if grep -aq 'terminating on signal 2' "$log"; then
        why="QEMU received the Ctrl-C and ended"
    elif ! grep -aq 'Program received signal SIGINT' "$log"; then
        why="gdb did not stop the kernel on Ctrl-C"
    elif ! grep -aq 'consistent$' "$log"; then
        why="mk-pmm did not report from the stopped kernel"
    fi
    if [ -n "$why" ]; then
        fail "make debug, Ctrl-C: $why - see $log"
    else
        pass
        printf "  %-40s ok\n" "make debug: Ctrl-C stops, QEMU lives"
    fi
}

# ---------------------------------------------------------------- README
# README's sample output against a real boot through GRUB (as `make run`
# shows it): every sample line must match a boot line, numbers aside
# (scripts/readme_sample.py), so the sample cannot drift from the kernel.
run_readme_test() {
    section "README sample output against a real boot"
    local log=$LOGS/readme-boot.log report=$LOGS/readme-sample.txt st
    # one empty command: the prompt line appears alone, then QEMU is stopped at the next
    CMD=" " RUN_TIMEOUT=120 scripts/qemu.sh run "$BUILD/os.iso" >"$log" 2>&1 </dev/null
    st=$?
    if [ "$st" -ne 0 ] || ! grep -aq '^mm> ' "$log"; then
        fail "README sample: the boot did not reach the prompt (status $st) - see $log"
    elif ! grep -aq '^demo: free frames .*every frame came back' "$log"; then
        fail "README sample: the demo's programs did not give every frame back - see $log"
    elif ! python3 scripts/readme_sample.py README.md "$log" >"$report" 2>&1; then
        fail "README sample: $(grep -c 'no boot line' "$report") lines match no boot line - see $report"
    else
        pass
        printf "  %-40s ok (%s)\n" "README \"What you see\"" "$(tail -1 "$report" | sed 's/^readme_sample: //')"
    fi
    # every package scripts/deps.sh installs is named in README's requirements
    local pkg missing=""
    for pkg in $(sed -n '/^packages=(/,/^)/p; /packages+=(/p' scripts/deps.sh | sed 's/#.*//; s/packages+\?=(//; s/)//'); do
        grep -qF "\`$pkg\`" README.md || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        fail "README requirements: deps.sh installs packages README does not name:$missing"
    else
        pass
        printf "  %-40s ok\n" "README requirements = deps.sh packages"
    fi
}

# ---------------------------------------------------------------- gdb helpers
# scripts/gdb/memkernel.gdb in batch mode against a kernel stopped in the
# monitor's `halt` (after its `pmm` and `heap` printed): the helpers' figures
# must agree with what the kernel printed itself, and the page-table walk
# must find the kernel image where the boot log says it is.
# state_field NAME LINE: the value of NAME=VALUE in a `ktest: state` line.
state_field() {
    grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2
}

run_gdb_tests() {
    section "gdb helpers (scripts/gdb/memkernel.gdb, batch mode)"
    local log=$LOGS/gdb.log serial=$LOGS/gdb-serial.log port=$((20000 + $$ % 20000)) qpid
    rm -f "$serial"
    qemu-system-i386 -display none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$BUILD/kernel.elf" -initrd "$BUILD/initrd.img" -m 128M \
        -append "nodemo ktest-state monitor=pmm;heap;halt" -serial "file:$serial" -S -gdb "tcp::$port" &
    qpid=$!
    # wait until the stub listens (gdb would give up at once otherwise)
    local tries
    for tries in $(seq 100); do
        command -v ss >/dev/null || { sleep 1; break; } # no iproute2: QEMU listens within a second
        ss -ltn 2>/dev/null | grep -q ":$port\b" && break
        sleep 0.1
    done
    timeout 120 gdb -batch -q -nx "$BUILD/kernel.elf" -x scripts/gdb/memkernel.gdb \
        -ex "target remote :$port" -ex delete -ex "break qemu_exit" -ex continue \
        -ex mk-pmm -ex mk-heap -ex "mk-v2p 0xc0100000" -ex "mk-v2p 0" -ex "mk-v2p kernel_heap" \
        -ex "echo == target gone\\n" -ex "monitor quit" -ex mk-pmm -ex mk-heap -ex "mk-v2p 0" \
        >"$log" 2>&1
    kill "$qpid" 2>/dev/null
    wait "$qpid" 2>/dev/null
    # the kernel's own figures: the `ktest: state` line `halt` prints (ktest-state)
    local label="gdb" why="" state kfree gfree kimage hfree glargest refused
    state=$(grep -a -m1 '^ktest: state ' "$serial" | tr -d '\r')
    kfree=$(state_field pmm_free "$state")
    kimage=$(state_field kernel_image "$state")
    hfree=$(state_field kheap_general_largest_free "$state")
    gfree=$(sed -n 's/.*free frames: \([0-9]*\) in the records.*/\1/p' "$log" | head -1)
    glargest=$(sed -n 's/.*free ([0-9]* bytes, largest \([0-9]*\)).*/\1/p' "$log" | tail -1)
    refused=$(sed -n '/^== target gone/,$p' "$log" | grep -c ': no live target')
    if [ -z "$state" ]; then
        why="the kernel printed no \"ktest: state\" line at halt"
    elif ! grep -q 'consistent$' "$log"; then
        why="mk-pmm: no consistent frame count"
    elif [ -z "$kfree" ] || [ "$kfree" != "$gfree" ]; then
        why="mk-pmm says ${gfree:-nothing} free frames, the kernel's pmm said ${kfree:-nothing}"
    elif [ -z "$kimage" ] || ! grep -qi "0xc0100000 -> phys $kimage\$" "$log"; then
        why="mk-v2p 0xc0100000 did not give the kernel image's address ${kimage:-?}"
    elif ! grep -q 'v2p: not mapped (page directory entry not present)' "$log"; then
        why="mk-v2p 0 did not say the page is unmapped"
    elif [ "$(grep -c ' -> phys 0x' "$log")" -ne 2 ]; then
        why="mk-v2p of the kernel heap's instance did not translate"
    elif [ -z "$hfree" ] || [ "$hfree" != "$glargest" ]; then
        why="mk-heap's largest free block ${glargest:-?} != the kernel's ${hfree:-?}"
    elif ! grep -q '^composite instance at' "$log"; then
        why="mk-heap did not walk the composite kernel heap"
    elif [ "$refused" -ne 3 ]; then
        why="after QEMU ended, $refused of the 3 helpers refused to report (they must all say so)"
    elif [ "$(sed -n '/^== target gone/,$p' "$log" | grep -c 'consistent\| -> phys')" -ne 0 ]; then
        why="a helper reported figures from a dead target"
    fi
    if [ -n "$why" ]; then
        fail "$label: $why - see $log"
    else
        pass
        printf "  %-40s ok (%s free frames, largest free heap block %s)\n" \
            "mk-pmm, mk-heap, mk-v2p" "$gfree" "$glargest"
    fi
}

want hosted && run_hosted
want fuzz && run_fuzz
want libmm && run_libmm_example
want libmm && run_libmm_headers
want preload && run_preload_programs
want preload && run_preload_badfree
want preload && run_preload_stats_out
want preload && run_preload_real_programs
want preload && run_preload_guard
want hygiene && run_hermetic_check
want hygiene && run_mm_alone
want hygiene && run_hermetic_check_x86_64
want x86_64 && run_x86_64_kernel
want kernel && run_kernel_suites
want long && run_long_tests
want selfcheck && run_driver_selfchecks
want faults && run_fault_tests
want memory && run_memory_tests
want monitor && run_monitor_tests
want gdb && run_gdb_tests
want gdb && run_debug_interrupt_test
want readme && run_readme_test

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
