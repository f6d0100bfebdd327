/* sigma_corr.c - Sigma correlation rules: linking them to the rules they name, and evaluating event_count, value_count, temporal and temporal_ordered over the event stream with bounded per-group state. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"
#include "vigil/buf.h"
#include "vigil/proctree.h"
#include "vigil/strmap.h"

/* The category of a correlation's rule: compared by address, which no rule text can forge. */
const char vg_sigma_corr_category[] = "correlation";

/* ------------------------------------------------------------------ */
/* Linking */

static int same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Finds a rule or correlation by id or name; self is skipped. 1 found (ref set), 0 not. */
static int resolve(const struct vg_ruleset *rs, const char *name, const struct vg_sigma_correlation *self,
		   int32_t *ref)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		if (same(rs->rules[i]->pub.id, name) || same(rs->rules[i]->name, name)) {
			*ref = (int32_t)i;
			return 1;
		}
	}
	for (size_t i = 0; i < rs->ncorrs; i++) {
		const struct vg_sigma_correlation *k = rs->corrs[i];
		if (k != self && k->linked == 1 && (same(k->id, name) || same(k->name, name))) {
			*ref = -(int32_t)i - 1;
			return 1;
		}
	}
	return 0;
}

size_t vg_sigma_link(struct vg_ruleset *rs, vg_rule_error_fn on_error, void *ctx, int report)
{
	size_t dropped = 0;
	int progress = 1;

	/* repeat: a correlation may name another that links in this pass */
	while (progress) {
		progress = 0;
		for (size_t i = 0; i < rs->ncorrs; i++) {
			struct vg_sigma_correlation *k = rs->corrs[i];
			if (k->linked)
				continue;
			if (!k->refs && !(k->refs = vg_sigma_alloc(&rs->arena, k->nrules * sizeof(*k->refs))))
				return dropped;
			size_t r;
			for (r = 0; r < k->nrules && resolve(rs, k->rules[r], k, &k->refs[r]); r++)
				;
			if (r == k->nrules) {
				k->linked = 1;
				progress = 1;
			}
		}
	}
	if (report) {
		for (size_t i = 0; i < rs->ncorrs; i++) {
			struct vg_sigma_correlation *k = rs->corrs[i];
			if (k->linked)
				continue;
			for (size_t r = 0; r < k->nrules; r++) {
				int32_t ref;
				if (!resolve(rs, k->rules[r], k, &ref)) {
					if (on_error) {
						char msg[300];
						snprintf(msg, sizeof(msg),
							 "correlation '%.80s': rule '%.120s' is not loaded (no rule or linked correlation has this id or name)",
							 k->title, k->rules[r]);
						on_error(k->file, k->rule_lines ? k->rule_lines[r] : k->line, msg, ctx);
					}
					break;
				}
			}
			k->linked = -1;
			rs->stats.failed++;
			dropped++;
		}
	}
	/* which rules and correlations still produce alerts of their own */
	for (size_t i = 0; i < rs->nrules; i++)
		rs->rules[i]->corr_ref = rs->rules[i]->corr_gen = 0;
	for (size_t i = 0; i < rs->ncorrs; i++)
		rs->corrs[i]->generates = 2; /* unreferenced so far */
	for (size_t i = 0; i < rs->ncorrs; i++) {
		const struct vg_sigma_correlation *k = rs->corrs[i];
		if (k->linked != 1)
			continue;
		for (size_t r = 0; r < k->nrules; r++) {
			if (k->refs[r] >= 0) {
				rs->rules[k->refs[r]]->corr_ref = 1;
				rs->rules[k->refs[r]]->corr_gen |= (uint8_t)(k->generate > 0);
			} else {
				struct vg_sigma_correlation *t = rs->corrs[-k->refs[r] - 1];
				if (k->generate > 0)
					t->generates = 1;
				else if (t->generates == 2)
					t->generates = 0;
			}
		}
	}
	for (size_t i = 0; i < rs->ncorrs; i++)
		if (rs->corrs[i]->generates == 2)
			rs->corrs[i]->generates = 1;
	return dropped;
}

size_t vg_ruleset_link(struct vg_ruleset *rs, vg_rule_error_fn on_error, void *ctx)
{
	return rs ? vg_sigma_link(rs, on_error, ctx, 1) : 0;
}

int vg_rule_generates(const struct vg_rule *r)
{
	if (r->category == vg_sigma_corr_category) {
		const struct vg_sigma_correlation *k =
			(const struct vg_sigma_correlation *)((const char *)r - offsetof(struct vg_sigma_correlation, rule));
		return k->generates;
	}
	const struct sg_rule *s = (const struct sg_rule *)r; /* pub is the first member */
	return !s->corr_ref || s->corr_gen;
}

