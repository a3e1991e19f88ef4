/* report_collapsed.c — `--collapsed FILE`: bytes allocated by call site in the folded-stack
 * format of flamegraph.pl and speedscope, one line per site: `library;function;file:line
 * BYTES` (frames without a name fall back to the offset). Until traces carry call stacks,
 * the stack of a site is its library, its function and its line. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Folded-stack frames may not hold ';' or a line break; the count follows the last space. */
static void frame(FILE *out, const char *s) {
    for (; *s; s++)
        fputc(*s == ';' || *s == '\n' ? '_' : *s, out);
}

int rep_write_collapsed(struct rep *r, FILE *out) {
    size_t n;
    uint32_t *idx = rep_rank_sites(r, rep_fig_bytes, &n);
    for (size_t i = 0; i < n; i++) {
        rep_resolve(r, idx[i]);
        const struct rep_site *s = &r->sites[idx[i]];
        char buf[64];
        frame(out, rep_module_name(r, s->module));
        fputc(';', out);
        snprintf(buf, sizeof buf, "0x%" PRIx64, s->offset);
        frame(out, s->function ? s->function : buf);
        if (s->file) {
            const char *f = strrchr(s->file, '/');
            fputc(';', out);
            frame(out, f ? f + 1 : s->file);
            fprintf(out, ":%d", s->line);
        }
        fprintf(out, " %" PRIu64 "\n", s->bytes);
    }
    free(idx);
    return ferror(out) ? -1 : 0;
}
