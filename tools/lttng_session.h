/* lttng_session.h — one LTTng recording session driven through the lttng(1) command: the
 * session daemon (a reachable one, or a private one started and stopped by us), the
 * user-space channel, the events and contexts `meshward trace` records. */
#ifndef MW_LTTNG_SESSION_H
#define MW_LTTNG_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct lttng_channel_config {
    const char *subbuf_size; /* per sub-buffer, as lttng takes it: "4M" */
    const char *num_subbuf;  /* sub-buffers per CPU: "8" */
    bool blocking;           /* wait for the consumer instead of discarding events */
};

struct lttng_session {
    char *lttng;          /* path of lttng(1) */
    pid_t private_daemon; /* the session daemon we started, 0 when we used a reachable one */
    char name[64];
    bool created;
};

/* Finds lttng(1) and a reachable session daemon, or starts a private one. Returns 0, or -1
 * after printing an error. */
int lttng_session_connect(struct lttng_session *s);
/* Creates the session writing to dir (absolute), its channel, events and contexts, and
 * starts recording. Returns 0, or -1 after printing an error (the session is destroyed). */
int lttng_session_start(struct lttng_session *s, const char *dir,
                        const struct lttng_channel_config *cfg);
/* Stops recording (waiting until every event is on disk) and reads the number of events the
 * tracer discarded. Returns 0, or -1 after printing an error. */
int lttng_session_stop(struct lttng_session *s, uint64_t *discarded);
/* Destroys the session (when created) and stops the private daemon (when started and no
 * other session uses it). */
void lttng_session_close(struct lttng_session *s);

#endif
