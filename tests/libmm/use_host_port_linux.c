/* libmm test for mm/host/port_linux.h: what the hosted port tells about reports. */
#include "libmm_use.h"
#include "mm/heap_general.h"
#include "mm/host/source_linux.h"

int main(void)
{
    struct heap *h = heap_general_create(source_linux_create(NULL));
    mm_host_reset_reports();
    mm_host_print_reports(0);
    void *p = heap_alloc(h, 64, 0);
    heap_free(h, p);
    heap_free(h, p); /* double free */
    USE_EXPECT(mm_host_report_count() == 1 && strstr(mm_host_last_report(), "heap_general"));
    mm_host_reset_reports();
    USE_EXPECT(mm_host_report_count() == 0 && mm_host_last_report()[0] == '\0');
    return libmm_use_done("mm/host/port_linux.h");
}
