/* test_sigma.c - Sigma engine tests: every modifier, wildcards and escapes, null/exists, keywords, conditions, logsources. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/sigma.h"
#include "engine/sigma_ext.h"
#include "test.h"

/* ---- helpers ---- */

struct errs {
	int n;
	unsigned line[16];
	char reason[16][256];
};

static void on_err(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct errs *e = ctx;
	(void)file;
	if (e->n < 16) {
		e->line[e->n] = line;
		snprintf(e->reason[e->n], sizeof(e->reason[0]), "%s", reason);
	}
	e->n++;
}

/* A Sysmon process creation event from name/value pairs (NULL-terminated). */
static struct vg_event *sysmon(uint32_t eid, ...)
{
	struct vg_event *ev = vg_event_new();
	va_list ap;
	const char *name;

	ev->platform = VG_PLATFORM_WINDOWS;
	ev->source = VG_SRC_SYSMON;
	ev->event_id = eid;
	ev->type = eid == 1 ? VG_EV_PROCESS_START : VG_EV_OTHER;
	va_start(ap, eid);
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		vg_event_add_field(ev, name, strlen(name), value, strlen(value));
	}
	va_end(ap);
	ev->nraw = ev->nfields;
	return ev;
}

/* Loads one process_creation rule with this detection body (indented by 4) and returns matches on ev. */
static int det_match(const char *detection, const struct vg_event *ev, struct errs *e)
{
	char text[8192];
	struct vg_ruleset *rs;
	int n;

	snprintf(text, sizeof(text),
		 "title: test\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n"
		 "    product: windows\n    category: process_creation\ndetection:\n%s", detection);
	if (vg_ruleset_new(&rs))
		return -100;
	vg_ruleset_set_field_check(rs, 0); /* synthetic field names; the schema has its own tests */
	n = vg_ruleset_load_text(rs, "test.yml", text, strlen(text), on_err, e);
	if (n != 1) {
		vg_ruleset_free(rs);
		return -1;
	}
	n = vg_ruleset_match(rs, ev, NULL, NULL);
	vg_ruleset_free(rs);
	return n;
}

/* Expects the detection to load and match (1) or not (0) the event. */
#define EXPECT(det, ev, want)                                                              \
	do {                                                                               \
		struct errs e_ = { 0 };                                                    \
		int got_ = det_match(det, ev, &e_);                                        \
		if (got_ != (want))                                                        \
			VG_FAIL_("detection:\n%s=> %d, expected %d%s%s", det, got_, want, \
				 e_.n ? "; load error: " : "", e_.n ? e_.reason[0] : "");  \
	} while (0)

/* Expects the detection to fail to load with a reason containing what. */
#define EXPECT_ERR(det, what)                                                              \
	do {                                                                               \
		struct errs e_ = { 0 };                                                    \
		struct vg_event *x_ = sysmon(1, NULL);                                     \
		int got_ = det_match(det, x_, &e_);                                        \
		vg_event_free(x_);                                                         \
		if (got_ != -1 || e_.n != 1 || !strstr(e_.reason[0], what))                \
			VG_FAIL_("detection:\n%s=> %d, errors %d (%s), expected error '%s'", det, \
				 got_, e_.n, e_.n ? e_.reason[0] : "", what);              \
	} while (0)

/* ---- plain values, wildcards, escapes ---- */

