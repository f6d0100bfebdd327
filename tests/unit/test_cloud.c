/* test_cloud.c - unit tests of vigil-cloud's parts that need no server: the interim scorer, the configuration file, the request handler on an in-memory store. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cloud/cloud_int.h"
#include "test.h"

static struct score_input base(void)
{
	struct score_input in;
	memset(&in, 0, sizeof(in));
	in.prevalence = 1;
	in.age_s = 60;
	in.entropy = -1;
	in.packaged = -1;
	return in;
}

TEST(cloud_scorer_parts_move_the_score)
{
	struct score_input in = base();
	struct score_output a, b;

	vg_cloud_score(&in, &a);
	in.severity = VG_LEVEL_HIGH;
	vg_cloud_score(&in, &b);
	ASSERT_TRUE(b.score > a.score); /* a more severe rule scores higher */
	in = base();
	in.prevalence = 50;
	vg_cloud_score(&in, &b);
	ASSERT_TRUE(b.score < a.score); /* a widespread file scores lower */
	in = base();
	in.age_s = 30 * 86400;
	vg_cloud_score(&in, &b);
	ASSERT_TRUE(b.score < a.score); /* an old file scores lower */
	in = base();
	in.entropy = 7.9;
	in.packaged = 0;
	in.temp_path = 1;
	vg_cloud_score(&in, &b);
	ASSERT_TRUE(b.score > a.score);
	in.packaged = 1;
	struct score_output c;
	vg_cloud_score(&in, &c);
	ASSERT_TRUE(c.score < b.score); /* a package vouches for the file */
}

TEST(cloud_scorer_verdicts_and_names)
{
	struct score_input in = base();
	struct score_output o;

	in.prevalence = 500;
	in.age_s = 365 * 86400;
	in.packaged = 1;
	vg_cloud_score(&in, &o);
	ASSERT_STR_EQ(o.verdict, "clean");
	ASSERT_EQ(o.threat_name[0], 0);
	ASSERT_EQ(o.ttl, 86400);

	in = base();
	in.severity = VG_LEVEL_CRITICAL;
	in.top_rule = "Stratum Login";
	in.technique = "T1496";
	vg_cloud_score(&in, &o);
	ASSERT_STR_EQ(o.verdict, "block");
	ASSERT_STR_EQ(o.threat_name, "Vigil:Block/T1496!Stratum_Login");
	ASSERT_TRUE(o.score >= 0.70 && o.score <= 1.0);

	in = base();
	in.nbehaviors = 2;
	in.entropy = 7.5;
	in.packaged = 0;
	vg_cloud_score(&in, &o);
	ASSERT_STR_EQ(o.verdict, "suspicious");
	ASSERT_EQ(o.ttl, 300);
}

