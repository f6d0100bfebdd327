/* train.c - `vigil train`: reads labelled corpus JSON lines, computes the fleet facts in corpus order, trains each platform's models, prints the held-out metrics and writes the model bundle (docs/ml.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/common.h"
#include "vigil/embedded.h"
#include "vigil/json.h"
#include "vigil/ml.h"
#include "vigil/sigma.h"
#include "vigil/strmap.h"
#include "cli.h"

static const char usage_train[] =
	"usage: vigil train [options] CORPUS.jsonl...\n"
	"\n"
	"Reads labelled signals (one JSON object per line: label, platform, family, group,\n"
	"source, signal), holds out whole groups (variants, recordings) for the metrics,\n"
	"trains the trees, the linear and the prevalence models per platform, prints ROC AUC\n"
	"and detection rates at 1%% and 0.1%% false positives with 95%% bootstrap intervals, and\n"
	"writes the model bundle. Bad lines are reported as file:line: reason and skipped.\n"
	"\n"
	"  -o, --out FILE          the bundle to write (default models/vigil-model.bundle)\n"
	"      --seed N            split, SGD order and trees (default 1)\n"
	"      --holdout F         share of groups per class and platform held out (default 0.25)\n"
	"      --trees N           boosting rounds (default 100)\n"
	"      --depth N           tree depth (default 4)\n"
	"      --bootstrap N       resamples for the intervals (default 1000)\n"
	"      --rules PATH        rule files that give rule ids their levels (default: compiled in)\n"
	"  -v, --verbose           also list every group with its part (train, validation, held-out)\n"
	"  -q, --quiet             no metrics on stdout\n"
	"  -h, --help              this text\n"
	"\n"
	"Exit status: 0 trained, 1 trained but bad lines were skipped, 2 error.\n";

/* Distinct endpoints and first sight of one key (a hash, a parent -> child pair). */
struct fleet_entry {
	int64_t first_ns;
	uint32_t n, cap;
	uint64_t *endpoints; /* hashes of endpoint ids */
};

/* Adds the endpoint to key's set; returns the entry (NULL on allocation failure). */
static struct fleet_entry *fleet_see(struct vg_strmap *m, const char *key, uint64_t endpoint, int64_t t_ns)
{
	struct fleet_entry *e = vg_strmap_get(m, key, strlen(key));
	if (!e) {
		e = vg_calloc(1, sizeof(*e));
		if (!e || vg_strmap_put(m, key, strlen(key), e, NULL)) {
			free(e);
			return NULL;
		}
		e->first_ns = t_ns;
	}
	if (t_ns && (!e->first_ns || t_ns < e->first_ns))
		e->first_ns = t_ns;
	for (uint32_t i = 0; i < e->n; i++)
		if (e->endpoints[i] == endpoint)
			return e;
	if (e->n == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 4;
		uint64_t *p = realloc(e->endpoints, cap * sizeof(*p));
		if (!p)
			return NULL;
		e->endpoints = p;
		e->cap = cap;
	}
	e->endpoints[e->n++] = endpoint;
	return e;
}

static void fleet_free(struct vg_strmap *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].key) {
			struct fleet_entry *e = m->slots[i].value;
			free(e->endpoints);
			free(e);
		}
	vg_strmap_free(m);
}

struct platform_rows {
	struct vg_ml_example *ex;
	size_t n, cap;
	struct vg_strmap groups; /* group name -> index + 1 */
	uint32_t ngroups;
	struct vg_strmap families; /* malicious family name -> index (1...) */
	uint32_t nfamilies;
	struct vg_strmap kinds;    /* benign recording kind (group name without trailing digits) -> index (1...) */
	uint32_t nkinds;
};

/* Families with at least this many groups get a leave-one-family-out evaluation. */
#define FAMILY_MIN_GROUPS 5

struct train_state {
	struct platform_rows pr[VG_ML_NPLATFORMS];
	struct vg_strmap fleet;
	struct vg_ruleset *rules;
	unsigned bad;
	struct vg_json_doc doc, sig;
	uint32_t sig_cap;
	EVP_MD_CTX *sha;
};

