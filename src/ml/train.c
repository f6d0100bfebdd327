/* train.c - deterministic training of one platform's models: group split, trees, linear SGD on hashed tokens, prevalence model, stacking and thresholds on a validation fold, held-out metrics with bootstrap intervals (docs/ml.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "ml_int.h"

void vg_ml_train_params_default(struct vg_ml_train_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->holdout = 0.25;
	p->validation = 0.2;
	p->block_fpr = 0.001;
	p->suspicious_fpr = 0.01;
	p->trees = 100;
	p->depth = 4;
	p->linear_epochs = 8;
	p->bootstrap = 1000;
}

/* ---- a seeded generator (splitmix64): the only randomness in training ---- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* ---- split ---- */


struct group_key {
	uint32_t stratum;
	uint64_t key;
	uint32_t group;
};

static int cmp_group_key(const void *a, const void *b)
{
	const struct group_key *x = a, *y = b;
	if (x->stratum != y->stratum)
		return x->stratum < y->stratum ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/*
 * Assigns every group to train, validation or held-out, per class and
 * stratum (the family of a malicious group, the kind of a benign recording;
 * strata of a single group are pooled): groups are ordered by a seeded hash
 * of their index and the first ceil(holdout * n) are held out (at least one
 * when the stratum has two or more, never all), then the same for
 * validation among the rest. So every family and every kind of benign
 * workload keeps groups in training and has groups held out. A group's class is
 * malicious when any of its rows is (a recording may hold both the attack and
 * the benign activity around it; the whole recording stays on one side).
 */
int vg_ml_split_groups(const struct vg_ml_example *ex, size_t n, uint32_t ngroups, const struct vg_ml_train_params *pp,
		       uint8_t *part)
{
	int *glabel = vg_malloc((ngroups ? ngroups : 1) * sizeof(int));
	struct group_key *gk = vg_malloc((ngroups ? ngroups : 1) * sizeof(*gk));
	if (!glabel || !gk) {
		free(glabel);
		free(gk);
		return VG_ENOMEM;
	}
	uint32_t *gfam = vg_calloc(ngroups ? ngroups : 1, sizeof(uint32_t));
	uint32_t *gkind = vg_calloc(ngroups ? ngroups : 1, sizeof(uint32_t));
	if (!gfam || !gkind) {
		free(glabel);
		free(gk);
		free(gfam);
		free(gkind);
		return VG_ENOMEM;
	}
	for (uint32_t g = 0; g < ngroups; g++)
		glabel[g] = -1;
	for (size_t i = 0; i < n; i++) {
		if (ex[i].group >= ngroups)
			continue;
		if (glabel[ex[i].group] < ex[i].label)
			glabel[ex[i].group] = ex[i].label;
		if (ex[i].label && !gfam[ex[i].group])
			gfam[ex[i].group] = ex[i].family;
		if (!ex[i].label && !gkind[ex[i].group])
			gkind[ex[i].group] = ex[i].kind;
	}
	for (int cls = 0; cls < 2; cls++) {
		size_t m = 0;
		for (uint32_t g = 0; g < ngroups; g++) {
			if (glabel[g] != cls)
				continue;
			if (cls == 1 && pp->holdout_family && gfam[g] == pp->holdout_family) {
				part[g] = VG_ML_PART_HELDOUT; /* the family left out: all of it, nothing else */
				continue;
			}
			gk[m++] = (struct group_key){ cls ? gfam[g] : gkind[g], mix64(pp->seed * 0x100000001b3ULL ^ g), g };
		}
		/* strata of one group cannot be split: they are pooled in stratum 0 */
		qsort(gk, m, sizeof(*gk), cmp_group_key);
		for (size_t i = 0; i < m;) {
			size_t j = i;
			while (j < m && gk[j].stratum == gk[i].stratum)
				j++;
			if (j - i < 2)
				gk[i].stratum = 0;
			i = j;
		}
		qsort(gk, m, sizeof(*gk), cmp_group_key);
		for (size_t i = 0; i < m;) {
			size_t j = i;
			while (j < m && gk[j].stratum == gk[i].stratum)
				j++;
			size_t ms = j - i;
			size_t nh = (size_t)ceil(pp->holdout * (double)ms);
			if (ms >= 2 && nh == 0)
				nh = 1;
			if (nh >= ms && ms > 0)
				nh = ms - 1;
			if (cls == 1 && pp->holdout_family)
				nh = 0;
			size_t nv = (size_t)ceil(pp->validation * (double)(ms - nh));
			if (ms - nh >= 2 && nv == 0)
				nv = 1;
			if (nv >= ms - nh && ms - nh > 0)
				nv = ms - nh - 1;
			for (size_t k = 0; k < ms; k++)
				part[gk[i + k].group] = k < nh ? VG_ML_PART_HELDOUT
						       : k < nh + nv ? VG_ML_PART_VALIDATION
								     : VG_ML_PART_TRAIN;
			i = j;
		}
	}
	free(glabel);
	free(gk);
	free(gfam);
	free(gkind);
	return 0;
}

/* ---- the linear model ---- */

static void standardize_fit(const struct vg_ml_example *ex, const size_t *rows, size_t n, const enum vg_ml_feature *cols,
			    size_t ncols, float *mean, float *scale)
{
	for (size_t c = 0; c < ncols; c++) {
		double s = 0, s2 = 0;
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			float v = ex[rows[i]].f.dense[cols[c]];
			if (v == v) {
				s += v;
				s2 += (double)v * v;
				k++;
			}
		}
		double m = k ? s / (double)k : 0, var = k ? s2 / (double)k - m * m : 0;
		mean[c] = (float)m;
		scale[c] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
	}
}