TEST(sigma_equality_case_insensitive)
{
	struct vg_event *ev = sysmon(1, "Image", "C:\\Windows\\System32\\CMD.EXE", NULL);
	EXPECT("    sel:\n        Image: 'c:\\windows\\system32\\cmd.exe'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image: 'c:\\windows\\system32\\cmd'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Image|cased: 'c:\\windows\\system32\\cmd.exe'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Image|cased: 'C:\\Windows\\System32\\CMD.EXE'\n    condition: sel\n", ev, 1);
	/* field names are case-insensitive */
	EXPECT("    sel:\n        image: 'C:\\Windows\\System32\\cmd.exe'\n    condition: sel\n", ev, 1);
	/* a missing field does not match */
	EXPECT("    sel:\n        ParentImage: 'x'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
	/* non-ASCII letters fold too (simple folding) */
	ev = sysmon(1, "CommandLine", "ÉCOLE Привет ΣΟΦΊΑ", NULL);
	EXPECT("    sel:\n        CommandLine: 'école привет σοφία'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|cased: 'école привет σοφία'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_contains_startswith_endswith)
{
	struct vg_event *ev = sysmon(1, "CommandLine", "powershell.exe -NoProfile -EncodedCommand AAAA", NULL);
	EXPECT("    sel:\n        CommandLine|contains: 'noprofile'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|contains: 'nothere'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|startswith: 'POWERSHELL'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|startswith: 'noprofile'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|endswith: ' aaaa'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|endswith: 'powershell'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|contains|cased: 'noprofile'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|contains|cased: 'NoProfile'\n    condition: sel\n", ev, 1);
	/* the empty string: contains matches any present value, equality only an empty one */
	EXPECT("    sel:\n        CommandLine|contains: ''\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine: ''\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_wildcards_and_escapes)
{
	struct vg_event *ev = sysmon(1, "Image", "C:\\Users\\bob\\AppData\\cmd.exe", "CommandLine", "a*b?c\\d",
				     "ParentImage", "\\\\server\\share*", NULL);
	EXPECT("    sel:\n        Image: '*\\cmd.exe'\n    condition: sel\n", ev, 1);
	/* a backslash before a wildcard must itself be escaped: \\* (a single \* is a plain star) */
	EXPECT("    sel:\n        Image: 'C:\\Users\\\\*\\cmd.exe'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image: 'C:\\Users\\*\\cmd.exe'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Image: 'C:\\Users\\\\*\\AppData\\\\*.exe'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image: 'C:\\Users\\\\*\\Temp\\\\*.exe'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Image: '*\\cm?.exe'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image: '*\\c?.exe'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Image|contains: 'bob\\app*\\cmd'\n    condition: sel\n", ev, 1);
	/* \* and \? are plain characters */
	EXPECT("    sel:\n        CommandLine: 'a\\*b\\?c\\d'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine: 'a\\*bXc\\d'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine: 'a*c\\d'\n    condition: sel\n", ev, 1);
	/* a plain backslash can be written single or double */
	EXPECT("    sel:\n        CommandLine: 'a\\*b\\?c\\\\d'\n    condition: sel\n", ev, 1);
	/* \\\\ is two backslashes; \\\\* is a backslash then a wildcard; \\\\\\* a backslash and a star */
	EXPECT("    sel:\n        ParentImage|startswith: '\\\\\\\\server'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        ParentImage: '\\\\\\\\server\\\\*'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        ParentImage: '\\\\\\\\server\\\\share\\\\\\*'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        ParentImage: '\\\\\\\\server\\\\share\\*'\n    condition: sel\n", ev, 1);
	vg_event_free(ev);
	/* ? is one character, also a multi-byte one */
	ev = sysmon(1, "Image", "x\xC3\xA9y", NULL);
	EXPECT("    sel:\n        Image: 'x?y'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image: 'x??y'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_lists_and_all)
{
	struct vg_event *ev = sysmon(1, "CommandLine", "net user admin /add", NULL);
	EXPECT("    sel:\n        CommandLine|contains:\n            - 'zzz'\n            - '/add'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|contains|all:\n            - 'net'\n            - '/add'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|contains|all:\n            - 'net'\n            - '/del'\n    condition: sel\n", ev, 0);
	/* list of maps: OR; map: AND */
	EXPECT("    sel:\n        - CommandLine|contains: 'zzz'\n        - CommandLine|startswith: 'net '\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|contains: 'user'\n        Image: 'x'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_multiple_occurrences)
{
	struct vg_event *ev = sysmon(1, "Tag", "alpha", "Tag", "beta", NULL);
	EXPECT("    sel:\n        Tag: 'beta'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Tag|all:\n            - 'alpha'\n            - 'beta'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Tag|neq: 'alpha'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_null_empty_exists)
{
	struct vg_event *ev = sysmon(1, "Empty", "", "Full", "x", NULL);
	EXPECT("    sel:\n        Empty: null\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Missing: null\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Full: null\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Missing:\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Empty: ''\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Missing: ''\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Full:\n            - null\n            - 'x'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Empty|exists: true\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Missing|exists: true\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Missing|exists: false\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Full|exists: false\n    condition: sel\n", ev, 0);
	/* "not null" is written as a negated selection */
	EXPECT("    sel:\n        Full: 'x'\n    filter:\n        Full: null\n    condition: sel and not filter\n", ev, 1);
	EXPECT_ERR("    sel:\n        Full|exists: maybe\n    condition: sel\n", "exists");
	vg_event_free(ev);
}

TEST(sigma_keywords)
{
	struct vg_event *ev = sysmon(1, "CommandLine", "mimikatz sekurlsa::LogonPasswords", "Image", "C:\\x.exe",
				     "VigilNote", "secretword", NULL);
	EXPECT("    keywords:\n        - 'event::clear'\n        - 'SEKURLSA::'\n    condition: keywords\n", ev, 1);
	EXPECT("    keywords:\n        - 'event::clear'\n    condition: keywords\n", ev, 0);
	EXPECT("    keywords: 'x.exe'\n    condition: keywords\n", ev, 1);
	/* '|all' keywords: every value somewhere (not necessarily in one field) */
	EXPECT("    keywords:\n        '|all':\n            - 'mimikatz'\n            - 'x.exe'\n    condition: keywords\n", ev, 1);
	EXPECT("    keywords:\n        '|all':\n            - 'mimikatz'\n            - 'y.exe'\n    condition: keywords\n", ev, 0);
	/* derived Vigil* fields are not part of the keyword search */
	EXPECT("    keywords:\n        - 'secretword'\n    condition: keywords\n", ev, 0);
	/* keyword with explicit regex */
	EXPECT("    keywords:\n        '|re': 'sekurlsa::\\w+'\n    condition: keywords\n", ev, 1);
	vg_event_free(ev);
}

TEST(sigma_windash)
{
	static const char *const forms[] = {
		"ping -n 1 x", "ping /n 1 x", "ping \xE2\x80\x93n 1 x", "ping \xE2\x80\x94n 1 x", "ping \xE2\x80\x95n 1 x",
	};
	for (size_t i = 0; i < 5; i++) {
		struct vg_event *ev = sysmon(1, "CommandLine", forms[i], NULL);
		EXPECT("    sel:\n        CommandLine|contains|windash: ' -n '\n    condition: sel\n", ev, 1);
		EXPECT("    sel:\n        CommandLine|windash|contains: ' /n '\n    condition: sel\n", ev, 1);
		EXPECT("    sel:\n        CommandLine|contains: ' -n '\n    condition: sel\n", ev, i == 0);
		vg_event_free(ev);
	}
	/* a dash inside a word is not a flag and stays as written */
	struct vg_event *ev = sysmon(1, "CommandLine", "Set/MpPreference", NULL);
	EXPECT("    sel:\n        CommandLine|contains|windash: 'Set-MpPreference'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
	/* several dashes: every combination */
	ev = sysmon(1, "CommandLine", "x /a \xE2\x80\x93" "b", NULL);
	EXPECT("    sel:\n        CommandLine|endswith|windash: ' -a -b'\n    condition: sel\n", ev, 1);
	vg_event_free(ev);
}

TEST(sigma_regex)
{
	struct vg_event *ev = sysmon(1, "CommandLine", "Line1\nIEX (New-Object Net.WebClient)", NULL);
	EXPECT("    sel:\n        CommandLine|re: 'IEX \\(New-Object'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|re: 'iex \\(new-object'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|re|i: 'iex \\(new-object'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|re: '^IEX'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|re|m: '^IEX'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|re: 'Line1.IEX'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        CommandLine|re|s: 'Line1.IEX'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|re|i|m|s: 'line1.^iex'\n    condition: sel\n", ev, 1);
	EXPECT_ERR("    sel:\n        CommandLine|re: '(unclosed'\n    condition: sel\n", "invalid regular expression");
	EXPECT_ERR("    sel:\n        CommandLine|contains|re: 'x'\n    condition: sel\n", "cannot be combined");
	EXPECT_ERR("    sel:\n        CommandLine|i: 'x'\n    condition: sel\n", "only valid after 're'");
	vg_event_free(ev);
}

TEST(sigma_base64)
{
	struct vg_event *ev = sysmon(1, "CommandLine", "echo Y21k | decode", "A", "eHggaHR0cDovL2V2aWw=",
				     "B", "eCBodHRwOi8vZXZpbA==", "C", "aHR0cDovL2V2aWw=", "D", "IGh0dHBzOi8v", NULL);
	EXPECT("    sel:\n        CommandLine|base64|contains: 'cmd'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        CommandLine|base64|contains: 'cmx'\n    condition: sel\n", ev, 0);
	/* base64offset: the three shifts of 'http' are aHR0c, h0dH, odHRw */
	EXPECT("    sel:\n        A|base64offset|contains: 'http'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        B|base64offset|contains: 'http'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        C|base64offset|contains: 'http'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        D|base64offset|contains: 'http'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        A|base64offset|contains: 'ftp'\n    condition: sel\n", ev, 0);
	EXPECT_ERR("    sel:\n        A|base64: 'a*b'\n    condition: sel\n", "wildcards");
	vg_event_free(ev);
}

TEST(sigma_utf16)
{
	struct vg_event *ev = sysmon(1, "A", "SQBuAHYAbwBrAGUA", "B", "eABJAG4AdgBvAGsAZQAtAEUAeABwAHIAZQBzAHMAaQBvAG4A",
				     "C", "AEkAbgB2AG8AawBl", "D", "//5JAG4AdgBvAGsAZQA=", NULL);
	EXPECT("    sel:\n        A|wide|base64offset|contains: 'Invoke'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        B|utf16le|base64offset|contains: 'Invoke'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        B|wide|base64offset|contains: 'Revoke'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        C|utf16be|base64|contains: 'Invoke'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        C|utf16be|base64|contains: 'Invok'\n    condition: sel\n", ev, 0); /* '==' padding */
	EXPECT("    sel:\n        C|utf16be|base64offset|contains: 'Invoke'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        D|utf16|base64: 'Invoke'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        A|wide|base64: 'Invoke'\n    condition: sel\n", ev, 1);
	vg_event_free(ev);
}

TEST(sigma_numeric)
{
	struct vg_event *ev = sysmon(1, "Size", "1500", "GrantedAccess", "0x1410", "Neg", "-3", "EventNum", "04688", NULL);
	EXPECT("    sel:\n        Size|gt: 1000\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Size|gt: 1500\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Size|gte: 1500\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Size|lt: 1500\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Size|lte: 1500.0\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        GrantedAccess|gte: 0x1000\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        GrantedAccess|lt: 5000\n    condition: sel\n", ev, 0); /* 0x1410 = 5136 */
	EXPECT("    sel:\n        Neg|lt: 0\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Missing|lt: 0\n    condition: sel\n", ev, 0);
	/* plain numbers compare as text, and as numbers for equality */
	EXPECT("    sel:\n        Size: 1500\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        EventNum: 4688\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        EventNum: '4688'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        GrantedAccess: '0x1410'\n    condition: sel\n", ev, 1);
	EXPECT_ERR("    sel:\n        Size|gt: 'big'\n    condition: sel\n", "needs a number");
	vg_event_free(ev);
}

TEST(sigma_neq)
{
	struct vg_event *ev = sysmon(1, "User", "alice", "Size", "10", NULL);
	EXPECT("    sel:\n        User|neq: 'bob'\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        User|neq: 'ALICE'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        User|neq:\n            - 'bob'\n            - 'alice'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        User|contains|neq: 'lic'\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        Size|neq: 11\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Missing|neq: 'x'\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_cidr)
{
	struct vg_event *ev = sysmon(3, "DestinationIp", "10.1.2.3", "SourceIp", "fe80::1:2", "Mapped", "::ffff:192.168.1.5",
				     "Bad", "not-an-ip", NULL);
	ev->type = VG_EV_NETWORK_CONNECT;
	char det[512];
	static const struct { const char *field, *cidr; int want; } cases[] = {
		{ "DestinationIp", "10.0.0.0/8", 1 }, { "DestinationIp", "10.1.2.0/24", 1 },
		{ "DestinationIp", "10.1.3.0/24", 0 }, { "DestinationIp", "10.1.2.3/32", 1 },
		{ "DestinationIp", "10.1.2.3", 1 }, { "DestinationIp", "0.0.0.0/0", 1 },
		{ "DestinationIp", "fe80::/10", 0 }, { "SourceIp", "fe80::/10", 1 }, { "SourceIp", "fe80::1:0/112", 1 },
		{ "SourceIp", "fe80::2:0/112", 0 }, { "SourceIp", "10.0.0.0/8", 0 }, { "Mapped", "192.168.0.0/16", 1 },
		{ "Bad", "0.0.0.0/0", 0 }, { "Missing", "0.0.0.0/0", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(det, sizeof(det), "    sel:\n        %s|cidr: '%s'\n    condition: sel\n", cases[i].field, cases[i].cidr);
		struct errs e = { 0 };
		char text[1024];
		struct vg_ruleset *rs;
		snprintf(text, sizeof(text), "title: t\nlogsource:\n    category: network_connection\ndetection:\n%s", det);
		ASSERT_EQ(vg_ruleset_new(&rs), 0);
		vg_ruleset_set_field_check(rs, 0);
		ASSERT_EQ(vg_ruleset_load_text(rs, "t", text, strlen(text), on_err, &e), 1);
		int got = vg_ruleset_match(rs, ev, NULL, NULL);
		vg_ruleset_free(rs);
		if (got != cases[i].want)
			VG_FAIL_("%s|cidr %s: %d, expected %d", cases[i].field, cases[i].cidr, got, cases[i].want);
	}
	vg_event_free(ev);
	EXPECT_ERR("    sel:\n        DestinationIp|cidr: '10.0.0.0/33'\n    condition: sel\n", "invalid CIDR");
	EXPECT_ERR("    sel:\n        DestinationIp|cidr: 'ten'\n    condition: sel\n", "invalid CIDR");
}

TEST(sigma_fieldref)
{
	struct vg_event *ev = sysmon(1, "Image", "C:\\A\\b.exe", "ParentImage", "c:\\a\\B.EXE", "User", "x\\alice",
				     "ParentUser", "alice", NULL);
	EXPECT("    sel:\n        Image|fieldref: ParentImage\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image|fieldref|cased: ParentImage\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        User|fieldref: ParentUser\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        User|endswith|fieldref: ParentUser\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        User|fieldref|contains: ParentUser\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        User|fieldref|neq: ParentUser\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image|fieldref: Missing\n    condition: sel\n", ev, 0);
	vg_event_free(ev);
}

TEST(sigma_time_parts)
{
	/* 2024-12-30 23:45:10 UTC is a Monday in ISO week 1 of 2025 */
	struct vg_event *ev = sysmon(1, "UtcTime", "2024-12-30 23:45:10.123", NULL);
	EXPECT("    sel:\n        UtcTime|hour: 23\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|minute: 45\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|day: 30\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|month: 12\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|year: 2024\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|week: 1\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|hour|gte: 20\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        UtcTime|hour|lt: 6\n    condition: sel\n", ev, 0);
	EXPECT("    sel:\n        UtcTime|hour:\n            - 1\n            - 23\n    condition: sel\n", ev, 1);
	vg_event_free(ev);
	/* a field that is not a timestamp falls back to the event time (2021-01-03 is ISO week 53 of 2020) */
	ev = sysmon(1, "Image", "x", NULL);
	ASSERT_EQ(vg_time_parse("2021-01-03T04:05:06Z", 20, &ev->time_ns), 0);
	EXPECT("    sel:\n        Image|hour: 4\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image|week: 53\n    condition: sel\n", ev, 1);
	EXPECT("    sel:\n        Image|day: 3\n    condition: sel\n", ev, 1);
	vg_event_free(ev);
}

TEST(sigma_expand_placeholders)
{
	struct vg_ruleset *rs;
	struct errs e = { 0 };
	static const char *const admins[] = { "admin*", "root" };
	const char *rule =
		"title: t\nlogsource:\n    category: process_creation\ndetection:\n"
		"    sel:\n        User|expand: '%Admins%'\n    filter:\n        User|expand: '\\%Admins%'\n"
		"    condition: sel and not filter\n";
	const char *bad =
		"title: t\nlogsource:\n    category: process_creation\ndetection:\n"
		"    sel:\n        User|expand: '%Nobody%'\n    condition: sel\n";

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_set_placeholder(rs, "Admins", admins, 2), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "t", rule, strlen(rule), on_err, &e), 1);
	ASSERT_EQ(vg_ruleset_load_text(rs, "bad.yml", bad, strlen(bad), on_err, &e), 0);
	ASSERT_EQ(e.n, 1);
	ASSERT_TRUE(strstr(e.reason[0], "unknown placeholder '%Nobody%'") != NULL);
	ASSERT_EQ(e.line[0], 6);
	struct vg_event *a = sysmon(1, "User", "Administrator", NULL), *b = sysmon(1, "User", "root", NULL),
			*c = sysmon(1, "User", "bob", NULL), *d = sysmon(1, "User", "%Admins%", NULL);
	ASSERT_EQ(vg_ruleset_match(rs, a, NULL, NULL), 1);
	ASSERT_EQ(vg_ruleset_match(rs, b, NULL, NULL), 1);
	ASSERT_EQ(vg_ruleset_match(rs, c, NULL, NULL), 0);
	ASSERT_EQ(vg_ruleset_match(rs, d, NULL, NULL), 0);
	vg_event_free(a);
	vg_event_free(b);
	vg_event_free(c);
	vg_event_free(d);
	vg_ruleset_free(rs);
	/* without expand, %x% is a literal */
	struct vg_event *ev = sysmon(1, "User", "%Admins%", NULL);
	EXPECT("    sel:\n        User: '%Admins%'\n    condition: sel\n", ev, 1);
	vg_event_free(ev);
}

/* ---- conditions ---- */

TEST(sigma_conditions)
{
	struct vg_event *ev = sysmon(1, "A", "1", "B", "1", "C", "0", NULL);
	const char *sels = "    a:\n        A: '1'\n    b:\n        B: '1'\n    c:\n        C: '1'\n"
			   "    sel_a:\n        A: '1'\n    sel_c:\n        C: '1'\n    _hidden:\n        C: '1'\n";
	static const struct { const char *cond; int want; } cases[] = {
		{ "a", 1 }, { "c", 0 }, { "not c", 1 }, { "a and b", 1 }, { "a and c", 0 }, { "a or c", 1 },
		{ "c or c", 0 }, { "not a or b", 1 }, { "not (a or b)", 0 }, { "c or a and b", 1 },
		{ "(c or a) and not b", 0 }, { "c and a or b", 1 }, { "c and (a or b)", 0 },
		{ "not not a", 1 }, { "not a and not c", 0 },
		{ "1 of sel_*", 1 }, { "all of sel_*", 0 }, { "1 of sel*", 1 }, { "all of sel_a", 1 },
		{ "1 of them", 1 }, { "all of them", 0 }, { "2 of them", 1 }, { "3 of them", 1 }, { "4 of them", 0 },
		{ "5 of them", 0 }, { "all of them and a", 0 }, { "not 1 of sel_c*", 1 }, { "1 of *_a", 1 },
		{ "a AND NOT c", 1 }, { "((a))", 1 }, { "1 of them and not all of them", 1 },
		{ "all of _hid* or a", 1 }, { "all of _hid*", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char det[2048];
		snprintf(det, sizeof(det), "%s    condition: %s\n", sels, cases[i].cond);
		struct errs e = { 0 };
		int got = det_match(det, ev, &e);
		if (got != cases[i].want)
			VG_FAIL_("condition '%s': %d, expected %d %s", cases[i].cond, got, cases[i].want, e.n ? e.reason[0] : "");
	}
	/* a list of conditions is OR-ed */
	EXPECT("    a:\n        A: '1'\n    c:\n        C: '1'\n    condition:\n        - c\n        - a\n", ev, 1);
	EXPECT("    a:\n        A: '1'\n    c:\n        C: '1'\n    condition:\n        - c\n        - not a\n", ev, 0);
	/* a multi-line condition */
	EXPECT("    a:\n        A: '1'\n    c:\n        C: '1'\n    condition: >\n        a and\n        not c\n", ev, 1);
	vg_event_free(ev);
}

TEST(sigma_condition_errors)
{
	const char *sels = "    a:\n        A: '1'\n";
	static const struct { const char *cond, *err; } cases[] = {
		{ "b", "unknown search identifier 'b'" },
		{ "a and", "unexpected end" },
		{ "(a", "missing ')'" },
		{ "a )", "unexpected ')'" },
		{ "1 of x*", "matches no search identifier" },
		{ "a | count() > 5", "aggregation" },
		{ "all them", "expected 'of'" },
		{ "a b", "unexpected 'b'" },
		{ "a near b", "unexpected 'near'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char det[512];
		snprintf(det, sizeof(det), "%s    condition: %s\n", sels, cases[i].cond);
		EXPECT_ERR(det, cases[i].err);
	}
}

/* ---- load errors and line numbers ---- */

TEST(sigma_load_errors_lines)
{
	const char *text =
		"title: good one\n"                                 /* 1 */
		"logsource:\n    category: process_creation\n"       /* 2-3 */
		"detection:\n    sel:\n        Image: x\n"           /* 4-6 */
		"    condition: sel\n"                               /* 7 */
		"---\n"                                              /* 8 */
		"title: bad modifier\n"                              /* 9 */
		"logsource:\n    category: process_creation\n"       /* 10-11 */
		"detection:\n    sel:\n        Image|bogus: x\n"     /* 12-14 */
		"    condition: sel\n"                               /* 15 */
		"---\n"                                              /* 16 */
		"title: bad condition\n"                             /* 17 */
		"logsource:\n    category: process_creation\n"       /* 18-19 */
		"detection:\n    sel:\n        Image: x\n"           /* 20-22 */
		"    condition: sel and other\n"                     /* 23 */
		"---\n"                                              /* 24 */
		"title: no detection\n"                              /* 25 */
		"logsource:\n    category: process_creation\n"       /* 26-27 */
		"---\n"                                              /* 28 */
		"title: bad level\n"                                 /* 29 */
		"level: severe\n"                                    /* 30 */
		"logsource:\n    category: process_creation\n"
		"detection:\n    sel:\n        Image: x\n    condition: sel\n"
		"---\n"
		"title: good two\n"
		"logsource:\n    product: windows\n"
		"detection:\n    sel:\n        Image: x\n    condition: sel\n";
	struct vg_ruleset *rs;
	struct errs e = { 0 };

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "multi.yml", text, strlen(text), on_err, &e), 2);
	ASSERT_EQ(vg_ruleset_count(rs), 2);
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 0)->title, "good one");
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 1)->title, "good two");
	ASSERT_EQ(vg_ruleset_rule(rs, 0)->line, 1);
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 0)->id, "multi.yml"); /* no id: the file */
	ASSERT_EQ(e.n, 4);
	ASSERT_TRUE(strstr(e.reason[0], "unknown modifier 'bogus'") != NULL);
	ASSERT_EQ(e.line[0], 14);
	ASSERT_TRUE(strstr(e.reason[1], "unknown search identifier 'other'") != NULL);
	ASSERT_EQ(e.line[1], 23);
	ASSERT_TRUE(strstr(e.reason[2], "missing 'detection'") != NULL);
	ASSERT_EQ(e.line[2], 25);
	ASSERT_TRUE(strstr(e.reason[3], "invalid level 'severe'") != NULL);
	ASSERT_EQ(e.line[3], 30);
	vg_ruleset_free(rs);
}

TEST(sigma_malformed_yaml)
{
	const char *text =
		"title: first\nlogsource:\n    category: process_creation\n"
		"detection:\n    sel:\n        Image: x\n    condition: sel\n"
		"---\n"
		"title: broken\n"
		"detection:\n    sel: [a, b\n"
		"    condition: sel\n";
	struct vg_ruleset *rs;
	struct errs e = { 0 };

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "bad.yml", text, strlen(text), on_err, &e), 1);
	ASSERT_EQ(e.n, 1);
	ASSERT_TRUE(strstr(e.reason[0], "malformed YAML") != NULL);
	ASSERT_GE(e.line[0], 11);
	/* invalid UTF-8, tabs, a document that is not a map, an empty text */
	e.n = 0;
	ASSERT_EQ(vg_ruleset_load_text(rs, "x", "title: \xff\xfe\n", 10, on_err, &e), 0);
	ASSERT_EQ(e.n, 1);
	e.n = 0;
	ASSERT_EQ(vg_ruleset_load_text(rs, "x", "- a\n- b\n", 8, on_err, &e), 0);
	ASSERT_EQ(e.n, 1);
	ASSERT_TRUE(strstr(e.reason[0], "not a map") != NULL);
	e.n = 0;
	ASSERT_EQ(vg_ruleset_load_text(rs, "x", "", 0, on_err, &e), 0);
	ASSERT_EQ(e.n, 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "x", "a: *undefined\n", 14, on_err, &e), 0);
	ASSERT_EQ(e.n, 1);
	vg_ruleset_free(rs);
}

TEST(sigma_more_load_errors)
{
	EXPECT_ERR("    sel:\n        Image:\n            - a\n            - [b]\n    condition: sel\n", "only scalars");
	EXPECT_ERR("    sel:\n        Image: []\n    condition: sel\n", "empty value list");
	EXPECT_ERR("    sel:\n    condition: sel\n", "is empty");
	EXPECT_ERR("    sel:\n        Image: x\n", "missing 'condition'");
	EXPECT_ERR("    sel:\n        Image|contains|startswith: x\n    condition: sel\n", "conflict");
	EXPECT_ERR("    sel:\n        Image|: x\n    condition: sel\n", "empty modifier");
	EXPECT_ERR("    sel:\n        Image|cidr|contains: x\n    condition: sel\n", "cannot follow");
	EXPECT_ERR("    sel:\n        Image:\n            a: b\n    condition: sel\n", "is a map");
}

/* ---- metadata, collections, correlations ---- */

TEST(sigma_metadata)
{
	const char *text =
		"title: Meta\nid: 5f2d1a1e-0000-4000-8000-000000000001\nname: meta_rule\nstatus: deprecated\n"
		"description: d\nauthor: A, B\nlevel: high\n"
		"related:\n    - id: abc\n      type: derived\n"
		"tags:\n    - attack.execution\n    - attack.t1055.012\n    - attack.t1059\n"
		"falsepositives:\n    - Admins\nfields:\n    - Image\nreferences:\n    - https://x\n"
		"logsource:\n    product: windows\n    category: process_creation\n    definition: sysmon\n"
		"detection:\n    sel:\n        Image: x\n    condition: sel\n";
	struct vg_ruleset *rs;
	struct vg_sigma_stats st;
	const char *const *list;
	const char *id, *type;

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "m.yml", text, strlen(text), NULL, NULL), 1);
	const struct vg_rule *r = vg_ruleset_rule(rs, 0);
	ASSERT_STR_EQ(r->title, "Meta");
	ASSERT_STR_EQ(r->id, "5f2d1a1e-0000-4000-8000-000000000001");
	ASSERT_STR_EQ(r->status, "deprecated");
	ASSERT_STR_EQ(r->author, "A, B");
	ASSERT_EQ(r->level, VG_LEVEL_HIGH);
	ASSERT_EQ(r->ntags, 3);
	ASSERT_STR_EQ(r->technique, "T1055.012");
	ASSERT_STR_EQ(r->product, "windows");
	ASSERT_STR_EQ(r->category, "process_creation");
	ASSERT_NULL(r->service);
	ASSERT_STR_EQ(vg_rule_name(r), "meta_rule");
	ASSERT_EQ(vg_rule_falsepositives(r, &list), 1);
	ASSERT_STR_EQ(list[0], "Admins");
	ASSERT_EQ(vg_rule_fields(r, &list), 1);
	ASSERT_EQ(vg_rule_references(r, &list), 1);
	ASSERT_EQ(vg_rule_related_count(r), 1);
	ASSERT_EQ(vg_rule_related(r, 0, &id, &type), 0);
	ASSERT_STR_EQ(type, "derived");
	ASSERT_STR_EQ(vg_rule_logsource_definition(r), "sysmon");
	vg_ruleset_stats(rs, &st);
	ASSERT_EQ(st.deprecated, 1);
	ASSERT_EQ(st.rules, 1);
	vg_ruleset_free(rs);

	ASSERT_STR_EQ(vg_level_name(VG_LEVEL_CRITICAL), "critical");
	ASSERT_STR_EQ(vg_level_name(VG_LEVEL_INFORMATIONAL), "informational");
	ASSERT_EQ(vg_level_from_name("Medium"), VG_LEVEL_MEDIUM);
	ASSERT_EQ(vg_level_from_name("bogus"), VG_LEVEL_UNKNOWN);
}

TEST(sigma_collections)
{
	const char *text =
		"action: global\ntitle: Base\nlogsource:\n    category: process_creation\n"
		"detection:\n    common:\n        User: 'bob'\n    condition: sel and common\n"
		"---\n"
		"id: one\ndetection:\n    sel:\n        Image|endswith: '\\a.exe'\n"
		"---\n"
		"action: repeat\nid: two\ndetection:\n    sel:\n        Image|endswith: '\\b.exe'\n"
		"---\n"
		"action: reset\n"
		"---\n"
		"title: Alone\nid: three\nlogsource:\n    category: process_creation\n"
		"detection:\n    sel:\n        Image|endswith: '\\c.exe'\n    condition: sel\n";
	struct vg_ruleset *rs;
	struct errs e = { 0 };

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "c.yml", text, strlen(text), on_err, &e), 3);
	ASSERT_EQ(e.n, 0);
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 0)->id, "one");
	ASSERT_STR_EQ(vg_ruleset_rule(rs, 0)->title, "Base");
	struct vg_event *a = sysmon(1, "Image", "C:\\a.exe", "User", "bob", NULL);
	struct vg_event *b = sysmon(1, "Image", "C:\\b.exe", "User", "bob", NULL);
	struct vg_event *b2 = sysmon(1, "Image", "C:\\b.exe", "User", "eve", NULL);
	struct vg_event *c = sysmon(1, "Image", "C:\\c.exe", NULL);
	ASSERT_EQ(vg_ruleset_match(rs, a, NULL, NULL), 1);
	ASSERT_EQ(vg_ruleset_match(rs, b, NULL, NULL), 1);
	ASSERT_EQ(vg_ruleset_match(rs, b2, NULL, NULL), 0);
	ASSERT_EQ(vg_ruleset_match(rs, c, NULL, NULL), 1);
	vg_event_free(a);
	vg_event_free(b);
	vg_event_free(b2);
	vg_event_free(c);
	vg_ruleset_free(rs);
}

