/* test_sigma_equiv.c - the optimized matcher (index, prefilter, verification) and the naive rule-by-rule evaluator must report the same rules, in the same order, for every event of the SigmaHQ regression data and the EVTX attack samples. */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vigil/sigma.h"
#include "vigil/source.h"
#include "engine/sigma_int.h"
#include "test.h"

#define MAXHITS 256

struct hits {
	const struct vg_rule *r[MAXHITS];
	int n;
};

static void collect(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	struct hits *h = ctx;
	(void)ev;
	if (h->n < MAXHITS)
		h->r[h->n] = r;
	h->n++;
}

struct equiv {
	const struct vg_ruleset *rs;
	struct vg_event *ev;
	long events, matches, differences, files;
};

/* Both evaluators on one event; reports the first rules that differ. */
static void compare(struct equiv *q, const char *file)
{
	struct hits a = { 0 }, b = { 0 };
	int ra = vg_ruleset_match(q->rs, q->ev, collect, &a);
	int rb = vg_ruleset_match_naive(q->rs, q->ev, collect, &b);
	int same = ra == a.n && rb == b.n && a.n == b.n;

	for (int i = 0; same && i < a.n && i < MAXHITS; i++)
		same = a.r[i] == b.r[i];
	q->events++;
	q->matches += a.n;
	if (same)
		return;
	if (q->differences++ < 10) {
		fprintf(stderr, "    %s record %llu: engine %d matches, naive %d\n", file,
			(unsigned long long)q->ev->record_id, a.n, b.n);
		for (int i = 0; i < a.n && i < MAXHITS; i++)
			fprintf(stderr, "      engine: %s\n", a.r[i]->file);
		for (int i = 0; i < b.n && i < MAXHITS; i++)
			fprintf(stderr, "      naive:  %s\n", b.r[i]->file);
	}
}

static void run_file(struct equiv *q, const char *path)
{
	struct vg_source *src;
	int rc;

	if (vg_source_open(path, VG_FMT_AUTO, &src))
		return;
	q->files++;
	while ((rc = vg_source_next(src, q->ev)) != 0)
		if (rc > 0)
			compare(q, path);
	vg_source_free(src);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.evtx and *.json under dir, in name order. */
static void walk(struct equiv *q, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **v = realloc(names, cap * sizeof(*v));
			if (!v)
				break;
			names = v;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		size_t len = names[i] ? strlen(names[i]) : 0;
		if (!names[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 12)
				walk(q, path, depth + 1);
		} else if ((len > 5 && strcmp(names[i] + len - 5, ".evtx") == 0) ||
			   (len > 5 && strcmp(names[i] + len - 5, ".json") == 0)) {
			run_file(q, path);
		}
		free(names[i]);
	}
	free(names);
}

static struct vg_ruleset *full_sigmahq(void)
{
	static const char *const dirs[] = { "rules", "rules-emerging-threats", "rules-threat-hunting" };
	struct vg_ruleset *rs;
	char path[1024];

	if (vg_ruleset_new(&rs))
		return NULL;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/sigma/%s", vg_test_shared_dir(), dirs[i]);
		if (vg_ruleset_load_path(rs, path, NULL, NULL) < 0) {
			vg_ruleset_free(rs);
			return NULL;
		}
	}
	return rs;
}

static void equiv_over(int *vg_test_failed, const char *sub, long min_events, long min_matches)
{
	struct equiv q = { 0 };
	struct vg_ruleset *rs = full_sigmahq();
	char path[1024];

	ASSERT_TRUE(rs != NULL);
	ASSERT_GE(vg_ruleset_count(rs), 3000);
	ASSERT_TRUE((q.ev = vg_event_new()) != NULL);
	q.rs = rs;
	snprintf(path, sizeof(path), "%s/%s", vg_test_shared_dir(), sub);
	walk(&q, path, 0);
	fprintf(stderr, "    %s: %ld files, %ld events, %ld matches, %ld differences between engine and naive\n", sub,
		q.files, q.events, q.matches, q.differences);
	vg_event_free(q.ev);
	vg_ruleset_free(rs);
	ASSERT_GE(q.events, min_events);
	ASSERT_GE(q.matches, min_matches);
	ASSERT_EQ(q.differences, 0);
}

