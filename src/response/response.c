/* response.c - the responder: policy decision per match, then stop, quarantine, undo persistence and kill the flagged process tree, reported as the alert's "actions". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "response/response_int.h"
#include "vigil/buf.h"
#include "vigil/proctree.h"

#define MAX_VICTIMS 256
#define MAX_FILES 64

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

void vg_resp_mkdirs(const char *dir, mode_t mode)
{
	char tmp[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(tmp))
		return;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	mkdir(tmp, mode);
	chmod(dir, mode);
}

int vg_response_new(const struct vg_response_config *cfg, struct vg_tree *tree, struct vg_response **out, char *err,
		    size_t errlen)
{
	struct vg_response *r = calloc(1, sizeof(*r));
	int rc = 0;

	*out = NULL;
	if (!r)
		return VG_ENOMEM;
	r->tree = tree;
	r->audit_cfg = cfg->audit;
	r->state_dir = vg_strdup(cfg->state_dir ? cfg->state_dir : "/var/lib/vigil");
	r->qdir = cfg->quarantine_dir ? vg_strdup(cfg->quarantine_dir) : join(r->state_dir, "quarantine");
	r->snapdir = join(r->state_dir, "snapshots");
	r->persist_root = vg_strdup(cfg->persist_root ? cfg->persist_root : "");
	r->policy_path = cfg->policy ? vg_strdup(cfg->policy) : NULL;
	if (!r->state_dir || !r->qdir || !r->snapdir || !r->persist_root || (cfg->policy && !r->policy_path)) {
		rc = VG_ENOMEM;
		goto fail;
	}
	if (r->policy_path) {
		rc = vg_policy_load(r->policy_path, &r->policy, err, errlen);
		if (rc == -ENOENT) {
			vg_log(VG_LOG_WARN, "policy %s: missing, using the built-in policy (alert; rules' vigil: actions)",
			       r->policy_path);
			rc = 0;
		}
		if (rc)
			goto fail;
	}
	if (!r->policy && (rc = vg_policy_default(&r->policy)))
		goto fail;
	vg_resp_mkdirs(r->state_dir, 0700);
	vg_resp_mkdirs(r->snapdir, 0700);
	vg_resp_mkdirs(r->qdir, 0700);
	r->run_id = (long long)time(NULL);
	if (!cfg->no_baseline)
		vg_resp_baseline(r);
	*out = r;
	return 0;
fail:
	if (rc == VG_ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	vg_response_free(r);
	return rc;
}

int vg_response_new_agent(const struct vg_agent_config *cfg, struct vg_tree *tree, struct vg_response **out,
			  char *err, size_t errlen)
{
	struct vg_response_config rc = { 0 };
	rc.policy = cfg->policy;
	rc.state_dir = cfg->state_dir;
	rc.quarantine_dir = cfg->quarantine_dir;
	rc.audit = cfg->mode == VG_AGENT_AUDIT;
	return vg_response_new(&rc, tree, out, err, errlen);
}

void vg_response_free(struct vg_response *r)
{
	if (!r)
		return;
	vg_policy_free(r->policy);
	vg_resp_snap_free_all(r);
	free(r->state_dir);
	free(r->qdir);
	free(r->snapdir);
	free(r->persist_root);
	free(r->policy_path);
	free(r);
}

int vg_response_reload(struct vg_response *r, const struct vg_agent_config *cfg, char *err, size_t errlen)
{
	struct vg_policy *p = NULL;
	int rc = 0;

	if (cfg->policy) {
		rc = vg_policy_load(cfg->policy, &p, err, errlen);
		if (rc == -ENOENT)
			rc = vg_policy_default(&p);
	} else {
		rc = vg_policy_default(&p);
	}
	if (rc)
		return rc; /* the running policy stays */
	vg_policy_free(r->policy);
	r->policy = p;
	r->audit_cfg = cfg->mode == VG_AGENT_AUDIT;
	return 0;
}

void vg_response_set_policy(struct vg_response *r, struct vg_policy *p)
{
	vg_policy_free(r->policy);
	r->policy = p;
}

void vg_response_set_audit(struct vg_response *r, int audit)
{
	r->audit_cfg = audit;
}

void vg_response_set_kernel_hooks(struct vg_response *r, vg_mark_exe_fn mark_exe, vg_mark_pid_fn mark_pid, void *ctx)
{
	r->mark_exe = mark_exe;
	r->mark_pid = mark_pid;
	r->hook_ctx = ctx;
}

