#!/usr/bin/env bash
# scripts/mkiso.sh KERNEL INITRD OUT.iso multiboot|multiboot2 "ARGS"
# A one-entry GRUB ISO that boots KERNEL at once with ARGS and INITRD as
# its module (for the tests).
set -euo pipefail
kernel=$1 initrd=$2 out=$3 cmd=$4 args=$5
module=module
[ "$cmd" = multiboot2 ] && module=module2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/kernel.elf"
cp "$initrd" "$dir/boot/initrd.img"
cat >"$dir/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "memkernel $args" {
    $cmd /boot/kernel.elf $args
    $module /boot/initrd.img initrd
    boot
}
CFG
grub-mkrescue -o "$out" "$dir" 2>"$out.log" || { cat "$out.log"; exit 1; }
rm -f "$out.log"
