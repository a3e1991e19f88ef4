/* report/map.c — the report's hash map (report/map.h). */
#include "map.h"

#include <stdlib.h>
#include <string.h>

static void grow(struct rep_map *m) {
    struct rep_map old = *m;
    size_t cap = old.slot ? (old.mask + 1) * 2 : 64;
    m->slot = malloc(cap * sizeof *m->slot);
    if (!m->slot) abort();
    memset(m->slot, 0xff, cap * sizeof *m->slot);
    m->mask = cap - 1;
    m->n = 0;
    for (size_t i = 0; old.slot && i <= old.mask; i++)
        if (old.slot[i].key != REP_MAP_EMPTY)
            rep_map_put(m, old.slot[i].key, (uint32_t)old.slot[i].val);
    free(old.slot);
}

int64_t rep_map_put(struct rep_map *m, uint64_t key, uint32_t val) {
    if (!m->slot || (m->n + 1) * 2 > m->mask + 1) grow(m);
    size_t i = rep_map_home(m, key);
    for (; m->slot[i].key != REP_MAP_EMPTY; i = (i + 1) & m->mask)
        if (m->slot[i].key == key) {
            int64_t old = (int64_t)m->slot[i].val;
            m->slot[i].val = val;
            return old;
        }
    m->slot[i] = (struct rep_map_slot){key, val};
    m->n++;
    return -1;
}

int64_t rep_map_del(struct rep_map *m, uint64_t key) {
    if (!m->slot) return -1;
    size_t i = rep_map_home(m, key);
    for (; m->slot[i].key != key; i = (i + 1) & m->mask)
        if (m->slot[i].key == REP_MAP_EMPTY) return -1;
    int64_t val = (int64_t)m->slot[i].val;
    /* Backward shift: move later entries of the probe run into the hole when their home
     * slot does not lie (cyclically) after the hole. */
    for (size_t j = (i + 1) & m->mask; m->slot[j].key != REP_MAP_EMPTY; j = (j + 1) & m->mask) {
        size_t home = rep_map_home(m, m->slot[j].key);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->slot[i] = m->slot[j];
            i = j;
        }
    }
    m->slot[i].key = REP_MAP_EMPTY;
    m->n--;
    return val;
}

void rep_map_clear(struct rep_map *m) {
    if (m->slot) memset(m->slot, 0xff, (m->mask + 1) * sizeof *m->slot);
    m->n = 0;
}

void rep_map_free(struct rep_map *m) {
    free(m->slot);
    *m = (struct rep_map){0};
}
