/* up.c - `vigil up`: vigil-cloud and vigild on this machine, wired together, in the foreground; replays the bundled Windows scenario and runs the Linux simulator once, and prints the service's alerts as they come (docs/cli.md, "vigil up"). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vigil/buf.h"
#include "vigil/cloud_client.h"
#include "vigil/json.h"

#define SCENARIO VIGIL_SOURCE_DIR "/tests/data/dofoil/scenario.json"
#define SCENARIO_ENDPOINT "dofoil-scenario" /* the Windows replay's own endpoint in the service */
#define SHIP_MAX (1u << 20)                 /* event-log bytes per POST /v1/events */
#define EVENT_LOG_ROTATE (64ull << 20)      /* the event log is emptied once shipped past this size */
#define SETTLE_S 3                          /* after the simulator: time for vigild to drain its ring buffer */

static const char usage[] =
	"usage: vigil up [--port N] [--state DIR] [--mode audit|protect] [--no-demo] [--duration S]\n"
	"\n"
	"Starts vigil-cloud (SQLite in DIR) on 127.0.0.1:N and vigild on this machine\n"
	"enrolled to it, replays the bundled Windows Dofoil scenario into the service,\n"
	"runs the Linux attack simulator once (harmless, in its own namespaces), and\n"
	"prints the service's alerts as they come, until Ctrl-C. Needs root.\n"
	"\n"
	"  --port N          the service's loopback port (default 8443; 0 = any free port)\n"
	"  --state DIR       database, configuration, logs (default /var/lib/vigil/up)\n"
	"  --mode MODE       vigild's mode: audit (default: alerts only, touches nothing)\n"
	"                    or protect (the response policy acts: kills, quarantines)\n"
	"  --no-demo         no scenario replay, no simulator\n"
	"  --duration S      stop by itself S seconds after the start-up demo is done\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 after a clean stop, 2 when something could not be started.\n";

static volatile sig_atomic_t got_stop;

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

struct up {
	char state[PATH_MAX];
	char bindir[PATH_MAX];
	char url[128];
	char token[64];
	char agent_cred[160];    /* vigild's endpoint: ships its event log */
	char scenario_cred[160]; /* the Windows replay's endpoint; also reads alerts */
	char endpoint[129];
	pid_t cloud, vigild, sim;
	int port;
	const char *mode;
	/* event log shipping */
	int evfd;
	uint64_t ev_off;
	struct vg_buf pending; /* bytes read, not yet a whole line */
	uint64_t shipped_events, ship_errors;
	/* alerts */
	int64_t alert_since;
	uint64_t alerts, alerts_linux, alerts_windows;
	CURL *curl;
	struct vg_buf resp;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void path_in(const struct up *u, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", u->state, name);
}

/* mkdir -p, mode for every created folder. 0 or -errno. */
static int make_dirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	fchmod(fd, mode);
	size_t len = strlen(text);
	int ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -EIO;
}