TEST(sigma_correlations_kept)
{
	const char *text =
		"title: Failed logon\nid: r1\nname: failed_logon\nlogsource:\n    product: windows\n    service: security\n"
		"detection:\n    sel:\n        EventID: 4625\n    condition: sel\n"
		"---\n"
		"title: Many failed logons\nid: c1\nlevel: high\n"
		"correlation:\n    type: event_count\n    rules:\n        - failed_logon\n"
		"    group-by:\n        - TargetUserName\n        - IpAddress\n    timespan: 5m\n"
		"    condition:\n        gte: 10\n        lt: 1000\n"
		"---\n"
		"title: Spray\nid: c2\ncorrelation:\n    type: value_count\n    rules: failed_logon\n"
		"    group-by: [IpAddress]\n    timespan: 1h\n    condition:\n        field: TargetUserName\n        gt: 5\n"
		"    aliases:\n        ip:\n            failed_logon: IpAddress\n"
		"---\n"
		"title: Bad corr\ncorrelation:\n    type: bogus\n    rules: [x]\n    timespan: 1h\n";
	struct vg_ruleset *rs;
	struct vg_sigma_stats st;
	struct errs e = { 0 };

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "corr.yml", text, strlen(text), on_err, &e), 1);
	ASSERT_EQ(e.n, 1);
	ASSERT_TRUE(strstr(e.reason[0], "unknown type 'bogus'") != NULL);
	vg_ruleset_stats(rs, &st);
	ASSERT_EQ(st.rules, 1);
	ASSERT_EQ(st.correlations, 2);
	ASSERT_EQ(vg_ruleset_correlation_count(rs), 2);
	const struct vg_sigma_correlation *c = vg_ruleset_correlation(rs, 0);
	ASSERT_STR_EQ(c->id, "c1");
	ASSERT_EQ(c->type, VG_CORR_EVENT_COUNT);
	ASSERT_EQ(c->level, VG_LEVEL_HIGH);
	ASSERT_EQ(c->nrules, 1);
	ASSERT_STR_EQ(c->rules[0], "failed_logon");
	ASSERT_EQ(c->ngroup_by, 2);
	ASSERT_EQ(c->timespan_ns, 300LL * 1000000000LL);
	ASSERT_EQ(c->nconds, 2);
	ASSERT_EQ(c->conds[0].op, VG_CORR_GTE);
	ASSERT_EQ(c->conds[0].value, 10);
	ASSERT_EQ(c->conds[1].op, VG_CORR_LT);
	c = vg_ruleset_correlation(rs, 1);
	ASSERT_EQ(c->type, VG_CORR_VALUE_COUNT);
	ASSERT_STR_EQ(c->field, "TargetUserName");
	ASSERT_EQ(c->naliases, 1);
	ASSERT_STR_EQ(c->aliases[0].fields[0], "IpAddress");
	vg_ruleset_free(rs);
}

