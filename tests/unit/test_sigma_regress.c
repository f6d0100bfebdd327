/* test_sigma_regress.c - SigmaHQ regression data: each rule must match its sample events at least match_count times. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vigil/json.h"
#include "vigil/sigma.h"
#include "engine/sigma_ext.h"
#include "test.h"

/* evtx_dump JSON -> event: System values as Sigma's Windows field names, EventData/UserData items by name. */
static int event_from_doc(const struct vg_json_doc *doc, struct vg_event *ev)
{
	static const struct { const char *path, *field; } sys[] = {
		{ "Event.System.EventID", "EventID" },
		{ "Event.System.EventID.#text", "EventID" },
		{ "Event.System.Provider.#attributes.Name", "Provider_Name" },
		{ "Event.System.Channel", "Channel" },
		{ "Event.System.Computer", "Computer" },
		{ "Event.System.EventRecordID", "EventRecordID" },
	};
	vg_event_reset(ev);
	ev->platform = VG_PLATFORM_WINDOWS;
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		const char *value = l->type == VG_JSON_NULL ? "" : l->value;
		size_t vlen = l->type == VG_JSON_NULL ? 0 : l->value_len;
		for (size_t k = 0; k < sizeof(sys) / sizeof(*sys); k++) {
			if (strcmp(l->path, sys[k].path) == 0) {
				vg_event_add_field(ev, sys[k].field, strlen(sys[k].field), value, vlen);
				if (strcmp(sys[k].field, "EventID") == 0)
					ev->event_id = (uint32_t)strtoul(value, NULL, 10);
				if (strcmp(sys[k].field, "Channel") == 0)
					ev->channel = vg_event_strdup(ev, value, vlen);
			}
		}
		if (strcmp(l->path, "Event.System.TimeCreated.#attributes.SystemTime") == 0)
			vg_time_parse(value, vlen, &ev->time_ns);
		const char *name = NULL;
		if (strncmp(l->path, "Event.EventData.", 16) == 0)
			name = l->path + 16;
		else if (strncmp(l->path, "Event.UserData.", 15) == 0 && strchr(l->path + 15, '.'))
			name = strrchr(l->path, '.') + 1;
		if (name && !strchr(name, '.') && name[0] != '#') {
			/* the Sigma spec names fields without their spaces ("Source Name" -> SourceName) */
			char buf[256];
			size_t k = 0;
			for (const char *p = name; *p && k + 1 < sizeof(buf); p++)
				if (*p != ' ')
					buf[k++] = *p;
			vg_event_add_field(ev, buf, k, value, vlen);
		}
	}
	ev->nraw = ev->nfields;
	if (ev->channel && strcmp(ev->channel, "Microsoft-Windows-Sysmon/Operational") == 0)
		ev->source = VG_SRC_SYSMON;
	else if (ev->channel && strcmp(ev->channel, "Security") == 0)
		ev->source = VG_SRC_SECURITY;
	else
		ev->source = VG_SRC_WINDOWS;
	return 0;
}

struct counter {
	char ids[8][64];
	int counts[8];
	int nids;
};

static void count_match(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	struct counter *c = ctx;
	(void)ev;
	for (int i = 0; i < c->nids; i++)
		if (strcmp(r->id, c->ids[i]) == 0)
			c->counts[i]++;
}

struct regress {
	struct vg_ruleset *rs, *plain; /* plain: the same rules without the prefilter */
	struct vg_event *ev;
	int cases, failures, skipped;
	long events, matches, differences;
};

struct hits {
	const struct vg_rule *r[64];
	int n;
};

static void collect_hit(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	struct hits *h = ctx;
	(void)ev;
	if (h->n < 64)
		h->r[h->n] = r;
	h->n++;
}

