/* report/text.c — the text report: a summary first, then each analysis as a short table
 * (--top rows at most), the figures the JSON holds, rounded for reading. What a trace cannot
 * say (the figures by thread of a trace recorded without threads) is named as missing, never
 * printed as a number. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *bytes_str(uint64_t b, char *buf) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        sprintf(buf, "%" PRIu64 " B", b);
    else
        sprintf(buf, "%.1f %s", v, unit[u]);
    return buf;
}

static const char *time_str(uint64_t ns, char *buf) {
    if (ns < 1000)
        sprintf(buf, "%" PRIu64 " ns", ns);
    else if (ns < 1000000)
        sprintf(buf, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        sprintf(buf, "%.1f ms", (double)ns / 1e6);
    else
        sprintf(buf, "%.3f s", (double)ns / 1e9);
    return buf;
}

#define NO_THREADS "not recorded (meshward trace --no-threads)"

/* A count, or NO_THREADS when the trace has no threads to count it by. */
static const char *by_thread(const struct rep *r, uint64_t v, char *buf) {
    if (r->no_threads) return NO_THREADS;
    sprintf(buf, "%" PRIu64, v);
    return buf;
}

static void summary(const struct rep *r, FILE *out) {
    struct rep_totals t;
    rep_totals(r, &t);
    const struct rep_proc *f = rep_focus(r);
    uint64_t d = r->t_end - r->t0;
    char b1[32], b2[32], b3[32];
    fprintf(out, "meshward report of %s\n\nSummary\n", r->opt.dir);
    fprintf(out, "  processes %" PRIu64 ", threads %s, duration %s\n", t.processes,
            by_thread(r, t.threads, b2), time_str(d, b1));
    fprintf(out, "  events %" PRIu64 " (%" PRIu64 " allocator events), discarded %" PRIu64 "%s\n",
            r->events, r->meshward_events, r->discarded,
            r->discarded ? " (see Gaps: figures near them are approximate)" : "");
    fprintf(out,
            "  allocations %" PRIu64 " (%.0f/s), frees %" PRIu64 ", reallocs %" PRIu64
            ", bytes allocated %s\n",
            t.allocations, d ? (double)t.allocations * 1e9 / (double)d : 0.0, t.frees, t.reallocs,
            bytes_str(t.bytes_allocated, b1));
    if (f)
        fprintf(out, "  peak live %s in %" PRIu64 " blocks at %s (pid %" PRId32 ")\n",
                bytes_str(f->peak_bytes, b1), f->peak_blocks, time_str(f->peak_ts - r->t0, b2),
                f->pid);
    fprintf(out, "  live at the end %s in %" PRIu64 " blocks; leaked %s in %" PRIu64 " blocks\n",
            bytes_str(t.live_bytes, b1), t.live_blocks, bytes_str(t.leaked_bytes, b2),
            t.leaked_blocks);
    fprintf(out, "  temporary allocations %s, short-lived (< %s) %" PRIu64 "\n",
            by_thread(r, t.temporaries, b2), time_str(REP_SHORT_LIVED_NS, b1), t.short_lived);
    if (r->no_threads)
        fprintf(out, "  recorded without threads: no thread table, cross-thread frees, temporary\n"
                     "  allocations or thread ids of a block's history (record again without\n"
                     "  --no-threads for them)\n");
    if (t.unknown_frees)
        fprintf(out, "  frees of blocks allocated before tracing began: %" PRIu64 "\n",
                t.unknown_frees);
    if (t.unplaced)
        fprintf(out,
                "  events naming a slab block whose address is unknown (every `thread` event of\n"
                "  its process image lost): %" PRIu64 " (kept apart; no history shows them)\n",
                t.unplaced);
    if (t.meshes)
        fprintf(out, "  meshes %" PRIu64 ", physical memory given back %s\n", t.meshes,
                bytes_str(t.mesh_bytes, b1));
    fprintf(out,
            "  tracer (LTTng's own allocations, in no figure above): %" PRIu64
            " allocations, %s, %s live in %" PRIu64 " blocks\n",
            r->tracer.allocations, bytes_str(r->tracer.bytes, b2),
            bytes_str(r->tracer.live_bytes, b3), r->tracer.live_blocks);
}

