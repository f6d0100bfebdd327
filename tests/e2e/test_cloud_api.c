/* test_cloud_api.c - end-to-end tests of vigil-cloud: the real server binary on a free loopback port, driven with libcurl, answers checked against docs/schemas. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "../unit/test.h"
#include "cloud_server.h"
#include "jsonschema.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0001"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb0002"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc0003"
#define CRITICAL_RULE "4bf75ef1-8638-4054-9c3d-c8f5a702daff" /* rules/linux/network_payload_lnx_vigil_stratum_login.yml */

struct server {
	pid_t pid;
	int port;
	char conf[256];
};

/* Starts build/vigil-cloud with the given config lines and db; reads the port from its first stdout line. */
static int server_start(struct server *s, const char *db, const char *extra_conf)
{
	FILE *f;

	snprintf(s->conf, sizeof(s->conf), "/tmp/vigil-e2e-cloud-%d.conf", (int)getpid());
	if (!(f = fopen(s->conf, "w")))
		return -1;
	fprintf(f, "enroll_token e2e-enroll-token\nthreads 2\n%s", extra_conf ? extra_conf : "");
	fclose(f);
	return vg_test_cloud_spawn(s->conf, db, &s->pid, &s->port);
}

static int server_stop(struct server *s)
{
	int st = -1;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	unlink(s->conf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct resp {
	long status;
	char *body;
	size_t len;
	char headers[2048];
	size_t hlen;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct resp *r = ctx;
	char *nb = realloc(r->body, r->len + sz * n + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = 0;
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t k = sz * n;
	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = 0;
	}
	return k;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* One request on handle h (kept across calls, so the connection is reused). auth is the full header value or NULL. */
static int http(CURL *h, const struct server *s, const char *method, const char *path, const char *auth,
		const char *extra_header, const char *body, size_t len, struct resp *r)
{
	char url[1024], ah[512];
	struct curl_slist *hl = NULL;

	memset(r, 0, sizeof(*r));
	r->body = calloc(1, 1);
	curl_easy_reset(h);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (auth) {
		snprintf(ah, sizeof(ah), "Authorization: %s", auth);
		hl = curl_slist_append(hl, ah);
	}
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	if (extra_header)
		hl = curl_slist_append(hl, extra_header);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	if (rc != CURLE_OK)
		fprintf(stderr, "    curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
	return rc == CURLE_OK ? 0 : -1;
}

static CURL *curl_new(void)
{
	static int inited;
	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = 1;
	}
	return curl_easy_init();
}

/* Enrolls endpoint id; writes "Bearer <credential>" into auth. */
static int enroll(CURL *h, const struct server *s, const char *id, char *auth, size_t authlen, char *cred, size_t credlen)
{
	struct resp r;
	char body[256];
	snprintf(body, sizeof(body), "{\"endpoint_id\":\"%s\",\"hostname\":\"host-%s\",\"address\":\"10.0.0.9\"}", id, id);
	if (http(h, s, "POST", "/v1/enroll", "Bearer e2e-enroll-token", NULL, body, strlen(body), &r) || r.status != 200) {
		fprintf(stderr, "    enroll %s: status %ld: %s\n", id, r.status, r.body);
		resp_free(&r);
		return -1;
	}
	cJSON *j = cJSON_Parse(r.body);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "credential");
	int rc = -1;
	if (cJSON_IsString(c)) {
		snprintf(auth, authlen, "Bearer %s", c->valuestring);
		if (cred)
			snprintf(cred, credlen, "%s", c->valuestring);
		rc = 0;
	}
	cJSON_Delete(j);
	resp_free(&r);
	return rc;
}

static char *signal_body(const char *sha, const char *rule_id, const char *path)
{
	static char b[1024];
	snprintf(b, sizeof(b),
		 "{\"address\":\"10.0.0.9\",\"time\":\"2026-12-07T01:00:00Z\",\"behavior_ids\":[\"exec_from_tmp\"],"
		 "\"rule_ids\":[%s%s%s],\"process_chain\":[{\"pid\":1,\"image\":\"/usr/lib/systemd/systemd\"},"
		 "{\"pid\":812,\"image\":\"/usr/bin/bash\",\"command_line\":\"bash -c ./x\"}],"
		 "\"file\":{\"sha256\":\"%s\",\"size\":81234,\"path\":\"%s\",\"name\":\"x\",\"entropy\":7.6,"
		 "\"package\":null,\"first_seen\":\"2026-12-07T00:59:00Z\",\"elf\":{\"type\":\"exec\",\"machine\":\"x86_64\","
		 "\"static\":true,\"stripped\":true,\"packed\":false,\"interpreter\":null}}}",
		 rule_id ? "\"" : "", rule_id ? rule_id : "", rule_id ? "\"" : "", sha, path);
	return b;
}

static long long jint(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define ASSERT_SCHEMA(name, text)                                                          \
	do {                                                                               \
		char e_[512];                                                              \
		if (ts_validate_text(name, text, e_, sizeof(e_)))                          \
			VG_FAIL_("schema %s: %s\n      in %.300s", name, e_, text);        \
	} while (0)

/* The validator is a real check: it must reject what breaks the schema. */
TEST(cloud_schema_validator_rejects)
{
	char err[512];
	const char *good = "{\"sha256\":\"" SHA_A "\",\"verdict\":\"clean\",\"scores\":{\"interim_rules\":0.1},"
			   "\"threat_name\":null,\"ttl\":60,\"prevalence\":1,\"first_seen\":\"2026-01-01T00:00:00Z\","
			   "\"time\":\"2026-01-01T00:00:00Z\"}";
	ASSERT_EQ(ts_validate_text("verdict", good, err, sizeof(err)), 0);
	ASSERT_EQ(ts_validate_text("verdict", "{\"sha256\":\"xyz\"}", err, sizeof(err)), -1);
	ASSERT_TRUE(strstr(err, "missing required 'verdict'") != NULL);
	ASSERT_EQ(ts_validate_text("file", "{\"sha256\":\"xyz\",\"prevalence\":1,\"first_seen\":\"\",\"last_seen\":\"\","
				      "\"verdict\":\"clean\"}", err, sizeof(err)), -1);
	ASSERT_TRUE(strstr(err, "/sha256") != NULL);
	ASSERT_EQ(ts_validate_text("verdict", "{\"sha256\":\"" SHA_A "\",\"verdict\":\"maybe\",\"scores\":{\"interim_rules\":0.1},"
					      "\"threat_name\":null,\"ttl\":60,\"prevalence\":1,\"first_seen\":\"2026-01-01T00:00:00Z\","
					      "\"time\":\"2026-01-01T00:00:00Z\"}", err, sizeof(err)), -1);
	ASSERT_TRUE(strstr(err, "/verdict") != NULL);
	ASSERT_EQ(ts_validate_text("signal", "{\"file\":{\"sha256\":\"" SHA_A "\",\"entropy\":9}}", err, sizeof(err)), -1);
	ASSERT_EQ(ts_validate_text("signal", signal_body(SHA_A, NULL, "/tmp/x"), err, sizeof(err)), 0);
}

TEST(cloud_enroll_signals_reputation)
{
	struct server s;
	struct resp r;
	char a1[256], a2[256], path[256];
	CURL *h = curl_new();
	int failed_early = 0;

	ASSERT_TRUE(h != NULL);
	ASSERT_EQ(server_start(&s, ":memory:", NULL), 0);
	if (enroll(h, &s, "ep-one", a1, sizeof(a1), NULL, 0) || enroll(h, &s, "ep-two", a2, sizeof(a2), NULL, 0))
		failed_early = 1;
	if (failed_early) {
		server_stop(&s);
		curl_easy_cleanup(h);
		ASSERT_TRUE(!failed_early);
	}
	const char *body = signal_body(SHA_A, NULL, "/tmp/x");
	ASSERT_SCHEMA("signal", body);

	/* no credential, a wrong one */
	http(h, &s, "POST", "/v1/signals", NULL, NULL, body, strlen(body), &r);
	long st_none = r.status;
	resp_free(&r);
	http(h, &s, "POST", "/v1/signals", "Bearer 0000", NULL, body, strlen(body), &r);
	long st_bad = r.status;
	resp_free(&r);

	/* endpoint one reports the file: prevalence 1 */
	http(h, &s, "POST", "/v1/signals", a1, NULL, body, strlen(body), &r);
	long st1 = r.status;
	char *v1 = strdup(r.body);
	resp_free(&r);
	snprintf(path, sizeof(path), "/v1/files/%s", SHA_A);
	http(h, &s, "GET", path, a1, NULL, NULL, 0, &r);
	long stf1 = r.status;
	char *f1 = strdup(r.body);
	resp_free(&r);
	/* endpoint two reports it too: prevalence 2; a repeat from one does not count again */
	http(h, &s, "POST", "/v1/signals", a2, NULL, body, strlen(body), &r);
	char *v2 = strdup(r.body);
	resp_free(&r);
	http(h, &s, "POST", "/v1/signals", a1, NULL, body, strlen(body), &r);
	resp_free(&r);
	http(h, &s, "GET", path, a2, NULL, NULL, 0, &r);
	char *f2 = strdup(r.body);
	resp_free(&r);
	/* a critical rule on a rare file blocks */
	const char *crit = signal_body(SHA_B, CRITICAL_RULE, "/dev/shm/.k");
	http(h, &s, "POST", "/v1/signals", a1, NULL, crit, strlen(crit), &r);
	long stc = r.status;
	char *vc = strdup(r.body);
	resp_free(&r);
	/* a block stands: the same file with no rule, from another endpoint, is still block */
	const char *weak = signal_body(SHA_B, NULL, "/dev/shm/.k");
	http(h, &s, "POST", "/v1/signals", a2, NULL, weak, strlen(weak), &r);
	int weak_block = strstr(r.body, "\"verdict\":\"block\"") != NULL;
	resp_free(&r);
	/* a package-owned, widely seen kind of file with no behavior stays clean */
	const char *cleanb = "{\"rule_ids\":[],\"file\":{\"sha256\":\"" SHA_C "\",\"path\":\"/usr/bin/ls\",\"entropy\":5.1,\"package\":\"coreutils\"}}";
	http(h, &s, "POST", "/v1/signals", a1, NULL, cleanb, strlen(cleanb), &r);
	char *vclean = strdup(r.body);
	resp_free(&r);
	/* unknown hash, bad hash, endpoint id that is not the caller's */
	http(h, &s, "GET", "/v1/files/" SHA_C "0", a1, NULL, NULL, 0, &r);
	long st_badsha = r.status;
	resp_free(&r);
	http(h, &s, "GET", "/v1/files/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", a1, NULL, NULL, 0, &r);
	long st_unknown = r.status;
	resp_free(&r);
	const char *spoof = "{\"endpoint_id\":\"ep-two\",\"file\":{\"sha256\":\"" SHA_C "\"}}";
	http(h, &s, "POST", "/v1/signals", a1, NULL, spoof, strlen(spoof), &r);
	long st_spoof = r.status;
	resp_free(&r);
	int stop = server_stop(&s);
	curl_easy_cleanup(h);

	cJSON *j1 = cJSON_Parse(v1), *jf1 = cJSON_Parse(f1), *j2 = cJSON_Parse(v2), *jf2 = cJSON_Parse(f2),
	      *jc = cJSON_Parse(vc), *jclean = cJSON_Parse(vclean);
	long long p1 = jint(j1, "prevalence"), pf1 = jint(jf1, "prevalence"), p2 = jint(j2, "prevalence"),
		  pf2 = jint(jf2, "prevalence");
	char vcv[32] = "", vcleanv[32] = "", tn[160] = "";
	snprintf(vcv, sizeof(vcv), "%s", jstr(jc, "verdict") ? jstr(jc, "verdict") : "");
	snprintf(vcleanv, sizeof(vcleanv), "%s", jstr(jclean, "verdict") ? jstr(jclean, "verdict") : "");
	snprintf(tn, sizeof(tn), "%s", jstr(jc, "threat_name") ? jstr(jc, "threat_name") : "");
	cJSON_Delete(j1), cJSON_Delete(jf1), cJSON_Delete(j2), cJSON_Delete(jf2), cJSON_Delete(jc), cJSON_Delete(jclean);
	char e1[512] = "", e2[512] = "", e3[512] = "", e4[512] = "";
	int sv1 = ts_validate_text("verdict", v1, e1, sizeof(e1)), sf1 = ts_validate_text("file", f1, e2, sizeof(e2)),
	    svc = ts_validate_text("verdict", vc, e3, sizeof(e3)), svl = ts_validate_text("verdict", vclean, e4, sizeof(e4));
	if (sv1 || sf1 || svc || svl)
		fprintf(stderr, "    schema: %s | %s | %s | %s\n    %s\n", e1, e2, e3, e4, v1);
	free(v1), free(f1), free(v2), free(f2), free(vc), free(vclean);
	ASSERT_EQ(st_none, 401);
	ASSERT_EQ(st_bad, 401);
	ASSERT_EQ(weak_block, 1);
	ASSERT_EQ(st1, 200);
	ASSERT_EQ(stf1, 200);
	ASSERT_EQ(sv1, 0);
	ASSERT_EQ(sf1, 0);
	ASSERT_EQ(svc, 0);
	ASSERT_EQ(svl, 0);
	ASSERT_EQ(p1, 1);
	ASSERT_EQ(pf1, 1);
	ASSERT_EQ(p2, 2);
	ASSERT_EQ(pf2, 2);
	ASSERT_EQ(stc, 200);
	ASSERT_STR_EQ(vcv, "block");
	/* the models' own name (docs/ml.md), or the rule's when the rule floor decided */
	ASSERT_TRUE(strstr(tn, "!ml") != NULL || strstr(tn, "Stratum") != NULL || strstr(tn, "T1") != NULL);
	ASSERT_STR_EQ(vcleanv, "clean");
	ASSERT_EQ(st_badsha, 400);
	ASSERT_EQ(st_unknown, 404);
	ASSERT_EQ(st_spoof, 403);
	ASSERT_EQ(stop, 0);
}

TEST(cloud_errors_400_401_404_405_413)
{
	struct server s;
	struct resp r;
	char a1[256];
	CURL *h = curl_new();

	ASSERT_EQ(server_start(&s, ":memory:", "max_body_kb 64\n"), 0);
	int en = enroll(h, &s, "ep-err", a1, sizeof(a1), NULL, 0);
	/* malformed JSON: 400 with the byte position of the fault */
	const char *bad = "{\"file\": {\"sha256\": ]}";
	http(h, &s, "POST", "/v1/signals", a1, NULL, bad, strlen(bad), &r);
	long st400 = r.status;
	cJSON *j = cJSON_Parse(r.body);
	long long pos = jint(j, "position");
	char emsg[256];
	snprintf(emsg, sizeof(emsg), "%s", jstr(j, "error") ? jstr(j, "error") : "");
	cJSON_Delete(j);
	resp_free(&r);
	/* a well-formed body without the required field */
	http(h, &s, "POST", "/v1/signals", a1, NULL, "{\"file\":{}}", 11, &r);
	long st400b = r.status;
	int names_field = strstr(r.body, "file.sha256") != NULL;
	resp_free(&r);
	http(h, &s, "GET", "/v1/nope", a1, NULL, NULL, 0, &r);
	long st404 = r.status;
	resp_free(&r);
	http(h, &s, "GET", "/v1/signals", a1, NULL, NULL, 0, &r);
	long st405 = r.status;
	int allow = strstr(r.headers, "Allow: POST") != NULL;
	resp_free(&r);
	http(h, &s, "POST", "/v1/enroll", "Bearer wrong-token", NULL, "{\"endpoint_id\":\"x\"}", 18, &r);
	long st401 = r.status;
	resp_free(&r);
	size_t big = 100 * 1024;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	http(h, &s, "POST", "/v1/signals", a1, NULL, huge, big, &r);
	long st413 = r.status;
	resp_free(&r);
	/* a gzip body that decodes past the limit is refused too */
	uLongf zlen = compressBound(big);
	unsigned char *z = malloc(zlen);
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)huge;
	zs.avail_in = (uInt)big;
	zs.next_out = z;
	zs.avail_out = (uInt)zlen;
	deflate(&zs, Z_FINISH);
	zlen = zs.total_out;
	deflateEnd(&zs);
	http(h, &s, "POST", "/v1/signals", a1, "Content-Encoding: gzip", (char *)z, zlen, &r);
	long st413z = r.status;
	resp_free(&r);
	free(z);
	free(huge);
	http(h, &s, "GET", "/v1/alerts?limit=abc", a1, NULL, NULL, 0, &r);
	long st400q = r.status;
	resp_free(&r);
	/* the server still answers after all of that, and counted the refusals by route */
	http(h, &s, "GET", "/v1/health", NULL, NULL, NULL, 0, &r);
	long sth = r.status;
	resp_free(&r);
	http(h, &s, "GET", "/metrics", NULL, NULL, NULL, 0, &r);
	int counted413 = strstr(r.body, "vigil_cloud_requests_total{route=\"signals\",status=\"413\"} 2") != NULL;
	int counted405 = strstr(r.body, "vigil_cloud_requests_total{route=\"signals\",status=\"405\"} 1") != NULL;
	resp_free(&r);
	int stop = server_stop(&s);
	curl_easy_cleanup(h);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(st400, 400);
	ASSERT_EQ(pos, 20); /* the ']' */
	ASSERT_TRUE(strstr(emsg, "malformed JSON") != NULL);
	ASSERT_EQ(st400b, 400);
	ASSERT_TRUE(names_field);
	ASSERT_EQ(st404, 404);
	ASSERT_EQ(st405, 405);
	ASSERT_TRUE(allow);
	ASSERT_EQ(st401, 401);
	ASSERT_EQ(st413, 413);
	ASSERT_EQ(st413z, 413);
	ASSERT_EQ(st400q, 400);
	ASSERT_EQ(sth, 200);
	ASSERT_TRUE(counted413);
	ASSERT_TRUE(counted405);
	ASSERT_EQ(stop, 0);
}

/* Alerts `vigil hunt` raises on the same file (the reference). */
static int hunt_alerts(const char *file)
{
	char cmd[1024], *out = NULL;
	int n = 0;
	snprintf(cmd, sizeof(cmd), "%s/vigil hunt -q %s", vg_test_build_dir(), file);
	vg_test_run(cmd, &out);
	for (const char *p = out; p && (p = strstr(p, "\"vigil\":\"alert/")); p++)
		n++;
	free(out);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if ((b = malloc((size_t)n + 1)) && fread(b, 1, (size_t)n, f) == (size_t)n) {
		b[n] = 0;
		*len = (size_t)n;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* Pages through GET /v1/alerts; validates each alert; returns the count or -1. */
static int fetch_alerts(CURL *h, const struct server *s, const char *auth, int page, char *err, size_t errlen)
{
	long long since = 0;
	int total = 0;
	cJSON *schema = ts_schema_load("alert");
	for (;;) {
		struct resp r;
		char path[128];
		snprintf(path, sizeof(path), "/v1/alerts?since=%lld&limit=%d", since, page);
		if (http(h, s, "GET", path, auth, NULL, NULL, 0, &r) || r.status != 200) {
			snprintf(err, errlen, "GET %s: %ld", path, r.status);
			resp_free(&r);
			total = -1;
			break;
		}
		cJSON *j = cJSON_Parse(r.body), *a;
		resp_free(&r);
		int n = 0;
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "alerts"))
		{
			if (total >= 0 && ts_validate(schema, a, err, errlen))
				total = -1000000;
			n++;
		}
		since = jint(j, "next");
		cJSON_Delete(j);
		total += n;
		if (n < page)
			break;
	}
	cJSON_Delete(schema);
	return total;
}

TEST(cloud_events_to_alerts)
{
	struct server s;
	struct resp r;
	char a1[256], err[512] = "";
	size_t len = 0;
	const char *scen = VIGIL_SOURCE_DIR "/tests/data/dofoil/scenario.json";
	char *body = slurp(scen, &len);
	CURL *h = curl_new();

	ASSERT_TRUE(body != NULL);
	int want = hunt_alerts(scen);
	ASSERT_EQ(server_start(&s, ":memory:", NULL), 0);
	int en = enroll(h, &s, "ep-ev", a1, sizeof(a1), NULL, 0);
	http(h, &s, "POST", "/v1/events", a1, NULL, body, len, &r);
	long st = r.status;
	cJSON *j = cJSON_Parse(r.body);
	long long accepted = jint(j, "accepted"), alerts = jint(j, "alerts"), rejected = jint(j, "rejected");
	cJSON_Delete(j);
	resp_free(&r);
	int got = fetch_alerts(h, &s, a1, 7, err, sizeof(err));
	/* one good event and one broken line: the batch goes on, the error names the value and position */
	const char *mixed = "{\"vigil\":\"event/1\",\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"type\":\"process_start\"},"
			    "\"host\":{\"name\":\"h\"},\"process\":{\"pid\":5,\"executable\":\"/bin/true\"}}\n{\"x\": tru}\n";
	http(h, &s, "POST", "/v1/events", a1, NULL, mixed, strlen(mixed), &r);
	long stm = r.status;
	j = cJSON_Parse(r.body);
	long long macc = jint(j, "accepted"), mrej = jint(j, "rejected");
	const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
	long long mline = jint(e0, "line");
	cJSON_Delete(j);
	resp_free(&r);
	int stop = server_stop(&s);
	curl_easy_cleanup(h);
	free(body);
	if (got < 0)
		fprintf(stderr, "    alerts: %s\n", err);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(st, 200);
	ASSERT_EQ(accepted, 118);
	ASSERT_EQ(rejected, 0);
	ASSERT_GE(want, 10);
	ASSERT_EQ(alerts, want);
	ASSERT_EQ(got, want);
	ASSERT_EQ(stm, 200);
	ASSERT_EQ(macc, 1);
	ASSERT_EQ(mrej, 1);
	ASSERT_EQ(mline, 2);
	ASSERT_EQ(stop, 0);
}

/*
 * Converts one evtx_dump record of the scenario into the document Winlogbeat
 * 8 ships: @timestamp, event.code/provider, winlog.{event_id (a string),
 * provider_name, channel, computer_name, record_id, process.pid,
 * event_data}, host.name, agent, ecs.
 */
static char *to_winlogbeat(const char *line, size_t len)
{
	cJSON *src = cJSON_ParseWithLength(line, len), *out = NULL;
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(src, "Event");
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(ev, "System");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "EventData");
	char *txt = NULL, num[32];
	if (!sys)
		goto out;
	out = cJSON_CreateObject();
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sys, "TimeCreated"), "#attributes");
	const char *prov = jstr(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sys, "Provider"), "#attributes"), "Name");
	cJSON_AddStringToObject(out, "@timestamp", jstr(tc, "SystemTime") ? jstr(tc, "SystemTime") : "");
	snprintf(num, sizeof(num), "%lld", jint(sys, "EventID"));
	cJSON *e = cJSON_AddObjectToObject(out, "event");
	cJSON_AddStringToObject(e, "code", num);
	cJSON_AddStringToObject(e, "kind", "event");
	cJSON_AddStringToObject(e, "provider", prov ? prov : "");
	cJSON *w = cJSON_AddObjectToObject(out, "winlog");
	cJSON_AddStringToObject(w, "event_id", num);
	cJSON_AddStringToObject(w, "provider_name", prov ? prov : "");
	cJSON_AddStringToObject(w, "channel", jstr(sys, "Channel") ? jstr(sys, "Channel") : "");
	cJSON_AddStringToObject(w, "computer_name", jstr(sys, "Computer") ? jstr(sys, "Computer") : "");
	cJSON_AddNumberToObject(w, "record_id", (double)jint(sys, "EventRecordID"));
	cJSON_AddStringToObject(w, "api", "wineventlog");
	cJSON *pr = cJSON_AddObjectToObject(w, "process");
	cJSON_AddNumberToObject(pr, "pid",
				(double)jint(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sys, "Execution"), "#attributes"), "ProcessID"));
	cJSON *ed = cJSON_AddObjectToObject(w, "event_data");
	const cJSON *f;
	cJSON_ArrayForEach(f, data)
	{
		if (cJSON_IsString(f))
			cJSON_AddStringToObject(ed, f->string, f->valuestring);
		else if (cJSON_IsBool(f)) /* Winlogbeat sends every event_data value as a string */
			cJSON_AddStringToObject(ed, f->string, cJSON_IsTrue(f) ? "true" : "false");
		else if (cJSON_IsNumber(f)) {
			snprintf(num, sizeof(num), "%lld", (long long)f->valuedouble);
			cJSON_AddStringToObject(ed, f->string, num);
		}
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "host"), "name", jstr(sys, "Computer") ? jstr(sys, "Computer") : "");
	cJSON *ag = cJSON_AddObjectToObject(out, "agent");
	cJSON_AddStringToObject(ag, "type", "winlogbeat");
	cJSON_AddStringToObject(ag, "version", "8.11.0");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "ecs"), "version", "8.0.0");
	txt = cJSON_PrintUnformatted(out);
