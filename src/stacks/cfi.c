/* stacks/cfi.c — the x86-64 call-frame-information walker (see stacks/cfi.h): finding a
 * return address's FDE through .eh_frame_hdr, running its CIE's and FDE's call-frame
 * instructions up to the call, reducing the row to a 64-bit rule, caching rules, walking.
 *
 * Invariant: a rule says only what the row at the call says (the call is at ra - 1: a
 * return address may be the first byte of the next function when the call never returns);
 * anything outside the subset below makes the rule UNSUPPORTED, never a guess. */
#include "stacks/cfi.h"

#if defined(__x86_64__)
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum {
    REG_RBP = 6,
    REG_RSP = 7,
    REG_RA = 16,
    PROBES = 8,     /* cache slots tried before a rule is computed uncached */
    SAVED_ROWS = 8, /* depth of DW_CFA_remember_state */
};

/* A rule: kind in bits 0-1, flags, rbp's offset from the CFA in bits 16-31, the CFA's offset
 * from its register in bits 32-63. Never 0 (kind is never 0). */
enum { STEP = 1, END = 2, UNSUPPORTED = 3, CFA_RBP = 4, RBP_SAVED = 8 };
#define RULE(kind, flags, rbp_off, cfa_off)                                                        \
    ((uint64_t)(kind) | (uint64_t)(flags) | (uint64_t)(uint16_t)(int16_t)(rbp_off) << 16 |         \
     (uint64_t)(uint32_t)(int32_t)(cfa_off) << 32)

/* ---- reading .eh_frame ----------------------------------------------------------------- */

static uint64_t uleb(const uint8_t **p) {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = *(*p)++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
}

static int64_t sleb(const uint8_t **p) {
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = *(*p)++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

#define READ(p, type)                                                                              \
    ({                                                                                             \
        type v_;                                                                                   \
        memcpy(&v_, (p), sizeof v_);                                                               \
        (p) += sizeof v_;                                                                          \
        v_;                                                                                        \
    })

/* A DW_EH_PE-encoded pointer; `data` is the base of datarel. False: an encoding not handled. */
static bool encoded(const uint8_t **p, uint8_t enc, uintptr_t data, uintptr_t *out) {
    const uint8_t *at = *p;
    uintptr_t v;
    switch (enc & 0x0f) {
    case 0x00:
    case 0x04:
    case 0x0c:
        v = READ(*p, uint64_t);
        break;
    case 0x01:
        v = uleb(p);
        break;
    case 0x02:
        v = READ(*p, uint16_t);
        break;
    case 0x03:
        v = READ(*p, uint32_t);
        break;
    case 0x09:
        v = (uintptr_t)sleb(p);
        break;
    case 0x0a:
        v = (uintptr_t)(intptr_t)READ(*p, int16_t);
        break;
    case 0x0b:
        v = (uintptr_t)(intptr_t)READ(*p, int32_t);
        break;
    default:
        return false;
    }
    switch (enc & 0xf0) {
    case 0x00:
        break;
    case 0x10:
        v += (uintptr_t)at;
        break;
    case 0x30:
        v += data;
        break;
    default:
        return false; /* indirect, textrel, funcrel, aligned */
    }
    *out = v;
    return true;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    bool z, signal; /* augmentation data present; a signal frame */
    const uint8_t *insns, *end;
};

/* Parses the CIE at p (its length field). False: a form this walker does not read. */
static bool parse_cie(const uint8_t *p, struct cie *c) {
    uint32_t len = READ(p, uint32_t);
    if (len == 0xffffffff) return false; /* 64-bit DWARF */
    c->end = p + len;
    if (READ(p, uint32_t) != 0) return false; /* not a CIE */
    uint8_t version = *p++;
    const char *aug = (const char *)p;
    p += strlen(aug) + 1;
    if (aug[0] && aug[0] != 'z') return false;
    c->code_align = uleb(&p);
    c->data_align = sleb(&p);
    c->ra_reg = version == 1 ? *p++ : uleb(&p);
    c->fde_enc = 0;
    c->signal = false;
    c->z = aug[0] == 'z';
    if (c->z) {
        uint64_t aug_len = uleb(&p);
        const uint8_t *data = p;
        for (const char *a = aug + 1; *a; a++) {
            uintptr_t ignored;
            if (*a == 'R')
                c->fde_enc = *p++;
            else if (*a == 'L')
                p++;
            else if (*a == 'S')
                c->signal = true;
            else if (*a == 'P') {
                uint8_t enc = *p++;
                if (!encoded(&p, enc & 0x7f, 0, &ignored)) return false;
            } else if (*a != 'B')
                return false;
        }
        p = data + aug_len;
    }
    c->insns = p;
    return true;
}

/* The FDE of pc in the object whose .eh_frame_hdr is hdr, or NULL. */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t pc) {
    if (hdr[0] != 1 || hdr[3] != 0x3b) return NULL; /* the table: datarel sdata4 pairs */
    const uint8_t *p = hdr + 4;
    uintptr_t eh_frame, count;
    if (!encoded(&p, hdr[1], (uintptr_t)hdr, &eh_frame) ||
        !encoded(&p, hdr[2], (uintptr_t)hdr, &count) || count == 0)
        return NULL;
    const int32_t *table = (const int32_t *)(const void *)p; /* 4-aligned by the format */
    size_t lo = 0, hi = count;                               /* last entry <= pc */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)hdr + (intptr_t)table[2 * mid] <= pc)
            lo = mid;
        else
            hi = mid;
    }
    if ((uintptr_t)hdr + (intptr_t)table[2 * lo] > pc) return NULL;
    return hdr + table[2 * lo + 1];
}

