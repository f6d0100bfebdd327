/* test_gbt.c - gradient-boosted trees: compact predictions equal XGBoost's own, training is reproducible, the text form round-trips, and the loader rejects bad input with a position. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "test.h"
#include "gbt_data.h"
#include "vigil/common.h"
#include "vigil/gbt.h"

#define TRAIN_ROWS 3000
#define OTHER_ROWS 1000

/* A model trained once on the synthetic data, with XGBoost's booster kept for comparisons. */
struct trained {
	float *X, *y;           /* TRAIN_ROWS training rows */
	float *other;           /* rows the model never saw: fresh, mostly missing, and on thresholds */
	size_t nother;
	struct vg_gbt *m;
	BoosterHandle booster;
};

static void trained_free(struct trained *t)
{
	free(t->X);
	free(t->y);
	free(t->other);
	vg_gbt_free(t->m);
	if (t->booster)
		XGBoosterFree(t->booster);
	memset(t, 0, sizeof(*t));
}

/* Reads every split's (feature, threshold) back from the text form. Returns how many. */
static size_t split_thresholds(const struct vg_gbt *m, unsigned *feat, float *thr, size_t max)
{
	struct vg_buf b = { 0 };
	size_t n = 0;

	if (vg_gbt_save(m, &b))
		return 0;
	for (char *line = b.p; line && *line && n < max; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned f, r;
		float t;
		char dir;
		if (sscanf(line, "s %u %f %c %u", &f, &t, &dir, &r) == 4) {
			feat[n] = f;
			thr[n] = t;
			n++;
		}
	}
	vg_buf_free(&b);
	return n;
}

/*
 * Trains with p on the synthetic set and builds the other rows: OTHER_ROWS fresh rows,
 * 200 rows where every value is missing but one, 1 row all missing, and 600 rows with
 * five values put exactly on a split threshold of the model or one float step beside it.
 */
static int train_set(const struct vg_gbt_params *p, struct trained *t, char *err, size_t errlen)
{
	uint64_t s = 99;
	size_t cap = OTHER_ROWS + 200 + 1 + 600;

	memset(t, 0, sizeof(*t));
	t->X = malloc(sizeof(float) * TRAIN_ROWS * GBT_DATA_COLS);
	t->y = malloc(sizeof(float) * TRAIN_ROWS);
	t->other = malloc(sizeof(float) * cap * GBT_DATA_COLS);
	float *oy = malloc(sizeof(float) * cap);
	if (!t->X || !t->y || !t->other || !oy) {
		free(oy);
		return -1;
	}
	gbt_data_make(1, TRAIN_ROWS, 0.1, t->X, t->y);
	int rc = vg_gbt_train_booster(t->X, t->y, NULL, TRAIN_ROWS, GBT_DATA_COLS, p, &t->m, &t->booster, err, errlen);
	if (rc) {
		free(oy);
		return rc;
	}
	gbt_data_make(2, OTHER_ROWS + 801, 0.3, t->other, oy);
	free(oy);
	float *r = t->other + OTHER_ROWS * GBT_DATA_COLS;
	for (size_t i = 0; i < 201; i++, r += GBT_DATA_COLS) {
		size_t keep = gbt_data_next(&s) % GBT_DATA_COLS;
		for (size_t j = 0; j < GBT_DATA_COLS; j++)
			if (j != keep || i == 200)
				r[j] = NAN;
	}
	static unsigned feat[200000];
	static float thr[200000];
	size_t nsplit = split_thresholds(t->m, feat, thr, 200000);
	for (size_t i = 0; i < 600 && nsplit; i++, r += GBT_DATA_COLS) {
		for (int k = 0; k < 5; k++) {
			size_t at = gbt_data_next(&s) % nsplit;
			float v = thr[at];
			r[feat[at]] = i % 3 == 0 ? v : i % 3 == 1 ? nextafterf(v, -INFINITY) : nextafterf(v, INFINITY);
		}
	}
	t->nother = cap;
	return 0;
}

