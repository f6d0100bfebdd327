/* labels.c - reads the labels manifest of `vigil corpus` (recording lines and attacker lines, tab-separated); bad lines are reported with file:line and skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/corpus.h"

#define MAX_COLS 8

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, nc * size);
	if (!q)
		return VG_ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

/* A printable field with no control bytes (the corpus writes it into JSON and file names). */
static int field_ok(const char *s, size_t n)
{
	if (n == 0 || n > 1024)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void free_entry(struct vg_corpus_entry *e)
{
	free(e->recording);
	free(e->label);
	free(e->family);
	free(e->group);
	free(e->platform);
}

/* Parses the options column into e. Returns NULL or the reason it is bad. */
static const char *parse_options(const char *s, size_t n, struct vg_corpus_entry *e, char *why, size_t whylen)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		const char *o = s + i;
		size_t ol = j - i;
		if (ol == 10 && memcmp(o, "unpackaged", 10) == 0) {
			e->unpackaged = 1;
		} else if (ol > 5 && memcmp(o, "root=", 5) == 0) {
			unsigned long long pid = 0;
			for (size_t k = 5; k < ol; k++) {
				if (o[k] < '0' || o[k] > '9' || pid > 0xffffffffull / 10) {
					snprintf(why, whylen, "option %zu: root= needs a process id, got '%.*s'", i + 1,
						 (int)(ol > 40 ? 40 : ol), o);
					return why;
				}
				pid = pid * 10 + (unsigned)(o[k] - '0');
			}
			if (pid == 0 || pid > 0xffffffffull) {
				snprintf(why, whylen, "option at column byte %zu: root= needs a process id above 0", i + 1);
				return why;
			}
			if (e->nroots == VG_CORPUS_MAX_ROOTS) {
				snprintf(why, whylen, "more than %d root= options", VG_CORPUS_MAX_ROOTS);
				return why;
			}
			e->roots[e->nroots++] = (uint32_t)pid;
		} else {
			snprintf(why, whylen, "unknown option '%.*s' (root=PID or unpackaged)", (int)(ol > 40 ? 40 : ol), o);
			return why;
		}
		i = j + 1;
	}
	return NULL;
}

/* One non-comment line split into cols. Returns 0, 1 (bad: why set) or VG_ENOMEM. */
static int parse_line(const char *const *col, const size_t *cl, int ncol, unsigned lineno,
		      struct vg_corpus_labels *out, char *why, size_t whylen)
{
	for (int i = 0; i < ncol; i++)
		if (!field_ok(col[i], cl[i])) {
			snprintf(why, whylen, "column %d is empty, too long or has control characters", i + 1);
			return 1;
		}
	if (cl[0] == 8 && memcmp(col[0], "attacker", 8) == 0) {
		if (ncol != 4) {
			snprintf(why, whylen, "an attacker line has 4 columns (attacker, recording, family, "
					      "image=TEXT or command=TEXT), this one has %d", ncol);
			return 1;
		}
		int command;
		size_t skip;
		if (cl[3] > 6 && memcmp(col[3], "image=", 6) == 0) {
			command = 0;
			skip = 6;
		} else if (cl[3] > 8 && memcmp(col[3], "command=", 8) == 0) {
			command = 1;
			skip = 8;
		} else {
			snprintf(why, whylen, "column 4 must be image=TEXT or command=TEXT");
			return 1;
		}
		if (grow((void **)&out->attackers, &out->cap_attackers, out->nattackers, sizeof(*out->attackers)))
			return VG_ENOMEM;
		struct vg_corpus_attacker *a = &out->attackers[out->nattackers];
		memset(a, 0, sizeof(*a));
		a->recording = dup_n(col[1], cl[1]);
		a->family = dup_n(col[2], cl[2]);
		a->text = dup_n(col[3] + skip, cl[3] - skip);
		a->command = command;
		a->line = lineno;
		if (!a->recording || !a->family || !a->text) {
			free(a->recording);
			free(a->family);
			free(a->text);
			return VG_ENOMEM;
		}
		out->nattackers++;
		return 0;
	}
	if (ncol < 5 || ncol > 6) {
		snprintf(why, whylen, "a recording line has 5 or 6 columns (recording, label, family, group, "
				      "platform, options), this one has %d", ncol);
		return 1;
	}
	if (!((cl[1] == 6 && memcmp(col[1], "benign", 6) == 0) || (cl[1] == 9 && memcmp(col[1], "malicious", 9) == 0))) {
		snprintf(why, whylen, "label must be benign or malicious, not '%.*s'", (int)(cl[1] > 40 ? 40 : cl[1]), col[1]);
		return 1;
	}
	if (!((cl[4] == 5 && memcmp(col[4], "linux", 5) == 0) || (cl[4] == 7 && memcmp(col[4], "windows", 7) == 0))) {
		snprintf(why, whylen, "platform must be linux or windows, not '%.*s'", (int)(cl[4] > 40 ? 40 : cl[4]),
			 col[4]);
		return 1;
	}
	struct vg_corpus_entry e = { 0 };
	e.line = lineno;
	if (ncol == 6 && parse_options(col[5], cl[5], &e, why, whylen))
		return 1;
	if (grow((void **)&out->entries, &out->cap_entries, out->nentries, sizeof(*out->entries)))
		return VG_ENOMEM;
	e.recording = dup_n(col[0], cl[0]);
	e.label = dup_n(col[1], cl[1]);
	e.family = dup_n(col[2], cl[2]);
	e.group = dup_n(col[3], cl[3]);
	e.platform = dup_n(col[4], cl[4]);
	if (!e.recording || !e.label || !e.family || !e.group || !e.platform) {
		free_entry(&e);
		return VG_ENOMEM;
	}
	out->entries[out->nentries++] = e;
	return 0;
}

int vg_corpus_labels_parse(const char *name, const char *text, size_t len, struct vg_corpus_labels *out,
			   vg_corpus_bad_fn bad, void *ctx)
{
	int nbad = 0;
	unsigned lineno = 0;
	size_t pos = 0;
	char why[256];

	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		size_t n = end - pos;
		const char *l = text + pos;
		lineno++;
		pos = end + 1;
		if (n && l[n - 1] == '\r')
			n--;
		if (n == 0 || l[0] == '#')
			continue;
		const char *col[MAX_COLS];
		size_t cl[MAX_COLS];
		int ncol = 0, toomany = 0;
		size_t i = 0;
		for (;;) {
			size_t j = i;
			while (j < n && l[j] != '\t')
				j++;
			if (ncol == MAX_COLS) {
				toomany = 1;
				break;
			}
			col[ncol] = l + i;
			cl[ncol++] = j - i;
			if (j >= n)
				break;
			i = j + 1;
		}
		int rc;
		if (toomany) {
			snprintf(why, sizeof(why), "more than %d tab-separated columns", MAX_COLS);
			rc = 1;
		} else {
			rc = parse_line(col, cl, ncol, lineno, out, why, sizeof(why));
		}
		if (rc == VG_ENOMEM)
			return rc;
		if (rc) {
			nbad++;
			if (bad)
				bad(name, lineno, why, ctx);
		}
	}
	return nbad;
}

void vg_corpus_labels_free(struct vg_corpus_labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nentries; i++)
		free_entry(&l->entries[i]);
	for (size_t i = 0; i < l->nattackers; i++) {
		free(l->attackers[i].recording);
		free(l->attackers[i].family);
		free(l->attackers[i].text);
	}
	free(l->entries);
	free(l->attackers);
	memset(l, 0, sizeof(*l));
}
