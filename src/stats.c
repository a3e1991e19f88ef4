/* stats.c — mw_stats_get and mw_stats_print: gathers the counters each layer keeps
 * (heaps: per-class allocations and frees; arena: spans and bytes; regions; huge) into one
 * snapshot. Counters of running threads are read without stopping them, so a snapshot
 * taken while threads allocate may lag by a few operations; at exit it is exact. */
#include "alloc.h"
#include "arena/arena.h"
#include "mesh/mesh.h"
#include "heap.h"
#include "huge.h"
#include "init.h"
#include "meta.h"
#include "os.h"
#include "region/region.h"
#include "harden/report.h"

#include <errno.h>
#include <meshward.h>
#include <string.h>

static void slab_totals(struct mw_stats *st) {
    st->size_classes = MW_CLASS_COUNT;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        struct mw_class_stats *cs = &st->classes[c];
        cs->block_size = mw_classes[c].size;
        uint64_t live = cs->allocations - cs->frees;
        st->allocations += cs->allocations;
        st->frees += cs->frees;
        st->live_blocks += live;
        st->live_bytes += live * cs->block_size;
    }
}

int mw_stats_get(struct mw_stats *st) {
    if (!st) return EINVAL;
    memset(st, 0, sizeof *st);
    if (mw_init_state == 2) {
        mw_heap_stats(st);
        mw_arena_totals(st);
        mw_mesh_stats(st);
    }
    slab_totals(st);
    mw_region_stats(st);
    mw_huge_stats(st);
    st->foreign_frees = mw_alloc_foreign_frees();
    st->meta_bytes = mw_meta_bytes();
    /* the program freed them: they are not live, whatever the quarantine holds back */
    st->frees += st->quarantined_blocks;
    st->live_blocks -=
        st->quarantined_blocks < st->live_blocks ? st->quarantined_blocks : st->live_blocks;
    st->live_bytes -=
        st->quarantined_bytes < st->live_bytes ? st->quarantined_bytes : st->live_bytes;
    st->checks += mw_hd_checks(); /* the quarantines' counts are in already */
    st->corruptions = mw_hd_corruptions();
    mw_os_rss(&st->rss_bytes, &st->peak_rss_bytes);
    return 0;
}

static void line(int fd, const char *key, uint64_t v) {
    char buf[24];
    mw_write_str(fd, "meshward: ");
    mw_write_str(fd, key);
    mw_write_str(fd, " ");
    mw_write_str(fd, mw_fmt_u64(buf, v));
    mw_write_str(fd, "\n");
}

/* One row: "meshward: KIND SIZE NAME N NAME N ...", the n names with their values. */
static void row(int fd, const char *kind, uint64_t size, const char *const *names,
                const uint64_t *v, unsigned n) {
    char buf[24];
    mw_write_str(fd, "meshward: ");
    mw_write_str(fd, kind);
    mw_write_str(fd, " ");
    mw_write_str(fd, mw_fmt_u64(buf, size));
    for (unsigned i = 0; i < n; i++) {
        mw_write_str(fd, " ");
        mw_write_str(fd, names[i]);
        mw_write_str(fd, " ");
        mw_write_str(fd, mw_fmt_u64(buf, v[i]));
    }
    mw_write_str(fd, "\n");
}

/* One row per class in use: "meshward: class SIZE allocations N frees N spans N". */
static void class_rows(int fd, const struct mw_stats *st) {
    static const char *const names[] = {"allocations", "frees", "spans"};
    for (unsigned c = 0; c < st->size_classes; c++) {
        const struct mw_class_stats *cs = &st->classes[c];
        if (!cs->allocations) continue;
        const uint64_t v[] = {cs->allocations, cs->frees, cs->spans};
        row(fd, "class", cs->block_size, names, v, sizeof v / sizeof v[0]);
    }
}

