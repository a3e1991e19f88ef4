/* meshward.h — the public API of the meshward allocator.
 *
 * Linking libmeshward (or preloading it) replaces the malloc family; this header adds the
 * mw_* API: the malloc family under its own names, first-class heaps, collection, options
 * and statistics. Every function follows POSIX conventions for ordinary errors: it returns
 * NULL (or an error number) and sets errno to ENOMEM or EINVAL; none of them aborts, except
 * the hardened build when it detects heap corruption.
 */
#ifndef MESHWARD_H
#define MESHWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is compiled with hidden visibility; everything declared here is its API and
 * must be exported from libmeshward.so for programs that link it or find it with dlsym. */
#pragma GCC visibility push(default)

#define MESHWARD_VERSION_MAJOR 0
#define MESHWARD_VERSION_MINOR 1

/* ---- the malloc family under meshward's own names ------------------------------------ */

void *mw_malloc(size_t size);               /* as malloc */
void *mw_calloc(size_t count, size_t size); /* as calloc: overflow gives ENOMEM */
void *mw_realloc(void *ptr, size_t size);   /* as glibc realloc: size 0 frees */
void *mw_reallocarray(void *ptr, size_t count, size_t size);
void mw_free(void *ptr);                               /* NULL is a no-op */
void mw_free_sized(void *ptr, size_t size);            /* size is the size requested */
void *mw_aligned_alloc(size_t alignment, size_t size); /* alignment: a power of two */
void *mw_memalign(size_t alignment, size_t size);      /* as memalign: rounds alignment up */
int mw_posix_memalign(void **out, size_t alignment, size_t size);
size_t mw_usable_size(const void *ptr); /* 0 for NULL or a foreign pointer */

/* ---- first-class heaps ----------------------------------------------------------------
 * A heap owns the blocks allocated from it. Any thread may allocate from a heap it created
 * or was handed, provided no two threads use one heap at the same time; any thread may
 * free (mw_free) or reallocate a block of any heap at any time. */

typedef struct mw_heap mw_heap_t;

mw_heap_t *mw_heap_new(void); /* NULL and ENOMEM on failure */
void *mw_heap_malloc(mw_heap_t *heap, size_t size);
void *mw_heap_calloc(mw_heap_t *heap, size_t count, size_t size);
void *mw_heap_realloc(mw_heap_t *heap, void *ptr, size_t size);
void *mw_heap_aligned(mw_heap_t *heap, size_t alignment, size_t size);
/* Deletes the heap; blocks still live stay valid and are freed later with mw_free. */
void mw_heap_delete(mw_heap_t *heap);
/* Deletes the heap and frees every block allocated from it at once. */
void mw_heap_destroy(mw_heap_t *heap);
/* Frees every block allocated from the heap; the heap stays usable. */
void mw_heap_reset(mw_heap_t *heap);

/* ---- arenas ---------------------------------------------------------------------------
 * An arena is a part of meshward's reserved address range, or of memory the program mapped
 * itself (mw_arena_manage), that small blocks (up to 16 KiB, in spans of pages) are carved
 * from. Arena 0 is the default one. mw_arena_reserve carves another one and
 * mw_arena_manage makes one of the program's memory (at most 15 of both together), with
 * its own kind of pages; a heap made with mw_heap_new_in
 * takes all its blocks from that arena only, and its allocations fail with ENOMEM when the
 * arena has no room for them, never taking memory from elsewhere: its large blocks (above
 * 16 KiB, or aligned beyond 4 KiB) too, each in pages of its own, of any size the arena's
 * free space can hold; their space is reused, at any size, once they are freed. A
 * non-exclusive arena
 * also serves the default heaps (before arena 0); an exclusive one serves only its own
 * heaps. Any thread frees any block, as always; mw_heap_destroy gives the heap's spans back
 * to its arena for reuse. Spans of arenas other than 0 are never meshed. Arenas last as long
 * as the process (a forked child inherits them). */

typedef int mw_arena_id_t;
#define MW_ARENA_EXCLUSIVE 1u   /* only heaps created in it allocate from it */
#define MW_ARENA_LARGE_PAGES 2u /* transparent huge pages (madvise), 2 MiB aligned */
#define MW_ARENA_HUGE_PAGES 4u  /* hugetlb pages (MAP_HUGETLB), 2 MiB; ENOMEM when none */
#define MW_ARENA_HUGE_1G 8u     /* with MW_ARENA_HUGE_PAGES: 1 GiB pages */
#define MW_ARENA_COMMIT 16u     /* populate now instead of on first touch */

/* Reserves an arena of at least size bytes (rounded up to 2 MiB, or 1 GiB with
 * MW_ARENA_HUGE_1G) and sets *id. Returns 0; EINVAL for a NULL id, size 0, unknown flags,
 * MW_ARENA_HUGE_1G without MW_ARENA_HUGE_PAGES or LARGE_PAGES with HUGE_PAGES; ENOMEM when
 * the reserved range has no room left, 15 arenas exist, or the system has not enough
 * hugetlb pages free. Pages of LARGE_PAGES, HUGE_PAGES or COMMIT arenas are never purged. */
