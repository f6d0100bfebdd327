/* test_sigma_fields.c - the per-logsource field schema: dead rules fail to load with the field and logsource named; placeholders files feed |expand. */
#include <stdlib.h>
#include <string.h>

#include "vigil/sigma.h"
#include "vigil/event.h"
#include "engine/sigma_ext.h"
#include "engine/sigma_int.h"
#include "test.h"

struct ferrs {
	int n;
	unsigned line[8];
	char reason[8][320];
};

static void on_ferr(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct ferrs *e = ctx;
	(void)file;
	if (e->n < 8) {
		e->line[e->n] = line;
		snprintf(e->reason[e->n], sizeof(e->reason[0]), "%s", reason);
	}
	e->n++;
}

/* Loads one rule with logsource ls (YAML lines) and detection det; returns rules loaded, reason in e. */
static int load_one(const char *ls, const char *det, struct ferrs *e, int check)
{
	char text[2048];
	struct vg_ruleset *rs;
	snprintf(text, sizeof(text), "title: t\nlogsource:\n%sdetection:\n%s", ls, det);
	if (vg_ruleset_new(&rs))
		return -100;
	if (!check)
		vg_ruleset_set_field_check(rs, 0);
	int n = vg_ruleset_load_text(rs, "t.yml", text, strlen(text), on_ferr, e);
	vg_ruleset_free(rs);
	return n;
}

#define WIN_FILE "    product: windows\n    category: file_event\n"
#define WIN_PROC "    product: windows\n    category: process_creation\n"

TEST(sigma_fields_dead_rule_named)
{
	struct ferrs e = { 0 };
	/* SigmaHQ's Exchange webshell rule tests CommandLine on file_event: Sysmon 11 has no such field */
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        CommandLine|contains: 'aspx'\n        TargetFilename|endswith: '.aspx'\n"
				     "    condition: sel\n", &e, 1), 0);
	ASSERT_EQ(e.n, 1);
	ASSERT_STR_EQ(e.reason[0], "field CommandLine is never produced for logsource windows/file_event");
	ASSERT_EQ(e.line[0], 7); /* the CommandLine test */
	/* the same rule loads with the check off */
	struct ferrs e2 = { 0 };
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        CommandLine|contains: 'aspx'\n    condition: sel\n", &e2, 0), 1);
	/* Linux network connections carry no DestinationHostname (docs/linux-events.md) */
	struct ferrs e3 = { 0 };
	ASSERT_EQ(load_one("    product: linux\n    category: network_connection\n",
			   "    sel:\n        DestinationHostname|endswith: '.ngrok.io'\n    condition: sel\n", &e3, 1), 0);
	ASSERT_STR_EQ(e3.reason[0], "field DestinationHostname is never produced for logsource linux/network_connection");
}

TEST(sigma_fields_live_rules_load)
{
	struct ferrs e = { 0 };
	/* a missing field in one OR branch leaves the rule alive */
	ASSERT_EQ(load_one(WIN_FILE, "    a:\n        CommandLine|contains: x\n    b:\n        TargetFilename|endswith: '.exe'\n"
				     "    condition: a or b\n", &e, 1), 1);
	/* a filter on a missing field is always false, so "not filter" is always true */
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        TargetFilename|endswith: '.exe'\n    filter:\n        ParentImage: x\n"
				     "    condition: sel and not filter\n", &e, 1), 1);
	/* null and exists: false hold on a field that never occurs */
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        CommandLine: null\n    condition: sel\n", &e, 1), 1);
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        CommandLine|exists: false\n    condition: sel\n", &e, 1), 1);
	/* keywords, Vigil* fields, open logsources (Security other than 4688, PowerShell) */
	ASSERT_EQ(load_one(WIN_FILE, "    kw:\n        - 'mimikatz'\n    condition: kw\n", &e, 1), 1);
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        VigilPersistKind: run_key\n    condition: sel\n", &e, 1), 1);
	ASSERT_EQ(load_one("    product: windows\n    service: security\n", "    sel:\n        Whatever: 1\n    condition: sel\n", &e, 1), 1);
	ASSERT_EQ(load_one("    product: windows\n    category: ps_script\n", "    sel:\n        ScriptBlockText|contains: x\n    condition: sel\n", &e, 1), 1);
	/* Security 4688 fields count for process_creation */
	ASSERT_EQ(load_one(WIN_PROC, "    sel:\n        NewProcessName|endswith: '\\cmd.exe'\n    condition: sel\n", &e, 1), 1);
	ASSERT_EQ(e.n, 0);
}

