/* bench_infer.c - microseconds per single-row tree verdict: Vigil's compact trees (both walks) against XGBoost's C API single-row predict, same model, same rows, one run, with the ratio. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgboost/c_api.h>

#include "vigil/common.h"
#include "vigil/gbt.h"
#include "../tests/unit/gbt_data.h"

#define ROWS 1000 /* distinct rows the verdicts cycle through */
#define RUNS 5    /* interleaved runs per method; the median is reported */

static void usage(void)
{
	fprintf(stderr, "usage: bench_infer [--trees N] [--depth D] [--train-rows N] [--seconds S]\n"
			"       bench_infer --model|--bundle FILE [--which K] [--seconds S]\n"
			"  trains N trees of depth D (default 200 and 6, the shipped ensemble's size) on the\n"
			"  synthetic set of tests/unit/gbt_data.h, then times one-row verdicts; or times the\n"
			"  K-th (from 1) tree model in its text form found in FILE (a model bundle), with XGBoost\n"
			"  given the same trees through vg_gbt_to_xgboost_json and rows built around its thresholds\n");
	exit(2);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum method { COMPACT, NODE_WALK, XGB_DENSE, XGB_DMATRIX, NMETHODS };
static const char *method_name[NMETHODS] = {
	"compact trees, complete-tree walk (vg_gbt_predict)",
	"compact trees, depth-first node walk",
	"XGBoost XGBoosterPredictFromDense, 1 row",
	"XGBoost 1-row DMatrix + XGBoosterPredict",
};

struct ctx {
	const struct vg_gbt *m;
	BoosterHandle b;
	const float *rows;
	size_t cols;
	volatile double sink;
};

/* One verdict for row i by method; returns the probability (NaN if XGBoost failed). */
static double verdict(struct ctx *c, enum method how, size_t i)
{
	const float *row = c->rows + i * c->cols;

	switch (how) {
	case COMPACT:
		return vg_gbt_predict(c->m, row);
	case NODE_WALK:
		return 1.0 / (1.0 + exp(-vg_gbt_margin_nodes(c->m, row)));
	case XGB_DENSE: {
		char iface[256];
		DMatrixHandle proxy = NULL;
		const bst_ulong *shape;
		bst_ulong dim;
		const float *out;
		snprintf(iface, sizeof(iface),
			 "{\"data\": [%llu, true], \"shape\": [1, %zu], \"typestr\": \"<f4\", \"version\": 3}",
			 (unsigned long long)(uintptr_t)row, c->cols);
		if (XGBoosterPredictFromDense(c->b, iface,
					      "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
					      "\"iteration_end\": 0, \"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}",
					      proxy, &shape, &dim, &out))
			return NAN;
		return out[0];
	}
	case XGB_DMATRIX: {
		DMatrixHandle d;
		bst_ulong len;
		const float *out;
		double p = NAN;
		if (XGDMatrixCreateFromMat(row, 1, c->cols, NAN, &d))
			return NAN;
		if (XGBoosterPredict(c->b, d, 0, 0, 0, &len, &out) == 0 && len == 1)
			p = out[0];
		XGDMatrixFree(d);
		return p;
	}
	default:
		return NAN;
	}
}

/* Microseconds per verdict over about `seconds`, cycling through the rows. */
static double time_method(struct ctx *c, enum method how, double seconds)
{
	size_t n = 0, batch = how <= NODE_WALK ? 20000 : 200;
	double t0 = now(), t;
	double acc = 0;

	do {
		for (size_t k = 0; k < batch; k++, n++)
			acc += verdict(c, how, n % ROWS);
		t = now();
	} while (t - t0 < seconds);
	c->sink = acc;
	return (t - t0) * 1e6 / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}


/*
 * Loads the which-th tree model found in the file (a bare model or a bundle that
 * embeds the text form) and hands the same trees to XGBoost. Returns 0 or -1.
 */
static int load_model(const char *path, int which, struct vg_gbt **m, BoosterHandle *b)
{
	size_t len;
	char *text = vg_read_file(path, &len), err[512];
	const char *at = text;
	struct vg_buf json = { 0 };

	if (!text) {
		perror(path);
		return -1;
	}
	for (int k = 0; at && k < which; k++) {
		at = strstr(k ? at + 1 : at, "vigil-gbt 1\n");
		while (at && at != text && at[-1] != '\n')
			at = strstr(at + 1, "vigil-gbt 1\n");
	}
	const char *end = at ? strstr(at, "\nend\n") : NULL;
	if (!end) {
		fprintf(stderr, "bench_infer: %s: no tree model number %d (a \"vigil-gbt 1\" ... \"end\" text)\n", path, which);
		free(text);
		return -1;
	}
	if (vg_gbt_load(at, (size_t)(end + 5 - at), m, err, sizeof(err))) {
		fprintf(stderr, "bench_infer: %s: %s\n", path, err);
		free(text);
		return -1;
	}
	free(text);
	if (vg_gbt_to_xgboost_json(*m, &json) || XGBoosterCreate(NULL, 0, b) ||
	    XGBoosterLoadModelFromBuffer(*b, json.p, json.len) || XGBoosterSetParam(*b, "nthread", "1")) {
		fprintf(stderr, "bench_infer: XGBoost does not take the model: %s\n", XGBGetLastError());
		vg_buf_free(&json);
		return -1;
	}
	vg_buf_free(&json);
	return 0;
}

/*
 * Rows for a model from a file: each value is missing (10%) or one of the model's own
 * thresholds for that feature, exactly or one float either side, so rows take every path.
 */
static void rows_from_thresholds(const struct vg_gbt *m, float *rows, size_t nrows)
{
	struct vg_buf text = { 0 };
	size_t nf = vg_gbt_nfeatures(m), nsplit = 0;
	uint64_t s = 42;
	unsigned *feat = NULL;
	float *thr = NULL;

	vg_gbt_save(m, &text);
	feat = malloc(sizeof(unsigned) * (vg_gbt_nnodes(m) + 1));
	thr = malloc(sizeof(float) * (vg_gbt_nnodes(m) + 1));
	for (char *line = text.p; feat && thr && line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned f, r;
		char dir;
		if (sscanf(line, "s %u %f %c %u", &f, &thr[nsplit], &dir, &r) == 4)
			feat[nsplit++] = f;
	}
	for (size_t i = 0; i < nrows * nf; i++)
		rows[i] = 0.0f;
	for (size_t i = 0; i < nrows; i++) {
		for (size_t k = 0; k < nf; k++)
			if (gbt_data_unit(&s) < 0.1)
				rows[i * nf + k] = NAN;
		for (size_t k = 0; nsplit && k < nf; k++) {
			size_t at = gbt_data_next(&s) % nsplit;
			float v = thr[at];
			int how = (int)(gbt_data_next(&s) % 3);
			if (!isnan(rows[i * nf + feat[at]]))
				rows[i * nf + feat[at]] = how == 0 ? v : nextafterf(v, how == 1 ? -INFINITY : INFINITY);
		}
	}
	free(feat);
	free(thr);
	vg_buf_free(&text);
}

int main(int argc, char **argv)
{
	struct vg_gbt_params p;
	size_t train_rows = 20000;
	double seconds = 0.4;
	const char *model_path = NULL;
	int which = 1;
	char err[512];

	vg_gbt_params_default(&p);
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--trees"))
			p.ntrees = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--depth"))
			p.max_depth = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--train-rows"))
			train_rows = (size_t)strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && (!strcmp(argv[i], "--model") || !strcmp(argv[i], "--bundle")))
			model_path = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--which"))
			which = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else
			usage();
	}
	if (p.ntrees < 1 || p.max_depth < 1 || train_rows < 10 || !(seconds > 0) || which < 1)
		usage();

	struct vg_gbt *m = NULL;
	void *booster = NULL;
	float *rows = NULL;
	size_t cols;
	if (model_path) {
		if (load_model(model_path, which, &m, (BoosterHandle *)&booster))
			return 1;
		cols = vg_gbt_nfeatures(m);
		rows = malloc(sizeof(float) * ROWS * (cols ? cols : 1));
		if (!rows)
			return 1;
		rows_from_thresholds(m, rows, ROWS);
		printf("model: %s (number %d): %zu trees, max depth %d (%s), %zu nodes, %zu features\n", model_path,
		       which, vg_gbt_ntrees(m), vg_gbt_max_depth(m), vg_gbt_fast(m) ? "complete-tree walk" : "node walk",
		       vg_gbt_nnodes(m), cols);
	} else {
		float *X = malloc(sizeof(float) * train_rows * GBT_DATA_COLS), *y = malloc(sizeof(float) * train_rows);
		float *ry = malloc(sizeof(float) * ROWS);
		rows = malloc(sizeof(float) * ROWS * GBT_DATA_COLS);
		cols = GBT_DATA_COLS;
		if (!X || !y || !rows || !ry)
			return 1;
		gbt_data_make(1, train_rows, 0.1, X, y);
		gbt_data_make(2, ROWS, 0.1, rows, ry);
		double t0 = now();
		if (vg_gbt_train_booster(X, y, NULL, train_rows, GBT_DATA_COLS, &p, &m, &booster, err, sizeof(err))) {
			fprintf(stderr, "bench_infer: %s\n", err);
			return 1;
		}
		printf("model: %zu trees, max depth %d (%s), %zu nodes, %zu features; trained on %zu synthetic rows in %.1f s CPU\n",
		       vg_gbt_ntrees(m), vg_gbt_max_depth(m), vg_gbt_fast(m) ? "complete-tree walk" : "node walk",
		       vg_gbt_nnodes(m), vg_gbt_nfeatures(m), train_rows, now() - t0);
		free(X);
		free(y);
		free(ry);
	}
	size_t missing = 0;
	for (size_t i = 0; i < (size_t)ROWS * cols; i++)
		missing += isnan(rows[i]);
	printf("rows: %d distinct, %.1f%% of values missing; one verdict = one row in, one probability out\n", ROWS,
	       cols ? 100.0 * (double)missing / (double)(ROWS * cols) : 0.0);

	struct ctx c = { m, booster, rows, cols, 0 };
	/* same answers first: the comparison is only fair if all four agree */
	double worst = 0;
	for (size_t i = 0; i < ROWS; i++) {
		double ref = verdict(&c, XGB_DMATRIX, i);
		for (int k = 0; k < XGB_DMATRIX; k++) {
			double d = fabs(verdict(&c, (enum method)k, i) - ref);
			if (!(d <= worst))
				worst = isnan(d) ? INFINITY : d;
		}
	}
	printf("largest difference from XGBoost over the rows: %.3g%s\n", worst,
	       worst <= 1e-5 ? "" : "  <-- MORE THAN 1e-5");

	double us[NMETHODS][RUNS];
	for (int r = 0; r < RUNS; r++)
		for (int k = 0; k < NMETHODS; k++)
			us[k][r] = time_method(&c, (enum method)k, seconds);
	double med[NMETHODS];
	for (int k = 0; k < NMETHODS; k++) {
		qsort(us[k], RUNS, sizeof(double), cmp_double);
		med[k] = us[k][RUNS / 2];
		printf("%-52s %9.3f us/verdict (runs %.3f..%.3f)\n", method_name[k], med[k], us[k][0], us[k][RUNS - 1]);
	}
	printf("XGBoost dense predict / compact: %.1fx; 1-row DMatrix / compact: %.1fx; node walk / compact: %.2fx\n",
	       med[XGB_DENSE] / med[COMPACT], med[XGB_DMATRIX] / med[COMPACT], med[NODE_WALK] / med[COMPACT]);
	printf("target <= 2 us per verdict: %s\n", med[COMPACT] <= 2.0 ? "met" : "NOT met");
	XGBoosterFree(booster);
	vg_gbt_free(m);
	free(rows);
	return worst <= 1e-5 ? 0 : 1;
}