/* One ranked table of sites: figure columns chosen by `cols`. */
static void site_table(struct rep *r, FILE *out, const char *title, rep_figure fig,
                       uint64_t (*a)(const struct rep_site *),
                       uint64_t (*b)(const struct rep_site *), const char *ha, const char *hb,
                       bool bytes_a) {
    size_t n;
    uint32_t *idx = rep_rank_sites(r, fig, &n);
    fprintf(out, "\n%s (%zu sites)\n", title, n);
    if (n) fprintf(out, "  %12s %12s  %s\n", ha, hb, "call site");
    for (size_t i = 0; i < n && i < (size_t)r->opt.top; i++) {
        char name[1024], v[32];
        rep_site_name(r, idx[i], name, sizeof name);
        const struct rep_site *s = &r->sites[idx[i]];
        if (bytes_a)
            bytes_str(a(s), v);
        else
            sprintf(v, "%" PRIu64, a(s));
        fprintf(out, "  %12s %12" PRIu64 "  %s\n", v, b(s), name);
    }
    free(idx);
}

static uint64_t leaked_blocks(const struct rep_site *s) {
    return s->leaked_blocks;
}
static uint64_t peak_blocks(const struct rep_site *s) {
    return s->peak_blocks;
}
static uint64_t short_lived(const struct rep_site *s) {
    return s->short_lived;
}

static void histogram(FILE *out, const char *title, const uint64_t *h, bool time) {
    uint64_t max = 0;
    for (int i = 0; i < REP_HIST; i++)
        max = h[i] > max ? h[i] : max;
    fprintf(out, "\n%s\n", title);
    for (int i = 0; i < REP_HIST; i++) {
        if (!h[i]) continue;
        char lo[32];
        uint64_t v = i ? 1ull << (i - 1) : 0;
        time ? time_str(v, lo) : bytes_str(v, lo);
        int bar = (int)(h[i] * 40 / (max ? max : 1));
        fprintf(out, "  >= %-10s %12" PRIu64 " %.*s\n", lo, h[i], bar > 0 ? bar : 1,
                "########################################");
    }
}

static void threads(const struct rep *r, FILE *out) {
    char b1[32];
    if (r->no_threads) {
        fprintf(out, "\nThreads, cross-thread frees: " NO_THREADS "\n");
        return;
    }
    fprintf(out, "\nThreads\n  %8s %8s %12s %12s %12s %12s  %s\n", "pid", "tid", "allocations",
            "frees", "temporaries", "remote frees", "bytes allocated");
    for (size_t i = 0; i < r->n_threads; i++) {
        const struct rep_thread *t = &r->threads[i];
        if (!t->allocations && !t->frees) continue;
        fprintf(out,
                "  %8" PRId32 " %8" PRId32 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64
                "  %s\n",
                t->pid, t->tid, t->allocations, t->frees, t->temporaries, t->remote_frees,
                bytes_str(t->bytes_allocated, b1));
    }
    bool any = false;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct rep_cell *c = &r->cells[i];
        if (c->from == c->to) continue;
        if (!any) fprintf(out, "\nCross-thread frees (allocated by -> freed by)\n");
        any = true;
        fprintf(out, "  %8" PRId32 " -> %-8" PRId32 " %12" PRIu64 " blocks  %s\n",
                r->threads[c->from].tid, r->threads[c->to].tid, c->blocks, bytes_str(c->bytes, b1));
    }
}

static void processes(const struct rep *r, FILE *out) {
    char b1[32], b2[32];
    size_t shown = 0;
    for (size_t i = 0; i < r->n_procs; i++)
        shown += !r->opt.pid || r->procs[i].pid == r->opt.pid;
    if (shown < 2) return;
    fprintf(out, "\nProcesses\n  %8s %8s %-16s %12s %12s %12s\n", "pid", "ppid", "name",
            "allocations", "peak", "live at end");
    for (size_t i = 0; i < r->n_procs; i++) {
        const struct rep_proc *p = &r->procs[i];
        if (r->opt.pid && p->pid != r->opt.pid) continue;
        fprintf(out, "  %8" PRId32 " %8" PRId32 " %-16s %12" PRIu64 " %12s %12s%s\n", p->pid,
                p->ppid, p->name, p->allocations, bytes_str(p->peak_bytes, b1),
                bytes_str(p->live_bytes, b2), p->forked ? "  (forked)" : "");
    }
}

