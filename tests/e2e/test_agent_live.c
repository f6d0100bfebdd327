/* test_agent_live.c - vigild live on this machine (the eBPF sensor, the rules, the response): a benign workload raises nothing; the attack simulator is alerted, killed and cleaned up; audit mode only alerts. */
/* Paths here are short; snprintf truncation would only fail a test, never overflow. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "agent_live.h"
#include "sim_driver.h"
#include "cloud_server.h"
#include <curl/curl.h>

/* Root and BPF are needed. In CI (CI=true) their absence is a failure, elsewhere a loud skip. */
int vg_live_need_root(int *vg_test_failed)
{
	if (geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return 1;
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "    live vigild tests need root and BPF, and CI=true\n");
		*vg_test_failed = 1;
	} else {
		fprintf(stderr, "    SKIPPED: live vigild tests need root and BPF\n");
	}
	return 0;
}

static int socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int vg_live_start(struct vg_live *l, const char *mode, const char *extra_conf)
{
	char conf[600];
	memset(l, 0, sizeof(*l));
	/* under the build folder, not /tmp: the simulator hides /tmp behind its own tmpfs */
	snprintf(l->dir, sizeof(l->dir), "%s/live.XXXXXX", vg_live_build_dir());
	if (!mkdtemp(l->dir))
		return -errno;
	snprintf(l->alerts, sizeof(l->alerts), "%s/alerts.jsonl", l->dir);
	snprintf(l->sock, sizeof(l->sock), "%s/vigild.sock", l->dir);
	snprintf(l->state, sizeof(l->state), "%s/state", l->dir);
	snprintf(conf, sizeof(conf), "%s/vigild.conf", l->dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -errno;
	fprintf(f, "mode %s\nalert_log %s\nsocket %s\nstate_dir %s\nlog_level warn\n%s", mode, l->alerts, l->sock,
		l->state, extra_conf ? extra_conf : "");
	fclose(f);
	snprintf(l->log, sizeof(l->log), "%s/vigild.log", l->dir);
	l->pid = fork();
	if (l->pid == 0) {
		char bin[700];
		snprintf(bin, sizeof(bin), "%s/vigild", vg_live_build_dir());
		if (!freopen(l->log, "w", stderr))
			_exit(126);
		execl(bin, bin, "--config", conf, "--foreground", (char *)NULL);
		_exit(127);
	}
	/* up when the status socket answers (the sensor is attached and /proc seeded by then) */
	for (int i = 0; i < 6000; i++) {
		int st;
		if (waitpid(l->pid, &st, WNOHANG) == l->pid) {
			l->pid = 0;
			return -ECHILD;
		}
		if (socket_answers(l->sock))
			return 0;
		usleep(10 * 1000);
	}
	return -ETIMEDOUT;
}

int vg_live_stop(struct vg_live *l)
{
	int st = -1;
	if (l->pid > 0) {
		kill(l->pid, SIGTERM);
		waitpid(l->pid, &st, 0);
		l->pid = 0;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void vg_live_cleanup(struct vg_live *l)
{
	char cmd[600];
	vg_live_stop(l);
	if (l->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", l->dir);
		if (system(cmd)) {
		}
	}
}

const char *vg_live_build_dir(void)
{
	static char dir[600];
	const char *b = vg_test_build_dir();
	if (b[0] == '/')
		return b;
	snprintf(dir, sizeof(dir), "%s/%s", VIGIL_SOURCE_DIR, b);
	return dir;
}

char *vg_live_read(const char *path)
{
	char *out = NULL, cmd[600];
	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	vg_test_run(cmd, &out);
	return out;
}

size_t vg_live_count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *l = s; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len && (!needle || memmem(l, len, needle, strlen(needle))))
			n++;
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

static int strnstr_(const char *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle)) != NULL;
}

