/* test_sigma_corr.c - Sigma correlation rules: each type, group-by, window edges, out-of-order matches, the group bound, ancestor grouping, chaining, generate, load errors, and the live agent pipeline with a rule reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/agent.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"
#include "vigil/source.h"
#include "engine/sigma_ext.h"
#include "test.h"

#define MS 1000000LL
#define BASE_NS (1500000000LL * 1000000000LL) /* event time 0 of the tests */

/* Three base rules: rule_a, rule_b, rule_c match process creations with Kind a, b, c. */
static const char base_rules[] =
	"title: A\nid: aaaaaaaa-0000-4000-8000-000000000001\nname: rule_a\n"
	"logsource: {product: windows, category: process_creation}\n"
	"detection: {sel: {Kind: a}, condition: sel}\nlevel: low\n"
	"---\n"
	"title: B\nid: aaaaaaaa-0000-4000-8000-000000000002\nname: rule_b\n"
	"logsource: {product: windows, category: process_creation}\n"
	"detection: {sel: {Kind: b}, condition: sel}\nlevel: low\n"
	"---\n"
	"title: C\nid: aaaaaaaa-0000-4000-8000-000000000003\nname: rule_c\n"
	"logsource: {product: windows, category: process_creation}\n"
	"detection: {sel: {Kind: c}, condition: sel}\nlevel: low\n";

struct fx {
	struct vg_ruleset *rs;
	struct vg_corr *c;
	struct vg_tree *tree;
	int hits;
	char rule[16][64];
	char group[16][256];
	int64_t count[16];
	size_t nrefs[16];
	int64_t first_ref_ms[16];
	int errors;
	unsigned err_line;
	char err[256];
};

static void on_err(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct fx *f = ctx;
	(void)file;
	if (!f->errors++) {
		f->err_line = line;
		snprintf(f->err, sizeof(f->err), "%s", reason);
	}
}

static void on_hit(const struct vg_corr_hit *h, void *ctx)
{
	struct fx *f = ctx;
	if (f->hits < 16) {
		snprintf(f->rule[f->hits], sizeof(f->rule[0]), "%s", h->corr->name ? h->corr->name : h->corr->id);
		snprintf(f->group[f->hits], sizeof(f->group[0]), "%s", h->group);
		f->count[f->hits] = h->count;
		f->nrefs[f->hits] = h->nrefs;
		f->first_ref_ms[f->hits] = (h->refs[0].time_ns - BASE_NS) / MS;
	}
	f->hits++;
}

static void on_match(const struct vg_rule *rule, const struct vg_event *ev, void *ctx)
{
	struct fx *f = ctx;
	vg_corr_feed(f->c, rule, ev, on_hit, f);
}

/* Loads the base rules plus corr (a YAML document or several) and starts the state. 0 ok. */
static int fx_open(struct fx *f, const char *corr, size_t max_groups, int64_t slack_ns, int with_tree)
{
	memset(f, 0, sizeof(*f));
	if (vg_ruleset_new(&f->rs))
		return -1;
	vg_ruleset_set_field_check(f->rs, 0); /* synthetic field names (User, Dest) */
	if (vg_ruleset_load_text(f->rs, "base.yml", base_rules, strlen(base_rules), on_err, f) != 3)
		return -1;
	vg_ruleset_load_text(f->rs, "corr.yml", corr, strlen(corr), on_err, f);
	vg_ruleset_link(f->rs, on_err, f);
	if (with_tree && vg_tree_new(NULL, &f->tree))
		return -1;
	struct vg_corr_config cc = { .max_groups = max_groups, .slack_ns = slack_ns };
	return vg_corr_new(f->rs, &cc, f->tree, &f->c);
}

static void fx_close(struct fx *f)
{
	vg_corr_free(f->c);
	vg_tree_free(f->tree);
	vg_ruleset_free(f->rs);
}

