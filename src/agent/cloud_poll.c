/* cloud_poll.c - vigild's verdict long-poll: its own thread and libcurl handle keep GET /v1/verdicts?since=<id> open, remember the last id in state_dir, and hand verdict changes to the event loop, which caches them and acts on processes running the file. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil/buf.h"
#include "vigil/cloud_poll.h"
#include "vigil/json.h"
#include "vigil/proctree.h"

#define POLL_TIMEOUT_S 30      /* asked of the service (it caps it with longpoll_max) */
#define PAGE 200               /* changes per answer */
#define BACKLOG_MAX 4096       /* changes received, not yet applied: the thread waits beyond it */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define BODY_MAX (4u << 20)

struct vg_cloud_poll {
	/* set at creation, read-only after */
	char url[1024];
	char state_dir[4096];
	struct vg_cloud_client *client;

	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stop;
	struct vg_cloud_verdict *list; /* received, for the main thread */
	size_t len, cap;
	uint64_t received_id;  /* last id received (the next request's since) */
	uint64_t applied_id;   /* last id the main thread applied (what is saved) */
	int connected;         /* the last request got an answer */
	uint64_t changes, errors, reconnects;
	char last_error[256];

	/* main thread only */
	uint64_t applied_procs, cached_only, unchanged;

	/* worker only */
	CURLM *multi;
	CURL *curl;
	struct vg_buf body;
	uint64_t saved_id;
	char credential[128];   /* the client's, as vg_cloud_client_auth gives it */
	int backoff_ms;
};

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void set_error(struct vg_cloud_poll *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct vg_cloud_poll *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&p->mu);
	p->errors++;
	p->connected = 0;
	int same = strcmp(p->last_error, msg) == 0;
	snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	pthread_mutex_unlock(&p->mu);
	if (!same)
		vg_log(VG_LOG_WARN, "cloud verdict poll: %s", msg);
}

/* ---- the answer ---- */

static int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int vg_cloud_poll_parse(const char *body, size_t len, struct vg_cloud_verdict *out, size_t max, char *why,
			size_t whylen)
{
	struct vg_json_doc d;
	struct vg_json_error je = { 0 };
	int n = 0, rc = 0;

	vg_json_doc_init(&d);
	if ((rc = vg_json_flatten(&d, body, len, &je))) {
		if (rc == VG_ENOMEM)
			snprintf(why, whylen, "out of memory");
		else
			snprintf(why, whylen, "byte %zu: %s", je.offset, je.reason ? je.reason : "malformed JSON");
		rc = VG_EPARSE;
		goto out;
	}
	if (!d.nleaves || d.leaves[0].depth == 0) {
		snprintf(why, whylen, "expected a JSON object with \"verdicts\"");
		rc = VG_EPARSE;
		goto out;
	}
	struct vg_cloud_verdict *cur = NULL;
	for (uint32_t i = 0; i < d.nleaves; i++) {
		const struct vg_json_leaf *l = &d.leaves[i];
		if (l->path_len < 9 || memcmp(l->path, "verdicts.", 9) != 0)
			continue;
		const char *k = l->path + 9;
		if (strcmp(k, "id") == 0) { /* each element starts with its id (docs/api.md) */
			char *end;
			unsigned long long id = strtoull(l->value, &end, 10);
			if (l->type != VG_JSON_NUMBER || *end || id == 0) {
				snprintf(why, whylen, "verdicts[%d].id: expected an integer >= 1", n);
				rc = VG_EPARSE;
				goto out;
			}
			if ((size_t)n == max)
				break;
			cur = &out[n++];
			memset(cur, 0, sizeof(*cur));
			cur->change_id = id;
			continue;
		}
		if (!cur)
			continue;
		if (strcmp(k, "sha256") == 0 && l->type == VG_JSON_STRING && is_hex64(l->value, l->value_len))
			memcpy(cur->sha256, l->value, 65);
		else if (strcmp(k, "verdict") == 0 && l->type == VG_JSON_STRING && l->value_len < sizeof(cur->verdict))
			memcpy(cur->verdict, l->value, l->value_len + 1);
		else if (strcmp(k, "threat_name") == 0 && l->type == VG_JSON_STRING)
			snprintf(cur->threat_name, sizeof(cur->threat_name), "%s", l->value);
		else if (strcmp(k, "ttl") == 0 && l->type == VG_JSON_NUMBER)
			cur->ttl = (uint32_t)strtoul(l->value, NULL, 10);
		else if (strcmp(k, "scores.interim_rules") == 0 && l->type == VG_JSON_NUMBER)
			cur->score = strtod(l->value, NULL);
	}
	for (int i = 0; i < n; i++) {
		const char *v = out[i].verdict;
		if (!out[i].sha256[0] ||
		    (strcmp(v, "clean") != 0 && strcmp(v, "suspicious") != 0 && strcmp(v, "block") != 0)) {
			snprintf(why, whylen, "verdicts[%d] (id %" PRIu64 "): needs sha256 (64 hex digits) and verdict clean|suspicious|block",
				 i, out[i].change_id);
			rc = VG_EPARSE;
			goto out;
		}
	}
	rc = n;
out:
	vg_json_doc_free(&d);
	return rc;
}

