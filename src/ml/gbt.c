/* gbt.c - gradient-boosted trees: XGBoost training, conversion of its JSON model into flattened arrays, branch-free inference, and the text form. */
#include "vigil/gbt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "vigil/common.h"
#include "vigil/json.h"

/*
 * One node of the depth-first array. Trees are stored one after another in preorder,
 * so a split's left child is always the next node and only the right child is kept.
 */
struct gbt_node {
	float value;         /* split: threshold (x < value goes left); leaf: the leaf's value */
	uint32_t right;      /* split: index of the right child inside its tree; leaf: 0 */
	uint32_t feature;    /* split: feature index; leaf: LEAF */
	uint8_t default_left; /* split: 1 when a missing (NaN) value goes left */
};
#define LEAF UINT32_MAX

/*
 * One split of the complete-tree copy: every tree padded to the same depth D (a leaf
 * above depth D becomes splits whose sides all end in copies of that leaf), laid out
 * heap-style so the children of split i are 2i+1 and 2i+2 and no child index is stored.
 * Missing values cost nothing in the walk: the row is first copied twice, NaN -> -inf
 * in slot 2f and NaN -> +inf in slot 2f+1, and a split reads slot 2f+1 exactly when its
 * missing values go right, so "x >= threshold" alone decides (thresholds are finite).
 */
struct fast_split {
	float threshold;
	uint32_t slot; /* 2 * feature, + 1 when a missing value goes right */
};

struct vg_gbt {
	size_t nfeatures;        /* floats per row */
	size_t ntrees;
	size_t nnodes;           /* nodes in all trees */
	float base_score;        /* XGBoost's base_score, a probability */
	float base_margin;       /* logit(base_score), computed as XGBoost does */
	int max_depth;           /* deepest leaf over all trees */
	uint32_t *tree_start;    /* ntrees + 1 offsets into nodes */
	struct gbt_node *nodes;  /* all trees, depth-first */
	/* complete-tree copy; absent (fast_depth -1) past VG_GBT_FAST_DEPTH, FAST_FEATURES or FAST_MAX_BYTES */
	int fast_depth;          /* D: every tree walks exactly D splits */
	struct fast_split *fast_splits; /* ntrees * (2^D - 1) */
	float *fast_leaves;      /* ntrees * 2^D */
};

/* Loader limits: far above any model Vigil trains, low enough that hostile input stays cheap. */
#define MAX_TREES    100000
#define MAX_NODES    (1u << 26)
#define MAX_FEATURES (1u << 20)
/* Most features the complete-tree walk serves (its doubled row lives on the stack). */
#define FAST_FEATURES 2048
/* Most memory the complete-tree copy may take (200 trees of depth 10 take 2.4 MB). */
#define FAST_MAX_BYTES (64u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void vg_gbt_params_default(struct vg_gbt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->ntrees = 200;
	p->max_depth = 6;
	p->eta = 0.1;
	p->subsample = 0.8;
	p->colsample = 0.8;
	p->min_child_weight = 1.0;
	p->lambda = 1.0;
	p->seed = 1;
	p->nthread = 1;
}

void vg_gbt_free(struct vg_gbt *m)
{
	if (!m)
		return;
	free(m->tree_start);
	free(m->nodes);
	free(m->fast_splits);
	free(m->fast_leaves);
	free(m);
}

size_t vg_gbt_ntrees(const struct vg_gbt *m) { return m->ntrees; }
int vg_gbt_max_depth(const struct vg_gbt *m) { return m->max_depth; }
size_t vg_gbt_nfeatures(const struct vg_gbt *m) { return m->nfeatures; }
size_t vg_gbt_nnodes(const struct vg_gbt *m) { return m->nnodes; }
int vg_gbt_fast(const struct vg_gbt *m) { return m->fast_depth >= 0; }

/* ---- structure checks and the complete-tree copy ---- */

/*
 * Checks that nodes[i..] is a well-formed preorder subtree inside a tree of n nodes and
 * returns one past its end, or -1 with *bad set to the offending node. Right children
 * only point forward, so the walk ends; depth is bounded by VG_GBT_MAX_DEPTH.
 */
static long subtree_end(const struct gbt_node *nodes, uint32_t n, uint32_t i, int depth, int *max_depth,
			uint32_t *bad, const char **why)
{
	if (depth > VG_GBT_MAX_DEPTH) {
		*bad = i;
		*why = "tree deeper than the limit";
		return -1;
	}
	if (depth > *max_depth)
		*max_depth = depth;
	if (nodes[i].feature == LEAF)
		return (long)i + 1;
	uint32_t r = nodes[i].right;
	if (r <= i + 1 || r >= n) {
		*bad = i;
		*why = "right child must come after the left subtree and inside the tree";
		return -1;
	}
	long left_end = subtree_end(nodes, n, i + 1, depth + 1, max_depth, bad, why);
	if (left_end < 0)
		return -1;
	if ((uint32_t)left_end != r) {
		*bad = i;
		*why = "right child index is not where the left subtree ends";
		return -1;
	}
	return subtree_end(nodes, n, r, depth + 1, max_depth, bad, why);
}

/* Fills heap slot h (at depth d of D) of one padded tree from depth-first node i. */
static void fill_fast(const struct gbt_node *tree, uint32_t i, uint32_t h, int d, int D, struct fast_split *splits,
		      float *leaves)
{
	uint32_t internal = (1u << D) - 1;
	const struct gbt_node *n = &tree[i];

	if (d == D) {
		leaves[h - internal] = n->value; /* only leaves reach depth D */
		return;
	}
	if (n->feature == LEAF) {
		/* padding: whichever way a row goes, it ends in this leaf */
		splits[h] = (struct fast_split){ .threshold = 0.0f, .slot = 0 };
		fill_fast(tree, i, 2 * h + 1, d + 1, D, splits, leaves);
		fill_fast(tree, i, 2 * h + 2, d + 1, D, splits, leaves);
		return;
	}
	splits[h] = (struct fast_split){ .threshold = n->value, .slot = 2 * n->feature + !n->default_left };
	fill_fast(tree, i + 1, 2 * h + 1, d + 1, D, splits, leaves);
	fill_fast(tree, n->right, 2 * h + 2, d + 1, D, splits, leaves);
}

