/* test_rule_samples.c - every project rule fires on its own regression sample (tests/data/rules, SigmaHQ info.yml layout), through the whole pipeline. */
#include <dirent.h>
#include <stdlib.h>

#include "../unit/test.h"

/* Reads the first "- id:" under rule_metadata from info.yml into id. */
static int rule_id(const char *info, char *id, size_t size)
{
	FILE *f = fopen(info, "r");
	char line[512];
	int in_meta = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "rule_metadata:", 14) == 0)
			in_meta = 1;
		char *p = strstr(line, "- id:");
		if (in_meta && p) {
			p += 5;
			while (*p == ' ')
				p++;
			size_t n = strcspn(p, " \r\n");
			snprintf(id, size, "%.*s", (int)n, p);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

TEST(e2e_every_project_rule_fires_on_its_sample)
{
	char dir[1024], path[2048], id[128], cmd[4096], needle[200];
	DIR *d, *rd;
	struct dirent *e, *re;
	int rules = 0, samples = 0;

	/* every rule has a sample */
	snprintf(dir, sizeof(dir), "%s/rules/windows", VIGIL_SOURCE_DIR);
	rd = opendir(dir);
	ASSERT_TRUE(rd != NULL);
	while ((re = readdir(rd)))
		if (strstr(re->d_name, ".yml"))
			rules++;
	closedir(rd);

	snprintf(dir, sizeof(dir), "%s/tests/data/rules", VIGIL_SOURCE_DIR);
	d = opendir(dir);
	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d))) {
		char *out = NULL;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/info.yml", dir, e->d_name);
		ASSERT_EQ(rule_id(path, id, sizeof(id)), 0);
		snprintf(cmd, sizeof(cmd),
			 "%s/vigil hunt -q -f json -r %s/rules/windows --resolvers 192.168.1.1 %s/%s/%s.json",
			 vg_test_build_dir(), VIGIL_SOURCE_DIR, dir, e->d_name, id);
		int st = vg_test_run(cmd, &out);
		snprintf(needle, sizeof(needle), "\"rule\":{\"id\":\"%s\"", id);
		if (st != 1 || !strstr(out, needle))
			fprintf(stderr, "    %s: rule %s did not fire on its sample (status %d)\n", e->d_name, id, st);
		ASSERT_EQ(st, 1);
		ASSERT_TRUE(strstr(out, needle) != NULL);
		free(out);
		samples++;
	}
	closedir(d);
	ASSERT_EQ(samples, rules);
}
