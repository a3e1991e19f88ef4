/* report/ctf.h — the layout of an LTTng-UST CTF 1.8 trace, as report/ctf_meta.c reads it
 * from the `metadata` file, in the form report/ctf.c decodes streams with.
 *
 * Every structure (packet header, packet context, event context, event fields) is compiled
 * into a flat list of ops, each reading one byte-aligned field, optionally stored into a
 * slot. Only what LTTng-UST writes is supported: little-endian, byte-multiple integers,
 * strings, fixed arrays and sequences of integers, and the two event headers it uses
 * (compact and large); anything else makes the reader say "unsupported", and the caller
 * reads the trace with libbabeltrace2 instead. */
#ifndef MW_REPORT_CTF_H
#define MW_REPORT_CTF_H

#include <stddef.h>
#include <stdint.h>

enum ctf_op_type { OP_INT, OP_STRING, OP_ARRAY, OP_SEQ };

/* Where a decoded value goes. */
enum ctf_slot {
    SLOT_NONE = 0,
    SLOT_F0 = 1, /* f[0] .. f[REP_MAX_FIELDS-1] */
    SLOT_S0 = SLOT_F0 + 8,
    SLOT_VTID = SLOT_S0 + 2,
    SLOT_VPID,
    SLOT_IP,
    SLOT_PROCNAME,
    SLOT_MAGIC,
    SLOT_STREAM_ID,
    SLOT_STREAM_INSTANCE,
    SLOT_TS_BEGIN,
    SLOT_TS_END,
    SLOT_CONTENT_SIZE,
    SLOT_PACKET_SIZE,
    SLOT_DISCARDED,
    SLOT_FRAMES, /* the sequence of an event's "@" field */
    SLOT_COUNT,
};

struct ctf_op {
    uint8_t type;
    uint8_t bytes; /* integer size, or element size of an array/sequence */
    uint8_t align; /* bytes */
    uint8_t is_signed;
    uint8_t slot;
    uint8_t text;   /* array of chars: delivered as a string */
    uint32_t count; /* OP_ARRAY: elements; OP_SEQ: index of the op holding the length */
};

struct ctf_ops {
    struct ctf_op *op;
    size_t n;
    size_t fixed_bytes; /* > 0: byte-aligned integers and arrays only, this many bytes */
};

enum ctf_header { HEADER_COMPACT, HEADER_LARGE };

struct ctf_event_class {
    int kind; /* rep_kind, or -1: decoded to be skipped */
    struct ctf_ops fields;
};

struct ctf_stream_class {
    uint64_t id;
    int header;
    struct ctf_ops packet_context, event_context;
    struct ctf_event_class *events; /* indexed by event id */
    size_t n_events;
};

struct ctf_layout {
    struct ctf_ops packet_header;
    struct ctf_stream_class *streams;
    size_t n_streams;
    uint64_t clock_freq;
    int64_t clock_offset_ns; /* of cycle 0 from the Epoch */
    int32_t env_vpid;        /* the trace's process (per-process buffers: env.vpid), else 0 */
    uint8_t uuid[16];        /* the trace's, for the order of events of one timestamp */
};

enum { CTF_OK = 0, CTF_ERROR = -1, CTF_UNSUPPORTED = -2 };

/* Reads dir/metadata into *l. ERROR after printing why, UNSUPPORTED silently. */
int ctf_layout_read(const char *dir, struct ctf_layout *l);
void ctf_layout_free(struct ctf_layout *l);

#endif