/* ---- the last id, across restarts ---- */

static void pos_path(const struct vg_cloud_poll *p, char *out, size_t n)
{
	snprintf(out, n, "%s/cloud-verdicts.pos", p->state_dir);
}

static uint64_t load_pos(const struct vg_cloud_poll *p)
{
	char path[4200], text[32] = "";
	unsigned long long id = 0;
	pos_path(p, path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(text, sizeof(text), f)) {
		char *end;
		id = strtoull(text, &end, 10);
		if (end == text || (*end && *end != '\n')) {
			vg_log(VG_LOG_WARN, "%s:1: not a change id, starting from 0", path);
			id = 0;
		}
	}
	fclose(f);
	return id;
}

/* Writes the id through a temporary file and rename (a crash leaves the old or the new one). 0 or -errno. */
static int save_pos(const struct vg_cloud_poll *p, uint64_t id)
{
	char path[4200], tmp[4300], text[32];
	pos_path(p, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", id);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int ok = write(fd, text, (size_t)n) == n && fdatasync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path)) {
		int e = errno ? -errno : -EIO;
		unlink(tmp);
		return e;
	}
	return 0;
}

/* ---- the thread ---- */

static size_t on_body(char *data, size_t sz, size_t n, void *ctx)
{
	struct vg_buf *b = ctx;
	if (b->len + sz * n > BODY_MAX)
		return 0;
	vg_buf_put(b, data, sz * n);
	return b->oom ? 0 : sz * n;
}

/* One GET; returns the HTTP status, 0 when no answer came (error set), -1 when stopped. */
static long get(struct vg_cloud_poll *p, uint64_t since)
{
	char url[1200], auth[200];
	struct curl_slist *hl = NULL;
	long status = 0;
	int running = 1;

	vg_buf_reset(&p->body);
	snprintf(url, sizeof(url), "%s/v1/verdicts?since=%" PRIu64 "&limit=%d&timeout=%d", p->url, since, PAGE,
		 POLL_TIMEOUT_S);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->credential);
	hl = curl_slist_append(hl, auth);
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, hl);
	curl_multi_add_handle(p->multi, p->curl);
	CURLcode res = CURLE_OK;
	for (;;) {
		CURLMcode mc = curl_multi_perform(p->multi, &running);
		if (mc != CURLM_OK) {
			res = CURLE_FAILED_INIT;
			break;
		}
		if (!running) {
			int left;
			CURLMsg *m = curl_multi_info_read(p->multi, &left);
			res = m && m->msg == CURLMSG_DONE ? m->data.result : CURLE_RECV_ERROR;
			break;
		}
		curl_multi_poll(p->multi, NULL, 0, 1000, NULL);
		pthread_mutex_lock(&p->mu);
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop) {
			status = -1;
			break;
		}
	}
	curl_multi_remove_handle(p->multi, p->curl);
	curl_slist_free_all(hl);
	if (status == -1)
		return -1;
	if (res != CURLE_OK) {
		set_error(p, "%s: %s", url, curl_easy_strerror(res));
		return 0;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
	vg_buf_put(&p->body, "", 1);
	p->body.len--;
	return status;
}

