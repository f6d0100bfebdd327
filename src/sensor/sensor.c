/* sensor.c - the eBPF sensor's user side: loads the skeleton, reads the ring buffer, maps records to vg_events (docs/linux-events.md) with /proc for what BPF cannot see, seeds running processes, and drives the kill-switch maps. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sensor/dns.h"
#include "sensor/procfs.h"
#include "vigil/buf.h"
#include "vigil/sensor.h"
#include "vigil_events.h"
#include "vigil.skel.h"

#define VG_SENSOR_POLL_MS 20 /* longest wait: records that do not wake the reader wait at most this long */
#define CACHE_SLOTS 65536 /* direct-mapped by pid: a miss is refilled from /proc */
#define UID_SLOTS 64

/* What the sensor remembers about a process between its records. */
struct proc_slot {
	uint32_t pid;
	uint64_t start;
	char *image;
	char *cmdline;
};

struct uid_slot {
	uint32_t uid;
	int used;
	char name[64];
};

struct seed {
	struct vg_procstat st;
};

struct vg_sensor {
	struct vigil *skel;
	struct ring_buffer *rb;
	char host[256];
	struct vg_event *ev;
	vg_agent_event_fn fn; /* set during poll */
	void *ctx;
	int delivered;
	int64_t boot_to_real_ns;
	uint64_t seq;
	struct vg_sensor_stats st;
	struct proc_slot *cache;
	struct uid_slot uids[UID_SLOTS];
	struct seed *seeds;
	size_t nseeds;
	unsigned ncpus;
	int raw_syscalls;   /* fallback: raw sys_enter/sys_exit (the kernel has no syscall tracepoints) */
	unsigned syscall_tps; /* per-syscall tracepoint programs loaded */
	unsigned syscalls_missing; /* watched syscalls without a tracepoint (handle_sys_missing) */
};

static void kill_hook_check(struct vg_sensor *s);

static char libbpf_msg[512]; /* why a load failed: the first libbpf warning, with the verifier's verdict */

/* The verifier's verdict: the last log line before "processed N insns". */
static void verifier_verdict(const char *log, char *out, size_t outlen)
{
	const char *end = strstr(log, "\nprocessed ");
	if (!end)
		return;
	const char *start = end;
	while (start > log && start[-1] != '\n')
		start--;
	if (snprintf(out, outlen, "%.*s", (int)(end - start), start) >= (int)outlen)
		out[outlen - 1] = 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[8192];
	if (level == LIBBPF_DEBUG)
		return 0;
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if (level == LIBBPF_WARN && strstr(line, "-- BEGIN PROG LOAD LOG --")) {
		char verdict[256] = "";
		size_t l = strlen(libbpf_msg);
		verifier_verdict(line, verdict, sizeof(verdict));
		if (verdict[0] && l + 20 < sizeof(libbpf_msg))
			snprintf(libbpf_msg + l, sizeof(libbpf_msg) - l, "; verifier: %s", verdict);
		vg_log(VG_LOG_INFO, "%s", line);
		return 0;
	}
	size_t l = strlen(line);
	while (l && line[l - 1] == '\n')
		line[--l] = 0;
	if (level == LIBBPF_WARN && !libbpf_msg[0] && l && !strstr(line, "Failed to bump RLIMIT_MEMLOCK"))
		snprintf(libbpf_msg, sizeof(libbpf_msg), "%.*s", (int)sizeof(libbpf_msg) - 1, line);
	vg_log(level == LIBBPF_WARN ? VG_LOG_WARN : VG_LOG_INFO, "%s", line);
	return 0;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---------------------------------------------------------------- caches */

static struct proc_slot *slot(struct vg_sensor *s, uint32_t pid)
{
	return &s->cache[pid & (CACHE_SLOTS - 1)];
}

static void slot_set(struct proc_slot *p, uint32_t pid, uint64_t start, const char *image, const char *cmdline)
{
	char *i = image ? strdup(image) : NULL, *c = cmdline ? strdup(cmdline) : NULL;
	free(p->image);
	free(p->cmdline);
	p->pid = pid;
	p->start = start;
	p->image = i;
	p->cmdline = c;
}

/* Strips " (deleted)" from a readlink result; returns 1 if it was there. */
static int strip_deleted(char *p)
{
	size_t n = strlen(p);
	if (n > 10 && strcmp(p + n - 10, " (deleted)") == 0) {
		p[n - 10] = 0;
		return 1;
	}
	return 0;
}

/* Image and command line of a process from /proc. */
static void read_identity(uint32_t pid, char *image, size_t ilen, char *cmd, size_t clen)
{
	char raw[4096];
	if (vg_procfs_link(pid, "exe", image, ilen) < 0)
		image[0] = 0;
	else
		strip_deleted(image);
	long n = vg_procfs_read(pid, "cmdline", raw, sizeof(raw));
	if (n > 0)
		vg_procfs_join_argv(raw, (size_t)n, cmd, clen, NULL, 0);
	else
		cmd[0] = 0;
}

/* The cached identity of (pid, start), filled from /proc on a miss. start 0 = any start. */
static struct proc_slot *lookup(struct vg_sensor *s, uint32_t pid, uint64_t start)
{
	struct proc_slot *p = slot(s, pid);
	char image[4096], cmd[4096];
	if (!pid)
		return NULL;
	if (p->pid == pid && (start == 0 || p->start == start))
		return p;
	if (start == 0) {
		char buf[1024];
		struct vg_procstat st;
		long n = vg_procfs_read(pid, "stat", buf, sizeof(buf));
		if (n <= 0 || vg_procfs_parse_stat(buf, (size_t)n, &st, NULL, 0))
			return NULL;
		start = st.start_ticks;
	}
	read_identity(pid, image, sizeof(image), cmd, sizeof(cmd));
	slot_set(p, pid, start, image[0] ? image : NULL, cmd[0] ? cmd : NULL);
	return p;
}

static const char *user_name(struct vg_sensor *s, uint32_t uid)
{
	struct uid_slot *u = &s->uids[uid % UID_SLOTS];
	if (!u->used || u->uid != uid) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		u->uid = uid;
		u->used = 1;
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
			snprintf(u->name, sizeof(u->name), "%s", res->pw_name);
		else
			snprintf(u->name, sizeof(u->name), "%u", uid);
	}
	return u->name;
}

