/* fuzz_sigma_corr.c - libFuzzer harness for Sigma correlation rules: loads the input as rules beside three fixed base rules, links, and feeds a fixed stream (out of order, several groups and a process tree) through the correlations; every hit must span at most its timespan and the group bound must hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/proctree.h"
#include "vigil/sigma.h"
#include "engine/sigma_ext.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

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
	"detection: {sel: {Kind|startswith: c}, condition: sel}\n";

#define MAX_GROUPS 3

struct ctx {
	struct vg_corr *c;
	size_t hits;
};

static void on_hit(const struct vg_corr_hit *h, void *p)
{
	struct ctx *x = p;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	CHECK(h->nrefs > 0 && h->rule && h->ev && h->group);
	for (size_t i = 0; i < h->nrefs; i++) {
		CHECK(h->refs[i].rule != NULL);
		if (h->refs[i].time_ns < lo)
			lo = h->refs[i].time_ns;
		if (h->refs[i].time_ns > hi)
			hi = h->refs[i].time_ns;
	}
	CHECK(hi - lo <= h->corr->timespan_ns);
	x->hits++;
}

static void on_match(const struct vg_rule *rule, const struct vg_event *ev, void *p)
{
	struct ctx *x = p;
	vg_corr_feed(x->c, rule, ev, on_hit, x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct { int t; const char *kind, *user, *key, *parent, *dest; } stream[] = {
		{ 0, "x", "u1", "{R}", NULL, "h1" },       { 10, "a", "u1", "{P}", "{R}", "h1" },
		{ 20, "b", "u2", "{C1}", "{P}", "h2" },    { 15, "c", "u1", "{C2}", "{P}", "h3" },
		{ 1000, "a", "u3", "{C3}", "{C1}", "h1" }, { 999, "b", "u1", "{C4}", "{C2}", "h4" },
		{ 5000, "c2", "u4", "{Q}", "{R}", "h5" },  { 60000, "a", "u1", "{C5}", "{P}", "h1" },
		{ 60000, "b", "u1", "{C5}", "{P}", "h2" }, { 59000, "c", "u5", "{C6}", "{Q}", "h6" },
		{ 120001, "a", NULL, "{C7}", "{Q}", NULL }, { 3600000, "c", "u1", "{C8}", "{C7}", "h1" },
	};
	struct vg_ruleset *rs;
	struct vg_tree *tree;
	struct ctx x = { 0 };

	if (vg_ruleset_new(&rs))
		return 0;
	vg_ruleset_load_text(rs, "base.yml", base_rules, strlen(base_rules), NULL, NULL);
	vg_ruleset_load_text(rs, "fuzz.yml", (const char *)data, size, NULL, NULL);
	vg_ruleset_link(rs, NULL, NULL);
	if (vg_tree_new(NULL, &tree)) {
		vg_ruleset_free(rs);
		return 0;
	}
	struct vg_corr_config cc = { .max_groups = MAX_GROUPS, .max_entries = 4, .slack_ns = 2000000000LL };
	if (vg_corr_new(rs, &cc, tree, &x.c) == 0) {
		for (size_t i = 0; i < sizeof(stream) / sizeof(*stream); i++) {
			struct vg_event *ev = vg_event_new();
			if (!ev)
				break;
			ev->platform = VG_PLATFORM_WINDOWS;
			ev->source = VG_SRC_SYSMON;
			ev->event_id = 1;
			ev->type = VG_EV_PROCESS_START;
			ev->time_ns = 1700000000000000000LL + (int64_t)stream[i].t * 1000000LL;
			ev->host = "H";
			vg_event_add_field(ev, "EventID", 7, "1", 1);
			vg_event_add_field(ev, "Computer", 8, "H", 1);
			vg_event_add_field(ev, "Kind", 4, stream[i].kind, strlen(stream[i].kind));
			if (stream[i].user)
				vg_event_add_field(ev, "User", 4, stream[i].user, strlen(stream[i].user));
			if (stream[i].dest)
				vg_event_add_field(ev, "Dest", 4, stream[i].dest, strlen(stream[i].dest));
			ev->nraw = ev->nfields;
			ev->proc.key = vg_event_strdup(ev, stream[i].key, strlen(stream[i].key));
			if (stream[i].parent)
				ev->parent.key = vg_event_strdup(ev, stream[i].parent, strlen(stream[i].parent));
			vg_tree_update(tree, ev);
			vg_ruleset_match(rs, ev, on_match, &x);
			vg_corr_advance(x.c, ev->time_ns, on_hit, &x);
			CHECK(vg_corr_stats(x.c)->groups <= MAX_GROUPS * vg_corr_count(x.c));
			vg_event_free(ev);
		}
		vg_corr_flush(x.c, on_hit, &x);
		CHECK(vg_corr_stats(x.c)->fired == x.hits);
		vg_corr_free(x.c);
	}
	vg_tree_free(tree);
	vg_ruleset_free(rs);
	return 0;
}