/* Waits ms or until stopped. Returns 1 when stopped. */
static int pause_ms(struct vg_cloud_poll *p, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
		;
	int stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

static void backoff(struct vg_cloud_poll *p)
{
	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (p->backoff_ms > BACKOFF_MAX_MS)
		p->backoff_ms = BACKOFF_MAX_MS;
}

static void save_applied(struct vg_cloud_poll *p)
{
	pthread_mutex_lock(&p->mu);
	uint64_t applied = p->applied_id;
	pthread_mutex_unlock(&p->mu);
	if (applied != p->saved_id) {
		int rc = save_pos(p, applied);
		if (rc)
			set_error(p, "%s/cloud-verdicts.pos: %s", p->state_dir, vg_strerror(rc));
		else
			p->saved_id = applied;
	}
}

static void *poll_thread(void *arg)
{
	struct vg_cloud_poll *p = arg;
	struct vg_cloud_verdict *page = calloc(PAGE, sizeof(*page));
	char why[256];

	if (!page) {
		set_error(p, "out of memory");
		return NULL;
	}
	for (;;) {
		save_applied(p);
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->len >= BACKLOG_MAX) /* the event loop is behind: wait for it */
			pthread_cond_wait(&p->cv, &p->mu);
		int stop = p->stop;
		uint64_t since = p->received_id;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		if (p->backoff_ms && pause_ms(p, p->backoff_ms))
			break;
		char ep[129], addr[64];
		if (vg_cloud_client_auth(p->client, p->credential, sizeof(p->credential), ep, sizeof(ep), addr,
					 sizeof(addr))) { /* the client's worker is asked to enroll */
			set_error(p, "waiting for enrollment");
			backoff(p);
			continue;
		}
		long st = get(p, since);
		if (st < 0)
			break;
		if (st == 0) {
			backoff(p);
			continue;
		}
		if (st == 401) { /* the credential was replaced, or the service lost its database */
			vg_cloud_client_auth_failed(p->client, p->credential);
			/* a new database numbers its changes from 1 again */
			pthread_mutex_lock(&p->mu);
			p->received_id = 0;
			pthread_mutex_unlock(&p->mu);
			set_error(p, "GET /v1/verdicts: HTTP 401: enrolling again");
			backoff(p);
			continue;
		}
		if (st != 200) {
			set_error(p, "GET /v1/verdicts: HTTP %ld: %.150s", st, p->body.p ? p->body.p : "");
			backoff(p);
			continue;
		}
		int n = vg_cloud_poll_parse(p->body.p, p->body.len, page, PAGE, why, sizeof(why));
		if (n < 0) {
			set_error(p, "GET /v1/verdicts: %s", why);
			backoff(p);
			continue;
		}
		p->backoff_ms = 0;
		pthread_mutex_lock(&p->mu);
		if (!p->connected && p->errors)
			p->reconnects++;
		p->connected = 1;
		for (int i = 0; i < n; i++) {
			if (page[i].change_id <= p->received_id)
				continue; /* never replay an id */
			if (p->len == p->cap) {
				size_t nc = p->cap ? p->cap * 2 : 64;
				struct vg_cloud_verdict *nl = realloc(p->list, nc * sizeof(*nl));
				if (!nl)
					break;
				p->list = nl;
				p->cap = nc;
			}
			p->list[p->len++] = page[i];
			p->received_id = page[i].change_id;
			p->changes++;
		}
		pthread_mutex_unlock(&p->mu);
	}
	free(page);
	save_applied(p);
	return NULL;
}

/* ---- creation ---- */

int vg_cloud_poll_new(const struct vg_agent_config *cfg, struct vg_cloud_client *client, struct vg_cloud_poll **out,
		      char *err, size_t errlen)
{
	struct vg_cloud_poll *p;
	int rc;

	*out = NULL;
	if (!cfg->cloud_url || !cfg->cloud_url[0]) {
		snprintf(err, errlen, "cloud_url is not set");
		return VG_EINVAL;
	}
	if (!(p = calloc(1, sizeof(*p))))
		return VG_ENOMEM;
	snprintf(p->url, sizeof(p->url), "%s", cfg->cloud_url);
	for (size_t n = strlen(p->url); n > 0 && p->url[n - 1] == '/'; n--)
		p->url[n - 1] = '\0';
	snprintf(p->state_dir, sizeof(p->state_dir), "%s", cfg->state_dir);
	p->client = client;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	p->received_id = p->applied_id = p->saved_id = load_pos(p);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(p->curl = curl_easy_init()) || !(p->multi = curl_multi_init())) {
		snprintf(err, errlen, "libcurl: cannot create a handle");
		rc = VG_ENOMEM;
		goto fail;
	}
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	/* the service holds the request up to POLL_TIMEOUT_S; beyond that plus slack the connection is dead */
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, (long)(POLL_TIMEOUT_S + 15) * 1000L);
	curl_easy_setopt(p->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &p->body);
	curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "vigild/1 (verdict poll)");
	if ((rc = pthread_create(&p->thread, NULL, poll_thread, p))) {
		snprintf(err, errlen, "cloud verdict poll thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	p->started = 1;
	*out = p;
	return 0;
fail:
	vg_cloud_poll_free(p);
	return rc;
}

void vg_cloud_poll_free(struct vg_cloud_poll *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (p->multi)
			curl_multi_wakeup(p->multi);
		pthread_join(p->thread, NULL);
	}
	if (p->curl)
		curl_easy_cleanup(p->curl);
	if (p->multi)
		curl_multi_cleanup(p->multi);
	vg_buf_free(&p->body);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->list);
	free(p);
}

