/* test_response_vigild.c - the response layer inside vigild: a bad policy is reported as file:line by --check-config, and replayed Linux events raise alerts whose "actions" say what would be done to a real process (replay never acts). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test.h"
#include "vigil/response.h"

static int need_root(int *vg_test_failed)
{
	return vg_test_need_root(vg_test_failed, "vigild tests");
}

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(vigild_bad_policy_names_file_and_line)
{
	char dir[] = "/tmp/vg-e2e-pol-XXXXXX", conf[128], pol[128], text[512], cmd[512], *out = NULL;
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/vigild.conf", dir);
	snprintf(pol, sizeof(pol), "%s/policy.yml", dir);
	snprintf(text, sizeof(text), "policy %s\n", pol);
	ASSERT_EQ(put(conf, text), 0);
	ASSERT_EQ(put(pol, "# policy\ndefault: alert\nlevels:\n  high: obliterate\n"), 0);
	snprintf(cmd, sizeof(cmd), "%s/vigild --check-config -c %s 2>&1", vg_test_build_dir(), conf);
	int st = vg_test_run(cmd, &out);
	int ok = st == 1 && out && strstr(out, "policy.yml:4: levels: unknown action 'obliterate'");
	if (!ok)
		fprintf(stderr, "    status %d, output: %s\n", st, out);
	free(out);
	ASSERT_EQ(put(pol, "default: kill\n"), 0);
	st = vg_test_run(cmd, &out);
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0);
	ASSERT_TRUE(ok);
	ASSERT_EQ(st, 0);
}

TEST(vigild_replay_alert_carries_actions)
{
	if (!need_root(vg_test_failed))
		return;
	char dir[] = "/tmp/vg-e2e-resp-XXXXXX", path[160], text[2048], cmd[600], *out = NULL;
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	ASSERT_TRUE(c > 0);
	unsigned long long start = (unsigned long long)vg_proc_start_ticks((uint32_t)c);

	snprintf(path, sizeof(path), "%s/rule.yml", dir);
	ASSERT_EQ(put(path, "title: e2e evil start\nid: 40000000-0000-0000-0000-000000000001\n"
			   "logsource: {product: linux, category: process_creation}\n"
			   "detection: {sel: {Image|endswith: '/vg-e2e-evil'}, condition: sel}\n"
			   "level: high\nvigil: {action: kill}\n"),
		  0);
	snprintf(path, sizeof(path), "%s/vigild.conf", dir);
	snprintf(text, sizeof(text),
		 "rules %s/rule.yml\nalert_log %s/alerts.jsonl\nsocket %s/s.sock\nstate_dir %s/state\npolicy %s/none.yml\n",
		 dir, dir, dir, dir, dir);
	ASSERT_EQ(put(path, text), 0);
	time_t now = time(NULL);
	struct tm tm;
	char ts[40];
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
	snprintf(text, sizeof(text),
		 "{\"vigil\":\"event/1\",\"@timestamp\":\"%s\",\"event\":{\"type\":\"process_start\",\"source\":\"ebpf\","
		 "\"platform\":\"linux\"},\"host\":{\"name\":\"h\"},\"process\":{\"entity_id\":\"h:%d:%llu\",\"pid\":%d,"
		 "\"executable\":\"/tmp/vg-e2e-evil\"},\"raw\":{\"Image\":\"/tmp/vg-e2e-evil\",\"ProcessId\":\"%d\"}}\n",
		 ts, (int)c, start, (int)c, (int)c);
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	ASSERT_EQ(put(path, text), 0);
	snprintf(cmd, sizeof(cmd), "%s/vigild -c %s/vigild.conf --replay %s 2>&1", vg_test_build_dir(), dir, path);
	int st = vg_test_run(cmd, &out);
	if (st != 0)
		fprintf(stderr, "    vigild: status %d: %s\n", st, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "cat %s/alerts.jsonl", dir);
	vg_test_run(cmd, &out);
	char want[128];
	snprintf(want, sizeof(want), "{\"action\":\"kill\",\"pid\":%d,", (int)c);
	const char *a = out ? strstr(out, want) : NULL;
	int said = a && strstr(a, "\"result\":\"audit: would kill\"") && strstr(out, "\"mode\":\"audit\"") &&
		   strstr(out, "\"why\":\"vigil: section\"");
	int alive = kill(c, 0) == 0;
	if (!said)
		fprintf(stderr, "    alerts: %s\n", out ? out : "(none)");
	free(out);
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0);
	ASSERT_TRUE(said);
	ASSERT_TRUE(alive);
}