static const struct vg_json_leaf *top_leaf(const struct vg_json_doc *d, const char *path)
{
	size_t n = strlen(path);
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (d->leaves[i].path_len == n && !memcmp(d->leaves[i].path, path, n) && !d->leaves[i].in_array)
			return &d->leaves[i];
	return NULL;
}

static const char *top_str(const struct vg_json_doc *d, const char *path)
{
	const struct vg_json_leaf *l = top_leaf(d, path);
	return l && l->type == VG_JSON_STRING ? l->value : NULL;
}

/*
 * The "signal" member as a document of its own: the same leaves with
 * "signal." cut from their paths (borrowed strings; no copy of the values).
 */
static int signal_view(struct train_state *st)
{
	st->sig.nleaves = 0;
	for (uint32_t i = 0; i < st->doc.nleaves; i++) {
		const struct vg_json_leaf *l = &st->doc.leaves[i];
		if (l->path_len <= 7 || memcmp(l->path, "signal.", 7) != 0)
			continue;
		if (st->sig.nleaves == st->sig_cap) {
			uint32_t cap = st->sig_cap ? st->sig_cap * 2 : 256;
			struct vg_json_leaf *p = realloc(st->sig.leaves, cap * sizeof(*p));
			if (!p)
				return VG_ENOMEM;
			st->sig.leaves = p;
			st->sig_cap = cap;
		}
		struct vg_json_leaf *o = &st->sig.leaves[st->sig.nleaves++];
		*o = *l;
		o->path += 7;
		o->path_len -= 7;
		o->depth--;
	}
	return 0;
}

