/* rp_corrupt.c — a real double free of a block with a known history: allocated at
 * first_alloc, moved by a realloc at move_block, freed at release, then freed again at
 * release_again. test_report.py corruption runs it traced on the hardened library with
 * MESHWARD_ON_CORRUPTION=report (the program goes on), and checks that the report's
 * history of the block names those sites. Prints the lines of the calls and the block. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
/* The call, with its line stored in var (one line: __LINE__ is the call's). */
#define AT(var, call) ((var) = __LINE__, call)
static int line_first, line_move, line_release, line_again;

NOINLINE static void *first_alloc(void) {
    return AT(line_first, malloc(48));
}
NOINLINE static void *move_block(void *p) {
    return AT(line_move, realloc(p, 20000));
}
NOINLINE static void release(void *p) {
    AT(line_release, free(p));
}
NOINLINE static void release_again(void *p) {
    AT(line_again, free(p));
}

int main(void) {
    void *volatile p = move_block(first_alloc());
    uintptr_t addr = (uintptr_t)p;
    release(p);
    release_again(p);
    printf("first_alloc %d\nmove_block %d\nrelease %d\nrelease_again %d\nblock %#lx\n", line_first,
           line_move, line_release, line_again, (unsigned long)addr);
    return 0;
}
