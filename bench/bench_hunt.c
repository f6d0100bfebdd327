/* bench_hunt.c - end-to-end speed of `vigil hunt` on a JSON replay, next to splitting lines and a cJSON DOM parse, each in its own process for peak memory. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vigil/embedded.h"
#include "vigil/hunt.h"
#include "vigil/sigma.h"

struct result {
	double seconds;
	unsigned long long events;
	unsigned long long alerts;
	long maxrss_kb;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Calls fn(line, len) for each line of the file, reading 4 MiB chunks. */
static unsigned long long each_line(const char *path, void (*fn)(const char *, size_t, void *), void *ctx)
{
	int fd = open(path, O_RDONLY);
	size_t cap = 4 << 20, len = 0;
	char *buf = malloc(cap);
	unsigned long long lines = 0;
	ssize_t n;

	if (fd < 0 || !buf) {
		perror(path);
		exit(1);
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		char *p = buf, *end = buf + len, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			if (fn)
				fn(p, (size_t)(nl - p), ctx);
			lines++;
			p = nl + 1;
		}
		len = (size_t)(end - p);
		memmove(buf, p, len);
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	close(fd);
	free(buf);
	return lines;
}

static void cjson_line(const char *p, size_t n, void *ctx)
{
	cJSON *j = cJSON_ParseWithLength(p, n);
	if (j)
		(*(unsigned long long *)ctx)++;
	cJSON_Delete(j);
}

static void rule_err(const char *f, unsigned l, const char *r, void *c) { (void)f; (void)l; (void)r; (void)c; }

static void run_phase(int phase, const char *path, int fd_out)
{
	struct result r = { 0 };
	double t0 = now();

	if (phase == 0) {
		r.events = each_line(path, NULL, NULL);
	} else if (phase == 1) {
		unsigned long long ok = 0;
		r.events = each_line(path, cjson_line, &ok);
		r.events = ok;
	} else {
		struct vg_ruleset *rs;
		vg_ruleset_new(&rs);
		if (phase == 2)
			for (size_t i = 0; i < vg_embedded_rules_count; i++)
				vg_ruleset_load_text(rs, vg_embedded_rules[i].name, vg_embedded_rules[i].data,
						     vg_embedded_rules[i].len, rule_err, NULL);
		FILE *devnull = fopen("/dev/null", "w");
		const char *inputs[1] = { path };
		struct vg_hunt_config cfg = { .inputs = inputs, .ninputs = 1, .rules = rs };
		struct vg_hunt_stats st;
		cfg.alerts.out = devnull;
		t0 = now();
		vg_hunt_run(&cfg, &st);
		r.events = st.events;
		r.alerts = st.alerts;
		fclose(devnull);
		vg_ruleset_free(rs);
	}
	r.seconds = now() - t0;
	if (write(fd_out, &r, sizeof(r)) != sizeof(r))
		exit(1);
}

static struct result measure(int phase, const char *path)
{
	int fds[2];
	struct result r = { 0 };
	struct rusage ru;
	int st;

	if (pipe(fds))
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		run_phase(phase, path, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &r, sizeof(r)) != sizeof(r))
		fprintf(stderr, "bench: phase %d failed\n", phase);
	close(fds[0]);
	wait4(pid, &st, 0, &ru);
	r.maxrss_kb = ru.ru_maxrss;
	return r;
}

int main(int argc, char **argv)
{
	struct stat sb;
	static const char *names[] = { "split lines (memchr)", "cJSON DOM parse", "vigil hunt (all rules)",
				       "vigil hunt (no rules)" };

	if (argc < 2 || stat(argv[1], &sb)) {
		fprintf(stderr, "usage: bench_hunt FILE.jsonl   (make a replay with build/tools/gen_scenario)\n");
		return 2;
	}
	double mb = (double)sb.st_size / 1e6;
	struct result res[4];
	for (int i = 0; i < 4; i++)
		res[i] = measure(i, argv[1]);
	printf("input: %s, %.1f MB, %llu lines, %.0f bytes/event\n", argv[1], mb, res[0].events,
	       res[0].events ? (double)sb.st_size / (double)res[0].events : 0);
	printf("%-26s %12s %10s %10s %12s %12s\n", "phase", "events/s", "MB/s", "peak MB", "vs split", "vs cJSON");
	for (int i = 0; i < 4; i++) {
		double eps = res[i].seconds > 0 ? (double)res[i].events / res[i].seconds : 0;
		double e0 = (double)res[0].events / res[0].seconds, e1 = (double)res[1].events / res[1].seconds;
		printf("%-26s %12.0f %10.1f %10.1f %11.3fx %11.2fx\n", names[i], eps, mb / res[i].seconds,
		       (double)res[i].maxrss_kb / 1024.0, eps / e0, eps / e1);
	}
	printf("alerts raised by the full run: %llu\n", res[2].alerts);
	return 0;
}
