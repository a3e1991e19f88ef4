/* region/area.c — the region range and its areas: reserving the range once, handing out
 * 64 MiB areas from it in address order, backing areas with an unlinked file when
 * MESHWARD_REGION_DIR asks for it, giving a region's pages back to the OS, and re-backing
 * file-backed areas in a forked child.
 *
 * Invariants: the range is reserved read-write and never committed (MAP_NORESERVE), so an
 * anonymous area costs no system call when taken; a file-backed area is one shared mapping
 * of the region file at offset (area index * 64 MiB), so adjacent areas merge into one
 * mapping. A released area keeps its mapping and goes to a free stack, taken before fresh
 * areas. area_lock protects areas_used, the free stack, the file descriptor and the file's
 * size. */
#include "region/internal.h"

#include "mw_valgrind.h"
#include "os.h"
#if MW_HARDENED
#include "harden/guard.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct mw_region_range mw_region_range;

/* Largest reservation tried first; halved until the kernel agrees (under valgrind or a
 * ulimit -v the address space is smaller). Virtual space is cheap: only touched pages
 * and the descriptors of taken areas cost memory. */
#define RANGE_MAX ((size_t)1 << 40) /* 1 TiB */
#define RANGE_MIN MW_AREA_SIZE      /* under a tight ulimit -v, one area is better than none */

static mw_lock_t area_lock;
static uint32_t free_areas = MW_RID_NIL; /* released areas, linked through slot[0].next */
static int region_fd = -1;
static bool file_tried; /* MESHWARD_REGION_DIR was looked at (once per process) */
static uint64_t file_size;

bool mw_region_range_init(void) {
    if (mw_likely(mw_region_range_ready())) return true;
    mw_lock(&area_lock);
    size_t size = RANGE_MAX;
    void *base =
        mw_region_range_ready() ? NULL : mw_os_reserve_upto(&size, RANGE_MIN, MW_AREA_SIZE);
    if (base) {
        mw_vg_noaccess(base, size); /* regions become the program's one by one */
        uint32_t nareas = (uint32_t)(size >> MW_AREA_SHIFT);
        void *meta = mw_os_reserve(nareas * sizeof(struct mw_area), MW_PAGE_SIZE);
        if (meta) {
            mw_region_range.areas = meta;
            mw_region_range.nareas = nareas;
            mw_region_range.base = (uintptr_t)base;
            mw_region_pool_init();
            /* size last: mw_region_owns reads it (then base) without a lock. */
            atomic_store_explicit(&mw_region_range.size, size, memory_order_release);
            atomic_store_explicit(&mw_region_range.ready, true, memory_order_release);
        } else {
            mw_os_unmap(base, size);
        }
    }
    mw_unlock(&area_lock);
    return mw_region_range_ready();
}

/* ---- file-backed areas -------------------------------------------------------------- */

static const char *errno_text(int err) {
    switch (err) {
    case ENOENT:
        return "no such directory";
    case ENOTDIR:
        return "not a directory";
    case EACCES:
    case EPERM:
        return "permission denied";
    case EROFS:
        return "read-only file system";
    case ENOSPC:
        return "no space left";
    case EOPNOTSUPP:
        return "the file system cannot punch holes";
    default:
        return "cannot create a file there";
    }
}

static bool verbose(void) {
    return mw_option_get(MW_OPTION_VERBOSE) > 0;
}

/* O_TMPFILE gives a file that never has a name; where the file system lacks it, a named
 * file is created and unlinked at once. Either way nothing is left behind. */
static int create_unlinked(const char *dir) {
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
    static const char leaf[] = "/.meshward-region-";
    char path[4096], num[21];
    mw_fmt_u64(num, mw_os_now_ns() ^ ((uint64_t)getpid() << 40));
    size_t dl = strlen(dir), nl = strlen(num);
    if (dl + sizeof leaf + nl > sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, dl);
    memcpy(path + dl, leaf, sizeof leaf - 1);
    memcpy(path + dl + sizeof leaf - 1, num, nl + 1);
    fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) unlink(path);
    return fd;
}

