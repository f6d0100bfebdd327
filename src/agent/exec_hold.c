/* exec_hold.c - block at first sight: a fanotify group with FAN_OPEN_EXEC_PERM marks on the configured mounts; one thread answers each exec from the allow-list, the package index or the verdict cache, or holds it while a signal goes to vigil-cloud (curl multi) and answers by the verdict, within the budget. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil/buf.h"
#include "vigil/cloud_client.h"
#include "vigil/exec_hold.h"
#include "vigil/json.h"
#include "vigil/linux.h"
#include "vigil/signal.h"

#define MAX_MOUNTS 16
#define MAX_HELD 64        /* execs waiting for the service at once; past it the hold_fail answer */
#define MAX_ALLOW 64
#define MAX_OWN 8
#define CACHE_SLOTS 4096   /* verdict cache (open addressing, power of two) */
#define CACHE_PROBE 8
#define DECISIONS_MAX 1024 /* decisions waiting for the event loop; past it the oldest are dropped (counted) */
#define EVBUF 16384

struct cache_slot {
	char sha256[65];
	char verdict[16];
	char threat[160];
	double score;
	uint32_t ttl;
	int64_t expires; /* monotonic ns; 0 = empty */
};

/* One exec waiting for the service. */
struct held {
	int used;
	int fd;             /* the event's fd: answered with it, then closed (-1 once answered) */
	uint32_t pid;
	const char *how;
	char sha256[65];
	char path[1024];
	char requester[512];
	int64_t arrived, budget_at, deadline; /* monotonic ns */
	int over_budget;    /* counted once when the budget passes with no answer */
	CURL *easy;
	struct curl_slist *headers;
	struct vg_buf body, resp;
	char cred[128];
};

struct vg_exec_hold {
	/* read-only after creation */
	int fan;                      /* the fanotify group */
	char mounts[MAX_MOUNTS][256];
	size_t nmounts;
	unsigned budget_ms, extended_ms;
	int fail_closed, ldso;
	volatile int audit;           /* vigild's audit mode: every exec is let run, a denial is only recorded */
	char *allow_globs[MAX_ALLOW];
	size_t nglobs;
	char allow_sha[MAX_ALLOW][65];
	size_t nsha;
	struct { uint64_t dev, ino; } own[MAX_OWN], loaders[MAX_OWN];
	size_t nown, nloaders;
	struct vg_cloud_client *cloud;
	char url[1100];
	pid_t self;

	/* hold thread only */
	CURLM *multi;
	struct held held[MAX_HELD];
	struct vg_hashcache *hashes;
	struct vg_dpkg *dpkg;
	struct vg_json_doc doc;
	pthread_t thread;
	int started;

	/* shared, under mu */
	pthread_mutex_t mu;
	struct cache_slot *cache;
	struct vg_exec_hold_decision *dq;
	size_t ndq;
	int stop, dead;
	int64_t beat; /* monotonic ns of the thread's last turn */
	int test_stall_ms, test_end; /* tests of the watchdog: stall the thread once, or end it as a read error would */
	int test_stalling;
	struct {
		uint64_t exec_events, open_events, own, allowlisted, package, not_elf_open, cache_hits, cache_denied,
			held, allowed, denied, verdicts, timeouts, over_budget, failed, fail_answers, hash_errors,
			ldso_checked, overflow, fallback, decisions_dropped, max_wait_us, sum_wait_us;
	} st;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- mounts ---- */

/* 1 when path is a mount point other than '/': its device differs from its parent folder's. */
static int own_mount_point(const char *path, char *why, size_t whylen)
{
	struct stat st, pst, root;
	char parent[PATH_MAX];

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s: not a folder", path);
		return 0;
	}
	if (stat("/", &root) == 0 && root.st_dev == st.st_dev) {
		snprintf(why, whylen, "%s: on the root filesystem (the hold never marks '/')", path);
		return 0;
	}
	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(parent, &pst) == 0 && pst.st_dev == st.st_dev) {
		snprintf(why, whylen, "%s: not a mount point of its own (marking it would mark its parent's mount)", path);
		return 0;
	}
	return 1;
}