/* ------------------------------------------------------------------ */
/* Saturating time arithmetic: event times come from input and may be anything */

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_sub_overflow(a, b, &r) ? (b > 0 ? INT64_MIN : INT64_MAX) : r;
}

/* ------------------------------------------------------------------ */
/* Evaluation state */

struct cref {               /* one match, shared by the groups it joined */
	unsigned refs;
	uint8_t consumed;       /* part of a hit: counts no more */
	uint64_t mask;          /* positions in the correlation's rules it fills */
	uint64_t serial;
	int64_t t;
	uint64_t vhash;         /* value_count: hash of the counted value */
	struct vg_corr_ref pub;
};

struct group {
	char *key;              /* group-by values, each as "<length>:<bytes>" (no value can forge another key) */
	size_t klen;
	struct cref **e;        /* sorted by (t, serial) */
	uint32_t n, cap;
	struct group *prev, *next; /* least recently fed first */
};

enum { GB_FIELD = 0, GB_PROCKEY, GB_ANCESTORS };

struct cstate {
	struct vg_sigma_correlation *k;
	uint32_t *gb_id;        /* [position * ngroup_by + g]: field id (alias applied) */
	uint8_t *gb_kind;
	uint32_t *val_id;       /* value_count: the counted field per position */
	int monotone;           /* only gt/gte: decided when a match arrives; else when the window closes */
	uint32_t need;          /* temporal without condition: every position */
	uint32_t cap_entries;
	struct vg_strmap groups;
	struct group *head, *tail;
	int64_t next_due;       /* earliest time a sweep has work */
};

struct sub {
	uint32_t cs;
	uint64_t mask;
};

struct subs {
	struct sub *v;
	size_t n;
};

struct vg_corr {
	const struct vg_ruleset *rs;
	struct vg_tree *tree;
	struct vg_corr_config cfg;
	struct cstate *cs;
	size_t ncs;
	size_t nrules, ncorrs;   /* of rs when the state was made (later loads are not evaluated) */
	struct subs *rule_subs;  /* by rule index */
	struct subs *corr_subs;  /* by correlation index */
	int32_t *cs_of_corr;     /* correlation index -> cstate index or -1 */
	uint64_t serial;
	int64_t watermark;
	int depth;
	struct vg_corr_stats stats;
	/* scratch */
	struct cref **win;
	size_t win_cap;
	uint64_t *hashes;
	size_t hashes_cap;
	struct vg_corr_ref *refs;
	size_t refs_cap;
	struct vg_buf json, gname, key;
};

static int sub_add(struct subs *s, uint32_t cs, uint64_t bit)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].cs == cs) {
			s->v[i].mask |= bit;
			return 0;
		}
	}
	struct sub *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return VG_ENOMEM;
	s->v = v;
	s->v[s->n].cs = cs;
	s->v[s->n++].mask = bit;
	return 0;
}

/* The field a group-by name (or value_count field) reads for matches of rule position pos. */
static const char *aliased(const struct vg_sigma_correlation *k, const struct vg_ruleset *rs, const char *name,
			   size_t pos)
{
	for (size_t a = 0; a < k->naliases; a++) {
		const struct vg_corr_alias *al = &k->aliases[a];
		if (!same(al->alias, name))
			continue;
		const char *rname = NULL, *rid = NULL;
		if (k->refs[pos] >= 0) {
			rname = rs->rules[k->refs[pos]]->name;
			rid = rs->rules[k->refs[pos]]->pub.id;
		} else {
			rname = rs->corrs[-k->refs[pos] - 1]->name;
			rid = rs->corrs[-k->refs[pos] - 1]->id;
		}
		for (size_t j = 0; j < al->n; j++)
			if (same(al->rules[j], k->rules[pos]) || same(al->rules[j], rname) || same(al->rules[j], rid))
				return al->fields[j];
	}
	return name;
}

