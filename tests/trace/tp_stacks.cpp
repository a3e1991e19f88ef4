/* tp_stacks.cpp — allocations with known call stacks, for test_trace.py stacks
 * (`meshward trace --stacks`):
 *   - level1 -> level2 -> level3 -> malloc, from main and from two threads (one stack, one
 *     id, whatever the thread);
 *   - a std::vector grown by push_back in grow_vector (operator new under the container);
 *   - lib_alloc in the library named by argv[1], loaded with dlopen, called from call_lib;
 *   - from_jit called through generated code without unwind information (the unwinder must
 *     stop cleanly there);
 *   - a SIGPROF handler that allocates, firing while the program allocates and unwinds;
 *   - around_fork, allocating through level1 just before the fork and again in the forked
 *     child, which must describe its stacks with ids of its own (tp_fork checks that a
 *     thread's cache of its latest stacks does not survive the fork: here the compiler may
 *     give the two rounds two call sites).
 * Prints "child PID" for the forked child. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory") /* no tail call, no elision */

extern "C" {
__attribute__((noinline)) void *level3(size_t n) {
    void *p = malloc(n);
    KEEP(p);
    return p;
}
__attribute__((noinline)) void *level2(size_t n) {
    void *p = level3(n);
    KEEP(p);
    return p;
}
__attribute__((noinline)) void *level1(size_t n) {
    void *p = level2(n);
    KEEP(p);
    return p;
}

__attribute__((noinline)) void *worker(void *arg) {
    for (int i = 0; i < 1000; i++)
        free(level1(48));
    return arg;
}

__attribute__((noinline)) size_t grow_vector(void) {
    std::vector<long> v;
    for (long i = 0; i < 1000; i++)
        v.push_back(i);
    return v.size();
}

__attribute__((noinline)) void call_lib(const char *path) {
    void *lib = dlopen(path, RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "tp_stacks: %s\n", dlerror());
        exit(2);
    }
    void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(lib, "lib_alloc");
    free(alloc(200));
}

__attribute__((noinline)) void from_jit(void) {
    void *p = malloc(333);
    KEEP(p);
    free(p);
}
}

/* x86-64: sub rsp,8; call rdi; add rsp,8; ret — a frame no unwind table describes. */
static void through_jit(void) {
#if defined(__x86_64__)
    static const unsigned char code[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd7,
                                         0x48, 0x83, 0xc4, 0x08, 0xc3};
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(page, code, sizeof code);
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    ((void (*)(void (*)(void)))page)(from_jit);
    munmap(page, 4096);
#else
    from_jit();
#endif
}

static volatile sig_atomic_t ticks;

static void on_prof(int sig) {
    (void)sig;
    free(malloc(24)); /* not async-signal-safe in general; meshward must not deadlock */
    ticks++;
}

static void with_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prof;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval t = {{0, 200}, {0, 200}};
    setitimer(ITIMER_PROF, &t, NULL);
    for (int i = 0; i < 20000 || ticks < 20; i++)
        free(level1(64 + i % 3));
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
}

/* 100 blocks through level1, fork, and in the child 100 more from the same call site: 0 in
 * the child, the child's pid in the parent. */
extern "C" __attribute__((noinline)) pid_t around_fork(void) {
    pid_t pid = -1;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++)
            free(level1(32));
        if (round == 0 && (pid = fork()) != 0) break;
    }
    return pid;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    for (int i = 0; i < 100; i++)
        free(level1(32));
    pthread_t t[2];
    for (auto &th : t)
        pthread_create(&th, NULL, worker, NULL);
    for (auto &th : t)
        pthread_join(th, NULL);
    if (grow_vector() != 1000) return 1;
    call_lib(argv[1]);
    through_jit();
    with_signals();
    fflush(stdout);
    pid_t pid = around_fork();
    if (pid == 0) _exit(0);
    int status;
    waitpid(pid, &status, 0);
    printf("child %d\n", (int)pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