/* XGBoost's predictions (margin when margin is set) for rows, into out. Returns 0 or -1. */
static int xgb_predict(BoosterHandle b, const float *rows, size_t n, int margin, float *out)
{
	DMatrixHandle d;
	bst_ulong len;
	const float *pred;

	if (XGDMatrixCreateFromMat(rows, n, GBT_DATA_COLS, NAN, &d))
		return -1;
	int rc = XGBoosterPredict(b, d, margin ? 1 : 0, 0, 0, &len, &pred);
	if (rc == 0 && len == n)
		memcpy(out, pred, n * sizeof(float));
	XGDMatrixFree(d);
	return rc == 0 && len == n ? 0 : -1;
}

/* Largest |compact - XGBoost| over rows, for the probability and the margin, by both walks. */
struct gaps {
	double prob, margin, nodes_margin;
};

static int compare_rows(const struct trained *t, const float *rows, size_t n, struct gaps *g)
{
	float *p = malloc(n * sizeof(float)), *mg = malloc(n * sizeof(float));

	if (!p || !mg || xgb_predict(t->booster, rows, n, 0, p) || xgb_predict(t->booster, rows, n, 1, mg)) {
		free(p);
		free(mg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const float *row = rows + i * GBT_DATA_COLS;
		double dp = fabs(vg_gbt_predict(t->m, row) - p[i]);
		double dm = fabs(vg_gbt_margin(t->m, row) - mg[i]);
		double dn = fabs(vg_gbt_margin_nodes(t->m, row) - mg[i]);
		if (!(dp <= g->prob))
			g->prob = isnan(dp) ? INFINITY : dp;
		if (!(dm <= g->margin))
			g->margin = isnan(dm) ? INFINITY : dm;
		if (!(dn <= g->nodes_margin))
			g->nodes_margin = isnan(dn) ? INFINITY : dn;
	}
	free(p);
	free(mg);
	return 0;
}

TEST(gbt_compact_trees_equal_xgboost_predictions)
{
	struct vg_gbt_params p;
	struct trained t;
	struct gaps g = { 0, 0, 0 };
	char err[512] = "";

	vg_gbt_params_default(&p);
	int rc = train_set(&p, &t, err, sizeof(err));
	if (rc)
		VG_FAIL_("training failed: %s", err);
	ASSERT_EQ(vg_gbt_ntrees(t.m), 200);
	ASSERT_EQ(vg_gbt_max_depth(t.m), 6);
	ASSERT_EQ(vg_gbt_nfeatures(t.m), GBT_DATA_COLS);
	ASSERT_TRUE(vg_gbt_fast(t.m));
	rc = compare_rows(&t, t.X, TRAIN_ROWS, &g);
	if (rc == 0)
		rc = compare_rows(&t, t.other, t.nother, &g);
	if (rc) {
		trained_free(&t);
		VG_FAIL_("XGBoost predict failed: %s", XGBGetLastError());
	}
	/* the model learned something: predictions spread, not one constant */
	double lo = 1, hi = 0;
	for (size_t i = 0; i < TRAIN_ROWS; i++) {
		double q = vg_gbt_predict(t.m, t.X + i * GBT_DATA_COLS);
		lo = q < lo ? q : lo;
		hi = q > hi ? q : hi;
	}
	trained_free(&t);
	fprintf(stderr, "    max |compact - xgboost|: probability %.3g, margin %.3g (node walk %.3g); predictions %.3f..%.3f\n",
		g.prob, g.margin, g.nodes_margin, lo, hi);
	if (!(g.prob <= 1e-5 && g.margin <= 1e-5 && g.nodes_margin <= 1e-5))
		VG_FAIL_("compact trees differ from XGBoost by more than 1e-5");
	ASSERT_TRUE(lo < 0.1 && hi > 0.9);
}

/* The check above has teeth: a model with the missing-value directions or the ties changed must disagree. */
TEST(gbt_equivalence_check_sees_wrong_missing_and_tie_rules)
{
	struct vg_gbt_params p;
	struct trained t;
	struct vg_buf text = { 0 }, flipped = { 0 }, nudged = { 0 };
	char err[512] = "";

	vg_gbt_params_default(&p);
	p.ntrees = 50;
	if (train_set(&p, &t, err, sizeof(err)))
		VG_FAIL_("training failed: %s", err);
	ASSERT_EQ(vg_gbt_save(t.m, &text), 0);
	/* flipped: every missing value goes the other way; nudged: every threshold one float up */
	for (char *line = text.p; line && *line; ) {
		char *nl = strchr(line, '\n');
		unsigned f, r;
		float thr;
		char dir;
		if (sscanf(line, "s %u %f %c %u", &f, &thr, &dir, &r) == 4) {
			vg_buf_printf(&flipped, "s %u %.9g %c %u\n", f, (double)thr, dir == 'L' ? 'R' : 'L', r);
			vg_buf_printf(&nudged, "s %u %.9g %c %u\n", f, (double)nextafterf(thr, INFINITY), dir, r);
		} else {
			vg_buf_put(&flipped, line, (size_t)(nl - line) + 1);
			vg_buf_put(&nudged, line, (size_t)(nl - line) + 1);
		}
		line = nl ? nl + 1 : NULL;
	}
	struct trained wrong = t;
	struct gaps gf = { 0, 0, 0 }, gn = { 0, 0, 0 };
	int rc = vg_gbt_load(flipped.p, flipped.len, &wrong.m, err, sizeof(err));
	if (rc == 0)
		rc = compare_rows(&wrong, t.other, t.nother, &gf);
	vg_gbt_free(wrong.m);
	if (rc == 0)
		rc = vg_gbt_load(nudged.p, nudged.len, &wrong.m, err, sizeof(err));
	if (rc == 0)
		rc = compare_rows(&wrong, t.other, t.nother, &gn);
	vg_gbt_free(wrong.m);
	vg_buf_free(&text);
	vg_buf_free(&flipped);
	vg_buf_free(&nudged);
	trained_free(&t);
	if (rc)
		VG_FAIL_("mutated model did not load or predict: %s", err);
	fprintf(stderr, "    missing directions flipped: max gap %.3g; thresholds one float up: max gap %.3g\n", gf.prob,
		gn.prob);
	ASSERT_TRUE(gf.prob > 1e-3);
	ASSERT_TRUE(gn.prob > 1e-3);
}

TEST(gbt_training_twice_gives_identical_text)
{
	struct vg_gbt_params p;
	struct vg_gbt *a = NULL, *b = NULL, *c = NULL;
	struct vg_buf ta = { 0 }, tb = { 0 }, tc = { 0 };
	float *X = malloc(sizeof(float) * TRAIN_ROWS * GBT_DATA_COLS), *y = malloc(sizeof(float) * TRAIN_ROWS);
	char err[512] = "";

	ASSERT_TRUE(X && y);
	gbt_data_make(7, TRAIN_ROWS, 0.1, X, y);
	vg_gbt_params_default(&p);
	p.ntrees = 60;
	int rc = vg_gbt_train(X, y, NULL, TRAIN_ROWS, GBT_DATA_COLS, &p, &a, err, sizeof(err));
	if (rc == 0)
		rc = vg_gbt_train(X, y, NULL, TRAIN_ROWS, GBT_DATA_COLS, &p, &b, err, sizeof(err));
	p.seed = 2; /* another seed samples other rows and columns: the comparison can tell */
	if (rc == 0)
		rc = vg_gbt_train(X, y, NULL, TRAIN_ROWS, GBT_DATA_COLS, &p, &c, err, sizeof(err));
	free(X);
	free(y);
	if (rc == 0) {
		vg_gbt_save(a, &ta);
		vg_gbt_save(b, &tb);
		vg_gbt_save(c, &tc);
	}
	vg_gbt_free(a);
	vg_gbt_free(b);
	vg_gbt_free(c);
	int same = ta.len == tb.len && ta.len && memcmp(ta.p, tb.p, ta.len) == 0;
	int other = tc.len != ta.len || memcmp(tc.p, ta.p, ta.len) != 0;
	size_t len = ta.len;
	vg_buf_free(&ta);
	vg_buf_free(&tb);
	vg_buf_free(&tc);
	if (rc)
		VG_FAIL_("training failed: %s", err);
	ASSERT_TRUE(len > 1000);
	ASSERT_TRUE(same);
	ASSERT_TRUE(other);
}

TEST(gbt_text_round_trip_keeps_bytes_and_predictions)
{
	struct vg_gbt_params p;
	struct trained t;
	struct vg_gbt *back = NULL;
	struct vg_buf a = { 0 }, b = { 0 };
	char err[512] = "";

	vg_gbt_params_default(&p);
	p.ntrees = 80;
	if (train_set(&p, &t, err, sizeof(err)))
		VG_FAIL_("training failed: %s", err);
	ASSERT_EQ(vg_gbt_save(t.m, &a), 0);
	int rc = vg_gbt_load(a.p, a.len, &back, err, sizeof(err));
	size_t differ = 0;
	if (rc == 0) {
		vg_gbt_save(back, &b);
		for (size_t i = 0; i < TRAIN_ROWS; i++) {
			const float *row = t.X + i * GBT_DATA_COLS;
			differ += vg_gbt_predict(t.m, row) != vg_gbt_predict(back, row) ||
				  vg_gbt_margin(t.m, row) != vg_gbt_margin(back, row);
		}
		for (size_t i = 0; i < t.nother; i++)
			differ += vg_gbt_predict(t.m, t.other + i * GBT_DATA_COLS) !=
				  vg_gbt_predict(back, t.other + i * GBT_DATA_COLS);
		ASSERT_EQ(vg_gbt_nnodes(back), vg_gbt_nnodes(t.m));
	}
	int same = a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
	vg_gbt_free(back);
	vg_buf_free(&a);
	vg_buf_free(&b);
	trained_free(&t);
	if (rc)
		VG_FAIL_("saved model does not load: %s", err);
	ASSERT_TRUE(same);
	ASSERT_EQ(differ, 0);
}

/* Depth VG_GBT_FAST_DEPTH is the deepest complete-tree walk; deeper trees walk the node array. Both must equal XGBoost. */
TEST(gbt_deep_trees_equal_xgboost_in_both_walks)
{
	for (int want_fast = 1; want_fast >= 0; want_fast--) {
		struct vg_gbt_params p;
		struct trained t;
		struct gaps g = { 0, 0, 0 };
		char err[512] = "";

		vg_gbt_params_default(&p);
		p.ntrees = 25;
		p.max_depth = want_fast ? VG_GBT_FAST_DEPTH : VG_GBT_FAST_DEPTH + 2;
		p.min_child_weight = 0.01;
		p.lambda = 0.1;
		if (train_set(&p, &t, err, sizeof(err)))
			VG_FAIL_("training failed: %s", err);
		int depth = vg_gbt_max_depth(t.m), fast = vg_gbt_fast(t.m);
		int rc = compare_rows(&t, t.X, TRAIN_ROWS, &g);
		if (rc == 0)
			rc = compare_rows(&t, t.other, t.nother, &g);
		trained_free(&t);
		ASSERT_EQ(rc, 0);
		ASSERT_EQ(depth, p.max_depth);
		ASSERT_EQ(fast, want_fast);
		if (!(g.prob <= 1e-5 && g.margin <= 1e-5))
			VG_FAIL_("depth %d: compact trees differ from XGBoost: probability %.3g, margin %.3g", depth,
				 g.prob, g.margin);
	}
}

/* XGBoost's rules by hand: x < threshold goes left, missing follows its default, a lone leaf is its value. */
TEST(gbt_split_rules_on_a_hand_written_model)
{
	static const char text[] = "vigil-gbt 1\nobjective binary:logistic\nbase_score 0.5\nfeatures 2\n"
				   "trees 2 nodes 6\n"
				   "tree 0 5\ns 0 1.5 L 4\ns 1 -2 R 3\nl -1\nl 2\nl 1\n"
				   "tree 1 1\nl 0.25\n"
				   "end\n";
	struct vg_gbt *m = NULL;
	char err[256] = "";
	struct {
		float x0, x1;
		double margin;
	} cases[] = {
		{ 1.4f, -3.0f, -0.75 },  /* left, left */
		{ 1.4f, -2.0f, 2.25 },   /* 1.4 < 1.5, and -2 is not < -2: right */
		{ 1.5f, -3.0f, 1.25 },   /* on the threshold goes right */
		{ NAN, -3.0f, -0.75 },   /* missing x0 goes left (L) */
		{ 0.0f, NAN, 2.25 },     /* missing x1 goes right (R) */
		{ NAN, NAN, 2.25 },
	};
	int rc = vg_gbt_load(text, sizeof(text) - 1, &m, err, sizeof(err));
	if (rc)
		VG_FAIL_("load: %s", err);
	ASSERT_EQ(vg_gbt_max_depth(m), 2);
	ASSERT_TRUE(vg_gbt_fast(m));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		float row[2] = { cases[i].x0, cases[i].x1 };
		double a = vg_gbt_margin(m, row), b = vg_gbt_margin_nodes(m, row);
		if (a != cases[i].margin || b != cases[i].margin) {
			vg_gbt_free(m);
			VG_FAIL_("case %zu: margin %g (node walk %g), expected %g", i, a, b, cases[i].margin);
		}
	}
	/* XGBoost itself, given the same trees, agrees with the rules above */
	struct vg_buf json = { 0 };
	BoosterHandle b = NULL;
	DMatrixHandle d = NULL;
	float rows[2 * 6];
	bst_ulong len = 0;
	const float *xgb = NULL;
	for (size_t i = 0; i < 6; i++) {
		rows[2 * i] = cases[i].x0;
		rows[2 * i + 1] = cases[i].x1;
	}
	rc = vg_gbt_to_xgboost_json(m, &json);
	if (rc == 0 && (XGBoosterCreate(NULL, 0, &b) || XGBoosterLoadModelFromBuffer(b, json.p, json.len) ||
			XGDMatrixCreateFromMat(rows, 6, 2, NAN, &d) || XGBoosterPredict(b, d, 1, 0, 0, &len, &xgb)))
		rc = -1;
	size_t wrong = 0;
	for (size_t i = 0; rc == 0 && i < 6 && len == 6; i++)
		wrong += xgb[i] != (float)cases[i].margin;
	if (d)
		XGDMatrixFree(d);
	if (b)
		XGBoosterFree(b);
	vg_buf_free(&json);
	float row[2] = { 1.4f, -3.0f };
	double prob = vg_gbt_predict(m, row);
	vg_gbt_free(m);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(len, 6);
	ASSERT_EQ(wrong, 0);
	if (fabs(prob - 1.0 / (1.0 + exp(0.75))) > 1e-7)
		VG_FAIL_("probability %.9g", prob);
}

