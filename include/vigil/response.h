/* response.h - blocking and remediation for vigild: the response policy, killing by pidfd, the quarantine store and undoing persistence. */
#ifndef VIGIL_RESPONSE_H
#define VIGIL_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/event.h"
#include "vigil/sigma.h"

/* What the policy asks for on a match; each includes the ones before it. */
enum vg_action {
	VG_ACT_ALERT = 0,  /* alert only */
	VG_ACT_KILL,       /* kill the process and its malicious descendants */
	VG_ACT_QUARANTINE, /* move the dropped files into the quarantine store (no kill) */
	VG_ACT_REMEDIATE,  /* kill + quarantine + undo persistence */
};
const char *vg_action_name(enum vg_action a);
int vg_action_from_name(const char *s); /* -1 when unknown */

/* ---- Policy (src/response/policy.c, docs/response.md) ---- */

struct vg_policy;

/*
 * Parses a policy from YAML text; name is used in errors. On a bad policy
 * writes "<name>:<line>: <reason>" to err and returns VG_EINVAL (VG_ENOMEM
 * when out of memory). Never crashes on any input.
 */
int vg_policy_parse(const char *name, const char *text, size_t len, struct vg_policy **out, char *err,
		    size_t errlen);
/* Reads and parses a policy file. A missing file is -ENOENT (the caller decides). */
int vg_policy_load(const char *path, struct vg_policy **out, char *err, size_t errlen);
/* The built-in policy: default alert, the never-kill list, nothing excluded. */
int vg_policy_default(struct vg_policy **out);
void vg_policy_free(struct vg_policy *p); /* accepts NULL */
int vg_policy_audit(const struct vg_policy *p); /* policy says mode: audit */
int vg_policy_has_sha256(const struct vg_policy *p); /* any sha256 exclusion (worth hashing files for) */

/*
 * The action for a rule: the first that applies of rules[id], the rule's
 * own vigil: action, tags (longest matching tag wins), levels, default.
 * why receives which one decided ("rule <id>", "vigil: section", "tag
 * attack.t1055", "level high", "default").
 */
enum vg_action vg_policy_decide(const struct vg_policy *p, const struct vg_rule *rule, char *why, size_t whylen);

/*
 * Exclusions: returns 1 and writes the reason ("rule <id>", "path <glob>",
 * "process <pattern>", "sha256 <hash>") when the match is excluded from
 * action. sha256 may be NULL (then only the event's Hashes field is used).
 */
int vg_policy_excluded(const struct vg_policy *p, const struct vg_rule *rule, const struct vg_event *ev,
		       const char *sha256, char *why, size_t whylen);
/* 1 when image or name (either may be NULL) is on the never-kill list; why gets the entry. */
int vg_policy_never_kill(const struct vg_policy *p, const char *image, const char *name, char *why, size_t whylen);

/* ---- The responder ---- */

struct vg_response;
struct vg_tree;

struct vg_response_config {
	const char *policy;      /* policy file; NULL or missing file = vg_policy_default */
	const char *state_dir;   /* snapshots go in <state_dir>/snapshots */
	const char *quarantine_dir; /* NULL = <state_dir>/quarantine */
	int audit;               /* agent's mode audit: act on nothing, say what would be done */
	const char *persist_root;/* prefix of the persistence files snapshotted at start ("" = /); tests use a temp dir */
	int no_baseline;         /* do not snapshot persistence files at start */
};

/*
 * Creates the responder over the agent's process tree (descendants, files
 * the tree saw written). Loads the policy (errors as vg_policy_load) and
 * creates the store folders. Returns 0, VG_EINVAL, -errno or VG_ENOMEM.
 */
int vg_response_new(const struct vg_response_config *cfg, struct vg_tree *tree, struct vg_response **out,
		    char *err, size_t errlen);
/* Same, from vigild's configuration. */
int vg_response_new_agent(const struct vg_agent_config *cfg, struct vg_tree *tree, struct vg_response **out,
			  char *err, size_t errlen);
void vg_response_free(struct vg_response *r); /* accepts NULL */
/* Re-reads the policy and mode; on error the previous policy stays and err says why. */
int vg_response_reload(struct vg_response *r, const struct vg_agent_config *cfg, char *err, size_t errlen);
/* Replaces the policy (the responder takes ownership). For tests and embedders. */
void vg_response_set_policy(struct vg_response *r, struct vg_policy *p);
void vg_response_set_audit(struct vg_response *r, int audit);

/*
 * In-kernel blocking (the eBPF sensor's kill-switch maps): mark_exe makes
 * later execs of the executable (dev, ino) die in the kernel, mark_pid kills
 * pid's future children/execs. Either may be NULL. Return 0 or an error.
 */