static void train_linear(struct ml_linear *m, const struct vg_ml_example *ex, const size_t *rows, size_t n,
			 const double cw[2], const struct vg_ml_train_params *pp)
{
	const double l2 = 1e-5;
	size_t *order = vg_malloc((n ? n : 1) * sizeof(*order));
	struct rng r = { pp->seed ^ 0x6c696e656172ULL };
	float xs[ML_LIN_NDENSE];

	standardize_fit(ex, rows, n, vg_ml_linear_dense, ML_LIN_NDENSE, m->mean, m->scale);
	if (!order)
		return;
	memcpy(order, rows, n * sizeof(*order));
	for (int epoch = 0; epoch < pp->linear_epochs; epoch++) {
		for (size_t i = n; i > 1; i--) { /* Fisher-Yates with the seeded generator */
			size_t j = (size_t)rng_below(&r, i);
			size_t t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		double lr = 0.1 / (1.0 + epoch);
		for (size_t k = 0; k < n; k++) {
			const struct vg_ml_example *e = &ex[order[k]];
			for (size_t c = 0; c < ML_LIN_NDENSE; c++) {
				float v = e->f.dense[vg_ml_linear_dense[c]];
				xs[c] = v == v ? (v - m->mean[c]) / m->scale[c] : 0.0f;
			}
			double z = m->bias;
			for (size_t c = 0; c < ML_LIN_NDENSE; c++)
				z += (double)m->wdense[c] * xs[c];
			for (uint32_t t = 0; t < e->f.ntokens; t++)
				z += m->w[e->f.tokens[t]];
			double g = (vg_ml_sigmoid(z) - e->label) * cw[e->label];
			m->bias = (float)(m->bias - lr * g);
			for (size_t c = 0; c < ML_LIN_NDENSE; c++)
				m->wdense[c] = (float)(m->wdense[c] - lr * (g * xs[c] + l2 * m->wdense[c]));
			for (uint32_t t = 0; t < e->f.ntokens; t++) {
				float *w = &m->w[e->f.tokens[t]];
				*w = (float)(*w - lr * (g + l2 * *w));
				if (*w == 0)
					*w = 1e-30f; /* a bucket seen in training stays in the bundle */
			}
		}
	}
	free(order);
}

/* ---- small logistic regressions by full-batch gradient descent ---- */

/* Fits w (nin weights + bias) to x (n rows of nin doubles, already scaled) and y, class-weighted. */
static void fit_logistic(const double *x, const int *y, size_t n, size_t nin, const double cw[2], double l2,
			 int iters, double lr, double *bias, double *w)
{
	double gw[8];
	*bias = 0;
	for (size_t j = 0; j < nin; j++)
		w[j] = 0;
	for (int it = 0; it < iters; it++) {
		double gb = 0, wsum = 0;
		memset(gw, 0, sizeof(gw));
		for (size_t i = 0; i < n; i++) {
			double z = *bias;
			for (size_t j = 0; j < nin; j++)
				z += w[j] * x[i * nin + j];
			double g = (vg_ml_sigmoid(z) - y[i]) * cw[y[i]];
			gb += g;
			wsum += cw[y[i]];
			for (size_t j = 0; j < nin; j++)
				gw[j] += g * x[i * nin + j];
		}
		if (wsum <= 0)
			return;
		*bias -= lr * gb / wsum;
		for (size_t j = 0; j < nin; j++)
			w[j] -= lr * (gw[j] / wsum + l2 * w[j]);
	}
}

static int train_prevalence(struct ml_small *m, const struct vg_ml_example *ex, const size_t *rows, size_t n,
			    const double cw[2])
{
	float mean[ML_PREV_N], scale[ML_PREV_N];
	double *x = vg_malloc((n ? n : 1) * ML_PREV_N * sizeof(double));
	int *y = vg_malloc((n ? n : 1) * sizeof(int));
	if (!x || !y) {
		free(x);
		free(y);
		return VG_ENOMEM;
	}
	standardize_fit(ex, rows, n, vg_ml_prev_inputs, ML_PREV_N, mean, scale);
	for (size_t j = 0; j < ML_PREV_N; j++) {
		m->mean[j] = mean[j];
		m->scale[j] = scale[j];
	}
	for (size_t i = 0; i < n; i++) {
		y[i] = ex[rows[i]].label;
		for (size_t j = 0; j < ML_PREV_N; j++) {
			float v = ex[rows[i]].f.dense[vg_ml_prev_inputs[j]];
			x[i * ML_PREV_N + j] = v == v ? ((double)v - m->mean[j]) / m->scale[j] : 0;
		}
	}
	fit_logistic(x, y, n, ML_PREV_N, cw, 1e-2, 400, 0.5, &m->bias, m->w);
	free(x);
	free(y);
	return 0;
}

/* ---- metrics ---- */

static int cmp_double_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x > y ? -1 : x < y;
}

