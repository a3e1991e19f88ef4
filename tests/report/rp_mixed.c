/* rp_mixed.c — slab blocks, regions and huge blocks in one program, whose figures are known
 * exactly, for test_report.py mixed: the trace names the slab blocks by their granule in
 * the span range (`alloc_slab`, `free_slab`) and the others by address (`alloc`, `free`,
 * `realloc`), and blocks move between the kinds (a realloc from a slab block to a region, from
 * a region to a huge block, from a huge block back to a slab block), so the report's figures
 * are exact only if every granule becomes the block's address. It writes to argv[1], one
 * fact per line (as rp_known):
 *   site NAME LINE          the line of the call in function NAME (this file)
 *   calls NAME N            allocations made at NAME (a moving realloc is one)
 *   leak NAME BLOCKS BYTES  blocks allocated at NAME and never freed
 *   peak NAME BLOCKS BYTES  blocks of NAME live at the program's peak
 * The regions and huge blocks are never touched: they cost address space only. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define AT(var, call) ((var) = __LINE__, call)
#define MIB (1u << 20)
enum { SLABS = 40, SLAB_SIZE = 100, SLABS_FREED = 15, REGIONS = 6, REGION_SIZE = 200000 };
enum { REGIONS_FREED = 2, HUGES = 3, HUGE_SIZE = 80 * MIB, CHAIN_SIZE = 50 };
enum { TO_REGION = 300000, TO_HUGE = 70 * MIB, SHRINK = 64 };

static int line_slab, line_region, line_huge, line_chain, line_to_region, line_to_huge;
static int line_shrink;

NOINLINE static void *slab_alloc(void) {
    return AT(line_slab, malloc(SLAB_SIZE));
}
NOINLINE static void *region_alloc(void) {
    return AT(line_region, malloc(REGION_SIZE));
}
NOINLINE static void *huge_alloc(void) {
    return AT(line_huge, malloc(HUGE_SIZE));
}
NOINLINE static void *chain_alloc(void) {
    return AT(line_chain, malloc(CHAIN_SIZE));
}
NOINLINE static void *to_region(void *p) {
    return AT(line_to_region, realloc(p, TO_REGION));
}
NOINLINE static void *to_huge(void *p) {
    return AT(line_to_huge, realloc(p, TO_HUGE));
}
NOINLINE static void *shrink(void *p) {
    return AT(line_shrink, realloc(p, SHRINK));
}

static void fact(FILE *out, const char *what, const char *name, long a, long b) {
    fprintf(out, b < 0 ? "%s %s %ld\n" : "%s %s %ld %ld\n", what, name, a, b);
}

int main(int argc, char **argv) {
    FILE *out;
    if (argc != 2 || !(out = fopen(argv[1], "w"))) return 2;
    static void *slabs[SLABS], *regions[REGIONS], *huges[HUGES];
    for (int i = 0; i < SLABS; i++) /* the peak: every block of the three sites live */
        slabs[i] = slab_alloc();
    for (int i = 0; i < REGIONS; i++)
        regions[i] = region_alloc();
    for (int i = 0; i < HUGES; i++)
        huges[i] = huge_alloc();
    for (int i = 0; i < SLABS_FREED; i++)
        free(slabs[i]);
    for (int i = 0; i < REGIONS_FREED; i++)
        free(regions[i]);
    free(huges[0]);
    void *moved = to_huge(to_region(chain_alloc())); /* slab -> region -> huge, leaked */
    void *small = shrink(huges[1]);                  /* huge -> slab, then freed */
    if (!moved || !small) return 3;
    free(small);
    fact(out, "site", "slab_alloc", line_slab, -1);
    fact(out, "site", "region_alloc", line_region, -1);
    fact(out, "site", "huge_alloc", line_huge, -1);
    fact(out, "site", "to_huge", line_to_huge, -1);
    fact(out, "site", "chain_alloc", line_chain, -1);
    fact(out, "site", "to_region", line_to_region, -1);
    fact(out, "site", "shrink", line_shrink, -1);
    fact(out, "calls", "slab_alloc", SLABS, -1);
    fact(out, "calls", "region_alloc", REGIONS, -1);
    fact(out, "calls", "huge_alloc", HUGES, -1);
    fact(out, "calls", "chain_alloc", 1, -1);
    fact(out, "calls", "to_region", 1, -1);
    fact(out, "calls", "to_huge", 1, -1);
    fact(out, "calls", "shrink", 1, -1);
    fact(out, "leak", "slab_alloc", SLABS - SLABS_FREED, (SLABS - SLABS_FREED) * SLAB_SIZE);
    fact(out, "leak", "region_alloc", REGIONS - REGIONS_FREED,
         (long)(REGIONS - REGIONS_FREED) * REGION_SIZE);
    fact(out, "leak", "huge_alloc", 1, HUGE_SIZE);
    fact(out, "leak", "chain_alloc", 0, 0);
    fact(out, "leak", "to_region", 0, 0);
    fact(out, "leak", "to_huge", 1, TO_HUGE);
    fact(out, "leak", "shrink", 0, 0);
    fact(out, "peak", "slab_alloc", SLABS, SLABS * SLAB_SIZE);
    fact(out, "peak", "region_alloc", REGIONS, (long)REGIONS * REGION_SIZE);
    fact(out, "peak", "huge_alloc", HUGES, (long)HUGES * HUGE_SIZE);
    fprintf(out, "end\n");
    return fclose(out) == 0 ? 0 : 2;
}
