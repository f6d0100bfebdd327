/* cloud_client.c - vigild talks to vigil-cloud: enrollment, signals built in the event loop and handed to a worker thread (disk queue, libcurl, one kept-alive handle), verdicts handed back and cached by sha256. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/sigma_ext.h"
#include "vigil/buf.h"
#include "vigil/cloud_client.h"
#include "vigil/json.h"
#include "vigil/proctree.h"
#include "vigil/signal.h"
#include "vigil/strmap.h"

#define MEMQ_MAX 256        /* signals handed to the worker, not yet on disk */
#define CACHE_MAX 4096      /* verdict cache entries */
#define PENDING_MAX 128     /* events kept to act on when their verdict comes */
#define PENDING_TTL_S 600   /* a sha256 sent and not answered is not sent again for this long */
#define BACKOFF_MAX_MS 30000
#define SEQMAP_MAX 1024

struct seqmap {
	uint64_t off, seq;
};

struct cache_ent {
	char sha256[65];
	char verdict[16]; /* "" = sent, no verdict yet */
	char threat[160];
	double score;
	uint32_t ttl;
	int64_t expires;  /* monotonic ns */
};

struct pending_ev {
	uint64_t seq;     /* the signal's number in this run */
	char sha256[65];
	char *rule_id;
	struct vg_event *ev;
	int64_t added;
};

struct vg_cloud_client {
	/* set at creation, read-only after */
	char url[1024];
	char token[256];
	char state_dir[4096];
	char endpoint_id[129];
	char hostname[256];
	char address[64];

	/* main thread only */
	struct cache_ent *cache;
	size_t ncache;
	struct pending_ev pend[PENDING_MAX];
	uint64_t sent, verdicts, blocks, from_cache, no_hash;
	struct vg_strmap exe_by_key; /* process key -> "<sha256>\0<file JSON>" from its start event */

	/* shared with the worker, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stop, drain;
	char *memq[MEMQ_MAX];
	uint64_t memq_seq[MEMQ_MAX];
	size_t memq_len;
	uint64_t next_seq;
	uint64_t memq_dropped;
	struct vg_cloud_verdict *vq; /* verdicts for the main thread */
	size_t vq_len, vq_cap;
	uint64_t passes;        /* delivery passes done */
	int last_pass_failed;   /* the last pass stopped on a network or server error */
	int enrolled;
	int want_enroll;        /* the exec hold asks for a credential (it sends its own requests) */
	char shared_cred[128];  /* the worker's credential, for the exec hold; "" = none */
	uint64_t errors, enrollments, http_4xx;
	char last_error[256];
	struct vg_cloud_queue_stats qst; /* copy of the worker's queue counters */

	/* worker only */
	struct vg_cloud_queue *q;
	CURL *curl;
	char credential[128];
	char cred_endpoint[129];
	struct vg_buf resp;
	struct vg_json_doc doc;
	int backoff_ms;
	int64_t next_try; /* monotonic ns: no delivery attempt before (backoff), unless draining */
	struct seqmap where[SEQMAP_MAX]; /* queue file offset -> signal number, this run's lines */
	size_t nwhere;
	uint64_t cur_seq; /* of the line being sent */
};

static void exe_map_clear(struct vg_cloud_client *c);

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == ':' || c == '-';
}

void vg_cloud_endpoint_id(char *out, size_t outlen)
{
	char buf[256] = "";
	FILE *f = fopen("/etc/machine-id", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	int ok = buf[0] != '\0' && strlen(buf) <= 128;
	for (const char *p = buf; ok && *p; p++)
		ok = id_char(*p);
	if (!ok) {
		if (gethostname(buf, sizeof(buf) - 1))
			strcpy(buf, "vigild");
		buf[128] = '\0';
		for (char *p = buf; *p; p++)
			if (!id_char(*p))
				*p = '_';
		if (!buf[0])
			strcpy(buf, "vigild");
	}
	snprintf(out, outlen, "%s", buf);
}

/* The first IPv4 address of an interface that is up and not loopback; "127.0.0.1" when none. */
static void primary_address(char *out, size_t outlen)
{
	struct ifaddrs *ifa = NULL;

	snprintf(out, outlen, "127.0.0.1");
	if (getifaddrs(&ifa))
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)outlen);
		break;
	}
	freeifaddrs(ifa);
}

