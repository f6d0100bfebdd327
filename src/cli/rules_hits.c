/* rules_hits.c - `vigil rules hits`: every rule against every regression case and benign noise; hits per rule on its own case, on other cases and on benign events, compared with an expectation. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/hunt.h"
#include "vigil/sigma.h"
#include "cli.h"

struct hc_case {
	char *dir;      /* folder holding info.yml, with a trailing slash */
	char *id;       /* the rule the case is for */
	char *sample;   /* <id>.evtx, else <id>.json */
	long match_count; /* regression_tests_info's match_count, -1 when absent */
};

struct hc_row {
	const char *id, *title;
	long own;       /* -1: the rule has no case */
	long other, benign;
	int seen;       /* expectation: row also in the actual table */
};

static struct hc_case *hcases;
static size_t nhcases, hcases_cap;

/* The first uncommented "match_count: N" of an info.yml, or -1. */
static long info_match_count(const char *info)
{
	FILE *f = fopen(info, "r");
	char line[1024];
	long n = -1;

	if (!f)
		return -1;
	while (n < 0 && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t-");
		if (strncmp(p, "match_count:", 12) == 0) {
			char *end;
			long v = strtol(p + 12, &end, 10);
			if (end != p + 12 && v >= 0)
				n = v;
		}
	}
	fclose(f);
	return n;
}

static int exists(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	fclose(f);
	return 1;
}

static int collect_case(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char id[256], sample[4096];
	(void)st;
	if (type != FTW_F || strcmp(path + ftw->base, "info.yml") != 0)
		return 0;
	if (vg_cli_info_rule_id(path, id, sizeof(id))) {
		fprintf(stderr, "vigil: rules hits: %s: no rule id under rule_metadata (case skipped)\n", path);
		return 0;
	}
	snprintf(sample, sizeof(sample), "%.*s%s.evtx", (int)ftw->base, path, id);
	if (!exists(sample))
		snprintf(sample, sizeof(sample), "%.*s%s.json", (int)ftw->base, path, id);
	if (!exists(sample)) {
		fprintf(stderr, "vigil: rules hits: %s: no %s.evtx or %s.json beside it (case skipped)\n", path, id, id);
		return 0;
	}
	if (nhcases == hcases_cap) {
		size_t cap = hcases_cap ? hcases_cap * 2 : 256;
		struct hc_case *n = realloc(hcases, cap * sizeof(*n));
		if (!n)
			return -1;
		hcases = n;
		hcases_cap = cap;
	}
	struct hc_case *c = &hcases[nhcases];
	c->dir = strndup(path, ftw->base);
	c->id = strdup(id);
	c->sample = strdup(sample);
	c->match_count = info_match_count(path);
	if (!c->dir || !c->id || !c->sample)
		return -1;
	nhcases++;
	return 0;
}

static int cmp_hcase(const void *a, const void *b)
{
	return strcmp(((const struct hc_case *)a)->sample, ((const struct hc_case *)b)->sample);
}