/* Builds the complete-tree copy when the model is shallow enough. Returns 0 or VG_ENOMEM. */
static int build_fast(struct vg_gbt *m)
{
	int D = m->max_depth;

	m->fast_depth = -1;
	if (D > VG_GBT_FAST_DEPTH || m->nfeatures > FAST_FEATURES || m->ntrees == 0)
		return 0;
	size_t internal = ((size_t)1 << D) - 1;
	if (m->ntrees * (internal * sizeof(struct fast_split) + (internal + 1) * sizeof(float)) > FAST_MAX_BYTES)
		return 0; /* padding many deep trees would cost more memory than it saves time */
	m->fast_leaves = vg_calloc(m->ntrees * (internal + 1), sizeof(float));
	m->fast_splits = vg_calloc(internal ? m->ntrees * internal : 1, sizeof(struct fast_split));
	if (!m->fast_leaves || !m->fast_splits)
		return VG_ENOMEM;
	for (size_t t = 0; t < m->ntrees; t++)
		fill_fast(m->nodes + m->tree_start[t], 0, 0, 0, D, m->fast_splits + t * internal,
			  m->fast_leaves + t * (internal + 1));
	m->fast_depth = D;
	return 0;
}

/* XGBoost's ProbToMargin for binary:logistic, in float as it computes it. */
static float logit_f(float p)
{
	return -logf(1.0f / p - 1.0f);
}

/* ---- inference ---- */

double vg_gbt_margin_nodes(const struct vg_gbt *m, const float *row)
{
	float sum = m->base_margin;

	for (size_t t = 0; t < m->ntrees; t++) {
		const struct gbt_node *tree = m->nodes + m->tree_start[t];
		uint32_t i = 0;
		while (tree[i].feature != LEAF) {
			float x = row[tree[i].feature];
			int left = isnan(x) ? tree[i].default_left : x < tree[i].value;
			i = left ? i + 1 : tree[i].right;
		}
		sum += tree[i].value;
	}
	return sum;
}

/*
 * The serving loop: every tree walks exactly D splits, one comparison each and no
 * data-dependent branch, and four trees walk side by side so their loads overlap.
 * Leaves are still added in tree order, so the float sum is XGBoost's.
 */
static inline __attribute__((always_inline)) float margin_fast(const struct vg_gbt *m, const float *row, const int D)
{
	const uint32_t internal = (1u << D) - 1;
	const struct fast_split *s = m->fast_splits;
	const float *lv = m->fast_leaves;
	float both[2 * FAST_FEATURES];
	float sum = m->base_margin;
	size_t t = 0;

	for (size_t f = 0; f < m->nfeatures; f++) {
		float x = row[f];
		both[2 * f] = isnan(x) ? -INFINITY : x;
		both[2 * f + 1] = isnan(x) ? INFINITY : x;
	}
#define STEP(S, I)                                                       \
	do {                                                             \
		const struct fast_split *n_ = &(S)[I];                   \
		(I) = 2 * (I) + 1 + (both[n_->slot] >= n_->threshold);   \
	} while (0)

	for (; t + 4 <= m->ntrees; t += 4) {
		const struct fast_split *s0 = s + t * internal, *s1 = s0 + internal, *s2 = s1 + internal,
					*s3 = s2 + internal;
		uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
		for (int d = 0; d < D; d++) {
			STEP(s0, i0);
			STEP(s1, i1);
			STEP(s2, i2);
			STEP(s3, i3);
		}
		/* after D steps every index is a leaf's heap slot, at or past `internal` */
		const float *l0 = lv + t * (internal + 1);
		sum += l0[i0 - internal];
		sum += l0[(internal + 1) + i1 - internal];
		sum += l0[2 * (internal + 1) + i2 - internal];
		sum += l0[3 * (internal + 1) + i3 - internal];
	}
	for (; t < m->ntrees; t++) {
		const struct fast_split *s0 = s + t * internal;
		uint32_t i0 = 0;
		for (int d = 0; d < D; d++)
			STEP(s0, i0);
		sum += lv[t * (internal + 1) + i0 - internal];
	}
#undef STEP
	return sum;
}

double vg_gbt_margin(const struct vg_gbt *m, const float *row)
{
	/* one copy of the walk per depth, so the compiler unrolls the levels */
	switch (m->fast_depth) {
	case 0: return margin_fast(m, row, 0);
	case 1: return margin_fast(m, row, 1);
	case 2: return margin_fast(m, row, 2);
	case 3: return margin_fast(m, row, 3);
	case 4: return margin_fast(m, row, 4);
	case 5: return margin_fast(m, row, 5);
	case 6: return margin_fast(m, row, 6);
	case 7: return margin_fast(m, row, 7);
	case 8: return margin_fast(m, row, 8);
	case 9: return margin_fast(m, row, 9);
	case 10: return margin_fast(m, row, 10);
	default: return vg_gbt_margin_nodes(m, row);
	}
}

double vg_gbt_predict(const struct vg_gbt *m, const float *row)
{
	/* XGBoost's sigmoid, in float */
	float x = (float)vg_gbt_margin(m, row);
	float e = expf(fminf(-x, 88.7f));
	return 1.0f / (e + 1.0f + 1e-16f);
}

/* ---- model assembly shared by the converter and the loader ---- */