/* Opens the region file if MESHWARD_REGION_DIR names a usable directory; called under
 * area_lock when the first area is taken. Purging needs hole punching, so that is probed. */
static void open_region_file(void) {
    file_tried = true;
    const char *dir = mw_option_get_string(MW_OPTION_REGION_DIR);
    if (!dir || !*dir) return;
    int fd = create_unlinked(dir);
    if (fd >= 0 &&
        (ftruncate(fd, MW_PAGE_SIZE) != 0 ||
         fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MW_PAGE_SIZE) != 0 ||
         ftruncate(fd, 0) != 0)) {
        int err = errno;
        close(fd);
        fd = -1;
        errno = err;
    }
    if (fd < 0) {
        if (verbose()) {
            mw_write_str(2, "meshward: MESHWARD_REGION_DIR=");
            mw_write_str(2, dir);
            mw_write_str(2, ": ");
            mw_write_str(2, errno_text(errno));
            mw_write_str(2, "; large blocks use anonymous memory\n");
        }
        return;
    }
    region_fd = fd;
    file_size = 0;
    static bool announced; /* not again in forked children, which open files of their own */
    if (!announced && verbose()) {
        announced = true;
        mw_write_str(2, "meshward: large blocks are backed by unlinked files in ");
        mw_write_str(2, dir);
        mw_write_str(2, "\n");
    }
}

static char *area_start(uint32_t a) {
    return (char *)(mw_region_range.base + ((uintptr_t)a << MW_AREA_SHIFT));
}

/* Maps area a from the region file; false leaves it anonymous (the reservation). */
static bool map_from_file(uint32_t a) {
    uint64_t end = ((uint64_t)a + 1) << MW_AREA_SHIFT;
    if (end > file_size) {
        if (ftruncate(region_fd, (off_t)end) != 0) return false;
        file_size = end;
    }
    void *at = area_start(a);
    void *p = mmap(at, MW_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, region_fd,
                   (off_t)a << MW_AREA_SHIFT);
    return p == at;
}

uint32_t mw_region_area_take(unsigned cls) {
    int saved = errno;
    mw_lock(&area_lock);
    uint32_t a = free_areas;
    if (a != MW_RID_NIL) {
        free_areas = mw_region_range.areas[a].slot[0].next;
        mw_region_range.areas[a].cls = (uint8_t)cls;
        mw_unlock(&area_lock);
#if MW_HARDENED
        mw_guard_area_taken(area_start(a), MW_AREA_SIZE);
#endif
        return a;
    }
    a = atomic_load_explicit(&mw_region_range.areas_used, memory_order_relaxed);
    if (a == mw_region_range.nareas) {
        mw_unlock(&area_lock);
        return MW_RID_NIL;
    }
    struct mw_area *area = &mw_region_range.areas[a];
    area->cls = (uint8_t)cls;
    if (!file_tried) open_region_file();
    area->file_backed = region_fd >= 0 && map_from_file(a);
#if MW_HARDENED
    mw_guard_area_taken(area_start(a), MW_AREA_SIZE);
#endif
    atomic_store_explicit(&mw_region_range.areas_used, a + 1, memory_order_release);
    mw_unlock(&area_lock);
    errno = saved;
    return a;
}

/* Gives the pages of [p, p+size) in an area back to the OS; they read as zero after. */
static void purge_pages(char *p, size_t size, bool file_backed) {
    if (file_backed) {
        int saved = errno;
        off_t off = (off_t)((uintptr_t)p - mw_region_range.base);
        int rc = fallocate(region_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, (off_t)size);
        errno = saved;
        if (rc == 0) return;
            /* Hole punching was probed when the file was opened; should it fail now, dropping
             * the mapping's pages would leave the data in the file, so clear it instead: a
             * clean region must read as zero (the hardened build protects freed regions). */
#if MW_HARDENED
        mprotect(p, size - MW_PAGE_SIZE, PROT_READ | PROT_WRITE); /* not the guard */
#endif
        memset(p, 0, size);
    }
    mw_os_decommit(p, size);
}

