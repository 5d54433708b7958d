/*
 * user/lib/stdio.c - printf and friends over lib/format.c and the write
 * system call.
 *
 * A call formats into a 256-byte buffer on the stack and writes it when it
 * is full and at the end, so a line of normal length is one write (and
 * lines of different processes do not mix).  The first failed write is
 * remembered and returned; nothing more is written after it.
 */
#include "stdio.h"
#include "lib/format.h"
#include "sys.h"

#define OUT_BUF 256

struct out {
    int fd;
    long error; /* the first write error (-errno), 0 if none */
    size_t len;
    char buf[OUT_BUF];
};

/* Write all of [p, p + n); a short write is continued. */
static long write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        long r = sys_write(fd, p, n);
        if (sys_failed(r))
            return r;
        if (r == 0)
            return -EINVAL; /* a console that accepts nothing: do not spin */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void out_flush(struct out *o)
{
    if (o->len && !o->error)
        o->error = write_all(o->fd, o->buf, o->len);
    o->len = 0;
}

static void out_putc(char c, void *ctx)
{
    struct out *o = ctx;
    if (o->len == OUT_BUF)
        out_flush(o);
    o->buf[o->len++] = c;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
    struct out o = {.fd = fd};
    int n = fmt_vformat(out_putc, &o, fmt, ap);
    out_flush(&o);
    return o.error ? (int)o.error : n;
}

int dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(SYS_FD_STDOUT, fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    return fmt_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    return dprintf(SYS_FD_STDOUT, "%s\n", s);
}
