/* test_sim.c - end-to-end tests of the attack simulator (build/tools/vigil_sim): its plan, its option errors, and every stage's effects checked from outside its namespace. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "vigil/json.h"
#include "vigil/persist_scan.h"

/* Root is needed for the namespaces. In CI (CI=true) its absence is a failure, elsewhere a loud skip. */
static int need_root(int *vg_test_failed)
{
	if (geteuid() == 0)
		return 1;
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "    simulator tests need root, and CI=true\n");
		*vg_test_failed = 1;
	} else {
		fprintf(stderr, "    SKIPPED: simulator tests need root\n");
	}
	return 0;
}

/* The value of the leaf at path in one JSON line, copied to out ("" when absent). */
static const char *jget(const char *line, const char *path, char *out, size_t len)
{
	struct vg_json_doc doc;
	struct vg_json_error err;
	out[0] = '\0';
	if (!line)
		return out;
	vg_json_doc_init(&doc);
	if (vg_json_flatten(&doc, line, strlen(line), &err) == 0)
		for (uint32_t i = 0; i < doc.nleaves; i++)
			if (strcmp(doc.leaves[i].path, path) == 0) {
				snprintf(out, len, "%s", doc.leaves[i].value);
				break;
			}
	vg_json_doc_free(&doc);
	return out;
}

/* A running simulator: its stdin (closing it ends --keep-alive) and the lines read so far. */
struct sim {
	pid_t pid;
	int in_fd;
	FILE *out;
	char *lines[128];
	int n;
};