const struct vg_response_stats *vg_response_stats(const struct vg_response *r)
{
	return &r->stats;
}

/* "host:pid:start" -> start ticks; 0 when the key has another form. */
uint64_t vg_resp_key_start(const char *key)
{
	const char *c = key ? strrchr(key, ':') : NULL;
	char *end;
	if (!c || !c[1])
		return 0;
	unsigned long long v = strtoull(c + 1, &end, 10);
	return *end ? 0 : (uint64_t)v;
}

/* ---- the victims: the matched process and its malicious descendants ---- */

struct victim {
	uint32_t pid;
	uint64_t start;
	char image[512];
	char comm[32];
	const char *skip; /* NULL = act; else the reason (owned by the victim's why) */
	char why[160];
	int stopped;
};

struct plan {
	struct victim v[MAX_VICTIMS];
	size_t nv;
	char *files[MAX_FILES];      /* paths as the process saw them */
	uint32_t file_pid[MAX_FILES];/* process whose namespace holds the file */
	size_t nf;
};

static void read_small(const char *path, char *out, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	out[0] = '\0';
	if (fd < 0)
		return;
	ssize_t k = read(fd, out, n - 1);
	close(fd);
	if (k < 0)
		k = 0;
	out[k] = '\0';
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
}

/* Fields 4 (ppid) and 9 (flags) of /proc/<pid>/stat. */
static int proc_stat_ppid_flags(uint32_t pid, uint32_t *ppid, unsigned long *flags)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	read_small(path, buf, sizeof(buf));
	char *p = strrchr(buf, ')');
	char st;
	unsigned pp;
	int pg, sid, tty, tpg;
	unsigned long fl;
	if (!p || sscanf(p + 1, " %c %u %d %d %d %d %lu", &st, &pp, &pg, &sid, &tty, &tpg, &fl) != 7)
		return -1;
	*ppid = pp;
	*flags = fl;
	return 0;
}

static int package_dir(const char *image)
{
	static const char *const dirs[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (strncmp(image, dirs[i], strlen(dirs[i])) == 0)
			return 1;
	return 0;
}

static void add_victim(struct vg_response *r, struct plan *pl, uint32_t pid, uint64_t start, const char *ev_image)
{
	for (size_t i = 0; i < pl->nv; i++)
		if (pl->v[i].pid == pid && pl->v[i].start == start)
			return;
	if (pl->nv == MAX_VICTIMS)
		return;
	struct victim *v = &pl->v[pl->nv++];
	char path[64];
	uint32_t ppid = 0;
	unsigned long flags = 0;

	memset(v, 0, sizeof(*v));
	v->pid = pid;
	v->start = start;
	/* what /proc says about pid belongs to the keyed process only if the start time matches before and after */
	int live = start && proc_stat_ppid_flags(pid, &ppid, &flags) == 0 && vg_proc_start_ticks(pid) == start;
	if (live) {
		snprintf(path, sizeof(path), "/proc/%u/exe", pid);
		ssize_t k = readlink(path, v->image, sizeof(v->image) - 1);
		if (k > 0) {
			v->image[k] = '\0';
			if (k > 10 && strcmp(v->image + k - 10, " (deleted)") == 0)
				v->image[k - 10] = '\0';
		} else {
			v->image[0] = '\0';
		}
		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
		read_small(path, v->comm, sizeof(v->comm));
		live = vg_proc_start_ticks(pid) == start;
	}
	if (!live) {
		v->comm[0] = '\0';
		snprintf(v->image, sizeof(v->image), "%s", ev_image ? ev_image : "");
	} else if (!v->image[0] && ev_image) {
		snprintf(v->image, sizeof(v->image), "%s", ev_image);
	}
	if (!start) {
		snprintf(v->why, sizeof(v->why), "failed: no start time in the process key");
		v->skip = v->why;
	} else if (!live) {
		snprintf(v->why, sizeof(v->why), "gone: already exited");
		v->skip = v->why;
	} else if (pid == 1) {
		snprintf(v->why, sizeof(v->why), "never-kill: pid 1");
		v->skip = v->why;
	} else if (pid == 2 || ppid == 2 || (flags & 0x00200000UL)) {
		snprintf(v->why, sizeof(v->why), "never-kill: kernel thread");
		v->skip = v->why;
	} else if (pid == (uint32_t)getpid()) {
		snprintf(v->why, sizeof(v->why), "never-kill: vigild");
		v->skip = v->why;
	} else {
		char w[128];
		if (vg_policy_never_kill(r->policy, v->image[0] ? v->image : NULL, v->comm, w, sizeof(w))) {
			snprintf(v->why, sizeof(v->why), "never-kill: %s", w);
			v->skip = v->why;
		}
	}
}

/* Children from /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN); -1 when the kernel has no such file. */
static int task_children(uint32_t parent, uint32_t *out, size_t *n, size_t max)
{
	char path[96], buf[4096];
	snprintf(path, sizeof(path), "/proc/%u/task", parent);
	DIR *d = opendir(path);
	struct dirent *de;
	int found_file = 0;
	if (!d)
		return 0; /* gone */
	while ((de = readdir(d)) && *n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%.20s/children", parent, de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		found_file = 1;
		ssize_t k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		for (char *p = buf, *end; *p && *n < max; p = end) {
			unsigned long v = strtoul(p, &end, 10);
			if (end == p)
				break;
			if (v)
				out[(*n)++] = (uint32_t)v;
		}
	}
	closedir(d);
	return found_file ? 0 : -1;
}

/* Live children of pid from /proc (events may lag behind a fork). */
static void proc_children(uint32_t parent, uint32_t *out, size_t *n, size_t max)
{
	if (task_children(parent, out, n, max) == 0)
		return;
	*n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) && *n < max) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		uint32_t ppid;
		unsigned long fl;
		if (*end || !pid)
			continue;
		if (proc_stat_ppid_flags((uint32_t)pid, &ppid, &fl) == 0 && ppid == parent)
			out[(*n)++] = (uint32_t)pid;
	}
	closedir(d);
}