/* Allocates a model for ntrees trees and nnodes nodes. Returns NULL on allocation failure. */
static struct vg_gbt *model_new(size_t ntrees, size_t nnodes)
{
	struct vg_gbt *m = vg_calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fast_depth = -1;
	m->tree_start = vg_calloc(ntrees + 1, sizeof(uint32_t));
	m->nodes = vg_calloc(nnodes ? nnodes : 1, sizeof(struct gbt_node));
	if (!m->tree_start || !m->nodes) {
		vg_gbt_free(m);
		return NULL;
	}
	return m;
}

/*
 * Checks every tree's structure, features and values, sets max_depth and builds the fast
 * copy. On failure *bad_tree and *bad_node name the node and err says why.
 */
static int model_finish(struct vg_gbt *m, size_t *bad_tree, uint32_t *bad_node, char *why, size_t whylen)
{
	m->max_depth = 0;
	for (size_t t = 0; t < m->ntrees; t++) {
		const struct gbt_node *tree = m->nodes + m->tree_start[t];
		uint32_t n = m->tree_start[t + 1] - m->tree_start[t];
		const char *reason = NULL;
		uint32_t bad = 0;
		*bad_tree = t;
		for (uint32_t i = 0; i < n; i++) {
			*bad_node = i;
			if (!isfinite(tree[i].value)) {
				set_err(why, whylen, "%s is not a finite number", tree[i].feature == LEAF ? "leaf value" : "threshold");
				return VG_EPARSE;
			}
			if (tree[i].feature != LEAF && tree[i].feature >= m->nfeatures) {
				set_err(why, whylen, "feature %u is not below the model's %zu features", tree[i].feature,
					m->nfeatures);
				return VG_EPARSE;
			}
		}
		long end = n ? subtree_end(tree, n, 0, 0, &m->max_depth, &bad, &reason) : -1;
		if (end < 0 || (uint32_t)end != n) {
			*bad_node = end < 0 ? bad : (uint32_t)end;
			set_err(why, whylen, "%s", n == 0 ? "a tree needs at least one node"
						   : reason ? reason : "nodes left over after the tree's last leaf");
			return VG_EPARSE;
		}
	}
	if (!(m->base_score > 0.0f && m->base_score < 1.0f)) {
		*bad_tree = SIZE_MAX;
		set_err(why, whylen, "base_score must be strictly between 0 and 1");
		return VG_EPARSE;
	}
	m->base_margin = logit_f(m->base_score);
	return build_fast(m);
}

/* ---- conversion from XGBoost's JSON model ---- */

#define TREES_PATH "learner.gradient_booster.model.trees."

/* Growable uint32/float columns gathered from the flattened JSON, all trees concatenated. */
struct column {
	const struct vg_json_leaf **v;
	size_t n, cap;
};

static int column_push(struct column *c, const struct vg_json_leaf *l)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		const struct vg_json_leaf **v = vg_realloc(c->v, cap * sizeof(*v));
		if (!v)
			return VG_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = l;
	return 0;
}

static int leaf_is(const struct vg_json_leaf *l, const char *path)
{
	size_t n = strlen(path);
	return l->path_len == n && memcmp(l->path, path, n) == 0;
}

/* Parses a JSON number or numeric string as a long; returns 0 or -1. */
static int leaf_long(const struct vg_json_leaf *l, long *out)
{
	char *end;

	if (l->type != VG_JSON_NUMBER && l->type != VG_JSON_STRING)
		return -1;
	errno = 0;
	long v = strtol(l->value, &end, 10);
	if (errno || end == l->value || *end)
		return -1;
	*out = v;
	return 0;
}

