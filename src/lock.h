/* lock.h — the allocator's lock: a small test-and-test-and-set spinlock that yields.
 * Chosen over pthread mutexes because it needs no initialization (zero is unlocked), works
 * before libc is fully up, and is trivially reset in a forked child. Critical sections
 * under it are short (list pushes and pops); nothing sleeps while holding one. */
#ifndef MW_LOCK_H
#define MW_LOCK_H

#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>

typedef struct {
    atomic_int held;
} mw_lock_t;

static inline void mw_lock(mw_lock_t *l) {
    for (;;) {
        if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) return;
        for (int spins = 0; atomic_load_explicit(&l->held, memory_order_relaxed); spins++)
            if (spins > 64) sched_yield();
    }
}
/* One attempt: true when the lock was taken. */
static inline bool mw_trylock(mw_lock_t *l) {
    return !atomic_load_explicit(&l->held, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->held, 1, memory_order_acquire);
}
static inline void mw_unlock(mw_lock_t *l) {
    atomic_store_explicit(&l->held, 0, memory_order_release);
}
/* For the child of fork: whatever thread held the lock does not exist there. */
static inline void mw_lock_reset(mw_lock_t *l) {
    atomic_store(&l->held, 0);
}

#endif
