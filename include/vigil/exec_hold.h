/* exec_hold.h - block at first sight: vigild holds the exec of a never-seen program on the configured mounts (fanotify FAN_OPEN_EXEC_PERM) until vigil-cloud's verdict, within a budget (docs/exec-hold.md). */
#ifndef VIGIL_EXEC_HOLD_H
#define VIGIL_EXEC_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"

struct vg_exec_hold;
struct vg_cloud_client;
struct vg_buf;

/* What the hold decided about one held exec (or one loader open), for the event loop: the alert log and the response. */
struct vg_exec_hold_decision {
	char sha256[65];
	char path[1024];       /* the file, as vigild's mount namespace names it */
	uint32_t pid;          /* the process that asked (execve's caller, or the loader running it) */
	char requester[512];   /* that process's executable */
	const char *how;       /* "exec" (FAN_OPEN_EXEC_PERM) or "ld.so" (the loader opened it as its program) */
	const char *source;    /* "cloud" (a round trip), "cache" (a verdict known), "fail" (no verdict in time) */
	char verdict[16];      /* "clean", "suspicious", "block"; "" when none came */
	char threat_name[160];
	double score;
	uint32_t ttl;
	int allowed;           /* 1: allowed; 0: denied (FAN_DENY: execve fails with EPERM) */
	int audit;             /* vigild in audit mode: a denial was only recorded, the exec ran */
	char why[160];         /* for "fail": what went wrong (timeout, unreachable, HTTP 503...) */
	uint64_t waited_us;    /* from the event's arrival to the answer */
};

/*
 * Starts the hold from cfg (hold_mounts, hold_budget_ms, hold_extended_ms,
 * hold_fail, hold_allow, hold_ldso): opens the fanotify group, marks the
 * mounts and starts its thread. cloud (may be NULL: every never-seen
 * program then gets the hold_fail answer) gives the service URL and the
 * credential. Refuses '/' and any path that is not a mount point of its
 * own. Returns 0, VG_EINVAL (bad setting, no mount to mark), -errno (the
 * kernel refused fanotify) or VG_ENOMEM, with err filled.
 */
int vg_exec_hold_new(const struct vg_agent_config *cfg, struct vg_cloud_client *cloud, struct vg_exec_hold **out,
		     char *err, size_t errlen);
/* Stops the thread; events still held are answered by hold_fail; closing the group lets the kernel allow the rest. Accepts NULL. */
void vg_exec_hold_free(struct vg_exec_hold *h);
/* Any thread: a verdict learned elsewhere (the cloud client's signals) answers later execs of sha256 without a round trip. */
void vg_exec_hold_learn(struct vg_exec_hold *h, const char *sha256, const char *verdict, const char *threat_name,
			double score, uint32_t ttl);
/* vigild's mode changed (reload): in audit mode every exec runs and a denial is only recorded. */
void vg_exec_hold_set_audit(struct vg_exec_hold *h, int audit);
typedef void (*vg_exec_hold_fn)(void *ctx, const struct vg_exec_hold_decision *d);
/* Main thread: hands over the decisions made since the last call (round trips, timeouts, denials from the cache). Never waits. */
void vg_exec_hold_poll(struct vg_exec_hold *h, vg_exec_hold_fn fn, void *ctx);
/*
 * Main thread, each turn of the loop: the watchdog. When the hold thread
 * has died or stalls, answers what it left (events past their deadline,
 * new events) by hold_fail, so no exec waits forever. Returns the number
 * answered here.
 */
int vg_exec_hold_watch(struct vg_exec_hold *h);
/* For the watchdog's tests only: the hold thread sleeps stall_ms once, or (end) stops as on a read error; returns when it does. */
void vg_exec_hold_test_stall(struct vg_exec_hold *h, int stall_ms, int end);
/* Appends "hold":{mounts, counters...} to a JSON members list. */
void vg_exec_hold_write_status(struct vg_exec_hold *h, struct vg_buf *b, int *first);
/* The mounts a hold_mounts setting names ("auto" resolved), each a mount point other than '/', joined by ',' into out. Returns how many. */
size_t vg_exec_hold_resolve_mounts(const char *setting, char *out, size_t outlen, char *err, size_t errlen);

#endif /* VIGIL_EXEC_HOLD_H */
