/* huge.c — objects above MW_REGION_MAX (and any request aligned beyond it): each is its own
 * private anonymous mapping placed inside one reserved PROT_NONE range, so its kind is known
 * from its address alone.
 *
 * The range is cut into 2 MiB granules; an object starts on a granule and owns whole
 * granules (virtual space only: the tail of its last granule stays PROT_NONE, so running off
 * the end faults). Metadata is out of line: a bitmap of owned granules and, per starting
 * granule, the object's mapped length (0 when no object starts there).
 *
 * Mappings replace the reservation with MAP_FIXED and are returned to it the same way, so
 * the address space never has a hole another mmap could fall into — except after mremap
 * moves an object, which unmaps the old place: that place is re-reserved with
 * MAP_FIXED_NOREPLACE, and if someone else mapped there meanwhile its granules stay marked
 * owned for good. lock protects the bitmap, the lengths' writers and the counters; no
 * system call runs under it. */
#include "huge.h"

#include "lock.h"
#include "os.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define GRANULE_SHIFT 21 /* 2 MiB: an object of 64 MiB + 1 wastes 2 MiB at most */
#define GRANULE ((size_t)1 << GRANULE_SHIFT)
#define RANGE_MAX ((size_t)1 << 42)   /* 4 TiB, less under ulimit -v, halved until granted */
#define RANGE_MIN ((size_t)128 << 20) /* under a tight ulimit -v, room for one object */

static struct {
    uintptr_t base;
    _Atomic size_t size; /* 0 until reserved; read by mw_huge_owns */
    size_t ngran;
    uint64_t *used;      /* one bit per granule */
    _Atomic size_t *len; /* per starting granule */
    atomic_bool ready;
    mw_lock_t lock;
    uint64_t blocks, bytes, allocations, frees;
} huge;

