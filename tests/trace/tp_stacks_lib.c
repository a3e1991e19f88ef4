/* tp_stacks_lib.c — a library tp_stacks loads with dlopen: its allocation's stack must name
 * lib_alloc in this library, called from the program. */
#include <stdlib.h>

__attribute__((noinline)) void *lib_alloc(size_t n) {
    void *p = malloc(n);
    __asm__ volatile("" : : "r"(p) : "memory"); /* not a tail call: lib_alloc keeps a frame */
    return p;
}
