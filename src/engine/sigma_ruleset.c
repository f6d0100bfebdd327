/* sigma_ruleset.c - the ruleset: memory, loading files/folders/text, the logsource index, placeholders and accessors. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/sigma_int.h"

#define MAX_FILE_SIZE (64u << 20)
#define MAX_DIR_DEPTH 32

/* ---- arena ---- */

#define CHUNK_MIN (64u << 10)

void *vg_sigma_alloc(struct sg_arena *a, size_t n)
{
	struct sg_chunk *c = a->head;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	a->total += n;
	memset(p, 0, n);
	return p;
}

char *vg_sigma_strndup(struct sg_arena *a, const char *s, size_t n)
{
	char *d = vg_sigma_alloc(a, n + 1);

	if (d && n)
		memcpy(d, s, n);
	return d;
}

struct sg_mark vg_sigma_arena_mark(const struct sg_arena *a)
{
	struct sg_mark m = { a->head, a->head ? a->head->used : 0, a->total };
	return m;
}

void vg_sigma_arena_rollback(struct sg_arena *a, struct sg_mark m)
{
	while (a->head && a->head != m.head) {
		struct sg_chunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	if (a->head)
		a->head->used = m.used;
	a->total = m.total;
}

void vg_sigma_arena_free(struct sg_arena *a)
{
	while (a->head) {
		struct sg_chunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->total = 0;
}

/* ---- ruleset ---- */

/* Index state lives outside struct vg_ruleset's plain fields so matching threads can build it once. */
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;

int vg_ruleset_new(struct vg_ruleset **out)
{
	struct vg_ruleset *rs = calloc(1, sizeof(*rs));

	*out = NULL;
	if (!rs)
		return VG_ENOMEM;
	rs->use_prefilter = 1;
	rs->dirty = 1;
	*out = rs;
	return 0;
}

static void free_index(struct vg_ruleset *rs)
{
	for (size_t i = 0; i < rs->nclasses; i++) {
		if (rs->class_rules)
			free(rs->class_rules[i]);
		if (rs->class_always)
			free(rs->class_always[i]);
	}
	free(rs->class_rules);
	free(rs->class_n);
	free(rs->class_always);
	free(rs->class_nalways);
	free(rs->class_kw);
	rs->class_rules = rs->class_always = NULL;
	rs->class_n = rs->class_nalways = NULL;
	rs->class_kw = NULL;
	rs->nclasses = 0;
	vg_sigma_prefilter_free(rs->pf);
	rs->pf = NULL;
}

void vg_ruleset_free(struct vg_ruleset *rs)
{
	if (!rs)
		return;
	free_index(rs);
	for (size_t i = 0; i < rs->nres; i++)
		pcre2_code_free(rs->res[i]);
	free(rs->res);
	for (size_t i = 0; i < rs->nph; i++) {
		free(rs->ph[i].name);
		for (size_t k = 0; k < rs->ph[i].n; k++)
			free(rs->ph[i].values[k]);
		free(rs->ph[i].values);
	}
	free(rs->ph);
	free(rs->rules);
	free(rs->corrs);
	vg_sigma_arena_free(&rs->arena);
	free(rs);
}

int vg_sigma_ruleset_add_re(struct vg_ruleset *rs, pcre2_code *re)
{
	if (rs->nres == rs->res_cap) {
		size_t cap = rs->res_cap ? rs->res_cap * 2 : 64;
		pcre2_code **n = realloc(rs->res, cap * sizeof(*n));
		if (!n)
			return VG_ENOMEM;
		rs->res = n;
		rs->res_cap = cap;
	}
	rs->res[rs->nres++] = re;
	return 0;
}

int vg_sigma_ruleset_index(struct vg_ruleset *rs)
{
	size_t nc = vg_sigma_class_count();

	free_index(rs);
	rs->class_rules = calloc(nc, sizeof(*rs->class_rules));
	rs->class_n = calloc(nc, sizeof(*rs->class_n));
	rs->class_always = calloc(nc, sizeof(*rs->class_always));
	rs->class_nalways = calloc(nc, sizeof(*rs->class_nalways));
	rs->class_kw = calloc(nc, 1);
	if (!rs->class_rules || !rs->class_n || !rs->class_always || !rs->class_nalways || !rs->class_kw)
		goto oom;
	rs->nclasses = nc;
	if (rs->use_prefilter && rs->nrules)
		rs->pf = vg_sigma_prefilter_build(rs->rules, rs->nrules); /* NULL: every rule is tested */
	for (size_t i = 0; i < nc; i++) {
		const struct sg_class *cl = vg_sigma_class(i);
		uint32_t n = 0;
		for (size_t r = 0; r < rs->nrules; r++) {
			const struct sg_rule *ru = rs->rules[r];
			n += (uint32_t)vg_sigma_class_accepts(cl, ru->ls_product, ru->ls_category, ru->ls_service);
		}
		rs->class_rules[i] = malloc((n ? n : 1) * sizeof(uint32_t));
		rs->class_always[i] = malloc((n ? n : 1) * sizeof(uint32_t));
		if (!rs->class_rules[i] || !rs->class_always[i])
			goto oom;
		for (size_t r = 0; r < rs->nrules; r++) {
			const struct sg_rule *ru = rs->rules[r];
			if (!vg_sigma_class_accepts(cl, ru->ls_product, ru->ls_category, ru->ls_service))
				continue;
			rs->class_rules[i][rs->class_n[i]++] = (uint32_t)r;
			if (ru->always) {
				rs->class_always[i][rs->class_nalways[i]++] = (uint32_t)r;
				continue;
			}
			for (uint32_t k = 0; k < ru->nanchors; k++) {
				uint32_t f = ru->anchors[k].field;
				if (f == 0)
					rs->class_kw[i] = 1;
				else if (rs->pf)
					vg_sigma_prefilter_use(rs->pf, f, i);
			}
		}
	}
	return 0;
oom:
	free_index(rs);
	return VG_ENOMEM;
}

/* Builds the index once after loads; safe when several matching threads arrive together. */
static int ensure_index(const struct vg_ruleset *crs)
{
	struct vg_ruleset *rs = (struct vg_ruleset *)crs;
	int rc = 0;

	if (!__atomic_load_n(&rs->dirty, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&index_lock);
	if (rs->dirty) {
		rc = vg_sigma_ruleset_index(rs);
		if (!rc)
			__atomic_store_n(&rs->dirty, 0, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&index_lock);
	return rc;
}

void vg_ruleset_set_prefilter(struct vg_ruleset *rs, int on)
{
	rs->use_prefilter = on ? 1 : 0;
	rs->dirty = 1;
}

/* ---- loading ---- */

static int on_doc(struct sy_node *root, unsigned line, void *ctx)
{
	struct sg_load *ld = ctx;
	int rc = vg_sigma_compile_doc(ld, root, line);
	return rc == VG_ENOMEM ? rc : 0;
}

int vg_ruleset_load_text(struct vg_ruleset *rs, const char *name, const char *text, size_t len,
			 vg_rule_error_fn on_error, void *ctx)
{
	struct sg_arena tree = { 0 };
	struct sg_load ld = {
		.rs = rs, .file = name ? name : "<text>", .on_error = on_error, .ctx = ctx, .tree = &tree,
	};
	unsigned line;
	char err[256];
	int rc;

	if (!rs || (!text && len))
		return VG_EINVAL;
	rs->stats.files++;
	rc = vg_sigma_yaml_parse(&tree, text ? text : "", len, on_doc, &ld, &line, err, sizeof(err));
	vg_sigma_arena_free(&tree);
	rs->dirty = 1;
	if (rc == VG_ENOMEM)
		return VG_ENOMEM;
	if (rc)
		vg_sigma_report(&ld, line, "%s", err[0] ? err : "malformed YAML");
	vg_sigma_link(rs, NULL, NULL, 0); /* resolves what it can; vg_ruleset_link reports the rest */
	return ld.loaded;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			if (cap > MAX_FILE_SIZE + 65536) {
				free(buf);
				fclose(f);
				return VG_ELIMIT;
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return VG_ENOMEM;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int has_yaml_ext(const char *name)
{
	size_t n = strlen(name);
	/* *.example.yml(.yaml) are commented examples (placeholders), not rules */
	if (vg_ends_with_ci(name, n, ".example.yml") || vg_ends_with_ci(name, n, ".example.yaml"))
		return 0;
	return vg_ends_with_ci(name, n, ".yml") || vg_ends_with_ci(name, n, ".yaml");
}

struct walk {
	struct vg_ruleset *rs;
	vg_rule_error_fn on_error;
	void *ctx;
	int loaded;
};

static void report_path(struct walk *w, const char *path, const char *what, int err)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "%s: %s", what, vg_strerror(err));
	w->rs->stats.failed++;
	if (w->on_error)
		w->on_error(path, 0, msg, w->ctx);
}

static int load_file(struct walk *w, const char *path)
{
	char *text;
	size_t len;
	int rc = read_file(path, &text, &len);

	if (rc) {
		report_path(w, path, "cannot read file", rc);
		return rc;
	}
	rc = vg_ruleset_load_text(w->rs, path, text, len, w->on_error, w->ctx);
	free(text);
	if (rc < 0)
		return rc;
	w->loaded += rc;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk *w, const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (depth > MAX_DIR_DEPTH) {
		report_path(w, path, "folder nesting too deep", VG_ELIMIT);
		return 0;
	}
	if (!(d = opendir(path))) {
		report_path(w, path, "cannot open folder", -errno);
		return 0;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* hidden files, ".", ".." */
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				rc = VG_ENOMEM;
				break;
			}
			names = nn;
		}
		if (!(names[n] = vg_strdup(e->d_name))) {
			rc = VG_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!rc)
		qsort(names, n, sizeof(*names), cmp_name); /* deterministic load order */
	for (size_t i = 0; i < n && !rc; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *sub = malloc(len);
		struct stat st;
		if (!sub) {
			rc = VG_ENOMEM;
			break;
		}
		snprintf(sub, len, "%s/%s", path, names[i]);
		if (lstat(sub, &st) == 0 && S_ISLNK(st.st_mode) && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* symlinked folders are skipped: they can loop */
		} else if (stat(sub, &st) != 0) {
			report_path(w, sub, "cannot stat", -errno);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, sub, depth + 1);
		} else if (S_ISREG(st.st_mode) && has_yaml_ext(names[i])) {
			int frc = load_file(w, sub);
			if (frc == VG_ENOMEM)
				rc = frc;
		}
		free(sub);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int vg_ruleset_load_path(struct vg_ruleset *rs, const char *path, vg_rule_error_fn on_error, void *ctx)
{
	struct walk w = { rs, on_error, ctx, 0 };
	struct stat st;
	int rc;

	if (!rs || !path)
		return VG_EINVAL;
	if (stat(path, &st) != 0)
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		rc = walk_dir(&w, path, 0);
	} else {
		char *text;
		size_t len;
		rc = read_file(path, &text, &len);
		if (rc)
			return rc;
		rc = vg_ruleset_load_text(rs, path, text, len, on_error, ctx);
		free(text);
		return rc;
	}
	return rc < 0 ? rc : w.loaded;
}

/* ---- accessors ---- */

size_t vg_ruleset_count(const struct vg_ruleset *rs)
{
	return rs ? rs->nrules : 0;
}

const struct vg_rule *vg_ruleset_rule(const struct vg_ruleset *rs, size_t i)
{
	return rs && i < rs->nrules ? &rs->rules[i]->pub : NULL;
}

void vg_ruleset_stats(const struct vg_ruleset *rs, struct vg_sigma_stats *out)
{
	*out = rs->stats;
}

size_t vg_ruleset_correlation_count(const struct vg_ruleset *rs)
{
	return rs ? rs->ncorrs : 0;
}

const struct vg_sigma_correlation *vg_ruleset_correlation(const struct vg_ruleset *rs, size_t i)
{
	return rs && i < rs->ncorrs ? rs->corrs[i] : NULL;
}

static const struct sg_rule *internal(const struct vg_rule *r)
{
	/* a correlation's rule lives inside its vg_sigma_correlation, not in an sg_rule: it has none of these */
	static const struct sg_rule none;
	if (r->category == vg_sigma_corr_category)
		return &none;
	return (const struct sg_rule *)r; /* pub is the first member */
}

const char *vg_rule_name(const struct vg_rule *r)
{
	return internal(r)->name;
}

size_t vg_rule_falsepositives(const struct vg_rule *r, const char *const **out)
{
	*out = internal(r)->falsepositives;
	return internal(r)->nfalsepositives;
}

size_t vg_rule_fields(const struct vg_rule *r, const char *const **out)
{
	*out = internal(r)->fields;
	return internal(r)->nfields;
}

size_t vg_rule_references(const struct vg_rule *r, const char *const **out)
{
	*out = internal(r)->references;
	return internal(r)->nreferences;
}

size_t vg_rule_related_count(const struct vg_rule *r)
{
	return internal(r)->nrelated;
}

int vg_rule_related(const struct vg_rule *r, size_t i, const char **id, const char **type)
{
	const struct sg_rule *x = internal(r);
	if (i >= x->nrelated)
		return VG_EINVAL;
	*id = x->related[i].id;
	*type = x->related[i].type;
	return 0;
}

const char *vg_rule_logsource_definition(const struct vg_rule *r)
{
	return internal(r)->definition;
}

int vg_ruleset_set_placeholder(struct vg_ruleset *rs, const char *name, const char *const *values, size_t n)
{
	struct sg_placeholder ph = { 0 };

	if (!rs || !name || !*name || (n && !values))
		return VG_EINVAL;
	if (!(ph.name = vg_strdup(name)) || !(ph.values = calloc(n ? n : 1, sizeof(char *))))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (!values[i] || !(ph.values[i] = vg_strdup(values[i])))
			goto oom;
		ph.n++;
	}
	for (size_t i = 0; i < rs->nph; i++) {
		if (strcmp(rs->ph[i].name, name) == 0) {
			for (size_t k = 0; k < rs->ph[i].n; k++)
				free(rs->ph[i].values[k]);
			free(rs->ph[i].values);
			free(rs->ph[i].name);
			rs->ph[i] = ph;
			return 0;
		}
	}
	struct sg_placeholder *np = realloc(rs->ph, (rs->nph + 1) * sizeof(*np));
	if (!np)
		goto oom;
	rs->ph = np;
	rs->ph[rs->nph++] = ph;
	return 0;
oom:
	for (size_t k = 0; k < ph.n; k++)
		free(ph.values[k]);
	free(ph.values);
	free(ph.name);
	return VG_ENOMEM;
}

/* ---- levels ---- */

static const char *const level_names[] = { "unknown", "informational", "low", "medium", "high", "critical" };

const char *vg_level_name(enum vg_level l)
{
	return (unsigned)l < sizeof(level_names) / sizeof(*level_names) ? level_names[l] : "unknown";
}

enum vg_level vg_level_from_name(const char *s)
{
	if (!s)
		return VG_LEVEL_UNKNOWN;
	for (int i = 1; i < (int)(sizeof(level_names) / sizeof(*level_names)); i++)
		if (vg_strcaseeq(s, level_names[i]))
			return (enum vg_level)i;
	return VG_LEVEL_UNKNOWN;
}

/* ---- matching entry point ---- */
#ifdef SG_STATS
unsigned long sg_stats_evals, sg_stats_always;
#endif

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void sort_u32(uint32_t *v, size_t n)
{
	if (n > 32) {
		qsort(v, n, sizeof(*v), cmp_u32);
		return;
	}
	for (size_t i = 1; i < n; i++) { /* few candidates: insertion sort */
		uint32_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static int test_rule(const struct sg_rule *r, struct sg_scratch *sc, const struct vg_event *ev, vg_match_fn fn,
		     void *ctx)
{
	if (!vg_sigma_rule_eval(r, sc))
		return 0;
	if (fn)
		fn(&r->pub, ev, ctx);
	return 1;
}

int vg_ruleset_match(const struct vg_ruleset *rs, const struct vg_event *ev, vg_match_fn fn, void *ctx)
{
	struct sg_scratch *sc;
	int rc, matches = 0;

	if (!rs || !ev)
		return VG_EINVAL;
	if ((rc = ensure_index(rs)))
		return rc;
	size_t cls = vg_sigma_event_class(ev);
	if (cls >= rs->nclasses || rs->class_n[cls] == 0)
		return 0;
	if (!(sc = vg_sigma_scratch_get()))
		return VG_ENOMEM;
	if ((rc = vg_sigma_scratch_prepare(sc, ev, rs->max_field, rs->nrules, rs->max_sels,
					   vg_sigma_prefilter_patterns(rs->pf), vg_sigma_prefilter_slots(rs->pf)))) {
		vg_sigma_scratch_put(sc);
		return rc;
	}
	if (!rs->pf) {
		const uint32_t *list = rs->class_rules[cls];
		for (uint32_t i = 0; i < rs->class_n[cls]; i++)
			matches += test_rule(rs->rules[list[i]], sc, ev, fn, ctx);
		vg_sigma_scratch_put(sc);
		return matches;
	}

	uint32_t stamp = ++sc->cand_stamp;
	if (stamp == 0) { /* wrapped: forget every old mark */
		memset(sc->cand, 0, sc->cand_cap * sizeof(*sc->cand));
		memset(sc->pat_seen, 0, sc->pat_cap * sizeof(*sc->pat_seen));
		memset(sc->slot_seen, 0, sc->slot_cap * sizeof(*sc->slot_seen));
		stamp = sc->cand_stamp = 1;
	}
	vg_sigma_prefilter_scan(rs->pf, sc, stamp, cls, rs->class_kw[cls]);
	/* candidates (any class) merged in load order with the class's always-tested rules */
	const struct sg_class *cl = vg_sigma_class(cls);
	const uint32_t *al = rs->class_always[cls];
	uint32_t na = rs->class_nalways[cls], a = 0;
	size_t c = 0, nc = sc->ncands;
	sort_u32(sc->cands, nc);
	while (a < na || c < nc) {
		if (c == nc || (a < na && al[a] < sc->cands[c])) {
			matches += test_rule(rs->rules[al[a++]], sc, ev, fn, ctx);
			continue;
		}
		const struct sg_rule *r = rs->rules[sc->cands[c++]];
		if (vg_sigma_class_accepts(cl, r->ls_product, r->ls_category, r->ls_service))
			matches += test_rule(r, sc, ev, fn, ctx);
	}
	vg_sigma_scratch_put(sc);
	return matches;
}

const char *vg_rule_vigil_action(const struct vg_rule *r)
{
	return internal(r)->vigil_action;
}

int vg_rule_vigil_cloud(const struct vg_rule *r)
{
	return internal(r)->vigil_cloud;
}

/*
 * The baseline the benchmark and the equivalence test compare against: every
 * rule in load order, its logsource checked on its own and its condition
 * evaluated, with no class index and no prefilter.
 */
int vg_ruleset_match_naive(const struct vg_ruleset *rs, const struct vg_event *ev, vg_match_fn fn, void *ctx)
{
	struct sg_scratch *sc;
	int rc, matches = 0;

	if (!rs || !ev)
		return VG_EINVAL;
	if (!(sc = vg_sigma_scratch_get()))
		return VG_ENOMEM;
	if ((rc = vg_sigma_scratch_prepare(sc, ev, rs->max_field, rs->nrules, rs->max_sels, 0, 0))) {
		vg_sigma_scratch_put(sc);
		return rc;
	}
	const struct sg_class *cl = vg_sigma_class(vg_sigma_event_class(ev));
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct sg_rule *r = rs->rules[i];
		if (vg_sigma_class_accepts(cl, r->ls_product, r->ls_category, r->ls_service))
			matches += test_rule(r, sc, ev, fn, ctx);
	}
	vg_sigma_scratch_put(sc);
	return matches;
}