/* A process creation of process key (its parent: parent_key) at t_ms with Kind and User. */
static struct vg_event *mkev(int64_t t_ms, const char *kind, const char *user, const char *key, const char *parent_key)
{
	struct vg_event *ev = vg_event_new();
	ev->platform = VG_PLATFORM_WINDOWS;
	ev->source = VG_SRC_SYSMON;
	ev->event_id = 1;
	ev->type = VG_EV_PROCESS_START;
	ev->time_ns = BASE_NS + t_ms * MS;
	ev->host = "HOST";
	vg_event_add_field(ev, "EventID", 7, "1", 1);
	if (kind)
		vg_event_add_field(ev, "Kind", 4, kind, strlen(kind));
	if (user)
		vg_event_add_field(ev, "User", 4, user, strlen(user));
	vg_event_add_field(ev, "Target", 6, "t", 1);
	ev->nraw = ev->nfields;
	if (key) {
		ev->proc.key = vg_event_strdup(ev, key, strlen(key));
		ev->proc.image = "C:\\x.exe";
	}
	if (parent_key)
		ev->parent.key = vg_event_strdup(ev, parent_key, strlen(parent_key));
	return ev;
}

/* Feeds one event: tree (when there is one), rules, then time. */
static void feed_ev(struct fx *f, struct vg_event *ev)
{
	if (f->tree)
		vg_tree_update(f->tree, ev);
	vg_ruleset_match(f->rs, ev, on_match, f);
	vg_corr_advance(f->c, ev->time_ns, on_hit, f);
	vg_event_free(ev);
}

static void feed(struct fx *f, int64_t t_ms, const char *kind, const char *user)
{
	feed_ev(f, mkev(t_ms, kind, user, "{P1}", NULL));
}

static void feed_target(struct fx *f, int64_t t_ms, const char *target)
{
	struct vg_event *ev = mkev(t_ms, "a", "u", "{P1}", NULL);
	vg_event_add_field(ev, "Dest", 4, target, strlen(target));
	feed_ev(f, ev);
}

#define CORR(type, extra)                                                              \
	"title: Corr\nid: cccccccc-0000-4000-8000-000000000001\nname: corr\nlevel: high\n" \
	"correlation:\n    type: " type "\n" extra

/* ---- event_count ---- */

TEST(corr_event_count_group_by)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, CORR("event_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 10s\n"
					       "    condition: {gte: 3}\n"), 0, 0, 0), 0);
	ASSERT_EQ(f.errors, 0);
	ASSERT_EQ(vg_corr_count(f.c), 1);
	feed(&f, 0, "a", "alice");
	feed(&f, 1000, "a", "bob");
	feed(&f, 2000, "a", "alice");
	feed(&f, 3000, "b", "alice"); /* another rule: not counted */
	feed(&f, 4000, "a", "bob");
	ASSERT_EQ(f.hits, 0);
	feed(&f, 5000, "a", "alice");
	ASSERT_EQ(f.hits, 1);
	ASSERT_STR_EQ(f.group[0], "User=alice");
	ASSERT_EQ(f.count[0], 3);
	ASSERT_EQ(f.nrefs[0], 3);
	/* the matches were consumed: the next one starts again */
	feed(&f, 6000, "a", "alice");
	ASSERT_EQ(f.hits, 1);
	/* an event without the group-by field takes no part */
	feed(&f, 6500, "a", NULL);
	ASSERT_EQ(vg_corr_stats(f.c)->ungrouped, 1);
	fx_close(&f);
}