/* ---------------------------------------------------------------- event building */

static void field(struct vg_event *ev, const char *name, const char *v)
{
	if (v)
		vg_event_add_field(ev, name, strlen(name), v, strlen(v));
}

static void fieldf(struct vg_event *ev, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fieldf(struct vg_event *ev, const char *name, const char *fmt, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	field(ev, name, b);
}

static const char *keyf(struct vg_sensor *s, uint32_t pid, uint64_t start)
{
	char b[300];
	int n = snprintf(b, sizeof(b), "%s:%u:%llu", s->host, pid, (unsigned long long)start);
	return vg_event_strdup(s->ev, b, (size_t)n);
}

static const char *edup(struct vg_sensor *s, const char *v)
{
	return v ? vg_event_strdup(s->ev, v, strlen(v)) : NULL;
}

/* The common part: type, time, the acting process and its raw fields ProcessId, Image, User, UtcTime. */
static void begin(struct vg_sensor *s, enum vg_event_type type, int64_t time_ns, uint32_t pid, uint64_t start,
		  uint32_t uid, const char *image, const char *cmdline)
{
	struct vg_event *ev = s->ev;
	char t[96];
	vg_event_reset(ev);
	ev->type = type;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->time_ns = time_ns;
	ev->record_id = ++s->seq;
	ev->host = s->host;
	ev->proc.key = keyf(s, pid, start);
	ev->proc.pid = pid;
	ev->proc.image = edup(s, image);
	ev->proc.command_line = edup(s, cmdline);
	ev->proc.user = edup(s, user_name(s, uid));
	time_t sec = (time_t)(time_ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(t, sizeof(t), "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(time_ns / 1000000 % 1000));
	field(ev, "UtcTime", t);
	fieldf(ev, "ProcessId", "%u", pid);
	field(ev, "Image", ev->proc.image);
	field(ev, "User", ev->proc.user);
}

static void deliver(struct vg_sensor *s)
{
	struct vg_event *ev = s->ev;
	ev->nraw = ev->nfields;
	s->st.events++;
	s->st.by_type[ev->type]++;
	s->delivered++;
	if (s->fn)
		s->fn(ev, s->ctx);
}

/* Resolves a path relative to dirfd (AT_FDCWD = the cwd) of pid, as the process saw it. */
static void resolve_path(uint32_t pid, long dirfd, const char *path, char *out, size_t outlen)
{
	char base[4096];
	long n;
	if (path[0] == '/' || !path[0]) {
		snprintf(out, outlen, "%s", path);
		return;
	}
	if (dirfd == -100) {
		n = vg_procfs_link(pid, "cwd", base, sizeof(base));
	} else {
		char fdn[32];
		snprintf(fdn, sizeof(fdn), "fd/%ld", dirfd);
		n = vg_procfs_link(pid, fdn, base, sizeof(base));
	}
	if (n <= 0) {
		snprintf(out, outlen, "%s", path);
		return;
	}
	const char *p = path;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (snprintf(out, outlen, "%s%s%s", base, strcmp(base, "/") ? "/" : "", p) >= (int)outlen)
		out[outlen - 1] = 0; /* longer than PATH_MAX: cut */
}

/* The directory (or descriptor path) the kernel walked for the record, or NULL. */
static const char *walked(const struct vgb_event *r, char *out, size_t outlen)
{
	if (!(r->flags & VGB_F_DIR) || r->dir_off >= VGB_DIR_END)
		return NULL;
	size_t n = VGB_DIR_END - r->dir_off;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, r->s2 + r->dir_off, n);
	out[n] = 0;
	return out;
}

/* s1 made absolute: with the directory walked in the kernel, else with /proc (process still alive). */
static void record_path(const struct vgb_event *r, long dirfd, char *out, size_t outlen)
{
	char dir[VGB_DIR_END + 1];
	const char *p = r->s1;
	if (p[0] != '/' && walked(r, dir, sizeof(dir))) {
		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (snprintf(out, outlen, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", p) >= (int)outlen)
			out[outlen - 1] = 0;
		return;
	}
	resolve_path(r->pid, dirfd, r->s1, out, outlen);
}

static void parent_fields(struct vg_sensor *s, uint32_t ppid, uint64_t pstart)
{
	struct vg_event *ev = s->ev;
	struct proc_slot *pp = lookup(s, ppid, pstart);
	ev->parent.pid = ppid;
	ev->parent.key = keyf(s, ppid, pstart);
	fieldf(ev, "ParentProcessId", "%u", ppid);
	if (pp) {
		ev->parent.image = edup(s, pp->image);
		ev->parent.command_line = edup(s, pp->cmdline);
		field(ev, "ParentImage", pp->image);
		field(ev, "ParentCommandLine", pp->cmdline);
	}
}

/* Cgroup and ContainerId from /proc; when the process is gone, ContainerId from the leaf name the kernel gave (leaf may be NULL). */
static void cgroup_fields(struct vg_sensor *s, uint32_t pid, const char *leaf)
{
	char buf[2048], path[1024], id[80];
	long n = vg_procfs_read(pid, "cgroup", buf, sizeof(buf));
	if (n > 0 && vg_procfs_parse_cgroup(buf, (size_t)n, path, sizeof(path), id, sizeof(id)) == 0) {
		field(s->ev, "Cgroup", path);
		field(s->ev, "ContainerId", id);
	} else if (leaf && leaf[0]) {
		n = snprintf(buf, sizeof(buf), "0::/%s\n", leaf);
		if (vg_procfs_parse_cgroup(buf, (size_t)n, path, sizeof(path), id, sizeof(id)) == 0)
			field(s->ev, "ContainerId", id);
	}
}

/* The Sysmon-style target of a memory write or attach. */
static void target_fields(struct vg_sensor *s, uint32_t tpid)
{
	struct vg_event *ev = s->ev;
	struct proc_slot *t = lookup(s, tpid, 0);
	ev->target.pid = tpid;
	fieldf(ev, "TargetProcessId", "%u", tpid);
	if (t) {
		ev->target.key = keyf(s, tpid, t->start);
		ev->target.image = edup(s, t->image);
		ev->target.command_line = edup(s, t->cmdline);
		field(ev, "TargetImage", t->image);
	}
}

static void ip_text(int family, const uint8_t *a, char *out, size_t outlen)
{
	/* IPv4-mapped IPv6 addresses are shown as IPv4 */
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (family == 10 && memcmp(a, mapped, 12) != 0) {
		if (!inet_ntop(AF_INET6, a, out, (socklen_t)outlen))
			snprintf(out, outlen, "?");
		return;
	}
	if (family == 10)
		a += 12;
	snprintf(out, outlen, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static const char *syscall_name(uint32_t nr)
{
	switch (nr) {
	case 1: return "write";
	case 20: return "writev";
	case 44: return "sendto";
	case 46: return "sendmsg";
	case 307: return "sendmmsg";
	case 175: return "init_module";
	case 313: return "finit_module";
	default: return "other";
	}
}

static void flags_text(uint64_t f, char *out, size_t outlen)
{
	static const struct { uint64_t bit; const char *name; } names[] = {
		{ 01, "O_WRONLY" }, { 02, "O_RDWR" }, { 0100, "O_CREAT" }, { 0200, "O_EXCL" },
		{ 01000, "O_TRUNC" }, { 02000, "O_APPEND" }, { 02000000, "O_CLOEXEC" }, { 020200000, "O_TMPFILE" },
	};
	size_t o = 0;
	out[0] = 0;
	if (!(f & 3))
		o += (size_t)snprintf(out, outlen, "O_RDONLY");
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if ((f & names[i].bit) == names[i].bit && o < outlen)
			o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "|" : "", names[i].name);
}

/* Non-printable bytes (and the backslash) as \xNN. */
static void escape_payload(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", p[i]);
	}
	out[o] = 0;
}

/* /proc/<pid>/mem (also /proc/self/mem, /proc/<pid>/task/<tid>/mem): returns the pid written to, or 0. */
static uint32_t proc_mem_target(const char *path, uint32_t self)
{
	const char *p = path;
	char *end;
	if (strncmp(p, "/proc/", 6) != 0)
		return 0;
	p += 6;
	unsigned long pid;
	if (strncmp(p, "self/", 5) == 0 || strncmp(p, "thread-self/", 12) == 0) {
		pid = self;
		p = strchr(p, '/') + 1;
	} else {
		pid = strtoul(p, &end, 10);
		if (end == p || *end != '/')
			return 0;
		p = end + 1;
	}
	if (strncmp(p, "task/", 5) == 0) {
		strtoul(p + 5, &end, 10);
		if (*end != '/')
			return 0;
		p = end + 1;
	}
	return strcmp(p, "mem") == 0 ? (uint32_t)pid : 0;
}

/* Whether path's last component is the file name the kernel reported at exec (name, cut to namelen - 1). */
static int exe_is(const char *path, const char *name, size_t namelen)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return name[0] == 0 || strncmp(b, name, namelen - 1) == 0;
}

static void map_exec(struct vg_sensor *s, const struct vgb_event *r, int64_t t)
{
	char image[4096], cmd[8192], argv0[512], cwd[4096];
	int memfd = strncmp(r->name, "memfd:", 6) == 0, deleted = r->nlink == 0, have_cwd = 0;
	if ((r->flags & VGB_F_CWD) && r->cwd_off < VGB_DIR_END) {
		memcpy(cwd, r->cwd + r->cwd_off, VGB_DIR_END - r->cwd_off);
		cwd[VGB_DIR_END - r->cwd_off] = 0;
		have_cwd = 1;
	}
	if (memfd) {
		snprintf(image, sizeof(image), "/%s", r->name);
	} else if (!(r->flags & VGB_F_KILLED) && vg_procfs_link(r->pid, "exe", image, sizeof(image)) > 0 &&
		   (deleted |= strip_deleted(image), exe_is(image, r->name, sizeof(r->name)))) {
		/* /proc agrees with the file the kernel exec'd (not a later exec of the same process) */
	} else if (strncmp(r->s1, "/dev/fd/", 8) == 0 || strncmp(r->s1, "/proc/self/fd/", 14) == 0) {
		/* fexecve of a process gone by now: the descriptor was its, not ours to resolve */
		snprintf(image, sizeof(image), "%s", r->s1);
	} else if (r->s1[0] == '/' && realpath(r->s1, image)) {
		/* gone already: the name exec was given, symlinks resolved as the sensor sees them */
	} else if (r->s1[0] != '/' && have_cwd) {
		char rel[8192];
		snprintf(rel, sizeof(rel), "%s/%s", cwd, r->s1);
		if (!realpath(rel, image) && snprintf(image, sizeof(image), "%s", rel) >= (int)sizeof(image))
			image[sizeof(image) - 1] = 0;
	} else {
		resolve_path(r->pid, -100, r->s1, image, sizeof(image));
	}
	size_t alen = r->len2 < sizeof(r->s2) ? r->len2 : sizeof(r->s2);
	vg_procfs_join_argv(r->s2, alen, cmd, sizeof(cmd), argv0, sizeof(argv0));
	slot_set(slot(s, r->pid), r->pid, r->start_ticks, image, cmd);
	begin(s, VG_EV_PROCESS_START, t, r->pid, r->start_ticks, r->uid, image, cmd);
	struct vg_event *ev = s->ev;
	ev->event_id = 1;
	ev->proc_start_ns = t;
	field(ev, "CommandLine", cmd);
	if (have_cwd || vg_procfs_link(r->pid, "cwd", cwd, sizeof(cwd)) > 0) {
		ev->proc.cwd = edup(s, cwd);
		field(ev, "CurrentDirectory", cwd);
	}
	parent_fields(s, r->ppid, r->pstart_ticks);
	struct proc_slot *pp = lookup(s, r->ppid, r->pstart_ticks);
	if (pp) {
		char pbuf[1024];
		uint32_t puid;
		long n = vg_procfs_read(r->ppid, "status", pbuf, sizeof(pbuf));
		if (n > 0 && vg_procfs_parse_uid(pbuf, (size_t)n, &puid) == 0) {
			field(ev, "ParentUser", user_name(s, puid));
		}
	}
	fieldf(ev, "LogonId", "%u", r->uid);
	field(ev, "Comm", r->comm);
	field(ev, "Argv0", argv0);
	field(ev, "ExeDeleted", deleted ? "true" : "false");
	field(ev, "ExeMemfd", memfd ? "true" : "false");
	cgroup_fields(s, r->pid, r->cgroup);
	if (r->flags & VGB_F_KILLED)
		field(ev, "KillSwitch", "true");
	if (r->flags & VGB_F_TRUNC)
		field(ev, "CommandLineTruncated", "true");
	deliver(s);
}

static void map_record(struct vg_sensor *s, const struct vgb_event *r)
{
	int64_t t = (int64_t)r->ktime_ns + s->boot_to_real_ns;
	struct proc_slot *me;
	struct vg_event *ev = s->ev;
	char path[4096], path2[4096], a[64], b[64];

	if (r->kind == VGB_EXEC) {
		map_exec(s, r, t);
		return;
	}
	if (r->kind == VGB_FORK) {
		struct proc_slot *pp = lookup(s, r->ppid, r->pstart_ticks);
		s->st.forks++;
		slot_set(slot(s, r->pid), r->pid, r->start_ticks, pp ? pp->image : NULL, pp ? pp->cmdline : NULL);
		me = slot(s, r->pid);
		begin(s, VG_EV_OTHER, t, r->pid, r->start_ticks, r->uid, me->image, me->cmdline);
		field(ev, "EventType", "fork");
		parent_fields(s, r->ppid, r->pstart_ticks);
		deliver(s);
		return;
	}
	me = lookup(s, r->pid, r->start_ticks);
	begin(s, VG_EV_UNKNOWN, t, r->pid, r->start_ticks, r->uid, me ? me->image : NULL, me ? me->cmdline : NULL);
	switch (r->kind) {
	case VGB_EXIT: {
		int code = (int)r->a0;
		ev->type = VG_EV_PROCESS_EXIT;
		ev->event_id = 5;
		fieldf(ev, "ExitCode", "%d", (code & 0x7f) ? 128 + (code & 0x7f) : (code >> 8) & 0xff);
		deliver(s);
		/* the slot is kept: children that exec after their parent exited still get ParentImage;
		 * a new process with this pid has another start and misses */
		return;
	}
	case VGB_OPEN: {
		record_path(r, (long)(int64_t)r->a1, path, sizeof(path));
		uint32_t tp = proc_mem_target(path, r->pid);
		if (tp) {
			ev->type = VG_EV_PROCESS_TAMPER;
			target_fields(s, tp);
			field(ev, "Type", "proc_mem_write");
			field(ev, "TargetFilename", path);
			ev->access.tamper_type = "proc_mem_write";
			deliver(s);
			return;
		}
		ev->type = r->a2 ? VG_EV_FILE_CREATE : VG_EV_FILE_WRITE;
		ev->event_id = 11;
		ev->file.path = edup(s, path);
		field(ev, "TargetFilename", path);
		flags_text(r->a0, a, sizeof(a));
		field(ev, "Flags", a);
		break;
	}
	case VGB_RENAME:
		resolve_path(r->pid, (long)(int64_t)r->a0, r->s1, path, sizeof(path));
		resolve_path(r->pid, (long)(int64_t)r->a1, r->s2, path2, sizeof(path2));
		ev->type = VG_EV_FILE_RENAME;
		ev->file.path = edup(s, path2);
		ev->file.old_path = edup(s, path);
		field(ev, "SourceFilename", path);
		field(ev, "TargetFilename", path2);
		break;
	case VGB_UNLINK:
		record_path(r, (long)(int64_t)r->a0, path, sizeof(path));
		ev->type = VG_EV_FILE_DELETE;
		ev->event_id = 23;
		ev->file.path = edup(s, path);
		field(ev, "TargetFilename", path);
		break;
	case VGB_CHMOD:
		if (r->syscall == 91) { /* fchmod: the path of the descriptor, walked in the kernel */
			if (!walked(r, path, sizeof(path)))
				snprintf(path, sizeof(path), "fd:%d", (int)r->a1);
		} else {
			record_path(r, (long)(int64_t)r->a1, path, sizeof(path));
		}
		ev->type = VG_EV_FILE_CHMOD;
		ev->file.path = edup(s, path);
		field(ev, "TargetFilename", path);
		fieldf(ev, "Mode", "%llo", (unsigned long long)(r->a0 & 07777));
		break;
	case VGB_CONNECT:
	case VGB_PAYLOAD: {
		int stream = r->kind == VGB_CONNECT ? r->a0 == 1 : (r->flags & VGB_F_STREAM) != 0;
		ip_text(r->family, r->saddr, a, sizeof(a));
		ip_text(r->family, r->daddr, b, sizeof(b));
		ev->net.protocol = stream ? "tcp" : "udp";
		ev->net.src_ip = edup(s, a);
		ev->net.dst_ip = edup(s, b);
		ev->net.src_port = r->sport;
		ev->net.dst_port = r->dport;
		ev->net.initiated = 1;
		if (r->kind == VGB_CONNECT) {
			ev->type = VG_EV_NETWORK_CONNECT;
			ev->event_id = 3;
			field(ev, "Protocol", ev->net.protocol);
			field(ev, "Initiated", "true");
			field(ev, "SourceIp", a);
			fieldf(ev, "SourcePort", "%u", r->sport);
			field(ev, "DestinationIp", b);
			fieldf(ev, "DestinationPort", "%u", r->dport);
			break;
		}
		size_t n = r->len2 < VGB_PAYLOAD_MAX ? r->len2 : VGB_PAYLOAD_MAX;
		struct vg_dns_query q;
		if (r->dport == 53 && vg_dns_parse_query((const uint8_t *)r->s2, n, stream, &q, NULL, 0) == 0) {
			const char *tn = vg_dns_type_name(q.qtype);
			ev->type = VG_EV_DNS_QUERY;
			ev->event_id = 22;
			ev->dns.query = edup(s, q.name);
			ev->dns.status = -1;
			field(ev, "QueryName", q.name);
			if (tn)
				field(ev, "QueryType", tn);
			else
				fieldf(ev, "QueryType", "%u", q.qtype);
			field(ev, "DestinationIp", b);
			fieldf(ev, "DestinationPort", "%u", r->dport);
			field(ev, "Protocol", ev->net.protocol);
			break;
		}
		char esc[VGB_PAYLOAD_MAX * 4 + 8];
		escape_payload((const uint8_t *)r->s2, n, esc, sizeof(esc));
		ev->type = VG_EV_NET_PAYLOAD;
		field(ev, "DestinationIp", b);
		fieldf(ev, "DestinationPort", "%u", r->dport);
		field(ev, "Protocol", ev->net.protocol);
		field(ev, "Syscall", syscall_name(r->syscall));
		field(ev, "Payload", esc);
		fieldf(ev, "PayloadLength", "%llu", (unsigned long long)r->a0);
		break;
	}
	case VGB_PTRACE: {
		const char *req = NULL, *type = NULL;
		switch (r->a0) {
		case 16: req = "PTRACE_ATTACH"; break;
		case 0x4206: req = "PTRACE_SEIZE"; break;
		case 4: req = "PTRACE_POKETEXT"; type = "ptrace_poketext"; break;
		case 5: req = "PTRACE_POKEDATA"; type = "ptrace_pokedata"; break;
		case 6: req = "PTRACE_POKEUSER"; type = "ptrace_pokeuser"; break;
		case 13: req = "PTRACE_SETREGS"; type = "ptrace_setregs"; break;
		case 0x4205: req = "PTRACE_SETREGSET"; type = "ptrace_setregs"; break;
		default: return;
		}
		ev->type = type ? VG_EV_PROCESS_TAMPER : VG_EV_PROCESS_ACCESS;
		ev->event_id = type ? 25 : 10;
		target_fields(s, (uint32_t)r->a1);
		field(ev, "Request", req);
		if (type) {
			field(ev, "Type", type);
			ev->access.tamper_type = type;
		}
		break;
	}
	case VGB_VM_WRITEV:
		ev->type = VG_EV_PROCESS_TAMPER;
		ev->event_id = 25;
		target_fields(s, (uint32_t)r->a1);
		field(ev, "Type", "process_vm_writev");
		field(ev, "Request", "process_vm_writev");
		ev->access.tamper_type = "process_vm_writev";
		break;
	case VGB_MEMFD:
		ev->type = VG_EV_MEMFD;
		field(ev, "Name", r->name);
		fieldf(ev, "Flags", "0x%llx", (unsigned long long)r->a0);
		break;
	case VGB_PRCTL_NAME:
		ev->type = VG_EV_PROCESS_RENAME;
		field(ev, "NewName", r->name);
		field(ev, "OldName", r->comm);
		break;
	case VGB_MODULE:
		ev->type = VG_EV_DRIVER_LOAD;
		ev->event_id = 6;
		field(ev, "Syscall", syscall_name(r->syscall));
		if (r->syscall == 313) {
			if (walked(r, path, sizeof(path)))
				field(ev, "ModulePath", path);
		} else {
			fieldf(ev, "ImageLength", "%llu", (unsigned long long)r->a0);
		}
		fieldf(ev, "Result", "%lld", (long long)r->ret);
		break;
	case VGB_BPF_LOAD:
		ev->type = VG_EV_BPF_LOAD;
		fieldf(ev, "ProgType", "%llu", (unsigned long long)r->a0);
		field(ev, "ProgName", r->name);
		break;
	default:
		s->st.bad_records++;
		return;
	}
	deliver(s);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct vg_sensor *s = ctx;
	struct vgb_event r;
	s->st.records++;
	if (size < offsetof(struct vgb_event, s1) || size > sizeof(r)) {
		s->st.bad_records++;
		return 0;
	}
	/* records are cut after the last member their kind uses: the rest reads as empty */
	memcpy(&r, data, size);
	if (size < sizeof(r))
		memset((char *)&r + size, 0, sizeof(r) - size);
	r.comm[sizeof(r.comm) - 1] = 0;
	r.name[sizeof(r.name) - 1] = 0;
	r.s1[sizeof(r.s1) - 1] = 0;
	r.cgroup[sizeof(r.cgroup) - 1] = 0;
	map_record(s, &r);
	return 0;
}

/* ---------------------------------------------------------------- seeding */

static int seed_cmp(const void *a, const void *b)
{
	const struct seed *x = a, *y = b;
	if (x->st.start_ticks != y->st.start_ticks)
		return x->st.start_ticks < y->st.start_ticks ? -1 : 1;
	return x->st.pid < y->st.pid ? -1 : x->st.pid > y->st.pid;
}

static int collect_seeds(struct vg_sensor *s)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t cap = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char buf[1024];
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid)
			continue;
		long n = vg_procfs_read((uint32_t)pid, "stat", buf, sizeof(buf));
		struct seed sd;
		if (n <= 0 || vg_procfs_parse_stat(buf, (size_t)n, &sd.st, NULL, 0))
			continue;
		if (sd.st.pid == 2 || sd.st.ppid == 2)
			continue; /* kernel threads */
		if (s->nseeds == cap) {
			cap = cap ? cap * 2 : 512;
			struct seed *ns = realloc(s->seeds, cap * sizeof(*ns));
			if (!ns) {
				closedir(d);
				return VG_ENOMEM;
			}
			s->seeds = ns;
		}
		s->seeds[s->nseeds++] = sd;
	}
	closedir(d);
	if (s->nseeds)
		qsort(s->seeds, s->nseeds, sizeof(*s->seeds), seed_cmp); /* parents started before their children */
	return 0;
}