/* Parses a float exactly as written (strtof, so no double rounding). Returns 0 or -1. */
static int leaf_float(const struct vg_json_leaf *l, float *out)
{
	char *end;

	if (l->type != VG_JSON_NUMBER && l->type != VG_JSON_STRING)
		return -1;
	float v = strtof(l->value, &end);
	if (end == l->value || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

struct xgb_tree_cols {
	struct column left, right, cond, index, dleft, stype, nnodes;
};

/*
 * Emits the subtree of XGBoost node x (tree arrays start at offset o, n nodes) into m's
 * node array in preorder. Returns 0 or VG_EFORMAT.
 */
static int emit_xgb(const struct xgb_tree_cols *c, size_t o, long n, long x, int depth, struct vg_gbt *m,
		    uint32_t tree_base, uint8_t *seen, char *err, size_t errlen, size_t tree)
{
	long left, right, feature, dl;
	float value;

	if (x < 0 || x >= n || seen[x]) {
		set_err(err, errlen, "xgboost model: tree %zu: child %ld is out of range or reached twice", tree, x);
		return VG_EFORMAT;
	}
	if (depth > VG_GBT_MAX_DEPTH) {
		set_err(err, errlen, "xgboost model: tree %zu deeper than %d", tree, VG_GBT_MAX_DEPTH);
		return VG_EFORMAT;
	}
	seen[x] = 1;
	if (leaf_long(c->left.v[o + x], &left) || leaf_long(c->right.v[o + x], &right) ||
	    leaf_float(c->cond.v[o + x], &value) || leaf_long(c->index.v[o + x], &feature)) {
		set_err(err, errlen, "xgboost model: tree %zu node %ld: a field is not a number", tree, x);
		return VG_EFORMAT;
	}
	if (c->dleft.v[o + x]->type == VG_JSON_TRUE || c->dleft.v[o + x]->type == VG_JSON_FALSE)
		dl = c->dleft.v[o + x]->type == VG_JSON_TRUE;
	else if (leaf_long(c->dleft.v[o + x], &dl) || (dl != 0 && dl != 1)) {
		set_err(err, errlen, "xgboost model: tree %zu node %ld: default_left is not 0 or 1", tree, x);
		return VG_EFORMAT;
	}
	uint32_t me = (uint32_t)m->nnodes++;
	struct gbt_node *node = &m->nodes[tree_base + me];
	node->value = value;
	if (left == -1) {
		node->feature = LEAF;
		return 0;
	}
	if (feature < 0 || (size_t)feature >= m->nfeatures) {
		set_err(err, errlen, "xgboost model: tree %zu node %ld: feature %ld out of range", tree, x, feature);
		return VG_EFORMAT;
	}
	node->feature = (uint32_t)feature;
	node->default_left = (uint8_t)dl;
	int rc = emit_xgb(c, o, n, left, depth + 1, m, tree_base, seen, err, errlen, tree);
	if (rc)
		return rc;
	m->nodes[tree_base + me].right = (uint32_t)m->nnodes;
	return emit_xgb(c, o, n, right, depth + 1, m, tree_base, seen, err, errlen, tree);
}

int vg_gbt_from_xgboost_json(const char *json, size_t len, struct vg_gbt **out, char *err, size_t errlen)
{
	struct vg_json_doc doc;
	struct vg_json_error jerr = { 0, NULL };
	struct xgb_tree_cols c;
	struct vg_gbt *m = NULL;
	uint8_t *seen = NULL;
	float base_score = NAN;
	long nfeatures = -1;
	int objective_ok = 0, rc;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	vg_json_doc_init(&doc);
	rc = vg_json_flatten(&doc, json, len, &jerr);
	if (rc) {
		set_err(err, errlen, "xgboost model: offset %zu: %s", jerr.offset, jerr.reason ? jerr.reason : vg_strerror(rc));
		goto out;
	}
	rc = VG_EFORMAT;
	for (uint32_t i = 0; i < doc.nleaves; i++) {
		const struct vg_json_leaf *l = &doc.leaves[i];
		struct column *col = NULL;
		if (leaf_is(l, "learner.learner_model_param.base_score")) {
			if (leaf_float(l, &base_score)) {
				set_err(err, errlen, "xgboost model: base_score \"%s\" is not a number", l->value);
				goto out;
			}
		} else if (leaf_is(l, "learner.learner_model_param.num_feature")) {
			if (leaf_long(l, &nfeatures) || nfeatures < 0 || nfeatures > (long)MAX_FEATURES) {
				set_err(err, errlen, "xgboost model: bad num_feature \"%s\"", l->value);
				goto out;
			}
		} else if (leaf_is(l, "learner.objective.name")) {
			objective_ok = strcmp(l->value, "binary:logistic") == 0;
		} else if (leaf_is(l, "learner.gradient_booster.name")) {
			if (strcmp(l->value, "gbtree") != 0) {
				set_err(err, errlen, "xgboost model: booster \"%s\" is not gbtree", l->value);
				goto out;
			}
		} else if (leaf_is(l, "learner.gradient_booster.model.gbtree_model_param.num_parallel_tree")) {
			if (strcmp(l->value, "1") != 0) {
				set_err(err, errlen, "xgboost model: num_parallel_tree %s is not supported", l->value);
				goto out;
			}
		} else if (leaf_is(l, TREES_PATH "tree_param.size_leaf_vector")) {
			if (strcmp(l->value, "0") != 0) {
				set_err(err, errlen, "xgboost model: vector leaves are not supported");
				goto out;
			}
		} else if (leaf_is(l, TREES_PATH "left_children"))
			col = &c.left;
		else if (leaf_is(l, TREES_PATH "right_children"))
			col = &c.right;
		else if (leaf_is(l, TREES_PATH "split_conditions"))
			col = &c.cond;
		else if (leaf_is(l, TREES_PATH "split_indices"))
			col = &c.index;
		else if (leaf_is(l, TREES_PATH "default_left"))
			col = &c.dleft;
		else if (leaf_is(l, TREES_PATH "split_type"))
			col = &c.stype;
		else if (leaf_is(l, TREES_PATH "tree_param.num_nodes"))
			col = &c.nnodes;
		if (col && l->type != VG_JSON_EMPTY_ARRAY && column_push(col, l)) {
			rc = VG_ENOMEM;
			goto out;
		}
	}
	if (!objective_ok || nfeatures < 0 || isnan(base_score)) {
		set_err(err, errlen, "xgboost model: needs objective binary:logistic, num_feature and base_score");
		goto out;
	}
	size_t total = c.left.n;
	if (c.right.n != total || c.cond.n != total || c.index.n != total || c.dleft.n != total ||
	    c.stype.n != total || total > MAX_NODES) {
		set_err(err, errlen, "xgboost model: node arrays of different lengths");
		goto out;
	}
	for (size_t i = 0; i < c.stype.n; i++) {
		long st;
		if (leaf_long(c.stype.v[i], &st) || st != 0) {
			set_err(err, errlen, "xgboost model: categorical splits are not supported");
			goto out;
		}
	}
	if (c.nnodes.n > MAX_TREES) {
		set_err(err, errlen, "xgboost model: more than %d trees", MAX_TREES);
		goto out;
	}
	m = model_new(c.nnodes.n, total);
	seen = vg_calloc(total ? total : 1, 1);
	if (!m || !seen) {
		rc = VG_ENOMEM;
		goto out;
	}
	m->ntrees = c.nnodes.n;
	m->nfeatures = (size_t)nfeatures;
	m->base_score = base_score;
	size_t offset = 0;
	for (size_t t = 0; t < m->ntrees; t++) {
		long n;
		if (leaf_long(c.nnodes.v[t], &n) || n <= 0 || (size_t)n > total - offset) {
			set_err(err, errlen, "xgboost model: tree %zu: bad num_nodes", t);
			goto out;
		}
		uint32_t base = (uint32_t)m->nnodes;
		m->tree_start[t] = base;
		m->nnodes = 0;
		rc = emit_xgb(&c, offset, n, 0, 0, m, base, seen + offset, err, errlen, t);
		if (rc)
			goto out;
		m->nnodes += base;
		m->tree_start[t + 1] = (uint32_t)m->nnodes;
		offset += (size_t)n;
	}
	if (offset != total) {
		set_err(err, errlen, "xgboost model: num_nodes do not add up to the node arrays");
		rc = VG_EFORMAT;
		goto out;
	}
	{
		size_t bad_tree = 0;
		uint32_t bad_node = 0;
		char why[160];
		rc = model_finish(m, &bad_tree, &bad_node, why, sizeof(why));
		if (rc == VG_EPARSE) {
			set_err(err, errlen, "xgboost model: tree %zu node %u: %s", bad_tree, bad_node, why);
			rc = VG_EFORMAT;
		}
		if (rc)
			goto out;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	vg_gbt_free(m);
	free(seen);
	free(c.left.v);
	free(c.right.v);
	free(c.cond.v);
	free(c.index.v);
	free(c.dleft.v);
	free(c.stype.v);
	free(c.nnodes.v);
	vg_json_doc_free(&doc);
	return rc;
}

/* Writes a float so that XGBoost's JSON reader sees a real number (it takes "3" for an integer). */
static void json_float(struct vg_buf *out, float v)
{
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.9g", (double)v);
	vg_buf_put(out, tmp, (size_t)n);
	if (!strpbrk(tmp, ".eE"))
		vg_buf_put(out, ".0", 2);
}

/*
 * XGBoost numbers a tree's nodes so that a right child always follows its left
 * sibling (its predictor takes the right child as left + 1), so the export renumbers
 * the preorder nodes breadth-first: order[k] is the preorder index of XGBoost node k,
 * xid[i] the XGBoost id of preorder node i, xparent[k] the parent of XGBoost node k.
 */
struct xgb_numbering {
	uint32_t *order, *xid, *xparent;
};

static void number_breadth_first(const struct gbt_node *tree, uint32_t n, struct xgb_numbering *x)
{
	uint32_t next = 1;

	x->order[0] = 0;
	x->xid[0] = 0;
	x->xparent[0] = 2147483647u; /* XGBoost's "no parent" */
	for (uint32_t k = 0; k < next && k < n; k++) {
		uint32_t i = x->order[k];
		if (tree[i].feature == LEAF)
			continue;
		uint32_t kids[2] = { i + 1, tree[i].right };
		for (int c = 0; c < 2; c++) {
			x->order[next] = kids[c];
			x->xid[kids[c]] = next;
			x->xparent[next] = k;
			next++;
		}
	}
}

/* Writes "key":[v(0), v(1), ...] over the XGBoost ids of one tree. */
static void json_node_array(struct vg_buf *out, const char *key, const struct gbt_node *tree, uint32_t n,
			    const struct xgb_numbering *x, int what)
{
	vg_buf_printf(out, "\"%s\":[", key);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = x->order[k];
		const struct gbt_node *node = &tree[i];
		int leaf = node->feature == LEAF;
		if (k)
			vg_buf_put(out, ",", 1);
		switch (what) {
		case 0: json_float(out, node->value); break;                                          /* base_weights, split_conditions */
		case 1: vg_buf_printf(out, "%d", leaf ? 0 : node->default_left); break;               /* default_left */
		case 2: vg_buf_printf(out, "%ld", leaf ? -1L : (long)x->xid[i + 1]); break;            /* left_children */
		case 3: vg_buf_printf(out, "%ld", leaf ? -1L : (long)x->xid[node->right]); break;      /* right_children */
		case 4: vg_buf_printf(out, "%u", x->xparent[k]); break;                                 /* parents */
		case 5: vg_buf_printf(out, "%u", leaf ? 0 : node->feature); break;                      /* split_indices */
		case 6: vg_buf_put(out, "0", 1); break;                                                 /* split_type */
		case 7: vg_buf_put(out, "0.0", 3); break;                                               /* loss_changes */
		default: vg_buf_put(out, "1.0", 3); break;                                              /* sum_hessian */
		}
	}
	vg_buf_put(out, "]", 1);
}

int vg_gbt_to_xgboost_json(const struct vg_gbt *m, struct vg_buf *out)
{
	struct xgb_numbering x;
	size_t most = 1;

	for (size_t t = 0; t < m->ntrees; t++)
		if (m->tree_start[t + 1] - m->tree_start[t] > most)
			most = m->tree_start[t + 1] - m->tree_start[t];
	x.order = vg_calloc(most, sizeof(uint32_t));
	x.xid = vg_calloc(most, sizeof(uint32_t));
	x.xparent = vg_calloc(most, sizeof(uint32_t));
	if (!x.order || !x.xid || !x.xparent) {
		free(x.order);
		free(x.xid);
		free(x.xparent);
		return VG_ENOMEM;
	}
	vg_buf_printf(out, "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
			   "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
			   "\"num_trees\":\"%zu\",\"size_leaf_vector\":\"0\"},\"tree_info\":[",
		      m->ntrees);
	for (size_t t = 0; t < m->ntrees; t++)
		vg_buf_puts(out, t ? ",0" : "0");
	vg_buf_puts(out, "],\"trees\":[");
	for (size_t t = 0; t < m->ntrees; t++) {
		const struct gbt_node *tree = m->nodes + m->tree_start[t];
		uint32_t n = m->tree_start[t + 1] - m->tree_start[t];
		number_breadth_first(tree, n, &x);
		vg_buf_puts(out, t ? ",{" : "{");
		json_node_array(out, "base_weights", tree, n, &x, 0);
		vg_buf_puts(out, ",\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[],");
		json_node_array(out, "default_left", tree, n, &x, 1);
		vg_buf_printf(out, ",\"id\":%zu,", t);
		json_node_array(out, "left_children", tree, n, &x, 2);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "loss_changes", tree, n, &x, 7);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "parents", tree, n, &x, 4);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "right_children", tree, n, &x, 3);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "split_conditions", tree, n, &x, 0);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "split_indices", tree, n, &x, 5);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "split_type", tree, n, &x, 6);
		vg_buf_put(out, ",", 1);
		json_node_array(out, "sum_hessian", tree, n, &x, 8);
		vg_buf_printf(out, ",\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%zu\",\"num_nodes\":\"%u\","
				   "\"size_leaf_vector\":\"0\"}}",
			      m->nfeatures, n);
	}
	vg_buf_printf(out, "]},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"%.9g\","
			   "\"boost_from_average\":\"1\",\"num_class\":\"0\",\"num_feature\":\"%zu\",\"num_target\":\"1\"},"
			   "\"objective\":{\"name\":\"binary:logistic\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}},"
			   "\"version\":[1,7,4]}",
		      (double)m->base_score, m->nfeatures);
	free(x.order);
	free(x.xid);
	free(x.xparent);
	return out->oom ? VG_ENOMEM : 0;
}