TEST(sigma_equiv_regression_data)
{
	/* 202 samples, each as EVTX and as JSON; every one fires at least its own rule */
	equiv_over(vg_test_failed, "sigma/regression_data", 400, 400);
}

TEST(sigma_equiv_evtx_attack_samples)
{
	equiv_over(vg_test_failed, "evtx-attack-samples", 8000, 1000);
}

/* The naive evaluator is a reference, so check it on its own against a known answer too. */
TEST(sigma_equiv_naive_reference)
{
	static const char rule[] = "title: t\nlogsource:\n  category: process_creation\n  product: windows\n"
				   "detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
	struct vg_ruleset *rs;
	struct hits h = { 0 };

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "t.yml", rule, sizeof(rule) - 1, NULL, NULL), 1);
	struct vg_event *yes = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "Image", "C:\\Windows\\System32\\WHOAMI.EXE",
					      NULL);
	struct vg_event *no = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "Image", "C:\\Windows\\System32\\cmd.exe", NULL);
	struct vg_event *other = vg_test_sysmon(3, "2024-01-01T00:00:00Z", "Image", "C:\\Windows\\System32\\whoami.exe",
						NULL);
	ASSERT_TRUE(yes && no && other);
	ASSERT_EQ(vg_ruleset_match_naive(rs, yes, collect, &h), 1);
	ASSERT_EQ(h.n, 1);
	ASSERT_EQ(vg_ruleset_match_naive(rs, no, collect, &h), 0);
	ASSERT_EQ(vg_ruleset_match_naive(rs, other, collect, &h), 0); /* network event: logsource differs */
	ASSERT_EQ(vg_ruleset_match(rs, yes, NULL, NULL), 1);
	vg_event_free(yes);
	vg_event_free(no);
	vg_event_free(other);
	vg_ruleset_free(rs);
}

/* The character count that refutes '\+.*\+...' patterns before PCRE2 runs must never refute a real match. */
TEST(sigma_equiv_regex_count_precheck)
{
	static const char rule[] = "title: t\nlogsource:\n  category: process_creation\n  product: windows\n"
				   "detection:\n  sel:\n    CommandLine|re: '\\+.*\\+.*\\+.*?x.+\\+'\n  condition: sel\n";
	static const char rule_i[] = "title: t\nlogsource:\n  category: process_creation\n  product: windows\n"
				     "detection:\n  sel:\n    CommandLine|re|i: 'a.*a.*a'\n  condition: sel\n";
	static const struct { const char *cmd; int want; } cases[] = {
		{ "+++x+", 0 },      /* .+ needs a character between x and the last + */
		{ "+++xy+", 1 },     /* four pluses, exactly as many as needed */
		{ "+ + x +", 0 },    /* three pluses: refuted by the count */
		{ "a+b+c+dxe+f", 1 },
		{ "", 0 },
		{ "++\n++x+", 0 },   /* four pluses, but '.' does not cross the newline */
		{ "+\n+++xy+", 1 },  /* the last line alone has them */
	};
	struct vg_ruleset *rs, *rsi;

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "t.yml", rule, sizeof(rule) - 1, NULL, NULL), 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct vg_event *ev = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "CommandLine", cases[i].cmd, NULL);
		ASSERT_TRUE(ev != NULL);
		int got = vg_ruleset_match(rs, ev, NULL, NULL), naive = vg_ruleset_match_naive(rs, ev, NULL, NULL);
		vg_event_free(ev);
		if (got != cases[i].want || naive != cases[i].want)
			VG_FAIL_("'%s': engine %d, naive %d, want %d", cases[i].cmd, got, naive, cases[i].want);
	}
	vg_ruleset_free(rs);
	/* caseless: letters are not counted (A and a both match), so 'AaA' still matches */
	ASSERT_EQ(vg_ruleset_new(&rsi), 0);
	ASSERT_EQ(vg_ruleset_load_text(rsi, "t.yml", rule_i, sizeof(rule_i) - 1, NULL, NULL), 1);
	struct vg_event *ev = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "CommandLine", "AaA", NULL);
	ASSERT_TRUE(ev != NULL);
	ASSERT_EQ(vg_ruleset_match(rsi, ev, NULL, NULL), 1);
	vg_event_free(ev);
	vg_ruleset_free(rsi);
}

