/* corpus.h - the labels manifest of `vigil corpus`: which recording is which endpoint, class, family and held-out group, and (Windows) which processes are the attacker's (docs/corpus.md). */
#ifndef VIGIL_CORPUS_H
#define VIGIL_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#define VG_CORPUS_MAX_ROOTS 8

/*
 * A recording line (tab-separated):
 *   recording  label  family  group  platform  [options]
 * label is "benign" or "malicious" (for Windows files with attacker lines:
 * the class of every process the attacker lines do not name); options is a
 * comma-separated list of "root=PID" (only that process's descendants,
 * repeatable: the workload's subtree on a shared machine) and "unpackaged"
 * (leave out signals about a package-verified program: a system tool the
 * attack ran is not the attacker's file).
 */
struct vg_corpus_entry {
	char *recording, *label, *family, *group, *platform;
	uint32_t roots[VG_CORPUS_MAX_ROOTS];
	size_t nroots;
	int unpackaged;
	unsigned line;  /* where it was in the manifest */
};

/*
 * An attacker line:
 *   attacker  recording  family  image=TEXT | command=TEXT
 * A process of that recording whose image (or command line) contains TEXT
 * (ASCII case-insensitive), and every descendant of such a process, is
 * malicious with this family.
 */
struct vg_corpus_attacker {
	char *recording, *family, *text;
	int command;    /* 0: image, 1: command line */
	unsigned line;
};

struct vg_corpus_labels {
	struct vg_corpus_entry *entries;
	size_t nentries, cap_entries;
	struct vg_corpus_attacker *attackers;
	size_t nattackers, cap_attackers;
};

/* Called for each bad line: manifest name, 1-based line, reason. */
typedef void (*vg_corpus_bad_fn)(const char *name, unsigned line, const char *reason, void *ctx);

/*
 * Parses a manifest of len bytes (blank lines and lines starting with '#'
 * are skipped) and appends its lines to out (zero it before the first call).
 * Each bad line is reported to bad and skipped; the rest is kept. Returns
 * the number of bad lines, or VG_ENOMEM.
 */
int vg_corpus_labels_parse(const char *name, const char *text, size_t len, struct vg_corpus_labels *out,
			   vg_corpus_bad_fn bad, void *ctx);
void vg_corpus_labels_free(struct vg_corpus_labels *l); /* accepts NULL */

#endif /* VIGIL_CORPUS_H */