/* ---- running call-frame instructions ---------------------------------------------------- */

enum { SAME, OFFSET, UNDEF, OTHER }; /* what a register's rule says */

struct row {
    uint64_t cfa_reg;
    int64_t cfa_off;
    bool cfa_expr;
    uint8_t rbp, ra;
    int64_t rbp_off, ra_off;
};

struct run {
    const struct cie *cie;
    uintptr_t loc, pc;
    struct row row, initial, saved[SAVED_ROWS];
    int depth;
};

static void set_reg(struct run *r, uint64_t reg, uint8_t how, int64_t off) {
    if (reg == REG_RBP)
        r->row.rbp = how, r->row.rbp_off = off;
    else if (reg == r->cie->ra_reg)
        r->row.ra = how, r->row.ra_off = off;
}

static void restore_reg(struct run *r, uint64_t reg) {
    if (reg == REG_RBP)
        r->row.rbp = r->initial.rbp, r->row.rbp_off = r->initial.rbp_off;
    else if (reg == r->cie->ra_reg)
        r->row.ra = r->initial.ra, r->row.ra_off = r->initial.ra_off;
}

/* Runs the instructions in [p, end) while the location stays at or below pc. False: an
 * instruction this walker does not handle (the rule is then UNSUPPORTED). */
static bool execute(struct run *r, const uint8_t *p, const uint8_t *end) {
    const struct cie *c = r->cie;
    while (p < end) {
        uint8_t op = *p++, low = op & 0x3f;
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1:
            delta = low;
            break;
        case 2:
            set_reg(r, low, OFFSET, (int64_t)uleb(&p) * c->data_align);
            continue;
        case 3:
            restore_reg(r, low);
            continue;
        }
        if (op >> 6 == 0) switch (op) {
            case 0x00:
                continue; /* nop */
            case 0x02:
                delta = *p++;
                break; /* advance_loc1 */
            case 0x03:
                delta = READ(p, uint16_t);
                break; /* advance_loc2 */
            case 0x04:
                delta = READ(p, uint32_t);
                break; /* advance_loc4 */
            case 0x05:
                reg = uleb(&p);
                set_reg(r, reg, OFFSET, (int64_t)uleb(&p) * c->data_align);
                continue;
            case 0x06:
                restore_reg(r, uleb(&p));
                continue; /* restore_extended */
            case 0x07:
                set_reg(r, uleb(&p), UNDEF, 0);
                continue; /* undefined */
            case 0x08:
                set_reg(r, uleb(&p), SAME, 0);
                continue; /* same_value */
            case 0x09:
                reg = uleb(&p);
                uleb(&p);
                set_reg(r, reg, OTHER, 0);
                continue; /* register */
            case 0x0a:    /* remember_state */
                if (r->depth == SAVED_ROWS) return false;
                r->saved[r->depth++] = r->row;
                continue;
            case 0x0b: /* restore_state */
                if (r->depth == 0) return false;
                r->row = r->saved[--r->depth];
                continue;
            case 0x0c:
                r->row.cfa_reg = uleb(&p);
                r->row.cfa_off = (int64_t)uleb(&p);
                r->row.cfa_expr = false;
                continue;
            case 0x0d:
                r->row.cfa_reg = uleb(&p);
                r->row.cfa_expr = false;
                continue;
            case 0x0e:
                r->row.cfa_off = (int64_t)uleb(&p);
                continue;
            case 0x0f:
                r->row.cfa_expr = true;
                p += uleb(&p);
                continue; /* def_cfa_expression */
            case 0x10:
            case 0x16: /* (val_)expression */
                reg = uleb(&p);
                p += uleb(&p);
                set_reg(r, reg, OTHER, 0);
                continue;
            case 0x11:
                reg = uleb(&p);
                set_reg(r, reg, OFFSET, sleb(&p) * c->data_align);
                continue;
            case 0x12:
                r->row.cfa_reg = uleb(&p);
                r->row.cfa_off = sleb(&p) * c->data_align;
                r->row.cfa_expr = false;
                continue;
            case 0x13:
                r->row.cfa_off = sleb(&p) * c->data_align;
                continue;
            case 0x14:
            case 0x15:
                reg = uleb(&p);
                uleb(&p);
                set_reg(r, reg, OTHER, 0);
                continue;
            case 0x2e:
                uleb(&p);
                continue; /* GNU_args_size */
            case 0x2f:
                reg = uleb(&p);
                set_reg(r, reg, OFFSET, -(int64_t)uleb(&p) * c->data_align);
                continue;
            default:
                return false; /* set_loc and the rest */
            }
        r->loc += delta * c->code_align;
        if (r->loc > r->pc) return true;
    }
    return true;
}

