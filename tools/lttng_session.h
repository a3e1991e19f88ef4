/* lttng_session.h — one LTTng recording session driven through liblttng-ctl (the C API the
 * lttng(1) command is built on): the session daemon (a reachable one, or a private one
 * started and stopped by us), the user-space channel, the events and contexts `meshward
 * trace` records. */
#ifndef MW_LTTNG_SESSION_H
#define MW_LTTNG_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct trace_channel {
    uint64_t subbuf_size; /* bytes per sub-buffer, a power of two */
    uint64_t num_subbuf;  /* sub-buffers per CPU, a power of two */
    bool blocking;        /* wait for the consumer instead of discarding events */
    bool no_threads;      /* allocation events without vtid, in per-process buffers */
};

struct trace_session {
    pid_t private_daemon; /* the session daemon we started, 0 when we used a reachable one */
    char name[64];
    bool created;
    struct lttng_handle *handle;
};

/* Finds a reachable session daemon, or starts a private one. Returns 0, or -1 after
 * printing an error. */
int session_connect(struct trace_session *s);
/* Creates the session writing to dir (absolute), its channel, events and contexts, and
 * starts recording. Returns 0, or -1 after printing an error (the session is destroyed). */
int session_start(struct trace_session *s, const char *dir, const struct trace_channel *cfg);
/* Stops recording (waiting until every event is on disk) and reads the number of events the
 * tracer discarded. Returns 0, or -1 after printing an error. */
int session_stop(struct trace_session *s, uint64_t *discarded);
/* Destroys the session (when created) and stops the private daemon (when started and no
 * other session uses it). */
void session_close(struct trace_session *s);

#endif