/* ---- logsources ---- */

struct ls_case {
	enum vg_platform platform;
	enum vg_source_kind source;
	uint32_t eid;
	enum vg_event_type type;
	const char *channel, *event_type_field;
	const char *product, *category, *service;
};

TEST(sigma_logsource_mapping)
{
	static const struct ls_case cases[] = {
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 1, VG_EV_PROCESS_START, NULL, NULL, "windows", "process_creation", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 3, 0, NULL, NULL, "windows", "network_connection", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 10, 0, NULL, NULL, "windows", "process_access", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 12, VG_EV_REGISTRY_CREATE, NULL, NULL, "windows", "registry_add", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 12, 0, NULL, "DeleteValue", "windows", "registry_delete", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 13, 0, NULL, NULL, "windows", "registry_set", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 14, 0, NULL, NULL, "windows", "registry_rename", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 22, 0, NULL, NULL, "windows", "dns_query", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 26, 0, NULL, NULL, "windows", "file_delete", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 29, 0, NULL, NULL, "windows", "file_executable_detected", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 16, 0, NULL, NULL, "windows", "sysmon_status", "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SYSMON, 99, 0, NULL, NULL, "windows", NULL, "sysmon" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SECURITY, 4688, 0, "Security", NULL, "windows", "process_creation", "security" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_SECURITY, 4624, 0, "Security", NULL, "windows", NULL, "security" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 7045, 0, "System", NULL, "windows", NULL, "system" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 4104, 0, "Microsoft-Windows-PowerShell/Operational", NULL, "windows", "ps_script", "powershell" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 4103, 0, "Microsoft-Windows-PowerShell/Operational", NULL, "windows", "ps_module", "powershell" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 400, 0, "Windows PowerShell", NULL, "windows", "ps_classic_start", "powershell-classic" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 1116, 0, "Microsoft-Windows-Windows Defender/Operational", NULL, "windows", NULL, "windefend" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 59, 0, "Microsoft-Windows-Bits-Client/Operational", NULL, "windows", NULL, "bits-client" },
		{ VG_PLATFORM_WINDOWS, VG_SRC_WINDOWS, 1, 0, "Some/Other", NULL, "windows", NULL, NULL },
		{ VG_PLATFORM_LINUX, VG_SRC_EBPF, 0, VG_EV_PROCESS_START, NULL, NULL, "linux", "process_creation", NULL },
		{ VG_PLATFORM_LINUX, VG_SRC_EBPF, 0, VG_EV_FILE_WRITE, NULL, NULL, "linux", "file_event", NULL },
		{ VG_PLATFORM_LINUX, VG_SRC_EBPF, 0, VG_EV_NETWORK_CONNECT, NULL, NULL, "linux", "network_connection", NULL },
		{ VG_PLATFORM_LINUX, VG_SRC_EBPF, 0, VG_EV_DNS_QUERY, NULL, NULL, "linux", "dns_query", NULL },
		{ VG_PLATFORM_UNKNOWN, VG_SRC_UNKNOWN, 0, 0, NULL, NULL, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct ls_case *c = &cases[i];
		struct vg_event *ev = vg_event_new();
		ev->platform = c->platform;
		ev->source = c->source;
		ev->event_id = c->eid;
		ev->type = c->type;
		ev->channel = c->channel;
		if (c->event_type_field)
			vg_event_add_field(ev, "EventType", 9, c->event_type_field, strlen(c->event_type_field));
		const char *p = vg_event_sigma_product(ev), *cat = vg_event_sigma_category(ev), *s = vg_event_sigma_service(ev);
		vg_event_free(ev);
		if ((p != c->product && (!p || !c->product || strcmp(p, c->product))) ||
		    (cat != c->category && (!cat || !c->category || strcmp(cat, c->category))) ||
		    (s != c->service && (!s || !c->service || strcmp(s, c->service))))
			VG_FAIL_("case %zu: %s/%s/%s, expected %s/%s/%s", i, p ? p : "-", cat ? cat : "-", s ? s : "-",
				 c->product ? c->product : "-", c->category ? c->category : "-", c->service ? c->service : "-");
	}
}

TEST(sigma_logsource_rule_selection)
{
	const char *text =
		"title: reg_event\nlogsource:\n    product: windows\n    category: registry_event\n"
		"detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n---\n"
		"title: reg_set\nlogsource:\n    product: windows\n    category: registry_set\n"
		"detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n---\n"
		"title: sysmon_service\nlogsource:\n    product: windows\n    service: sysmon\n"
		"detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n---\n"
		"title: linux_only\nlogsource:\n    product: linux\n"
		"detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n---\n"
		"title: any\nlogsource:\n    category: registry_add\n"
		"detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n---\n"
		"title: unknown_product\nlogsource:\n    product: macos\n"
		"detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n";
	struct vg_ruleset *rs;
	char seen[256];

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "ls.yml", text, strlen(text), NULL, NULL), 6);
	struct vg_event *set = sysmon(13, "TargetObject", "HKLM\\...\\Run\\x", NULL);
	struct vg_event *add = sysmon(12, "TargetObject", "HKLM\\...\\Run\\x", "EventType", "CreateKey", NULL);
	seen[0] = '\0';
	void (*cb)(const struct vg_rule *, const struct vg_event *, void *) = NULL;
	(void)cb;
	ASSERT_EQ(vg_ruleset_match(rs, set, NULL, NULL), 3); /* reg_event, reg_set, sysmon_service */
	ASSERT_EQ(vg_ruleset_match(rs, add, NULL, NULL), 3); /* reg_event, sysmon_service, any */
	(void)seen;
	vg_event_free(set);
	vg_event_free(add);
	vg_ruleset_free(rs);
}