/* The row in force at pc reduced to a rule. */
static uint64_t rule_of_row(const struct row *w) {
    if (w->ra == UNDEF) return RULE(END, 0, 0, 0);
    if (w->cfa_expr || (w->cfa_reg != REG_RSP && w->cfa_reg != REG_RBP) || w->ra != OFFSET ||
        w->ra_off != -8 || w->rbp == UNDEF || w->rbp == OTHER ||
        w->cfa_off != (int32_t)w->cfa_off || w->rbp_off != (int16_t)w->rbp_off)
        return RULE(UNSUPPORTED, 0, 0, 0);
    return RULE(STEP, (w->cfa_reg == REG_RBP ? CFA_RBP : 0) | (w->rbp == OFFSET ? RBP_SAVED : 0),
                w->rbp_off, w->cfa_off);
}

/* The rule of the call at pc described by the FDE at fde (its length field), or 0 when pc
 * lies outside that FDE. */
static uint64_t rule_of_fde(const uint8_t *fde, uintptr_t pc) {
    const uint8_t *p = fde;
    uint32_t len = READ(p, uint32_t);
    if (len == 0xffffffff) return RULE(UNSUPPORTED, 0, 0, 0);
    const uint8_t *end = p + len, *id_at = p;
    struct cie c;
    if (!parse_cie(id_at - READ(p, uint32_t), &c)) return RULE(UNSUPPORTED, 0, 0, 0);
    uintptr_t begin, range;
    if (!encoded(&p, c.fde_enc, 0, &begin) || !encoded(&p, c.fde_enc & 0x0f, 0, &range))
        return RULE(UNSUPPORTED, 0, 0, 0);
    if (pc < begin || pc - begin >= range) return 0;
    if (c.signal) return RULE(UNSUPPORTED, 0, 0, 0);
    if (c.z) p += uleb(&p); /* the FDE's augmentation data */
    struct run r = {.cie = &c, .loc = begin, .pc = pc, .row = {.cfa_reg = REG_RSP}};
    if (!execute(&r, c.insns, c.end)) return RULE(UNSUPPORTED, 0, 0, 0);
    r.initial = r.row;
    r.loc = begin;
    if (!execute(&r, p, end)) return RULE(UNSUPPORTED, 0, 0, 0);
    return rule_of_row(&r.row);
}

