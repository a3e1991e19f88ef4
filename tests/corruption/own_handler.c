/* own_handler.c — a program with its own SIGSEGV handler, which an allocator's handler
 * (guard pages) must not take away.
 *
 *   own-fault    installs its handler, allocates and frees blocks of the regime's size
 *                and others (so the allocator has set up whatever it sets up lazily),
 *                then writes to a page it mapped PROT_NONE itself: its handler must run,
 *                unprotect the page and let the write complete; prints
 *                "catalog: own handler ran" and exits 0 (if the allocator kept the fault
 *                to itself the process dies of SIGSEGV, or exits 1)
 *   guard-chain  installs a handler that prints "catalog: own handler ran" and exits
 *                with status 42, then overflows a block linearly (as overflow.c's far):
 *                a guard-page report must come first, then the program's handler
 */
#include "catalog.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define CHAIN_STATUS 42
#define MARKER "catalog: own handler ran\n"

static void *own_page;
static volatile sig_atomic_t own_faults;

static void unprotect(int sig, siginfo_t *info, void *context) {
    (void)sig, (void)context;
    if (info->si_addr != own_page) abort();
    own_faults++;
    mprotect(own_page, PAGE, PROT_READ | PROT_WRITE);
}

static void exit_chained(int sig, siginfo_t *info, void *context) {
    (void)sig, (void)info, (void)context;
    if (write(STDOUT_FILENO, MARKER, strlen(MARKER)) < 0) _exit(1);
    _exit(CHAIN_STATUS);
}

static void install(void (*handler)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL)) abort();
}

static void churn(size_t n) {
    static const size_t sizes[] = {8, 100, 4096, 100000, 1u << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        free(malloc(sizes[i]));
    free(victim_malloc(n));
}

static int own_fault(size_t n) {
    install(unprotect);
    churn(n);
    own_page = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (own_page == MAP_FAILED) return 1;
    catalog_poke(own_page, 'x');
    if (own_faults != 1 || catalog_peek(own_page) != 'x') return 1;
    if (write(STDOUT_FILENO, MARKER, strlen(MARKER)) < 0) return 1;
    munmap(own_page, PAGE);
    return 0;
}

static int guard_chain(size_t n) {
    install(exit_chained);
    unsigned char *p = victim_malloc(n);
    catalog_overrun(p, n);
    free(p);
    return 0;
}

static const catalog_case_t cases[] = {{"own-fault", own_fault}, {"guard-chain", guard_chain}};
CATALOG_MAIN(cases)
