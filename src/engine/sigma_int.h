/* sigma_int.h - internals of the Sigma engine shared by its files: arena, YAML tree, compiled rules, logsource classes, prefilter. */
#ifndef VIGIL_SIGMA_INT_H
#define VIGIL_SIGMA_INT_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "vigil/sigma.h"
#include "engine/sigma_ext.h"

/* ------------------------------------------------------------------ */
/* Arena: bump allocation in chunks, freed all at once; can roll back. */

struct sg_chunk {
	struct sg_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct sg_arena {
	struct sg_chunk *head; /* newest chunk first */
	size_t total;          /* bytes handed out, for limits */
};

struct sg_mark {
	struct sg_chunk *head;
	size_t used, total;
};

/* Returns n zeroed bytes aligned to 16, or NULL on OOM. */
void *vg_sigma_alloc(struct sg_arena *a, size_t n);
/* Copies n bytes of s NUL-terminated into the arena. NULL on OOM. */
char *vg_sigma_strndup(struct sg_arena *a, const char *s, size_t n);
struct sg_mark vg_sigma_arena_mark(const struct sg_arena *a);
/* Frees everything allocated after m. */
void vg_sigma_arena_rollback(struct sg_arena *a, struct sg_mark m);
void vg_sigma_arena_free(struct sg_arena *a);

/* ------------------------------------------------------------------ */
/* YAML tree (sigma_yaml.c): libyaml events turned into nodes with line numbers. */

enum sy_kind { SY_SCALAR = 0, SY_SEQ, SY_MAP };

struct sy_node {
	uint8_t kind;       /* enum sy_kind */
	uint8_t plain;      /* scalar written without quotes (so null/bool/number resolve) */
	uint8_t str_tag;    /* explicit !!str (or other non-core) tag: never null/bool/number */
	unsigned line, col; /* 1-based position of the node's start */
	const char *s;      /* scalar text, NUL-terminated (may contain NULs within len) */
	size_t len;
	struct sy_node **keys; /* map keys (scalars), or sequence items */
	struct sy_node **vals; /* map values; NULL for sequences */
	size_t n;
};

/* Called once per YAML document with its root (NULL for an empty document). */
typedef int (*sy_doc_fn)(struct sy_node *root, unsigned line, void *ctx);

/*
 * Parses every document of text and calls fn for each, building nodes in a
 * (which the caller frees). On malformed YAML returns VG_EPARSE and fills
 * *err_line and err (reason text); documents before the error were already
 * delivered. A nonzero return from fn stops parsing and is returned.
 */
int vg_sigma_yaml_parse(struct sg_arena *a, const char *text, size_t len, sy_doc_fn fn, void *ctx,
			unsigned *err_line, char *err, size_t errlen);

/* Map lookup by key (exact, last duplicate wins like PyYAML). NULL if absent. */
struct sy_node *vg_sigma_yaml_get(const struct sy_node *map, const char *key);
/* Scalar resolution (YAML core schema): */
int vg_sigma_yaml_is_null(const struct sy_node *n);  /* null node, "~", "null", "" (plain) */
int vg_sigma_yaml_bool(const struct sy_node *n);     /* 1 true, 0 false, -1 not a bool */
int vg_sigma_yaml_is_int(const struct sy_node *n);   /* plain decimal/hex/octal integer */
int vg_sigma_yaml_is_num(const struct sy_node *n);   /* plain integer or float */
/* Deep merge for Sigma v1 collections: maps merge recursively, anything else is replaced. */
struct sy_node *vg_sigma_yaml_merge(struct sg_arena *a, const struct sy_node *base,
				    const struct sy_node *over);

/* ------------------------------------------------------------------ */
/* Text helpers (sigma_value.c). */

/* Simple case fold: ASCII plus length-preserving 2-byte UTF-8 letters (Latin-1, Latin Ext-A, Greek, Cyrillic, Armenian). */
void vg_sigma_fold(char *dst, const char *src, size_t n);

/* A Sigma string being built: bytes plus a kind per byte (literal or wildcard). */
enum { SK_LIT = 0, SK_STAR = 1, SK_ONE = 2 };
struct sg_str {
	uint8_t *b; /* bytes (wildcard positions hold '*' or '?') */
	uint8_t *k; /* SK_* per byte */
	size_t n, cap;
};

int vg_sigma_str_push(struct sg_str *s, uint8_t byte, uint8_t kind);
void vg_sigma_str_free(struct sg_str *s);
/* Parses Sigma escapes (\* \? \\) and wildcards in raw text. 0 or VG_ENOMEM. */
int vg_sigma_str_parse(struct sg_str *out, const char *raw, size_t n);
/* Literal copy (no wildcard interpretation). */
int vg_sigma_str_literal(struct sg_str *out, const char *raw, size_t n);
int vg_sigma_str_has_wild(const struct sg_str *s);

/* Value transformations; each maps one string to out[] (caller frees each). Return count or <0. */
#define SG_MAX_EXPANSION 4096
int vg_sigma_windash(const struct sg_str *in, struct sg_str **out);
int vg_sigma_base64(const struct sg_str *in, int offsets, struct sg_str **out);
int vg_sigma_utf16(const struct sg_str *in, int variant, struct sg_str **out); /* 0 le, 1 be, 2 bom+le */

/* Numbers: parses decimal (sign, fraction) or 0x hex. 0 ok, -1 not a number. */
int vg_sigma_parse_num(const char *s, size_t n, double *d, int64_t *i, int *is_int);
/* IP addresses: fam 4 or 6, 16 bytes (v4 in the first 4). 0 ok, -1 invalid. */
int vg_sigma_parse_ip(const char *s, size_t n, int *fam, uint8_t addr[16]);
int vg_sigma_parse_cidr(const char *s, size_t n, int *fam, uint8_t addr[16], int *bits);

/* ------------------------------------------------------------------ */
/* Compiled detection. */

enum sg_vkind {
	VK_EQ = 0,   /* whole value equals pat */
	VK_PREFIX,   /* value starts with pat */
	VK_SUFFIX,   /* value ends with pat */
	VK_CONTAINS, /* pat occurs in value */
	VK_GLOB,     /* general wildcard pattern (glob[]) */
	VK_RE,       /* PCRE2 */
	VK_NUM,      /* numeric comparison (numop, num) */
	VK_CIDR,     /* address in network */
	VK_NULL,     /* field missing or empty */
	VK_EXISTS,   /* field present (num != 0) or absent (num == 0) */
	VK_FIELDREF, /* compare with another field's value (ref_kind: EQ/PREFIX/SUFFIX/CONTAINS) */
	VK_TIME,     /* part of a timestamp compared numerically */
};

enum sg_numop { NUM_EQ = 0, NUM_LT, NUM_LTE, NUM_GT, NUM_GTE };
enum sg_timepart { TP_MINUTE = 0, TP_HOUR, TP_DAY, TP_WEEK, TP_MONTH, TP_YEAR };

/* Glob token: a literal byte, '?' (one UTF-8 character) or '*'. */
struct sg_glob {
	const uint8_t *b;
	const uint8_t *k;
	uint32_t n;
};

struct sg_value {
	uint8_t kind;      /* enum sg_vkind */
	uint8_t cased;     /* compare case-sensitively (pat not folded) */
	uint8_t numop;     /* enum sg_numop (VK_NUM, VK_TIME) */
	uint8_t timepart;  /* enum sg_timepart */
	uint8_t int_lit;   /* plain YAML integer: numeric equality also accepted */
	uint8_t ref_kind;  /* VK_FIELDREF: VK_EQ, VK_PREFIX, VK_SUFFIX or VK_CONTAINS */
	uint8_t cidr_fam;  /* 4 or 6 */
	uint8_t cidr_bits;
	uint8_t re_caseless; /* VK_RE compiled with PCRE2_CASELESS */
	uint8_t re_need_byte; /* VK_RE: every match contains re_need_n copies of this ASCII byte */
	uint32_t re_need_n;   /* 0: no such count known (see re_need in sigma_prefilter.c) */
	uint8_t re_need_line; /* ...within one line ('.' stops at LF, the only newline) */
	uint8_t re_seq_ok;    /* VK_RE decided by re_seq without PCRE2 on ASCII values (see re_need) */
	const char *re_seq;   /* literal bytes; 1 = ".*", 2 = ".+" */
	uint32_t re_seq_len;
	uint32_t len;      /* pat length */
	const char *pat;   /* folded unless cased; VK_GLOB: the glob's bytes; VK_RE: the pattern as written */
	struct sg_glob glob;
	pcre2_code *re;
	double num;
	int64_t inum;
	uint8_t num_is_int;
	uint32_t ref_field;
	uint8_t cidr[16];
};

/* One field test: field id (0 = keyword search over all raw fields) and its values. */
struct sg_matcher {
	uint32_t field;
	uint8_t all;        /* values are ANDed (|all) */
	uint8_t neq;        /* result is negated per occurrence set (|neq) */
	uint32_t nvalues;
	struct sg_value *values;
	uint32_t cost;
	unsigned line;
};

/* AND of matchers. */
struct sg_group {
	struct sg_matcher *m;
	uint32_t n;
	uint32_t cost;
};

/* A search identifier: OR of groups. */
struct sg_sel {
	const char *name;
	struct sg_group *g;
	uint32_t n;
	uint32_t cost;
};

enum sg_op { OP_SEL = 0, OP_AND, OP_OR, OP_NOT, OP_NOF, OP_CONST };

/* Condition AST. OP_NOF: at least k of kids (each an OP_SEL). OP_CONST: k is the value. */
struct sg_cond {
	uint8_t op;
	uint32_t sel;     /* OP_SEL */
	uint32_t k;       /* OP_NOF threshold, OP_CONST value */
	uint32_t n;
	struct sg_cond **kids;
	uint32_t cost;
};

/* Parses a condition string against the rule's search identifiers. */
int vg_sigma_cond_parse(struct sg_arena *a, const char *text, size_t len,
			const struct sg_sel *sels, uint32_t nsels, struct sg_cond **out,
			char *err, size_t errlen);

struct sg_related {
	const char *id;
	const char *type;
};

/* A compiled rule; pub is what the public API hands out. */
struct sg_rule {
	struct vg_rule pub;
	const char *name;
	const char *definition;
	const char *date, *modified;
	const char **falsepositives;
	size_t nfalsepositives;
	const char **fields;
	size_t nfields;
	const char **references;
	size_t nreferences;
	struct sg_related *related;
	size_t nrelated;
	struct sg_sel *sels;
	uint32_t nsels;
	struct sg_cond *cond;
	uint32_t index;            /* load order */
	int16_t ls_product, ls_category, ls_service; /* LS_ANY, LS_NEVER or a logsource name id */
	uint8_t always;            /* prefilter cannot exclude it */
	uint8_t corr_ref, corr_gen; /* referenced by a linked correlation; by one with generate: true */
	uint32_t nanchors;         /* prefilter anchors (field, literal) */
	struct sg_anchor *anchors;
	const char *vigil_action;  /* project rules' vigil: {action: ...}, or NULL */
	int8_t vigil_cloud;        /* vigil: {cloud: ...}: 1, 0, or -1 when absent */
};

/* A literal the rule cannot match without: lit (folded) must occur in field (0 = any raw field). */
struct sg_anchor {
	uint32_t field;
	uint32_t len;
	const char *lit;
};

/* Compile a YAML document; adds a rule or correlation to rs or reports an error. */
struct sg_load {
	struct vg_ruleset *rs;
	const char *file;
	vg_rule_error_fn on_error;
	void *ctx;
	int loaded;
	struct sg_arena *tree;           /* the file's YAML nodes */
	struct sy_node *global;          /* Sigma v1 collection: action: global */
	struct sy_node *previous;        /* last rule document (for action: repeat) */
};
int vg_sigma_compile_doc(struct sg_load *ld, struct sy_node *root, unsigned line);
void vg_sigma_report(struct sg_load *ld, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* Logsources (sigma_logsource.c). */

#define LS_ANY   (-1) /* the rule does not restrict this key */
#define LS_NEVER (-2) /* a name no Vigil event carries */

/* Returns the id of a logsource name (product, category or service), or LS_NEVER. */
int vg_sigma_ls_id(const char *name);
const char *vg_sigma_ls_name(int id);

/* An event class: the logsource an event belongs to. Categories and services may be two. */
struct sg_class {
	int16_t product;   /* LS id or LS_NEVER */
	int16_t cat[2];    /* LS_NEVER when unused */
	int16_t svc[2];
};

/* Number of classes, class i, and the class of an event. */
size_t vg_sigma_class_count(void);
const struct sg_class *vg_sigma_class(size_t i);
size_t vg_sigma_event_class(const struct vg_event *ev);
/* Does a rule with these logsource ids apply to class c? */
int vg_sigma_class_accepts(const struct sg_class *c, int product, int category, int service);

/* ------------------------------------------------------------------ */
/* Prefilter (sigma_prefilter.c): literals per field, scanned once per event. */

struct sg_prefilter;
struct sg_scratch;

/* Builds the prefilter over the rules' anchors. NULL means no prefilter (every rule is tested). */
struct sg_prefilter *vg_sigma_prefilter_build(struct sg_rule **rules, size_t nrules);
void vg_sigma_prefilter_free(struct sg_prefilter *pf);
/*
 * Marks cand[rule index] = stamp and appends the index to sc->cands for every
 * rule whose anchor occurs in the event (sc prepared for it). Only fields that
 * rules of event class cls anchor on are scanned, and keyword anchors only
 * when kw is set.
 */
void vg_sigma_prefilter_scan(const struct sg_prefilter *pf, struct sg_scratch *sc, uint32_t stamp,
			     size_t cls, int kw);
/* Records that rules of class cls anchor on field (for the scan above). */
void vg_sigma_prefilter_use(struct sg_prefilter *pf, uint32_t field, size_t cls);
/* Number of hash slots: the size sc->slot_seen needs. */
uint32_t vg_sigma_prefilter_slots(const struct sg_prefilter *pf);
/* Number of distinct anchors: the size sc->pat_seen needs. */
uint32_t vg_sigma_prefilter_patterns(const struct sg_prefilter *pf);
/* Computes rule->anchors (and rule->always) from the compiled condition. */
int vg_sigma_rule_anchors(struct sg_arena *a, struct sg_rule *r);

/* ------------------------------------------------------------------ */
/* Matching (sigma_match.c). */

/* Per-thread working memory for one vg_ruleset_match call. */
struct sg_scratch {
	const struct vg_event *ev;
	/* field id -> first field index, valid when stamp[id] == gen */
	uint32_t *first, *stamp;
	uint32_t ids_cap;
	uint32_t gen;
	/* field index -> next index with the same id (UINT32_MAX ends) */
	uint32_t *next;
	uint32_t *low_off;   /* offset of the folded value in low */
	uint8_t *kw;         /* field takes part in keyword search */
	uint8_t *folded;     /* low holds the folded value yet (folding is lazy) */
	uint32_t fields_cap;
	char *low;           /* folded copies of all values */
	size_t low_cap;
	/* prefilter marks: cand[rule] == cand_stamp means "may match" */
	uint32_t *cand;
	size_t cand_cap;
	uint32_t cand_stamp;
	uint32_t *pat_seen;  /* prefilter: pattern id -> stamp */
	size_t pat_cap;
	uint32_t *slot_seen; /* prefilter: hash slot fully resolved -> stamp */
	size_t slot_cap;
	uint32_t *cands;     /* rules the prefilter marked, in marking order */
	size_t ncands, cands_cap;
	/* selection memo for one rule: 0 unknown, 1 false, 2 true */
	uint8_t *memo;
	size_t memo_cap;
	pcre2_match_data *md;
	int busy;
};

/* Evaluates one rule against the prepared scratch. 1 match, 0 no match. */
int vg_sigma_rule_eval(const struct sg_rule *r, struct sg_scratch *sc);
/* Prepares sc for ev (field index, room for folded values) and sizes its arrays. 0 or VG_ENOMEM. */
int vg_sigma_scratch_prepare(struct sg_scratch *sc, const struct vg_event *ev, uint32_t max_field,
			     size_t nrules, uint32_t max_sels, uint32_t npatterns, uint32_t nslots);

/* The folded (case-insensitive) text of field i of the prepared event, folded on first use. */
static inline const char *vg_sigma_low(struct sg_scratch *sc, uint32_t i)
{
	if (!sc->folded[i]) {
		const struct vg_field *f = &sc->ev->fields[i];
		if (f->len)
			vg_sigma_fold(sc->low + sc->low_off[i], f->value, f->len);
		sc->low[sc->low_off[i] + f->len] = '\0';
		sc->folded[i] = 1;
	}
	return sc->low + sc->low_off[i];
}
struct sg_scratch *vg_sigma_scratch_get(void);
void vg_sigma_scratch_put(struct sg_scratch *sc);

/* ------------------------------------------------------------------ */
/* The ruleset. */

struct sg_placeholder {
	char *name;
	char **values;
	size_t n;
};

struct vg_ruleset {
	struct sg_arena arena;         /* all rule data */
	struct sg_rule **rules;
	size_t nrules, rules_cap;
	struct vg_sigma_correlation **corrs;
	size_t ncorrs, corrs_cap;
	pcre2_code **res;              /* every compiled regex, freed with the set */
	size_t nres, res_cap;
	struct sg_placeholder *ph;
	size_t nph;
	struct vg_sigma_stats stats;
	/* index: per event class, the rule indexes that apply, ascending */
	uint32_t **class_rules;
	uint32_t *class_n;
	uint32_t **class_always;       /* per class, the rules the prefilter cannot exclude */
	uint32_t *class_nalways;
	uint8_t *class_kw;             /* per class, some anchored rule has keyword anchors */
	size_t nclasses;
	uint32_t max_field;            /* largest field id a rule tests */
	uint32_t max_sels;             /* largest number of search identifiers in a rule */
	int dirty;                     /* rules changed since the index was built */
	int use_prefilter;
	struct sg_prefilter *pf;
	int no_field_check;            /* dead-rule check off (sigma_fields.c) */
};

/* Links correlations to the rules they name (sigma_corr.c); report: unresolved ones go to on_error and are dropped. Returns the number dropped. */
size_t vg_sigma_link(struct vg_ruleset *rs, vg_rule_error_fn on_error, void *ctx, int report);
/* The category string of every correlation's rule (identifies it by address). */
extern const char vg_sigma_corr_category[];

/* Registers a compiled regex for freeing with the set. 0 or VG_ENOMEM. */
int vg_sigma_ruleset_add_re(struct vg_ruleset *rs, pcre2_code *re);
/* Rebuilds the logsource index and prefilter. 0 or VG_ENOMEM. */
int vg_sigma_ruleset_index(struct vg_ruleset *rs);

/* ------------------------------------------------------------------ */
/* Field schema per logsource (sigma_fields.c). */

/* 1 when the rule's condition can never be true because it needs fields its logsource never
 * produces; why gets "field X is never produced for logsource Y", *line that field's test (0 if none).
 * 0 otherwise (or open logsource). */
int vg_sigma_rule_dead(const struct sg_rule *r, char *why, size_t whylen, unsigned *line);
/* 1 produced, 0 never produced, -1 the logsource is open (no schema). */
int vg_sigma_field_produced(const char *product, const char *category, const char *service, const char *field);

#endif /* VIGIL_SIGMA_INT_H */
