/* rp_plugin.c — a library rp_known loads with dlopen: its call site must be named through
 * the trace's dlopen event, and LTTng's dlopen hook allocates (the tracer's own blocks). */
#include <stdlib.h>
/* The call, with its line stored in var (one line: __LINE__ is the call's). */
#define AT(var, call) ((var) = __LINE__, call)

int rp_plugin_line;

__attribute__((noinline)) void *rp_plugin_alloc(void) {
    return AT(rp_plugin_line, malloc(4242));
}
