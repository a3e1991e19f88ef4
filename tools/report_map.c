/* report_map.c — the report's hash map (report_map.h). */
#include "report_map.h"

#include <stdlib.h>
#include <string.h>

static inline size_t slot_of(const struct rep_map *m, uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & m->mask;
}

int64_t rep_map_get(const struct rep_map *m, uint64_t key) {
    if (!m->used) return -1;
    for (size_t i = slot_of(m, key); m->used[i]; i = (i + 1) & m->mask)
        if (m->keys[i] == key) return m->vals[i];
    return -1;
}

static void grow(struct rep_map *m) {
    struct rep_map old = *m;
    size_t cap = old.used ? (old.mask + 1) * 2 : 64;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->used = calloc(cap, 1);
    if (!m->keys || !m->vals || !m->used) abort();
    m->mask = cap - 1;
    m->n = 0;
    for (size_t i = 0; old.used && i <= old.mask; i++)
        if (old.used[i]) rep_map_put(m, old.keys[i], old.vals[i]);
    rep_map_free(&old);
}

void rep_map_put(struct rep_map *m, uint64_t key, uint32_t val) {
    if (!m->used || (m->n + 1) * 2 > m->mask + 1) grow(m);
    size_t i = slot_of(m, key);
    for (; m->used[i]; i = (i + 1) & m->mask)
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

int64_t rep_map_del(struct rep_map *m, uint64_t key) {
    if (!m->used) return -1;
    size_t i = slot_of(m, key);
    for (; m->used[i]; i = (i + 1) & m->mask)
        if (m->keys[i] == key) break;
    if (!m->used[i]) return -1;
    int64_t val = m->vals[i];
    /* Backward shift: move later entries of the probe run into the hole when their home
     * slot does not lie (cyclically) between the hole and their position. */
    for (size_t j = (i + 1) & m->mask; m->used[j]; j = (j + 1) & m->mask) {
        size_t home = slot_of(m, m->keys[j]);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->used[i] = 0;
    m->n--;
    return val;
}

void rep_map_clear(struct rep_map *m) {
    if (m->used) memset(m->used, 0, m->mask + 1);
    m->n = 0;
}

void rep_map_free(struct rep_map *m) {
    free(m->keys);
    free(m->vals);
    free(m->used);
    *m = (struct rep_map){0};
}