out:
	cJSON_Delete(src);
	cJSON_Delete(out);
	return txt;
}

TEST(cloud_winlogbeat_bulk)
{
	struct server s;
	struct resp r;
	char a1[256], cred[128], apikey[512], plain[256], err[512] = "";
	size_t len = 0;
	const char *scen = VIGIL_SOURCE_DIR "/tests/data/dofoil/scenario.json";
	char *src = slurp(scen, &len);
	CURL *h = curl_new();

	ASSERT_TRUE(src != NULL);
	int want = hunt_alerts(scen);
	/* The bulk body Winlogbeat sends: {"create":{"_index":...}} then the document, one per line. */
	size_t cap = len * 3 + 4096, blen = 0;
	char *bulk = malloc(cap);
	int ndocs = 0;
	for (char *p = src; *p;) {
		char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char *doc = l ? to_winlogbeat(p, l) : NULL;
		if (doc) {
			blen += (size_t)snprintf(bulk + blen, cap - blen, "{\"create\":{\"_index\":\"winlogbeat-8.11.0\"}}\n%s\n", doc);
			ndocs++;
			free(doc);
		}
		p = nl ? nl + 1 : p + l;
	}
	/* a broken document and a well-formed non-event: per-item 400s */
	blen += (size_t)snprintf(bulk + blen, cap - blen,
				 "{\"create\":{\"_index\":\"winlogbeat-8.11.0\"}}\n{\"winlog\": {\"event_id\": }\n"
				 "{\"create\":{\"_index\":\"winlogbeat-8.11.0\"}}\n{\"message\":\"not an event\"}\n");

	ASSERT_EQ(server_start(&s, ":memory:", NULL), 0);
	int en = enroll(h, &s, "win-01", a1, sizeof(a1), cred, sizeof(cred));
	/* Beats' api_key setting "id:key" arrives as ApiKey base64(id:key). */
	snprintf(plain, sizeof(plain), "win-01:%s", cred);
	char b64[400];
	{
		static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t n = strlen(plain), o = 0;
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned char)plain[i] << 16 | (i + 1 < n ? (unsigned char)plain[i + 1] << 8 : 0) |
				     (i + 2 < n ? (unsigned char)plain[i + 2] : 0);
			b64[o++] = tb[v >> 18 & 63];
			b64[o++] = tb[v >> 12 & 63];
			b64[o++] = i + 1 < n ? tb[v >> 6 & 63] : '=';
			b64[o++] = i + 2 < n ? tb[v & 63] : '=';
		}
		b64[o] = 0;
	}
	snprintf(apikey, sizeof(apikey), "ApiKey %s", b64);

	/* Winlogbeat's start-up: version check, license/ILM, policy and template (404, then PUT, then 200). */
	http(h, &s, "GET", "/", apikey, NULL, NULL, 0, &r);
	long st_root = r.status;
	int product = strstr(r.headers, "X-Elastic-Product: Elasticsearch") != NULL;
	cJSON *j = cJSON_Parse(r.body);
	char ver[32] = "";
	snprintf(ver, sizeof(ver), "%s", jstr(cJSON_GetObjectItemCaseSensitive(j, "version"), "number") ?
						 jstr(cJSON_GetObjectItemCaseSensitive(j, "version"), "number") : "");
	cJSON_Delete(j);
	resp_free(&r);
	http(h, &s, "GET", "/", NULL, NULL, NULL, 0, &r);
	long st_root_noauth = r.status;
	resp_free(&r);
	http(h, &s, "GET", "/_license?human=false", apikey, NULL, NULL, 0, &r);
	long st_lic = r.status;
	resp_free(&r);
	http(h, &s, "GET", "/_ilm/policy/winlogbeat", apikey, NULL, NULL, 0, &r);
	long st_ilm404 = r.status;
	resp_free(&r);
	const char *pol = "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":{\"max_age\":\"30d\"}}}}}}";
	http(h, &s, "PUT", "/_ilm/policy/winlogbeat", apikey, NULL, pol, strlen(pol), &r);
	long st_ilmput = r.status;
	resp_free(&r);
	http(h, &s, "GET", "/_ilm/policy/winlogbeat", apikey, NULL, NULL, 0, &r);
	long st_ilm200 = r.status;
	resp_free(&r);
	http(h, &s, "HEAD", "/_index_template/winlogbeat-8.11.0", apikey, NULL, NULL, 0, &r);
	long st_tpl404 = r.status;
	resp_free(&r);
	const char *tpl = "{\"index_patterns\":[\"winlogbeat-8.11.0\"],\"data_stream\":{},\"priority\":150,\"template\":{\"settings\":{}}}";
	http(h, &s, "PUT", "/_index_template/winlogbeat-8.11.0", apikey, NULL, tpl, strlen(tpl), &r);
	long st_tplput = r.status;
	resp_free(&r);
	http(h, &s, "HEAD", "/_index_template/winlogbeat-8.11.0", apikey, NULL, NULL, 0, &r);
	long st_tpl200 = r.status;
	resp_free(&r);
	http(h, &s, "PUT", "/_template/winlogbeat-7.17.0", apikey, NULL, tpl, strlen(tpl), &r);
	long st_legacy = r.status;
	resp_free(&r);
	/* Winlogbeat 7's ILM write alias: checked, then created with the first (date-math named) index */
	http(h, &s, "HEAD", "/_alias/winlogbeat-7.17.0", apikey, NULL, NULL, 0, &r);
	long st_alias404 = r.status;
	resp_free(&r);
	const char *first_index = "{\"aliases\":{\"winlogbeat-7.17.0\":{\"is_write_index\":true}}}";
	http(h, &s, "PUT", "/%3Cwinlogbeat-7.17.0-%7Bnow%2Fd%7D-000001%3E", apikey, NULL, first_index,
	     strlen(first_index), &r);
	long st_index_put = r.status;
	int acked = strstr(r.body, "\"acknowledged\":true") != NULL;
	resp_free(&r);
	http(h, &s, "HEAD", "/_alias/winlogbeat-7.17.0", apikey, NULL, NULL, 0, &r);
	long st_alias200 = r.status;
	resp_free(&r);

	/* The bulk request, gzip-compressed as Winlogbeat 8 sends it by default. */
	uLongf zcap = compressBound(blen);
	unsigned char *z = malloc(zcap);
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)bulk;
	zs.avail_in = (uInt)blen;
	zs.next_out = z;
	zs.avail_out = (uInt)zcap;
	deflate(&zs, Z_FINISH);
	size_t zlen = zs.total_out;
	deflateEnd(&zs);
	http(h, &s, "POST", "/_bulk", apikey, "Content-Encoding: gzip", (char *)z, zlen, &r);
	long st_bulk = r.status;
	int has_es_header = strstr(r.headers, "X-Elastic-Product") != NULL;
	j = cJSON_Parse(r.body);
	int errors_true = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "errors"));
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;
	int nitems = 0, n201 = 0, n400 = 0, reasons = 0;
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "create");
		nitems++;
		if (jint(c, "status") == 201 && jstr(c, "_id") && jstr(c, "result"))
			n201++;
		if (jint(c, "status") == 400) {
			n400++;
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "error");
			if (jstr(e, "type") && jstr(e, "reason") && strstr(jstr(e, "reason"), "line "))
				reasons++;
		}
	}
	cJSON_Delete(j);
	resp_free(&r);
	free(z);
	/* /<index>/_bulk takes the index from the URL; a bad action line fails the request */
	const char *one = "{\"index\":{}}\n{\"message\":\"x\"}\n";
	http(h, &s, "POST", "/winlogbeat-8.11.0/_bulk", apikey, NULL, one, strlen(one), &r);
	long st_idx = r.status;
	int idx_named = strstr(r.body, "\"_index\":\"winlogbeat-8.11.0\"") != NULL;
	resp_free(&r);
	const char *badact = "{\"frobnicate\":{}}\n{}\n";
	http(h, &s, "POST", "/_bulk", apikey, NULL, badact, strlen(badact), &r);
	long st_badact = r.status;
	resp_free(&r);
	int got = fetch_alerts(h, &s, a1, 100, err, sizeof(err));
	int stop = server_stop(&s);
	curl_easy_cleanup(h);
	free(bulk);
	free(src);
	if (got < 0)
		fprintf(stderr, "    alerts: %s\n", err);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(st_root, 200);
	ASSERT_TRUE(product);
	ASSERT_STR_EQ(ver, "8.11.0");
	ASSERT_EQ(st_root_noauth, 401);
	ASSERT_EQ(st_lic, 200);
	ASSERT_EQ(st_ilm404, 404);
	ASSERT_EQ(st_ilmput, 200);
	ASSERT_EQ(st_ilm200, 200);
	ASSERT_EQ(st_tpl404, 404);
	ASSERT_EQ(st_tplput, 200);
	ASSERT_EQ(st_tpl200, 200);
	ASSERT_EQ(st_legacy, 200);
	ASSERT_EQ(st_alias404, 404);
	ASSERT_EQ(st_index_put, 200);
	ASSERT_TRUE(acked);
	ASSERT_EQ(st_alias200, 200);
	ASSERT_EQ(st_bulk, 200);
	ASSERT_TRUE(has_es_header);
	ASSERT_TRUE(errors_true);
	ASSERT_EQ(ndocs, 118);
	ASSERT_EQ(nitems, ndocs + 2);
	ASSERT_EQ(n201, ndocs);
	ASSERT_EQ(n400, 2);
	ASSERT_EQ(reasons, 2);
	ASSERT_EQ(st_idx, 200);
	ASSERT_TRUE(idx_named);
	ASSERT_EQ(st_badact, 400);
	ASSERT_GE(want, 10);
	ASSERT_EQ(got, want);
	ASSERT_EQ(stop, 0);
}

