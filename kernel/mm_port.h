/*
 * kernel/mm_port.h - what the kernel's implementation of mm/port.h lets the
 * rest of the kernel (tests, the monitor) ask.
 */
#ifndef KERNEL_MM_PORT_H
#define KERNEL_MM_PORT_H

/* mm_report() calls so far, and the text of the last one. */
unsigned long mm_port_report_count(void);
const char *mm_port_last_report(void);

/*
 * A test is about to provoke n misuse reports on purpose: they are printed
 * as "mm: expected: ...", so a reader of the log tells them from real ones.
 * Returns how many of the previous announcement never came (the test
 * runner calls mm_port_expect_reports(0) after each test and fails it if
 * that is not 0).
 */
unsigned mm_port_expect_reports(unsigned n);

#endif
