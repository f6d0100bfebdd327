/* test_corpus.c - end-to-end tests of `vigil corpus` on a tiny recording and manifest (labels, dedupe, subtrees, attacker lines, bad input) and of vigil_sim's variants (distinct padded copies, the same for the same seed). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/test.h"
#include "jsonschema.h"
#include "vigil/event.h"
#include "vigil/json.h"
#include "vigil/linux.h"
#include "vigil/source.h"

#define DATA "tests/data/corpus"

/* One corpus line, reduced to what the tests look at. */
struct corpus_row {
	char label[16], family[32], group[32], source[64], endpoint[64], sha[65];
	char rule[64], behavior[64];
	long long size;
	int chain;
};

#define PATH_IS(l, lit) ((l)->path_len == sizeof(lit) - 1 && memcmp((l)->path, lit, sizeof(lit) - 1) == 0)

static void copy_leaf(char *dst, size_t size, const struct vg_json_leaf *l)
{
	size_t n = l->value_len < size - 1 ? l->value_len : size - 1;
	memcpy(dst, l->value, n);
	dst[n] = '\0';
}

/* Parses the corpus lines in out; returns how many (at most max). */
static size_t parse_rows(const char *out, struct corpus_row *rows, size_t max)
{
	struct vg_json_doc doc;
	size_t n = 0;

	vg_json_doc_init(&doc);
	for (const char *line = out, *nl; line && *line && n < max; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (!len || vg_json_flatten(&doc, line, len, NULL))
			continue;
		struct corpus_row *r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->size = -1;
		for (uint32_t i = 0; i < doc.nleaves; i++) {
			const struct vg_json_leaf *l = &doc.leaves[i];
			if (PATH_IS(l, "label"))
				copy_leaf(r->label, sizeof(r->label), l);
			else if (PATH_IS(l, "family"))
				copy_leaf(r->family, sizeof(r->family), l);
			else if (PATH_IS(l, "group"))
				copy_leaf(r->group, sizeof(r->group), l);
			else if (PATH_IS(l, "source"))
				copy_leaf(r->source, sizeof(r->source), l);
			else if (PATH_IS(l, "signal.endpoint_id"))
				copy_leaf(r->endpoint, sizeof(r->endpoint), l);
			else if (PATH_IS(l, "signal.file.sha256"))
				copy_leaf(r->sha, sizeof(r->sha), l);
			else if (PATH_IS(l, "signal.file.size"))
				r->size = strtoll(l->value, NULL, 10);
			else if (PATH_IS(l, "signal.rule_ids") && l->type == VG_JSON_STRING)
				copy_leaf(r->rule, sizeof(r->rule), l);
			else if (PATH_IS(l, "signal.behavior_ids") && l->type == VG_JSON_STRING)
				copy_leaf(r->behavior, sizeof(r->behavior), l);
			else if (PATH_IS(l, "signal.process_chain.pid"))
				r->chain++;
		}
	}
	vg_json_doc_free(&doc);
	return n;
}

static size_t count_sha(const struct corpus_row *rows, size_t n, char c)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += rows[i].sha[0] == c && rows[i].sha[63] == c;
	return k;
}

static const struct corpus_row *find_sha(const struct corpus_row *rows, size_t n, char c, int with_rule)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].sha[0] == c && (with_rule ? rows[i].rule[0] != '\0' : rows[i].rule[0] == '\0'))
			return &rows[i];
	return NULL;
}

