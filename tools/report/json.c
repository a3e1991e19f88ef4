/* report/json.c — `meshward report --json`: every figure of the report as one JSON object,
 * keys documented in tools/README.md. Times ending in `_ns` are nanoseconds since the
 * trace's first event; call sites are referred to by their index in `sites`. The HTML page
 * embeds this same object, so the two never disagree. A figure the trace cannot give (the
 * figures by thread of a trace recorded without threads) is null, never a wrong number. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == '<') /* '<': the object is also embedded in HTML */
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void key_u(FILE *out, const char *key, uint64_t v, bool comma) {
    fprintf(out, "\"%s\":%" PRIu64 "%s", key, v, comma ? "," : "");
}

/* key_u, or null when the trace does not say (known false). */
static void key_or_null(FILE *out, const char *key, uint64_t v, bool known, bool comma) {
    if (known)
        key_u(out, key, v, comma);
    else
        fprintf(out, "\"%s\":null%s", key, comma ? "," : "");
}

static uint64_t rel(const struct rep *r, uint64_t ts) {
    return ts > r->t0 ? ts - r->t0 : 0;
}

/* One frame's keys (no braces): function, file, line, library, offset, tracer. */
static void frame_keys(struct rep *r, FILE *out, const struct rep_frame *f) {
    fputs("\"function\":", out);
    f && f->function ? json_string(out, f->function) : (void)fputs("null", out);
    fputs(",\"file\":", out);
    f && f->file ? json_string(out, f->file) : (void)fputs("null", out);
    fprintf(out, ",\"line\":%d,\"library\":", f ? f->line : 0);
    bool mapped = f && f->module != REP_NO_MODULE;
    mapped ? json_string(out, r->modules[f->module].path) : (void)fputs("null", out);
    fprintf(out, ",\"offset\":%" PRIu64 ",\"tracer\":%s", f ? f->offset : 0,
            mapped && r->modules[f->module].tracer ? "true" : "false");
}

/* A site: its name, its innermost frame's keys, and its whole stack. */
static void site_json(struct rep *r, FILE *out, uint32_t i) {
    const struct rep_site *s = &r->sites[i];
    char name[1024];
    rep_site_name(r, i, name, sizeof name);
    fprintf(out, "{\"id\":%" PRIu32 ",\"name\":", i);
    json_string(out, name);
    fputc(',', out);
    frame_keys(r, out, s->n_frames ? &r->frames[s->frames[0]] : NULL);
    fputs(",\"stack\":[", out);
    for (uint32_t k = 0; k < s->n_frames; k++) {
        rep_resolve(r, s->frames[k]);
        fputs(k ? ",{" : "{", out);
        frame_keys(r, out, &r->frames[s->frames[k]]);
        fputc('}', out);
    }
    fputs("],", out);
    key_u(out, "calls", s->calls, true);
    key_u(out, "bytes", s->bytes, true);
    key_or_null(out, "temporaries", s->temporaries, !r->no_threads, true);
    key_u(out, "short_lived", s->short_lived, true);
    key_u(out, "leaked_blocks", s->leaked_blocks, true);
    key_u(out, "leaked_bytes", s->leaked_bytes, true);
    key_u(out, "peak_blocks", s->peak_blocks, true);
    key_u(out, "peak_bytes", s->peak_bytes, false);
    fputc('}', out);
}