/* Starts vigil_sim with args (a shell-free argv tail) and reads lines up to "holding" or the end. */
static int sim_start(struct sim *s, const char *const *args)
{
	int in[2], out[2];
	char bin[512];
	const char *argv[24];
	int k = 0;

	memset(s, 0, sizeof(*s));
	snprintf(bin, sizeof(bin), "%s/tools/vigil_sim", vg_test_build_dir());
	argv[k++] = bin;
	while (*args && k < 23)
		argv[k++] = *args++;
	argv[k] = NULL;
	if (pipe(in) < 0 || pipe(out) < 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execv(bin, (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->in_fd = in[1];
	s->out = fdopen(out[0], "r");
	char *line = NULL;
	size_t cap = 0;
	while (s->n < 128 && getline(&line, &cap, s->out) > 0) {
		s->lines[s->n++] = strdup(line);
		if (strstr(line, "\"event\":\"holding\""))
			break;
	}
	free(line);
	return 0;
}

/* Closes stdin, reads the rest and returns the exit status. */
static int sim_finish(struct sim *s)
{
	int st = -1;
	char *line = NULL;
	size_t cap = 0;
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
	while (s->out && s->n < 128 && getline(&line, &cap, s->out) > 0)
		s->lines[s->n++] = strdup(line);
	free(line);
	if (s->out)
		fclose(s->out);
	s->out = NULL;
	if (waitpid(s->pid, &st, 0) != s->pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sim_free(struct sim *s)
{
	if (s->out || s->in_fd > 0) {
		kill(s->pid, SIGTERM);
		sim_finish(s);
	}
	for (int i = 0; i < s->n; i++)
		free(s->lines[i]);
	s->n = 0;
}

/* The nth line (from 0) with this stage and event, or NULL. */
static const char *sim_line(const struct sim *s, const char *stage, const char *event, int nth)
{
	char a[64], b[64];
	for (int i = 0; i < s->n; i++)
		if (strcmp(jget(s->lines[i], "stage", a, sizeof(a)), stage) == 0 &&
		    strcmp(jget(s->lines[i], "event", b, sizeof(b)), event) == 0 && nth-- == 0)
			return s->lines[i];
	return NULL;
}

static void dump(const struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		fprintf(stderr, "      %s", s->lines[i]);
}

struct scan_hit {
	const char *want;
	int found;
};

static void on_target(const char *path, void *ctx)
{
	struct scan_hit *h = ctx;
	h->found |= strcmp(path, h->want) == 0;
}

/* True when Vigil's persistence scanner (what the agent runs on these files) finds want in the file. */
static int scanner_finds(enum vg_persist_kind kind, const char *path, const char *home, const char *want)
{
	char *text = NULL, cmd[1200];
	struct scan_hit h = { want, 0 };
	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	vg_test_run(cmd, &text);
	if (text)
		vg_persist_scan(kind, 0, text, strlen(text), home, on_target, &h);
	free(text);
	return h.found;
}

static int file_contains(const char *path, const char *needle)
{
	char *text = NULL, cmd[1200];
	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	vg_test_run(cmd, &text);
	int r = text && strstr(text, needle) != NULL;
	free(text);
	return r;
}

/* Counts processes whose mount namespace is ns ("mnt:[...]"). */
static int procs_in_ns(const char *ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	char p[300], link[64];
	while (d && (e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
			snprintf(p, sizeof(p), "/proc/%s/ns/mnt", e->d_name);
			ssize_t l = readlink(p, link, sizeof(link) - 1);
			if (l > 0) {
				link[l] = '\0';
				n += strcmp(link, ns) == 0;
			}
		}
	if (d)
		closedir(d);
	return n;
}

static char *run_plan(const char *args)
{
	char cmd[512], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s/tools/vigil_sim --plan %s", vg_test_build_dir(), args);
	if (vg_test_run(cmd, &out) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

TEST(sim_plan_is_deterministic_per_seed)
{
	char *a = run_plan("--seed 42"), *b = run_plan("--seed 42"), *c = run_plan("--seed 43");
	char v[256];
	int same = a && b && strcmp(a, b) == 0, differ = a && c && strcmp(a, c) != 0;
	int ok_a = a && strstr(jget(a, "cnc.name", v, sizeof(v)), ".bit") && jget(a, "miner.argv0", v, sizeof(v))[0] == '[' &&
		   strncmp(jget(a, "miner.path", v, sizeof(v)), "/dev/shm/", 9) == 0 &&
		   strstr(jget(a, "persist.cron_line", v, sizeof(v)), jget(a, "drop.path", v + 128, 128)) != NULL;
	if (!ok_a)
		fprintf(stderr, "    plan: %s\n", a ? a : "(failed)");
	free(a);
	free(b);
	free(c);
	ASSERT_TRUE(same);
	ASSERT_TRUE(differ);
	ASSERT_TRUE(ok_a);
}

TEST(sim_plan_benign_uses_benign_names)
{
	char *a = run_plan("--seed 42 --benign"), v[256];
	ASSERT_TRUE(a != NULL);
	int port = atoi(jget(a, "miner.port", v, sizeof(v)));
	int ok = !strstr(a, ".bit") && jget(a, "miner.argv0", v, sizeof(v))[0] != '[' && !strstr(a, "/dev/shm") &&
		 strcmp(jget(a, "persist.target", v, sizeof(v)), "/usr/bin/true") == 0 && !strstr(a, "login") &&
		 !strstr(a, "mining.") && port != 3333 && port != 4444 && port != 5555;
	if (!ok)
		fprintf(stderr, "    plan: %s\n", a);
	free(a);
	ASSERT_TRUE(ok);
}

TEST(sim_bad_options_name_the_input)
{
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ "--stages hollow,bogus", "unknown stage 'bogus' at position 8" },
		{ "--stages ''", "empty stage list" },
		{ "--seed 12x", "--seed: '12x' is not a number" },
		{ "--burn-ms 99999", "--burn-ms: '99999' is not a number in 1..2000" },
		{ "--max-seconds", "--max-seconds: missing" },
		{ "--frobnicate", "argument 1: unknown option '--frobnicate'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[512], *out = NULL;
		snprintf(cmd, sizeof(cmd), "%s/tools/vigil_sim %s 2>&1", vg_test_build_dir(), cases[i].args);
		int st = vg_test_run(cmd, &out);
		int ok = st == 2 && out && strstr(out, cases[i].want);
		if (!ok)
			fprintf(stderr, "    %s: status %d, output: %s\n", cases[i].args, st, out ? out : "");
		free(out);
		ASSERT_TRUE(ok);
	}
}

/* The miner role (what the dropped copy runs as) refuses to act in the host's namespaces, even with a forged environment. */
TEST(sim_refuses_outside_its_namespace)
{
	char cmd[768], *out = NULL, mnt[64] = "", net[64] = "";
	ssize_t l = readlink("/proc/self/ns/mnt", mnt, sizeof(mnt) - 1);
	mnt[l < 0 ? 0 : l] = '\0';
	l = readlink("/proc/self/ns/net", net, sizeof(net) - 1);
	net[l < 0 ? 0 : l] = '\0';
	snprintf(cmd, sizeof(cmd),
		 "VIGIL_SIM_ROLE=miner VIGIL_SIM_TOKEN=abc VIGIL_SIM_HOST_MNTNS='mnt:[1]' VIGIL_SIM_HOST_NETNS='net:[1]' "
		 "VIGIL_SIM_PORT=1 %s/tools/vigil_sim 2>&1",
		 vg_test_build_dir());
	int st = vg_test_run(cmd, &out);
	int ok = st == 2 && out && strstr(out, "refusing to act outside");
	if (!ok)
		fprintf(stderr, "    status %d, output: %s\n", st, out ? out : "");
	free(out);
	ASSERT_TRUE(ok);
	snprintf(cmd, sizeof(cmd), "VIGIL_SIM_ROLE=miner %s/tools/vigil_sim 2>&1", vg_test_build_dir());
	st = vg_test_run(cmd, &out);
	ok = st == 2 && out && strstr(out, "refusing to act outside");
	free(out);
	ASSERT_TRUE(ok);
}

/* The whole chain, each stage's effect checked from outside through /proc/<holder>/root and /proc/<miner>. */
TEST(sim_full_chain_effects_seen_from_outside)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "7", "--keep-alive", "--max-seconds", "120", "--burn-ms", "150", NULL };
	struct sim s;
	char v[512], w[512], path[1024], mntns[64], self_ns[64];
	ASSERT_EQ(sim_start(&s, args), 0);
	const char *plan = sim_line(&s, "plan", "plan", 0), *ready = sim_line(&s, "sim", "ready", 0);
	if (!plan || !ready || !sim_line(&s, "sim", "holding", 0)) {
		dump(&s);
		sim_free(&s);
		ASSERT_TRUE(0);
	}
	int holder = atoi(jget(ready, "pid", v, sizeof(v)));
	jget(ready, "mntns", mntns, sizeof(mntns));
	ssize_t l = readlink("/proc/self/ns/mnt", self_ns, sizeof(self_ns) - 1);
	self_ns[l < 0 ? 0 : l] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", holder);
	l = readlink(path, v, sizeof(v) - 1);
	v[l < 0 ? 0 : l] = '\0';
	int ns_ok = strcmp(v, mntns) == 0 && strcmp(mntns, self_ns) != 0;
	int failed = 0;
#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "    %s:%d: failed: %s\n", __FILE__, __LINE__, #c); \
			failed = 1;                                              \
		}                                                                \
	} while (0)
	CHECK(ns_ok);

	/* hollow: three verified writes into the stopped child, a fresh /usr/bin program. */
	const char *spawned = sim_line(&s, "hollow", "spawned", 0);
	CHECK(spawned && strncmp(jget(spawned, "path", v, sizeof(v)), "/usr/bin/", 9) == 0);
	static const char *const methods[] = { "ptrace_pokedata", "process_vm_writev", "proc_mem_write" };
	for (int i = 0; i < 3; i++) {
		const char *wl = sim_line(&s, "hollow", "write", i);
		CHECK(wl && strcmp(jget(wl, "method", v, sizeof(v)), methods[i]) == 0);
		CHECK(wl && strcmp(jget(wl, "verified", v, sizeof(v)), "true") == 0);
		CHECK(wl && spawned && strcmp(jget(wl, "target_pid", v, sizeof(v)), jget(spawned, "target_pid", w, sizeof(w))) == 0);
	}
	CHECK(sim_line(&s, "hollow", "killed", 0) != NULL);

	/* drop: the copy is inside the namespace, executable, and not on the host. */
	jget(plan, "drop.path", w, sizeof(w));
	snprintf(path, sizeof(path), "/proc/%d/root%s", holder, w);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0111) && st.st_size > 10000);
	CHECK(access(w, F_OK) != 0);
	const char *dropl = sim_line(&s, "drop", "file", 0);
	CHECK(dropl && strcmp(jget(dropl, "path", v, sizeof(v)), w) == 0);

	/* persist: cron, systemd user unit and .bashrc inside, pointing at the copy; none of them on the host. */
	static const char *const keys[] = { "persist.cron", "persist.systemd", "persist.shell_rc" };
	static const enum vg_persist_kind kinds[] = { VG_PERSIST_CRON, VG_PERSIST_SYSTEMD, VG_PERSIST_SHELL_RC };
	char home[128];
	jget(plan, "home", home, sizeof(home));
	for (int i = 0; i < 3; i++) {
		jget(plan, keys[i], v, sizeof(v));
		snprintf(path, sizeof(path), "/proc/%d/root%s", holder, v);
		CHECK(file_contains(path, w));
		CHECK(scanner_finds(kinds[i], path, home, w));
		CHECK(!file_contains(v, w));
	}
	jget(plan, "persist.systemd_wants", v, sizeof(v));
	snprintf(path, sizeof(path), "/proc/%d/root%s", holder, v);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	jget(plan, "home", v, sizeof(v));
	CHECK(access(v, F_OK) != 0);

	/* miner: still alive (idle) under the kernel-thread name, its exe in /dev/shm inside the namespace. */
	const char *hold = sim_line(&s, "sim", "holding", 0);
	int miner = atoi(jget(hold, "miner_pid", v, sizeof(v)));
	CHECK(miner > 0);
	char comm[64] = "", cmdline[256] = "", exe[512] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", miner);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", miner);
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
		cmdline[n < 0 ? 0 : n] = '\0';
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", miner);
	l = readlink(path, exe, sizeof(exe) - 1);
	exe[l < 0 ? 0 : l] = '\0';
	CHECK(strcmp(comm, jget(plan, "miner.comm", v, sizeof(v))) == 0);
	CHECK(strcmp(cmdline, jget(plan, "miner.argv0", v, sizeof(v))) == 0 && cmdline[0] == '[');
	CHECK(strcmp(exe, jget(plan, "miner.path", v, sizeof(v))) == 0 && strncmp(exe, "/dev/shm/", 9) == 0);
	snprintf(path, sizeof(path), "/proc/%d/root%s", holder, exe);
	CHECK(access(path, X_OK) == 0);
	CHECK(access(exe, F_OK) != 0);
	const char *burned = sim_line(&s, "miner", "burned", 0);
	CHECK(burned && atoi(jget(burned, "cpu_ms", v, sizeof(v))) > 0);

	/* pool: received the stratum login on the planned port from the miner's connection, sent with write(). */
	const char *recv = sim_line(&s, "pool", "received", 0), *sent = sim_line(&s, "miner", "sent", 0);
	CHECK(recv && sent);
	if (recv && sent) {
		jget(recv, "line", v, sizeof(v));
		CHECK(strstr(v, "\"id\"") && (strstr(v, "\"method\":\"login\"") || strstr(v, "\"mining.subscribe\"")));
		CHECK(strcmp(jget(recv, "port", v, sizeof(v)), jget(plan, "miner.port", w, sizeof(w))) == 0);
		CHECK(strcmp(jget(recv, "peer_port", v, sizeof(v)), jget(sent, "local_port", w, sizeof(w))) == 0);
		CHECK(strcmp(jget(sent, "pid", v, sizeof(v)), jget(hold, "miner_pid", w, sizeof(w))) == 0);
	}

	/* cnc: the stub resolver answered the .bit query and getaddrinfo got its answer. */
	const char *q = sim_line(&s, "dns", "query", 0), *res = sim_line(&s, "cnc", "resolved", 0);
	jget(plan, "cnc.name", w, sizeof(w));
	CHECK(strlen(w) > 4 && strcmp(w + strlen(w) - 4, ".bit") == 0);
	CHECK(q && strcmp(jget(q, "name", v, sizeof(v)), w) == 0 && strcmp(jget(q, "answer", v, sizeof(v)), "127.0.0.2") == 0);
	CHECK(res && strcmp(jget(res, "addr", v, sizeof(v)), "127.0.0.2") == 0);
	CHECK(sim_line(&s, "miner", "error", 0) == NULL && sim_line(&s, "cnc", "error", 0) == NULL);

	/* The namespace is held while stdin is open and gone once the holder exits. */
	CHECK(procs_in_ns(mntns) >= 2);
	int status = sim_finish(&s);
	CHECK(status == 0);
	CHECK(sim_line(&s, "sim", "done", 0) != NULL);
	snprintf(path, sizeof(path), "/proc/%d", holder);
	CHECK(access(path, F_OK) != 0);
	CHECK(procs_in_ns(mntns) == 0);
#undef CHECK
	if (failed)
		dump(&s);
	sim_free(&s);
	ASSERT_TRUE(!failed);
}

