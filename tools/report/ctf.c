/* report/ctf.c — the specialised trace reader: decodes the stream files of LTTng-UST traces
 * directly (mmap), with the ops report/ctf_meta.c compiled from each trace's metadata, and
 * merges every stream of every trace under the folder by timestamp, in babeltrace2's order.
 *
 * Invariants: each stream holds its next event decoded (or is finished); a binary min-heap
 * over the streams' next events (timestamp, then trace uuid, stream class and stream, as
 * babeltrace2's muxer breaks ties) gives the merge order, so both readers deliver one
 * sequence. A packet's discarded-events
 * counter that grew since the stream's previous packet becomes one REP_DISCARDED event at
 * the previous packet's end (growth past the largest value seen: the counter can step back). Pages
 * of packets already read are dropped from the mapping, so the reader's resident memory does not
 * grow with the trace. Any read past a packet's content or a file's end is an error naming the file
 * ("truncated"), never a crash. */
#include "cli.h"
#include "ctf.h"
#include "event.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACKET_MAGIC 0xC1FC1FC1u
enum { MAX_OPS = 64 };

struct stream {
    char path[4096];
    const uint8_t *map;
    size_t size;
    size_t pkt, content_end, pkt_end, pos; /* byte offsets in the file */
    uint64_t cycles;                       /* the clock at the last event */
    uint64_t discarded, prev_ts_end;
    const struct ctf_layout *layout;
    const struct ctf_stream_class *cls;
    uint64_t val[SLOT_COUNT];
    const char *str[SLOT_COUNT];
    const uint8_t *frames; /* the current event's sequence of 64-bit integers */
    uint32_t n_frames;
    char procname[32];
    struct rep_event ev;
    bool has_event;
};

struct ctf_reader {
    struct ctf_layout *layouts;
    size_t n_layouts;
    struct stream *streams;
    size_t n_streams;
    struct stream **heap;
    size_t n_heap;
    uint64_t total_bytes;
};

/* ---- decoding -------------------------------------------------------------------------- */

static inline uint64_t read_int(const uint8_t *p, unsigned bytes, bool is_signed) {
    /* Little-endian host and trace (checked by the metadata reader); constant-size loads. */
    uint64_t v = 0;
    uint32_t v32;
    uint16_t v16;
    switch (bytes) {
    case 8:
        memcpy(&v, p, 8);
        return v;
    case 4:
        memcpy(&v32, p, 4);
        v = v32;
        break;
    case 2:
        memcpy(&v16, p, 2);
        v = v16;
        break;
    case 1:
        v = *p;
        break;
    default:
        memcpy(&v, p, bytes);
    }
    if (is_signed && (v >> (bytes * 8 - 1)) & 1) v |= ~0ull << (bytes * 8);
    return v;
}

static int corrupt(struct stream *st, const char *what) {
    cli_error("%s: truncated or corrupt stream file (%s at offset %zu)", st->path, what, st->pos);
    return -1;
}

static void text_array(struct stream *st, const struct ctf_op *op, size_t pos, uint64_t n) {
    if (n > 0 && st->map[pos + n - 1] == '\0') { /* NUL-padded: used in place */
        st->str[op->slot] = (const char *)st->map + pos;
        return;
    }
    size_t len = n < sizeof st->procname - 1 ? n : sizeof st->procname - 1;
    memcpy(st->procname, st->map + pos, len);
    st->procname[len] = '\0';
    st->str[op->slot] = st->procname;
}

/* The common case, fields at fixed offsets: one bounds check for all. */
static int run_fixed(struct stream *st, const struct ctf_ops *o, size_t end) {
    if (st->pos > end || end - st->pos < o->fixed_bytes) return corrupt(st, "event");
    size_t pos = st->pos;
    for (const struct ctf_op *op = o->op, *last = o->op + o->n; op < last; op++) {
        if (op->type == OP_INT) {
            st->val[op->slot] = read_int(st->map + pos, op->bytes, op->is_signed);
            pos += op->bytes;
        } else {
            if (op->text && op->slot) text_array(st, op, pos, op->count);
            pos += (size_t)op->count * op->bytes;
        }
    }
    st->pos = pos;
    return 0;
}

