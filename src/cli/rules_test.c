/* rules_test.c - `vigil rules test`: runs rules against their regression samples (SigmaHQ's info.yml layout) through the whole pipeline. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/hunt.h"
#include "vigil/sigma.h"
#include "engine/sigma_ext.h"
#include "cli.h"

struct rt_case {
	char dir[2048];
	char id[128];
};

static struct rt_case *cases;
static size_t ncases, cases_cap;

/* Reads the rule id named under rule_metadata in an info.yml (SigmaHQ's regression layout). Returns 0 or -1. */
int vg_cli_info_rule_id(const char *info, char *id, size_t size)
{
	FILE *f = fopen(info, "r");
	char line[1024];
	int in_meta = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "rule_metadata:", 14) == 0) {
			in_meta = 1;
			continue;
		}
		if (in_meta && line[0] != ' ' && line[0] != '-' && line[0] != '\n')
			in_meta = 0;
		char *p = strstr(line, "id:");
		if (in_meta && p) {
			p += 3;
			while (*p == ' ' || *p == '\'' || *p == '"')
				p++;
			size_t n = strcspn(p, " '\"\r\n");
			snprintf(id, size, "%.*s", (int)n, p);
			fclose(f);
			return n ? 0 : -1;
		}
	}
	fclose(f);
	return -1;
}

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (type != FTW_F || strcmp(path + ftw->base, "info.yml") != 0)
		return 0;
	if (ncases == cases_cap) {
		cases_cap = cases_cap ? cases_cap * 2 : 64;
		cases = realloc(cases, cases_cap * sizeof(*cases));
		if (!cases)
			return -1;
	}
	struct rt_case *c = &cases[ncases];
	snprintf(c->dir, sizeof(c->dir), "%.*s", (int)ftw->base, path);
	if (vg_cli_info_rule_id(path, c->id, sizeof(c->id)) == 0)
		ncases++;
	else
		fprintf(stderr, "vigil: %s: no rule id under rule_metadata\n", path);
	return 0;
}

static int cmp_case(const void *a, const void *b)
{
	return strcmp(((const struct rt_case *)a)->dir, ((const struct rt_case *)b)->dir);
}

/* Runs the pipeline over one sample; returns 1 when rule id fired, 0 when not, -1 on error. */
static int fires(struct vg_ruleset *rs, const char *sample, const char *id, const char *resolvers)
{
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	struct vg_hunt_config cfg = { 0 };
	struct vg_hunt_stats st;
	const char *inputs[1] = { sample };
	char needle[200];

	if (!mem)
		return -1;
	cfg.inputs = inputs;
	cfg.ninputs = 1;
	cfg.rules = rs;
	cfg.alerts.out = mem;
	cfg.tree.resolvers = resolvers;
	int rc = vg_hunt_run(&cfg, &st);
	fclose(mem);
	snprintf(needle, sizeof(needle), "\"rule\":{\"id\":\"%s\"", id);
	int hit = out && strstr(out, needle) != NULL;
	free(out);
	return rc ? -1 : hit;
}

int vg_cli_rules_test(struct vg_ruleset *rs, char **dirs, int ndirs, const char *resolvers, int verbose)
{
	int passed = 0, failed = 0;
	const char *def[1] = { "tests/data/rules" };

	ncases = 0;
	if (ndirs == 0) {
		dirs = (char **)def;
		ndirs = 1;
	}
	for (int i = 0; i < ndirs; i++)
		if (nftw(dirs[i], collect, 16, FTW_PHYS) != 0) {
			fprintf(stderr, "vigil: rules test: cannot walk %s\n", dirs[i]);
			return 2;
		}
	qsort(cases, ncases, sizeof(*cases), cmp_case);
	for (size_t i = 0; i < ncases; i++) {
		const struct rt_case *c = &cases[i];
		const struct vg_rule *rule = NULL;
		for (size_t k = 0; k < vg_ruleset_count(rs) && !rule; k++)
			if (strcmp(vg_ruleset_rule(rs, k)->id, c->id) == 0)
				rule = vg_ruleset_rule(rs, k);
		for (size_t k = 0; k < vg_ruleset_correlation_count(rs) && !rule; k++) { /* correlation rules too */
			const struct vg_sigma_correlation *co = vg_ruleset_correlation(rs, k);
			if (co->linked == 1 && strcmp(co->rule.id, c->id) == 0)
				rule = &co->rule;
		}
		char samples[2][2200];
		int nsamples = 0;
		snprintf(samples[0], sizeof(samples[0]), "%s%s.json", c->dir, c->id);
		snprintf(samples[1], sizeof(samples[1]), "%s%s.evtx", c->dir, c->id);
		int ok = rule != NULL, tried = 0;
		const char *why = rule ? NULL : "rule not loaded";
		for (int s = 0; s < 2 && rule; s++) {
			FILE *f = fopen(samples[s], "rb");
			if (!f)
				continue;
			fclose(f);
			tried++;
			nsamples++;
			int r = fires(rs, samples[s], c->id, resolvers);
			if (r != 1) {
				ok = 0;
				why = r < 0 ? "pipeline error" : (s ? "did not fire on the EVTX sample" : "did not fire on the JSON sample");
			}
		}
		if (rule && !tried) {
			ok = 0;
			why = "no <id>.json or <id>.evtx sample beside info.yml";
		}
		if (ok)
			passed++;
		else
			failed++;
		if (!ok || verbose)
			printf("%s %s %s (%s)%s%s\n", ok ? "PASS" : "FAIL", c->id, rule && rule->title ? rule->title : "",
			       c->dir, why ? ": " : "", why ? why : "");
	}
	printf("rules test: %d cases, %d passed, %d failed\n", passed + failed, passed, failed);
	free(cases);
	cases = NULL;
	return failed ? 1 : 0;
}
