/* test_report_units.c — unit tests of the report's parts that do not need a recorded trace:
 * the hash map against a reference (backward-shift deletion keeps every key reachable), the
 * replay of slab blocks whose process image lost its `thread` events (never placed at a wrong
 * address, placed once a later `thread` event says where), and the specialised CTF reader on a
 * trace written here byte by byte — compact and extended event headers, a 27-bit timestamp that
 * wraps, fields it skips and fields out of the order it delivers them, an event it skips, a
 * discarded-events counter that steps back — checked field by field and against libbabeltrace2
 * reading the same files, then truncated. */
#include "cmocka_all.h"

#include "report/report.h"
#include "report/event.h"
#include "report/map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the map --------------------------------------------------------------------------- */

static void map_matches_a_reference(void **state) {
    (void)state;
    enum { KEYS = 3000, OPS = 200000 };
    static uint64_t keys[KEYS];
    static int64_t ref[KEYS];
    struct rep_map m = {0};
    srand(7);
    for (int i = 0; i < KEYS; i++) { /* 16-byte steps in three regions, like a heap's */
        keys[i] = 0x7f0000001000ull + (uint64_t)i * 16 + ((uint64_t)(i % 3) << 28);
        ref[i] = -1;
    }
    for (int op = 0; op < OPS; op++) {
        int k = rand() % KEYS;
        if (rand() % 3) {
            int64_t old = rep_map_put(&m, keys[k], (uint32_t)op);
            assert_int_equal(old, ref[k]);
            ref[k] = op;
        } else {
            assert_int_equal(rep_map_del(&m, keys[k]), ref[k]);
            ref[k] = -1;
        }
        if (op % 1000 == 0)
            for (int i = 0; i < KEYS; i++)
                assert_int_equal(rep_map_get(&m, keys[i]), ref[i]);
    }
    rep_map_free(&m);
}

/* ---- slab blocks without a known arena ------------------------------------------------- */

enum { ARENA_A = 0x7f0000000000ull, ARENA_B = 0x7e0000000000ull, GRANULE = 0x10 };

/* Event `kind` at ts in pid/tid with fields f0, f1. */
static void replay(struct rep *r, bool (*sink)(void *, const struct rep_event *), uint64_t ts,
                   int kind, int32_t pid, int32_t tid, uint64_t f0, uint64_t f1) {
    struct rep_event ev = {.ts = ts, .kind = kind, .vtid = tid, .vpid = pid, .procname = ""};
    ev.f[0] = f0;
    ev.f[1] = f1;
    if (kind == REP_CORRUPTION) ev.s[0] = ev.s[1] = "double free";
    sink(r, &ev);
}

/* pid 100 (arena A) forks 101, which allocates at A + 8 * GRANULE, then execs: its new image
 * (arena B) loses its main thread's `thread` event, allocates, records a second thread's
 * `thread` event, frees, allocates again and detects a corruption of B + 8 * GRANULE. pid
 * 102 loses every `thread` event. */
static void run_images(struct rep *r, bool (*sink)(void *, const struct rep_event *)) {
    replay(r, sink, 1, REP_STATS, 100, 100, 0, 0);
    replay(r, sink, 2, REP_THREAD, 100, 100, ARENA_A, 0);
    replay(r, sink, 3, REP_ALLOC_SLAB, 100, 100, GRANULE, 32);
    replay(r, sink, 4, REP_ALLOC_SLAB, 101, 101, GRANULE, 32); /* forked: A's */
    replay(r, sink, 5, REP_STATS, 101, 101, 0, 0);             /* exec: a new image */
    replay(r, sink, 6, REP_ALLOC_SLAB, 101, 101, GRANULE, 48);
    replay(r, sink, 7, REP_THREAD, 101, 103, ARENA_B, 0);
    replay(r, sink, 8, REP_FREE_SLAB, 101, 101, GRANULE, 0);
    replay(r, sink, 9, REP_ALLOC_SLAB, 101, 101, GRANULE, 64);
    replay(r, sink, 10, REP_CORRUPTION, 101, 101, ARENA_B + 8 * GRANULE, 0);
    replay(r, sink, 11, REP_STATS, 102, 102, 0, 0);
    replay(r, sink, 12, REP_ALLOC_SLAB, 102, 102, 0x20, 16);
    replay(r, sink, 13, REP_FREE_SLAB, 102, 102, 0x20, 0);
    replay(r, sink, 14, REP_ALLOC_SLAB, 102, 102, 0x30, 16);
}

