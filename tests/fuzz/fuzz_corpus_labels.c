/* fuzz_corpus_labels.c - libFuzzer harness for the labels manifest of `vigil corpus` (src/corpus/labels.c): any input parses without crashing, and every kept line is well-formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/corpus.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static void on_bad(const char *name, unsigned line, const char *reason, void *ctx)
{
	unsigned *n = ctx;
	CHECK(name && line > 0 && reason && *reason);
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_corpus_labels l = { 0 };
	unsigned nbad = 0;
	int rc = vg_corpus_labels_parse("fuzz.tsv", (const char *)data, size, &l, on_bad, &nbad);

	CHECK(rc == VG_ENOMEM || (rc >= 0 && (unsigned)rc == nbad));
	for (size_t i = 0; i < l.nentries; i++) {
		const struct vg_corpus_entry *e = &l.entries[i];
		CHECK(e->recording && *e->recording && e->family && *e->family && e->group && *e->group);
		CHECK(strcmp(e->label, "benign") == 0 || strcmp(e->label, "malicious") == 0);
		CHECK(strcmp(e->platform, "linux") == 0 || strcmp(e->platform, "windows") == 0);
		CHECK(e->nroots <= VG_CORPUS_MAX_ROOTS);
		for (size_t k = 0; k < e->nroots; k++)
			CHECK(e->roots[k] > 0);
		CHECK(!strchr(e->recording, '\t') && !strchr(e->recording, '\n') && !strchr(e->group, '\n'));
	}
	for (size_t i = 0; i < l.nattackers; i++)
		CHECK(l.attackers[i].text && *l.attackers[i].text && !strchr(l.attackers[i].text, '\n'));
	vg_corpus_labels_free(&l);
	return 0;
}