/* One corpus line. Returns 0, a reason for a bad line in *why (returns 1), or VG_ENOMEM. */
static int take_line(struct train_state *st, const char *data, size_t len, const char **why)
{
	struct vg_json_error je;
	static char msg[160];
	enum vg_ml_platform pl;

	if (vg_json_flatten(&st->doc, data, len, &je)) {
		snprintf(msg, sizeof(msg), "%s (byte %zu)", je.reason, je.offset);
		*why = msg;
		return 1;
	}
	const char *label = top_str(&st->doc, "label"), *plat = top_str(&st->doc, "platform");
	const char *group = top_str(&st->doc, "group");
	if (!label || (strcmp(label, "malicious") && strcmp(label, "benign"))) {
		*why = "\"label\": expected \"malicious\" or \"benign\"";
		return 1;
	}
	if (!plat || vg_ml_platform_parse(plat, &pl)) {
		*why = "\"platform\": expected \"linux\" or \"windows\"";
		return 1;
	}
	if (!group || !*group) {
		*why = "\"group\": expected a non-empty string";
		return 1;
	}
	if (signal_view(st))
		return VG_ENOMEM;
	const char *sha = NULL;
	for (uint32_t i = 0; i < st->sig.nleaves; i++)
		if (st->sig.leaves[i].path_len == 11 && !memcmp(st->sig.leaves[i].path, "file.sha256", 11) &&
		    st->sig.leaves[i].type == VG_JSON_STRING)
			sha = st->sig.leaves[i].value;
	if (!st->sig.nleaves || !sha || strlen(sha) != 64) {
		*why = "\"signal\": expected an object with file.sha256 (64 hex digits)";
		return 1;
	}

	/* the fleet facts the cloud would have had at this signal, from the rows before it */
	const char *eid = top_str(&st->sig, "endpoint_id");
	if (!eid)
		eid = top_str(&st->doc, "source");
	uint64_t ep = eid ? vg_hash_bytes(eid, strlen(eid)) : 0;
	const char *ts = top_str(&st->sig, "time");
	int64_t t_ns = 0;
	if (ts && vg_time_parse(ts, strlen(ts), &t_ns))
		t_ns = 0;
	char key[200];
	snprintf(key, sizeof(key), "h:%s", sha);
	struct fleet_entry *fe = fleet_see(&st->fleet, key, ep, t_ns);
	if (!fe)
		return VG_ENOMEM;
	struct vg_ml_cloud_facts facts = { (int64_t)fe->n, 0, -1 };
	if (t_ns && fe->first_ns && t_ns > fe->first_ns)
		facts.fleet_age_s = (double)(t_ns - fe->first_ns) / 1e9;
	char pair[140];
	if (vg_ml_pair_key(&st->sig, pair, sizeof(pair))) {
		snprintf(key, sizeof(key), "p:%s:%s", plat, pair);
		struct fleet_entry *pe = fleet_see(&st->fleet, key, ep, t_ns);
		if (!pe)
			return VG_ENOMEM;
		facts.pair_prevalence = pe->n;
	}

	struct platform_rows *pr = &st->pr[pl];
	if (pr->n == pr->cap) {
		size_t cap = pr->cap ? pr->cap * 2 : 1024;
		struct vg_ml_example *p = realloc(pr->ex, cap * sizeof(*p));
		if (!p)
			return VG_ENOMEM;
		pr->ex = p;
		pr->cap = cap;
	}
	struct vg_ml_example *e = &pr->ex[pr->n];
	vg_ml_features_extract(&st->sig, &facts, st->rules, &e->f);
	e->f.platform = pl; /* the corpus says which platform; the path guess is for the cloud */
	e->label = strcmp(label, "malicious") == 0;
	uintptr_t gi = (uintptr_t)vg_strmap_get(&pr->groups, group, strlen(group));
	if (!gi) {
		gi = ++pr->ngroups;
		if (vg_strmap_put(&pr->groups, group, strlen(group), (void *)gi, NULL))
			return VG_ENOMEM;
	}
	e->group = (uint32_t)(gi - 1);
	e->family = 0;
	e->kind = 0;
	if (!e->label) { /* "small-c3" is a recording of the kind "small-c" */
		size_t kl = strlen(group);
		while (kl > 1 && group[kl - 1] >= '0' && group[kl - 1] <= '9')
			kl--;
		uintptr_t ki = (uintptr_t)vg_strmap_get(&pr->kinds, group, kl);
		if (!ki) {
			ki = ++pr->nkinds;
			if (vg_strmap_put(&pr->kinds, group, kl, (void *)ki, NULL))
				return VG_ENOMEM;
		}
		e->kind = (uint32_t)ki;
	}
	const char *fam = top_str(&st->doc, "family");
	if (e->label && fam && *fam) {
		uintptr_t fi = (uintptr_t)vg_strmap_get(&pr->families, fam, strlen(fam));
		if (!fi) {
			fi = ++pr->nfamilies;
			if (vg_strmap_put(&pr->families, fam, strlen(fam), (void *)fi, NULL))
				return VG_ENOMEM;
		}
		e->family = (uint32_t)fi;
	}
	pr->n++;
	return 0;
}

static int read_corpus(struct train_state *st, const char *path)
{
	struct vg_json_reader *r;
	const char *data;
	size_t len;
	uint64_t off, line;
	int rc = vg_json_reader_open(path, 0, &r);
	if (rc) {
		fprintf(stderr, "vigil: train: %s: %s\n", path, vg_strerror(rc));
		return -1;
	}
	/* the corpus hash covers the bytes as read, in the order given */
	FILE *f = fopen(path, "rb");
	if (f) {
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			EVP_DigestUpdate(st->sha, buf, n);
		fclose(f);
	}
	while ((rc = vg_json_reader_next(r, &data, &len, &off, &line)) != 0) {
		const char *why = NULL;
		if (rc < 0) {
			if (rc != VG_EPARSE && rc != VG_ETRUNC && rc != VG_ELIMIT) {
				fprintf(stderr, "vigil: train: %s: %s\n", path, vg_strerror(rc));
				vg_json_reader_free(r);
				return -1;
			}
			fprintf(stderr, "%s:%llu: %s\n", path, (unsigned long long)line, vg_json_reader_error(r));
			st->bad++;
			continue;
		}
		int t = take_line(st, data, len, &why);
		if (t < 0) {
			fprintf(stderr, "vigil: train: %s\n", vg_strerror(t));
			vg_json_reader_free(r);
			return -1;
		}
		if (t) {
			fprintf(stderr, "%s:%llu: %s\n", path, (unsigned long long)line, why);
			st->bad++;
		}
	}
	vg_json_reader_free(r);
	return 0;
}

