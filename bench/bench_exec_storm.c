/* bench_exec_storm.c - a fork/exec storm: starts N short processes (/bin/true) as fast as possible from P parallel spawners and reports the wall time and rate, for measuring the agent's overhead. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One spawner: n processes, one after another. Returns failures. */
static int spawner(long n, const char *prog)
{
	int failed = 0;
	char *argv[] = { (char *)prog, NULL };
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;
		if (posix_spawn(&pid, prog, NULL, NULL, argv, environ) != 0) {
			failed++;
			continue;
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	return failed;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000;
	int par = argc > 2 ? atoi(argv[2]) : 2;
	const char *prog = argc > 3 ? argv[3] : "/bin/true";
	double t0 = now();
	int failed = 0;

	if (n <= 0 || par <= 0) {
		fprintf(stderr, "usage: bench_exec_storm [PROCESSES] [PARALLEL] [PROGRAM]\n");
		return 2;
	}
	for (int p = 0; p < par; p++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(spawner(n / par, prog) ? 1 : 0);
	}
	for (int p = 0; p < par; p++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	double dt = now() - t0;
	printf("exec_storm processes=%ld parallel=%d seconds=%.4f rate=%.0f/s failed_spawners=%d\n",
	       n / par * par, par, dt, (double)(n / par * par) / dt, failed);
	return failed ? 1 : 0;
}
