/* report/event.h — one trace event as both trace readers deliver it to the report, and the
 * readers' entry points.
 *
 * The readers (report/ctf.c, specialised to the streams LTTng-UST writes; report/bt2.c,
 * libbabeltrace2) deliver the same events in the same order: every event named in
 * rep_kinds, with the fields named there in f[] (numbers, signed ones sign-extended), s[]
 * (strings) and frames (a sequence of 64-bit integers), in timestamp order across every
 * stream of the trace, and one REP_DISCARDED event per gap that the tracer reported (f[0] =
 * events lost). Other events are skipped. Strings, frames and the event itself are valid
 * only during the sink call. */
#ifndef MW_REPORT_EVENT_H
#define MW_REPORT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "map.h"

enum rep_kind { /* the allocation events first (rep_is_allocation) */
                REP_ALLOC,
                REP_HEAP_ALLOC, /* an alloc from a first-class heap: the same f[0..2], and f[3] the
                                   heap */
                REP_FREE,
                REP_REALLOC,
                REP_ALLOC_BIG,   /* an alloc or heap_alloc of 4 GiB or more: heap_alloc's f[0..3] */
                REP_REALLOC_BIG, /* a realloc to 4 GiB or more: realloc's f[0..4] */
                REP_ALLOC_SLAB,  /* an alloc of a block of the slab range: f[0] its granule (the
                                    replay */
                REP_FREE_SLAB,   /* makes them REP_ALLOC and REP_FREE, with f[0] = arena + 8 *
                                    granule) */
                REP_ALIGNED,
                REP_HEAP_CREATE,
                REP_HEAP_DESTROY,
                REP_HEAP_RESET,
                REP_HEAP_DELETE,
                REP_REFILL,
                REP_SPAN_RELEASE,
                REP_REGION_REFILL,
                REP_PURGE,
                REP_THREAD_EXIT,
                REP_MESH,
                REP_CORRUPTION,
                REP_STATS,
                REP_STACK,
                REP_THREAD,   /* its contexts say its thread's process (report/threads.c); f[0] the
                                 arena */
                REP_BIN_INFO, /* lttng_ust_statedump:bin_info */
                REP_DLOPEN,   /* lttng_ust_dl:dlopen and dlmopen */
                REP_DLMOPEN,
                REP_DLCLOSE,
                REP_PROCNAME,
                REP_NKINDS,
                REP_DISCARDED = REP_NKINDS, /* not an event of the trace: a gap */
};

enum { REP_MAX_FIELDS = 8, REP_MAX_STRINGS = 2, REP_MAX_FRAMES = 255 };

/* Whether kind is an allocation event: one `meshward trace` records with the vtid context
 * alone, or with none (--no-threads). */
static inline bool rep_is_allocation(int kind) {
    return kind >= REP_ALLOC && kind <= REP_FREE_SLAB;
}

/* An event's name and its fields: "name" for a number (f[] in this order), "$name" for a
 * string (s[] in this order), "@name" for the one sequence of 64-bit integers (frames). */
struct rep_kind_desc {
    const char *name;
    const char *fields[REP_MAX_FIELDS + 1];
};
extern const struct rep_kind_desc rep_kinds[REP_NKINDS];

/* The kind named `name` (e.g. "meshward:alloc"), or -1. */
int rep_kind_by_name(const char *name);

struct rep_event {
    uint64_t ts; /* ns since the Epoch */
    int kind;
    int32_t vtid, vpid;
    uint64_t ip;
    const char *procname; /* "" when the trace lacks that context */
    uint64_t f[REP_MAX_FIELDS];
    const char *s[REP_MAX_STRINGS];
    const void *frames; /* n_frames 64-bit little-endian integers, unaligned */
    uint32_t n_frames;
};

/* Element i of ev's frames. */
static inline uint64_t rep_frame(const struct rep_event *ev, uint32_t i) {
    uint64_t v;
    memcpy(&v, (const char *)ev->frames + 8 * (size_t)i, 8);
    return v;
}

/* Receives each event; returns false to stop reading. */
typedef bool (*rep_sink)(void *arg, const struct rep_event *ev);

enum rep_read_status { REP_READ_OK = 0, REP_READ_ERROR = -1, REP_READ_UNSUPPORTED = -2 };

/* The folders under dir holding a CTF trace (a `metadata` file), NULL-terminated, sorted;
 * NULL when there is none. Free with rep_free_dirs. */
char **rep_trace_dirs(const char *dir);
void rep_free_dirs(char **dirs);

/* Reads every trace under `dir` (each folder holding a `metadata` file). ERROR after printing
 * a one-line error; UNSUPPORTED (nothing delivered, nothing printed) for a layout the
 * specialised reader does not know. `progress`: a progress bar on stderr. */
int rep_read_ctf(const char *dir, rep_sink sink, void *arg, bool progress);
int rep_read_bt2(const char *dir, rep_sink sink, void *arg, bool progress); /* no bar */
typedef int (*rep_reader)(const char *dir, rep_sink sink, void *arg, bool progress);

/* report/threads.c: a sink that gives each event without a vpid (the allocation events of
 * `meshward trace`) the process of its thread, then calls sink(arg, ev). Free pid_of after. */
struct rep_threads {
    rep_sink sink;
    void *arg;
    struct rep_map pid_of;      /* vtid -> vpid */
    int32_t last_tid, last_pid; /* the latest answer (events come in runs of one thread) */
};
bool rep_threads_sink(void *arg, const struct rep_event *ev);

/* report/pipe.c: runs read on a thread of its own and the sink on the caller's, in batches
 * (two CPUs: decoding and replaying); the sink sees the events read delivers, in order. */
int rep_read_piped(rep_reader read, const char *dir, rep_sink sink, void *arg, bool progress);

#endif
