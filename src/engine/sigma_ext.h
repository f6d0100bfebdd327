/* sigma_ext.h - internal Sigma engine API for other Vigil components: placeholders, load statistics, correlation rules. */
#ifndef VIGIL_SIGMA_EXT_H
#define VIGIL_SIGMA_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/sigma.h"

/*
 * Placeholders for the |expand modifier: %name% in a rule value expands to
 * each of values (OR). Values are Sigma strings (wildcards apply). Set them
 * before loading the rules that use them; a rule naming a placeholder that
 * is not set fails to load with "unknown placeholder". Setting a name again
 * replaces its values. Returns 0, VG_EINVAL or VG_ENOMEM.
 */
int vg_ruleset_set_placeholder(struct vg_ruleset *rs, const char *name,
			       const char *const *values, size_t n);

/* Counters over every load call on a ruleset. */
struct vg_sigma_stats {
	size_t rules;          /* detection rules loaded (== vg_ruleset_count) */
	size_t deprecated;     /* ... of which status: deprecated */
	size_t unsupported;    /* ... of which status: unsupported */
	size_t correlations;   /* correlation documents kept but not evaluated */
	size_t failed;         /* documents reported through on_error */
	size_t files;          /* YAML files read */
};
void vg_ruleset_stats(const struct vg_ruleset *rs, struct vg_sigma_stats *out);

/* Turns the literal prefilter off (1 = on, the default). For tests and benchmarks. */
void vg_ruleset_set_prefilter(struct vg_ruleset *rs, int on);

/*
 * Dead-rule check at load (on by default): a rule whose condition can never be
 * true because it tests fields the mapping never produces for its logsource
 * fails to load with "field X is never produced for logsource Y" (sigma_fields.c).
 */
void vg_ruleset_set_field_check(struct vg_ruleset *rs, int on);

/*
 * Placeholder values from a YAML file (sigma_placeholders.c), before loading
 * rules: a map of name -> value or list of values (Sigma strings, wildcards
 * allowed), e.g. `Admins: ['admin*', 'root']`. Every bad entry goes to
 * on_error(file, line, reason); the good ones are set anyway. Returns the
 * number of names set, VG_EPARSE if any entry was bad, -errno, VG_ELIMIT (over 16 MB), VG_ENOMEM.
 */
int vg_ruleset_load_placeholders(struct vg_ruleset *rs, const char *path, vg_rule_error_fn on_error, void *ctx);
int vg_ruleset_load_placeholders_text(struct vg_ruleset *rs, const char *name, const char *text, size_t len,
				      vg_rule_error_fn on_error, void *ctx);

/*
 * Same contract as vg_ruleset_match, evaluated the slow, obvious way: every
 * rule in load order, its logsource and condition tested in turn, with no
 * index and no prefilter. The reference for tests and benchmarks.
 */
int vg_ruleset_match_naive(const struct vg_ruleset *rs, const struct vg_event *ev, vg_match_fn fn, void *ctx);

/* Sigma correlation rules (meta rules): parsed and kept, not evaluated yet. */
enum vg_corr_type {
	VG_CORR_EVENT_COUNT = 0,
	VG_CORR_VALUE_COUNT,
	VG_CORR_TEMPORAL,
	VG_CORR_TEMPORAL_ORDERED,
};

enum vg_corr_op { VG_CORR_GT = 0, VG_CORR_GTE, VG_CORR_LT, VG_CORR_LTE, VG_CORR_EQ };

struct vg_corr_cond {
	enum vg_corr_op op;
	int64_t value;
};

/* aliases: alias -> (rule name -> field) */
struct vg_corr_alias {
	const char *alias;
	const char **rules;  /* rule names */
	const char **fields; /* field in events matched by rules[i] */
	size_t n;
};

/* A correlation document. Strings are owned by the ruleset. */
struct vg_sigma_correlation {
	const char *id;          /* id, or the file path when none */
	const char *name;
	const char *title;
	const char *status;
	enum vg_level level;
	enum vg_corr_type type;
	const char **rules;      /* referenced rule ids or names */
	size_t nrules;
	const char **group_by;
	size_t ngroup_by;
	int64_t timespan_ns;     /* the time window (required) */
	struct vg_corr_cond *conds; /* ANDed; none for temporal without condition */
	size_t nconds;
	const char *field;       /* value_count: the counted field */
	struct vg_corr_alias *aliases;
	size_t naliases;
	int generate;            /* generate: true */
	const char *file;
	unsigned line;
	/* added for evaluation (sigma_corr.c) */
	struct vg_rule rule;     /* the correlation as the rule of its alerts: id, title, description, level, tags, file, line */
	unsigned *rule_lines;    /* line of each entry of rules[] */
	int32_t *refs;           /* after linking: >= 0 a rule index, < 0 correlation -(i+1) */
	int linked;              /* 0 not yet, 1 every reference found, -1 failed (never evaluated) */
	int generates;           /* its hits are alerts: not referenced only by correlations without generate */
};