/* Copies the string value after key (e.g. "\"name\":\"") in line[0..len) into out. */
static const char *json_after(const char *line, size_t len, const char *key, char *out, size_t outlen)
{
	const char *p = memmem(line, len, key, strlen(key));
	size_t n = 0;
	out[0] = '\0';
	if (!p)
		return out;
	p += strlen(key);
	while (p < line + len && *p != '"' && n + 1 < outlen)
		out[n++] = *p++;
	out[n] = '\0';
	return out;
}

/*
 * Alerts about processes that were already running when vigild started
 * (the /proc seeding marks their events "Seed":"true") are not the
 * workload's; the rest are printed one per line and counted.
 */
size_t vg_live_count_new_alerts(const char *alerts, int print)
{
	size_t n = 0;
	for (const char *l = alerts; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len && strnstr_(l, len, "\"kind\":\"alert\"") && !strnstr_(l, len, "\"Seed\":\"true\"")) {
			char rule[200], exe[300];
			n++;
			if (print)
				fprintf(stderr, "    alert: %s  [%s]\n", json_after(l, len, "\"name\":\"", rule, sizeof(rule)),
					json_after(l, len, "\"executable\":\"", exe, sizeof(exe)));
		}
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

/*
 * Benign workload under vigild in protect mode: build the project from a clean
 * clone, run unit tests, install and remove a Debian package (built here with
 * dpkg-deb, maintainer scripts included). Not one alert may be raised.
 */
TEST(agent_live_benign_workload_raises_nothing)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	struct vg_live l;
	char cmd[4096], *out = NULL;
	int rc = vg_live_start(&l, "protect", NULL);
	if (rc) {
		char *log = vg_live_read(l.log);
		fprintf(stderr, "    vigild did not start (%d): %s\n", rc, log ? log : "");
		free(log);
		vg_live_cleanup(&l);
		VG_FAIL_("vigild failed to start");
	}
	snprintf(cmd, sizeof(cmd),
		 "set -e; unset MAKEFLAGS MFLAGS MAKELEVEL; cd '%s'; "
		 "git clone -q '%s' src; make -s -C src -j2 OPT=-O0 WERROR=0 BUILD=b b/vigil >build.log 2>&1; "
		 "src/b/vigil rules check src/rules >/dev/null; "
		 "'%s/tests/run' winpath >unit.log; "
		 "mkdir -p pkg/DEBIAN pkg/usr/share/doc/vigil-benign-probe; "
		 "printf 'Package: vigil-benign-probe\\nVersion: 1.0\\nArchitecture: all\\n"
		 "Maintainer: Vigil tests <tests@vigil.invalid>\\nDescription: benign package for the agent test\\n' "
		 ">pkg/DEBIAN/control; "
		 "printf '#!/bin/sh\\nset -e\\nexit 0\\n' >pkg/DEBIAN/postinst; chmod 755 pkg/DEBIAN/postinst; "
		 "echo hello >pkg/usr/share/doc/vigil-benign-probe/README; "
		 "dpkg-deb -b pkg probe.deb >/dev/null; dpkg -i probe.deb >/dev/null; dpkg -r vigil-benign-probe >/dev/null; "
		 "echo workload-ok 2>&1",
		 l.dir, VIGIL_SOURCE_DIR, vg_live_build_dir());
	vg_test_run(cmd, &out);
	int workload_ok = out && strstr(out, "workload-ok");
	if (!workload_ok) {
		char *blog = NULL;
		snprintf(cmd, sizeof(cmd), "cd '%s' && tail -n 20 build.log unit.log 2>&1", l.dir);
		vg_test_run(cmd, &blog);
		fprintf(stderr, "    workload failed: %s\n%s\n", out ? out : "", blog ? blog : "");
		free(blog);
	}
	free(out);
	int stop = vg_live_stop(&l);
	char *alerts = vg_live_read(l.alerts);
	size_t n = vg_live_count_new_alerts(alerts, 1);
	free(alerts);
	vg_live_cleanup(&l);
	ASSERT_TRUE(workload_ok);
	ASSERT_EQ(stop, 0);
	ASSERT_EQ(n, 0);
}

