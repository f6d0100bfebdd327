/* persist.c - persistence files: which paths they are, snapshots of their last known-good content (at start and after unflagged writes), and undoing what a threat added. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "response/response_int.h"
#include "vigil/buf.h"
#include "vigil/proctree.h"

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

enum vg_persist_kind vg_response_persist_kind(const char *path)
{
	static const char *const rc_names[] = { "/.bashrc", "/.bash_profile", "/.bash_login", "/.bash_logout", "/.profile",
						"/.zshrc", "/.zprofile", "/.zshenv", "/.zlogin", "/etc/profile",
						"/etc/bash.bashrc", "/etc/zsh/zshrc" };
	if (!path || path[0] != '/')
		return VG_PERSIST_NONE;
	if (strstr(path, "/cron.d/") || strstr(path, "/crontabs/") || strstr(path, "/cron.hourly/") ||
	    strstr(path, "/cron.daily/") || strstr(path, "/cron.weekly/") || strstr(path, "/cron.monthly/") ||
	    ends_with(path, "/crontab") || strstr(path, "/spool/cron/"))
		return VG_PERSIST_CRON;
	if (strstr(path, "/systemd/system/") || strstr(path, "/systemd/user/"))
		return VG_PERSIST_SYSTEMD;
	for (size_t i = 0; i < sizeof(rc_names) / sizeof(*rc_names); i++)
		if (ends_with(path, rc_names[i]))
			return VG_PERSIST_SHELL_RC;
	if (strstr(path, "/profile.d/") && ends_with(path, ".sh"))
		return VG_PERSIST_SHELL_RC;
	if (ends_with(path, "/ld.so.preload"))
		return VG_PERSIST_LD_PRELOAD;
	if (strstr(path, "/autostart/") && ends_with(path, ".desktop"))
		return VG_PERSIST_XDG_AUTOSTART;
	if (ends_with(path, "/.ssh/authorized_keys") || ends_with(path, "/.ssh/authorized_keys2"))
		return VG_PERSIST_SSH_KEYS;
	return VG_PERSIST_NONE;
}

/* ---- snapshots ---- */

static void snap_free(struct vg_snap *s)
{
	if (s->file)
		unlink(s->file);
	free(s->path);
	free(s->file);
}

void vg_resp_snap_free_all(struct vg_response *r)
{
	for (size_t i = 0; i < r->nsnaps; i++) {
		free(r->snaps[i].path);
		free(r->snaps[i].file); /* the copies stay on disk for the record */
	}
	free(r->snaps);
	for (size_t i = 0; i < r->ndropped; i++)
		free(r->dropped[i]);
}

/* Reads a whole file (up to VG_SNAP_MAX_BYTES). Returns 0, -ENOENT, VG_ELIMIT or -errno. */
static int slurp(const char *path, char **out, size_t *n, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	*out = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return VG_EINVAL;
	}
	if ((uint64_t)st->st_size > VG_SNAP_MAX_BYTES) {
		close(fd);
		return VG_ELIMIT;
	}
	char *b = malloc((size_t)st->st_size + 1);
	if (!b) {
		close(fd);
		return VG_ENOMEM;
	}
	size_t got = 0;
	ssize_t k;
	while (got < (size_t)st->st_size && (k = read(fd, b + got, (size_t)st->st_size - got)) > 0)
		got += (size_t)k;
	close(fd);
	b[got] = '\0';
	*out = b;
	*n = got;
	return 0;
}