TEST(corr_window_edges_inclusive)
{
	struct fx f;
	const char *y = CORR("event_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 10s\n"
					    "    condition: {gte: 2}\n");
	/* exactly the timespan apart: inside */
	ASSERT_EQ(fx_open(&f, y, 0, 0, 0), 0);
	feed(&f, 0, "a", "u");
	feed(&f, 10000, "a", "u");
	ASSERT_EQ(f.hits, 1);
	fx_close(&f);
	/* one millisecond more: outside */
	ASSERT_EQ(fx_open(&f, y, 0, 0, 0), 0);
	feed(&f, 0, "a", "u");
	feed(&f, 10001, "a", "u");
	ASSERT_EQ(f.hits, 0);
	feed(&f, 20001, "a", "u"); /* the second and third are within 10 s */
	ASSERT_EQ(f.hits, 1);
	ASSERT_EQ(f.first_ref_ms[0], 10001);
	fx_close(&f);
}

TEST(corr_out_of_order_within_slack)
{
	struct fx f;
	const char *y = CORR("event_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 10s\n"
					    "    condition: {gte: 3}\n");
	/* 0 and 20 s arrive first, then 10 s late: the windows [0,10] and [10,20] each hold 2, never 3 */
	ASSERT_EQ(fx_open(&f, y, 0, 5000 * MS, 0), 0);
	feed(&f, 0, "a", "u");
	feed(&f, 20000, "a", "u");
	feed(&f, 10000, "a", "u");
	ASSERT_EQ(f.hits, 0);
	/* 12 s late: [10,20] now holds 10, 12, 20 */
	feed(&f, 12000, "a", "u");
	ASSERT_EQ(f.hits, 1);
	ASSERT_EQ(f.first_ref_ms[0], 10000);
	ASSERT_EQ(f.nrefs[0], 3);
	ASSERT_GE(vg_corr_stats(f.c)->late, 2);
	fx_close(&f);
	/* a late match older than the window of everything held does not join it */
	ASSERT_EQ(fx_open(&f, y, 0, 5000 * MS, 0), 0);
	feed(&f, 30000, "a", "u");
	feed(&f, 31000, "a", "u");
	feed(&f, 19999, "a", "u"); /* 30 - 19.999 > 10 s */
	ASSERT_EQ(f.hits, 0);
	feed(&f, 20000, "a", "u"); /* exactly 10 s before 30: the window [20,30] holds 20, 30 and... */
	ASSERT_EQ(f.hits, 0);      /* ...19.999 is outside it, 31 too: 2 */
	feed(&f, 25000, "a", "u");
	ASSERT_EQ(f.hits, 1);
	fx_close(&f);
}

/* ---- value_count ---- */

TEST(corr_value_count_distinct)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, CORR("value_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 1m\n"
					       "    condition: {field: Dest, gte: 3}\n"), 0, 0, 0), 0);
	ASSERT_EQ(f.errors, 0);
	feed_target(&f, 0, "h1");
	feed_target(&f, 1000, "h2");
	feed_target(&f, 2000, "h1");
	feed_target(&f, 3000, "h2");
	ASSERT_EQ(f.hits, 0);
	feed_target(&f, 4000, "h3");
	ASSERT_EQ(f.hits, 1);
	ASSERT_EQ(f.count[0], 3);
	ASSERT_EQ(f.nrefs[0], 5);
	fx_close(&f);
}

/* ---- temporal ---- */

TEST(corr_temporal_any_order)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, CORR("temporal", "    rules: [rule_a, rule_b, rule_c]\n    group-by: [User]\n"
					    "    timespan: 30s\n"), 0, 0, 0), 0);
	feed(&f, 0, "c", "u");
	feed(&f, 1000, "a", "u");
	feed(&f, 1500, "a", "v");
	ASSERT_EQ(f.hits, 0);
	feed(&f, 2000, "b", "u");
	ASSERT_EQ(f.hits, 1);
	ASSERT_EQ(f.count[0], 3);
	ASSERT_STR_EQ(f.group[0], "User=u");
	fx_close(&f);
	/* with a condition: at least two of the three rules */
	ASSERT_EQ(fx_open(&f, CORR("temporal", "    rules: [rule_a, rule_b, rule_c]\n    group-by: [User]\n"
					    "    timespan: 30s\n    condition: {gte: 2}\n"), 0, 0, 0), 0);
	feed(&f, 0, "a", "u");
	feed(&f, 1000, "a", "u");
	ASSERT_EQ(f.hits, 0);
	feed(&f, 2000, "c", "u");
	ASSERT_EQ(f.hits, 1);
	ASSERT_EQ(f.count[0], 2);
	fx_close(&f);
}