TEST(sigma_fields_decided_conditions)
{
	struct ferrs e = { 0 };
	/* "not" of a test that is always true on the missing field is always false */
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        TargetFilename|endswith: '.exe'\n    f:\n        CommandLine: null\n"
				     "    condition: sel and not f\n", &e, 1), 0);
	ASSERT_STR_EQ(e.reason[0], "field CommandLine is never produced for logsource windows/file_event");
	/* "2 of" with one selection dead can still be met by... nothing: only one other selection */
	struct ferrs e2 = { 0 };
	ASSERT_EQ(load_one(WIN_FILE, "    s1:\n        TargetFilename: x\n    s2:\n        ParentImage: y\n"
				     "    condition: 2 of s*\n", &e2, 1), 0);
	/* neq and fieldref on a field that never occurs */
	struct ferrs e3 = { 0 };
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        CommandLine|neq: x\n    condition: sel\n", &e3, 1), 0);
	ASSERT_EQ(load_one(WIN_FILE, "    sel:\n        Image|fieldref: ParentImage\n    condition: sel\n", &e3, 1), 0);
	ASSERT_EQ(e3.n, 2);
	ASSERT_TRUE(strstr(e3.reason[1], "field ParentImage is never produced") != NULL);
}

TEST(sigma_fields_schema_lookup)
{
	ASSERT_EQ(vg_sigma_field_produced("windows", "process_creation", NULL, "OriginalFileName"), 1);
	ASSERT_EQ(vg_sigma_field_produced("windows", "process_creation", NULL, "originalfilename"), 1);
	ASSERT_EQ(vg_sigma_field_produced("windows", "process_creation", NULL, "TargetFilename"), 0);
	ASSERT_EQ(vg_sigma_field_produced("windows", "image_load", NULL, "ImageLoaded"), 1);
	ASSERT_EQ(vg_sigma_field_produced("windows", "registry_set", NULL, "Details"), 1);
	ASSERT_EQ(vg_sigma_field_produced("windows", "network_connection", NULL, "EventID"), 1);
	ASSERT_EQ(vg_sigma_field_produced("linux", "process_creation", NULL, "ExeMemfd"), 1);
	ASSERT_EQ(vg_sigma_field_produced("linux", "file_event", NULL, "Image"), 1);
	ASSERT_EQ(vg_sigma_field_produced("windows", NULL, "security", "Anything"), -1);
	ASSERT_EQ(vg_sigma_field_produced("macos", "process_creation", NULL, "Anything"), -1);
	/* every Sysmon 1 field the real mapper produces is in the schema */
	struct vg_event *ev = vg_test_sysmon(1, "2024-01-01 00:00:00.000", "Image", "C:\\x.exe", "CommandLine", "x",
					    "ParentImage", "C:\\p.exe", "ParentCommandLine", "p", "Hashes", "MD5=1",
					    "IntegrityLevel", "High", "OriginalFileName", "x.exe", NULL);
	ASSERT_TRUE(ev != NULL);
	for (size_t i = 0; i < ev->nraw; i++)
		if (vg_sigma_field_produced("windows", "process_creation", NULL, vg_field_name(ev->fields[i].id)) != 1)
			VG_FAIL_("mapper field %s missing from the schema", vg_field_name(ev->fields[i].id));
	vg_event_free(ev);
}

