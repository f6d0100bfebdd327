/* bench_hold.c - what block at first sight adds to an exec: a never-seen program on a held mount (hash + round trip to a local vigil-cloud), a known one (verdict cache), and the same execs on an unmarked tmpfs, interleaved, with vigild (audit mode) running throughout; p50/p99 and ratios. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *build_dir = "build";
static char tmpdir[] = "/tmp/vigil-bench-hold.XXXXXX";
static char held_mnt[256], plain_mnt[256], sock_path[300];
static pid_t cloud_pid, vigild_pid;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
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

/* The whole status JSON (vigild writes it on connect), or "" (static buffer). */
static const char *status(void)
{
	static char buf[65536];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t have = 0;
	buf[0] = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ssize_t n;
		while (have < sizeof(buf) - 1 && (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
			have += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	buf[have] = 0;
	return buf;
}

/* The number after "key": inside the "hold" object of the status. */
static long long hold_num(const char *key)
{
	char pat[80];
	const char *s = strstr(status(), "\"hold\":{");
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = s ? strstr(s, pat) : NULL;
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static int start_cloud(int *port)
{
	char conf[400], bin[400], line[256];
	int out[2];
	snprintf(conf, sizeof(conf), "%s/cloud.conf", tmpdir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "enroll_token bench-hold\nthreads 2\n");
	fclose(f);
	snprintf(bin, sizeof(bin), "%s/vigil-cloud", build_dir);
	if (pipe(out))
		return -1;
	cloud_pid = fork();
	if (cloud_pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(bin, bin, "-c", conf, "-l", "127.0.0.1:0", "-d", ":memory:", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	FILE *r = fdopen(out[0], "r");
	int ok = r && fgets(line, sizeof(line), r) && strstr(line, "listening on");
	if (ok) {
		char *colon = strrchr(line, ':');
		*port = colon ? atoi(colon + 1) : 0;
	}
	return ok && *port > 0 ? 0 : -1; /* the pipe stays open: the service may print nothing more */
}

static int start_vigild(int port, unsigned budget_ms)
{
	char conf[400], bin[400];
	snprintf(conf, sizeof(conf), "%s/vigild.conf", tmpdir);
	snprintf(sock_path, sizeof(sock_path), "%s/vigild.sock", tmpdir);
	snprintf(bin, sizeof(bin), "%s/vigild", build_dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	/* audit: the hold still waits for each verdict (that is what is measured) but lets everything run */
	fprintf(f,
		"mode audit\nalert_log %s/alerts.jsonl\nsocket %s\nstate_dir %s/state\nlog_level warn\n"
		"cloud_url http://127.0.0.1:%d\ncloud_token bench-hold\nhold_mounts %s\nhold_budget_ms %u\nhold_fail open\n",
		tmpdir, sock_path, tmpdir, port, held_mnt, budget_ms);
	fclose(f);
	vigild_pid = fork();
	if (vigild_pid == 0) {
		execl(bin, bin, "--config", conf, "--foreground", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) {
		int st;
		if (waitpid(vigild_pid, &st, WNOHANG) == vigild_pid) {
			fprintf(stderr, "bench_hold: vigild exited at start (status %d)\n", st);
			vigild_pid = 0;
			return -1;
		}
		if (strstr(status(), "\"enrolled\":true") && strstr(status(), "\"hold\":{"))
			return 0;
		usleep(10 * 1000);
	}
	fprintf(stderr, "bench_hold: vigild did not come up enrolled\n");
	return -1;
}

/* A copy of /usr/bin/true no one has seen (random tail), mode 0755. */
static int unique_copy(const char *dst)
{
	char buf[65536], tail[32];
	int in = open("/usr/bin/true", O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755), rnd = open("/dev/urandom", O_RDONLY);
	ssize_t n;
	int ok = in >= 0 && out >= 0 && rnd >= 0;
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	ok = ok && read(rnd, tail, sizeof(tail)) == (ssize_t)sizeof(tail) && write(out, tail, sizeof(tail)) == (ssize_t)sizeof(tail);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rnd >= 0)
		close(rnd);
	return ok ? 0 : -1;
}

/* Mean µs of open+close of a file, over n rounds. */
static double open_cost(const char *path, int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return (now_us() - t0) / n;
}

/* fork + exec + exit of path, in µs; -1 when it did not run. */
static double timed_exec(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	pid_t pid;
	int st;
	double t0 = now_us();
	if (posix_spawn(&pid, path, NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return now_us() - t0;
}

static void cleanup(void)
{
	char cmd[300];
	if (vigild_pid > 0) {
		kill(vigild_pid, SIGTERM);
		waitpid(vigild_pid, NULL, 0);
	}
	if (cloud_pid > 0) {
		kill(cloud_pid, SIGTERM);
		waitpid(cloud_pid, NULL, 0);
	}
	if (held_mnt[0])
		umount2(held_mnt, MNT_DETACH);
	if (plain_mnt[0])
		umount2(plain_mnt, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd)) {
	}
}

int main(int argc, char **argv)
{
	int trials = argc > 1 ? atoi(argv[1]) : 200;
	unsigned budget = argc > 2 ? (unsigned)atoi(argv[2]) : 50;
	const char *b = getenv("VIGIL_BUILD");
	int port = 0, rc = 1;

	if (b)
		build_dir = b;
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || trials < 10)) {
		printf("usage: bench_hold [TRIALS (default 200, >= 10)] [BUDGET_MS (default 50)]\n");
		return argc > 1 && argv[1][0] == '-' ? 0 : 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_hold: needs root (vigild loads eBPF programs; fanotify permission events; mounts)\n");
		return 2;
	}
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(held_mnt, sizeof(held_mnt), "%s/held", tmpdir);
	snprintf(plain_mnt, sizeof(plain_mnt), "%s/plain", tmpdir);
	mkdir(held_mnt, 0755);
	mkdir(plain_mnt, 0755);
	if (mount("vigil-bench-held", held_mnt, "tmpfs", 0, "size=256m") ||
	    mount("vigil-bench-plain", plain_mnt, "tmpfs", 0, "size=256m")) {
		fprintf(stderr, "bench_hold: mount tmpfs: %s\n", strerror(errno));
		held_mnt[0] = plain_mnt[0] = 0;
		goto out;
	}
	if (start_cloud(&port) || start_vigild(port, budget))
		goto out;

	double *miss = calloc((size_t)trials, sizeof(double)), *hit = calloc((size_t)trials, sizeof(double)),
	       *base_new = calloc((size_t)trials, sizeof(double)), *base_known = calloc((size_t)trials, sizeof(double));
	char path[400], known_held[400], known_plain[400];
	snprintf(known_held, sizeof(known_held), "%s/known", held_mnt);
	snprintf(known_plain, sizeof(known_plain), "%s/known", plain_mnt);
	if (!miss || !hit || !base_new || !base_known || unique_copy(known_held) || unique_copy(known_plain))
		goto out;
	for (int i = 0; i < trials; i++) {
		snprintf(path, sizeof(path), "%s/new%d", held_mnt, i);
		if (unique_copy(path))
			goto out;
		snprintf(path, sizeof(path), "%s/new%d", plain_mnt, i);
		if (unique_copy(path))
			goto out;
	}
	/* warm: the known file's verdict is cached, both known files are in the page cache */
	if (timed_exec(known_held) < 0 || timed_exec(known_plain) < 0)
		goto out;
	long long held0 = hold_num("held"), hits0 = hold_num("cache_hits"), to0 = hold_num("timeouts");
	for (int i = 0; i < trials; i++) {
		/* interleaved, the order rotating, so drift and the machine's other load hit every kind alike */
		for (int k = 0; k < 4; k++) {
			int kind = (i + k) % 4;
			double t;
			if (kind == 0) {
				snprintf(path, sizeof(path), "%s/new%d", held_mnt, i);
				t = miss[i] = timed_exec(path);
			} else if (kind == 1) {
				snprintf(path, sizeof(path), "%s/new%d", plain_mnt, i);
				t = base_new[i] = timed_exec(path);
			} else if (kind == 2) {
				t = hit[i] = timed_exec(known_held);
			} else {
				t = base_known[i] = timed_exec(known_plain);
			}
			if (t < 0) {
				fprintf(stderr, "bench_hold: an exec failed\n");
				goto out;
			}
		}
	}
	long long held = hold_num("held") - held0, hits = hold_num("cache_hits") - hits0, timeouts = hold_num("timeouts") - to0;
	long long mean_wait = hold_num("mean_wait_us"), max_wait = hold_num("max_wait_us");
	double m50 = pct(miss, trials, 0.5), m99 = pct(miss, trials, 0.99), n50 = pct(base_new, trials, 0.5),
	       n99 = pct(base_new, trials, 0.99), h50 = pct(hit, trials, 0.5), h99 = pct(hit, trials, 0.99),
	       k50 = pct(base_known, trials, 0.5), k99 = pct(base_known, trials, 0.99);
	printf("bench_hold: %d trials of each, fork+exec+exit of a copy of /usr/bin/true, budget %u ms, vigild in audit mode\n",
	       trials, budget);
	printf("%-44s %10s %10s %12s %8s\n", "exec", "p50 us", "p99 us", "added p50", "ratio");
	printf("%-44s %10.0f %10.0f %12s %8s\n", "never-seen, unmarked tmpfs (no hold)", n50, n99, "-", "-");
	printf("%-44s %10.0f %10.0f %12.0f %7.2fx\n", "never-seen, held mount (hash + round trip)", m50, m99, m50 - n50, m50 / n50);
	printf("%-44s %10.0f %10.0f %12s %8s\n", "known, unmarked tmpfs (no hold)", k50, k99, "-", "-");
	printf("%-44s %10.0f %10.0f %12.0f %7.2fx\n", "known, held mount (verdict cache)", h50, h99, h50 - k50, h50 / k50);
	printf("p99 ratios: never-seen %.2fx, known %.2fx\n", m99 / n99, h99 / k99);
	printf("hold counters: held %lld (expected %d), cache hits %lld (expected %d), timeouts %lld; hold wait mean %lld us, max %lld us (whole run)\n",
	       held, trials, hits, trials, timeouts, mean_wait, max_wait);
	/* the loader check (hold_ldso 1) puts every open on a held mount through the hold thread */
	double o_plain = 0, o_held = 0;
	for (int r = 0; r < 5; r++) {
		o_plain += open_cost(known_plain, 2000) / 5;
		o_held += open_cost(known_held, 2000) / 5;
	}
	printf("open+close of a file: unmarked tmpfs %.1f us, held mount %.1f us (+%.1f us: FAN_OPEN_PERM for the ld.so check)\n",
	       o_plain, o_held, o_held - o_plain);
	rc = held == trials && hits >= trials ? 0 : 1;
	if (rc)
		fprintf(stderr, "bench_hold: the counters do not match the trials: the numbers above are not what they say\n");
out:
	cleanup();
	return rc;
}