/* Runs sh -c cmd inside the mount namespace ns_fd; returns its exit status. */
static int run_in_ns(int ns_fd, const char *cmd)
{
	pid_t pid = fork();
	int st;
	if (pid == 0) {
		if (setns(ns_fd, CLONE_NEWNS))
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The ids of the project's Linux rules the simulator runs into (rules/linux/). */
#define RULE_HOLLOW "7d9904de-e2d5-45d0-aa5f-61d0d277002e"
#define RULE_CRON "7562d799-ba49-4b44-a6b9-0d648515efb1"
#define RULE_SYSTEMD "845c285a-a2a1-4427-aff9-a0e54667aeed"
#define RULE_SHELL_RC "92a3b341-effd-4bac-a14e-bd660d24be07"
#define RULE_CHAIN "9a7c4e21-3b5d-4f8a-8c6e-2d1f0b9e7a43"

/* Alerts of the simulator's chain: those naming its binary or its miner. */
static size_t chain_alerts(const char *alerts, const char *miner, char incidents[][40], size_t max_inc, size_t *ninc)
{
	size_t n = 0;
	*ninc = 0;
	for (const char *l = alerts; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len && strnstr_(l, len, "\"kind\":\"alert\"") && !strnstr_(l, len, "\"Seed\":\"true\"") &&
		    (strnstr_(l, len, "/vigil_sim") || strnstr_(l, len, miner))) {
			char inc[40];
			n++;
			json_after(l, len, "\"incident\":{\"id\":\"", inc, sizeof(inc));
			size_t k = 0;
			while (k < *ninc && strcmp(incidents[k], inc) != 0)
				k++;
			if (k == *ninc && *ninc < max_inc)
				snprintf(incidents[(*ninc)++], 40, "%s", inc);
		}
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

struct chain_run {
	struct vg_live live;
	struct vg_sim sim;
	char plan[8192];
	char *alerts;
	int sim_status;
	char drop[512], miner[512], cron[512], unit[512], rc[512], rc_line[512], cron_line[512];
	char sim_dir[64], sim_bin[128]; /* the simulator installed where a package program would be */
};

/* More configuration lines for the next run_chain (the cloud test's), or NULL. */
static const char *chain_extra_conf;

/* Starts vigild (mode, policy text), runs the whole simulated chain under it, stops vigild. 0 or -1 (reason on stderr). */
static int run_chain(struct chain_run *r, const char *mode, const char *policy, unsigned seed)
{
	char extra[2048], seedarg[32], *out = NULL, cmd[800];
	memset(r, 0, sizeof(*r));
	r->sim.ns_fd = -1;
	snprintf(seedarg, sizeof(seedarg), "%u", seed);
	/*
	 * The loader is installed like a program (root-owned folder under
	 * /var/lib), as Dofoil's poisoned updater was: run from the build
	 * folder, which may be a clone under /tmp, the response would rightly
	 * quarantine the simulator binary itself as a dropped program.
	 */
	snprintf(r->sim_dir, sizeof(r->sim_dir), "/var/lib/vigil-test-sim.XXXXXX");
	if (!mkdtemp(r->sim_dir)) {
		r->sim_dir[0] = 0;
		fprintf(stderr, "    cannot make a folder under /var/lib\n");
		return -1;
	}
	chmod(r->sim_dir, 0755);
	snprintf(r->sim_bin, sizeof(r->sim_bin), "%s/vigil_sim", r->sim_dir);
	snprintf(cmd, sizeof(cmd), "cp '%s/tools/vigil_sim' '%s' && chmod 755 '%s'", vg_live_build_dir(), r->sim_bin,
		 r->sim_bin);
	if (system(cmd) != 0)
		return -1;
	vg_sim_binary = r->sim_bin;
	snprintf(cmd, sizeof(cmd), "%s --plan --seed %u", r->sim_bin, seed);
	if (vg_test_run(cmd, &out) != 0 || !out) {
		free(out);
		fprintf(stderr, "    vigil_sim --plan failed\n");
		return -1;
	}
	snprintf(r->plan, sizeof(r->plan), "%s", out);
	free(out);
	vg_sim_get(r->plan, "drop.path", r->drop, sizeof(r->drop));
	vg_sim_get(r->plan, "miner.path", r->miner, sizeof(r->miner));
	vg_sim_get(r->plan, "persist.cron", r->cron, sizeof(r->cron));
	vg_sim_get(r->plan, "persist.systemd", r->unit, sizeof(r->unit));
	vg_sim_get(r->plan, "persist.shell_rc", r->rc, sizeof(r->rc));
	vg_sim_get(r->plan, "persist.shell_rc_line", r->rc_line, sizeof(r->rc_line));
	vg_sim_get(r->plan, "persist.cron_line", r->cron_line, sizeof(r->cron_line));
	/* the simulator's stub resolver (127.0.0.1) is not one this machine is configured with */
	int n = snprintf(extra, sizeof(extra), "resolvers 192.0.2.53\n");
	if (policy) {
		char path[400];
		snprintf(path, sizeof(path), "%s/../live-policy-%d.yml", vg_live_build_dir(), (int)getpid());
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		fputs(policy, f);
		fclose(f);
		n += snprintf(extra + n, sizeof(extra) - (size_t)n, "policy %s\n", path);
	}
	if (chain_extra_conf)
		snprintf(extra + n, sizeof(extra) - (size_t)n, "%s", chain_extra_conf);
	int rc = vg_live_start(&r->live, mode, extra);
	if (rc) {
		char *log = vg_live_read(r->live.log);
		fprintf(stderr, "    vigild did not start (%d): %s\n", rc, log ? log : "");
		free(log);
		return -1;
	}
	const char *args[] = { "--seed", seedarg, "--keep-alive", NULL };
	if (vg_sim_start(&r->sim, args)) {
		fprintf(stderr, "    vigil_sim did not start\n");
		return -1;
	}
	/* the sensor's events reach vigild a moment after the simulator wrote its lines */
	/* (a bound for a broken agent, not a speed limit: a sanitizer build on a busy machine lags) */
	for (int i = 0; i < 600; i++) {
		free(r->alerts);
		r->alerts = vg_live_read(r->live.alerts);
		if (r->alerts && strstr(r->alerts, "Hollowed Child Drops A Program") &&
		    (strcmp(mode, "audit") == 0 ? strstr(r->alerts, "DNS Query For A Domain Under An Alternative DNS Root") != NULL
						: strstr(r->alerts, "\"decision\":\"remediate\"") != NULL))
			break;
		usleep(100 * 1000);
	}
	if (vg_live_stop(&r->live) != 0)
		fprintf(stderr, "    vigild did not stop cleanly\n");
	free(r->alerts);
	r->alerts = vg_live_read(r->live.alerts);
	r->sim_status = vg_sim_finish(&r->sim);
	return 0;
}

static void chain_free(struct chain_run *r)
{
	vg_sim_free(&r->sim);
	vg_sim_binary = NULL;
	if (r->sim_dir[0]) {
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->sim_dir);
		if (system(cmd)) {
		}
	}
	vg_live_cleanup(&r->live);
	free(r->alerts);
	char path[400];
	snprintf(path, sizeof(path), "%s/../live-policy-%d.yml", vg_live_build_dir(), (int)getpid());
	unlink(path);
}

/*
 * Audit mode: every stage of the simulated chain is alerted with its
 * technique, the alerts form one incident, and nothing is done: the
 * simulator runs to its end, its files stay, each alert says what would
 * have been done.
 */
TEST(agent_live_simulator_audit_every_stage_one_incident)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	struct chain_run r;
	if (run_chain(&r, "audit", NULL, 11)) {
		chain_free(&r);
		VG_FAIL_("could not run the chain");
	}
	static const char *const techniques[] = {
		"attack.t1055.008", /* hollow: writes into the fresh child's memory */
		"attack.t1204.002", /* drop: the dropped program runs */
		"attack.t1053.003", "attack.t1543.002", "attack.t1546.004", /* persist: cron, systemd user unit, .bashrc */
		"attack.t1036.004", "attack.t1496.001", /* miner: kernel-thread name, stratum login */
		"attack.t1071.004", /* cnc: .bit */
	};
	int missing = 0;
	for (size_t i = 0; i < sizeof(techniques) / sizeof(*techniques); i++)
		if (!strstr(r.alerts, techniques[i])) {
			fprintf(stderr, "    no alert with %s\n", techniques[i]);
			missing++;
		}
	char inc[8][40];
	size_t ninc, n = chain_alerts(r.alerts, r.miner, inc, 8, &ninc);
	int acted = strstr(r.alerts, "\"result\":\"done") != NULL;
	int would = strstr(r.alerts, "\"result\":\"audit: would kill\"") != NULL;
	int miner_sent = vg_sim_line(&r.sim, "miner", "sent", 0) != NULL;
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "test -x '%s' && grep -qF '%s' '%s'", r.drop, r.drop, r.cron);
	int files_stay = r.sim.ns_fd >= 0 && run_in_ns(r.sim.ns_fd, cmd) == 0;
	if (missing || ninc != 1 || acted || !would || !miner_sent || !files_stay) {
		vg_live_count_new_alerts(r.alerts, 1);
		vg_sim_dump(&r.sim);
	}
	int sim_status = r.sim_status;
	chain_free(&r);
	ASSERT_EQ(missing, 0);
	ASSERT_GE(n, 8);
	ASSERT_EQ(ninc, 1);
	ASSERT_TRUE(!acted);
	ASSERT_TRUE(would);
	ASSERT_TRUE(miner_sent);
	ASSERT_TRUE(files_stay);
	ASSERT_EQ(sim_status, 0);
}