/*
 * Regexes made of literals and ".*" / ".+" are decided without PCRE2 (an
 * earliest-match scan per line). Differential check against PCRE2 itself,
 * compiled as the engine compiles rules, on pseudo-random values with
 * newlines, carriage returns and non-ASCII bytes.
 */
TEST(sigma_equiv_regex_sequence_vs_pcre2)
{
	static const char *const pats[] = {
		"\\+.*\\+.*\\+", "a.+b.*c", ".+x", "x.+", "ab.*cd.+ef", "`.*`.*`", "\\{.*\\{.*?\\{", "a.+?.+b", "x.*", "ab",
	};
	static const char alphabet[] = "ab+x`{cdef\n\r \xc3\xa9";
	enum { NVAL = 600 };
	struct vg_event *evs[NVAL];
	char vals[NVAL][32];
	uint64_t seed = 12345;
	long checked = 0, positive = 0;

	for (int i = 0; i < NVAL; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int len = (int)((seed >> 33) % 28);
		for (int k = 0; k < len; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			vals[i][k] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
		}
		vals[i][len] = '\0';
		ASSERT_TRUE((evs[i] = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "CommandLine", vals[i], NULL)) != NULL);
	}
	for (size_t p = 0; p < sizeof(pats) / sizeof(*pats); p++) {
		char rule[512];
		int n = snprintf(rule, sizeof(rule), "title: t\nlogsource:\n  category: process_creation\n  product: windows\n"
				 "detection:\n  sel:\n    CommandLine|re: '%s'\n  condition: sel\n", pats[p]);
		struct vg_ruleset *rs;
		int ec;
		PCRE2_SIZE eo;
		ASSERT_EQ(vg_ruleset_new(&rs), 0);
		ASSERT_EQ(vg_ruleset_load_text(rs, "t.yml", rule, (size_t)n, NULL, NULL), 1);
		/* the fast path is really in use for this pattern */
		const struct sg_value *v = &rs->rules[0]->sels[0].g[0].m[0].values[0];
		ASSERT_EQ(v->kind, VK_RE);
		ASSERT_EQ(v->re_seq_ok, 1);
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pats[p], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
					       &ec, &eo, NULL);
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		ASSERT_TRUE(re && md);
		for (int i = 0; i < NVAL; i++) {
			int want = pcre2_match(re, (PCRE2_SPTR)vals[i], strlen(vals[i]), 0, 0, md, NULL) >= 0;
			int got = vg_ruleset_match(rs, evs[i], NULL, NULL);
			checked++;
			positive += want;
			if (got != want) {
				pcre2_code_free(re);
				pcre2_match_data_free(md);
				VG_FAIL_("pattern '%s' on value '%s': engine %d, PCRE2 %d", pats[p], vals[i], got, want);
			}
		}
		pcre2_code_free(re);
		pcre2_match_data_free(md);
		vg_ruleset_free(rs);
	}
	for (int i = 0; i < NVAL; i++)
		vg_event_free(evs[i]);
	fprintf(stderr, "    regex sequences: %ld values checked against PCRE2, %ld matches\n", checked, positive);
	ASSERT_GE(positive, 300);
	ASSERT_GE(checked - positive, 300);
}

/*
 * Fields whose anchors are all long (Hashes) are probed every few bytes with
 * 8-byte windows instead of at every byte: an anchor must be found at every
 * offset, and a near miss must not match.
 */
