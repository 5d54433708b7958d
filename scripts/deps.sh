#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages the build and the tests need.
#
#   scripts/deps.sh        what make, make run, make test, make debug and make bench use
#   scripts/deps.sh gui    that, plus QEMU's window for make run-gui
#
# The baseline is a minimal Debian 12 with git and make: everything else the
# Makefile and scripts/ run comes from here, installed without Recommends so
# that nothing works only by accident (Debian's cross compiler, for one,
# recommends a cross libc that would hide a kernel build reading host headers).
# Idempotent and quick when everything is there (one dpkg query).  As root it
# runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail

packages=(
    make gcc libc6-dev                     # hosted tests, libmm, the x86-64 kernel (cc -m64, ld)
    python3                                # scripts/mkinitrd.py
    gcc-i686-linux-gnu binutils-i686-linux-gnu nasm   # the kernel and ring 3
    grub-pc-bin grub-common xorriso mtools # the ISO
    qemu-system-x86                        # running it (headless; qemu-system-i386 and -x86_64)
    clang libclang-rt-14-dev               # libFuzzer targets
    gdb                                    # make debug, the gdb helper tests
    g++                                    # libmm.so under C++ new/delete (tests/preload)
    libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4  # make bench: peer allocators
    gnuplot-nox                            # make bench: plots
)
if [ "${1:-}" = gui ]; then
    packages+=(qemu-system-gui)            # make run-gui: QEMU's GTK window
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
