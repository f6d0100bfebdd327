/* cloud_client.h - vigild's side of vigil-cloud: the on-disk signal queue, enrollment, signals for cloud rules and new user-writable executables, verdicts applied in the event loop (docs/agent.md, "Talking to vigil-cloud"). */
#ifndef VIGIL_CLOUD_CLIENT_H
#define VIGIL_CLOUD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/event.h"

/* ---- the queue file: state_dir/cloud-queue (src/agent/cloud_queue.c) ---- */

/*
 * One JSON line per signal (the POST /v1/signals body), appended and
 * fsync'd; state_dir/cloud-queue.pos holds "<byte offset> <line number>" of
 * the first line not yet delivered (replaced atomically). When everything is
 * delivered the file is truncated. A line that is not a JSON object with
 * file.sha256 (64 hex digits) is skipped with "<file>:<line>: <reason>".
 */
struct vg_cloud_queue;

/* Called for each bad line: file name, 1-based line, reason. */
typedef void (*vg_cloud_queue_bad_fn)(const char *name, unsigned line, const char *reason, void *ctx);
/* Called for each good line (without its newline); return 0 to go on, non-zero to stop before this line. */
typedef int (*vg_cloud_queue_line_fn)(const char *line, size_t len, unsigned lineno, void *ctx);

/* Checks one line. Returns 0, or VG_EPARSE with the reason (naming the byte offset for bad JSON) in why. */
int vg_cloud_queue_check_line(const char *line, size_t len, char *why, size_t whylen);
/*
 * Splits text into lines (numbered from first_line) and calls good or bad
 * for each non-empty one. A last line without a newline is incomplete (a
 * crash during a write): it is reported bad. *consumed (may be NULL)
 * receives the bytes of the lines handled before good asked to stop.
 * Returns the number of bad lines.
 */
int vg_cloud_queue_scan(const char *name, const char *text, size_t len, unsigned first_line,
			vg_cloud_queue_line_fn good, vg_cloud_queue_bad_fn bad, void *ctx, size_t *consumed);

struct vg_cloud_queue_stats {
	uint64_t appended;  /* lines written */
	uint64_t dropped;   /* not written: the file was at its cap (or a write failed) */
	uint64_t delivered; /* lines consumed as delivered */
	uint64_t rejected;  /* lines the service refused for good (4xx): consumed, not retried */
	uint64_t bad_lines; /* corrupt lines skipped */
	uint64_t pending;   /* lines not yet delivered */
	uint64_t bytes;     /* size of the queue file */
};

/* Opens (creates, 0600) dir/cloud-queue with a cap in bytes. Returns 0 or -errno with err filled. */
int vg_cloud_queue_open(const char *dir, uint64_t cap_bytes, struct vg_cloud_queue **out, char *err, size_t errlen);
void vg_cloud_queue_close(struct vg_cloud_queue *q); /* accepts NULL */
/*
 * Appends one line (no newline in it) and fsyncs. *off (may be NULL)
 * receives the line's offset in the file. 0, VG_ELIMIT (over the cap:
 * dropped, counted) or -errno.
 */
int vg_cloud_queue_append(struct vg_cloud_queue *q, const char *line, size_t len, uint64_t *off);
/*
 * Hands pending good lines to fn oldest first. fn returns 0 (delivered:
 * consumed), 1 (stop: keep this line and the rest) or 2 (rejected: consumed,
 * counted). Bad lines are reported to bad (NULL = vg_log) and consumed.
 * Returns the number consumed or -errno.
 */
typedef int (*vg_cloud_queue_send_fn)(const char *line, size_t len, uint64_t off, void *ctx);
int vg_cloud_queue_deliver(struct vg_cloud_queue *q, vg_cloud_queue_send_fn fn, vg_cloud_queue_bad_fn bad, void *ctx);
const struct vg_cloud_queue_stats *vg_cloud_queue_stats(const struct vg_cloud_queue *q);
const char *vg_cloud_queue_path(const struct vg_cloud_queue *q);

/* ---- the client (src/agent/cloud_client.c) ---- */

struct vg_cloud_client;
struct vg_tree;
struct vg_rule;

/* A verdict as the service gave it (POST /v1/signals answer). */
struct vg_cloud_verdict {
	char sha256[65];
	char verdict[16];      /* "clean", "suspicious", "block" */
	char threat_name[160]; /* "" when none */
	double score;          /* scores.ensemble (the ML layer), else scores.interim_rules */
	uint32_t ttl;          /* seconds it may be cached */
	int cached;            /* 1: from the verdict cache, no request made */
	uint64_t seq;          /* private: which signal of this run it answers (0: an earlier run's) */
	uint64_t change_id;    /* a change the verdict long-poll brought (GET /v1/verdicts id), 0 for an answer to a signal */
};