TEST(gbt_loader_rejects_bad_text_with_position)
{
	static const char *head = "vigil-gbt 1\nobjective binary:logistic\nbase_score 0.5\nfeatures 2\n";
	static const struct {
		const char *body; /* after head, or the whole text when it starts with '!' */
		const char *want; /* substring of the error */
	} cases[] = {
		{ "!", "line 1 column 1: expected \"vigil-gbt\"" },
		{ "!vigil-gbt 2\n", "line 1 column 11: expected \"1\"" },
		{ "!vigil-gbt 1\nobjective reg:squarederror\n", "line 2 column 11" },
		{ "!vigil-gbt 1\nobjective binary:logistic\nbase_score 1.5\n", "line 3 column 15: base_score must be" },
		{ "!vigil-gbt 1\nobjective binary:logistic\nbase_score nan\n", "line 3 column 12: expected base_score" },
		{ "trees 1 nodes 1\ntree 0 1\nl 0.5\n", "line 8 column 1: expected \"end\"" },
		{ "trees 1 nodes 1\ntree 0 1\nl 0.5\nend\nx", "line 9 column 1: text after \"end\"" },
		{ "trees 1 nodes 1\ntree 0 1\nl 1e39\nend\n", "line 7 column 3: the leaf value is out of float range" },
		{ "trees 1 nodes 3\ntree 0 3\ns 2 0.5 L 2\nl 1\nl 2\nend\n", "line 7 column 3: the feature index is larger than 1" },
		{ "trees 1 nodes 3\ntree 0 3\ns 1 0.5 X 2\nl 1\nl 2\nend\n", "line 7 column 9: expected L or R" },
		{ "trees 1 nodes 3\ntree 0 3\ns 1 0.5 L 3\nl 1\nl 2\nend\n", "line 7 column 11: the right child's index is larger than 2" },
		{ "trees 1 nodes 3\ntree 0 3\ns 1 0.5 L 1\nl 1\nl 2\nend\n", "line 7 (tree 0 node 0): right child must come after" },
		{ "trees 1 nodes 4\ntree 0 4\ns 1 0.5 L 2\nl 1\nl 2\nl 3\nend\n", "line 10 (tree 0 node 3): nodes left over" },
		{ "trees 1 nodes 5\ntree 0 5\ns 1 0.5 L 3\ns 0 1 R 4\nl 1\nl 2\nl 3\nend\n", "line 8 (tree 0 node 1): right child index is not where the left subtree ends" },
		{ "trees 2 nodes 2\ntree 0 1\nl 1\ntree 2 1\nl 1\nend\n", "line 8 column 7: tree 2 where tree 1 was expected" },
		{ "trees 1 nodes 1\ntree 0 2\nl 1\nl 1\nend\n", "line 6 column 9: tree 0's 2 nodes do not fit the 1 declared" },
		{ "trees 99999 nodes 99999\n", "line 5 column 12: 99999 trees cannot fit" },
		{ "trees 1 nodes 1\ntree 0 1\nl  1\nend\n", "line 7 column 3: expected the leaf value" },
		{ "trees 1 nodes 1\ntree 0 1\nl 0x1p0\nend\n", "line 7 column 3: expected the leaf value" },
		{ "trees 1 nodes 1\ntree 0 1\nq 1\nend\n", "line 7 column 1: expected a node line" },
		{ "trees 1 nodes 1\ntree 0 1\nl 1\nend", "line 8 column 4: input ends before the line does" },
		{ "trees 1 nodes 001\n", "line 5 column 15: expected the node count" },
	};
	char text[1024], err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vg_gbt *m = (struct vg_gbt *)1;
		if (cases[i].body[0] == '!')
			snprintf(text, sizeof(text), "%s", cases[i].body + 1);
		else
			snprintf(text, sizeof(text), "%s%s", head, cases[i].body);
		err[0] = '\0';
		int rc = vg_gbt_load(text, strlen(text), &m, err, sizeof(err));
		if (rc == 0 || m != NULL || !strstr(err, cases[i].want)) {
			vg_gbt_free(rc == 0 ? m : NULL);
			VG_FAIL_("case %zu: rc %d, error \"%s\", wanted \"%s\"", i, rc, err, cases[i].want);
		}
		ASSERT_TRUE(strncmp(err, "gbt model: line ", 16) == 0);
	}
	/* and the unbroken model loads */
	snprintf(text, sizeof(text), "%strees 1 nodes 3\ntree 0 3\ns 1 0.5 L 2\nl 1\nl 2\nend\n", head);
	struct vg_gbt *m = NULL;
	int rc = vg_gbt_load(text, strlen(text), &m, err, sizeof(err));
	if (rc)
		VG_FAIL_("valid model: %s", err);
	vg_gbt_free(m);
}