static void emit_seeds(struct vg_sensor *s)
{
	int64_t boot_real = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	for (size_t i = 0; i < s->nseeds; i++) {
		const struct vg_procstat *st = &s->seeds[i].st;
		char image[4096], cmd[8192], cwd[4096], sbuf[1024];
		uint32_t uid = 0;
		read_identity(st->pid, image, sizeof(image), cmd, sizeof(cmd));
		long n = vg_procfs_read(st->pid, "status", sbuf, sizeof(sbuf));
		if (n <= 0)
			continue; /* gone since */
		vg_procfs_parse_uid(sbuf, (size_t)n, &uid);
		slot_set(slot(s, st->pid), st->pid, st->start_ticks, image[0] ? image : NULL, cmd[0] ? cmd : NULL);
		int64_t t = boot_real + (int64_t)st->start_ticks * 10000000LL;
		begin(s, VG_EV_PROCESS_START, t, st->pid, st->start_ticks, uid, image[0] ? image : NULL, cmd);
		struct vg_event *ev = s->ev;
		ev->proc_start_ns = t;
		field(ev, "CommandLine", cmd);
		if (vg_procfs_link(st->pid, "cwd", cwd, sizeof(cwd)) > 0) {
			ev->proc.cwd = edup(s, cwd);
			field(ev, "CurrentDirectory", cwd);
		}
		if (st->ppid) {
			struct proc_slot *pp = slot(s, st->ppid);
			uint64_t pstart = pp->pid == st->ppid ? pp->start : 0;
			if (pstart)
				parent_fields(s, st->ppid, pstart);
			else if ((pp = lookup(s, st->ppid, 0)))
				parent_fields(s, st->ppid, pp->start);
		}
		fieldf(ev, "LogonId", "%u", uid);
		field(ev, "Comm", st->comm);
		cgroup_fields(s, st->pid, NULL);
		field(ev, "Seed", "true");
		s->st.seeded++;
		deliver(s);
	}
	free(s->seeds);
	s->seeds = NULL;
	s->nseeds = 0;
}