static int write_file(const char *path, const char *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	for (size_t w = 0; w < n;) {
		ssize_t k = write(fd, data + w, n - w);
		if (k < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		w += (size_t)k;
	}
	close(fd);
	return 0;
}

/* Saves real's content as the newest snapshot of path (keeping VG_SNAP_GENERATIONS per path). */
static int snapshot_as(struct vg_response *r, const char *path, const char *real, uint32_t wpid, uint64_t wstart)
{
	struct stat st = { 0 };
	char *data = NULL, name[64];
	size_t n = 0;
	int rc = slurp(real, &data, &n, &st);

	if (rc && rc != -ENOENT)
		return rc;
	if (r->nsnaps == r->snaps_cap) {
		size_t cap = r->snaps_cap ? r->snaps_cap * 2 : 64;
		struct vg_snap *ns = realloc(r->snaps, cap * sizeof(*ns));
		if (!ns) {
			free(data);
			return VG_ENOMEM;
		}
		r->snaps = ns;
		r->snaps_cap = cap;
	}
	struct vg_snap s = { 0 };
	s.seq = ++r->snap_seq;
	s.writer_pid = wpid;
	s.writer_start = wstart;
	s.path = vg_strdup(path);
	if (rc == 0) {
		snprintf(name, sizeof(name), "%lld-%llu.snap", r->run_id, (unsigned long long)s.seq);
		size_t fl = strlen(r->snapdir) + strlen(name) + 2;
		s.file = malloc(fl);
		if (s.file)
			snprintf(s.file, fl, "%s/%s", r->snapdir, name);
		s.mode = st.st_mode & 07777;
		s.uid = st.st_uid;
		s.gid = st.st_gid;
		if (!s.file || write_file(s.file, data, n, 0400)) {
			free(s.file);
			s.file = NULL;
			free(s.path);
			free(data);
			return VG_EINVAL;
		}
	}
	free(data);
	if (!s.path) {
		snap_free(&s);
		return VG_ENOMEM;
	}
	/* drop the oldest generation of this path */
	size_t count = 0, oldest = (size_t)-1;
	for (size_t i = 0; i < r->nsnaps; i++)
		if (strcmp(r->snaps[i].path, path) == 0 && count++ == 0)
			oldest = i;
	if (count >= VG_SNAP_GENERATIONS && oldest != (size_t)-1) {
		snap_free(&r->snaps[oldest]);
		memmove(&r->snaps[oldest], &r->snaps[oldest + 1], (r->nsnaps - oldest - 1) * sizeof(*r->snaps));
		r->nsnaps--;
	}
	r->snaps[r->nsnaps++] = s;
	r->stats.snapshots++;
	return 0;
}

int vg_response_snapshot(struct vg_response *r, const char *path, const char *writer_key)
{
	uint32_t pid = 0;
	uint64_t start = vg_resp_key_start(writer_key);
	char real[4200];

	if (writer_key) {
		const char *c = strrchr(writer_key, ':');
		const char *b = c;
		while (b && b > writer_key && b[-1] != ':')
			b--;
		if (b && c)
			pid = (uint32_t)strtoul(b, NULL, 10);
	}
	vg_resp_resolve(pid, path, real, sizeof(real), NULL, 0);
	return snapshot_as(r, path, real, pid, start);
}

/* Snapshots of earlier runs are not indexed any more: removed (the .before copies, the record of changes, stay). */
static void drop_stale_snaps(struct vg_response *r)
{
	DIR *d = opendir(r->snapdir);
	struct dirent *de;
	char p[4400];
	if (!d)
		return;
	while ((de = readdir(d)))
		if (ends_with(de->d_name, ".snap")) {
			snprintf(p, sizeof(p), "%s/%s", r->snapdir, de->d_name);
			unlink(p);
		}
	closedir(d);
}

void vg_resp_baseline(struct vg_response *r)
{
	drop_stale_snaps(r);
	static const char *const pats[] = {
		"/etc/crontab", "/etc/cron.d/*", "/var/spool/cron/crontabs/*", "/var/spool/cron/*", "/etc/ld.so.preload",
		"/etc/systemd/system/*.service", "/etc/systemd/system/*.timer", "/etc/xdg/autostart/*.desktop",
		"/etc/profile", "/etc/bash.bashrc", "/etc/profile.d/*.sh", "/root/.bashrc", "/root/.profile",
		"/root/.bash_profile", "/root/.zshrc", "/root/.ssh/authorized_keys", "/root/.config/autostart/*.desktop",
		"/home/*/.bashrc", "/home/*/.profile", "/home/*/.bash_profile", "/home/*/.zshrc",
		"/home/*/.ssh/authorized_keys", "/home/*/.config/autostart/*.desktop",
		"/home/*/.config/systemd/user/*.service",
	};
	for (size_t i = 0; i < sizeof(pats) / sizeof(*pats); i++) {
		char pat[4200];
		glob_t g;
		snprintf(pat, sizeof(pat), "%s%s", r->persist_root, pats[i]);
		if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc && r->nsnaps < 4096; k++) {
			struct stat st;
			if (stat(g.gl_pathv[k], &st) == 0 && S_ISREG(st.st_mode))
				snapshot_as(r, g.gl_pathv[k], g.gl_pathv[k], 0, 0);
		}
		globfree(&g);
	}
}

