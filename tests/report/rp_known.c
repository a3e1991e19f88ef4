/* rp_known.c — a program whose allocations are known exactly, for test_report.py known: it
 * writes to the file named by argv[1] what the report must find, one fact per line:
 *   site NAME LINE          the line of the call in function NAME (this file)
 *   leak NAME BLOCKS BYTES  blocks allocated at NAME and never freed
 *   peak NAME BLOCKS BYTES  blocks of NAME live at the program's peak
 *   temporaries NAME N      allocations at NAME freed by the same thread before any other
 *   xfree FROM TO BLOCKS BYTES  blocks allocated by thread FROM, freed by thread TO
 *   heap_destroy BLOCKS BYTES   a first-class heap destroyed with that many live blocks
 *   plugin LINE             the line of the call in rp_plugin_alloc (argv[2], dlopen'ed),
 *                           whose block is leaked
 * Two leaked blocks are above 4 GiB (big_alloc, big_grow: malloc and a moving realloc), whose
 * events carry their sizes in 64 bits; never touched, they cost address space only.
 * It also leaves a sparse heap (90% of 20000 blocks freed) and calls malloc_trim(0), which
 * meshes it on meshward: the report must count those meshes.
 * Each call site is alone in a function of its own (noinline), so that its line is exact.
 * The first-class heap API is looked up at run time (the program links only libc). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
/* The call, with its line stored in var (one line: __LINE__ is the call's). */
#define AT(var, call) ((var) = __LINE__, call)
enum { LEAK_A = 3, LEAK_A_SIZE = 1000, LEAK_B_SIZE = 5000, TEMPS = 50, PEAK_BLOCKS = 10 };
enum { PEAK_SIZE = 1 << 20, XFREE = 20, XFREE_SIZE = 48, HEAP_BLOCKS = 7, HEAP_SIZE = 100 };

static FILE *out;
static void *volatile sink;
static int line_leak_a, line_leak_b, line_temp, line_peak, line_xalloc, line_grow;
static int line_big_alloc, line_big_grow;
static const size_t BIG_ALLOC = (5ull << 30) + 3, BIG_GROW = (4ull << 30) + 5;

NOINLINE static void *leak_a(void) {
    return AT(line_leak_a, malloc(LEAK_A_SIZE));
}
NOINLINE static void *leak_b(void) {
    return AT(line_leak_b, calloc(LEAK_B_SIZE / 10, 10));
}
NOINLINE static void *temp_alloc(void) {
    return AT(line_temp, malloc(64));
}
NOINLINE static void *peak_alloc(void) {
    return AT(line_peak, malloc(PEAK_SIZE));
}
NOINLINE static void *xalloc(void) {
    return AT(line_xalloc, malloc(XFREE_SIZE));
}
NOINLINE static void *grow(void *p) {
    return AT(line_grow, realloc(p, 100000));
}
NOINLINE static void *big_alloc(void) {
    return AT(line_big_alloc, malloc(BIG_ALLOC));
}
NOINLINE static void *big_grow(void *p) { /* from a slab to a huge block: it moves */
    return AT(line_big_grow, realloc(p, BIG_GROW));
}

static void *free_all(void *arg) {
    void **blocks = arg;
    fprintf(out, "xfree_to %d\n", gettid());
    for (int i = 0; i < XFREE; i++)
        free(blocks[i]);
    return NULL;
}

static int heap_part(void) {
    void *(*heap_new)(void) = (void *(*)(void))dlsym(RTLD_DEFAULT, "mw_heap_new");
    void *(*heap_malloc)(void *, size_t) =
        (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "mw_heap_malloc");
    void (*heap_destroy)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "mw_heap_destroy");
    if (!heap_new || !heap_malloc || !heap_destroy) return -1;
    void *h = heap_new();
    for (int i = 0; i < HEAP_BLOCKS; i++)
        sink = heap_malloc(h, HEAP_SIZE);
    heap_destroy(h);
    fprintf(out, "heap_destroy %d %d\n", HEAP_BLOCKS, HEAP_BLOCKS * HEAP_SIZE);
    return 0;
}

/* Loads the plugin (LTTng's dlopen hook allocates: the tracer's blocks) and leaks a block
 * allocated in it. */
static int plugin_part(const char *path) {
    void *lib = dlopen(path, RTLD_NOW);
    void *(*plugin_alloc)(void) = lib ? (void *(*)(void))dlsym(lib, "rp_plugin_alloc") : NULL;
    int *line = lib ? dlsym(lib, "rp_plugin_line") : NULL;
    if (!plugin_alloc || !line) return -1;
    sink = plugin_alloc();
    fprintf(out, "plugin %d\n", *line);
    return 0;
}

static void mesh_part(void) {
    enum { SPARSE = 20000 };
    static void *blocks[SPARSE];
    for (int i = 0; i < SPARSE; i++)
        blocks[i] = malloc(64);
    for (int i = 0; i < SPARSE; i++)
        if (i % 10) {
            free(blocks[i]);
            blocks[i] = NULL;
        }
    malloc_trim(0);
    for (int i = 0; i < SPARSE; i++)
        free(blocks[i]);
}

int main(int argc, char **argv) {
    if (argc != 3 || !(out = fopen(argv[1], "w"))) return 2;
    setvbuf(out, NULL, _IOFBF, 1 << 16);
    static void *big[2]; /* first, so that the peak stays where the peak blocks are */
    if (!(big[0] = big_alloc()) || !(big[1] = big_grow(malloc(16)))) return 4;
    for (int i = 0; i < LEAK_A; i++)
        sink = leak_a();
    sink = leak_b();
    for (int i = 0; i < TEMPS; i++) /* temporaries: nothing allocated before each free */
        free(temp_alloc());
    void *peak[PEAK_BLOCKS];
    for (int i = 0; i < PEAK_BLOCKS; i++)
        peak[i] = peak_alloc();
    for (int i = 0; i < PEAK_BLOCKS; i++) /* not temporaries: others were allocated since */
        free(peak[i]);
    void *blocks[XFREE];
    for (int i = 0; i < XFREE; i++)
        blocks[i] = xalloc();
    fprintf(out, "xfree_from %d\n", gettid());
    pthread_t t;
    if (pthread_create(&t, NULL, free_all, blocks) != 0 || pthread_join(t, NULL) != 0) return 2;
    free(grow(malloc(10)));
    if (heap_part() != 0 || plugin_part(argv[2]) != 0) return 3;
    mesh_part();
    fprintf(out,
            "site leak_a %d\nsite leak_b %d\nsite temp_alloc %d\nsite peak_alloc %d\n"
            "site xalloc %d\nsite grow %d\nsite big_alloc %d\nsite big_grow %d\n",
            line_leak_a, line_leak_b, line_temp, line_peak, line_xalloc, line_grow, line_big_alloc,
            line_big_grow);
    fprintf(out, "leak leak_a %d %d\nleak leak_b 1 %d\nleak big_alloc 1 %zu\nleak big_grow 1 %zu\n",
            LEAK_A, LEAK_A * LEAK_A_SIZE, LEAK_B_SIZE, BIG_ALLOC, BIG_GROW);
    fprintf(out, "peak peak_alloc %d %d\npeak leak_a %d %d\n", PEAK_BLOCKS, PEAK_BLOCKS * PEAK_SIZE,
            LEAK_A, LEAK_A * LEAK_A_SIZE);
    fprintf(out, "temporaries temp_alloc %d\nxfree %d %d\n", TEMPS, XFREE, XFREE * XFREE_SIZE);
    fprintf(out, "end\n");
    return fclose(out) == 0 ? 0 : 2;
}