/* Same seed, same run: the paths, names and port of two runs agree with each other and with the plan. */
TEST(sim_same_seed_same_effects)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "99", "--stages", "drop,persist,cnc", "--max-seconds", "60", NULL };
	struct sim a, b;
	char va[512], vb[512];
	ASSERT_EQ(sim_start(&a, args), 0);
	int sa = sim_finish(&a);
	ASSERT_EQ(sim_start(&b, args), 0);
	int sb = sim_finish(&b);
	int ok = sa == 0 && sb == 0 && a.n == b.n && a.n >= 8;
	for (int i = 0; ok && i < a.n; i++) {
		ok = strcmp(jget(a.lines[i], "stage", va, sizeof(va)), jget(b.lines[i], "stage", vb, sizeof(vb))) == 0 &&
		     strcmp(jget(a.lines[i], "path", va, sizeof(va)), jget(b.lines[i], "path", vb, sizeof(vb))) == 0 &&
		     strcmp(jget(a.lines[i], "name", va, sizeof(va)), jget(b.lines[i], "name", vb, sizeof(vb))) == 0;
	}
	const char *plan = sim_line(&a, "plan", "plan", 0), *drop = sim_line(&a, "drop", "file", 0),
		   *res = sim_line(&a, "cnc", "resolved", 0);
	ok = ok && plan && drop && res &&
	     strcmp(jget(plan, "drop.path", va, sizeof(va)), jget(drop, "path", vb, sizeof(vb))) == 0 &&
	     strcmp(jget(plan, "cnc.name", va, sizeof(va)), jget(res, "name", vb, sizeof(vb))) == 0;
	if (!ok) {
		fprintf(stderr, "    status %d %d; first run:\n", sa, sb);
		dump(&a);
		fprintf(stderr, "    second run:\n");
		dump(&b);
	}
	sim_free(&a);
	sim_free(&b);
	ASSERT_TRUE(ok);
}