void vg_response_observe(struct vg_response *r, const struct vg_event *ev)
{
	char real[4200];

	if (!r || !ev->file.path)
		return;
	if (ev->type != VG_EV_FILE_CREATE && ev->type != VG_EV_FILE_WRITE && ev->type != VG_EV_FILE_RENAME &&
	    ev->type != VG_EV_FILE_CHMOD)
		return;
	if (vg_response_persist_kind(ev->file.path) == VG_PERSIST_NONE)
		return;
	if (r->tree && ev->proc.key) {
		const struct vg_proc_node *n = vg_tree_get(r->tree, ev->proc.key);
		if (n && n->alert_level > 0)
			return; /* a flagged process: its content is not a known-good state */
	}
	vg_resp_resolve(ev->proc.pid, ev->file.path, real, sizeof(real), NULL, 0);
	snapshot_as(r, ev->file.path, real, ev->proc.pid, vg_resp_key_start(ev->proc.key));
}

void vg_resp_note_dropped(struct vg_response *r, const char *path)
{
	if (r->ndropped == sizeof(r->dropped) / sizeof(*r->dropped)) {
		free(r->dropped[0]);
		memmove(r->dropped, r->dropped + 1, (r->ndropped - 1) * sizeof(*r->dropped));
		r->ndropped--;
	}
	if ((r->dropped[r->ndropped] = vg_strdup(path)))
		r->ndropped++;
}

/* ---- undo ---- */

#define MAX_NAMES_UNDO 320

struct threat {
	const uint32_t *pids;
	const uint64_t *starts;
	size_t n;
	const struct vg_proc_node *nodes[257];
	size_t nn;
};

static int in_threat(const struct threat *t, uint32_t pid, uint64_t start)
{
	if (!start)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->pids[i] == pid && t->starts[i] == start)
			return 1;
	for (size_t i = 0; i < t->nn; i++)
		if (t->nodes[i]->pid == pid && vg_resp_key_start(t->nodes[i]->key) == start)
			return 1;
	return 0;
}

static void undo_json(struct vg_buf *b, int *first, const char *path, const char *how, const char *result)
{
	int f = 1;
	if (!*first)
		vg_buf_put(b, ",", 1);
	*first = 0;
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "action", "undo_persistence");
	vg_buf_json_kv(b, &f, "path", path);
	vg_buf_json_kv(b, &f, "how", how);
	vg_buf_json_kv(b, &f, "result", result);
	vg_buf_put(b, "}", 1);
}

