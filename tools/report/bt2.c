/* report/bt2.c — the reference trace reader: libbabeltrace2's graph src.ctf.fs -> flt.utils.muxer
 * -> a simple sink, turning each message into a rep_event (report/event.h).
 *
 * It reads any CTF trace babeltrace2 reads, so it is the reference the specialised reader
 * (report/ctf.c) is tested against, and the fallback for layouts that reader does not know.
 * Each event class is looked at once: its kind and the indexes of the members named in
 * rep_kinds are cached, so an event costs member lookups by index only. */
#include "cli.h"
#include "event.h"

#include <babeltrace2/babeltrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CTX_VTID, CTX_VPID, CTX_IP, CTX_PROCNAME, CTX_N };
static const char *const ctx_names[CTX_N] = {"vtid", "vpid", "ip", "procname"};

struct class_info {
    const bt_event_class *cls;
    int kind;                           /* -1: an event the report skips */
    int64_t member[REP_MAX_FIELDS + 1]; /* payload member index per rep_kinds field, -1 */
    int64_t ctx[CTX_N];
    int32_t env_vpid; /* its trace's process (per-process buffers: env.vpid), else 0 */
    bool env_read;
};

struct stream_counter {
    const bt_stream *stream;
    uint64_t counter, max;
};

struct bt2_reader {
    rep_sink sink;
    void *arg;
    bool stopped;
    struct stream_counter *counters;
    size_t n_counters;
    struct class_info *classes;
    size_t n_classes;
};

static int64_t member_index(const bt_field_class *st, const char *name) {
    if (!st) return -1;
    uint64_t n = bt_field_class_structure_get_member_count(st);
    for (uint64_t i = 0; i < n; i++) {
        const bt_field_class_structure_member *m =
            bt_field_class_structure_borrow_member_by_index_const(st, i);
        if (strcmp(bt_field_class_structure_member_get_name(m), name) == 0) return (int64_t)i;
    }
    return -1;
}

static struct class_info *class_info(struct bt2_reader *r, const bt_event_class *cls) {
    for (size_t i = 0; i < r->n_classes; i++)
        if (r->classes[i].cls == cls) return &r->classes[i];
    struct class_info *grown = realloc(r->classes, (r->n_classes + 1) * sizeof *grown);
    if (!grown) abort();
    r->classes = grown;
    struct class_info *c = &r->classes[r->n_classes++];
    const char *name = bt_event_class_get_name(cls);
    *c = (struct class_info){.cls = cls};
    c->kind = name ? rep_kind_by_name(name) : -1;
    const bt_field_class *payload = bt_event_class_borrow_payload_field_class_const(cls);
    for (int i = 0; i <= REP_MAX_FIELDS; i++) {
        const char *f = c->kind >= 0 ? rep_kinds[c->kind].fields[i] : NULL;
        c->member[i] = f ? member_index(payload, f[0] == '$' || f[0] == '@' ? f + 1 : f) : -1;
    }
    const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(cls);
    const bt_field_class *common =
        bt_stream_class_borrow_event_common_context_field_class_const(sc);
    for (int i = 0; i < CTX_N; i++)
        c->ctx[i] = member_index(common, ctx_names[i]);
    return c;
}

static uint64_t int_value(const bt_field *f) {
    bt_field_class_type t = bt_field_get_class_type(f);
    if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
        return (uint64_t)bt_field_integer_signed_get_value(f);
    if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
        return bt_field_integer_unsigned_get_value(f);
    return 0;
}

static const bt_field *member(const bt_field *st, int64_t index) {
    return index < 0 || !st
               ? NULL
               : bt_field_structure_borrow_member_field_by_index_const(st, (uint64_t)index);
}

/* A sequence of integers into out (at most REP_MAX_FRAMES); its length. */
static uint32_t read_frames(const bt_field *seq, uint64_t *out) {
    uint64_t n = bt_field_array_get_length(seq);
    if (n > REP_MAX_FRAMES) return 0;
    for (uint64_t i = 0; i < n; i++)
        out[i] = int_value(bt_field_array_borrow_element_field_by_index_const(seq, i));
    return (uint32_t)n;
}

/* The process of e's trace when the trace is one process's (per-process buffers), else 0;
 * looked up once per event class (a class belongs to one trace). */