/* A ranking: the ids of the sites with a non-zero figure, best first. */
static void rank_json(const struct rep *r, FILE *out, const char *key, rep_figure fig) {
    size_t n;
    uint32_t *idx = rep_rank_sites(r, fig, &n);
    fprintf(out, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%" PRIu32, i ? "," : "", idx[i]);
    fputs("],", out);
    free(idx);
}

static void summary_json(const struct rep *r, FILE *out) {
    struct rep_totals t;
    rep_totals(r, &t);
    const struct rep_proc *f = rep_focus(r);
    uint64_t duration = r->t_end - r->t0;
    fputs("\"summary\":{", out);
    key_u(out, "processes", t.processes, true);
    key_or_null(out, "threads", t.threads, !r->no_threads, true);
    fprintf(out, "\"threads_recorded\":%s,", r->no_threads ? "false" : "true");
    key_u(out, "duration_ns", duration, true);
    key_u(out, "events", r->events, true);
    key_u(out, "meshward_events", r->meshward_events, true);
    key_u(out, "discarded_events", r->discarded, true);
    key_u(out, "allocations", t.allocations, true);
    key_u(out, "frees", t.frees, true);
    key_u(out, "reallocs", t.reallocs, true);
    key_u(out, "bytes_allocated", t.bytes_allocated, true);
    key_u(out, "allocations_per_second",
          duration ? (uint64_t)((double)t.allocations * 1e9 / (double)duration) : 0, true);
    key_u(out, "peak_bytes", f ? f->peak_bytes : 0, true);
    key_u(out, "peak_blocks", f ? f->peak_blocks : 0, true);
    key_u(out, "peak_ns", f ? rel(r, f->peak_ts) : 0, true);
    key_u(out, "peak_pid", f ? (uint64_t)f->pid : 0, true);
    key_u(out, "live_blocks", t.live_blocks, true);
    key_u(out, "live_bytes", t.live_bytes, true);
    key_u(out, "leaked_blocks", t.leaked_blocks, true);
    key_u(out, "leaked_bytes", t.leaked_bytes, true);
    key_or_null(out, "temporaries", t.temporaries, !r->no_threads, true);
    key_u(out, "short_lived", t.short_lived, true);
    key_u(out, "short_lived_threshold_ns", REP_SHORT_LIVED_NS, true);
    key_u(out, "unknown_frees", t.unknown_frees, true);
    key_u(out, "unplaced_events", t.unplaced, true);
    key_u(out, "meshes", t.meshes, true);
    key_u(out, "mesh_bytes", t.mesh_bytes, false);
    fputs("},\"tracer\":{", out);
    key_u(out, "allocations", r->tracer.allocations, true);
    key_u(out, "frees", r->tracer.frees, true);
    key_u(out, "bytes", r->tracer.bytes, true);
    key_u(out, "live_blocks", r->tracer.live_blocks, true);
    key_u(out, "live_bytes", r->tracer.live_bytes, false);
    fputs("},", out);
}

static void hist_json(FILE *out, const char *key, const uint64_t *h) {
    fprintf(out, "\"%s\":[", key);
    bool first = true;
    for (int i = 0; i < REP_HIST; i++) {
        if (!h[i]) continue;
        uint64_t lo = i ? 1ull << (i - 1) : 0, hi = i ? (1ull << (i - 1)) * 2 - 1 : 0;
        fprintf(out, "%s{\"min\":%" PRIu64 ",\"max\":%" PRIu64 ",\"count\":%" PRIu64 "}",
                first ? "" : ",", lo, hi, h[i]);
        first = false;
    }
    fputs("],", out);
}

static void threads_json(const struct rep *r, FILE *out) {
    if (r->no_threads) {
        fputs("\"threads\":null,\"cross_thread_frees\":null,", out);
        return;
    }
    fputs("\"threads\":[", out);
    bool first = true;
    for (size_t i = 0; i < r->n_threads; i++) {
        const struct rep_thread *t = &r->threads[i];
        if (!t->allocations && !t->frees) continue;
        fprintf(out, "%s{\"pid\":%" PRId32 ",\"tid\":%" PRId32 ",", first ? "" : ",", t->pid,
                t->tid);
        first = false;
        key_u(out, "allocations", t->allocations, true);
        key_u(out, "frees", t->frees, true);
        key_u(out, "bytes_allocated", t->bytes_allocated, true);
        key_u(out, "bytes_freed", t->bytes_freed, true);
        key_u(out, "temporaries", t->temporaries, true);
        key_u(out, "remote_frees", t->remote_frees, false);
        fputc('}', out);
    }
    fputs("],\"cross_thread_frees\":[", out);
    first = true;
    for (size_t i = 0; i < r->n_cells; i++) {
        const struct rep_cell *c = &r->cells[i];
        if (c->from == c->to) continue;
        fprintf(out,
                "%s{\"pid\":%" PRId32 ",\"from_tid\":%" PRId32 ",\"to_tid\":%" PRId32
                ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
                first ? "" : ",", r->threads[c->from].pid, r->threads[c->from].tid,
                r->threads[c->to].tid, c->blocks, c->bytes);
        first = false;
    }
    fputs("],", out);
}

static void timeline_json(const struct rep *r, FILE *out) {
    const struct rep_proc *f = rep_focus(r);
    fprintf(out, "\"timeline\":{\"pid\":%" PRId32 ",\"bucket_ns\":%" PRIu64 ",\"points\":[",
            f ? f->pid : 0, f ? f->bucket_ns : 0);
    bool first = true;
    for (size_t i = 0; f && i < REP_TIMELINE; i++) {
        const struct rep_bucket *b = &f->timeline[i];
        if (!b->used) continue;
        fprintf(out, "%s{\"t_ns\":%" PRIu64 ",", first ? "" : ",", (uint64_t)i * f->bucket_ns);
        first = false;
        key_u(out, "live_max", b->live_max, true);
        key_u(out, "live_end", b->live_end, true);
        key_u(out, "allocations", b->allocations, true);
        key_u(out, "frees", b->frees, true);
        key_u(out, "refills", b->refills, true);
        key_u(out, "span_releases", b->span_releases, true);
        key_u(out, "purged_bytes", b->purged_bytes, true);
        key_u(out, "meshes", b->meshes, true);
        key_u(out, "mesh_bytes", b->mesh_bytes, false);
        fputc('}', out);
    }
    fputs("]},", out);
}

static void processes_json(const struct rep *r, FILE *out) {
    fputs("\"processes\":[", out);
    bool first = true;
    for (size_t i = 0; i < r->n_procs; i++) {
        const struct rep_proc *p = &r->procs[i];
        if (r->opt.pid && p->pid != r->opt.pid) continue;
        fprintf(out, "%s{\"pid\":%" PRId32 ",\"ppid\":%" PRId32 ",\"name\":", first ? "" : ",",
                p->pid, p->ppid);
        first = false;
        json_string(out, p->name);
        fprintf(out, ",\"forked\":%s,\"exec\":%s,", p->forked ? "true" : "false",
                p->exec_image ? "true" : "false");
        key_u(out, "first_ns", rel(r, p->first_ts), true);
        key_u(out, "last_ns", rel(r, p->last_ts), true);
        key_u(out, "allocations", p->allocations, true);
        key_u(out, "frees", p->frees, true);
        key_u(out, "bytes_allocated", p->bytes_allocated, true);
        key_u(out, "peak_bytes", p->peak_bytes, true);
        key_u(out, "peak_ns", rel(r, p->peak_ts), true);
        key_u(out, "live_blocks", p->live_blocks, true);
        key_u(out, "live_bytes", p->live_bytes, true);
        key_u(out, "inherited_blocks", p->inherited_blocks, true);
        key_u(out, "inherited_bytes", p->inherited_bytes, true);
        key_u(out, "unknown_frees", p->unknown_frees, true);
        key_u(out, "unplaced_events", rep_unplaced(p), true);
        fputs("\"stats_check\":", out);
        if (p->has_stats_start && p->has_stats_end) {
            uint64_t replayed = p->replayed_end_blocks;
            fprintf(out,
                    "{\"start_live_blocks\":%" PRIu64 ",\"end_live_blocks\":%" PRIu64
                    ",\"replayed_live_blocks\":%" PRIu64 ",\"consistent\":%s}",
                    p->stats_start_blocks, p->stats_end_blocks, replayed,
                    replayed == p->stats_end_blocks ? "true" : "false");
        } else {
            fputs("null", out);
        }
        fputc('}', out);
    }
    fputs("],", out);
}

static void events_json(const struct rep *r, FILE *out) {
    fputs("\"heaps_dropped\":[", out);
    for (size_t i = 0; i < r->n_drops; i++) {
        const struct rep_heap_drop *d = &r->drops[i];
        fprintf(out,
                "%s{\"pid\":%" PRId32 ",\"tid\":%" PRId32 ",\"heap\":%" PRIu32
                ",\"event\":\"%s\",\"ns\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64
                "}",
                i ? "," : "", d->pid, d->tid, d->heap, d->reset ? "heap_reset" : "heap_destroy",
                rel(r, d->ts), d->blocks, d->bytes);
    }
    fputs("],\"gaps\":[", out);
    for (size_t i = 0; i < r->n_gaps; i++)
        fprintf(out, "%s{\"ns\":%" PRIu64 ",\"count\":%" PRIu64 "}", i ? "," : "",
                rel(r, r->gaps[i].ts), r->gaps[i].count);
    fputs("],\"corruptions\":[", out);
    for (size_t i = 0; i < r->n_corruptions; i++) {
        const struct rep_corruption *c = &r->corruptions[i];
        fprintf(out, "%s{\"ns\":%" PRIu64 ",\"pid\":%" PRId32 ",\"tid\":%" PRId32 ",\"kind\":",
                i ? "," : "", rel(r, c->ts), c->pid, c->tid);
        json_string(out, c->kind);
        fprintf(out, ",\"ptr\":%" PRIu64 ",\"detail\":", c->ptr);
        json_string(out, c->detail);
        fprintf(out, ",\"site\":%" PRIu32 ",\"history\":[", c->site);
        for (size_t j = 0; j < c->n_history; j++) {
            const struct rep_history *h = &c->history[j];
            fprintf(out, "%s{\"ns\":%" PRIu64 ",\"event\":\"%s\",", j ? "," : "", rel(r, h->ts),
                    rep_kinds[h->kind].name + strlen("meshward:"));
            key_or_null(out, "tid", (uint64_t)h->tid, h->tid != 0, true); /* 0: not recorded */
            fprintf(out,
                    "\"ptr\":%" PRIu64 ",\"old_ptr\":%" PRIu64 ",\"size\":%" PRIu64
                    ",\"site\":%" PRIu32 "}",
                    h->ptr, h->old_ptr, h->size, h->site);
        }
        fputs("]}", out);
    }
    fputs("]", out);
}

int rep_write_json(struct rep *r, FILE *out) {
    fputs("{\"trace\":", out);
    json_string(out, r->opt.dir);
    fprintf(out, ",\"reader\":\"%s\",", r->opt.use_bt2 ? "babeltrace2" : "ctf");
    summary_json(r, out);
    fputs("\"sites\":[", out);
    for (uint32_t i = 0; i < r->n_sites; i++) {
        if (i) fputc(',', out);
        site_json(r, out, i);
    }
    fputs("],", out);
    rank_json(r, out, "leaks", rep_fig_leaked);
    rank_json(r, out, "peak", rep_fig_peak);
    rank_json(r, out, "hot_by_calls", rep_fig_calls);
    rank_json(r, out, "hot_by_bytes", rep_fig_bytes);
    if (r->no_threads)
        fputs("\"temporaries\":null,", out);
    else
        rank_json(r, out, "temporaries", rep_fig_temporaries);
    hist_json(out, "size_histogram", r->size_hist);
    hist_json(out, "lifetime_histogram", r->life_hist);
    threads_json(r, out);
    timeline_json(r, out);
    processes_json(r, out);
    events_json(r, out);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}
