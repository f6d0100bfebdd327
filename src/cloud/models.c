/* models.c - vigil-cloud's verdict layer: the ML bundle (trees, linear, prevalence, ensemble) scores each signal with the fleet's facts; a critical rule on a rare file is a floor; the interim rule scorer answers when no bundle covers the platform. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_int.h"
#include "vigil/embedded.h"
#include "vigil/ml.h"
#include "vigil/strmap.h"

/* Distinct (parent -> child) name pairs remembered for pair prevalence; past it new pairs count as unknown. */
#define PAIRS_MAX 200000

struct cloud_models {
	struct vg_ml_bundle *bundle;  /* NULL: interim scorer only ("model none") */
	char source[256];             /* "embedded", a path or "none" */
	pthread_mutex_t mu;           /* the pair tables */
	struct vg_strmap pair_endpoints; /* "pair\nendpoint" -> (void *)1 */
	struct vg_strmap pair_count;     /* "pair" -> (void *)(uintptr_t)distinct endpoints */
	uint64_t pairs_full;             /* pairs not remembered: the table was full */
};

int vg_cloud_models_open(struct vg_cloud *c, char *err, size_t errlen)
{
	struct cloud_models *m = vg_calloc(1, sizeof(*m));
	const char *want = c->cfg.model ? c->cfg.model : "embedded";
	int rc = 0;
	char why[512];

	if (!m)
		return VG_ENOMEM;
	pthread_mutex_init(&m->mu, NULL);
	vg_strmap_init(&m->pair_endpoints, 0);
	vg_strmap_init(&m->pair_count, 0);
	snprintf(m->source, sizeof(m->source), "%s", want);
	if (strcmp(want, "embedded") == 0) {
		rc = vg_ml_bundle_parse(vg_embedded_model, vg_embedded_model_len, &m->bundle, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "model (embedded): %s", why);
	} else if (strcmp(want, "none") != 0) {
		rc = vg_ml_bundle_load(want, &m->bundle, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "model %s", why);
	}
	c->models = m;
	return rc ? (rc == VG_ENOMEM ? rc : VG_EINVAL) : 0;
}

void vg_cloud_models_close(struct vg_cloud *c)
{
	struct cloud_models *m = c->models;
	if (!m)
		return;
	vg_ml_bundle_free(m->bundle);
	vg_strmap_free(&m->pair_endpoints); /* values are markers, not allocations */
	vg_strmap_free(&m->pair_count);
	pthread_mutex_destroy(&m->mu);
	free(m);
	c->models = NULL;
}

const char *vg_cloud_models_source(const struct vg_cloud *c)
{
	return c->models ? c->models->source : "none";
}

/* Records that endpoint ran the signal's parent -> child pair; returns the distinct endpoints of the pair, -1 unknown. */
static int64_t pair_seen(struct cloud_models *m, const struct vg_json_doc *d, const char *endpoint)
{
	char pair[192], both[192 + 160];
	size_t n = vg_ml_pair_key(d, pair, sizeof(pair));
	int64_t count = -1;

	if (!n)
		return -1;
	int bn = snprintf(both, sizeof(both), "%.*s\n%s", (int)n, pair, endpoint);
	if (bn < 0 || (size_t)bn >= sizeof(both))
		return -1;
	pthread_mutex_lock(&m->mu);
	uintptr_t have = (uintptr_t)vg_strmap_get(&m->pair_count, pair, n);
	if (vg_strmap_get(&m->pair_endpoints, both, (size_t)bn)) {
		count = (int64_t)have;
	} else if (m->pair_endpoints.count >= PAIRS_MAX) {
		m->pairs_full++;
		count = have ? (int64_t)have : -1;
	} else if (vg_strmap_put(&m->pair_endpoints, both, (size_t)bn, (void *)1, NULL) == 0) {
		void *old;
		if (vg_strmap_put(&m->pair_count, pair, n, (void *)(have + 1), &old) == 0)
			count = (int64_t)have + 1;
	}
	pthread_mutex_unlock(&m->mu);
	return count;
}

/* The interim scorer's answer in the ML layer's terms (no bundle for the platform). */
static void interim_only(const struct score_input *in, struct score_output *out)
{
	vg_cloud_score(in, out);
	snprintf(out->scores_json, sizeof(out->scores_json), "{\"" VG_CLOUD_MODEL "\":%.4f}", out->score);
	out->model = VG_CLOUD_MODEL;
}

void vg_cloud_model_score(struct vg_cloud *c, const struct vg_json_doc *d, const char *endpoint,
			  const struct score_input *in, struct score_output *out)
{
	struct cloud_models *m = c->models;
	struct vg_ml_cloud_facts facts;
	struct vg_ml_verdict v;
	struct score_output interim;

	if (!m || !m->bundle) {
		interim_only(in, out);
		return;
	}
	enum vg_ml_platform p = vg_ml_signal_platform(d);
	if (!vg_ml_bundle_has(m->bundle, p)) {
		interim_only(in, out);
		return;
	}
	facts.prevalence = in->prevalence;
	facts.fleet_age_s = (double)in->age_s;
	facts.pair_prevalence = pair_seen(m, d, endpoint);
	vg_ml_score(m->bundle, d, &facts, c->rules, &v);

	/* The interim score still rides along: it is the rule floor's input and a second opinion in the answer. */
	vg_cloud_score(in, &interim);
	out->score = v.score;
	out->model = "ensemble";
	snprintf(out->scores_json, sizeof(out->scores_json),
		 "{\"ensemble\":%.4f,\"trees\":%.4f,\"linear\":%.4f,\"prevalence\":%.4f,\"" VG_CLOUD_MODEL "\":%.4f}",
		 v.score, v.score_trees, v.score_linear, v.score_prevalence, interim.score);
	snprintf(out->threat_name, sizeof(out->threat_name), "%s", v.threat_name);
	switch (v.decision) {
	case VG_ML_BLOCK:
		out->verdict = "block";
		out->ttl = 86400;
		break;
	case VG_ML_SUSPICIOUS:
		out->verdict = "suspicious";
		out->ttl = 300;
		break;
	default:
		out->verdict = "clean";
		out->ttl = in->prevalence >= 10 ? 86400 : 3600;
		break;
	}
	/*
	 * The rule floor: a critical rule on a rare file blocks whatever the
	 * models say (the endpoint's own rules would act on it anyway); the
	 * answer then carries the rule's name when the models had none.
	 */
	if (in->severity == VG_LEVEL_CRITICAL && in->prevalence < 10 && out->verdict[0] != 'b') {
		out->verdict = "block";
		out->ttl = 86400;
		out->model = "rule_floor";
		if (!out->threat_name[0])
			snprintf(out->threat_name, sizeof(out->threat_name), "%s", interim.threat_name);
	}
}
