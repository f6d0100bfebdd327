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
	int in_tx;              /* a transaction is open */
};

/*
 * The hot state (hot.c): what the signal path reads and writes in memory,
 * under one short lock, while a writer thread commits the queued records
 * to SQLite behind it (docs/cloud.md, "Write-behind").
 */
struct hot_endpoint {
	char *id;               /* never freed while the service runs: records point at it */
	char *cred;             /* current credential, NULL when unknown */
	int64_t touched_ms;     /* last_seen_ms last queued for the endpoints row */
};
struct hot_file {
	uint8_t sha[32];
	int64_t id;             /* its row id in the files table */
	int64_t first_seen_ms;
	int64_t prevalence;     /* distinct endpoints */
	uint8_t verdict;        /* hot_verdict_names index; 0 none yet */
	float score;            /* of the current verdict */
	char *threat;           /* threat name of a block verdict (a block stands), else NULL */
};
/* One answered signal waiting for the writer; strings live in data[]. */
struct hot_rec {
	struct hot_rec *next;
	const char *eid;        /* endpoint id */
	char sha[65];
	int fresh_pair;         /* first signal of this endpoint for this file */
	int new_file;           /* first signal for this file: its row is added */
	int touch;              /* update the endpoint's last_seen_ms (at most once a second) */
	int64_t file_id;
	int64_t now_ms, first_seen_ms, prevalence, size, vid; /* vid: verdict row id when the verdict changed, else 0 */
	uint8_t verdict;
	double score;
	char *body, *vjson;     /* the signal as received, the verdict object (when vid) */
	size_t body_len;
	const char *name, *threat;
	char data[];
};
struct hot_chunk {
	struct hot_chunk *next;
	size_t used, cap;
	_Alignas(16) char data[];
};
struct hot {
	pthread_mutex_t mu;     /* everything below */
	pthread_cond_t cond;    /* wakes the writer (kick, stop) */
	int kick;
	struct hot_endpoint *eps;
	uint32_t neps, capeps, ep_creds;
	uint32_t *ep_by_id, *ep_by_cred; /* open addressing, index+1 */
	size_t ep_mask;
	struct hot_file *files;
	uint32_t nfiles, capfiles;
	int64_t max_file_id;    /* ids are given in order: files[] is sorted by id */
	uint32_t *file_slots;   /* open addressing by sha, index+1 */
	size_t file_mask;
	uint64_t probes;        /* slots looked at by file lookups (the hash's quality, tested) */
	uint64_t *pair_slots;   /* (file+1)<<24 | endpoint: who reported what */
	size_t pair_mask, npairs;
	struct hot_rec *qhead, **qtail;
	size_t qlen;
	struct hot_chunk *chunks, *chunk_tail, *spare; /* where the queued records live */
};
/*
 * Past HOT_QUEUE_KICK queued records the writer starts its batch before the
 * window ends; past HOT_QUEUE_MAX (about 150 MB) a request thread commits the
 * queue itself: memory stays bounded when the disk cannot keep up.
 */
#define HOT_QUEUE_KICK 4096
#define HOT_QUEUE_MAX 131072
extern const char *const hot_verdict_names[4];
uint8_t hot_verdict_code(const char *v);
int hot_init(struct hot *h);
void hot_free(struct hot *h);
int hot_load(struct hot *h, struct store *s, char *err, size_t errlen);
int hot_enroll(struct hot *h, const char *id, const char *cred);
/* Endpoint of a credential: copies its id, sets *ep to its index; 0 or VG_ENOTFOUND. */
int hot_auth(struct hot *h, const char *cred, char *id, size_t idlen, uint32_t *ep);
/* Caller holds mu: records that endpoint ep reported sha (64 hex digits). */
int hot_file_seen(struct hot *h, const char *sha, uint32_t ep, int64_t now_ms, uint32_t *file, int *fresh_pair,
		  int *new_file);