/*
 * Protect mode with a policy that lets the single steps only alert and
 * remediates on the chain correlation: the loader and the miner are
 * killed, the dropped copies quarantined (and restorable), the cron entry,
 * the systemd unit and the .bashrc line undone, all inside the
 * simulator's namespace.
 */
TEST(agent_live_simulator_protect_kills_quarantines_undoes)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	static const char policy[] = "mode: protect\ndefault: alert\nrules:\n"
				     "  " RULE_HOLLOW ": alert\n  " RULE_CRON ": alert\n  " RULE_SYSTEMD ": alert\n"
				     "  " RULE_SHELL_RC ": alert\n  " RULE_CHAIN ": remediate\n";
	struct chain_run r;
	if (run_chain(&r, "protect", policy, 12)) {
		chain_free(&r);
		VG_FAIL_("could not run the chain");
	}
	char cmd[2400], key[700], qid[128] = "";
	int ok_ns = r.sim.ns_fd >= 0;
	/* the dropped copy and the miner's file are gone, the persistence undone */
	snprintf(cmd, sizeof(cmd),
		 "test ! -e '%s' && test ! -e '%s' && ! grep -qsF '%s' '%s' && test ! -e '%s' && ! grep -qsF '%s' '%s'",
		 r.drop, r.miner, r.drop, r.cron, r.unit, r.drop, r.rc);
	int cleaned = ok_ns && run_in_ns(r.sim.ns_fd, cmd) == 0;
	int remediated = strstr(r.alerts, "\"decision\":\"remediate\"") != NULL;
	int miner_killed = 0, loader_killed = 0;
	snprintf(key, sizeof(key), "\"image\":\"%s\",\"result\":\"done\"", r.miner);
	miner_killed = strstr(r.alerts, key) != NULL;
	loader_killed = strstr(r.alerts, "/vigil_sim\",\"result\":\"done\"") != NULL;
	/* quarantine id of the dropped copy, from the alert */
	snprintf(key, sizeof(key), "\"path\":\"%s\",\"result\":\"done: ", r.drop);
	const char *q = strstr(r.alerts, key);
	if (q) {
		q += strlen(key);
		size_t k = 0;
		while (q[k] && q[k] != '"' && k + 1 < sizeof(qid))
			k++;
		memcpy(qid, q, k);
		qid[k] = '\0';
	}
	char *list = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil quarantine --dir '%s/quarantine' list", vg_live_build_dir(), r.live.state);
	vg_test_run(cmd, &list);
	int listed = qid[0] && list && strstr(list, qid) != NULL;
	free(list);
	/*
	 * Restore it where it was: inside the simulator's namespace, where the
	 * build and state folders may be hidden (its tmpfs covers /tmp): they
	 * are reached through descriptors opened here and inherited.
	 */
	int bfd = open(vg_live_build_dir(), O_PATH | O_DIRECTORY), sfd = open(r.live.state, O_PATH | O_DIRECTORY);
	snprintf(cmd, sizeof(cmd),
		 "/proc/self/fd/%d/vigil quarantine --dir /proc/self/fd/%d/quarantine restore '%s' >/dev/null && test -x '%s'",
		 bfd, sfd, qid, r.drop);
	int restored = ok_ns && qid[0] && bfd >= 0 && sfd >= 0 && run_in_ns(r.sim.ns_fd, cmd) == 0;
	if (bfd >= 0)
		close(bfd);
	if (sfd >= 0)
		close(sfd);
	if (!cleaned || !remediated || !miner_killed || !loader_killed || !listed || !restored) {
		fprintf(stderr, "    cleaned %d remediated %d miner_killed %d loader_killed %d listed %d restored %d (id %s)\n",
			cleaned, remediated, miner_killed, loader_killed, listed, restored, qid);
		vg_live_count_new_alerts(r.alerts, 1);
		vg_sim_dump(&r.sim);
	}
	int sim_status = r.sim_status;
	chain_free(&r);
	ASSERT_TRUE(remediated);
	ASSERT_TRUE(miner_killed);
	ASSERT_TRUE(loader_killed);
	ASSERT_EQ(sim_status, 128 + SIGKILL);
	ASSERT_TRUE(cleaned);
	ASSERT_TRUE(listed);
	ASSERT_TRUE(restored);
}

