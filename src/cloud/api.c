/* api.c - vigil-cloud's request handler: routing, authentication, the /v1 JSON API (enroll, signals, files, events, alerts, verdicts, health) and /metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cloud_int.h"
#include "engine/sigma_ext.h"
#include "vigil/embedded.h"
#include "vigil/source.h"

const char *const vg_cloud_route_names[R__COUNT] = {
	"unknown", "health", "metrics", "enroll", "signals", "files", "events", "alerts", "verdicts",
	"es_root", "es_template", "es_ilm", "es_license", "es_bulk", "es_index", "es_xpack",
};
const double vg_cloud_buckets[NBUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					    0.01,   0.025,   0.05,   0.1,   0.5,    2.5 };
const int vg_cloud_statuses[NSTATUS] = { 200, 201, 400, 401, 403, 404, 405, 413, 415, 500 };

#define MAX_ALERTS_PAGE 1000

/* ------------------------------------------------------------------ helpers */

void vg_cloud_response_free(struct vg_cloud_response *rs)
{
	if (rs)
		vg_buf_free(&rs->body);
}

static void reply(struct vg_cloud_response *rs, int status)
{
	rs->status = status;
	rs->content_type = "application/json";
}

void vg_cloud_error(struct vg_cloud_response *rs, int status, const char *msg, long long position)
{
	int first = 1;
	vg_buf_reset(&rs->body);
	reply(rs, status);
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_kv(&rs->body, &first, "error", msg);
	if (position >= 0)
		vg_buf_json_ki(&rs->body, &first, "position", position);
	vg_buf_puts(&rs->body, "}");
}

/* A JSON parse error as 400 with the byte position. */
static void json_error(struct vg_cloud_response *rs, const char *what, const struct vg_json_error *e)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s: malformed JSON: %s", what, e->reason ? e->reason : "bad value");
	vg_cloud_error(rs, 400, msg, (long long)e->offset);
}

static const struct vg_json_leaf *leaf(const struct vg_json_doc *d, const char *path)
{
	size_t n = strlen(path);
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (d->leaves[i].path_len == n && memcmp(d->leaves[i].path, path, n) == 0)
			return &d->leaves[i];
	return NULL;
}

static const char *str_at(const struct vg_json_doc *d, const char *path)
{
	const struct vg_json_leaf *l = leaf(d, path);
	return l && l->type == VG_JSON_STRING ? l->value : NULL;
}

/* A leaf that is present must have this type; 0 when absent or right, else writes 400. */
static int want_type(struct vg_cloud_response *rs, const struct vg_json_doc *d, const char *path, int type)
{
	const struct vg_json_leaf *l = leaf(d, path);
	static const char *const names[] = { "null", "boolean", "boolean", "number", "string", "object", "array" };
	if (!l || l->type == type || l->type == VG_JSON_NULL ||
	    (type == VG_JSON_TRUE && l->type == VG_JSON_FALSE))
		return 0;
	char msg[200];
	snprintf(msg, sizeof(msg), "%s: expected %s, got %s", path, names[type], names[l->type]);
	vg_cloud_error(rs, 400, msg, -1);
	return -1;
}

static const char *arg(const struct vg_cloud_request *rq, const char *name)
{
	for (size_t i = 0; i < rq->nargs; i++)
		if (rq->args[i].name && !strcmp(rq->args[i].name, name))
			return rq->args[i].value;
	return NULL;
}

/* Parses an integer query argument in [lo, hi]; def when absent. -1 with a 400 written when bad. */
static int int_arg(const struct vg_cloud_request *rq, struct vg_cloud_response *rs, const char *name,
		   long long def, long long lo, long long hi, long long *out)
{
	const char *v = arg(rq, name);
	char *end;
	*out = def;
	if (!v)
		return 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || n < lo || n > hi) {
		char msg[200];
		snprintf(msg, sizeof(msg), "query argument %s: '%.40s' is not a whole number from %lld to %lld", name,
			 v, lo, hi);
		vg_cloud_error(rs, 400, msg, -1);
		return -1;
	}
	*out = n;
	return 0;
}

static int valid_id(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		      strchr("._:-", s[n])))
			return 0;
	return n >= 1 && n <= 128;
}

/* 64 hex digits, copied lower-cased into out (65 bytes). */
static int valid_sha256(const char *s, size_t n, char *out)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < 64; i++) {
		char ch = (char)vg_lower((unsigned char)s[i]);
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return 0;
		out[i] = ch;
	}
	out[64] = 0;
	return 1;
}

static int ct_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = (unsigned char)(na != nb);
	for (size_t i = 0; i < na && i < nb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int b64val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decodes base64 into out (NUL-terminated). Returns the length or -1. */
static int b64decode(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		int v = b64val((unsigned char)*s);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= cap)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = 0;
	return (int)n;
}

/*
 * Finds the endpoint an Authorization header names: "Bearer <credential>",
 * "ApiKey base64(<endpoint>:<credential>)" (Beats' api_key setting) or
 * "Basic base64(<endpoint>:<credential>)". 0 with id filled, or VG_ENOTFOUND.
 */
static int authenticate(struct vg_cloud *c, const char *h, char *id, size_t idlen, uint32_t *ep)
{
	char dec[512];
	const char *cred = NULL;

	if (!h)
		return VG_ENOTFOUND;
	if (!strncasecmp(h, "Bearer ", 7))
		cred = h + 7;
	else if (!strncasecmp(h, "ApiKey ", 7) || !strncasecmp(h, "Basic ", 6)) {
		const char *p = h[1] == 'p' || h[1] == 'P' ? h + 7 : h + 6;
		char *colon;
		if (b64decode(p, dec, sizeof(dec)) < 0 || !(colon = strchr(dec, ':')))
			return VG_ENOTFOUND;
		cred = colon + 1;
	}
	if (!cred || !*cred || strlen(cred) > 256)
		return VG_ENOTFOUND;
	return hot_auth(&c->hot, cred, id, idlen, ep); /* credentials are in memory: no store lock per request */
}