/* ---- temporal_ordered ---- */

TEST(corr_temporal_ordered_order_and_late)
{
	struct fx f;
	const char *y = CORR("temporal_ordered", "    rules: [rule_a, rule_b, rule_c]\n    group-by: [User]\n"
						 "    timespan: 30s\n");
	ASSERT_EQ(fx_open(&f, y, 0, 5000 * MS, 0), 0);
	feed(&f, 0, "b", "u");
	feed(&f, 1000, "a", "u");
	feed(&f, 2000, "c", "u"); /* a, c: no b between */
	ASSERT_EQ(f.hits, 0);
	feed(&f, 3000, "b", "u");
	ASSERT_EQ(f.hits, 0);
	feed(&f, 4000, "c", "u"); /* a(1) b(3) c(4) */
	ASSERT_EQ(f.hits, 1);
	ASSERT_EQ(f.first_ref_ms[0], 1000);
	ASSERT_EQ(f.nrefs[0], 3);
	fx_close(&f);
	/* arrival order b, c, then a late but earlier in time: ordered by event time, it fires */
	ASSERT_EQ(fx_open(&f, y, 0, 5000 * MS, 0), 0);
	feed(&f, 2000, "b", "u");
	feed(&f, 3000, "c", "u");
	ASSERT_EQ(f.hits, 0);
	feed(&f, 1000, "a", "u");
	ASSERT_EQ(f.hits, 1);
	fx_close(&f);
	/* the chain must fit in the timespan from its first step: a(0) b(20) c(30.001) does not */
	ASSERT_EQ(fx_open(&f, y, 0, 0, 0), 0);
	feed(&f, 0, "a", "u");
	feed(&f, 20000, "b", "u");
	feed(&f, 30001, "c", "u");
	ASSERT_EQ(f.hits, 0);
	fx_close(&f);
	ASSERT_EQ(fx_open(&f, y, 0, 0, 0), 0);
	feed(&f, 0, "a", "u");
	feed(&f, 20000, "b", "u");
	feed(&f, 30000, "c", "u");
	ASSERT_EQ(f.hits, 1);
	fx_close(&f);
}

/* ---- conditions decided when the window closes ---- */

TEST(corr_lt_fires_when_window_closes)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, CORR("event_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 10s\n"
					       "    condition: {lt: 3}\n"), 0, 1000 * MS, 0), 0);
	feed(&f, 0, "a", "few");
	feed(&f, 1000, "a", "few");
	feed(&f, 0, "a", "many");
	feed(&f, 1000, "a", "many");
	feed(&f, 2000, "a", "many");
	feed(&f, 10500, "b", "x"); /* time passes; window [0,10] + 1 s slack still open */
	ASSERT_EQ(f.hits, 0);
	feed(&f, 11001, "b", "x");
	ASSERT_EQ(f.hits, 1);
	ASSERT_STR_EQ(f.group[0], "User=few");
	ASSERT_EQ(f.count[0], 2);
	fx_close(&f);
	/* flush closes what is still open */
	ASSERT_EQ(fx_open(&f, CORR("event_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 10s\n"
					       "    condition: {eq: 1}\n"), 0, 0, 0), 0);
	feed(&f, 0, "a", "one");
	ASSERT_EQ(f.hits, 0);
	ASSERT_EQ(vg_corr_flush(f.c, on_hit, &f), 0);
	ASSERT_EQ(f.hits, 1);
	fx_close(&f);
}

