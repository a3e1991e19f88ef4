/* options.c — the option table and its environment parsing (see options.h). Invalid
 * environment values are reported once on stderr and leave the default in place. */
#include "options.h"

#include <errno.h>
#include <meshward.h>
#include <stdlib.h>
#include <string.h>

#define STR_MAX 256

struct option_def {
    const char *name;
    long def, min, max;
    bool is_string;
    const char *help;
};

static const struct option_def defs[MW_OPTION_COUNT] = {
    [MW_OPTION_STATS] = {"STATS", 0, 0, 1, false, "print statistics to stderr at exit"},
    [MW_OPTION_VERBOSE] = {"VERBOSE", 0, 0, 1, false, "print options at start and notices"},
    [MW_OPTION_PURGE_DELAY_MS] = {"PURGE_DELAY_MS", 10, 0, 3600000, false,
                                  "dirty large regions unused this long are purged"},
    [MW_OPTION_PURGE_INTERVAL_MS] = {"PURGE_INTERVAL_MS", 0, 0, 3600000, false,
                                     "period of the background purge thread (0: inline)"},
    [MW_OPTION_REGION_DIR] = {"REGION_DIR", 0, 0, 0, true,
                              "directory for file-backed large regions (empty: anonymous)"},
    [MW_OPTION_ARENA_DIRTY_MAX] = {"ARENA_DIRTY_MAX", 16384, 0, 1L << 30, false,
                                   "KiB of free spans kept resident before purging"},
    [MW_OPTION_ON_CORRUPTION] = {"ON_CORRUPTION", 0, 0, 0, true,
                                 "abort (default) or report: what a detected corruption does"},
    [MW_OPTION_QUARANTINE] = {"QUARANTINE", 256 << 10, 0, 1L << 40, false,
                              "bytes of freed blocks each thread holds back (hardened)"},
    [MW_OPTION_MESH] = {"MESH", 1, 0, 1, false, "mesh sparse spans (off under valgrind)"},
    [MW_OPTION_MESH_PERIOD_MS] = {"MESH_PERIOD_MS", 100, 0, 3600000, false,
                                  "least time between two mesh passes"},
    [MW_OPTION_RESERVE] = {"RESERVE", 0, 0, 1L << 40, false,
                           "bytes reserved and committed at start, in an arena"},
    [MW_OPTION_LARGE_PAGES] = {"LARGE_PAGES", 0, 0, 1, false,
                               "transparent huge pages for the default arena"},
    [MW_OPTION_RESERVE_HUGE_PAGES] = {"RESERVE_HUGE_PAGES", 0, 0, 1L << 20, false,
                                      "2 MiB hugetlb pages reserved at start, in an arena"},
    [MW_OPTION_GUARD_SAMPLE] = {"GUARD_SAMPLE", MW_HARDENED ? 1000 : 0, 0, 1L << 30, false,
                                "one allocation in about N on a guarded page (0: off)"},
};

long mw_option_values[MW_OPTION_COUNT];
static char strings[MW_OPTION_COUNT][STR_MAX];
static bool values_set;

static void set_defaults(void) {
    for (int i = 0; i < MW_OPTION_COUNT; i++)
        mw_option_values[i] = defs[i].def;
    values_set = true;
}

static bool valid(mw_option_t o) {
    return (unsigned)o < MW_OPTION_COUNT;
}

long mw_option_get(mw_option_t o) {
    if (!valid(o) || defs[o].is_string) return 0;
    if (!values_set) set_defaults();
    return mw_option_values[o];
}

int mw_option_set(mw_option_t o, long v) {
    if (!valid(o) || defs[o].is_string || v < defs[o].min || v > defs[o].max) return EINVAL;
    if (!values_set) set_defaults();
    mw_option_values[o] = v;
    return 0;
}

const char *mw_option_get_string(mw_option_t o) {
    if (!valid(o) || !defs[o].is_string) return NULL;
    return strings[o];
}

int mw_option_set_string(mw_option_t o, const char *v) {
    if (!valid(o) || !defs[o].is_string || !v || strlen(v) >= STR_MAX) return EINVAL;
    memcpy(strings[o], v, strlen(v) + 1);
    return 0;
}

const char *mw_option_name(mw_option_t o) {
    return valid(o) ? defs[o].name : NULL;
}

static void warn_bad(const char *name, const char *value) {
    mw_write_str(2, "meshward: warning: ignoring MESHWARD_");
    mw_write_str(2, name);
    mw_write_str(2, "=");
    mw_write_str(2, value);
    mw_write_str(2, ": not a number in range\n");
}

static bool parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return false;
    *out = v;
    return true;
}

void mw_options_init(void) {
    int saved = errno;
    if (!values_set) set_defaults();
    for (int i = 0; i < MW_OPTION_COUNT; i++) {
        char key[64] = "MESHWARD_";
        strcat(key, defs[i].name);
        const char *v = getenv(key);
        if (!v) continue;
        long n;
        if (defs[i].is_string) {
            if (mw_option_set_string((mw_option_t)i, v)) warn_bad(defs[i].name, v);
        } else if (!parse_long(v, &n) || mw_option_set((mw_option_t)i, n)) {
            warn_bad(defs[i].name, v);
        }
    }
    errno = saved;
}

void mw_options_print(int fd) {
    char buf[24];
    for (int i = 0; i < MW_OPTION_COUNT; i++) {
        mw_write_str(fd, "meshward: option MESHWARD_");
        mw_write_str(fd, defs[i].name);
        mw_write_str(fd, "=");
        if (defs[i].is_string) {
            mw_write_str(fd, strings[i]);
        } else {
            long v = mw_option_values[i];
            if (v < 0) mw_write_str(fd, "-");
            mw_write_str(fd, mw_fmt_u64(buf, (uint64_t)(v < 0 ? -v : v)));
        }
        mw_write_str(fd, "  (");
        mw_write_str(fd, defs[i].help);
        mw_write_str(fd, ")\n");
    }
}
