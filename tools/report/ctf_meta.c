/* report/ctf_meta.c — reads a CTF 1.8 `metadata` file (plain text, or packetized as
 * LTTng's consumer writes it) into the ops report/ctf.c decodes streams with
 * (report/ctf.h).
 *
 * A small recursive-descent parser for the subset of the TSDL grammar LTTng-UST emits:
 * typealias, trace, env, clock, stream, event and named struct declarations; integer,
 * string, enum, struct and variant types (a variant only inside the two event headers,
 * which are recognised by name). Everything parsed lives in one arena freed at the end;
 * the layout keeps only the compiled ops. */
#include "cli.h"
#include "ctf.h"
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------------------ */

struct chunk {
    struct chunk *next;
    max_align_t data[];
};

struct parser {
    struct chunk *arena;
    char **tok; /* NULL-terminated token texts */
    size_t n_tok, pos;
    bool unsupported;
    struct alias *aliases;
    struct ctf_layout *layout;
    struct ty *packet_header;
};

static void *arena_alloc(struct parser *p, size_t size) {
    struct chunk *c = calloc(1, sizeof *c + size);
    if (!c) abort();
    c->next = p->arena;
    p->arena = c;
    return c->data;
}

static char *arena_strndup(struct parser *p, const char *s, size_t n) {
    char *d = arena_alloc(p, n + 1);
    memcpy(d, s, n);
    return d;
}

/* ---- text: de-packetizing and tokens --------------------------------------------------- */

#define METADATA_MAGIC 0x75D11D57u
enum { META_HEADER_BYTES = 37 };

/* The metadata text (packets' contents concatenated), NUL-terminated; NULL on error. */
static char *metadata_text(const char *raw, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    size_t n = 0;
    uint32_t magic;
    if (size >= 4 && (memcpy(&magic, raw, 4), magic == METADATA_MAGIC)) {
        for (size_t at = 0; at + META_HEADER_BYTES <= size;) {
            uint32_t content_bits, packet_bits;
            memcpy(&content_bits, raw + at + 24, 4);
            memcpy(&packet_bits, raw + at + 28, 4);
            size_t content = content_bits / 8, packet = packet_bits / 8;
            if (content < META_HEADER_BYTES || content > packet || at + packet > size) {
                free(text);
                return NULL;
            }
            memcpy(text + n, raw + at + META_HEADER_BYTES, content - META_HEADER_BYTES);
            n += content - META_HEADER_BYTES;
            at += packet;
        }
    } else {
        memcpy(text, raw, size);
        n = size;
    }
    text[n] = '\0';
    return text;
}

static void add_token(struct parser *p, const char *s, size_t n) {
    if (p->n_tok % 1024 == 0) {
        p->tok = realloc(p->tok, (p->n_tok + 1025) * sizeof *p->tok);
        if (!p->tok) abort();
    }
    p->tok[p->n_tok++] = arena_strndup(p, s, n);
    p->tok[p->n_tok] = NULL;
}

static void tokenize(struct parser *p, const char *s) {
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else if (s[0] == '/' && s[1] == '/') {
            s += strcspn(s, "\n");
        } else if (*s == '"') {
            const char *e = s + 1;
            while (*e && *e != '"')
                e += e[0] == '\\' && e[1] ? 2 : 1;
            add_token(p, s, (size_t)(e - s)); /* the opening quote marks a string */
            s = *e ? e + 1 : e;
        } else if (isalnum((unsigned char)*s) || *s == '_' || (*s == '-' && isdigit(s[1]))) {
            const char *e = s + 1;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            add_token(p, s, (size_t)(e - s));
            s = e;
        } else {
            size_t n = s[0] == ':' && s[1] == '=' ? 2 : s[0] == '.' && s[1] == '.' ? 3 : 1;
            add_token(p, s, n);
            s += n;
        }
    }
}

/* ---- reading tokens -------------------------------------------------------------------- */

static const char *peek(struct parser *p) {
    return p->pos < p->n_tok ? p->tok[p->pos] : "";
}
static const char *next(struct parser *p) {
    return p->pos < p->n_tok ? p->tok[p->pos++] : "";
}
static bool accept(struct parser *p, const char *t) {
    if (strcmp(peek(p), t) != 0) return false;
    p->pos++;
    return true;
}
static bool is_ident(const char *t) {
    return isalpha((unsigned char)t[0]) || t[0] == '_';
}

