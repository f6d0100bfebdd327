/* test_rules_iocs.c - the project's rules and rule data must not carry the reference case's literal indicators, and every rule needs an id, a level and an ATT&CK technique tag. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

/*
 * The literal indicators of docs' reference case (file names, C&C name, the
 * three SHA-256 hashes). Rules must detect behaviour, so none of these may
 * appear in them. They are written split in two so that this file itself
 * does not carry them whole (a grep of the repository for them stays empty).
 */
static const char *const indicator_parts[][2] = {
	{ "dite", "reah" },
	{ "ly", "k.exe" },
	{ "d1", "c6" },
	{ "vin", "ik.bit" },
	{ "d191ee5b20ec95fe65d6708cbb01a6ce", "72374b309c9bfb7462206a0c7e039f4d" },
	{ "2b83c69cf32c5f8f43ec2895ec9ac730", "bf73e1b2f37e44a3cf8ce814fb51f120" },
	{ "5f3efdc65551edb0122ab2c40738c48b", "677b1058f7dfcdb86b05af42a2d8299c" },
};
#define NINDICATORS (sizeof(indicator_parts) / sizeof(indicator_parts[0]))

/* What a scan found; problems are also printed, one line each. */
struct scan {
	int files;      /* files read */
	int rules;      /* rule files checked for metadata */
	int problems;
	int quiet;      /* do not print the problems (the scanner's own test) */
};

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Case-insensitive search of needle (already lower-case) in hay of length n. */
static const char *find_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; m && i + m <= n; i++) {
		size_t k = 0;
		while (k < m && tolower((unsigned char)hay[i + k]) == needle[k])
			k++;
		if (k == m)
			return hay + i;
	}
	return NULL;
}

static void check_indicators(struct scan *s, const char *path, const char *text, size_t len)
{
	for (size_t i = 0; i < NINDICATORS; i++) {
		char needle[160];
		snprintf(needle, sizeof(needle), "%s%s", indicator_parts[i][0], indicator_parts[i][1]);
		const char *hit = find_ci(text, len, needle);
		if (hit) {
			unsigned line = 1;
			for (const char *p = text; p < hit; p++)
				line += *p == '\n';
			if (!s->quiet)
				fprintf(stderr, "    %s:%u: contains a literal indicator of the reference case (%.4s...)\n",
					path, line, needle);
			s->problems++;
		}
	}
}

/* Does some line of text, after leading blanks, start with prefix? Returns the rest of that line. */
static const char *line_with(const char *text, const char *prefix, int indented)
{
	size_t pl = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if ((q != p) != indented)
			continue;
		if (strncmp(q, prefix, pl) == 0)
			return q + pl;
	}
	return NULL;
}

/* A tag line "- attack.tNNNN" or "- attack.tNNNN.NNN" anywhere in the rule. */
static int has_technique_tag(const char *text)
{
	for (const char *p = strstr(text, "attack.t"); p; p = strstr(p + 1, "attack.t")) {
		const char *q = p + 8;
		int digits = 0;
		while (isdigit((unsigned char)q[digits]))
			digits++;
		if (digits != 4)
			continue;
		q += 4;
		if (*q == '.') {
			int sub = 0;
			while (isdigit((unsigned char)q[1 + sub]))
				sub++;
			if (sub != 3)
				continue;
			q += 4;
		}
		while (*q == ' ' || *q == '\'' || *q == '"')
			q++;
		if (*q == '\n' || *q == '\r' || *q == '\0' || *q == '#')
			return 1;
	}
	return 0;
}