struct poll_arg {
	const struct server *s;
	const char *auth;
	long long since;
	long status;
	char *body;
	volatile int done; /* the poll has returned */
};

static void *long_poll(void *p)
{
	struct poll_arg *a = p;
	CURL *h = curl_easy_init();
	struct resp r;
	char path[128];
	snprintf(path, sizeof(path), "/v1/verdicts?since=%lld&timeout=60", a->since);
	http(h, a->s, "GET", path, a->auth, NULL, NULL, 0, &r);
	a->status = r.status;
	a->body = r.body;
	curl_easy_cleanup(h);
	__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

TEST(cloud_verdicts_long_poll)
{
	struct server s;
	struct resp r;
	char a1[256];
	CURL *h = curl_new();
	pthread_t t;

	ASSERT_EQ(server_start(&s, ":memory:", NULL), 0);
	int en = enroll(h, &s, "ep-lp", a1, sizeof(a1), NULL, 0);
	const char *b1 = signal_body(SHA_A, NULL, "/tmp/a");
	http(h, &s, "POST", "/v1/signals", a1, NULL, b1, strlen(b1), &r);
	resp_free(&r);
	http(h, &s, "GET", "/v1/verdicts?since=0&timeout=0", a1, NULL, NULL, 0, &r);
	cJSON *j = cJSON_Parse(r.body);
	long long head = jint(j, "next");
	cJSON_Delete(j);
	resp_free(&r);
	/* nothing newer and a short timeout: an empty answer when it runs out */
	char path[128];
	snprintf(path, sizeof(path), "/v1/verdicts?since=%lld&timeout=1", head);
	http(h, &s, "GET", path, a1, NULL, NULL, 0, &r);
	long st_empty = r.status;
	j = cJSON_Parse(r.body);
	long long n_empty = jint(j, "count");
	cJSON_Delete(j);
	resp_free(&r);
	/* a waiting poll returns with the verdict a new signal produced */
	struct poll_arg pa = { .s = &s, .auth = a1, .since = head };
	pthread_create(&t, NULL, long_poll, &pa);
	/* wait until the server holds the poll suspended, so the wake-up path is what answers it */
	int waiting = 0;
	while (!waiting && !__atomic_load_n(&pa.done, __ATOMIC_SEQ_CST)) {
		if (http(h, &s, "GET", "/metrics", NULL, NULL, NULL, 0, &r)) {
			resp_free(&r);
			break; /* the server is gone: the asserts below fail */
		}
		waiting = strstr(r.body, "vigil_cloud_longpolls_waiting 1") != NULL;
		resp_free(&r);
		if (!waiting)
			usleep(10000);
	}
	const char *b2 = signal_body(SHA_B, NULL, "/tmp/b");
	http(h, &s, "POST", "/v1/signals", a1, NULL, b2, strlen(b2), &r);
	resp_free(&r);
	pthread_join(t, NULL);
	int stop = server_stop(&s);
	curl_easy_cleanup(h);
	j = cJSON_Parse(pa.body);
	const cJSON *v0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "verdicts"), 0);
	char sha[80] = "", e[512] = "";
	snprintf(sha, sizeof(sha), "%s", jstr(v0, "sha256") ? jstr(v0, "sha256") : "");
	cJSON *sch = ts_schema_load("verdict");
	int valid = v0 ? ts_validate(sch, v0, e, sizeof(e)) : -1;
	cJSON_Delete(sch);
	cJSON_Delete(j);
	free(pa.body);
	if (valid)
		fprintf(stderr, "    verdict schema: %s\n", e);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(head, 1);
	ASSERT_EQ(st_empty, 200);
	ASSERT_EQ(n_empty, 0);
	ASSERT_TRUE(waiting); /* the poll was suspended until the verdict came */
	ASSERT_EQ(pa.status, 200);
	ASSERT_STR_EQ(sha, SHA_B);
	ASSERT_EQ(valid, 0);
	ASSERT_EQ(stop, 0);
}