static void region_rows(int fd, const struct mw_stats *st) {
    static const char *const names[] = {
        "areas",   "area_bytes",       "free",        "dirty",
        "clean",   "cached",           "allocations", "frees",
        "refills", "slow_allocations", "steals",      "purged_bytes"};
    for (unsigned c = 0; c < st->region_classes; c++) {
        const struct mw_region_class_stats *r = &st->regions[c];
        if (!r->allocations && !r->areas) continue;
        const uint64_t v[] = {
            r->areas,         r->area_bytes,       r->free_regions, r->dirty_regions,
            r->clean_regions, r->cached_regions,   r->allocations,  r->frees,
            r->refills,       r->slow_allocations, r->steals,       r->purged_bytes};
        row(fd, "region", r->region_size, names, v, sizeof v / sizeof v[0]);
    }
}

static const char *pages_name(const struct mw_arena_stats *a) {
    if (a->flags & MW_ARENA_HUGE_PAGES)
        return a->page_size > (2u << 20) ? "hugetlb-1g" : "hugetlb-2m";
    return a->flags & MW_ARENA_LARGE_PAGES ? "thp" : "4k";
}

/* One row per arena: "meshward: arena ID size N committed N used N pages KIND". */
static void arena_rows(int fd, const struct mw_stats *st) {
    static const char *names[] = {" size ", " committed ", " used "};
    char buf[24];
    for (mw_arena_id_t id = 0; id < (mw_arena_id_t)st->arenas; id++) {
        struct mw_arena_stats a;
        if (mw_arena_stats(id, &a)) continue;
        const uint64_t v[] = {a.size, a.committed, a.used};
        mw_write_str(fd, "meshward: arena ");
        mw_write_str(fd, mw_fmt_u64(buf, (uint64_t)id));
        for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
            mw_write_str(fd, names[i]);
            mw_write_str(fd, mw_fmt_u64(buf, v[i]));
        }
        mw_write_str(fd, " pages ");
        mw_write_str(fd, pages_name(&a));
        mw_write_str(fd, a.flags & MW_ARENA_EXCLUSIVE ? " exclusive\n" : "\n");
    }
}

void mw_stats_print(int fd) {
    struct mw_stats st;
    mw_stats_get(&st);
    line(fd, "live_blocks", st.live_blocks);
    line(fd, "live_bytes", st.live_bytes);
    line(fd, "allocations", st.allocations);
    line(fd, "frees", st.frees);
    line(fd, "foreign_frees", st.foreign_frees);
    line(fd, "heaps", st.heaps);
    line(fd, "spans_in_use", st.spans_in_use);
    line(fd, "spans_free", st.spans_free);
    line(fd, "spans_abandoned", st.spans_abandoned);
    line(fd, "arena_committed", st.arena_committed);
    line(fd, "arena_purged", st.arena_purged);
    line(fd, "huge_blocks", st.huge_blocks);
    line(fd, "huge_bytes", st.huge_bytes);
    line(fd, "meta_bytes", st.meta_bytes);
    line(fd, "rss_bytes", st.rss_bytes);
    line(fd, "peak_rss_bytes", st.peak_rss_bytes);
    if (st.mesh_passes) {
        line(fd, "meshed_spans", st.meshed_spans);
        line(fd, "mesh_passes", st.mesh_passes);
        line(fd, "meshes", st.meshes);
        line(fd, "mesh_released_bytes", st.mesh_released_bytes);
        line(fd, "mesh_ns", st.mesh_ns);
        line(fd, "mesh_max_pause_ns", st.mesh_max_pause_ns);
    }
    if (MW_HARDENED || st.corruptions) {
        line(fd, "checks", st.checks);
        line(fd, "corruptions", st.corruptions);
        line(fd, "quarantined_blocks", st.quarantined_blocks);
        line(fd, "quarantined_bytes", st.quarantined_bytes);
    }
    arena_rows(fd, &st);
    class_rows(fd, &st);
    region_rows(fd, &st);
}
