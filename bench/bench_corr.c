/* bench_corr.c - cost of Sigma correlation rules: events/s of rule matching alone (the baseline, same run) and with event_count, value_count and temporal_ordered-by-ancestor correlations fed, with the ratio to the baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/proctree.h"
#include "vigil/sigma.h"
#include "engine/sigma_ext.h"

#define NEV 100000     /* distinct events, replayed PASSES times with time moving on */
#define PASSES 5
#define NPROC 5000
#define NUSER 20000

static const char base_rules[] =
	"title: A\nid: aaaaaaaa-0000-4000-8000-000000000001\nname: rule_a\n"
	"logsource: {product: windows, category: process_creation}\n"
	"detection: {sel: {Kind: a}, condition: sel}\n"
	"---\n"
	"title: B\nid: aaaaaaaa-0000-4000-8000-000000000002\nname: rule_b\n"
	"logsource: {product: windows, category: process_creation}\n"
	"detection: {sel: {Kind: b}, condition: sel}\n"
	"---\n"
	"title: C\nid: aaaaaaaa-0000-4000-8000-000000000003\nname: rule_c\n"
	"logsource: {product: windows, category: process_creation}\n"
	"detection: {sel: {Kind: c}, condition: sel}\n";

static const char c_count[] =
	"title: count\ncorrelation: {type: event_count, rules: [rule_a, rule_b], group-by: [User], timespan: 1m, condition: {gte: 5}}\n";
static const char c_values[] =
	"title: values\ncorrelation: {type: value_count, rules: [rule_a], group-by: [User], timespan: 1m, condition: {field: Dest, gte: 3}}\n";
static const char c_chain[] =
	"title: chain\ncorrelation: {type: temporal_ordered, rules: [rule_a, rule_b, rule_c], group-by: [VigilAncestorKeys], timespan: 1m}\n";

struct run {
	struct vg_corr *c;
	unsigned long long hits, matches;
};

static void on_hit(const struct vg_corr_hit *h, void *ctx)
{
	(void)h;
	((struct run *)ctx)->hits++;
}

static void on_match(const struct vg_rule *rule, const struct vg_event *ev, void *ctx)
{
	struct run *r = ctx;
	r->matches++;
	if (r->c)
		vg_corr_feed(r->c, rule, ev, on_hit, r);
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char keys[NPROC][32];

int main(void)
{
	struct vg_event **evs = calloc(NEV, sizeof(*evs));
	struct vg_tree *tree;
	unsigned seed = 12345;
	char buf[64];

	/* a process forest: each process's parent is an earlier one (depth grows slowly), 100 roots */
	vg_tree_new(NULL, &tree);
	for (int p = 0; p < NPROC; p++) {
		struct vg_event *ev = vg_event_new();
		snprintf(keys[p], sizeof(keys[p]), "{P%05d}", p);
		ev->type = VG_EV_PROCESS_START;
		ev->platform = VG_PLATFORM_WINDOWS;
		ev->source = VG_SRC_SYSMON;
		ev->time_ns = 1700000000000000000LL;
		ev->proc.key = keys[p];
		ev->proc.image = "C:\\x.exe";
		if (p >= 100)
			ev->parent.key = keys[rand_r(&seed) % p];
		vg_tree_update(tree, ev);
		vg_event_free(ev);
	}
	for (int i = 0; i < NEV; i++) {
		struct vg_event *ev = vg_event_new();
		static const char *kinds[] = { "a", "b", "c", "x", "x", "x", "x", "x" };
		const char *k = kinds[rand_r(&seed) % 8];
		ev->type = VG_EV_PROCESS_START;
		ev->platform = VG_PLATFORM_WINDOWS;
		ev->source = VG_SRC_SYSMON;
		ev->event_id = 1;
		vg_event_add_field(ev, "EventID", 7, "1", 1);
		vg_event_add_field(ev, "Kind", 4, k, 1);
		int n = snprintf(buf, sizeof(buf), "user%d", rand_r(&seed) % NUSER);
		vg_event_add_field(ev, "User", 4, buf, (size_t)n);
		n = snprintf(buf, sizeof(buf), "10.0.%d.%d", rand_r(&seed) % 4, rand_r(&seed) % 4);
		vg_event_add_field(ev, "Dest", 4, buf, (size_t)n);
		vg_event_add_field(ev, "Image", 5, "C:\\Windows\\System32\\cmd.exe", 27);
		vg_event_add_field(ev, "CommandLine", 11, "cmd.exe /c echo benchmark", 25);
		ev->nraw = ev->nfields;
		ev->proc.key = keys[rand_r(&seed) % NPROC];
		evs[i] = ev;
	}

	struct { const char *name; const char *corr[3]; } cfgs[] = {
		{ "rules only (baseline)", { NULL } },
		{ "+ event_count by User", { c_count } },
		{ "+ value_count by User", { c_values } },
		{ "+ temporal_ordered by VigilAncestorKeys", { c_chain } },
		{ "+ all three", { c_count, c_values, c_chain } },
	};
	double base = 0;
	printf("%d events x %d passes, 3/8 match a base rule, %d users, %d processes, 1 event per ms of event time\n",
	       NEV, PASSES, NUSER, NPROC);
	printf("%-42s %12s %8s %10s %10s %10s\n", "configuration", "events/s", "ratio", "hits", "groups", "evicted");
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(*cfgs); c++) {
		struct vg_ruleset *rs;
		struct run r = { 0 };
		vg_ruleset_new(&rs);
		vg_ruleset_load_text(rs, "base.yml", base_rules, strlen(base_rules), NULL, NULL);
		for (int k = 0; k < 3 && cfgs[c].corr[k]; k++)
			vg_ruleset_load_text(rs, "corr.yml", cfgs[c].corr[k], strlen(cfgs[c].corr[k]), NULL, NULL);
		vg_ruleset_link(rs, NULL, NULL);
		if (vg_ruleset_correlation_count(rs) && vg_corr_new(rs, NULL, tree, &r.c)) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		int64_t t = 1700000000000000000LL;
		/* warm-up: builds the rule index */
		vg_ruleset_match(rs, evs[0], NULL, NULL);
		double t0 = cpu_now();
		for (int p = 0; p < PASSES; p++) {
			for (int i = 0; i < NEV; i++) {
				t += 1000000;
				evs[i]->time_ns = t;
				vg_ruleset_match(rs, evs[i], on_match, &r);
				if (r.c)
					vg_corr_advance(r.c, t, on_hit, &r);
			}
		}
		double s = cpu_now() - t0;
		double eps = (double)NEV * PASSES / s;
		if (c == 0)
			base = eps;
		const struct vg_corr_stats *st = r.c ? vg_corr_stats(r.c) : NULL;
		printf("%-42s %12.0f %8.2f %10llu %10llu %10llu\n", cfgs[c].name, eps, eps / base, r.hits,
		       st ? (unsigned long long)st->groups : 0ULL, st ? (unsigned long long)st->groups_evicted : 0ULL);
		vg_corr_free(r.c);
		vg_ruleset_free(rs);
	}
	for (int i = 0; i < NEV; i++)
		vg_event_free(evs[i]);
	free(evs);
	vg_tree_free(tree);
	return 0;
}
