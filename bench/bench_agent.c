/* bench_agent.c - what vigild costs and how fast it acts: overhead on a build and a fork/exec storm (interleaved pairs with and without vigild), and the time from a miner's exec or first stratum write to its death. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *build_dir = "build";
static char tmpdir[] = "/tmp/vigil-bench-agent.XXXXXX";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

/* Runs argv (through sh -c) and returns its wall time, or -1 if it failed. */
static double timed_shell(const char *cmd)
{
	double t0 = now_s();
	int rc = system(cmd);
	double t = now_s() - t0;
	if (rc != 0) {
		fprintf(stderr, "bench_agent: '%s' failed (%d)\n", cmd, rc);
		return -1;
	}
	return t;
}

static pid_t vigild_pid;

static int status_ready(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Starts vigild live (the eBPF sensor) with a private configuration; waits until it answers on its status socket. */
static int start_vigild(const char *mode)
{
	char conf[512], sock[512], bin[512];
	snprintf(conf, sizeof(conf), "%s/vigild.conf", tmpdir);
	snprintf(sock, sizeof(sock), "%s/vigild.sock", tmpdir);
	snprintf(bin, sizeof(bin), "%s/vigild", build_dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "mode %s\nalert_log %s/alerts.jsonl\nsocket %s\nstate_dir %s/state\nlog_level warn\n", mode,
		tmpdir, sock, tmpdir);
	fclose(f);
	unlink(sock);
	vigild_pid = fork();
	if (vigild_pid == 0) {
		execl(bin, bin, "--config", conf, "--foreground", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) {
		int st;
		if (waitpid(vigild_pid, &st, WNOHANG) == vigild_pid) {
			fprintf(stderr, "bench_agent: vigild exited at start (status %d)\n", st);
			return -1;
		}
		if (status_ready(sock)) {
			usleep(200 * 1000); /* let the /proc seeding finish */
			return 0;
		}
		usleep(10 * 1000);
	}
	fprintf(stderr, "bench_agent: vigild did not come up\n");
	return -1;
}

static void stop_vigild(void)
{
	int st;
	if (vigild_pid <= 0)
		return;
	kill(vigild_pid, SIGTERM);
	waitpid(vigild_pid, &st, 0);
	vigild_pid = 0;
}

/* Interleaved pairs: without, with (order alternates each pair so drift hits both). */
static int overhead(const char *name, const char *cmd, int pairs)
{
	double ratio[64], base[64], with[64];
	if (pairs > 64)
		pairs = 64;
	printf("== overhead: %s (%d interleaved pairs)\n   %s\n", name, pairs, cmd);
	for (int i = 0; i < pairs; i++) {
		for (int k = 0; k < 2; k++) {
			int on = (i % 2) ? !k : k;
			/* audit: the same work (nothing matches a benign workload) without acting on other jobs of the machine */
			if (on && start_vigild("audit"))
				return -1;
			double t = timed_shell(cmd);
			if (on)
				stop_vigild();
			if (t < 0)
				return -1;
			if (on)
				with[i] = t;
			else
				base[i] = t;
		}
		ratio[i] = with[i] / base[i];
		printf("   pair %d: without %.3f s, with %.3f s, ratio %.4f\n", i + 1, base[i], with[i], ratio[i]);
		fflush(stdout);
	}
	double r[64];
	memcpy(r, ratio, sizeof(double) * (size_t)pairs);
	double med = pct(r, pairs, 0.5), lo = r[0], hi = r[pairs - 1];
	printf("   %s: median ratio %.4f (overhead %+.1f%%), spread %.4f..%.4f\n", name, med, (med - 1) * 100, lo, hi);
	return 0;
}

/* A listener on loopback that accepts and reads until close (the fake pool). */
static int fake_pool(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static int copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", from, to, to);
	return system(cmd);
}

/*
 * Kill latency. exec: the child stamps the time and execs a copy of sleep from /dev/shm
 * named like a kernel thread (rule: kernel-thread name from a user-writable place, action
 * kill); fresh = a new file each trial (user-space decision), repeat = the same file (the
 * exe is then marked and dies in the kernel at exec). stratum: the child stamps the time
 * and write()s a stratum login to a loopback listener (rule: stratum login, action kill).
 */
static int kill_latency(int trials)
{
	double *stamp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double *lat = calloc((size_t)trials, sizeof(double));
	int port, pool = fake_pool(&port), survived;
	const char *kinds[] = { "exec (fresh file)", "exec (repeat, marked exe)", "stratum write" };

	if (stamp == MAP_FAILED || !lat || pool < 0)
		return -1;
	if (start_vigild("protect"))
		return -1;
	for (int kind = 0; kind < 3; kind++) {
		survived = 0;
		int n = 0;
		for (int i = 0; i < trials; i++) {
			char exe[256];
			if (kind == 0)
				snprintf(exe, sizeof(exe), "/dev/shm/vigil-bench-miner-%d", i);
			else
				snprintf(exe, sizeof(exe), "/dev/shm/vigil-bench-miner");
			if (kind < 2 && (kind == 0 || i == 0) && copy_file("/usr/bin/sleep", exe))
				return -1;
			stamp[0] = 0;
			pid_t pid = fork();
			if (pid == 0) {
				if (kind < 2) {
					char *argv[] = { "[kworker/0:7]", "5", NULL };
					stamp[0] = now_s();
					execv(exe, argv);
					_exit(127);
				}
				struct sockaddr_in sa = { .sin_family = AF_INET,
							  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
							  .sin_port = htons((uint16_t)port) };
				int fd = socket(AF_INET, SOCK_STREAM, 0);
				static const char login[] =
					"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":"
					"{\"login\":\"bench\",\"pass\":\"x\",\"agent\":\"bench/1.0\"}}\n";
				if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
					_exit(126);
				stamp[0] = now_s();
				if (write(fd, login, sizeof(login) - 1) < 0)
					_exit(125);
				for (double t0 = now_s(); now_s() - t0 < 5;)
					; /* burn like a miner until killed */
				_exit(0);
			}
			int st;
			int cfd = kind == 2 ? accept(pool, NULL, NULL) : -1;
			waitpid(pid, &st, 0);
			double dead = now_s();
			if (cfd >= 0)
				close(cfd);
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && stamp[0] > 0)
				lat[n++] = (dead - stamp[0]) * 1e3;
			else
				survived++;
			if (kind == 0)
				unlink(exe);
		}
		if (n)
			printf("== kill latency, %s: %d trials, %d killed, %d survived: p50 %.3f ms, p99 %.3f ms, "
			       "max %.3f ms\n",
			       kinds[kind], trials, n, survived, pct(lat, n, 0.5), pct(lat, n, 0.99), pct(lat, n, 1.0));
		else
			printf("== kill latency, %s: %d trials, none killed\n", kinds[kind], trials);
		fflush(stdout);
	}
	unlink("/dev/shm/vigil-bench-miner");
	stop_vigild();
	close(pool);
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int pairs = argc > 2 ? atoi(argv[2]) : 5;
	int storm = argc > 3 ? atoi(argv[3]) : 20000;
	char cmd[2048];

	if (getenv("VIGIL_BUILD"))
		build_dir = getenv("VIGIL_BUILD");
	if (argc > 1 && !strcmp(argv[1], "-h")) {
		printf("usage: bench_agent [overhead|build|storm|kill|all] [PAIRS|TRIALS] [STORM_N]\n");
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_agent: needs root (vigild loads eBPF programs)\n");
		return 2;
	}
	if (!mkdtemp(tmpdir))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	int rc = 0;
	if (!strcmp(what, "storm") || !strcmp(what, "overhead") || !strcmp(what, "all")) {
		snprintf(cmd, sizeof(cmd), "%s/bench/bench_exec_storm %d 2 >/dev/null", build_dir, storm);
		rc |= overhead("fork/exec storm", cmd, pairs);
	}
	if (!strcmp(what, "build") || !strcmp(what, "overhead") || !strcmp(what, "all")) {
		snprintf(cmd, sizeof(cmd),
			 "rm -rf %s/src && git clone -q . %s/src && make -s -C %s/src -j2 BUILD=build-bench build-bench/vigil "
			 ">/dev/null 2>&1",
			 tmpdir, tmpdir, tmpdir);
		rc |= overhead("build of the project", cmd, pairs);
	}
	if (!strcmp(what, "kill") || !strcmp(what, "all"))
		rc |= kill_latency(argc > 2 && strcmp(what, "all") ? pairs : 100);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		rc = 1;
	return rc ? 1 : 0;
}