TEST(cloud_config_errors_and_sample_round_trip)
{
	struct vg_cloud_config cfg, back;
	struct vg_buf b = { 0 };
	char err[256];
	const char *path = "/tmp/vigil-unit-cloud.conf";
	FILE *f;

	vg_cloud_config_defaults(&cfg);
	ASSERT_EQ(cfg.threads, 4);
	ASSERT_EQ(cfg.group_commit_ms, 10);
	ASSERT_NULL(cfg.enroll_token);
	/* the sample, read back, gives the defaults */
	vg_cloud_config_sample(&b);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fwrite(b.p, 1, b.len, f);
	fclose(f);
	vg_buf_free(&b);
	vg_cloud_config_defaults(&back);
	back.threads = 99;
	int rc = vg_cloud_config_load(&back, path, err, sizeof(err));
	int same = back.threads == cfg.threads && back.max_body_kb == cfg.max_body_kb && !strcmp(back.listen, cfg.listen);
	vg_cloud_config_free(&back);
	ASSERT_EQ(rc, 0);
	ASSERT_TRUE(same);
	/* errors name the file, the line and the key */
	static const char *const bad[][2] = {
		{ "threads 0\n", ":1: threads: '0' is not a whole number from 1 to 256" },
		{ "# c\nlisten 1.2.3.4:1\nfrobnicate 1\n", ":3: frobnicate: unknown setting" },
		{ "es_open maybe\n", ":1: es_open: 'maybe' is not yes or no" },
		{ "db\n", ":1: db: missing value" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		ASSERT_TRUE(f != NULL);
		fputs(bad[i][0], f);
		fclose(f);
		rc = vg_cloud_config_load(&cfg, path, err, sizeof(err));
		if (rc != VG_EINVAL || !strstr(err, bad[i][1])) {
			vg_cloud_config_free(&cfg);
			unlink(path);
			VG_FAIL_("config %zu: rc %d, '%s'", i, rc, err);
		}
	}
	vg_cloud_config_free(&cfg);
	unlink(path);
}

/* The handler without a network: enrollment, a signal, the reputation it leaves, the verdict list. */
TEST(cloud_handler_in_memory)
{
	struct vg_cloud_config cfg;
	struct vg_cloud *c = NULL;
	struct vg_cloud_response rs = { 0 };
	char err[256], auth[128] = "";
	const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char body[256];

	vg_cloud_config_defaults(&cfg);
	free(cfg.db);
	cfg.db = strdup(":memory:");
	cfg.enroll_token = strdup("t0k");
	int rc = vg_cloud_new(&cfg, &c, err, sizeof(err));
	vg_cloud_config_free(&cfg);
	ASSERT_EQ(rc, 0);
	struct vg_cloud_request rq = { .method = "POST", .path = "/v1/enroll", .authorization = "Bearer t0k",
				       .body = "{\"endpoint_id\":\"u1\"}", .body_len = 20 };
	vg_cloud_handle(c, &rq, &rs);
	int st_enroll = rs.status;
	const char *cr = rs.body.p ? strstr(rs.body.p, "\"credential\":\"") : NULL;
	if (cr)
		snprintf(auth, sizeof(auth), "Bearer %.48s", cr + 14);
	snprintf(body, sizeof(body), "{\"file\":{\"sha256\":\"%s\",\"size\":12}}", sha);
	rq = (struct vg_cloud_request){ .method = "POST", .path = "/v1/signals", .authorization = auth,
					.body = body, .body_len = strlen(body) };
	vg_cloud_handle(c, &rq, &rs);
	int st_signal = rs.status;
	char path[128];
	snprintf(path, sizeof(path), "/v1/files/%s", sha);
	rq = (struct vg_cloud_request){ .method = "GET", .path = path, .authorization = auth };
	vg_cloud_handle(c, &rq, &rs);
	int st_file = rs.status, prev1 = rs.body.p && strstr(rs.body.p, "\"prevalence\":1,") != NULL;
	struct vg_cloud_arg args[] = { { "since", "0" }, { "timeout", "0" } };
	rq = (struct vg_cloud_request){ .method = "GET", .path = "/v1/verdicts", .authorization = auth,
					.args = args, .nargs = 2 };
	vg_cloud_handle(c, &rq, &rs);
	int st_v = rs.status, one = rs.body.p && strstr(rs.body.p, "\"count\":1,") != NULL;
	/* with a timeout and nothing newer, the handler asks the server to wait */
	struct vg_cloud_arg args2[] = { { "since", "1" }, { "timeout", "5" } };
	rq.args = args2;
	vg_cloud_handle(c, &rq, &rs);
	int wait = rs.wait;
	rq.no_wait = 1;
	vg_cloud_handle(c, &rq, &rs);
	int st_nowait = rs.status;
	vg_cloud_response_free(&rs);
	vg_cloud_free(c);
	ASSERT_EQ(st_enroll, 200);
	ASSERT_TRUE(auth[0] != 0);
	ASSERT_EQ(st_signal, 200);
	ASSERT_EQ(st_file, 200);
	ASSERT_TRUE(prev1);
	ASSERT_EQ(st_v, 200);
	ASSERT_TRUE(one);
	ASSERT_EQ(wait, 5);
	ASSERT_EQ(st_nowait, 200);
}

static double signal_score(struct vg_cloud *c, const char *auth, const char *sha, const char *chain)
{
	char body[512];
	struct vg_cloud_response rs = { 0 };
	snprintf(body, sizeof(body), "{\"process_chain\":[%s],\"file\":{\"sha256\":\"%s\",\"package\":\"x\"}}", chain, sha);
	struct vg_cloud_request rq = { .method = "POST", .path = "/v1/signals", .authorization = auth,
				       .body = body, .body_len = strlen(body) };
	vg_cloud_handle(c, &rq, &rs);
	const char *p = rs.status == 200 && rs.body.p ? strstr(rs.body.p, "\"interim_rules\":") : NULL;
	double v = p ? strtod(p + 16, NULL) : -1;
	vg_cloud_response_free(&rs);
	return v;
}

/* A shell under a web server or document program (web shell, macro) raises the score; under systemd it does not. */
TEST(cloud_signal_process_chain)
{
	struct vg_cloud_config cfg;
	struct vg_cloud *c = NULL;
	struct vg_cloud_response rs = { 0 };
	char err[256], auth[128] = "";

	vg_cloud_config_defaults(&cfg);
	free(cfg.db);
	cfg.db = strdup(":memory:");
	cfg.enroll_token = strdup("t0k");
	int rc = vg_cloud_new(&cfg, &c, err, sizeof(err));
	vg_cloud_config_free(&cfg);
	ASSERT_EQ(rc, 0);
	struct vg_cloud_request rq = { .method = "POST", .path = "/v1/enroll", .authorization = "Bearer t0k",
				       .body = "{\"endpoint_id\":\"u2\"}", .body_len = 20 };
	vg_cloud_handle(c, &rq, &rs);
	const char *cr = rs.body.p ? strstr(rs.body.p, "\"credential\":\"") : NULL;
	if (cr)
		snprintf(auth, sizeof(auth), "Bearer %.48s", cr + 14);
	vg_cloud_response_free(&rs);
	double plain = signal_score(c, auth, "1111111111111111111111111111111111111111111111111111111111111111",
				    "{\"image\":\"/usr/lib/systemd/systemd\"},{\"image\":\"/usr/bin/bash\"}");
	double web = signal_score(c, auth, "2222222222222222222222222222222222222222222222222222222222222222",
				  "{\"image\":\"/usr/sbin/php-fpm8.2\"},{\"image\":\"/usr/bin/dash\"}");
	double macro = signal_score(c, auth, "3333333333333333333333333333333333333333333333333333333333333333",
				    "{\"image\":\"C:\\\\Program Files\\\\Microsoft Office\\\\WINWORD.EXE\"},"
				    "{\"image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe\"}");
	double reversed = signal_score(c, auth, "4444444444444444444444444444444444444444444444444444444444444444",
				       "{\"image\":\"/usr/bin/bash\"},{\"image\":\"/usr/sbin/nginx\"}");
	vg_cloud_free(c);
	ASSERT_TRUE(plain >= 0);
	ASSERT_TRUE(web > plain);
	ASSERT_TRUE(macro > plain);
	ASSERT_TRUE(reversed == plain); /* a server started by a shell is ordinary */
}

/* The 'model' setting: a missing or corrupt bundle stops the start with the path and line; 'none' serves the interim scorer; the default serves the embedded bundle. */
static int cloud_with_model(const char *model, struct vg_cloud **c, char *err, size_t errlen)
{
	struct vg_cloud_config cfg;
	vg_cloud_config_defaults(&cfg);
	free(cfg.db);
	cfg.db = strdup(":memory:");
	cfg.enroll_token = strdup("t0k");
	if (model) {
		free(cfg.model);
		cfg.model = strdup(model);
	}
	int rc = vg_cloud_new(&cfg, c, err, errlen);
	vg_cloud_config_free(&cfg);
	return rc;
}

static void health_model(struct vg_cloud *c, char *out, size_t outlen)
{
	struct vg_cloud_request rq = { .method = "GET", .path = "/v1/health" };
	struct vg_cloud_response rs = { 0 };
	vg_cloud_handle(c, &rq, &rs);
	const char *p = rs.body.p ? strstr(rs.body.p, "\"model\":\"") : NULL;
	snprintf(out, outlen, "%.*s", p ? (int)strcspn(p + 9, "\"") : 0, p ? p + 9 : "");
	vg_cloud_response_free(&rs);
}

TEST(cloud_model_setting_loads_or_names_the_error)
{
	struct vg_cloud *c = NULL;
	char err[512] = "", m[64], path[] = "/tmp/vg-bad-bundle-XXXXXX";

	ASSERT_NE(cloud_with_model("/nonexistent/x.bundle", &c, err, sizeof(err)), 0);
	ASSERT_TRUE(c == NULL);
	ASSERT_TRUE(strstr(err, "/nonexistent/x.bundle") != NULL);

	int fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, "vigil-model-bundle 1\nfeature_version oops\n", 42), 42);
	close(fd);
	err[0] = 0;
	int rc = cloud_with_model(path, &c, err, sizeof(err));
	unlink(path);
	ASSERT_NE(rc, 0);
	ASSERT_TRUE(strstr(err, path) != NULL && strstr(err, "line ") != NULL);

	ASSERT_EQ(cloud_with_model("none", &c, err, sizeof(err)), 0);
	health_model(c, m, sizeof(m));
	vg_cloud_free(c);
	ASSERT_STR_EQ(m, "none");

	c = NULL;
	ASSERT_EQ(cloud_with_model(NULL, &c, err, sizeof(err)), 0);
	health_model(c, m, sizeof(m));
	vg_cloud_free(c);
	ASSERT_STR_EQ(m, "embedded");
}

