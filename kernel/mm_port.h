/*
 * kernel/mm_port.h - what the kernel's implementation of mm/port.h lets the
 * rest of the kernel (tests, the monitor) ask.
 */
#ifndef KERNEL_MM_PORT_H
#define KERNEL_MM_PORT_H

/* mm_report() calls so far, and the text of the last one. */
unsigned long mm_port_report_count(void);
const char *mm_port_last_report(void);

#endif