/* Appends what was changed to <state_dir>/remediation.jsonl (the record an operator reverts from). */
static void record(struct vg_response *r, const char *path, const char *how, const char *before)
{
	char p[4200];
	struct vg_buf b = { 0 };
	struct timespec ts;
	int f = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(p, sizeof(p), "%s/remediation.jsonl", r->state_dir);
	vg_buf_put(&b, "{", 1);
	vg_buf_json_kt(&b, &f, "time", (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	vg_buf_json_kv(&b, &f, "path", path);
	vg_buf_json_kv(&b, &f, "how", how);
	vg_buf_json_kv(&b, &f, "content_before", before);
	vg_buf_put(&b, "}\n", 2);
	FILE *fp = fopen(p, "a");
	if (fp && !b.oom)
		fwrite(b.p, 1, b.len, fp);
	if (fp)
		fclose(fp);
	vg_buf_free(&b);
}

/* Replaces real with data (temp file beside it, then rename), keeping mode and owner. */
static int replace_content(const char *real, const char *data, size_t n, uint32_t mode, uint32_t uid, uint32_t gid)
{
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.vigil-restore", real);
	unlink(tmp);
	int rc = write_file(tmp, data, n, 0600);
	if (!rc && (chown(tmp, uid, gid) || chmod(tmp, mode & 07777)))
		rc = -errno;
	if (!rc && rename(tmp, real))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* Saves the current content (what the threat left) before changing it; returns the copy's path or "". */
static void save_before(struct vg_response *r, const char *real, char *out, size_t outlen)
{
	char *data;
	size_t n;
	struct stat st;
	out[0] = '\0';
	if (slurp(real, &data, &n, &st))
		return;
	snprintf(out, outlen, "%s/%lld-%llu.before", r->snapdir, r->run_id, (unsigned long long)++r->snap_seq);
	if (write_file(out, data, n, 0400))
		out[0] = '\0';
	free(data);
}

static int line_names(const char *line, size_t len, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && names[i][0] && vg_strcasestr_n(line, len, names[i], strlen(names[i])))
			return 1;
	return 0;
}

static void undo_one(struct vg_response *r, const char *path, uint32_t via_pid, const struct threat *t, int created,
		     char *const *names, size_t nnames, int audit, struct vg_buf *extra, int *afirst)
{
	char real[4200], how[512], res[600], before[4300];
	const struct vg_snap *newest = NULL, *good = NULL;
	int rc;

	vg_resp_resolve(via_pid, path, real, sizeof(real), NULL, 0);
	for (size_t i = 0; i < r->nsnaps; i++) {
		const struct vg_snap *s = &r->snaps[i];
		if (strcmp(s->path, path) != 0)
			continue;
		newest = s;
		if (!in_threat(t, s->writer_pid, s->writer_start))
			good = s;
	}
	int restore = 0;
	if (newest && good && newest != good) {
		restore = 1; /* the newest copy is the threat's: go back to the one before */
	} else if (good) {
		/* the threat's write was not snapshotted: restore when the content moved on since */
		char *cur = NULL, *old = NULL;
		size_t nc = 0, no = 0;
		struct stat st;
		int have = slurp(real, &cur, &nc, &st) == 0;
		if (good->file && slurp(good->file, &old, &no, &st) == 0)
			restore = !have || nc != no || memcmp(cur, old, nc) != 0;
		else if (!good->file)
			restore = have;
		free(cur);
		free(old);
	}
	if (restore && !good->file) {
		snprintf(how, sizeof(how), "removed: the file did not exist before the threat (snapshot %llu)",
			 (unsigned long long)good->seq);
		if (audit) {
			undo_json(extra, afirst, path, how, "audit: would undo");
			return;
		}
		char id[64], qerr[512];
		rc = vg_quarantine_add(r->qdir, real, path, NULL, NULL, "persistence", id, qerr, sizeof(qerr));
		snprintf(res, sizeof(res), rc ? "failed: %s" : "done: quarantined as %s", rc ? qerr : id);
	} else if (restore) {
		char *data;
		size_t n;
		struct stat st;
		snprintf(how, sizeof(how), "restored snapshot %llu (%s)", (unsigned long long)good->seq,
			 good->writer_start ? "after the last unflagged write" : "taken at agent start");
		if (audit) {
			undo_json(extra, afirst, path, how, "audit: would undo");
			return;
		}
		rc = slurp(good->file, &data, &n, &st);
		if (!rc) {
			save_before(r, real, before, sizeof(before));
			rc = replace_content(real, data, n, good->mode, good->uid, good->gid);
			free(data);
			if (!rc)
				record(r, path, how, before);
		}
		snprintf(res, sizeof(res), rc ? "failed: %s" : "done", vg_strerror(rc));
	} else if (created) {
		snprintf(how, sizeof(how), "quarantined: created by the threat, no earlier snapshot");
		if (audit) {
			undo_json(extra, afirst, path, how, "audit: would undo");
			return;
		}
		char id[64], qerr[512];
		rc = vg_quarantine_add(r->qdir, real, path, NULL, NULL, "persistence", id, qerr, sizeof(qerr));
		snprintf(res, sizeof(res), rc ? "failed: %s" : "done: %s", rc ? qerr : id);
		if (!rc)
			record(r, path, how, NULL);
	} else {
		/* no snapshot: drop exactly the lines that name a dropped file */
		char *cur;
		size_t n, removed = 0;
		struct stat st;
		struct vg_buf out = { 0 };
		if ((rc = slurp(real, &cur, &n, &st))) {
			snprintf(res, sizeof(res), "failed: %.400s: %s", real, vg_strerror(rc));
			undo_json(extra, afirst, path, "remove lines naming the dropped files", res);
			return;
		}
		for (size_t i = 0; i < n;) {
			const char *nl = memchr(cur + i, '\n', n - i);
			size_t len = nl ? (size_t)(nl - (cur + i)) + 1 : n - i;
			if (line_names(cur + i, len, names, nnames) || line_names(cur + i, len, r->dropped, r->ndropped))
				removed++;
			else
				vg_buf_put(&out, cur + i, len);
			i += len;
		}
		snprintf(how, sizeof(how), "removed %zu line(s) naming the dropped files (no snapshot)", removed);
		if (!removed) {
			undo_json(extra, afirst, path, how, "unchanged: no line names a dropped file");
		} else if (audit) {
			undo_json(extra, afirst, path, how, "audit: would undo");
		} else if (out.oom) {
			undo_json(extra, afirst, path, how, "failed: out of memory");
		} else {
			save_before(r, real, before, sizeof(before));
			rc = replace_content(real, out.p ? out.p : "", out.len, st.st_mode, st.st_uid, st.st_gid);
			if (!rc)
				record(r, path, how, before);
			snprintf(res, sizeof(res), rc ? "failed: %s" : "done", vg_strerror(rc));
			undo_json(extra, afirst, path, how, res);
		}
		free(cur);
		vg_buf_free(&out);
		return;
	}
	if (strncmp(res, "done", 4) == 0)
		r->stats.persist_undone++;
	undo_json(extra, afirst, path, how, res);
}

void vg_resp_undo_persistence(struct vg_response *r, const struct vg_event *ev, char *const *files, size_t nfiles,
			      const uint32_t *pids, const uint64_t *starts, size_t nthreat, int audit, struct vg_buf *extra,
			      int *afirst)
{
	struct threat t = { .pids = pids, .starts = starts, .n = nthreat };
	const char *paths[128];
	uint32_t via[128];
	int created[128];
	size_t np = 0;

	if (r->tree && ev->proc.key) {
		const struct vg_proc_node *root = vg_tree_get(r->tree, ev->proc.key);
		if (root)
			t.nodes[t.nn++] = root;
		size_t nd = vg_tree_descendants(r->tree, ev->proc.key, t.nodes + t.nn, 256);
		t.nn += nd < 256 ? nd : 256;
	}
#define ADD_PATH(p, pid, cr)                                                               \
	do {                                                                               \
		size_t k_ = 0;                                                             \
		while (k_ < np && strcmp(paths[k_], (p)) != 0)                             \
			k_++;                                                              \
		if (k_ == np && np < 128) {                                                \
			paths[np] = (p);                                                   \
			via[np] = (pid);                                                   \
			created[np++] = (cr);                                              \
		} else if (k_ < np && (cr)) {                                              \
			created[k_] = 1;                                                   \
		}                                                                          \
	} while (0)

	if (ev->file.path && vg_response_persist_kind(ev->file.path) != VG_PERSIST_NONE)
		ADD_PATH(ev->file.path, ev->proc.pid, ev->type == VG_EV_FILE_CREATE);
	for (size_t i = 0; i < t.nn; i++)
		for (size_t k = 0; k < t.nodes[i]->nacts; k++) {
			const struct vg_activity *a = &t.nodes[i]->acts[k];
			if ((a->type == VG_EV_FILE_CREATE || a->type == VG_EV_FILE_WRITE || a->type == VG_EV_FILE_RENAME) &&
			    a->object && vg_response_persist_kind(a->object) != VG_PERSIST_NONE)
				ADD_PATH(a->object, t.nodes[i]->pid, a->type == VG_EV_FILE_CREATE);
		}
	for (size_t i = 0; i < r->nsnaps; i++)
		if (in_threat(&t, r->snaps[i].writer_pid, r->snaps[i].writer_start))
			ADD_PATH(r->snaps[i].path, r->snaps[i].writer_pid, 0);
#undef ADD_PATH
	/* names whose lines are removed: the dropped files and the threat's own executables */
	char *names[MAX_NAMES_UNDO];
	size_t nn = 0;
	for (size_t i = 0; i < nfiles && nn < MAX_NAMES_UNDO; i++)
		names[nn++] = files[i];
	for (size_t i = 0; i < t.nn && nn < MAX_NAMES_UNDO; i++) {
		const char *img = t.nodes[i]->image;
		if (img && strncmp(img, "/usr/", 5) && strncmp(img, "/bin/", 5) && strncmp(img, "/sbin/", 6))
			names[nn++] = (char *)img;
	}
	/* copies: undo_one may reallocate snapshots, whose paths are in paths[] */
	for (size_t i = 0; i < np; i++) {
		char *p = vg_strdup(paths[i]);
		if (!p)
			continue;
		undo_one(r, p, via[i], &t, created[i], names, nn, audit, extra, afirst);
		free(p);
	}
}
