#!/usr/bin/env bash
# scripts/mm_alone.sh - prove that mm/ travels alone (docs/porting.md).
#
# Copies ONLY mm/ into an empty directory, next to the small files of
# tests/mm_alone/ (a string.h with the four memory functions, a minimal
# port, a smoke test), and there:
#   1. compiles every mm/*.c freestanding for i686 with nothing on the
#      include path but the copy, the compiler's own headers and that
#      string.h, and links it with the minimal port and the four functions
#      (ld refuses any other undefined symbol);
#   2. the same freestanding for x86-64 (-mcmodel=kernel -mno-red-zone, as
#      a 64-bit kernel builds it): the VMM takes the x86-64 paging
#      description from the minimal port's mm_arch.h;
#   3. compiles every mm/*.c hosted for x86-64 with the copy as the only
#      project directory on the include path, checks that its undefined
#      symbols are the port's and the four, and runs the smoke test.
# Usage: scripts/mm_alone.sh [KCC]; prints one "ok"/"FAIL" line per step and
# exits non-zero on any failure.  Logs go to build/test-logs/mm-alone-*.log.
set -uo pipefail
cd "$(dirname "$0")/.."
kcc=${1:-i686-linux-gnu-gcc}
kld=${kcc%gcc}ld
logs=$PWD/build/test-logs
mkdir -p "$logs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r mm "$work/mm"
rm -rf "$work/mm/host"           # the Linux port is not part of what a kernel takes
mkdir "$work/support"
cp tests/mm_alone/* "$work/support/"
status=0
warn=(-std=c11 -Wall -Wextra -Werror -O2)

step() { # step NAME LOG COMMAND...: run, report ok/FAIL
    local name=$1 log=$2
    shift 2
    if "$@" >>"$log" 2>&1; then
        echo "ok $name"
    else
        echo "FAIL $name (see $log)"
        status=1
    fi
}

# ---- i686, freestanding
log=$logs/mm-alone-i686.log
: >"$log"
inc=$($kcc -print-file-name=include)
kflags=("${warn[@]}" -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector
        -mgeneral-regs-only -nostdinc -isystem "$inc" -isystem "$work/support" -I "$work")
i686_build() {
    local f
    mkdir -p "$work/o32"
    for f in "$work"/mm/*.c "$work"/support/*.c; do
        $kcc "${kflags[@]}" -c "$f" -o "$work/o32/$(basename "${f%.c}").o" || return 1
    done
    # An executable link: every undefined symbol is an error.
    $kld -m elf_i386 -e mm_alone_smoke -o "$work/smoke32.elf" "$work"/o32/*.o
}
step "mm/ alone: i686 freestanding compile and link (mm/ + port + memcpy/memmove/memset/memcmp)" \
     "$log" i686_build

# ---- x86-64, freestanding (Debian's x86-64 gcc, as the 64-bit kernel uses it)
log=$logs/mm-alone-x86_64-freestanding.log
: >"$log"
inc64=$(cc -print-file-name=include)
k64flags=("${warn[@]}" -m64 -mcmodel=kernel -mno-red-zone -ffreestanding -fno-pic -fno-pie
          -fno-stack-protector -mgeneral-regs-only -nostdinc -isystem "$inc64"
          -isystem "$work/support" -I "$work")
x86_64_build() {
    local f
    mkdir -p "$work/ok64"
    for f in "$work"/mm/*.c "$work"/support/*.c; do
        cc "${k64flags[@]}" -c "$f" -o "$work/ok64/$(basename "${f%.c}").o" || return 1
    done
    ld -m elf_x86_64 -e mm_alone_smoke -o "$work/smoke64k.elf" "$work"/ok64/*.o
}
step "mm/ alone: x86-64 freestanding compile and link (mm/ + port + memcpy/memmove/memset/memcmp)" \
     "$log" x86_64_build

# ---- x86-64, hosted
log=$logs/mm-alone-x86_64.log
: >"$log"
hflags=("${warn[@]}" -I "$work" -iquote "$work/support")
hosted_build() {
    local f
    mkdir -p "$work/o64"
    for f in "$work"/mm/*.c; do
        cc "${hflags[@]}" -c "$f" -o "$work/o64/$(basename "${f%.c}").o" || return 1
    done
    ld -r -o "$work/mm64.o" "$work"/o64/*.o || return 1
    cc "${hflags[@]}" -c "$work/support/port_min.c" -o "$work/port_min.o" || return 1
    # What mm/ needs = what the minimal port defines + the four memory functions.
    nm -u "$work/mm64.o" | awk '{print $2}' | sort >"$work/needed"
    { nm --defined-only "$work/port_min.o" | awk '$2 ~ /[TDBR]/ {print $3}'
      printf '%s\n' memcpy memmove memset memcmp; } | sort >"$work/allowed"
    if comm -23 "$work/needed" "$work/allowed" | grep .; then
        echo "mm/ needs symbols beyond its port and the four memory functions (above)"
        return 1
    fi
    cc "${hflags[@]}" -I "$work/support" -o "$work/smoke64" "$work/support/smoke.c" \
       "$work/port_min.o" "$work/mm64.o" && "$work/smoke64"
}
step "mm/ alone: x86-64 hosted compile, symbols, smoke test" "$log" hosted_build
exit $status