/* Skips a balanced {...} (or <...>) starting at the current token. */
static void skip_group(struct parser *p, const char *open, const char *close) {
    if (!accept(p, open)) return;
    for (int depth = 1; depth > 0 && p->pos < p->n_tok;) {
        const char *t = next(p);
        depth += strcmp(t, open) == 0 ? 1 : strcmp(t, close) == 0 ? -1 : 0;
    }
}

static void skip_to_semicolon(struct parser *p) {
    while (p->pos < p->n_tok && !accept(p, ";"))
        if (strcmp(peek(p), "{") == 0)
            skip_group(p, "{", "}");
        else
            p->pos++;
}

static long long number(const char *t) {
    return strtoll(t, NULL, 0);
}

/* ---- types ----------------------------------------------------------------------------- */

enum ty_kind { T_INT, T_STRING, T_STRUCT, T_OTHER };

struct field {
    const char *name;
    struct ty *type;
    long array;      /* fixed length, or -1 */
    const char *seq; /* length field of a sequence, or NULL */
};

struct ty {
    int kind;
    int bits, align_bits;
    bool is_signed, text, big_endian;
    const char *name; /* struct name */
    struct field *fields;
    size_t n_fields;
    struct ty *next_named;
};

struct alias {
    const char *name;
    struct ty *type;
    struct alias *next;
};

static struct ty *parse_type(struct parser *p);

static struct ty *find_alias(struct parser *p, const char *name, bool structs) {
    for (struct alias *a = p->aliases; a; a = a->next)
        if (strcmp(a->name, name) == 0 && (a->type->kind == T_STRUCT) == structs) return a->type;
    return NULL;
}

static void add_alias(struct parser *p, const char *name, struct ty *t) {
    struct alias *a = arena_alloc(p, sizeof *a);
    *a = (struct alias){name, t, p->aliases};
    p->aliases = a;
}

static struct ty *parse_integer(struct parser *p) {
    struct ty *t = arena_alloc(p, sizeof *t);
    t->kind = T_INT;
    if (!accept(p, "{")) return t;
    while (p->pos < p->n_tok && !accept(p, "}")) {
        const char *key = next(p);
        if (!accept(p, "=")) continue;
        const char *v = next(p);
        if (strcmp(key, "size") == 0) t->bits = (int)number(v);
        if (strcmp(key, "align") == 0) t->align_bits = (int)number(v);
        if (strcmp(key, "signed") == 0) t->is_signed = strcmp(v, "true") == 0 || number(v) == 1;
        if (strcmp(key, "encoding") == 0) t->text = strcmp(v, "none") != 0;
        if (strcmp(key, "byte_order") == 0)
            t->big_endian = strcmp(v, "be") == 0 || strcmp(v, "network") == 0;
        while (p->pos < p->n_tok && !accept(p, ";") && strcmp(peek(p), "}") != 0)
            p->pos++;
    }
    if (t->align_bits == 0) t->align_bits = t->bits % 8 ? 1 : 8;
    return t;
}

static struct field *add_field(struct parser *p, struct ty *st) {
    struct field *f = arena_alloc(p, (st->n_fields + 1) * sizeof *f);
    memcpy(f, st->fields, st->n_fields * sizeof *f);
    st->fields = f;
    f += st->n_fields++;
    f->array = -1;
    return f;
}

static bool starts_type(const char *t) {
    return strcmp(t, "integer") == 0 || strcmp(t, "string") == 0 || strcmp(t, "enum") == 0 ||
           strcmp(t, "struct") == 0 || strcmp(t, "variant") == 0 ||
           strcmp(t, "floating_point") == 0;
}

/* `type name;`, `type name[N];`, `type name[len];`: one member of st. */
static void parse_member(struct parser *p, struct ty *st) {
    struct field *f = add_field(p, st);
    if (starts_type(peek(p))) {
        f->type = parse_type(p);
        f->name = next(p);
    } else { /* alias words, then the member's name */
        char name[256] = "";
        const char *words[16];
        int n = 0;
        while (n < 16 && is_ident(peek(p)))
            words[n++] = next(p);
        for (int i = 0; i + 1 < n; i++)
            snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", i ? " " : "",
                     words[i]);
        f->type = n > 1 ? find_alias(p, name, false) : NULL;
        f->name = n ? words[n - 1] : "";
        if (!f->type) p->unsupported = true;
    }
    if (accept(p, "[")) {
        const char *len = next(p);
        if (is_ident(len))
            f->seq = len;
        else
            f->array = (long)number(len);
        accept(p, "]");
    }
    skip_to_semicolon(p);
}

