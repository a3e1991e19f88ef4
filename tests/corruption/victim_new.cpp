// victim_new.cpp — the allocating functions of the C++ cases: the operators themselves,
// called by name, so that a case chooses exactly which operator releases the block.
// Invariant: like victim_malloc, never a tail call (the history must name them).
#include "catalog.h"

#include <new>

extern "C" __attribute__((noinline)) void *victim_new(size_t n) {
    void *p = ::operator new(n);
    __asm__ volatile("" : "+r"(p)::"memory");
    return p;
}

extern "C" __attribute__((noinline)) void *victim_new_array(size_t n) {
    void *p = ::operator new[](n);
    __asm__ volatile("" : "+r"(p)::"memory");
    return p;
}
