/* ml_int.h - the model bundle's insides, shared by scoring (model.c), the bundle's text form (bundle.c) and training (train.c). */
#ifndef VIGIL_ML_INT_H
#define VIGIL_ML_INT_H

#include "vigil/ml.h"

#if __has_include("vigil/gbt.h")
#include "vigil/gbt.h"
#else
/* Until the trees' branch is merged: the contract's declarations (docs/ml.md). */
struct vg_gbt;
struct vg_gbt_params {
	int ntrees, max_depth;
	double eta, subsample, colsample, min_child_weight, lambda;
	uint64_t seed;
	int nthread;
};
void vg_gbt_params_default(struct vg_gbt_params *p);
int vg_gbt_train(const float *X, const float *y, const float *weight, size_t nrows, size_t ncols,
		 const struct vg_gbt_params *p, struct vg_gbt **out, char *err, size_t errlen);
double vg_gbt_predict(const struct vg_gbt *m, const float *row);
int vg_gbt_save(const struct vg_gbt *m, struct vg_buf *out);
int vg_gbt_load(const char *text, size_t len, struct vg_gbt **out, char *err, size_t errlen);
void vg_gbt_free(struct vg_gbt *m);
size_t vg_gbt_ntrees(const struct vg_gbt *m);
int vg_gbt_max_depth(const struct vg_gbt *m);
#endif

#define VG_ML_BUNDLE_MAGIC "vigil-model-bundle"
#define VG_ML_BUNDLE_VERSION 1

/* Dense features the linear model reads beside the tokens (standardized). */
#define ML_LIN_NDENSE 14
extern const enum vg_ml_feature vg_ml_linear_dense[ML_LIN_NDENSE];
/* Inputs of the prevalence model. */
#define ML_PREV_N 5
extern const enum vg_ml_feature vg_ml_prev_inputs[ML_PREV_N];

/* Logistic regression on hashed tokens plus a few standardized dense features. */
struct ml_linear {
	float bias;
	float mean[ML_LIN_NDENSE], scale[ML_LIN_NDENSE], wdense[ML_LIN_NDENSE];
	float *w; /* VG_ML_HASH_SIZE weights, 0 for buckets never seen in training */
};

/* A small logistic regression over standardized inputs (prevalence model). */
struct ml_small {
	double bias;
	double mean[ML_PREV_N], scale[ML_PREV_N], w[ML_PREV_N];
};

struct ml_platform {
	int present;
	struct vg_gbt *trees;
	struct ml_linear lin;
	struct ml_small prev;
	double stack[4];        /* bias, weights of logit(trees), logit(linear), logit(prevalence) */
	double t_block, t_suspicious;
	double content_floor;   /* block needs the trees or the linear model at least this sure */
	struct vg_ml_metrics metrics;
	struct vg_ml_family_metrics *families; /* leave-one-family-out evaluations */
	size_t nfamilies;
};

struct vg_ml_bundle {
	char corpus_sha256[65];
	uint64_t seed;
	int trees, depth, linear_epochs; /* training settings, recorded */
	double block_fpr, suspicious_fpr, holdout, validation;
	struct ml_platform p[VG_ML_NPLATFORMS];
};

/* Each model's probability for f (NaN-safe). */
double vg_ml_linear_prob(const struct ml_linear *m, const struct vg_ml_features *f);
double vg_ml_small_prob(const struct ml_small *m, const struct vg_ml_features *f);
/* The stacked ensemble from the three model probabilities. */
double vg_ml_stack_prob(const double stack[4], double trees, double linear, double prev);
double vg_ml_logit(double p);
/* Scores f with one platform's models (pm may be NULL: clean, scores 0). */
void vg_ml_score_platform(const struct ml_platform *pm, const struct vg_ml_features *f, struct vg_ml_verdict *out);
double vg_ml_sigmoid(double z);

#endif /* VIGIL_ML_INT_H */
