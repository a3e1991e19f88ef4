/* options_stub.c — a temporary stand-in for the options API and the write helpers, so the
 * region tests link before the core does. Delete once src/options.c lands. */
#include "common.h"
#include <meshward.h>

#include <string.h>
#include <unistd.h>

static long values[MW_OPTION_COUNT] = {[MW_OPTION_PURGE_DELAY_MS] = 100};
static char region_dir[256];

long mw_option_get(mw_option_t o) {
    return (unsigned)o < MW_OPTION_COUNT ? values[o] : -1;
}
int mw_option_set(mw_option_t o, long v) {
    if ((unsigned)o >= MW_OPTION_COUNT || v < 0) return 22;
    values[o] = v;
    return 0;
}
const char *mw_option_get_string(mw_option_t o) {
    return o == MW_OPTION_REGION_DIR ? region_dir : NULL;
}
int mw_option_set_string(mw_option_t o, const char *v) {
    if (o != MW_OPTION_REGION_DIR || strlen(v) >= sizeof region_dir) return 22;
    strcpy(region_dir, v);
    return 0;
}
void mw_write_str(int fd, const char *s) {
    ssize_t r = write(fd, s, strlen(s));
    (void)r;
}
char *mw_fmt_u64(char *buf, uint64_t v) {
    char tmp[21];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}
