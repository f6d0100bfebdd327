/* bench_ml.c - microseconds per verdict of the shipped model bundle: the whole path (flatten the signal, extract features, score all models and the ensemble) and its parts, on corpus signals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/common.h"
#include "vigil/json.h"
#include "vigil/ml.h"

/*
 * Usage: bench_ml [BUNDLE] [CORPUS] [ROUNDS]
 *   BUNDLE  default models/vigil-model.bundle
 *   CORPUS  JSON lines whose "signal" members are scored (default data/corpus/linux.jsonl); at most 2000 are used
 *   ROUNDS  passes over the signals (default 50); the fastest pass is reported
 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The "signal" member of a corpus line, as its own text (the corpus writes it last, so it runs to the closing brace). */
static char *signal_text(const char *line)
{
	const char *s = strstr(line, "\"signal\":");
	if (!s)
		return NULL;
	s += 9;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (!n || s[n - 1] != '}')
		return NULL;
	return vg_strndup(s, n - 1);
}

int main(int argc, char **argv)
{
	const char *bpath = argc > 1 ? argv[1] : "models/vigil-model.bundle";
	const char *cpath = argc > 2 ? argv[2] : "data/corpus/linux.jsonl";
	int rounds = argc > 3 ? atoi(argv[3]) : 50;
	struct vg_ml_bundle *b;
	char err[256];
	if (vg_ml_bundle_load(bpath, &b, err, sizeof(err))) {
		fprintf(stderr, "bench_ml: %s\n", err);
		return 2;
	}
	FILE *f = fopen(cpath, "r");
	if (!f) {
		perror(cpath);
		return 2;
	}
	char **sig = calloc(2000, sizeof(*sig));
	size_t n = 0, cap = 0;
	char *line = NULL;
	while (n < 2000 && getline(&line, &cap, f) > 0)
		if ((sig[n] = signal_text(line)))
			n++;
	free(line);
	fclose(f);
	if (!n) {
		fprintf(stderr, "bench_ml: no signals in %s\n", cpath);
		return 2;
	}
	struct vg_json_doc *docs = calloc(n, sizeof(*docs));
	struct vg_ml_features *feats = calloc(n, sizeof(*feats));
	for (size_t i = 0; i < n; i++) {
		vg_json_doc_init(&docs[i]);
		struct vg_json_error e;
		if (vg_json_flatten(&docs[i], sig[i], strlen(sig[i]), &e)) {
			fprintf(stderr, "bench_ml: signal %zu: %s\n", i, e.reason);
			return 2;
		}
	}
	struct vg_ml_cloud_facts facts = { 1, 0, 1 };
	double best[3] = { 1e9, 1e9, 1e9 };
	volatile double sink = 0;
	struct vg_json_doc d;
	vg_json_doc_init(&d);
	for (int r = 0; r < rounds; r++) {
		struct vg_ml_verdict v;
		double t0 = now_s();
		for (size_t i = 0; i < n; i++) { /* the whole path the cloud runs */
			struct vg_json_error e;
			vg_json_flatten(&d, sig[i], strlen(sig[i]), &e);
			vg_ml_score(b, &d, &facts, NULL, &v);
			sink += v.score;
		}
		double t1 = now_s();
		for (size_t i = 0; i < n; i++)
			vg_ml_features_extract(&docs[i], &facts, NULL, &feats[i]);
		double t2 = now_s();
		for (size_t i = 0; i < n; i++) {
			vg_ml_score_features(b, &feats[i], &v);
			sink += v.score;
		}
		double t3 = now_s();
		double t[3] = { t1 - t0, t2 - t1, t3 - t2 };
		for (int k = 0; k < 3; k++)
			if (t[k] < best[k])
				best[k] = t[k];
	}
	printf("bench_ml: %zu signals from %s, bundle %s, fastest of %d passes\n", n, cpath, bpath, rounds);
	printf("  whole verdict (flatten + features + 3 models + stack): %.2f us\n", best[0] / (double)n * 1e6);
	printf("  features only:                                        %.2f us\n", best[1] / (double)n * 1e6);
	printf("  models + stack + decision + name only:                %.2f us\n", best[2] / (double)n * 1e6);
	(void)sink;
	for (size_t i = 0; i < n; i++) {
		free(sig[i]);
		vg_json_doc_free(&docs[i]);
	}
	vg_json_doc_free(&d);
	free(sig);
	free(docs);
	free(feats);
	vg_ml_bundle_free(b);
	return 0;
}