TEST(corpus_labels_dedupe_scope_and_bad_input)
{
	char cmd[1024], errpath[] = "/tmp/vigil-corpus-err-XXXXXX";
	char *out = NULL, *err = NULL;
	struct corpus_row rows[32];
	int fd = mkstemp(errpath);

	ASSERT_TRUE(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s/vigil corpus " DATA "/labels.tsv 2>%s", vg_test_build_dir(), errpath);
	int status = vg_test_run(cmd, &out);
	snprintf(cmd, sizeof(cmd), "cat %s", errpath);
	vg_test_run(cmd, &err);
	unlink(errpath);
	ASSERT_TRUE(out && err);
	/* some input could not be used: said, the rest written */
	ASSERT_EQ(status, 1);
	ASSERT_TRUE(strstr(err, "labels.tsv:4: label must be benign or malicious") != NULL);
	ASSERT_TRUE(strstr(err, "labels.tsv:5: recording") != NULL && strstr(err, "missing.jsonl") != NULL);
	ASSERT_TRUE(strstr(err, "benign.jsonl:5:") != NULL); /* the bad JSON line of the recording */
	ASSERT_TRUE(strstr(err, "2 recordings (1 missing)") != NULL);

	size_t n = parse_rows(out, rows, 32);
	/* benign: bash, gcc twice (one line), the planted /tmp program; cat outside root=100 left out */
	ASSERT_EQ(count_sha(rows, n, 'a'), 1);   /* bash: in the benign recording; package-verified in the "unpackaged" one */
	ASSERT_EQ(count_sha(rows, n, 'b'), 1);   /* dedupe: same sha, chain names, no rule */
	ASSERT_EQ(count_sha(rows, n, 'd'), 0);   /* outside the workload's subtree */
	ASSERT_EQ(count_sha(rows, n, '9'), 0);   /* package-verified sleep in an "unpackaged" recording */
	ASSERT_EQ(count_sha(rows, n, '8'), 0);   /* cat from /usr in the attack's namespace (no package there): a system program */
	const struct corpus_row *gcc = find_sha(rows, n, 'b', 0);
	ASSERT_TRUE(gcc != NULL);
	ASSERT_STR_EQ(gcc->label, "benign");
	ASSERT_STR_EQ(gcc->family, "none");
	ASSERT_STR_EQ(gcc->group, "bench-build");
	ASSERT_STR_EQ(gcc->source, "benign.jsonl");
	ASSERT_STR_EQ(gcc->endpoint, "ep-9faaa51d3860dc32");
	ASSERT_STR_EQ(gcc->behavior, "vigil.process_start");
	ASSERT_EQ(gcc->chain, 2); /* bash -> gcc: the chain starts at the workload's root */
	/* the attacker line turns the planted program malicious; its size comes from the recording (the file never existed here) */
	const struct corpus_row *hello = find_sha(rows, n, 'c', 0);
	ASSERT_TRUE(hello != NULL);
	ASSERT_STR_EQ(hello->label, "malicious");
	ASSERT_STR_EQ(hello->family, "Planted");
	ASSERT_STR_EQ(hello->group, "bench-build");
	ASSERT_EQ(hello->size, 16000);
	ASSERT_STR_EQ(hello->behavior, "vigil.new_user_writable_executable");
	/* malicious recording: starts and rule matches, labelled by the recording line */
	const struct corpus_row *shm = find_sha(rows, n, 'f', 1);
	ASSERT_TRUE(shm != NULL);
	ASSERT_STR_EQ(shm->label, "malicious");
	ASSERT_STR_EQ(shm->family, "TestLoader");
	ASSERT_STR_EQ(shm->group, "variant-7");
	ASSERT_STR_EQ(shm->endpoint, "ep-0d6f6c0acd81e823");
	ASSERT_EQ(shm->chain, 3);
	ASSERT_TRUE(find_sha(rows, n, 'f', 0) != NULL);
	ASSERT_TRUE(find_sha(rows, n, 'e', 0) != NULL);
	for (size_t i = 0; i < n; i++)
		ASSERT_TRUE(strcmp(rows[i].label, "benign") == 0 || strcmp(rows[i].label, "malicious") == 0);
	/* every signal is a valid POST /v1/signals body */
	cJSON *schema = ts_schema_load("signal");
	ASSERT_TRUE(schema != NULL);
	size_t nsig = 0;
	for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		cJSON *doc = cJSON_Parse(line);
		char why[256] = "";
		int valid = doc && ts_validate(schema, cJSON_GetObjectItemCaseSensitive(doc, "signal"), why, sizeof(why)) == 0;
		cJSON_Delete(doc);
		if (!valid)
			cJSON_Delete(schema);
		if (!valid)
			VG_FAIL_("corpus line %zu: %s", nsig + 1, why);
		nsig++;
	}
	cJSON_Delete(schema);
	ASSERT_EQ(nsig, n);
	free(out);
	free(err);
}

TEST(corpus_refuses_bad_arguments)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s/vigil corpus --platform beos " DATA "/labels.tsv 2>/dev/null", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, NULL), 2);
	snprintf(cmd, sizeof(cmd), "%s/vigil corpus " DATA "/no-such-manifest.tsv 2>/dev/null", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, NULL), 2);
	/* --platform windows: no Linux recording read, nothing written, nothing wrong */
	char *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil corpus --platform windows " DATA "/labels.tsv 2>/dev/null", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &out), 1); /* the manifest's bad line is still reported */
	ASSERT_TRUE(out && out[0] == '\0');
	free(out);
}

/* The sha256 of the loader copy `vigil_sim --variant seed --install-root root` writes; 0 or -1. */
static int variant_copy_sha(const char *root, unsigned seed, char *sha, size_t len)
{
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "sha256sum \"$(%s/tools/vigil_sim --variant %u --install-root %s)\"", vg_test_build_dir(),
		 seed, root);
	int rc = vg_test_run(cmd, &out);
	if (rc || !out || strlen(out) < 64) {
		free(out);
		return -1;
	}
	snprintf(sha, len, "%.64s", out);
	free(out);
	return 0;
}

