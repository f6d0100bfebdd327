/* fuzz_ml_bundle.c - libFuzzer harness for the model bundle parser: errors must name a line inside the input, and a bundle that parses must write back the bytes that parse to the same bundle and score without crashing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/ml.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static void score_some(const struct vg_ml_bundle *b)
{
	struct vg_ml_features f;
	struct vg_ml_verdict v;
	memset(&f, 0, sizeof(f));
	for (int p = 0; p < VG_ML_NPLATFORMS; p++) {
		f.platform = (enum vg_ml_platform)p;
		for (int i = 0; i < VG_ML_NDENSE; i++)
			f.dense[i] = i % 3 ? (float)i : NAN;
		f.ntokens = 3;
		f.tokens[0] = 0;
		f.tokens[1] = 7;
		f.tokens[2] = VG_ML_HASH_SIZE - 1;
		vg_ml_score_features(b, &f, &v);
		CHECK(v.score >= 0 && v.score <= 1);
		CHECK(v.decision <= VG_ML_BLOCK);
		CHECK(memchr(v.threat_name, '\0', sizeof(v.threat_name)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_ml_bundle *b = NULL, *b2 = NULL;
	char err[256];
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	int rc = vg_ml_bundle_parse((const char *)data, size, &b, err, sizeof(err));
	if (rc) {
		unsigned line = 0;
		CHECK(b == NULL);
		if (rc != VG_ENOMEM) {
			CHECK(sscanf(err, "line %u:", &line) == 1);
			CHECK(line >= 1 && line <= lines + 1);
		}
		return 0;
	}
	score_some(b);
	struct vg_buf t1 = { 0 }, t2 = { 0 };
	CHECK(vg_ml_bundle_save(b, &t1) == 0);
	CHECK(vg_ml_bundle_parse(t1.p, t1.len, &b2, err, sizeof(err)) == 0);
	CHECK(vg_ml_bundle_save(b2, &t2) == 0);
	CHECK(t1.len == t2.len && memcmp(t1.p, t2.p, t1.len) == 0);
	vg_buf_free(&t1);
	vg_buf_free(&t2);
	vg_ml_bundle_free(b);
	vg_ml_bundle_free(b2);
	return 0;
}
