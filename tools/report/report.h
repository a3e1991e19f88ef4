/* report/report.h — what the files of `meshward report` share: the replayed state of a trace and
 * the figures the outputs print.
 *
 * report/replay.c fills a struct rep from the events a reader delivers (report/event.h);
 * report/symbols.c names its call sites; report/text.c, report/json.c, report/html.c and
 * report/collapsed.c print it. Invariants kept by the replay:
 *   - every figure of the program (all but `tracer`) leaves out the blocks allocated at a
 *     call site inside LTTng's libraries (the tracer's own allocations, counted in `tracer`):
 *     the innermost frame of its stack outside the C library and the dynamic loader;
 *   - a process's live map holds exactly the blocks the trace says are live: its memory is
 *     bounded by the live heap, never by the trace's length;
 *   - a site's peak_* figures are its live figures at the moment of its process's peak. */
#ifndef MW_REPORT_H
#define MW_REPORT_H

#include "event.h"
#include "map.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { REP_HIST = 64, REP_TIMELINE = 256 };
#define REP_NO_MODULE UINT32_MAX
#define REP_SHORT_LIVED_NS 1000000ull /* "short-lived": freed within 1 ms */

struct rep_module {
    char *path;
    bool tracer; /* one of LTTng's libraries (or meshward's probe provider) */
    bool libc;   /* the C library or the dynamic loader */
    bool self;   /* meshward's allocator (libmeshward.so, libmeshward-hardened.so) */
};

/* A code address: an offset in a module, or an address no module of the trace maps. */
struct rep_frame {
    uint32_t module;
    uint64_t offset; /* in module; the address itself when module is REP_NO_MODULE */
    /* report/symbols.c */
    bool resolved;
    char *function, *file;
    int line;
};

/* A call site: the call stack of an event, innermost frame (the program's call into the
 * allocator) first; a trace without stacks gives one frame, a stack whose `stack` event was
 * lost none (the unknown stack). */
struct rep_site {
    uint32_t *frames; /* indexes in rep.frames */
    uint32_t n_frames;
    uint64_t calls, bytes, temporaries, short_lived;
    uint64_t leaked_blocks, leaked_bytes;
    uint64_t peak_blocks, peak_bytes; /* in the process of the report's peak */
};

struct rep_block {
    uint64_t ptr, size, ts;
    uint32_t site, thread, heap, flags;
};
enum { BLOCK_TRACER = 1, BLOCK_INHERITED = 2 };

struct rep_thread {
    int32_t pid, tid;
    uint64_t allocations, frees, bytes_allocated, bytes_freed, temporaries, remote_frees;
    uint64_t last_alloc; /* the thread's latest allocation, until its next free */
};

struct rep_cell { /* the cross-thread matrix: blocks allocated by one thread, freed by another */
    uint32_t from, to;
    uint64_t blocks, bytes;
};

struct rep_site_live { /* a site's blocks live in one process */
    uint32_t site;
    bool dirty; /* changed since the process's last peak snapshot */
    uint64_t blocks, bytes, peak_blocks, peak_bytes;
};

struct rep_bucket { /* one slice of a process's timeline */
    uint64_t live_max, live_end, allocations, frees;
    uint64_t refills, span_releases, purged_bytes, meshes, mesh_bytes;
    bool used;
};

struct rep_mapping {
    uint64_t base, end;
    uint32_t module;
};

struct rep_heap_drop { /* heap_destroy or heap_reset with live blocks */
    int32_t pid, tid;
    uint32_t heap;
    bool reset;
    uint64_t ts, blocks, bytes;
};

/* One program image of a process (a new process, or an exec), from its first event on: the
 * start of its span range, which its `_slab` events' granules count from (0: unknown, every
 * `thread` event of the image lost so far), and how many `_slab` events it had while the
 * arena was unknown (0 again once a later `thread` event places them). */
struct rep_image {
    uint64_t from_ts, arena, unplaced;
};