static struct ty *parse_struct(struct parser *p) {
    const char *name = is_ident(peek(p)) && strcmp(peek(p), "align") != 0 ? next(p) : NULL;
    struct ty *t;
    if (strcmp(peek(p), "{") != 0) {
        t = name ? find_alias(p, name, true) : NULL;
        if (!t) p->unsupported = true;
        return t;
    }
    t = arena_alloc(p, sizeof *t);
    t->kind = T_STRUCT;
    t->name = name;
    accept(p, "{");
    while (p->pos < p->n_tok && !accept(p, "}"))
        parse_member(p, t);
    if (accept(p, "align")) {
        accept(p, "(");
        t->align_bits = (int)number(next(p));
        accept(p, ")");
    }
    if (name) add_alias(p, name, t);
    return t;
}

static struct ty *parse_type(struct parser *p) {
    const char *k = next(p);
    if (strcmp(k, "integer") == 0) return parse_integer(p);
    if (strcmp(k, "struct") == 0) return parse_struct(p);
    struct ty *t = arena_alloc(p, sizeof *t);
    if (strcmp(k, "string") == 0) {
        t->kind = T_STRING;
        skip_group(p, "{", "}");
    } else if (strcmp(k, "enum") == 0) {
        if (is_ident(peek(p))) next(p);
        accept(p, ":");
        struct ty *container;
        if (strcmp(peek(p), "integer") == 0) {
            container = parse_type(p);
        } else {
            char name[256] = "";
            while (is_ident(peek(p)))
                snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s",
                         name[0] ? " " : "", next(p));
            container = find_alias(p, name, false);
        }
        if (!container) p->unsupported = true;
        skip_group(p, "{", "}");
        return container ? container : t;
    } else { /* variant, floating_point: only where the reader does not decode them */
        t->kind = T_OTHER;
        if (is_ident(peek(p))) next(p);
        skip_group(p, "<", ">");
        skip_group(p, "{", "}");
    }
    return t;
}

/* ---- compiling a struct into ops ------------------------------------------------------- */

typedef int (*slot_fn)(const char *name, const void *ctx);

static const char *bare(const char *name) {
    return name[0] == '_' ? name + 1 : name;
}

static void push_op(struct ctf_ops *o, struct ctf_op op) {
    struct ctf_op *grown = realloc(o->op, (o->n + 1) * sizeof *grown);
    if (!grown) abort();
    o->op = grown;
    o->op[o->n++] = op;
}

static void compile(struct parser *p, struct ctf_ops *o, const struct ty *st, slot_fn slot,
                    const void *ctx) {
    if (!st || st->kind != T_STRUCT) {
        p->unsupported = true;
        return;
    }
    size_t first = o->n;
    for (size_t i = 0; i < st->n_fields; i++) {
        const struct field *f = &st->fields[i];
        const struct ty *t = f->type;
        if (!t || t->kind == T_OTHER ||
            (t->kind == T_INT && (t->bits % 8 || t->bits > 64 || t->bits == 0 || t->big_endian))) {
            p->unsupported = true;
            return;
        }
        if (t->kind == T_STRUCT) {
            compile(p, o, t, slot, ctx);
            continue;
        }
        struct ctf_op op = {.type = t->kind == T_STRING ? OP_STRING : OP_INT,
                            .bytes = (uint8_t)(t->bits / 8),
                            .align = (uint8_t)(t->kind == T_STRING ? 1 : t->align_bits / 8),
                            .is_signed = t->is_signed,
                            .slot = (uint8_t)slot(bare(f->name), ctx)};
        if (op.align == 0) op.align = 1;
        if (f->array >= 0 || f->seq) {
            if (t->kind == T_STRING) {
                p->unsupported = true;
                return;
            }
            op.text = t->text && t->bits == 8;
            op.type = f->seq ? OP_SEQ : OP_ARRAY;
            op.count = (uint32_t)f->array;
            for (size_t j = first; f->seq && j < o->n; j++)
                if (strcmp(bare(st->fields[j - first].name), bare(f->seq)) == 0)
                    op.count = (uint32_t)j;
        }
        push_op(o, op);
    }
}

/* The 16 bytes of a uuid written "xxxxxxxx-xxxx-...", quoted or not (others are skipped). */
static void read_uuid(const char *text, uint8_t out[16]) {
    unsigned n = 0;
    for (const char *c = text; *c && n < 32; c++) {
        int v = isdigit((unsigned char)*c)    ? *c - '0'
                : isxdigit((unsigned char)*c) ? tolower((unsigned char)*c) - 'a' + 10
                                              : -1;
        if (v < 0) continue;
        out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
        n++;
    }
}

