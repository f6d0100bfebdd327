/* model.c - scoring a signal with a bundle: the trees, the linear model on hashed tokens, the prevalence model, their stacked ensemble, the decision and the ML threat name (docs/ml.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vigil/common.h"
#include "ml_int.h"

const enum vg_ml_feature vg_ml_linear_dense[ML_LIN_NDENSE] = {
	VG_MLF_PATH_USER_WRITABLE, VG_MLF_PATH_TEMP, VG_MLF_PATH_SYSTEM, VG_MLF_SYSBIN_MASQUERADE,
	VG_MLF_PACKAGED, VG_MLF_ENTROPY, VG_MLF_SIZE, VG_MLF_ELF_PACKED, VG_MLF_MAX_RULE_LEVEL,
	VG_MLF_NRULES, VG_MLF_NEW_EXE_ONLY, VG_MLF_PARENT_SHELL, VG_MLF_CMD_URL, VG_MLF_CMD_ENCODED,
};

const enum vg_ml_feature vg_ml_prev_inputs[ML_PREV_N] = {
	VG_MLF_PREVALENCE, VG_MLF_FLEET_AGE, VG_MLF_PAIR_PREVALENCE, VG_MLF_PACKAGED, VG_MLF_PATH_USER_WRITABLE,
};

const char *vg_ml_decision_name(enum vg_ml_decision d)
{
	return d == VG_ML_BLOCK ? "block" : d == VG_ML_SUSPICIOUS ? "suspicious" : "clean";
}

double vg_ml_sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);
	return e / (1.0 + e);
}

/* logit, clipped to +-12 so a model's certainty cannot swamp the stack. */
double vg_ml_logit(double p)
{
	if (!(p == p))
		return 0;
	if (p < 6.1e-6)
		p = 6.1e-6;
	if (p > 1 - 6.1e-6)
		p = 1 - 6.1e-6;
	return log(p / (1 - p));
}

double vg_ml_linear_prob(const struct ml_linear *m, const struct vg_ml_features *f)
{
	double z = m->bias;
	for (size_t i = 0; i < ML_LIN_NDENSE; i++) {
		float v = f->dense[vg_ml_linear_dense[i]];
		if (v == v)
			z += (double)m->wdense[i] * (double)((v - m->mean[i]) / m->scale[i]);
	}
	if (m->w)
		for (uint32_t i = 0; i < f->ntokens; i++)
			z += m->w[f->tokens[i]];
	return vg_ml_sigmoid(z);
}

double vg_ml_small_prob(const struct ml_small *m, const struct vg_ml_features *f)
{
	double z = m->bias;
	for (size_t i = 0; i < ML_PREV_N; i++) {
		float v = f->dense[vg_ml_prev_inputs[i]];
		if (v == v)
			z += m->w[i] * ((double)v - m->mean[i]) / m->scale[i];
	}
	return vg_ml_sigmoid(z);
}

double vg_ml_stack_prob(const double stack[4], double trees, double linear, double prev)
{
	return vg_ml_sigmoid(stack[0] + stack[1] * vg_ml_logit(trees) + stack[2] * vg_ml_logit(linear) +
			     stack[3] * vg_ml_logit(prev));
}

/*
 * The name part of a threat name: three syllables picked by the cluster key,
 * e.g. "Kavoru". Same key, same name.
 */
static void cluster_name(uint64_t key, char *out)
{
	static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		out[n++] = cons[key % 14];
		key /= 14;
		out[n++] = vow[key % 5];
		key /= 5;
	}
	out[n] = '\0';
	out[0] = (char)(out[0] - 32);
}

/*
 * The cluster of a detection: the sorted behavior and rule ids when the
 * signal has any; else the three tokens that pushed the linear model most
 * towards malicious (ties by bucket id), so randomized copies of one program
 * share a name.
 */
static uint64_t cluster_key(const struct ml_platform *pm, const struct vg_ml_features *f)
{
	if (f->behavior_key)
		return f->behavior_key;
	uint32_t top[3] = { 0, 0, 0 };
	float topw[3] = { 0, 0, 0 };
	for (uint32_t i = 0; i < f->ntokens && pm->lin.w; i++) {
		float w = pm->lin.w[f->tokens[i]];
		for (int k = 0; k < 3; k++) {
			if (w > topw[k]) {
				for (int j = 2; j > k; j--) {
					topw[j] = topw[j - 1];
					top[j] = top[j - 1];
				}
				topw[k] = w;
				top[k] = f->tokens[i];
				break;
			}
		}
	}
	return vg_hash_bytes(top, sizeof(top));
}

