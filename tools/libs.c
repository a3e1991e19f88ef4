/* libs.c — finding meshward's libraries relative to the command itself, so that one binary
 * works installed (P/bin/meshward next to P/lib/) and in the build tree, without any
 * environment variable: MW_REL_LIBDIR is the installed libdir relative to the installed
 * bindir, MW_BUILD_CORE_DIR and MW_BUILD_TP_DIR the build tree's library folders relative to
 * this binary's folder (all set by tools/CMakeLists.txt). --libdir overrides the search. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool self_dir(char *buf, size_t n) {
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len <= 0) return false;
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return false;
    *slash = '\0';
    return true;
}

/* Returns the canonical path of dir/name when it exists. */
static char *try_dir(const char *dir, const char *name) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return NULL;
    return access(path, R_OK) == 0 ? realpath(path, NULL) : NULL;
}

char *libs_find(const char *name, const char *libdir) {
    if (libdir) {
        char *p = try_dir(libdir, name);
        if (!p) cli_error("%s not found in --libdir %s", name, libdir);
        return p;
    }
    char self[PATH_MAX], dir[PATH_MAX];
    if (!self_dir(self, sizeof self)) {
        cli_error("cannot locate the meshward executable (/proc/self/exe); use --libdir");
        return NULL;
    }
    const char *rel[] = {MW_REL_LIBDIR, MW_BUILD_CORE_DIR, MW_BUILD_TP_DIR};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        if (snprintf(dir, sizeof dir, "%s/%s", self, rel[i]) >= (int)sizeof dir) continue;
        char *p = try_dir(dir, name);
        if (p) return p;
    }
    cli_error("%s not found in %s/%s nor in the build tree (%s/%s, %s/%s); use --libdir DIR", name,
              self, MW_REL_LIBDIR, self, MW_BUILD_CORE_DIR, self, MW_BUILD_TP_DIR);
    return NULL;
}

char *libs_preload_value(const char *const *libs, size_t n) {
    const char *old = getenv("LD_PRELOAD");
    size_t len = (old ? strlen(old) : 0) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(libs[i]) + 1;
    char *v = malloc(len);
    if (!v) return NULL;
    v[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(v, ":");
        strcat(v, libs[i]);
    }
    if (old && *old) {
        strcat(v, ":");
        strcat(v, old);
    }
    return v;
}
