/* test_rule_hits.c - `vigil rules hits`: every rule against every regression case and generated benign noise matches the committed expectation tests/data/rule-hits.tsv; differences are reported and fail. */
#include <stdlib.h>
#include <unistd.h>

#include "../unit/test.h"

/* Writes `gen_scenario ARGS` (e.g. what `make rule-hits` uses) into a temp file; path in out. */
static int make_benign(char *out, size_t len, const char *args)
{
	char cmd[2048], *o = NULL;
	snprintf(out, len, "/tmp/vigil-benign-XXXXXX.json");
	int fd = mkstemps(out, 5);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario %s > '%s'", vg_test_build_dir(), args, out);
	int st = vg_test_run(cmd, &o);
	free(o);
	return st;
}

TEST(e2e_rule_hits_match_expectation)
{
	char benign[256], lbenign[256], cmd[4096], *out = NULL;
	const char *s = vg_test_shared_dir();

	ASSERT_EQ(make_benign(benign, sizeof(benign), "--seed 1 --benign 4000"), 0);
	ASSERT_EQ(make_benign(lbenign, sizeof(lbenign), "--seed 1 --benign 2000 --linux"), 0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && %s/vigil rules hits -r '%s/sigma/rules' -r '%s/sigma/rules-emerging-threats' "
		 "-r '%s/sigma/rules-threat-hunting' -r rules --cases '%s/sigma/regression_data' --cases tests/data/rules "
		 "--benign '%s' --benign '%s' --resolvers 192.168.1.1 --expect tests/data/rule-hits.tsv 2>&1",
		 VIGIL_SOURCE_DIR, vg_test_build_dir(), s, s, s, s, benign, lbenign);
	int st = vg_test_run(cmd, &out);
	unlink(benign);
	unlink(lbenign);
	if (st)
		fprintf(stderr, "%s\n(regenerate with `make rule-hits` if the change is intended, and review the diff)\n", out);
	ASSERT_EQ(st, 0);
	ASSERT_TRUE(strstr(out, "rules hits: 0 rules differ from tests/data/rule-hits.tsv") != NULL);
	/* the run covered SigmaHQ's cases and ours, and every case's rule fired on it */
	ASSERT_TRUE(strstr(out, " 0 silent on their own case") != NULL);
	const char *p = strstr(out, "rules, ");
	int cases = 0;
	ASSERT_TRUE(p && sscanf(p, "rules, %d cases", &cases) == 1);
	ASSERT_GE(cases, 220);
	free(out);
}

/* Project rules only, so it runs fast: a written table read back is clean; edited, each change is reported. */
TEST(e2e_rule_hits_report_differences)
{
	char benign[256], table[64] = "/tmp/vigil-hits-XXXXXX", cmd[4096], *out = NULL;
	int fd = mkstemp(table);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	ASSERT_EQ(make_benign(benign, sizeof(benign), "--seed 7 --benign 800"), 0);
	const char *base = "cd %s && %s/vigil rules hits -r rules --cases tests/data/rules --benign '%s' "
			   "--resolvers 192.168.1.1 %s '%s' 2>&1";
	snprintf(cmd, sizeof(cmd), base, VIGIL_SOURCE_DIR, vg_test_build_dir(), benign, "--write", table);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	free(out);
	snprintf(cmd, sizeof(cmd), base, VIGIL_SOURCE_DIR, vg_test_build_dir(), benign, "--expect", table);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	ASSERT_TRUE(strstr(out, "0 rules differ") != NULL);
	free(out);

	/* an engine that fires more often: raise no count, lower one (the table expects fewer hits) */
	snprintf(cmd, sizeof(cmd),
		 "awk -F'\\t' 'BEGIN{OFS=\"\\t\"} /^#/{print;next} !done && $3==\"1\" {$3=\"0\"; done=1; print \"CHANGED\", $1 > \"/dev/stderr\"} "
		 "{print}' '%s' > '%s.2' 2>'%s.id' && mv '%s.2' '%s' && cut -f2 '%s.id'", table, table, table, table, table, table);
	char *changed = NULL;
	ASSERT_EQ(vg_test_run(cmd, &changed), 0);
	changed[strcspn(changed, "\n")] = '\0';
	ASSERT_TRUE(strlen(changed) > 8);
	/* and a rule expected to fire that no longer exists */
	snprintf(cmd, sizeof(cmd), "printf 'gone-rule\\tA rule that vanished\\t1\\t0\\t0\\n' >> '%s'", table);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	free(out);
	snprintf(cmd, sizeof(cmd), base, VIGIL_SOURCE_DIR, vg_test_build_dir(), benign, "--expect", table);
	ASSERT_EQ(vg_test_run(cmd, &out), 1);
	char want[256];
	snprintf(want, sizeof(want), "DIFF %s ", changed);
	ASSERT_TRUE(strstr(out, want) != NULL);
	ASSERT_TRUE(strstr(out, "own 0 -> 1") != NULL);
	ASSERT_TRUE(strstr(out, "DIFF gone-rule A rule that vanished: own 1 -> -") != NULL);
	ASSERT_TRUE(strstr(out, "rules hits: 2 rules differ") != NULL);
	free(out);
	free(changed);

	/* a malformed expectation names the file and line */
	snprintf(cmd, sizeof(cmd), "printf '#c\\nid\\ttitle\\t1\\tmany\\t0\\n' > '%s'", table);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	free(out);
	snprintf(cmd, sizeof(cmd), base, VIGIL_SOURCE_DIR, vg_test_build_dir(), benign, "--expect", table);
	ASSERT_EQ(vg_test_run(cmd, &out), 2);
	char line[300];
	snprintf(line, sizeof(line), "%s:2: empty rule id or a count that is not a number", table);
	ASSERT_TRUE(strstr(out, line) != NULL);
	free(out);
	unlink(table);
	unlink(benign);
}