/* ---- finding the object of an address ----------------------------------------------------- */

struct lookup {
    uintptr_t pc;
    const uint8_t *hdr; /* the .eh_frame_hdr of the object holding pc, if any */
    bool found;         /* pc lies in a loaded object */
};

static int object_of(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    struct lookup *l = arg;
    const ElfW(Phdr) *eh = NULL;
    bool inside = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t at = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && l->pc - at < ph->p_memsz) inside = true;
        if (ph->p_type == PT_GNU_EH_FRAME) eh = ph;
    }
    if (!inside) return 0;
    l->found = true;
    l->hdr = eh ? (const uint8_t *)(info->dlpi_addr + eh->p_vaddr) : NULL;
    return 1;
}

/* The rule of return address ra: its call is at ra - 1. No FDE there ends the walk (code
 * without unwind information), unless ra itself has one: a signal frame's return address is
 * the first byte of the signal trampoline, whose FDE general unwinders read. */
static uint64_t rule_for(uintptr_t ra) {
    struct lookup l = {.pc = ra - 1};
    dl_iterate_phdr(object_of, &l);
    const uint8_t *fde = l.hdr ? find_fde(l.hdr, ra - 1) : NULL;
    uint64_t rule = fde ? rule_of_fde(fde, ra - 1) : 0;
    if (rule) return rule;
    l = (struct lookup){.pc = ra};
    dl_iterate_phdr(object_of, &l);
    fde = l.hdr ? find_fde(l.hdr, ra) : NULL;
    return fde && rule_of_fde(fde, ra) ? RULE(UNSUPPORTED, 0, 0, 0) : RULE(END, 0, 0, 0);
}

/* ---- the cache and the walk ----------------------------------------------------------------- */

static uint64_t cached_rule(const struct mw_cfi_cache *c, uintptr_t ip) {
    uint64_t h = (ip * 0x9e3779b97f4a7c15ull) >> 32;
    for (uint32_t i = 0; i < PROBES; i++) {
        struct mw_cfi_slot *s = &c->slots[(h + i) & c->mask];
        uint64_t key = atomic_load_explicit(&s->ip, memory_order_acquire);
        if (__builtin_expect(key == ip, 1)) {
            uint64_t rule = atomic_load_explicit(&s->rule, memory_order_acquire);
            return rule ? rule : rule_for(ip);
        }
        if (key == 0) {
            uint64_t rule = rule_for(ip);
            if (atomic_compare_exchange_strong(&s->ip, &key, ip))
                atomic_store_explicit(&s->rule, rule, memory_order_release);
            return rule;
        }
    }
    return rule_for(ip);
}

/* Stores the caller's registers at its call: the return address, rsp after the return, and
 * rbp (which nothing between the call and the store can change). */
__asm__(".text\n"
        ".globl mw_cfi_capture\n"
        ".hidden mw_cfi_capture\n"
        ".type mw_cfi_capture, @function\n"
        "mw_cfi_capture:\n"
        ".cfi_startproc\n"
        "movq (%rsp), %rax\n"
        "movq %rax, (%rdi)\n"
        "leaq 8(%rsp), %rax\n"
        "movq %rax, 8(%rdi)\n"
        "movq %rbp, 16(%rdi)\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size mw_cfi_capture, .-mw_cfi_capture\n");

