/* bench_cloud.c - open-loop load on vigil-cloud's POST /v1/signals (N endpoints on keep-alive connections, >= 90% distinct file hashes): finds each server's maximum rate by a ramp, then runs at half of it, next to nginx answering a fixed JSON body as the HTTP ceiling; prints rates, end-to-end and server-side p50/p99/p999 and the ratios. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: bench_cloud [--rate N] [--seconds S] [--step-seconds S] [--runs N] [--conns N] [--threads N] [--server-threads N] [--db FILE|:memory:]\n"
	"                   [--build DIR] [--only cloud|nginx] [--max-p99-ms MS]\n"
	"\n"
	"Open-loop load on POST /v1/signals: request i is due at t0 + i/rate whatever the answers do, and\n"
	"its latency counts from that due time (queueing behind a busy connection counts). Every connection\n"
	"is its own enrolled endpoint; 95% of the file hashes are new, every 20th is one of 50 common files.\n"
	"\n"
	"Both servers run side by side: vigil-cloud, and nginx with bench/nginx-cloud.conf as the HTTP\n"
	"ceiling. Without --rate, a ramp per server of --step-seconds steps (x1.5 until a step fails, then\n"
	"4 bisections; the two ramps take turns step by step, so both meet the same machine) finds the\n"
	"maximum sustained rate; then --runs runs of --seconds at half that rate (alternating) give the\n"
	"latencies. A step "
	"holds when >= 99.5% of its requests were answered 2xx by the step's end + 0.25 s and its p99 is\n"
	"under --max-p99-ms (default 25); a step that misses is run once more before it fails (the machine\n"
	"may be shared). With --rate: the runs are at that rate.\n"
	"\n"
	"Prints per run: achieved rate, end-to-end p50/p99/p999/max, vigil-cloud's server-side service time\n"
	"(its Server-Timing answer header: request read to answer queued), server and generator CPU per\n"
	"request, cores used; at the end the ratios vigil-cloud/nginx.\n"
	"  --seconds S       length of the half-max (or --rate) run, default 10\n"
	"  --runs N          half-max (or --rate) runs, 1-9, default 3; the ratios use the median by p99\n"
	"  --step-seconds S  length of one ramp step, default 2\n"
	"  --conns N         endpoints = keep-alive connections, default 64\n"
	"  --threads N       generator threads sharing the connections and the schedule, default 2\n"
	"  --server-threads N  vigil-cloud's HTTP threads (its 'threads' setting), default 2\n"
	"  --db FILE         vigil-cloud's database (default: a file in a temporary folder)\n"
	"  --build DIR       where vigil-cloud is (default build, or $VIGIL_BUILD)\n"
	"  --only X          measure only cloud or only nginx\n";

struct opts {
	double rate, seconds, step_seconds, max_p99_ms;
	int conns, threads, server_threads, runs;
	const char *build, *db, *only;
};

struct result {
	double rate, achieved;
	double p50, p99, p999, max;       /* ms, end to end from the due time */
	double s50, s99, s999, smax;      /* ms, server-side (Server-Timing), 0 when absent */
	double server_us, gen_us, cores;  /* CPU per answered request; both processes' CPU over wall time */
	long total, ok, bad, dropped, distinct, timed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime+stime (seconds) of a process from /proc/PID/stat; *ppid its parent. */
