/* override_cxx.c — the C++ allocation operators (plain, nothrow, sized and aligned), under
 * their Itanium-ABI names, so that a program statically linked with libmeshward.a gets them
 * too. Written in C so that the library does not pull libstdc++ into C programs: failure
 * paths call std::get_new_handler and std::__throw_bad_alloc through weak references,
 * which resolve whenever the program is C++ (the only case where operator new is called).
 * Plain new returns 16-byte aligned memory (__STDCPP_DEFAULT_NEW_ALIGNMENT__). */
#include "api_fast.h"

#include <meshward.h>
#include <stdlib.h>

#define NEW_ALIGN MW_MIN_ALIGN

typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* Runs the new-handler loop of [new.delete.single]: NULL only for nothrow callers. */
static mw_noinline void *new_fail(size_t size, size_t align, unsigned how, bool nothrow, void *ip) {
    for (;;) {
        new_handler_t handler = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (!handler) {
            if (nothrow) return NULL;
            if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
            mw_write_str(2, "meshward: error: out of memory in operator new\n");
            abort();
        }
        handler(); /* may free memory, throw, or abort */
        void *p = mw_new_at(size, align, how, ip);
        if (p) return p;
    }
}

/* Inlined into each operator, so that MW_CALLER is the program's call site. */
mw_inline void *new_impl(size_t size, size_t align, unsigned how, bool nothrow) {
    void *p = align <= NEW_ALIGN ? mw_new_direct(size, how) : NULL;
    if (mw_likely(p != NULL)) return p;
    void *ip = MW_CALLER;
    p = mw_new_at(size, align, how, ip);
    return mw_likely(p != NULL) ? p : new_fail(size, align, how, nothrow, ip);
}

typedef struct nothrow_t nothrow_t;

/* operator new / new[] */
MW_API void *_Znwm(size_t n) {
    return new_impl(n, NEW_ALIGN, MW_HOW_NEW, false);
}
MW_API void *_Znam(size_t n) {
    return new_impl(n, NEW_ALIGN, MW_HOW_NEW_ARRAY, false);
}
MW_API void *_ZnwmRKSt9nothrow_t(size_t n, const nothrow_t *t) {
    (void)t;
    return new_impl(n, NEW_ALIGN, MW_HOW_NEW, true);
}
MW_API void *_ZnamRKSt9nothrow_t(size_t n, const nothrow_t *t) {
    (void)t;
    return new_impl(n, NEW_ALIGN, MW_HOW_NEW_ARRAY, true);
}
MW_API void *_ZnwmSt11align_val_t(size_t n, size_t al) {
    return new_impl(n, al, MW_HOW_NEW, false);
}
MW_API void *_ZnamSt11align_val_t(size_t n, size_t al) {
    return new_impl(n, al, MW_HOW_NEW_ARRAY, false);
}
MW_API void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *t) {
    (void)t;
    return new_impl(n, al, MW_HOW_NEW, true);
}
MW_API void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *t) {
    (void)t;
    return new_impl(n, al, MW_HOW_NEW_ARRAY, true);
}

/* operator delete / delete[]: every form frees; sizes are checked by the hardened build */
MW_API void _ZdlPv(void *p) {
    mw_free_how_inline(p, MW_HOW_NEW, 0);
}
MW_API void _ZdaPv(void *p) {
    mw_free_how_inline(p, MW_HOW_NEW_ARRAY, 0);
}
MW_API void _ZdlPvm(void *p, size_t n) {
    mw_free_how_inline(p, MW_HOW_NEW, n);
}
MW_API void _ZdaPvm(void *p, size_t n) {
    mw_free_how_inline(p, MW_HOW_NEW_ARRAY, n);
}
MW_API void _ZdlPvRKSt9nothrow_t(void *p, const nothrow_t *t) {
    (void)t;
    mw_free_how_inline(p, MW_HOW_NEW, 0);
}
MW_API void _ZdaPvRKSt9nothrow_t(void *p, const nothrow_t *t) {
    (void)t;
    mw_free_how_inline(p, MW_HOW_NEW_ARRAY, 0);
}
MW_API void _ZdlPvSt11align_val_t(void *p, size_t al) {
    (void)al;
    mw_free_how_inline(p, MW_HOW_NEW, 0);
}
MW_API void _ZdaPvSt11align_val_t(void *p, size_t al) {
    (void)al;
    mw_free_how_inline(p, MW_HOW_NEW_ARRAY, 0);
}
MW_API void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) {
    (void)al;
    mw_free_how_inline(p, MW_HOW_NEW, n);
}
MW_API void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) {
    (void)al;
    mw_free_how_inline(p, MW_HOW_NEW_ARRAY, n);
}
MW_API void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const nothrow_t *t) {
    (void)al;
    (void)t;
    mw_free_how_inline(p, MW_HOW_NEW, 0);
}
MW_API void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const nothrow_t *t) {
    (void)al;
    (void)t;
    mw_free_how_inline(p, MW_HOW_NEW_ARRAY, 0);
}
