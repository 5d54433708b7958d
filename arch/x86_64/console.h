/* arch/x86_64/console.h - the 64-bit kernel's serial console (COM1, 115200 8N1). */
#ifndef ARCH_X86_64_CONSOLE_H
#define ARCH_X86_64_CONSOLE_H

#include <stdarg.h>

void console_init(void);
void console_puts(const char *s);
void console_vprintf(const char *fmt, va_list ap);
__attribute__((format(printf, 1, 2))) void console_printf(const char *fmt, ...);

#endif