struct scored {
	double s;
	int label;
};

static int cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	return x->s < y->s ? -1 : x->s > y->s;
}

/* ROC AUC by ranks (ties share their mean rank); NaN without both classes. v is sorted in place. */
static double auc_of(struct scored *v, size_t n)
{
	size_t npos = 0, nneg = 0;
	double rank_sum = 0;
	qsort(v, n, sizeof(*v), cmp_scored);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j].s == v[i].s)
			j++;
		double r = (double)(i + j + 1) / 2.0; /* mean of ranks i+1..j */
		for (size_t k = i; k < j; k++) {
			if (v[k].label) {
				npos++;
				rank_sum += r;
			} else {
				nneg++;
			}
		}
		i = j;
	}
	if (!npos || !nneg)
		return NAN;
	return (rank_sum - (double)npos * (double)(npos + 1) / 2.0) / ((double)npos * (double)nneg);
}

/*
 * The lowest score threshold whose benign share at or above it is at most
 * fpr: with benign scores sorted high to low, k = floor(fpr * nb) of them may
 * pass, so the threshold sits just above the (k+1)-th highest.
 */
static double threshold_at(double *benign_desc, size_t nb, double fpr)
{
	if (!nb)
		return 0.5;
	size_t k = (size_t)floor(fpr * (double)nb + 1e-9);
	if (k >= nb)
		return 0;
	return nextafter(benign_desc[k], 2.0);
}

