/* test_rule_samples.c - `vigil rules test`: every project rule fires on its own regression sample, and SigmaHQ's rules on theirs, through the whole pipeline. */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "../unit/test.h"

static int linux_rules, linux_samples;

static int count_rule_files(void)
{
	char dir[1024];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/rules/windows", VIGIL_SOURCE_DIR);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".yml"))
			n++;
	closedir(d);
	/* Linux rule files with a regression sample: all but the system-binary one (docs/rules.md,
	   Linux regression samples: a replay gets no dpkg facts, so VigilSysBinWrongPath is never set) */
	linux_rules = linux_samples = 0;
	snprintf(dir, sizeof(dir), "%s/rules/linux", VIGIL_SOURCE_DIR);
	if ((d = opendir(dir))) {
		while ((e = readdir(d))) {
			char info[1536];
			size_t len = strlen(e->d_name);
			if (len < 5 || strcmp(e->d_name + len - 4, ".yml") != 0)
				continue;
			snprintf(info, sizeof(info), "%s/tests/data/rules/%.*s/info.yml", VIGIL_SOURCE_DIR, (int)(len - 4), e->d_name);
			linux_rules++;
			if (access(info, R_OK) == 0) {
				n++;
				linux_samples++;
			}
		}
		closedir(d);
	}
	return n;
}

TEST(e2e_rules_test_project_rules_all_fire)
{
	char cmd[2048], *out = NULL, want[64];

	snprintf(cmd, sizeof(cmd), "cd %s && %s/vigil rules test -v -r rules --resolvers 192.168.1.1 2>&1",
		 VIGIL_SOURCE_DIR, vg_test_build_dir());
	int st = vg_test_run(cmd, &out);
	if (st)
		fprintf(stderr, "%s\n", out);
	ASSERT_EQ(st, 0);
	/* one case per rule file, all passing */
	snprintf(want, sizeof(want), "rules test: %d cases, %d passed, 0 failed", count_rule_files(), count_rule_files());
	ASSERT_TRUE(strstr(out, want) != NULL);
	ASSERT_TRUE(strstr(out, "PASS ") != NULL);
	/* every Linux rule has its recorded sample */
	ASSERT_GE(linux_rules, 21);
	ASSERT_EQ(linux_samples, linux_rules);
	free(out);
}

TEST(e2e_rules_test_sigmahq_regression_data)
{
	char cmd[4096], *out = NULL;
	const char *s = vg_test_shared_dir();
	int cases = 0, passed = 0, failed = 0;

	snprintf(cmd, sizeof(cmd),
		 "%s/vigil rules test -r '%s/sigma/rules' -r '%s/sigma/rules-emerging-threats' "
		 "-r '%s/sigma/rules-threat-hunting' '%s/sigma/regression_data' 2>/dev/null",
		 vg_test_build_dir(), s, s, s, s);
	vg_test_run(cmd, &out);
	const char *sum = strstr(out, "rules test: ");
	ASSERT_TRUE(sum != NULL);
	ASSERT_EQ(sscanf(sum, "rules test: %d cases, %d passed, %d failed", &cases, &passed, &failed), 3);
	fprintf(stderr, "    SigmaHQ regression cases through the pipeline: %d of %d pass\n", passed, cases);
	ASSERT_GE(cases, 200);
	/* >= 98% of SigmaHQ's cases: each named rule fires on its EVTX and on its JSON */
	ASSERT_GE(passed * 100, cases * 98);
	free(out);
}
