/* test_hunt.c - end-to-end tests of `vigil hunt`: the Dofoil scenario as incidents, random variants, the attack samples, bad input and exit codes. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/test.h"
#include "vigil/json.h"

/* One alert line, reduced to what the tests look at. */
struct alert_row {
	char rule[160];
	char level[16];
	char technique[24];
	char incident[32];
	char host[64];
	char entity[80];  /* the alert's process ProcessGuid, braces stripped */
	char image[260];
	char reg[300];
};

struct hunt_out {
	struct alert_row *rows;
	size_t n;
	int status;
	char *err;
};

static void copy_leaf(char *dst, size_t size, const struct vg_json_leaf *l)
{
	const char *v = l->value;
	size_t n = l->value_len;
	if (n >= 2 && v[0] == '{' && v[n - 1] == '}') {
		v++;
		n -= 2;
	}
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

#define PATH_IS(l, lit) ((l)->path_len == sizeof(lit) - 1 && memcmp((l)->path, lit, sizeof(lit) - 1) == 0)

/* Runs vigil hunt with args, parses every alert line of stdout. */
static struct hunt_out hunt(const char *args)
{
	struct hunt_out h = { 0 };
	char cmd[8192], errpath[] = "/tmp/vigil-e2e-err-XXXXXX";
	char *out = NULL;
	int fd = mkstemp(errpath);

	close(fd);
	snprintf(cmd, sizeof(cmd), "%s/vigil hunt %s 2>%s", vg_test_build_dir(), args, errpath);
	h.status = vg_test_run(cmd, &out);
	struct vg_json_doc doc;
	vg_json_doc_init(&doc);
	for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (!len || line[0] != '{')
			continue;
		if (vg_json_flatten(&doc, line, len, NULL))
			continue;
		h.rows = realloc(h.rows, (h.n + 1) * sizeof(*h.rows));
		struct alert_row *r = &h.rows[h.n++];
		memset(r, 0, sizeof(*r));
		for (uint32_t i = 0; i < doc.nleaves; i++) {
			const struct vg_json_leaf *l = &doc.leaves[i];
			if (PATH_IS(l, "rule.name"))
				copy_leaf(r->rule, sizeof(r->rule), l);
			else if (PATH_IS(l, "rule.level"))
				copy_leaf(r->level, sizeof(r->level), l);
			else if (PATH_IS(l, "threat.technique.id"))
				copy_leaf(r->technique, sizeof(r->technique), l);
			else if (PATH_IS(l, "incident.id"))
				copy_leaf(r->incident, sizeof(r->incident), l);
			else if (PATH_IS(l, "host.name"))
				copy_leaf(r->host, sizeof(r->host), l);
			else if (PATH_IS(l, "events.process.entity_id") && !r->entity[0])
				copy_leaf(r->entity, sizeof(r->entity), l);
			else if (PATH_IS(l, "events.process.executable") && !r->image[0])
				copy_leaf(r->image, sizeof(r->image), l);
			else if (PATH_IS(l, "events.registry.path") && !r->reg[0])
				copy_leaf(r->reg, sizeof(r->reg), l);
		}
	}
	vg_json_doc_free(&doc);
	free(out);
	snprintf(cmd, sizeof(cmd), "cat %s", errpath);
	vg_test_run(cmd, &h.err);
	unlink(errpath);
	return h;
}

static void hunt_free(struct hunt_out *h)
{
	free(h->rows);
	free(h->err);
}

static size_t count_incidents(const struct hunt_out *h)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++) {
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(h->rows[i].incident, h->rows[j].incident) == 0;
		n += !seen;
	}
	return n;
}

/* The incident of the first alert with this technique prefix, or NULL. */
static const char *incident_with(const struct hunt_out *h, const char *tech)
{
	for (size_t i = 0; i < h->n; i++)
		if (strncmp(h->rows[i].technique, tech, strlen(tech)) == 0)
			return h->rows[i].incident;
	return NULL;
}

static int incident_has(const struct hunt_out *h, const char *inc, const char *tech)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->rows[i].incident, inc) == 0 &&
		    strncmp(h->rows[i].technique, tech, strlen(tech)) == 0)
			return 1;
	return 0;
}

#define SCENARIO VIGIL_SOURCE_DIR "/tests/data/dofoil/scenario.json"