static void print_metrics(enum vg_ml_platform pl, const struct vg_ml_metrics *m, const struct vg_ml_train_params *pp)
{
	printf("%s: train %u benign / %u malicious rows (%u / %u groups), validation %u / %u (%u / %u groups)\n",
	       vg_ml_platform_name(pl), m->train_rows[0], m->train_rows[1], m->train_groups[0], m->train_groups[1],
	       m->validation_rows[0], m->validation_rows[1], m->validation_groups[0], m->validation_groups[1]);
	printf("%s: held out %u benign / %u malicious rows (%u / %u groups)\n", vg_ml_platform_name(pl),
	       m->heldout_rows[0], m->heldout_rows[1], m->heldout_groups[0], m->heldout_groups[1]);
	printf("%s: ROC AUC %.4f [%.4f, %.4f]; detection at 1%% FP %.4f [%.4f, %.4f]; at 0.1%% FP %.4f [%.4f, %.4f]"
	       " (95%% bootstrap over held-out groups, %d resamples)\n",
	       vg_ml_platform_name(pl), m->auc[0], m->auc[1], m->auc[2], m->dr_1pct[0], m->dr_1pct[1], m->dr_1pct[2],
	       m->dr_01pct[0], m->dr_01pct[1], m->dr_01pct[2], pp->bootstrap);
	printf("%s: per model AUC: trees %.4f, linear %.4f, prevalence %.4f; blocked at the shipped threshold: "
	       "benign %.4f, malicious %.4f\n",
	       vg_ml_platform_name(pl), m->auc_trees, m->auc_linear, m->auc_prevalence, m->heldout_block_rate[0],
	       m->heldout_block_rate[1]);
}

/*
 * Leave-one-family-out: for every family with FAMILY_MIN_GROUPS groups or more,
 * trains again without any of its groups and evaluates on all of them plus the
 * usual held-out benign groups; prints the metrics and adds them to the bundle.
 * Families in the order they first appear. Returns 0, or -1 after a message.
 */
static int family_holdouts(struct platform_rows *pr, enum vg_ml_platform pl, const struct vg_ml_train_params *pp,
			   struct vg_ml_bundle *bundle, int quiet)
{
	const char **names = vg_calloc(pr->nfamilies + 1, sizeof(char *));
	uint32_t *groups = vg_calloc(pr->nfamilies + 1, sizeof(uint32_t));
	uint8_t *counted = vg_calloc(pr->ngroups ? pr->ngroups : 1, 1);
	int rc = -1;
	if (!names || !groups || !counted)
		goto out;
	for (size_t i = 0; i < pr->families.nslots; i++)
		if (pr->families.slots[i].key)
			names[(uintptr_t)pr->families.slots[i].value] = pr->families.slots[i].key;
	for (size_t i = 0; i < pr->n; i++)
		if (pr->ex[i].family && !counted[pr->ex[i].group]) {
			counted[pr->ex[i].group] = 1;
			groups[pr->ex[i].family]++;
		}
	for (uint32_t f = 1; f <= pr->nfamilies; f++) {
		if (groups[f] < FAMILY_MIN_GROUPS)
			continue;
		struct vg_ml_train_params fp = *pp;
		struct vg_ml_bundle *scratch = NULL;
		struct vg_ml_metrics m;
		char err[256];
		fp.holdout_family = f;
		int t = vg_ml_train_platform(&scratch, pl, pr->ex, pr->n, pr->ngroups, &fp, &m, err, sizeof(err));
		vg_ml_bundle_free(scratch);
		if (t == VG_EINVAL) { /* e.g. the only family: nothing malicious left to train on */
			if (!quiet)
				printf("%s: without family %s: skipped, %s\n", vg_ml_platform_name(pl), names[f], err);
			continue;
		}
		if (t) {
			fprintf(stderr, "vigil: train: without family %s: %s\n", names[f], err[0] ? err : vg_strerror(t));
			goto out;
		}
		if (vg_ml_bundle_add_family(bundle, pl, names[f], &m)) {
			fprintf(stderr, "vigil: train: family name \"%s\": letters, digits, '.', '_', '-' (1-47)\n", names[f]);
			goto out;
		}
		if (!quiet)
			printf("%s: without family %s (%u groups, %u rows held out with %u benign rows): ROC AUC %.4f [%.4f, "
			       "%.4f]; detection at 1%% FP %.4f [%.4f, %.4f]; at 0.1%% FP %.4f [%.4f, %.4f]\n",
			       vg_ml_platform_name(pl), names[f], m.heldout_groups[1], m.heldout_rows[1], m.heldout_rows[0],
			       m.auc[0], m.auc[1], m.auc[2], m.dr_1pct[0], m.dr_1pct[1], m.dr_1pct[2], m.dr_01pct[0],
			       m.dr_01pct[1], m.dr_01pct[2]);
	}
	rc = 0;
out:
	free(names);
	free(groups);
	free(counted);
	return rc;
}

