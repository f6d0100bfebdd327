/* test_cloud_client.c - vigild talking to the real vigil-cloud: a replayed recording that fires a cloud: true rule becomes a signal and a recorded verdict; with the service stopped the signal waits on disk and arrives after both restart. */
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "cloud_server.h"

#define SAMPLE_DIR VIGIL_SOURCE_DIR "/tests/data/rules/network_payload_lnx_vigil_stratum_login"
#define SAMPLE SAMPLE_DIR "/4bf75ef1-8638-4054-9c3d-c8f5a702daff.json"
#define STRATUM_RULE "4bf75ef1-8638-4054-9c3d-c8f5a702daff" /* vigil: {cloud: true}, critical */
#define SAMPLE_SHA "c5fd0c50b99166e700c0d08091cec8b0c5ed9c00c79da1204f4e0cf165319801"
#define OTHER_SHA "d00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeed"
#define TOKEN "e2e-client-token"

struct server {
	pid_t pid;
	int port;
};

/* build/vigil-cloud on a free loopback port with a SQLite file (kept across restarts); the port comes from its first line. */
static int server_start(struct server *s, const char *dir)
{
	char conf[256], db[256];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/cloud.conf", dir);
	snprintf(db, sizeof(db), "%s/cloud.db", dir);
	if (!(f = fopen(conf, "w")))
		return -1;
	fprintf(f, "enroll_token " TOKEN "\nthreads 2\ngroup_commit_ms 0\n");
	fclose(f);
	return vg_test_cloud_spawn(conf, db, &s->pid, &s->port);
}

static void server_stop(struct server *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
}

/* One request to the service; returns the status, body in out (4096 bytes). */
static long http(const struct server *s, const char *path, const char *auth, const char *body, char *out)
{
	return vg_test_http(s->port, path, auth, body, out, 4096);
}

/* A reader's credential, to look files up. */
static int reader_auth(const struct server *s, char *auth, size_t len)
{
	return vg_test_enroll(s->port, TOKEN, "e2e-reader", auth, len);
}

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *slurp(const char *path)
{
	char *out = NULL, cmd[300];
	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	vg_test_run(cmd, &out);
	return out ? out : calloc(1, 1);
}

static int write_conf(const char *dir, int port)
{
	char path[200], text[1024];
	snprintf(path, sizeof(path), "%s/vigild.conf", dir);
	snprintf(text, sizeof(text),
		 "alert_log %s/alerts.jsonl\nsocket %s/s.sock\nstate_dir %s/state\npolicy %s/none.yml\n"
		 "cloud_url http://127.0.0.1:%d/\ncloud_token " TOKEN "\nlog_level info\n",
		 dir, dir, dir, dir, port);
	return put(path, text);
}

static int run_vigild(const char *dir, const char *events, char **out)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "%s/vigild -c %s/vigild.conf --replay %s 2>&1", vg_test_build_dir(), dir, events);
	return vg_test_run(cmd, out);
}

/* The line of text that contains all of a, b (and c when not NULL), or NULL. */
static const char *line_with(const char *text, const char *a, const char *b, const char *c)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *l = strndup(p, n);
		int ok = l && strstr(l, a) && strstr(l, b) && (!c || strstr(l, c));
		free(l);
		if (ok)
			return p;
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

