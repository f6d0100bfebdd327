/* es.c - the Elasticsearch-compatible endpoint Winlogbeat ships to: version info, template/ILM/license start-up calls, and _bulk ingestion of Winlogbeat/ECS documents into vg_events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud_int.h"

/* Templates, ILM policies and indices Beats created, so GET after PUT says 200 (process lifetime only). */
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;
static char **names;
static size_t nnames;

static int name_known(const char *n)
{
	int found = 0;
	pthread_mutex_lock(&names_mu);
	for (size_t i = 0; i < nnames && !found; i++)
		found = !strcmp(names[i], n);
	pthread_mutex_unlock(&names_mu);
	return found;
}

static void name_add(const char *n)
{
	if (name_known(n))
		return;
	pthread_mutex_lock(&names_mu);
	if (nnames < 4096) {
		char **nn = vg_realloc(names, (nnames + 1) * sizeof(*names));
		if (nn) {
			names = nn;
			if ((names[nnames] = vg_strdup(n)))
				nnames++;
		}
	}
	pthread_mutex_unlock(&names_mu);
}

static void es_error(struct vg_cloud_response *rs, int status, const char *type, const char *reason)
{
	int first = 1, f2 = 1;
	vg_buf_reset(&rs->body);
	rs->status = status;
	rs->content_type = "application/json";
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_key(&rs->body, &first, "error");
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_kv(&rs->body, &f2, "type", type);
	vg_buf_json_kv(&rs->body, &f2, "reason", reason);
	vg_buf_puts(&rs->body, "}");
	vg_buf_json_ki(&rs->body, &first, "status", status);
	vg_buf_puts(&rs->body, "}");
}

static void ok_json(struct vg_cloud_response *rs, const char *body)
{
	rs->status = 200;
	rs->content_type = "application/json";
	vg_buf_puts(&rs->body, body);
}

static void root(struct vg_cloud *c, struct vg_cloud_response *rs)
{
	int first = 1, f2 = 1;
	rs->status = 200;
	rs->content_type = "application/json";
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_kv(&rs->body, &first, "name", "vigil-cloud");
	vg_buf_json_kv(&rs->body, &first, "cluster_name", "vigil");
	vg_buf_json_kv(&rs->body, &first, "cluster_uuid", "vigil-cloud-0000000000");
	vg_buf_json_key(&rs->body, &first, "version");
	vg_buf_puts(&rs->body, "{");
	vg_buf_json_kv(&rs->body, &f2, "number", c->cfg.es_version);
	vg_buf_json_kv(&rs->body, &f2, "build_flavor", "default");
	vg_buf_json_kv(&rs->body, &f2, "build_type", "deb");
	vg_buf_json_kv(&rs->body, &f2, "lucene_version", "9.8.0");
	vg_buf_json_kv(&rs->body, &f2, "minimum_wire_compatibility_version", "7.17.0");
	vg_buf_json_kv(&rs->body, &f2, "minimum_index_compatibility_version", "7.0.0");
	vg_buf_puts(&rs->body, "}");
	vg_buf_json_kv(&rs->body, &first, "tagline", "You Know, for Search");
	vg_buf_puts(&rs->body, "}");
}

/*
 * Beats 7 creates its first index with the write alias in the body:
 * PUT /<winlogbeat-7.17.0-{now/d}-000001> {"aliases":{"winlogbeat-7.17.0":{"is_write_index":true}}}.
 * The alias is remembered so HEAD /_alias/<name> says 200 afterwards. Alias
 * names contain dots, so the option key is cut off the flattened path.
 */
static void add_aliases(const struct vg_cloud_request *rq)
{
	struct vg_json_doc d;
	struct vg_json_error e;
	static const char *const opts[] = { ".is_write_index", ".is_hidden", ".routing", ".index_routing",
					    ".search_routing", ".filter" };

	if (!rq->body_len)
		return;
	vg_json_doc_init(&d);
	if (!vg_json_flatten(&d, rq->body, rq->body_len, &e)) {
		for (uint32_t i = 0; i < d.nleaves; i++) {
			const struct vg_json_leaf *l = &d.leaves[i];
			if (l->path_len <= 8 || memcmp(l->path, "aliases.", 8))
				continue;
			size_t n = l->path_len - 8;
			const char *name = l->path + 8;
			for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
				const char *hit = strstr(name, opts[k]);
				if (hit && (size_t)(hit - name) < n)
					n = (size_t)(hit - name);
			}
			char key[320];
			if (n && n < 256) {
				snprintf(key, sizeof(key), "index/%.*s", (int)n, name);
				name_add(key);
			}
		}
	}
	vg_json_doc_free(&d);
}