size_t vg_exec_hold_resolve_mounts(const char *setting, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t n = 0, used = 0;
	char why[512];

	if (outlen)
		out[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	if (!setting || !*setting)
		return 0;
	char *copy = strdup(setting), *save = NULL;
	if (!copy)
		return 0;
	glob_t g = { 0 };
	if (strcmp(setting, "auto") == 0) {
		static const char *const fixed[] = { "/tmp", "/var/tmp", "/dev/shm", "/home", "/root" };
		for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
			if (own_mount_point(fixed[i], why, sizeof(why))) {
				int k = snprintf(out + used, outlen - used, "%s%s", n ? "," : "", fixed[i]);
				if (k > 0 && (size_t)k < outlen - used) {
					used += (size_t)k;
					n++;
				}
			}
		if (glob("/run/user/*", GLOB_ONLYDIR, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				if (own_mount_point(g.gl_pathv[i], why, sizeof(why))) {
					int k = snprintf(out + used, outlen - used, "%s%s", n ? "," : "", g.gl_pathv[i]);
					if (k > 0 && (size_t)k < outlen - used) {
						used += (size_t)k;
						n++;
					}
				}
		globfree(&g);
		if (!n && err && errlen)
			snprintf(err, errlen, "hold_mounts auto: none of /tmp, /var/tmp, /dev/shm, /home, /root, /run/user/* is a mount point of its own");
		free(copy);
		return n;
	}
	for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		if (!own_mount_point(m, why, sizeof(why))) {
			if (err && errlen)
				snprintf(err, errlen, "hold_mounts: %s", why);
			free(copy);
			return 0;
		}
		int k = snprintf(out + used, outlen - used, "%s%s", n ? "," : "", m);
		if (k > 0 && (size_t)k < outlen - used) {
			used += (size_t)k;
			n++;
		}
	}
	free(copy);
	return n;
}

/* ---- verdict cache (any thread, under mu) ---- */

static size_t cache_index(const char *sha)
{
	size_t h = 0;
	for (int i = 0; i < 12 && sha[i]; i++) /* hex digits of a cryptographic hash: evenly spread */
		h = h * 16 + (size_t)(sha[i] <= '9' ? sha[i] - '0' : (sha[i] | 0x20) - 'a' + 10);
	return h & (CACHE_SLOTS - 1);
}

static struct cache_slot *cache_find_locked(struct vg_exec_hold *h, const char *sha)
{
	int64_t now = mono_ns();
	size_t i = cache_index(sha);
	for (int p = 0; p < CACHE_PROBE; p++) {
		struct cache_slot *s = &h->cache[(i + (size_t)p) & (CACHE_SLOTS - 1)];
		if (s->expires && strcmp(s->sha256, sha) == 0)
			return s->expires > now ? s : NULL;
	}
	return NULL;
}

void vg_exec_hold_learn(struct vg_exec_hold *h, const char *sha256, const char *verdict, const char *threat_name,
			double score, uint32_t ttl)
{
	if (!h || !sha256 || strlen(sha256) != 64 || !verdict || !*verdict)
		return;
	int64_t now = mono_ns();
	size_t i = cache_index(sha256);
	pthread_mutex_lock(&h->mu);
	struct cache_slot *slot = NULL, *oldest = NULL;
	for (int p = 0; p < CACHE_PROBE; p++) {
		struct cache_slot *s = &h->cache[(i + (size_t)p) & (CACHE_SLOTS - 1)];
		if (s->expires && strcmp(s->sha256, sha256) == 0) {
			slot = s;
			break;
		}
		if (!slot && s->expires <= now)
			slot = s;
		if (!oldest || s->expires < oldest->expires)
			oldest = s;
	}
	if (!slot)
		slot = oldest;
	memset(slot, 0, sizeof(*slot));
	snprintf(slot->sha256, sizeof(slot->sha256), "%s", sha256);
	snprintf(slot->verdict, sizeof(slot->verdict), "%s", verdict);
	snprintf(slot->threat, sizeof(slot->threat), "%s", threat_name ? threat_name : "");
	slot->score = score;
	slot->ttl = ttl;
	slot->expires = now + (int64_t)(ttl ? ttl : 1) * 1000000000LL;
	pthread_mutex_unlock(&h->mu);
}

/* ---- answering ---- */

static void push_decision_locked(struct vg_exec_hold *h, const struct vg_exec_hold_decision *d)
{
	if (h->ndq == DECISIONS_MAX) {
		memmove(h->dq, h->dq + 1, (DECISIONS_MAX - 1) * sizeof(*h->dq));
		h->ndq--;
		h->st.decisions_dropped++;
	}
	h->dq[h->ndq++] = *d;
}

static void respond(int fan, int fd, int allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };
	/* the kernel takes the whole struct or fails (the event was already answered or the group is gone) */
	if (write(fan, &r, sizeof(r)) != (ssize_t)sizeof(r))
		vg_log(VG_LOG_DEBUG, "exec hold: answer for fd %d: %s", fd, strerror(errno));
	close(fd);
}

/* Answers a held exec and records the decision (verdict NULL: no verdict, by hold_fail). Under mu. */
static void finish_locked(struct vg_exec_hold *h, struct held *e, const char *verdict, const char *threat, double score,
			  uint32_t ttl, const char *fail_why)
{
	struct vg_exec_hold_decision d = { 0 };
	int allow = verdict ? strcmp(verdict, "block") != 0 : !h->fail_closed;

	if (e->fd < 0)
		return;
	respond(h->fan, e->fd, allow || h->audit);
	e->fd = -1;
	uint64_t waited = (uint64_t)((mono_ns() - e->arrived) / 1000);
	if (waited > h->st.max_wait_us)
		h->st.max_wait_us = waited;
	h->st.sum_wait_us += waited;
	if (allow)
		h->st.allowed++;
	else
		h->st.denied++;
	if (verdict)
		h->st.verdicts++;
	else
		h->st.fail_answers++;
	snprintf(d.sha256, sizeof(d.sha256), "%s", e->sha256);
	snprintf(d.path, sizeof(d.path), "%s", e->path);
	snprintf(d.requester, sizeof(d.requester), "%s", e->requester);
	d.pid = e->pid;
	d.how = e->how;
	d.source = verdict ? "cloud" : "fail";
	snprintf(d.verdict, sizeof(d.verdict), "%s", verdict ? verdict : "");
	snprintf(d.threat_name, sizeof(d.threat_name), "%s", threat ? threat : "");
	d.score = score;
	d.ttl = ttl;
	d.allowed = allow;
	d.audit = h->audit;
	snprintf(d.why, sizeof(d.why), "%s", fail_why ? fail_why : "");
	d.waited_us = waited;
	push_decision_locked(h, &d);
}

static void held_release(struct vg_exec_hold *h, struct held *e)
{
	if (e->easy) {
		curl_multi_remove_handle(h->multi, e->easy);
		curl_easy_cleanup(e->easy);
		e->easy = NULL;
	}
	curl_slist_free_all(e->headers);
	e->headers = NULL;
	vg_buf_free(&e->body);
	vg_buf_free(&e->resp);
	e->used = 0;
}

/* ---- the decision for one event ---- */

static int has_id(const struct vg_exec_hold *h, int loaders, uint64_t dev, uint64_t ino)
{
	size_t n = loaders ? h->nloaders : h->nown;
	for (size_t i = 0; i < n; i++)
		if ((loaders ? h->loaders[i].dev : h->own[i].dev) == dev && (loaders ? h->loaders[i].ino : h->own[i].ino) == ino)
			return 1;
	return 0;
}

static int allowed_path(const struct vg_exec_hold *h, const char *path)
{
	for (size_t i = 0; i < h->nglobs; i++)
		if (fnmatch(h->allow_globs[i], path, 0) == 0)
			return 1;
	return 0;
}

static int allowed_sha(const struct vg_exec_hold *h, const char *sha)
{
	for (size_t i = 0; i < h->nsha; i++)
		if (strcmp(h->allow_sha[i], sha) == 0)
			return 1;
	return 0;
}

static void read_link(const char *link, char *out, size_t outlen)
{
	ssize_t k = readlink(link, out, outlen - 1);
	out[k > 0 ? k : 0] = '\0';
}

static void count(struct vg_exec_hold *h, uint64_t *c)
{
	pthread_mutex_lock(&h->mu);
	(*c)++;
	pthread_mutex_unlock(&h->mu);
}

/* The process that asked: "<pid> <exe>" and its command line (NUL-separated args joined by spaces). */
static void requester_cmdline(uint32_t pid, char *out, size_t outlen)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%u/cmdline", pid);
	out[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, outlen - 1);
	close(fd);
	if (n <= 0)
		return;
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (!out[i])
			out[i] = ' ';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
}

