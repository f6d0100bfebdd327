/* bench_cloud.c - open-loop load on vigil-cloud's POST /v1/signals (constant rate, N keep-alive connections, >= 90% distinct file hashes) against nginx answering a fixed JSON body as the HTTP ceiling; prints rates, p50/p99/p999 and the ratios. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	double rate;     /* requests per second, scheduled at fixed intervals */
	double seconds;
	int conns;
	const char *build;
	const char *db;   /* vigil-cloud's database; NULL = a file in the run's temp folder */
};

struct result {
	double achieved;   /* completed 2xx per second of the run */
	double cpu_us;     /* server CPU (user+system) per completed request, microseconds */
	double p50, p99, p999, max; /* ms, measured from each request's scheduled time */
	long ok, bad, dropped;
	long distinct;     /* distinct hashes sent */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime+stime (seconds) of a process; with_children adds processes whose parent it is (nginx workers). */
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

/* One blocking request (setup only). Returns the body in out (malloc'd) and the status. */
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

/* Request i: 95% of hashes are new, every 20th repeats one of 50 common files. */
static int make_request(char *buf, size_t cap, long i, const char *auth, int *fresh)
{
	char sha[65], body[700];
	uint64_t seed = i % 20 == 0 ? 1000000007ULL + (uint64_t)(i / 20 % 50) : (uint64_t)i;
	*fresh = i % 20 != 0;
	for (int k = 0; k < 4; k++)
		snprintf(sha + 16 * k, 17, "%016llx", (unsigned long long)mix(seed * 4 + (uint64_t)k));
	int bl = snprintf(body, sizeof(body),
			  "{\"behavior_ids\":[\"exec_from_tmp\"],\"rule_ids\":[],\"process_chain\":[{\"pid\":1,"
			  "\"image\":\"/usr/lib/systemd/systemd\"},{\"pid\":%ld,\"image\":\"/usr/bin/bash\"}],"
			  "\"file\":{\"sha256\":\"%s\",\"size\":%ld,\"path\":\"/tmp/f%ld\",\"name\":\"f%ld\","
			  "\"entropy\":6.5,\"package\":null,\"elf\":{\"type\":\"exec\",\"static\":false,\"stripped\":true}}}",
			  1000 + i % 30000, sha, 4096 + i % 100000, i, i);
	return snprintf(buf, cap,
			"POST /v1/signals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			auth, bl, body);
}

struct conn {
	int fd;
	int busy;
	double sched;      /* scheduled send time of the request in flight */
	char rbuf[16384];
	size_t rlen;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Complete response in c->rbuf? Returns its length and sets *status, else 0. */
static size_t response_len(struct conn *c, int *status)
{
	c->rbuf[c->rlen < sizeof(c->rbuf) ? c->rlen : sizeof(c->rbuf) - 1] = 0;
	char *h = strstr(c->rbuf, "\r\n\r\n");
	if (!h)
		return 0;
	const char *cl = strcasestr(c->rbuf, "\r\nContent-Length:");
	long blen = cl && cl < h ? strtol(cl + 17, NULL, 10) : 0;
	size_t total = (size_t)(h + 4 - c->rbuf) + (size_t)blen;
	if (c->rlen < total)
		return 0;
	if (sscanf(c->rbuf, "HTTP/1.%*d %d", status) != 1)
		*status = -1;
	return total;
}

static int send_req(struct conn *c, long i, double sched, const char *auth, long *distinct)
{
	char req[1200];
	int fresh, n = make_request(req, sizeof(req), i, auth, &fresh);
	if (write(c->fd, req, (size_t)n) != n)
		return -1;
	*distinct += fresh;
	c->busy = 1;
	c->sched = sched;
	return 0;
}

static int run_load(int port, const char *auth, const struct opts *o, struct result *res)
{
	int ep = epoll_create1(0);
	struct conn *cs = calloc((size_t)o->conns, sizeof(*cs));
	long total = (long)(o->rate * o->seconds), sent = 0, done = 0;
	double *lat = calloc((size_t)total + 1, sizeof(double));
	double *pending = calloc((size_t)total + 1, sizeof(double)); /* scheduled times waiting for a free connection */
	long phead = 0, ptail = 0;
	long *pidx = calloc((size_t)total + 1, sizeof(long));
	double t0, interval = 1.0 / o->rate;

	memset(res, 0, sizeof(*res));
	if (!cs || !lat || !pending || !pidx || ep < 0)
		return -1;
	for (int k = 0; k < o->conns; k++) {
		if ((cs[k].fd = dial(port)) < 0) {
			fprintf(stderr, "bench_cloud: cannot connect to port %d\n", port);
			return -1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)k };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[k].fd, &ev);
	}
	t0 = now_s();
	long next = 0;
	double deadline = t0 + o->seconds + 10.0; /* drain at most 10 s after the schedule ends */
	while (done + res->dropped < total && now_s() < deadline) {
		double t = now_s();
		/* everything due by now joins the pending queue in schedule order */
		while (next < total && t0 + (double)next * interval <= t) {
			pending[ptail] = t0 + (double)next * interval;
			pidx[ptail++] = next++;
		}
		for (int k = 0; k < o->conns && phead < ptail; k++)
			if (!cs[k].busy && cs[k].fd >= 0) {
				if (send_req(&cs[k], pidx[phead], pending[phead], auth, &res->distinct))
					res->dropped++;
				phead++;
				sent++;
			}
		double wait_s = next < total ? t0 + (double)next * interval - now_s() : 0.05;
		int timeout = wait_s > 0.001 ? (int)(wait_s * 1000) : 0;
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, timeout);
		for (int e = 0; e < n; e++) {
			struct conn *c = &cs[evs[e].data.u32];
			ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				if (c->busy)
					res->dropped++;
				c->busy = 0;
				continue;
			}
			c->rlen += (size_t)r;
			int status;
			size_t len = response_len(c, &status);
			if (!len)
				continue;
			memmove(c->rbuf, c->rbuf + len, c->rlen - len);
			c->rlen -= len;
			lat[done++] = (now_s() - c->sched) * 1000.0;
			if (status >= 200 && status < 300)
				res->ok++;
			else
				res->bad++;
			c->busy = 0;
		}
	}
	double elapsed = now_s() - t0;
	qsort(lat, (size_t)done, sizeof(double), cmp_d);
	if (done) {
		res->p50 = lat[(size_t)(0.50 * (double)(done - 1))];
		res->p99 = lat[(size_t)(0.99 * (double)(done - 1))];
		res->p999 = lat[(size_t)(0.999 * (double)(done - 1))];
		res->max = lat[done - 1];
	}
	res->achieved = (double)res->ok / (elapsed > o->seconds ? elapsed : o->seconds);
	res->dropped += total - done - res->dropped > 0 ? total - done - res->dropped : 0;
	for (int k = 0; k < o->conns; k++)
		if (cs[k].fd >= 0)
			close(cs[k].fd);
	close(ep);
	free(cs);
	free(lat);
	free(pending);
	free(pidx);
	return 0;
}