/* GET/HEAD/PUT/DELETE on a named resource (template, policy, index): remembered by kind/name. */
static void resource(const struct vg_cloud_request *rq, struct vg_cloud_response *rs, const char *kind,
		     const char *name)
{
	char key[600];
	snprintf(key, sizeof(key), "%s/%s", kind, name);
	if (!strcmp(rq->method, "PUT") || !strcmp(rq->method, "POST")) {
		name_add(key);
		if (!strcmp(kind, "index"))
			add_aliases(rq);
		if (!strcmp(kind, "index")) {
			rs->status = 200;
			rs->content_type = "application/json";
			vg_buf_puts(&rs->body, "{\"acknowledged\":true,\"shards_acknowledged\":true,\"index\":");
			vg_buf_json_str(&rs->body, name);
			vg_buf_puts(&rs->body, "}");
		} else
			ok_json(rs, "{\"acknowledged\":true}");
		return;
	}
	if (!strcmp(rq->method, "DELETE")) {
		ok_json(rs, "{\"acknowledged\":true}");
		return;
	}
	if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD")) {
		rs->allow = "GET, HEAD, PUT, DELETE";
		es_error(rs, 405, "method_not_allowed", "method not allowed on this resource");
		return;
	}
	if (!name_known(key)) {
		char reason[700];
		snprintf(reason, sizeof(reason), "%s [%s] missing", kind, name);
		es_error(rs, 404, !strcmp(kind, "index") ? "index_not_found_exception" : "resource_not_found_exception",
			 reason);
		return;
	}
	rs->status = 200;
	rs->content_type = "application/json";
	if (!strcmp(kind, "index_template")) {
		vg_buf_puts(&rs->body, "{\"index_templates\":[{\"name\":");
		vg_buf_json_str(&rs->body, name);
		vg_buf_puts(&rs->body, ",\"index_template\":{\"index_patterns\":[],\"composed_of\":[]}}]}");
	} else {
		vg_buf_puts(&rs->body, "{");
		vg_buf_json_str(&rs->body, name);
		vg_buf_puts(&rs->body, ":{}}");
	}
}

static const struct vg_json_leaf *find(const struct vg_json_doc *d, const char *path)
{
	size_t n = strlen(path);
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (d->leaves[i].path_len == n && !memcmp(d->leaves[i].path, path, n))
			return &d->leaves[i];
	return NULL;
}

/* One _bulk item result. */
static void item(struct vg_buf *b, int *n, const char *action, const char *index, const char *id, int status,
		 const char *etype, const char *reason, int64_t seq)
{
	int first = 1;
	vg_buf_puts(b, (*n)++ ? ",{" : "{");
	vg_buf_json_key(b, &first, action);
	first = 1;
	vg_buf_puts(b, "{");
	vg_buf_json_kv(b, &first, "_index", index);
	vg_buf_json_key(b, &first, "_id");
	vg_buf_json_str(b, id);
	if (!etype) {
		vg_buf_json_ki(b, &first, "_version", 1);
		vg_buf_json_kv(b, &first, "result", "created");
		vg_buf_json_key(b, &first, "_shards");
		vg_buf_puts(b, "{\"total\":1,\"successful\":1,\"failed\":0}");
		vg_buf_json_ki(b, &first, "_seq_no", seq);
		vg_buf_json_ki(b, &first, "_primary_term", 1);
	}
	vg_buf_json_ki(b, &first, "status", status);
	if (etype) {
		int f2 = 1;
		vg_buf_json_key(b, &first, "error");
		vg_buf_puts(b, "{");
		vg_buf_json_kv(b, &f2, "type", etype);
		vg_buf_json_kv(b, &f2, "reason", reason);
		vg_buf_puts(b, "}");
	}
	vg_buf_puts(b, "}}");
}

/*
 * POST /_bulk, /<index>/_bulk: NDJSON pairs of an action line
 * ({"create":{"_index":..}} or "index") and a document line. A malformed
 * action line ends the request with 400 (as Elasticsearch does); a bad
 * document fails only its item.
 */