TEST(cloud_client_signal_verdict_offline_queue)
{
	if (geteuid() != 0) {
		fprintf(stderr, "    SKIPPED: vigild needs root\n");
		return;
	}
	char dir[] = "/tmp/vg-e2e-cc-XXXXXX", path[200], out[4096], auth[128], *log = NULL, *alerts = NULL;
	struct server s;
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(server_start(&s, dir), 0);
	ASSERT_EQ(write_conf(dir, s.port), 0);

	/* 1. online: the cloud rule's alert says the signal was queued; the verdict is recorded and acted on (audit: replay) */
	int st = run_vigild(dir, SAMPLE, &log);
	if (st != 0)
		fprintf(stderr, "    vigild: %d: %s\n", st, log);
	ASSERT_EQ(st, 0);
	free(log);
	snprintf(path, sizeof(path), "%s/alerts.jsonl", dir);
	alerts = slurp(path);
	int alert_ok = line_with(alerts, "\"vigil\":\"alert/1\"", STRATUM_RULE,
				 "\"cloud\":{\"signal\":\"queued\",\"sha256\":\"" SAMPLE_SHA "\"}") != NULL;
	const char *v = line_with(alerts, "\"kind\":\"verdict\"", "\"rule_id\":\"" STRATUM_RULE "\"", "\"verdict\":\"block\"");
	int verdict_ok = v && line_with(v, "\"kind\":\"verdict\"", "\"why\":\"cloud verdict block: ", "\"action\":\"kill\"");
	if (!alert_ok || !verdict_ok)
		fprintf(stderr, "    alerts: %s\n", alerts);
	free(alerts);
	ASSERT_TRUE(alert_ok);
	ASSERT_TRUE(verdict_ok);
	/* the service has the file, reported by one endpoint */
	ASSERT_EQ(reader_auth(&s, auth, sizeof(auth)), 0);
	ASSERT_EQ(http(&s, "/v1/files/" SAMPLE_SHA, auth, NULL, out), 200);
	ASSERT_TRUE(strstr(out, "\"prevalence\":1") != NULL);
	ASSERT_TRUE(strstr(out, "\"verdict\":\"block\"") != NULL);
	/* the credential is kept, private */
	struct stat cs;
	snprintf(path, sizeof(path), "%s/state/cloud-credential", dir);
	ASSERT_EQ(stat(path, &cs), 0);
	ASSERT_EQ(cs.st_mode & 0777, 0600);

	/* 2. offline: the same behavior by another file; the signal waits on disk, local alerts go on */
	server_stop(&s);
	char *sample = slurp(SAMPLE), *p;
	while ((p = strstr(sample, SAMPLE_SHA)))
		memcpy(p, OTHER_SHA, 64);
	snprintf(path, sizeof(path), "%s/other.jsonl", dir);
	ASSERT_EQ(put(path, sample), 0);
	free(sample);
	st = run_vigild(dir, path, &log);
	int offline_logged = log && strstr(log, "stay queued for the next start");
	if (st != 0 || !offline_logged)
		fprintf(stderr, "    vigild: %d: %s\n", st, log);
	free(log);
	ASSERT_EQ(st, 0);
	ASSERT_TRUE(offline_logged);
	snprintf(path, sizeof(path), "%s/state/cloud-queue", dir);
	char *queue = slurp(path);
	int queued = strstr(queue, "\"sha256\":\"" OTHER_SHA "\"") && strstr(queue, STRATUM_RULE);
	free(queue);
	ASSERT_TRUE(queued);
	snprintf(path, sizeof(path), "%s/alerts.jsonl", dir);
	alerts = slurp(path);
	int alerted = line_with(alerts, "\"vigil\":\"alert/1\"", STRATUM_RULE, OTHER_SHA) != NULL;
	int no_verdict = line_with(alerts, "\"kind\":\"verdict\"", OTHER_SHA, NULL) == NULL;
	free(alerts);
	ASSERT_TRUE(alerted);
	ASSERT_TRUE(no_verdict);

	/* 3. both restart (the service on another port, same database): the queued signal arrives */
	ASSERT_EQ(server_start(&s, dir), 0);
	ASSERT_EQ(write_conf(dir, s.port), 0);
	snprintf(path, sizeof(path), "%s/none.jsonl", dir);
	ASSERT_EQ(put(path, ""), 0);
	st = run_vigild(dir, path, &log);
	int restarted = log && strstr(log, "signals queued from an earlier run");
	if (st != 0 || !restarted)
		fprintf(stderr, "    vigild: %d: %s\n", st, log);
	free(log);
	ASSERT_EQ(st, 0);
	ASSERT_TRUE(restarted);
	ASSERT_EQ(http(&s, "/v1/files/" OTHER_SHA, auth, NULL, out), 200);
	ASSERT_TRUE(strstr(out, "\"sha256\":\"" OTHER_SHA "\"") != NULL);
	snprintf(path, sizeof(path), "%s/alerts.jsonl", dir);
	alerts = slurp(path);
	int recorded = line_with(alerts, "\"kind\":\"verdict\"", OTHER_SHA, "no longer known") != NULL;
	free(alerts);
	snprintf(path, sizeof(path), "%s/state/cloud-queue", dir);
	ASSERT_EQ(stat(path, &cs), 0);
	server_stop(&s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0);
	ASSERT_TRUE(recorded);
	ASSERT_EQ(cs.st_size, 0); /* delivered: the queue file started over */
}
