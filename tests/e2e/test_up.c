/* test_up.c - `vigil up` for real: it prints the service URL, which answers /v1/health; the Windows scenario's chain and the Linux simulator's chain are printed and are in GET /v1/alerts; Ctrl-C (SIGINT) and --duration stop it with no vigild, vigil-cloud or vigil_sim of it left. */
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "agent_live.h"
#include "sim_driver.h"

#define WIN_CHAIN "Hollowed Process Tree Drops A Program, Makes It Start At Logon And Runs It"
#define LNX_CHAIN "Hollowed Child Drops A Program, Installs Persistence For It And Runs It"

#define FAIL_OUT(msg)                                                    \
	do {                                                             \
		fprintf(stderr, "    %s:%d: %s\n", __FILE__, __LINE__, msg); \
		*vg_test_failed = 1;                                     \
		goto out;                                                \
	} while (0)

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	char **buf = ctx;
	size_t have = *buf ? strlen(*buf) : 0, k = sz * n;
	char *nb = realloc(*buf, have + k + 1);
	if (!nb)
		return 0;
	memcpy(nb + have, p, k);
	nb[have + k] = 0;
	*buf = nb;
	return k;
}

/* GET or POST url; the body (malloc'd) in *out. Returns the HTTP status. */
static long http(const char *url, const char *auth, const char *body, char **out)
{
	long st = 0;
	struct curl_slist *hl = NULL;
	CURL *h = curl_easy_init();
	*out = NULL;
	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (auth)
		hl = curl_slist_append(hl, auth);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	if (!*out)
		*out = calloc(1, 1);
	return st;
}