static void set_error(struct vg_cloud_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct vg_cloud_client *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	c->errors++;
	int same = strcmp(c->last_error, msg) == 0;
	snprintf(c->last_error, sizeof(c->last_error), "%s", msg);
	pthread_mutex_unlock(&c->mu);
	if (!same)
		vg_log(VG_LOG_WARN, "cloud: %s", msg);
}

/* ---- worker: HTTP ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct vg_buf *b = ctx;
	if (b->len + sz * n > (1u << 20))
		return 0; /* no answer of the API is this large */
	vg_buf_put(b, p, sz * n);
	return b->oom ? 0 : sz * n;
}

/* POSTs body to url+path with the given bearer; returns the HTTP status, or 0 with the error set when no answer came. */
static long post(struct vg_cloud_client *c, const char *path, const char *bearer, const char *body, size_t len)
{
	char url[1200], auth[300];
	struct curl_slist *hl = NULL;
	long status = 0;

	vg_buf_reset(&c->resp);
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
	hl = curl_slist_append(hl, auth);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hl);
	if (rc != CURLE_OK) {
		set_error(c, "%s: %s", url, curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	vg_buf_put(&c->resp, "", 1);
	c->resp.len--;
	return status;
}

static const struct vg_json_leaf *leaf(const struct vg_json_doc *d, const char *path)
{
	size_t n = strlen(path);
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (d->leaves[i].path_len == n && memcmp(d->leaves[i].path, path, n) == 0 && !d->leaves[i].in_array)
			return &d->leaves[i];
	return NULL;
}

static void cred_path(const struct vg_cloud_client *c, char *out, size_t n)
{
	snprintf(out, n, "%s/cloud-credential", c->state_dir);
}

/* Reads "<endpoint_id> <credential>" from state_dir/cloud-credential. */
static int load_credential(struct vg_cloud_client *c)
{
	char path[4200], ep[129], cr[128];
	snprintf(path, sizeof(path), "%s/cloud-credential", c->state_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fscanf(f, "%128s %127s", ep, cr) == 2;
	fclose(f);
	if (!ok)
		return -1;
	snprintf(c->cred_endpoint, sizeof(c->cred_endpoint), "%s", ep);
	snprintf(c->credential, sizeof(c->credential), "%s", cr);
	return 0;
}

static int save_credential(struct vg_cloud_client *c)
{
	char path[4200], tmp[4300], text[300];
	cred_path(c, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int n = snprintf(text, sizeof(text), "%s %s\n", c->cred_endpoint, c->credential);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0600);
	int ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* Enrolls with the token. Returns 0, or -1 (error set). */
static int enroll(struct vg_cloud_client *c)
{
	struct vg_buf b = { 0 };
	int first = 1;

	if (!c->token[0]) {
		set_error(c, "not enrolled and no cloud_token set: signals stay queued");
		return -1;
	}
	vg_buf_put(&b, "{", 1);
	vg_buf_json_kv(&b, &first, "endpoint_id", c->endpoint_id);
	vg_buf_json_kv(&b, &first, "hostname", c->hostname);
	vg_buf_json_kv(&b, &first, "address", c->address);
	vg_buf_put(&b, "}", 1);
	long st = b.oom ? 0 : post(c, "/v1/enroll", c->token, b.p, b.len);
	vg_buf_free(&b);
	if (st == 0)
		return -1;
	if (st != 200) {
		set_error(c, "enroll: HTTP %ld: %.150s", st, c->resp.p ? c->resp.p : "");
		return -1;
	}
	const struct vg_json_leaf *cr = NULL, *ep = NULL;
	if (vg_json_flatten(&c->doc, c->resp.p, c->resp.len, NULL) == 0) {
		cr = leaf(&c->doc, "credential");
		ep = leaf(&c->doc, "endpoint_id");
	}
	if (!cr || cr->value_len == 0 || cr->value_len >= sizeof(c->credential)) {
		set_error(c, "enroll: no credential in the answer");
		return -1;
	}
	snprintf(c->credential, sizeof(c->credential), "%s", cr->value);
	snprintf(c->cred_endpoint, sizeof(c->cred_endpoint), "%s", ep ? ep->value : c->endpoint_id);
	int rc = save_credential(c);
	if (rc)
		vg_log(VG_LOG_WARN, "cloud: cannot keep the credential in %s/cloud-credential: %s (enrolling again next start)",
		       c->state_dir, vg_strerror(rc));
	pthread_mutex_lock(&c->mu);
	c->enrolled = 1;
	c->enrollments++;
	snprintf(c->shared_cred, sizeof(c->shared_cred), "%s", c->credential);
	pthread_mutex_unlock(&c->mu);
	vg_log(VG_LOG_INFO, "cloud: enrolled as %s", c->cred_endpoint);
	return 0;
}

static void push_verdict(struct vg_cloud_client *c, const struct vg_cloud_verdict *v)
{
	pthread_mutex_lock(&c->mu);
	if (c->vq_len == c->vq_cap) {
		size_t nc = c->vq_cap ? c->vq_cap * 2 : 16;
		struct vg_cloud_verdict *n = nc <= 4096 ? realloc(c->vq, nc * sizeof(*n)) : NULL;
		if (n) {
			c->vq = n;
			c->vq_cap = nc;
		}
	}
	if (c->vq_len < c->vq_cap)
		c->vq[c->vq_len++] = *v;
	pthread_mutex_unlock(&c->mu);
}

/* Sends one queued signal: 0 delivered, 1 stop (offline, retry later), 2 rejected for good. */
static int send_once(struct vg_cloud_client *c, const char *line, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c->credential[0] && enroll(c))
			return 1;
		long st = post(c, "/v1/signals", c->credential, line, len);
		if (st == 0)
			return 1;
		if (st == 401) { /* the service forgot us (new database) or the credential was replaced: enroll again */
			c->credential[0] = '\0';
			pthread_mutex_lock(&c->mu);
			c->shared_cred[0] = '\0';
			pthread_mutex_unlock(&c->mu);
			continue;
		}
		if (st == 200) {
			struct vg_cloud_verdict v = { 0 };
			const struct vg_json_leaf *l;
			if (vg_json_flatten(&c->doc, c->resp.p, c->resp.len, NULL) || !(l = leaf(&c->doc, "sha256")) ||
			    l->value_len != 64) {
				set_error(c, "signals: answer is not a verdict: %.120s", c->resp.p);
				return 2;
			}
			snprintf(v.sha256, sizeof(v.sha256), "%s", l->value);
			if ((l = leaf(&c->doc, "verdict")))
				snprintf(v.verdict, sizeof(v.verdict), "%s", l->value);
			if ((l = leaf(&c->doc, "threat_name")) && l->type == VG_JSON_STRING)
				snprintf(v.threat_name, sizeof(v.threat_name), "%s", l->value);
			if ((l = leaf(&c->doc, "ttl")))
				v.ttl = (uint32_t)strtoul(l->value, NULL, 10);
			if ((l = leaf(&c->doc, "scores.ensemble")) || (l = leaf(&c->doc, "scores.interim_rules")))
				v.score = strtod(l->value, NULL);
			v.seq = c->cur_seq;
			push_verdict(c, &v);
			return 0;
		}
		if (st >= 400 && st < 500 && st != 408 && st != 429) {
			/* the service will never take this one (malformed, another endpoint, too large): do not retry it */
			pthread_mutex_lock(&c->mu);
			c->http_4xx++;
			pthread_mutex_unlock(&c->mu);
			set_error(c, "signals: HTTP %ld: %.150s (signal dropped)", st, c->resp.p);
			return 2;
		}
		set_error(c, "signals: HTTP %ld: %.150s", st, c->resp.p);
		return 1;
	}
	return 1;
}

static int send_one(const char *line, size_t len, uint64_t off, void *ctx)
{
	struct vg_cloud_client *c = ctx;

	c->cur_seq = 0;
	for (size_t i = 0; i < c->nwhere; i++)
		if (c->where[i].off == off) {
			c->cur_seq = c->where[i].seq;
			c->where[i] = c->where[--c->nwhere]; /* consumed whatever the outcome, unless stopped (below) */
			break;
		}
	int r = send_once(c, line, len);
	if (r == 1 && c->cur_seq && c->nwhere < SEQMAP_MAX) /* kept for the next pass */
		c->where[c->nwhere++] = (struct seqmap){ off, c->cur_seq };
	return r;
}

static void worker_bad_line(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct vg_cloud_client *c = ctx;
	set_error(c, "%s:%u: corrupt queued signal skipped: %s", name, line, reason);
}

static void *worker(void *arg)
{
	struct vg_cloud_client *c = arg;
	char *batch[MEMQ_MAX];

	pthread_mutex_lock(&c->mu);
	for (;;) {
		size_t n = c->memq_len;
		uint64_t seqs[MEMQ_MAX];
		memcpy(batch, c->memq, n * sizeof(*batch));
		memcpy(seqs, c->memq_seq, n * sizeof(*seqs));
		c->memq_len = 0;
		int stop = c->stop, drain = c->drain, failed = c->last_pass_failed;
		pthread_mutex_unlock(&c->mu);

		for (size_t i = 0; i < n; i++) {
			uint64_t off = 0;
			int rc = vg_cloud_queue_append(c->q, batch[i], strlen(batch[i]), &off);
			if (!rc) {
				if (c->nwhere == SEQMAP_MAX) /* forget the oldest: its verdict will find no event */
					memmove(c->where, c->where + 1, --c->nwhere * sizeof(*c->where));
				c->where[c->nwhere++] = (struct seqmap){ off, seqs[i] };
			}
			if (rc == VG_ELIMIT)
				set_error(c, "%s is full (cloud_queue_kb): signal dropped", vg_cloud_queue_path(c->q));
			else if (rc)
				set_error(c, "%s: %s: signal dropped", vg_cloud_queue_path(c->q), vg_strerror(rc));
			free(batch[i]);
		}
		pthread_mutex_lock(&c->mu);
		int want = c->want_enroll;
		int refused = !c->shared_cred[0]; /* vg_cloud_client_auth_failed cleared it: the service refused it */
		c->want_enroll = 0;
		pthread_mutex_unlock(&c->mu);
		if (want && !stop && (!c->credential[0] || refused))
			enroll(c); /* failure is in last_error; the hold asks again at its next round trip */
		int attempted = 0;
		if (!stop && vg_cloud_queue_stats(c->q)->pending > 0 && (drain || mono_ns() >= c->next_try)) {
			failed = 0;
			attempted = 1;
			uint64_t before = vg_cloud_queue_stats(c->q)->pending;
			int rc = vg_cloud_queue_deliver(c->q, send_one, worker_bad_line, c);
			failed = vg_cloud_queue_stats(c->q)->pending > 0 && rc >= 0 && (uint64_t)rc < before;
			if (rc < 0) {
				set_error(c, "%s: %s", vg_cloud_queue_path(c->q), vg_strerror(rc));
				failed = 1;
			}
		}
		if (attempted) {
			c->backoff_ms = failed ? (c->backoff_ms ? c->backoff_ms * 2 : 500) : 0;
			if (c->backoff_ms > BACKOFF_MAX_MS)
				c->backoff_ms = BACKOFF_MAX_MS;
			c->next_try = mono_ns() + (int64_t)c->backoff_ms * 1000000LL;
		}

		pthread_mutex_lock(&c->mu);
		c->qst = *vg_cloud_queue_stats(c->q);
		if (attempted || !c->qst.pending) {
			c->passes++;
			c->last_pass_failed = c->qst.pending ? failed : 0;
		}
		if (stop)
			break;
		if (c->memq_len || c->stop || c->want_enroll)
			continue;
		if (c->drain && !failed && c->qst.pending)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t wait_ms = c->qst.pending ? (c->next_try - mono_ns()) / 1000000 + 1 : 60000;
		if (c->drain && failed)
			wait_ms = 100; /* shutting down: one more try soon, the main thread decides when to give up */
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (wait_ms > 0)
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ---- creation ---- */

int vg_cloud_client_new(const struct vg_agent_config *cfg, struct vg_cloud_client **out, char *err, size_t errlen)
{
	struct vg_cloud_client *c;
	int rc;

	*out = NULL;
	if (!cfg->cloud_url || !cfg->cloud_url[0]) {
		snprintf(err, errlen, "cloud_url is not set");
		return VG_EINVAL;
	}
	if (strncmp(cfg->cloud_url, "http://", 7) && strncmp(cfg->cloud_url, "https://", 8)) {
		snprintf(err, errlen, "cloud_url '%s' is not an http:// or https:// URL", cfg->cloud_url);
		return VG_EINVAL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return VG_ENOMEM;
	snprintf(c->url, sizeof(c->url), "%s", cfg->cloud_url);
	for (size_t n = strlen(c->url); n > 0 && c->url[n - 1] == '/'; n--)
		c->url[n - 1] = '\0';
	snprintf(c->token, sizeof(c->token), "%s", cfg->cloud_token ? cfg->cloud_token : "");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", cfg->state_dir);
	vg_cloud_endpoint_id(c->endpoint_id, sizeof(c->endpoint_id));
	if (gethostname(c->hostname, sizeof(c->hostname) - 1))
		strcpy(c->hostname, "unknown");
	primary_address(c->address, sizeof(c->address));
	if (!(c->cache = calloc(CACHE_MAX, sizeof(*c->cache)))) {
		free(c);
		return VG_ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	vg_json_doc_init(&c->doc);
	vg_strmap_init(&c->exe_by_key, 0);
	mkdir(c->state_dir, 0700);
	if ((rc = vg_cloud_queue_open(c->state_dir, (uint64_t)cfg->cloud_queue_kb * 1024, &c->q, err, errlen)))
		goto fail;
	c->qst = *vg_cloud_queue_stats(c->q);
	if (load_credential(c) == 0) {
		c->enrolled = 1;
		snprintf(c->shared_cred, sizeof(c->shared_cred), "%s", c->credential);
		/* signals must name the endpoint the credential was issued to */
		snprintf(c->endpoint_id, sizeof(c->endpoint_id), "%s", c->cred_endpoint);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(c->curl = curl_easy_init())) {
		snprintf(err, errlen, "libcurl: cannot create a handle");
		rc = VG_ENOMEM;
		goto fail;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->resp);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "vigild/1");
	if ((rc = pthread_create(&c->thread, NULL, worker, c))) {
		snprintf(err, errlen, "cloud worker thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	c->started = 1;
	if (c->qst.pending)
		vg_log(VG_LOG_INFO, "cloud: %llu signals queued from an earlier run", (unsigned long long)c->qst.pending);
	*out = c;
	return 0;
fail:
	vg_cloud_client_free(c);
	return rc;
}

void vg_cloud_client_free(struct vg_cloud_client *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	for (size_t i = 0; i < c->memq_len; i++)
		free(c->memq[i]);
	for (size_t i = 0; i < PENDING_MAX; i++) {
		free(c->pend[i].rule_id);
		vg_event_free(c->pend[i].ev);
	}
	if (c->curl)
		curl_easy_cleanup(c->curl);
	vg_cloud_queue_close(c->q);
	vg_buf_free(&c->resp);
	vg_json_doc_free(&c->doc);
	exe_map_clear(c);
	vg_strmap_free(&c->exe_by_key);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->vq);
	free(c->cache);
	free(c);
}

/* ---- main thread: cache, signals ---- */

static struct cache_ent *cache_find(struct vg_cloud_client *c, const char *sha)
{
	int64_t now = mono_ns();
	for (size_t i = 0; i < c->ncache; i++)
		if (strcmp(c->cache[i].sha256, sha) == 0)
			return c->cache[i].expires > now ? &c->cache[i] : NULL;
	return NULL;
}

static struct cache_ent *cache_put(struct vg_cloud_client *c, const char *sha)
{
	int64_t now = mono_ns();
	size_t slot = c->ncache, oldest = 0;
	for (size_t i = 0; i < c->ncache; i++) {
		if (strcmp(c->cache[i].sha256, sha) == 0 || c->cache[i].expires <= now) {
			slot = i;
			break;
		}
		if (c->cache[i].expires < c->cache[oldest].expires)
			oldest = i;
	}
	if (slot == c->ncache) {
		if (c->ncache < CACHE_MAX)
			c->ncache++;
		else
			slot = oldest;
	}
	struct cache_ent *e = &c->cache[slot];
	memset(e, 0, sizeof(*e));
	snprintf(e->sha256, sizeof(e->sha256), "%s", sha);
	return e;
}

static void remember_event(struct vg_cloud_client *c, uint64_t seq, const char *sha, const struct vg_rule *rule,
			   const struct vg_event *ev)
{
	size_t slot = 0;
	for (size_t i = 0; i < PENDING_MAX; i++) {
		if (!c->pend[i].ev) {
			slot = i;
			break;
		}
		if (c->pend[i].added < c->pend[slot].added)
			slot = i;
	}
	struct pending_ev *p = &c->pend[slot];
	free(p->rule_id);
	vg_event_free(p->ev);
	memset(p, 0, sizeof(*p));
	if (!(p->ev = vg_event_clone(ev)))
		return;
	snprintf(p->sha256, sizeof(p->sha256), "%s", sha);
	p->seq = seq;
	p->rule_id = rule && rule->id ? vg_strdup(rule->id) : NULL;
	p->added = mono_ns();
}

#define EXE_MAP_MAX 16384

static void exe_map_clear(struct vg_cloud_client *c)
{
	for (size_t i = 0; i < c->exe_by_key.nslots; i++)
		if (c->exe_by_key.slots[i].key)
			free(c->exe_by_key.slots[i].value);
	vg_strmap_free(&c->exe_by_key);
	vg_strmap_init(&c->exe_by_key, 0);
}

/* Remembers a started process's executable facts ("<sha256>\0<file JSON>") for signals its later events raise. */
static const char *exe_remember(struct vg_cloud_client *c, const struct vg_event *ev, const char *sha)
{
	struct vg_buf b = { 0 };
	void *old = NULL;

	if (!ev->proc.key)
		return NULL;
	if (c->exe_by_key.count >= EXE_MAP_MAX)
		exe_map_clear(c); /* crude bound; a process whose start is forgotten signals without file facts */
	vg_buf_put(&b, sha, 65);
	vg_signal_build_file(ev, sha, &b);
	vg_buf_put(&b, "", 1);
	if (b.oom || vg_strmap_put(&c->exe_by_key, ev->proc.key, strlen(ev->proc.key), b.p, &old)) {
		vg_buf_free(&b);
		return NULL;
	}
	free(old);
	return b.p;
}

/* Builds and hands a signal to the worker. Returns 0, or VG_ELIMIT (worker backlog full) / VG_ENOMEM. */
static int queue_signal(struct vg_cloud_client *c, struct vg_tree *tree, const struct vg_rule *rule,
			const struct vg_event *ev, const char *sha, const char *file_json)
{
	struct vg_buf b = { 0 }, fb = { 0 };
	if (!file_json) { /* the start was not seen: what the event itself says */
		vg_signal_build_file(ev, sha, &fb);
		vg_buf_put(&fb, "", 1);
		file_json = fb.oom ? "{}" : fb.p;
	}
	vg_signal_build(c->endpoint_id, c->address, tree, rule, NULL, ev, sha, file_json, &b);
	vg_buf_free(&fb);
	vg_buf_put(&b, "", 1);
	if (b.oom) {
		vg_buf_free(&b);
		return VG_ENOMEM;
	}
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	uint64_t seq = ++c->next_seq;
	if (c->memq_len < MEMQ_MAX) {
		c->memq_seq[c->memq_len] = seq;
		c->memq[c->memq_len++] = b.p;
		pthread_cond_signal(&c->cv);
	} else {
		c->memq_dropped++;
		rc = VG_ELIMIT;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc) {
		vg_buf_free(&b);
		return rc;
	}
	c->sent++;
	remember_event(c, seq, sha, rule, ev);
	struct cache_ent *e = cache_find(c, sha);
	if (!e) { /* sent, no answer yet: a new start of the same file does not send again meanwhile */
		e = cache_put(c, sha);
		e->expires = mono_ns() + PENDING_TTL_S * 1000000000LL;
	}
	return 0;
}

void vg_cloud_client_on_match(struct vg_cloud_client *c, struct vg_tree *tree, const struct vg_rule *rule,
			      const struct vg_event *ev, struct vg_buf *extra)
{
	char sha[65];
	int first = 1;
	const char *fj = NULL;

	if (extra->len)
		vg_buf_put(extra, ",", 1);
	vg_buf_json_key(extra, &first, "cloud");
	vg_buf_put(extra, "{", 1);
	int f = 1;
	int have = vg_signal_sha256(ev->proc.hashes, sha);
	if (ev->proc.key && (fj = vg_strmap_get(&c->exe_by_key, ev->proc.key, strlen(ev->proc.key)))) {
		if (!have || strcmp(fj, sha) == 0) {
			memcpy(sha, fj, 65);
			have = 1;
			fj += 65;
		} else {
			fj = NULL; /* the process executed another file since */
		}
	}
	if (!have) {
		c->no_hash++;
		vg_buf_json_kv(extra, &f, "signal", "not sent: the process's executable has no sha256");
	} else {
		int rc = queue_signal(c, tree, rule, ev, sha, fj);
		vg_buf_json_kv(extra, &f, "signal", rc ? "not sent: the cloud client's backlog is full" : "queued");
		vg_buf_json_kv(extra, &f, "sha256", sha);
	}
	vg_buf_put(extra, "}", 1);
}

void vg_cloud_client_on_event(struct vg_cloud_client *c, struct vg_tree *tree, const struct vg_event *ev,
			      vg_cloud_verdict_fn fn, void *ctx)
{
	char sha[65];

	if (ev->type != VG_EV_PROCESS_START || ev->platform != VG_PLATFORM_LINUX)
		return;
	if (!vg_signal_sha256(ev->proc.hashes, sha)) {
		const char *uw0 = vg_event_get(ev, "VigilImageUserWritable");
		if (uw0 && strcmp(uw0, "true") == 0)
			c->no_hash++;
		return;
	}
	const char *fj = exe_remember(c, ev, sha);
	const char *uw = vg_event_get(ev, "VigilImageUserWritable");
	if (!uw || strcmp(uw, "true") != 0)
		return;
	struct cache_ent *e = cache_find(c, sha);
	if (e) {
		if (strcmp(e->verdict, "block") == 0 && fn) { /* known bad: act now, no request */
			struct vg_cloud_verdict v = { .ttl = e->ttl, .score = e->score, .cached = 1 };
			memcpy(v.sha256, e->sha256, sizeof(v.sha256));
			memcpy(v.verdict, e->verdict, sizeof(v.verdict));
			memcpy(v.threat_name, e->threat, sizeof(v.threat_name));
			c->from_cache++;
			fn(ctx, &v, ev, NULL);
		}
		return;
	}
	queue_signal(c, tree, NULL, ev, sha, fj ? fj + 65 : NULL);
}

void vg_cloud_client_poll(struct vg_cloud_client *c, vg_cloud_verdict_fn fn, void *ctx)
{
	struct vg_cloud_verdict *vs;
	size_t n;

	pthread_mutex_lock(&c->mu);
	vs = c->vq;
	n = c->vq_len;
	c->vq = NULL;
	c->vq_len = c->vq_cap = 0;
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < n; i++) {
		struct vg_cloud_verdict *v = &vs[i];
		struct cache_ent *e = cache_put(c, v->sha256);
		snprintf(e->verdict, sizeof(e->verdict), "%s", v->verdict);
		snprintf(e->threat, sizeof(e->threat), "%s", v->threat_name);
		e->score = v->score;
		e->ttl = v->ttl;
		e->expires = mono_ns() + (int64_t)v->ttl * 1000000000LL;
		c->verdicts++;
		if (strcmp(v->verdict, "block") == 0)
			c->blocks++;
		struct pending_ev *p = NULL;
		for (size_t k = 0; v->seq && k < PENDING_MAX; k++)
			if (c->pend[k].ev && c->pend[k].seq == v->seq)
				p = &c->pend[k];
		if (fn)
			fn(ctx, v, p ? p->ev : NULL, p ? p->rule_id : NULL);
		if (p) {
			free(p->rule_id);
			vg_event_free(p->ev);
			memset(p, 0, sizeof(*p));
		}
	}
	free(vs);
}

uint64_t vg_cloud_client_drain(struct vg_cloud_client *c, int timeout_ms, vg_cloud_verdict_fn fn, void *ctx)
{
	int64_t deadline = mono_ns() + (int64_t)timeout_ms * 1000000LL;
	uint64_t pending;

	pthread_mutex_lock(&c->mu);
	uint64_t p0 = c->passes;
	c->drain = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (;;) {
		vg_cloud_client_poll(c, fn, ctx);
		pthread_mutex_lock(&c->mu);
		pending = c->memq_len + c->qst.pending;
		int done = c->passes > p0 && (pending == 0 || c->last_pass_failed);
		pthread_mutex_unlock(&c->mu);
		if (done || mono_ns() >= deadline)
			break;
		usleep(10000);
	}
	vg_cloud_client_poll(c, fn, ctx);
	return pending;
}

void vg_cloud_client_write_status(struct vg_cloud_client *c, struct vg_buf *b, int *first)
{
	int f = 1;

	pthread_mutex_lock(&c->mu);
	vg_buf_json_key(b, first, "cloud");
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "url", c->url);
	vg_buf_json_kv(b, &f, "endpoint_id", c->endpoint_id);
	vg_buf_json_key(b, &f, "enrolled");
	vg_buf_puts(b, c->enrolled ? "true" : "false");
	vg_buf_json_key(b, &f, "online");
	vg_buf_puts(b, c->passes && !c->last_pass_failed ? "true" : "false");
	vg_buf_json_ku(b, &f, "sent", c->sent);
	vg_buf_json_ku(b, &f, "queued", c->qst.pending + c->memq_len);
	vg_buf_json_ku(b, &f, "queue_bytes", c->qst.bytes);
	vg_buf_json_ku(b, &f, "delivered", c->qst.delivered);
	vg_buf_json_ku(b, &f, "rejected", c->qst.rejected);
	vg_buf_json_ku(b, &f, "dropped", c->qst.dropped + c->memq_dropped);
	vg_buf_json_ku(b, &f, "corrupt_lines", c->qst.bad_lines);
	vg_buf_json_ku(b, &f, "verdicts", c->verdicts);
	vg_buf_json_ku(b, &f, "blocks", c->blocks);
	vg_buf_json_ku(b, &f, "verdicts_from_cache", c->from_cache);
	vg_buf_json_ku(b, &f, "no_sha256", c->no_hash);
	vg_buf_json_ku(b, &f, "errors", c->errors);
	vg_buf_json_key(b, &f, "last_error");
	vg_buf_json_str(b, c->last_error[0] ? c->last_error : NULL);
	vg_buf_put(b, "}", 1);
	pthread_mutex_unlock(&c->mu);
}

/* ---- for the exec hold (another thread) ---- */

int vg_cloud_client_auth(struct vg_cloud_client *c, char *cred, size_t credlen, char *endpoint, size_t eplen,
			 char *address, size_t addrlen)
{
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (c->shared_cred[0]) {
		snprintf(cred, credlen, "%s", c->shared_cred);
		/* the credential names the endpoint: signals must carry the id it was issued to */
		snprintf(endpoint, eplen, "%s", c->endpoint_id); /* read-only after creation */
	} else {
		c->want_enroll = 1;
		pthread_cond_signal(&c->cv);
		rc = VG_ENOTFOUND;
	}
	pthread_mutex_unlock(&c->mu);
	snprintf(address, addrlen, "%s", c->address);
	return rc;
}

void vg_cloud_client_auth_failed(struct vg_cloud_client *c, const char *cred)
{
	pthread_mutex_lock(&c->mu);
	if (strcmp(c->shared_cred, cred) == 0) {
		c->shared_cred[0] = '\0';
		c->want_enroll = 1;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

const char *vg_cloud_client_url(const struct vg_cloud_client *c)
{
	return c->url;
}

void vg_cloud_client_learn(struct vg_cloud_client *c, const struct vg_cloud_verdict *v)
{
	struct cache_ent *e = cache_put(c, v->sha256);
	snprintf(e->verdict, sizeof(e->verdict), "%s", v->verdict);
	snprintf(e->threat, sizeof(e->threat), "%s", v->threat_name);
	e->score = v->score;
	e->ttl = v->ttl;
	e->expires = mono_ns() + (int64_t)v->ttl * 1000000000LL;
}

/* ---- for the verdict long-poll (src/agent/cloud_poll.c) ---- */

int vg_cloud_client_cached(struct vg_cloud_client *c, const char *sha256, char *verdict, size_t len)
{
	const struct cache_ent *e = cache_find(c, sha256);
	if (!e)
		return 0;
	snprintf(verdict, len, "%s", e->verdict);
	return 1;
}

size_t vg_cloud_client_each_process(struct vg_cloud_client *c, const char *sha256,
				    void (*fn)(const char *key, void *ctx), void *ctx)
{
	size_t n = 0;
	for (size_t i = 0; i < c->exe_by_key.nslots; i++) {
		const char *v = c->exe_by_key.slots[i].value;
		if (c->exe_by_key.slots[i].key && v && strcmp(v, sha256) == 0) {
			fn(c->exe_by_key.slots[i].key, ctx);
			n++;
		}
	}
	return n;
}