/* ---- HTTP (libcurl, one handle) ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct vg_buf *b = ctx;
	vg_buf_put(b, p, sz * n);
	return b->oom ? 0 : sz * n;
}

/* GET (body NULL) or POST; returns the status, 0 when no answer; the answer is in u->resp (NUL-terminated). */
static long http(struct up *u, const char *path, const char *bearer, const char *body, size_t len)
{
	char url[512], auth[256];
	struct curl_slist *hl = NULL;
	long st = 0;

	vg_buf_reset(&u->resp);
	snprintf(url, sizeof(url), "%s%s", u->url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
	hl = curl_slist_append(hl, auth);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(u->curl, CURLOPT_URL, url);
	curl_easy_setopt(u->curl, CURLOPT_HTTPHEADER, hl);
	if (body) {
		curl_easy_setopt(u->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(u->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(u->curl, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(u->curl) == CURLE_OK)
		curl_easy_getinfo(u->curl, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(hl);
	vg_buf_put(&u->resp, "", 1);
	u->resp.len--;
	return st;
}

static const char *leaf_value(const struct vg_json_doc *d, const char *path)
{
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (strcmp(d->leaves[i].path, path) == 0)
			return d->leaves[i].value;
	return NULL;
}

/* POST /v1/enroll for endpoint id; the credential into out. 0 or -1 (reported). */
static int enroll(struct up *u, const char *id, char *out, size_t n)
{
	char body[256];
	struct vg_json_doc d;
	const char *cr;

	snprintf(body, sizeof(body), "{\"endpoint_id\":\"%s\",\"hostname\":\"%s\",\"address\":\"127.0.0.1\"}", id, id);
	long st = http(u, "/v1/enroll", u->token, body, strlen(body));
	vg_json_doc_init(&d);
	if (st != 200 || vg_json_flatten(&d, u->resp.p, u->resp.len, NULL) || !(cr = leaf_value(&d, "credential"))) {
		fprintf(stderr, "vigil up: enrolling %s: HTTP %ld: %.200s\n", id, st, u->resp.p ? u->resp.p : "");
		vg_json_doc_free(&d);
		return -1;
	}
	snprintf(out, n, "%s", cr);
	vg_json_doc_free(&d);
	return 0;
}

/* ---- children ---- */

/* Starts argv with stdout to out_fd (or out_path) and stderr to err_path; it dies with us (PDEATHSIG). */
static pid_t spawn(char *const argv[], int out_fd, const char *out_path, const char *err_path)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	setpgid(0, 0); /* Ctrl-C in the terminal reaches us only: we stop the children in order */
	int e = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (e >= 0)
		dup2(e, 2);
	if (out_fd >= 0) {
		dup2(out_fd, 1);
	} else {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (o >= 0)
			dup2(o, 1);
	}
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul >= 0)
		dup2(nul, 0);
	execv(argv[0], argv);
	fprintf(stderr, "vigil up: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* SIGTERM, then up to wait_ms for it to end, then SIGKILL; reaps it. */
static void stop_child(pid_t *pid, const char *name, int wait_ms)
{
	int st;
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < wait_ms / 50; i++) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
				fprintf(stderr, "vigil up: %s exited with status %d (its log is in the state folder)\n", name,
					WEXITSTATUS(st));
			return;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "vigil up: %s did not stop in %d ms: killed\n", name, wait_ms);
	kill(*pid, SIGKILL);
	waitpid(*pid, &st, 0);
	*pid = 0;
}

/* 1 when pid has exited (reaped; *status set). */
static int exited(pid_t *pid, int *status)
{
	if (*pid <= 0)
		return 1;
	if (waitpid(*pid, status, WNOHANG) == *pid) {
		*pid = 0;
		return 1;
	}
	return 0;
}

static int socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int start_cloud(struct up *u)
{
	char bin[PATH_MAX + 32], conf[PATH_MAX + 32], db[PATH_MAX + 32], log[PATH_MAX + 32], text[PATH_MAX * 2];
	char listen[64], line[256];
	int fds[2];

	snprintf(bin, sizeof(bin), "%s/vigil-cloud", u->bindir);
	path_in(u, "cloud.conf", conf, sizeof(conf));
	path_in(u, "cloud.db", db, sizeof(db));
	path_in(u, "vigil-cloud.log", log, sizeof(log));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", u->port);
	snprintf(text, sizeof(text),
		 "# written by vigil up at each start (a new enroll token each time)\n"
		 "listen %s\ndb %s\nenroll_token %s\nthreads 2\nlongpoll_max 60\n",
		 listen, db, u->token);
	if (write_file(conf, text, 0600)) {
		fprintf(stderr, "vigil up: cannot write %s: %s\n", conf, strerror(errno));
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	char *argv[] = { bin, "-c", conf, (char *)0 };
	u->cloud = spawn(argv, fds[1], NULL, log);
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	u->port = 0;
	if (f && fgets(line, sizeof(line), f)) { /* "vigil-cloud: listening on ADDR:PORT" */
		const char *c = strrchr(line, ':');
		if (strstr(line, "listening on") && c)
			u->port = atoi(c + 1);
	}
	if (f)
		fclose(f);
	if (!u->port) {
		fprintf(stderr, "vigil up: vigil-cloud did not start (see %s)\n", log);
		return -1;
	}
	snprintf(u->url, sizeof(u->url), "http://127.0.0.1:%d", u->port);
	return 0;
}

static int start_vigild(struct up *u)
{
	char bin[PATH_MAX + 32], conf[PATH_MAX + 32], log[PATH_MAX + 32], sock[PATH_MAX + 32], agent[PATH_MAX + 32];
	char cred[PATH_MAX + 64], text[PATH_MAX * 6], line[400];

	snprintf(bin, sizeof(bin), "%s/vigild", u->bindir);
	path_in(u, "vigild.conf", conf, sizeof(conf));
	path_in(u, "vigild.log", log, sizeof(log));
	path_in(u, "vigild.sock", sock, sizeof(sock));
	path_in(u, "agent", agent, sizeof(agent));
	if (make_dirs(agent, 0700))
		return -1;
	/* the credential vigild signals with: enrolled here, so this command can ship its event log under the same endpoint */
	snprintf(cred, sizeof(cred), "%s/cloud-credential", agent);
	snprintf(line, sizeof(line), "%s %s\n", u->endpoint, u->agent_cred);
	if (write_file(cred, line, 0600))
		return -1;
	snprintf(text, sizeof(text),
		 "# written by vigil up at each start\n"
		 "mode %s\nalert_log %s/alerts.jsonl\nevent_log %s/events.jsonl\nsocket %s\nstate_dir %s\n"
		 "cloud_url %s/\ncloud_token %s\nlog_level warn\n",
		 u->mode, u->state, u->state, sock, agent, u->url, u->token);
	if (write_file(conf, text, 0600))
		return -1;
	char events[PATH_MAX + 32];
	path_in(u, "events.jsonl", events, sizeof(events));
	if (truncate(events, 0) && errno != ENOENT)
		return -1;
	char *argv[] = { bin, "--config", conf, "--foreground", (char *)0 };
	u->vigild = spawn(argv, -1, log, log);
	/* up when its status socket answers: the sensor is attached and /proc seeded by then */
	for (int i = 0; i < 1200 && !got_stop; i++) {
		int st;
		if (exited(&u->vigild, &st)) {
			fprintf(stderr, "vigil up: vigild stopped at start (see %s)\n", log);
			return -1;
		}
		if (socket_answers(sock))
			return 0;
		usleep(50 * 1000);
	}
	fprintf(stderr, "vigil up: vigild did not come up (see %s)\n", log);
	return -1;
}

/* ---- the event log, shipped to POST /v1/events ---- */

static void ship_events(struct up *u)
{
	char path[PATH_MAX + 32], buf[65536];

	if (u->evfd < 0) {
		path_in(u, "events.jsonl", path, sizeof(path));
		if ((u->evfd = open(path, O_RDWR | O_CLOEXEC)) < 0)
			return; /* vigild has not written one yet */
	}
	for (;;) {
		ssize_t n = pread(u->evfd, buf, sizeof(buf), (off_t)u->ev_off);
		if (n <= 0)
			break;
		u->ev_off += (uint64_t)n;
		vg_buf_put(&u->pending, buf, (size_t)n);
		if (u->pending.len >= SHIP_MAX)
			break;
	}
	char *end = u->pending.len ? memrchr(u->pending.p, '\n', u->pending.len) : NULL;
	if (!end)
		return;
	size_t whole = (size_t)(end - u->pending.p) + 1;
	long st = http(u, "/v1/events", u->agent_cred, u->pending.p, whole);
	if (st == 200) {
		struct vg_json_doc d;
		vg_json_doc_init(&d);
		const char *acc = vg_json_flatten(&d, u->resp.p, u->resp.len, NULL) ? NULL : leaf_value(&d, "accepted");
		u->shipped_events += acc ? strtoull(acc, NULL, 10) : 0;
		vg_json_doc_free(&d);
	} else if (u->ship_errors++ == 0) {
		fprintf(stderr, "vigil up: POST /v1/events: HTTP %ld: %.200s (the next batches are tried anyway)\n", st,
			u->resp.p ? u->resp.p : "");
	}
	memmove(u->pending.p, u->pending.p + whole, u->pending.len - whole);
	u->pending.len -= whole;
	struct stat sb;
	if (!u->pending.len && u->ev_off >= EVENT_LOG_ROTATE && fstat(u->evfd, &sb) == 0 &&
	    (uint64_t)sb.st_size == u->ev_off && ftruncate(u->evfd, 0) == 0)
		u->ev_off = 0; /* vigild appends (O_APPEND): it goes on at the new end */
}

/* ---- alerts from the service ---- */

static void print_alerts(struct up *u)
{
	char path[128];
	struct vg_json_doc d;

	for (int page = 0; page < 20; page++) {
		snprintf(path, sizeof(path), "/v1/alerts?since=%lld&limit=1000", (long long)u->alert_since);
		if (http(u, path, u->scenario_cred, NULL, 0) != 200)
			return;
		vg_json_doc_init(&d);
		if (vg_json_flatten(&d, u->resp.p, u->resp.len, NULL)) {
			vg_json_doc_free(&d);
			return;
		}
		const char *host = "", *level = "", *title = "", *tech = NULL, *image = NULL, *ep = "";
		int n = 0, have = 0;
		/* each alert starts with its id; print the one before when the next begins */
		for (uint32_t i = 0; i <= d.nleaves; i++) {
			const struct vg_json_leaf *l = i < d.nleaves ? &d.leaves[i] : NULL;
			if ((!l || strcmp(l->path, "alerts.id") == 0) && have) {
				printf("alert  %-13s %-24s %s%s%s%s\n", level, host, title, tech ? " (" : "", tech ? tech : "",
				       tech ? ")" : "");
				if (image && *image)
					printf("       %s\n", image);
				u->alerts++;
				if (strcmp(ep, SCENARIO_ENDPOINT) == 0)
					u->alerts_windows++;
				else
					u->alerts_linux++;
				have = 0;
			}
			if (!l)
				break;
			if (strcmp(l->path, "alerts.id") == 0) {
				host = level = title = ep = "";
				tech = image = NULL;
				u->alert_since = strtoll(l->value, NULL, 10);
				have = 1;
				n++;
			} else if (strcmp(l->path, "alerts.host") == 0)
				host = l->value;
			else if (strcmp(l->path, "alerts.endpoint_id") == 0)
				ep = l->value;
			else if (strcmp(l->path, "alerts.rule.level") == 0)
				level = l->value;
			else if (strcmp(l->path, "alerts.rule.title") == 0)
				title = l->value;
			else if (strcmp(l->path, "alerts.rule.technique") == 0)
				tech = l->value;
			else if (!image && (strcmp(l->path, "alerts.event.process.image") == 0 ||
					    strcmp(l->path, "alerts.event.process.executable") == 0))
				image = l->value;
		}
		fflush(stdout);
		vg_json_doc_free(&d);
		if (n < 1000)
			return;
	}
}

/* Moves past the alerts stored by earlier runs (the database is kept in --state): only new ones are printed. */
static void skip_old_alerts(struct up *u)
{
	char path[128];
	struct vg_json_doc d;
	int64_t before = -1;

	vg_json_doc_init(&d);
	while (u->alert_since != before) {
		before = u->alert_since;
		snprintf(path, sizeof(path), "/v1/alerts?since=%lld&limit=1000", (long long)u->alert_since);
		const char *next;
		if (http(u, path, u->scenario_cred, NULL, 0) != 200 || vg_json_flatten(&d, u->resp.p, u->resp.len, NULL) ||
		    !(next = leaf_value(&d, "next")))
			break;
		u->alert_since = strtoll(next, NULL, 10);
	}
	vg_json_doc_free(&d);
	if (u->alert_since > 0)
		fprintf(stderr, "vigil up: alerts up to id %lld are from earlier runs (kept in %s/cloud.db, not shown)\n",
			(long long)u->alert_since, u->state);
}

/* ---- the demo ---- */

static void replay_scenario(struct up *u)
{
	FILE *f = fopen(SCENARIO, "rb");
	struct vg_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (!f) {
		fprintf(stderr, "vigil up: %s: %s (no Windows scenario replay)\n", SCENARIO, strerror(errno));
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		vg_buf_put(&b, chunk, n);
	fclose(f);
	long st = b.oom ? 0 : http(u, "/v1/events", u->scenario_cred, b.p, b.len);
	if (st == 200)
		fprintf(stderr, "vigil up: replayed the Windows Dofoil scenario (%s): %s\n", SCENARIO, u->resp.p);
	else
		fprintf(stderr, "vigil up: replaying %s: HTTP %ld: %.200s\n", SCENARIO, st, u->resp.p ? u->resp.p : "");
	vg_buf_free(&b);
}

static void start_sim(struct up *u)
{
	char bin[PATH_MAX + 64], out[PATH_MAX + 32], log[PATH_MAX + 32], seed[32];
	unsigned r = 1;

	snprintf(bin, sizeof(bin), "%s/tools/vigil_sim", u->bindir);
	if (access(bin, X_OK)) {
		fprintf(stderr, "vigil up: %s: %s (run 'make tools'; no Linux simulator run)\n", bin, strerror(errno));
		return;
	}
	if (strcmp(u->mode, "protect") == 0) {
		/*
		 * In protect mode the response acts on the simulator's chain; a program run from a
		 * user-writable build folder would itself be quarantined as dropped. Run a root-owned
		 * copy from the state folder instead, as a trojanized program installed by root would be.
		 */
		char copy[PATH_MAX + 48], cmd[3 * PATH_MAX + 64];
		snprintf(copy, sizeof(copy), "%s/bin", u->state);
		make_dirs(copy, 0700);
		snprintf(copy, sizeof(copy), "%s/bin/vigil_sim", u->state);
		snprintf(cmd, sizeof(cmd), "install -m 0755 '%s' '%s'", bin, copy);
		if (system(cmd) != 0) {
			fprintf(stderr, "vigil up: cannot install the simulator at %s: no Linux simulator run\n", copy);
			return;
		}
		snprintf(bin, sizeof(bin), "%s", copy);
	}
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)getpid();
	snprintf(seed, sizeof(seed), "%u", r % 1000000);
	path_in(u, "sim.jsonl", out, sizeof(out));
	path_in(u, "sim.log", log, sizeof(log));
	char *argv[] = { bin, "--seed", seed, "--max-seconds", "120", (char *)0 };
	u->sim = spawn(argv, -1, out, log);
	fprintf(stderr, "vigil up: running the Linux attack simulator (%s --seed %s, harmless, in its own namespaces; "
			"its steps in %s)\n",
		bin, seed, out);
}

int vg_cli_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, 0, 'p' }, { "state", required_argument, 0, 's' },
		{ "mode", required_argument, 0, 'm' }, { "no-demo", no_argument, 0, 'n' },
		{ "duration", required_argument, 0, 'd' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct up u = { .port = 8443, .mode = "audit", .evfd = -1 };
	const char *state = "/var/lib/vigil/up";
	long duration = -1;
	int demo = 1, c, rc = 2;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			u.port = (int)strtol(optarg, &end, 10);
			if (*end || u.port < 0 || u.port > 65535) {
				fprintf(stderr, "vigil up: --port '%s': expected 0-65535\n", optarg);
				return 2;
			}
			break;
		case 's': state = optarg; break;
		case 'm':
			if (strcmp(optarg, "audit") && strcmp(optarg, "protect")) {
				fprintf(stderr, "vigil up: --mode '%s': expected audit or protect\n", optarg);
				return 2;
			}
			u.mode = optarg;
			break;
		case 'n': demo = 0; break;
		case 'd':
			duration = strtol(optarg, &end, 10);
			if (*end || duration < 0) {
				fprintf(stderr, "vigil up: --duration '%s': expected seconds >= 0\n", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil up: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "vigil up: needs root (vigild loads eBPF programs); try: sudo %s up\n", argv[0]);
		return 2;
	}
	if (make_dirs(state, 0700) || !realpath(state, u.state)) {
		fprintf(stderr, "vigil up: --state %s: %s\n", state, strerror(errno));
		return 2;
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "vigil up: cannot find my own folder: %s\n", strerror(errno));
		return 2;
	}
	self[sl] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(u.bindir, sizeof(u.bindir), "%s", self);
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return 2;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(u.token + 2 * i, 3, "%02x", raw[i]);
	vg_cloud_endpoint_id(u.endpoint, sizeof(u.endpoint));

	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(u.curl = curl_easy_init()))
		return 2;
	curl_easy_setopt(u.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(u.curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(u.curl, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(u.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(u.curl, CURLOPT_WRITEDATA, &u.resp);

	if (start_cloud(&u) || enroll(&u, u.endpoint, u.agent_cred, sizeof(u.agent_cred)) ||
	    enroll(&u, SCENARIO_ENDPOINT, u.scenario_cred, sizeof(u.scenario_cred)))
		goto out;
	skip_old_alerts(&u);
	printf("vigil-cloud: %s  (state %s; enroll token in %s/cloud.conf)\n", u.url, u.state, u.state);
	fflush(stdout);
	if (start_vigild(&u))
		goto out;
	printf("vigild: pid %d, %s mode, endpoint %s; alerts in %s/alerts.jsonl, `vigil status --socket %s/vigild.sock`\n",
	       (int)u.vigild, u.mode, u.endpoint, u.state, u.state);
	fflush(stdout);
	if (strcmp(u.mode, "protect") == 0)
		fprintf(stderr, "vigil up: protect mode: the response policy acts on this machine's processes\n");

	int64_t demo_done = 0, sim_end = 0;
	if (demo) {
		replay_scenario(&u);
		start_sim(&u);
		if (u.sim <= 0)
			sim_end = mono_ms();
	} else {
		demo_done = mono_ms();
	}
	rc = 0;
	while (!got_stop) {
		int st;
		ship_events(&u);
		print_alerts(&u);
		if (u.vigild > 0 && exited(&u.vigild, &st)) {
			fprintf(stderr, "vigil up: vigild stopped (status %d; see %s/vigild.log)\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), u.state);
			rc = 2;
			break;
		}
		if (u.cloud > 0 && exited(&u.cloud, &st)) {
			fprintf(stderr, "vigil up: vigil-cloud stopped (see %s/vigil-cloud.log)\n", u.state);
			rc = 2;
			break;
		}
		if (u.sim > 0 && exited(&u.sim, &st)) {
			fprintf(stderr, "vigil up: the simulator finished (status %d)\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			sim_end = mono_ms();
		}
		if (!demo_done && sim_end && mono_ms() - sim_end >= SETTLE_S * 1000) {
			ship_events(&u); /* what vigild wrote after the simulator, up to now */
			print_alerts(&u);
			demo_done = mono_ms();
			fprintf(stderr, "vigil up: demo done: %llu alerts (%llu from the Windows scenario, %llu from this machine); %s\n",
				(unsigned long long)u.alerts, (unsigned long long)u.alerts_windows,
				(unsigned long long)u.alerts_linux,
				duration < 0 ? "running until Ctrl-C" : "running for --duration");
		}
		if (demo_done && duration >= 0 && mono_ms() - demo_done >= duration * 1000)
			break;
		usleep(500 * 1000);
	}
out:
	stop_child(&u.sim, "vigil_sim", 5000);
	stop_child(&u.vigild, "vigild", 15000); /* it gives its signal queue up to 5 s */
	if (u.cloud > 0 && u.evfd >= 0) {
		ship_events(&u); /* vigild's last events */
		print_alerts(&u);
	}
	stop_child(&u.cloud, "vigil-cloud", 10000);
	fprintf(stderr, "vigil up: stopped: %llu alerts printed, %llu events shipped from this machine\n",
		(unsigned long long)u.alerts, (unsigned long long)u.shipped_events);
	if (u.evfd >= 0)
		close(u.evfd);
	vg_buf_free(&u.pending);
	vg_buf_free(&u.resp);
	curl_easy_cleanup(u.curl);
	return rc;
}
