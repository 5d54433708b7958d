/*
 * user/include/stdio.h - formatted output for ring-3 programs
 * (user/lib/stdio.c over lib/format.c: the kernel's own formatter).
 *
 * Conversions are those of lib/format.h (no floating point).  Output goes
 * straight to the write system call: each printf is one write when it fits
 * in 256 bytes, so lines from different processes do not interleave.
 * printf/dprintf/puts return the number of characters written, or a
 * negative errno if a write failed.
 */
#ifndef USER_STDIO_H
#define USER_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vdprintf(int fd, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* s and a newline. */
int puts(const char *s);

#endif /* USER_STDIO_H */