/* Keeps the stack word v read at addr in the trail, as an offset from sp0. */
static inline void keep_word(struct mw_cfi_trail *t, uintptr_t sp0, uintptr_t addr, uintptr_t v) {
    if (t->words == MW_CFI_TRAIL_WORDS || addr - sp0 > UINT32_MAX) {
        t->valid = false;
        return;
    }
    t->off[t->words] = (uint32_t)(addr - sp0);
    t->val[t->words++] = v;
}

/* The trail keeps every return address read, and a saved rbp only when a later frame's CFA
 * is computed from it (a value a walk carries but never uses does not change its frames: rbp
 * is a general register in code without frame pointers, and its saved values vary). */
int mw_cfi_walk(const struct mw_cfi_cache *cache, const struct mw_cfi_regs *r, void **out, int max,
                struct mw_cfi_trail *t) {
    uintptr_t ip = r->ip, sp = r->sp, bp = r->bp;
    uintptr_t bp_at = 0; /* where bp was read from (0: it is still r->bp) */
    bool bp_kept = false;
    if (t) *t = (struct mw_cfi_trail){.ip = r->ip, .sp = r->sp, .bp = r->bp, .valid = true};
    int n = 0;
    while (n < max) {
        uint64_t rule = cached_rule(cache, ip);
        if ((rule & 3) == UNSUPPORTED) {
            if (t) t->valid = false;
            return -1;
        }
        if ((rule & 3) == END) break;
        if ((rule & CFA_RBP) && t && !bp_kept) {
            if (bp_at)
                keep_word(t, r->sp, bp_at, bp);
            else
                t->uses_bp = true;
            bp_kept = true;
        }
        uintptr_t cfa = ((rule & CFA_RBP) ? bp : sp) + (uintptr_t)(intptr_t)(int32_t)(rule >> 32);
        if (cfa <= sp || (cfa & 7)) break; /* a stack unwinds upwards: anything else is garbage */
        ip = *(const uintptr_t *)(cfa - 8);
        if (t) keep_word(t, r->sp, cfa - 8, ip);
        if (rule & RBP_SAVED) {
            bp_at = cfa + (int16_t)(uint16_t)(rule >> 16);
            bp = *(const uintptr_t *)bp_at;
            bp_kept = false;
        }
        sp = cfa;
        if (!ip) break;
        out[n++] = (void *)ip;
    }
    return n;
}

bool mw_cfi_retrace(const struct mw_cfi_trail *t, const struct mw_cfi_regs *r) {
    if (!t->valid || t->ip != r->ip || t->sp != r->sp || (t->uses_bp && t->bp != r->bp))
        return false;
    for (uint32_t i = 0; i < t->words; i++)
        if (*(const uintptr_t *)(r->sp + t->off[i]) != t->val[i]) return false;
    return true;
}

__attribute__((noinline)) int mw_cfi_backtrace(const struct mw_cfi_cache *cache, void **out,
                                               int max) {
    struct mw_cfi_regs r;
    mw_cfi_capture(&r);
    return mw_cfi_walk(cache, &r, out, max, NULL);
}

#else /* other architectures: every walk gives up (the caller takes a general unwinder) */
void mw_cfi_capture(struct mw_cfi_regs *r) {
    *r = (struct mw_cfi_regs){0};
}

int mw_cfi_walk(const struct mw_cfi_cache *cache, const struct mw_cfi_regs *r, void **out, int max,
                struct mw_cfi_trail *t) {
    (void)cache, (void)r, (void)out, (void)max;
    if (t) t->valid = false;
    return -1;
}

bool mw_cfi_retrace(const struct mw_cfi_trail *t, const struct mw_cfi_regs *r) {
    (void)t, (void)r;
    return false;
}

int mw_cfi_backtrace(const struct mw_cfi_cache *cache, void **out, int max) {
    (void)cache, (void)out, (void)max;
    return -1;
}
#endif