static void *map(void *at, size_t len, int prot, int flags) {
    return mmap(at, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
#define RESERVE_FLAGS MAP_NORESERVE

static bool init(void) {
    if (mw_likely(atomic_load_explicit(&huge.ready, memory_order_acquire))) return true;
    mw_lock(&huge.lock);
    size_t start = mw_os_reserve_share() & ~(GRANULE - 1);
    start = start > RANGE_MAX ? RANGE_MAX : start < RANGE_MIN ? RANGE_MIN : start;
    for (size_t size = start; !huge.ready && size >= RANGE_MIN; size /= 2) {
        size = size & ~(GRANULE - 1);
        size_t ngran = size >> GRANULE_SHIFT;
        char *raw = map(NULL, size + GRANULE, PROT_NONE, RESERVE_FLAGS);
        if (raw == MAP_FAILED) continue;
        char *base = (char *)mw_align_up((uintptr_t)raw, GRANULE);
        if (base > raw) munmap(raw, (size_t)(base - raw));
        munmap(base + size, (size_t)(raw + GRANULE - base));
        void *meta = mw_os_reserve(ngran / 8 + ngran * sizeof(size_t), MW_PAGE_SIZE);
        if (!meta) {
            munmap(base, size);
            continue;
        }
        huge.len = meta;
        huge.used = (uint64_t *)((char *)meta + ngran * sizeof(size_t));
        huge.ngran = ngran;
        huge.base = (uintptr_t)base;
        atomic_store_explicit(&huge.size, size, memory_order_release);
        atomic_store_explicit(&huge.ready, true, memory_order_release);
    }
    mw_unlock(&huge.lock);
    return huge.ready;
}

/* ---- the granule bitmap (under huge.lock) ---------------------------------------------- */

static bool is_used(size_t g) {
    return (huge.used[g / 64] >> (g % 64)) & 1;
}

static void mark(size_t g, size_t n, bool used) {
    for (size_t i = g; i < g + n; i++) {
        uint64_t bit = (uint64_t)1 << (i % 64);
        huge.used[i / 64] = used ? huge.used[i / 64] | bit : huge.used[i / 64] & ~bit;
    }
}

static bool all_free(size_t g, size_t n) {
    for (size_t i = g; i < g + n; i++)
        if (is_used(i)) return false;
    return true;
}

/* First fit: n free granules whose address is a multiple of align; SIZE_MAX when none.
 * Each granule is looked at a bounded number of times: a used one moves the start past it. */
static size_t find(size_t n, size_t align) {
    size_t step = align > GRANULE ? align >> GRANULE_SHIFT : 1;
    size_t first = (mw_align_up(huge.base, step << GRANULE_SHIFT) - huge.base) >> GRANULE_SHIFT;
    if (MW_HARDENED && first == 0) first = step; /* granule 0: the guard before the first object */
    for (size_t g = first; g + n <= huge.ngran;) {
        size_t i = g;
        while (i < g + n && !is_used(i))
            i++;
        if (i == g + n) return g;
        g = first + mw_align_up(i + 1 - first, step);
    }
    return SIZE_MAX;
}

static size_t granules(size_t len) {
    return (len + GRANULE - 1) >> GRANULE_SHIFT;
}
static size_t index_of(const void *p) {
    return ((uintptr_t)p - huge.base) >> GRANULE_SHIFT;
}

/* Takes n granules at an address aligned to align; SIZE_MAX when the range is full. */
static size_t take(size_t n, size_t align) {
    mw_lock(&huge.lock);
    size_t g = find(n, align);
    if (g != SIZE_MAX) mark(g, n, true);
    mw_unlock(&huge.lock);
    return g;
}

static void give_back(size_t g, size_t n) {
    mw_lock(&huge.lock);
    mark(g, n, false);
    mw_unlock(&huge.lock);
}

/* Records that the object at granule g now maps len bytes (0: gone), adjusting counters. */
static void set_len(size_t g, size_t len, int births) {
    mw_lock(&huge.lock);
    huge.bytes += len - atomic_load_explicit(&huge.len[g], memory_order_relaxed);
    atomic_store_explicit(&huge.len[g], len, memory_order_release);
    huge.blocks += (uint64_t)births;
    if (births > 0) huge.allocations++;
    if (births < 0) huge.frees++;
    mw_unlock(&huge.lock);
}

/* Puts [p, p+len) back into the reservation; false if the kernel refused. */
static bool unmap_to_reserve(void *p, size_t len) {
    return map(p, len, PROT_NONE, MAP_FIXED | RESERVE_FLAGS) == p;
}

/* ---- the API ----------------------------------------------------------------------------- */

bool mw_huge_owns(const void *p) {
    size_t size = atomic_load_explicit(&huge.size, memory_order_acquire);
    return (uintptr_t)p - huge.base < size;
}

bool mw_huge_overlaps(const void *p, size_t size) {
    size_t n = atomic_load_explicit(&huge.size, memory_order_acquire);
    return mw_ranges_overlap((uintptr_t)p, size, huge.base, n);
}

bool mw_huge_is_live(const void *p) {
    if (!mw_huge_owns(p) || ((uintptr_t)p & (GRANULE - 1))) return false;
    return atomic_load_explicit(&huge.len[index_of(p)], memory_order_acquire) != 0;
}

void *mw_huge_start_of(const void *p) {
    if (!mw_huge_owns(p)) return NULL;
    for (size_t g = index_of(p) + 1; g-- > 0;) {
        size_t len = atomic_load_explicit(&huge.len[g], memory_order_acquire);
        if (!len) continue;
        char *start = (char *)(huge.base + (g << GRANULE_SHIFT));
        return (const char *)p < start + mw_align_up(len, GRANULE) ? start : NULL;
    }
    return NULL;
}

size_t mw_huge_usable_size(const void *p) {
    return atomic_load_explicit(&huge.len[index_of(p)], memory_order_acquire);
}

void *mw_huge_alloc(size_t size, size_t align) {
    if (!init()) return NULL;
    size_t range = atomic_load_explicit(&huge.size, memory_order_relaxed);
    if (size == 0 || size > range || align > range) return NULL;
    int saved = errno;
    size_t len = mw_align_up(size, MW_PAGE_SIZE), n = granules(len);
    size_t g = take(n, align);
    if (g == SIZE_MAX) return NULL;
    char *p = (char *)(huge.base + (g << GRANULE_SHIFT));
    if (map(p, len, PROT_READ | PROT_WRITE, MAP_FIXED) != p) {
        give_back(g, n);
        errno = saved;
        return NULL;
    }
    set_len(g, len, 1);
    return p;
}

void mw_huge_free(void *p) {
    size_t g = index_of(p), len = mw_huge_usable_size(p);
    int saved = errno;
    bool reserved = unmap_to_reserve(p, len);
    if (!reserved) munmap(p, len); /* out of mappings: at least return the memory */
    errno = saved;
    set_len(g, 0, -1);
    /* Granules whose reservation is lost are never handed out again. */
    if (reserved) give_back(g, granules(len));
}

/* Moves the object p (len bytes) to fresh granules, resized to new_len: mremap moves the
 * page tables, not the contents. */
static void *move(void *p, size_t len, size_t new_len) {
    size_t g = index_of(p), n = granules(new_len);
    size_t ng = take(n, 1);
    if (ng == SIZE_MAX) return NULL;
    char *q = (char *)(huge.base + (ng << GRANULE_SHIFT));
    bool back;
    if (mremap(p, len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, q) == q) {
        /* [p, p+len) is unmapped now: take it back unless someone else mapped there. */
        void *at = map(p, len, PROT_NONE, MAP_FIXED_NOREPLACE | RESERVE_FLAGS);
        back = at == p;
        if (!back && at != MAP_FAILED) munmap(at, len); /* a kernel without NOREPLACE */
    } else {
        /* mremap refuses a range made of several mappings (a growth in place that the
         * kernel did not merge): copy instead. */
        if (map(q, new_len, PROT_READ | PROT_WRITE, MAP_FIXED) != q) {
            unmap_to_reserve(q, new_len);
            give_back(ng, n);
            return NULL;
        }
        memcpy(q, p, len);
        back = unmap_to_reserve(p, len);
        if (!back) munmap(p, len);
    }
    set_len(ng, new_len, 0);
    set_len(g, 0, 0);
    if (back) give_back(g, granules(len));
    return q;
}

void *mw_huge_realloc(void *p, size_t size) {
    size_t range = atomic_load_explicit(&huge.size, memory_order_relaxed);
    if (size == 0 || size > range) return NULL;
    size_t g = index_of(p), len = mw_huge_usable_size(p), new_len = mw_align_up(size, MW_PAGE_SIZE);
    size_t n = granules(len), new_n = granules(new_len);
    int saved = errno;
    void *result = p;
    if (new_len < len) {
        if (unmap_to_reserve((char *)p + new_len, len - new_len)) {
            set_len(g, new_len, 0);
            give_back(g + new_n, n - new_n);
        }
    } else if (new_len > len) {
        bool in_place = new_n == n;
        if (!in_place) {
            mw_lock(&huge.lock);
            in_place = g + new_n <= huge.ngran && all_free(g + n, new_n - n);
            if (in_place) mark(g + n, new_n - n, true);
            mw_unlock(&huge.lock);
        }
        if (!in_place) {
            result = move(p, len, new_len);
        } else if (map((char *)p + len, new_len - len, PROT_READ | PROT_WRITE, MAP_FIXED) ==
                   (char *)p + len) {
            set_len(g, new_len, 0);
        } else {
            unmap_to_reserve((char *)p + len, new_len - len);
            if (new_n > n) give_back(g + n, new_n - n);
            result = NULL;
        }
    }
    errno = saved;
    return result;
}

void mw_huge_stats(struct mw_stats *st) {
    mw_lock(&huge.lock);
    st->huge_blocks += huge.blocks;
    st->huge_bytes += huge.bytes;
    st->live_blocks += huge.blocks;
    st->live_bytes += huge.bytes;
    st->allocations += huge.allocations;
    st->frees += huge.frees;
    mw_unlock(&huge.lock);
}

void mw_huge_fork_prepare(void) {
    mw_lock(&huge.lock);
}
void mw_huge_fork_parent(void) {
    mw_unlock(&huge.lock);
}
void mw_huge_fork_child(void) {
    mw_lock_reset(&huge.lock);
}