static void bulk(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs,
		 const char *endpoint, const char *url_index)
{
	struct vg_json_doc act, doc;
	struct vg_json_error e;
	struct vg_buf items = { 0 };
	struct timespec t0, t1;
	const char *p = rq->body, *end = rq->body + rq->body_len;
	int n = 0, errors = 0, fatal = 0;
	uint64_t lineno = 0;
	int64_t now = store_now_ms();
	char msg[400];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!rq->body_len) {
		es_error(rs, 400, "action_request_validation_exception", "Validation Failed: 1: no requests added;");
		return;
	}
	vg_json_doc_init(&act);
	vg_json_doc_init(&doc);
	pthread_mutex_lock(&c->ingest_mu);
	pthread_mutex_lock(&c->store.mu);
	store_begin(&c->store);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		size_t off = (size_t)(p - rq->body);
		lineno++;
		const char *s = p;
		p = nl ? nl + 1 : end;
		while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s == le)
			continue;
		if (vg_json_flatten(&act, s, (size_t)(le - s), &e)) {
			snprintf(msg, sizeof(msg), "line %llu: malformed action (byte %zu): %s", (unsigned long long)lineno,
				 off + (size_t)(s - (rq->body + off)) + e.offset, e.reason);
			fatal = 1;
			break;
		}
		const char *action = NULL;
		if (act.nleaves && act.leaves[0].depth >= 1) {
			const struct vg_json_leaf *l0 = &act.leaves[0];
			const char *dot = memchr(l0->path, '.', l0->path_len);
			size_t alen = dot ? (size_t)(dot - l0->path) : l0->path_len;
			static const char *const acts[] = { "index", "create", "update", "delete" };
			for (size_t i = 0; i < 4; i++)
				if (alen == strlen(acts[i]) && !memcmp(l0->path, acts[i], alen))
					action = acts[i];
		}
		if (!action) {
			snprintf(msg, sizeof(msg), "line %llu: malformed action/metadata line, expected one of index,"
				 " create, update, delete", (unsigned long long)lineno);
			fatal = 1;
			break;
		}
		char ipath[32], idpath[32];
		snprintf(ipath, sizeof(ipath), "%s._index", action);
		snprintf(idpath, sizeof(idpath), "%s._id", action);
		const struct vg_json_leaf *il = find(&act, ipath), *idl = find(&act, idpath);
		char index[256], id[160];
		snprintf(index, sizeof(index), "%s", il && il->type == VG_JSON_STRING ? il->value : url_index ? url_index : "");
		if (!index[0]) {
			snprintf(msg, sizeof(msg), "line %llu: Validation Failed: index is missing", (unsigned long long)lineno);
			fatal = 1;
			break;
		}
		if (!strcmp(action, "delete")) {
			item(&items, &n, action, index, idl ? idl->value : "", 404, NULL, NULL, 0);
			continue;
		}
		/* The document line. */
		if (p >= end) {
			snprintf(msg, sizeof(msg), "line %llu: the %s action has no document line", (unsigned long long)lineno,
				 action);
			fatal = 1;
			break;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		le = nl ? nl : end;
		s = p;
		off = (size_t)(p - rq->body);
		p = nl ? nl + 1 : end;
		lineno++;
		c->bulk_items++;
		if (!strcmp(action, "update")) {
			errors = 1;
			c->bulk_errors++;
			item(&items, &n, action, index, idl ? idl->value : "", 400, "illegal_argument_exception",
			     "vigil-cloud stores events; update is not supported", 0);
			continue;
		}
		if (vg_json_flatten(&doc, s, (size_t)(le - s), &e)) {
			snprintf(msg, sizeof(msg), "line %llu: failed to parse document (byte %zu): %s",
				 (unsigned long long)lineno, off + e.offset, e.reason);
			errors = 1;
			c->bulk_errors++;
			item(&items, &n, action, index, idl ? idl->value : NULL, 400, "document_parsing_exception", msg, 0);
			continue;
		}
		const char *why = NULL;
		int rc = vg_cloud_ingest_doc(c, &doc, endpoint, s, (size_t)(le - s), now, &why);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "line %llu: %s", (unsigned long long)lineno, why ? why : vg_strerror(rc));
			errors = 1;
			c->bulk_errors++;
			item(&items, &n, action, index, idl ? idl->value : NULL, 400, "document_parsing_exception", msg, 0);
			continue;
		}
		int64_t seq = sqlite3_last_insert_rowid(c->store.db); /* the event row just written */
		if (idl && idl->type == VG_JSON_STRING)
			snprintf(id, sizeof(id), "%s", idl->value);
		else
			snprintf(id, sizeof(id), "vg-%lld", (long long)seq);
		item(&items, &n, action, index, id, 201, NULL, NULL, seq);
	}
	store_flush(&c->store); /* a batch is committed before it is answered */
	pthread_mutex_unlock(&c->store.mu);
	pthread_mutex_unlock(&c->ingest_mu);
	if (fatal) {
		es_error(rs, 400, "illegal_argument_exception", msg);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rs->status = 200;
		rs->content_type = "application/json";
		vg_buf_printf(&rs->body, "{\"took\":%lld,\"errors\":%s,\"items\":[",
			      (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
			      errors ? "true" : "false");
		if (items.len)
			vg_buf_put(&rs->body, items.p, items.len);
		vg_buf_puts(&rs->body, "]}");
	}
	vg_buf_free(&items);
	vg_json_doc_free(&act);
	vg_json_doc_free(&doc);
}