TEST(e2e_dofoil_scenario_is_one_incident_with_every_stage)
{
	struct hunt_out h = hunt("-f json " SCENARIO);

	ASSERT_EQ(h.status, 1); /* alerts, no errors */
	ASSERT_GE(h.n, 10);
	const char *dofoil = incident_with(&h, "T1071.004"); /* the .bit C&C query */
	ASSERT_TRUE(dofoil != NULL);
	/* every stage of the case, in that one incident */
	ASSERT_TRUE(incident_has(&h, dofoil, "T1055"));     /* hollowing / injection */
	ASSERT_TRUE(incident_has(&h, dofoil, "T1036"));     /* masqueraded miner */
	ASSERT_TRUE(incident_has(&h, dofoil, "T1496"));     /* mining */
	ASSERT_TRUE(incident_has(&h, dofoil, "T1547.001")); /* Run key persistence */
	ASSERT_TRUE(incident_has(&h, dofoil, "T1105"));     /* dropped and executed */
	/* the unrelated attack (credential dump) is a separate incident */
	const char *other = incident_with(&h, "T1003");
	ASSERT_TRUE(other != NULL);
	ASSERT_TRUE(strcmp(other, dofoil) != 0);
	/* the benign noise raised nothing: two attacks, two incidents */
	ASSERT_EQ(count_incidents(&h), 2);
	/* the legitimate look-alikes never raise a high alert */
	for (size_t i = 0; i < h.n; i++) {
		const struct alert_row *r = &h.rows[i];
		int high = strcmp(r->level, "high") == 0 || strcmp(r->level, "critical") == 0;
		if (!high)
			continue;
		ASSERT_TRUE(!strstr(r->image, "OneDrive.exe"));
		ASSERT_TRUE(strcasecmp(r->image, "C:\\Windows\\System32\\wuauclt.exe") != 0);
		ASSERT_TRUE(!strstr(r->image, "ChromeSetup"));
	}
	hunt_free(&h);
}

TEST(e2e_dofoil_tree_view)
{
	char *out = NULL;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s/vigil hunt -q --color never --format tree %s", vg_test_build_dir(), SCENARIO);
	ASSERT_EQ(vg_test_run(cmd, &out), 1);
	/* two incidents, each drawn as a tree with matched behaviors marked */
	const char *p = strstr(out, "== Incident ");
	ASSERT_TRUE(p != NULL);
	ASSERT_TRUE(strstr(p + 1, "== Incident ") != NULL);
	ASSERT_TRUE(strstr(out, "└─ C:\\Windows\\SysWOW64\\explorer.exe") != NULL);
	ASSERT_TRUE(strstr(out, "!! [high]") != NULL);
	ASSERT_TRUE(strstr(out, "(T1547.001)") != NULL);
	ASSERT_TRUE(strstr(out, "registry_set") != NULL);
	ASSERT_TRUE(strstr(out, "network_connect") != NULL);
	free(out);
}

TEST(e2e_inputs_split_in_two_files_merge_by_time)
{
	/* odd and even lines in two files: the merge must rebuild the same incidents */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "awk 'NR%%2==1' %s > /tmp/vigil-e2e-a.json && awk 'NR%%2==0' %s > /tmp/vigil-e2e-b.json",
		 SCENARIO, SCENARIO);
	ASSERT_EQ(vg_test_run(cmd, NULL), 0);
	struct hunt_out one = hunt("-f json " SCENARIO);
	struct hunt_out two = hunt("-f json /tmp/vigil-e2e-a.json /tmp/vigil-e2e-b.json");
	ASSERT_EQ(two.status, 1);
	ASSERT_EQ(two.n, one.n);
	ASSERT_EQ(count_incidents(&two), count_incidents(&one));
	hunt_free(&one);
	hunt_free(&two);
	unlink("/tmp/vigil-e2e-a.json");
	unlink("/tmp/vigil-e2e-b.json");
}

/* Stage -> technique the stage must be detected as (prefix), from gen_scenario --truth. */
static const struct {
	const char *stage, *technique;
} stage_tech[] = {
	{ "hollow_access", "T1055" },   { "hollow_remote_thread", "T1055" }, { "hollow_tamper", "T1055" },
	{ "miner_exec", "T1036" },      { "miner_connect", "T1496" },        { "persist_runkey", "T1547.001" },
	{ "cnc_exec", "T1105" },        { "cnc_copy_exec", "T1105" },        { "cnc_query", "T1071.004" },
	{ "cnc_dns_proxy", "T1071.004" },
};

