/* test_sigma_load.c - Sigma loader tests: the SigmaHQ load rate, metadata, collections, correlations, errors with line numbers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vigil/sigma.h"
#include "engine/sigma_ext.h"
#include "test.h"

struct errs {
	int n;
	unsigned line[32];
	char reason[32][256];
	char file[32][256];
};

static void collect(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct errs *e = ctx;
	if (e->n < 32) {
		e->line[e->n] = line;
		snprintf(e->reason[e->n], sizeof(e->reason[0]), "%s", reason);
		snprintf(e->file[e->n], sizeof(e->file[0]), "%s", file);
	}
	e->n++;
}

/* ---- load rate over SigmaHQ ---- */

struct reason_count {
	char reason[160];
	int n;
	char example[256];
};

struct summary {
	struct reason_count r[256];
	int nr;
	int total;
};

/* Groups reasons by their text with quoted parts removed. */
static void summarize(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct summary *s = ctx;
	char key[160];
	size_t k = 0;
	int inq = 0;

	for (const char *p = reason; *p && k + 1 < sizeof(key); p++) {
		if (*p == '\'') {
			inq = !inq;
			if (inq && k + 4 < sizeof(key)) {
				memcpy(key + k, "'..'", 4);
				k += 4;
			}
			continue;
		}
		if (!inq)
			key[k++] = *p;
	}
	key[k] = '\0';
	s->total++;
	for (int i = 0; i < s->nr; i++) {
		if (strcmp(s->r[i].reason, key) == 0) {
			s->r[i].n++;
			return;
		}
	}
	if (s->nr < 256) {
		snprintf(s->r[s->nr].reason, sizeof(s->r[0].reason), "%s", key);
		snprintf(s->r[s->nr].example, sizeof(s->r[0].example), "%s:%u: %s", file, line, reason);
		s->r[s->nr++].n = 1;
	}
}

TEST(sigma_load_rate_sigmahq)
{
	static const char *const dirs[] = { "rules", "rules-emerging-threats", "rules-threat-hunting" };
	struct vg_ruleset *rs;
	struct summary *s = calloc(1, sizeof(*s));
	struct vg_sigma_stats st;
	char path[1024];

	ASSERT_TRUE(s != NULL);
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/sigma/%s", vg_test_shared_dir(), dirs[i]);
		int n = vg_ruleset_load_path(rs, path, summarize, s);
		ASSERT_GE(n, 0);
	}
	vg_ruleset_stats(rs, &st);
	size_t docs = st.rules + st.correlations + st.failed;
	fprintf(stderr, "    sigma load: %zu rules + %zu correlations loaded of %zu documents in %zu files "
		"(%.2f%%), %zu failed; deprecated %zu, unsupported %zu\n",
		st.rules, st.correlations, docs, st.files, docs ? 100.0 * (double)(st.rules + st.correlations) / (double)docs : 0.0,
		st.failed, st.deprecated, st.unsupported);
	for (int i = 0; i < s->nr; i++)
		fprintf(stderr, "    %5d x %s\n            e.g. %s\n", s->r[i].n, s->r[i].reason, s->r[i].example);
	ASSERT_GE(docs, 3000);
	ASSERT_TRUE((double)(st.rules + st.correlations) >= 0.99 * (double)docs);
	/* metadata spot checks on every rule */
	for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
		const struct vg_rule *r = vg_ruleset_rule(rs, i);
		ASSERT_TRUE(r->title && r->id && r->file && r->line >= 1);
	}
	vg_ruleset_free(rs);
	free(s);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(sigma_load_folder_recursive)
{
	static const char rule[] = "title: %s\nlogsource:\n    product: windows\n"
				   "detection:\n    sel:\n        Image: x\n    condition: sel\n";
	char dir[] = "/tmp/vigil_sigma_XXXXXX", path[512], text[512];
	struct vg_ruleset *rs;
	struct errs e = { 0 };

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/sub", dir);
	ASSERT_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.hidden", dir);
	ASSERT_EQ(mkdir(path, 0700), 0);
	snprintf(text, sizeof(text), rule, "a");
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	write_file(path, text);
	snprintf(text, sizeof(text), rule, "b");
	snprintf(path, sizeof(path), "%s/sub/b.YAML", dir);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/sub/c.txt", dir);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/.hidden/h.yml", dir);
	write_file(path, text);
	snprintf(path, sizeof(path), "%s/sub/d.yml", dir);
	write_file(path, "title: broken\nlogsource: {}\ndetection:\n    condition: nothing\n");

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_path(rs, dir, collect, &e), 2);
	ASSERT_EQ(vg_ruleset_count(rs), 2);
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 0)->title, "a"); /* sorted, depth first */
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 1)->title, "b");
	ASSERT_EQ(e.n, 1);
	ASSERT_TRUE(strstr(e.file[0], "sub/d.yml") != NULL);
	ASSERT_TRUE(strstr(e.reason[0], "no search identifiers") != NULL);
	/* a single file, and a path that does not exist */
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	ASSERT_EQ(vg_ruleset_load_path(rs, path, collect, &e), 1);
	snprintf(path, sizeof(path), "%s/nope", dir);
	ASSERT_EQ(vg_ruleset_load_path(rs, path, collect, &e), -ENOENT);
	vg_ruleset_free(rs);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ASSERT_EQ(system(path), 0);
}