/* The POST /v1/signals body (docs/schemas/signal.json) for a held file. */
static void build_signal(struct vg_exec_hold *h, struct held *e, const struct vg_file_facts *ff, const char *endpoint,
			 const char *address, struct vg_buf *b)
{
	char cmd[1024];
	int first = 1, f;
	(void)h;

	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &first, "endpoint_id", endpoint);
	vg_buf_json_kv(b, &first, "address", address);
	vg_buf_json_kt(b, &first, "time", real_ns());
	vg_buf_json_key(b, &first, "rule_ids");
	vg_buf_put(b, "[]", 2);
	vg_buf_json_key(b, &first, "behavior_ids");
	vg_buf_puts(b, strcmp(e->how, "ld.so") == 0 ? "[\"" VG_SIGNAL_NEW_EXE_BEHAVIOR "\",\"vigil.exec_via_loader\"]"
						   : "[\"" VG_SIGNAL_NEW_EXE_BEHAVIOR "\"]");
	requester_cmdline(e->pid, cmd, sizeof(cmd));
	vg_buf_json_key(b, &first, "process_chain");
	f = 1;
	vg_buf_put(b, "[{", 2);
	vg_buf_json_ku(b, &f, "pid", e->pid);
	vg_buf_json_kv(b, &f, "image", e->requester);
	vg_buf_json_kv(b, &f, "command_line", cmd);
	vg_buf_put(b, "},{", 3);
	f = 1;
	vg_buf_json_ku(b, &f, "pid", e->pid); /* the same process, about to become the held program */
	vg_buf_json_kv(b, &f, "image", e->path);
	vg_buf_json_kv(b, &f, "sha256", e->sha256);
	vg_buf_put(b, "}]", 2);
	vg_buf_json_key(b, &first, "file");
	f = 1;
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "sha256", e->sha256);
	vg_buf_json_ku(b, &f, "size", ff->size);
	vg_buf_json_kv(b, &f, "path", e->path);
	const char *slash = strrchr(e->path, '/');
	vg_buf_json_kv(b, &f, "name", slash ? slash + 1 : e->path);
	vg_buf_json_key(b, &f, "entropy");
	vg_buf_printf(b, "%.2f", ff->entropy);
	vg_buf_json_key(b, &f, "package");
	vg_buf_puts(b, "null");
	vg_buf_json_kt(b, &f, "first_seen", real_ns());
	if (ff->is_elf && ff->elf_rc == 0) {
		int g = 1;
		static const char *const types[] = { "exec", "dyn", "rel", "core" };
		const char *t = "other";
		for (size_t i = 0; i < 4; i++)
			if (ff->elf.type_name && strcmp(ff->elf.type_name, types[i]) == 0)
				t = types[i];
		vg_buf_json_key(b, &f, "elf");
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &g, "type", t);
		vg_buf_json_kv(b, &g, "machine", ff->elf.machine_name);
		vg_buf_json_key(b, &g, "static");
		vg_buf_puts(b, ff->elf.linkage && strncmp(ff->elf.linkage, "static", 6) == 0 ? "true" : "false");
		vg_buf_json_key(b, &g, "stripped");
		vg_buf_puts(b, ff->elf.stripped ? "true" : "false");
		vg_buf_json_key(b, &g, "packed");
		vg_buf_puts(b, ff->entropy >= 7.2 ? "true" : "false");
		vg_buf_json_key(b, &g, "interpreter");
		if (ff->elf.interpreter[0])
			vg_buf_json_str(b, ff->elf.interpreter);
		else
			vg_buf_puts(b, "null");
		vg_buf_put(b, "}", 1);
	}
	vg_buf_put(b, "}}", 2);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct vg_buf *b = ctx;
	if (b->len + sz * n > (64u << 10))
		return 0; /* a verdict is small */
	vg_buf_put(b, p, sz * n);
	return b->oom ? 0 : sz * n;
}

