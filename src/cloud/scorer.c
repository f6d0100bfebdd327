/* scorer.c - the interim verdict model ("interim_rules"): a documented weighted score over prevalence, first-seen age, rule severity and file traits, standing in the model slot until the ML layer lands. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cloud_int.h"

/*
 * Each part is a number in 0..1; the weights sum to 1 (docs/cloud.md has the
 * table and the reasoning). Thresholds: >= 0.70 block, >= 0.40 suspicious.
 */
#define W_SEVERITY 0.45
#define W_RARITY   0.20
#define W_NEW      0.15
#define W_TRAITS   0.20
#define T_BLOCK    0.70
#define T_SUSP     0.40

static double severity_part(enum vg_level l, size_t nbehaviors)
{
	static const double by_level[] = { 0.0, 0.1, 0.3, 0.55, 0.8, 1.0 };
	double v = (unsigned)l < 6 ? by_level[l] : 0.0;
	/* Behaviors the service has no rule for count a little each, up to a medium. */
	if (v < 0.5 && nbehaviors)
		v = fmin(0.5, v + 0.15 * (double)nbehaviors);
	return v;
}

/* 1 for a hash only one endpoint has, falling with log(prevalence) to 0 at 100 endpoints. */
static double rarity_part(int64_t prevalence)
{
	if (prevalence <= 1)
		return 1.0;
	double r = 1.0 - log10((double)prevalence) / 2.0;
	return r < 0 ? 0 : r;
}

/* New to the service: 1 within the first hour, 0 after a week, log-scaled between. */
static double new_part(int64_t age_s)
{
	if (age_s <= 3600)
		return 1.0;
	if (age_s >= 7 * 86400)
		return 0.0;
	return 1.0 - log((double)age_s / 3600.0) / log(7.0 * 24.0);
}

static double traits_part(const struct score_input *in)
{
	double v = 0;
	if (in->entropy >= 7.2)
		v += 0.35; /* packed or encrypted content */
	if (in->packaged == 0)
		v += 0.25;
	if (in->temp_path)
		v += 0.2;
	if (in->elf_packed)
		v += 0.2;
	if (in->elf_static && in->elf_stripped)
		v += 0.1;
	if (in->chain_risky)
		v += 0.3; /* web shell or macro: a server or document program started a shell */
	if (in->packaged == 1)
		v = in->chain_risky ? 0.3 : 0; /* a file the distribution ships is vouched for, not how it was started */
	return v > 1 ? 1 : v;
}

void vg_cloud_score(const struct score_input *in, struct score_output *out)
{
	double sev = severity_part(in->severity, in->nbehaviors);
	double s = W_SEVERITY * sev + W_RARITY * rarity_part(in->prevalence) + W_NEW * new_part(in->age_s) +
		   W_TRAITS * traits_part(in);

	/* A critical rule on a rare file blocks whatever the other parts say. */
	if (in->severity == VG_LEVEL_CRITICAL && in->prevalence < 10 && s < T_BLOCK)
		s = T_BLOCK;
	out->score = s;
	out->threat_name[0] = 0;
	if (s >= T_BLOCK) {
		out->verdict = "block";
		out->ttl = 86400;
	} else if (s >= T_SUSP) {
		out->verdict = "suspicious";
		out->ttl = 300;
	} else {
		out->verdict = "clean";
		out->ttl = in->prevalence >= 10 ? 86400 : 3600;
		return;
	}
	const char *what = in->technique ? in->technique : (in->severity ? "Behavior" : "Rare");
	snprintf(out->threat_name, sizeof(out->threat_name), "Vigil:%s/%s%s%s", out->verdict[0] == 'b' ? "Block" : "Suspicious",
		 what, in->top_rule ? "!" : "", in->top_rule ? in->top_rule : "");
	for (char *p = out->threat_name; *p; p++)
		if (*p == ' ')
			*p = '_';
}