static void slab_blocks_are_never_misplaced(void **state) {
    (void)state;
    struct rep r;
    struct rep_options o = {.top = 10};
    rep_init(&r, &o);
    run_images(&r, rep_replay_event);
    rep_finish(&r);
    run_images(&r, rep_history_event);
    struct rep_totals t;
    rep_totals(&r, &t);
    /* the free at 8 finds the block of 6, placed by the `thread` event at 7: one leak in
     * each process (the blocks of 3, 9 and 14), no unknown free */
    assert_int_equal(t.unknown_frees, 0);
    assert_int_equal(t.leaked_blocks, 3);
    assert_int_equal(t.unplaced, 3); /* pid 102's: never placed */
    assert_int_equal(r.n_corruptions, 1);
    const struct rep_corruption *c = &r.corruptions[0];
    /* the image before the exec had another arena: its block at 4 is not this one */
    assert_int_equal(c->n_history, 3);
    uint64_t when[] = {6, 8, 9};
    for (size_t i = 0; i < c->n_history; i++) {
        assert_int_equal(c->history[i].ts, when[i]);
        assert_int_equal(c->history[i].ptr, ARENA_B + 8 * GRANULE);
    }
    rep_free(&r);
}

/* ---- a trace written byte by byte ------------------------------------------------------ */

static const char metadata[] =
    "/* CTF 1.8 */\n"
    "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
    "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
    "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
    "typealias integer { size = 64; align = 8; signed = false; } := unsigned long;\n"
    "typealias integer { size = 5; align = 1; signed = false; } := uint5_t;\n"
    "typealias integer { size = 27; align = 1; signed = false; } := uint27_t;\n"
    "trace { major = 1; minor = 8; byte_order = le;\n"
    "  packet.header := struct { uint32_t magic; uint32_t stream_id; }; };\n"
    "clock { name = \"monotonic\"; freq = 1000000000; offset = 1000; };\n"
    "typealias integer { size = 27; align = 1; signed = false; map = clock.monotonic.value; }"
    " := uint27_clock_monotonic_t;\n"
    "typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; }"
    " := uint64_clock_monotonic_t;\n"
    "struct packet_context { uint64_clock_monotonic_t timestamp_begin;\n"
    "  uint64_clock_monotonic_t timestamp_end; uint64_t content_size; uint64_t packet_size;\n"
    "  unsigned long events_discarded; };\n"
    "struct event_header_compact {\n"
    "  enum : uint5_t { compact = 0 ... 30, extended = 31 } id;\n"
    "  variant <id> { struct { uint27_clock_monotonic_t timestamp; } compact;\n"
    "    struct { uint32_t id; uint64_clock_monotonic_t timestamp; } extended; } v;\n"
    "} align(8);\n"
    "stream { id = 0; event.header := struct event_header_compact;\n"
    "  packet.context := struct packet_context;\n"
    "  event.context := struct {\n"
    "    integer { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _vtid;\n"
    "    integer { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _vpid;\n"
    "    integer { size = 64; align = 8; signed = 0; encoding = none; base = 16; } _ip; }; };\n"
    "event { name = \"meshward:heap_alloc\"; id = 1; stream_id = 0; fields := struct {\n"
    "  integer { size = 64; align = 8; signed = 0; base = 16; } _ptr;\n"
    "  integer { size = 64; align = 8; signed = 0; } _size;\n"
    "  integer { size = 16; align = 8; signed = 1; } _cls;\n"
    "  integer { size = 32; align = 8; signed = 0; } _heap;\n"
    "  enum : integer { size = 8; align = 8; signed = 1; } { \"slab\" = 0, \"huge\" = 2 } _kind;\n"
    "  integer { size = 32; align = 8; signed = 0; } _stack; }; };\n"
    "event { name = \"meshward:free\"; id = 2; stream_id = 0; fields := struct {\n"
    "  integer { size = 64; align = 8; signed = 0; base = 16; } _ptr;\n"
    "  integer { size = 32; align = 8; signed = 0; } _stack; }; };\n"
    "event { name = \"other:skipped\"; id = 3; stream_id = 0; fields := struct {\n"
    "  string _note; }; };\n"
    "event { name = \"meshward:stack\"; id = 4; stream_id = 0; fields := struct {\n"
    "  integer { size = 32; align = 8; signed = 0; } _id;\n"
    "  integer { size = 8; align = 8; signed = 0; } __frames_length;\n"
    "  integer { size = 64; align = 8; signed = 0; base = 16; } _frames[ __frames_length ];"
    " }; };\n";

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put(struct buf *b, uint64_t v, size_t bytes) {
    memcpy(b->b + b->n, &v, bytes); /* little endian, as the metadata says */
    b->n += bytes;
}