struct rep_proc {
    int32_t pid, ppid;
    char name[32];
    bool forked, exec_image;  /* started from its parent's heap; replaced an earlier image */
    uint64_t arena;           /* the current image's (0: unknown) */
    struct rep_image *images; /* in order of time, the current one last */
    size_t n_images;
    uint64_t first_ts, last_ts;
    uint64_t events, allocations, frees, reallocs, bytes_allocated, bytes_freed;
    uint64_t unknown_frees;      /* of blocks allocated before tracing began */
    uint64_t meshes, mesh_bytes; /* `mesh` events, and the physical memory they gave back */
    uint64_t live_blocks, live_bytes, peak_bytes, peak_blocks, peak_ts;
    uint64_t inherited_blocks, inherited_bytes;
    bool peak_pending; /* a new peak whose per-site figures are not yet copied */
    /* the trace/README.md invariant, checked between the two `stats` events */
    bool has_stats_start, has_stats_end;
    uint64_t stats_start_blocks, stats_end_blocks, all_allocs, all_frees, replayed_end_blocks;
    /* replay state */
    struct rep_map live; /* ptr -> index in blocks */
    struct rep_block *blocks;
    size_t n_blocks;
    uint32_t free_block;    /* chain of unused entries in blocks, via .site; UINT32_MAX ends */
    struct rep_map ipcache; /* ip -> site of that frame alone */
    struct rep_map stacks;  /* stack id -> site, from the process's `stack` events */
    struct rep_mapping *maps;
    size_t n_maps;
    uint32_t *site_index; /* site -> index in sites_live, UINT32_MAX: none */
    size_t n_site_index;
    struct rep_site_live *sites_live;
    size_t n_sites_live;
    uint32_t *dirty;
    size_t n_dirty;
    struct rep_bucket timeline[REP_TIMELINE];
    uint64_t bucket_ns;
    struct rep_bucket *cur_bucket; /* the latest bucket used, from cur_from */
    uint64_t cur_from;
};

struct rep_history { /* one event of a corrupted block's history */
    uint64_t ts;
    int kind;
    int32_t pid, tid;
    uint64_t ptr, old_ptr, size; /* old_ptr: a realloc's block passed in */
    uint32_t site;
};
enum { REP_HISTORY = 16 };

struct rep_corruption {
    uint64_t ts;
    int32_t pid, tid;
    char *kind, *detail;
    uint64_t ptr;
    uint32_t site;
    struct rep_history history[REP_HISTORY]; /* the latest events touching the block */
    size_t n_history;
};

struct rep_gap {
    uint64_t ts, count;
};

struct rep_options {
    const char *dir;
    int32_t pid;             /* 0: every process */
    uint64_t from_ns, to_ns; /* relative to the trace's first event; to 0: the end */
    int top;
    bool json, progress, use_bt2, dump;
    const char *html, *collapsed;
};

struct rep {
    struct rep_options opt;
    uint64_t t0, t_end; /* first and last event */
    uint64_t events, meshward_events;
    struct rep_module *modules;
    size_t n_modules;
    struct rep_frame *frames;
    size_t n_frames;
    struct rep_map frame_by_key;
    struct rep_site *sites;
    size_t n_sites;
    struct rep_map site_by_key; /* hash of the frames -> site (the next key on a collision) */
    struct rep_proc *procs;
    size_t n_procs;
    struct rep_map proc_by_pid; /* the pid's current image */
    struct rep_thread *threads;
    size_t n_threads;
    struct rep_map thread_by_key;
    uint64_t last_thread_key; /* the latest thread looked up */
    uint32_t last_thread;
    struct rep_cell *cells;
    size_t n_cells;
    struct rep_map cell_by_key;
    uint64_t last_cell_key; /* the latest cell looked up */
    uint32_t last_cell;
    uint64_t size_hist[REP_HIST], life_hist[REP_HIST];
    struct { /* the tracer's own allocations (LTTng's libraries) */
        uint64_t allocations, frees, bytes, live_blocks, live_bytes;
    } tracer;
    struct rep_gap *gaps;
    size_t n_gaps;
    uint64_t discarded;
    struct rep_heap_drop *drops;
    size_t n_drops;
    struct rep_corruption *corruptions;
    size_t n_corruptions;
    bool stopped; /* past --to */
    /* The allocation events carry no thread (meshward trace --no-threads): the figures by
     * thread (threads, cross-thread frees, temporaries, a history's tids) are not in the
     * trace, and the outputs say so instead of printing them. */
    bool no_threads;
};