static pid_t start_up(const char *dir, const char *const *extra)
{
	char bin[600], out[400], err[400];
	const char *argv[16];
	int k = 0;
	snprintf(bin, sizeof(bin), "%s/vigil", vg_live_build_dir());
	snprintf(out, sizeof(out), "%s/up.out", dir);
	snprintf(err, sizeof(err), "%s/up.err", dir);
	argv[k++] = bin;
	argv[k++] = "up";
	argv[k++] = "--port";
	argv[k++] = "0";
	argv[k++] = "--state";
	argv[k++] = dir;
	while (*extra && k < 15)
		argv[k++] = *extra++;
	argv[k] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits (a guard of about 5 minutes against a hang, not a speed limit) for needle in file; 1 when there. */
static int wait_for(const char *file, const char *needle, pid_t pid)
{
	for (int i = 0; i < 3000; i++) {
		char *t = vg_live_read(file);
		int ok = t && strstr(t, needle);
		free(t);
		if (ok)
			return 1;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(100 * 1000);
	}
	return 0;
}

/* Processes whose command line mentions text (vigild and vigil-cloud of this state folder). */
static int procs_mentioning(const char *text)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[300], buf[4096];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t m = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < m; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[m > 0 ? m : 0] = 0;
		if (m > 0 && strstr(buf, text) && !strstr(buf, "vigil up"))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* 1 when some line holding both a and b is followed by a line holding c (an alert and its process); the last such next line in out. */
static int alert_with_process(const char *text, const char *a, const char *b, const char *c, char *out, size_t len)
{
	out[0] = 0;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *l = strndup(p, n);
		int hit = l && strstr(l, a) && strstr(l, b);
		free(l);
		if (hit && nl) {
			const char *q = nl + 1, *nl2 = strchr(q, '\n');
			snprintf(out, len, "%.*s", (int)(nl2 ? nl2 - q : (long)strlen(q)), q);
			if (strstr(out, c))
				return 1;
		}
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

TEST(up_demo_alerts_and_clean_stop)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	char dir[600], path[700], url[128] = "", req[700], tok[64] = "", auth[128], img[512], mntns[64] = "";
	char *out = NULL, *body = NULL, *sim = NULL, *conf = NULL;
	pid_t up = 0;
	int st = -1;

	snprintf(dir, sizeof(dir), "%s/up.XXXXXX", vg_live_build_dir());
	if (!mkdtemp(dir))
		return;
	const char *const args[] = { "--duration", "3600", NULL }; /* the test stops it with SIGINT */
	up = start_up(dir, args);
	snprintf(path, sizeof(path), "%s/up.err", dir);
	if (!wait_for(path, "vigil up: demo done", up))
		FAIL_OUT("vigil up did not finish its demo");
	snprintf(path, sizeof(path), "%s/up.out", dir);
	out = vg_live_read(path);

	/* the URL is printed and answers */
	const char *u = out ? strstr(out, "vigil-cloud: http://127.0.0.1:") : NULL;
	if (!u)
		FAIL_OUT("no service URL printed");
	sscanf(u + 13, "%127s", url);
	snprintf(req, sizeof(req), "%s/v1/health", url);
	if (http(req, NULL, NULL, &body) != 200 || !strstr(body, "\"status\":\"ok\""))
		FAIL_OUT("the printed URL does not answer /v1/health");

	/* both chains printed: the Windows scenario's, and the simulator's with the miner this run started */
	snprintf(path, sizeof(path), "%s/sim.jsonl", dir);
	sim = vg_live_read(path);
	char miner[300] = "";
	const char *plan = sim ? strstr(sim, "{\"stage\":\"plan\"") : NULL;
	char planline[8192] = "";
	if (plan)
		snprintf(planline, sizeof(planline), "%.*s", (int)strcspn(plan, "\n"), plan);
	vg_sim_get(planline, "miner.path", miner, sizeof(miner));
	const char *ready = sim ? strstr(sim, "\"event\":\"ready\"") : NULL;
	if (ready) {
		const char *m = strstr(ready, "\"mntns\":\"");
		if (m)
			sscanf(m + 9, "%63[^\"]", mntns);
	}
	if (!miner[0])
		FAIL_OUT("the simulator's plan has no miner path");
	if (!alert_with_process(out, "DESKTOP-8RQ3LMV", WIN_CHAIN, "9F4A.tmp.exe", img, sizeof(img)))
		FAIL_OUT("the Windows scenario's chain is not printed");
	/* (other jobs on this machine may run the simulator too: this run's is the one with its miner) */
	if (!alert_with_process(out, "critical", LNX_CHAIN, miner, img, sizeof(img))) {
		fprintf(stderr, "    miner %s, printed: %s\n", miner, img);
		FAIL_OUT("the Linux simulator's chain is not printed with its miner");
	}

	/* ... and both are in GET /v1/alerts (a reader enrolled with the token vigil up generated) */
	snprintf(path, sizeof(path), "%s/cloud.conf", dir);
	conf = vg_live_read(path);
	const char *t = conf ? strstr(conf, "enroll_token ") : NULL;
	if (!t)
		FAIL_OUT("no enroll token in the service's configuration");
	sscanf(t + 13, "%63s", tok);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	snprintf(req, sizeof(req), "%s/v1/enroll", url);
	free(body);
	if (http(req, auth, "{\"endpoint_id\":\"e2e-up-reader\"}", &body) != 200 || !strstr(body, "\"credential\":\""))
		FAIL_OUT("cannot enroll a reader");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %.48s", strstr(body, "\"credential\":\"") + 14);
	int win = 0, lnx = 0;
	for (long since = 0;;) {
		snprintf(req, sizeof(req), "%s/v1/alerts?since=%ld&limit=1000", url, since);
		free(body);
		if (http(req, auth, NULL, &body) != 200)
			FAIL_OUT("GET /v1/alerts failed");
		win |= strstr(body, WIN_CHAIN) != NULL;
		for (const char *c = body; (c = strstr(c, LNX_CHAIN)); c++) { /* this run's chain: its miner in the same alert */
			const char *m = strstr(c, miner), *next = strstr(c, ",{\"id\":");
			lnx |= m && (!next || m < next);
		}
		const char *nx = strstr(body, "\"next\":");
		long next = nx ? atol(nx + 7) : since;
		if (next == since)
			break;
		since = next;
	}
	if (!win || !lnx)
		FAIL_OUT("a chain printed is missing from GET /v1/alerts");

	/* Ctrl-C: both stop, nothing of this run is left */
	kill(up, SIGINT);
	waitpid(up, &st, 0);
	up = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL_OUT("vigil up did not exit 0 on SIGINT");
	if (procs_mentioning(dir))
		FAIL_OUT("a vigild or vigil-cloud of this run is still running");
	if (mntns[0] && vg_sim_procs_in_ns(mntns))
		FAIL_OUT("a process of the simulator's namespace is still running");
	free(out);
	out = NULL;
	snprintf(path, sizeof(path), "%s/up.err", dir);
	out = vg_live_read(path);
	if (!out || !strstr(out, "vigil up: stopped:"))
		FAIL_OUT("vigil up did not say it stopped");

	/* --duration ends it by itself (no demo: the second start reuses the database) */
	const char *const args2[] = { "--no-demo", "--duration", "0", NULL };
	up = start_up(dir, args2);
	waitpid(up, &st, 0);
	up = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL_OUT("vigil up --duration 0 --no-demo did not exit 0");
	if (procs_mentioning(dir))
		FAIL_OUT("a vigild or vigil-cloud of the second run is still running");
out:
	if (*vg_test_failed) {
		snprintf(path, sizeof(path), "%s/up.err", dir);
		char *e = vg_live_read(path);
		fprintf(stderr, "    vigil up stderr: %.2000s\n", e ? e : "");
		free(e);
	}
	if (up > 0) {
		kill(up, SIGTERM);
		waitpid(up, NULL, 0);
	}
	free(out);
	free(body);
	free(sim);
	free(conf);
	snprintf(req, sizeof(req), "rm -rf '%s'", dir);
	if (system(req)) {
	}
}