/* Hashes are client input: ones that differ only in their last digits must not pile up in one run of slots. */
TEST(cloud_hot_files_spread_crafted_hashes)
{
	struct hot h;
	char sha[65];
	uint32_t f;
	int fresh, added, bad = 0;
	enum { N = 50000 };

	ASSERT_EQ(hot_init(&h), 0);
	uint32_t ep = 0;
	ASSERT_EQ(hot_enroll(&h, "ep-1", "cred-1"), 0);
	ASSERT_EQ(hot_auth(&h, "cred-1", sha, sizeof(sha), &ep), 0);
	for (int i = 0; i < N; i++) {
		snprintf(sha, sizeof(sha), "%064x", i);
		bad |= hot_file_seen(&h, sha, ep, 1000, &f, &fresh, &added) != 0 || !added || !fresh;
	}
	/* a repeat is found, not added, and does not count the endpoint twice */
	snprintf(sha, sizeof(sha), "%064x", 7);
	int again = hot_file_seen(&h, sha, ep, 2000, &f, &fresh, &added);
	int64_t prevalence = h.files[f].prevalence;
	double per_lookup = (double)h.probes / (N + 1);
	hot_free(&h);
	ASSERT_EQ(bad, 0);
	ASSERT_EQ(again, 0);
	ASSERT_EQ(added, 0);
	ASSERT_EQ(fresh, 0);
	ASSERT_EQ(prevalence, 1);
	ASSERT_TRUE(per_lookup < 4); /* with the first 8 bytes as the hash this was about 25,000 */
}