static double cpu_one(const char *statpath, long *ppid)
{
	char buf[1024];
	FILE *f = fopen(statpath, "r");
	size_t n;
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	long pp = 0;
	if (!p || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3)
		return 0;
	if (ppid)
		*ppid = pp;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU of pid, plus its children's when with_children (nginx workers). */
static double cpu_of(pid_t pid, int with_children)
{
	char path[64];
	double t;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	t = cpu_one(path, NULL);
	if (!with_children)
		return t;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		long pp = 0;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		double c = cpu_one(path, &pp);
		if (pp == pid)
			t += c;
	}
	if (d)
		closedir(d);
	return t;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) && !getsockname(fd, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* One blocking request (setup only). Returns the status and the body in out (malloc'd). */
static int simple_request(int port, const char *req, char **out)
{
	int fd = dial(port), status = -1;
	char buf[8192];
	size_t n = 0;
	ssize_t r;
	*out = NULL;
	if (fd < 0)
		return -1;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	char *b = strstr(buf, "\r\n\r\n");
	*out = strdup(b ? b + 4 : "");
	return status;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * What endpoints report, in the proportions of a quiet fleet: mostly new
 * downloads and builds, some packaged programs, a few detections with the
 * project's Linux rule ids (medium to critical) and a web shell chain.
 */
static const struct variant {
	const char *dir, *behaviors, *rules, *chain, *package;
	double entropy;
	const char *elf;
} variants[] = {
	{ "/tmp/build-", "\"exec_from_tmp\"", "", "\"/usr/bin/make\"},{\"pid\":%ld,\"image\":\"/usr/bin/gcc\"", "null", 6.1,
	  "\"static\":false,\"stripped\":false" },
	{ "/home/user/Downloads/", "\"new_executable\"", "", "\"/usr/bin/bash\"},{\"pid\":%ld,\"image\":\"/usr/bin/firefox\"",
	  "null", 6.8, "\"static\":false,\"stripped\":true" },
	{ "/usr/lib/x86_64-linux-gnu/", "\"library_load\"", "", "\"/usr/lib/systemd/systemd\"},{\"pid\":%ld,\"image\":\"/usr/sbin/cron\"",
	  "\"libc6\"", 5.9, "\"static\":false,\"stripped\":true" },
	{ "/home/user/.local/bin/", "\"exec_from_home\"", "", "\"/usr/bin/bash\"},{\"pid\":%ld,\"image\":\"/usr/bin/python3\"",
	  "null", 6.3, "\"static\":false,\"stripped\":false" },
	{ "/dev/shm/", "\"memfd_exec\",\"chmod_exec\"", "\"4d1b7e68-2a9c-4f53-b0e7-3c5a8d2f6e19\"",
	  "\"/usr/sbin/sshd\"},{\"pid\":%ld,\"image\":\"/usr/bin/bash\"", "null", 7.6,
	  "\"static\":true,\"stripped\":true,\"packed\":true" },
	{ "/var/tmp/", "\"exec_from_tmp\"", "\"b8f2d4a6-1c7e-4a39-9d5b-e2f0a6c8b471\"",
	  "\"/usr/sbin/nginx\"},{\"pid\":%ld,\"image\":\"/usr/bin/dash\"", "null", 7.1, "\"static\":true,\"stripped\":true" },
	{ "/tmp/.x/", "\"process_vm_writev\"", "\"9a7c4e21-3b5d-4f8a-8c6e-2d1f0b9e7a43\"",
	  "\"/usr/bin/bash\"},{\"pid\":%ld,\"image\":\"/tmp/.x/loader\"", "null", 7.9,
	  "\"static\":true,\"stripped\":true,\"packed\":true" },
	{ "/opt/app/bin/", "\"new_executable\"", "", "\"/usr/lib/systemd/systemd\"},{\"pid\":%ld,\"image\":\"/usr/bin/java\"",
	  "null", 5.5, "\"static\":false,\"stripped\":false" },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

/* Request i; variants 4-6 (detections) are 3 in 64 of the traffic, the rest spread evenly. */
static int make_request(char *buf, size_t cap, long i, const char *auth, int *fresh)
{
	char sha[65], body[1200], chain[256];
	uint64_t seed = i % 20 == 0 ? 1000000007ULL + (uint64_t)(i / 20 % 50) : (uint64_t)i, h = mix(seed ^ 0x5bd1e995);
	unsigned r = (unsigned)(h % 64);
	static const int common[] = { 0, 1, 2, 3, 7 };
	const struct variant *v = &variants[r < 3 ? 4 + (int)r : common[r % 5]];
	*fresh = i % 20 != 0;
	for (int k = 0; k < 4; k++)
		snprintf(sha + 16 * k, 17, "%016llx", (unsigned long long)mix(seed * 4 + (uint64_t)k));
	snprintf(chain, sizeof(chain), v->chain, 1000 + (long)(h >> 40) % 30000);
	int bl = snprintf(body, sizeof(body),
			  "{\"behavior_ids\":[%s],\"rule_ids\":[%s],\"process_chain\":[{\"pid\":1,\"image\":%s}],"
			  "\"file\":{\"sha256\":\"%s\",\"size\":%ld,\"path\":\"%sf%ld\",\"name\":\"f%ld\","
			  "\"entropy\":%.2f,\"package\":%s,\"first_seen\":\"2026-12-07T10:00:00Z\","
			  "\"elf\":{\"type\":\"exec\",\"machine\":\"x86_64\",%s}}}",
			  v->behaviors, v->rules, chain, sha, 4096 + (long)(h % 4000000), v->dir, i, i,
			  fmin(7.99, v->entropy + (double)(h % 50) / 100.0), v->package, v->elf);
	return snprintf(buf, cap,
			"POST /v1/signals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			auth, bl, body);
}

struct conn {
	int fd;
	int busy;
	double due;        /* due time of the request in flight */
	const char *auth;  /* this endpoint's credential header */
	char rbuf[8192];
	size_t rlen;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A complete response at the start of c->rbuf? Returns its length, sets *status and *server_ms (-1 absent). */
static size_t response_len(struct conn *c, int *status, double *server_ms)
{
	char *h = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	if (!h)
		return 0;
	*h = 0; /* the header block as a string, for the searches */
	const char *cl = strcasestr(c->rbuf, "\r\nContent-Length:");
	const char *stm = strcasestr(c->rbuf, "\r\nServer-Timing: app;dur=");
	long blen = cl ? strtol(cl + 17, NULL, 10) : 0;
	size_t total = (size_t)(h + 4 - c->rbuf) + (size_t)blen;
	*server_ms = stm ? strtod(stm + 25, NULL) : -1;
	if (sscanf(c->rbuf, "HTTP/1.%*d %d", status) != 1)
		*status = -1;
	*h = '\r';
	return c->rlen < total ? 0 : total;
}

static void percentiles(double *v, long n, double *p50, double *p99, double *p999, double *max)
{
	*p50 = *p99 = *p999 = *max = 0;
	if (n <= 0)
		return;
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	*p50 = v[(size_t)(0.50 * (double)(n - 1))];
	*p99 = v[(size_t)(0.99 * (double)(n - 1))];
	*p999 = v[(size_t)(0.999 * (double)(n - 1))];
	*max = v[n - 1];
}

/* One generator thread: its connections, and every nthreads-th request of the schedule from first. */
struct worker {
	int port, conns, first, nthreads;
	char **auths;
	double rate, seconds, grace, t0;
	long seq, total;   /* requests first, first+nthreads, ... below total */
	double *lat, *slat;
	long done, timed, ok, bad, dropped, distinct;
	int failed;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int ep = epoll_create1(0);
	struct conn *cs = calloc((size_t)w->conns, sizeof(*cs));
	int *idle = calloc((size_t)w->conns, sizeof(int)), nidle = 0;
	long mine = w->total > w->first ? (w->total - w->first + w->nthreads - 1) / w->nthreads : 0, sent = 0;
	double interval = 1.0 / w->rate, end = w->t0 + w->seconds + w->grace;

	w->lat = calloc((size_t)mine + 1, sizeof(double));
	w->slat = calloc((size_t)mine + 1, sizeof(double));
	if (!cs || !idle || !w->lat || !w->slat || ep < 0) {
		w->failed = 1;
		return NULL;
	}
	for (int k = 0; k < w->conns; k++) {
		if ((cs[k].fd = dial(w->port)) < 0) {
			fprintf(stderr, "bench_cloud: cannot connect to port %d\n", w->port);
			w->failed = 1;
			return NULL;
		}
		cs[k].auth = w->auths[k];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)k };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[k].fd, &ev);
		idle[nidle++] = k;
	}
	while (w->done + w->dropped < mine) {
		double t = now_s();
		if (t >= end)
			break;
		/* requests due by now go out in order on idle connections; the rest wait for one */
		while (sent < mine && nidle && w->t0 + (double)(w->first + sent * w->nthreads) * interval <= t) {
			struct conn *c = &cs[idle[--nidle]];
			long i = w->first + sent * w->nthreads;
			char req[2048];
			int fresh, n = make_request(req, sizeof(req), w->seq + i, c->auth, &fresh);
			c->due = w->t0 + (double)i * interval;
			sent++;
			if (write(c->fd, req, (size_t)n) != n) {
				w->dropped++;
				continue;
			}
			w->distinct += fresh;
			c->busy = 1;
		}
		/* sleep until the next due time (at least 50 us: requests go out in small bursts) or an answer */
		double wait = sent < mine && nidle ? w->t0 + (double)(w->first + sent * w->nthreads) * interval - now_s()
						   : end - now_s();
		if (wait < 50e-6)
			wait = 50e-6;
		struct timespec ts = { .tv_sec = (time_t)wait, .tv_nsec = (long)((wait - floor(wait)) * 1e9) };
		struct epoll_event evs[128];
		int n = epoll_pwait2(ep, evs, 128, &ts, NULL);
		for (int e = 0; e < n; e++) {
			int k = (int)evs[e].data.u32;
			struct conn *c = &cs[k];
			ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);
			if (r <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				if (c->busy)
					w->dropped++;
				c->busy = 0;
				continue;
			}
			c->rlen += (size_t)r;
			int status;
			double sms;
			size_t len;
			while ((len = response_len(c, &status, &sms))) {
				memmove(c->rbuf, c->rbuf + len, c->rlen - len);
				c->rlen -= len;
				w->lat[w->done++] = (now_s() - c->due) * 1000.0;
				if (sms >= 0)
					w->slat[w->timed++] = sms;
				if (status >= 200 && status < 300)
					w->ok++;
				else
					w->bad++;
				c->busy = 0;
				idle[nidle++] = k;
			}
		}
	}
	for (int k = 0; k < w->conns; k++)
		if (cs[k].fd >= 0)
			close(cs[k].fd);
	close(ep);
	free(cs);
	free(idle);
	return NULL;
}

/*
 * One open-loop run at rate for seconds over conns connections shared by
 * nthreads generator threads, request numbers from *seq on. Answers are
 * awaited until the schedule's end + grace; the rest count as lost.
 */
static int run_load(int port, char **auths, double rate, double seconds, int conns, int nthreads, double grace,
		    long *seq, pid_t server, int server_children, struct result *res)
{
	struct worker ws[16];
	pthread_t th[16];
	long total = (long)(rate * seconds);

	memset(res, 0, sizeof(*res));
	res->rate = rate;
	res->total = total;
	if (nthreads > conns)
		nthreads = conns;
	double *lat = calloc((size_t)total + 1, sizeof(double)), *slat = calloc((size_t)total + 1, sizeof(double));
	if (!lat || !slat)
		return -1;
	double cpu_s0 = server > 0 ? cpu_of(server, server_children) : 0, cpu_g0 = self_cpu();
	double t0 = now_s() + 0.02; /* after every thread has connected */
	for (int t = 0, c0 = 0; t < nthreads; t++) {
		int n = conns / nthreads + (t < conns % nthreads);
		ws[t] = (struct worker){ .port = port, .conns = n, .first = t, .nthreads = nthreads, .auths = auths + c0,
					 .rate = rate, .seconds = seconds, .grace = grace, .t0 = t0, .seq = *seq,
					 .total = total };
		c0 += n;
		pthread_create(&th[t], NULL, worker_run, &ws[t]);
	}
	long done = 0;
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		struct worker *w = &ws[t];
		if (w->lat)
			memcpy(lat + done, w->lat, (size_t)w->done * sizeof(double));
		if (w->slat)
			memcpy(slat + res->timed, w->slat, (size_t)w->timed * sizeof(double));
		done += w->done;
		res->timed += w->timed;
		res->ok += w->ok;
		res->bad += w->bad;
		res->distinct += w->distinct;
		free(w->lat);
		free(w->slat);
		if (w->failed)
			return -1;
	}
	double wall = now_s() - t0;
	double cpu_s = server > 0 ? cpu_of(server, server_children) - cpu_s0 : 0, cpu_g = self_cpu() - cpu_g0;
	res->dropped = total - res->ok - res->bad;
	res->achieved = (double)res->ok / (wall > seconds ? wall : seconds);
	res->server_us = res->ok ? cpu_s * 1e6 / (double)res->ok : 0;
	res->gen_us = res->ok ? cpu_g * 1e6 / (double)res->ok : 0;
	res->cores = (cpu_s + cpu_g) / wall;
	percentiles(lat, done, &res->p50, &res->p99, &res->p999, &res->max);
	percentiles(slat, res->timed, &res->s50, &res->s99, &res->s999, &res->smax);
	*seq += total;
	free(lat);
	free(slat);
	return 0;
}

static pid_t start_cloud(const char *build, const char *dbarg, const char *dir, int threads, int *port)
{
	char bin[512], conf[600], db[600], line[256];
	int fds[2];
	snprintf(bin, sizeof(bin), "%s/vigil-cloud", build);
	snprintf(conf, sizeof(conf), "%s/cloud.conf", dir);
	snprintf(db, sizeof(db), "%s", dbarg ? dbarg : "");
	if (!dbarg)
		snprintf(db, sizeof(db), "%s/cloud.db", dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "enroll_token bench-token\nthreads %d\n", threads);
	fclose(f);
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "-c", conf, "-l", "127.0.0.1:0", "-d", db, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	*port = 0;
	if (f && fgets(line, sizeof(line), f) && strrchr(line, ':'))
		*port = atoi(strrchr(line, ':') + 1);
	if (f)
		fclose(f);
	return *port ? pid : -1;
}

static pid_t start_nginx(const char *dir, int port)
{
	char src[1024], conf[600], text[8192];
	snprintf(src, sizeof(src), "%s/bench/nginx-cloud.conf", VIGIL_SOURCE_DIR);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	FILE *in = fopen(src, "r"), *out = fopen(conf, "w");
	if (!in || !out)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, in);
	text[n] = 0;
	/* the template says PORT where the listen port goes */
	char *p = strstr(text, "127.0.0.1:PORT");
	if (!p)
		return -1;
	fwrite(text, 1, (size_t)(p - text), out);
	fprintf(out, "127.0.0.1:%d", port);
	fputs(p + 14, out);
	fclose(in);
	fclose(out);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("nginx", "nginx", "-p", dir, "-c", conf, "-g", "daemon off;", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) { /* until it accepts connections */
		int fd = dial(port);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		usleep(10000);
	}
	kill(pid, SIGTERM);
	return -1;
}

