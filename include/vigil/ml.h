/* ml.h - the cloud's metadata models: features of a behavior signal, the tree, linear and prevalence models, their ensemble, the versioned model bundle and training. */
#ifndef VIGIL_ML_H
#define VIGIL_ML_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/buf.h"
#include "vigil/json.h"

struct vg_ruleset;

/* ---- features (src/ml/features.c, docs/features.md) ---- */

/* Bumped whenever a feature's meaning, order or hashing changes: a bundle of another version is refused. */
#define VG_ML_FEATURE_VERSION 1
/* The linear model's hashed token space: 2^18 buckets. */
#define VG_ML_HASH_BITS 18
#define VG_ML_HASH_SIZE (1u << VG_ML_HASH_BITS)
/* At most this many distinct tokens per signal; later ones are counted in VG_MLF_TOKENS_DROPPED. */
#define VG_ML_MAX_TOKENS 512

enum vg_ml_platform { VG_ML_LINUX = 0, VG_ML_WINDOWS = 1, VG_ML_NPLATFORMS = 2 };
const char *vg_ml_platform_name(enum vg_ml_platform p); /* "linux", "windows" */
/* "linux" / "windows" -> 0 and *out; anything else -> VG_EINVAL. */
int vg_ml_platform_parse(const char *s, enum vg_ml_platform *out);

/* Dense features, in this order (docs/features.md has each one's definition). NaN = missing. */
enum vg_ml_feature {
	VG_MLF_PATH_CLASS = 0,     /* platform's path class id (enum vg_linux_path_class / vg_path_class) */
	VG_MLF_PATH_USER_WRITABLE, /* 0/1 */
	VG_MLF_PATH_TEMP,          /* 0/1: /tmp, /var/tmp, /dev/shm; Windows Temp */
	VG_MLF_PATH_SYSTEM,        /* 0/1: package folders; Windows system dir or Program Files */
	VG_MLF_PATH_HIDDEN,        /* 0/1: a dot folder or dot file on the path */
	VG_MLF_PATH_DEPTH,         /* folders on the path */
	VG_MLF_SYSBIN_MASQUERADE,  /* 0/1: a system binary's name, outside the system folders */
	VG_MLF_PACKAGED,           /* 0/1, NaN when the endpoint did not say */
	VG_MLF_FILE_AGE,           /* log1p(seconds from file.first_seen to the signal's time) */
	VG_MLF_SIZE,               /* log2(1 + bytes) */
	VG_MLF_ENTROPY,            /* bits per byte */
	VG_MLF_ELF,                /* 0/1: ELF facts present */
	VG_MLF_ELF_TYPE,           /* 1 exec, 2 dyn, 3 rel, 4 core, 5 other */
	VG_MLF_ELF_STATIC,
	VG_MLF_ELF_STRIPPED,
	VG_MLF_ELF_PACKED,
	VG_MLF_ELF_INTERP,         /* 0/1: has a program interpreter */
	VG_MLF_NAME_LEN,
	VG_MLF_NAME_DIGITS,        /* share of digits in the file name */
	VG_MLF_NAME_DOT,           /* 0/1: name starts with '.' */
	VG_MLF_CHAIN_DEPTH,        /* processes in process_chain */
	VG_MLF_PARENT_CLASS,       /* parent image's path class id */
	VG_MLF_PARENT_USER_WRITABLE,
	VG_MLF_PARENT_SHELL,       /* 0/1: parent is a shell or script host */
	VG_MLF_GRANDPARENT_CLASS,
	VG_MLF_GRANDPARENT_USER_WRITABLE,
	VG_MLF_CMD_LEN,            /* log2(1 + bytes) of the process's command line */
	VG_MLF_CMD_TOKENS,         /* its tokens */
	VG_MLF_CMD_URL,            /* 0/1: "://" in it */
	VG_MLF_CMD_IP,             /* 0/1: a dotted IPv4 address */
	VG_MLF_CMD_ENCODED,        /* 0/1: a token of 40+ base64/hex characters */
	VG_MLF_NRULES,             /* rule ids */
	VG_MLF_NBEHAVIORS,         /* behavior ids */
	VG_MLF_MAX_RULE_LEVEL,     /* highest level (1 informational .. 5 critical) of the rule ids the ruleset knows; 0 none */
	VG_MLF_NEW_EXE_ONLY,       /* 0/1: a process start ("vigil.*" behavior) and no rule fired */
	VG_MLF_TOKENS_DROPPED,     /* tokens past VG_ML_MAX_TOKENS */
	/* cloud-side: what only the fleet knows (struct vg_ml_cloud_facts) */
	VG_MLF_PREVALENCE,         /* log1p(distinct endpoints that sent this hash) */
	VG_MLF_FLEET_AGE,          /* log1p(seconds since the fleet first saw this hash) */
	VG_MLF_PAIR_PREVALENCE,    /* log1p(distinct endpoints that ran this parent -> child name pair) */
	VG_ML_NDENSE
};
/* The first cloud-side feature: the content models (trees, linear) see only features before it. */
#define VG_ML_NCONTENT VG_MLF_PREVALENCE
const char *vg_ml_feature_name(enum vg_ml_feature f);