/* ---------------------------------------------------------------- lifecycle */

static void on_rule_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	(void)ctx;
	vg_log(VG_LOG_WARN, "vigil-cloud: rule %s:%u: %s", file, line, reason);
}

int vg_cloud_new(const struct vg_cloud_config *cfg, struct vg_cloud **out, char *err, size_t errlen)
{
	struct vg_cloud *c = vg_calloc(1, sizeof(*c));
	struct vg_tree_config tc;
	int rc;

	*out = NULL;
	if (!c)
		return VG_ENOMEM;
	vg_cloud_config_defaults(&c->cfg);
	vg_cloud_config_free(&c->cfg);
	c->cfg = *cfg;
	c->cfg.listen = cfg->listen ? vg_strdup(cfg->listen) : NULL;
	c->cfg.db = vg_strdup(cfg->db ? cfg->db : ":memory:");
	c->cfg.enroll_token = cfg->enroll_token ? vg_strdup(cfg->enroll_token) : NULL;
	c->cfg.rules = cfg->rules ? vg_strdup(cfg->rules) : NULL;
	c->cfg.model = cfg->model ? vg_strdup(cfg->model) : NULL;
	c->cfg.es_version = vg_strdup(cfg->es_version ? cfg->es_version : "8.11.0");
	pthread_mutex_init(&c->ingest_mu, NULL);
	if ((rc = hot_init(&c->hot)))
		goto fail;
	c->hot_ready = 1;
	if ((rc = store_open(&c->store, c->cfg.db, err, errlen)))
		goto fail;
	if ((rc = hot_load(&c->hot, &c->store, err, errlen)))
		goto fail;
	if ((rc = vg_ruleset_new(&c->rules)))
		goto fail;
	if (c->cfg.rules) {
		rc = vg_ruleset_load_path(c->rules, c->cfg.rules, on_rule_error, c);
		if (rc < 0) {
			snprintf(err, errlen, "rules %s: %s", c->cfg.rules, vg_strerror(rc));
			rc = VG_EINVAL;
			goto fail;
		}
	} else {
		for (size_t i = 0; i < vg_embedded_rules_count; i++)
			vg_ruleset_load_text(c->rules, vg_embedded_rules[i].name, vg_embedded_rules[i].data,
					     vg_embedded_rules[i].len, on_rule_error, c);
	}
	memset(&tc, 0, sizeof(tc));
	tc.max_procs = 200000;
	if ((rc = vg_tree_new(&tc, &c->tree)))
		goto fail;
	vg_ruleset_link(c->rules, on_rule_error, c);
	if ((rc = vg_cloud_models_open(c, err, errlen)))
		goto fail;
	if (vg_ruleset_correlation_count(c->rules) &&
	    (rc = vg_corr_new(c->rules, &(struct vg_corr_config){ .slack_ns = 5000000000LL }, c->tree, &c->corr)))
		goto fail;
	pthread_mutex_lock(&c->store.mu);
	c->verdict_head = store_max_id(&c->store, "verdicts");
	pthread_mutex_unlock(&c->store.mu);
	if (pthread_create(&c->writer, NULL, hot_writer, c)) {
		snprintf(err, errlen, "cannot start the store writer thread");
		rc = VG_ENOMEM;
		goto fail;
	}
	c->writer_started = 1;
	*out = c;
	return 0;
fail:
	if (rc == VG_ENOMEM)
		snprintf(err, errlen, "out of memory");
	vg_cloud_free(c);
	return rc;
}

void vg_cloud_free(struct vg_cloud *c)
{
	if (!c)
		return;
	if (c->writer_started) {
		pthread_mutex_lock(&c->hot.mu);
		c->stopping = 1; /* the writer commits what is queued, then ends */
		pthread_cond_signal(&c->hot.cond);
		pthread_mutex_unlock(&c->hot.mu);
		pthread_join(c->writer, NULL);
	}
	c->stopping = 1;
	store_close(&c->store);
	vg_cloud_models_close(c);
	if (c->hot_ready)
		hot_free(&c->hot);
	vg_ruleset_free(c->rules);
	vg_corr_free(c->corr);
	vg_tree_free(c->tree);
	pthread_mutex_destroy(&c->ingest_mu);
	vg_cloud_config_free(&c->cfg);
	free(c);
}

void vg_cloud_set_server(struct vg_cloud *c, struct vg_cloud_server *s)
{
	pthread_mutex_lock(&c->hot.mu); /* the writer notifies under it */
	c->server = s;
	pthread_mutex_unlock(&c->hot.mu);
}

int64_t vg_cloud_verdict_head(struct vg_cloud *c)
{
	return c->verdict_head;
}

void vg_cloud_observe(struct vg_cloud *c, int route, int status, double seconds)
{
	int si = NSTATUS, bi = NBUCKETS;
	if (route < 0 || route >= R__COUNT)
		route = R_NONE;
	for (int i = 0; i < NSTATUS; i++)
		if (vg_cloud_statuses[i] == status)
			si = i;
	for (int i = 0; i < NBUCKETS; i++)
		if (seconds <= vg_cloud_buckets[i]) {
			bi = i;
			break;
		}
	c->req[route][si]++;
	c->lat[route][bi]++;
	c->lat_sum_us[route] += (uint64_t)(seconds * 1e6);
}

