/* stacks/stacks.c — the stack dictionary of a traced process and the unwinder that fills it
 * (see stacks/stacks.h).
 *
 * Unwinding: the call-frame walker of stacks/cfi.c first (it reads .eh_frame itself and keeps
 * one rule per return address, in the same reservation as the dictionary: about 45
 * instructions a frame, against libunwind's 70 and 110 more to start); when it meets a frame
 * it cannot describe (a signal frame, a DWARF expression) the whole stack is taken again
 * with libunwind's unw_backtrace, loaded with dlopen(RTLD_LOCAL) by this file's constructor
 * only when MESHWARD_TRACE_STACKS is set (an untraced process loads nothing; the constructor
 * runs before any event can be enabled, so loading it is never traced), or libgcc's
 * _Unwind_Backtrace when libunwind is missing. Measured with bench/unwind_cost.c. None of
 * them calls malloc on this path (and an allocation made anyway is served untraced: the
 * emitters' nesting guard holds while we unwind); a signal whose handler allocates
 * mid-unwind meets the same guard, so unwinding never re-enters; all stop at a frame of code
 * without unwind tables (JIT code, stripped objects) instead of following garbage.
 *
 * The dictionary: an open-addressing table of stack hashes in a reserved range (the
 * allocator's own metadata, never malloc), and the frames of each stack in a second range,
 * appended. It is lock-free: a slot is claimed by a CAS on its hash; the claiming thread
 * copies the frames, records the `stack` event, and only then publishes the id, so any other
 * thread recording that id records it after the `stack` event in timestamp order. A thread
 * that finds a claimed slot of the same hash waits for its id (a few hundred ns) before
 * comparing frames. Without MESHWARD_TRACE_STACKS a stack is its call site alone, and each
 * thread keeps the ids of its latest call sites in a small cache (stacks/stacks.h), looked up
 * by the emitters before they call in here. With MESHWARD_TRACE_STACKS each thread keeps its
 * latest stacks too (`recent`, by their two innermost frames): a stack met again is compared
 * with the frames the dictionary holds for its id (never changed once the id is published)
 * and takes that id without being hashed or looked up in the shared table. Before walking at
 * all, a thread retraces its latest walks (`memos`, MEMOS per thread, in the reservation): a
 * walk is a function of the registers it starts from and of the stack words it reads
 * (stacks/cfi.h, mw_cfi_trail), so a walk from the same registers whose words all hold the
 * values they held is the same stack, and takes the memo's id after one load and compare per
 * word instead of a rule lookup per frame, the `recent` check and the copy (churn: 131
 * instructions an event for its stack instead of 480). Invariants: an
 * id is given once per process and never names two stacks; a full dictionary gives 0 (no
 * id) rather than a wrong one; a forked child starts with an empty dictionary and empty caches
 * (its ids are its own, and its `stack` events say what they hold): the thread caches and memos
 * are emptied with it. */
#if defined(MW_TRACE) && MW_TRACE
#include "stacks/stacks.h"
#include "os.h"
#include "trace_sites.h"
#include "stacks/cfi.h"
#include "stacks/gcc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(void *) == sizeof(uint64_t), "frames are recorded as 64-bit addresses");

enum {
    MAX_DEPTH = 255,        /* the `stack` event's length field is 8 bits */
    MAX_SKIP = 16,          /* the allocator's own frames above the entry point's caller */
    TABLE_SHIFT = 18,       /* slots: 4 MiB reserved */
    FRAMES_WORDS = 1 << 23, /* stored frames and lengths: 64 MiB reserved */
    RULE_SHIFT = 16,        /* the walker's rules: 1 MiB reserved */
    MEMOS = 16,             /* a thread's latest walks (a power of two) */
    MEMO_THREADS = 4096,    /* threads that get memos: 39 MiB reserved (9.75 KiB each) */
};
#define DEAD UINT32_MAX /* the id of a claimed slot whose frames did not fit */
#define TABLE_SLOTS (1u << TABLE_SHIFT)
#define MAX_STACKS (TABLE_SLOTS / 4 * 3)
#define RULE_SLOTS (1u << RULE_SHIFT)

/* One walk of a thread and the id it gave (0: none kept), for the same walk met again. */
struct memo {
    struct mw_cfi_trail trail;
    void *ip;
    uint32_t id;
};
#define RESERVED                                                                                   \
    (TABLE_SLOTS * sizeof(struct slot) + FRAMES_WORDS * sizeof(uint64_t) +                         \
     RULE_SLOTS * sizeof(struct mw_cfi_slot) + MEMO_THREADS * MEMOS * sizeof(struct memo))

struct slot {
    _Atomic uint64_t hash; /* 0: free */
    _Atomic uint32_t id;   /* 0: being filled; DEAD: unusable */
    uint32_t at;           /* frames[at] = depth, the frames follow */
};

typedef int (*unwinder)(void **out, int max);

