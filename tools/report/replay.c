/* report/replay.c — replays a trace's events into a struct rep (report.h), following the
 * rules of trace/README.md: one live map per process, frees of unknown blocks counted
 * (blocks from before tracing, or events lost in a gap), moving reallocs as a free and an
 * allocation, heap_destroy/heap_reset freeing their heap's blocks, a forked child starting
 * from a copy of its parent's live map, an exec (the probe's `stats` at load in a process
 * that already had one, or in a forked child) starting a new image with no blocks. A block
 * of the slab range (`alloc_slab`, `free_slab`) is turned back into its address, arena +
 * 8 * granule, with the arena of its process image's `thread` events (a forked child's is its
 * parent's: the same address space; an exec'd image's is its own), before anything else sees
 * the event. While an image's arena is unknown (its `thread` events lost so far) a granule
 * becomes an *unplaced* key, UNPLACED | 8 * granule, which no address equals: its blocks stay
 * apart and consistent, a later `thread` event of the image moves them to their addresses,
 * and one never placed is never shown as an address (a corruption's history leaves it out).
 *
 * Call sites come from sites.c. Figures count the selected processes (--pid) inside the window
 * (--from/--to); the live maps follow every process from the start, so the state at --from is
 * exact. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define UNPLACED (1ull << 63) /* above every user-space address */

void rep_init(struct rep *r, const struct rep_options *o) {
    memset(r, 0, sizeof *r);
    r->opt = *o;
}

static bool selected(const struct rep *r, const struct rep_proc *p) {
    return r->opt.pid == 0 || p->pid == r->opt.pid;
}

static bool in_window(const struct rep *r, uint64_t ts) {
    return ts - r->t0 >= r->opt.from_ns;
}

/* ---- processes and threads ------------------------------------------------------------- */

static struct rep_proc *new_proc(struct rep *r, const struct rep_event *ev) {
    struct rep_proc *p = rep_push(&r->procs, &r->n_procs, sizeof *p);
    p->pid = ev->vpid;
    p->ppid = -1;
    p->first_ts = p->last_ts = ev->ts;
    p->free_block = UINT32_MAX;
    snprintf(p->name, sizeof p->name, "%s", ev->procname);
    rep_map_put(&r->proc_by_pid, (uint64_t)(uint32_t)ev->vpid, (uint32_t)(r->n_procs - 1));
    return p;
}

/* p runs a new image from ts on, whose arena is `arena` (0: unknown). */
static void begin_image(struct rep_proc *p, uint64_t ts, uint64_t arena) {
    struct rep_image *im = rep_push(&p->images, &p->n_images, sizeof *im);
    im->from_ts = ts;
    im->arena = p->arena = arena;
}

/* The arena of p's image at ts (0: unknown). */
static uint64_t arena_at(const struct rep_proc *p, uint64_t ts) {
    size_t i = p->n_images;
    while (i > 1 && p->images[i - 1].from_ts > ts)
        i--;
    return i ? p->images[i - 1].arena : 0;
}

static uint32_t new_block(struct rep_proc *p) {
    if (p->free_block != UINT32_MAX) {
        uint32_t i = p->free_block;
        p->free_block = p->blocks[i].site;
        return i;
    }
    rep_push(&p->blocks, &p->n_blocks, sizeof *p->blocks);
    return (uint32_t)(p->n_blocks - 1);
}

static void drop_block(struct rep_proc *p, uint32_t i) {
    p->blocks[i].ptr = 0;
    p->blocks[i].site = p->free_block;
    p->free_block = i;
}

/* A forked child starts with a copy of its parent's live blocks, mappings and arena. */
static void inherit(struct rep_proc *child, const struct rep_proc *parent) {
    child->forked = true;
    child->arena = child->images[child->n_images - 1].arena = parent->arena;
    for (size_t i = 0; i < parent->n_maps; i++)
        *(struct rep_mapping *)rep_push(&child->maps, &child->n_maps, sizeof *child->maps) =
            parent->maps[i];
    for (size_t i = 0; i < parent->n_blocks; i++) {
        const struct rep_block *b = &parent->blocks[i];
        if (!b->ptr) continue;
        uint32_t j = new_block(child);
        child->blocks[j] = *b;
        child->blocks[j].flags |= BLOCK_INHERITED;
        rep_map_put(&child->live, b->ptr, j);
        if (b->flags & BLOCK_TRACER) continue;
        child->inherited_blocks++;
        child->inherited_bytes += b->size;
    }
    child->live_blocks = child->inherited_blocks;
    child->live_bytes = child->peak_bytes = child->inherited_bytes;
}