/* Starts the round trip for e. Returns 0, or -1 with why filled (the caller answers by hold_fail). */
static int start_request(struct vg_exec_hold *h, struct held *e, const struct vg_file_facts *ff, char *why, size_t whylen)
{
	char endpoint[160], address[64], url[1200], auth[200];

	if (!h->cloud) {
		snprintf(why, whylen, "no cloud_url");
		return -1;
	}
	if (vg_cloud_client_auth(h->cloud, e->cred, sizeof(e->cred), endpoint, sizeof(endpoint), address, sizeof(address))) {
		snprintf(why, whylen, "not enrolled yet");
		return -1;
	}
	build_signal(h, e, ff, endpoint, address, &e->body);
	if (e->body.oom || !(e->easy = curl_easy_init())) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	snprintf(url, sizeof(url), "%s/v1/signals", h->url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", e->cred);
	e->headers = curl_slist_append(NULL, auth);
	e->headers = curl_slist_append(e->headers, "Content-Type: application/json");
	curl_easy_setopt(e->easy, CURLOPT_URL, url);
	curl_easy_setopt(e->easy, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->easy, CURLOPT_POSTFIELDS, e->body.p);
	curl_easy_setopt(e->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->body.len);
	curl_easy_setopt(e->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->easy, CURLOPT_TIMEOUT_MS, (long)(h->budget_ms + h->extended_ms) + 5L);
	curl_easy_setopt(e->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, &e->resp);
	curl_easy_setopt(e->easy, CURLOPT_PRIVATE, e);
	curl_easy_setopt(e->easy, CURLOPT_USERAGENT, "vigild-hold/1");
	if (curl_multi_add_handle(h->multi, e->easy) != CURLM_OK) {
		snprintf(why, whylen, "libcurl refused the request");
		return -1;
	}
	return 0;
}

/* Answers a decision made at once (no hold): allowed unless deny. */
static void answer_now(struct vg_exec_hold *h, int fd, int allow)
{
	respond(h->fan, fd, allow);
}

static void handle_event(struct vg_exec_hold *h, const struct fanotify_event_metadata *m)
{
	struct stat st;
	char link[64], path[1024], exe[512], why[160];
	int is_exec = (m->mask & FAN_OPEN_EXEC_PERM) != 0;
	uint32_t pid = (uint32_t)m->pid;
	int fd = m->fd;
	int64_t arrived = mono_ns();

	if (fd < 0)
		return; /* a queue overflow has no fd: nothing to answer */
	count(h, is_exec ? &h->st.exec_events : &h->st.open_events);
	if ((pid_t)pid == h->self) { /* vigild itself (the quarantine reading a file): never held, or it would wait on itself */
		answer_now(h, fd, 1);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	if (!is_exec) {
		/* FAN_OPEN_PERM: only an ELF file the dynamic loader opens as its program is held (ld.so /tmp/x) */
		struct stat ex;
		unsigned char magic[4];
		if (stat(link, &ex) || !has_id(h, 1, (uint64_t)ex.st_dev, (uint64_t)ex.st_ino)) {
			answer_now(h, fd, 1);
			return;
		}
		if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, "\177ELF", 4) != 0) {
			count(h, &h->st.not_elf_open);
			answer_now(h, fd, 1);
			return;
		}
		count(h, &h->st.ldso_checked);
	}
	if (fstat(fd, &st) == 0 && has_id(h, 0, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
		count(h, &h->st.own);
		answer_now(h, fd, 1);
		return;
	}
	snprintf(why, sizeof(why), "/proc/self/fd/%d", fd);
	read_link(why, path, sizeof(path));
	read_link(link, exe, sizeof(exe));
	if (allowed_path(h, path)) {
		count(h, &h->st.allowlisted);
		answer_now(h, fd, 1);
		return;
	}
	if (h->dpkg && vg_dpkg_owner(h->dpkg, path)) {
		count(h, &h->st.package);
		answer_now(h, fd, 1);
		return;
	}
	struct vg_file_facts ff;
	int rc = vg_hashcache_fd(h->hashes, fd, &ff, NULL);
	struct held tmp = { .fd = fd, .pid = pid, .how = is_exec ? "exec" : "ld.so", .arrived = arrived };
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	snprintf(tmp.requester, sizeof(tmp.requester), "%s", exe);
	if (rc) {
		pthread_mutex_lock(&h->mu);
		h->st.hash_errors++;
		h->st.failed++;
		snprintf(why, sizeof(why), "cannot hash the file: %s", vg_strerror(rc));
		finish_locked(h, &tmp, NULL, NULL, 0, 0, why);
		pthread_mutex_unlock(&h->mu);
		return;
	}
	snprintf(tmp.sha256, sizeof(tmp.sha256), "%s", ff.sha256);
	if (allowed_sha(h, ff.sha256)) {
		count(h, &h->st.allowlisted);
		answer_now(h, fd, 1);
		return;
	}
	pthread_mutex_lock(&h->mu);
	struct cache_slot *c = cache_find_locked(h, ff.sha256);
	if (c) {
		int allow = strcmp(c->verdict, "block") != 0;
		h->st.cache_hits++;
		if (!allow) {
			/* denied from the cache: the event loop still hears of it (a copy at a new path is quarantined too) */
			h->st.cache_denied++;
			struct vg_exec_hold_decision d = { 0 };
			memcpy(d.sha256, ff.sha256, 65);
			snprintf(d.path, sizeof(d.path), "%s", path);
			snprintf(d.requester, sizeof(d.requester), "%s", exe);
			d.pid = pid;
			d.how = tmp.how;
			d.source = "cache";
			snprintf(d.verdict, sizeof(d.verdict), "%s", c->verdict);
			snprintf(d.threat_name, sizeof(d.threat_name), "%s", c->threat);
			d.score = c->score;
			d.ttl = c->ttl;
			d.waited_us = (uint64_t)((mono_ns() - arrived) / 1000);
			d.audit = h->audit;
			push_decision_locked(h, &d);
		}
		pthread_mutex_unlock(&h->mu);
		answer_now(h, fd, allow || h->audit);
		return;
	}
	pthread_mutex_unlock(&h->mu);

	/* never seen: hold it */
	struct held *e = NULL;
	for (size_t i = 0; i < MAX_HELD && !e; i++)
		if (!h->held[i].used)
			e = &h->held[i];
	pthread_mutex_lock(&h->mu);
	h->st.held++;
	if (!e) {
		h->st.overflow++;
		h->st.failed++;
		finish_locked(h, &tmp, NULL, NULL, 0, 0, "too many execs held at once");
		pthread_mutex_unlock(&h->mu);
		return;
	}
	*e = tmp;
	e->used = 1;
	e->budget_at = arrived + (int64_t)h->budget_ms * 1000000LL;
	e->deadline = e->budget_at + (int64_t)h->extended_ms * 1000000LL;
	pthread_mutex_unlock(&h->mu);
	if (start_request(h, e, &ff, why, sizeof(why))) {
		pthread_mutex_lock(&h->mu);
		h->st.failed++;
		finish_locked(h, e, NULL, NULL, 0, 0, why);
		pthread_mutex_unlock(&h->mu);
		held_release(h, e);
	}
}

static const struct vg_json_leaf *leaf(const struct vg_json_doc *d, const char *path)
{
	size_t n = strlen(path);
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (d->leaves[i].path_len == n && memcmp(d->leaves[i].path, path, n) == 0 && !d->leaves[i].in_array)
			return &d->leaves[i];
	return NULL;
}

/* A round trip ended: answer by the verdict, or by hold_fail when there is none. */
static void request_done(struct vg_exec_hold *h, struct held *e, CURLcode cc)
{
	long status = 0;
	char why[160];
	const struct vg_json_leaf *sl, *vl, *tl, *ttl, *sc;

	if (cc == CURLE_OK)
		curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_OK && status == 200 && vg_json_flatten(&h->doc, e->resp.p ? e->resp.p : "", e->resp.len, NULL) == 0 &&
	    (sl = leaf(&h->doc, "sha256")) && sl->value_len == 64 && (vl = leaf(&h->doc, "verdict"))) {
		char verdict[16], threat[160] = "";
		snprintf(verdict, sizeof(verdict), "%s", vl->value);
		if ((tl = leaf(&h->doc, "threat_name")) && tl->type == VG_JSON_STRING)
			snprintf(threat, sizeof(threat), "%s", tl->value);
		uint32_t t = (ttl = leaf(&h->doc, "ttl")) ? (uint32_t)strtoul(ttl->value, NULL, 10) : 0;
		double score = ((sc = leaf(&h->doc, "scores.ensemble")) || (sc = leaf(&h->doc, "scores.interim_rules")))
				       ? strtod(sc->value, NULL)
				       : 0;
		vg_exec_hold_learn(h, e->sha256, verdict, threat, score, t);
		pthread_mutex_lock(&h->mu);
		finish_locked(h, e, verdict, threat, score, t, NULL);
		pthread_mutex_unlock(&h->mu);
		held_release(h, e);
		return;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(why, sizeof(why), "timeout: no verdict within %u ms", h->budget_ms + h->extended_ms);
	else if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "unreachable: %s", curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", status);
	if (status == 401 && h->cloud)
		vg_cloud_client_auth_failed(h->cloud, e->cred);
	pthread_mutex_lock(&h->mu);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		h->st.timeouts++;
	else
		h->st.failed++;
	finish_locked(h, e, NULL, NULL, 0, 0, why);
	pthread_mutex_unlock(&h->mu);
	held_release(h, e);
}

static void check_deadlines(struct vg_exec_hold *h)
{
	int64_t now = mono_ns();
	for (size_t i = 0; i < MAX_HELD; i++) {
		struct held *e = &h->held[i];
		if (!e->used)
			continue;
		if (!e->over_budget && now >= e->budget_at && h->extended_ms) {
			e->over_budget = 1;
			count(h, &h->st.over_budget);
		}
		if (now >= e->deadline) {
			char why[96];
			snprintf(why, sizeof(why), "timeout: no verdict within %u ms", h->budget_ms + h->extended_ms);
			pthread_mutex_lock(&h->mu);
			h->st.timeouts++;
			finish_locked(h, e, NULL, NULL, 0, 0, why);
			pthread_mutex_unlock(&h->mu);
			held_release(h, e);
		}
	}
}

/* Reads what the group has and answers or holds each event. Returns -errno on a read error that ends the thread. */
static int read_events(struct vg_exec_hold *h, int (*handle)(struct vg_exec_hold *, const struct fanotify_event_metadata *))
{
	char buf[EVBUF] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	for (;;) {
		ssize_t n = read(h->fan, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return 0;
		const struct fanotify_event_metadata *m = (const void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				if (m->fd >= 0)
					respond(h->fan, m->fd, 1);
				continue;
			}
			handle(h, m);
		}
	}
}

static int handle_normal(struct vg_exec_hold *h, const struct fanotify_event_metadata *m)
{
	handle_event(h, m);
	return 0;
}

static void *hold_thread(void *arg)
{
	struct vg_exec_hold *h = arg;
	int rc = 0;

	for (;;) {
		pthread_mutex_lock(&h->mu);
		int stop = h->stop, stall = h->test_stall_ms, end = h->test_end;
		h->test_stall_ms = 0;
		h->beat = mono_ns();
		pthread_mutex_unlock(&h->mu);
		if (stop)
			break;
		if (end) {
			rc = -EIO;
			break;
		}
		if (stall) {
			pthread_mutex_lock(&h->mu);
			h->test_stalling = 1;
			pthread_mutex_unlock(&h->mu);
			usleep((useconds_t)stall * 1000);
			pthread_mutex_lock(&h->mu);
			h->test_stalling = 0;
			pthread_mutex_unlock(&h->mu);
		}
		/* wake for the group, curl's sockets, the nearest deadline, and at least every 100 ms (heartbeat, stop) */
		int64_t now = mono_ns(), wait_ms = 100;
		for (size_t i = 0; i < MAX_HELD; i++)
			if (h->held[i].used) {
				int64_t t = h->held[i].over_budget || !h->extended_ms ? h->held[i].deadline : h->held[i].budget_at;
				int64_t ms = (t - now + 999999) / 1000000;
				if (ms < wait_ms)
					wait_ms = ms < 0 ? 0 : ms;
			}
		struct curl_waitfd wf = { .fd = h->fan, .events = CURL_WAIT_POLLIN };
		int nfds = 0;
		curl_multi_poll(h->multi, &wf, 1, (int)wait_ms, &nfds);
		if (wf.revents & CURL_WAIT_POLLIN) {
			if ((rc = read_events(h, handle_normal)))
				break;
		}
		int running = 0;
		curl_multi_perform(h->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(h->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct held *e = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&e);
			if (e && e->used)
				request_done(h, e, msg->data.result);
		}
		check_deadlines(h);
	}
	/* leaving: nothing stays held */
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < MAX_HELD; i++)
		if (h->held[i].used && h->held[i].fd >= 0)
			finish_locked(h, &h->held[i], NULL, NULL, 0, 0, rc ? "the hold thread ended" : "vigild is stopping");
	if (rc)
		h->dead = 1;
	pthread_mutex_unlock(&h->mu);
	for (size_t i = 0; i < MAX_HELD; i++)
		if (h->held[i].used)
			held_release(h, &h->held[i]);
	if (rc)
		vg_log(VG_LOG_ERROR, "exec hold: reading the fanotify group: %s; the event loop answers by hold_fail from now on",
		       strerror(-rc));
	return NULL;
}

