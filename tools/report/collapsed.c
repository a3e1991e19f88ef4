/* report/collapsed.c — `--collapsed FILE`: bytes allocated by call site in the folded-stack
 * format of flamegraph.pl and speedscope, one line per site: its stack from the outermost
 * frame in, `main;parse;xmalloc BYTES`, each frame named by its function (or
 * library+offset), the innermost with its file and line (`xmalloc (util.c:12)`). A trace
 * without stacks gives one frame per site; a lost stack is `(unknown stack)`. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Folded-stack frames may not hold ';' or a line break; the count follows the last space. */
static void frame(FILE *out, const char *s) {
    for (; *s; s++)
        fputc(*s == ';' || *s == '\n' ? '_' : *s, out);
}

static void site_stack(struct rep *r, FILE *out, const struct rep_site *s) {
    char buf[1024];
    if (!s->n_frames) frame(out, "(unknown stack)");
    for (uint32_t k = s->n_frames; k-- > 0;) {
        rep_frame_function(r, s->frames[k], buf, sizeof buf);
        frame(out, buf);
        const struct rep_frame *f = &r->frames[s->frames[k]];
        if (k == 0 && f->file) {
            const char *base = strrchr(f->file, '/');
            fprintf(out, " (");
            frame(out, base ? base + 1 : f->file);
            fprintf(out, ":%d)", f->line);
        }
        if (k) fputc(';', out);
    }
}

int rep_write_collapsed(struct rep *r, FILE *out) {
    size_t n;
    uint32_t *idx = rep_rank_sites(r, rep_fig_bytes, &n);
    for (size_t i = 0; i < n; i++) {
        site_stack(r, out, &r->sites[idx[i]]);
        fprintf(out, " %" PRIu64 "\n", r->sites[idx[i]].bytes);
    }
    free(idx);
    return ferror(out) ? -1 : 0;
}