/* ---------------------------------------------------------------- life cycle */

/*
 * The tracefs directory of the syscall tracepoints, as libbpf will look for
 * it (debugfs's tracing/ when present, else /sys/kernel/tracing), mounting
 * tracefs on /sys/kernel/tracing when nothing is mounted there. Empty when
 * the kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS off) or
 * tracefs cannot be mounted (a container without the right).
 */
static void syscall_events_dir(char *out, size_t outlen)
{
	const char *base = access("/sys/kernel/debug/tracing", F_OK) == 0 ? "/sys/kernel/debug/tracing" : "/sys/kernel/tracing";
	snprintf(out, outlen, "%s/events/syscalls", base);
	if (access(out, F_OK) == 0)
		return;
	if (!strcmp(base, "/sys/kernel/tracing") && mount("nodev", base, "tracefs", 0, NULL) == 0 && access(out, F_OK) == 0) {
		vg_log(VG_LOG_INFO, "sensor: mounted tracefs on %s for the syscall tracepoints", base);
		return;
	}
	out[0] = 0;
}

/* x86_64 numbers of the watched syscalls (bpf/vigil.bpf.c NR_*), by tracepoint name. */
static const struct {
	const char *name;
	unsigned nr;
} watched_nr[] = {
	{ "write", 1 }, { "open", 2 }, { "writev", 20 }, { "connect", 42 },
	{ "sendto", 44 }, { "sendmsg", 46 }, { "rename", 82 }, { "rmdir", 84 },
	{ "creat", 85 }, { "unlink", 87 }, { "chmod", 90 }, { "fchmod", 91 },
	{ "ptrace", 101 }, { "prctl", 157 }, { "init_module", 175 }, { "openat", 257 },
	{ "unlinkat", 263 }, { "renameat", 264 }, { "fchmodat", 268 }, { "sendmmsg", 307 },
	{ "process_vm_writev", 311 }, { "finit_module", 313 }, { "renameat2", 316 }, { "memfd_create", 319 },
	{ "bpf", 321 }, { "openat2", 437 }, { "fchmodat2", 452 },
};