/* An exec replaced the process's image at ts: its blocks are gone (not freed, not leaked),
 * its span range is another (unknown until the new image's `thread` events). */
static void start_new_image(struct rep *r, struct rep_proc *p, uint64_t ts) {
    begin_image(p, ts, 0);
    for (size_t i = 0; i < p->n_blocks; i++)
        if (p->blocks[i].ptr && (p->blocks[i].flags & BLOCK_TRACER)) {
            r->tracer.live_blocks--;
            r->tracer.live_bytes -= p->blocks[i].size;
        }
    for (size_t i = 0; i < p->n_sites_live; i++)
        p->sites_live[i].blocks = p->sites_live[i].bytes = 0;
    rep_map_clear(&p->live);
    rep_map_clear(&p->stacks); /* the new image's ids are its own */
    p->n_blocks = 0;
    p->free_block = UINT32_MAX;
    p->live_blocks = p->live_bytes = p->inherited_blocks = p->inherited_bytes = 0;
    p->forked = p->has_stats_start = p->has_stats_end = false;
    p->exec_image = true;
}

/* The parent of a process whose first event is not the probe's `stats` at load (a forked
 * child). LTTng-UST records no parent pid, so it is the process of the same name (when the
 * trace has the procname context; otherwise names come from the statedump, after the
 * child's first events) that recorded an event last, preferring processes that started the
 * probe themselves (not forked children, which share the name): the one that just called
 * fork. */
static int64_t parent_of(const struct rep *r, const struct rep_event *ev) {
    int64_t best = -1;
    for (size_t i = 0; i < r->n_procs; i++) {
        const struct rep_proc *p = &r->procs[i];
        if (p->pid == ev->vpid || (ev->procname[0] && strcmp(p->name, ev->procname) != 0)) continue;
        const struct rep_proc *b = best >= 0 ? &r->procs[best] : NULL;
        bool root = !p->forked, best_root = b && !b->forked;
        if (!b || (root && !best_root) || (root == best_root && p->last_ts > b->last_ts))
            best = (int64_t)i;
    }
    return best;
}

/* The event's process: a new one inherits its parent's heap unless it starts with the
 * probe's `stats` at load (an exec'd program); that event in a known process is an exec. */
static struct rep_proc *proc_of(struct rep *r, const struct rep_event *ev) {
    int64_t i = rep_map_get(&r->proc_by_pid, (uint64_t)(uint32_t)ev->vpid);
    bool load_stats = ev->kind == REP_STATS && ev->f[4] == 0;
    if (i < 0) {
        int64_t parent = load_stats ? -1 : parent_of(r, ev);
        struct rep_proc *p = new_proc(r, ev);
        begin_image(p, ev->ts, 0);
        if (parent >= 0) {
            p->ppid = r->procs[parent].pid;
            inherit(p, &r->procs[parent]);
        }
        return p;
    }
    struct rep_proc *p = &r->procs[i];
    if (load_stats && (p->has_stats_start || p->forked)) {
        start_new_image(r, p, ev->ts);
        if (ev->procname[0]) snprintf(p->name, sizeof p->name, "%s", ev->procname);
    }
    return p;
}

static uint32_t thread_of(struct rep *r, const struct rep_event *ev) {
    uint64_t key = ((uint64_t)(uint32_t)ev->vpid << 32) | (uint32_t)ev->vtid;
    if (r->n_threads && key == r->last_thread_key) return r->last_thread;
    int64_t i = rep_map_get(&r->thread_by_key, key);
    r->last_thread_key = key;
    if (i >= 0) return r->last_thread = (uint32_t)i;
    struct rep_thread *t = rep_push(&r->threads, &r->n_threads, sizeof *t);
    t->pid = ev->vpid;
    t->tid = ev->vtid;
    rep_map_put(&r->thread_by_key, key, (uint32_t)(r->n_threads - 1));
    return r->last_thread = (uint32_t)(r->n_threads - 1);
}

/* ---- live figures: per-site live bytes, the peak, the timeline ------------------------- */