/*
 * Called in the event loop for each verdict. ev is the event the signal was
 * made from (NULL when it is gone: the signal came from the queue of an
 * earlier run, or was evicted), rule_id the cloud rule or NULL (a new
 * executable's start).
 */
typedef void (*vg_cloud_verdict_fn)(void *ctx, const struct vg_cloud_verdict *v, const struct vg_event *ev,
				    const char *rule_id);

/*
 * Creates the client from cfg (cloud_url, cloud_token, state_dir,
 * cloud_queue_kb): opens the queue file and starts the worker thread. No
 * network I/O happens here. Returns 0, VG_EINVAL (no cloud_url), -errno or
 * VG_ENOMEM with err filled.
 */
int vg_cloud_client_new(const struct vg_agent_config *cfg, struct vg_cloud_client **out, char *err, size_t errlen);
/* Stops the worker (signals still in memory are written to the queue file first). Accepts NULL. */
void vg_cloud_client_free(struct vg_cloud_client *c);
/*
 * For a match of a rule with vigil: {cloud: true}: queues a signal about the
 * acting process's executable and appends "cloud":{...} (what was done) to
 * extra (a JSON members list; a comma is added when it is not empty).
 */
void vg_cloud_client_on_match(struct vg_cloud_client *c, struct vg_tree *tree, const struct vg_rule *rule,
			      const struct vg_event *ev, struct vg_buf *extra);
/*
 * For every event (after the pipeline): a process start from a user-writable
 * place (VigilImageUserWritable true) whose sha256 has no verdict cached
 * queues a signal; one with a cached verdict calls fn with it at once.
 */
void vg_cloud_client_on_event(struct vg_cloud_client *c, struct vg_tree *tree, const struct vg_event *ev,
			      vg_cloud_verdict_fn fn, void *ctx);
/* Takes the verdicts the worker received (never waits) and calls fn for each. */
void vg_cloud_client_poll(struct vg_cloud_client *c, vg_cloud_verdict_fn fn, void *ctx);
/*
 * At shutdown: lets the worker deliver what is queued for at most
 * timeout_ms, calling fn for verdicts; returns early when all is delivered
 * or the service cannot be reached. Returns the number of signals pending.
 */
uint64_t vg_cloud_client_drain(struct vg_cloud_client *c, int timeout_ms, vg_cloud_verdict_fn fn, void *ctx);
/* Appends "cloud":{sent, queued, delivered, verdicts, errors, last_error...} to a JSON members list. */
void vg_cloud_client_write_status(struct vg_cloud_client *c, struct vg_buf *b, int *first);
/*
 * For the exec hold, which sends its own requests from its own thread: the
 * current credential, the endpoint id and address to put in signals.
 * Returns 0, or VG_ENOTFOUND when not enrolled yet (the worker is asked to
 * enroll; ask again later). Thread-safe.
 */
int vg_cloud_client_auth(struct vg_cloud_client *c, char *cred, size_t credlen, char *endpoint, size_t eplen,
			 char *address, size_t addrlen);
/* The service answered 401 to cred: the worker enrolls again (unless it already has). Thread-safe. */
void vg_cloud_client_auth_failed(struct vg_cloud_client *c, const char *cred);
/* The service's base URL (no trailing '/'). */
const char *vg_cloud_client_url(const struct vg_cloud_client *c);
/* Main thread: caches a verdict learned elsewhere (the exec hold's round trip) so a process start of that file sends nothing. */
void vg_cloud_client_learn(struct vg_cloud_client *c, const struct vg_cloud_verdict *v);
/*
 * For the verdict long-poll (src/agent/cloud_poll.c), main thread: 1 when
 * sha256 has an unexpired cache entry, its verdict copied ("" while a
 * signal about it waits for its answer); else 0.
 */
int vg_cloud_client_cached(struct vg_cloud_client *c, const char *sha256, char *verdict, size_t len);
/* Main thread: calls fn with the key of every process whose start named an executable with this sha256; returns how many. */
size_t vg_cloud_client_each_process(struct vg_cloud_client *c, const char *sha256,
				    void (*fn)(const char *key, void *ctx), void *ctx);
/* The id this machine enrolls and signals with: /etc/machine-id, else the host name. */
void vg_cloud_endpoint_id(char *out, size_t outlen);

#endif /* VIGIL_CLOUD_CLIENT_H */