static int watched_syscall_nr(const char *name)
{
	for (size_t i = 0; i < sizeof(watched_nr) / sizeof(watched_nr[0]); i++)
		if (!strcmp(watched_nr[i].name, name))
			return (int)watched_nr[i].nr;
	return -1;
}

/*
 * Chooses the syscall programs before load: one tracepoint program per
 * watched syscall; those whose tracepoint this kernel lacks (a syscall it
 * does not implement) are turned off and their numbers given to
 * handle_sys_missing; without syscall tracepoints at all, the raw
 * sys_enter/sys_exit fallback. handle_kill_pid is attached only while a pid
 * is marked (vg_sensor_mark_pid). docs/sensor.md, Decisions.
 */
static void choose_programs(struct vg_sensor *s)
{
	char dir[256], path[400];
	struct bpf_program *prog;
	syscall_events_dir(dir, sizeof(dir));
	s->raw_syscalls = !dir[0];
	bpf_object__for_each_program(prog, s->skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		const char *tp = "tracepoint/syscalls/";
		if (!strncmp(sec, tp, strlen(tp))) {
			int ok = 0;
			if (!s->raw_syscalls) {
				snprintf(path, sizeof(path), "%s/%s/id", dir, sec + strlen(tp));
				ok = access(path, F_OK) == 0;
				int nr = !strncmp(sec + strlen(tp), "sys_enter_", 10) ? watched_syscall_nr(sec + strlen(tp) + 10) : -1;
				if (!ok && nr >= 0 && nr < 512) {
					vg_log(VG_LOG_INFO, "sensor: no tracepoint %s on this kernel (syscall not implemented): taken by the raw sys_enter program",
					       sec + strlen(tp));
					s->skel->rodata->missing_nr[nr >> 6] |= 1ULL << (nr & 63);
					s->syscalls_missing++;
				}
			}
			bpf_program__set_autoload(prog, ok);
			s->syscall_tps += ok;
		}
	}
	bpf_program__set_autoload(s->skel->progs.handle_sys_enter, s->raw_syscalls);
	bpf_program__set_autoload(s->skel->progs.handle_sys_exit, s->raw_syscalls);
	bpf_program__set_autoload(s->skel->progs.handle_kill_pid, !s->raw_syscalls);
	bpf_program__set_autoload(s->skel->progs.handle_sys_missing, !s->raw_syscalls && s->syscalls_missing);
	bpf_program__set_autoattach(s->skel->progs.handle_kill_pid, false);
	if (s->raw_syscalls)
		vg_log(VG_LOG_WARN, "sensor: no syscall tracepoints (tracefs events/syscalls): every syscall runs the raw sys_enter/sys_exit programs");
}