/* The benign form: the same mechanics without the malicious markers (reads only, ordinary names, no stratum, no .bit). */
TEST(sim_benign_variant_has_no_attack_markers)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "5", "--benign", "--max-seconds", "60", "--burn-ms", "50", NULL };
	struct sim s;
	char v[512];
	ASSERT_EQ(sim_start(&s, args), 0);
	int st = sim_finish(&s);
	const char *read_l = sim_line(&s, "hollow", "read", 0), *recv = sim_line(&s, "pool", "received", 0),
		   *q = sim_line(&s, "dns", "query", 0), *ex = sim_line(&s, "miner", "exec", 0);
	int ok = st == 0 && read_l && strcmp(jget(read_l, "ok", v, sizeof(v)), "true") == 0 &&
		 !sim_line(&s, "hollow", "write", 0) && recv && !strstr(jget(recv, "line", v, sizeof(v)), "login") &&
		 !strstr(v, "mining.") && q && !strstr(jget(q, "name", v, sizeof(v)), ".bit") && ex &&
		 jget(ex, "argv0", v, sizeof(v))[0] != '[' && !strstr(jget(ex, "path", v, sizeof(v)), "/dev/shm");
	if (!ok) {
		fprintf(stderr, "    status %d:\n", st);
		dump(&s);
	}
	sim_free(&s);
	ASSERT_TRUE(ok);
}