TEST(sim_variants_distinct_copies_same_for_same_seed)
{
	char root1[] = "/tmp/vigil-variant-XXXXXX", root2[] = "/tmp/vigil-variant-XXXXXX";
	char sha[6][65], again[65], cmd[512];
	char *plan1 = NULL, *plan2 = NULL;

	ASSERT_TRUE(mkdtemp(root1) && mkdtemp(root2));
	for (unsigned i = 0; i < 6; i++)
		ASSERT_EQ(variant_copy_sha(root1, 100 + i, sha[i], sizeof(sha[i])), 0);
	for (unsigned i = 0; i < 6; i++)
		for (unsigned j = i + 1; j < 6; j++)
			ASSERT_TRUE(strcmp(sha[i], sha[j]) != 0);
	/* the same seed in another place: the same bytes */
	ASSERT_EQ(variant_copy_sha(root2, 103, again, sizeof(again)), 0);
	ASSERT_STR_EQ(again, sha[3]);
	/* the plan (family, names, padding) is a function of the seed */
	snprintf(cmd, sizeof(cmd), "%s/tools/vigil_sim --variant 103 --plan", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &plan1), 0);
	ASSERT_EQ(vg_test_run(cmd, &plan2), 0);
	ASSERT_TRUE(plan1 && plan2 && strcmp(plan1, plan2) == 0);
	ASSERT_TRUE(strstr(plan1, "\"variant\":{\"family\":") != NULL);
	/* the three families all occur among a few seeds */
	int fam[3] = { 0 };
	for (unsigned s = 100; s < 106; s++) {
		char *p = NULL;
		snprintf(cmd, sizeof(cmd), "%s/tools/vigil_sim --variant %u --plan", vg_test_build_dir(), s);
		ASSERT_EQ(vg_test_run(cmd, &p), 0);
		fam[0] += p && strstr(p, "\"family\":\"Dofoil\"") != NULL;
		fam[1] += p && strstr(p, "\"family\":\"CronStager\"") != NULL;
		fam[2] += p && strstr(p, "\"family\":\"RevShell\"") != NULL;
		free(p);
	}
	ASSERT_TRUE(fam[0] && fam[1] && fam[2]);
	free(plan1);
	free(plan2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root1, root2);
	ASSERT_EQ(vg_test_run(cmd, NULL), 0);
}

TEST(recorded_host_facts_are_not_redone_on_replay)
{
	char host[256] = "", path[] = "/tmp/vigil-record-XXXXXX", line[2048];
	struct vg_source *src = NULL;
	struct vg_linux_facts *facts = NULL;
	struct vg_event *ev = vg_event_new();

	ASSERT_TRUE(ev != NULL);
	gethostname(host, sizeof(host) - 1);
	int fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	/* this machine's own event, as the record setting wrote it: /usr/bin/true with facts that differ from the file's */
	int n = snprintf(line, sizeof(line),
			 "{\"vigil\":\"event/1\",\"@timestamp\":\"2026-12-07T04:00:00Z\",\"event\":{\"type\":\"process_start\","
			 "\"code\":1,\"source\":\"ebpf\",\"platform\":\"linux\"},\"host\":{\"name\":\"%s\"},\"process\":{\"pid\":1,"
			 "\"executable\":\"/usr/bin/true\",\"command_line\":\"true\"},\"raw\":{\"Image\":\"/usr/bin/true\"},"
			 "\"facts\":{\"VigilImagePathClass\":\"system\",\"Hashes\":\"SHA256=%064d,MD5=%032d\","
			 "\"VigilFileSize\":\"77\"}}\n", host, 7, 7);
	ASSERT_EQ(write(fd, line, (size_t)n), n);
	close(fd);
	ASSERT_EQ(vg_source_open(path, VG_FMT_AUTO, &src), 0);
	ASSERT_EQ(vg_source_next(src, ev), 1);
	ASSERT_EQ(vg_linux_facts_new(NULL, &facts), 0);
	uint32_t before = ev->nfields;
	ASSERT_EQ(vg_linux_enrich(facts, ev), 0);
	ASSERT_EQ(ev->nfields, before);
	ASSERT_STR_EQ(vg_event_get(ev, "VigilFileSize"), "77");
	ASSERT_TRUE(strncmp(vg_event_get(ev, "Hashes"), "SHA256=0000", 11) == 0);
	vg_linux_facts_free(facts);
	vg_source_free(src);
	vg_event_free(ev);
	unlink(path);
}