/* What the cloud knows about a signal that the endpoint cannot; negative = unknown. */
struct vg_ml_cloud_facts {
	int64_t prevalence;      /* distinct endpoints that sent this hash, this one included */
	double fleet_age_s;      /* seconds since the fleet first saw the hash (0 = first sight) */
	int64_t pair_prevalence; /* distinct endpoints that ran the (parent name, child name) pair */
};

/* One signal's features. */
struct vg_ml_features {
	enum vg_ml_platform platform;
	float dense[VG_ML_NDENSE];
	uint32_t ntokens;
	uint32_t tokens[VG_ML_MAX_TOKENS];  /* hashed bucket ids, sorted, distinct */
	uint64_t behavior_key;              /* hash of the sorted behavior and rule ids, 0 when none */
	char name[64];                      /* file name (for messages) */
};

/*
 * Platform of a signal: Windows when file.path (or the last process image)
 * looks like a Windows path (drive letter, backslash), else Linux.
 */
enum vg_ml_platform vg_ml_signal_platform(const struct vg_json_doc *signal);

/*
 * The parent -> child name pair key of a signal ("bash>curl", lower-case
 * names of the last two images of process_chain) into buf. Returns its length,
 * 0 when the chain has fewer than two images. The cloud counts distinct
 * endpoints per key for vg_ml_cloud_facts.pair_prevalence.
 */
size_t vg_ml_pair_key(const struct vg_json_doc *signal, char *buf, size_t len);

/*
 * Extracts the features of a signal (a POST /v1/signals body flattened by
 * vg_json_flatten). facts may be NULL (cloud-side features missing); rules
 * (may be NULL) resolves rule ids to levels. The cloud and `vigil train` both
 * call this: one code path. Never fails: fields of the wrong type count as
 * missing.
 */
void vg_ml_features_extract(const struct vg_json_doc *signal, const struct vg_ml_cloud_facts *facts,
			    const struct vg_ruleset *rules, struct vg_ml_features *out);

/* ---- models and the bundle (src/ml/model.c, src/ml/bundle.c, docs/ml.md) ---- */

enum vg_ml_decision { VG_ML_CLEAN = 0, VG_ML_SUSPICIOUS, VG_ML_BLOCK };
const char *vg_ml_decision_name(enum vg_ml_decision d); /* "clean", "suspicious", "block" */

struct vg_ml_verdict {
	enum vg_ml_platform platform;
	double score_trees;       /* gradient-boosted trees, 0..1 */
	double score_linear;      /* logistic regression on hashed tokens, 0..1 */
	double score_prevalence;  /* rarity model, 0..1 */
	double score;             /* the ensemble (stacked), 0..1 */
	enum vg_ml_decision decision;
	char threat_name[80];     /* "Trojan:Linux/Kavoru.A!ml" when not clean, else "" */
};

struct vg_ml_bundle;

/*
 * Parses a model bundle (docs/ml.md, "The bundle") from text. Untrusted
 * input: every error is "line N: reason" in err. Returns 0 and *out (free
 * with vg_ml_bundle_free), VG_EPARSE / VG_EFORMAT (another version) /
 * VG_ENOMEM.
 */
int vg_ml_bundle_parse(const char *text, size_t len, struct vg_ml_bundle **out, char *err, size_t errlen);
/* Reads and parses a bundle file; err gets "path: line N: reason" or the I/O error. Same returns, or -errno. */
int vg_ml_bundle_load(const char *path, struct vg_ml_bundle **out, char *err, size_t errlen);
/* Writes the bundle's deterministic text form (the same bytes for the same models). Returns 0 or VG_ENOMEM. */
int vg_ml_bundle_save(const struct vg_ml_bundle *b, struct vg_buf *out);
void vg_ml_bundle_free(struct vg_ml_bundle *b); /* accepts NULL */
/* 1 when the bundle holds models for platform p. */
int vg_ml_bundle_has(const struct vg_ml_bundle *b, enum vg_ml_platform p);

/* Scores already extracted features. A platform the bundle lacks scores 0 and is clean. */
void vg_ml_score_features(const struct vg_ml_bundle *b, const struct vg_ml_features *f, struct vg_ml_verdict *out);
/*
 * Scores a signal: vg_ml_features_extract, then the platform's models and the
 * ensemble, the decision and the threat name. rules may be NULL.
 */
void vg_ml_score(const struct vg_ml_bundle *b, const struct vg_json_doc *signal, const struct vg_ml_cloud_facts *facts,
		 const struct vg_ruleset *rules, struct vg_ml_verdict *out);