/* ---- bounded state ---- */

TEST(corr_group_bound_and_expiry)
{
	struct fx f;
	char user[32];
	ASSERT_EQ(fx_open(&f, CORR("event_count", "    rules: [rule_a]\n    group-by: [User]\n    timespan: 10s\n"
					       "    condition: {gte: 2}\n"), 4, 0, 0), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		feed(&f, i, "a", user);
	}
	ASSERT_EQ(vg_corr_stats(f.c)->groups, 4);
	ASSERT_EQ(vg_corr_stats(f.c)->groups_evicted, 6);
	feed(&f, 20, "a", "user0"); /* its group was evicted: this is its first match again */
	ASSERT_EQ(f.hits, 0);
	feed(&f, 30, "a", "user9"); /* still held */
	ASSERT_EQ(f.hits, 1);
	/* past the timespan every group expires */
	feed(&f, 60000, "b", "x");
	ASSERT_EQ(vg_corr_stats(f.c)->groups, 0);
	fx_close(&f);
}

/* ---- process tree ---- */

static void start(struct fx *f, int64_t t_ms, const char *kind, const char *key, const char *parent)
{
	feed_ev(f, mkev(t_ms, kind, "u", key, parent));
}

TEST(corr_ancestor_keys_group_at_common_ancestor)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, CORR("temporal_ordered", "    rules: [rule_a, rule_b, rule_c]\n"
						    "    group-by: [VigilAncestorKeys]\n    timespan: 1m\n"), 0, 0, 1), 0);
	/* root -> p -> (c1, c2), c2 -> g; and an unrelated branch root -> q */
	start(&f, 0, "x", "{ROOT}", NULL);
	start(&f, 100, "x", "{P}", "{ROOT}");
	start(&f, 200, "a", "{C1}", "{P}");  /* step a in c1 */
	start(&f, 300, "b", "{Q}", "{ROOT}"); /* step b elsewhere: joins only ROOT's group */
	start(&f, 400, "x", "{C2}", "{P}");
	start(&f, 500, "b", "{G}", "{C2}");  /* step b under p */
	ASSERT_EQ(f.hits, 0);
	start(&f, 600, "c", "{G2}", "{C1}"); /* step c under c1: a, b, c meet at P */
	ASSERT_EQ(f.hits, 1);
	ASSERT_STR_EQ(f.group[0], "VigilAncestorKeys=P");
	/* one hit, not one more per ancestor (ROOT holds the same steps) */
	start(&f, 700, "x", "{Z}", "{ROOT}");
	ASSERT_EQ(f.hits, 1);
	fx_close(&f);

	/* grouped by the process key instead, different processes never correlate */
	ASSERT_EQ(fx_open(&f, CORR("temporal_ordered", "    rules: [rule_a, rule_b]\n"
						    "    group-by: [VigilProcessKey]\n    timespan: 1m\n"), 0, 0, 1), 0);
	start(&f, 0, "a", "{C1}", "{P}");
	start(&f, 100, "b", "{C2}", "{P}");
	ASSERT_EQ(f.hits, 0);
	fx_close(&f);
}

/* ---- chaining, generate, aliases ---- */