/* Every cut-short prefix of a real model is an error, never a crash or a partial model. */
TEST(gbt_loader_rejects_every_truncation)
{
	struct vg_gbt_params p;
	struct vg_gbt *m = NULL;
	struct vg_buf text = { 0 };
	float *X = malloc(sizeof(float) * 500 * GBT_DATA_COLS), *y = malloc(sizeof(float) * 500);
	char err[512] = "";

	ASSERT_TRUE(X && y);
	gbt_data_make(3, 500, 0.1, X, y);
	vg_gbt_params_default(&p);
	p.ntrees = 3;
	p.max_depth = 3;
	int rc = vg_gbt_train(X, y, NULL, 500, GBT_DATA_COLS, &p, &m, err, sizeof(err));
	free(X);
	free(y);
	if (rc)
		VG_FAIL_("training failed: %s", err);
	vg_gbt_save(m, &text);
	vg_gbt_free(m);
	size_t accepted = 0;
	for (size_t n = 0; n < text.len; n++) {
		struct vg_gbt *cut = NULL;
		if (vg_gbt_load(text.p, n, &cut, err, sizeof(err)) == 0 || cut || !strstr(err, "line "))
			accepted++;
		vg_gbt_free(cut);
	}
	rc = vg_gbt_load(text.p, text.len, &m, err, sizeof(err));
	vg_gbt_free(m);
	vg_buf_free(&text);
	ASSERT_EQ(accepted, 0);
	ASSERT_EQ(rc, 0);
}

