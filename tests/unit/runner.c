/* runner.c - runs every registered test (optionally filtered by a substring) and prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "test.h"

struct test_entry {
	const char *name, *file;
	vg_test_fn fn;
};

static struct test_entry *tests;
static size_t ntests, cap;

void vg_test_register(const char *name, const char *file, vg_test_fn fn)
{
	if (ntests == cap) {
		cap = cap ? cap * 2 : 64;
		tests = realloc(tests, cap * sizeof(*tests));
		if (!tests)
			abort();
	}
	tests[ntests++] = (struct test_entry){ name, file, fn };
}

const char *vg_test_shared_dir(void)
{
	const char *e = getenv("VIGIL_SHARED_DATA");
	return e ? e : VIGIL_SOURCE_DIR "/../shared/data";
}

const char *vg_test_build_dir(void)
{
	const char *e = getenv("VIGIL_BUILD");
	return e ? e : "build";
}

int vg_test_need_root(int *vg_test_failed, const char *what)
{
	if (geteuid() == 0)
		return 1;
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "    %s need root, and CI=true\n", what);
		*vg_test_failed = 1;
	} else {
		fprintf(stderr, "    SKIPPED: %s need root\n", what);
	}
	return 0;
}

int vg_test_run(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, size = 4096;
	char *buf = malloc(size);

	if (!p || !buf) {
		free(buf);
		if (p)
			pclose(p);
		return -1;
	}
	for (;;) {
		if (size - len < 4096) {
			size *= 2;
			buf = realloc(buf, size);
			if (!buf)
				abort();
		}
		size_t n = fread(buf + len, 1, size - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cmp(const void *a, const void *b)
{
	const struct test_entry *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	const char *filter = argc > 1 ? argv[1] : NULL;

	qsort(tests, ntests, sizeof(*tests), cmp);
	for (size_t i = 0; i < ntests; i++) {
		int f = 0;
		struct timespec a, b;

		if (filter && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &a);
		tests[i].fn(&f);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		printf("%s %-50s %s (%.0f ms)\n", f ? "FAIL" : "ok  ", tests[i].name, tests[i].file, ms);
		fflush(stdout);
		if (f)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