int vg_sensor_open(const struct vg_sensor_opts *opts, struct vg_sensor **out, char *err, size_t errlen)
{
	struct vg_sensor_opts o = { 0 };
	struct vg_sensor *s = NULL;
	int rc;

	*out = NULL;
	if (opts)
		o = *opts;
	if (geteuid() != 0) {
		snprintf(err, errlen, "the eBPF sensor needs root (running as uid %u)", (unsigned)geteuid());
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		rc = -errno;
		snprintf(err, errlen, "the kernel has no BTF (/sys/kernel/btf/vmlinux: %s); the eBPF sensor needs CONFIG_DEBUG_INFO_BTF",
			 strerror(-rc));
		return rc;
	}
	uint64_t rb_bytes = o.ringbuf_kb ? (uint64_t)o.ringbuf_kb << 10 : (uint64_t)(o.ringbuf_mb ? o.ringbuf_mb : 8) << 20;
	if (rb_bytes & (rb_bytes - 1) || rb_bytes < 4096) {
		snprintf(err, errlen, "ring buffer size %llu bytes: must be a power of two of at least 4 KiB",
			 (unsigned long long)rb_bytes);
		return VG_EINVAL;
	}
	if (!(s = calloc(1, sizeof(*s))) || !(s->ev = vg_event_new()) ||
	    !(s->cache = calloc(CACHE_SLOTS, sizeof(*s->cache)))) {
		rc = VG_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (o.host)
		snprintf(s->host, sizeof(s->host), "%s", o.host);
	else if (gethostname(s->host, sizeof(s->host) - 1) != 0)
		snprintf(s->host, sizeof(s->host), "localhost");
	libbpf_set_print(libbpf_print);
	libbpf_msg[0] = 0;
	if (!(s->skel = vigil__open())) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", libbpf_msg[0] ? libbpf_msg : strerror(errno));
		goto fail;
	}
	s->skel->rodata->self_tgid = o.self_pid ? o.self_pid : (uint32_t)getpid();
	if ((rc = bpf_map__set_max_entries(s->skel->maps.events, (uint32_t)rb_bytes))) {
		snprintf(err, errlen, "ring buffer size %llu: %s", (unsigned long long)rb_bytes, strerror(-rc));
		goto fail;
	}
	choose_programs(s);
	if ((rc = vigil__load(s->skel))) {
		snprintf(err, errlen, "the kernel refused the BPF programs: %s%s (%s)", strerror(-rc),
			 rc == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)" : "",
			 libbpf_msg[0] ? libbpf_msg : "no detail");
		goto fail;
	}
	if (!o.no_seed && (rc = collect_seeds(s))) {
		snprintf(err, errlen, "cannot read /proc: %s", vg_strerror(rc));
		goto fail;
	}
	if ((rc = vigil__attach(s->skel))) {
		snprintf(err, errlen, "cannot attach the BPF programs to their tracepoints: %s (%s)", strerror(-rc),
			 libbpf_msg[0] ? libbpf_msg : "no detail");
		goto fail;
	}
	if (!(s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL))) {
		rc = -errno;
		snprintf(err, errlen, "cannot map the ring buffer: %s", strerror(errno));
		goto fail;
	}
	s->boot_to_real_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	s->st.ringbuf_bytes = rb_bytes;
	s->ncpus = (unsigned)libbpf_num_possible_cpus();
	*out = s;
	return 0;
