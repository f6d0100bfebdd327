/* fuzz_placeholders.c - libFuzzer harness for the placeholders file reader: loads the input as placeholders, then a rule that expands them, and matches an event. */
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

static void on_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	(void)line;
	CHECK(file && reason && *reason);
	(*(int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char rule[] =
		"title: expand\nlogsource:\n    product: windows\n    category: process_creation\n"
		"detection:\n    sel:\n        User|expand: '%Admins%'\n    condition: sel\n";
	struct vg_ruleset *rs;
	int errors = 0, rule_errors = 0;

	CHECK(vg_ruleset_new(&rs) == 0);
	int n = vg_ruleset_load_placeholders_text(rs, "fuzz.yml", (const char *)data, size, on_error, &errors);
	CHECK(n != VG_EINVAL);
	CHECK(n >= 0 ? errors == 0 : n == VG_ENOMEM || errors > 0);
	int r = vg_ruleset_load_text(rs, "rule.yml", rule, sizeof(rule) - 1, on_error, &rule_errors);
	CHECK(r == 0 || r == 1);
	CHECK(r + rule_errors == 1);
	if (r == 1) {
		struct vg_event *ev = vg_event_new();
		CHECK(ev);
		ev->platform = VG_PLATFORM_WINDOWS;
		ev->source = VG_SRC_SYSMON;
		ev->event_id = 1;
		vg_event_add_field(ev, "EventID", 7, "1", 1);
		vg_event_add_field(ev, "Channel", 7, "Microsoft-Windows-Sysmon/Operational", 36);
		vg_event_add_field(ev, "User", 4, "CORP\\admin", 10);
		int m = vg_ruleset_match(rs, ev, NULL, NULL);
		CHECK(m == 0 || m == 1);
		vg_event_free(ev);
	}
	vg_ruleset_free(rs);
	return 0;
}
