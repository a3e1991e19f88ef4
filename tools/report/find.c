/* report/find.c — the CTF traces under a folder: every folder holding a `metadata` file
 * (LTTng writes one per buffering scheme and ABI, e.g. ust/uid/0/64-bit), in path order. */
#include "event.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>

static char **found;
static size_t n_found;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type != FTW_F || strcmp(path + strlen(path) - strlen("/metadata"), "/metadata") != 0)
        return 0;
    char **grown = realloc(found, (n_found + 2) * sizeof *grown);
    if (!grown) abort();
    found = grown;
    found[n_found] = strndup(path, strlen(path) - strlen("/metadata"));
    found[++n_found] = NULL;
    return 0;
}

static int by_path(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **rep_trace_dirs(const char *dir) {
    found = NULL;
    n_found = 0;
    if (nftw(dir, visit, 16, FTW_PHYS) != 0 || !found) {
        rep_free_dirs(found);
        return NULL;
    }
    qsort(found, n_found, sizeof *found, by_path);
    return found;
}

void rep_free_dirs(char **dirs) {
    for (size_t i = 0; dirs && dirs[i]; i++)
        free(dirs[i]);
    free(dirs);
}