int mw_arena_reserve(size_t size, unsigned flags, mw_arena_id_t *id);
/* Makes [start, start + size), memory the program mapped itself (a file mapping, a shared
 * memory segment, anonymous memory), arena *id: spans of the heaps made in it (and of
 * default heaps, unless MW_ARENA_EXCLUSIVE) come from it. meshward never unmaps it nor
 * gives its pages back; the program must keep it mapped, readable and writable, for the
 * life of the process. Pages are cleared as spans are first carved; the hardened build
 * makes a guard page of the last page of every 256 KiB (mprotect PROT_NONE, never undone).
 * A MAP_SHARED mapping stays shared with a forked child: after fork, only one of the two
 * may allocate from it or free blocks of it. flags: MW_ARENA_EXCLUSIVE, MW_ARENA_LARGE_PAGES
 * (madvise only), MW_ARENA_COMMIT. Returns 0; EINVAL for a NULL start or id, start or size
 * not a multiple of 4 KiB, size under 256 KiB, unknown flags or MW_ARENA_HUGE_PAGES, or a
 * range that overlaps meshward's own ranges or another managed arena; ENOMEM when 15
 * arenas exist or metadata (its page map: 2 bytes per KiB) is exhausted. */
int mw_arena_manage(void *start, size_t size, unsigned flags, mw_arena_id_t *id);
/* The start of arena id and, in *size (when size is not NULL), its size; NULL and 0 for
 * an id that names no arena. */
void *mw_arena_area(mw_arena_id_t id, size_t *size);
/* A heap that takes its spans and large blocks from arena id only; NULL and errno EINVAL for an id
 * that names no arena, ENOMEM when metadata is exhausted. mw_heap_new_in(0) is mw_heap_new(). */
mw_heap_t *mw_heap_new_in(mw_arena_id_t id);

/* Returns unused memory to the OS: the calling thread's cached spans, its spans emptied by
 * other threads' frees, empty spans and dirty large regions. force=true also collects abandoned
 * spans of exited threads and purges every pool at once, as malloc_trim(0) does. */
void mw_collect(bool force);

/* Meshes now: the calling thread's sparse spans and those of exited threads, pairwise when
 * their live blocks do not overlap, onto shared physical pages (no pointer moves). Returns
 * the bytes of physical memory given back; 0 when meshing is off (MESHWARD_MESH=0, or
 * under valgrind) or another thread is meshing. mw_collect(true) and malloc_trim mesh too. */
size_t mw_mesh_now(void);

/* Checks every block of the calling thread's heap and quarantine: canaries of live blocks,
 * zeroes of freed ones (hardened library; the production library checks nothing). Each
 * problem is reported as heap corruption (abort, or with MESHWARD_ON_CORRUPTION=report a
 * report and a count); returns the number found. */
int mw_heap_check(void);

/* ---- options ---------------------------------------------------------------------------
 * Each option is also read from the environment as MESHWARD_<NAME> at start-up; README.md
 * has the table. mw_option_set returns 0, or EINVAL for an unknown option or a value out of
 * range. String options are copied (at most 255 bytes). */

typedef enum mw_option {
    MW_OPTION_STATS,              /* 1: print statistics to stderr at exit */
    MW_OPTION_VERBOSE,            /* 1: print options at start and notable events */
    MW_OPTION_PURGE_DELAY_MS,     /* dirty large regions older than this are purged */
    MW_OPTION_PURGE_INTERVAL_MS,  /* >0: a background thread purges at this period */
    MW_OPTION_REGION_DIR,         /* string: back large regions with files in this directory */
    MW_OPTION_ARENA_DIRTY_MAX,    /* KiB of free dirty spans the arena keeps before purging */
    MW_OPTION_ON_CORRUPTION,      /* string: "abort" (default) or "report" (hardened) */
    MW_OPTION_QUARANTINE,         /* bytes of freed blocks each thread holds back (hardened) */
    MW_OPTION_GUARD_SAMPLE,       /* N: one allocation in about N on a guarded page; 0: off */
    MW_OPTION_MESH,               /* 1 (default): mesh sparse spans; 0: never */
    MW_OPTION_MESH_PERIOD_MS,     /* least time between two mesh passes */
    MW_OPTION_RESERVE,            /* bytes reserved (and committed) at start in an arena */
    MW_OPTION_LARGE_PAGES,        /* 1: transparent huge pages for the default arena */
    MW_OPTION_RESERVE_HUGE_PAGES, /* N: an arena of N 2 MiB hugetlb pages at start */
    MW_OPTION_COUNT
} mw_option_t;

