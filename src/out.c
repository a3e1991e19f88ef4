/* out.c — allocation-free output helpers for the allocator (which cannot use stdio) and
 * the debug-build assertion handler. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mw_write_str(int fd, const char *s) {
    int saved = errno;
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        s += n;
        len -= (size_t)n;
    }
    errno = saved;
}

char *mw_fmt_u64(char *buf, uint64_t v) {
    char tmp[21];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

#ifndef NDEBUG
void mw_assert_fail(const char *expr, const char *file, int line) {
    char num[21];
    mw_write_str(2, "meshward: assertion failed: ");
    mw_write_str(2, expr);
    mw_write_str(2, " at ");
    mw_write_str(2, file);
    mw_write_str(2, ":");
    mw_write_str(2, mw_fmt_u64(num, (uint64_t)line));
    mw_write_str(2, "\n");
    abort();
}
#endif
