/* bench_sensor.c - the eBPF sensor's limits: the highest event rate it sustains with zero drops at the default ring buffer (binary search on a rate-controlled generator), and the in-kernel kill latency (exec of a marked executable to its death). Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vigil/sensor.h"

#define GEN_FILE "/tmp/vigil-bench-sensor-gen"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One reported action: an open for writing (a file_write event); the close is not reported. */
static void one_op(void)
{
	int fd = open(GEN_FILE, O_WRONLY);
	if (fd >= 0)
		close(fd);
}

static int gen_threads = 2; /* threads of the generator process (one tgid, so the kernel filter still applies) */

struct gen {
	double rate, secs;
	long done;
};

static void *gen_run(void *arg)
{
	struct gen *g = arg;
	double t0 = now(), t;
	long done = 0;
	while ((t = now() - t0) < g->secs) {
		long due = g->rate > 0 ? (long)(g->rate * t) + 1 : done + 1000;
		while (done < due) {
			one_op();
			done++;
		}
		if (g->rate > 0) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	g->done = done;
	return NULL;
}

/*
 * The generator, in a child: waits for "go", then does rate ops/s (0 = as
 * fast as it can) for secs seconds from gen_threads threads, paced every
 * 100 us, and writes the number of ops done to the result pipe.
 */
static pid_t start_generator(double rate, double secs, int *go_fd, int *res_fd)
{
	int go[2], res[2];
	if (pipe(go) || pipe(res))
		return -1;
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		char b;
		struct gen g[16];
		pthread_t th[16];
		int n = gen_threads;
		close(go[1]);
		close(res[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		for (int i = 0; i < n; i++)
			g[i] = (struct gen){ rate / n, secs, 0 };
		for (int i = 1; i < n; i++)
			if (pthread_create(&th[i], NULL, gen_run, &g[i]))
				_exit(1);
		gen_run(&g[0]);
		long done = g[0].done;
		for (int i = 1; i < n; i++) {
			pthread_join(th[i], NULL);
			done += g[i].done;
		}
		if (write(res[1], &done, sizeof(done)) != sizeof(done))
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	*go_fd = go[1];
	*res_fd = res[0];
	return p;
}

struct count {
	uint32_t pid;
	uint64_t writes;
};

static void on_event(struct vg_event *ev, void *ctx)
{
	struct count *c = ctx;
	if (ev->proc.pid == c->pid && ev->type == VG_EV_FILE_WRITE)
		c->writes++;
}

struct trial {
	long ops;          /* actions the generator did */
	uint64_t events;   /* file_write events delivered */
	uint64_t drops;    /* records counted as dropped (ring buffer full or table full) */
	double secs;
	double reader_cpu; /* CPU seconds this process (the reader) spent */
};

static double cpu_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * One run of the generator at rate (0 = flat out) with the sensor reading (s)
 * or without it (NULL). filtered: the sensor is attached but reports another
 * process, so only the tracepoints' fixed cost is paid.
 */
static int run_trial_f(struct vg_sensor *s, double rate, double secs, struct trial *t, int filtered)
{
	int go, res;
	struct vg_sensor_stats a, b;
	struct count c = { 0 };
	memset(t, 0, sizeof(*t));
	if (s)
		vg_sensor_poll(s, 0, NULL, NULL);
	pid_t p = start_generator(rate, secs, &go, &res);
	if (p < 0)
		return -1;
	c.pid = (uint32_t)p;
	if (s) {
		vg_sensor_only_pid(s, filtered ? 1 : (uint32_t)p);
		vg_sensor_stats(s, &a);
	}
	double t0 = now(), c0 = cpu_self();
	if (write(go, "g", 1) != 1)
		return -1;
	close(go);
	int st, exited = 0;
	while (!exited) {
		if (s)
			vg_sensor_poll(s, 50, on_event, &c);
		else
			usleep(50000);
		exited = waitpid(p, &st, WNOHANG) == p;
	}
	t->secs = now() - t0;
	if (read(res, &t->ops, sizeof(t->ops)) != sizeof(t->ops))
		t->ops = -1;
	close(res);
	if (s) {
		for (int i = 0; i < 20; i++) /* what is still queued */
			if (vg_sensor_poll(s, 10, on_event, &c) == 0)
				break;
		vg_sensor_stats(s, &b);
		vg_sensor_only_pid(s, 0);
		t->events = c.writes;
		t->drops = (b.drops_ringbuf - a.drops_ringbuf) + (b.drops_pending - a.drops_pending);
	}
	t->reader_cpu = cpu_self() - c0;
	return 0;
}

static int run_trial(struct vg_sensor *s, double rate, double secs, struct trial *t)
{
	return run_trial_f(s, rate, secs, t, 0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct life {
	uint32_t pid;
	int64_t exec_ns, exit_ns; /* the sensor's kernel timestamps of the exec and of the exit */
};

static void on_life(struct vg_event *ev, void *ctx)
{
	struct life *l = ctx;
	if (ev->proc.pid != l->pid)
		return;
	if (ev->type == VG_EV_PROCESS_START)
		l->exec_ns = ev->time_ns;
	else if (ev->type == VG_EV_PROCESS_EXIT)
		l->exit_ns = ev->time_ns;
}

/*
 * n execs of path, sorted into out (ms): wall = from just before execve to
 * waitpid's return (includes the waiter's scheduling); kern = from the exec
 * tracepoint to the exit tracepoint, as the sensor timestamps them.
 */
static int exec_latency(struct vg_sensor *s, const char *path, int n, double *wall, double *kern, int expect_kill)
{
	double *t0 = mmap(NULL, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t0 == MAP_FAILED)
		return -1;
	for (int i = 0; i < n; i++) {
		int go[2];
		struct life l = { 0 };
		if (pipe(go))
			return -1;
		vg_sensor_poll(s, 0, NULL, NULL);
		fflush(NULL);
		pid_t p = fork();
		if (p == 0) {
			char b;
			close(go[1]);
			if (read(go[0], &b, 1) != 1)
				_exit(126);
			*t0 = now();
			execl(path, path, (char *)NULL);
			_exit(127);
		}
		close(go[0]);
		l.pid = (uint32_t)p;
		vg_sensor_only_pid(s, (uint32_t)p);
		if (write(go[1], "g", 1) != 1)
			return -1;
		close(go[1]);
		int st;
		waitpid(p, &st, 0);
		double t1 = now();
		for (int k = 0; k < 200 && !l.exit_ns; k++)
			vg_sensor_poll(s, 5, on_life, &l);
		vg_sensor_only_pid(s, 0);
		if (expect_kill != (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
			fprintf(stderr, "bench_sensor: trial %d: %s was %s\n", i, path, expect_kill ? "not killed" : "killed");
			munmap(t0, sizeof(double));
			return -1;
		}
		wall[i] = (t1 - *t0) * 1e3;
		kern[i] = l.exec_ns && l.exit_ns ? (double)(l.exit_ns - l.exec_ns) / 1e6 : -1;
	}
	munmap(t0, sizeof(double));
	qsort(wall, (size_t)n, sizeof(double), cmp_d);
	qsort(kern, (size_t)n, sizeof(double), cmp_d);
	return 0;
}

static int copy_true(char *path)
{
	int out = mkstemp(path), in = open("/bin/true", O_RDONLY);
	char buf[65536];
	ssize_t n;
	if (out < 0 || in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	fchmod(out, 0755);
	close(out);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, 0, 'd' },
		{ "kill-trials", required_argument, 0, 'k' },
		{ "threads", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	double duration = 60;
	int ktrials = 100, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': duration = atof(optarg); break;
		case 'k': ktrials = atoi(optarg); break;
		case 't': gen_threads = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bench_sensor [--duration S] [--kill-trials N] [--threads N]\n"
					"  --threads N    generator threads (default 2)\n"
					"  --duration S   total time of the rate search (default 60; ~10 trials of S/10)\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (duration <= 0 || ktrials <= 0 || ktrials > 100000 || gen_threads < 1 || gen_threads > 16) {
		fprintf(stderr, "bench_sensor: bad --duration or --kill-trials\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_sensor: needs root (loads the eBPF sensor)\n");
		return 2;
	}
	int fd = open(GEN_FILE, O_WRONLY | O_CREAT, 0600);
	if (fd < 0) {
		perror(GEN_FILE);
		return 2;
	}
	close(fd);
	double step = duration / 10;

	/* baseline: the generator flat out, no sensor loaded */
	struct trial base, flat, t;
	run_trial(NULL, 0, step, &base);
	double base_rate = base.ops / base.secs;

	struct vg_sensor_opts o = { .no_seed = 1 }; /* default ring buffer (8 MiB) */
	struct vg_sensor *s;
	char err[512];
	if (vg_sensor_open(&o, &s, err, sizeof(err))) {
		fprintf(stderr, "bench_sensor: %s\n", err);
		return 2;
	}
	struct vg_sensor_stats st;
	vg_sensor_stats(s, &st);
	struct trial filt;
	run_trial_f(s, 0, step, &filt, 1);
	run_trial(s, 0, step, &flat);
	double flat_rate = flat.ops / flat.secs, filt_rate = filt.ops / filt.secs;
	printf("ring buffer %llu KiB, %u CPUs, trial %.1f s, generator threads %d\n", (unsigned long long)(st.ringbuf_bytes >> 10),
	       st.ncpus, step, gen_threads);
	printf("generator flat out, no sensor (baseline):  %10.0f ops/s\n", base_rate);
	printf("generator flat out, sensor attached, not reporting it: %10.0f ops/s  (%.2fx baseline: the tracepoints' fixed cost)\n",
	       filt_rate, filt_rate / base_rate);
	printf("generator flat out, sensor attached:       %10.0f ops/s  (%.2fx baseline; events %llu, drops %llu)\n",
	       flat_rate, flat_rate / base_rate, (unsigned long long)flat.events, (unsigned long long)flat.drops);
	printf("reader CPU per event (records to vg_events): %.2f us (one reader core: at most %.0f events/s)\n",
	       flat.events ? flat.reader_cpu / flat.events * 1e6 : 0.0,
	       flat.reader_cpu > 0 ? flat.events / flat.reader_cpu : 0.0);

	/* binary search on the offered rate: a trial passes when every action arrived and nothing dropped */
	double lo = 0, hi = flat_rate;
	int bound = flat.drops == 0 && flat.events == (uint64_t)flat.ops;
	if (bound)
		lo = flat_rate; /* the sensor keeps up with the generator flat out: the generator is the limit */
	for (int i = 0; i < 7 && !bound; i++) {
		double r = (lo + hi) / 2;
		run_trial(s, r, step, &t);
		int pass = t.drops == 0 && t.events == (uint64_t)t.ops;
		printf("  offered %9.0f/s: did %9.0f/s, events %9llu, drops %8llu  %s\n", r, t.ops / t.secs,
		       (unsigned long long)t.events, (unsigned long long)t.drops, pass ? "ok" : "DROPS");
		if (pass)
			lo = r;
		else
			hi = r;
	}
	/* confirmation at the found rate, twice the trial length */
	run_trial(s, bound ? 0 : lo, 2 * step, &t);
	int ok = t.drops == 0 && t.events == (uint64_t)t.ops;
	printf("sustained with 0 drops:                    %10.0f events/s%s (%.2fx the 200k target; confirmation %s: %llu events, %llu drops)\n",
	       t.ops / t.secs, bound ? " (generator-bound)" : "", t.ops / t.secs / 200000.0, ok ? "ok" : "FAILED",
	       (unsigned long long)t.events, (unsigned long long)t.drops);

	/* kill latency: exec of a marked executable to its death, against an unmarked exec to exit */
	char path[] = "/tmp/vigil-bench-kill-XXXXXX";
	struct stat sb;
	size_t nk = (size_t)ktrials;
	double *lat = calloc(nk, sizeof(double)), *blat = calloc(nk, sizeof(double));
	double *klat = calloc(nk, sizeof(double)), *kblat = calloc(nk, sizeof(double));
	int rc = 0;
	if (!lat || !blat || !klat || !kblat || copy_true(path) || stat(path, &sb)) {
		fprintf(stderr, "bench_sensor: cannot prepare %s\n", path);
		rc = 2;
		goto out;
	}
	if (exec_latency(s, path, ktrials, blat, kblat, 0) || vg_sensor_mark_exe(s, sb.st_dev, sb.st_ino) ||
	    exec_latency(s, path, ktrials, lat, klat, 1)) {
		rc = 1;
		goto out;
	}
	int p50 = ktrials / 2, p99 = (ktrials * 99 + 99) / 100 - 1;
	printf("unmarked copy of true, exec to exit (baseline):  kernel p50 %.3f ms  p99 %.3f ms;  wall p50 %.3f ms  p99 %.3f ms\n",
	       kblat[p50], kblat[p99], blat[p50], blat[p99]);
	printf("marked executable, exec to SIGKILL death:       kernel p50 %.3f ms  p99 %.3f ms;  wall p50 %.3f ms  p99 %.3f ms\n",
	       klat[p50], klat[p99], lat[p50], lat[p99]);
	printf("  (%d trials each; kernel = exec tracepoint to exit tracepoint; wall = execve call to waitpid return; target p99 < 5 ms; %.2fx baseline kernel p50)\n",
	       ktrials, kblat[p50] > 0 ? klat[p50] / kblat[p50] : 0.0);
	if (!ok)
		rc = 1;
out:
	unlink(path);
	unlink(GEN_FILE);
	free(lat);
	free(blat);
	free(klat);
	free(kblat);
	vg_sensor_close(s);
	return rc;
}
