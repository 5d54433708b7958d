#!/usr/bin/env bash
# scripts/mkiso64.sh KERNEL OUT.iso [ARGS] [INITRD] - a one-entry GRUB ISO
# that boots the 64-bit KERNEL through Multiboot 2 at once with the command
# line ARGS, serial console, and the ring-3 programs' INITRD as a module
# named "initrd" when one is given.
set -euo pipefail
kernel=$1 out=$2 args=${3:-} initrd=${4:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/kernel.elf"
module=
if [ -n "$initrd" ]; then
    cp "$initrd" "$dir/boot/initrd.img"
    module="module2 /boot/initrd.img initrd"
fi
cat >"$dir/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "memkernel x86-64 $args" {
    multiboot2 /boot/kernel.elf $args
    $module
    boot
}
CFG
grub-mkrescue -o "$out" "$dir" 2>"$out.log" || { cat "$out.log"; exit 1; }
rm -f "$out.log"