/* Every event is also matched without the prefilter: both must report the same rules, in order. */
static void differential(struct regress *g, const struct vg_event *ev)
{
	struct hits a = { 0 }, b = { 0 };
	vg_ruleset_match(g->rs, ev, collect_hit, &a);
	vg_ruleset_match(g->plain, ev, collect_hit, &b);
	g->events++;
	g->matches += a.n;
	int same = a.n == b.n;
	for (int i = 0; same && i < a.n && i < 64; i++) /* same rule: same file and line */
		same = a.r[i]->line == b.r[i]->line && strcmp(a.r[i]->file, b.r[i]->file) == 0;
	if (!same) {
		g->differences++;
		fprintf(stderr, "    prefilter changed the result: %d vs %d matches (record %llu)\n", a.n, b.n,
			(unsigned long long)ev->record_id);
	}
}

static void check_case(struct regress *g, const char *dir)
{
	char path[4096], line[512];
	struct counter c = { 0 };
	int expect = 1; /* match_count is a minimum; absent means at least one */
	FILE *f;

	snprintf(path, sizeof(path), "%s/info.yml", dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (p != line && strncmp(p, "- id: ", 6) == 0 && c.nids < 8)
			sscanf(p + 6, "%63s", c.ids[c.nids++]);
		if (strncmp(p, "match_count:", 12) == 0 && line[0] == ' ')
			expect = atoi(p + 12);
	}
	fclose(f);
	if (c.nids == 0) {
		g->skipped++;
		return;
	}
	DIR *d = opendir(dir);
	struct dirent *e;
	int events = 0;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct vg_json_reader *r;
		struct vg_json_doc doc;
		const char *data;
		size_t len;
		uint64_t off, ln;
		if (vg_json_reader_open(path, 1 << 24, &r))
			continue;
		vg_json_doc_init(&doc);
		while (vg_json_reader_next(r, &data, &len, &off, &ln) == 1) {
			if (vg_json_flatten(&doc, data, len, NULL))
				continue;
			event_from_doc(&doc, g->ev);
			vg_ruleset_match(g->rs, g->ev, count_match, &c);
			differential(g, g->ev);
			events++;
		}
		vg_json_doc_free(&doc);
		vg_json_reader_free(r);
	}
	if (d)
		closedir(d);
	if (events == 0) { /* a sample in a form we do not read (raw text) */
		g->skipped++;
		return;
	}
	g->cases++;
	for (int i = 0; i < c.nids; i++) {
		if (c.counts[i] < expect) {
			g->failures++;
			fprintf(stderr, "    regression: rule %s matched %d of %d events, expected at least %d (%s)\n", c.ids[i],
				c.counts[i], events, expect, dir);
		}
	}
}

static void walk(struct regress *g, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char sub[4096];
	struct stat st;
	int has_info = 0;

	if (!d || depth > 12) {
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (strcmp(e->d_name, "info.yml") == 0)
			has_info = 1;
		else if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			walk(g, sub, depth + 1);
	}
	closedir(d);
	if (has_info)
		check_case(g, dir);
}

TEST(sigma_regression_sigmahq)
{
	static const char *const dirs[] = { "rules", "rules-emerging-threats", "rules-threat-hunting" };
	struct regress g = { 0 };
	char path[1024];

	ASSERT_EQ(vg_ruleset_new(&g.rs), 0);
	ASSERT_EQ(vg_ruleset_new(&g.plain), 0);
	vg_ruleset_set_prefilter(g.plain, 0);
	ASSERT_TRUE((g.ev = vg_event_new()) != NULL);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/sigma/%s", vg_test_shared_dir(), dirs[i]);
		ASSERT_GE(vg_ruleset_load_path(g.rs, path, NULL, NULL), 0);
		ASSERT_GE(vg_ruleset_load_path(g.plain, path, NULL, NULL), 0);
	}
	snprintf(path, sizeof(path), "%s/sigma/regression_data", vg_test_shared_dir());
	walk(&g, path, 0);
	fprintf(stderr, "    sigma regression: %d cases, %d failures, %d skipped; %ld events, %ld matches, "
		"%ld prefilter differences\n", g.cases, g.failures, g.skipped, g.events, g.matches, g.differences);
	vg_event_free(g.ev);
	vg_ruleset_free(g.rs);
	vg_ruleset_free(g.plain);
	ASSERT_GE(g.cases, 150);
	ASSERT_EQ(g.failures, 0);
	ASSERT_EQ(g.differences, 0);
	ASSERT_GE(g.matches, g.cases);
}