static int packet_slot(const char *name, const void *ctx) {
    (void)ctx;
    static const struct {
        const char *name;
        int slot;
    } map[] = {{"magic", SLOT_MAGIC},
               {"stream_id", SLOT_STREAM_ID},
               {"stream_instance_id", SLOT_STREAM_INSTANCE},
               {"timestamp_begin", SLOT_TS_BEGIN},
               {"timestamp_end", SLOT_TS_END},
               {"content_size", SLOT_CONTENT_SIZE},
               {"packet_size", SLOT_PACKET_SIZE},
               {"events_discarded", SLOT_DISCARDED},
               {"vtid", SLOT_VTID},
               {"vpid", SLOT_VPID},
               {"ip", SLOT_IP},
               {"procname", SLOT_PROCNAME}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, name) == 0) return map[i].slot;
    return SLOT_NONE;
}

static int payload_slot(const char *name, const void *ctx) {
    const int *kind = ctx;
    if (*kind < 0) return SLOT_NONE;
    int nf = 0, ns = 0;
    for (const char *const *f = rep_kinds[*kind].fields; *f; f++) {
        bool str = (*f)[0] == '$', seq = (*f)[0] == '@';
        if (strcmp(str || seq ? *f + 1 : *f, name) == 0)
            return seq ? SLOT_FRAMES : str ? SLOT_S0 + ns : SLOT_F0 + nf;
        if (!seq) str ? ns++ : nf++;
    }
    return SLOT_NONE;
}

/* ---- declarations ---------------------------------------------------------------------- */

static struct ctf_stream_class *stream_class(struct ctf_layout *l, uint64_t id) {
    for (size_t i = 0; i < l->n_streams; i++)
        if (l->streams[i].id == id) return &l->streams[i];
    l->streams = realloc(l->streams, (l->n_streams + 1) * sizeof *l->streams);
    if (!l->streams) abort();
    struct ctf_stream_class *s = &l->streams[l->n_streams++];
    *s = (struct ctf_stream_class){.id = id, .header = -1};
    return s;
}

/* A block `{ key = value; key := type; ... };`: the callbacks see each assignment. */
struct block_item {
    char key[64];
    const char *value; /* first token of `= value` */
    struct ty *type;   /* `:= type` */
};

static bool block_next(struct parser *p, struct block_item *it) {
    if (accept(p, "}")) {
        accept(p, ";");
        return false;
    }
    it->key[0] = '\0';
    it->value = NULL;
    it->type = NULL;
    while (p->pos < p->n_tok && (is_ident(peek(p)) || strcmp(peek(p), ".") == 0))
        snprintf(it->key + strlen(it->key), sizeof it->key - strlen(it->key), "%s", next(p));
    if (accept(p, ":=")) {
        it->type = parse_type(p);
        skip_to_semicolon(p);
    } else if (accept(p, "=")) {
        it->value = peek(p);
        skip_to_semicolon(p);
    } else {
        skip_to_semicolon(p);
    }
    return p->pos < p->n_tok;
}

static void parse_clock(struct parser *p) {
    struct block_item it;
    long long offset = 0, offset_s = 0;
    while (block_next(p, &it)) {
        if (strcmp(it.key, "freq") == 0) p->layout->clock_freq = (uint64_t)number(it.value);
        if (strcmp(it.key, "offset") == 0) offset = number(it.value);
        if (strcmp(it.key, "offset_s") == 0) offset_s = number(it.value);
    }
    uint64_t freq = p->layout->clock_freq ? p->layout->clock_freq : 1000000000;
    p->layout->clock_offset_ns =
        offset_s * 1000000000LL + (int64_t)((__int128)offset * 1000000000 / freq);
}

static void parse_stream(struct parser *p) {
    struct block_item it;
    uint64_t id = 0;
    struct ty *header = NULL, *pctx = NULL, *ectx = NULL;
    while (block_next(p, &it)) {
        if (strcmp(it.key, "id") == 0) id = (uint64_t)number(it.value);
        if (strcmp(it.key, "event.header") == 0) header = it.type;
        if (strcmp(it.key, "packet.context") == 0) pctx = it.type;
        if (strcmp(it.key, "event.context") == 0) ectx = it.type;
    }
    struct ctf_stream_class *s = stream_class(p->layout, id);
    const char *h = header && header->name ? header->name : "";
    s->header = strcmp(h, "event_header_compact") == 0 ? HEADER_COMPACT
                : strcmp(h, "event_header_large") == 0 ? HEADER_LARGE
                                                       : -1;
    if (s->header < 0) p->unsupported = true;
    compile(p, &s->packet_context, pctx, packet_slot, NULL);
    if (ectx) compile(p, &s->event_context, ectx, packet_slot, NULL);
}