TEST(gbt_training_rejects_bad_labels_and_xgboost_json)
{
	struct vg_gbt_params p;
	struct vg_gbt *m = NULL;
	float X[4 * 2] = { 1, 2, 3, 4, 5, 6, 7, 8 }, y[4] = { 0, 1, 2, 0 };
	char err[256] = "";

	vg_gbt_params_default(&p);
	ASSERT_EQ(vg_gbt_train(X, y, NULL, 4, 2, &p, &m, err, sizeof(err)), VG_EINVAL);
	ASSERT_NULL(m);
	ASSERT_TRUE(strstr(err, "label of row 2 is 2") != NULL);
	static const char bad_json[] = "{\"learner\": [1, 2";
	ASSERT_NE(vg_gbt_from_xgboost_json(bad_json, sizeof(bad_json) - 1, &m, err, sizeof(err)), 0);
	ASSERT_TRUE(strstr(err, "xgboost model: offset ") != NULL);
	static const char other_objective[] = "{\"learner\":{\"objective\":{\"name\":\"reg:squarederror\"}}}";
	ASSERT_EQ(vg_gbt_from_xgboost_json(other_objective, sizeof(other_objective) - 1, &m, err, sizeof(err)),
		  VG_EFORMAT);
	ASSERT_TRUE(strstr(err, "binary:logistic") != NULL);
	ASSERT_NULL(m);
}