fail:
	vg_sensor_close(s);
	return rc ? rc : VG_EINVAL;
}

int vg_sensor_poll(struct vg_sensor *s, int timeout_ms, vg_agent_event_fn fn, void *ctx)
{
	s->fn = fn;
	s->ctx = ctx;
	s->delivered = 0;
	if (s->seeds) {
		emit_seeds(s);
		timeout_ms = 0;
	}
	if (timeout_ms < 0 || timeout_ms > VG_SENSOR_POLL_MS)
		timeout_ms = VG_SENSOR_POLL_MS; /* the caller sees a shorter wait: it loops anyway */
	int rc = ring_buffer__poll(s->rb, timeout_ms);
	if (rc >= 0)
		rc = ring_buffer__consume(s->rb); /* records written without a wakeup (see wake_flags) */
	kill_hook_check(s);
	s->fn = NULL;
	if (rc < 0 && rc != -EINTR)
		return rc;
	return s->delivered;
}

void vg_sensor_stats(struct vg_sensor *s, struct vg_sensor_stats *st)
{
	unsigned n = s->ncpus ? s->ncpus : 1;
	uint64_t *vals = calloc(n, sizeof(uint64_t));
	uint64_t sum[VGB_CNT__COUNT] = { 0 };
	for (uint32_t k = 0; vals && k < VGB_CNT__COUNT; k++)
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counters), &k, vals) == 0)
			for (unsigned c = 0; c < n; c++)
				sum[k] += vals[c];
	free(vals);
	s->st.drops_ringbuf = sum[VGB_CNT_DROP_RINGBUF];
	s->st.drops_pending = sum[VGB_CNT_DROP_PENDING];
	s->st.kills_exec = sum[VGB_CNT_KILL_EXEC];
	s->st.kills_pid = sum[VGB_CNT_KILL_PID];
	s->st.ncpus = n;
	*st = s->st;
}

void vg_sensor_write_status(struct vg_sensor *s, struct vg_buf *b, int *first)
{
	struct vg_sensor_stats st;
	int f2 = 1;
	vg_sensor_stats(s, &st);
	vg_buf_json_kv(b, first, "kind", "ebpf");
	vg_buf_json_kv(b, first, "syscall_hooks", s->raw_syscalls ? "raw_tracepoint" : "tracepoints");
	vg_buf_json_ku(b, first, "syscall_tracepoints", s->syscall_tps);
	vg_buf_json_ku(b, first, "syscalls_without_tracepoint", s->syscalls_missing);
	vg_buf_json_ku(b, first, "ringbuf_bytes", st.ringbuf_bytes);
	vg_buf_json_ku(b, first, "cpus", st.ncpus);
	vg_buf_json_ku(b, first, "records", st.records);
	vg_buf_json_ku(b, first, "events", st.events);
	vg_buf_json_ku(b, first, "seeded", st.seeded);
	vg_buf_json_ku(b, first, "drops", st.drops_ringbuf + st.drops_pending);
	vg_buf_json_ku(b, first, "drops_ringbuf", st.drops_ringbuf);
	vg_buf_json_ku(b, first, "drops_pending", st.drops_pending);
	vg_buf_json_ku(b, first, "bad_records", st.bad_records);
	vg_buf_json_ku(b, first, "kills_exec", st.kills_exec);
	vg_buf_json_ku(b, first, "kills_pid", st.kills_pid);
	/* ring-buffer drops of each CPU (the totals above are their sums) */
	vg_buf_json_key(b, first, "drops_by_cpu");
	vg_buf_puts(b, "[");
	uint64_t *vals = calloc(st.ncpus ? st.ncpus : 1, sizeof(uint64_t));
	uint32_t k = VGB_CNT_DROP_RINGBUF;
	if (vals && bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counters), &k, vals) == 0)
		for (unsigned c = 0; c < st.ncpus; c++)
			vg_buf_printf(b, "%s%llu", c ? "," : "", (unsigned long long)vals[c]);
	free(vals);
	vg_buf_puts(b, "]");
	vg_buf_json_key(b, first, "by_type");
	vg_buf_puts(b, "{");
	for (int t = 0; t < VG_EV__COUNT; t++)
		if (st.by_type[t])
			vg_buf_json_ku(b, &f2, vg_event_type_name((enum vg_event_type)t), st.by_type[t]);
	vg_buf_puts(b, "}");
}