size_t vg_ruleset_correlation_count(const struct vg_ruleset *rs);
/*
 * Resolves the rules each correlation references (by id or name; rules and
 * other correlations, from any file loaded so far). Loading resolves what it
 * can on its own; call this once after the last load so that a correlation
 * naming a rule that is not loaded is reported through on_error (its file and
 * the line of the reference) and dropped. Returns the number dropped.
 */
size_t vg_ruleset_link(struct vg_ruleset *rs, vg_rule_error_fn on_error, void *ctx);
/* 0 when every linked correlation that references this rule has generate: false (its matches are not alerts). */
int vg_rule_generates(const struct vg_rule *r);

/* ---- Evaluating correlations (sigma_corr.c) ---- */

struct vg_tree;

struct vg_corr_config {
	size_t max_groups;   /* groups held per correlation; the least recently fed is evicted; default 10,000 */
	size_t max_entries;  /* matches held per group (raised to what a condition needs); default 256 */
	int64_t slack_ns;    /* how late (event time) a match may arrive and still count; windows of lt/lte/eq close this much later; default 0 */
};

struct vg_corr_stats {
	uint64_t fed;             /* base-rule matches fed (per correlation that uses the rule) */
	uint64_t fired;           /* correlation hits */
	uint64_t groups;          /* groups held now */
	uint64_t groups_evicted;  /* groups dropped at max_groups */
	uint64_t entries_dropped; /* matches dropped at max_entries */
	uint64_t ungrouped;       /* matches without a group-by field (they take no part) */
	uint64_t late;            /* matches older than the newest time seen minus slack */
};

/* One match that contributed to a hit. */
struct vg_corr_ref {
	const struct vg_rule *rule;
	int64_t time_ns;
	uint64_t record_id;
	enum vg_event_type type;
	const char *proc_key;
	const char *host;
};

struct vg_corr_hit {
	const struct vg_sigma_correlation *corr;
	const struct vg_rule *rule;      /* &corr->rule */
	const struct vg_event *ev;       /* the event that completed it (a window closing: a synthetic event at the last match) */
	const char *group;               /* "field=value, ..." of the group; "" without group-by */
	int64_t count;                   /* events, distinct values or distinct rules in the window */
	const struct vg_corr_ref *refs;  /* the contributing matches, in time order */
	size_t nrefs;
	int alert;                       /* corr->generates: the caller raises it as an alert */
	const char *json;                /* "\"correlation\":{...}" members for vg_incidents_add_ex */
};
typedef void (*vg_corr_fn)(const struct vg_corr_hit *hit, void *ctx);

struct vg_corr;

/* State for the linked correlations of rs (borrowed, must outlive it); tree (may be NULL) serves VigilAncestorKeys. NULL cfg: defaults. */
int vg_corr_new(const struct vg_ruleset *rs, const struct vg_corr_config *cfg, struct vg_tree *tree,
		struct vg_corr **out);
void vg_corr_free(struct vg_corr *c); /* accepts NULL */
/* Number of correlations evaluated (0: feeding is a no-op). */
size_t vg_corr_count(const struct vg_corr *c);
/* A base rule matched ev: updates every correlation using the rule; fn gets each hit (also of chained correlations). Returns 0 or VG_ENOMEM. */
int vg_corr_feed(struct vg_corr *c, const struct vg_rule *rule, const struct vg_event *ev, vg_corr_fn fn, void *ctx);
/* Event time reached now_ns: expires old matches, closes lt/lte/eq windows (hits go to fn). */
int vg_corr_advance(struct vg_corr *c, int64_t now_ns, vg_corr_fn fn, void *ctx);
/* End of input: closes every window. */
int vg_corr_flush(struct vg_corr *c, vg_corr_fn fn, void *ctx);
const struct vg_corr_stats *vg_corr_stats(const struct vg_corr *c);
const struct vg_sigma_correlation *vg_ruleset_correlation(const struct vg_ruleset *rs, size_t i);

/* Rule details that the public struct does not carry. NULL/0 when absent. */
const char *vg_rule_name(const struct vg_rule *r);              /* Sigma "name" */
size_t vg_rule_falsepositives(const struct vg_rule *r, const char *const **out);
size_t vg_rule_fields(const struct vg_rule *r, const char *const **out);
size_t vg_rule_references(const struct vg_rule *r, const char *const **out);
/* related[i]: id and type ("derived", "obsolete", ...) */
size_t vg_rule_related_count(const struct vg_rule *r);
int vg_rule_related(const struct vg_rule *r, size_t i, const char **id, const char **type);
const char *vg_rule_logsource_definition(const struct vg_rule *r);
/* The project rules' vigil: section: action ("alert", "kill", "quarantine", "remediate") or NULL; cloud 1/0, -1 when unset. */
const char *vg_rule_vigil_action(const struct vg_rule *r);
int vg_rule_vigil_cloud(const struct vg_rule *r);

#endif /* VIGIL_SIGMA_EXT_H */