/* Decodes the ops from st->pos up to end; values into st->val / st->str by slot. */
static int run_ops(struct stream *st, const struct ctf_ops *o, size_t end) {
    if (o->fixed_bytes) return run_fixed(st, o, end);
    uint64_t opval[MAX_OPS];
    for (size_t i = 0; i < o->n; i++) {
        const struct ctf_op *op = &o->op[i];
        size_t pos = (st->pos + op->align - 1) & ~(size_t)(op->align - 1);
        if (op->type == OP_STRING) {
            const uint8_t *nul = pos < end ? memchr(st->map + pos, 0, end - pos) : NULL;
            if (!nul) return corrupt(st, "string");
            st->str[op->slot] = (const char *)st->map + pos;
            st->pos = (size_t)(nul - st->map) + 1;
            continue;
        }
        uint64_t n = op->type == OP_INT ? 1 : op->type == OP_ARRAY ? op->count : opval[op->count];
        if (pos > end || n * op->bytes > end - pos) return corrupt(st, "field");
        if (op->type == OP_INT) {
            opval[i] = st->val[op->slot] = read_int(st->map + pos, op->bytes, op->is_signed);
        } else if (op->text && op->slot) {
            text_array(st, op, pos, n);
        } else if (op->slot == SLOT_FRAMES && op->bytes == 8 && n <= REP_MAX_FRAMES) {
            st->frames = st->map + pos;
            st->n_frames = (uint32_t)n;
        }
        st->pos = pos + n * op->bytes;
    }
    return 0;
}

/* Advances the clock by an n-bit timestamp field (CTF 1.8: it wraps at most once). */
static void clock_update(struct stream *st, uint64_t v, unsigned bits) {
    if (bits == 64) {
        st->cycles = v;
        return;
    }
    uint64_t mask = (1ull << bits) - 1, t = (st->cycles & ~mask) | v;
    if (v < (st->cycles & mask)) t += mask + 1;
    st->cycles = t;
}

/* The event header: returns the event id, or -1. */
static int64_t read_header(struct stream *st) {
    const uint8_t *p = st->map + st->pos;
    size_t left = st->content_end - st->pos;
    bool compact = st->cls->header == HEADER_COMPACT;
    size_t first = compact ? 4 : 6;
    if (left < first) return corrupt(st, "event header");
    uint64_t id = compact ? p[0] & 31 : read_int(p, 2, false);
    if (id == (compact ? 31u : 65535u)) {
        size_t at = compact ? 1 : 2; /* after the 5-bit id's byte, or the 16-bit id */
        if (left < at + 12) return corrupt(st, "event header");
        id = read_int(p + at, 4, false);
        clock_update(st, read_int(p + at + 4, 8, false), 64);
        st->pos += at + 12;
    } else {
        clock_update(st, compact ? read_int(p, 4, false) >> 5 : read_int(p + 2, 4, false),
                     compact ? 27 : 32);
        st->pos += first;
    }
    return (int64_t)id;
}

static uint64_t to_ns(const struct ctf_layout *l, uint64_t cycles) {
    if (l->clock_freq == 1000000000) return (uint64_t)l->clock_offset_ns + cycles;
    return (uint64_t)l->clock_offset_ns + (uint64_t)((__int128)cycles * 1000000000 / l->clock_freq);
}

/* Moves to the next packet; 1: a packet is open, 0: no more, -1: error. */
static int open_packet(struct stream *st) {
    if (st->pkt_end > st->pkt) { /* done with the previous packet's pages */
        long page = sysconf(_SC_PAGESIZE);
        size_t from = st->pkt & ~(size_t)(page - 1), to = st->pkt_end & ~(size_t)(page - 1);
        if (to > from) madvise((void *)(st->map + from), to - from, MADV_DONTNEED);
    }
    st->pkt = st->pos = st->pkt_end;
    if (st->pkt >= st->size) return 0;
    memset(st->val, 0, sizeof st->val);
    st->val[SLOT_MAGIC] = PACKET_MAGIC;
    if (run_ops(st, &st->layout->packet_header, st->size) != 0) return -1;
    if (st->val[SLOT_MAGIC] != PACKET_MAGIC) return corrupt(st, "packet magic");
    st->cls = NULL;
    for (size_t i = 0; i < st->layout->n_streams; i++)
        if (st->layout->streams[i].id == st->val[SLOT_STREAM_ID]) st->cls = &st->layout->streams[i];
    if (!st->cls) return corrupt(st, "unknown stream class");
    st->val[SLOT_PACKET_SIZE] = st->val[SLOT_CONTENT_SIZE] = (st->size - st->pkt) * 8;
    if (run_ops(st, &st->cls->packet_context, st->size) != 0) return -1;
    uint64_t content = st->val[SLOT_CONTENT_SIZE] / 8, packet = st->val[SLOT_PACKET_SIZE] / 8;
    if (packet > st->size - st->pkt || content > packet || st->pkt + content < st->pos)
        return corrupt(st, "packet size");
    st->content_end = st->pkt + content;
    st->pkt_end = st->pkt + packet;
    st->cycles = st->val[SLOT_TS_BEGIN];
    return 1;
}