TEST(corr_chained_and_generate)
{
	struct fx f;
	const char *y =
		"title: Many a\nid: cccccccc-0000-4000-8000-000000000002\nname: many_a\n"
		"correlation: {type: event_count, rules: [rule_a], group-by: [User], timespan: 10s, condition: {gte: 2}}\n"
		"---\n"
		"title: Many a then b\nid: cccccccc-0000-4000-8000-000000000003\nname: many_a_then_b\nlevel: critical\n"
		"correlation: {type: temporal_ordered, rules: [many_a, rule_b], group-by: [User], timespan: 1m}\n";
	ASSERT_EQ(fx_open(&f, y, 0, 0, 0), 0);
	ASSERT_EQ(f.errors, 0);
	ASSERT_EQ(vg_corr_count(f.c), 2);
	feed(&f, 0, "a", "u");
	feed(&f, 1000, "a", "u");
	ASSERT_EQ(f.hits, 1);
	feed(&f, 2000, "b", "u");
	ASSERT_EQ(f.hits, 2);
	ASSERT_STR_EQ(f.rule[1], "many_a_then_b");
	/* generate: false (the default) silences what a correlation names */
	const struct vg_sigma_correlation *many = vg_ruleset_correlation(f.rs, 0);
	ASSERT_EQ(many->generates, 0);
	ASSERT_EQ(vg_ruleset_correlation(f.rs, 1)->generates, 1);
	ASSERT_EQ(vg_rule_generates(&many->rule), 0);
	ASSERT_EQ(vg_rule_generates(&vg_ruleset_correlation(f.rs, 1)->rule), 1);
	ASSERT_EQ(vg_corr_feed(f.c, &many->rule, NULL, on_hit, &f), 0); /* a correlation's rule is not fed from outside */
	ASSERT_EQ(f.hits, 2);
	ASSERT_EQ(vg_rule_generates(vg_ruleset_rule(f.rs, 1)), 0); /* rule_b */
	ASSERT_EQ(vg_rule_generates(vg_ruleset_rule(f.rs, 2)), 1); /* rule_c: not named */
	fx_close(&f);
	ASSERT_EQ(fx_open(&f, CORR("temporal", "    rules: [rule_a, rule_b]\n    group-by: [User]\n"
					    "    timespan: 1m\n    generate: true\n"), 0, 0, 0), 0);
	ASSERT_EQ(vg_rule_generates(vg_ruleset_rule(f.rs, 0)), 1);
	fx_close(&f);
}

TEST(corr_aliases)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, CORR("temporal", "    rules: [rule_a, rule_b]\n    group-by: [who]\n    timespan: 1m\n"
					    "    aliases:\n        who:\n            rule_a: User\n            rule_b: Dest\n"),
			  0, 0, 0), 0);
	ASSERT_EQ(f.errors, 0);
	feed(&f, 0, "a", "mallory");
	struct vg_event *ev = mkev(1000, "b", "someone-else", "{P1}", NULL);
	vg_event_add_field(ev, "Dest", 4, "mallory", 7);
	feed_ev(&f, ev);
	ASSERT_EQ(f.hits, 1);
	ASSERT_STR_EQ(f.group[0], "who=mallory");
	fx_close(&f);
}

/* ---- load errors ---- */

