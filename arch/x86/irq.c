/*
 * arch/x86/irq.c - trap dispatch, the 8259 PIC and the 8254 PIT: the PC
 * devices and the handler table are the same on i686 and x86-64, so both
 * builds compile this file; only the IDT and the entry stubs differ
 * (arch/x86/idt.c + isr.asm, arch/x86_64/idt.c + isr.asm).
 *
 * Every stub calls trap_dispatch(frame).  IRQs 0-15 are remapped to vectors
 * 32-47 and acknowledged before their handler runs; an exception goes to
 * its registered handler, and to the kernel's fault report (trap_unhandled,
 * kernel/panic.c) when there is none or it declines.
 */
#include "arch/x86/cpu.h"
#include "karch.h"

#include <stddef.h>
#include <stdint.h>

static trap_handler_fn handlers[256];

/* Installed by kernel/panic.c: reports an unhandled exception (never returns for ring 0). */
void trap_unhandled(struct trap_frame *f);

void trap_set_handler(unsigned vector, trap_handler_fn fn)
{
    handlers[vector & 0xFF] = fn;
}

static void pic_eoi(unsigned vector)
{
    if (vector >= IRQ_BASE + 8)
        outb(0xA0, 0x20);
    outb(0x20, 0x20);
}

void trap_dispatch(struct trap_frame *f)
{
    unsigned v = f->vector & 0xFF;
    if (v >= IRQ_BASE && v < IRQ_BASE + 16) {
        /* EOI first: the handler may switch to another process (the timer
           preempts), and the PIC must not wait for us to come back */
        pic_eoi(v);
        if (handlers[v])
            handlers[v](f);
        return;
    }
    if (handlers[v] && handlers[v](f))
        return;
    trap_unhandled(f);
}

static const char *const exception_names[32] = {
    "divide error", "debug", "non-maskable interrupt", "breakpoint", "overflow",
    "bound range exceeded", "invalid opcode", "device not available", "double fault",
    "coprocessor segment overrun", "invalid TSS", "segment not present",
    "stack-segment fault", "general protection fault", "page fault", "reserved (15)",
    "x87 floating-point error", "alignment check", "machine check", "SIMD floating-point error",
    "virtualization exception", "control protection exception", "reserved (22)", "reserved (23)",
    "reserved (24)", "reserved (25)", "reserved (26)", "reserved (27)",
    "hypervisor injection", "VMM communication", "security exception", "reserved (31)",
};

const char *trap_name(unsigned vector)
{
    return vector < 32 ? exception_names[vector] : "interrupt";
}

/* ---------------------------------------------------------------- PIC */

void pic_init(void)
{
    outb(0x20, 0x11); io_wait(); /* ICW1: init, ICW4 follows */
    outb(0xA0, 0x11); io_wait();
    outb(0x21, IRQ_BASE); io_wait();     /* ICW2: vector offsets */
    outb(0xA1, IRQ_BASE + 8); io_wait();
    outb(0x21, 0x04); io_wait();         /* ICW3: slave on IRQ2 */
    outb(0xA1, 0x02); io_wait();
    outb(0x21, 0x01); io_wait();         /* ICW4: 8086 mode */
    outb(0xA1, 0x01); io_wait();
    outb(0x21, 0xFB);                    /* everything masked but the cascade */
    outb(0xA1, 0xFF);
}

void pic_unmask(unsigned irq)
{
    uint16_t port = irq < 8 ? 0x21 : 0xA1;
    outb(port, (uint8_t)(inb(port) & ~(1u << (irq & 7))));
}

/* ---------------------------------------------------------------- PIT */

static volatile uint64_t ticks;
static unsigned tick_hz;
static trap_handler_fn tick_hook;

static int timer_irq(struct trap_frame *f)
{
    ticks++;
    if (tick_hook)
        tick_hook(f); /* the scheduler: may switch to another process */
    return 1;
}

void pit_set_tick_hook(trap_handler_fn fn)
{
    tick_hook = fn;
}

void pit_init(unsigned hz)
{
    uint32_t divisor = 1193182u / hz;
    tick_hz = hz;
    trap_set_handler(IRQ_TIMER, timer_irq);
    outb(0x43, 0x36); /* channel 0, lobyte/hibyte, rate generator */
    outb(0x40, (uint8_t)divisor);
    outb(0x40, (uint8_t)(divisor >> 8));
    pic_unmask(0);
}

uint64_t pit_ticks(void)
{
    unsigned long flags = irq_save();
    uint64_t t = ticks;
    irq_restore(flags);
    return t;
}

unsigned pit_hz(void)
{
    return tick_hz;
}