/* Decodes the stream's next delivered event into st->ev; st->has_event false at the end. */
static int advance(struct stream *st) {
    st->has_event = false;
    for (;;) {
        while (st->pos >= st->content_end) {
            uint64_t prev_end = st->prev_ts_end;
            int r = open_packet(st);
            if (r <= 0) return r;
            /* LTTng samples the counter when it closes a packet, and packets closed by
             * concurrent writers can carry it out of order: only growth past the largest
             * value seen is a loss. */
            uint64_t counter = st->val[SLOT_DISCARDED];
            uint64_t lost = counter > st->discarded ? counter - st->discarded : 0;
            st->discarded = counter > st->discarded ? counter : st->discarded;
            st->prev_ts_end = st->val[SLOT_TS_END];
            if (lost > 0) {
                st->ev =
                    (struct rep_event){.kind = REP_DISCARDED,
                                       .procname = "",
                                       .ts = to_ns(st->layout, prev_end ? prev_end : st->cycles),
                                       .f = {lost}};
                st->has_event = true;
                return 0;
            }
        }
        int64_t id = read_header(st);
        if (id < 0) return -1;
        if ((uint64_t)id >= st->cls->n_events) return corrupt(st, "unknown event id");
        const struct ctf_event_class *ec = &st->cls->events[id];
        st->str[SLOT_PROCNAME] = "";
        if (run_ops(st, &st->cls->event_context, st->content_end) != 0 ||
            run_ops(st, &ec->fields, st->content_end) != 0)
            return -1;
        if (ec->kind < 0) continue;
        struct rep_event *ev = &st->ev;
        ev->ts = to_ns(st->layout, st->cycles);
        ev->kind = ec->kind;
        ev->vtid = (int32_t)st->val[SLOT_VTID];
        ev->vpid = st->val[SLOT_VPID] ? (int32_t)st->val[SLOT_VPID] : st->layout->env_vpid;
        ev->ip = st->val[SLOT_IP];
        ev->procname = st->str[SLOT_PROCNAME];
        memcpy(ev->f, &st->val[SLOT_F0], sizeof ev->f);
        ev->s[0] = st->str[SLOT_S0];
        ev->s[1] = st->str[SLOT_S0 + 1];
        ev->frames = st->frames;
        ev->n_frames = st->n_frames;
        memset(&st->val[SLOT_F0], 0, sizeof ev->f);
        st->str[SLOT_S0] = st->str[SLOT_S0 + 1] = "";
        st->n_frames = 0;
        st->has_event = true;
        return 0;
    }
}

/* ---- merging --------------------------------------------------------------------------- */

/* The order babeltrace2's muxer gives: by timestamp, then, for events of one timestamp on
 * different streams, by trace uuid, stream class and stream (so that both readers hand the
 * replay the same sequence: a free and an allocation of one address in the same nanosecond
 * on two CPUs replay differently in the other order). */
static bool before(const struct stream *a, const struct stream *b) {
    if (a->ev.ts != b->ev.ts) return a->ev.ts < b->ev.ts;
    int u = memcmp(a->layout->uuid, b->layout->uuid, sizeof a->layout->uuid);
    if (u != 0) return u < 0;
    if (a->cls->id != b->cls->id) return a->cls->id < b->cls->id;
    return a->val[SLOT_STREAM_INSTANCE] < b->val[SLOT_STREAM_INSTANCE];
}

static void sift_down(struct ctf_reader *r, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < r->n_heap && before(r->heap[l], r->heap[m])) m = l;
        if (l + 1 < r->n_heap && before(r->heap[l + 1], r->heap[m])) m = l + 1;
        if (m == i) return;
        struct stream *t = r->heap[i];
        r->heap[i] = r->heap[m];
        r->heap[m] = t;
        i = m;
    }
}

/* The first stream below the top (NULL when none). */
static const struct stream *runner_up(const struct ctf_reader *r) {
    const struct stream *s = r->n_heap > 1 ? r->heap[1] : NULL;
    if (r->n_heap > 2 && before(r->heap[2], s)) s = r->heap[2];
    return s;
}

static void progress_bar(struct ctf_reader *r, bool done) {
    uint64_t read = 0;
    for (size_t i = 0; i < r->n_streams; i++)
        read += r->streams[i].pos;
    if (done)
        fputs("\r\033[K", stderr);
    else
        fprintf(stderr, "\rmeshward: reading the trace %3d%%",
                (int)(r->total_bytes ? read * 100 / r->total_bytes : 100));
}

static int merge(struct ctf_reader *r, rep_sink sink, void *arg, bool progress) {
    for (size_t i = 0; i < r->n_streams; i++)
        if (r->streams[i].has_event) r->heap[r->n_heap++] = &r->streams[i];
    for (size_t i = r->n_heap; i-- > 0;)
        sift_down(r, i);
    uint64_t n = 0;
    while (r->n_heap > 0) {
        /* The top stream's events go out in a run while none of the others' comes first
         * (their earliest is a child of the top): one compare per event, not a sift. */
        struct stream *st = r->heap[0];
        const struct stream *next = runner_up(r);
        do {
            if (!sink(arg, &st->ev)) goto stopped;
            if (advance(st) != 0) return REP_READ_ERROR;
            if (progress && ++n % (1 << 20) == 0) progress_bar(r, false);
        } while (st->has_event && (!next || before(st, next)));
        if (!st->has_event) r->heap[0] = r->heap[--r->n_heap];
        sift_down(r, 0);
    }
stopped:
    if (progress) progress_bar(r, true);
    return REP_READ_OK;
}