static struct rep_site_live *site_live(struct rep_proc *p, uint32_t site) {
    while (site >= p->n_site_index) /* a dense index: sites are few, looked up per event */
        *(uint32_t *)rep_push(&p->site_index, &p->n_site_index, sizeof *p->site_index) = UINT32_MAX;
    uint32_t i = p->site_index[site];
    if (i == UINT32_MAX) {
        struct rep_site_live *s = rep_push(&p->sites_live, &p->n_sites_live, sizeof *s);
        s->site = site;
        i = p->site_index[site] = (uint32_t)(p->n_sites_live - 1);
    }
    struct rep_site_live *s = &p->sites_live[i];
    if (!s->dirty) {
        s->dirty = true;
        *(uint32_t *)rep_push(&p->dirty, &p->n_dirty, sizeof *p->dirty) = (uint32_t)i;
    }
    return s;
}

/* Copies the live figures of the sites changed since the last copy into their peak
 * figures: called when the live bytes fall for the first time after a new peak. */
static void snapshot_peak(struct rep_proc *p) {
    for (size_t i = 0; i < p->n_dirty; i++) {
        struct rep_site_live *s = &p->sites_live[p->dirty[i]];
        s->peak_blocks = s->blocks;
        s->peak_bytes = s->bytes;
        s->dirty = false;
    }
    p->n_dirty = 0;
    p->peak_pending = false;
}

static struct rep_bucket *bucket(struct rep *r, struct rep_proc *p, uint64_t ts) {
    uint64_t rel = ts > r->t0 ? ts - r->t0 : 0;
    if (p->cur_bucket && rel >= p->cur_from && rel - p->cur_from < p->bucket_ns)
        return p->cur_bucket;
    if (!p->bucket_ns) p->bucket_ns = 1000000;
    while (rel / p->bucket_ns >= REP_TIMELINE) { /* twice as coarse: merge pairs */
        for (size_t i = 0; i < REP_TIMELINE / 2; i++) {
            struct rep_bucket *a = &p->timeline[2 * i], *b = &p->timeline[2 * i + 1], m = *a;
            if (b->used) {
                m.live_max = a->used && a->live_max > b->live_max ? a->live_max : b->live_max;
                m.live_end = b->live_end;
                m.allocations += b->allocations;
                m.frees += b->frees;
                m.refills += b->refills;
                m.span_releases += b->span_releases;
                m.purged_bytes += b->purged_bytes;
                m.meshes += b->meshes;
                m.mesh_bytes += b->mesh_bytes;
                m.used = true;
            }
            p->timeline[i] = m;
        }
        memset(&p->timeline[REP_TIMELINE / 2], 0, sizeof p->timeline / 2);
        p->cur_bucket = NULL;
        p->bucket_ns *= 2;
    }
    struct rep_bucket *b = &p->timeline[rel / p->bucket_ns];
    p->cur_bucket = b;
    p->cur_from = rel / p->bucket_ns * p->bucket_ns;
    if (!b->used) {
        b->used = true;
        b->live_max = b->live_end = p->live_bytes;
    }
    return b;
}

static void live_changed(struct rep *r, struct rep_proc *p, uint64_t ts) {
    if (!selected(r, p)) return;
    struct rep_bucket *b = bucket(r, p, ts);
    b->live_end = p->live_bytes;
    if (p->live_bytes > b->live_max) b->live_max = p->live_bytes;
}

/* ---- blocks ---------------------------------------------------------------------------- */

enum free_how { FREE_CALL, FREE_HEAP };
static uint64_t remove_block(struct rep *r, struct rep_proc *p, const struct rep_event *ev,
                             uint32_t i, enum free_how how);

