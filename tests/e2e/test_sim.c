/* test_sim.c - end-to-end tests of the attack simulator (build/tools/vigil_sim): its plan, its option errors, and every stage's effects checked from outside its namespace. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "vigil/json.h"
#include "vigil/persist_scan.h"
#include "sim_driver.h"

/* Root is needed for the namespaces. In CI (CI=true) its absence is a failure, elsewhere a loud skip. */
static int need_root(int *vg_test_failed)
{
	return vg_test_need_root(vg_test_failed, "simulator tests");
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
	int ok_a = a && strstr(vg_sim_get(a, "cnc.name", v, sizeof(v)), ".bit") && vg_sim_get(a, "miner.argv0", v, sizeof(v))[0] == '[' &&
		   strncmp(vg_sim_get(a, "miner.path", v, sizeof(v)), "/dev/shm/", 9) == 0 &&
		   strstr(vg_sim_get(a, "persist.cron_line", v, sizeof(v)), vg_sim_get(a, "drop.path", v + 128, 128)) != NULL;
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
	int port = atoi(vg_sim_get(a, "miner.port", v, sizeof(v)));
	int ok = !strstr(a, ".bit") && vg_sim_get(a, "miner.argv0", v, sizeof(v))[0] != '[' && !strstr(a, "/dev/shm") &&
		 strcmp(vg_sim_get(a, "persist.target", v, sizeof(v)), "/usr/bin/true") == 0 && !strstr(a, "login") &&
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
	struct vg_sim s;
	char v[512], w[512], path[1024], mntns[64], self_ns[64];
	ASSERT_EQ(vg_sim_start(&s, args), 0);
	const char *plan = vg_sim_line(&s, "plan", "plan", 0), *ready = vg_sim_line(&s, "sim", "ready", 0);
	if (!plan || !ready || !vg_sim_line(&s, "sim", "holding", 0)) {
		vg_sim_dump(&s);
		vg_sim_free(&s);
		ASSERT_TRUE(0);
	}
	int holder = atoi(vg_sim_get(ready, "pid", v, sizeof(v)));
	vg_sim_get(ready, "mntns", mntns, sizeof(mntns));
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
	const char *spawned = vg_sim_line(&s, "hollow", "spawned", 0);
	CHECK(spawned && strncmp(vg_sim_get(spawned, "path", v, sizeof(v)), "/usr/bin/", 9) == 0);
	static const char *const methods[] = { "ptrace_pokedata", "process_vm_writev", "proc_mem_write" };
	for (int i = 0; i < 3; i++) {
		const char *wl = vg_sim_line(&s, "hollow", "write", i);
		CHECK(wl && strcmp(vg_sim_get(wl, "method", v, sizeof(v)), methods[i]) == 0);
		CHECK(wl && strcmp(vg_sim_get(wl, "verified", v, sizeof(v)), "true") == 0);
		CHECK(wl && spawned && strcmp(vg_sim_get(wl, "target_pid", v, sizeof(v)), vg_sim_get(spawned, "target_pid", w, sizeof(w))) == 0);
	}
	CHECK(vg_sim_line(&s, "hollow", "killed", 0) != NULL);

	/* drop: the copy is inside the namespace, executable, and not on the host. */
	vg_sim_get(plan, "drop.path", w, sizeof(w));
	snprintf(path, sizeof(path), "/proc/%d/root%s", holder, w);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0111) && st.st_size > 10000);
	CHECK(access(w, F_OK) != 0);
	const char *dropl = vg_sim_line(&s, "drop", "file", 0);
	CHECK(dropl && strcmp(vg_sim_get(dropl, "path", v, sizeof(v)), w) == 0);

	/* persist: cron, systemd user unit and .bashrc inside, pointing at the copy; none of them on the host. */
	static const char *const keys[] = { "persist.cron", "persist.systemd", "persist.shell_rc" };
	static const enum vg_persist_kind kinds[] = { VG_PERSIST_CRON, VG_PERSIST_SYSTEMD, VG_PERSIST_SHELL_RC };
	char home[128];
	vg_sim_get(plan, "home", home, sizeof(home));
	for (int i = 0; i < 3; i++) {
		vg_sim_get(plan, keys[i], v, sizeof(v));
		snprintf(path, sizeof(path), "/proc/%d/root%s", holder, v);
		CHECK(file_contains(path, w));
		CHECK(scanner_finds(kinds[i], path, home, w));
		CHECK(!file_contains(v, w));
	}
	vg_sim_get(plan, "persist.systemd_wants", v, sizeof(v));
	snprintf(path, sizeof(path), "/proc/%d/root%s", holder, v);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	vg_sim_get(plan, "home", v, sizeof(v));
	CHECK(access(v, F_OK) != 0);

	/* miner: still alive (idle) under the kernel-thread name, its exe in /dev/shm inside the namespace. */
	const char *hold = vg_sim_line(&s, "sim", "holding", 0);
	int miner = atoi(vg_sim_get(hold, "miner_pid", v, sizeof(v)));
	CHECK(miner > 0);
	CHECK(atoi(vg_sim_get(hold, "holder_pid", v, sizeof(v))) == holder);
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
	CHECK(strcmp(comm, vg_sim_get(plan, "miner.comm", v, sizeof(v))) == 0);
	CHECK(strcmp(cmdline, vg_sim_get(plan, "miner.argv0", v, sizeof(v))) == 0 && cmdline[0] == '[');
	CHECK(strcmp(exe, vg_sim_get(plan, "miner.path", v, sizeof(v))) == 0 && strncmp(exe, "/dev/shm/", 9) == 0);
	snprintf(path, sizeof(path), "/proc/%d/root%s", holder, exe);
	CHECK(access(path, X_OK) == 0);
	CHECK(access(exe, F_OK) != 0);
	const char *burned = vg_sim_line(&s, "miner", "burned", 0);
	CHECK(burned && atoi(vg_sim_get(burned, "cpu_ms", v, sizeof(v))) > 0);

	/* pool: received the stratum login on the planned port from the miner's connection, sent with write(). */
	const char *recv = vg_sim_line(&s, "pool", "received", 0), *sent = vg_sim_line(&s, "miner", "sent", 0);
	CHECK(recv && sent);
	if (recv && sent) {
		vg_sim_get(recv, "line", v, sizeof(v));
		CHECK(strstr(v, "\"id\"") && (strstr(v, "\"method\":\"login\"") || strstr(v, "\"mining.subscribe\"")));
		CHECK(strcmp(vg_sim_get(recv, "port", v, sizeof(v)), vg_sim_get(plan, "miner.port", w, sizeof(w))) == 0);
		CHECK(strcmp(vg_sim_get(recv, "peer_port", v, sizeof(v)), vg_sim_get(sent, "local_port", w, sizeof(w))) == 0);
		CHECK(strcmp(vg_sim_get(sent, "pid", v, sizeof(v)), vg_sim_get(hold, "miner_pid", w, sizeof(w))) == 0);
	}

	/* cnc: the stub resolver answered the .bit query and getaddrinfo got its answer. */
	const char *q = vg_sim_line(&s, "dns", "query", 0), *res = vg_sim_line(&s, "cnc", "resolved", 0);
	vg_sim_get(plan, "cnc.name", w, sizeof(w));
	CHECK(strlen(w) > 4 && strcmp(w + strlen(w) - 4, ".bit") == 0);
	CHECK(q && strcmp(vg_sim_get(q, "name", v, sizeof(v)), w) == 0 && strcmp(vg_sim_get(q, "answer", v, sizeof(v)), "127.0.0.2") == 0);
	CHECK(res && strcmp(vg_sim_get(res, "addr", v, sizeof(v)), "127.0.0.2") == 0);
	CHECK(vg_sim_line(&s, "miner", "error", 0) == NULL && vg_sim_line(&s, "cnc", "error", 0) == NULL);

	/* The namespace is held while stdin is open and gone once the holder exits. */
	CHECK(vg_sim_procs_in_ns(mntns) >= 2);
	int status = vg_sim_finish(&s);
	CHECK(status == 0);
	CHECK(vg_sim_line(&s, "sim", "done", 0) != NULL);
	snprintf(path, sizeof(path), "/proc/%d", holder);
	CHECK(access(path, F_OK) != 0);
	CHECK(vg_sim_procs_in_ns(mntns) == 0);
