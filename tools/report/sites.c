/* report/sites.c — the call sites of a replayed trace (report.h): the modules a process
 * maps (statedump and dl events), the frames of return addresses as (module, offset) pairs
 * through those mappings, so that the same code in a parent and its forked children is one
 * frame, and the sites, each a list of frames (an event's stack, or its one call site). A
 * site in one of LTTng's libraries marks its blocks as the tracer's, kept out of every
 * program figure. Frames and sites are kept once each, by key. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

/* Appends one zeroed element to a dynamic array that grows by doubling. */
void *rep_push(void *arr_p, size_t *n, size_t size) {
    void **arr = arr_p;
    if ((*n & (*n - 1)) == 0) { /* n is 0 or a power of two: double */
        void *grown = realloc(*arr, (*n ? *n * 2 : 1) * size);
        if (!grown) abort();
        *arr = grown;
    }
    void *e = (char *)*arr + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}

static bool is_tracer_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "liblttng-ust", 12) == 0 || strncmp(base, "libmeshward-tp", 14) == 0;
}

static bool is_libc_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "ld-linux", 8) == 0;
}

static bool is_self_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libmeshward", 11) == 0 && !is_tracer_path(path);
}

static uint32_t module_of(struct rep *r, const char *path) {
    for (size_t i = 0; i < r->n_modules; i++)
        if (strcmp(r->modules[i].path, path) == 0) return (uint32_t)i;
    struct rep_module *m = rep_push(&r->modules, &r->n_modules, sizeof *m);
    m->path = strdup(path);
    m->tracer = is_tracer_path(path);
    m->libc = is_libc_path(path);
    m->self = is_self_path(path);
    return (uint32_t)(r->n_modules - 1);
}

void rep_map_module(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    if (!ev->s[0] || !ev->s[0][0]) return;
    struct rep_mapping *m = rep_push(&p->maps, &p->n_maps, sizeof *m);
    *m = (struct rep_mapping){ev->f[0], ev->f[0] + ev->f[1], module_of(r, ev->s[0])};
    rep_map_clear(&p->ipcache);
}

void rep_unmap_module(struct rep_proc *p, uint64_t base) {
    for (size_t i = 0; i < p->n_maps; i++)
        if (p->maps[i].base == base) {
            p->maps[i] = p->maps[--p->n_maps];
            rep_map_clear(&p->ipcache);
            return;
        }
}

/* The frame of ip in process p: (module, offset), found through the process's mappings. */
static uint32_t frame_of(struct rep *r, const struct rep_proc *p, uint64_t ip) {
    uint32_t module = REP_NO_MODULE;
    uint64_t offset = ip;
    for (size_t i = 0; i < p->n_maps; i++)
        if (ip >= p->maps[i].base && ip < p->maps[i].end && ip - p->maps[i].base < (1ull << 48)) {
            module = p->maps[i].module;
            offset = ip - p->maps[i].base;
        }
    /* Keys: a module's frames have bits above 48 set, unmapped addresses (< 2^47) do not. */
    uint64_t key = module == REP_NO_MODULE ? ip : ((uint64_t)(module + 1) << 48) | offset;
    int64_t f = rep_map_get(&r->frame_by_key, key);
    if (f >= 0) return (uint32_t)f;
    struct rep_frame *frame = rep_push(&r->frames, &r->n_frames, sizeof *frame);
    frame->module = module;
    frame->offset = offset;
    rep_map_put(&r->frame_by_key, key, (uint32_t)(r->n_frames - 1));
    return (uint32_t)(r->n_frames - 1);
}

/* The site of a stack of frames (n may be 0: the unknown stack), made once. */
static uint32_t site_of_frames(struct rep *r, const uint32_t *frames, uint32_t n) {
    uint64_t key = 0xcbf29ce484222325ull ^ n;
    for (uint32_t i = 0; i < n; i++)
        key = (key ^ frames[i]) * 0x100000001b3ull;
    for (;; key++) {
        key = key == UINT64_MAX ? 0 : key; /* the map's empty key */
        int64_t s = rep_map_get(&r->site_by_key, key);
        if (s < 0) break;
        const struct rep_site *site = &r->sites[s];
        if (site->n_frames == n && memcmp(site->frames, frames, n * sizeof *frames) == 0)
            return (uint32_t)s;
    }
    struct rep_site *site = rep_push(&r->sites, &r->n_sites, sizeof *site);
    site->n_frames = n;
    site->frames = malloc((n ? n : 1) * sizeof *frames);
    if (!site->frames) abort();
    memcpy(site->frames, frames, n * sizeof *frames);
    rep_map_put(&r->site_by_key, key, (uint32_t)(r->n_sites - 1));
    return (uint32_t)(r->n_sites - 1);
}

static uint32_t site_of_ip(struct rep *r, struct rep_proc *p, uint64_t ip) {
    int64_t cached = rep_map_get(&p->ipcache, ip);
    if (cached >= 0) return (uint32_t)cached;
    uint32_t frame = frame_of(r, p, ip), s = site_of_frames(r, &frame, 1);
    rep_map_put(&p->ipcache, ip, s);
    return s;
}

/* A `stack` event: what id holds in this process (ids are per process image). Frames inside
 * the allocator itself (a corruption is recorded from inside it) are left out: the site is
 * where the program called it. */
void rep_stack_event(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    uint32_t frames[REP_MAX_FRAMES], n = 0;
    for (uint32_t i = 0; i < ev->n_frames; i++) {
        frames[n] = frame_of(r, p, rep_frame(ev, i));
        uint32_t m = r->frames[frames[n]].module;
        n += n > 0 || m == REP_NO_MODULE || !r->modules[m].self;
    }
    rep_map_put(&p->stacks, ev->f[0], site_of_frames(r, frames, n));
}

/* The stack id an event carries (0: none). */
static uint64_t stack_of(const struct rep_event *ev) {
    switch (ev->kind) {
    case REP_ALLOC:
    case REP_HEAP_ALLOC:
    case REP_ALLOC_BIG:
        return ev->f[2];
    case REP_FREE:
        return ev->f[1];
    case REP_REALLOC:
    case REP_REALLOC_BIG:
        return ev->f[4];
    case REP_CORRUPTION:
        return ev->f[1];
    default:
        return 0;
    }
}

/* The site of an event: its stack when it names one (the unknown stack when the `stack`
 * event was lost), else its ip context (traces without stacks), else the unknown stack. */
uint32_t rep_site_of(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    uint64_t stack = stack_of(ev);
    if (stack) {
        int64_t s = rep_map_get(&p->stacks, stack);
        return s >= 0 ? (uint32_t)s : site_of_frames(r, NULL, 0);
    }
    return ev->ip ? site_of_ip(r, p, ev->ip) : site_of_frames(r, NULL, 0);
}

/* The tracer's own allocations: those whose innermost frame outside the C library and the
 * loader (LTTng's strdup of a path is LTTng's) lies in LTTng's libraries. */
bool rep_tracer_site(const struct rep *r, uint32_t site) {
    const struct rep_site *s = &r->sites[site];
    for (uint32_t i = 0; i < s->n_frames; i++) {
        uint32_t m = r->frames[s->frames[i]].module;
        if (m == REP_NO_MODULE || !r->modules[m].libc)
            return m != REP_NO_MODULE && r->modules[m].tracer;
    }
    return false;
}
