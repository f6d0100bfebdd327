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
};

size_t vg_ruleset_correlation_count(const struct vg_ruleset *rs);
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

#endif /* VIGIL_SIGMA_EXT_H */