static void print_result(const char *name, const char *what, const struct result *r)
{
	printf("%-11s %-9s %7.0f/s  got %8.1f/s  ok %7ld  non-2xx %ld  lost %ld  e2e ms p50 %6.3f p99 %7.3f "
	       "p999 %7.3f max %7.3f",
	       name, what, r->rate, r->achieved, r->ok, r->bad, r->dropped, r->p50, r->p99, r->p999, r->max);
	if (r->timed)
		printf("  server ms p50 %.3f p99 %.3f p999 %.3f", r->s50, r->s99, r->s999);
	printf("  CPU us/req server %.1f gen %.1f  cores %.2f\n", r->server_us, r->gen_us, r->cores);
	fflush(stdout);
}

static int step_holds(const struct result *r, const struct opts *o)
{
	return r->ok >= (long)(0.995 * (double)r->total) && r->p99 <= o->max_p99_ms;
}

/*
 * One ramp step; a failed step is run once more before it counts (the
 * machine is shared: one stall of another job should not end the ramp).
 */
static int step(const char *name, int port, char **auths, const struct opts *o, long *seq, pid_t server,
		int children, double rate)
{
	struct result r;
	for (int attempt = 0; attempt < 2; attempt++) {
		run_load(port, auths, rate, o->step_seconds, o->conns, o->threads, 0.25, seq, server, children, &r);
		int ok = step_holds(&r, o);
		print_result(name, ok ? "step ok" : attempt ? "step FAIL" : "step miss", &r);
		usleep(500000); /* let a failed step's backlog drain */
		if (ok)
			return 1;
	}
	return 0;
}

