/* report_map.h — the report's hash map: 64-bit keys to 32-bit values (indexes into the
 * arrays that hold the records), open addressing with linear probing and backward-shift
 * deletion, so that lookups stay short after many deletions. Its memory follows the number
 * of keys present (it grows at 1/2 full and never holds tombstones). */
#ifndef MW_REPORT_MAP_H
#define MW_REPORT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep_map {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *used;
    size_t mask, n;
};

/* The value of key, or -1. */
int64_t rep_map_get(const struct rep_map *m, uint64_t key);
/* Sets key to val (inserting it or replacing its value). */
void rep_map_put(struct rep_map *m, uint64_t key, uint32_t val);
/* Removes key; returns its value, or -1 when absent. */
int64_t rep_map_del(struct rep_map *m, uint64_t key);
void rep_map_clear(struct rep_map *m);
void rep_map_free(struct rep_map *m);

#endif
