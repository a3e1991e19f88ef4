/* mesh/file.c — the mesh file (see file.h). Raw system calls only: this runs inside malloc
 * and, at fork, between fork's handlers. */
#include "mesh/file.h"

#include "arena/arena.h"
#include "mesh/barrier.h"
#include "os.h"
#include "span.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;

static off_t offset_of(const struct mw_span *s) {
    return (off_t)(s->start - mw_arena_base);
}
/* The part of s that blocks were ever built in: nothing beyond it was ever written. */
static size_t built_bytes(const struct mw_span *s) {
    return mw_align_up((size_t)s->built * s->block_size, MW_PAGE_SIZE);
}

static int new_file(void) {
    int f = memfd_create("meshward-mesh", MFD_CLOEXEC);
    if (f < 0) return -1;
    if (ftruncate(f, (off_t)mw_arena_size) != 0) {
        close(f);
        return -1;
    }
    return f;
}

/* Creates the file on the first mesh, not before: a process that never meshes holds no
 * descriptor for it. */
static bool file_open(void) {
    if (fd >= 0) return true;
    int saved = errno;
    fd = new_file();
    errno = saved;
    return fd >= 0;
}

/* Maps [start, start + len) shared onto file f at off. populate: fill the page tables now
 * (the caller writes every page next). */
static bool map_shared(int f, char *start, size_t len, off_t off, bool populate) {
    int saved = errno;
    void *p = mmap(start, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0), f, off);
    errno = saved;
    return p == start;
}

/* Copies [start, start + len) into file f at off; false on a short write. */
static bool copy_in(int f, const char *start, size_t len, off_t off) {
    int saved = errno;
    while (len) {
        ssize_t n = pwrite(f, start, len, off);
        if (n <= 0) {
            errno = saved;
            return false;
        }
        start += n;
        len -= (size_t)n;
        off += n;
    }
    errno = saved;
    return true;
}

bool mw_mesh_file_adopt(struct mw_span *s) {
    if (!file_open()) return false;
    mw_mesh_barrier_begin();
    mw_mesh_file_freeze(s);
    bool ok = copy_in(fd, s->start, built_bytes(s), offset_of(s)) &&
              map_shared(fd, s->start, mw_span_bytes(s), offset_of(s), true);
    if (!ok) mw_mesh_file_thaw(s); /* still its private pages */
    mw_mesh_barrier_end();
    if (ok) s->in_file = 1;
    return ok;
}

bool mw_mesh_file_alias(char *start, size_t len, const struct mw_span *kept) {
    return map_shared(fd, start, len, offset_of(kept), false);
}

bool mw_mesh_file_unback(char *start, size_t len) {
    int saved = errno;
    void *p = mmap(start, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    errno = saved;
    return p == start;
}

void mw_mesh_file_punch(const struct mw_span *s) {
    int saved = errno;
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset_of(s),
              (off_t)mw_span_bytes(s));
    errno = saved;
}

static bool solo;

void mw_mesh_file_solo(bool one) {
    solo = one;
}

void mw_mesh_file_freeze(struct mw_span *s) {
    if (!solo) mprotect(s->start, mw_span_bytes(s), PROT_READ);
}

void mw_mesh_file_thaw(struct mw_span *s) {
    if (!solo) mprotect(s->start, mw_span_bytes(s), PROT_READ | PROT_WRITE);
}

/* ---- fork ----------------------------------------------------------------------------
 * Before fork, with every meshed range read-only (the barrier makes writers wait; a
 * single-threaded process has no other writer and skips that), the file is copied from the
 * kept spans' own mappings (pwrite: measured, 15% faster than copy_file_range from file to
 * file, whose splice goes page by page through a pipe); after it, the child maps the copy and the
 * parent keeps the original, which nobody else maps any more. Both start from the same bytes,
 * neither ever sees the other's writes, and no process waits for the other. The parent keeps its
 * mappings and their page tables as they were (mapping the copy there replaced populated ranges and
 * faulted every page in again afterwards); the child's shared ranges have no page tables yet (fork
 * does not copy those of shared file mappings), so mapping them anew costs it little. Kept spans
 * come in address order, so that neighbours (neighbours in the file too) are copied and mapped as
 * one run. */

static int fork_copy = -1;
static bool fork_ok;

/* A run of neighbouring kept spans: [start, start + len), at the same offset in the file. */
static struct run {
    char *start;
    size_t len;
} pending;

/* Adds [start, start + len) to the pending run; returns the run it ended, if any. */
static struct run extend(char *start, size_t len) {
    struct run ended = {NULL, 0};
    if (pending.len && pending.start + pending.len == start) {
        pending.len += len;
        return ended;
    }
    ended = pending;
    pending = (struct run){start, len};
    return ended;
}

static void copy_run(struct run r) {
    if (r.len && fork_ok) fork_ok = copy_in(fork_copy, r.start, r.len, r.start - mw_arena_base);
}

/* Makes kept span s and its aliases read-only and copies s's pages into the new file. */
static void copy_kept(struct mw_span *s) {
    for (struct mw_span *v = s; v; v = v->mesh_next)
        mw_mesh_file_freeze(v);
    copy_run(extend(s->start, mw_span_bytes(s)));
}

/* Maps run r onto the copy; false (r writable again, still the original's) when refused. */
static bool map_run(struct run r) {
    if (!r.len || map_shared(fork_copy, r.start, r.len, r.start - mw_arena_base, false))
        return true;
    if (!solo) mprotect(r.start, r.len, PROT_READ | PROT_WRITE);
    return false;
}

/* The child's side: kept span s (in a run with its neighbours) and its aliases map the
 * copy, writable. What cannot be mapped stays the original's: shared with the parent. */
static void map_copy(struct mw_span *s) {
    for (struct mw_span *v = s->mesh_next; v; v = v->mesh_next)
        if (!map_shared(fork_copy, v->start, mw_span_bytes(v), offset_of(s), false)) {
            mw_mesh_file_thaw(v);
            fork_ok = false;
        }
    if (!map_run(extend(s->start, mw_span_bytes(s)))) fork_ok = false;
}

static void thaw_kept(struct mw_span *s) {
    for (struct mw_span *v = s; v; v = v->mesh_next)
        mw_mesh_file_thaw(v);
}

void mw_mesh_file_fork_prepare(void (*each_kept)(void (*fn)(struct mw_span *))) {
    int saved = errno;
    fork_copy = new_file();
    errno = saved;
    fork_ok = fork_copy >= 0;
    if (!fork_ok) return;
    pending.len = 0;
    each_kept(copy_kept);
    copy_run(extend(NULL, 0));
}

void mw_mesh_file_fork_parent(void (*each_kept)(void (*fn)(struct mw_span *))) {
    each_kept(thaw_kept);
    if (fork_copy >= 0) close(fork_copy);
    fork_copy = -1;
}

bool mw_mesh_file_fork_child(void (*each_kept)(void (*fn)(struct mw_span *))) {
    if (!fork_ok) {
        each_kept(thaw_kept);
        return false;
    }
    pending.len = 0;
    each_kept(map_copy);
    if (!map_run(extend(NULL, 0))) fork_ok = false;
    close(fd);
    fd = fork_copy;
    fork_copy = -1;
    return fork_ok;
}
