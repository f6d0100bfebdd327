/* sigma.h - loads Sigma rules (YAML) and matches them against vg_events. */
#ifndef VIGIL_SIGMA_H
#define VIGIL_SIGMA_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/event.h"

enum vg_level {
	VG_LEVEL_UNKNOWN = 0,
	VG_LEVEL_INFORMATIONAL,
	VG_LEVEL_LOW,
	VG_LEVEL_MEDIUM,
	VG_LEVEL_HIGH,
	VG_LEVEL_CRITICAL,
};

/* A loaded rule's metadata. Strings are owned by the ruleset. */
struct vg_rule {
	const char *id;          /* Sigma id (UUID), or the file path when the rule has none */
	const char *title;
	const char *description;
	const char *status;      /* stable, test, experimental, deprecated, unsupported */
	const char *author;
	enum vg_level level;
	const char **tags;       /* e.g. "attack.t1055.012", "attack.defense-evasion" */
	size_t ntags;
	const char *technique;   /* first ATT&CK technique tag, upper-cased "T1055.012", or NULL */
	const char *product;     /* logsource */
	const char *category;
	const char *service;
	const char *file;        /* where it was loaded from */
	unsigned line;           /* line of the rule document in file */
};

/* Called for each rule that fails to load: file, line (1-based, 0 unknown), reason. */
typedef void (*vg_rule_error_fn)(const char *file, unsigned line, const char *reason, void *ctx);
/* Called for each rule that matches an event. */
typedef void (*vg_match_fn)(const struct vg_rule *rule, const struct vg_event *ev, void *ctx);

struct vg_ruleset;

/* Creates an empty ruleset. Returns 0 or VG_ENOMEM. Free with vg_ruleset_free. */
int vg_ruleset_new(struct vg_ruleset **out);
void vg_ruleset_free(struct vg_ruleset *rs); /* accepts NULL */

/*
 * Loads rules from a YAML file (one or several documents) or, recursively,
 * from every *.yml / *.yaml under a folder. Rules that fail are reported to
 * on_error and skipped; the rest load. Returns the number of rules loaded
 * (>= 0), or a negative error when the path itself cannot be read.
 */
int vg_ruleset_load_path(struct vg_ruleset *rs, const char *path,
			 vg_rule_error_fn on_error, void *ctx);
/* Loads rules from YAML text in memory; name is used in error reports. Same returns. */
int vg_ruleset_load_text(struct vg_ruleset *rs, const char *name, const char *text,
			 size_t len, vg_rule_error_fn on_error, void *ctx);

/* Number of rules loaded, and rule i (0-based). */
size_t vg_ruleset_count(const struct vg_ruleset *rs);
const struct vg_rule *vg_ruleset_rule(const struct vg_ruleset *rs, size_t i);

/*
 * Tests ev against every rule whose logsource applies to it and calls fn for
 * each match, in load order. Returns the number of matches. The ruleset is
 * read-only here, so one ruleset may serve several threads.
 */
int vg_ruleset_match(const struct vg_ruleset *rs, const struct vg_event *ev,
		     vg_match_fn fn, void *ctx);

/* The Sigma logsource an event belongs to (e.g. "process_creation", "sysmon"); NULL when none. */
const char *vg_event_sigma_category(const struct vg_event *ev);
const char *vg_event_sigma_service(const struct vg_event *ev);
const char *vg_event_sigma_product(const struct vg_event *ev);

const char *vg_level_name(enum vg_level l);
enum vg_level vg_level_from_name(const char *s);

#endif /* VIGIL_SIGMA_H */
