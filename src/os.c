/* os.c — kernel wrappers for memory, randomness, time and thread ids (see os.h).
 * Uses raw system calls and never allocates: it runs inside malloc. */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *mw_os_reserve(size_t size, size_t align) {
    if (align < MW_PAGE_SIZE) align = MW_PAGE_SIZE;
    size_t total = size + align - MW_PAGE_SIZE;
    if (total < size) return NULL;
    int saved = errno;
    char *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    errno = saved;
    if (p == MAP_FAILED) return NULL;
    char *aligned = (char *)mw_align_up((uintptr_t)p, align);
    if (aligned > p) munmap(p, (size_t)(aligned - p));
    size_t tail = (size_t)((p + total) - (aligned + size));
    if (tail) munmap(aligned + size, tail);
    return aligned;
}

/* RLIMIT_AS (ulimit -v), or SIZE_MAX when unlimited. */
static size_t address_space_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
    return (size_t)r.rlim_cur;
}

size_t mw_os_reserve_share(void) {
    size_t limit = address_space_limit();
    if (limit == SIZE_MAX) return SIZE_MAX;
    uint64_t vm = mw_os_vm_size();
    return limit > vm ? (limit - (size_t)vm) / 2 : 0;
}

bool mw_os_reserve_once(struct mw_os_lazy *r, size_t size) {
    int st = atomic_load_explicit(&r->state, memory_order_acquire);
    if (mw_likely(st == 2)) return true;
    if (st == 0 && atomic_compare_exchange_strong(&r->state, &st, 1)) {
        r->at = mw_os_reserve(size, MW_PAGE_SIZE);
        atomic_store_explicit(&r->state, r->at ? 2 : 3, memory_order_release);
        return r->at != NULL;
    }
    while ((st = atomic_load_explicit(&r->state, memory_order_acquire)) == 1) {
    }
    return st == 2;
}

void *mw_os_reserve_upto(size_t *size, size_t min, size_t align) {
    size_t share = mw_os_reserve_share() & ~(align - 1);
    if (*size > share) *size = share > min ? share : min;
    for (;;) {
        void *p = mw_os_reserve(*size, align);
        if (p || *size / 2 < min) return p;
        *size /= 2;
    }
}

void mw_os_decommit(void *p, size_t size) {
    int saved = errno;
    madvise(p, size, MADV_DONTNEED);
    errno = saved;
}

void mw_os_unmap(void *p, size_t size) {
    int saved = errno;
    munmap(p, size);
    errno = saved;
}

size_t mw_os_page_size(void) {
    long v = sysconf(_SC_PAGESIZE);
    return v > 0 ? (size_t)v : 0;
}

void mw_os_random(void *buf, size_t len) {
    int saved = errno;
    ssize_t got = getrandom(buf, len, GRND_NONBLOCK);
    errno = saved;
    if (got == (ssize_t)len) return;
    /* No entropy yet (early boot): a clock-seeded splitmix is still better than zero. */
    uint64_t x = mw_os_now_ns() ^ (uint64_t)(uintptr_t)buf ^ ((uint64_t)getpid() << 32);
    unsigned char *out = buf;
    for (size_t i = 0; i < len; i++) {
        x += 0x9e3779b97f4a7c15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        out[i] = (unsigned char)(z ^ (z >> 31));
    }
}

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mw_os_now_ns(void) {
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t mw_os_coarse_ns(void) {
    return clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t mw_os_thread_cpu_ns(void) {
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

int mw_os_tid(void) {
    return (int)syscall(SYS_gettid);
}

void mw_os_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t timeout_ns) {
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    int saved = errno;
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
    errno = saved;
}

void mw_os_wake_all(_Atomic uint32_t *word) {
    int saved = errno;
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    errno = saved;
}

/* Parses "VmRSS:   1234 kB" style lines; the file is read into a stack buffer. */
static uint64_t status_field_kib(const char *buf, const char *key) {
    const char *p = strstr(buf, key);
    if (!p) return 0;
    p += strlen(key);
    while (*p == ' ' || *p == '\t')
        p++;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

/* Reads /proc/self/status into buf (NUL-terminated, empty when unreadable). */
static void read_status(char *buf, size_t size) {
    int saved = errno;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    if (fd >= 0) close(fd);
    errno = saved;
    buf[n > 0 ? n : 0] = '\0';
}

void mw_os_rss(uint64_t *rss, uint64_t *peak) {
    char buf[4096];
    read_status(buf, sizeof buf);
    *rss = status_field_kib(buf, "VmRSS:") * 1024;
    *peak = status_field_kib(buf, "VmHWM:") * 1024;
}

unsigned mw_os_threads(void) {
    char buf[4096];
    read_status(buf, sizeof buf);
    return (unsigned)status_field_kib(buf, "Threads:");
}

uint64_t mw_os_vm_size(void) {
    char buf[4096];
    read_status(buf, sizeof buf);
    return status_field_kib(buf, "VmSize:") * 1024;
}
