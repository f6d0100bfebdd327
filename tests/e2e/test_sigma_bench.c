/* test_sigma_bench.c - CI smoke run of bench_sigma --quick: it runs on the real rules and EVTX samples, prints its ratios, and the naive evaluator agrees with the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"

TEST(sigma_bench_quick)
{
	char cmd[2048], *out = NULL;

	snprintf(cmd, sizeof(cmd), "VIGIL_SHARED_DATA='%s' %s/bench/bench_sigma --quick 2>/dev/null", vg_test_shared_dir(),
		 vg_test_build_dir());
	int status = vg_test_run(cmd, &out);
	ASSERT_TRUE(out != NULL);
	if (status != 0)
		fprintf(stderr, "%s", out);
	ASSERT_EQ(status, 0);
	ASSERT_TRUE(strstr(out, "rules: 2") != NULL);              /* thousands of rules loaded */
	ASSERT_TRUE(strstr(out, "ratio full/one-rule cost:") != NULL);
	ASSERT_TRUE(strstr(out, "speedup naive/full (same events):") != NULL);
	ASSERT_TRUE(strstr(out, "full set events/s per core:") != NULL);
	ASSERT_TRUE(strstr(out, "naive and engine agree:") != NULL);
	ASSERT_TRUE(strstr(out, "peak RSS (ru_maxrss):") != NULL);
	ASSERT_TRUE(strstr(out, "MISMATCH") == NULL);
	/* the stream matched something: the full set's match count is a positive number */
	const char *p = strstr(out, "full set (index+prefilter)");
	ASSERT_TRUE(p != NULL);
	unsigned long long eps = 0, matches = 0;
	double ns = 0;
	ASSERT_EQ(sscanf(p + strlen("full set (index+prefilter)"), "%llu %lf %llu", &eps, &ns, &matches), 3);
	ASSERT_TRUE(eps > 0);
	ASSERT_TRUE(matches > 0);
	free(out);
}