#undef CHECK
	if (failed)
		vg_sim_dump(&s);
	vg_sim_free(&s);
	ASSERT_TRUE(!failed);
}

/* Same seed, same run: the paths, names and port of two runs agree with each other and with the plan. */
TEST(sim_same_seed_same_effects)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "99", "--stages", "drop,persist,cnc", "--max-seconds", "60", NULL };
	struct vg_sim a, b;
	char va[512], vb[512];
	ASSERT_EQ(vg_sim_start(&a, args), 0);
	int sa = vg_sim_finish(&a);
	ASSERT_EQ(vg_sim_start(&b, args), 0);
	int sb = vg_sim_finish(&b);
	int ok = sa == 0 && sb == 0 && a.n == b.n && a.n >= 8;
	for (int i = 0; ok && i < a.n; i++) {
		ok = strcmp(vg_sim_get(a.lines[i], "stage", va, sizeof(va)), vg_sim_get(b.lines[i], "stage", vb, sizeof(vb))) == 0 &&
		     strcmp(vg_sim_get(a.lines[i], "path", va, sizeof(va)), vg_sim_get(b.lines[i], "path", vb, sizeof(vb))) == 0 &&
		     strcmp(vg_sim_get(a.lines[i], "name", va, sizeof(va)), vg_sim_get(b.lines[i], "name", vb, sizeof(vb))) == 0;
	}
	const char *plan = vg_sim_line(&a, "plan", "plan", 0), *drop = vg_sim_line(&a, "drop", "file", 0),
		   *res = vg_sim_line(&a, "cnc", "resolved", 0);
	ok = ok && plan && drop && res &&
	     strcmp(vg_sim_get(plan, "drop.path", va, sizeof(va)), vg_sim_get(drop, "path", vb, sizeof(vb))) == 0 &&
	     strcmp(vg_sim_get(plan, "cnc.name", va, sizeof(va)), vg_sim_get(res, "name", vb, sizeof(vb))) == 0;
	if (!ok) {
		fprintf(stderr, "    status %d %d; first run:\n", sa, sb);
		vg_sim_dump(&a);
		fprintf(stderr, "    second run:\n");
		vg_sim_dump(&b);
	}
	vg_sim_free(&a);
	vg_sim_free(&b);
	ASSERT_TRUE(ok);
}

