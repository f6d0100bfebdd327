/* response_int.h - what the responder's files share: the responder struct, snapshots and the persistence undo. */
#ifndef VIGIL_RESPONSE_INT_H
#define VIGIL_RESPONSE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/response.h"

/* One saved copy of a persistence file: its content after writer's write (or at start). */
struct vg_snap {
	char *path;       /* as the writer saw it */
	char *file;       /* the copy in <state_dir>/snapshots, NULL when the file did not exist */
	uint32_t writer_pid;
	uint64_t writer_start; /* 0 = baseline (agent start) */
	uint64_t seq;
	uint32_t mode, uid, gid;
};

#define VG_SNAP_GENERATIONS 4 /* kept per path */
#define VG_SNAP_MAX_BYTES (1u << 20)

struct vg_response {
	struct vg_policy *policy;
	struct vg_tree *tree;
	char *state_dir, *qdir, *snapdir, *persist_root, *policy_path;
	int audit_cfg;
	vg_mark_exe_fn mark_exe;
	vg_mark_pid_fn mark_pid;
	void *hook_ctx;
	struct vg_snap *snaps;
	size_t nsnaps, snaps_cap;
	uint64_t snap_seq;
	long long run_id;    /* agent start (unix s): names this run's snapshot files */
	char *dropped[64];   /* recently quarantined paths (lines naming them are removed from persistence files) */
	size_t ndropped;
	struct vg_response_stats stats;
};

void vg_resp_mkdirs(const char *dir, mode_t mode);
uint64_t vg_resp_key_start(const char *key);
/* path as seen by pid -> a path we can open (via /proc/<pid>/root when its mount namespace differs); 1 when rerouted. */
int vg_resp_resolve(uint32_t pid, const char *path, char *out, size_t outlen, char *note, size_t notelen);
void vg_resp_baseline(struct vg_response *r);
void vg_resp_snap_free_all(struct vg_response *r);
void vg_resp_note_dropped(struct vg_response *r, const char *path);
struct vg_buf;
void vg_resp_undo_persistence(struct vg_response *r, const struct vg_event *ev, char *const *files, size_t nfiles,
			      const uint32_t *pids, const uint64_t *starts, size_t nthreat, int audit, struct vg_buf *extra,
			      int *afirst);

#endif /* VIGIL_RESPONSE_INT_H */