/* ---- training ---- */

static int xgb_fail(const char *what, char *err, size_t errlen)
{
	set_err(err, errlen, "xgboost: %s: %s", what, XGBGetLastError());
	return VG_EFORMAT;
}

int vg_gbt_train(const float *X, const float *y, const float *weight, size_t nrows, size_t ncols,
		 const struct vg_gbt_params *p, struct vg_gbt **out, char *err, size_t errlen)
{
	return vg_gbt_train_booster(X, y, weight, nrows, ncols, p, out, NULL, err, errlen);
}

int vg_gbt_train_booster(const float *X, const float *y, const float *weight, size_t nrows, size_t ncols,
			 const struct vg_gbt_params *p, struct vg_gbt **out, void **booster, char *err,
			 size_t errlen)
{
	DMatrixHandle dm = NULL;
	BoosterHandle b = NULL;
	struct vg_gbt *m = NULL;
	char v[64];
	int rc = VG_EINVAL;

	*out = NULL;
	if (booster)
		*booster = NULL;
	if (!X || !y || nrows == 0 || ncols == 0 || ncols > MAX_FEATURES || p->ntrees < 1 || p->ntrees > MAX_TREES ||
	    p->max_depth < 1 || p->max_depth > VG_GBT_MAX_DEPTH || p->nthread < 1) {
		set_err(err, errlen, "gbt train: bad arguments (rows %zu, columns %zu, trees %d, depth %d)", nrows, ncols,
			p->ntrees, p->max_depth);
		return VG_EINVAL;
	}
	for (size_t i = 0; i < nrows; i++) {
		if (y[i] != 0.0f && y[i] != 1.0f) {
			set_err(err, errlen, "gbt train: label of row %zu is %g, not 0 or 1", i, (double)y[i]);
			return VG_EINVAL;
		}
	}
	if (XGDMatrixCreateFromMat(X, (bst_ulong)nrows, (bst_ulong)ncols, NAN, &dm)) {
		rc = xgb_fail("training matrix", err, errlen);
		goto out;
	}
	if (XGDMatrixSetFloatInfo(dm, "label", y, (bst_ulong)nrows) ||
	    (weight && XGDMatrixSetFloatInfo(dm, "weight", weight, (bst_ulong)nrows))) {
		rc = xgb_fail("labels", err, errlen);
		goto out;
	}
	if (XGBoosterCreate(&dm, 1, &b)) {
		rc = xgb_fail("booster", err, errlen);
		goto out;
	}
	{
		struct {
			const char *name;
			char value[32];
		} params[] = {
			{ "objective", "binary:logistic" }, { "tree_method", "hist" }, { "verbosity", "0" },
			{ "max_depth", "" }, { "eta", "" }, { "subsample", "" }, { "colsample_bytree", "" },
			{ "min_child_weight", "" }, { "lambda", "" }, { "seed", "" }, { "nthread", "" },
		};
		snprintf(params[3].value, sizeof(params[3].value), "%d", p->max_depth);
		snprintf(params[4].value, sizeof(params[4].value), "%.17g", p->eta);
		snprintf(params[5].value, sizeof(params[5].value), "%.17g", p->subsample);
		snprintf(params[6].value, sizeof(params[6].value), "%.17g", p->colsample);
		snprintf(params[7].value, sizeof(params[7].value), "%.17g", p->min_child_weight);
		snprintf(params[8].value, sizeof(params[8].value), "%.17g", p->lambda);
		snprintf(params[9].value, sizeof(params[9].value), "%d", (int)(p->seed & 0x7fffffff));
		snprintf(params[10].value, sizeof(params[10].value), "%d", p->nthread);
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
			if (XGBoosterSetParam(b, params[i].name, params[i].value)) {
				snprintf(v, sizeof(v), "parameter %s=%s", params[i].name, params[i].value);
				rc = xgb_fail(v, err, errlen);
				goto out;
			}
		}
	}
	for (int i = 0; i < p->ntrees; i++) {
		if (XGBoosterUpdateOneIter(b, i, dm)) {
			snprintf(v, sizeof(v), "boosting round %d", i);
			rc = xgb_fail(v, err, errlen);
			goto out;
		}
	}
	{
		bst_ulong jlen = 0;
		const char *json = NULL;
		if (XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &jlen, &json)) {
			rc = xgb_fail("saving the model as JSON", err, errlen);
			goto out;
		}
		rc = vg_gbt_from_xgboost_json(json, (size_t)jlen, &m, err, errlen);
		if (rc)
			goto out;
	}
	if (m->nfeatures != ncols) {
		set_err(err, errlen, "gbt train: XGBoost reports %zu features, the data has %zu", m->nfeatures, ncols);
		rc = VG_EFORMAT;
		goto out;
	}
	{
		/* the conversion is only trusted once it gives XGBoost's answer on every training row */
		bst_ulong plen = 0;
		const float *pred = NULL;
		if (XGBoosterPredict(b, dm, 0, 0, 0, &plen, &pred)) {
			rc = xgb_fail("predict", err, errlen);
			goto out;
		}
		if (plen != nrows) {
			set_err(err, errlen, "gbt train: XGBoost predicted %llu rows of %zu", (unsigned long long)plen, nrows);
			rc = VG_EFORMAT;
			goto out;
		}
		for (size_t i = 0; i < nrows; i++) {
			double mine = vg_gbt_predict(m, X + i * ncols);
			if (!(fabs(mine - (double)pred[i]) <= 1e-5)) {
				set_err(err, errlen, "gbt train: compact trees give %.9g on training row %zu, XGBoost %.9g",
					mine, i, (double)pred[i]);
				rc = VG_EFORMAT;
				goto out;
			}
		}
	}
	*out = m;
	m = NULL;
	if (booster) {
		*booster = b;
		b = NULL;
	}
	rc = 0;