TEST(e2e_benign_generator_deterministic)
{
	char cmd[1024], *a = NULL, *b = NULL, *c = NULL;

	snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed 3 --benign 500 | md5sum", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &a), 0);
	ASSERT_EQ(vg_test_run(cmd, &b), 0);
	ASSERT_STR_EQ(a, b);
	snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed 4 --benign 500 | md5sum", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &c), 0);
	ASSERT_TRUE(strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
	/* about N events, Sysmon only, several kinds of ordinary activity, no attack truth */
	char *n = NULL;
	snprintf(cmd, sizeof(cmd),
		 "%s/tools/gen_scenario --seed 3 --benign 2000 | grep -o '\"EventID\":[0-9]*' | sort | uniq -c | wc -l; "
		 "%s/tools/gen_scenario --seed 3 --benign 2000 | wc -l", vg_test_build_dir(), vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &n), 0);
	int kinds = 0, lines = 0;
	ASSERT_EQ(sscanf(n, "%d %d", &kinds, &lines), 2);
	ASSERT_GE(kinds, 7);
	ASSERT_GE(lines, 2000);
	ASSERT_TRUE(lines < 2400);
	free(n);
	char *bad = NULL;
	snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed 3 --benign 0 2>&1", vg_test_build_dir());
	ASSERT_NE(vg_test_run(cmd, &bad), 0);
	ASSERT_TRUE(strstr(bad, "--benign: expected 1..100000000, got '0'") != NULL);
	free(bad);
}

/* Linux benign noise: vg_event JSON the pipeline reads as eBPF events, deterministic, several kinds. */
TEST(e2e_benign_generator_linux)
{
	char cmd[2048], *a = NULL, *b = NULL, *ev = NULL;

	snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed 5 --benign 800 --linux | md5sum", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &a), 0);
	ASSERT_EQ(vg_test_run(cmd, &b), 0);
	ASSERT_STR_EQ(a, b);
	free(a);
	free(b);
	/* through the real pipeline: every line is read as a Linux event, of at least 7 types */
	snprintf(cmd, sizeof(cmd),
		 "%s/tools/gen_scenario --seed 5 --benign 800 --linux > /tmp/vigil-lx-$$.json && "
		 "%s/vigil events /tmp/vigil-lx-$$.json 2>/dev/null | grep -c '\"platform\":\"linux\"'; "
		 "%s/vigil events /tmp/vigil-lx-$$.json 2>/dev/null | grep -o '\"type\":\"[a-z_]*\"' | sort -u | wc -l; "
		 "wc -l < /tmp/vigil-lx-$$.json; rm -f /tmp/vigil-lx-$$.json",
		 vg_test_build_dir(), vg_test_build_dir(), vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &ev), 0);
	int linux_events = 0, types = 0, lines = 0;
	ASSERT_EQ(sscanf(ev, "%d %d %d", &linux_events, &types, &lines), 3);
	ASSERT_GE(lines, 800);
	ASSERT_EQ(linux_events, lines);
	ASSERT_GE(types, 7);
	free(ev);
	char *bad = NULL;
	snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed 5 --linux 2>&1", vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &bad), 2);
	ASSERT_TRUE(strstr(bad, "--linux needs --benign N") != NULL);
	free(bad);
}

/* --placeholders on the command line: SigmaHQ's two known_cdcs rules fail without it, with the reason, and load with it. */
TEST(e2e_placeholders_option)
{
	char cmd[4096], *out = NULL;
	const char *s = vg_test_shared_dir();
	const char *dir = "sigma/rules-emerging-threats/2026/Exploits/CVE-2026-54121";

	snprintf(cmd, sizeof(cmd), "cd %s && %s/vigil rules check '%s/%s' 2>&1", VIGIL_SOURCE_DIR, vg_test_build_dir(), s, dir);
	ASSERT_EQ(vg_test_run(cmd, &out), 1);
	ASSERT_TRUE(strstr(out, "unknown placeholder '%known_cdcs%' (no values given; set them with --placeholders FILE)") != NULL);
	ASSERT_TRUE(strstr(out, "failed: 2") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "cd %s && %s/vigil rules check '%s/%s' --placeholders rules/placeholders.example.yml 2>&1",
		 VIGIL_SOURCE_DIR, vg_test_build_dir(), s, dir);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	ASSERT_TRUE(strstr(out, "failed: 0") != NULL);
	free(out);
	/* a bad placeholders file stops hunt with file, line and reason */
	snprintf(cmd, sizeof(cmd), "printf 'ok: [a]\\nbad: []\\n' > /tmp/vigil-ph-$$.yml && cd %s && "
		 "%s/vigil hunt --placeholders /tmp/vigil-ph-$$.yml tests/data/dofoil/scenario.json 2>&1; echo \"rc=$?\"; rm -f /tmp/vigil-ph-$$.yml",
		 VIGIL_SOURCE_DIR, vg_test_build_dir());
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	ASSERT_TRUE(strstr(out, ".yml:2: placeholders: 'bad': the list is empty") != NULL);
	ASSERT_TRUE(strstr(out, "rc=2") != NULL);
	free(out);
}
