/*
 * lib/format.h - printf-style formatting for freestanding code.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, flags '-' and '0', a field width
 * (number or '*'), a precision for %s (".N" / ".*"), and the length
 * modifiers hh h l ll z.  No floating point.  Used by the kernel log, the
 * user libc's printf and hosted code alike.
 */
#ifndef LIB_FORMAT_H
#define LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Called once per output character. */
typedef void (*fmt_putc_fn)(char c, void *ctx);

/* Format into putc; returns the number of characters produced. */
int fmt_vformat(fmt_putc_fn putc, void *ctx, const char *fmt, va_list ap);

/*
 * Like C's vsnprintf: writes at most size-1 characters plus a NUL (nothing
 * when size is 0) and returns the length the whole output would have had.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* LIB_FORMAT_H */
