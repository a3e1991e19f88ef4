/* arena/api.c — the public arena calls (mw_arena_reserve, mw_arena_manage, mw_arena_area)
 * and the options that reserve arenas at start-up. Arguments are checked here; arena.c
 * carves, arena/manage.c records the program's ranges, arena/pages.c gives the pages their
 * kind. */
#include "arena/arena.h"
#include "init.h"
#include "os.h"
#include "options.h"

#include <errno.h>
#include <meshward.h>

#define ALL_FLAGS                                                                                  \
    (MW_ARENA_EXCLUSIVE | MW_ARENA_LARGE_PAGES | MW_ARENA_HUGE_PAGES | MW_ARENA_HUGE_1G |          \
     MW_ARENA_COMMIT)

static bool flags_valid(unsigned flags) {
    if (flags & ~ALL_FLAGS) return false;
    if ((flags & MW_ARENA_HUGE_1G) && !(flags & MW_ARENA_HUGE_PAGES)) return false;
    return !((flags & MW_ARENA_LARGE_PAGES) && (flags & MW_ARENA_HUGE_PAGES));
}

/* mw_arena_reserve once started (init reserves through it too). */
static int reserve(size_t size, unsigned flags, mw_arena_id_t *id) {
    if (!id || size == 0 || !flags_valid(flags)) return EINVAL;
    size_t align = mw_arena_pages_align(flags);
    if (size > SIZE_MAX - align) return ENOMEM;
    return mw_arena_add(mw_align_up(size, align), align, flags, id);
}

int mw_arena_reserve(size_t size, unsigned flags, mw_arena_id_t *id) {
    mw_init();
    return reserve(size, flags, id);
}

/* The program's memory is mapped already: hugetlb pages cannot be asked of it. */
static bool manage_args_valid(const void *start, size_t size, unsigned flags,
                              const mw_arena_id_t *id) {
    if (!start || !id || !flags_valid(flags) || (flags & MW_ARENA_HUGE_PAGES)) return false;
    if (((uintptr_t)start | size) & (MW_PAGE_SIZE - 1)) return false;
    return size >= ((size_t)MW_SPAN_MAX_PAGES << 12) && (uintptr_t)start + size > (uintptr_t)start;
}

int mw_arena_manage(void *start, size_t size, unsigned flags, mw_arena_id_t *id) {
    mw_init();
    if (!manage_args_valid(start, size, flags, id)) return EINVAL;
    return mw_arena_add_managed(start, size, flags, id);
}

void *mw_arena_area(mw_arena_id_t id, size_t *size) {
    mw_init();
    size_t n = 0;
    char *start = mw_arena_valid(id) ? mw_arena_range(id, &n) : NULL;
    if (size) *size = n;
    return start;
}

static void notice(const char *option, long value, const char *what) {
    char buf[24];
    mw_write_str(2, "meshward: notice: MESHWARD_");
    mw_write_str(2, option);
    mw_write_str(2, "=");
    mw_write_str(2, mw_fmt_u64(buf, (uint64_t)value));
    mw_write_str(2, ": ");
    mw_write_str(2, what);
    mw_write_str(2, "\n");
}

void mw_arena_options_init(void) {
    mw_arena_id_t id;
    long bytes = mw_option_get(MW_OPTION_RESERVE);
    unsigned large = mw_option_get(MW_OPTION_LARGE_PAGES) ? MW_ARENA_LARGE_PAGES : 0;
    if (bytes && reserve((size_t)bytes, MW_ARENA_COMMIT | large, &id))
        notice("RESERVE", bytes, "no room to reserve that much; nothing reserved");
    long pages = mw_option_get(MW_OPTION_RESERVE_HUGE_PAGES);
    if (pages && reserve((size_t)pages << 21, MW_ARENA_HUGE_PAGES, &id))
        notice("RESERVE_HUGE_PAGES", pages,
               "the system has not that many hugetlb pages free; using ordinary pages");
}
