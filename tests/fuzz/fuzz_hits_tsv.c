/* fuzz_hits_tsv.c - libFuzzer harness for the rule-hits expectation reader (`vigil rules hits --expect`): parses the input as a TSV; rows must be well-formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/rules_hits.c"
#include "cli/rules_test.c" /* vg_cli_info_rule_id */

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct vg_hits_table t;

	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	FILE *saved = stderr;
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull)
		stderr = devnull; /* the reader reports file:line reasons there */
	int rc = vg_cli_hits_parse("fuzz.tsv", text, &t);
	stderr = saved;
	if (devnull)
		fclose(devnull);
	CHECK(rc == 0 || rc == -1);
	for (size_t i = 0; rc == 0 && i < t.n; i++) {
		CHECK(t.rows[i].id && *t.rows[i].id && t.rows[i].title);
		CHECK(t.rows[i].own >= -1 && t.rows[i].other >= 0 && t.rows[i].benign >= 0);
		CHECK(!strchr(t.rows[i].id, '\t') && !strchr(t.rows[i].id, '\n'));
	}
	free(t.rows);
	free(text);
	return 0;
}
