/* test_cloud_poll.c - verdict changes by long-poll, live: vigild (audit) watches never-seen programs run from /tmp; other endpoints' signals downgrade one to clean, then upgrade it to block on the real vigil-cloud; the changes reach vigild's cache and its block path on the running process; an upgrade made while vigild is down arrives after restart, and the ids already applied are not replayed; the service restarted on its port is reconnected to. Also the answer parser. */
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "agent_live.h"
#include "cloud_server.h"
#include "vigil/cloud_poll.h"

#define TOKEN "e2e-poll-token"
/* Fails the test and goes to the cleanup (VG_FAIL_ returns at once, which would leave processes running). */
#define FAIL_OUT(msg)                                                    \
	do {                                                             \
		fprintf(stderr, "    %s:%d: %s\n", __FILE__, __LINE__, msg); \
		*vg_test_failed = 1;                                     \
		goto out;                                                \
	} while (0)
#define STRATUM_RULE "4bf75ef1-8638-4054-9c3d-c8f5a702daff" /* critical: blocks a rare file */

TEST(cloud_poll_parse)
{
	struct vg_cloud_verdict v[4];
	char why[256];
	const char *ok = "{\"verdicts\":[{\"id\":7,\"sha256\":\"" /* two changes, the second downgrades */
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"verdict\":\"block\","
			 "\"scores\":{\"interim_rules\":0.9},\"threat_name\":\"Vigil:Block/X\",\"ttl\":86400},"
			 "{\"id\":9,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
			 "\"verdict\":\"clean\",\"threat_name\":null,\"ttl\":3600}],\"count\":2,\"next\":9}";
	ASSERT_EQ(vg_cloud_poll_parse(ok, strlen(ok), v, 4, why, sizeof(why)), 2);
	ASSERT_EQ(v[0].change_id, 7);
	ASSERT_STR_EQ(v[0].verdict, "block");
	ASSERT_STR_EQ(v[0].threat_name, "Vigil:Block/X");
	ASSERT_EQ(v[0].ttl, 86400);
	ASSERT_EQ(v[1].change_id, 9);
	ASSERT_STR_EQ(v[1].verdict, "clean");
	ASSERT_STR_EQ(v[1].threat_name, "");
	const char *empty = "{\"verdicts\":[],\"count\":0,\"next\":9}";
	ASSERT_EQ(vg_cloud_poll_parse(empty, strlen(empty), v, 4, why, sizeof(why)), 0);
	/* a page larger than the buffer is cut, never overrun */
	ASSERT_EQ(vg_cloud_poll_parse(ok, strlen(ok), v, 1, why, sizeof(why)), 1);
	const char *bad = "{\"verdicts\":[{\"id\":3,\"sha256\":\"xyz\",\"verdict\":\"block\"}]}";
	ASSERT_EQ(vg_cloud_poll_parse(bad, strlen(bad), v, 4, why, sizeof(why)), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "verdicts[0] (id 3)") != NULL);
	const char *cut = "{\"verdicts\":[{\"id\":3,";
	ASSERT_EQ(vg_cloud_poll_parse(cut, strlen(cut), v, 4, why, sizeof(why)), VG_EPARSE);
	ASSERT_TRUE(strncmp(why, "byte ", 5) == 0);
	const char *zero = "{\"verdicts\":[{\"id\":0}]}";
	ASSERT_EQ(vg_cloud_poll_parse(zero, strlen(zero), v, 4, why, sizeof(why)), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "verdicts[0].id") != NULL);
}

/* One request to the service on port; body in out (8192 bytes). Returns the HTTP status. */
static long http(int port, const char *path, const char *auth, const char *body, char *out)
{
	return vg_test_http(port, path, auth, body, out, 8192);
}

/* Enrolls endpoint id and writes "Authorization: Bearer <credential>" to auth. */
static int enroll(int port, const char *id, char *auth, size_t len)
{
	return vg_test_enroll(port, TOKEN, id, auth, len);
}

/* A signal about sha from another endpoint: with the critical cloud rule (upgrade) or as a packaged file seen again (downgrade). */
static long other_signal(int port, const char *auth, const char *endpoint, const char *sha, int critical, char *out)
{
	char body[1024];
	snprintf(body, sizeof(body),
		 "{\"endpoint_id\":\"%s\",\"rule_ids\":[%s],\"behavior_ids\":[],"
		 "\"file\":{\"sha256\":\"%s\",\"path\":\"/usr/bin/x\",\"package\":%s}}",
		 endpoint, critical ? "\"" STRATUM_RULE "\"" : "", sha, critical ? "null" : "\"coreutils\"");
	return http(port, "/v1/signals", auth, body, out);
}