long mw_option_get(mw_option_t option);
int mw_option_set(mw_option_t option, long value);
const char *mw_option_get_string(mw_option_t option); /* NULL for a numeric option */
int mw_option_set_string(mw_option_t option, const char *value);
const char *mw_option_name(mw_option_t option); /* "STATS", ...; NULL when out of range */

/* ---- statistics ------------------------------------------------------------------------ */

#define MW_STATS_SIZE_CLASSES 72   /* slab size classes, see README.md for the table */
#define MW_STATS_REGION_CLASSES 16 /* power-of-two region classes */

struct mw_class_stats {
    uint64_t block_size;  /* usable size of a block of this class */
    uint64_t allocations; /* blocks handed out, ever */
    uint64_t frees;       /* blocks given back, ever */
    uint64_t spans;       /* spans of this class in use now */
};

struct mw_region_class_stats {
    uint64_t region_size;    /* bytes per region of this class */
    uint64_t areas;          /* areas carved for this class */
    uint64_t area_bytes;     /* bytes of those areas */
    uint64_t free_regions;   /* regions in the dirty and clean pools together */
    uint64_t dirty_regions;  /* free regions whose pages are still resident */
    uint64_t clean_regions;  /* free regions whose pages went back to the OS */
    uint64_t cached_regions; /* regions sitting in per-thread caches */
    uint64_t allocations;
    uint64_t frees;
    uint64_t refills;          /* new areas carved */
    uint64_t slow_allocations; /* allocations that missed the thread cache */
    uint64_t steals;           /* regions taken from another thread's cache */
    uint64_t purged_bytes;     /* bytes given back to the OS, ever */
};

struct mw_stats {
    uint64_t live_blocks;     /* blocks allocated and not yet freed (all kinds) */
    uint64_t live_bytes;      /* usable bytes of those blocks */
    uint64_t allocations;     /* blocks handed out, ever (all kinds) */
    uint64_t frees;           /* blocks given back, ever (all kinds; quarantined ones included) */
    uint64_t foreign_frees;   /* frees of pointers meshward does not own (ignored) */
    uint64_t arena_reserved;  /* bytes of virtual address space reserved for spans */
    uint64_t arena_committed; /* bytes of spans carved and not purged */
    uint64_t arena_purged;    /* bytes of spans given back to the OS, ever */
    uint64_t spans_in_use;    /* spans attached to a heap or abandoned with live blocks */
    uint64_t spans_free;      /* spans sitting in the arena's free lists */
    uint64_t spans_abandoned; /* spans of exited threads waiting for adoption */
    uint64_t heaps;           /* thread and first-class heaps alive */
    uint64_t huge_blocks;     /* live objects above the largest region class */
    uint64_t huge_bytes;
    uint64_t meta_bytes; /* bytes used by out-of-line metadata */
    uint64_t rss_bytes;  /* resident set size of the process, from /proc */
    uint64_t peak_rss_bytes;
    uint32_t size_classes;   /* entries used in classes[] */
    uint32_t region_classes; /* entries used in regions[] */
    struct mw_class_stats classes[MW_STATS_SIZE_CLASSES];
    struct mw_region_class_stats regions[MW_STATS_REGION_CLASSES];
    uint64_t checks;              /* hardened: block checks made (frees, reuses, heap walks) */
    uint64_t corruptions;         /* hardened and sampled blocks: corruptions reported */
    uint64_t quarantined_blocks;  /* hardened: freed blocks held back from reuse (not live) */
    uint64_t quarantined_bytes;   /* their slot or region bytes */
    uint64_t meshed_spans;        /* spans whose pages now map another span's (aliases) */
    uint64_t mesh_passes;         /* mesh passes run, ever */
    uint64_t meshes;              /* pairs of spans meshed, ever */
    uint64_t mesh_released_bytes; /* physical memory those meshes gave back, ever */
    uint64_t mesh_ns;             /* time spent in mesh passes */
    uint64_t mesh_max_pause_ns;   /* the longest pass */
    uint64_t arenas;              /* arenas, the default one included (ids 0 to arenas-1) */
};

struct mw_arena_stats {
    uint64_t size;      /* bytes of the arena's part of the range */
    uint64_t page_size; /* 4096; 2 MiB for transparent or hugetlb pages; 1 GiB */
    uint64_t committed; /* bytes of memory it holds now (carved and not purged, or all) */
    uint64_t used;      /* bytes of spans in use (attached to a heap, or abandoned) and of
                           large blocks' pages (guard pages included) */
    uint32_t flags;     /* MW_ARENA_* it was made with */
};

/* Fills *out for arena id; 0, or EINVAL when out is NULL or id names no arena. */
int mw_arena_stats(mw_arena_id_t id, struct mw_arena_stats *out);

/* Fills *out with a snapshot (counters of running threads may lag by a few operations).
 * Returns 0, or EINVAL when out is NULL. */
int mw_stats_get(struct mw_stats *out);
/* Writes a human-readable summary to file descriptor fd, without allocating. */
void mw_stats_print(int fd);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* MESHWARD_H */
