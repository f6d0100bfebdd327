/* cloud_int.h - vigil-cloud internals shared by the handler, the store, the scorer and the Elasticsearch endpoint. */
#ifndef VIGIL_CLOUD_INT_H
#define VIGIL_CLOUD_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "vigil/cloud.h"
#include "vigil/json.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"

/* Routes, for dispatch and for the metrics labels. */
enum route {
	R_NONE = 0, R_HEALTH, R_METRICS, R_ENROLL, R_SIGNALS, R_FILES, R_EVENTS, R_ALERTS, R_VERDICTS,
	R_ES_ROOT, R_ES_TEMPLATE, R_ES_ILM, R_ES_LICENSE, R_ES_BULK, R_ES_INDEX, R_ES_XPACK,
	R__COUNT
};
extern const char *const vg_cloud_route_names[R__COUNT];

/* Latency histogram bucket bounds (seconds); one more bucket is +Inf. */
#define NBUCKETS 12
extern const double vg_cloud_buckets[NBUCKETS];
/* Status codes counted per route. */
#define NSTATUS 10
extern const int vg_cloud_statuses[NSTATUS];

/* The store: one SQLite connection behind a mutex, statements prepared once. */
struct store {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *st[32];
	int in_tx;              /* a group transaction is open */
	int tx_ops;             /* requests in it */
	int64_t tx_start_ns;    /* when it began (CLOCK_MONOTONIC) */
	int64_t group_ns;       /* group commit window; 0 commits every request */
};

/* What the interim model reads about one file (docs/cloud.md: "interim_rules"). */
struct score_input {
	int64_t prevalence;     /* distinct endpoints that reported the hash, this one included */
	int64_t age_s;          /* seconds since the service first saw the hash */
	enum vg_level severity; /* highest level of the signal's rule ids */
	size_t nbehaviors;      /* behavior ids and rule ids reported */
	double entropy;         /* -1 unknown */
	int packaged;           /* 1 owned by a package, 0 not, -1 unknown */
	int temp_path;          /* file lives in /tmp, /dev/shm, /var/tmp, a Downloads or Temp folder */
	int elf_static, elf_stripped, elf_packed; /* ELF summary flags (0 when absent) */
	int chain_risky;        /* the process chain has a shell or script host under a server or office program */
	const char *top_rule;   /* title of the most severe rule, or NULL */
	const char *technique;  /* its ATT&CK technique, or NULL */
};
struct score_output {
	double score;           /* 0..1 */
	const char *verdict;    /* "clean", "suspicious", "block" */
	char threat_name[160];  /* empty when clean */
	unsigned ttl;           /* seconds an agent may cache the verdict */
};
#define VG_CLOUD_MODEL "interim_rules"
void vg_cloud_score(const struct score_input *in, struct score_output *out);

struct vg_cloud {
	struct vg_cloud_config cfg;
	struct store store;
	struct vg_ruleset *rules;
	struct vg_tree *tree;         /* process tree over ingested events (all endpoints) */
	struct vg_corr *corr;         /* correlation rules' state over ingested events, or NULL */
	pthread_mutex_t ingest_mu;    /* field interning and the tree are single-threaded */
	pthread_t flusher;            /* commits the open group transaction when traffic stops */
	int flusher_started;
	_Atomic int stopping;
	_Atomic int64_t longpolls_waiting; /* suspended GET /v1/verdicts */
	struct vg_cloud_server *server;
	_Atomic uint64_t req[R__COUNT][NSTATUS + 1]; /* last column: other statuses */
	_Atomic uint64_t lat[R__COUNT][NBUCKETS + 1];
	_Atomic uint64_t lat_sum_us[R__COUNT];
	_Atomic int64_t verdict_head;
	_Atomic uint64_t events_in, alerts_out, bulk_items, bulk_errors;
};

/* store.c */
int store_open(struct store *s, const char *path, char *err, size_t errlen);
void store_close(struct store *s);
int64_t store_now_ms(void);
int store_begin(struct store *s);     /* joins the open group transaction or begins one */
int store_done(struct store *s);      /* a request's writes are in: commits when the group is due */
int store_flush(struct store *s);     /* commits now */
int store_flush_due(struct store *s); /* commits if the window has passed (flusher thread) */
int store_enroll(struct store *s, const char *id, const char *hostname, const char *address, const char *cred);
/* Copies the endpoint id of a credential into id; 0 or VG_ENOTFOUND. */
int store_auth(struct store *s, const char *cred, char *id, size_t idlen);
/* The verdict a file holds in the store ("" when none yet). */
struct store_file_verdict {
	char verdict[16];
	double score;
	char threat_name[160];
};
/* Records that endpoint saw sha256; fills prevalence, first_seen_ms and the file's current verdict. */
int store_file_seen(struct store *s, const char *sha, const char *endpoint, int64_t size, const char *name,
		    int64_t now_ms, int64_t *prevalence, int64_t *first_seen_ms, struct store_file_verdict *prev);
int store_signal_add(struct store *s, const char *endpoint, const char *sha, const char *body, size_t len,
		     const char *verdict, double score, int64_t now_ms);
int store_file_verdict(struct store *s, const char *sha, const char *verdict, double score, const char *threat,
		       const char *verdict_json, int64_t now_ms, int64_t *verdict_id);
/* Appends the file's reputation JSON object to b; VG_ENOTFOUND when unknown. */
int store_file_json(struct store *s, const char *sha, struct vg_buf *b);
int store_event_add(struct store *s, const char *endpoint, int64_t time_ns, const char *type,
		    const char *body, size_t len, int64_t now_ms);
int store_alert_add(struct store *s, const char *endpoint, int64_t time_ns, const char *rule_id,
		    const char *level, const char *body, size_t len, int64_t now_ms, int64_t *id);
/* Appends stored JSON bodies with id > since (at most limit) as array elements; sets *last to the last id. */
int store_list(struct store *s, int table, int64_t since, int64_t limit, struct vg_buf *b, int64_t *last);
enum { LIST_ALERTS = 0, LIST_VERDICTS = 1 };
int64_t store_max_id(struct store *s, const char *table);

/* The route a path belongs to, for metrics of answers given before the handler runs (413, 415). */
int vg_cloud_route_of(const char *path);

/* es.c: the Elasticsearch-compatible endpoint. */
int vg_cloud_es(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs,
		const char *endpoint);
/* api.c helpers es.c uses */
void vg_cloud_error(struct vg_cloud_response *rs, int status, const char *msg, long long position);
/* Maps, enriches, matches and stores one flattened event document; 1 event stored, 0 not an event (reason set). */
int vg_cloud_ingest_doc(struct vg_cloud *c, const struct vg_json_doc *doc, const char *endpoint,
			const char *raw, size_t rawlen, int64_t now_ms, const char **reason);

#endif /* VIGIL_CLOUD_INT_H */
