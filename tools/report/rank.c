/* report/rank.c — the figures the outputs share: call sites ranked by one figure, and the
 * program's totals over the processes of the report. */
#include "report.h"

#include <stdlib.h>

uint64_t rep_fig_calls(const struct rep_site *s) {
    return s->calls;
}
uint64_t rep_fig_bytes(const struct rep_site *s) {
    return s->bytes;
}
uint64_t rep_fig_leaked(const struct rep_site *s) {
    return s->leaked_bytes;
}
uint64_t rep_fig_peak(const struct rep_site *s) {
    return s->peak_bytes;
}
uint64_t rep_fig_temporaries(const struct rep_site *s) {
    return s->temporaries;
}

static const struct rep *sort_rep;
static rep_figure sort_fig;

static int by_figure(const void *a, const void *b) {
    uint64_t x = sort_fig(&sort_rep->sites[*(const uint32_t *)a]);
    uint64_t y = sort_fig(&sort_rep->sites[*(const uint32_t *)b]);
    if (x != y) return x < y ? 1 : -1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1; /* stable across runs */
}

uint32_t *rep_rank_sites(const struct rep *r, rep_figure fig, size_t *n) {
    uint32_t *idx = malloc((r->n_sites + 1) * sizeof *idx);
    if (!idx) abort();
    *n = 0;
    for (size_t i = 0; i < r->n_sites; i++)
        if (fig(&r->sites[i])) idx[(*n)++] = (uint32_t)i;
    sort_rep = r;
    sort_fig = fig;
    qsort(idx, *n, sizeof *idx, by_figure);
    return idx;
}

uint64_t rep_unplaced(const struct rep_proc *p) {
    uint64_t n = 0;
    for (size_t i = 0; i < p->n_images; i++)
        n += p->images[i].unplaced;
    return n;
}

void rep_totals(const struct rep *r, struct rep_totals *t) {
    *t = (struct rep_totals){0};
    for (size_t i = 0; i < r->n_procs; i++) {
        const struct rep_proc *p = &r->procs[i];
        if (r->opt.pid && p->pid != r->opt.pid) continue;
        t->processes++;
        t->allocations += p->allocations;
        t->frees += p->frees;
        t->reallocs += p->reallocs;
        t->bytes_allocated += p->bytes_allocated;
        t->live_blocks += p->live_blocks;
        t->live_bytes += p->live_bytes;
        t->unknown_frees += p->unknown_frees;
        t->unplaced += rep_unplaced(p);
        t->meshes += p->meshes;
        t->mesh_bytes += p->mesh_bytes;
    }
    for (size_t i = 0; i < r->n_sites; i++) {
        t->temporaries += r->sites[i].temporaries;
        t->short_lived += r->sites[i].short_lived;
        t->leaked_blocks += r->sites[i].leaked_blocks;
        t->leaked_bytes += r->sites[i].leaked_bytes;
    }
    for (size_t i = 0; i < r->n_threads; i++)
        if (r->threads[i].allocations || r->threads[i].frees) t->threads++;
}