static void parse_event(struct parser *p) {
    struct block_item it;
    uint64_t id = 0, sid = 0;
    int kind = -1;
    struct ty *fields = NULL;
    while (block_next(p, &it)) {
        if (strcmp(it.key, "id") == 0) id = (uint64_t)number(it.value);
        if (strcmp(it.key, "stream_id") == 0) sid = (uint64_t)number(it.value);
        if (strcmp(it.key, "name") == 0 && it.value && it.value[0] == '"')
            kind = rep_kind_by_name(it.value + 1);
        if (strcmp(it.key, "fields") == 0) fields = it.type;
    }
    struct ctf_stream_class *s = stream_class(p->layout, sid);
    if (id >= 1u << 20) {
        p->unsupported = true;
        return;
    }
    if (id >= s->n_events) {
        s->events = realloc(s->events, (id + 1) * sizeof *s->events);
        if (!s->events) abort();
        memset(s->events + s->n_events, 0, (id + 1 - s->n_events) * sizeof *s->events);
        s->n_events = id + 1;
    }
    s->events[id].kind = kind;
    if (fields) compile(p, &s->events[id].fields, fields, payload_slot, &kind);
}

static void parse_top(struct parser *p) {
    while (p->pos < p->n_tok && !p->unsupported) {
        const char *k = next(p);
        if (strcmp(k, "typealias") == 0) {
            struct ty *t = parse_type(p);
            accept(p, ":=");
            char name[256] = "";
            while (is_ident(peek(p)))
                snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s",
                         name[0] ? " " : "", next(p));
            add_alias(p, arena_strndup(p, name, strlen(name)), t);
            skip_to_semicolon(p);
        } else if (strcmp(k, "struct") == 0) {
            parse_struct(p);
            skip_to_semicolon(p);
        } else if (strcmp(k, "clock") == 0 && accept(p, "{")) {
            parse_clock(p);
        } else if (strcmp(k, "stream") == 0 && accept(p, "{")) {
            parse_stream(p);
        } else if (strcmp(k, "event") == 0 && accept(p, "{")) {
            parse_event(p);
        } else if (strcmp(k, "trace") == 0 && accept(p, "{")) {
            struct block_item it;
            while (block_next(p, &it)) {
                if (strcmp(it.key, "packet.header") == 0) p->packet_header = it.type;
                if (strcmp(it.key, "uuid") == 0 && it.value) read_uuid(it.value, p->layout->uuid);
                if (strcmp(it.key, "byte_order") == 0 && (!it.value || strcmp(it.value, "le") != 0))
                    p->unsupported = true;
            }
        } else if (strcmp(k, "env") == 0 && accept(p, "{")) {
            struct block_item it;
            while (block_next(p, &it))
                if (strcmp(it.key, "vpid") == 0) p->layout->env_vpid = (int32_t)number(it.value);
        } else { /* callsite, ... */
            skip_to_semicolon(p);
        }
    }
}

int ctf_layout_read(const char *dir, struct ctf_layout *l) {
    *l = (struct ctf_layout){.clock_freq = 1000000000};
    char path[4096];
    snprintf(path, sizeof path, "%s/metadata", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        return CTF_ERROR;
    }
    char *raw = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&raw, &size);
    char buf[65536];
    for (size_t n; mem && (n = fread(buf, 1, sizeof buf, f)) > 0;)
        fwrite(buf, 1, n, mem);
    fclose(f);
    if (!mem || fclose(mem) != 0) abort();
    char *text = metadata_text(raw, size);
    free(raw);
    if (!text) {
        cli_error("%s: not CTF metadata (a packet is truncated)", path);
        return CTF_ERROR;
    }
    struct parser p = {.layout = l};
    tokenize(&p, text);
    free(text);
    parse_top(&p);
    if (!p.unsupported) compile(&p, &l->packet_header, p.packet_header, packet_slot, NULL);
    for (struct chunk *c = p.arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(p.tok);
    if (p.unsupported || l->n_streams == 0) {
        ctf_layout_free(l);
        return CTF_UNSUPPORTED;
    }
    return CTF_OK;
}

void ctf_layout_free(struct ctf_layout *l) {
    free(l->packet_header.op);
    for (size_t i = 0; i < l->n_streams; i++) {
        struct ctf_stream_class *s = &l->streams[i];
        free(s->packet_context.op);
        free(s->event_context.op);
        for (size_t j = 0; j < s->n_events; j++)
            free(s->events[j].fields.op);
        free(s->events);
    }
    free(l->streams);
    *l = (struct ctf_layout){0};
}