/* ---- main thread ---- */

struct apply_ctx {
	struct vg_tree *tree;
	const struct vg_cloud_verdict *v;
	vg_cloud_verdict_fn fn;
	void *ctx;
	size_t running;
};

/* A process start event rebuilt from the tree, for the response to act on (pid, key, image, time). */
static void act_on_process(const char *key, void *arg)
{
	struct apply_ctx *a = arg;
	const struct vg_proc_node *n = vg_tree_get(a->tree, key);
	struct vg_event *ev;

	if (!n || n->exit_ns || !n->pid || !(ev = vg_event_new()))
		return;
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->time_ns = real_ns();
	ev->proc.pid = n->pid;
	ev->proc.key = vg_event_strdup(ev, n->key, strlen(n->key));
	if (n->image)
		ev->proc.image = vg_event_strdup(ev, n->image, strlen(n->image));
	if (n->command_line)
		ev->proc.command_line = vg_event_strdup(ev, n->command_line, strlen(n->command_line));
	if (n->user)
		ev->proc.user = vg_event_strdup(ev, n->user, strlen(n->user));
	if (ev->proc.key) {
		a->running++;
		a->fn(a->ctx, a->v, ev, NULL);
	}
	vg_event_free(ev);
}

void vg_cloud_poll_apply(struct vg_cloud_poll *p, struct vg_tree *tree, vg_cloud_verdict_fn fn, void *ctx)
{
	struct vg_cloud_verdict *vs;
	size_t n;

	pthread_mutex_lock(&p->mu);
	vs = p->list;
	n = p->len;
	p->list = NULL;
	p->len = p->cap = 0;
	if (n)
		pthread_cond_broadcast(&p->cv); /* room again for a thread waiting on the backlog */
	pthread_mutex_unlock(&p->mu);
	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct vg_cloud_verdict *v = &vs[i];
		char prev[16];
		int known = vg_cloud_client_cached(p->client, v->sha256, prev, sizeof(prev));
		int same = known && strcmp(prev, v->verdict) == 0;
		vg_cloud_client_learn(p->client, v);
		if (same) { /* e.g. the answer to this agent's own signal, already applied: the cache is refreshed */
			p->unchanged++;
			continue;
		}
		struct apply_ctx a = { tree, v, fn, ctx, 0 };
		if (fn)
			vg_cloud_client_each_process(p->client, v->sha256, act_on_process, &a);
		p->applied_procs += a.running;
		if (!a.running && known && fn)
			fn(ctx, v, NULL, NULL);
		else if (!a.running)
			p->cached_only++;
	}
	pthread_mutex_lock(&p->mu);
	p->applied_id = vs[n - 1].change_id;
	pthread_mutex_unlock(&p->mu);
	free(vs);
}

void vg_cloud_poll_write_status(struct vg_cloud_poll *p, struct vg_buf *b, int *first)
{
	int f = 1;

	pthread_mutex_lock(&p->mu);
	vg_buf_json_key(b, first, "verdict_poll");
	vg_buf_put(b, "{", 1);
	vg_buf_json_key(b, &f, "connected");
	vg_buf_puts(b, p->connected ? "true" : "false");
	vg_buf_json_ku(b, &f, "last_id", p->applied_id);
	vg_buf_json_ku(b, &f, "changes", p->changes);
	vg_buf_json_ku(b, &f, "applied_to_processes", p->applied_procs);
	vg_buf_json_ku(b, &f, "cached_only", p->cached_only);
	vg_buf_json_ku(b, &f, "unchanged", p->unchanged);
	vg_buf_json_ku(b, &f, "reconnects", p->reconnects);
	vg_buf_json_ku(b, &f, "errors", p->errors);
	vg_buf_json_key(b, &f, "last_error");
	vg_buf_json_str(b, p->last_error[0] ? p->last_error : NULL);
	vg_buf_put(b, "}", 1);
	pthread_mutex_unlock(&p->mu);
}