static uint64_t boot_ticks_of(int64_t event_ns)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	int64_t boot_ns = ((int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec) - ((int64_t)bt.tv_sec * 1000000000LL + bt.tv_nsec);
	if (event_ns <= boot_ns)
		return 0;
	return (uint64_t)((event_ns - boot_ns) / 10000000LL); /* USER_HZ = 100 */
}

/*
 * The matched process, then its descendants from the tree and from /proc:
 * a descendant is a victim unless it runs a package binary and started
 * before the matched event (docs/response.md).
 */
static void plan_victims(struct vg_response *r, struct plan *pl, const struct vg_event *ev)
{
	uint64_t root_start = vg_resp_key_start(ev->proc.key);
	uint64_t flagged_ticks = boot_ticks_of(ev->time_ns);

	add_victim(r, pl, ev->proc.pid, root_start, ev->proc.image);
	/* a protected process (pid 1, sshd, ourselves...) protects its tree: the rule names the culprit, not its ancestors */
	if (pl->v[0].skip && strncmp(pl->v[0].skip, "gone", 4) != 0)
		return;
	if (r->tree && ev->proc.key) {
		const struct vg_proc_node *d[MAX_VICTIMS];
		size_t n = vg_tree_descendants(r->tree, ev->proc.key, d, MAX_VICTIMS);
		for (size_t i = 0; i < n && i < MAX_VICTIMS; i++) {
			uint64_t st = vg_resp_key_start(d[i]->key);
			if (d[i]->exit_ns || !st)
				continue;
			if (d[i]->image && package_dir(d[i]->image) && st < flagged_ticks)
				continue;
			add_victim(r, pl, d[i]->pid, st, d[i]->image);
		}
	}
	/* live descendants the events have not shown yet */
	for (size_t i = 0; i < pl->nv && pl->nv < MAX_VICTIMS; i++) {
		uint32_t kids[64];
		size_t nk = 0;
		if (pl->v[i].skip)
			continue;
		proc_children(pl->v[i].pid, kids, &nk, 64);
		for (size_t k = 0; k < nk; k++) {
			uint64_t st = vg_proc_start_ticks(kids[k]);
			char exe[512], path[64];
			snprintf(path, sizeof(path), "/proc/%u/exe", kids[k]);
			ssize_t m = readlink(path, exe, sizeof(exe) - 1);
			exe[m > 0 ? m : 0] = '\0';
			if (m > 0 && package_dir(exe) && st < flagged_ticks)
				continue;
			add_victim(r, pl, kids[k], st, NULL);
		}
	}
}

/* ---- files to quarantine ---- */

