/*
 * lib/format.c - the printf-style formatter (see format.h).
 *
 * One pass over the format string; each conversion is parsed into a
 * struct spec (flags, width, precision, length) and printed by
 * emit_number or emit_string, which handle padding.  Numbers are converted
 * with 64-bit arithmetic (libgcc supplies the division on i386).
 */
#include "lib/format.h"

#include <stdint.h>

struct spec {
    int left;      /* '-' */
    int zero;      /* '0' */
    int width;
    int precision; /* -1: none */
    int length;    /* 0, 'H' (hh), 'h', 'l', 'L' (ll), 'z' */
};

struct out {
    fmt_putc_fn putc;
    void *ctx;
    int count;
};

static void put(struct out *o, char c)
{
    o->putc(c, o->ctx);
    o->count++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

static void emit_string(struct out *o, const struct spec *sp, const char *s)
{
    int len = 0;
    if (!s)
        s = "(null)";
    while (s[len] && (sp->precision < 0 || len < sp->precision))
        len++;
    if (!sp->left)
        pad(o, ' ', sp->width - len);
    for (int i = 0; i < len; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', sp->width - len);
}

static void emit_number(struct out *o, const struct spec *sp, uint64_t value, int negative,
                        unsigned base, int upper, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int len = 0, plen = 0;

    do {
        buf[len++] = digits[value % base];
        value /= base;
    } while (value);
    if (negative)
        prefix = "-";
    while (prefix && prefix[plen])
        plen++;

    int fill = sp->width - len - plen;
    if (!sp->left && !sp->zero)
        pad(o, ' ', fill);
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    if (!sp->left && sp->zero)
        pad(o, '0', fill);
    while (len)
        put(o, buf[--len]);
    if (sp->left)
        pad(o, ' ', fill);
}

static uint64_t fetch_unsigned(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case 'H': return (unsigned char)va_arg(*ap, unsigned);
    case 'h': return (unsigned short)va_arg(*ap, unsigned);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

static int64_t fetch_signed(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return (int64_t)(intptr_t)va_arg(*ap, size_t);
    default: return va_arg(*ap, int);
    }
}

/* Parse flags, width, precision and length after '%'; returns the conversion character's address. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){0, 0, 0, -1, 0};
    for (;; f++) {
        if (*f == '-')
            sp->left = 1;
        else if (*f == '0')
            sp->zero = 1;
        else
            break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = 1;
            sp->width = -sp->width;
        }
        f++;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    if (*f == '.') {
        f++;
        sp->precision = 0;
        if (*f == '*') {
            sp->precision = va_arg(*ap, int);
            f++;
        }
        while (*f >= '0' && *f <= '9')
            sp->precision = sp->precision * 10 + (*f++ - '0');
    }
    if (*f == 'h') {
        sp->length = (f[1] == 'h') ? 'H' : 'h';
        f += (f[1] == 'h') ? 2 : 1;
    } else if (*f == 'l') {
        sp->length = (f[1] == 'l') ? 'L' : 'l';
        f += (f[1] == 'l') ? 2 : 1;
    } else if (*f == 'z') {
        sp->length = 'z';
        f++;
    }
    if (sp->left)
        sp->zero = 0;
    return f;
}

int fmt_vformat(fmt_putc_fn putc, void *ctx, const char *fmt, va_list ap_in)
{
    struct out o = {putc, ctx, 0};
    struct spec sp;
    va_list ap;
    va_copy(ap, ap_in);

    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f = parse_spec(f + 1, &sp, &ap);
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v = fetch_signed(&sp, &ap);
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_number(&o, &sp, mag, v < 0, 10, 0, 0);
            break;
        }
        case 'u': emit_number(&o, &sp, fetch_unsigned(&sp, &ap), 0, 10, 0, 0); break;
        case 'x': emit_number(&o, &sp, fetch_unsigned(&sp, &ap), 0, 16, 0, 0); break;
        case 'X': emit_number(&o, &sp, fetch_unsigned(&sp, &ap), 0, 16, 1, 0); break;
        case 'p': emit_number(&o, &sp, (uintptr_t)va_arg(ap, void *), 0, 16, 0, "0x"); break;
        case 's': emit_string(&o, &sp, va_arg(ap, const char *)); break;
        case 'c': {
            char c[2] = {(char)va_arg(ap, int), 0};
            struct spec one = sp;
            one.precision = 1;
            emit_string(&o, &one, c);
            break;
        }
        case '%': put(&o, '%'); break;
        case 0: f--; break; /* a lone '%' at the end: print nothing more */
        default:            /* unknown conversion: show it as written */
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    va_end(ap);
    return o.count;
}

struct sbuf {
    char *buf;
    size_t size;
    size_t used;
};

static void sbuf_putc(char c, void *ctx)
{
    struct sbuf *b = ctx;
    if (b->used + 1 < b->size)
        b->buf[b->used] = c;
    b->used++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sbuf b = {buf, size, 0};
    int n = fmt_vformat(sbuf_putc, &b, fmt, ap);
    if (size)
        buf[b.used < size ? b.used : size - 1] = 0;
    return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