/* report/report.c: the whole report of o->dir, the text (or JSON) on text_out; the command's exit
 * status (0, or 125 after a one-line error). */
int report_run(const struct rep_options *o, FILE *text_out);

/* report/replay.c */
void rep_init(struct rep *r, const struct rep_options *o);
bool rep_replay_event(void *r, const struct rep_event *ev); /* a rep_sink */
void rep_finish(struct rep *r);                             /* after the last event */
void rep_free(struct rep *r);
/* The process the peak and the timeline are about: --pid's, else the largest peak. */
const struct rep_proc *rep_focus(const struct rep *r);
/* The corrupted blocks' histories: a second reading of the trace (a rep_sink). */
bool rep_history_event(void *r, const struct rep_event *ev);

/* report/sites.c, for the replay: */
/* Appends one zeroed element to a dynamic array *arr of *n elements of size bytes. */
void *rep_push(void *arr, size_t *n, size_t size);
/* A module mapped (ev: statedump or dl event) or unmapped at base in process p. */
void rep_map_module(struct rep *r, struct rep_proc *p, const struct rep_event *ev);
void rep_unmap_module(struct rep_proc *p, uint64_t base);
/* A `stack` event: its id names its frames in p from now on. */
void rep_stack_event(struct rep *r, struct rep_proc *p, const struct rep_event *ev);
/* The site of an allocator event of p: its stack, or its call site. */
uint32_t rep_site_of(struct rep *r, struct rep_proc *p, const struct rep_event *ev);
/* Whether a site is the tracer's own (its innermost frame outside libc lies in LTTng's). */
bool rep_tracer_site(const struct rep *r, uint32_t site);

/* report/symbols.c: names frames[i] (function, file, line) once. */
void rep_resolve(struct rep *r, uint32_t frame);
void rep_symbols_end(void);
/* "function (file:line, library)", or "library+0xOFFSET", or "0xADDRESS". */
void rep_frame_name(struct rep *r, uint32_t frame, char *buf, size_t size);
/* A frame's function, else "library+0xOFFSET", else "0xADDRESS". */
void rep_frame_function(struct rep *r, uint32_t frame, char *buf, size_t size);
/* The innermost frame's name, then its callers' functions: "f (a.c:3, lib) < g < main";
 * "(unknown stack)" for a site without frames. */
void rep_site_name(struct rep *r, uint32_t site, char *buf, size_t size);
const char *rep_module_name(const struct rep *r, uint32_t module); /* basename, or "?" */

/* report/rank.c: site indexes sorted by a figure, descending, zeros left out; count in *n. */
typedef uint64_t (*rep_figure)(const struct rep_site *s);
uint32_t *rep_rank_sites(const struct rep *r, rep_figure fig, size_t *n);
uint64_t rep_fig_calls(const struct rep_site *s);
uint64_t rep_fig_bytes(const struct rep_site *s);
uint64_t rep_fig_leaked(const struct rep_site *s);
uint64_t rep_fig_peak(const struct rep_site *s);
uint64_t rep_fig_temporaries(const struct rep_site *s);
/* Program totals over the processes of the report. */
struct rep_totals {
    uint64_t allocations, frees, reallocs, bytes_allocated, temporaries, short_lived;
    uint64_t leaked_blocks, leaked_bytes, live_blocks, live_bytes, threads, processes;
    uint64_t unknown_frees, unplaced, meshes, mesh_bytes;
};
void rep_totals(const struct rep *r, struct rep_totals *t);
/* The `_slab` events of p whose blocks' addresses stay unknown (rep_image). */
uint64_t rep_unplaced(const struct rep_proc *p);

/* The outputs; each returns 0, or -1 when writing failed. */
int rep_write_text(struct rep *r, FILE *out);
int rep_write_json(struct rep *r, FILE *out);
int rep_write_html(struct rep *r, FILE *out);
int rep_write_collapsed(struct rep *r, FILE *out);

#endif