static _Atomic(struct slot *) table; /* NULL until the first event */
static _Atomic uint32_t next_id = 1, used_slots;
static _Atomic uint64_t frames_used;
static unwinder unwind;
static int depth; /* 0: the caller alone */

__thread struct mw_trace_site mw_trace_sites[MW_TRACE_SITE_CACHE]
    __attribute__((tls_model("initial-exec")));

/* This thread's latest whole stacks: their ids and where the dictionary keeps their frames
 * (initial-exec TLS: no allocation). id 0: empty. */
enum { RECENT = 16 }; /* a power of two */
struct recent {
    uint32_t id, at;
};
static __thread struct recent recent[RECENT] __attribute__((tls_model("initial-exec")));

/* This thread's MEMOS memos, claimed in the reservation at its first whole stack; NO_MEMOS
 * when every thread's share is taken (the thread then walks every stack). */
static __thread struct memo *memos __attribute__((tls_model("initial-exec")));
#define NO_MEMOS ((struct memo *)1)
static _Atomic uint32_t memo_threads;

/* The frames follow the table in the reservation, the walker's rules follow them, and the
 * threads' memos follow the rules. */
static uint64_t *frames_of(struct slot *t) {
    return (uint64_t *)(t + TABLE_SLOTS);
}
static struct mw_cfi_slot *rules_of(struct slot *t) {
    return (struct mw_cfi_slot *)(frames_of(t) + FRAMES_WORDS);
}

/* ---- unwinding ------------------------------------------------------------------------- */

static void reset_child(void) {
    memset(mw_trace_sites, 0, sizeof mw_trace_sites); /* the only thread of the child */
    memset(recent, 0, sizeof recent);
    if (memos && memos != NO_MEMOS) memset(memos, 0, MEMOS * sizeof *memos);
    struct slot *t = atomic_load(&table);
    if (!t) return;
    mw_os_decommit(t, TABLE_SLOTS * sizeof *t);
    atomic_store(&used_slots, 0);
    atomic_store(&frames_used, 0);
    atomic_store(&next_id, 1);
}

/* MESHWARD_TRACE_STACKS=DEPTH (1 to 255; empty or 0: the caller alone). */
__attribute__((constructor)) static void stacks_setup(void) {
    const char *env = getenv("MESHWARD_TRACE_STACKS");
    long d = env ? strtol(env, NULL, 10) : 0;
    depth = d <= 0 ? 0 : d > MAX_DEPTH ? MAX_DEPTH : (int)d;
    pthread_atfork(NULL, NULL, reset_child);
    if (!depth) return;
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    unwind = lib ? (unwinder)(uintptr_t)dlsym(lib, "unw_backtrace") : NULL;
    if (!unwind) unwind = mw_gcc_backtrace;
}

/* Unwinds into buf from r, with the call-frame walker and its rules (keeping what it read
 * in trail, when not NULL), or the general unwinder when the walker gives up; *stack is the
 * stack from ip outwards, inside buf. Returns its depth. */
static int take_stack(struct slot *t, const struct mw_cfi_regs *r, void *ip, void **buf,
                      void ***stack, struct mw_cfi_trail *trail) {
    struct mw_cfi_cache rules = {rules_of(t), RULE_SLOTS - 1};
    int n = mw_cfi_walk(&rules, r, buf, depth + MAX_SKIP, trail);
    if (n < 0) n = unwind(buf, depth + MAX_SKIP);
    for (int k = 0; k < n && k < MAX_SKIP; k++)
        if (buf[k] == ip) {
            *stack = buf + k;
            return n - k < depth ? n - k : depth;
        }
    buf[0] = ip; /* ip not in the stack (or no stack): the caller alone */
    *stack = buf;
    return 1;
}

/* ---- the dictionary -------------------------------------------------------------------- */

/* The table, and the frames right after it: one reservation, made by the first event. */
static struct slot *dictionary(void) {
    struct slot *t = atomic_load_explicit(&table, memory_order_acquire);
    if (mw_likely(t)) return t;
    struct slot *mine = mw_os_reserve(RESERVED, MW_PAGE_SIZE);
    if (mine && !atomic_compare_exchange_strong(&table, &t, mine)) mw_os_unmap(mine, RESERVED);
    return atomic_load_explicit(&table, memory_order_acquire);
}

static uint64_t hash_of(void *const *buf, int n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)buf[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ? h : 1;
}

static uint32_t id_of(struct slot *s) {
    uint32_t id;
    while ((id = atomic_load_explicit(&s->id, memory_order_acquire)) == 0)
        sched_yield(); /* its thread is between claiming the slot and publishing the id */
    return id;
}

/* Whether the frames stored at frames[at] are buf's n. */
static bool same(struct slot *t, uint32_t at, void *const *buf, int n) {
    const uint64_t *f = &frames_of(t)[at];
    if (f[0] != (uint64_t)n) return false;
    for (int i = 0; i < n; i++) /* short: a call to memcmp costs more */
        if (f[i + 1] != (uint64_t)(uintptr_t)buf[i]) return false;
    return true;
}

