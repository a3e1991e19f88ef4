// api_cxx.cpp — a C++ program that leans on operator new/delete: std::map, std::string,
// std::vector and std::unordered_map heavy work, growth into large and huge blocks,
// over-aligned types (alignas(64), alignas(4096), an explicit 2 MiB alignment), sized
// delete, nothrow and throwing new of impossible sizes, objects deleted by another thread.
//
// Its standard output depends only on the computation, so tests/programs compares it with
// a run on the system allocator. Self-checks print to stderr and make the exit status 1.
// With --require-meshward, every checked block must also belong to meshward: through
// mw_usable_size when linked with the library (MW_TEST_LINKED), or found with dlsym when the
// library is preloaded.
#include <dlfcn.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#if MW_TEST_LINKED
#include "meshward.h"
#endif

namespace {

using usable_size_fn = size_t (*)(const void *);

usable_size_fn find_mw_usable_size() {
#if MW_TEST_LINKED
    return mw_usable_size;
#else
    return reinterpret_cast<usable_size_fn>(dlsym(RTLD_DEFAULT, "mw_usable_size"));
#endif
}

int failures = 0;
bool require_meshward = false;
usable_size_fn mw_usable = nullptr;

void check(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "api_cxx: FAILED: %s\n", what);
        failures++;
    }
}

// p came from operator new: aligned as asked and, when required, one of meshward's blocks.
void check_block(const void *p, size_t size, size_t alignment, const char *what) {
    check(p != nullptr && reinterpret_cast<uintptr_t>(p) % alignment == 0, what);
    if (require_meshward) check(mw_usable != nullptr && mw_usable(p) >= size, what);
}

uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ (x >> 33);
}

void maps_and_strings() {
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 200000; i++) {
        std::string key = "key-" + std::to_string(mix(i) % 1000003) + std::string(i % 40, 'x');
        std::vector<int> &v = m[key];
        for (int k = 0; k < i % 13; k++)
            v.push_back(i * k);
    }
    size_t erased = 0;
    for (auto it = m.begin(); it != m.end();) {
        if (it->first.size() % 3 == 0) {
            it = m.erase(it);
            erased++;
        } else {
            ++it;
        }
    }
    uint64_t sum = 0;
    for (const auto &kv : m) {
        for (char c : kv.first)
            sum = sum * 131 + static_cast<unsigned char>(c);
        for (int x : kv.second)
            sum += mix(static_cast<uint64_t>(x));
    }
    std::printf("map: entries=%zu erased=%zu checksum=%016llx\n", m.size(), erased,
                static_cast<unsigned long long>(sum));

    std::unordered_map<uint64_t, std::string> u;
    for (uint64_t i = 0; i < 100000; i++)
        u[mix(i) % 50000] += std::to_string(i);
    uint64_t usum = 0;
    for (uint64_t i = 0; i < 50000; i++) {
        auto it = u.find(i);
        if (it != u.end()) usum = usum * 31 + it->second.size();
    }
    std::printf("unordered_map: entries=%zu checksum=%016llx\n", u.size(),
                static_cast<unsigned long long>(usum));
}

// Vectors and strings grown through every regime, up to a huge block beyond 64 MiB.
void growth() {
    std::vector<uint64_t> v;
    for (uint64_t i = 0; i < (80u << 20) / sizeof(uint64_t); i++)
        v.push_back(mix(i));
    check_block(v.data(), v.size() * sizeof(uint64_t), 16, "huge vector");
    uint64_t sum = 0;
    for (size_t i = 0; i < v.size(); i += 4099)
        sum += v[i];
    v.resize(1000);
    v.shrink_to_fit();
    std::string s;
    for (int i = 0; i < 300000; i++)
        s += std::to_string(i % 977);
    check_block(s.data(), s.size(), 8, "long string");
    std::printf("growth: vector=%016llx string=%zu tail=%s\n", static_cast<unsigned long long>(sum),
                s.size(), s.substr(s.size() - 12).c_str());
}

struct alignas(64) Line {
    unsigned char bytes[64 * 3];
};
struct alignas(4096) Page {
    unsigned char bytes[4096];
};

void aligned_and_sized() {
    std::vector<Line *> lines;
    for (int i = 0; i < 1000; i++) {
        Line *l = new Line;
        check_block(l, sizeof(Line), 64, "new alignas(64)");
        std::memset(l->bytes, i, sizeof l->bytes);
        lines.push_back(l);
    }
    Line *array = new Line[777];
    check_block(array, 777 * sizeof(Line), 64, "new alignas(64)[]");
    delete[] array;
    for (Line *l : lines)
        delete l; // sized, aligned delete
    Page *page = new Page[3];
    check_block(page, 3 * sizeof(Page), 4096, "new alignas(4096)[]");
    delete[] page;

    const std::align_val_t two_mib{size_t(2) << 20};
    void *big = ::operator new(size_t(5) << 20, two_mib);
    check_block(big, size_t(5) << 20, size_t(2) << 20, "operator new 2 MiB aligned");
    std::memset(big, 1, size_t(5) << 20);
    ::operator delete(big, size_t(5) << 20, two_mib);

    for (size_t n = 1; n <= (1u << 20); n = n * 3 + 1) {
        void *p = ::operator new(n);
        check_block(p, n, 8, "operator new");
        std::memset(p, 7, n);
        ::operator delete(p, n);
        p = ::operator new[](n, std::nothrow);
        check_block(p, n, 8, "operator new[] nothrow");
        ::operator delete[](p, n);
    }

    volatile size_t impossible = SIZE_MAX / 2;
    check(::operator new(impossible, std::nothrow) == nullptr, "nothrow new of SIZE_MAX/2");
    bool threw = false;
    try {
        void *p = ::operator new(impossible);
        ::operator delete(p);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    check(threw, "new of SIZE_MAX/2 throws std::bad_alloc");
    std::printf("aligned: lines=%zu\n", lines.size());
}

// Strings made by producers and destroyed by a consumer thread.
void cross_thread() {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string *> queue;
    int producers_left = 3;
    uint64_t consumed = 0;
    std::thread consumer([&] {
        std::unique_lock<std::mutex> lock(mu);
        for (;;) {
            cv.wait(lock, [&] { return !queue.empty() || producers_left == 0; });
            if (queue.empty()) return;
            std::string *s = queue.front();
            queue.pop_front();
            consumed += s->size();
            delete s;
        }
    });
    std::vector<std::thread> producers;
    for (int t = 0; t < 3; t++) {
        producers.emplace_back([&, t] {
            for (int i = 0; i < 50000; i++) {
                auto *s = new std::string(static_cast<size_t>(mix(i + t) % 300), 'a' + t);
                std::lock_guard<std::mutex> lock(mu);
                queue.push_back(s);
                cv.notify_one();
            }
            std::lock_guard<std::mutex> lock(mu);
            producers_left--;
            cv.notify_one();
        });
    }
    for (auto &p : producers)
        p.join();
    consumer.join();
    std::printf("threads: consumed=%llu\n", static_cast<unsigned long long>(consumed));
}

} // namespace

int main(int argc, char **argv) {
    require_meshward = argc > 1 && std::strcmp(argv[1], "--require-meshward") == 0;
    mw_usable = find_mw_usable_size();
    if (require_meshward && mw_usable == nullptr) {
        std::fprintf(stderr, "api_cxx: meshward is neither linked nor preloaded\n");
        return 1;
    }
    maps_and_strings();
    growth();
    aligned_and_sized();
    cross_thread();
    return failures == 0 ? 0 : 1;
}