TEST(e2e_random_variants_are_detected)
{
	char cmd[2048], *truth = NULL;

	for (int seed = 11; seed <= 14; seed++) {
		snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed %d > /tmp/vigil-e2e-variant.json",
			 vg_test_build_dir(), seed);
		ASSERT_EQ(vg_test_run(cmd, NULL), 0);
		snprintf(cmd, sizeof(cmd), "%s/tools/gen_scenario --seed %d --truth", vg_test_build_dir(), seed);
		ASSERT_EQ(vg_test_run(cmd, &truth), 0);
		struct hunt_out h = hunt("-f json /tmp/vigil-e2e-variant.json");
		ASSERT_EQ(h.status, 1);
		const char *inc = NULL;
		size_t stages = 0;
		for (char *line = truth, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			char *tab = strchr(line, '\t');
			if (!tab)
				continue;
			*tab = '\0';
			const char *stage = line, *guid = tab + 1;
			const char *want = NULL;
			for (size_t k = 0; k < sizeof(stage_tech) / sizeof(*stage_tech); k++)
				if (strcmp(stage_tech[k].stage, stage) == 0)
					want = stage_tech[k].technique;
			/* every stage's process raised an alert (with the stage's technique when known) */
			int found = 0;
			for (size_t i = 0; i < h.n && !found; i++) {
				if (strcasecmp(h.rows[i].entity, guid) != 0)
					continue;
				if (want && strncmp(h.rows[i].technique, want, strlen(want)) != 0)
					continue;
				found = 1;
				if (!inc)
					inc = h.rows[i].incident;
				/* all in one incident */
				ASSERT_STR_EQ(h.rows[i].incident, inc);
			}
			if (!found)
				fprintf(stderr, "    seed %d: stage %s (%s) not detected as %s\n", seed, stage, guid,
					want ? want : "anything");
			ASSERT_TRUE(found);
			stages++;
		}
		ASSERT_GE(stages, 10);
		/* the chain correlation (rules/windows/correlation_win_vigil_dofoil_chain_by_ancestor.yml) fires once, in the same incident */
		size_t chain = 0;
		for (size_t i = 0; i < h.n; i++) {
			if (strcmp(h.rows[i].rule, "Hollowed Process Tree Drops A Program, Makes It Start At Logon And Runs It") == 0) {
				chain++;
				ASSERT_STR_EQ(h.rows[i].incident, inc);
				ASSERT_STR_EQ(h.rows[i].level, "critical");
			}
		}
		ASSERT_EQ(chain, 1);
		free(truth);
		truth = NULL;
		hunt_free(&h);
	}
	unlink("/tmp/vigil-e2e-variant.json");
}


static struct hunt_out hunt_sample(const char *rel)
{
	char args[2048];
	snprintf(args, sizeof(args), "-f json '%s/evtx-attack-samples/%s'", vg_test_shared_dir(), rel);
	return hunt(args);
}

static int has_technique(const struct hunt_out *h, const char *tech)
{
	for (size_t i = 0; i < h->n; i++)
		if (strncmp(h->rows[i].technique, tech, strlen(tech)) == 0)
			return 1;
	return 0;
}

TEST(e2e_attack_samples_injection_persistence_masquerading)
{
	static const struct {
		const char *file, *tech[3];
	} cases[] = {
		{ "Defense Evasion/apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx",
		  { "T1055", "T1543", NULL } },
		{ "AutomatedTestingTools/Malware/rundll32_hollowing_wermgr_masquerading.evtx", { "T1055", "T1036", NULL } },
		{ "Persistence/evasion_persis_hidden_run_keyvalue_sysmon_13.evtx", { "T1547.001", NULL } },
		{ "AutomatedTestingTools/Malware/sideloading_injection_persistence_run_key.evtx",
		  { "T1547.001", "T1055", NULL } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct hunt_out h = hunt_sample(cases[i].file);
		ASSERT_TRUE(h.status == 1 || h.status == 3);
		for (int k = 0; k < 3 && cases[i].tech[k]; k++) {
			if (!has_technique(&h, cases[i].tech[k]))
				fprintf(stderr, "    %s: no alert with %s\n", cases[i].file, cases[i].tech[k]);
			ASSERT_TRUE(has_technique(&h, cases[i].tech[k]));
		}
		hunt_free(&h);
	}
}

TEST(e2e_all_attack_samples_read_without_crash)
{
	char args[1024];
	snprintf(args, sizeof(args), "-f json '%s/evtx-attack-samples'", vg_test_shared_dir());
	struct hunt_out h = hunt(args);
	/* alerts (1) or alerts and reported bad records (3); never a crash */
	ASSERT_TRUE(h.status == 1 || h.status == 3);
	ASSERT_TRUE(strstr(h.err, "vigil: 277 files (0 unreadable)") != NULL);
	ASSERT_GE(h.n, 10);
	hunt_free(&h);
}

TEST(e2e_bad_json_line_is_reported_and_the_rest_is_read)
{
	/* line 3 is cut in the middle; the lines around it still count */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "head -n 2 %s > /tmp/vigil-e2e-bad.json && head -n 3 %s | tail -n 1 | cut -c1-100 >> /tmp/vigil-e2e-bad.json && "
		 "printf '{\"not\": \"an event\"}\\n' >> /tmp/vigil-e2e-bad.json && "
		 "sed -n '4,$p' %s >> /tmp/vigil-e2e-bad.json", SCENARIO, SCENARIO, SCENARIO);
	ASSERT_EQ(vg_test_run(cmd, NULL), 0);
	struct hunt_out h = hunt("-f json /tmp/vigil-e2e-bad.json");
	struct hunt_out good = hunt("-f json " SCENARIO);
	ASSERT_EQ(h.status, 3); /* alerts and errors */
	ASSERT_TRUE(strstr(h.err, "/tmp/vigil-e2e-bad.json:3:") != NULL);
	ASSERT_TRUE(strstr(h.err, "/tmp/vigil-e2e-bad.json:4: not a Windows event") != NULL);
	/* the two attacks are still found */
	ASSERT_EQ(count_incidents(&h), count_incidents(&good));
	hunt_free(&h);
	hunt_free(&good);
	unlink("/tmp/vigil-e2e-bad.json");
}

