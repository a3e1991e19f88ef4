/* harden/record.c — block records (see record.h): per-span slot arrays from per-class pools
 * of metadata and the table of large blocks (hardened build). Nothing here calls malloc. */
#include "harden/record.h"

#include "meta.h"
#include "os.h"
#include "span.h"

#include <string.h>

_Atomic bool mw_rec_stale; /* both builds: the sampled blocks of production have records */

#if MW_HARDENED

#define LARGE_SLOTS ((size_t)1 << 21) /* 80 MiB reserved, touched where used */

static struct mw_pool pools[MW_CLASS_COUNT]; /* records of one span of each class */
static struct mw_os_lazy range;              /* the table of large blocks */

void mw_rec_span_init(struct mw_span *s) {
    size_t bytes = (size_t)s->capacity * sizeof(struct mw_hrec);
    if (s->records && s->records_cls == s->cls) {
        memset(s->records, 0, bytes);
        return;
    }
    if (s->records) mw_pool_free(&pools[s->records_cls], s->records);
    struct mw_pool *pool = &pools[s->cls];
    if (!pool->size) pool->size = mw_align_up(bytes, 64); /* under the arena lock */
    s->records = mw_pool_alloc(pool);
    s->records_cls = s->cls;
}

void mw_rec_span_drop(struct mw_span *s) {
    if (s->records) mw_pool_free(&pools[s->records_cls], s->records);
    s->records = NULL;
}

static size_t hash(uintptr_t p) {
    uint64_t x = (uint64_t)p >> 4;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 20) & (LARGE_SLOTS - 1);
}

struct mw_lrec *mw_rec_large(const void *p, bool create) {
    if (!mw_os_reserve_once(&range, LARGE_SLOTS * sizeof(struct mw_lrec))) return NULL;
    struct mw_lrec *large = range.at;
    uintptr_t key = ~(uintptr_t)p; /* no pointer: memcheck's leak check must not see one */
    for (size_t i = hash(key), n = 0; n < LARGE_SLOTS; i = (i + 1) & (LARGE_SLOTS - 1), n++) {
        uintptr_t k = atomic_load_explicit(&large[i].key, memory_order_acquire);
        if (k == key) return &large[i];
        if (k != 0) continue;
        if (!create) return NULL;
        if (atomic_compare_exchange_strong(&large[i].key, &k, key)) return &large[i];
        if (k == key) return &large[i];
    }
    return NULL;
}

#endif