TEST(cloud_restart_keeps_data)
{
	struct server s;
	struct resp r;
	char a1[256], db[128], path[160];
	CURL *h = curl_new();

	snprintf(db, sizeof(db), "/tmp/vigil-e2e-cloud-%d.db", (int)getpid());
	unlink(db);
	ASSERT_EQ(server_start(&s, db, NULL), 0);
	int en = enroll(h, &s, "ep-keep", a1, sizeof(a1), NULL, 0);
	const char *b = signal_body(SHA_C, NULL, "/tmp/c");
	http(h, &s, "POST", "/v1/signals", a1, NULL, b, strlen(b), &r);
	resp_free(&r);
	int stop1 = server_stop(&s);
	curl_easy_cleanup(h);
	h = curl_new();
	int restarted = server_start(&s, db, NULL);
	snprintf(path, sizeof(path), "/v1/files/%s", SHA_C);
	long st = 0;
	long long prev = -1, nverd = -1;
	if (!restarted) {
		/* the credential issued before the restart still works */
		http(h, &s, "GET", path, a1, NULL, NULL, 0, &r);
		st = r.status;
		cJSON *j = cJSON_Parse(r.body);
		prev = jint(j, "prevalence");
		cJSON_Delete(j);
		resp_free(&r);
		http(h, &s, "GET", "/v1/verdicts?since=0&timeout=0", a1, NULL, NULL, 0, &r);
		j = cJSON_Parse(r.body);
		nverd = jint(j, "count");
		cJSON_Delete(j);
		resp_free(&r);
		http(h, &s, "GET", "/metrics", NULL, NULL, NULL, 0, &r);
		resp_free(&r);
		server_stop(&s);
	}
	curl_easy_cleanup(h);
	char q[256], *out = NULL;
	snprintf(q, sizeof(q), "%s-wal", db);
	unlink(q);
	snprintf(q, sizeof(q), "%s-shm", db);
	unlink(q);
	unlink(db);
	free(out);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(stop1, 0);
	ASSERT_EQ(restarted, 0);
	ASSERT_EQ(st, 200);
	ASSERT_EQ(prev, 1);
	ASSERT_EQ(nverd, 1);
}