/* The benign form: the same mechanics without the malicious markers (reads only, ordinary names, no stratum, no .bit). */
TEST(sim_benign_variant_has_no_attack_markers)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "5", "--benign", "--max-seconds", "60", "--burn-ms", "50", NULL };
	struct vg_sim s;
	char v[512];
	ASSERT_EQ(vg_sim_start(&s, args), 0);
	int st = vg_sim_finish(&s);
	const char *read_l = vg_sim_line(&s, "hollow", "read", 0), *recv = vg_sim_line(&s, "pool", "received", 0),
		   *q = vg_sim_line(&s, "dns", "query", 0), *ex = vg_sim_line(&s, "miner", "exec", 0);
	int ok = st == 0 && read_l && strcmp(vg_sim_get(read_l, "ok", v, sizeof(v)), "true") == 0 &&
		 !vg_sim_line(&s, "hollow", "write", 0) && recv && !strstr(vg_sim_get(recv, "line", v, sizeof(v)), "login") &&
		 !strstr(v, "mining.") && q && !strstr(vg_sim_get(q, "name", v, sizeof(v)), ".bit") && ex &&
		 vg_sim_get(ex, "argv0", v, sizeof(v))[0] != '[' && !strstr(vg_sim_get(ex, "path", v, sizeof(v)), "/dev/shm");
	if (!ok) {
		fprintf(stderr, "    status %d:\n", st);
		vg_sim_dump(&s);
	}
	vg_sim_free(&s);
	ASSERT_TRUE(ok);
}

/* The runtime cap ends a --keep-alive run whose stdin stays open: status 3, a timeout line, the namespace gone. */
TEST(sim_runtime_cap_ends_a_held_run)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "3", "--stages", "drop", "--keep-alive", "--max-seconds", "1", NULL };
	struct vg_sim s;
	char mntns[64];
	ASSERT_EQ(vg_sim_start(&s, args), 0);
	vg_sim_get(vg_sim_line(&s, "sim", "ready", 0), "mntns", mntns, sizeof(mntns));
	/* stdin is still open: only the cap can end the run. */
	vg_sim_read_rest(&s);
	int st = vg_sim_finish(&s);
	int ok = st == 3 && vg_sim_line(&s, "sim", "timeout", 0) && mntns[0] && vg_sim_procs_in_ns(mntns) == 0;
	if (!ok) {
		fprintf(stderr, "    status %d, mntns %s:\n", st, mntns);
		vg_sim_dump(&s);
	}
	vg_sim_free(&s);
	ASSERT_TRUE(ok);
}

/* SIGTERM to the holder ends a --keep-alive run cleanly: status 0, "done", the idle miner and the namespace gone. */
TEST(sim_sigterm_ends_a_held_run)
{
	if (!need_root(vg_test_failed))
		return;
	static const char *const args[] = { "--seed", "8", "--stages", "miner", "--keep-alive", "--burn-ms", "20",
					    "--max-seconds", "60", NULL };
	struct vg_sim s;
	char mntns[64], v[64];
	ASSERT_EQ(vg_sim_start(&s, args), 0);
	vg_sim_get(vg_sim_line(&s, "sim", "ready", 0), "mntns", mntns, sizeof(mntns));
	int miner = atoi(vg_sim_get(vg_sim_line(&s, "sim", "holding", 0), "miner_pid", v, sizeof(v)));
	int before = vg_sim_procs_in_ns(mntns);
	kill(s.pid, SIGTERM);
	vg_sim_read_rest(&s);
	int st = vg_sim_finish(&s);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", miner);
	int ok = miner > 0 && before >= 2 && st == 0 && vg_sim_line(&s, "sim", "done", 0) && access(path, F_OK) != 0 &&
		 vg_sim_procs_in_ns(mntns) == 0;
	if (!ok) {
		fprintf(stderr, "    status %d, miner %d, %d processes in %s before:\n", st, miner, before, mntns);
		vg_sim_dump(&s);
	}
	vg_sim_free(&s);
	ASSERT_TRUE(ok);
}
