/* cloud_poll.h - vigild's verdict long-poll: a thread that keeps GET /v1/verdicts?since= open on vigil-cloud and hands verdict changes (upgrades and downgrades) to the event loop (docs/agent.md, "Verdict changes by long-poll"). */
#ifndef VIGIL_CLOUD_POLL_H
#define VIGIL_CLOUD_POLL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/cloud_client.h"

struct vg_cloud_poll;
struct vg_tree;

/*
 * Starts the long-poll thread for cfg (cloud_url, state_dir) beside client
 * (which enrolls: the thread takes the credential from vg_cloud_client_auth).
 * The last change id applied is kept in state_dir/cloud-verdicts.pos, so a
 * restart goes on after it. No network I/O happens here. Returns 0,
 * VG_EINVAL (no cloud_url), VG_ENOMEM or -errno with err filled.
 */
int vg_cloud_poll_new(const struct vg_agent_config *cfg, struct vg_cloud_client *client, struct vg_cloud_poll **out,
		      char *err, size_t errlen);
/* Stops the thread at once (the open request is abandoned) and saves the last applied id. Accepts NULL. */
void vg_cloud_poll_free(struct vg_cloud_poll *p);
/*
 * Main thread, never waits: applies the changes received since the last
 * call, oldest first. Each goes into the client's verdict cache by sha256;
 * fn is called once per process of the tree still running that file (with
 * a process start event rebuilt from the tree, so a "block" acts through
 * the same path as an answered signal), or once with ev NULL when no such
 * process runs but the hash was known here (cached or sent). Changes about
 * hashes this machine never saw only fill the cache. v->change_id is set.
 */
void vg_cloud_poll_apply(struct vg_cloud_poll *p, struct vg_tree *tree, vg_cloud_verdict_fn fn, void *ctx);
/* Appends "verdict_poll":{connected, last_id, changes, applied_to_processes, errors, last_error} to a JSON members list. */
void vg_cloud_poll_write_status(struct vg_cloud_poll *p, struct vg_buf *b, int *first);
/*
 * Parses one GET /v1/verdicts answer into verdicts (at most max; each with
 * change_id = its "id"), in order. Returns the count, or VG_EPARSE with why
 * (naming the byte offset for bad JSON, or the element) filled.
 */
int vg_cloud_poll_parse(const char *body, size_t len, struct vg_cloud_verdict *out, size_t max, char *why,
			size_t whylen);

#endif /* VIGIL_CLOUD_POLL_H */