/* ---- API behaviour ---- */

struct order {
	char titles[8][32];
	int n;
};

static void record(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	struct order *o = ctx;
	(void)ev;
	if (o->n < 8)
		snprintf(o->titles[o->n++], 32, "%s", r->title);
}

TEST(sigma_match_order_and_callback)
{
	const char *text =
		"title: r1\nlogsource:\n    category: process_creation\ndetection:\n    s:\n        Image|endswith: '.exe'\n    condition: s\n---\n"
		"title: r2\nlogsource:\n    category: file_event\ndetection:\n    s:\n        Image|endswith: '.exe'\n    condition: s\n---\n"
		"title: r3\nlogsource:\n    product: windows\ndetection:\n    s:\n        Image|endswith: '.exe'\n    condition: s\n---\n"
		"title: r4\nlogsource:\n    category: process_creation\ndetection:\n    s:\n        Image|re: '\\.exe$'\n    condition: s\n";
	struct vg_ruleset *rs;
	struct order o = { 0 };

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "o.yml", text, strlen(text), NULL, NULL), 4);
	struct vg_event *ev = sysmon(1, "Image", "C:\\x.exe", NULL);
	ASSERT_EQ(vg_ruleset_match(rs, ev, record, &o), 3);
	ASSERT_EQ(o.n, 3);
	ASSERT_STR_EQ(o.titles[0], "r1");
	ASSERT_STR_EQ(o.titles[1], "r3");
	ASSERT_STR_EQ(o.titles[2], "r4");
	/* same results without the prefilter */
	vg_ruleset_set_prefilter(rs, 0);
	ASSERT_EQ(vg_ruleset_match(rs, ev, NULL, NULL), 3);
	vg_event_free(ev);
	vg_ruleset_free(rs);
	vg_ruleset_free(NULL);
}