out:
	vg_gbt_free(m);
	if (b)
		XGBoosterFree(b);
	if (dm)
		XGDMatrixFree(dm);
	return rc;
}

/* ---- text form ---- */

/*
 * vigil-gbt 1
 * objective binary:logistic
 * base_score <float>
 * features <n>
 * trees <n> nodes <total>
 * then per tree "tree <index> <nodes>" and one line per node in preorder:
 *   "s <feature> <threshold> <L|R: where missing goes> <right child index in the tree>"
 *   "l <value>"
 * end
 * Floats are printed with 9 significant digits, which give the float back exactly.
 */
int vg_gbt_save(const struct vg_gbt *m, struct vg_buf *out)
{
	vg_buf_printf(out, "vigil-gbt 1\nobjective binary:logistic\nbase_score %.9g\nfeatures %zu\ntrees %zu nodes %zu\n",
		      (double)m->base_score, m->nfeatures, m->ntrees, m->nnodes);
	for (size_t t = 0; t < m->ntrees; t++) {
		const struct gbt_node *tree = m->nodes + m->tree_start[t];
		uint32_t n = m->tree_start[t + 1] - m->tree_start[t];
		vg_buf_printf(out, "tree %zu %u\n", t, n);
		for (uint32_t i = 0; i < n; i++) {
			if (tree[i].feature == LEAF)
				vg_buf_printf(out, "l %.9g\n", (double)tree[i].value);
			else
				vg_buf_printf(out, "s %u %.9g %c %u\n", tree[i].feature, (double)tree[i].value,
					      tree[i].default_left ? 'L' : 'R', tree[i].right);
		}
	}
	vg_buf_puts(out, "end\n");
	return out->oom ? VG_ENOMEM : 0;
}

