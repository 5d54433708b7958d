# scripts/gdb/memkernel.gdb - loaded by `make debug`.
set pagination off
set disassembly-flavor intel
# Stop where the C kernel starts; `continue` to boot.
break kmain
echo memkernel: breakpoint at kmain; type 'continue'.\n