/* -v: every group of a platform with its class, rows and part, in group order. */
static int list_groups(struct platform_rows *pr, enum vg_ml_platform pl, const struct vg_ml_train_params *pp)
{
	static const char *const parts[] = { "train", "validation", "held-out" };
	uint8_t *part = vg_calloc(pr->ngroups ? pr->ngroups : 1, 1);
	uint32_t *rows = vg_calloc(pr->ngroups ? pr->ngroups : 1, sizeof(uint32_t));
	uint8_t *mal = vg_calloc(pr->ngroups ? pr->ngroups : 1, 1);
	const char **names = vg_calloc(pr->ngroups ? pr->ngroups : 1, sizeof(char *));
	int rc = -1;
	if (!part || !rows || !mal || !names || vg_ml_split_groups(pr->ex, pr->n, pr->ngroups, pp, part))
		goto out;
	for (size_t i = 0; i < pr->n; i++) {
		rows[pr->ex[i].group]++;
		mal[pr->ex[i].group] |= (uint8_t)pr->ex[i].label;
	}
	for (size_t i = 0; i < pr->groups.nslots; i++)
		if (pr->groups.slots[i].key)
			names[(uintptr_t)pr->groups.slots[i].value - 1] = pr->groups.slots[i].key;
	for (uint32_t g = 0; g < pr->ngroups; g++)
		printf("%s: group %s %s %u rows %s\n", vg_ml_platform_name(pl), names[g], mal[g] ? "malicious" : "benign",
		       rows[g], parts[part[g]]);
	rc = 0;
out:
	free(part);
	free(rows);
	free(mal);
	free(names);
	return rc;
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (e == s || *e || errno || !(v >= lo && v <= hi)) {
		fprintf(stderr, "vigil: train: %s: expected a number from %g to %g, got \"%s\"\n", opt, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void on_rule_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "vigil: train: rule error: %s:%u: %s\n", file, line, reason);
}

int vg_cli_train(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, 0, 'o' },	  { "seed", required_argument, 0, 'S' },
		{ "holdout", required_argument, 0, 'H' }, { "trees", required_argument, 0, 'T' },
		{ "depth", required_argument, 0, 'D' },	  { "bootstrap", required_argument, 0, 'B' },
		{ "rules", required_argument, 0, 'r' },	  { "quiet", no_argument, 0, 'q' },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },	  { 0, 0, 0, 0 },
	};
	struct vg_ml_train_params pp;
	const char *out = "models/vigil-model.bundle", *rules_path = NULL;
	int quiet = 0, verbose = 0, c, status = 2;
	double v;
	struct train_state st;
	struct vg_ml_bundle *bundle = NULL;
	struct vg_buf text = { 0 };

	memset(&st, 0, sizeof(st));
	vg_ml_train_params_default(&pp);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'S':
			if (parse_num("--seed", optarg, 0, 9e15, &v))
				return 2;
			pp.seed = (uint64_t)v;
			break;
		case 'H':
			if (parse_num("--holdout", optarg, 0.01, 0.9, &pp.holdout))
				return 2;
			break;
		case 'T':
			if (parse_num("--trees", optarg, 1, 5000, &v))
				return 2;
			pp.trees = (int)v;
			break;
		case 'D':
			if (parse_num("--depth", optarg, 1, 12, &v))
				return 2;
			pp.depth = (int)v;
			break;
		case 'B':
			if (parse_num("--bootstrap", optarg, 0, 100000, &v))
				return 2;
			pp.bootstrap = (int)v;
			break;
		case 'r': rules_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'v': verbose = 1; break;
		case 'h': fputs(usage_train, stdout); return 0;
		default: fputs(usage_train, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_train, stderr);
		return 2;
	}
	vg_json_doc_init(&st.doc);
	vg_strmap_init(&st.fleet, 0);
	for (int p = 0; p < VG_ML_NPLATFORMS; p++) {
		vg_strmap_init(&st.pr[p].groups, 0);
		vg_strmap_init(&st.pr[p].families, 0);
		vg_strmap_init(&st.pr[p].kinds, 0);
	}
	st.sha = EVP_MD_CTX_new();
	if (!st.sha || !EVP_DigestInit_ex(st.sha, EVP_sha256(), NULL) || vg_ruleset_new(&st.rules))
		goto out;
	/* rule levels: the same ruleset the cloud loads */
	if (rules_path) {
		if (vg_ruleset_load_path(st.rules, rules_path, on_rule_error, NULL) < 0)
			goto out;
	} else {
		for (size_t i = 0; i < vg_embedded_rules_count; i++)
			vg_ruleset_load_text(st.rules, vg_embedded_rules[i].name, vg_embedded_rules[i].data,
					     vg_embedded_rules[i].len, on_rule_error, NULL);
	}
	for (int i = optind; i < argc; i++)
		if (read_corpus(&st, argv[i]))
			goto out;
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(st.sha, md, &mdlen);
	for (unsigned i = 0; i < 32; i++)
		snprintf(pp.corpus_sha256 + 2 * i, 3, "%02x", md[i]);
	if (!quiet)
		printf("corpus: %zu linux rows, %zu windows rows, %u bad lines skipped, sha256 %s\n", st.pr[0].n,
		       st.pr[1].n, st.bad, pp.corpus_sha256);
	int trained = 0;
	for (int p = 0; p < VG_ML_NPLATFORMS; p++) {
		struct vg_ml_metrics m;
		char err[256];
		if (!st.pr[p].n)
			continue;
		int rc = vg_ml_train_platform(&bundle, (enum vg_ml_platform)p, st.pr[p].ex, st.pr[p].n, st.pr[p].ngroups,
					      &pp, &m, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "vigil: train: %s\n", err[0] ? err : vg_strerror(rc));
			goto out;
		}
		trained++;
		if (!quiet)
			print_metrics((enum vg_ml_platform)p, &m, &pp);
		if (verbose && list_groups(&st.pr[p], (enum vg_ml_platform)p, &pp))
			goto out;
		if (family_holdouts(&st.pr[p], (enum vg_ml_platform)p, &pp, bundle, quiet))
			goto out;
	}
	if (!trained) {
		fprintf(stderr, "vigil: train: no usable rows\n");
		goto out;
	}
	if (vg_ml_bundle_save(bundle, &text)) {
		fprintf(stderr, "vigil: train: out of memory\n");
		goto out;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(text.p, 1, text.len, f) != text.len || fclose(f)) {
		fprintf(stderr, "vigil: train: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, out)) {
		fprintf(stderr, "vigil: train: %s: %s\n", out, strerror(errno));
		goto out;
	}
	if (!quiet)
		printf("wrote %s (%zu bytes)\n", out, text.len);
	status = st.bad ? 1 : 0;
out:
	vg_buf_free(&text);
	vg_ml_bundle_free(bundle);
	for (int p = 0; p < VG_ML_NPLATFORMS; p++) {
		free(st.pr[p].ex);
		vg_strmap_free(&st.pr[p].groups);
		vg_strmap_free(&st.pr[p].families);
		vg_strmap_free(&st.pr[p].kinds);
	}
	fleet_free(&st.fleet);
	vg_ruleset_free(st.rules);
	vg_json_doc_free(&st.doc);
	free(st.sig.leaves);
	EVP_MD_CTX_free(st.sha);
	return status;
}