typedef int (*vg_mark_exe_fn)(void *ctx, uint64_t dev, uint64_t ino);
typedef int (*vg_mark_pid_fn)(void *ctx, uint32_t pid);
void vg_response_set_kernel_hooks(struct vg_response *r, vg_mark_exe_fn mark_exe, vg_mark_pid_fn mark_pid,
				  void *ctx);

/*
 * The agent's response hook (a vg_agent_respond_fn; ctx is the
 * vg_response): decides from the policy, acts, and appends
 * "response":{...},"actions":[{"action":..,"result":..}...] to extra.
 */
int vg_response_respond(void *ctx, const struct vg_rule *rule, const struct vg_event *ev, struct vg_buf *extra);
/*
 * Takes action act on the event's process (and what it dropped) as the
 * policy would for a rule deciding it, e.g. for a cloud verdict ("block"):
 * same exclusions, never-kill list, audit mode and JSON ("response" with
 * why, "actions"). rule may be NULL (then rule_id, which may be NULL too,
 * names the cause in quarantine records). Returns 0 or VG_ENOMEM.
 */
int vg_response_act(struct vg_response *r, enum vg_action act, const char *why, const struct vg_rule *rule,
		    const char *rule_id, const struct vg_event *ev, struct vg_buf *extra);

/*
 * Sees every event after the tree update: a write to a persistence file by
 * a process that is not flagged refreshes that file's snapshot.
 */
void vg_response_observe(struct vg_response *r, const struct vg_event *ev);
/* Snapshots one persistence file now (its content, or that it does not exist). 0 or an error. */
int vg_response_snapshot(struct vg_response *r, const char *path, const char *writer_key);

/* Counters for `vigil status`. */
struct vg_response_stats {
	uint64_t decisions, killed, kill_failed, quarantined, quarantine_failed, persist_undone, snapshots;
};
const struct vg_response_stats *vg_response_stats(const struct vg_response *r);

/* Persistence kind of a Linux path (by its trailing components), VG_PERSIST_NONE when none. */
enum vg_persist_kind vg_response_persist_kind(const char *path);

/* ---- Kill (src/response/kill.c) ---- */

/* Process start time in clock ticks since boot (/proc/<pid>/stat field 22); 0 when gone. */
uint64_t vg_proc_start_ticks(uint32_t pid);
/*
 * Sends sig to pid only if it is still the process that started at
 * start_ticks: opens a pidfd first, then checks the start time, then
 * signals through the pidfd (a recycled pid is never hit). Returns 0,
 * VG_ENOTFOUND (gone or reused) or -errno.
 */
int vg_kill_checked(uint32_t pid, uint64_t start_ticks, int sig);

/* ---- Quarantine store (src/response/quarantine.c) ---- */

struct vg_quarantine_meta {
	char id[64];
	char *original_path;   /* as the process saw it */
	char *accessed_via;    /* the path the file was taken from (e.g. /proc/<pid>/root/...) */
	char *mount_ns_note;   /* NULL, or why the file was reached through another mount namespace */
	char sha256[65];
	uint64_t size;
	uint32_t mode, uid, gid;
	int64_t mtime_ns, quarantined_ns;
	char *rule_id, *incident;
};
void vg_quarantine_meta_free(struct vg_quarantine_meta *m);
/* Parses an item's <id>.json text (name is used in errors). 0, or VG_EPARSE with "<name>: reason" in err. */
int vg_quarantine_meta_parse(const char *text, size_t n, const char *name, struct vg_quarantine_meta *m, char *err,
			     size_t errlen);

/*
 * Moves the file at src (the path to open; orig is the path to record and
 * restore to) into dir as <id> (0400) plus <id>.json; the store folder is
 * created 0700. id_out (>= 64 bytes) receives the id. Returns 0 or an error
 * with the reason in err.
 */
int vg_quarantine_add(const char *dir, const char *src, const char *orig, const char *ns_note, const char *rule_id,
		      const char *incident, char *id_out, char *err, size_t errlen);
typedef void (*vg_quarantine_fn)(const struct vg_quarantine_meta *m, void *ctx);
/* Calls fn for every item, oldest first. Returns the count or an error. */
int vg_quarantine_list(const char *dir, vg_quarantine_fn fn, void *ctx, char *err, size_t errlen);
/* Puts item id back at its original path with mode, owner and mtime; refuses to overwrite. */
int vg_quarantine_restore(const char *dir, const char *id, char *err, size_t errlen);
/* Deletes item id, or (id NULL) every item quarantined before older_than_ns. Returns the count removed. */
int vg_quarantine_purge(const char *dir, const char *id, int64_t older_than_ns, char *err, size_t errlen);
/* SHA-256 of a file as 64 hex digits into out[65]. 0 or -errno. */
int vg_sha256_file(const char *path, char out[65]);

#endif /* VIGIL_RESPONSE_H */