static int cs_init(struct vg_corr *c, struct cstate *s, struct vg_sigma_correlation *k)
{
	size_t ng = k->ngroup_by, nr = k->nrules;

	s->k = k;
	vg_strmap_init(&s->groups, 0);
	s->next_due = INT64_MAX;
	s->gb_id = calloc(nr * (ng ? ng : 1), sizeof(*s->gb_id));
	s->gb_kind = calloc(nr * (ng ? ng : 1), 1);
	s->val_id = calloc(nr, sizeof(*s->val_id));
	if (!s->gb_id || !s->gb_kind || !s->val_id)
		return VG_ENOMEM;
	for (size_t p = 0; p < nr; p++) {
		for (size_t g = 0; g < ng; g++) {
			const char *f = aliased(k, c->rs, k->group_by[g], p);
			uint8_t kind = GB_FIELD;
			if (vg_strcaseeq(f, "VigilProcessKey"))
				kind = GB_PROCKEY;
			else if (vg_strcaseeq(f, "VigilAncestorKeys"))
				kind = GB_ANCESTORS;
			s->gb_kind[p * ng + g] = kind;
			if (kind == GB_FIELD && !(s->gb_id[p * ng + g] = vg_field_intern(f, strlen(f))))
				return VG_ENOMEM;
		}
		if (k->field) {
			const char *f = aliased(k, c->rs, k->field, p);
			if (!(s->val_id[p] = vg_field_intern(f, strlen(f))))
				return VG_ENOMEM;
		}
	}
	s->monotone = 1;
	uint32_t need = 1;
	for (size_t i = 0; i < k->nconds; i++) {
		int64_t v = k->conds[i].value;
		if (k->conds[i].op == VG_CORR_LT || k->conds[i].op == VG_CORR_LTE || k->conds[i].op == VG_CORR_EQ)
			s->monotone = 0;
		if (v > 0 && v < 1000000 && (uint32_t)v + 1 > need)
			need = (uint32_t)v + 1;
	}
	if (k->type == VG_CORR_TEMPORAL_ORDERED)
		s->monotone = 1; /* the order is the condition */
	s->need = (uint32_t)nr;
	s->cap_entries = (uint32_t)c->cfg.max_entries;
	if (k->type == VG_CORR_EVENT_COUNT && need > s->cap_entries)
		s->cap_entries = need;
	if (k->type != VG_CORR_EVENT_COUNT && nr > s->cap_entries)
		s->cap_entries = (uint32_t)nr;
	return 0;
}

int vg_corr_new(const struct vg_ruleset *rs, const struct vg_corr_config *cfg, struct vg_tree *tree,
		struct vg_corr **out)
{
	struct vg_corr *c = calloc(1, sizeof(*c));
	int rc = VG_ENOMEM;

	*out = NULL;
	if (!c)
		return VG_ENOMEM;
	c->rs = rs;
	c->tree = tree;
	if (cfg)
		c->cfg = *cfg;
	if (!c->cfg.max_groups)
		c->cfg.max_groups = 10000;
	if (!c->cfg.max_entries)
		c->cfg.max_entries = 256;
	c->watermark = INT64_MIN;
	c->nrules = rs->nrules;
	c->ncorrs = rs->ncorrs;
	c->cs = calloc(rs->ncorrs ? rs->ncorrs : 1, sizeof(*c->cs));
	c->rule_subs = calloc(rs->nrules ? rs->nrules : 1, sizeof(*c->rule_subs));
	c->corr_subs = calloc(rs->ncorrs ? rs->ncorrs : 1, sizeof(*c->corr_subs));
	c->cs_of_corr = calloc(rs->ncorrs ? rs->ncorrs : 1, sizeof(*c->cs_of_corr));
	if (!c->cs || !c->rule_subs || !c->corr_subs || !c->cs_of_corr)
		goto fail;
	for (size_t i = 0; i < rs->ncorrs; i++) {
		c->cs_of_corr[i] = -1;
		if (rs->corrs[i]->linked != 1)
			continue;
		c->cs_of_corr[i] = (int32_t)c->ncs;
		if ((rc = cs_init(c, &c->cs[c->ncs++], rs->corrs[i])))
			goto fail;
	}
	rc = VG_ENOMEM;
	for (size_t s = 0; s < c->ncs; s++) {
		const struct vg_sigma_correlation *k = c->cs[s].k;
		for (size_t p = 0; p < k->nrules; p++) {
			struct subs *sb = k->refs[p] >= 0 ? &c->rule_subs[k->refs[p]] : &c->corr_subs[-k->refs[p] - 1];
			if (sub_add(sb, (uint32_t)s, 1ULL << p))
				goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	vg_corr_free(c);
	return rc;
}

static void cref_put(struct cref *r)
{
	if (r && --r->refs == 0) {
		free((char *)r->pub.proc_key);
		free((char *)r->pub.host);
		free(r);
	}
}

static void group_free(struct group *g)
{
	for (uint32_t i = 0; i < g->n; i++)
		cref_put(g->e[i]);
	free(g->e);
	free(g->key);
	free(g);
}

static void lru_unlink(struct cstate *s, struct group *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		s->head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		s->tail = g->prev;
	g->prev = g->next = NULL;
}

static void lru_push(struct cstate *s, struct group *g)
{
	g->prev = s->tail;
	g->next = NULL;
	if (s->tail)
		s->tail->next = g;
	else
		s->head = g;
	s->tail = g;
}

static void group_drop(struct vg_corr *c, struct cstate *s, struct group *g)
{
	lru_unlink(s, g);
	vg_strmap_del(&s->groups, g->key, g->klen);
	group_free(g);
	c->stats.groups--;
}

void vg_corr_free(struct vg_corr *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncs; i++) {
		struct cstate *s = &c->cs[i];
		while (s->head) {
			struct group *g = s->head;
			lru_unlink(s, g);
			group_free(g);
		}
		vg_strmap_free(&s->groups);
		free(s->gb_id);
		free(s->gb_kind);
		free(s->val_id);
	}
	if (c->rule_subs)
		for (size_t i = 0; i < c->nrules; i++)
			free(c->rule_subs[i].v);
	if (c->corr_subs)
		for (size_t i = 0; i < c->ncorrs; i++)
			free(c->corr_subs[i].v);
	free(c->rule_subs);
	free(c->corr_subs);
	free(c->cs_of_corr);
	free(c->cs);
	free(c->win);
	free(c->hashes);
	free(c->refs);
	vg_buf_free(&c->json);
	vg_buf_free(&c->gname);
	vg_buf_free(&c->key);
	free(c);
}

size_t vg_corr_count(const struct vg_corr *c)
{
	return c ? c->ncs : 0;
}

const struct vg_corr_stats *vg_corr_stats(const struct vg_corr *c)
{
	return &c->stats;
}

/* ------------------------------------------------------------------ */
/* Groups */

/* Drops consumed entries from g. */
static void compact(struct group *g)
{
	uint32_t w = 0;
	for (uint32_t i = 0; i < g->n; i++) {
		if (g->e[i]->consumed)
			cref_put(g->e[i]);
		else
			g->e[w++] = g->e[i];
	}
	g->n = w;
}

static int before(const struct cref *a, const struct cref *b)
{
	return a->t != b->t ? a->t < b->t : a->serial < b->serial;
}

/* Inserts r in time order; drops the oldest entry when full. Returns its index or -1 on OOM. */
static long group_insert(struct vg_corr *c, struct cstate *s, struct group *g, struct cref *r)
{
	compact(g);
	if (g->n >= s->cap_entries && g->n) {
		cref_put(g->e[0]);
		memmove(g->e, g->e + 1, (g->n - 1) * sizeof(*g->e));
		g->n--;
		c->stats.entries_dropped++;
	}
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 4;
		struct cref **e = realloc(g->e, cap * sizeof(*e));
		if (!e)
			return -1;
		g->e = e;
		g->cap = cap;
	}
	uint32_t lo = 0, hi = g->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (before(g->e[mid], r))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(g->e + lo + 1, g->e + lo, (g->n - lo) * sizeof(*g->e));
	g->e[lo] = r;
	g->n++;
	r->refs++;
	return (long)lo;
}