static pid_t start_cloud(const char *build, const char *dbarg, const char *dir, int *port)
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
	fprintf(f, "enroll_token bench-token\nthreads 2\n");
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
	/* wait until it accepts connections */
	for (int i = 0; i < 200; i++) {
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

static void print_result(const char *name, const struct result *r, const struct opts *o)
{
	printf("%-12s target %7.0f/s  achieved %8.1f/s  ok %6ld  non-2xx %ld  dropped %ld  "
	       "p50 %7.3f ms  p99 %8.3f ms  p999 %8.3f ms  max %8.3f ms  server CPU %6.1f us/req\n",
	       name, o->rate, r->achieved, r->ok, r->bad, r->dropped, r->p50, r->p99, r->p999, r->max, r->cpu_us);
}

int main(int argc, char **argv)
{
	struct opts o = { .rate = 2000, .seconds = 5, .conns = 32, .build = "build" };
	struct result rc, rn;
	char dir[] = "/tmp/vigil-bench-cloud-XXXXXX", *body = NULL, auth[200];
	int cport = 0, nport;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rate"))
			o.rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			o.seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--conns"))
			o.conns = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--db"))
			o.db = argv[i + 1];
		else if (!strcmp(argv[i], "--build"))
			o.build = argv[i + 1];
	}
	if (getenv("VIGIL_BUILD"))
		o.build = getenv("VIGIL_BUILD");
	if (o.rate <= 0 || o.seconds <= 0 || o.conns <= 0 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench_cloud [--rate N/s] [--seconds S] [--conns N] [--db FILE|:memory:] [--build DIR]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pid_t cpid = start_cloud(o.build, o.db, dir, &cport);
	if (cpid < 0) {
		fprintf(stderr, "bench_cloud: vigil-cloud did not start (build it: make)\n");
		return 1;
	}
	int st = simple_request(cport, "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token\r\n"
				       "Content-Length: 27\r\nConnection: close\r\n\r\n{\"endpoint_id\":\"bench-ep1\"}", &body);
	char *c = body ? strstr(body, "\"credential\":\"") : NULL;
	if (st != 200 || !c) {
		fprintf(stderr, "bench_cloud: enroll failed (%d)\n", st);
		kill(cpid, SIGTERM);
		return 1;
	}
	snprintf(auth, sizeof(auth), "Bearer %.*s", 48, c + 14);
	free(body);
	printf("bench_cloud: open loop, %.0f req/s for %.0f s over %d keep-alive connections, 95%% new file hashes\n",
	       o.rate, o.seconds, o.conns);
	double c0 = cpu_of(cpid, 0);
	run_load(cport, auth, &o, &rc);
	rc.cpu_us = rc.ok ? (cpu_of(cpid, 0) - c0) * 1e6 / (double)rc.ok : 0;
	print_result("vigil-cloud", &rc, &o);
	printf("             distinct hashes sent: %ld of %ld (%.1f%%)\n", rc.distinct, rc.ok + rc.bad,
	       rc.ok + rc.bad ? 100.0 * (double)rc.distinct / (double)(rc.ok + rc.bad) : 0);
	kill(cpid, SIGTERM);
	waitpid(cpid, NULL, 0);

	nport = free_port();
	pid_t npid = start_nginx(dir, nport);
	if (npid < 0) {
		fprintf(stderr, "bench_cloud: nginx did not start (apt-get install nginx); no ceiling measured\n");
		return 1;
	}
	double n0 = cpu_of(npid, 1);
	run_load(nport, auth, &o, &rn);
	rn.cpu_us = rn.ok ? (cpu_of(npid, 1) - n0) * 1e6 / (double)rn.ok : 0;
	print_result("nginx", &rn, &o);
	kill(npid, SIGTERM);
	waitpid(npid, NULL, 0);
	printf("ratio vigil-cloud/nginx: achieved %.3f  p50 %.2fx  p99 %.2fx  p999 %.2fx  CPU per request %.2fx\n",
	       rn.achieved > 0 ? rc.achieved / rn.achieved : 0, rn.p50 > 0 ? rc.p50 / rn.p50 : 0,
	       rn.p99 > 0 ? rc.p99 / rn.p99 : 0, rn.p999 > 0 ? rc.p999 / rn.p999 : 0,
	       rn.cpu_us > 0 ? rc.cpu_us / rn.cpu_us : 0);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_cloud: could not remove %s\n", dir);
	return 0;
}