void mw_region_area_purge(mw_rid_t id) {
    purge_pages(mw_rid_addr(id), mw_region_class_size(mw_rid_cls(id)),
                mw_rid_area(id)->file_backed);
}

void mw_region_area_release(uint32_t a) {
    purge_pages(area_start(a), MW_AREA_SIZE, mw_region_range.areas[a].file_backed);
#if MW_HARDENED
    mw_guard_area_released(area_start(a), MW_AREA_SIZE);
#endif
    mw_lock(&area_lock);
    mw_region_range.areas[a].slot[0].next = free_areas;
    free_areas = a;
    mw_unlock(&area_lock);
}

/* ---- fork ---------------------------------------------------------------------------- */

void mw_region_area_fork_prepare(void) {
    mw_lock(&area_lock);
}
void mw_region_area_fork_parent(void) {
    mw_unlock(&area_lock);
}

/* Copies the parts of [off, off+len) of the region file that hold data (holes read as
 * zero in the fresh copy anyway, and copying them would make them resident). */
static void copy_data(off_t off, size_t len, const char *src, char *dst) {
    off_t end = off + (off_t)len, pos = off;
    while (pos < end) {
        off_t data = lseek(region_fd, pos, SEEK_DATA);
        if (data < 0 && errno == ENXIO) return;
        off_t hole = data < 0 ? end : lseek(region_fd, data, SEEK_HOLE);
        if (data < 0) data = pos; /* no SEEK_DATA: copy the rest */
        if (hole < 0 || hole > end) hole = end;
        if (data >= end) return;
        memcpy(dst + (data - off), src + (data - off), (size_t)(hole - data));
        pos = hole;
    }
}

static bool slot_live(struct mw_area *area, uint32_t slot) {
    uint64_t word = atomic_load_explicit(&area->live[slot / 64], memory_order_relaxed);
    return (word >> (slot % 64)) & 1;
}

/* The hardened build's guard page ends every region: nothing to copy there. */
#define GUARD (MW_HARDENED ? MW_PAGE_SIZE : 0)

/* The child shares the parent's file pages through MAP_SHARED: give it private copies of
 * its live regions (free ones have unspecified contents) and its own file for new areas. */
static bool reback_area(uint32_t a) {
    struct mw_area *area = &mw_region_range.areas[a];
    char *at = area_start(a);
    char *tmp = mmap(NULL, MW_AREA_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (tmp == MAP_FAILED) return false;
    size_t size = mw_region_class_size(area->cls);
#if MW_HARDENED /* freed regions waiting in a quarantine are protected: readable for the copy */
    mw_guard_area_released(at, MW_AREA_SIZE);
#endif
    for (uint32_t slot = 0; slot < (uint32_t)(MW_AREA_SIZE / size); slot++)
        if (slot_live(area, slot))
            copy_data(((off_t)a << MW_AREA_SHIFT) + (off_t)(slot * size), size - GUARD,
                      at + slot * size, tmp + slot * size);
    if (mremap(tmp, MW_AREA_SIZE, MW_AREA_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, at) != at) {
        munmap(tmp, MW_AREA_SIZE);
        return false;
    }
#if MW_HARDENED /* the guard pages of the live regions and of the area's end come back */
    for (uint32_t slot = 0; slot < (uint32_t)(MW_AREA_SIZE / size); slot++)
        if (slot_live(area, slot)) mw_guard_tail(at + slot * size, size);
    mw_guard_area_taken(at, MW_AREA_SIZE);
#endif
    return true;
}

void mw_region_area_fork_child(void) {
    mw_lock_reset(&area_lock);
    if (region_fd < 0) return;
    int saved = errno;
    uint32_t used = atomic_load_explicit(&mw_region_range.areas_used, memory_order_relaxed);
    for (uint32_t a = 0; a < used; a++) {
        if (!mw_region_range.areas[a].file_backed) continue;
        if (!reback_area(a))
            mw_write_str(2, "meshward: fork: cannot copy a file-backed region area; "
                            "parent and child share it\n");
        mw_region_range.areas[a].file_backed = 0; /* the old file is closed below */
    }
    close(region_fd);
    region_fd = -1;
    file_tried = false;
    errno = saved;
}