static int user_writable_place(const char *path)
{
	static const char *const tmp[] = { "/tmp/", "/var/tmp/", "/dev/shm/", "/home/", "/root/", "/run/user/", "/var/www/" };
	struct stat st;
	char dir[4096];

	for (size_t i = 0; i < sizeof(tmp) / sizeof(*tmp); i++)
		if (strncmp(path, tmp[i], strlen(tmp[i])) == 0)
			return 1;
	snprintf(dir, sizeof(dir), "%s", path);
	char *s = strrchr(dir, '/');
	if (!s || s == dir)
		return 0;
	*s = '\0';
	return stat(dir, &st) == 0 && (st.st_uid != 0 || (st.st_mode & 0022));
}

static void add_file(struct plan *pl, const char *path, uint32_t pid)
{
	if (!path || path[0] != '/' || pl->nf == MAX_FILES || vg_response_persist_kind(path) != VG_PERSIST_NONE)
		return;
	for (size_t i = 0; i < pl->nf; i++)
		if (strcmp(pl->files[i], path) == 0)
			return;
	if ((pl->files[pl->nf] = vg_strdup(path)))
		pl->file_pid[pl->nf++] = pid;
}

/* An executable: any x bit, or starts with ELF magic or "#!". */
static int is_executable(const char *path)
{
	struct stat st;
	char head[4] = { 0 };
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (st.st_mode & 0111)
		return 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, head, 4);
	close(fd);
	return (n == 4 && memcmp(head, "\177ELF", 4) == 0) || (n >= 2 && head[0] == '#' && head[1] == '!');
}

int vg_resp_resolve(uint32_t pid, const char *path, char *out, size_t outlen, char *note, size_t notelen)
{
	char a[64], b[64], la[128] = "", lb[128] = "";
	if (note && notelen)
		note[0] = '\0';
	if (pid) {
		snprintf(a, sizeof(a), "/proc/%u/ns/mnt", pid);
		snprintf(b, sizeof(b), "/proc/self/ns/mnt");
		ssize_t x = readlink(a, la, sizeof(la) - 1), y = readlink(b, lb, sizeof(lb) - 1);
		if (x > 0 && y > 0) {
			la[x] = lb[y] = '\0';
			if (strcmp(la, lb) != 0) {
				if (note && notelen)
					snprintf(note, notelen, "in pid %u's mount namespace %s (ours %s): reached via /proc/%u/root",
						 pid, la, lb, pid);
				snprintf(out, outlen, "/proc/%u/root%s", pid, path);
				return 1;
			}
		}
	}
	snprintf(out, outlen, "%s", path);
	return 0;
}

static void plan_files(struct vg_response *r, struct plan *pl, const struct vg_event *ev)
{
	char real[4200];

	/* the matched file (a dropped payload; persistence files are undone, not quarantined) */
	if (ev->file.path && ev->type != VG_EV_FILE_DELETE)
		add_file(pl, ev->file.path, ev->proc.pid);
	for (size_t i = 0; i < pl->nv; i++) {
		if (pl->v[i].skip && strncmp(pl->v[i].skip, "never-kill", 10) == 0)
			continue; /* a protected process keeps its executable too */
		const char *img = pl->v[i].image[0] ? pl->v[i].image : (i == 0 ? ev->proc.image : NULL);
		if (img && user_writable_place(img))
			add_file(pl, img, pl->v[i].pid);
	}
	/* executables the flagged tree wrote */
	if (!r->tree || !ev->proc.key)
		return;
	const struct vg_proc_node *nodes[MAX_VICTIMS + 1];
	size_t n = 0;
	const struct vg_proc_node *root = vg_tree_get(r->tree, ev->proc.key);
	if (root)
		nodes[n++] = root;
	size_t nd = vg_tree_descendants(r->tree, ev->proc.key, nodes + n, MAX_VICTIMS);
	n += nd < MAX_VICTIMS ? nd : MAX_VICTIMS;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nodes[i]->nacts; k++) {
			const struct vg_activity *a = &nodes[i]->acts[k];
			if (a->type != VG_EV_FILE_CREATE && a->type != VG_EV_FILE_WRITE && a->type != VG_EV_FILE_RENAME &&
			    a->type != VG_EV_FILE_CHMOD)
				continue;
			if (!a->object || a->object[0] != '/')
				continue;
			vg_resp_resolve(nodes[i]->pid, a->object, real, sizeof(real), NULL, 0);
			if (is_executable(real))
				add_file(pl, a->object, nodes[i]->pid);
		}
}

