/* bench_sigma_fields.c - cost of the dead-rule check at load: all of SigmaHQ loaded with the field schema check off (baseline) and on, best of N rounds, CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vigil/sigma.h"
#include "engine/sigma_ext.h"

/*
 * Usage: bench_sigma_fields [SIGMA_DIR] [ROUNDS]
 *   SIGMA_DIR  the SigmaHQ checkout (default $VIGIL_SHARED_DATA/sigma, else ../shared/data/sigma)
 *   ROUNDS     timed rounds per pass, the best is kept (default 5)
 * Loads rules, rules-emerging-threats and rules-threat-hunting into a fresh ruleset per
 * round; files come from the page cache after the first round.
 */

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_err(const char *file, unsigned line, const char *reason, void *ctx)
{
	(void)file;
	(void)line;
	(void)reason;
	(*(unsigned *)ctx)++;
}

static double pass(const char *dir, int check, int rounds, size_t *rules, unsigned *failed)
{
	static const char *const sub[] = { "rules", "rules-emerging-threats", "rules-threat-hunting" };
	double best = 1e9;
	for (int r = 0; r < rounds; r++) {
		struct vg_ruleset *rs;
		unsigned errs = 0;
		char path[2048];
		if (vg_ruleset_new(&rs))
			exit(2);
		vg_ruleset_set_field_check(rs, check);
		double t0 = cpu_now();
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
			if (vg_ruleset_load_path(rs, path, on_err, &errs) < 0) {
				fprintf(stderr, "bench_sigma_fields: cannot load %s\n", path);
				exit(2);
			}
		}
		double t = cpu_now() - t0;
		if (t < best)
			best = t;
		*rules = vg_ruleset_count(rs);
		*failed = errs;
		vg_ruleset_free(rs);
	}
	return best;
}

int main(int argc, char **argv)
{
	char def[1024];
	const char *env = getenv("VIGIL_SHARED_DATA");
	snprintf(def, sizeof(def), "%s/sigma", env ? env : "../shared/data");
	const char *dir = argc > 1 ? argv[1] : def;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	size_t n_off, n_on;
	unsigned f_off, f_on;

	if (rounds < 1)
		rounds = 1;
	double off = pass(dir, 0, rounds, &n_off, &f_off);
	double on = pass(dir, 1, rounds, &n_on, &f_on);
	printf("| pass | rules loaded | failed | load CPU s (best of %d) | vs baseline |\n|---|---|---|---|---|\n", rounds);
	printf("| field check off (baseline) | %zu | %u | %.3f | 1.00x |\n", n_off, f_off, off);
	printf("| field check on | %zu | %u | %.3f | %.2fx |\n", n_on, f_on, on, on / off);
	printf("dead rules found: %zu; check cost per rule: %.1f us\n", n_off - n_on,
	       n_off ? (on - off) * 1e6 / (double)n_off : 0.0);
	return 0;
}