TEST(e2e_exit_status_and_missing_input)
{
	char cmd[2048];
	/* the first line of the scenario is benign background */
	snprintf(cmd, sizeof(cmd), "head -n 1 %s > /tmp/vigil-e2e-clean.json", SCENARIO);
	ASSERT_EQ(vg_test_run(cmd, NULL), 0);
	struct hunt_out h = hunt("/tmp/vigil-e2e-clean.json");
	ASSERT_EQ(h.status, 0);
	ASSERT_EQ(h.n, 0);
	hunt_free(&h);
	h = hunt("/nonexistent/file.evtx");
	ASSERT_EQ(h.status, 2);
	ASSERT_TRUE(strstr(h.err, "/nonexistent/file.evtx") != NULL);
	hunt_free(&h);
	h = hunt("--format yaml " SCENARIO);
	ASSERT_EQ(h.status, 2);
	hunt_free(&h);
	unlink("/tmp/vigil-e2e-clean.json");
}

TEST(e2e_events_command_writes_vg_event_json)
{
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil events -q %s | head -n 200", vg_test_build_dir(), SCENARIO);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	ASSERT_TRUE(strncmp(out, "{\"vigil\":\"event/1\"", 18) == 0);
	ASSERT_TRUE(strstr(out, "\"derived\":{") != NULL);
	/* and vg_event JSON is read back as input */
	snprintf(cmd, sizeof(cmd), "%s/vigil events -q %s > /tmp/vigil-e2e-events.json", vg_test_build_dir(), SCENARIO);
	ASSERT_EQ(vg_test_run(cmd, NULL), 0);
	struct hunt_out a = hunt("-f json /tmp/vigil-e2e-events.json");
	struct hunt_out b = hunt("-f json " SCENARIO);
	ASSERT_EQ(a.n, b.n);
	ASSERT_EQ(count_incidents(&a), count_incidents(&b));
	hunt_free(&a);
	hunt_free(&b);
	free(out);
	unlink("/tmp/vigil-e2e-events.json");
}

/* The Dofoil chain correlation needs every step: without the Run key (line 88) it stays silent, the other alerts remain. */
TEST(e2e_chain_correlation_needs_every_step)
{
	const char *corr = "Hollowed Process Tree Drops A Program, Makes It Start At Logon And Runs It";
	char cmd[2048];
	size_t n_full = 0, n_cut = 0, hits_full = 0, hits_cut = 0;

	struct hunt_out full = hunt("-f json " VIGIL_SOURCE_DIR "/tests/data/dofoil/scenario.json");
	snprintf(cmd, sizeof(cmd), "sed 88d %s/tests/data/dofoil/scenario.json > /tmp/vigil-e2e-cut.json", VIGIL_SOURCE_DIR);
	ASSERT_EQ(vg_test_run(cmd, NULL), 0);
	struct hunt_out cut = hunt("-f json /tmp/vigil-e2e-cut.json");
	for (size_t i = 0; i < full.n; i++, n_full++)
		hits_full += strcmp(full.rows[i].rule, corr) == 0;
	for (size_t i = 0; i < cut.n; i++, n_cut++)
		hits_cut += strcmp(cut.rows[i].rule, corr) == 0;
	hunt_free(&full);
	hunt_free(&cut);
	unlink("/tmp/vigil-e2e-cut.json");
	ASSERT_EQ(hits_full, 1);
	ASSERT_EQ(hits_cut, 0);
	ASSERT_GE(n_cut, 30);
}