/* The runtime cap ends a --keep-alive run whose stdin stays open: status 3, a timeout line, the namespace gone. */
TEST(sim_runtime_cap_ends_a_held_run)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "3", "--stages", "drop", "--keep-alive", "--max-seconds", "1", NULL };
	struct sim s;
	char mntns[64];
	ASSERT_EQ(sim_start(&s, args), 0);
	jget(sim_line(&s, "sim", "ready", 0), "mntns", mntns, sizeof(mntns));
	/* stdin is still open: only the cap can end the run. */
	char *line = NULL;
	size_t cap = 0;
	while (s.n < 128 && getline(&line, &cap, s.out) > 0)
		s.lines[s.n++] = strdup(line);
	free(line);
	int st = sim_finish(&s);
	int ok = st == 3 && sim_line(&s, "sim", "timeout", 0) && mntns[0] && procs_in_ns(mntns) == 0;
	if (!ok) {
		fprintf(stderr, "    status %d, mntns %s:\n", st, mntns);
		dump(&s);
	}
	sim_free(&s);
	ASSERT_TRUE(ok);
}

/* SIGTERM to the holder ends a --keep-alive run cleanly: status 0, "done", the idle miner and the namespace gone. */
TEST(sim_sigterm_ends_a_held_run)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "8", "--stages", "miner", "--keep-alive", "--burn-ms", "20",
					    "--max-seconds", "60", NULL };
	struct sim s;
	char mntns[64], v[64];
	ASSERT_EQ(sim_start(&s, args), 0);
	jget(sim_line(&s, "sim", "ready", 0), "mntns", mntns, sizeof(mntns));
	int miner = atoi(jget(sim_line(&s, "sim", "holding", 0), "miner_pid", v, sizeof(v)));
	int before = procs_in_ns(mntns);
	kill(s.pid, SIGTERM);
	char *line = NULL;
	size_t cap = 0;
	while (s.n < 128 && getline(&line, &cap, s.out) > 0)
		s.lines[s.n++] = strdup(line);
	free(line);
	int st = sim_finish(&s);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", miner);
	int ok = miner > 0 && before >= 2 && st == 0 && sim_line(&s, "sim", "done", 0) && access(path, F_OK) != 0 &&
		 procs_in_ns(mntns) == 0;
	if (!ok) {
		fprintf(stderr, "    status %d, miner %d, %d processes in %s before:\n", st, miner, before, mntns);
		dump(&s);
	}
	sim_free(&s);
	ASSERT_TRUE(ok);
}