static void add_block(struct rep *r, struct rep_proc *p, const struct rep_event *ev, uint64_t ptr,
                      uint64_t size, uint32_t heap) {
    uint32_t site = rep_site_of(r, p, ev), thread = thread_of(r, ev);
    bool tracer = rep_tracer_site(r, site);
    uint32_t i = new_block(p);
    p->blocks[i] =
        (struct rep_block){ptr, size, ev->ts, site, thread, heap, tracer ? BLOCK_TRACER : 0};
    int64_t lost = rep_map_put(&p->live, ptr, i);
    if (lost >= 0) /* its free was lost in a gap */
        remove_block(r, p, ev, (uint32_t)lost, FREE_HEAP);
    p->all_allocs++;
    if (tracer) {
        r->tracer.allocations++;
        r->tracer.bytes += size;
        r->tracer.live_blocks++;
        r->tracer.live_bytes += size;
        return;
    }
    struct rep_site_live *sl = site_live(p, site);
    sl->blocks++;
    sl->bytes += size;
    p->live_blocks++;
    p->live_bytes += size;
    struct rep_thread *t = &r->threads[thread];
    t->last_alloc = ptr;
    bool counted = selected(r, p) && in_window(r, ev->ts);
    if (counted) {
        struct rep_site *s = &r->sites[site];
        s->calls++;
        s->bytes += size;
        p->allocations++;
        p->bytes_allocated += size;
        t->allocations++;
        t->bytes_allocated += size;
        r->size_hist[size ? 64 - __builtin_clzll(size) : 0]++;
        bucket(r, p, ev->ts)->allocations++;
    }
    if (p->live_bytes > p->peak_bytes && in_window(r, ev->ts)) {
        p->peak_bytes = p->live_bytes;
        p->peak_blocks = p->live_blocks;
        p->peak_ts = ev->ts;
        p->peak_pending = true;
    }
    live_changed(r, p, ev->ts);
}

/* Removes block i, already out of the live map, as freed by the event's thread; returns
 * its size. */
static uint64_t remove_block(struct rep *r, struct rep_proc *p, const struct rep_event *ev,
                             uint32_t i, enum free_how how) {
    struct rep_block b = p->blocks[i];
    drop_block(p, i);
    p->all_frees++;
    if (b.flags & BLOCK_TRACER) {
        r->tracer.frees++;
        r->tracer.live_blocks--;
        r->tracer.live_bytes -= b.size;
        return b.size;
    }
    if (p->peak_pending) snapshot_peak(p);
    struct rep_site_live *sl = site_live(p, b.site);
    sl->blocks--;
    sl->bytes -= b.size;
    p->live_blocks--;
    p->live_bytes -= b.size;
    if (b.flags & BLOCK_INHERITED) {
        p->inherited_blocks--;
        p->inherited_bytes -= b.size;
    }
    if (selected(r, p) && in_window(r, ev->ts)) {
        uint32_t thread = thread_of(r, ev);
        struct rep_thread *t = &r->threads[thread];
        uint64_t life = ev->ts - b.ts;
        p->frees++;
        p->bytes_freed += b.size;
        r->life_hist[life ? 64 - __builtin_clzll(life) : 0]++;
        if (life < REP_SHORT_LIVED_NS && !(b.flags & BLOCK_INHERITED))
            r->sites[b.site].short_lived++;
        bucket(r, p, ev->ts)->frees++;
        if (how == FREE_CALL) {
            t->frees++;
            t->bytes_freed += b.size;
            if (t->last_alloc == b.ptr) {
                t->temporaries++;
                r->sites[b.site].temporaries++;
            }
            t->last_alloc = 0;
            if (thread != b.thread) t->remote_frees++;
            uint64_t key = ((uint64_t)b.thread << 32) | thread;
            int64_t c = r->n_cells && key == r->last_cell_key ? (int64_t)r->last_cell
                                                              : rep_map_get(&r->cell_by_key, key);
            if (c < 0) {
                struct rep_cell *cell = rep_push(&r->cells, &r->n_cells, sizeof *cell);
                cell->from = b.thread;
                cell->to = thread;
                c = (int64_t)(r->n_cells - 1);
                rep_map_put(&r->cell_by_key, key, (uint32_t)c);
            }
            r->last_cell_key = key;
            r->last_cell = (uint32_t)c;
            r->cells[c].blocks++;
            r->cells[c].bytes += b.size;
        }
    }
    live_changed(r, p, ev->ts);
    return b.size;
}

static void free_ptr(struct rep *r, struct rep_proc *p, const struct rep_event *ev, uint64_t ptr) {
    int64_t i = rep_map_del(&p->live, ptr);
    if (i >= 0) {
        remove_block(r, p, ev, (uint32_t)i, FREE_CALL);
        return;
    }
    p->all_frees++;
    if (selected(r, p)) p->unknown_frees++;
}

