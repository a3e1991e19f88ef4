/* messages.c — the messages of the `meshward` command (cli.h): every one on stderr,
 * starting with "meshward: ", so that a program's own stdout stays its own. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

static void vmessage(const char *kind, const char *fmt, va_list ap) {
    fprintf(stderr, "meshward: %s", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage("error: ", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning: ", fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
}
