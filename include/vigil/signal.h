/* signal.h - the behavior signal (POST /v1/signals body, docs/schemas/signal.json) built from an event and the process tree: one builder for vigild's cloud client and `vigil corpus`. */
#ifndef VIGIL_SIGNAL_H
#define VIGIL_SIGNAL_H

#include <stddef.h>

#include "vigil/event.h"

struct vg_buf;
struct vg_tree;
struct vg_rule;

#define VG_SIGNAL_CHAIN_MAX 16 /* process chain depth (root first, the acting process last) */

/* The behavior id of a signal sent for a never-seen user-writable executable's start (no rule). */
#define VG_SIGNAL_NEW_EXE_BEHAVIOR "vigil.new_user_writable_executable"

/* The SHA256=... of a Sysmon-style hashes string, lower-cased, into out. Returns 1, or 0 when there is none. */
int vg_signal_sha256(const char *hashes, char out[65]);

/*
 * Appends the signal's "file" object for the executable of ev's acting
 * process: sha256, size (the recorded VigilFileSize, else a stat of the
 * path), path, name, entropy, package, first_seen (the event's time), ELF
 * summary. Facts come from the event's host-fact fields (docs/linux-host.md).
 */
void vg_signal_build_file(const struct vg_event *ev, const char *sha, struct vg_buf *b);

/*
 * Appends the whole signal: endpoint_id, address, time, rule_ids and
 * behavior_ids (the rule's id and technique; rule NULL = a process start, whose
 * behavior id is start_behavior, NULL meaning VG_SIGNAL_NEW_EXE_BEHAVIOR),
 * the process chain of ev's acting process from tree (root first, the last
 * one carrying sha), and file_json (a vg_signal_build_file object).
 */
void vg_signal_build(const char *endpoint_id, const char *address, struct vg_tree *tree,
		     const struct vg_rule *rule, const char *start_behavior, const struct vg_event *ev,
		     const char *sha, const char *file_json, struct vg_buf *b);

#endif /* VIGIL_SIGNAL_H */