/* ---- opening --------------------------------------------------------------------------- */

static int open_stream(struct ctf_reader *r, const struct ctf_layout *l, const char *dir,
                       const char *name) {
    struct stream *st = &r->streams[r->n_streams];
    *st = (struct stream){.layout = l};
    snprintf(st->path, sizeof st->path, "%s/%s", dir, name);
    int fd = open(st->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        cli_error("cannot read %s: %s", st->path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) { /* the index folder */
        close(fd);
        return 0;
    }
    st->size = (size_t)sb.st_size;
    if (st->size > 0) {
        void *m = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            cli_error("cannot map %s: %s", st->path, strerror(errno));
            close(fd);
            return -1;
        }
        madvise(m, st->size, MADV_SEQUENTIAL);
        st->map = m;
    }
    close(fd);
    r->n_streams++;
    r->total_bytes += st->size;
    return advance(st);
}

/* Checks the number of ops and finds the lists of fixed layout; false: unsupported. */
static bool prepare_ops(struct ctf_ops *o) {
    size_t bytes = 0;
    for (size_t i = 0; i < o->n; i++) {
        const struct ctf_op *op = &o->op[i];
        if (op->align != 1 || (op->type != OP_INT && op->type != OP_ARRAY)) return o->n <= MAX_OPS;
        bytes += op->type == OP_INT ? op->bytes : (size_t)op->count * op->bytes;
    }
    o->fixed_bytes = bytes;
    return o->n <= MAX_OPS;
}

static bool prepare_layout(struct ctf_layout *l) {
    bool ok = prepare_ops(&l->packet_header);
    for (size_t i = 0; i < l->n_streams; i++) {
        struct ctf_stream_class *s = &l->streams[i];
        ok = prepare_ops(&s->packet_context) && prepare_ops(&s->event_context) && ok;
        for (size_t j = 0; j < s->n_events; j++)
            ok = prepare_ops(&s->events[j].fields) && ok;
    }
    return ok;
}

/* The stream files of one trace folder (every regular file but `metadata` and dot files). */
static int open_trace(struct ctf_reader *r, const char *dir) {
    struct ctf_layout *l = &r->layouts[r->n_layouts];
    int rc = ctf_layout_read(dir, l);
    if (rc == CTF_OK && !prepare_layout(l)) {
        ctf_layout_free(l);
        rc = CTF_UNSUPPORTED;
    }
    if (rc != CTF_OK) return rc;
    r->n_layouts++;
    DIR *d = opendir(dir);
    if (!d) return CTF_ERROR;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "metadata") == 0) continue;
        struct stream *grown = realloc(r->streams, (r->n_streams + 1) * sizeof *grown);
        if (!grown) abort();
        r->streams = grown;
        if (open_stream(r, l, dir, e->d_name) != 0) {
            closedir(d);
            return CTF_ERROR;
        }
    }
    closedir(d);
    return CTF_OK;
}

static void close_reader(struct ctf_reader *r) {
    for (size_t i = 0; i < r->n_streams; i++)
        if (r->streams[i].map) munmap((void *)r->streams[i].map, r->streams[i].size);
    for (size_t i = 0; i < r->n_layouts; i++)
        ctf_layout_free(&r->layouts[i]);
    free(r->layouts);
    free(r->streams);
    free(r->heap);
}

int rep_read_ctf(const char *dir, rep_sink sink, void *arg, bool progress) {
    char **dirs = rep_trace_dirs(dir);
    if (!dirs) {
        cli_error("%s: not a trace (no CTF metadata file in it)", dir);
        return REP_READ_ERROR;
    }
    size_t n = 0;
    while (dirs[n])
        n++;
    struct ctf_reader r = {.layouts = calloc(n, sizeof *r.layouts)};
    int rc = CTF_OK;
    for (size_t i = 0; rc == CTF_OK && i < n; i++)
        rc = open_trace(&r, dirs[i]);
    if (rc == CTF_OK) {
        r.heap = calloc(r.n_streams + 1, sizeof *r.heap);
        rc = merge(&r, sink, arg, progress);
    }
    close_reader(&r);
    rep_free_dirs(dirs);
    return rc == CTF_UNSUPPORTED ? REP_READ_UNSUPPORTED
           : rc == CTF_OK        ? REP_READ_OK
                                 : REP_READ_ERROR;
}
