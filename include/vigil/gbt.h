/* gbt.h - gradient-boosted trees: trained with XGBoost's C API, served from compact flattened arrays that give XGBoost's own predictions. */
#ifndef VIGIL_GBT_H
#define VIGIL_GBT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/buf.h"

/*
 * A trained binary:logistic ensemble in Vigil's own compact form (docs/ml-trees.md):
 * every tree's nodes in one contiguous array, depth-first, plus a complete-tree copy
 * walked without branches when the trees are at most VG_GBT_FAST_DEPTH deep.
 * Immutable once built; safe to read from many threads.
 */
struct vg_gbt;

/* Training settings, passed to XGBoost as booster parameters. */
struct vg_gbt_params {
	int ntrees;              /* boosting rounds (one tree each) */
	int max_depth;           /* XGBoost max_depth */
	double eta;              /* learning rate */
	double subsample;        /* row fraction per tree */
	double colsample;        /* column fraction per tree (colsample_bytree) */
	double min_child_weight; /* minimum hessian sum in a leaf */
	double lambda;           /* L2 regularisation of leaf weights */
	uint64_t seed;           /* XGBoost's seed: same seed, data and nthread -> same trees */
	int nthread;             /* 1 for byte-identical training */
};

/* Deepest trees served by the branch-free complete-tree walk; deeper ones walk the node array. */
#define VG_GBT_FAST_DEPTH 10
/* Deepest tree the loader accepts. */
#define VG_GBT_MAX_DEPTH 32

/* 200 trees of depth 6, eta 0.1, subsample 0.8, colsample 0.8, min_child_weight 1, lambda 1, seed 1, nthread 1. */
void vg_gbt_params_default(struct vg_gbt_params *p);

/*
 * Trains on X (nrows x ncols, row-major, NaN = missing) with labels y (0 or 1) and
 * optional per-row weights (NULL = 1), with XGBoost's "hist" method, then converts the
 * booster into the compact form and checks that the compact form gives XGBoost's own
 * probability on every training row to within 1e-5 (else fails: the conversion is wrong).
 * Returns 0 with *out owned by the caller (vg_gbt_free); VG_EINVAL for bad arguments or
 * labels, VG_EFORMAT when XGBoost fails or the check disagrees, VG_ENOMEM; err says why.
 */
int vg_gbt_train(const float *X, const float *y, const float *weight, size_t nrows, size_t ncols,
		 const struct vg_gbt_params *p, struct vg_gbt **out, char *err, size_t errlen);

/*
 * vg_gbt_train that also hands back XGBoost's booster (an XGBoost BoosterHandle, free
 * with XGBoosterFree) so tests and benchmarks can ask XGBoost itself about any row.
 * booster may be NULL. On failure nothing is returned in *out or *booster.
 */
int vg_gbt_train_booster(const float *X, const float *y, const float *weight, size_t nrows, size_t ncols,
			 const struct vg_gbt_params *p, struct vg_gbt **out, void **booster, char *err,
			 size_t errlen);

/*
 * Converts XGBoost 1.7's JSON model (XGBoosterSaveModelToBuffer with {"format":"json"})
 * of a binary:logistic gbtree into the compact form. The text is borrowed.
 * Returns 0 with *out; VG_EPARSE / VG_EFORMAT with err naming the offset or the tree.
 */
int vg_gbt_from_xgboost_json(const char *json, size_t len, struct vg_gbt **out, char *err, size_t errlen);

/*
 * Appends an XGBoost 1.7 JSON model of the same trees to out, which
 * XGBoosterLoadModelFromBuffer takes: any saved model can be checked against XGBoost's
 * own predict, not only a freshly trained one. Node statistics XGBoost keeps for
 * training (gain, hessian sums) are not in the compact form and are written as 0 and 1.
 * Returns 0, or VG_ENOMEM when the buffer could not grow.
 */
int vg_gbt_to_xgboost_json(const struct vg_gbt *m, struct vg_buf *out);

/* Probability of class 1 for one row of vg_gbt_nfeatures() floats (NaN = missing). */
double vg_gbt_predict(const struct vg_gbt *m, const float *row);
/* Raw margin: logit(base_score) + the sum of one leaf per tree, added in tree order in float as XGBoost does. */
double vg_gbt_margin(const struct vg_gbt *m, const float *row);
/* The same margin by walking the depth-first node array (the reference loop; the benchmark's "naive"). */
double vg_gbt_margin_nodes(const struct vg_gbt *m, const float *row);

/*
 * Appends the deterministic text form (docs/ml-trees.md, "Text form") to out: the same
 * model gives the same bytes, and vg_gbt_load of them then vg_gbt_save gives them again.
 * Returns 0, or VG_ENOMEM when the buffer could not grow.
 */
int vg_gbt_save(const struct vg_gbt *m, struct vg_buf *out);

/*
 * Parses the text form from untrusted bytes (borrowed; need not be NUL-terminated).
 * Returns 0 with *out owned by the caller; VG_EPARSE (err: "line L column C: reason"),
 * VG_ELIMIT for sizes past the loader's limits, VG_ENOMEM. On failure *out is NULL.
 */
int vg_gbt_load(const char *text, size_t len, struct vg_gbt **out, char *err, size_t errlen);

void vg_gbt_free(struct vg_gbt *m); /* accepts NULL */

size_t vg_gbt_ntrees(const struct vg_gbt *m);
int vg_gbt_max_depth(const struct vg_gbt *m);     /* deepest leaf, the root at depth 0 */
size_t vg_gbt_nfeatures(const struct vg_gbt *m);  /* floats per row */
size_t vg_gbt_nnodes(const struct vg_gbt *m);     /* nodes over all trees (splits and leaves) */
int vg_gbt_fast(const struct vg_gbt *m);          /* 1 when vg_gbt_margin uses the complete-tree walk */

#endif /* VIGIL_GBT_H */