static void events(struct rep *r, FILE *out) {
    char b1[32], b2[32], name[1024];
    for (size_t i = 0; i < r->n_drops; i++) {
        const struct rep_heap_drop *d = &r->drops[i];
        fprintf(out,
                "\n%s of heap %" PRIu32 " (pid %" PRId32 ", tid %" PRId32 ", at %s) freed %" PRIu64
                " live blocks, %s\n",
                d->reset ? "heap_reset" : "heap_destroy", d->heap, d->pid, d->tid,
                time_str(d->ts - r->t0, b1), d->blocks, bytes_str(d->bytes, b2));
    }
    if (r->n_gaps) fprintf(out, "\nGaps (events the tracer discarded)\n");
    for (size_t i = 0; i < r->n_gaps && i < (size_t)r->opt.top; i++)
        fprintf(out, "  at %s: %" PRIu64 " events lost\n", time_str(r->gaps[i].ts - r->t0, b1),
                r->gaps[i].count);
    for (size_t i = 0; i < r->n_corruptions; i++) {
        const struct rep_corruption *c = &r->corruptions[i];
        rep_site_name(r, c->site, name, sizeof name);
        fprintf(out,
                "\nCorruption: %s at 0x%" PRIx64 " (pid %" PRId32 ", tid %" PRId32
                ", at %s)\n  %s\n  detected in %s\n  history of the block:\n",
                c->kind, c->ptr, c->pid, c->tid, time_str(c->ts - r->t0, b1), c->detail, name);
        for (size_t j = 0; j < c->n_history; j++) {
            const struct rep_history *h = &c->history[j];
            rep_site_name(r, h->site, name, sizeof name);
            char from[40] = "", size[32] = ""; /* a free says no size */
            if (h->old_ptr) snprintf(from, sizeof from, " (from 0x%" PRIx64 ")", h->old_ptr);
            if (h->kind != REP_FREE) snprintf(size, sizeof size, "%" PRIu64 " B", h->size);
            char tid[16] = "?"; /* 0: not recorded */
            if (h->tid) snprintf(tid, sizeof tid, "%" PRId32, h->tid);
            fprintf(out, "    %10s %-8s 0x%" PRIx64 "%s %10s  tid %-8s %s\n",
                    time_str(h->ts - r->t0, b1), rep_kinds[h->kind].name + strlen("meshward:"),
                    h->ptr, from, size, tid, name);
        }
        if (!c->n_history) fprintf(out, "    (no event of the trace touched this block)\n");
    }
}

int rep_write_text(struct rep *r, FILE *out) {
    summary(r, out);
    site_table(r, out, "Leaks: blocks live at the end, by call site", rep_fig_leaked,
               rep_fig_leaked, leaked_blocks, "bytes", "blocks", true);
    const struct rep_proc *f = rep_focus(r);
    char title[128];
    snprintf(title, sizeof title, "Peak: the live heap at its peak (pid %d), by call site",
             f ? f->pid : 0);
    site_table(r, out, title, rep_fig_peak, rep_fig_peak, peak_blocks, "bytes", "blocks", true);
    site_table(r, out, "Hottest call sites by allocations", rep_fig_calls, rep_fig_calls,
               rep_fig_bytes, "allocations", "bytes", false);
    site_table(r, out, "Hottest call sites by bytes", rep_fig_bytes, rep_fig_bytes, rep_fig_calls,
               "bytes", "allocations", true);
    if (r->no_threads)
        fprintf(out, "\nTemporary allocations: " NO_THREADS "\n");
    else
        site_table(r, out,
                   "Temporary allocations (freed by the same thread before any other allocation)",
                   rep_fig_temporaries, rep_fig_temporaries, short_lived, "temporaries",
                   "short-lived", false);
    histogram(out, "Allocation sizes", r->size_hist, false);
    histogram(out, "Lifetimes of freed blocks", r->life_hist, true);
    threads(r, out);
    processes(r, out);
    events(r, out);
    return ferror(out) ? -1 : 0;
}
