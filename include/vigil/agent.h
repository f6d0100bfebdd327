/* agent.h - the endpoint agent (vigild): its configuration file and the live pipeline that takes sensor events to alerts and actions. */
#ifndef VIGIL_AGENT_H
#define VIGIL_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vigil/event.h"
#include "vigil/sigma.h"

#define VG_AGENT_MAX_RULE_PATHS 16

enum vg_agent_mode {
	VG_AGENT_PROTECT = 0, /* actions from the policy are taken */
	VG_AGENT_AUDIT,       /* everything is only alerted; the alert says what would have been done */
};

/*
 * vigild's settings. Every field is set by one line of the configuration
 * file (see vg_agent_config_write_sample and docs/agent.md); strings are
 * owned by the struct and freed by vg_agent_config_free.
 */
struct vg_agent_config {
	enum vg_agent_mode mode;
	char *rules[VG_AGENT_MAX_RULE_PATHS]; /* rule files/folders; none = the compiled-in rules */
	size_t nrules;
	char *policy;          /* response policy (YAML); a missing file means the defaults */
	char *placeholders;    /* Sigma placeholder values (YAML), or NULL */
	char *alert_log;       /* alerts as JSON lines; "-" = stdout */
	char *event_log;       /* every event as vg_event JSON lines, or NULL (off) */
	char *record;          /* recording: events with their live host facts, before the tree's fields, or NULL */
	char *socket_path;     /* status socket for `vigil status` */
	char *state_dir;       /* persistent state (quarantine, snapshots) */
	char *quarantine_dir;  /* default: <state_dir>/quarantine */
	char *pid_file;        /* or NULL */
	char *resolvers;       /* configured DNS resolvers, comma-separated; NULL = read /etc/resolv.conf */
	char *cloud_url;       /* protection service, or NULL (local verdicts only) */
	char *cloud_token;     /* enrollment token for cloud_url (vigil-cloud's enroll_token), or NULL */
	unsigned cloud_queue_kb; /* on-disk signal queue cap in KiB (state_dir/cloud-queue) */
	int cloud_block_action;  /* enum vg_action taken on a "block" verdict */
	char *hold_mounts;       /* exec hold (docs/exec-hold.md): "auto", mount points separated by ',', or NULL (off) */
	unsigned hold_budget_ms; /* how long an exec waits for the service's verdict */
	unsigned hold_extended_ms; /* further wait past the budget (Defender's "cloud extended timeout"); 0 none */
	int hold_fail_closed;    /* 1: no verdict in time = deny; 0: allow */
	char *hold_allow;        /* never held: path globs and sha256s separated by ',', or NULL */
	unsigned hold_ldso;      /* 1: also hold ELF files the dynamic loader opens as a program (ld.so /tmp/x) */
	unsigned ringbuf_mb;   /* BPF ring buffer size in MiB (power of two) */
	enum vg_level min_level;  /* matches below this level are ignored */
	unsigned proc_horizon_s;  /* exited processes kept this long */
	unsigned proc_idle_s;     /* silent processes dropped after this long */
	unsigned incident_idle_s; /* an incident quiet this long is closed */
	enum vg_log_level log_level;
};

/* Sets every field to its default. Returns 0 or VG_ENOMEM. */
int vg_agent_config_defaults(struct vg_agent_config *c);
/*
 * Reads a configuration file over c (call vg_agent_config_defaults first).
 * On a bad line, writes "<path>:<line>: <reason>" to err and returns
 * VG_EINVAL; an unreadable file gives -errno. Lines after a bad one are not
 * applied: a half-read configuration is never used.
 */
int vg_agent_config_load(struct vg_agent_config *c, const char *path, char *err, size_t errlen);
/* Applies one "key value" setting (as a line of the file would). Same returns. */
int vg_agent_config_set(struct vg_agent_config *c, const char *key, const char *value, char *err,
			size_t errlen);
void vg_agent_config_free(struct vg_agent_config *c); /* accepts NULL */
/* Writes a commented sample configuration with every setting and its default. */
void vg_agent_config_write_sample(FILE *out);
/* Writes the effective configuration as a JSON object (for `vigil status`). */
struct vg_buf;
void vg_agent_config_write_json(const struct vg_agent_config *c, struct vg_buf *b);

/*
 * The live pipeline: one event at a time through the process tree, its
 * enrichment, the Sigma rules, the response hook and the incidents, with
 * alerts written as JSON lines when raised. Used by vigild on sensor events
 * and by tests on recorded events.
 */
