/* cloud.h - vigil-cloud, the cloud protection service: configuration, the request handler (routes, JSON bodies, verdicts, store) and the HTTP server around it. */
#ifndef VIGIL_CLOUD_H
#define VIGIL_CLOUD_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/buf.h"
#include "vigil/common.h"

/* Settings of the service (docs/cloud.md lists each with its default). */
struct vg_cloud_config {
	char *listen;          /* "127.0.0.1:8443"; port 0 picks a free port */
	char *db;              /* SQLite file; ":memory:" for none */
	char *enroll_token;    /* the token agents enroll with (Bearer); NULL = enrollment closed */
	char *rules;           /* Sigma rule file or folder; NULL = the rules compiled in */
	char *es_version;      /* version the Elasticsearch endpoint reports, e.g. "8.11.0" */
	unsigned threads;      /* HTTP worker threads (thread pool, epoll) */
	unsigned max_body_kb;  /* request body limit, KiB (after gzip decoding too) */
	unsigned longpoll_max; /* longest long-poll wait, seconds */
	unsigned max_conns;    /* open connections at most */
	int es_open;           /* 1: the Elasticsearch endpoint needs no credential (lab use) */
	char *model;           /* verdict models: "embedded" (the shipped bundle), a bundle path, or "none" (interim scorer) */
	unsigned group_commit_ms; /* signals share a transaction this long (0: commit each one) */
};

/* Fills cfg with the defaults. Free with vg_cloud_config_free. */
void vg_cloud_config_defaults(struct vg_cloud_config *cfg);
void vg_cloud_config_free(struct vg_cloud_config *cfg);
/*
 * Reads "key value" lines from path over the defaults already in cfg.
 * Returns 0, -errno when the file cannot be read, or VG_EINVAL with
 * "file:line: key: reason" in err.
 */
int vg_cloud_config_load(struct vg_cloud_config *cfg, const char *path, char *err, size_t errlen);
/* Writes a commented sample configuration with every default. */
void vg_cloud_config_sample(struct vg_buf *b);

/* A query argument: name=value, both unescaped. */
struct vg_cloud_arg {
	const char *name;
	const char *value;
};

/* One HTTP request as the handler sees it; everything is borrowed. */
struct vg_cloud_request {
	const char *method;        /* "GET", "POST", "PUT", "HEAD", ... */
	const char *path;          /* without the query, e.g. "/v1/files/ab12..." */
	const struct vg_cloud_arg *args;
	size_t nargs;
	const char *authorization; /* the Authorization header, or NULL */
	const char *body;          /* decoded body (gzip already undone), may be NULL when body_len is 0 */
	size_t body_len;
	int no_wait;               /* a long-poll that already waited: answer now */
};

/* The answer. body is owned by the response; vg_cloud_response_free frees it. */
struct vg_cloud_response {
	int status;
	const char *content_type;  /* static */
	const char *allow;         /* static: Allow header for 405 */
	int es;                    /* add X-Elastic-Product: Elasticsearch */
	int route;                 /* index into the route table (metrics) */
	int wait;                  /* long-poll: nothing yet, suspend and call again */
	struct vg_buf body;
};
void vg_cloud_response_free(struct vg_cloud_response *rs);

struct vg_cloud;

/*
 * Opens the service state: the store (creating and migrating the database),
 * the Sigma rules and the process tree. Returns 0, VG_ENOMEM, or VG_EINVAL
 * with the reason in err (database or rules that cannot be opened). cfg is
 * copied. Free with vg_cloud_free.
 */
int vg_cloud_new(const struct vg_cloud_config *cfg, struct vg_cloud **out, char *err, size_t errlen);
void vg_cloud_free(struct vg_cloud *c); /* accepts NULL */

/*
 * Handles one request (no network: the HTTP server and the fuzz harness
 * both call this). Always fills rs (status 4xx/5xx with a JSON error body on
 * bad input). Thread-safe. Returns 0, or VG_ENOMEM when the answer could not
 * be built (rs then says 500).
 */
int vg_cloud_handle(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs);

/* Records a finished request for /metrics: route (rs->route), status, seconds taken. */
void vg_cloud_observe(struct vg_cloud *c, int route, int status, double seconds);

/* Long-poll support: the newest verdict id, and a wait for one newer than since (returns at deadline_ns, CLOCK_MONOTONIC). */
int64_t vg_cloud_verdict_head(struct vg_cloud *c);

/* The HTTP server (libmicrohttpd, thread pool + epoll, keep-alive). */
struct vg_cloud_server;
/*
 * Starts serving c (borrowed) on cfg->listen. Returns 0 with the bound port
 * in *port, VG_EINVAL for a bad listen address, or -errno.
 */
int vg_cloud_server_start(struct vg_cloud *c, const struct vg_cloud_config *cfg,
			  struct vg_cloud_server **out, unsigned *port);
void vg_cloud_server_stop(struct vg_cloud_server *s); /* accepts NULL */

/* Called by the handler side when a verdict was stored: wakes long-polls. */
void vg_cloud_server_notify(struct vg_cloud_server *s);
/* Lets c wake s's long-polls (set by vg_cloud_server_start). */
void vg_cloud_set_server(struct vg_cloud *c, struct vg_cloud_server *s);

#endif /* VIGIL_CLOUD_H */