/* Counts rows of a table with sqlite3 directly (the server is stopped: its exclusive lock is gone). */
static long long db_count(const char *db, const char *sql)
{
	sqlite3 *d = NULL;
	sqlite3_stmt *q = NULL;
	long long n = -1;
	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(d, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(d);
	return n;
}

/*
 * Signals are answered from memory and written behind (docs/cloud.md): a
 * clean stop must commit everything answered. A one-minute commit window
 * keeps every signal queued until the TERM, so the stop is what writes them.
 */
TEST(cloud_clean_stop_loses_no_signal)
{
	enum { N = 200 };
	struct server s;
	struct resp r;
	char a1[256], a2[256], a3[256], db[128], sha[65], q[256];
	CURL *h = curl_new();
	int answered = 0, seen_prev = 0;

	snprintf(db, sizeof(db), "/tmp/vigil-e2e-cloud-stop-%d.db", (int)getpid());
	unlink(db);
	ASSERT_EQ(server_start(&s, db, "group_commit_ms 60000\n"), 0);
	int en = enroll(h, &s, "ep-s1", a1, sizeof(a1), NULL, 0) | enroll(h, &s, "ep-s2", a2, sizeof(a2), NULL, 0) |
		 enroll(h, &s, "ep-s3", a3, sizeof(a3), NULL, 0);
	/* N new files from endpoint 1; endpoint 2 reports the first ten again (prevalence 2) */
	for (int i = 0; i < N + 10; i++) {
		snprintf(sha, sizeof(sha), "%060d%04d", 0, i % N);
		const char *b = signal_body(sha, NULL, "/tmp/s");
		http(h, &s, "POST", "/v1/signals", i < N ? a1 : a2, NULL, b, strlen(b), &r);
		answered += r.status == 200;
		if (i >= N) {
			cJSON *j = cJSON_Parse(r.body);
			seen_prev += jint(j, "prevalence") == 2;
			cJSON_Delete(j);
		}
		resp_free(&r);
	}
	int stop1 = server_stop(&s);
	long long signals = db_count(db, "SELECT count(*) FROM signals");
	long long files = db_count(db, "SELECT count(*) FROM files");
	long long pairs = db_count(db, "SELECT count(*) FROM file_endpoints");
	long long prev2 = db_count(db, "SELECT count(*) FROM files WHERE prevalence = 2");
	long long verdicts = db_count(db, "SELECT count(*) FROM verdicts");
	/* after a restart the prevalence pairs are back: a repeat from endpoint 1 does not count, endpoint 3 does */
	int restarted = server_start(&s, db, NULL);
	long long p_repeat = -1, p_third = -1;
	if (!restarted) {
		snprintf(sha, sizeof(sha), "%060d%04d", 0, 3);
		const char *b = signal_body(sha, NULL, "/tmp/s");
		http(h, &s, "POST", "/v1/signals", a1, NULL, b, strlen(b), &r);
		cJSON *j = cJSON_Parse(r.body);
		p_repeat = jint(j, "prevalence");
		cJSON_Delete(j);
		resp_free(&r);
		http(h, &s, "POST", "/v1/signals", a3, NULL, b, strlen(b), &r);
		j = cJSON_Parse(r.body);
		p_third = jint(j, "prevalence");
		cJSON_Delete(j);
		resp_free(&r);
		server_stop(&s);
	}
	curl_easy_cleanup(h);
	snprintf(q, sizeof(q), "%s-wal", db);
	unlink(q);
	snprintf(q, sizeof(q), "%s-shm", db);
	unlink(q);
	unlink(db);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(answered, N + 10);
	ASSERT_EQ(seen_prev, 10);
	ASSERT_EQ(stop1, 0);
	ASSERT_EQ(signals, N + 10);
	ASSERT_EQ(files, N);
	ASSERT_EQ(pairs, N + 10);
	ASSERT_EQ(prev2, 10);
	ASSERT_EQ(verdicts, N); /* one first verdict per file; a second sighting did not change it */
	ASSERT_EQ(restarted, 0);
	ASSERT_EQ(p_repeat, 2);
	ASSERT_EQ(p_third, 3);
}

TEST(cloud_metrics_and_health)
{
	struct server s;
	struct resp r;
	char a1[256];
	CURL *h = curl_new();

	ASSERT_EQ(server_start(&s, ":memory:", NULL), 0);
	int en = enroll(h, &s, "ep-m", a1, sizeof(a1), NULL, 0);
	const char *b = signal_body(SHA_A, NULL, "/tmp/m");
	http(h, &s, "POST", "/v1/signals", a1, NULL, b, strlen(b), &r);
	resp_free(&r);
	http(h, &s, "GET", "/v1/health", NULL, NULL, NULL, 0, &r);
	long sth = r.status;
	int ok = strstr(r.body, "\"status\":\"ok\"") != NULL;
	resp_free(&r);
	http(h, &s, "GET", "/metrics", NULL, NULL, NULL, 0, &r);
	long stm = r.status;
	char *m = strdup(r.body);
	resp_free(&r);
	server_stop(&s);
	curl_easy_cleanup(h);
	int has_req = strstr(m, "vigil_cloud_requests_total{route=\"signals\",status=\"200\"} 1") != NULL;
	int has_hist = strstr(m, "vigil_cloud_request_duration_seconds_count{route=\"signals\"} 1") != NULL;
	int has_rows = strstr(m, "vigil_cloud_store_rows{table=\"files\"} 1") != NULL;
	if (!has_req || !has_hist || !has_rows)
		fprintf(stderr, "    metrics:\n%s\n", m);
	free(m);
	ASSERT_EQ(en, 0);
	ASSERT_EQ(sth, 200);
	ASSERT_TRUE(ok);
	ASSERT_EQ(stm, 200);
	ASSERT_TRUE(has_req);
	ASSERT_TRUE(has_hist);
	ASSERT_TRUE(has_rows);
}

TEST(cloud_config_error_names_file_and_line)
{
	char cmd[512], *out = NULL;
	FILE *f = fopen("/tmp/vigil-e2e-cloud-bad.conf", "w");
	ASSERT_TRUE(f != NULL);
	fputs("# comment\nthreads many\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/vigil-cloud --check-config -c /tmp/vigil-e2e-cloud-bad.conf 2>&1", vg_test_build_dir());
	int st = vg_test_run(cmd, &out);
	int ok = strstr(out, "/tmp/vigil-e2e-cloud-bad.conf:2: threads: 'many'") != NULL;
	if (!ok)
		fprintf(stderr, "    status %d: %s\n", st, out);
	free(out);
	unlink("/tmp/vigil-e2e-cloud-bad.conf");
	ASSERT_EQ(st, 1);
	ASSERT_TRUE(ok);
}

/* docs/api.md carries every schema file verbatim, so the page and the files cannot drift apart. */
TEST(cloud_api_doc_holds_schemas)
{
	static const char *const names[] = { "signal", "verdict", "file", "alert", "event-batch" };
	size_t dlen = 0, slen = 0;
	char *doc = slurp(VIGIL_SOURCE_DIR "/docs/api.md", &dlen);
	ASSERT_TRUE(doc != NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/docs/schemas/%s.json", VIGIL_SOURCE_DIR, names[i]);
		char *s = slurp(path, &slen);
		int found = s && strstr(doc, s) != NULL;
		cJSON *parsed = s ? cJSON_Parse(s) : NULL;
		int is_2020 = parsed && jstr(parsed, "$schema") &&
			      !strcmp(jstr(parsed, "$schema"), "https://json-schema.org/draft/2020-12/schema");
		cJSON_Delete(parsed);
		free(s);
		if (!found || !is_2020) {
			free(doc);
			VG_FAIL_("schema %s: in api.md %d, draft 2020-12 %d", names[i], found, is_2020);
		}
	}
	free(doc);
}