TEST(sigma_placeholders_file)
{
	static const char ph[] = "# comment\nAdmins:\n  - 'admin*'\n  - root\nsingle: 'jump0?.corp'\n";
	static const char rule[] = "title: t\nlogsource:\n    product: windows\n    category: process_creation\n"
				   "detection:\n    sel:\n        User|expand: '%Admins%'\n    condition: sel\n";
	struct ferrs e = { 0 };
	struct vg_ruleset *rs;

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_placeholders_text(rs, "p.yml", ph, strlen(ph), on_ferr, &e), 2);
	ASSERT_EQ(vg_ruleset_load_text(rs, "r.yml", rule, strlen(rule), on_ferr, &e), 1);
	ASSERT_EQ(e.n, 0);
	struct vg_event *a = vg_test_sysmon(1, "2024-01-01 00:00:00.000", "User", "administrator", NULL);
	struct vg_event *b = vg_test_sysmon(1, "2024-01-01 00:00:00.000", "User", "bob", NULL);
	ASSERT_EQ(vg_ruleset_match(rs, a, NULL, NULL), 1);
	ASSERT_EQ(vg_ruleset_match(rs, b, NULL, NULL), 0);
	vg_event_free(a);
	vg_event_free(b);
	vg_ruleset_free(rs);

	/* without the file: the rule fails and says how to give the values */
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "r.yml", rule, strlen(rule), on_ferr, &e), 0);
	ASSERT_TRUE(strstr(e.reason[0], "unknown placeholder '%Admins%' (no values given; set them with --placeholders FILE)") != NULL);
	vg_ruleset_free(rs);
}

TEST(sigma_placeholders_errors)
{
	static const char bad[] = "ok: [a]\nx: [a, {b: c}]\ny:\nz: []\n'%q%': [1]\n";
	struct ferrs e = { 0 };
	struct vg_ruleset *rs;

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_placeholders_text(rs, "bad.yml", bad, strlen(bad), on_ferr, &e), VG_EPARSE);
	ASSERT_EQ(e.n, 4);
	ASSERT_STR_EQ(e.reason[0], "placeholders: 'x' value 2: expected text, got a map");
	ASSERT_EQ(e.line[0], 2);
	ASSERT_STR_EQ(e.reason[1], "placeholders: 'y' has no values (give a list, e.g. ['a', 'b'])");
	ASSERT_EQ(e.line[1], 3);
	ASSERT_STR_EQ(e.reason[2], "placeholders: 'z': the list is empty");
	ASSERT_EQ(e.line[3], 5);
	struct ferrs e2 = { 0 };
	ASSERT_EQ(vg_ruleset_load_placeholders_text(rs, "l.yml", "- a\n", 4, on_ferr, &e2), VG_EPARSE);
	ASSERT_STR_EQ(e2.reason[0], "placeholders: expected a map of name: [values], got a list");
	struct ferrs e3 = { 0 };
	ASSERT_EQ(vg_ruleset_load_placeholders_text(rs, "m.yml", "a: [b\n", 6, on_ferr, &e3), VG_EPARSE);
	ASSERT_TRUE(strncmp(e3.reason[0], "placeholders: ", 14) == 0);
	struct ferrs e4 = { 0 };
	ASSERT_TRUE(vg_ruleset_load_placeholders(rs, "/nonexistent/p.yml", on_ferr, &e4) < 0);
	ASSERT_STR_EQ(e4.reason[0], "placeholders: cannot open: No such file or directory");
	vg_ruleset_free(rs);
}

TEST(sigma_placeholders_example_file)
{
	char path[1024];
	struct ferrs e = { 0 };
	struct vg_ruleset *rs;

	snprintf(path, sizeof(path), "%s/rules/placeholders.example.yml", VIGIL_SOURCE_DIR);
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_placeholders(rs, path, on_ferr, &e), 3);
	/* the rules folder loads without taking the example for a rule */
	snprintf(path, sizeof(path), "%s/rules", VIGIL_SOURCE_DIR);
	ASSERT_GE(vg_ruleset_load_path(rs, path, on_ferr, &e), 40);
	ASSERT_EQ(e.n, 0);
	vg_ruleset_free(rs);
}