TEST(sigma_equiv_long_anchor_every_offset)
{
	static const char rules[] =
		"title: a\nlogsource:\n  category: process_creation\n  product: windows\n"
		"detection:\n  sel:\n    Hashes|contains: 'IMPHASH=0A1B2C3D4E5F60718293A4B5C6D7E8F9'\n  condition: sel\n"
		"---\n"
		"title: b\nlogsource:\n  category: process_creation\n  product: windows\n"
		"detection:\n  sel:\n    Hashes|contains:\n      - 'SHA1=FFEEDDCCBBAA99887766'\n"
		"      - 'MD5=00112233445566778899AABBCCDDEEFF'\n  condition: sel\n";
	static const char *const lits[] = { "IMPHASH=0a1b2c3d4e5f60718293a4b5c6d7e8f9", "SHA1=FFEEDDCCBBAA99887766",
					    "md5=00112233445566778899aabbccddeeff" };
	struct vg_ruleset *rs;
	char val[256];
	long found = 0;

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "t.yml", rules, sizeof(rules) - 1, NULL, NULL), 2);
	for (size_t l = 0; l < 3; l++) {
		for (int pre = 0; pre < 48; pre++) {
			for (int miss = 0; miss < 2; miss++) {
				int k = 0;
				for (int j = 0; j < pre; j++)
					val[k++] = "0123456789ABCDEF,="[(j * 7 + pre) % 18];
				int at = k;
				k += snprintf(val + k, sizeof(val) - (size_t)k, "%s,SHA256=99", lits[l]);
				if (miss) /* change one character of the literal (its last hex digit) */
					val[at + (int)strlen(lits[l]) - 1] ^= 0x01;
				struct vg_event *ev = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "Hashes", val, NULL);
				ASSERT_TRUE(ev != NULL);
				int got = vg_ruleset_match(rs, ev, NULL, NULL), naive = vg_ruleset_match_naive(rs, ev, NULL, NULL);
				vg_event_free(ev);
				if (got != !miss || naive != !miss)
					VG_FAIL_("'%s': engine %d, naive %d, want %d", val, got, naive, !miss);
				found += got;
			}
		}
	}
	vg_ruleset_free(rs);
	ASSERT_EQ(found, 3 * 48);
}

/*
 * Wildcard values (the glob matcher, whose star skips ahead to the next copy
 * of a literal byte) against fnmatch(3), which means the same for lower-case
 * ASCII without brackets or backslashes: '*' any run, '?' one character.
 */
TEST(sigma_equiv_glob_vs_fnmatch)
{
	static const char *const pats[] = { "a*b?c*", "*ab*ba*", "?a*a?", "*a*b*c*d", "b*", "*c", "a??*c?*a", "*a*", "ab*ab*ab" };
	static const char alphabet[] = "abcd";
	enum { NVAL = 500 };
	struct vg_event *evs[NVAL];
	char vals[NVAL][24];
	uint64_t seed = 777;
	long checked = 0, positive = 0;

	for (int i = 0; i < NVAL; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int len = (int)((seed >> 33) % 20);
		for (int k = 0; k < len; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			vals[i][k] = alphabet[(seed >> 33) % 4];
		}
		vals[i][len] = '\0';
		ASSERT_TRUE((evs[i] = vg_test_sysmon(1, "2024-01-01T00:00:00Z", "CommandLine", vals[i], NULL)) != NULL);
	}
	for (size_t p = 0; p < sizeof(pats) / sizeof(*pats); p++) {
		char rule[512];
		int n = snprintf(rule, sizeof(rule), "title: t\nlogsource:\n  category: process_creation\n  product: windows\n"
				 "detection:\n  sel:\n    CommandLine: '%s'\n  condition: sel\n", pats[p]);
		struct vg_ruleset *rs;
		ASSERT_EQ(vg_ruleset_new(&rs), 0);
		ASSERT_EQ(vg_ruleset_load_text(rs, "t.yml", rule, (size_t)n, NULL, NULL), 1);
		for (int i = 0; i < NVAL; i++) {
			int want = fnmatch(pats[p], vals[i], 0) == 0;
			int got = vg_ruleset_match(rs, evs[i], NULL, NULL);
			checked++;
			positive += want;
			if (got != want)
				VG_FAIL_("pattern '%s' on value '%s': engine %d, fnmatch %d", pats[p], vals[i], got, want);
		}
		vg_ruleset_free(rs);
	}
	for (int i = 0; i < NVAL; i++)
		vg_event_free(evs[i]);
	fprintf(stderr, "    globs: %ld values checked against fnmatch, %ld matches\n", checked, positive);
	ASSERT_GE(positive, 200);
}