/* A cursor over the text with the line and column for messages. */
struct cursor {
	const char *p, *end;
	size_t line;
	const char *line_start;
	char *err;
	size_t errlen;
};

static int cur_fail(struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cur_fail(struct cursor *c, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	set_err(c->err, c->errlen, "gbt model: line %zu column %zu: %s", c->line, (size_t)(c->p - c->line_start) + 1,
		why);
	return VG_EPARSE;
}

/* Returns the token at the cursor (up to a space or newline) without moving. */
static size_t token_len(const struct cursor *c)
{
	const char *q = c->p;
	while (q < c->end && *q != ' ' && *q != '\n')
		q++;
	return (size_t)(q - c->p);
}

static int expect_word(struct cursor *c, const char *word)
{
	size_t n = strlen(word), have = token_len(c);
	if (have != n || memcmp(c->p, word, n) != 0)
		return cur_fail(c, "expected \"%s\"", word);
	c->p += n;
	return 0;
}

static int expect_space(struct cursor *c)
{
	if (c->p >= c->end || *c->p != ' ')
		return cur_fail(c, "expected one space");
	c->p++;
	return 0;
}

static int expect_eol(struct cursor *c)
{
	if (c->p >= c->end || *c->p != '\n')
		return cur_fail(c, c->p >= c->end ? "input ends before the line does" : "expected the end of the line");
	c->p++;
	c->line++;
	c->line_start = c->p;
	return 0;
}

/* Reads a decimal integer 0..max with no sign or leading zeros. */
static int read_uint(struct cursor *c, uint64_t max, uint64_t *out, const char *what)
{
	size_t n = token_len(c);
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && c->p[0] == '0'))
		return cur_fail(c, "expected %s (a whole number)", what);
	for (size_t i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return cur_fail(c, "expected %s (a whole number)", what);
		uint64_t d = (uint64_t)(c->p[i] - '0');
		if (d > max || v > (max - d) / 10)
			return cur_fail(c, "%s is larger than %llu", what, (unsigned long long)max);
		v = v * 10 + d;
	}
	c->p += n;
	*out = v;
	return 0;
}

/* Reads a finite float, parsed with strtof so it is exactly the float that was written. */
static int read_float(struct cursor *c, float *out, const char *what)
{
	size_t n = token_len(c);
	char tmp[48], *end;

	if (n == 0 || n >= sizeof(tmp))
		return cur_fail(c, "expected %s (a number)", what);
	memcpy(tmp, c->p, n);
	tmp[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* decimal notation only: no hex floats, inf or nan */
		if (!strchr("0123456789+-.eE", tmp[i]))
			return cur_fail(c, "expected %s (a number)", what);
	}
	float v = strtof(tmp, &end);
	if (end != tmp + n)
		return cur_fail(c, "expected %s (a number)", what);
	if (!isfinite(v))
		return cur_fail(c, "%s is out of float range", what);
	c->p += n;
	*out = v;
	return 0;
}

