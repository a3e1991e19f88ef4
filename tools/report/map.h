/* report/map.h — the report's hash map: 64-bit keys to 32-bit values (indexes into the
 * arrays that hold the records), open addressing with linear probing and backward-shift
 * deletion, so that lookups stay short after many deletions. Key and value share one slot
 * (one cache line per probe); UINT64_MAX is the empty slot and never a key. Its memory
 * follows the number of keys present (it grows at 1/2 full and never holds tombstones). */
#ifndef MW_REPORT_MAP_H
#define MW_REPORT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep_map_slot {
    uint64_t key;
    uint64_t val;
};

struct rep_map {
    struct rep_map_slot *slot;
    size_t mask, n;
};

#define REP_MAP_EMPTY UINT64_MAX

static inline size_t rep_map_home(const struct rep_map *m, uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & m->mask;
}

/* The value of key, or -1. */
static inline int64_t rep_map_get(const struct rep_map *m, uint64_t key) {
    if (!m->slot) return -1;
    for (size_t i = rep_map_home(m, key);; i = (i + 1) & m->mask) {
        if (m->slot[i].key == key) return (int64_t)m->slot[i].val;
        if (m->slot[i].key == REP_MAP_EMPTY) return -1;
    }
}

/* Sets key to val (inserting it or replacing its value); returns the value it replaced,
 * or -1. */
int64_t rep_map_put(struct rep_map *m, uint64_t key, uint32_t val);
/* Removes key; returns its value, or -1 when absent. */
int64_t rep_map_del(struct rep_map *m, uint64_t key);
void rep_map_clear(struct rep_map *m);
void rep_map_free(struct rep_map *m);

#endif