static void realloc_block(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    uint64_t old = ev->f[0], new = ev->f[1], size = ev->f[2];
    if (selected(r, p) && in_window(r, ev->ts)) p->reallocs++;
    if (new != old) { /* moved: a free and an allocation */
        free_ptr(r, p, ev, old);
        add_block(r, p, ev, new, size, (uint32_t)ev->f[3]);
        return;
    }
    int64_t i = rep_map_get(&p->live, old);
    if (i < 0) return; /* resized in place a block from before tracing */
    struct rep_block *b = &p->blocks[i];
    if (!(b->flags & BLOCK_TRACER)) {
        struct rep_site_live *sl = site_live(p, b->site);
        if (size < b->size && p->peak_pending) snapshot_peak(p);
        sl->bytes += size - b->size;
        p->live_bytes += size - b->size;
        if (p->live_bytes > p->peak_bytes) {
            p->peak_bytes = p->live_bytes;
            p->peak_ts = ev->ts;
            p->peak_pending = true;
        }
        live_changed(r, p, ev->ts);
    } else {
        r->tracer.live_bytes += size - b->size;
    }
    b->size = size;
}

static void drop_heap(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    uint32_t heap = (uint32_t)ev->f[0];
    struct rep_heap_drop d = {ev->vpid, ev->vtid, heap, ev->kind == REP_HEAP_RESET, ev->ts, 0, 0};
    for (size_t i = 0; i < p->n_blocks; i++)
        if (p->blocks[i].ptr && p->blocks[i].heap == heap) {
            rep_map_del(&p->live, p->blocks[i].ptr);
            d.blocks++;
            d.bytes += remove_block(r, p, ev, (uint32_t)i, FREE_HEAP);
        }
    if (d.blocks && selected(r, p))
        *(struct rep_heap_drop *)rep_push(&r->drops, &r->n_drops, sizeof d) = d;
}

static void stats_event(struct rep_proc *p, const struct rep_event *ev) {
    if (ev->f[4] == 0 && !p->has_stats_start) {
        p->has_stats_start = true;
        p->stats_start_blocks = ev->f[0];
        p->all_allocs = p->all_frees = 0;
    } else if (ev->f[4] == 1) { /* events after it (late destructors) are in no count */
        p->has_stats_end = true;
        p->stats_end_blocks = ev->f[0];
        p->replayed_end_blocks = p->stats_start_blocks + p->all_allocs - p->all_frees;
    }
}

static void corruption_event(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    struct rep_corruption *c = rep_push(&r->corruptions, &r->n_corruptions, sizeof *c);
    c->ts = ev->ts;
    c->pid = ev->vpid;
    c->tid = ev->vtid;
    c->kind = strdup(ev->s[0] ? ev->s[0] : "");
    c->detail = strdup(ev->s[1] ? ev->s[1] : "");
    c->ptr = ev->f[0];
    c->site = rep_site_of(r, p, ev);
}

static void allocator_event(struct rep *r, struct rep_proc *p, const struct rep_event *ev) {
    if (!selected(r, p) || !in_window(r, ev->ts)) return;
    struct rep_bucket *b = bucket(r, p, ev->ts);
    switch (ev->kind) {
    case REP_REFILL:
        b->refills++;
        break;
    case REP_SPAN_RELEASE:
        b->span_releases++;
        break;
    case REP_PURGE:
        b->purged_bytes += ev->f[0];
        break;
    case REP_MESH:
        b->meshes++;
        b->mesh_bytes += ev->f[4];
        p->meshes++;
        p->mesh_bytes += ev->f[4];
        break;
    }
}

/* ev, or, for a `_slab` event, its full-pointer twin in *full: the granule (f[0]) made the
 * block's address, arena + 8 * granule, or its unplaced key while the arena is unknown (0);
 * the other fields line up. */
static const struct rep_event *unpack(uint64_t arena, const struct rep_event *ev,
                                      struct rep_event *full) {
    if (ev->kind != REP_ALLOC_SLAB && ev->kind != REP_FREE_SLAB) return ev;
    *full = *ev;
    full->kind = ev->kind == REP_ALLOC_SLAB ? REP_ALLOC : REP_FREE;
    full->f[0] = (arena ? arena : UNPLACED) + 8 * ev->f[0];
    return full;
}