int vg_cloud_es(struct vg_cloud *c, const struct vg_cloud_request *rq, struct vg_cloud_response *rs,
		const char *endpoint)
{
	const char *p = rq->path ? rq->path : "/";
	const char *m = rq->method ? rq->method : "";
	char seg[256];

	if (!strcmp(p, "/")) {
		rs->route = R_ES_ROOT;
		if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
			rs->allow = "GET, HEAD";
			es_error(rs, 405, "method_not_allowed", "only GET and HEAD on /");
		} else
			root(c, rs);
		return 0;
	}
	if (!strncmp(p, "/_license", 9) || !strncmp(p, "/_xpack", 7)) {
		rs->route = p[2] == 'l' ? R_ES_LICENSE : R_ES_XPACK;
		if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
			rs->allow = "GET, HEAD";
			es_error(rs, 405, "method_not_allowed", "read only");
		} else if (rs->route == R_ES_LICENSE)
			ok_json(rs, "{\"license\":{\"status\":\"active\",\"uid\":\"vigil-cloud\",\"type\":\"basic\","
				    "\"issue_date_in_millis\":0,\"max_nodes\":1000,\"issued_to\":\"vigil\",\"issuer\":\"vigil\"}}");
		else
			ok_json(rs, "{\"build\":{},\"license\":{\"uid\":\"vigil-cloud\",\"type\":\"basic\",\"mode\":\"basic\","
				    "\"status\":\"active\"},\"features\":{\"ilm\":{\"available\":true,\"enabled\":true}}}");
		return 0;
	}
	if (!strcmp(p, "/_bulk")) {
		rs->route = R_ES_BULK;
		if (strcmp(m, "POST") && strcmp(m, "PUT")) {
			rs->allow = "POST, PUT";
			es_error(rs, 405, "method_not_allowed", "use POST for _bulk");
		} else
			bulk(c, rq, rs, endpoint, NULL);
		return 0;
	}
	static const struct { const char *prefix; const char *kind; int route; } res[] = {
		{ "/_template/", "template", R_ES_TEMPLATE },
		{ "/_index_template/", "index_template", R_ES_TEMPLATE },
		{ "/_component_template/", "component_template", R_ES_TEMPLATE },
		{ "/_ilm/policy/", "ilm_policy", R_ES_ILM },
		{ "/_alias/", "index", R_ES_INDEX },
		{ "/_data_stream/", "data_stream", R_ES_INDEX },
	};
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		size_t n = strlen(res[i].prefix);
		if (!strncmp(p, res[i].prefix, n) && p[n] && !strchr(p + n, '/')) {
			rs->route = res[i].route;
			resource(rq, rs, res[i].kind, p + n);
			return 0;
		}
	}
	/* /<index>/_bulk and /<index> (date-math names like <winlogbeat-{now/d}-000001> hold a '/') */
	size_t plen = strlen(p);
	int is_bulk = plen > 6 && !strcmp(p + plen - 6, "/_bulk");
	const char *s2 = is_bulk ? p + plen - 6 : NULL;
	size_t n1 = is_bulk ? plen - 7 : plen - 1;
	if (p[1] != '_' && n1 > 0 && n1 < sizeof(seg)) {
		memcpy(seg, p + 1, n1);
		seg[n1] = 0;
		if (is_bulk) {
			rs->route = R_ES_BULK;
			if (strcmp(m, "POST") && strcmp(m, "PUT")) {
				rs->allow = "POST, PUT";
				es_error(rs, 405, "method_not_allowed", "use POST for _bulk");
			} else
				bulk(c, rq, rs, endpoint, seg);
			return 0;
		}
		if (!s2) {
			rs->route = R_ES_INDEX;
			resource(rq, rs, "index", seg);
			return 0;
		}
	}
	rs->route = R_NONE;
	char reason[300];
	snprintf(reason, sizeof(reason), "no handler found for uri [%.200s] and method [%.10s]", p, m);
	es_error(rs, 404, "no_handler_found", reason);
	return 0;
}