int vg_gbt_load(const char *text, size_t len, struct vg_gbt **out, char *err, size_t errlen)
{
	struct cursor c = { text, text + len, 1, text, err, errlen };
	struct vg_gbt *m = NULL;
	uint64_t nfeatures, ntrees, total, v;
	size_t *tree_line = NULL;
	float base_score;
	int rc;

	*out = NULL;
#define TRY(x)                   \
	do {                     \
		rc = (x);        \
		if (rc)          \
			goto out; \
	} while (0)
	TRY(expect_word(&c, "vigil-gbt"));
	TRY(expect_space(&c));
	TRY(expect_word(&c, "1"));
	TRY(expect_eol(&c));
	TRY(expect_word(&c, "objective"));
	TRY(expect_space(&c));
	TRY(expect_word(&c, "binary:logistic"));
	TRY(expect_eol(&c));
	TRY(expect_word(&c, "base_score"));
	TRY(expect_space(&c));
	TRY(read_float(&c, &base_score, "base_score"));
	if (!(base_score > 0.0f && base_score < 1.0f)) {
		rc = cur_fail(&c, "base_score must be strictly between 0 and 1");
		goto out;
	}
	TRY(expect_eol(&c));
	TRY(expect_word(&c, "features"));
	TRY(expect_space(&c));
	TRY(read_uint(&c, MAX_FEATURES, &nfeatures, "the feature count"));
	TRY(expect_eol(&c));
	TRY(expect_word(&c, "trees"));
	TRY(expect_space(&c));
	/* every tree takes at least "tree 0 1\nl 0\n" and every node "l 0\n": counts beyond that are lies */
	TRY(read_uint(&c, MAX_TREES, &ntrees, "the tree count"));
	if (ntrees > len / 12) {
		rc = cur_fail(&c, "%llu trees cannot fit in %zu bytes", (unsigned long long)ntrees, len);
		goto out;
	}
	TRY(expect_space(&c));
	TRY(expect_word(&c, "nodes"));
	TRY(expect_space(&c));
	TRY(read_uint(&c, MAX_NODES, &total, "the node count"));
	if (total > len / 4 || total < ntrees) {
		rc = cur_fail(&c, "%llu nodes cannot fit %llu trees in %zu bytes", (unsigned long long)total,
			      (unsigned long long)ntrees, len);
		goto out;
	}
	TRY(expect_eol(&c));
	m = model_new((size_t)ntrees, (size_t)total);
	tree_line = vg_calloc((size_t)ntrees + 1, sizeof(size_t));
	if (!m || !tree_line) {
		rc = VG_ENOMEM;
		goto out;
	}
	m->ntrees = (size_t)ntrees;
	m->nfeatures = (size_t)nfeatures;
	m->base_score = base_score;
	for (uint64_t t = 0; t < ntrees; t++) {
		uint64_t n;
		TRY(expect_word(&c, "tree"));
		TRY(expect_space(&c));
		TRY(read_uint(&c, MAX_TREES, &v, "the tree index"));
		if (v != t) {
			rc = cur_fail(&c, "tree %llu where tree %llu was expected", (unsigned long long)v,
				      (unsigned long long)t);
			goto out;
		}
		TRY(expect_space(&c));
		TRY(read_uint(&c, MAX_NODES, &n, "the tree's node count"));
		if (n == 0 || n > total - m->nnodes) {
			rc = cur_fail(&c, "tree %llu's %llu nodes do not fit the %llu declared", (unsigned long long)t,
				      (unsigned long long)n, (unsigned long long)total);
			goto out;
		}
		TRY(expect_eol(&c));
		tree_line[t] = c.line;
		m->tree_start[t] = (uint32_t)m->nnodes;
		for (uint64_t i = 0; i < n; i++) {
			struct gbt_node *node = &m->nodes[m->nnodes];
			if (c.p < c.end && *c.p == 'l') {
				c.p++;
				TRY(expect_space(&c));
				TRY(read_float(&c, &node->value, "the leaf value"));
				node->feature = LEAF;
			} else if (c.p < c.end && *c.p == 's') {
				c.p++;
				TRY(expect_space(&c));
				TRY(read_uint(&c, nfeatures ? nfeatures - 1 : 0, &v, "the feature index"));
				if (nfeatures == 0) {
					rc = cur_fail(&c, "a split in a model with no features");
					goto out;
				}
				node->feature = (uint32_t)v;
				TRY(expect_space(&c));
				TRY(read_float(&c, &node->value, "the threshold"));
				TRY(expect_space(&c));
				if (c.p < c.end && (*c.p == 'L' || *c.p == 'R') && token_len(&c) == 1) {
					node->default_left = *c.p == 'L';
					c.p++;
				} else {
					rc = cur_fail(&c, "expected L or R (where a missing value goes)");
					goto out;
				}
				TRY(expect_space(&c));
				TRY(read_uint(&c, n - 1, &v, "the right child's index"));
				node->right = (uint32_t)v;
			} else {
				rc = cur_fail(&c, "expected a node line (\"s ...\" or \"l ...\") of tree %llu", (unsigned long long)t);
				goto out;
			}
			TRY(expect_eol(&c));
			m->nnodes++;
		}
		m->tree_start[t + 1] = (uint32_t)m->nnodes;
	}
	if (m->nnodes != total) {
		rc = cur_fail(&c, "the trees hold %zu nodes, %llu were declared", m->nnodes, (unsigned long long)total);
		goto out;
	}
	TRY(expect_word(&c, "end"));
	TRY(expect_eol(&c));
	if (c.p != c.end) {
		rc = cur_fail(&c, "text after \"end\"");
		goto out;
	}
	{
		size_t bad_tree = 0;
		uint32_t bad_node = 0;
		char why[160];
		rc = model_finish(m, &bad_tree, &bad_node, why, sizeof(why));
		if (rc == VG_EPARSE) {
			if (bad_tree == SIZE_MAX)
				set_err(err, errlen, "gbt model: line 3: %s", why);
			else
				set_err(err, errlen, "gbt model: line %zu (tree %zu node %u): %s",
					tree_line[bad_tree] + bad_node, bad_tree, bad_node, why);
		}
		if (rc)
			goto out;
	}
#undef TRY
	*out = m;
	m = NULL;
	rc = 0;
out:
	vg_gbt_free(m);
	free(tree_line);
	return rc;
}
