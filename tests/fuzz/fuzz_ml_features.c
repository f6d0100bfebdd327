/* fuzz_ml_features.c - libFuzzer harness for the feature extraction of an untrusted signal body: any JSON gives sorted distinct token buckets inside the hash space, finite or missing (NaN) dense values, and a bounded parent-child key. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/json.h"
#include "vigil/ml.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_json_doc d;
	struct vg_json_error e;
	struct vg_ml_features f;
	struct vg_ml_cloud_facts facts = { (int64_t)(size % 7), (double)(size % 1000), -1 };
	char pair[64];

	vg_json_doc_init(&d);
	if (vg_json_flatten(&d, (const char *)data, size, &e) == 0) {
		vg_ml_features_extract(&d, size % 2 ? &facts : NULL, NULL, &f);
		CHECK(f.platform == VG_ML_LINUX || f.platform == VG_ML_WINDOWS);
		CHECK(f.ntokens <= VG_ML_MAX_TOKENS);
		for (uint32_t i = 0; i < f.ntokens; i++) {
			CHECK(f.tokens[i] < VG_ML_HASH_SIZE);
			if (i)
				CHECK(f.tokens[i - 1] < f.tokens[i]);
		}
		for (int i = 0; i < VG_ML_NDENSE; i++)
			CHECK(isnan(f.dense[i]) || isfinite(f.dense[i]));
		CHECK(memchr(f.name, '\0', sizeof(f.name)));
		size_t n = vg_ml_pair_key(&d, pair, sizeof(pair));
		CHECK(n < sizeof(pair) && pair[n] == '\0');
		struct vg_ml_verdict v;
		vg_ml_score(NULL, &d, &facts, NULL, &v); /* no bundle: clean, never a crash */
		CHECK(v.decision == VG_ML_CLEAN);
	}
	vg_json_doc_free(&d);
	return 0;
}