/* ---- creation ---- */

static void add_id(struct vg_exec_hold *h, int loaders, const char *path)
{
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return;
	if (has_id(h, loaders, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
		return;
	if (loaders && h->nloaders < MAX_OWN) {
		h->loaders[h->nloaders].dev = (uint64_t)st.st_dev;
		h->loaders[h->nloaders++].ino = (uint64_t)st.st_ino;
	} else if (!loaders && h->nown < MAX_OWN) {
		h->own[h->nown].dev = (uint64_t)st.st_dev;
		h->own[h->nown++].ino = (uint64_t)st.st_ino;
	}
}

static int is_sha(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return 0;
	return 1;
}

int vg_exec_hold_new(const struct vg_agent_config *cfg, struct vg_cloud_client *cloud, struct vg_exec_hold **out,
		     char *err, size_t errlen)
{
	struct vg_exec_hold *h;
	char mounts[MAX_MOUNTS * 256], why[512];
	int rc = 0;

	*out = NULL;
	size_t nm = vg_exec_hold_resolve_mounts(cfg->hold_mounts, mounts, sizeof(mounts), why, sizeof(why));
	if (!nm) {
		snprintf(err, errlen, "%s", why[0] ? why : "hold_mounts: no mount to hold execs on");
		return VG_EINVAL;
	}
	if (!(h = calloc(1, sizeof(*h))))
		return VG_ENOMEM;
	h->fan = -1;
	pthread_mutex_init(&h->mu, NULL);
	h->budget_ms = cfg->hold_budget_ms;
	h->extended_ms = cfg->hold_extended_ms;
	h->fail_closed = cfg->hold_fail_closed;
	h->ldso = cfg->hold_ldso != 0;
	h->audit = cfg->mode == VG_AGENT_AUDIT;
	h->cloud = cloud;
	h->self = getpid();
	if (cloud) {
		char c1[128], c2[160], c3[64];
		snprintf(h->url, sizeof(h->url), "%s", vg_cloud_client_url(cloud));
		/* enroll now, not at the first held exec (which would get the hold_fail answer meanwhile) */
		(void)vg_cloud_client_auth(cloud, c1, sizeof(c1), c2, sizeof(c2), c3, sizeof(c3));
	}
	vg_json_doc_init(&h->doc);
	if (!(h->cache = calloc(CACHE_SLOTS, sizeof(*h->cache))) || !(h->dq = calloc(DECISIONS_MAX, sizeof(*h->dq))) ||
	    vg_hashcache_new(0, 0, &h->hashes) || !(h->multi = curl_multi_init())) {
		rc = VG_ENOMEM;
		goto fail;
	}
	if (cfg->hold_allow) {
		char *copy = strdup(cfg->hold_allow), *save = NULL;
		if (!copy) {
			rc = VG_ENOMEM;
			goto fail;
		}
		for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			while (*a == ' ')
				a++;
			if (is_sha(a) && h->nsha < MAX_ALLOW) {
				for (char *p = a; *p; p++)
					*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
				snprintf(h->allow_sha[h->nsha++], 65, "%s", a);
			} else if (*a && h->nglobs < MAX_ALLOW) {
				h->allow_globs[h->nglobs++] = strdup(a);
			}
		}
		free(copy);
	}
	/* the agent's own programs: vigild and what sits beside it */
	char self[PATH_MAX], sib[PATH_MAX + 32];
	read_link("/proc/self/exe", self, sizeof(self));
	add_id(h, 0, self);
	char *slash = strrchr(self, '/');
	if (slash) {
		static const char *const names[] = { "vigil", "vigil-cloud", "vigild" };
		*slash = '\0';
		for (size_t i = 0; i < 3; i++) {
			snprintf(sib, sizeof(sib), "%s/%s", self, names[i]);
			add_id(h, 0, sib);
		}
	}
	/* the dynamic loaders (by inode: every alias of one file is the same loader) */
	static const char *const loaders[] = { "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
					       "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1",
					       "/lib/ld-linux.so.2", "/lib/ld-musl-x86_64.so.1" };
	for (size_t i = 0; i < sizeof(loaders) / sizeof(*loaders); i++)
		add_id(h, 1, loaders[i]);
	/* package ownership: the hold's own index (the event loop's is single-threaded); loaded now, not at the first exec */
	if (vg_dpkg_new(NULL, NULL, NULL, &h->dpkg) == 0)
		(void)vg_dpkg_owner(h->dpkg, "/usr/bin/sh");

	h->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (h->fan < 0) {
		rc = -errno;
		snprintf(err, errlen, "exec hold: fanotify_init: %s (needs CAP_SYS_ADMIN and CONFIG_FANOTIFY_ACCESS_PERMISSIONS)",
			 strerror(errno));
		goto fail;
	}
	uint64_t mask = FAN_OPEN_EXEC_PERM | (h->ldso && h->nloaders ? FAN_OPEN_PERM : 0);
	char *save = NULL;
	for (char *m = strtok_r(mounts, ",", &save); m && h->nmounts < MAX_MOUNTS; m = strtok_r(NULL, ",", &save)) {
		if (fanotify_mark(h->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, mask, AT_FDCWD, m)) {
			rc = -errno;
			snprintf(err, errlen, "exec hold: fanotify_mark %s: %s", m, strerror(errno));
			goto fail;
		}
		snprintf(h->mounts[h->nmounts++], sizeof(h->mounts[0]), "%s", m);
	}
	h->beat = mono_ns();
	if ((rc = pthread_create(&h->thread, NULL, hold_thread, h))) {
		snprintf(err, errlen, "exec hold thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	h->started = 1;
	vg_log(VG_LOG_INFO, "exec hold on %s: budget %u ms (+%u extended), fail %s%s", mounts, h->budget_ms, h->extended_ms,
	       h->fail_closed ? "closed" : "open", h->ldso ? ", loader opens held" : "");
	*out = h;
	return 0;
fail:
	vg_exec_hold_free(h);
	return rc;
}

void vg_exec_hold_free(struct vg_exec_hold *h)
{
	if (!h)
		return;
	if (h->started) {
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_mutex_unlock(&h->mu);
		curl_multi_wakeup(h->multi);
		pthread_join(h->thread, NULL);
	}
	if (h->fan >= 0)
		close(h->fan); /* the kernel allows whatever is still queued */
	if (h->multi)
		curl_multi_cleanup(h->multi);
	for (size_t i = 0; i < h->nglobs; i++)
		free(h->allow_globs[i]);
	vg_hashcache_free(h->hashes);
	vg_dpkg_free(h->dpkg);
	vg_json_doc_free(&h->doc);
	pthread_mutex_destroy(&h->mu);
	free(h->cache);
	free(h->dq);
	free(h);
}

void vg_exec_hold_test_stall(struct vg_exec_hold *h, int stall_ms, int end)
{
	pthread_mutex_lock(&h->mu);
	h->test_stall_ms = stall_ms;
	h->test_end = end;
	pthread_mutex_unlock(&h->mu);
	curl_multi_wakeup(h->multi);
	for (;;) { /* until the thread is in its sleep, or has ended */
		pthread_mutex_lock(&h->mu);
		int there = end ? h->dead : h->test_stalling;
		pthread_mutex_unlock(&h->mu);
		if (there)
			break;
		usleep(1000);
	}
}

void vg_exec_hold_set_audit(struct vg_exec_hold *h, int audit)
{
	h->audit = audit;
}

void vg_exec_hold_poll(struct vg_exec_hold *h, vg_exec_hold_fn fn, void *ctx)
{
	struct vg_exec_hold_decision *ds = NULL;
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->ndq;
	if (n && (ds = malloc(n * sizeof(*ds)))) {
		memcpy(ds, h->dq, n * sizeof(*ds));
		h->ndq = 0;
	}
	pthread_mutex_unlock(&h->mu);
	for (size_t i = 0; ds && i < n; i++)
		fn(ctx, &ds[i]);
	free(ds);
}

/* Watchdog reader: every event gets the hold_fail answer (vigild's own and the agent's programs are let through). */
static int handle_fallback(struct vg_exec_hold *h, const struct fanotify_event_metadata *m)
{
	struct stat st;
	int allow = !h->fail_closed || h->audit || (pid_t)m->pid == h->self ||
		    (fstat(m->fd, &st) == 0 && has_id(h, 0, (uint64_t)st.st_dev, (uint64_t)st.st_ino));
	if (!(m->mask & FAN_OPEN_EXEC_PERM)) {
		/* a plain open: only a loader's matters, and there is no one to ask: the same answer as an exec */
		char link[64];
		struct stat ex;
		snprintf(link, sizeof(link), "/proc/%d/exe", m->pid);
		if (stat(link, &ex) || !has_id(h, 1, (uint64_t)ex.st_dev, (uint64_t)ex.st_ino))
			allow = 1;
	}
	respond(h->fan, m->fd, allow);
	count(h, &h->st.fallback);
	return 0;
}

int vg_exec_hold_watch(struct vg_exec_hold *h)
{
	int64_t now = mono_ns(), stall = (int64_t)(h->budget_ms + h->extended_ms) * 2000000LL + 1000000000LL;
	int n = 0;

	pthread_mutex_lock(&h->mu);
	int dead = h->dead, stalled = !h->stop && now - h->beat > stall;
	if (stalled) {
		/* answer what the stuck thread holds past its deadline; it finds them answered when it wakes */
		for (size_t i = 0; i < MAX_HELD; i++) {
			struct held *e = &h->held[i];
			if (e->used && e->fd >= 0 && now >= e->deadline) {
				finish_locked(h, e, NULL, NULL, 0, 0, "the hold thread stalled");
				h->st.fallback++;
				n++;
			}
		}
	}
	uint64_t before = h->st.fallback;
	pthread_mutex_unlock(&h->mu);
	if (dead || stalled) {
		read_events(h, handle_fallback);
		pthread_mutex_lock(&h->mu);
		n += (int)(h->st.fallback - before);
		pthread_mutex_unlock(&h->mu);
	}
	return n;
}

void vg_exec_hold_write_status(struct vg_exec_hold *h, struct vg_buf *b, int *first)
{
	int f = 1;

	pthread_mutex_lock(&h->mu);
	vg_buf_json_key(b, first, "hold");
	vg_buf_put(b, "{", 1);
	vg_buf_json_key(b, &f, "mounts");
	vg_buf_put(b, "[", 1);
	for (size_t i = 0; i < h->nmounts; i++) {
		if (i)
			vg_buf_put(b, ",", 1);
		vg_buf_json_str(b, h->mounts[i]);
	}
	vg_buf_put(b, "]", 1);
	vg_buf_json_ku(b, &f, "budget_ms", h->budget_ms);
	vg_buf_json_ku(b, &f, "extended_ms", h->extended_ms);
	vg_buf_json_kv(b, &f, "fail", h->fail_closed ? "closed" : "open");
	vg_buf_json_kv(b, &f, "mode", h->audit ? "audit" : "protect");
	vg_buf_json_key(b, &f, "thread");
	vg_buf_json_str(b, h->dead ? "dead" : mono_ns() - h->beat > 1000000000LL ? "stalled" : "running");
	vg_buf_json_ku(b, &f, "exec_events", h->st.exec_events);
	vg_buf_json_ku(b, &f, "open_events", h->st.open_events);
	vg_buf_json_ku(b, &f, "ldso_checked", h->st.ldso_checked);
	vg_buf_json_ku(b, &f, "own", h->st.own);
	vg_buf_json_ku(b, &f, "allowlisted", h->st.allowlisted);
	vg_buf_json_ku(b, &f, "package", h->st.package);
	vg_buf_json_ku(b, &f, "cache_hits", h->st.cache_hits);
	vg_buf_json_ku(b, &f, "cache_denied", h->st.cache_denied);
	vg_buf_json_ku(b, &f, "held", h->st.held);
	vg_buf_json_ku(b, &f, "allowed", h->st.allowed);
	vg_buf_json_ku(b, &f, "denied", h->st.denied);
	vg_buf_json_ku(b, &f, "verdicts", h->st.verdicts);
	vg_buf_json_ku(b, &f, "timeouts", h->st.timeouts);
	vg_buf_json_ku(b, &f, "over_budget", h->st.over_budget);
	vg_buf_json_ku(b, &f, "failed", h->st.failed);
	vg_buf_json_ku(b, &f, "fail_answers", h->st.fail_answers);
	vg_buf_json_ku(b, &f, "hash_errors", h->st.hash_errors);
	vg_buf_json_ku(b, &f, "overflow", h->st.overflow);
	vg_buf_json_ku(b, &f, "fallback", h->st.fallback);
	vg_buf_json_ku(b, &f, "decisions_dropped", h->st.decisions_dropped);
	vg_buf_json_ku(b, &f, "max_wait_us", h->st.max_wait_us);
	vg_buf_json_ku(b, &f, "mean_wait_us", h->st.allowed + h->st.denied ? h->st.sum_wait_us / (h->st.allowed + h->st.denied) : 0);
	vg_buf_put(b, "}", 1);
	pthread_mutex_unlock(&h->mu);
}