TEST(corr_missing_rule_is_a_load_error)
{
	struct fx f;
	ASSERT_EQ(fx_open(&f, "title: Corr\nid: cccccccc-0000-4000-8000-000000000009\n"
			      "correlation:\n    type: temporal\n    rules:\n        - rule_a\n        - no_such_rule\n"
			      "    group-by: [User]\n    timespan: 5m\n", 0, 0, 0), 0);
	ASSERT_EQ(f.errors, 1);
	ASSERT_EQ(f.err_line, 7); /* the line naming the missing rule */
	ASSERT_TRUE(strstr(f.err, "no_such_rule") != NULL);
	ASSERT_TRUE(strstr(f.err, "not loaded") != NULL);
	ASSERT_EQ(vg_corr_count(f.c), 0); /* dropped, never evaluated */
	struct vg_sigma_stats st;
	vg_ruleset_stats(f.rs, &st);
	ASSERT_EQ(st.failed, 1);
	fx_close(&f);

	/* a reference resolved by a later load is fine; other errors name their line too */
	struct { const char *yaml; unsigned line; const char *why; } bad[] = {
		{ CORR("event_count", "    rules: [rule_a]\n    timespan: 5m\n"), 6, "needs a condition" },
		{ CORR("temporal", "    rules: [rule_a]\n    timespan: 5 minutes\n"), 8, "invalid timespan" },
		{ CORR("value_count", "    rules: [rule_a]\n    timespan: 5m\n    condition: {gte: 2}\n"), 6, "condition.field" },
		{ CORR("event_count", "    rules: [rule_a]\n    timespan: 5m\n    condition: {gte: many}\n"), 9, "integer" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ASSERT_EQ(fx_open(&f, bad[i].yaml, 0, 0, 0), 0);
		if (f.errors != 1 || f.err_line != bad[i].line || !strstr(f.err, bad[i].why))
			VG_FAIL_("case %zu: %d errors, line %u: %s", i, f.errors, f.err_line, f.err);
		fx_close(&f);
	}
}

TEST(corr_link_across_files)
{
	struct vg_ruleset *rs;
	struct fx f = { 0 };
	const char *corr = CORR("temporal", "    rules: [rule_a, rule_b]\n    timespan: 5m\n");
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	vg_ruleset_set_field_check(rs, 0);
	/* the correlation first, its rules later: linked once they are there */
	vg_ruleset_load_text(rs, "c.yml", corr, strlen(corr), on_err, &f);
	ASSERT_EQ(vg_ruleset_correlation(rs, 0)->linked, 0);
	vg_ruleset_load_text(rs, "base.yml", base_rules, strlen(base_rules), on_err, &f);
	ASSERT_EQ(vg_ruleset_correlation(rs, 0)->linked, 1);
	ASSERT_EQ(vg_ruleset_link(rs, on_err, &f), 0);
	ASSERT_EQ(f.errors, 0);
	vg_ruleset_free(rs);
}

/* ---- the live agent: same hit as the hunt; a rule reload restarts the correlation state ---- */


/* Replays the Dofoil scenario through a vigild pipeline, reloading the rules before line reload_at (0: never); returns correlation alerts. */
static int agent_chain_hits(int reload_at)
{
	struct vg_agent_config cfg;
	struct vg_agent *a;
	struct vg_source *src;
	char err[256], *log = NULL;
	const char *path = "/tmp/vigil-test-corr-alerts.jsonl";
	int line = 0, hits = 0;

	unlink(path);
	if (vg_agent_config_defaults(&cfg) || vg_agent_config_set(&cfg, "alert_log", path, err, sizeof(err)) ||
	    vg_agent_config_set(&cfg, "resolvers", "192.168.1.1", err, sizeof(err)) ||
	    vg_agent_new(&cfg, &a, err, sizeof(err)))
		return -1;
	if (vg_source_open(VIGIL_SOURCE_DIR "/tests/data/dofoil/scenario.json", VG_FMT_AUTO, &src)) {
		vg_agent_free(a);
		return -1;
	}
	struct vg_event *ev = vg_event_new();
	while (vg_source_next(src, ev) == 1) {
		if (++line == reload_at && vg_agent_reload(a, &cfg, err, sizeof(err)))
			hits = -100;
		vg_agent_handle(a, ev);
		vg_event_reset(ev);
	}
	vg_event_free(ev);
	vg_source_free(src);
	vg_agent_free(a);
	vg_agent_config_free(&cfg);
	if (vg_test_run("cat /tmp/vigil-test-corr-alerts.jsonl", &log) == 0 && log)
		for (const char *p = log; (p = strstr(p, "\"rule\":{\"id\":\"2b8e5c1a-7d43-4f6e-9a1b-5c0d3e8f7a21\"")); p++)
			hits++;
	free(log);
	unlink(path);
	return hits;
}

TEST(corr_agent_pipeline_and_reload)
{
	ASSERT_EQ(agent_chain_hits(0), 1);
	/* reloading between the Run key (line 88) and the dropped program's start (line 92): the chain is lost */
	ASSERT_EQ(agent_chain_hits(90), 0);
	/* reloading before the chain starts changes nothing */
	ASSERT_EQ(agent_chain_hits(10), 1);
}