/* ------------------------------------------------------------------ handlers */

static void h_health(struct vg_cloud *c, struct vg_cloud_response *rs)
{
	int first = 1;
	reply(rs, 200);
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_kv(&rs->body, &first, "status", "ok");
	vg_buf_json_kv(&rs->body, &first, "service", "vigil-cloud");
	vg_buf_json_kv(&rs->body, &first, "api", "v1");
	vg_buf_json_ku(&rs->body, &first, "rules", vg_ruleset_count(c->rules));
	vg_buf_json_kv(&rs->body, &first, "model", vg_cloud_models_source(c));
	vg_buf_puts(&rs->body, "}");
}

static void h_metrics(struct vg_cloud *c, struct vg_cloud_response *rs)
{
	static const char *const tables[] = { "endpoints", "files", "signals", "verdicts", "events", "alerts" };
	struct vg_buf *b = &rs->body;

	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4";
	vg_buf_puts(b, "# HELP vigil_cloud_requests_total HTTP requests by route and status.\n"
		       "# TYPE vigil_cloud_requests_total counter\n");
	for (int r = 0; r < R__COUNT; r++)
		for (int s = 0; s <= NSTATUS; s++)
			if (c->req[r][s]) {
				if (s < NSTATUS)
					vg_buf_printf(b, "vigil_cloud_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
						      vg_cloud_route_names[r], vg_cloud_statuses[s],
						      (unsigned long long)c->req[r][s]);
				else
					vg_buf_printf(b, "vigil_cloud_requests_total{route=\"%s\",status=\"other\"} %llu\n",
						      vg_cloud_route_names[r], (unsigned long long)c->req[r][s]);
			}
	vg_buf_puts(b, "# HELP vigil_cloud_request_duration_seconds Time from request to response, by route.\n"
		       "# TYPE vigil_cloud_request_duration_seconds histogram\n");
	for (int r = 0; r < R__COUNT; r++) {
		uint64_t cum = 0, total = 0;
		for (int i = 0; i <= NBUCKETS; i++)
			total += c->lat[r][i];
		if (!total)
			continue;
		for (int i = 0; i < NBUCKETS; i++) {
			cum += c->lat[r][i];
			vg_buf_printf(b, "vigil_cloud_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				      vg_cloud_route_names[r], vg_cloud_buckets[i], (unsigned long long)cum);
		}
		vg_buf_printf(b, "vigil_cloud_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
			      vg_cloud_route_names[r], (unsigned long long)total);
		vg_buf_printf(b, "vigil_cloud_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			      vg_cloud_route_names[r], (double)c->lat_sum_us[r] / 1e6);
		vg_buf_printf(b, "vigil_cloud_request_duration_seconds_count{route=\"%s\"} %llu\n",
			      vg_cloud_route_names[r], (unsigned long long)total);
	}
	vg_buf_puts(b, "# HELP vigil_cloud_store_rows Rows in each store table.\n# TYPE vigil_cloud_store_rows gauge\n");
	pthread_mutex_lock(&c->store.mu);
	hot_drain(c);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		vg_buf_printf(b, "vigil_cloud_store_rows{table=\"%s\"} %lld\n", tables[i],
			      (long long)store_max_id(&c->store, tables[i]));
	pthread_mutex_unlock(&c->store.mu);
	vg_buf_printf(b, "# TYPE vigil_cloud_events_ingested_total counter\nvigil_cloud_events_ingested_total %llu\n",
		      (unsigned long long)c->events_in);
	vg_buf_printf(b, "# TYPE vigil_cloud_alerts_total counter\nvigil_cloud_alerts_total %llu\n",
		      (unsigned long long)c->alerts_out);
	vg_buf_printf(b, "# TYPE vigil_cloud_bulk_items_total counter\nvigil_cloud_bulk_items_total %llu\n",
		      (unsigned long long)c->bulk_items);
	vg_buf_printf(b, "# TYPE vigil_cloud_bulk_item_errors_total counter\nvigil_cloud_bulk_item_errors_total %llu\n",
		      (unsigned long long)c->bulk_errors);
	vg_buf_printf(b, "# HELP vigil_cloud_store_errors_total Queued signal writes the store refused.\n"
		      "# TYPE vigil_cloud_store_errors_total counter\nvigil_cloud_store_errors_total %llu\n",
		      (unsigned long long)c->store_errors);
	vg_buf_printf(b, "# TYPE vigil_cloud_rules gauge\nvigil_cloud_rules %zu\n", vg_ruleset_count(c->rules));
	vg_buf_printf(b, "# HELP vigil_cloud_longpolls_waiting GET /v1/verdicts requests waiting for a verdict.\n"
		      "# TYPE vigil_cloud_longpolls_waiting gauge\nvigil_cloud_longpolls_waiting %lld\n",
		      (long long)c->longpolls_waiting);
}

static void h_enroll(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs)
{
	const char *h = rq->authorization;
	struct vg_json_doc d;
	struct vg_json_error e;
	unsigned char raw[24];
	char cred[sizeof(raw) * 2 + 1];
	int first = 1;

	if (!c->cfg.enroll_token || !h || strncasecmp(h, "Bearer ", 7) || !ct_equal(h + 7, c->cfg.enroll_token)) {
		vg_cloud_error(rs, 401, "enrollment needs Authorization: Bearer <enroll token>", -1);
		return;
	}
	vg_json_doc_init(&d);
	if (vg_json_flatten(&d, rq->body ? rq->body : "", rq->body_len, &e)) {
		json_error(rs, "enroll body", &e);
		goto out;
	}
	const char *id = str_at(&d, "endpoint_id"), *host = str_at(&d, "hostname"), *addr = str_at(&d, "address");
	if (!valid_id(id)) {
		vg_cloud_error(rs, 400, "endpoint_id: required, 1-128 of A-Z a-z 0-9 . _ : -", -1);
		goto out;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		vg_cloud_error(rs, 500, "no random bytes for a credential", -1);
		goto out;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(cred + 2 * i, 3, "%02x", raw[i]);
	pthread_mutex_lock(&c->store.mu);
	int rc = store_enroll(&c->store, id, host, addr, cred);
	if (!rc)
		rc = hot_enroll(&c->hot, id, cred);
	pthread_mutex_unlock(&c->store.mu);
	if (rc) {
		vg_cloud_error(rs, 500, "store: could not record the endpoint", -1);
		goto out;
	}
	reply(rs, 200);
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_kv(&rs->body, &first, "endpoint_id", id);
	vg_buf_json_kv(&rs->body, &first, "credential", cred);
	vg_buf_puts(&rs->body, "}");
out:
	vg_json_doc_free(&d);
}

static int temp_path(const char *p)
{
	static const char *const dirs[] = { "/tmp/", "/dev/shm/", "/var/tmp/", "/run/user/" };
	if (!p)
		return 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(p, dirs[i], strlen(dirs[i])))
			return 1;
	return vg_strcasestr_n(p, strlen(p), "\\Temp\\", 6) || vg_strcasestr_n(p, strlen(p), "\\Downloads\\", 11) ||
	       strstr(p, "/Downloads/");
}

static int name_in(const char *img, size_t n, const char *const *names)
{
	const char *b = img + n;
	while (b > img && b[-1] != '/' && b[-1] != '\\')
		b--;
	size_t bn = (size_t)(img + n - b);
	for (; *names; names++) {
		size_t k = strlen(*names);
		/* "php-fpm" also matches "php-fpm8.2", "python" "python3" */
		if (bn >= k && vg_strncaseeq(b, *names, k) &&
		    (bn == k || b[k] == '.' || (b[k] >= '0' && b[k] <= '9') || b[k] == '-'))
			return 1;
	}
	return 0;
}

/* A shell or script host below a server or document program in the chain (root first). */
static int chain_risky(const struct vg_json_doc *d)
{
	static const char *const servers[] = { "nginx", "apache2", "httpd", "php-fpm", "php-cgi", "java", "node",
					       "tomcat", "w3wp.exe", "winword.exe", "excel.exe", "powerpnt.exe",
					       "outlook.exe", "sqlservr.exe", "postgres", "mysqld", NULL };
	static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh", "busybox", "python", "perl",
					      "cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe", "cscript.exe",
					      "mshta.exe", "rundll32.exe", "regsvr32.exe", NULL };
	int server_seen = 0;
	for (uint32_t i = 0; i < d->nleaves; i++) {
		const struct vg_json_leaf *l = &d->leaves[i];
		if (l->path_len != 19 || memcmp(l->path, "process_chain.image", 19) || l->type != VG_JSON_STRING)
			continue;
		if (server_seen && name_in(l->value, l->value_len, shells))
			return 1;
		if (name_in(l->value, l->value_len, servers))
			server_seen = 1;
	}
	return 0;
}

static const struct vg_rule *rule_by_id(struct vg_cloud *c, const char *id, size_t n)
{
	for (size_t i = 0, cnt = vg_ruleset_count(c->rules); i < cnt; i++) {
		const struct vg_rule *r = vg_ruleset_rule(c->rules, i);
		if (r->id && strlen(r->id) == n && !strncasecmp(r->id, id, n))
			return r;
	}
	return NULL;
}

static void h_signals(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs,
		      const char *endpoint, uint32_t ep)
{
	struct vg_json_doc d;
	struct vg_json_error e;
	struct score_input in;
	struct score_output so;
	char sha[65], msg[256];
	struct vg_buf vj = { 0 };
	int64_t prevalence = 0, first_ms = 0, now = store_now_ms(), vid = 0;
	uint32_t fi;
	int rc, fresh_pair, new_file, changed;

	vg_json_doc_init(&d);
	if (vg_json_flatten(&d, rq->body ? rq->body : "", rq->body_len, &e)) {
		json_error(rs, "signal", &e);
		goto out;
	}
	if (d.nleaves && d.leaves[0].depth == 0) {
		vg_cloud_error(rs, 400, "signal: expected a JSON object", 0);
		goto out;
	}
	const struct vg_json_leaf *shl = leaf(&d, "file.sha256");
	if (!shl || shl->type != VG_JSON_STRING || !valid_sha256(shl->value, shl->value_len, sha)) {
		vg_cloud_error(rs, 400, "file.sha256: required, 64 hex digits", -1);
		goto out;
	}
	const char *eid = str_at(&d, "endpoint_id");
	if (leaf(&d, "endpoint_id") && (!eid || strcmp(eid, endpoint))) {
		vg_cloud_error(rs, 403, "endpoint_id: does not match the credential's endpoint", -1);
		goto out;
	}
	if (want_type(rs, &d, "file.size", VG_JSON_NUMBER) || want_type(rs, &d, "file.entropy", VG_JSON_NUMBER) ||
	    want_type(rs, &d, "file.path", VG_JSON_STRING) || want_type(rs, &d, "file.name", VG_JSON_STRING) ||
	    want_type(rs, &d, "file.package", VG_JSON_STRING) || want_type(rs, &d, "file.first_seen", VG_JSON_STRING) ||
	    want_type(rs, &d, "file.elf.static", VG_JSON_TRUE) || want_type(rs, &d, "file.elf.stripped", VG_JSON_TRUE) ||
	    want_type(rs, &d, "file.elf.packed", VG_JSON_TRUE) || want_type(rs, &d, "address", VG_JSON_STRING))
		goto out;
	memset(&in, 0, sizeof(in));
	in.entropy = -1;
	in.packaged = -1;
	int64_t size = -1;
	const struct vg_json_leaf *l;
	if ((l = leaf(&d, "file.size")) && l->type == VG_JSON_NUMBER) {
		char *end;
		double v = strtod(l->value, &end);
		if (!(v >= 0 && v < 9e18)) {
			vg_cloud_error(rs, 400, "file.size: expected a number >= 0", -1);
			goto out;
		}
		size = (int64_t)v;
	}
	if ((l = leaf(&d, "file.entropy")) && l->type == VG_JSON_NUMBER) {
		in.entropy = strtod(l->value, NULL);
		if (!(in.entropy >= 0 && in.entropy <= 8)) {
			vg_cloud_error(rs, 400, "file.entropy: expected bits per byte, 0 to 8", -1);
			goto out;
		}
	}
	if ((l = leaf(&d, "file.package")))
		in.packaged = l->type == VG_JSON_STRING && l->value_len > 0;
	in.temp_path = temp_path(str_at(&d, "file.path"));
	in.elf_static = (l = leaf(&d, "file.elf.static")) && l->type == VG_JSON_TRUE;
	in.elf_stripped = (l = leaf(&d, "file.elf.stripped")) && l->type == VG_JSON_TRUE;
	in.elf_packed = (l = leaf(&d, "file.elf.packed")) && l->type == VG_JSON_TRUE;
	in.chain_risky = chain_risky(&d);
	for (uint32_t i = 0; i < d.nleaves; i++) {
		l = &d.leaves[i];
		int is_rule = l->path_len == 8 && !memcmp(l->path, "rule_ids", 8);
		int is_beh = l->path_len == 12 && !memcmp(l->path, "behavior_ids", 12);
		if (!is_rule && !is_beh)
			continue;
		if (l->type == VG_JSON_EMPTY_ARRAY)
			continue;
		if (l->type != VG_JSON_STRING || !l->in_array) {
			snprintf(msg, sizeof(msg), "%s: expected an array of strings", is_rule ? "rule_ids" : "behavior_ids");
			vg_cloud_error(rs, 400, msg, -1);
			goto out;
		}
		const struct vg_rule *r = is_rule ? rule_by_id(c, l->value, l->value_len) : NULL;
		if (r && r->level > in.severity) {
			in.severity = r->level;
			in.top_rule = r->title;
			in.technique = r->technique;
		} else if (!r)
			in.nbehaviors++;
	}

	/*
	 * The prevalence update, the verdict and the queueing of the durable
	 * write happen under the hot lock (memory only); the writer thread
	 * commits the record within group_commit_ms (docs/cloud.md).
	 */
	pthread_mutex_lock(&c->hot.mu);
	if ((rc = hot_file_seen(&c->hot, sha, ep, now, &fi, &fresh_pair, &new_file))) {
		pthread_mutex_unlock(&c->hot.mu);
		vg_cloud_error(rs, 500, "out of memory", -1);
		goto out;
	}
	struct hot_file *hf = &c->hot.files[fi];
	prevalence = hf->prevalence;
	first_ms = hf->first_seen_ms;
	in.prevalence = prevalence;
	in.age_s = (now - first_ms) / 1000;
	vg_cloud_model_score(c, &d, endpoint, &in, &so);
	/*
	 * A block stands: a later, weaker signal about the same file (another
	 * endpoint's, or one an attacker crafted to look benign) does not lift it.
	 * So a hash judged block anywhere is block for every endpoint's next
	 * signal, including the exec hold's first-sight question (docs/cloud.md).
	 */
	if (hf->verdict == HOT_BLOCK && strcmp(so.verdict, "block") != 0) {
		so.verdict = "block";
		so.score = hf->score > so.score ? hf->score : so.score;
		so.ttl = 86400;
		snprintf(so.threat_name, sizeof(so.threat_name), "%s", hf->threat ? hf->threat : "");
	}
	uint8_t code = hot_verdict_code(so.verdict);
	changed = hf->verdict != code;
	if (hot_file_verdict(&c->hot, fi, code, so.score, so.threat_name)) {
		pthread_mutex_unlock(&c->hot.mu);
		vg_cloud_error(rs, 500, "out of memory", -1);
		goto out;
	}
	/* The verdict object, as answered and as stored for GET /v1/verdicts. */
	{
		int first = 1;
		char t[40];
		vg_buf_puts(&vj, "{");
		vg_buf_json_kv(&vj, &first, "sha256", sha);
		vg_buf_json_kv(&vj, &first, "verdict", so.verdict);
		vg_buf_json_key(&vj, &first, "scores");
		vg_buf_puts(&vj, so.scores_json);
		vg_buf_json_kv(&vj, &first, "model", so.model);
		vg_buf_json_key(&vj, &first, "threat_name");
		if (so.threat_name[0])
			vg_buf_json_str(&vj, so.threat_name);
		else
			vg_buf_puts(&vj, "null");
		vg_buf_json_ku(&vj, &first, "ttl", so.ttl);
		vg_buf_json_ki(&vj, &first, "prevalence", prevalence);
		vg_buf_json_kv(&vj, &first, "first_seen", vg_time_format(first_ms * 1000000, t, sizeof(t)));
		vg_buf_json_kv(&vj, &first, "endpoint_id", endpoint);
		vg_buf_json_kv(&vj, &first, "time", vg_time_format(now * 1000000, t, sizeof(t)));
		vg_buf_puts(&vj, "}");
	}
	struct hot_rec *r = vj.oom ? NULL : hot_rec_new(&c->hot, rq->body_len, changed ? vj.len : 0, str_at(&d, "file.name"),
							 so.threat_name);
	if (!r) {
		pthread_mutex_unlock(&c->hot.mu);
		vg_cloud_error(rs, 500, "out of memory", -1);
		goto out;
	}
	r->eid = c->hot.eps[ep].id;
	memcpy(r->sha, sha, sizeof(r->sha));
	r->fresh_pair = fresh_pair;
	r->new_file = new_file;
	if (now - c->hot.eps[ep].touched_ms >= 1000) {
		r->touch = 1;
		c->hot.eps[ep].touched_ms = now;
	}
	r->file_id = hf->id;
	r->now_ms = now;
	r->first_seen_ms = first_ms;
	r->prevalence = prevalence;
	r->size = size;
	r->verdict = code;
	r->score = so.score;
	if (rq->body_len)
		memcpy(r->body, rq->body, rq->body_len);
	r->body[rq->body_len] = 0;
	r->body_len = rq->body_len;
	if (changed) {
		vid = ++c->verdict_head; /* the row id the writer gives it: ids follow the queue order */
		memcpy(r->vjson, vj.p, vj.len);
		r->vjson[vj.len] = 0;
		r->vid = vid;
	}
	hot_enqueue(&c->hot, r);
	int backlog = c->hot.qlen >= HOT_QUEUE_MAX;
	if (c->hot.qlen == HOT_QUEUE_KICK) {
		c->hot.kick = 1;
		pthread_cond_signal(&c->hot.cond);
	}
	pthread_mutex_unlock(&c->hot.mu);
	if (!c->cfg.group_commit_ms || backlog)
		hot_sync(c); /* commit before answering (group_commit_ms 0), or the writer is behind: help it */
	reply(rs, 200);
	vg_buf_put(&rs->body, vj.p, vj.len);
out:
	vg_buf_free(&vj);
	vg_json_doc_free(&d);
}

static void h_files(struct vg_cloud *c, const char *sha_in, struct vg_cloud_response *rs)
{
	char sha[65];
	int rc;

	if (!valid_sha256(sha_in, strlen(sha_in), sha)) {
		vg_cloud_error(rs, 400, "path: /v1/files/<sha256> needs 64 hex digits", -1);
		return;
	}
	reply(rs, 200);
	pthread_mutex_lock(&c->hot.mu);
	int64_t id = hot_file_id(&c->hot, sha);
	pthread_mutex_unlock(&c->hot.mu);
	pthread_mutex_lock(&c->store.mu);
	hot_drain(c); /* the file's row as of the last answered signal */
	rc = id ? store_file_json(&c->store, id, sha, &rs->body) : VG_ENOTFOUND;
	pthread_mutex_unlock(&c->store.mu);
	if (rc == VG_ENOTFOUND)
		vg_cloud_error(rs, 404, "no endpoint has reported this file", -1);
}

struct match_ctx {
	struct vg_cloud *c;
	const char *endpoint;
	int64_t now_ms;
	int alerts;
	struct vg_buf b;
};

static void store_match(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	struct match_ctx *m = ctx;
	int first = 1, rf = 1;
	int64_t id;

	if (ev->proc.key) /* as the incident builder does: later rules test VigilProcessFlagged */
		vg_tree_flag(m->c->tree, ev->proc.key, r->level);
	vg_buf_reset(&m->b);
	vg_buf_puts(&m->b, "{");
	vg_buf_json_kt(&m->b, &first, "time", ev->time_ns);
	vg_buf_json_kv(&m->b, &first, "endpoint_id", m->endpoint);
	vg_buf_json_kv(&m->b, &first, "host", ev->host);
	vg_buf_json_key(&m->b, &first, "rule");
	vg_buf_puts(&m->b, "{");
	vg_buf_json_kv(&m->b, &rf, "id", r->id);
	vg_buf_json_kv(&m->b, &rf, "title", r->title);
	vg_buf_json_kv(&m->b, &rf, "level", vg_level_name(r->level));
	vg_buf_json_kv(&m->b, &rf, "technique", r->technique);
	vg_buf_puts(&m->b, "}");
	vg_buf_json_key(&m->b, &first, "event");
	vg_event_write_json(ev, &m->b);
	vg_buf_puts(&m->b, "}");
	if (!m->b.oom &&
	    !store_alert_add(&m->c->store, m->endpoint, ev->time_ns, r->id, vg_level_name(r->level), m->b.p, m->b.len,
			     m->now_ms, &id)) {
		m->alerts++;
		m->c->alerts_out++;
	}
}

/* A correlation rule completed (as in vigil hunt): stored as an alert like a rule's. */
static void on_corr(const struct vg_corr_hit *h, void *ctx)
{
	if (h->alert)
		store_match(h->rule, h->ev, ctx);
}

static void on_match(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	struct match_ctx *m = ctx;
	if (m->c->corr)
		vg_corr_feed(m->c->corr, r, ev, on_corr, ctx);
	if (vg_rule_generates(r))
		store_match(r, ev, ctx);
}

/* Caller holds ingest_mu and store.mu inside a transaction. */
int vg_cloud_ingest_doc(struct vg_cloud *c, const struct vg_json_doc *doc, const char *endpoint,
			const char *raw, size_t rawlen, int64_t now_ms, const char **reason)
{
	struct vg_event *ev = vg_event_new();
	struct match_ctx m = { .c = c, .endpoint = endpoint, .now_ms = now_ms };
	struct vg_buf eb = { 0 };
	int rc;

	(void)raw;
	(void)rawlen;
	if (!ev) {
		*reason = "out of memory";
		return VG_ENOMEM;
	}
	rc = vg_event_from_json(doc, ev);
	if (rc) {
		*reason = rc == VG_EFORMAT ? "not an event: expected a Winlogbeat/ECS, evtx_dump, flat or vg_event document"
					   : vg_strerror(rc);
		vg_event_free(ev);
		return rc;
	}
	if (vg_tree_update(c->tree, ev) || vg_tree_enrich(c->tree, ev)) {
		*reason = "out of memory";
		vg_event_free(ev);
		return VG_ENOMEM;
	}
	vg_ruleset_match(c->rules, ev, on_match, &m);
	if (c->corr)
		vg_corr_advance(c->corr, ev->time_ns, on_corr, &m);
	vg_event_write_json(ev, &eb);
	rc = eb.oom ? VG_ENOMEM
		    : store_event_add(&c->store, endpoint, ev->time_ns, vg_event_type_name(ev->type), eb.p, eb.len, now_ms);
	if (rc)
		*reason = "store: the event could not be recorded";
	else
		c->events_in++;
	vg_buf_free(&eb);
	vg_buf_free(&m.b);
	vg_event_free(ev);
	return rc ? rc : m.alerts;
}

static void h_events(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs,
		     const char *endpoint)
{
	struct vg_json_reader *rd = NULL;
	struct vg_json_doc d;
	struct vg_json_error e;
	struct vg_buf errs = { 0 };
	const char *v;
	size_t vlen;
	uint64_t off, line;
	int64_t accepted = 0, rejected = 0, alerts = 0, now = store_now_ms(), index = 0;
	long long first_pos = -1;
	char first_msg[256] = "";
	int rc, nerr = 0;

	if (!rq->body_len) {
		vg_cloud_error(rs, 400, "events: empty body (expected a JSON array or JSON lines of events)", 0);
		return;
	}
	if (vg_json_reader_open_mem(rq->body, rq->body_len, rq->body_len + 1, &rd)) {
		vg_cloud_error(rs, 500, "out of memory", -1);
		return;
	}
	vg_json_doc_init(&d);
	pthread_mutex_lock(&c->ingest_mu);
	pthread_mutex_lock(&c->store.mu);
	store_begin(&c->store);
	while ((rc = vg_json_reader_next(rd, &v, &vlen, &off, &line)) != 0) {
		const char *why = NULL;
		long long pos = (long long)off;
		if (rc < 0) {
			why = vg_json_reader_error(rd);
		} else if (vg_json_flatten(&d, v, vlen, &e)) {
			why = e.reason;
			pos = (long long)(off + e.offset);
		} else {
			int n = vg_cloud_ingest_doc(c, &d, endpoint, v, vlen, now, &why);
			if (n >= 0) {
				accepted++;
				alerts += n;
				why = NULL;
			} else if (n == VG_ENOMEM)
				break;
		}
		if (why) {
			rejected++;
			if (!first_msg[0]) {
				snprintf(first_msg, sizeof(first_msg), "events: value %lld (line %llu): %s", (long long)index,
					 (unsigned long long)line, why);
				first_pos = pos;
			}
			if (nerr++ < 20) {
				int f = 1;
				vg_buf_puts(&errs, nerr > 1 ? ",{" : "{");
				vg_buf_json_ki(&errs, &f, "index", index);
				vg_buf_json_ki(&errs, &f, "line", (int64_t)line);
				vg_buf_json_ki(&errs, &f, "position", pos);
				vg_buf_json_kv(&errs, &f, "error", why);
				vg_buf_puts(&errs, "}");
			}
		}
		index++;
	}
	store_flush(&c->store); /* a batch is committed before it is answered */
	pthread_mutex_unlock(&c->store.mu);
	pthread_mutex_unlock(&c->ingest_mu);
	if (!accepted && rejected) {
		vg_cloud_error(rs, 400, first_msg, first_pos);
	} else {
		int first = 1;
		reply(rs, 200);
		vg_buf_puts(&rs->body, "{");
		vg_buf_json_ki(&rs->body, &first, "accepted", accepted);
		vg_buf_json_ki(&rs->body, &first, "rejected", rejected);
		vg_buf_json_ki(&rs->body, &first, "alerts", alerts);
		vg_buf_json_key(&rs->body, &first, "errors");
		vg_buf_puts(&rs->body, "[");
		if (errs.len)
			vg_buf_put(&rs->body, errs.p, errs.len);
		vg_buf_puts(&rs->body, "]}");
	}
	vg_buf_free(&errs);
	vg_json_doc_free(&d);
	vg_json_reader_free(rd);
}

static void h_list(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs, int table)
{
	long long since, limit, timeout;
	int64_t last;
	int n;

	if (int_arg(rq, rs, "since", 0, 0, INT64_MAX, &since) ||
	    int_arg(rq, rs, "limit", 100, 1, MAX_ALERTS_PAGE, &limit) ||
	    int_arg(rq, rs, "timeout", table == LIST_VERDICTS ? 30 : 0, 0, 86400, &timeout))
		return;
	if (table == LIST_VERDICTS && timeout > c->cfg.longpoll_max)
		timeout = c->cfg.longpoll_max;
	if (table == LIST_VERDICTS && !rq->no_wait && timeout > 0 && c->verdict_head <= since) {
		rs->wait = (int)timeout; /* nothing newer yet: the server suspends and calls again */
		return;
	}
	reply(rs, 200);
	vg_buf_puts(&rs->body, table == LIST_ALERTS ? "{\"alerts\":[" : "{\"verdicts\":[");
	pthread_mutex_lock(&c->store.mu);
	hot_drain(c); /* verdict ids up to verdict_head are all in the table */
	n = store_list(&c->store, table, since, limit, &rs->body, &last);
	pthread_mutex_unlock(&c->store.mu);
	vg_buf_printf(&rs->body, "],\"count\":%d,\"next\":%lld}", n, (long long)last);
}

/* ------------------------------------------------------------------ routing */

int vg_cloud_route_of(const char *p)
{
	static const struct { const char *path; int prefix, route; } t[] = {
		{ "/v1/health", 0, R_HEALTH }, { "/metrics", 0, R_METRICS }, { "/v1/enroll", 0, R_ENROLL },
		{ "/v1/signals", 0, R_SIGNALS }, { "/v1/files/", 1, R_FILES }, { "/v1/events", 0, R_EVENTS },
		{ "/v1/alerts", 0, R_ALERTS }, { "/v1/verdicts", 0, R_VERDICTS },
	};
	if (!p)
		return R_NONE;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].prefix ? !strncmp(p, t[i].path, strlen(t[i].path)) : !strcmp(p, t[i].path))
			return t[i].route;
	if (!strncmp(p, "/v1", 3))
		return R_NONE;
	return strstr(p, "_bulk") ? R_ES_BULK : R_ES_INDEX;
}