static void check_rule_metadata(struct scan *s, const char *path, const char *text)
{
	static const char *const levels[] = { "informational", "low", "medium", "high", "critical" };
	const char *v;
	int ok = 0;

	s->rules++;
	if ((v = line_with(text, "level:", 0))) {
		while (*v == ' ' || *v == '\'' || *v == '"')
			v++;
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			size_t n = strlen(levels[i]);
			if (strncmp(v, levels[i], n) == 0 && (v[n] == '\n' || v[n] == '\r' || v[n] == '\0' || v[n] == ' ' ||
							    v[n] == '\'' || v[n] == '"'))
				ok = 1;
		}
	}
	if (!ok) {
		if (!s->quiet)
			fprintf(stderr, "    %s: no valid top-level 'level:'\n", path);
		s->problems++;
	}
	v = line_with(text, "id:", 0);
	while (v && *v == ' ')
		v++;
	if (!v || *v == '\n' || *v == '\r' || *v == '\0') {
		if (!s->quiet)
			fprintf(stderr, "    %s: no top-level 'id:'\n", path);
		s->problems++;
	}
	if (!has_technique_tag(text)) {
		if (!s->quiet)
			fprintf(stderr, "    %s: no 'attack.tNNNN' technique tag\n", path);
		s->problems++;
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Walks dir: every regular file is searched for indicators; when rules is
 * set, every *.yml / *.yaml is also checked as a rule. Missing folders count
 * as a problem so that a moved tree does not make the test pass vacuously.
 */
static void scan_dir(struct scan *s, const char *dir, int rules, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;

	if (!d) {
		if (depth == 0) {
			fprintf(stderr, "    %s: cannot open\n", dir);
			s->problems++;
		}
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 16)
				scan_dir(s, path, rules, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		size_t len = 0;
		char *text = read_all(path, &len);
		if (!text) {
			fprintf(stderr, "    %s: cannot read\n", path);
			s->problems++;
			continue;
		}
		s->files++;
		check_indicators(s, path, text, len);
		if (rules && (ends_with(path, ".yml") || ends_with(path, ".yaml")) && !strstr(path, ".example.y"))
			check_rule_metadata(s, path, text);
		free(text);
	}
	closedir(d);
}

TEST(rules_iocs_no_case_indicators_and_metadata)
{
	struct scan s = { 0 };

	scan_dir(&s, VIGIL_SOURCE_DIR "/rules", 1, 0);
	int rule_files = s.rules;
	scan_dir(&s, VIGIL_SOURCE_DIR "/tests/data/rules", 0, 0);
	scan_dir(&s, VIGIL_SOURCE_DIR "/tests/data/dofoil", 0, 0);
	ASSERT_GE(rule_files, 20);
	ASSERT_GE(s.files, rule_files + 2 * 20);
	ASSERT_EQ(s.problems, 0);
}

/* The scanner itself must catch a bad rule and a file carrying an indicator. */
TEST(rules_iocs_scanner_catches_bad_files)
{
	char dir[] = "/tmp/vigil-iocs-XXXXXX";
	char path[256];
	struct scan s = { .quiet = 1 };
	FILE *f;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/no_level.yml", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs("title: t\nid: 00000000-0000-4000-8000-000000000000\ntags:\n    - attack.execution\n"
	      "detection:\n    selection:\n        level: high\n    condition: selection\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/indicator.json", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "{\"Image\":\"C:\\\\Users\\\\x\\\\AppData\\\\Roaming\\\\%s%s\"}\n", "DITE", "REAH.exe");
	fclose(f);
	snprintf(path, sizeof(path), "%s/good.yml", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs("title: t\nid: 00000000-0000-4000-8000-000000000001\ntags:\n    - attack.execution\n"
	      "    - attack.t1059.001\nlevel: medium\n",
	      f);
	fclose(f);

	scan_dir(&s, dir, 1, 0);
	int problems = s.problems;

	snprintf(path, sizeof(path), "%s/no_level.yml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/indicator.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/good.yml", dir);
	unlink(path);
	rmdir(dir);

	ASSERT_EQ(s.files, 3);
	ASSERT_EQ(s.rules, 2);
	/* no_level.yml: level only nested, no technique tag (2); indicator.json: one indicator (1) */
	ASSERT_EQ(problems, 3);
}