/*
 * Appends the verdict's scores as a JSON object keyed by model, for the
 * verdict's "scores" member: {"ml_trees":0.0123,"ml_linear":...,
 * "ml_prevalence":...,"ml_ensemble":...} (4 decimals).
 */
void vg_ml_scores_json(const struct vg_ml_verdict *v, struct vg_buf *out);

/* ---- training (src/ml/train.c) ---- */

/* One labelled corpus row, features already extracted. */
struct vg_ml_example {
	struct vg_ml_features f;
	int label;           /* 1 malicious, 0 benign */
	uint32_t group;      /* index of the row's group (held-out unit) */
	uint32_t family;     /* index of the malicious family (1...), 0 for benign rows */
	uint32_t kind;       /* benign rows: index of the kind of recording (1...; split stratum), 0 unknown */
};

struct vg_ml_train_params {
	uint64_t seed;          /* split, SGD order, trees */
	double holdout;         /* share of groups per class and platform held out for the metrics (0.25) */
	double validation;      /* share of the remaining groups for stacking and thresholds (0.2) */
	double block_fpr;       /* benign share of the validation fold allowed at or above the block threshold (0.001) */
	double suspicious_fpr;  /* same for the suspicious band (0.01) */
	int trees, depth;       /* gradient-boosted trees (100, 4) */
	int linear_epochs;      /* SGD passes (8) */
	int bootstrap;          /* bootstrap resamples of held-out groups for the intervals (1000) */
	char corpus_sha256[65]; /* recorded in the bundle */
	uint32_t holdout_family; /* 0: the usual split; else hold out every group of this family (and only
	                            those malicious groups), plus the usual share of benign groups */
};
void vg_ml_train_params_default(struct vg_ml_train_params *p);

/* The held-out evaluation of one platform, also written into the bundle. */
struct vg_ml_metrics {
	uint32_t train_rows[2], validation_rows[2], heldout_rows[2]; /* [benign, malicious] */
	uint32_t train_groups[2], validation_groups[2], heldout_groups[2];
	/* value, 95% bootstrap interval low, high (NaN when a class is missing from the held-out part) */
	double auc[3], dr_1pct[3], dr_01pct[3];
	double auc_trees, auc_linear, auc_prevalence; /* point values per model */
	double heldout_block_rate[2];  /* share of held-out [benign, malicious] at or above the block threshold */
};

/*
 * Trains one platform's models on ex[0..n) (rows of that platform; groups
 * numbered 0..ngroups), evaluates them on the held-out groups and adds them to
 * *bundle (created when NULL). metrics may be NULL. Deterministic: the same
 * rows, order and params give the same bytes from vg_ml_bundle_save.
 * Returns 0, VG_EINVAL (no row of a class) with err, or VG_ENOMEM.
 */
int vg_ml_train_platform(struct vg_ml_bundle **bundle, enum vg_ml_platform p, const struct vg_ml_example *ex, size_t n,
			 uint32_t ngroups, const struct vg_ml_train_params *params, struct vg_ml_metrics *metrics,
			 char *err, size_t errlen);
enum vg_ml_part { VG_ML_PART_TRAIN = 0, VG_ML_PART_VALIDATION, VG_ML_PART_HELDOUT };
/*
 * The split vg_ml_train_platform uses: part[g] (enum vg_ml_part) for every
 * group g < ngroups. A group is malicious when any of its rows is. Per class
 * and stratum (malicious: family; benign: kind; strata of one group pooled),
 * groups are ordered by a seeded hash and the first ceil(holdout * n) are held
 * out, then ceil(validation * rest) are the validation fold. Returns 0 or VG_ENOMEM.
 */
int vg_ml_split_groups(const struct vg_ml_example *ex, size_t n, uint32_t ngroups, const struct vg_ml_train_params *p,
		       uint8_t *part);
/* A leave-one-family-out evaluation stored in the bundle (vigil train runs one per family with 5+ groups). */
struct vg_ml_family_metrics {
	char name[48];        /* [A-Za-z0-9._-] */
	struct vg_ml_metrics m;
};
/* Adds a family's held-out metrics to platform p's models (which must exist). Returns 0, VG_EINVAL or VG_ENOMEM. */
int vg_ml_bundle_add_family(struct vg_ml_bundle *b, enum vg_ml_platform p, const char *name,
			    const struct vg_ml_metrics *m);
/* The leave-one-family-out metrics of platform p: *n of them (NULL when none). */
const struct vg_ml_family_metrics *vg_ml_bundle_families(const struct vg_ml_bundle *b, enum vg_ml_platform p, size_t *n);

/* The metrics stored in a bundle for platform p, or NULL. */
const struct vg_ml_metrics *vg_ml_bundle_metrics(const struct vg_ml_bundle *b, enum vg_ml_platform p);

#endif /* VIGIL_ML_H */