static size_t discard_body(char *p, size_t sz, size_t n, void *ctx)
{
	(void)p, (void)ctx;
	return sz * n;
}

/* HTTP status of GET url with a bearer credential (0 when no answer). */
static long http_get_status(const char *url, const char *auth)
{
	long st = 0;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = curl_slist_append(NULL, auth);
	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return st;
}

/* The credential vigild enrolled with ("<endpoint> <credential>" in state/cloud-credential), as a header. */
static int read_credential(const char *state, char *auth, size_t len)
{
	char path[400], ep[160], cr[160];
	snprintf(path, sizeof(path), "%s/cloud-credential", state);
	FILE *f = fopen(path, "r");
	int ok = f && fscanf(f, "%159s %159s", ep, cr) == 2;
	if (f)
		fclose(f);
	if (ok)
		snprintf(auth, len, "Authorization: Bearer %s", cr);
	return ok ? 0 : -1;
}

/*
 * The end to end with the service down: vigild (protect) has a
 * cloud_url where nothing answers; the local rules still kill the miner
 * and remediate the chain, and the signals wait in the queue file. Then
 * vigil-cloud starts and vigild restarts (audit) on the same state: the
 * queued signals arrive, the miner's file among them.
 */
TEST(agent_live_cloud_down_local_rules_kill_queued_signals_arrive)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	static const char policy[] = "mode: protect\ndefault: alert\nrules:\n"
				     "  " RULE_HOLLOW ": alert\n  " RULE_CRON ": alert\n  " RULE_SYSTEMD ": alert\n"
				     "  " RULE_SHELL_RC ": alert\n  " RULE_CHAIN ": remediate\n";
	/* a port nothing listens on: the service is down */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sa);
	int sfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_TRUE(sfd >= 0 && bind(sfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(sfd, (struct sockaddr *)&sa, &slen) == 0);
	close(sfd);
	char conf1[300];
	snprintf(conf1, sizeof(conf1), "cloud_url http://127.0.0.1:%d\ncloud_token e2e-live-token\n", ntohs(sa.sin_port));
	chain_extra_conf = conf1;
	struct chain_run r;
	int rc = run_chain(&r, "protect", policy, 13);
	chain_extra_conf = NULL;
	if (rc) {
		chain_free(&r);
		VG_FAIL_("could not run the chain");
	}
	char key[700], qpath[400], state[300], shas[32][65];
	size_t nsha = 0;
	snprintf(key, sizeof(key), "\"image\":\"%s\",\"result\":\"done\"", r.miner);
	int miner_killed = strstr(r.alerts, key) != NULL;
	snprintf(state, sizeof(state), "%s", r.live.state);
	snprintf(qpath, sizeof(qpath), "%s/cloud-queue", state);
	char *queue = vg_live_read(qpath);
	size_t queued = vg_live_count(queue, "\"sha256\"");
	/* the chain's own signal: the hollowing rule is a cloud: true rule */
	int chain_signal = queue && strstr(queue, "\"rule_ids\":[\"" RULE_HOLLOW "\"]") != NULL;
	for (char *l = queue; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		const char *f = strstr(l, "\"file\":{\"sha256\":\"");
		int dup = 0;
		for (size_t i = 0; f && i < nsha; i++)
			dup |= strncmp(shas[i], f + 18, 64) == 0;
		if (f && !dup && nsha < 32)
			snprintf(shas[nsha++], 65, "%.64s", f + 18);
		l = nl ? nl + 1 : l + strlen(l);
	}
	free(queue);

	/* the service comes back; vigild restarts on the same state (audit: it acts on nothing now) */
	char dir[] = "/tmp/vigil-live-cloud.XXXXXX", cconf[300], db[300], conf2[700], auth[300] = "", url[400];
	pid_t cpid = 0;
	int port = 0, delivered = 0, known = 0;
	struct vg_live l2 = { 0 };
	if (mkdtemp(dir)) {
		snprintf(cconf, sizeof(cconf), "%s/cloud.conf", dir);
		snprintf(db, sizeof(db), "%s/cloud.db", dir);
		FILE *f = fopen(cconf, "w");
		if (f) {
			fputs("enroll_token e2e-live-token\nthreads 2\ngroup_commit_ms 0\n", f);
			fclose(f);
		}
		if (vg_test_cloud_spawn(cconf, db, &cpid, &port) == 0) {
			snprintf(conf2, sizeof(conf2), "state_dir %s\ncloud_url http://127.0.0.1:%d\ncloud_token e2e-live-token\n", state,
				 port);
			if (vg_live_start(&l2, "audit", conf2) == 0) {
				/* delivered when the queue file is emptied (it is truncated once all is sent) */
				for (int i = 0; i < 1000 && !delivered; i++) {
					struct stat st;
					delivered = stat(qpath, &st) == 0 && st.st_size == 0;
					if (!delivered)
						usleep(20000);
				}
				/* every file a queued signal was about is known to the service now */
				if (read_credential(state, auth, sizeof(auth)) == 0)
					for (size_t i = 0; i < nsha; i++) {
						snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/files/%s", port, shas[i]);
						known += http_get_status(url, auth) == 200;
					}
				vg_live_cleanup(&l2);
			}
			kill(cpid, SIGTERM);
			waitpid(cpid, NULL, 0);
		}
		snprintf(cconf, sizeof(cconf), "rm -rf '%s'", dir);
		if (system(cconf)) {
		}
	}
	if (!miner_killed || !chain_signal || !nsha || !delivered || known != (int)nsha)
		fprintf(stderr, "    miner_killed %d queued %zu chain_signal %d files %zu delivered %d known %d\n", miner_killed,
			queued, chain_signal, nsha, delivered, known);
	chain_free(&r);
	ASSERT_TRUE(miner_killed);
	ASSERT_TRUE(chain_signal);
	ASSERT_GE(nsha, 1);
	ASSERT_TRUE(delivered);
	ASSERT_EQ(known, (int)nsha);
}