static struct group *group_get(struct vg_corr *c, struct cstate *s, const char *key, size_t klen)
{
	struct group *g = vg_strmap_get(&s->groups, key, klen);
	if (g) {
		lru_unlink(s, g);
		lru_push(s, g);
		return g;
	}
	if (s->groups.count >= c->cfg.max_groups && s->head) {
		group_drop(c, s, s->head);
		c->stats.groups_evicted++;
	}
	if (!(g = calloc(1, sizeof(*g))) || !(g->key = vg_strndup(key, klen))) {
		free(g);
		return NULL;
	}
	g->klen = klen;
	if (vg_strmap_put(&s->groups, g->key, klen, g, NULL)) {
		group_free(g);
		return NULL;
	}
	lru_push(s, g);
	c->stats.groups++;
	return g;
}

/* ------------------------------------------------------------------ */
/* Conditions */

static int cond_ok(const struct vg_sigma_correlation *k, const struct cstate *s, int64_t m)
{
	if (k->nconds == 0)
		return m >= (int64_t)s->need;
	for (size_t i = 0; i < k->nconds; i++) {
		int64_t v = k->conds[i].value;
		int ok;
		switch (k->conds[i].op) {
		case VG_CORR_GT: ok = m > v; break;
		case VG_CORR_GTE: ok = m >= v; break;
		case VG_CORR_LT: ok = m < v; break;
		case VG_CORR_LTE: ok = m <= v; break;
		default: ok = m == v; break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The metric over live entries [i, j]. */
static int64_t metric(struct vg_corr *c, const struct cstate *s, const struct group *g, uint32_t i, uint32_t j)
{
	int64_t m = 0;
	uint64_t mask = 0;
	size_t nh = 0;

	if (s->k->type == VG_CORR_VALUE_COUNT && c->hashes_cap < (size_t)(j - i + 1)) {
		uint64_t *h = realloc(c->hashes, (j - i + 1) * sizeof(*h));
		if (!h)
			return 0;
		c->hashes = h;
		c->hashes_cap = j - i + 1;
	}
	for (uint32_t x = i; x <= j; x++) {
		const struct cref *r = g->e[x];
		if (r->consumed)
			continue;
		switch (s->k->type) {
		case VG_CORR_EVENT_COUNT: m++; break;
		case VG_CORR_VALUE_COUNT: c->hashes[nh++] = r->vhash; break;
		default: mask |= r->mask; break;
		}
	}
	if (s->k->type == VG_CORR_VALUE_COUNT) {
		qsort(c->hashes, nh, sizeof(*c->hashes), cmp_u64);
		for (size_t x = 0; x < nh; x++)
			m += !x || c->hashes[x] != c->hashes[x - 1];
	} else if (s->k->type != VG_CORR_EVENT_COUNT) {
		m = __builtin_popcountll(mask);
	}
	return m;
}

/* temporal_ordered: picks the earliest chain starting at i within the window ending at j into c->win. */
static size_t ordered_chain(struct vg_corr *c, const struct cstate *s, const struct group *g, uint32_t i, uint32_t j)
{
	size_t need = s->k->nrules, got = 0;
	for (uint32_t x = i; x <= j && got < need; x++) {
		const struct cref *r = g->e[x];
		if (!r->consumed && (r->mask >> got) & 1)
			c->win[got++] = g->e[x];
	}
	return got == need ? got : 0;
}

static int win_reserve(struct vg_corr *c, size_t n)
{
	if (c->win_cap >= n)
		return 0;
	struct cref **w = realloc(c->win, n * sizeof(*w));
	if (!w)
		return VG_ENOMEM;
	c->win = w;
	c->win_cap = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hits */

static int feed_corr(struct vg_corr *c, size_t corr_index, const struct vg_corr_hit *h, vg_corr_fn fn, void *ctx);

static void group_name(struct vg_corr *c, const struct cstate *s, const struct group *g)
{
	const char *p = g->key, *end = g->key + g->klen;
	vg_buf_reset(&c->gname);
	for (size_t i = 0; i < s->k->ngroup_by && p < end; i++) {
		char *colon;
		unsigned long len = strtoul(p, &colon, 10);
		if (colon >= end || *colon != ':' || len > (size_t)(end - colon - 1))
			break;
		if (i)
			vg_buf_puts(&c->gname, ", ");
		vg_buf_printf(&c->gname, "%s=%.*s", s->k->group_by[i], (int)len, colon + 1);
		p = colon + 1 + len;
	}
	vg_buf_put(&c->gname, "", 1);
}

static const char *type_name(enum vg_corr_type t)
{
	static const char *const n[] = { "event_count", "value_count", "temporal", "temporal_ordered" };
	return (unsigned)t < 4 ? n[t] : "?";
}

/* Consumes the n matches in c->win and reports the hit. ev NULL: a synthetic event at the last match. */
static int fire(struct vg_corr *c, struct cstate *s, struct group *g, size_t n, int64_t m,
		const struct vg_event *ev, vg_corr_fn fn, void *ctx)
{
	struct vg_event *syn = NULL;
	struct cref **mine = n ? malloc(n * sizeof(*mine)) : NULL;
	char tb[40];
	int rc = 0;

	if (!n)
		return 0;
	if (!mine)
		return VG_ENOMEM;
	memcpy(mine, c->win, n * sizeof(*mine)); /* c->win is scratch that a chained hit reuses */

	if (c->refs_cap < n) {
		struct vg_corr_ref *r = realloc(c->refs, n * sizeof(*r));
		if (!r) {
			free(mine);
			return VG_ENOMEM;
		}
		c->refs = r;
		c->refs_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		mine[i]->consumed = 1;
		mine[i]->refs++; /* c->refs point into them: kept alive until the end */
		c->refs[i] = mine[i]->pub;
	}
	c->stats.fired++;
	if (!ev) {
		const struct vg_corr_ref *last = &c->refs[n - 1];
		if (!(syn = vg_event_new())) {
			rc = VG_ENOMEM;
			goto out;
		}
		syn->type = VG_EV_OTHER;
		syn->source = VG_SRC_VIGIL;
		syn->time_ns = last->time_ns;
		syn->host = last->host ? vg_event_strdup(syn, last->host, strlen(last->host)) : NULL;
		syn->proc.key = last->proc_key ? vg_event_strdup(syn, last->proc_key, strlen(last->proc_key)) : NULL;
		ev = syn;
	}
	group_name(c, s, g);
	struct vg_buf *b = &c->json;
	int f = 1;
	vg_buf_reset(b);
	vg_buf_puts(b, "\"correlation\":{");
	vg_buf_json_kv(b, &f, "type", type_name(s->k->type));
	vg_buf_json_kv(b, &f, "group", c->gname.oom ? "" : c->gname.p);
	vg_buf_json_ki(b, &f, "timespan_ms", s->k->timespan_ns / 1000000);
	vg_buf_json_ki(b, &f, "count", m);
	vg_buf_json_key(b, &f, "events");
	vg_buf_put(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		const struct vg_corr_ref *r = &c->refs[i];
		int g2 = 1;
		vg_buf_puts(b, i ? ",{" : "{");
		vg_buf_json_kv(&c->json, &g2, "@timestamp", r->time_ns ? vg_time_format(r->time_ns, tb, sizeof(tb)) : NULL);
		vg_buf_json_kv(b, &g2, "rule.id", r->rule->id);
		vg_buf_json_kv(b, &g2, "rule.name", r->rule->title);
		vg_buf_json_kv(b, &g2, "event.type", vg_event_type_name(r->type));
		if (r->record_id)
			vg_buf_json_ku(b, &g2, "record_id", r->record_id);
		vg_buf_json_kv(b, &g2, "process.entity_id", r->proc_key);
		vg_buf_json_kv(b, &g2, "host.name", r->host);
		vg_buf_put(b, "}", 1);
	}
	vg_buf_puts(b, "]}");
	vg_buf_put(b, "", 1);
	struct vg_corr_hit h = {
		.corr = s->k, .rule = &s->k->rule, .ev = ev, .group = c->gname.oom ? "" : c->gname.p, .count = m,
		.refs = c->refs, .nrefs = n, .alert = s->k->generates, .json = b->oom ? NULL : b->p,
	};
	fn(&h, ctx);
	/* chained correlations see this hit as a match of it */
	size_t ci = 0;
	while (ci < c->ncorrs && c->rs->corrs[ci] != s->k)
		ci++;
	if (ci < c->ncorrs && c->corr_subs[ci].n) {
		/* refs/json are scratch shared with nested hits: copy what the chain needs */
		rc = feed_corr(c, ci, &h, fn, ctx);
	}
out:
	vg_event_free(syn);
	for (size_t i = 0; i < n; i++)
		cref_put(mine[i]);
	free(mine);
	compact(g);
	return rc;
}

/* A match just joined g at index at: decides monotone correlations. 1 fired, 0 not, <0 error. */
static int check_insert(struct vg_corr *c, struct cstate *s, struct group *g, long at, const struct vg_event *ev,
			vg_corr_fn fn, void *ctx)
{
	const int64_t span = s->k->timespan_ns;
	const int64_t tn = g->e[at]->t;
	uint32_t first = 0;

	while (first < (uint32_t)at && g->e[first]->t < sat_sub(tn, span))
		first++;
	if (win_reserve(c, g->n))
		return VG_ENOMEM;
	for (uint32_t i = first; i <= (uint32_t)at; i++) {
		if (g->e[i]->consumed)
			continue;
		uint32_t j = (uint32_t)at;
		while (j + 1 < g->n && sat_sub(g->e[j + 1]->t, g->e[i]->t) <= span)
			j++;
		if (s->k->type == VG_CORR_TEMPORAL_ORDERED) {
			size_t n = ordered_chain(c, s, g, i, j);
			if (n)
				return fire(c, s, g, n, (int64_t)n, ev, fn, ctx) ? VG_ENOMEM : 1;
		} else {
			int64_t m = metric(c, s, g, i, j);
			if (cond_ok(s->k, s, m)) {
				size_t n = 0;
				for (uint32_t x = i; x <= j; x++)
					if (!g->e[x]->consumed)
						c->win[n++] = g->e[x];
				return fire(c, s, g, n, m, ev, fn, ctx) ? VG_ENOMEM : 1;
			}
		}
		if (j + 1 == g->n)
			break; /* later starts see a subset of this window */
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Feeding */

/* Appends one group-by value; process keys without Sysmon's braces. */
static int key_add(struct vg_buf *k, const char *v, size_t n, int is_key)
{
	size_t len = n;
	const char *b = v;
	if (is_key) {
		b = vg_key_bare(v, &len);
		if (len > n)
			len = n;
	}
	vg_buf_printf(k, "%zu:", len);
	vg_buf_put(k, b, len);
	return k->oom ? VG_ENOMEM : 0;
}

#define MAX_ANCESTRY 32

/* The keys of every group the match joins: nkeys entries of keys (each NUL-terminated) in c->key. */
static size_t group_keys(struct vg_corr *c, const struct cstate *s, size_t pos, const struct vg_event *ev,
			 const char **anc, size_t *nanc)
{
	const struct vg_sigma_correlation *k = s->k;
	size_t ng = k->ngroup_by;
	int multi = -1;

	*nanc = 0;
	for (size_t g = 0; g < ng; g++) {
		uint8_t kind = s->gb_kind[pos * ng + g];
		if (kind == GB_ANCESTORS && multi < 0) {
			multi = (int)g;
			if (!ev->proc.key)
				return 0;
			anc[(*nanc)++] = ev->proc.key;
			const struct vg_proc_node *n = c->tree ? vg_tree_get(c->tree, ev->proc.key) : NULL;
			if (n) {
				for (const struct vg_proc_node *p = vg_tree_parent(c->tree, n); p && *nanc < MAX_ANCESTRY;
				     p = vg_tree_parent(c->tree, p)) {
					size_t seen = 0; /* a parent loop (bad input) must not feed one group twice */
					while (seen < *nanc && strcmp(anc[seen], p->key) != 0)
						seen++;
					if (seen < *nanc)
						break;
					anc[(*nanc)++] = p->key;
				}
			} else if (ev->parent.key) {
				anc[(*nanc)++] = ev->parent.key;
			}
		}
	}
	return multi < 0 ? 1 : *nanc;
}

/* Builds key number v (for the ancestor list position v) into c->key. 0 ok, 1 a field is missing. */
static int build_key(struct vg_corr *c, const struct cstate *s, size_t pos, const struct vg_event *ev,
		     const char **anc, size_t v)
{
	size_t ng = s->k->ngroup_by;
	int used_multi = 0;

	vg_buf_reset(&c->key);
	for (size_t g = 0; g < ng; g++) {
		uint8_t kind = s->gb_kind[pos * ng + g];
		const char *val = NULL;
		size_t len = 0;
		if (kind == GB_ANCESTORS && !used_multi) {
			val = anc[v];
			used_multi = 1;
		} else if (kind == GB_ANCESTORS || kind == GB_PROCKEY) {
			val = ev->proc.key;
		} else {
			const struct vg_field *f = vg_event_field(ev, s->gb_id[pos * ng + g]);
			if (f) {
				val = f->value;
				len = f->len;
			}
		}
		if (!val)
			return 1;
		if (kind != GB_FIELD)
			len = strlen(val);
		if (key_add(&c->key, val, len, kind != GB_FIELD))
			return -1;
	}
	vg_buf_put(&c->key, "", 1);
	return c->key.oom ? -1 : 0;
}

static void note_due(struct cstate *s, int64_t t, int64_t slack)
{
	int64_t due = sat_add(sat_add(t, s->k->timespan_ns), slack);
	if (due < s->next_due)
		s->next_due = due;
}

static int feed_one(struct vg_corr *c, struct cstate *s, uint64_t mask, const struct vg_rule *rule,
		    const struct vg_event *ev, int64_t t, vg_corr_fn fn, void *ctx)
{
	const char *anc[MAX_ANCESTRY];
	size_t nanc, pos = (size_t)__builtin_ctzll(mask);
	struct cref *r;
	int rc = 0;

	c->stats.fed++;
	size_t nkeys = group_keys(c, s, pos, ev, anc, &nanc);
	if (!nkeys) {
		c->stats.ungrouped++;
		return 0;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return VG_ENOMEM;
	r->refs = 1; /* ours until the loop ends */
	r->mask = mask;
	r->serial = ++c->serial;
	r->t = t;
	r->pub.rule = rule;
	r->pub.time_ns = t;
	r->pub.record_id = ev->record_id;
	r->pub.type = ev->type;
	if ((ev->proc.key && !(r->pub.proc_key = vg_strdup(ev->proc.key))) ||
	    (ev->host && !(r->pub.host = vg_strdup(ev->host)))) {
		cref_put(r);
		return VG_ENOMEM;
	}
	if (s->k->type == VG_CORR_VALUE_COUNT) {
		const struct vg_field *f = vg_event_field(ev, s->val_id[pos]);
		if (!f) {
			c->stats.ungrouped++;
			cref_put(r);
			return 0;
		}
		r->vhash = vg_hash_bytes(f->value, f->len);
	}
	/* self first, then each ancestor: the deepest group that completes fires, and consumes the matches */
	for (size_t v = 0; v < nkeys && !r->consumed; v++) {
		int b = build_key(c, s, pos, ev, anc, v);
		if (b < 0) {
			rc = VG_ENOMEM;
			break;
		}
		if (b > 0) {
			c->stats.ungrouped++;
			break;
		}
		struct group *g = group_get(c, s, c->key.p, c->key.len - 1);
		if (!g) {
			rc = VG_ENOMEM;
			break;
		}
		long at = group_insert(c, s, g, r);
		if (at < 0) {
			rc = VG_ENOMEM;
			break;
		}
		note_due(s, t, c->cfg.slack_ns);
		if (s->monotone) {
			int f = check_insert(c, s, g, at, ev, fn, ctx);
			if (f < 0) {
				rc = f;
				break;
			}
		}
		if (!g->n)
			group_drop(c, s, g);
	}
	cref_put(r);
	return rc;
}

static int feed_subs(struct vg_corr *c, const struct subs *sb, const struct vg_rule *rule, const struct vg_event *ev,
		     int64_t t, vg_corr_fn fn, void *ctx)
{
	int rc = 0;
	if (t < sat_sub(c->watermark, c->cfg.slack_ns))
		c->stats.late++;
	for (size_t i = 0; i < sb->n && !rc; i++)
		rc = feed_one(c, &c->cs[sb->v[i].cs], sb->v[i].mask, rule, ev, t, fn, ctx);
	return rc;
}

static int feed_corr(struct vg_corr *c, size_t corr_index, const struct vg_corr_hit *h, vg_corr_fn fn, void *ctx)
{
	if (c->depth >= 8)
		return 0; /* a cycle of correlations naming each other */
	/* the hit's time is its last match; its event decides the group of the chained correlation */
	int64_t t = h->refs[h->nrefs - 1].time_ns;
	struct vg_event *copy = vg_event_clone(h->ev);
	if (!copy)
		return VG_ENOMEM;
	c->depth++;
	int rc = feed_subs(c, &c->corr_subs[corr_index], h->rule, copy, t, fn, ctx);
	c->depth--;
	vg_event_free(copy);
	return rc;
}

int vg_corr_feed(struct vg_corr *c, const struct vg_rule *rule, const struct vg_event *ev, vg_corr_fn fn, void *ctx)
{
	if (!c || !c->ncs || !rule || rule->category == vg_sigma_corr_category)
		return 0; /* correlations feed their chains themselves */
	uint32_t idx = ((const struct sg_rule *)rule)->index;
	if (idx >= c->nrules || &c->rs->rules[idx]->pub != rule || !c->rule_subs[idx].n)
		return 0;
	return feed_subs(c, &c->rule_subs[idx], rule, ev, ev->time_ns, fn, ctx);
}

/* ------------------------------------------------------------------ */
/* Time */

/* Closes windows that ended before the watermark (lt/lte/eq), drops matches no window can use. */
static int sweep(struct vg_corr *c, struct cstate *s, int64_t wm, vg_corr_fn fn, void *ctx)
{
	const int64_t span = s->k->timespan_ns, slack = c->cfg.slack_ns;
	int rc = 0;

	if (wm <= s->next_due)
		return 0;
	s->next_due = INT64_MAX;
	for (struct group *g = s->head, *next; g && !rc; g = next) {
		next = g->next;
		compact(g);
		while (g->n && !rc) {
			const struct cref *e0 = g->e[0];
			int64_t end = sat_add(sat_add(e0->t, span), slack);
			if (wm != INT64_MAX && end >= wm)
				break;
			if (!s->monotone) {
				uint32_t j = 0;
				while (j + 1 < g->n && sat_sub(g->e[j + 1]->t, e0->t) <= span)
					j++;
				int64_t m = metric(c, s, g, 0, j);
				if (cond_ok(s->k, s, m)) {
					if (win_reserve(c, j + 1)) {
						rc = VG_ENOMEM;
						break;
					}
					size_t nw = 0;
					for (uint32_t x = 0; x <= j; x++)
						if (!g->e[x]->consumed)
							c->win[nw++] = g->e[x];
					if (nw) {
						rc = fire(c, s, g, nw, m, NULL, fn, ctx);
						continue;
					}
				}
			}
			cref_put(g->e[0]);
			memmove(g->e, g->e + 1, (g->n - 1) * sizeof(*g->e));
			g->n--;
		}
		if (!g->n)
			group_drop(c, s, g);
		else
			note_due(s, g->e[0]->t, slack);
	}
	/* a sweep visits every group: at most one per 1/16 of the timespan of event time (windows of
	   lt/lte/eq close up to that much late; matches are only kept longer) */
	int64_t step = span / 16;
	if (wm != INT64_MAX && s->next_due != INT64_MAX && wm < INT64_MAX - step && s->next_due < wm + step)
		s->next_due = wm + step;
	return rc;
}

int vg_corr_advance(struct vg_corr *c, int64_t now_ns, vg_corr_fn fn, void *ctx)
{
	int rc = 0;
	if (!c || !c->ncs)
		return 0;
	if (now_ns > c->watermark)
		c->watermark = now_ns;
	for (size_t i = 0; i < c->ncs && !rc; i++)
		rc = sweep(c, &c->cs[i], c->watermark, fn, ctx);
	return rc;
}

int vg_corr_flush(struct vg_corr *c, vg_corr_fn fn, void *ctx)
{
	int rc = 0;
	if (!c || !c->ncs)
		return 0;
	for (size_t i = 0; i < c->ncs && !rc; i++) {
		c->cs[i].next_due = INT64_MIN;
		rc = sweep(c, &c->cs[i], INT64_MAX, fn, ctx);
	}
	return rc;
}
