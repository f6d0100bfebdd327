/* fuzz_policy.c - libFuzzer harness for the response policy parser: any bytes give a policy or an error naming the input and line, never a crash; a parsed policy answers every query. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/response.h"
#include "vigil/sigma.h"

static struct vg_ruleset *rules;

static const char rule_text[] = "title: t\n"
				"id: 20000000-0000-0000-0000-000000000001\n"
				"logsource: {product: linux, category: process_creation}\n"
				"detection: {sel: {Image|endswith: '/x'}, condition: sel}\n"
				"tags: [attack.t1055.012, attack.execution]\n"
				"level: high\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_policy *p = NULL;
	char err[512], why[256];

	if (!rules) {
		if (vg_ruleset_new(&rules) || vg_ruleset_load_text(rules, "fuzz", rule_text, sizeof(rule_text) - 1, NULL, NULL) != 1)
			abort();
	}
	err[0] = '\0';
	int rc = vg_policy_parse("fuzz", (const char *)data, size, &p, err, sizeof(err));
	if (rc) {
		/* errors name the input */
		if (p || strncmp(err, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	const struct vg_rule *r = vg_ruleset_rule(rules, 0);
	enum vg_action a = vg_policy_decide(p, r, why, sizeof(why));
	if (a < VG_ACT_ALERT || a > VG_ACT_REMEDIATE || !why[0])
		abort();
	struct vg_event *ev = vg_event_new();
	if (ev) {
		ev->proc.image = "/tmp/x";
		ev->file.path = "/tmp/payload";
		ev->proc.hashes = "SHA256=0000000000000000000000000000000000000000000000000000000000000000";
		vg_policy_excluded(p, r, ev, NULL, why, sizeof(why));
		vg_policy_never_kill(p, "/usr/sbin/sshd", "sshd", why, sizeof(why));
		vg_policy_never_kill(p, NULL, "x", why, sizeof(why));
		vg_event_free(ev);
	}
	vg_policy_audit(p);
	vg_policy_free(p);
	return 0;
}