/* Package-managed places: never quarantined from here (persistence files there are undone, not moved). */
static int system_location(const char *p)
{
	static const char *const dirs[] = { "/etc/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/boot/",
					    "/var/lib/dpkg/", "/var/lib/apt/", "/proc/", "/sys/", "/dev/" };
	if (strncmp(p, "/usr/local/", 11) == 0 || strncmp(p, "/dev/shm/", 9) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (strncmp(p, dirs[i], strlen(dirs[i])) == 0)
			return 1;
	return 0;
}

/* ---- acting and reporting ---- */

static void act_json(struct vg_buf *b, int *first, const char *action, const char *k1, const char *v1, int64_t pid,
		     const char *result)
{
	int f = 1;
	if (!*first)
		vg_buf_put(b, ",", 1);
	*first = 0;
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "action", action);
	if (pid >= 0)
		vg_buf_json_ki(b, &f, "pid", pid);
	if (k1)
		vg_buf_json_kv(b, &f, k1, v1);
	vg_buf_json_kv(b, &f, "result", result);
	vg_buf_put(b, "}", 1);
}

/* sha256 exclusions against the running executable (/proc/<pid>/exe, verified by start time) and the matched file. */
static int sha_excluded(struct vg_response *r, const struct vg_rule *rule, const struct vg_event *ev, char *why,
			size_t whylen)
{
	char path[4200], sha[65];
	uint64_t start = vg_resp_key_start(ev->proc.key);

	if (ev->proc.pid && start && vg_proc_start_ticks(ev->proc.pid) == start) {
		snprintf(path, sizeof(path), "/proc/%u/exe", ev->proc.pid);
		if (vg_sha256_file(path, sha) == 0 && vg_proc_start_ticks(ev->proc.pid) == start &&
		    vg_policy_excluded(r->policy, rule, ev, sha, why, whylen))
			return 1;
	}
	if (ev->file.path && ev->file.path[0] == '/') {
		vg_resp_resolve(ev->proc.pid, ev->file.path, path, sizeof(path), NULL, 0);
		if (vg_sha256_file(path, sha) == 0 && vg_policy_excluded(r->policy, rule, ev, sha, why, whylen))
			return 1;
	}
	return 0;
}

int vg_response_respond(void *ctx, const struct vg_rule *rule, const struct vg_event *ev, struct vg_buf *extra)
{
	struct vg_response *r = ctx;
	char why[256];
	enum vg_action act = vg_policy_decide(r->policy, rule, why, sizeof(why));
	return vg_response_act(r, act, why, rule, NULL, ev, extra);
}