struct vg_agent;
struct vg_tree;

/*
 * Response hook, called for each rule match before the alert is written:
 * decides and takes actions, and appends JSON members (e.g. "actions":[...])
 * describing them to extra (which the alert carries). Returns 0 or an error
 * (the alert is written anyway).
 */
typedef int (*vg_agent_respond_fn)(void *ctx, const struct vg_rule *rule, const struct vg_event *ev,
				   struct vg_buf *extra);

struct vg_agent_stats {
	uint64_t events;       /* events through the pipeline */
	uint64_t matches;      /* rule matches at or above min_level */
	uint64_t alerts;       /* alerts written */
	uint64_t incidents;
	uint64_t respond_errors;
	uint64_t oom;          /* events dropped for lack of memory */
};

/*
 * Creates the pipeline from cfg (rules, placeholders, tree horizons,
 * resolvers, alert and event logs). On failure writes the reason to err and
 * returns VG_EINVAL (configuration), -errno (a log cannot be opened) or
 * VG_ENOMEM. rules_failed counts rules that failed to load (each logged).
 */
int vg_agent_new(const struct vg_agent_config *cfg, struct vg_agent **out, char *err, size_t errlen);
void vg_agent_free(struct vg_agent *a); /* flushes open incidents; accepts NULL */
void vg_agent_set_respond(struct vg_agent *a, vg_agent_respond_fn fn, void *ctx);
/* A second hook with the same shape, called after the response hook for each match (vigild: the cloud client). */
void vg_agent_set_match_hook(struct vg_agent *a, vg_agent_respond_fn fn, void *ctx);
/* Writes one JSON line (no newline in json) to the alert log, flushed: follow-ups such as {"kind":"verdict",...}. 0 or -EIO. */
int vg_agent_log_line(struct vg_agent *a, const char *json, size_t len);
/* Runs one event through the pipeline. The event is modified (enriched). Returns 0 or VG_ENOMEM. */
int vg_agent_handle(struct vg_agent *a, struct vg_event *ev);
/* Closes incidents idle at now_ns (event time); call about once a second. */
void vg_agent_tick(struct vg_agent *a, int64_t now_ns);
const struct vg_agent_stats *vg_agent_stats(const struct vg_agent *a);
struct vg_tree *vg_agent_tree(struct vg_agent *a);
const struct vg_ruleset *vg_agent_rules(const struct vg_agent *a);
/* Appends the pipeline's counters as JSON members ("events":...,"rules":...). */
void vg_agent_write_status(const struct vg_agent *a, struct vg_buf *b, int *first);

/* Swaps in rules and policy from cfg, keeping the process tree. Same returns as vg_agent_new. */
int vg_agent_reload(struct vg_agent *a, const struct vg_agent_config *cfg, char *err, size_t errlen);

/*
 * Where live events come from: the eBPF sensor in vigild. poll waits up to
 * timeout_ms and calls fn for each event; returns the number of events or a
 * negative error. status appends JSON members (counters, drops).
 */
typedef void (*vg_agent_event_fn)(struct vg_event *ev, void *ctx);
struct vg_agent_source {
	void *impl;
	int (*poll)(void *impl, int timeout_ms, vg_agent_event_fn fn, void *ctx);
	void (*status)(void *impl, struct vg_buf *b, int *first);
	void (*close)(void *impl);
	/* In-kernel blocking (the eBPF sensor's kill switch), or NULL: later execs of (dev, ino) die at exec; pid dies at its next syscall. */
	int (*mark_exe)(void *impl, uint64_t dev, uint64_t ino);
	int (*mark_pid)(void *impl, uint32_t pid);
};

/*
 * Runs vigild: checks root and BPF, loads everything, starts the sensor and
 * serves until SIGTERM/SIGINT, reloading on SIGHUP. config_path is re-read
 * on reload. Returns 0 after a clean shutdown, else an error (reported on
 * stderr by the caller's log sink).
 */
/* A source that replays recorded events from a file (any input `vigil hunt` reads). */
int vg_agent_replay_open(const char *path, struct vg_agent_source *out, char *err, size_t errlen);

typedef int (*vg_agent_source_open_fn)(const struct vg_agent_config *cfg, struct vg_agent_source *src,
				       char *err, size_t errlen);
int vg_agent_run(struct vg_agent_config *cfg, const char *config_path, vg_agent_source_open_fn open_source);

#endif /* VIGIL_AGENT_H */