static void context(struct buf *b) {
    put(b, 42, 4);       /* vtid */
    put(b, 41, 4);       /* vpid */
    put(b, 0x4005d0, 8); /* ip */
}

#define WRAP_BASE ((3ull << 27) | 0x7fffff0) /* 16 cycles before the 27-bit field wraps */

/* One packet of five events; its discarded counter is `discarded`, its end `end`. */
static void packet(struct buf *b, uint64_t discarded, uint64_t first_ts) {
    size_t start = b->n;
    put(b, 0xC1FC1FC1, 4);
    put(b, 0, 4);
    put(b, first_ts, 8); /* timestamp_begin */
    put(b, first_ts + (2ull << 27), 8);
    size_t sizes = b->n;
    put(b, 0, 8); /* content_size, packet_size: below */
    put(b, 0, 8);
    put(b, discarded, 8);
    /* alloc, compact header, 8 cycles later */
    put(b, 1 | (((first_ts + 8) & 0x7ffffff) << 5), 4);
    context(b);
    put(b, 0x5000, 8), put(b, 100, 8), put(b, (uint16_t)-1, 2), put(b, 7, 4), put(b, 2, 1);
    put(b, 9, 4);
    /* a skipped event whose 27-bit timestamp wrapped: 1<<27 cycles + 5 after the base */
    put(b, 3 | ((uint64_t)5 << 5), 4);
    context(b);
    memcpy(b->b + b->n, "skip me", 8);
    b->n += 8;
    /* free, compact header, after the wrap */
    put(b, 2 | ((uint64_t)9 << 5), 4);
    context(b);
    put(b, 0x5000, 8), put(b, 9, 4);
    /* free, extended header: full 64-bit timestamp */
    put(b, 31, 1);
    put(b, 2, 4);
    put(b, first_ts - WRAP_BASE + (5ull << 27) + 7, 8);
    context(b);
    put(b, 0x6000, 8), put(b, 0, 4);
    /* stack 9: three frames, in the same cycle as the free before it */
    put(b, 4 | ((uint64_t)7 << 5), 4);
    context(b);
    put(b, 9, 4), put(b, 3, 1), put(b, 0x401000, 8), put(b, 0x402000, 8), put(b, 0x403000, 8);
    uint64_t bits = (b->n - start) * 8;
    memcpy(b->b + sizes, &bits, 8);
    memcpy(b->b + sizes + 8, &bits, 8);
}

static char dir[] = "/tmp/meshward-ctf-unit-XXXXXX";