/* A server under test and its ramp: x1.5 from 4000/s until a step fails, then 4 bisections. */
struct target {
	const char *name;
	int port, children, done, bisections;
	pid_t pid;
	double lo, hi, rate;       /* lo: highest rate that held so far */
	struct result r[9];        /* the half-max (or --rate) runs */
};

static void ramp_step(struct target *t, char **auths, const struct opts *o, long *seq)
{
	int ok = step(t->name, t->port, auths, o, seq, t->pid, t->children, t->rate);
	if (ok)
		t->lo = t->rate;
	else
		t->hi = t->rate;
	if (!t->bisections && ok && !t->hi) {
		t->rate *= 1.5;
		t->done = t->rate > 2e6;
		return;
	}
	if (++t->bisections > 4)
		t->done = 1;
	t->rate = (t->lo + t->hi) / 2;
}

/* o->runs runs per target, alternating between them so both meet the same machine; sorted by e2e p99. */
static void measure(struct target *ts, int n, char **auths, const struct opts *o, long *seq)
{
	for (int i = 0; i < o->runs; i++)
		for (int k = 0; k < n; k++) {
			struct target *t = &ts[k];
			run_load(t->port, auths, o->rate ? o->rate : t->lo / 2, o->seconds, o->conns, o->threads, 10, seq,
				 t->pid, t->children, &t->r[i]);
			print_result(t->name, o->rate ? "run" : "half max", &t->r[i]);
			usleep(300000);
		}
	for (int k = 0; k < n; k++) {
		struct result *rs = ts[k].r;
		for (int i = 1; i < o->runs; i++)
			for (int j = i; j > 0 && rs[j].p99 < rs[j - 1].p99; j--) {
				struct result tmp = rs[j];
				rs[j] = rs[j - 1];
				rs[j - 1] = tmp;
			}
		if (o->runs > 1)
			printf("%-11s median of %d runs by e2e p99: p50 %.3f p99 %.3f p999 %.3f ms\n", ts[k].name, o->runs,
			       rs[o->runs / 2].p50, rs[o->runs / 2].p99, rs[o->runs / 2].p999);
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .rate = 0, .seconds = 10, .step_seconds = 2, .max_p99_ms = 25, .conns = 64, .threads = 2, .server_threads = 2, .runs = 3,
			  .build = "build" };
	struct result rc = { 0 }, rn = { 0 };
	char dir[] = "/tmp/vigil-bench-cloud-XXXXXX", *body = NULL;
	double max_c = 0, max_n = 0;
	long seq = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!v) {
			fprintf(stderr, "bench_cloud: %s needs a value\n%s", argv[i], usage);
			return 2;
		}
		if (!strcmp(argv[i], "--rate"))
			o.rate = atof(v);
		else if (!strcmp(argv[i], "--seconds"))
			o.seconds = atof(v);
		else if (!strcmp(argv[i], "--step-seconds"))
			o.step_seconds = atof(v);
		else if (!strcmp(argv[i], "--runs"))
			o.runs = atoi(v);
		else if (!strcmp(argv[i], "--server-threads"))
			o.server_threads = atoi(v);
		else if (!strcmp(argv[i], "--threads"))
			o.threads = atoi(v);
		else if (!strcmp(argv[i], "--conns"))
			o.conns = atoi(v);
		else if (!strcmp(argv[i], "--db"))
			o.db = v;
		else if (!strcmp(argv[i], "--build"))
			o.build = v;
		else if (!strcmp(argv[i], "--only"))
			o.only = v;
		else if (!strcmp(argv[i], "--max-p99-ms"))
			o.max_p99_ms = atof(v);
		else {
			fprintf(stderr, "bench_cloud: unknown option %s\n%s", argv[i], usage);
			return 2;
		}
		i++;
	}
	if (getenv("VIGIL_BUILD"))
		o.build = getenv("VIGIL_BUILD");
	if (o.rate < 0 || o.seconds <= 0 || o.step_seconds <= 0 || o.conns <= 0 || o.conns > 4096 || o.threads < 1 || o.threads > 16 || o.server_threads < 1 || o.runs < 1 || o.runs > 9 || o.server_threads > 64 ||
	    (o.only && strcmp(o.only, "cloud") && strcmp(o.only, "nginx"))) {
		fputs(usage, stderr);
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("bench_cloud: mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL); /* the pacing sleeps are tens of microseconds */
	char **auths = calloc((size_t)o.conns, sizeof(char *));
	int want_cloud = !o.only || !strcmp(o.only, "cloud"), want_nginx = !o.only || !strcmp(o.only, "nginx");
	printf("bench_cloud: open loop, %d endpoints on keep-alive connections, 95%% new file hashes, %s\n", o.conns,
	       o.rate ? "fixed rate" : "ramp to the maximum, then half of it");
	struct target ts[2];
	int n = 0, ci = -1, ni = -1;
	if (want_cloud) {
		int cport = 0;
		pid_t cpid = start_cloud(o.build, o.db, dir, o.server_threads, &cport);
		if (cpid < 0) {
			fprintf(stderr, "bench_cloud: vigil-cloud did not start (build it: make)\n");
			return 1;
		}
		for (int k = 0; k < o.conns; k++) {
			char req[400];
			int bl = snprintf(NULL, 0, "{\"endpoint_id\":\"bench-ep%d\"}", k);
			snprintf(req, sizeof(req),
				 "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token\r\n"
				 "Content-Length: %d\r\nConnection: close\r\n\r\n{\"endpoint_id\":\"bench-ep%d\"}", bl, k);
			int st = simple_request(cport, req, &body);
			char *c = body ? strstr(body, "\"credential\":\"") : NULL;
			if (st != 200 || !c) {
				fprintf(stderr, "bench_cloud: enroll failed (%d)\n", st);
				kill(cpid, SIGTERM);
				return 1;
			}
			auths[k] = malloc(80);
			snprintf(auths[k], 80, "Bearer %.*s", 48, c + 14);
			free(body);
		}
		ci = n;
		ts[n++] = (struct target){ .name = "vigil-cloud", .port = cport, .pid = cpid, .rate = 4000 };
	}
	if (want_nginx) {
		int nport = free_port();
		pid_t npid = start_nginx(dir, nport);
		if (npid < 0) {
			fprintf(stderr, "bench_cloud: nginx did not start (apt-get install nginx); no ceiling measured\n");
			if (ci >= 0)
				kill(ts[ci].pid, SIGTERM);
			return 1;
		}
		for (int k = 0; k < o.conns; k++)
			if (!auths[k])
				auths[k] = strdup("Bearer 000000000000000000000000000000000000000000000000");
		ni = n;
		ts[n++] = (struct target){ .name = "nginx", .port = nport, .pid = npid, .children = 1, .rate = 4000 };
	}
	/* the ramps take turns, one step each, so both servers meet the same machine */
	for (int busy = !o.rate; busy;) {
		busy = 0;
		for (int k = 0; k < n; k++)
			if (!ts[k].done) {
				ramp_step(&ts[k], auths, &o, &seq);
				busy = 1;
			}
	}
	for (int k = 0; k < n && !o.rate; k++)
		printf("%s maximum sustained: %.0f/s\n", ts[k].name, ts[k].lo);
	measure(ts, n, auths, &o, &seq);
	if (ci >= 0)
		rc = ts[ci].r[o.runs / 2], max_c = ts[ci].lo;
	if (ni >= 0)
		rn = ts[ni].r[o.runs / 2], max_n = ts[ni].lo;
	if (ci >= 0)
		printf("vigil-cloud distinct hashes: %ld of %ld sent (%.1f%%)\n", rc.distinct, rc.total,
		       rc.total ? 100.0 * (double)rc.distinct / (double)rc.total : 0);
	for (int k = 0; k < n; k++) {
		int ws = 0;
		kill(ts[k].pid, SIGTERM);
		waitpid(ts[k].pid, &ws, 0);
		if (k == ci && (!WIFEXITED(ws) || WEXITSTATUS(ws)))
			fprintf(stderr, "bench_cloud: vigil-cloud did not stop cleanly (status %d)\n", ws);
	}
	if (want_cloud && want_nginx) {
		if (!o.rate)
			printf("ratio vigil-cloud/nginx: maximum rate %.3f (target >= 0.5)\n", max_n > 0 ? max_c / max_n : 0);
		printf("ratio vigil-cloud/nginx at %s: e2e p50 %.2fx p99 %.2fx p999 %.2fx, CPU per request %.2fx\n",
		       o.rate ? "the same rate" : "half of each one's maximum", rn.p50 > 0 ? rc.p50 / rn.p50 : 0,
		       rn.p99 > 0 ? rc.p99 / rn.p99 : 0, rn.p999 > 0 ? rc.p999 / rn.p999 : 0,
		       rn.server_us > 0 ? rc.server_us / rn.server_us : 0);
	}
	if (want_cloud && !o.rate)
		printf("vigil-cloud at half its maximum (%.0f/s): e2e p99 %.3f ms (target < 2 ms), server-side p99 %.3f ms\n",
		       max_c / 2, rc.p99, rc.s99);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_cloud: could not remove %s\n", dir);
	for (int k = 0; k < o.conns; k++)
		free(auths[k]);
	free(auths);
	return 0;
}
