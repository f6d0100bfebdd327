/* proctree.h - the process tree built from the event stream: identity that survives PID reuse, ancestry and descendants, bounded memory, and the derived fields it adds to events. */
#ifndef VIGIL_PROCTREE_H
#define VIGIL_PROCTREE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/event.h"

/* Something a process did that an alert tree shows beside it. */
struct vg_activity {
	enum vg_event_type type;
	int64_t time_ns;
	uint64_t seq;       /* event sequence number (links to the triggering event) */
	char *object;       /* file path, registry key, "ip:port", DNS name, target image */
	char *detail;       /* registry data, host name, access mask... or NULL */
};

/* One process. Strings are owned by the tree. */
struct vg_proc_node {
	char *key;          /* ProcessGuid, or "host:pid:start" when the source has none */
	char *host;
	uint32_t pid;
	char *image;
	char *command_line;
	char *user;
	char *parent_key;   /* may name a process the tree never saw or evicted */
	char *parent_image; /* as the start event said */
	int64_t start_ns;   /* 0 when the start was not seen */
	int64_t last_ns;    /* time of the newest event that named it */
	int64_t exit_ns;    /* 0 while running */
	int seen_start;     /* 1 when built from a process start event */
	char **children;    /* keys of the children, in start order */
	size_t nchildren, children_cap;
	struct vg_activity *acts;
	size_t nacts, acts_cap;
	uint64_t acts_dropped; /* activities over the per-process cap */
	int alert_level;    /* highest vg_level of an alert raised on this process (0 none) */
	uint64_t gen;       /* generation, to tell a reused key from the old entry */
	void *cache;        /* private: derived fields computed once per process */
};

struct vg_tree_config {
	int64_t horizon_ns;     /* exited processes are kept this long (event time); default 1 h */
	int64_t idle_ns;        /* running processes silent this long are dropped too; default 2 h */
	size_t max_procs;       /* hard cap on processes kept; default 1,000,000 */
	size_t max_files;       /* cap on remembered file writes; default 200,000 */
	int64_t file_horizon_ns;/* file writes are remembered this long (event time); default 24 h */
	size_t max_acts;        /* activities kept per process; default 64 */
	const char *resolvers;  /* comma-separated DNS resolver IPs considered configured; may be NULL */
	const char *sysbins;    /* the system binary table (TSV text, see rules/data); NULL = embedded */
};

struct vg_tree_stats {
	uint64_t procs;            /* processes held now */
	uint64_t created;          /* processes ever created */
	uint64_t synthetic;        /* created from a non-start event (start not seen) */
	uint64_t evicted_horizon;  /* exited and dropped after the horizon */
	uint64_t evicted_idle;     /* no event for idle_ns: dropped (comes back as a placeholder if seen again) */
	uint64_t evicted_cap;      /* dropped because max_procs was hit */
	uint64_t files_evicted;    /* file-write records dropped at max_files */
	uint64_t pid_reuse;        /* a new process took over a pid still mapped to another */
};

struct vg_tree;

/* Creates a tree; cfg may be NULL for defaults. Returns 0, VG_ENOMEM or VG_EINVAL (bad table). */
int vg_tree_new(const struct vg_tree_config *cfg, struct vg_tree **out);
void vg_tree_free(struct vg_tree *t); /* accepts NULL */

/*
 * Folds ev into the tree: creates, updates and ends processes, fills in
 * ev->proc.key (and parent/target keys) when the source gave only a pid,
 * records file writes and the activity shown in alert trees, and evicts what
 * fell out of the horizon. Returns 0 or VG_ENOMEM.
 */
int vg_tree_update(struct vg_tree *t, struct vg_event *ev);

/*
 * Adds the derived fields (names starting with "Vigil", docs/enrichment.md)
 * that rules test: ancestry, path classes, system-binary masquerade facts,
 * fresh-child targets, dropped-then-run images, persistence targets, DNS
 * resolvers. Call after vg_tree_update. Returns 0 or VG_ENOMEM.
 */
int vg_tree_enrich(struct vg_tree *t, struct vg_event *ev);

/*
 * Sysmon GUIDs appear with and without braces; the tree (and whoever keys
 * maps by process) compares them without. Returns k past a '{' with *len set
 * to the length without the closing '}'; no copy is made.
 */
const char *vg_key_bare(const char *k, size_t *len);

/* Records that an alert of the given level was raised on process key (feeds VigilProcessFlagged). */
void vg_tree_flag(struct vg_tree *t, const char *key, int level);

/* Looks a process up by key; NULL when unknown or evicted. Valid until the next update. */
const struct vg_proc_node *vg_tree_get(const struct vg_tree *t, const char *key);
const struct vg_proc_node *vg_tree_parent(const struct vg_tree *t, const struct vg_proc_node *n);
/*
 * Fills out[] with up to max descendants of key, breadth first, and returns
 * how many there are in all (may exceed max).
 */
size_t vg_tree_descendants(const struct vg_tree *t, const char *key,
			   const struct vg_proc_node **out, size_t max);
const struct vg_tree_stats *vg_tree_stats(const struct vg_tree *t);

#endif /* VIGIL_PROCTREE_H */