/* Runs the pipeline over inputs and adds each alert's rule to counts (by rule index). -1 on error. */
static int count_alerts(struct vg_ruleset *rs, const char *const *inputs, size_t ninputs, const char *resolvers,
			long *counts, const char *own_id, long *own_count)
{
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	struct vg_hunt_config cfg = { 0 };
	struct vg_hunt_stats st;

	if (!mem)
		return -1;
	cfg.inputs = inputs;
	cfg.ninputs = ninputs;
	cfg.rules = rs;
	cfg.alerts.out = mem;
	cfg.tree.resolvers = resolvers;
	int rc = vg_hunt_run(&cfg, &st);
	fclose(mem);
	if (rc || st.files_failed) {
		free(out);
		return -1;
	}
	/* one alert per line; its rule is the first "rule":{"id":"..." of the line */
	size_t nrules = vg_ruleset_count(rs);
	for (char *line = out; line && *line;) {
		char *eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		char *p = strstr(line, "\"rule\":{\"id\":\"");
		if (p) {
			p += 14;
			size_t n = strcspn(p, "\"");
			for (size_t i = 0; i < nrules; i++) {
				const char *id = vg_ruleset_rule(rs, i)->id;
				if (strlen(id) == n && memcmp(id, p, n) == 0) {
					if (own_id && strcmp(id, own_id) == 0)
						(*own_count)++;
					else
						counts[i]++;
					break;
				}
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	free(out);
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct hc_row *x = a, *y = b;
	return strcmp(x->id, y->id);
}

/* Titles go into a TSV: tabs and line breaks become spaces. */
static void put_clean(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static void write_table(FILE *f, const struct hc_row *rows, size_t n)
{
	fputs("# vigil rules hits: rule id, title, hits on its own regression case (- when it has none),\n"
	      "# hits on other cases, hits on benign noise; rules with no case and no hits are left out.\n"
	      "#id\ttitle\town\tother\tbenign\n", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\t", rows[i].id);
		put_clean(f, rows[i].title);
		if (rows[i].own < 0)
			fprintf(f, "\t-\t%ld\t%ld\n", rows[i].other, rows[i].benign);
		else
			fprintf(f, "\t%ld\t%ld\t%ld\n", rows[i].own, rows[i].other, rows[i].benign);
	}
}

static int parse_count(const char *s, long *out, int dash_ok)
{
	char *end;
	if (dash_ok && strcmp(s, "-") == 0) {
		*out = -1;
		return 0;
	}
	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno || v < 0)
		return -1;
	*out = v;
	return 0;
}

int vg_cli_hits_parse(const char *file, char *text, struct vg_hits_table *t)
{
	unsigned lineno = 0;
	memset(t, 0, sizeof(*t));
	for (char *line = text; line && *line;) {
		char *eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		lineno++;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l && line[0] != '#') {
			char *f[6];
			int nf = 0;
			char *p = line;
			while (nf < 6) {
				f[nf++] = p;
				char *tab = strchr(p, '\t');
				if (!tab)
					break;
				*tab = '\0';
				p = tab + 1;
			}
			long own, other, benign;
			if (nf != 5) {
				fprintf(stderr, "vigil: %s:%u: expected 5 tab-separated fields (id, title, own, other, benign), got %d\n",
					file, lineno, nf);
				return -1;
			}
			if (!*f[0] || parse_count(f[2], &own, 1) || parse_count(f[3], &other, 0) ||
			    parse_count(f[4], &benign, 0)) {
				fprintf(stderr, "vigil: %s:%u: empty rule id or a count that is not a number (own may be '-')\n",
					file, lineno);
				return -1;
			}
			if (t->n == t->cap) {
				size_t cap = t->cap ? t->cap * 2 : 256;
				struct vg_hits_row *nr = realloc(t->rows, cap * sizeof(*nr));
				if (!nr)
					return -1;
				t->rows = nr;
				t->cap = cap;
			}
			t->rows[t->n++] = (struct vg_hits_row){ f[0], f[1], own, other, benign };
		}
		line = eol ? eol + 1 : NULL;
	}
	return 0;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	if (!f)
		return NULL;
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536 * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Compares the actual rows with the expectation file; prints each difference. Returns differences or -1. */
static long compare(const char *file, struct hc_row *rows, size_t n)
{
	char *text = read_all(file);
	struct vg_hits_table t;
	long diffs = 0;

	if (!text) {
		fprintf(stderr, "vigil: rules hits: cannot read --expect %s: %s\n", file, strerror(errno));
		return -1;
	}
	if (vg_cli_hits_parse(file, text, &t)) {
		free(t.rows);
		free(text);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vg_hits_row *e = NULL;
		for (size_t k = 0; k < t.n && !e; k++)
			if (strcmp(t.rows[k].id, rows[i].id) == 0)
				e = &t.rows[k];
		long eo = e ? e->own : -1, ex = e ? e->other : 0, eb = e ? e->benign : 0;
		if (e)
			((struct vg_hits_row *)e)->title = NULL; /* mark as seen */
		if (eo != rows[i].own || ex != rows[i].other || eb != rows[i].benign) {
			printf("DIFF %s %s: own %ld -> %ld, other %ld -> %ld, benign %ld -> %ld%s\n", rows[i].id,
			       rows[i].title ? rows[i].title : "", eo, rows[i].own, ex, rows[i].other, eb, rows[i].benign,
			       e ? "" : " (not in the expectation)");
			diffs++;
		}
	}
	for (size_t k = 0; k < t.n; k++)
		if (t.rows[k].title) { /* expected but no longer produced: the rule vanished or stopped firing */
			printf("DIFF %s %s: own %ld -> -, other %ld -> 0, benign %ld -> 0 (rule not loaded or silent)\n",
			       t.rows[k].id, t.rows[k].title, t.rows[k].own, t.rows[k].other, t.rows[k].benign);
			diffs++;
		}
	free(t.rows);
	free(text);
	return diffs;
}

int vg_cli_rules_hits(struct vg_ruleset *rs, char **case_dirs, int ndirs, char **benign, int nbenign,
		      const char *resolvers, const char *expect, const char *write, int verbose)
{
	const char *def[2] = { "../shared/data/sigma/regression_data", "tests/data/rules" };
	size_t nrules = vg_ruleset_count(rs);
	long *other = calloc(nrules + 1, sizeof(long)), *ben = calloc(nrules + 1, sizeof(long));
	long *own = malloc((nrules + 1) * sizeof(long));
	int rc = 2;

	if (!other || !ben || !own)
		goto out;
	for (size_t i = 0; i < nrules; i++)
		own[i] = -1;
	nhcases = 0;
	if (ndirs == 0) {
		case_dirs = (char **)def;
		ndirs = 2;
	}
	for (int i = 0; i < ndirs; i++)
		if (nftw(case_dirs[i], collect_case, 16, FTW_PHYS) != 0) {
			fprintf(stderr, "vigil: rules hits: cannot walk %s\n", case_dirs[i]);
			goto out;
		}
	qsort(hcases, nhcases, sizeof(*hcases), cmp_hcase);

	for (size_t c = 0; c < nhcases; c++) {
		const struct hc_case *hc = &hcases[c];
		const char *in[1] = { hc->sample };
		long own_hits = 0;
		if (count_alerts(rs, in, 1, resolvers, other, hc->id, &own_hits)) {
			fprintf(stderr, "vigil: rules hits: %s: the pipeline failed on this sample\n", hc->sample);
			goto out;
		}
		for (size_t i = 0; i < nrules; i++)
			if (strcmp(vg_ruleset_rule(rs, i)->id, hc->id) == 0) {
				own[i] = (own[i] < 0 ? 0 : own[i]) + own_hits;
				break;
			}
		if (verbose)
			fprintf(stderr, "vigil: rules hits: %s: own rule %s fired %ld times\n", hc->sample, hc->id, own_hits);
		if (hc->match_count >= 0 && own_hits != hc->match_count)
			fprintf(stderr, "vigil: rules hits: note: %s fired %ld times on its case, %sinfo.yml says match_count %ld\n",
				hc->id, own_hits, hc->dir, hc->match_count);
	}
	if (nbenign && count_alerts(rs, (const char *const *)benign, (size_t)nbenign, resolvers, ben, NULL, NULL)) {
		fprintf(stderr, "vigil: rules hits: the pipeline failed on the benign input\n");
		goto out;
	}

	struct hc_row *rows = calloc(nrules + 1, sizeof(*rows));
	size_t n = 0;
	if (!rows)
		goto out;
	for (size_t i = 0; i < nrules; i++) {
		const struct vg_rule *r = vg_ruleset_rule(rs, i);
		if (own[i] < 0 && !other[i] && !ben[i])
			continue;
		rows[n++] = (struct hc_row){ r->id, r->title, own[i], other[i], ben[i], 0 };
	}
	qsort(rows, n, sizeof(*rows), cmp_row);

	long silent = 0;
	for (size_t i = 0; i < n; i++)
		silent += rows[i].own == 0;
	fprintf(stderr, "vigil: rules hits: %zu rules, %zu cases, %d benign inputs; %zu rules in the table, %ld silent on their own case\n",
		nrules, nhcases, nbenign, n, silent);

	rc = 0;
	if (write) {
		FILE *f = strcmp(write, "-") == 0 ? stdout : fopen(write, "w");
		if (!f) {
			fprintf(stderr, "vigil: rules hits: cannot write %s: %s\n", write, strerror(errno));
			rc = 2;
		} else {
			write_table(f, rows, n);
			if (f != stdout && fclose(f)) {
				fprintf(stderr, "vigil: rules hits: cannot write %s\n", write);
				rc = 2;
			}
		}
	} else if (!expect)
		write_table(stdout, rows, n);
	if (expect && rc == 0) {
		long d = compare(expect, rows, n);
		if (d < 0)
			rc = 2;
		else {
			printf("rules hits: %ld rules differ from %s\n", d, expect);
			rc = d ? 1 : 0;
		}
	}
	free(rows);
out:
	for (size_t c = 0; c < nhcases; c++) {
		free(hcases[c].dir);
		free(hcases[c].id);
		free(hcases[c].sample);
	}
	free(hcases);
	hcases = NULL;
	nhcases = hcases_cap = 0;
	free(other);
	free(ben);
	free(own);
	return rc;
}
