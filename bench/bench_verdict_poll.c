/* bench_verdict_poll.c - how long a verdict change on vigil-cloud takes to reach vigild by the long-poll and be applied to the process running the file: another endpoint flips a never-seen program between clean and suspicious N times; from the service's answer to vigild's {"kind":"verdict","change_id":...} line (realtime clock, same machine); p50/p99/max. Root (vigild), audit mode. */
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "bench-poll-token"

static char dir[] = "/tmp/vigil-bench-poll.XXXXXX";
static pid_t cloud_pid, vigild_pid, prog_pid;
static int port;

static double real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	char *buf = ctx;
	size_t have = strlen(buf), k = sz * n;
	if (have + k < 4096) {
		memcpy(buf + have, p, k);
		buf[have + k] = 0;
	}
	return k;
}

static long post(const char *path, const char *auth, const char *body, char *out)
{
	char url[256];
	long st = 0;
	struct curl_slist *hl = curl_slist_append(NULL, auth);
	CURL *h = curl_easy_init();
	out[0] = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return st;
}

static void cleanup(void)
{
	char cmd[200];
	pid_t *ps[] = { &prog_pid, &vigild_pid, &cloud_pid };
	for (int i = 0; i < 3; i++)
		if (*ps[i] > 0) {
			kill(*ps[i], SIGTERM);
			waitpid(*ps[i], NULL, 0);
			*ps[i] = 0;
		}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The "time" (ms since the epoch) of the nth (from 0) change line about sha in vigild's alert log; 0 when not there yet. */
static double change_time(const char *alerts, const char *sha, int nth)
{
	char *text = NULL;
	size_t cap = 0;
	FILE *f = fopen(alerts, "r");
	double t = 0;
	while (f && getline(&text, &cap, f) > 0) {
		const char *tm;
		if (!strstr(text, sha) || !strstr(text, "\"change_id\":") || !(tm = strstr(text, "\"time\":\"")) || nth-- > 0)
			continue;
		struct tm g = { 0 };
		double frac = 0;
		const char *rest = strptime(tm + 8, "%Y-%m-%dT%H:%M:%S", &g);
		if (rest && *rest == '.')
			frac = strtod(rest, NULL);
		t = (double)timegm(&g) * 1e3 + frac * 1e3;
		break;
	}
	free(text);
	if (f)
		fclose(f);
	return t;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	char self[512], bindir[600], path[800], conf[700], line[1024], out[4096], auth[128], sha[65] = "", body[1600];
	double *lat;

	if (geteuid() != 0 || n < 1 || n > 1000) {
		fprintf(stderr, "usage: sudo bench_verdict_poll [N (1-1000, default 20)]\n");
		return 2;
	}
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return 2;
	self[sl] = 0;
	*strrchr(self, '/') = 0;
	snprintf(bindir, sizeof(bindir), "%s/..", self);
	if (!mkdtemp(dir) || chmod(dir, 0755))
		return 2;
	lat = calloc((size_t)n, sizeof(*lat));
	atexit(cleanup);

	/* the service */
	snprintf(conf, sizeof(conf), "%s/cloud.conf", dir);
	FILE *f = fopen(conf, "w");
	fprintf(f, "enroll_token " TOKEN "\nthreads 2\nlongpoll_max 60\ndb %s/cloud.db\nlisten 127.0.0.1:0\n", dir);
	fclose(f);
	int fds[2];
	if (pipe(fds))
		return 2;
	if ((cloud_pid = fork()) == 0) {
		dup2(fds[1], 1);
		snprintf(path, sizeof(path), "%s/vigil-cloud", bindir);
		execl(path, path, "-c", conf, (char *)0);
		_exit(127);
	}
	close(fds[1]);
	FILE *cf = fdopen(fds[0], "r");
	if (!fgets(line, sizeof(line), cf) || !strrchr(line, ':'))
		return 2;
	port = atoi(strrchr(line, ':') + 1);

	/* vigild, audit mode, on the service */
	snprintf(conf, sizeof(conf), "%s/vigild.conf", dir);
	f = fopen(conf, "w");
	fprintf(f, "mode audit\nalert_log %s/alerts.jsonl\nsocket %s/vigild.sock\nstate_dir %s/state\nlog_level warn\n"
		   "cloud_url http://127.0.0.1:%d/\ncloud_token " TOKEN "\n",
		dir, dir, dir, port);
	fclose(f);
	if ((vigild_pid = fork()) == 0) {
		snprintf(path, sizeof(path), "%s/vigild", bindir);
		execl(path, path, "--config", conf, "--foreground", (char *)0);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/vigild.sock", dir);
	for (int i = 0; i < 1200 && access(path, F_OK); i++)
		usleep(50 * 1000);

	/* a never-seen program, running throughout */
	char prog[100], cmd[1400], alerts[100];
	snprintf(prog, sizeof(prog), "%s/flipper", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/sleep %s && head -c 64 /dev/urandom >> %s && sha256sum %s", prog, prog, prog);
	FILE *p = popen(cmd, "r");
	if (!p || !fgets(line, sizeof(line), p))
		return 2;
	pclose(p);
	memcpy(sha, line, 64);
	if ((prog_pid = fork()) == 0) {
		execl(prog, prog, "3600", (char *)0);
		_exit(127);
	}
	snprintf(alerts, sizeof(alerts), "%s/alerts.jsonl", dir);
	/* vigild's own answer first, so the file is known and running */
	for (int i = 0; i < 1200; i++) {
		char *t = NULL;
		size_t c = 0;
		FILE *a = fopen(alerts, "r");
		int seen = 0;
		while (a && getline(&t, &c, a) > 0)
			seen |= strstr(t, sha) && strstr(t, "\"kind\":\"verdict\"");
		free(t);
		if (a)
			fclose(a);
		if (seen)
			break;
		usleep(50 * 1000);
	}
	if (post("/v1/enroll", "Authorization: Bearer " TOKEN, "{\"endpoint_id\":\"bench-flipper\"}", out) != 200)
		return 2;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %.48s", strstr(out, "\"credential\":\"") + 14);

	/* flip: packaged program (clean) / unpackaged in /tmp (suspicious); each answer names its change id */
	int got = 0, changes = 0;
	for (int i = 0; i < n; i++) {
		int clean = i % 2 == 0;
		snprintf(body, sizeof(body),
			 "{\"endpoint_id\":\"bench-flipper\",\"rule_ids\":[],\"behavior_ids\":[%s],"
			 "\"file\":{\"sha256\":\"%s\",\"path\":\"%s\",\"package\":%s}}",
			 clean ? "" : "\"vigil.new_user_writable_executable\"", sha, clean ? "/usr/bin/flipper" : "/tmp/flipper",
			 clean ? "\"coreutils\"" : "null");
		if (post("/v1/signals", auth, body, out) != 200)
			return 2;
		double sent = real_ms();
		double t = 0;
		for (int k = 0; k < 2000 && !(t = change_time(alerts, sha, changes)); k++)
			usleep(5 * 1000);
		if (t) {
			lat[got++] = t - sent;
			changes++;
		} else {
			fprintf(stderr, "bench_verdict_poll: flip %d (%s) did not reach vigild\n", i, clean ? "clean" : "suspicious");
		}
		usleep(200 * 1000);
	}
	qsort(lat, (size_t)got, sizeof(*lat), cmp);
	if (!got)
		return 1;
	printf("bench_verdict_poll: %d changes reached vigild of %d; service answer -> vigild applied: "
	       "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       got, n, lat[got / 2], lat[(got * 99) / 100 < got ? (got * 99) / 100 : got - 1], lat[got - 1]);
	return 0;
}
