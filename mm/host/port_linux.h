/*
 * mm/host/port_linux.h - the hosted (Linux) port of mm/, and what tests can
 * ask it: how many misuse reports mm/ made and the text of the last one.
 */
#ifndef MM_HOST_PORT_LINUX_H
#define MM_HOST_PORT_LINUX_H

#include <stddef.h>
#include <stdint.h>

/* Number of mm_report() calls since start (or since the last reset). */
size_t mm_host_report_count(void);
/* Text of the last report ("" if none). */
const char *mm_host_last_report(void);
void mm_host_reset_reports(void);
/* 1: print reports on stderr (default); 0: only count them (tests that provoke them). */
void mm_host_print_reports(int on);

/*
 * The physical limit mm_phys_limit reports (default 4 GiB, what the i386
 * page-table simulator of the VMM tests can map).  PMM tests raise it to
 * give the PMM RAM above 4 GiB; set it before pmm_init.
 */
void mm_host_set_phys_limit(uint64_t limit);

#endif /* MM_HOST_PORT_LINUX_H */
