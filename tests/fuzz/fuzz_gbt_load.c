/* fuzz_gbt_load.c - libFuzzer harness for the tree model's text form (vg_gbt_load): any bytes give a model or an error with a line and column; a loaded model saves to text that loads to the same bytes, survives a trip through XGBoost's JSON form, and both tree walks agree. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/gbt.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_double(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_gbt *m = NULL, *again = NULL;
	struct vg_buf a = { 0 }, b = { 0 };
	char err[256];

	err[0] = '\0';
	if (vg_gbt_load((const char *)data, size, &m, err, sizeof(err)) != 0) {
		CHECK(m == NULL && strncmp(err, "gbt model: line ", 16) == 0);
		return 0;
	}
	CHECK(m && vg_gbt_ntrees(m) > 0 && vg_gbt_max_depth(m) <= VG_GBT_MAX_DEPTH);
	CHECK(vg_gbt_save(m, &a) == 0);
	CHECK(vg_gbt_load(a.p, a.len, &again, err, sizeof(err)) == 0);
	CHECK(vg_gbt_save(again, &b) == 0);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	/* XGBoost's form of the same trees converts back to the same text */
	struct vg_buf json = { 0 }, c = { 0 };
	struct vg_gbt *via_xgb = NULL;
	CHECK(vg_gbt_to_xgboost_json(m, &json) == 0);
	CHECK(vg_gbt_from_xgboost_json(json.p, json.len, &via_xgb, err, sizeof(err)) == 0);
	CHECK(vg_gbt_save(via_xgb, &c) == 0);
	CHECK(c.len == a.len && memcmp(c.p, a.p, a.len) == 0);
	vg_gbt_free(via_xgb);
	vg_buf_free(&json);
	vg_buf_free(&c);
	size_t nf = vg_gbt_nfeatures(m);
	float *row = calloc(nf ? nf : 1, sizeof(float));
	CHECK(row);
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < nf; i++)
			row[i] = pass == 0 ? 0.0f : pass == 1 ? NAN : (float)((i * 2654435761u) % 7) - 3.0f;
		double fast = vg_gbt_margin(m, row), nodes = vg_gbt_margin_nodes(m, row);
		CHECK(same_double(fast, nodes));
		CHECK(same_double(fast, vg_gbt_margin(again, row)));
		double p = vg_gbt_predict(m, row);
		CHECK(isnan(p) || (p >= 0.0 && p <= 1.0));
	}
	free(row);
	vg_buf_free(&a);
	vg_buf_free(&b);
	vg_gbt_free(m);
	vg_gbt_free(again);
	return 0;
}