/* A saved model handed back to XGBoost (vg_gbt_to_xgboost_json) predicts what the compact form and the original booster do. */
TEST(gbt_saved_model_rebuilt_in_xgboost_predicts_the_same)
{
	struct vg_gbt_params p;
	struct trained t;
	struct vg_gbt *loaded = NULL, *again = NULL;
	struct vg_buf text = { 0 }, json = { 0 }, text2 = { 0 };
	BoosterHandle rebuilt = NULL;
	struct gaps g = { 0, 0, 0 };
	char err[512] = "";

	vg_gbt_params_default(&p);
	p.ntrees = 40;
	if (train_set(&p, &t, err, sizeof(err)))
		VG_FAIL_("training failed: %s", err);
	vg_gbt_save(t.m, &text);
	int rc = vg_gbt_load(text.p, text.len, &loaded, err, sizeof(err));
	if (rc == 0)
		rc = vg_gbt_to_xgboost_json(loaded, &json);
	if (rc == 0)
		rc = XGBoosterCreate(NULL, 0, &rebuilt) || XGBoosterLoadModelFromBuffer(rebuilt, json.p, json.len) ? -1 : 0;
	if (rc == 0) {
		/* the rebuilt booster against the compact form, then the original booster against the rebuilt one */
		struct trained view = t;
		view.m = loaded;
		view.booster = rebuilt;
		rc = compare_rows(&view, t.X, TRAIN_ROWS, &g);
		if (rc == 0)
			rc = compare_rows(&view, t.other, t.nother, &g);
		float *a = malloc(t.nother * sizeof(float)), *b = malloc(t.nother * sizeof(float));
		if (rc == 0 && a && b && xgb_predict(t.booster, t.other, t.nother, 0, a) == 0 &&
		    xgb_predict(rebuilt, t.other, t.nother, 0, b) == 0)
			for (size_t i = 0; i < t.nother; i++) {
				if (a[i] != b[i]) {
					fprintf(stderr, "row %zu: %.9g vs %.9g\n", i, a[i], b[i]);
					rc = -2;
				}
			}
		else if (rc == 0)
			rc = -3;
		free(a);
		free(b);
	}
	/* and XGBoost's form converts back to the same text */
	if (rc == 0)
		rc = vg_gbt_from_xgboost_json(json.p, json.len, &again, err, sizeof(err));
	if (rc == 0)
		vg_gbt_save(again, &text2);
	int same_text = text.len == text2.len && memcmp(text.p, text2.p, text.len) == 0;
	if (rc == -1)
		snprintf(err, sizeof(err), "%s", XGBGetLastError());
	if (rebuilt)
		XGBoosterFree(rebuilt);
	vg_gbt_free(loaded);
	vg_gbt_free(again);
	vg_buf_free(&text);
	vg_buf_free(&json);
	vg_buf_free(&text2);
	trained_free(&t);
	if (rc)
		VG_FAIL_("rc %d: %s (compact vs rebuilt: %.3g)", rc, err, g.prob);
	if (!(g.prob <= 1e-5 && g.margin <= 1e-5))
		VG_FAIL_("rebuilt XGBoost model differs: probability %.3g, margin %.3g", g.prob, g.margin);
	ASSERT_TRUE(same_text);
}
