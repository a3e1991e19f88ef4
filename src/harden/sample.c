/* harden/sample.c — the pool of sampled guarded blocks (see sample.h). Each slot is two
 * pages, [data][guard]; the block ends where the guard begins (rounded to 16 bytes for
 * alignment), the bytes around it in the data page are zero and checked at free. Free slots
 * wait in a FIFO, so a freed slot's page stays protected as long as possible. */
#include "harden/sample.h"

#include "harden/canary.h"
#include "harden/verdict.h"
#include "lock.h"
#include "mw_valgrind.h"
#include "os.h"

#include <errno.h>
#include <meshward.h>
#include <string.h>
#include <sys/mman.h>

struct slot {
    char *p; /* the block (valid once the slot has been used) */
    struct mw_lrec rec;
};

int mw_sample_rate;
/* until the pool exists: the top of the address space, where no block of the program lies */
char *mw_sample_base = (char *)(uintptr_t)-MW_SAMPLE_BYTES;
static struct slot slots[MW_SAMPLE_SLOTS];
static uint16_t fifo[MW_SAMPLE_SLOTS]; /* free slot numbers, oldest first */
static unsigned fifo_head, fifo_count;
static mw_lock_t lock;
__thread uint32_t mw_sample_countdown;
static uint64_t rng;

void mw_sample_init(void) {
    mw_sample_rate = (int)mw_option_get(MW_OPTION_GUARD_SAMPLE);
    if (mw_vg_active()) mw_sample_rate = 0; /* memcheck's redzones do this job, page-free */
    if (!mw_sample_rate) return;
    void *r =
        mmap(NULL, MW_SAMPLE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
        mw_sample_rate = 0;
        return;
    }
    mw_sample_base = r;
    for (unsigned i = 0; i < MW_SAMPLE_SLOTS; i++)
        fifo[i] = (uint16_t)i;
    fifo_count = MW_SAMPLE_SLOTS;
    mw_os_random(&rng, sizeof rng);
}

/* The next gap between samples: uniform in [1, 2N - 1], N on average. */
static uint32_t next_gap(void) {
    uint64_t x = __atomic_add_fetch(&rng, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
    return 1 + (uint32_t)((x >> 33) % (2 * (uint64_t)mw_sample_rate - 1));
}

/* Every allocation counts, a thread's first included: the first gap starts there. */
bool mw_sample_tick_slow(void) {
    if (mw_sample_countdown == 0) mw_sample_countdown = next_gap(); /* a new thread */
    if (mw_sample_countdown > 1) {
        mw_sample_countdown--;
        return false;
    }
    mw_sample_countdown = next_gap();
    return true;
}

/* The slot whose pages hold addr (mw_sample_owns(addr)). */
static unsigned slot_of(const void *addr) {
    return (unsigned)(((uintptr_t)addr - (uintptr_t)mw_sample_base) / MW_SAMPLE_SLOT_BYTES);
}

static int take_slot(void) {
    mw_lock(&lock);
    int i = -1;
    if (fifo_count) {
        i = fifo[fifo_head];
        fifo_head = (fifo_head + 1) % MW_SAMPLE_SLOTS;
        fifo_count--;
    }
    mw_unlock(&lock);
    return i;
}

static void put_slot(unsigned i) {
    mw_lock(&lock);
    fifo[(fifo_head + fifo_count) % MW_SAMPLE_SLOTS] = (uint16_t)i;
    fifo_count++;
    mw_unlock(&lock);
}

void *mw_sample_alloc(size_t size, size_t align, unsigned how, void *ip) {
    if (!mw_sample_rate || size == 0 || size > MW_SAMPLE_MAX || align > MW_MIN_ALIGN) return NULL;
    int i = take_slot();
    if (i < 0) return NULL;
    char *page = mw_sample_base + (size_t)i * MW_SAMPLE_SLOT_BYTES;
    if (mprotect(page, MW_PAGE_SIZE, PROT_READ | PROT_WRITE) != 0) {
        put_slot((unsigned)i);
        return NULL;
    }
    struct slot *s = &slots[i];
    s->p = page + MW_PAGE_SIZE - mw_align_up(size ? size : 1, MW_MIN_ALIGN);
    s->rec.size = size;
    mw_rec_set_live(&s->rec.h, size, how, ip);
    return s->p;
}

bool mw_sample_locate(const void *addr, struct mw_hd_block *b) {
    if (!mw_sample_owns(addr)) return false;
    struct slot *s = &slots[slot_of(addr)];
    if (!s->p) return false;
    *b = (struct mw_hd_block){.p = s->p,
                              .kind = MW_HD_SAMPLE,
                              .rec = &s->rec.h,
                              .lrec = &s->rec,
                              .size = s->rec.size,
                              .cap = mw_align_up(s->rec.size ? s->rec.size : 1, MW_MIN_ALIGN)};
    return true;
}

size_t mw_sample_size(const void *p) {
    struct mw_hd_block b;
    if (!mw_sample_locate(p, &b) || b.p != (const char *)p) return 0;
    return mw_rec_state(b.rec->state) == MW_HS_LIVE ? b.size : 0;
}

void *mw_sample_realloc(struct mw_heap *h, void *p, size_t size, void *ip,
                        void *(*alloc)(struct mw_heap *h, size_t size, void *ip)) {
    size_t old = mw_sample_size(p);
    void *q = old ? alloc(h, size, ip) : NULL;
    if (q) memcpy(q, p, old < size ? old : size);
    if (q || !old) mw_sample_free(p, MW_OP_REALLOC, ip);
    if (!old) errno = EINVAL;
    return q;
}

/* The zero bytes around the block: after it up to the guard, before it from the page start. */
static bool intact(const struct mw_hd_block *b) {
    char *page = (char *)((uintptr_t)b->p & ~(uintptr_t)(MW_PAGE_SIZE - 1));
    size_t after = mw_nonzero_extent(b->p + b->size, b->cap - b->size);
    if (after) {
        mw_hd_report_overflow(b, after, 0);
        return false;
    }
    size_t head = (size_t)(b->p - page);
    size_t first = mw_first_nonzero(page, head);
    if (first < head) {
        mw_hd_report_overflow(b, 0, head - first);
        return false;
    }
    return true;
}

void mw_sample_free(void *p, enum mw_op op, void *ip) {
    struct mw_hd_block b;
    bool found = mw_sample_locate(p, &b);
    uint64_t seen;
    if (!mw_hd_check_live(p, found, &b, op, &seen)) return;
    if (!intact(&b)) return;
    if (!mw_rec_set_freed(b.rec, seen, ip)) {
        mw_hd_report_race(p, &b, op);
        return;
    }
    mw_rec_release(b.rec);
    char *page = (char *)((uintptr_t)p & ~(uintptr_t)(MW_PAGE_SIZE - 1));
    madvise(page, MW_PAGE_SIZE, MADV_DONTNEED); /* reads as zero when it comes round again */
    mprotect(page, MW_PAGE_SIZE, PROT_NONE);
    put_slot(slot_of(page));
}
