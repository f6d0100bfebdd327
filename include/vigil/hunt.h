/* hunt.h - the detection pipeline over files: sources merged by event time -> process tree -> enrichment -> Sigma rules -> incidents. */
#ifndef VIGIL_HUNT_H
#define VIGIL_HUNT_H

#include <stdint.h>
#include <stdio.h>

#include "vigil/alert.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"

struct vg_hunt_config {
	const char *const *inputs;   /* files or folders (walked recursively) */
	size_t ninputs;
	struct vg_ruleset *rules;    /* borrowed, compiled */
	struct vg_incidents_config alerts;
	struct vg_tree_config tree;
	int64_t reorder_ns;          /* reorder window in event time; default 5 s */
	size_t reorder_max;          /* at most this many events held for reordering; default 100,000 */
	size_t max_open;             /* inputs merged at once; default 256 */
	FILE *events_out;            /* when set, every enriched event is written here as vg_event JSON */
	enum vg_level min_level;     /* matches of rules below this level are ignored; 0 = all */
	size_t corr_max_groups;      /* correlation rules: groups held per correlation; default 10,000 */
};

struct vg_hunt_stats {
	uint64_t files;          /* inputs read */
	uint64_t files_failed;   /* inputs that could not be opened */
	uint64_t records;
	uint64_t events;
	uint64_t errors;         /* bad records (each reported) */
	uint64_t bytes;
	uint64_t skipped;        /* undecodable recovered EVTX records (not errors) */
	uint64_t late;           /* events that arrived later than the reorder window allowed */
	uint64_t alerts;
	uint64_t incidents;
	double seconds;          /* wall time of the run */
	uint64_t corr_hits;      /* correlation rules that fired */
	uint64_t corr_groups_evicted; /* correlation groups dropped at corr_max_groups */
	struct vg_tree_stats tree;
};

/*
 * Runs the pipeline over every input and writes alerts as configured.
 * Bad records and unreadable files are reported through vg_log and counted;
 * the run goes on. Returns 0, or VG_ENOMEM / VG_EINVAL for a failure that
 * stopped the run.
 */
int vg_hunt_run(const struct vg_hunt_config *cfg, struct vg_hunt_stats *stats);

/*
 * Expands inputs into the list of files to read: files as given, folders
 * walked recursively in name order keeping *.evtx, *.json, *.jsonl and
 * *.ndjson. Returns the count (>= 0) with a malloc'd array of malloc'd
 * strings in *out, or a negative error.
 */
int vg_hunt_expand(const char *const *inputs, size_t ninputs, char ***out);

#endif /* VIGIL_HUNT_H */