/* ---- prefilter internals ---- */

#include "engine/sigma_int.h"

/* Loads one rule with a CommandLine|<mods> value and returns its anchors as "a|b|c", or "ALWAYS". */
static void anchors_of(const char *mods, const char *value, char *out, size_t outlen)
{
	char text[1024];
	struct vg_ruleset *rs;

	snprintf(text, sizeof(text), "title: t\nlogsource:\n    category: process_creation\ndetection:\n"
		 "    sel:\n        CommandLine|%s: '%s'\n    condition: sel\n", mods, value);
	snprintf(out, outlen, "LOADFAIL");
	if (vg_ruleset_new(&rs))
		return;
	if (vg_ruleset_load_text(rs, "t", text, strlen(text), NULL, NULL) == 1) {
		const struct sg_rule *r = rs->rules[0];
		size_t k = 0;
		out[0] = '\0';
		if (r->always)
			snprintf(out, outlen, "ALWAYS");
		for (uint32_t i = 0; !r->always && i < r->nanchors && k + r->anchors[i].len + 2 < outlen; i++) {
			if (i)
				out[k++] = '|';
			memcpy(out + k, r->anchors[i].lit, r->anchors[i].len);
			k += r->anchors[i].len;
			out[k] = '\0';
		}
	}
	vg_ruleset_free(rs);
}