void vg_ml_score_features(const struct vg_ml_bundle *b, const struct vg_ml_features *f, struct vg_ml_verdict *out)
{
	vg_ml_score_platform(b ? &b->p[f->platform] : NULL, f, out);
}

void vg_ml_score_platform(const struct ml_platform *pm, const struct vg_ml_features *f, struct vg_ml_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->platform = f->platform;
	if (!pm || !pm->present)
		return;
	out->score_trees = pm->trees ? vg_gbt_predict(pm->trees, f->dense) : 0.5;
	out->score_linear = vg_ml_linear_prob(&pm->lin, f);
	out->score_prevalence = vg_ml_small_prob(&pm->prev, f);
	out->score = vg_ml_stack_prob(pm->stack, out->score_trees, out->score_linear, out->score_prevalence);
	double content = out->score_trees > out->score_linear ? out->score_trees : out->score_linear;
	if (out->score >= pm->t_block && content >= pm->content_floor)
		out->decision = VG_ML_BLOCK;
	else if (out->score >= pm->t_suspicious)
		out->decision = VG_ML_SUSPICIOUS;
	else
		out->decision = VG_ML_CLEAN;
	if (out->decision != VG_ML_CLEAN) {
		char name[8];
		cluster_name(cluster_key(pm, f), name);
		snprintf(out->threat_name, sizeof(out->threat_name), "Trojan:%s/%s.%c!ml",
			 f->platform == VG_ML_WINDOWS ? "Win32" : "Linux", name,
			 out->score_trees >= out->score_linear ? 'A' : 'B');
	}
}

void vg_ml_score(const struct vg_ml_bundle *b, const struct vg_json_doc *signal, const struct vg_ml_cloud_facts *facts,
		 const struct vg_ruleset *rules, struct vg_ml_verdict *out)
{
	struct vg_ml_features f;
	vg_ml_features_extract(signal, facts, rules, &f);
	vg_ml_score_features(b, &f, out);
}

int vg_ml_bundle_has(const struct vg_ml_bundle *b, enum vg_ml_platform p)
{
	return b && (unsigned)p < VG_ML_NPLATFORMS && b->p[p].present;
}

int vg_ml_bundle_add_family(struct vg_ml_bundle *b, enum vg_ml_platform p, const char *name,
			    const struct vg_ml_metrics *m)
{
	size_t n = strlen(name);
	if (!vg_ml_bundle_has(b, p) || !n || n >= sizeof(b->p[p].families[0].name) ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return VG_EINVAL;
	struct ml_platform *pm = &b->p[p];
	struct vg_ml_family_metrics *f = vg_realloc(pm->families, (pm->nfamilies + 1) * sizeof(*f));
	if (!f)
		return VG_ENOMEM;
	pm->families = f;
	memset(&f[pm->nfamilies], 0, sizeof(*f));
	memcpy(f[pm->nfamilies].name, name, n + 1);
	f[pm->nfamilies].m = *m;
	pm->nfamilies++;
	return 0;
}

const struct vg_ml_family_metrics *vg_ml_bundle_families(const struct vg_ml_bundle *b, enum vg_ml_platform p, size_t *n)
{
	*n = vg_ml_bundle_has(b, p) ? b->p[p].nfamilies : 0;
	return *n ? b->p[p].families : NULL;
}

const struct vg_ml_metrics *vg_ml_bundle_metrics(const struct vg_ml_bundle *b, enum vg_ml_platform p)
{
	return vg_ml_bundle_has(b, p) ? &b->p[p].metrics : NULL;
}

void vg_ml_scores_json(const struct vg_ml_verdict *v, struct vg_buf *out)
{
	vg_buf_printf(out, "{\"ml_trees\":%.4f,\"ml_linear\":%.4f,\"ml_prevalence\":%.4f,\"ml_ensemble\":%.4f}",
		      v->score_trees, v->score_linear, v->score_prevalence, v->score);
}
