/* heap_large.c — the address → heap id set of first-class heaps' large blocks (see
 * heap_large.h). Open addressing with linear probing; deleted slots become tombstones and
 * the table is rebuilt at twice the size when live entries plus tombstones pass 3/4. Old
 * tables stay in the metadata range (it never shrinks), so growth leaks at most the final
 * table's size. One lock: only large allocations and frees of first-class heaps get here. */
#include "heap_large.h"
#include "lock.h"
#include "meta.h"

#define EMPTY 0
#define TOMBSTONE 1 /* no block lives at address 1 */
#define INITIAL_CAPACITY 1024

struct entry {
    uintptr_t addr;
    uint32_t heap;
};

_Atomic size_t mw_heap_large_count;
static mw_lock_t lock;
static struct entry *table;
static size_t capacity, occupied; /* occupied counts live entries and tombstones */

static size_t slot_of(uintptr_t addr) {
    return (size_t)((addr >> 12) * 0x9e3779b97f4a7c15ull);
}

/* Called with lock held: the slot holding addr, or SIZE_MAX. */
static size_t find(uintptr_t addr) {
    for (size_t i = slot_of(addr) & (capacity - 1);; i = (i + 1) & (capacity - 1)) {
        if (table[i].addr == addr) return i;
        if (table[i].addr == EMPTY) return SIZE_MAX;
    }
}

static void insert(struct entry *t, size_t cap, uintptr_t addr, uint32_t heap) {
    size_t i = slot_of(addr) & (cap - 1);
    while (t[i].addr > TOMBSTONE)
        i = (i + 1) & (cap - 1);
    t[i].addr = addr;
    t[i].heap = heap;
}

/* Called with lock held: makes room for one more entry. */
static bool reserve_one(void) {
    if (table && (occupied + 1) * 4 <= capacity * 3) return true;
    size_t live = atomic_load(&mw_heap_large_count);
    size_t cap = capacity ? capacity : INITIAL_CAPACITY;
    while ((live + 1) * 2 > cap)
        cap *= 2;
    struct entry *t = mw_meta_pages(cap * sizeof *t);
    if (!t) return false;
    for (size_t i = 0; i < capacity; i++)
        if (table[i].addr > TOMBSTONE) insert(t, cap, table[i].addr, table[i].heap);
    table = t;
    capacity = cap;
    occupied = live;
    return true;
}

bool mw_heap_large_add(uint32_t heap_id, const void *p) {
    mw_lock(&lock);
    bool ok = reserve_one();
    if (ok) {
        insert(table, capacity, (uintptr_t)p, heap_id);
        occupied++;
        atomic_fetch_add(&mw_heap_large_count, 1);
    }
    mw_unlock(&lock);
    return ok;
}

/* Called with lock held. */
static void remove_at(size_t i) {
    table[i].addr = TOMBSTONE;
    atomic_fetch_sub(&mw_heap_large_count, 1);
}

uint32_t mw_heap_large_remove(const void *p) {
    uint32_t heap = 0;
    mw_lock(&lock);
    size_t i = table ? find((uintptr_t)p) : SIZE_MAX;
    if (i != SIZE_MAX) {
        heap = table[i].heap;
        remove_at(i);
    }
    mw_unlock(&lock);
    return heap;
}

void mw_heap_large_moved(const void *p, const void *q) {
    uint32_t owner = p != q && mw_heap_large_any() ? mw_heap_large_remove(p) : 0;
    if (owner) mw_heap_large_add(owner, q);
}

size_t mw_heap_large_take(uint32_t heap_id, void **out, size_t max) {
    size_t n = 0;
    mw_lock(&lock);
    for (size_t i = 0; i < capacity && n < max; i++) {
        if (table[i].addr > TOMBSTONE && table[i].heap == heap_id) {
            out[n++] = (void *)table[i].addr;
            remove_at(i);
        }
    }
    mw_unlock(&lock);
    return n;
}

void mw_heap_large_fork_prepare(void) {
    mw_lock(&lock);
}
void mw_heap_large_fork_parent(void) {
    mw_unlock(&lock);
}
void mw_heap_large_fork_child(void) {
    mw_lock_reset(&lock);
}
