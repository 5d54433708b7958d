/*
 * user/programs/kill_text_write.c - write to the program's own text.
 *
 * Expects: killed (SYS_KILL_PAGE_FAULT) with the reason "access not allowed
 * by the protection": the loader maps text read-only.
 */
#include "utest.h"

int main(void)
{
    volatile unsigned char *code = (volatile unsigned char *)(uintptr_t)&main;
    ut_log("writing over main at %p: must be killed", (void *)(uintptr_t)code);
    *code = 0xC3;
    ut_survived("writing to its own text");
}
