/* rp_plugin.c — a library rp_known loads with dlopen: its call site must be named through
 * the trace's dlopen event, and LTTng's dlopen hook allocates (the tracer's own blocks). */
#include <stdlib.h>

int rp_plugin_line;

__attribute__((noinline)) void *rp_plugin_alloc(void) {
    rp_plugin_line = __LINE__; return malloc(4242);
}