/* The sha256 of a file, by sha256sum. */
static int sha256_of(const char *path, char out[65])
{
	char cmd[600], *o = NULL;
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	int st = vg_test_run(cmd, &o);
	int ok = st == 0 && o && strlen(o) >= 64;
	if (ok) {
		memcpy(out, o, 64);
		out[64] = 0;
	}
	free(o);
	return ok ? 0 : -1;
}

/* The first line of text holding all of a, b and c (c may be NULL), copied to out; 1 when found. */
static int find_line(const char *text, const char *a, const char *b, const char *c, char *out, size_t len)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *l = strndup(p, n);
		int ok = l && strstr(l, a) && strstr(l, b) && (!c || strstr(l, c));
		if (ok)
			snprintf(out, len, "%s", l);
		free(l);
		if (ok)
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Waits (up to about a minute, a guard against a hang, not a speed limit) for a line of the alert log holding a, b, c. */
static int wait_line(const char *alerts, const char *a, const char *b, const char *c, char *out, size_t len)
{
	for (int i = 0; i < 600; i++) {
		char *t = vg_live_read(alerts);
		int ok = find_line(t ? t : "", a, b, c, out, len);
		free(t);
		if (ok)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

/* `vigil status` JSON of the vigild with this socket. */
static char *status_of(const char *sock)
{
	char cmd[700], *o = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil status --socket '%s' 2>&1", vg_live_build_dir(), sock);
	vg_test_run(cmd, &o);
	return o ? o : calloc(1, 1);
}

static pid_t run_prog(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl(path, path, "600", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void end_prog(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

TEST(cloud_poll_live_upgrade_restart)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	char dir[] = "/tmp/vg-e2e-poll-XXXXXX", conf[300], db[300], prog[300], prog2[300], cmd[1200], sha[65], sha2[65];
	char line[8192], out[8192], auth_b[128], auth_c[128], extra[700], want[128], want2[128];
	struct vg_live l = { 0 };
	pid_t cloud = 0, p1 = 0, p2 = 0, p3 = 0;
	int port = 0;
	char *st = NULL;

	if (!mkdtemp(dir))
		return;
	chmod(dir, 0755);
	snprintf(conf, sizeof(conf), "%s/cloud.conf", dir);
	snprintf(db, sizeof(db), "%s/cloud.db", dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		FAIL_OUT("cannot write the service configuration");
	/* the interim scorer alone: its suspicious -> clean -> block steps are fixed, the models' are the models' business */
	fprintf(f, "enroll_token " TOKEN "\nthreads 2\ngroup_commit_ms 0\nlongpoll_max 60\nmodel none\n");
	fclose(f);
	if (vg_test_cloud_spawn(conf, db, &cloud, &port))
		FAIL_OUT("vigil-cloud did not start");
	/* two programs no endpoint has seen: sleep(1) with bytes of their own appended, run from /tmp */
	snprintf(prog, sizeof(prog), "%s/updater", dir);
	snprintf(prog2, sizeof(prog2), "%s/syncer", dir);
	snprintf(cmd, sizeof(cmd),
		 "for p in '%s' '%s'; do cp /usr/bin/sleep $p && head -c 64 /dev/urandom >> $p && chmod 0755 $p || exit 1; done",
		 prog, prog2);
	if (system(cmd) != 0 || sha256_of(prog, sha) || sha256_of(prog2, sha2))
		FAIL_OUT("cannot make the test programs");
	/* state_dir outside the live folder, so the second vigild finds the first one's */
	snprintf(extra, sizeof(extra), "state_dir %s/state\ncloud_url http://127.0.0.1:%d/\ncloud_token " TOKEN "\n", dir,
		 port);
	int rc = vg_live_start(&l, "audit", extra);
	if (rc) {
		char *log = vg_live_read(l.log);
		fprintf(stderr, "    vigild did not start (%d): %s\n", rc, log ? log : "");
		free(log);
		FAIL_OUT("vigild failed to start");
	}

	/* 1. the programs start: vigild asks, the service answers (not block: no rule fired) */
	p1 = run_prog(prog);
	p3 = run_prog(prog2);
	if (!wait_line(l.alerts, "\"kind\":\"verdict\"", sha, "\"cached\":false", line, sizeof(line)))
		FAIL_OUT("no verdict for the first program's start");
	if (strstr(line, "\"verdict\":\"block\"") || strstr(line, "\"verdict\":\"clean\"") || strstr(line, "change_id")) {
		fprintf(stderr, "    %s\n", line);
		FAIL_OUT("the first verdict should be vigild's own answer, suspicious");
	}
	if (!wait_line(l.alerts, "\"kind\":\"verdict\"", sha2, "\"cached\":false", line, sizeof(line)))
		FAIL_OUT("no verdict for the second program's start");
	snprintf(want, sizeof(want), "\"pid\":%d,", (int)p1);

	/* 2. another endpoint reports the file as a packaged program, no rule: a downgrade to clean reaches the cache */
	if (enroll(port, "e2e-poll-c", auth_c, sizeof(auth_c)) || other_signal(port, auth_c, "e2e-poll-c", sha, 0, out) != 200 ||
	    !strstr(out, "\"verdict\":\"clean\"")) {
		fprintf(stderr, "    service: %s\n", out);
		FAIL_OUT("the downgrading signal was not taken");
	}
	if (!wait_line(l.alerts, "\"change_id\":", sha, "\"verdict\":\"clean\"", line, sizeof(line)) || !strstr(line, want)) {
		fprintf(stderr, "    %s\n", line);
		FAIL_OUT("the downgrade did not reach vigild (for the running process)");
	}

	/* 3. another endpoint's signal with a critical rule upgrades the file to block: vigild hears it by long-poll */
	if (enroll(port, "e2e-poll-b", auth_b, sizeof(auth_b)) || other_signal(port, auth_b, "e2e-poll-b", sha, 1, out) != 200 ||
	    !strstr(out, "\"verdict\":\"block\"")) {
		fprintf(stderr, "    service: %s\n", out);
		FAIL_OUT("the upgrading signal was not taken");
	}
	if (!wait_line(l.alerts, "\"change_id\":", sha, "\"verdict\":\"block\"", line, sizeof(line)))
		FAIL_OUT("the upgrade did not reach vigild");
	/* the block path ran on the process running the file (audit: says what it would do) */
	if (!strstr(line, want) || !strstr(line, "\"why\":\"cloud verdict block: Vigil:Block/") ||
	    !strstr(line, "audit: would kill")) {
		fprintf(stderr, "    %s\n", line);
		FAIL_OUT("the upgrade was not acted on for the running process");
	}
	/* the cache has it: a second start of the file is acted on at once, without a request */
	p2 = run_prog(prog);
	snprintf(want2, sizeof(want2), "\"pid\":%d,", (int)p2);
	if (!wait_line(l.alerts, sha, "\"cached\":true", want2, line, sizeof(line)) || !strstr(line, "\"verdict\":\"block\""))
		FAIL_OUT("the upgraded verdict is not in vigild's cache");
	end_prog(p2);
	p2 = 0;
	free(st);
	st = status_of(l.sock);
	if (!strstr(st, "\"verdict_poll\":{\"connected\":true")) {
		fprintf(stderr, "    status: %s\n", st);
		FAIL_OUT("status does not show the long-poll connected");
	}
	if (vg_live_stop(&l) != 0)
		FAIL_OUT("vigild did not stop cleanly");
	char pos[400];
	snprintf(pos, sizeof(pos), "%s/state/cloud-verdicts.pos", dir);
	char *saved = vg_live_read(pos);
	long last = saved ? atol(saved) : 0;
	free(saved);
	if (last < 3)
		FAIL_OUT("the last change id was not kept in state_dir");

	/* 4. while vigild is down the second program is upgraded to block */
	if (other_signal(port, auth_b, "e2e-poll-b", sha2, 1, out) != 200 || !strstr(out, "\"verdict\":\"block\"")) {
		fprintf(stderr, "    service: %s\n", out);
		FAIL_OUT("the second upgrading signal was not taken");
	}
	char ids[8192];
	snprintf(cmd, sizeof(cmd), "/v1/verdicts?since=%ld&timeout=0", last);
	if (http(port, cmd, auth_c, NULL, ids) != 200)
		FAIL_OUT("GET /v1/verdicts failed");
	long head = 0;
	for (const char *q = ids; (q = strstr(q, "\"id\":")); q += 5)
		head = atol(q + 5);

	/*
	 * 5. restart: the change made meanwhile arrives (last_id reaches it), and the program still running
	 * (seeded from /proc at start) is acted on as block. Which comes first is a race: the change, or
	 * the answer to the signal this vigild sends for the seeded program (the service keeps block);
	 * the second one then only refreshes the cache ("unchanged").
	 */
	vg_live_cleanup(&l);
	rc = vg_live_start(&l, "audit", extra);
	if (rc)
		FAIL_OUT("vigild failed to start again");
	snprintf(want2, sizeof(want2), "\"pid\":%d,", (int)p3);
	if (!wait_line(l.alerts, sha2, "\"verdict\":\"block\"", want2, line, sizeof(line)) ||
	    !strstr(line, "audit: would kill")) {
		fprintf(stderr, "    %s\n", line);
		FAIL_OUT("the upgrade made while vigild was down was not applied after restart");
	}
	long got = 0;
	for (int i = 0; i < 600 && got < head; i++) { /* later ids may come too: this vigild's own signals change verdicts */
		free(st);
		st = status_of(l.sock);
		const char *li = strstr(st, "\"last_id\":");
		got = li ? atol(li + 10) : 0;
		if (got < head)
			usleep(100 * 1000);
	}
	if (got < head) {
		fprintf(stderr, "    head %ld, kept %ld\n    status: %.3000s\n", head, last, st);
		FAIL_OUT("the change made while vigild was down did not arrive after restart");
	}
	/* nothing up to the kept id came again (later ids may follow: this vigild's own signals change verdicts too) */
	char *alerts = vg_live_read(l.alerts);
	for (const char *q = alerts; q && (q = strstr(q, "\"change_id\":")); q += 12)
		if (atol(q + 12) <= last) {
			free(alerts);
			FAIL_OUT("a change applied before the restart was replayed");
		}
	free(alerts);

	/* 6. the service goes away and comes back on the same port: the long-poll reconnects (with backoff) and goes on */
	kill(cloud, SIGTERM);
	waitpid(cloud, NULL, 0);
	cloud = 0;
	usleep(1500 * 1000); /* long enough for the poll to notice and back off at least once */
	char listen[64];
	int port2 = 0;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	if (vg_test_cloud_spawn_at(conf, db, listen, &cloud, &port2) || port2 != port)
		FAIL_OUT("vigil-cloud did not start again on its port");
	if (other_signal(port, auth_c, "e2e-poll-c", sha2, 0, out) != 200) /* block stands: no change, but the link must work */
		FAIL_OUT("the service did not take a signal after its restart");
	/* a change the service makes now: a new file, blocked at its first signal */
	snprintf(cmd, sizeof(cmd), "head -c 32 /dev/urandom | sha256sum");
	char *rnd = NULL;
	vg_test_run(cmd, &rnd);
	char sha4[65] = "";
	if (rnd && strlen(rnd) >= 64)
		memcpy(sha4, rnd, 64);
	free(rnd);
	if (!sha4[0] || other_signal(port, auth_b, "e2e-poll-b", sha4, 1, out) != 200)
		FAIL_OUT("the service did not take a new file's signal after its restart");
	snprintf(ids, sizeof(ids), "/v1/verdicts?since=%ld&timeout=0", head);
	if (http(port, ids, auth_c, NULL, out) != 200)
		FAIL_OUT("GET /v1/verdicts failed after restart");
	long head2 = 0;
	for (const char *q = out; (q = strstr(q, "\"id\":")); q += 5)
		head2 = atol(q + 5);
	got = 0;
	for (int i = 0; i < 600 && got < head2; i++) {
		free(st);
		st = status_of(l.sock);
		const char *li = strstr(st, "\"last_id\":");
		got = li ? atol(li + 10) : 0;
		if (got < head2)
			usleep(100 * 1000);
	}
	if (got < head2 || !strstr(st, "\"verdict_poll\":{\"connected\":true") || strstr(st, "\"reconnects\":0,")) {
		fprintf(stderr, "    head %ld\n    status: %.3000s\n", head2, st);
		FAIL_OUT("the long-poll did not reconnect after the service came back");
	}
out:
	if (*vg_test_failed && l.dir[0]) {
		char *a = vg_live_read(l.alerts), *g = vg_live_read(l.log);
		fprintf(stderr, "    vigild log: %.3000s\n    verdict lines:\n", g ? g : "");
		for (const char *q = a; q && (q = strstr(q, "{\"kind\":\"verdict\"")); q++)
			fprintf(stderr, "    %.600s\n", q);
		free(a);
		free(g);
	}
	free(st);
	end_prog(p1);
	end_prog(p2);
	end_prog(p3);
	vg_live_cleanup(&l);
	if (cloud > 0) {
		kill(cloud, SIGTERM);
		waitpid(cloud, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
	}
}
