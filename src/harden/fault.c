/* harden/fault.c — the SIGSEGV handler and the sigaction/signal interposition (see
 * fault.h). glibc's own sigaction entry, __sigaction, sets real dispositions. */
#include "harden/fault.h"

#include "harden/guard.h"
#include "mesh/mesh.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

static struct sigaction program; /* the program's SIGSEGV disposition */
static atomic_bool installed;

static bool is_write(const void *uctx) {
#ifdef REG_ERR
    const ucontext_t *uc = uctx;
    return uc && (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0; /* page-fault error code: W */
#else
    (void)uctx;
    return false;
#endif
}

static void restore_default(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    __sigaction(SIGSEGV, &dfl, NULL);
}

/* Not ours: what the program asked for. The default (or an ignored fault, which would
 * fault again forever) is restored and the access retried, so the process dies as it
 * would have without meshward. */
static void chain(int sig, siginfo_t *si, void *uctx) {
    struct sigaction act = program;
    if (act.sa_flags & SA_RESETHAND) program.sa_handler = SIG_DFL;
    if ((act.sa_flags & SA_SIGINFO) && act.sa_sigaction) {
        act.sa_sigaction(sig, si, uctx);
    } else if (act.sa_handler != SIG_DFL && act.sa_handler != SIG_IGN) {
        act.sa_handler(sig);
    } else {
        restore_default();
    }
}

static void on_segv(int sig, siginfo_t *si, void *uctx) {
    if (si->si_code > 0 && mw_mesh_fault(si->si_addr)) return; /* retried: mesh/barrier.h */
    struct mw_line detail = {.len = 0};
    struct mw_hd_block b;
    const char *kind =
        si->si_code > 0 ? mw_guard_explain(si->si_addr, is_write(uctx), &detail, &b) : NULL;
    if (!kind) return chain(sig, si, uctx);
    mw_hd_report(kind, si->si_addr, &detail, &b, true);
    chain(sig, si, uctx); /* the program's own handler, if any, sees the fault too */
}

void mw_fault_install(void) {
    if (atomic_exchange(&installed, true)) return;
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = on_segv;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    __sigaction(SIGSEGV, &act, &program);
}

MW_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (sig != SIGSEGV || !atomic_load(&installed)) return __sigaction(sig, act, old);
    struct sigaction prev = program;
    if (act) program = *act;
    if (old) *old = prev;
    return 0;
}

MW_API __sighandler_t signal(int sig, __sighandler_t handler) {
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}