/* Detection rate at a false-positive rate: malicious share at or above threshold_at. */
static double dr_at(const struct scored *v, size_t n, double fpr, double *tmp)
{
	size_t nb = 0, nm = 0, hit = 0;
	for (size_t i = 0; i < n; i++)
		if (!v[i].label)
			tmp[nb++] = v[i].s;
	if (!nb)
		return NAN;
	qsort(tmp, nb, sizeof(*tmp), cmp_double_desc);
	double t = threshold_at(tmp, nb, fpr);
	for (size_t i = 0; i < n; i++)
		if (v[i].label) {
			nm++;
			hit += v[i].s >= t;
		}
	return nm ? (double)hit / (double)nm : NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* 2.5% and 97.5% percentiles of v (NaNs dropped). */
static void interval(double *v, size_t n, double *lo, double *hi)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] == v[i])
			v[m++] = v[i];
	if (!m) {
		*lo = *hi = NAN;
		return;
	}
	qsort(v, m, sizeof(*v), cmp_double);
	*lo = v[(size_t)floor(0.025 * (double)(m - 1))];
	*hi = v[(size_t)ceil(0.975 * (double)(m - 1))];
}

/*
 * Held-out metrics with 95% intervals from a bootstrap over held-out groups:
 * each resample draws, per class, as many groups as that class has, with
 * replacement, and takes all their rows.
 */
static int evaluate(const struct vg_ml_example *ex, const size_t *rows, const double *score, size_t n, uint32_t ngroups,
		    const int8_t *gclass, const struct vg_ml_train_params *pp, struct vg_ml_metrics *m)
{
	struct scored *v = vg_malloc((n ? n : 1) * sizeof(*v));
	double *tmp = vg_malloc((n ? n : 1) * sizeof(double));
	uint32_t *gstart = vg_calloc((size_t)ngroups + 1, sizeof(uint32_t));
	size_t *byg = vg_malloc((n ? n : 1) * sizeof(size_t));
	uint32_t *glist[2] = { vg_malloc((ngroups ? ngroups : 1) * sizeof(uint32_t)),
			       vg_malloc((ngroups ? ngroups : 1) * sizeof(uint32_t)) };
	int B = pp->bootstrap > 0 ? pp->bootstrap : 0;
	double *bs[3] = { vg_malloc((size_t)(B ? B : 1) * sizeof(double)), vg_malloc((size_t)(B ? B : 1) * sizeof(double)),
			  vg_malloc((size_t)(B ? B : 1) * sizeof(double)) };
	struct scored *bv = NULL;
	int rc = VG_ENOMEM;

	if (!v || !tmp || !gstart || !byg || !glist[0] || !glist[1] || !bs[0] || !bs[1] || !bs[2])
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct scored){ score[i], ex[rows[i]].label };
	m->dr_1pct[0] = dr_at(v, n, 0.01, tmp);
	m->dr_01pct[0] = dr_at(v, n, 0.001, tmp);
	m->auc[0] = auc_of(v, n);

	/* rows by group (counting sort), and the groups of each class */
	for (size_t i = 0; i < n; i++)
		gstart[ex[rows[i]].group + 1]++;
	for (uint32_t g = 0; g < ngroups; g++)
		gstart[g + 1] += gstart[g];
	{
		uint32_t *fill = vg_malloc((ngroups ? ngroups : 1) * sizeof(uint32_t));
		if (!fill)
			goto out;
		memcpy(fill, gstart, ngroups * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			byg[fill[ex[rows[i]].group]++] = i;
		free(fill);
	}
	size_t ng[2] = { 0, 0 };
	for (uint32_t g = 0; g < ngroups; g++)
		if (gstart[g + 1] > gstart[g])
			glist[gclass[g]][ng[gclass[g]]++] = g;
	size_t cap = n * 2 + 16;
	bv = vg_malloc(cap * sizeof(*bv));
	double *btmp = bv ? vg_malloc(cap * sizeof(double)) : NULL;
	if (!bv || !btmp) {
		free(btmp);
		goto out;
	}
	struct rng r = { pp->seed ^ 0x626f6f74ULL };
	for (int b = 0; b < B; b++) {
		size_t bn = 0;
		for (int cls = 0; cls < 2; cls++)
			for (size_t k = 0; k < ng[cls]; k++) {
				uint32_t g = glist[cls][rng_below(&r, ng[cls])];
				for (uint32_t j = gstart[g]; j < gstart[g + 1]; j++) {
					if (bn == cap) {
						cap *= 2;
						struct scored *nv = realloc(bv, cap * sizeof(*bv));
						double *nt = nv ? realloc(btmp, cap * sizeof(double)) : NULL;
						if (nv)
							bv = nv;
						if (!nv || !nt) {
							free(nt ? nt : btmp);
							goto out;
						}
						btmp = nt;
					}
					bv[bn++] = v[byg[j]];
				}
			}
		bs[1][b] = dr_at(bv, bn, 0.01, btmp);
		bs[2][b] = dr_at(bv, bn, 0.001, btmp);
		bs[0][b] = auc_of(bv, bn);
	}
	free(btmp);
	interval(bs[0], (size_t)B, &m->auc[1], &m->auc[2]);
	interval(bs[1], (size_t)B, &m->dr_1pct[1], &m->dr_1pct[2]);
	interval(bs[2], (size_t)B, &m->dr_01pct[1], &m->dr_01pct[2]);
	rc = 0;
out:
	free(v);
	free(tmp);
	free(gstart);
	free(byg);
	free(glist[0]);
	free(glist[1]);
	for (int i = 0; i < 3; i++)
		free(bs[i]);
	free(bv);
	return rc;
}