static void write_file(const char *name, const void *data, size_t n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

struct seen {
    struct rep_event ev[16];
    int n;
    uint64_t frames[3]; /* of the first stack event */
};

static bool record(void *arg, const struct rep_event *ev) {
    struct seen *s = arg;
    assert_true(s->n < 16);
    s->ev[s->n] = *ev;
    s->ev[s->n].procname = NULL; /* only valid during the call, as the frames */
    for (uint32_t i = 0; ev->kind == REP_STACK && i < ev->n_frames && i < 3 && !s->frames[2]; i++)
        s->frames[i] = rep_frame(ev, i);
    s->ev[s->n].frames = NULL;
    s->n++;
    return true;
}

static void check_events(const struct seen *s) {
    /* packet 1: alloc, free, free, stack; packet 2 (counter 5): a gap, alloc, free, free,
     * stack; packet 3 (counter 3: stepped back, not a loss): alloc, free, free, stack */
    assert_int_equal(s->n, 13);
    const struct rep_event *a = &s->ev[0], *f = &s->ev[1], *x = &s->ev[2];
    assert_int_equal(a->kind, REP_HEAP_ALLOC);
    assert_int_equal(a->ts, 1000 + WRAP_BASE + 8);
    assert_int_equal(a->vtid, 42);
    assert_int_equal(a->vpid, 41);
    assert_int_equal(a->ip, 0x4005d0);
    assert_int_equal(a->f[0], 0x5000);
    assert_int_equal(a->f[1], 100);
    assert_int_equal(a->f[2], 9); /* stack, after fields (cls, kind) the report does not read */
    assert_int_equal(a->f[3], 7); /* heap, delivered after the stack */
    assert_int_equal(f->kind, REP_FREE);
    assert_int_equal(f->ts, 1000 + (4ull << 27) + 9); /* after the wrap */
    assert_int_equal(f->f[1], 9);
    assert_int_equal(x->kind, REP_FREE);
    assert_int_equal(x->ts, 1000 + (5ull << 27) + 7);
    assert_int_equal(x->f[0], 0x6000);
    const struct rep_event *st = &s->ev[3];
    assert_int_equal(st->kind, REP_STACK);
    assert_int_equal(st->f[0], 9);
    assert_int_equal(st->n_frames, 3);
    assert_int_equal(s->frames[0], 0x401000);
    assert_int_equal(s->frames[2], 0x403000);
    assert_int_equal(s->ev[4].kind, REP_DISCARDED);
    assert_int_equal(s->ev[4].f[0], 5);
    for (int i = 5; i < 13; i++)
        assert_int_not_equal(s->ev[i].kind, REP_DISCARDED);
}

static void ctf_reader_decodes_a_written_trace(void **state) {
    (void)state;
    assert_non_null(mkdtemp(dir));
    write_file("metadata", metadata, strlen(metadata));
    static struct buf b;
    packet(&b, 0, WRAP_BASE);
    packet(&b, 5, WRAP_BASE + (4ull << 27));
    packet(&b, 3, WRAP_BASE + (8ull << 27));
    write_file("stream_0", b.b, b.n);
    /* packets 2 and 3 repeat packet 1's events relative to their own start */
    struct seen ctf = {0}, bt2 = {0};
    assert_int_equal(rep_read_ctf(dir, record, &ctf, false), REP_READ_OK);
    for (int i = 5; i < 13; i++)
        ctf.ev[i].ts = 0; /* their absolute times are not the point */
    check_events(&ctf);
    /* libbabeltrace2 reads the same bytes the same way */
    assert_int_equal(rep_read_bt2(dir, record, &bt2, false), REP_READ_OK);
    assert_int_equal(bt2.n, 13);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(bt2.ev[i].kind, ctf.ev[i].kind);
        assert_int_equal(bt2.ev[i].f[0], ctf.ev[i].f[0]);
        assert_int_equal(bt2.ev[i].n_frames, ctf.ev[i].n_frames);
        if (bt2.ev[i].kind != REP_DISCARDED) assert_int_equal(bt2.ev[i].ts, ctf.ev[i].ts);
    }
    assert_memory_equal(bt2.frames, ctf.frames, sizeof ctf.frames);
    /* cut in the middle of the last event: an error, not a crash */
    write_file("stream_0", b.b, b.n - 3);
    struct seen cut = {0};
    assert_int_equal(rep_read_ctf(dir, record, &cut, false), REP_READ_ERROR);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_matches_a_reference),
        cmocka_unit_test(slab_blocks_are_never_misplaced),
        cmocka_unit_test(ctf_reader_decodes_a_written_trace),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (strcmp(dir + strlen(dir) - 6, "XXXXXX") != 0 && system(cmd) != 0) return 1;
    return failed;
}