/* Caller holds mu: sets file f's current verdict (the threat name is kept for a block). */
int hot_file_verdict(struct hot *h, uint32_t f, uint8_t code, double score, const char *threat);
#define HOT_BLOCK 3 /* hot_verdict_names[3] */
/* Caller holds mu: the files-table id of a known hash, or 0. */
int64_t hot_file_id(struct hot *h, const char *sha);
/* Caller holds mu: room for a record in the queue's chunks. */
struct hot_rec *hot_rec_new(struct hot *h, size_t body_len, size_t vjson_len, const char *name, const char *threat);
void hot_enqueue(struct hot *h, struct hot_rec *r); /* caller holds mu */
struct vg_cloud;
size_t hot_drain(struct vg_cloud *c);  /* caller holds store.mu: commits the queue */
void hot_sync(struct vg_cloud *c);     /* takes store.mu and commits the queue */
void *hot_writer(void *arg);

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
	const char *model;      /* what decided: "ensemble", "rule_floor" or VG_CLOUD_MODEL */
	char scores_json[256];  /* the answer's "scores" object: each model's score */
};
#define VG_CLOUD_MODEL "interim_rules"
void vg_cloud_score(const struct score_input *in, struct score_output *out);

/* models.c: the ML bundle (config "model": embedded, a path, or none) and the verdict it gives. */
struct cloud_models;
int vg_cloud_models_open(struct vg_cloud *c, char *err, size_t errlen);
void vg_cloud_models_close(struct vg_cloud *c);
const char *vg_cloud_models_source(const struct vg_cloud *c);
/* The verdict for a signal (d: its flattened body): the bundle's models when it covers the platform, else interim. */
void vg_cloud_model_score(struct vg_cloud *c, const struct vg_json_doc *d, const char *endpoint,
			  const struct score_input *in, struct score_output *out);

struct vg_cloud {
	struct vg_cloud_config cfg;
	struct store store;
	struct vg_ruleset *rules;
	struct vg_tree *tree;         /* process tree over ingested events (all endpoints) */
	struct vg_corr *corr;         /* correlation rules' state over ingested events, or NULL */
	struct cloud_models *models;  /* the ML bundle and the fleet's pair counts (models.c) */
	pthread_mutex_t ingest_mu;    /* field interning and the tree are single-threaded */
	struct hot hot;               /* in-memory state of the signal path, write-behind queue */
	pthread_t writer;             /* commits the queue every group_commit_ms */
	int writer_started, hot_ready;
	_Atomic uint64_t store_errors; /* queued writes SQLite refused */
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
int store_begin(struct store *s);     /* begins a transaction (caller holds mu) */
int store_flush(struct store *s);     /* commits it */
int store_enroll(struct store *s, const char *id, const char *hostname, const char *address, const char *cred);
/* The writer's statements (hot_drain): a new (file, endpoint) pair, the file row with absolute values, a verdict row with its id, an endpoint's last_seen. */
int store_pair_add(struct store *s, int64_t file_id, const char *endpoint, int64_t now_ms);
/* add: a new row with the given id; else an update of row id */
int store_file_put(struct store *s, int add, int64_t id, const char *sha, int64_t first_seen_ms, int64_t now_ms,
		   int64_t prevalence, int64_t size, const char *name, const char *verdict, double score,
		   const char *threat);
int store_verdict_add(struct store *s, int64_t id, const char *sha, const char *verdict, const char *body,
		      int64_t now_ms);
int store_touch(struct store *s, const char *endpoint, int64_t now_ms);
int store_signal_add(struct store *s, const char *endpoint, const char *sha, const char *body, size_t len,
		     const char *verdict, double score, int64_t now_ms);
/* Appends the file's reputation JSON object to b; VG_ENOTFOUND when unknown. */
int store_file_json(struct store *s, int64_t id, const char *sha, struct vg_buf *b);
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