TEST(sigma_prefilter_regex_literals)
{
	static const struct { const char *mods, *value, *want; } cases[] = {
		{ "re", "ipconfig\\s+/all", "ipconfig" },
		{ "re", "ab?cd", "cd" },
		{ "re", "abc+de", "abc" },
		{ "re", "a{0,3}bcd", "bcd" },
		{ "re", "xx{2}yz", "xx" },
		{ "re", "foo|barbaz", "foo|barbaz" },
		{ "re", "(a|b)cde", "cde" },
		{ "re", "(?i)InvokeX", "invo" },
		{ "re|i", "tasks", "ta" },
		{ "re", "[abc]+xyz", "xyz" },
		{ "re", "\\.exe$", ".exe" },
		{ "re", "C:\\\\Windows\\\\", "c:\\windows\\" },
		{ "re", "(?x) a b c", "ALWAYS" },
		{ "re", ".*", "ALWAYS" },
		{ "re", "\\Qabc\\E", "ALWAYS" },
		{ "re", "abc|.*", "ALWAYS" },
		{ "re", "\xC3\x89+abc", "abc" },
		{ "re", "a[)]bc(d)efg", "efg" },
		{ "re", "x{,2}abc", "abc" },
		{ "re", "\\x41BCD", "bcd" },
		{ "re", "\\x{41}BCD\\12XY\\cAZW", "bcd" },
		{ "re", "(a)\\p{Lu}QRS\\pLTUV\\g{1}WXYZ", "wxyz" },
		{ "re", "\\0101ABC", "abc" },
		{ "contains", "Mixed\\\\*Case", "mixed\\" },
		{ "contains|cased", "UPPER", "upper" },
		{ "contains|all", "x", "x" },
		{ "neq", "abc", "ALWAYS" },
		{ "contains", "*", "ALWAYS" },
	};
	char got[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		anchors_of(cases[i].mods, cases[i].value, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			VG_FAIL_("CommandLine|%s: '%s' -> \"%s\", expected \"%s\"", cases[i].mods, cases[i].value, got,
				 cases[i].want);
	}
}

TEST(sigma_prefilter_regex_semantics)
{
	/* whatever the anchors, the prefilter must not change results */
	static const struct { const char *re; const char *text; int want; } cases[] = {
		{ "(?i)kelvin", "\xE2\x84\xAA" "ELVIN", 1 }, /* KELVIN SIGN matches k caselessly */
		{ "ipconfig\\s+/all", "IPCONFIG /all", 0 },
		{ "(?i)ipconfig\\s+/all", "IPCONFIG   /ALL", 1 },
		{ "abc+de", "abcccde", 1 },
		{ "ab?cd", "acd", 1 },
		{ "foo|barbaz", "xbarbazx", 1 },
		{ "\xC3\x89+abc", "\xC3\x89\xC3\x89" "abc", 1 },
		{ "\\x41BCD", "ABCD", 1 },
		{ "\\101BC", "ABC", 1 },
		{ "x{,2}abc", "x{,2}abc", 1 }, /* PCRE2 10.42 reads {,2} as text */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char text[512];
		struct vg_ruleset *rs;
		snprintf(text, sizeof(text), "title: t\nlogsource:\n    category: process_creation\ndetection:\n"
			 "    sel:\n        CommandLine|re: '%s'\n    condition: sel\n", cases[i].re);
		ASSERT_EQ(vg_ruleset_new(&rs), 0);
		ASSERT_EQ(vg_ruleset_load_text(rs, "t", text, strlen(text), NULL, NULL), 1);
		struct vg_event *ev = sysmon(1, "CommandLine", cases[i].text, NULL);
		int on = vg_ruleset_match(rs, ev, NULL, NULL);
		vg_ruleset_set_prefilter(rs, 0);
		int off = vg_ruleset_match(rs, ev, NULL, NULL);
		vg_event_free(ev);
		vg_ruleset_free(rs);
		if (on != cases[i].want || off != cases[i].want)
			VG_FAIL_("re '%s' on '%s': prefilter on %d, off %d, expected %d", cases[i].re, cases[i].text, on, off,
				 cases[i].want);
	}
}

/* ---- threads ---- */

#include <pthread.h>

struct worker {
	struct vg_ruleset *rs;
	struct vg_event *ev[2];
	int matches;
};

static void *work(void *p)
{
	struct worker *w = p;
	for (int i = 0; i < 2000; i++)
		w->matches += vg_ruleset_match(w->rs, w->ev[i & 1], NULL, NULL);
	return NULL;
}

TEST(sigma_threads_share_a_ruleset)
{
	const char *text =
		"title: a\nlogsource:\n    category: process_creation\ndetection:\n"
		"    s:\n        CommandLine|contains: 'whoami'\n    condition: s\n---\n"
		"title: b\nlogsource:\n    category: process_creation\ndetection:\n"
		"    s:\n        CommandLine|re: 'who\\w+\\s+/all'\n    condition: s\n---\n"
		"title: c\nlogsource:\n    product: windows\ndetection:\n"
		"    s:\n        Image|endswith: '\\cmd.exe'\n    condition: s\n";
	struct vg_ruleset *rs;
	pthread_t th[4];
	struct worker w[4];

	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "t", text, strlen(text), NULL, NULL), 3);
	struct vg_event *a = sysmon(1, "Image", "C:\\Windows\\System32\\cmd.exe", "CommandLine", "whoami /all", NULL);
	struct vg_event *b = sysmon(1, "Image", "C:\\x.exe", "CommandLine", "dir", NULL);
	/* no match before the threads start: the first matches build the index concurrently */
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ rs, { a, b }, 0 };
		ASSERT_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ(w[i].matches, 1000 * 3);
	}
	vg_event_free(a);
	vg_event_free(b);
	vg_ruleset_free(rs);
}