static int32_t env_vpid(struct class_info *c, const bt_event *e) {
    if (!c->env_read) {
        const bt_trace *t = bt_stream_borrow_trace_const(bt_event_borrow_stream_const(e));
        const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(t, "vpid");
        c->env_vpid =
            v && bt_value_is_signed_integer(v) ? (int32_t)bt_value_integer_signed_get(v) : 0;
        c->env_read = true;
    }
    return c->env_vpid;
}

static void deliver_event(struct bt2_reader *r, const bt_message *msg) {
    const bt_event *e = bt_message_event_borrow_event_const(msg);
    struct class_info *c = class_info(r, bt_event_borrow_class_const(e));
    if (c->kind < 0) return;
    struct rep_event ev = {.kind = c->kind, .procname = ""};
    int64_t ns = 0;
    bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(msg),
                                         &ns);
    ev.ts = (uint64_t)ns;
    const bt_field *common = bt_event_borrow_common_context_field_const(e);
    const bt_field *f;
    if ((f = member(common, c->ctx[CTX_VTID]))) ev.vtid = (int32_t)int_value(f);
    if ((f = member(common, c->ctx[CTX_VPID]))) ev.vpid = (int32_t)int_value(f);
    if (!ev.vpid) ev.vpid = env_vpid(c, e);
    if ((f = member(common, c->ctx[CTX_IP]))) ev.ip = int_value(f);
    if ((f = member(common, c->ctx[CTX_PROCNAME]))) ev.procname = bt_field_string_get_value(f);
    const bt_field *payload = bt_event_borrow_payload_field_const(e);
    int nf = 0, ns_ = 0;
    uint64_t frames[REP_MAX_FRAMES];
    for (int i = 0; rep_kinds[c->kind].fields[i]; i++) {
        char type = rep_kinds[c->kind].fields[i][0];
        f = member(payload, c->member[i]);
        if (type == '@')
            ev.n_frames = f ? read_frames(f, frames) : 0;
        else if (type == '$')
            ev.s[ns_++] = f ? bt_field_string_get_value(f) : "";
        else
            ev.f[nf++] = f ? int_value(f) : 0;
    }
    ev.frames = frames;
    if (!r->sink(r->arg, &ev)) r->stopped = true;
}

/* babeltrace2 gives the difference of a stream's discarded-events counters between two
 * packets (modulo 2^64): summed, they are the counter itself, and only its growth past the
 * largest value seen is a loss (report/ctf.c says why the counter can step back). */
static uint64_t lost_events(struct bt2_reader *r, const bt_stream *s, uint64_t count) {
    size_t i = 0;
    while (i < r->n_counters && r->counters[i].stream != s)
        i++;
    if (i == r->n_counters) {
        struct stream_counter *grown = realloc(r->counters, (i + 1) * sizeof *grown);
        if (!grown) abort();
        r->counters = grown;
        r->counters[r->n_counters++] = (struct stream_counter){s, 0, 0};
    }
    struct stream_counter *c = &r->counters[i];
    c->counter += count;
    uint64_t lost = c->counter > c->max ? c->counter - c->max : 0;
    c->max = c->counter > c->max ? c->counter : c->max;
    return lost;
}

static void deliver_discarded(struct bt2_reader *r, const bt_message *msg) {
    uint64_t count = 0;
    if (bt_message_discarded_events_get_count(msg, &count) != BT_PROPERTY_AVAILABILITY_AVAILABLE)
        count = 0;
    const bt_stream *s = bt_message_discarded_events_borrow_stream_const(msg);
    struct rep_event ev = {.kind = REP_DISCARDED, .procname = "", .f = {lost_events(r, s, count)}};
    if (ev.f[0] == 0) return;
    if (bt_stream_class_discarded_events_have_default_clock_snapshots(
            bt_stream_borrow_class_const(s))) {
        int64_t ns = 0;
        bt_clock_snapshot_get_ns_from_origin(
            bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(msg), &ns);
        ev.ts = (uint64_t)ns;
    }
    if (!r->sink(r->arg, &ev)) r->stopped = true;
}