/* A `thread` event gave p's current image its arena: the blocks it kept under unplaced keys
 * (and its threads' latest allocations) move to their addresses. An image has one arena: a
 * known one is never changed. */
static void place(struct rep *r, struct rep_proc *p, uint64_t arena) {
    struct rep_image *im = &p->images[p->n_images - 1];
    if (!arena || im->arena) return;
    im->arena = p->arena = arena;
    im->unplaced = 0;
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        struct rep_block *b = &p->blocks[i];
        if (!(b->ptr & UNPLACED)) continue;
        rep_map_del(&p->live, b->ptr);
        b->ptr = arena + (b->ptr & ~UNPLACED);
        rep_map_put(&p->live, b->ptr, i);
    }
    for (size_t i = 0; i < r->n_threads; i++)
        if (r->threads[i].pid == p->pid && (r->threads[i].last_alloc & UNPLACED))
            r->threads[i].last_alloc = arena + (r->threads[i].last_alloc & ~UNPLACED);
}

bool rep_replay_event(void *arg, const struct rep_event *ev) {
    struct rep *r = arg;
    if (r->events++ == 0) r->t0 = ev->ts;
    if (r->opt.to_ns && ev->ts - r->t0 > r->opt.to_ns) {
        r->stopped = true;
        return false;
    }
    r->t_end = ev->ts;
    if (ev->kind == REP_DISCARDED) {
        r->discarded += ev->f[0];
        *(struct rep_gap *)rep_push(&r->gaps, &r->n_gaps, sizeof(struct rep_gap)) =
            (struct rep_gap){ev->ts, ev->f[0]};
        return true;
    }
    if (ev->kind < REP_BIN_INFO) r->meshward_events++;
    struct rep_proc *p = proc_of(r, ev);
    p->events++;
    p->last_ts = ev->ts;
    if (rep_is_allocation(ev->kind) && ev->vtid == 0) r->no_threads = true;
    struct rep_event full;
    if ((ev->kind == REP_ALLOC_SLAB || ev->kind == REP_FREE_SLAB) && !p->arena)
        p->images[p->n_images - 1].unplaced++;
    ev = unpack(p->arena, ev, &full);
    switch (ev->kind) {
    case REP_ALLOC: /* the thread's heap: heap 0, never destroyed nor reset */
        add_block(r, p, ev, ev->f[0], ev->f[1], 0);
        break;
    case REP_HEAP_ALLOC:
    case REP_ALLOC_BIG:
        add_block(r, p, ev, ev->f[0], ev->f[1], (uint32_t)ev->f[3]);
        break;
    case REP_FREE:
        free_ptr(r, p, ev, ev->f[0]);
        break;
    case REP_REALLOC:
    case REP_REALLOC_BIG:
        realloc_block(r, p, ev);
        break;
    case REP_HEAP_DESTROY:
    case REP_HEAP_RESET:
        drop_heap(r, p, ev);
        break;
    case REP_STATS:
        stats_event(p, ev);
        break;
    case REP_CORRUPTION:
        corruption_event(r, p, ev);
        break;
    case REP_STACK:
        rep_stack_event(r, p, ev);
        break;
    case REP_BIN_INFO:
    case REP_DLOPEN:
    case REP_DLMOPEN:
        rep_map_module(r, p, ev);
        break;
    case REP_DLCLOSE:
        rep_unmap_module(p, ev->f[0]);
        break;
    case REP_PROCNAME:
        snprintf(p->name, sizeof p->name, "%s", ev->s[0]);
        break;
    case REP_THREAD:
        place(r, p, ev->f[0]);
        allocator_event(r, p, ev); /* the timeline, as for any event */
        break;
    default:
        allocator_event(r, p, ev);
    }
    return true;
}

/* ---- the end --------------------------------------------------------------------------- */

const struct rep_proc *rep_focus(const struct rep *r) {
    const struct rep_proc *best = NULL;
    for (size_t i = 0; i < r->n_procs; i++) {
        const struct rep_proc *p = &r->procs[i];
        if (selected(r, p) && (!best || p->peak_bytes > best->peak_bytes)) best = p;
    }
    return best;
}