int vg_response_act(struct vg_response *r, enum vg_action act, const char *why, const struct vg_rule *rule,
		    const char *rule_id, const struct vg_event *ev, struct vg_buf *extra)
{
	struct plan *pl;
	char ex[256], res[600];
	int first = 1, audit = r->audit_cfg || vg_policy_audit(r->policy);
	if (rule)
		rule_id = rule->id;
	int excluded = act != VG_ACT_ALERT && vg_policy_excluded(r->policy, rule, ev, NULL, ex, sizeof(ex));
	if (act != VG_ACT_ALERT && !excluded && vg_policy_has_sha256(r->policy) && ev->platform == VG_PLATFORM_LINUX)
		excluded = sha_excluded(r, rule, ev, ex, sizeof(ex));

	r->stats.decisions++;
	vg_buf_json_key(extra, &first, "response");
	vg_buf_put(extra, "{", 1);
	int f = 1;
	vg_buf_json_kv(extra, &f, "decision", vg_action_name(act));
	vg_buf_json_kv(extra, &f, "why", why);
	vg_buf_json_kv(extra, &f, "mode", audit ? "audit" : "protect");
	vg_buf_put(extra, "}", 1);
	vg_buf_json_key(extra, &first, "actions");
	vg_buf_put(extra, "[", 1);
	int afirst = 1;
	if (act == VG_ACT_ALERT)
		goto done;
	if (ev->platform != VG_PLATFORM_LINUX) {
		act_json(extra, &afirst, vg_action_name(act), "image", ev->proc.image, ev->proc.pid,
			 "failed: not a Linux event (vigild acts on this machine's processes only)");
		goto done;
	}
	if (excluded) {
		snprintf(res, sizeof(res), "excluded: %s", ex);
		act_json(extra, &afirst, vg_action_name(act), "image", ev->proc.image, ev->proc.pid, res);
		goto done;
	}
	if (!(pl = calloc(1, sizeof(*pl)))) {
		vg_buf_put(extra, "]", 1);
		return VG_ENOMEM;
	}
	int do_kill = act == VG_ACT_KILL || act == VG_ACT_REMEDIATE;
	int do_quar = act == VG_ACT_QUARANTINE || act == VG_ACT_REMEDIATE;
	plan_victims(r, pl, ev);
	if (do_quar)
		plan_files(r, pl, ev);

	/* 1. freeze the tree, so nothing forks, writes or exits (and takes its mount namespace away) meanwhile */
	if (do_kill && !audit)
		for (size_t i = 0; i < pl->nv; i++)
			if (!pl->v[i].skip)
				pl->v[i].stopped = vg_kill_checked(pl->v[i].pid, pl->v[i].start, SIGSTOP) == 0;
	/* 2. quarantine */
	for (size_t i = 0; do_quar && i < pl->nf; i++) {
		char real[4200], note[512], id[64], qerr[512];
		struct stat st;
		int rerouted = vg_resp_resolve(pl->file_pid[i], pl->files[i], real, sizeof(real), note, sizeof(note));
		char resolved[PATH_MAX];
		const char *sys = system_location(pl->files[i]) ? pl->files[i]
				  : !rerouted && realpath(real, resolved) && system_location(resolved) ? resolved : NULL;
		if (sys) {
			/* a symlinked folder must not turn a dropped-file path into /etc/passwd */
			snprintf(res, sizeof(res), "refused: %.400s is in a system location (remove it by hand if it is the threat's)",
				 sys);
			act_json(extra, &afirst, "quarantine", "path", pl->files[i], -1, res);
			continue;
		}
		if (stat(real, &st) || !S_ISREG(st.st_mode)) {
			snprintf(res, sizeof(res), "failed: %.400s: %s", real, stat(real, &st) ? strerror(errno) : "not a regular file");
			act_json(extra, &afirst, "quarantine", "path", pl->files[i], -1, res);
			continue;
		}
		if (audit) {
			act_json(extra, &afirst, "quarantine", "path", pl->files[i], -1, "audit: would quarantine");
			continue;
		}
		char incident[64];
		snprintf(incident, sizeof(incident), "event:%llu", (unsigned long long)ev->seq);
		if (vg_quarantine_add(r->qdir, real, pl->files[i], note[0] ? note : NULL, rule_id, incident, id, qerr,
				      sizeof(qerr)) == 0) {
			r->stats.quarantined++;
			snprintf(res, sizeof(res), "done: %s", id);
			vg_resp_note_dropped(r, pl->files[i]);
			if (r->mark_exe && (st.st_mode & 0111))
				r->mark_exe(r->hook_ctx, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		} else {
			r->stats.quarantine_failed++;
			snprintf(res, sizeof(res), "failed: %s", qerr);
		}
		act_json(extra, &afirst, "quarantine", "path", pl->files[i], -1, res);
	}
	/* 3. undo persistence */
	if (act == VG_ACT_REMEDIATE) {
		uint32_t pids[MAX_VICTIMS];
		uint64_t starts[MAX_VICTIMS];
		for (size_t i = 0; i < pl->nv; i++) {
			pids[i] = pl->v[i].pid;
			starts[i] = pl->v[i].start;
		}
		vg_resp_undo_persistence(r, ev, pl->files, pl->nf, pids, starts, pl->nv, audit, extra, &afirst);
	}
	/* 4. kill */
	for (size_t i = 0; do_kill && i < pl->nv; i++) {
		struct victim *v = &pl->v[i];
		if (v->skip) {
			act_json(extra, &afirst, "kill", "image", v->image, v->pid, v->skip);
			continue;
		}
		if (audit) {
			act_json(extra, &afirst, "kill", "image", v->image, v->pid, "audit: would kill");
			continue;
		}
		if (r->mark_pid)
			r->mark_pid(r->hook_ctx, v->pid);
		int rc = vg_kill_checked(v->pid, v->start, SIGKILL);
		if (rc == 0) {
			r->stats.killed++;
			snprintf(res, sizeof(res), "done");
		} else {
			r->stats.kill_failed++;
			snprintf(res, sizeof(res), "failed: %s", rc == VG_ENOTFOUND ? "gone or pid reused" : vg_strerror(rc));
		}
		act_json(extra, &afirst, "kill", "image", v->image, v->pid, res);
	}
	for (size_t i = 0; i < pl->nf; i++)
		free(pl->files[i]);
	free(pl);
done:
	vg_buf_put(extra, "]", 1);
	return extra->oom ? VG_ENOMEM : 0;
}