static int method_is(const struct vg_cloud_request *rq, const char *m)
{
	return rq->method && !strcmp(rq->method, m);
}

int vg_cloud_handle(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs)
{
	const char *p = rq->path ? rq->path : "/";
	char endpoint[160] = "";
	uint32_t epi = 0; /* the endpoint's index in the hot state */
	const char *want = NULL; /* the method the route takes */
	int route = R_NONE, need_auth = 1;

	rs->status = 0;
	rs->allow = NULL;
	rs->es = 0;
	rs->wait = 0;
	vg_buf_reset(&rs->body);
	if (!strcmp(p, "/v1/health"))
		route = R_HEALTH, want = "GET", need_auth = 0;
	else if (!strcmp(p, "/metrics"))
		route = R_METRICS, want = "GET", need_auth = 0;
	else if (!strcmp(p, "/v1/enroll"))
		route = R_ENROLL, want = "POST", need_auth = 0;
	else if (!strcmp(p, "/v1/signals"))
		route = R_SIGNALS, want = "POST";
	else if (!strncmp(p, "/v1/files/", 10))
		route = R_FILES, want = "GET";
	else if (!strcmp(p, "/v1/events"))
		route = R_EVENTS, want = "POST";
	else if (!strcmp(p, "/v1/alerts"))
		route = R_ALERTS, want = "GET";
	else if (!strcmp(p, "/v1/verdicts"))
		route = R_VERDICTS, want = "GET";
	else if (!strncmp(p, "/v1/", 4) || !strcmp(p, "/v1")) {
		rs->route = R_NONE;
		vg_cloud_error(rs, 404, "no such API route", -1);
		return rs->body.oom ? VG_ENOMEM : 0;
	}
	if (route != R_NONE) {
		rs->route = route;
		if (!method_is(rq, want) && !(method_is(rq, "HEAD") && !strcmp(want, "GET"))) {
			rs->allow = !strcmp(want, "GET") ? "GET, HEAD" : want;
			vg_cloud_error(rs, 405, "method not allowed on this route", -1);
		} else if (need_auth && authenticate(c, rq->authorization, endpoint, sizeof(endpoint), &epi)) {
			vg_cloud_error(rs, 401, rq->authorization ? "invalid credential" : "missing Authorization: Bearer <credential>", -1);
		} else {
			switch (route) {
			case R_HEALTH: h_health(c, rs); break;
			case R_METRICS: h_metrics(c, rs); break;
			case R_ENROLL: h_enroll(c, rq, rs); break;
			case R_SIGNALS: h_signals(c, rq, rs, endpoint, epi); break;
			case R_FILES: h_files(c, p + 10, rs); break;
			case R_EVENTS: h_events(c, rq, rs, endpoint); break;
			case R_ALERTS: h_list(c, rq, rs, LIST_ALERTS); break;
			case R_VERDICTS: h_list(c, rq, rs, LIST_VERDICTS); break;
			}
		}
	} else {
		/* Everything else is the Elasticsearch-compatible endpoint. */
		const char *ep = NULL;
		if (!authenticate(c, rq->authorization, endpoint, sizeof(endpoint), &epi))
			ep = endpoint;
		else if (c->cfg.es_open)
			ep = "winlogbeat";
		rs->es = 1;
		if (!ep) {
			rs->route = R_ES_ROOT;
			vg_buf_reset(&rs->body);
			reply(rs, 401);
			vg_buf_puts(&rs->body, "{\"error\":{\"type\":\"security_exception\",\"reason\":\"missing or invalid"
					       " credential (api_key: <endpoint_id>:<credential>)\"},\"status\":401}");
		} else
			vg_cloud_es(c, rq, rs, ep);
	}
	if (rs->body.oom) {
		vg_buf_free(&rs->body);
		rs->status = 500;
		rs->content_type = "application/json";
		return VG_ENOMEM;
	}
	return 0;
}