static bt_graph_simple_sink_component_consume_func_status consume(bt_message_iterator *it,
                                                                  void *data) {
    struct bt2_reader *r = data;
    bt_message_array_const msgs;
    uint64_t count;
    switch (bt_message_iterator_next(it, &msgs, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
        break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
    default:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
    }
    for (uint64_t i = 0; i < count; i++) {
        bt_message_type t = bt_message_get_type(msgs[i]);
        if (!r->stopped && t == BT_MESSAGE_TYPE_EVENT) deliver_event(r, msgs[i]);
        if (!r->stopped && t == BT_MESSAGE_TYPE_DISCARDED_EVENTS) deliver_discarded(r, msgs[i]);
        bt_message_put_ref(msgs[i]);
    }
    return r->stopped ? BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END
                      : BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* The plugin's component classes; the caller puts the references. */
static const bt_plugin *find_plugin(const char *name) {
    const bt_plugin *p = NULL;
    if (bt_plugin_find(name, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE, BT_FALSE, &p) !=
        BT_PLUGIN_FIND_STATUS_OK)
        return NULL;
    return p;
}

/* One src.ctf.fs on dir (a component reads traces of one UUID only: each process of a trace
 * of per-process buffers is a trace of its own), each of its output ports to the muxer's
 * next input port (*ports of them connected so far). */
static int add_source(bt_graph *g, const bt_component_class_source *cls, const char *dir, size_t i,
                      const bt_component_filter *mux, uint64_t *ports) {
    bt_value *params = bt_value_map_create();
    bt_value *inputs = NULL;
    const bt_component_source *src;
    char name[32];
    snprintf(name, sizeof name, "src%zu", i);
    int rc = -1;
    if (!params || bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) != 0 ||
        bt_value_array_append_string_element(inputs, dir) != 0 ||
        bt_graph_add_source_component(g, cls, name, params, BT_LOGGING_LEVEL_NONE, &src) != 0)
        goto out;
    uint64_t n = bt_component_source_get_output_port_count(src);
    for (uint64_t k = 0; k < n; k++, ++*ports)
        if (bt_graph_connect_ports(
                g, bt_component_source_borrow_output_port_by_index_const(src, k),
                bt_component_filter_borrow_input_port_by_index_const(mux, *ports), NULL) != 0)
            goto out;
    rc = 0;
out:
    bt_value_put_ref(params);
    return rc;
}

/* A src.ctf.fs per trace folder, every output port to the muxer, the muxer to our sink. */
static int build_graph(bt_graph *g, char **dirs, struct bt2_reader *r) {
    const bt_plugin *ctf = find_plugin("ctf"), *utils = find_plugin("utils");
    const bt_component_class_source *src_cls =
        ctf ? bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs") : NULL;
    const bt_component_class_filter *mux_cls =
        utils ? bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer") : NULL;
    const bt_component_filter *mux;
    const bt_component_sink *sink;
    int rc = -1;
    if (!src_cls || !mux_cls ||
        bt_graph_add_filter_component(g, mux_cls, "mux", NULL, BT_LOGGING_LEVEL_NONE, &mux) != 0 ||
        bt_graph_add_simple_sink_component(g, "sink", NULL, consume, NULL, r, &sink) != 0)
        goto out;
    uint64_t ports = 0;
    for (size_t i = 0; dirs[i]; i++)
        if (add_source(g, src_cls, dirs[i], i, mux, &ports) != 0) goto out;
    rc = bt_graph_connect_ports(g, bt_component_filter_borrow_output_port_by_index_const(mux, 0),
                                bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL);
out:
    bt_plugin_put_ref(ctf);
    bt_plugin_put_ref(utils);
    return rc;
}

int rep_read_bt2(const char *dir, rep_sink sink, void *arg, bool progress) {
    (void)progress;
    struct bt2_reader r = {.sink = sink, .arg = arg};
    char **dirs = rep_trace_dirs(dir);
    if (!dirs) {
        cli_error("%s: not a trace (no CTF metadata file in it)", dir);
        return REP_READ_ERROR;
    }
    bt_graph *g = bt_graph_create(0);
    int rc = REP_READ_ERROR;
    if (!g || build_graph(g, dirs, &r) != 0) {
        cli_error("%s: babeltrace2 cannot read this trace", dir);
    } else {
        bt_graph_run_status st;
        while ((st = bt_graph_run(g)) == BT_GRAPH_RUN_STATUS_AGAIN)
            ;
        if (st == BT_GRAPH_RUN_STATUS_OK || r.stopped)
            rc = REP_READ_OK;
        else
            cli_error("%s: babeltrace2 failed while reading the trace", dir);
    }
    bt_current_thread_clear_error();
    bt_graph_put_ref(g);
    free(r.classes);
    free(r.counters);
    rep_free_dirs(dirs);
    return rc;
}