void rep_finish(struct rep *r) {
    for (size_t i = 0; i < r->n_procs; i++) {
        struct rep_proc *p = &r->procs[i];
        if (p->peak_pending) snapshot_peak(p);
        if (!selected(r, p)) continue;
        for (size_t j = 0; j < p->n_blocks; j++) {
            const struct rep_block *b = &p->blocks[j];
            if (!b->ptr || (b->flags & (BLOCK_TRACER | BLOCK_INHERITED))) continue;
            r->sites[b->site].leaked_blocks++;
            r->sites[b->site].leaked_bytes += b->size;
        }
    }
    const struct rep_proc *f = rep_focus(r);
    for (size_t i = 0; f && i < f->n_sites_live; i++) {
        struct rep_site *s = &r->sites[f->sites_live[i].site];
        s->peak_blocks = f->sites_live[i].peak_blocks;
        s->peak_bytes = f->sites_live[i].peak_bytes;
    }
}

/* ---- the second reading: histories of corrupted blocks --------------------------------- */

/* Keeps the latest REP_HISTORY events of the block (its last lives: a block freed twice was
 * often reallocated in between). */
static void add_history(struct rep *r, struct rep_corruption *c, const struct rep_event *ev,
                        uint64_t ptr, uint64_t old_ptr, uint64_t size) {
    if (c->n_history == REP_HISTORY)
        memmove(c->history, c->history + 1, --c->n_history * sizeof *c->history);
    int64_t pi = rep_map_get(&r->proc_by_pid, (uint64_t)(uint32_t)ev->vpid);
    struct rep_history *h = &c->history[c->n_history++];
    *h = (struct rep_history){
        ev->ts, ev->kind, ev->vpid, ev->vtid,
        ptr,    old_ptr,  size,     pi >= 0 ? rep_site_of(r, &r->procs[pi], ev) : c->site};
}

bool rep_history_event(void *arg, const struct rep_event *ev) {
    struct rep *r = arg;
    int64_t pi = rep_map_get(&r->proc_by_pid, (uint64_t)(uint32_t)ev->vpid);
    struct rep_event full;
    if (pi >= 0) ev = unpack(arena_at(&r->procs[pi], ev->ts), ev, &full);
    uint64_t ptr, old = 0, size;
    if (ev->kind == REP_ALLOC || ev->kind == REP_HEAP_ALLOC || ev->kind == REP_ALLOC_BIG)
        ptr = ev->f[0], size = ev->f[1];
    else if (ev->kind == REP_FREE) /* the block's own address only: a free says no size */
        ptr = ev->f[0], size = 0;
    else if (ev->kind == REP_REALLOC || ev->kind == REP_REALLOC_BIG)
        ptr = ev->f[1], old = ev->f[0], size = ev->f[2];
    else
        return true;
    for (size_t i = 0; i < r->n_corruptions; i++) {
        struct rep_corruption *c = &r->corruptions[i];
        bool inside = c->ptr >= ptr && c->ptr < ptr + (size ? size : 1);
        if (ev->vpid == c->pid && ev->ts <= c->ts && (inside || (old && old == c->ptr)))
            add_history(r, c, ev, ptr, old, size);
    }
    return true;
}

void rep_free(struct rep *r) {
    for (size_t i = 0; i < r->n_procs; i++) {
        struct rep_proc *p = &r->procs[i];
        rep_map_free(&p->live);
        rep_map_free(&p->ipcache);
        rep_map_free(&p->stacks);
        free(p->site_index);
        free(p->blocks);
        free(p->images);
        free(p->maps);
        free(p->sites_live);
        free(p->dirty);
    }
    for (size_t i = 0; i < r->n_modules; i++)
        free(r->modules[i].path);
    for (size_t i = 0; i < r->n_frames; i++) {
        free(r->frames[i].function);
        free(r->frames[i].file);
    }
    for (size_t i = 0; i < r->n_sites; i++)
        free(r->sites[i].frames);
    for (size_t i = 0; i < r->n_corruptions; i++) {
        free(r->corruptions[i].kind);
        free(r->corruptions[i].detail);
    }
    free(r->procs);
    free(r->modules);
    free(r->sites);
    free(r->frames);
    free(r->threads);
    free(r->cells);
    free(r->gaps);
    free(r->drops);
    free(r->corruptions);
    rep_map_free(&r->site_by_key);
    rep_map_free(&r->frame_by_key);
    rep_map_free(&r->proc_by_pid);
    rep_map_free(&r->thread_by_key);
    rep_map_free(&r->cell_by_key);
}