void vg_sensor_close(struct vg_sensor *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	vigil__destroy(s->skel);
	if (s->cache)
		for (size_t i = 0; i < CACHE_SLOTS; i++) {
			free(s->cache[i].image);
			free(s->cache[i].cmdline);
		}
	free(s->cache);
	free(s->seeds);
	vg_event_free(s->ev);
	free(s);
}

/* ---------------------------------------------------------------- kill switch */

static struct vgb_exe_key exe_key(uint64_t dev, uint64_t ino)
{
	/* user dev_t (stat) -> the kernel's internal MAJOR<<20 | MINOR */
	struct vgb_exe_key k = { ((uint64_t)major(dev) << 20) | minor(dev), ino };
	return k;
}

int vg_sensor_mark_exe(struct vg_sensor *s, uint64_t dev, uint64_t ino)
{
	struct vgb_exe_key k = exe_key(dev, ino);
	uint8_t one = 1;
	return bpf_map__update_elem(s->skel->maps.kill_exes, &k, sizeof(k), &one, 1, BPF_ANY);
}

int vg_sensor_unmark_exe(struct vg_sensor *s, uint64_t dev, uint64_t ino)
{
	struct vgb_exe_key k = exe_key(dev, ino);
	return bpf_map__delete_elem(s->skel->maps.kill_exes, &k, sizeof(k), 0);
}

/*
 * The kill switch's every-syscall hook (handle_kill_pid on raw sys_enter):
 * attached while a pid is marked, detached when none is (marked processes
 * are unmarked by the kernel side when they exit). The raw fallback checks
 * marked pids itself.
 */
static int kill_hook_attach(struct vg_sensor *s)
{
	if (s->raw_syscalls || s->skel->links.handle_kill_pid)
		return 0;
	struct bpf_link *l = bpf_program__attach(s->skel->progs.handle_kill_pid);
	if (!l) {
		int rc = -errno;
		vg_log(VG_LOG_WARN, "sensor: cannot attach the kill switch to sys_enter: %s", strerror(-rc));
		return rc;
	}
	s->skel->links.handle_kill_pid = l;
	return 0;
}

static void kill_hook_check(struct vg_sensor *s)
{
	if (s->skel->links.handle_kill_pid && __atomic_load_n(&s->skel->bss->kill_pids_active, __ATOMIC_SEQ_CST) == 0) {
		bpf_link__destroy(s->skel->links.handle_kill_pid);
		s->skel->links.handle_kill_pid = NULL;
	}
}

int vg_sensor_mark_pid(struct vg_sensor *s, uint32_t pid)
{
	uint8_t one = 1;
	/*
	 * Attached first, then marked: the time between the mark and the
	 * caller's own kill(2) stays as short as before the hook was lazy (a
	 * process killed by the hook in between is gone when the caller looks).
	 * A failed mark leaves the hook to kill_hook_check.
	 */
	int arc = kill_hook_attach(s);
	int rc = bpf_map__update_elem(s->skel->maps.kill_pids, &pid, sizeof(pid), &one, 1, BPF_NOEXIST);
	if (rc == -EEXIST)
		return arc;
	if (rc == 0) {
		__atomic_add_fetch(&s->skel->bss->kill_pids_active, 1, __ATOMIC_SEQ_CST);
		rc = arc;
	}
	return rc;
}

int vg_sensor_unmark_pid(struct vg_sensor *s, uint32_t pid)
{
	int rc = bpf_map__delete_elem(s->skel->maps.kill_pids, &pid, sizeof(pid), 0);
	if (rc == 0)
		__atomic_sub_fetch(&s->skel->bss->kill_pids_active, 1, __ATOMIC_SEQ_CST);
	kill_hook_check(s);
	return rc;
}

void vg_sensor_only_pid(struct vg_sensor *s, uint32_t pid)
{
	__atomic_store_n(&s->skel->bss->only_tgid, pid, __ATOMIC_SEQ_CST);
}

/* ---------------------------------------------------------------- vigild source */

static int src_poll(void *impl, int timeout_ms, vg_agent_event_fn fn, void *ctx)
{
	return vg_sensor_poll(impl, timeout_ms, fn, ctx);
}

static void src_status(void *impl, struct vg_buf *b, int *first)
{
	vg_sensor_write_status(impl, b, first);
}

static void src_close(void *impl)
{
	vg_sensor_close(impl);
}

static int src_mark_exe(void *impl, uint64_t dev, uint64_t ino)
{
	return vg_sensor_mark_exe(impl, dev, ino);
}

static int src_mark_pid(void *impl, uint32_t pid)
{
	return vg_sensor_mark_pid(impl, pid);
}

int vg_sensor_source_open(const struct vg_agent_config *cfg, struct vg_agent_source *src, char *err, size_t errlen)
{
	struct vg_sensor_opts o = { .ringbuf_mb = cfg ? cfg->ringbuf_mb : 0 };
	struct vg_sensor *s;
	char why[400];
	int rc = vg_sensor_open(&o, &s, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "cannot start the eBPF sensor: %s", why);
		return rc;
	}
	*src = (struct vg_agent_source){ s, src_poll, src_status, src_close, src_mark_exe, src_mark_pid };
	return 0;
}

struct vg_sensor *vg_sensor_of_source(const struct vg_agent_source *src)
{
	return src && src->poll == src_poll ? src->impl : NULL;
}