/* Fills the slot this thread claimed: frames, `stack` event, then the id. */
static uint32_t fill(struct slot *t, struct slot *s, void *const *buf, int n, void *ip) {
    uint64_t *frames = frames_of(t);
    uint64_t at = atomic_fetch_add(&frames_used, (uint64_t)n + 1);
    if (at + (uint64_t)n + 1 > FRAMES_WORDS) {
        atomic_store_explicit(&s->id, DEAD, memory_order_release);
        return 0;
    }
    frames[at] = (uint64_t)n;
    memcpy(&frames[at + 1], buf, (size_t)n * sizeof *buf);
    s->at = (uint32_t)at;
    uint32_t id = atomic_fetch_add(&next_id, 1);
    lttng_ust_do_tracepoint(meshward, stack, id, &frames[at + 1], (uint8_t)n, ip);
    atomic_store_explicit(&s->id, id, memory_order_release);
    return id;
}

/* The id of buf's n frames, recorded (`stack` event) when new; *at: where its frames are. */
static uint32_t intern(struct slot *t, void *const *buf, int n, void *ip, uint32_t *at) {
    uint64_t h = hash_of(buf, n);
    for (uint32_t i = (uint32_t)h, probes = 0; probes < TABLE_SLOTS; i++, probes++) {
        struct slot *s = &t[i & (TABLE_SLOTS - 1)];
        uint64_t cur = atomic_load_explicit(&s->hash, memory_order_acquire);
        if (cur == 0) {
            if (atomic_load_explicit(&used_slots, memory_order_relaxed) >= MAX_STACKS) return 0;
            if (atomic_compare_exchange_strong(&s->hash, &cur, h)) {
                atomic_fetch_add_explicit(&used_slots, 1, memory_order_relaxed);
                uint32_t id = fill(t, s, buf, n, ip);
                *at = s->at;
                return id;
            }
        }
        if (cur != h) continue;
        uint32_t id = id_of(s);
        if (id != DEAD && same(t, s->at, buf, n)) {
            *at = s->at;
            return id;
        }
    }
    return 0;
}

/* The call site alone, cached for this thread (mw_trace_stack_id looks it up). */
static uint32_t site_id(struct slot *t, void *ip) {
    void *buf[1] = {ip};
    uint32_t at, id = intern(t, buf, 1, ip, &at);
    if (id) *mw_trace_site_slot(ip) = (struct mw_trace_site){ip, id};
    return id;
}

/* The id of a whole stack: from this thread's latest stacks when it is one of them, else from
 * the dictionary (and remembered). */
static uint32_t recent_id(struct slot *t, void *const *stack, int n, void *ip) {
    uintptr_t key = (uintptr_t)stack[0] ^ (n > 1 ? (uintptr_t)stack[1] >> 4 : 0);
    struct recent *r = &recent[(key >> 4) & (RECENT - 1)];
    if (r->id && same(t, r->at, stack, n)) return r->id;
    uint32_t at, id = intern(t, stack, n, ip, &at);
    if (id) *r = (struct recent){id, at};
    return id;
}

/* This thread's memo for a walk from r for ip (claiming the thread's memos first), or NULL. */
static struct memo *memo_of(struct slot *t, const struct mw_cfi_regs *r, void *ip) {
    if (mw_unlikely(!memos)) {
        uint32_t k = atomic_fetch_add_explicit(&memo_threads, 1, memory_order_relaxed);
        memos = k < MEMO_THREADS ? (struct memo *)(rules_of(t) + RULE_SLOTS) + k * MEMOS : NO_MEMOS;
    }
    if (memos == NO_MEMOS) return NULL;
    uintptr_t key = r->sp ^ (uintptr_t)ip;
    return &memos[(key >> 4 ^ key >> 10) & (MEMOS - 1)];
}

/* The id of the whole stack at ip, from r: the id of this thread's memo when a walk from r
 * would read what its walk read (the same frames), else walked, looked up and memoized.
 * Inlined into mw_trace_stack, whose frame r describes. */
mw_inline uint32_t whole_stack_id(struct slot *t, const struct mw_cfi_regs *r, void *ip) {
    struct memo *m = memo_of(t, r, ip);
    if (m && m->id && m->ip == ip && mw_cfi_retrace(&m->trail, r)) return m->id;
    void *buf[MAX_DEPTH + MAX_SKIP], **stack;
    int n = take_stack(t, r, ip, buf, &stack, m ? &m->trail : NULL);
    uint32_t id = recent_id(t, stack, n, ip);
    if (m) {
        m->ip = ip;
        m->id = m->trail.valid ? id : 0;
    }
    return id;
}

uint32_t mw_trace_stack(void *ip) {
    if (!lttng_ust_tracepoint_enabled(meshward, stack)) return 0;
    struct slot *t = dictionary();
    if (!t) return 0;
    if (!depth) return site_id(t, ip);
    struct mw_cfi_regs r; /* this frame's: walks start here */
    mw_cfi_capture(&r);
    return whole_stack_id(t, &r, ip);
}
#endif
