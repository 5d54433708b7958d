#!/usr/bin/env bash
# scripts/mkiso.sh KERNEL OUT.iso multiboot|multiboot2 "ARGS"
# A one-entry GRUB ISO that boots KERNEL at once with ARGS (for the tests).
set -euo pipefail
kernel=$1 out=$2 cmd=$3 args=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/kernel.elf"
cat >"$dir/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "memkernel $args" {
    $cmd /boot/kernel.elf $args
    boot
}
CFG
grub-mkrescue -o "$out" "$dir" 2>"$out.log" || { cat "$out.log"; exit 1; }
rm -f "$out.log"