static double auc_scores(const struct vg_ml_example *ex, const size_t *rows, const double *s, size_t n)
{
	struct scored *v = vg_malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return NAN;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct scored){ s[i], ex[rows[i]].label };
	double a = auc_of(v, n);
	free(v);
	return a;
}

/* ---- one platform ---- */

int vg_ml_train_platform(struct vg_ml_bundle **bundle, enum vg_ml_platform pl, const struct vg_ml_example *ex, size_t n,
			 uint32_t ngroups, const struct vg_ml_train_params *pp, struct vg_ml_metrics *metrics, char *err,
			 size_t errlen)
{
	uint8_t *part = vg_calloc(ngroups ? ngroups : 1, 1);
	int8_t *gclass = vg_calloc(ngroups ? ngroups : 1, 1); /* 1 when any row of the group is malicious */
	size_t *rows[3] = { vg_malloc((n ? n : 1) * sizeof(size_t)), vg_malloc((n ? n : 1) * sizeof(size_t)),
			    vg_malloc((n ? n : 1) * sizeof(size_t)) };
	size_t nr[3] = { 0, 0, 0 };
	float *X = NULL, *y = NULL, *wt = NULL;
	double *sv[3] = { NULL, NULL, NULL }, *sh[4] = { NULL, NULL, NULL, NULL }, *stackx = NULL;
	int *stacky = NULL;
	struct ml_platform pm;
	int rc = VG_ENOMEM;

	memset(&pm, 0, sizeof(pm));
	if (err && errlen)
		err[0] = '\0';
	if (!part || !gclass || !rows[0] || !rows[1] || !rows[2])
		goto out;
	if (!*bundle) {
		*bundle = vg_calloc(1, sizeof(**bundle));
		if (!*bundle)
			goto out;
	}
	struct vg_ml_bundle *b = *bundle;
	if ((rc = vg_ml_split_groups(ex, n, ngroups, pp, part)))
		goto out;
	struct vg_ml_metrics *m = &pm.metrics;
	for (size_t i = 0; i < n; i++)
		if (ex[i].group < ngroups && ex[i].label)
			gclass[ex[i].group] = 1;
	{
		uint8_t *seen = vg_calloc(ngroups ? ngroups : 1, 1);
		if (!seen) {
			rc = VG_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (ex[i].group >= ngroups) {
				free(seen);
				snprintf(err, errlen, "row %zu: group %u out of range", i, ex[i].group);
				rc = VG_EINVAL;
				goto out;
			}
			int pt = part[ex[i].group], lb = ex[i].label ? 1 : 0;
			rows[pt][nr[pt]++] = i;
			uint32_t *rc_[3] = { m->train_rows, m->validation_rows, m->heldout_rows };
			uint32_t *gc_[3] = { m->train_groups, m->validation_groups, m->heldout_groups };
			rc_[pt][lb]++;
			if (!seen[ex[i].group]) {
				seen[ex[i].group] = 1;
				gc_[pt][gclass[ex[i].group]]++;
			}
		}
		free(seen);
	}
	if (!m->train_rows[0] || !m->train_rows[1]) {
		snprintf(err, errlen, "%s: the training part needs rows of both classes (benign %u, malicious %u)",
			 vg_ml_platform_name(pl), m->train_rows[0], m->train_rows[1]);
		rc = VG_EINVAL;
		goto out;
	}
	double cw[2] = { (double)nr[0] / (2.0 * m->train_rows[0]), (double)nr[0] / (2.0 * m->train_rows[1]) };

	/* trees on the content features */
	X = vg_malloc(nr[0] * VG_ML_NCONTENT * sizeof(float));
	y = vg_malloc(nr[0] * sizeof(float));
	wt = vg_malloc(nr[0] * sizeof(float));
	pm.lin.w = vg_calloc(VG_ML_HASH_SIZE, sizeof(float));
	if (!X || !y || !wt || !pm.lin.w)
		goto out;
	for (size_t i = 0; i < nr[0]; i++) {
		const struct vg_ml_example *e = &ex[rows[0][i]];
		memcpy(X + i * VG_ML_NCONTENT, e->f.dense, VG_ML_NCONTENT * sizeof(float));
		y[i] = (float)e->label;
		wt[i] = (float)cw[e->label];
	}
	struct vg_gbt_params gp;
	vg_gbt_params_default(&gp);
	gp.ntrees = pp->trees;
	gp.max_depth = pp->depth;
	gp.eta = 0.2;
	gp.subsample = 1.0;
	gp.colsample = 1.0;
	gp.seed = pp->seed;
	gp.nthread = 1;
	char gerr[200];
	if ((rc = vg_gbt_train(X, y, wt, nr[0], VG_ML_NCONTENT, &gp, &pm.trees, gerr, sizeof(gerr)))) {
		snprintf(err, errlen, "%s: trees: %s", vg_ml_platform_name(pl), gerr);
		goto out;
	}
	train_linear(&pm.lin, ex, rows[0], nr[0], cw, pp);
	if ((rc = train_prevalence(&pm.prev, ex, rows[0], nr[0], cw)))
		goto out;

	/* stacking and thresholds on the validation fold */
	rc = VG_ENOMEM;
	size_t nv = nr[1];
	for (int k = 0; k < 3; k++)
		if (!(sv[k] = vg_malloc((nv ? nv : 1) * sizeof(double))))
			goto out;
	stackx = vg_malloc((nv ? nv : 1) * 3 * sizeof(double));
	stacky = vg_malloc((nv ? nv : 1) * sizeof(int));
	if (!stackx || !stacky)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		const struct vg_ml_example *e = &ex[rows[1][i]];
		sv[0][i] = vg_gbt_predict(pm.trees, e->f.dense);
		sv[1][i] = vg_ml_linear_prob(&pm.lin, &e->f);
		sv[2][i] = vg_ml_small_prob(&pm.prev, &e->f);
		for (int k = 0; k < 3; k++)
			stackx[i * 3 + k] = vg_ml_logit(sv[k][i]) / 4.0;
		stacky[i] = e->label;
	}
	if (m->validation_rows[0] && m->validation_rows[1]) {
		double vcw[2] = { (double)nv / (2.0 * m->validation_rows[0]), (double)nv / (2.0 * m->validation_rows[1]) };
		double sw[3];
		fit_logistic(stackx, stacky, nv, 3, vcw, 1e-2, 1000, 0.5, &pm.stack[0], sw);
		for (int k = 0; k < 3; k++)
			pm.stack[1 + k] = sw[k] / 4.0;
	} else { /* no validation fold of both classes: the mean of the content models' logits */
		pm.stack[0] = 0;
		pm.stack[1] = pm.stack[2] = 0.5;
		pm.stack[3] = 0;
	}
	{
		double *bd = vg_malloc((nv ? nv : 1) * sizeof(double));
		size_t nb = 0;
		if (!bd)
			goto out;
		for (size_t i = 0; i < nv; i++)
			if (!stacky[i])
				bd[nb++] = vg_ml_stack_prob(pm.stack, sv[0][i], sv[1][i], sv[2][i]);
		qsort(bd, nb, sizeof(*bd), cmp_double_desc);
		pm.t_block = fmax(threshold_at(bd, nb, pp->block_fpr), 0.5);
		pm.t_suspicious = fmin(fmax(threshold_at(bd, nb, pp->suspicious_fpr), 0.2), pm.t_block);
		if (pm.t_block > 1)
			pm.t_block = 1;
		free(bd);
	}
	pm.content_floor = 0.5;
	pm.present = 1;

	/* held-out evaluation of exactly these models */
	size_t nh = nr[2];
	for (int k = 0; k < 4; k++)
		if (!(sh[k] = vg_malloc((nh ? nh : 1) * sizeof(double))))
			goto out;
	uint32_t blocked[2] = { 0, 0 };
	for (size_t i = 0; i < nh; i++) {
		const struct vg_ml_example *e = &ex[rows[2][i]];
		struct vg_ml_verdict vd;
		vg_ml_score_platform(&pm, &e->f, &vd);
		sh[0][i] = vd.score_trees;
		sh[1][i] = vd.score_linear;
		sh[2][i] = vd.score_prevalence;
		sh[3][i] = vd.score;
		blocked[e->label ? 1 : 0] += vd.decision == VG_ML_BLOCK;
	}
	for (int c = 0; c < 2; c++)
		m->heldout_block_rate[c] = m->heldout_rows[c] ? (double)blocked[c] / m->heldout_rows[c] : NAN;
	m->auc_trees = auc_scores(ex, rows[2], sh[0], nh);
	m->auc_linear = auc_scores(ex, rows[2], sh[1], nh);
	m->auc_prevalence = auc_scores(ex, rows[2], sh[2], nh);
	if ((rc = evaluate(ex, rows[2], sh[3], nh, ngroups, gclass, pp, m)))
		goto out;

	/* into the bundle (replacing an earlier model of the platform) */
	vg_gbt_free(b->p[pl].trees);
	free(b->p[pl].lin.w);
	free(b->p[pl].families);
	b->p[pl] = pm;
	memset(&pm, 0, sizeof(pm));
	memcpy(b->corpus_sha256, pp->corpus_sha256, sizeof(b->corpus_sha256));
	b->corpus_sha256[64] = '\0';
	b->seed = pp->seed;
	b->trees = pp->trees;
	b->depth = pp->depth;
	b->linear_epochs = pp->linear_epochs;
	b->holdout = pp->holdout;
	b->validation = pp->validation;
	b->block_fpr = pp->block_fpr;
	b->suspicious_fpr = pp->suspicious_fpr;
	if (metrics)
		*metrics = b->p[pl].metrics;
	rc = 0;
out:
	if (rc == VG_ENOMEM && err && errlen && !err[0])
		snprintf(err, errlen, "out of memory");
	vg_gbt_free(pm.trees);
	free(pm.lin.w);
	free(part);
	free(gclass);
	for (int k = 0; k < 3; k++) {
		free(rows[k]);
		free(sv[k]);
	}
	for (int k = 0; k < 4; k++)
		free(sh[k]);
	free(X);
	free(y);
	free(wt);
	free(stackx);
	free(stacky);
	return rc;
}
