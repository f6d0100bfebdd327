/* sigma_match.c - evaluates compiled Sigma rules against one event: field lookup, value tests, conditions; per-thread scratch. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NONE UINT32_MAX

/* ---- per-thread scratch ---- */

static _Thread_local struct sg_scratch *tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *mctx; /* shared, read-only after creation */

static void scratch_free(struct sg_scratch *sc)
{
	if (!sc)
		return;
	free(sc->first);
	free(sc->stamp);
	free(sc->next);
	free(sc->low_off);
	free(sc->kw);
	free(sc->folded);
	free(sc->slot_seen);
	free(sc->cands);
	free(sc->low);
	free(sc->cand);
	free(sc->pat_seen);
	free(sc->memo);
	pcre2_match_data_free(sc->md);
	free(sc);
}

static void on_thread_exit(void *p)
{
	scratch_free(p);
}

static void tls_init(void)
{
	pthread_key_create(&tls_key, on_thread_exit);
	mctx = pcre2_match_context_create(NULL);
	if (mctx) {
		/* event text is untrusted: bound backtracking so a bad regex cannot stall the engine */
		pcre2_set_match_limit(mctx, 1000000);
		pcre2_set_depth_limit(mctx, 10000);
	}
}

static struct sg_scratch *scratch_new(void)
{
	struct sg_scratch *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->md = pcre2_match_data_create(1, NULL);
	if (!sc->md) {
		free(sc);
		return NULL;
	}
	return sc;
}

struct sg_scratch *vg_sigma_scratch_get(void)
{
	struct sg_scratch *sc;

	pthread_once(&tls_once, tls_init);
	if (!tls) {
		if (!(tls = scratch_new()))
			return NULL;
		pthread_setspecific(tls_key, tls);
	}
	if (tls->busy) { /* a match callback matching again: use a temporary one */
		sc = scratch_new();
		if (sc)
			sc->busy = 2;
		return sc;
	}
	tls->busy = 1;
	return tls;
}

void vg_sigma_scratch_put(struct sg_scratch *sc)
{
	if (!sc)
		return;
	if (sc->busy == 2)
		scratch_free(sc);
	else
		sc->busy = 0;
}

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < want)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return VG_ENOMEM;
	memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
	*p = q;
	*cap = n;
	return 0;
}

int vg_sigma_scratch_prepare(struct sg_scratch *sc, const struct vg_event *ev, uint32_t max_field,
			     size_t nrules, uint32_t max_sels, uint32_t npatterns, uint32_t nslots)
{
	size_t cap;
	size_t total = 0;

	sc->ev = ev;
	cap = sc->ids_cap;
	if (grow((void **)&sc->stamp, &cap, (size_t)max_field + 1, sizeof(uint32_t)))
		return VG_ENOMEM;
	cap = sc->ids_cap;
	if (grow((void **)&sc->first, &cap, (size_t)max_field + 1, sizeof(uint32_t)))
		return VG_ENOMEM;
	sc->ids_cap = (uint32_t)cap;
	if (++sc->gen == 0) {
		memset(sc->stamp, 0, sc->ids_cap * sizeof(*sc->stamp));
		sc->gen = 1;
	}
	size_t fcap = sc->fields_cap;
	if (grow((void **)&sc->next, &fcap, ev->nfields, sizeof(uint32_t)))
		return VG_ENOMEM;
	fcap = sc->fields_cap;
	if (grow((void **)&sc->low_off, &fcap, ev->nfields, sizeof(uint32_t)))
		return VG_ENOMEM;
	fcap = sc->fields_cap;
	if (grow((void **)&sc->kw, &fcap, ev->nfields, 1))
		return VG_ENOMEM;
	fcap = sc->fields_cap;
	if (grow((void **)&sc->folded, &fcap, ev->nfields, 1))
		return VG_ENOMEM;
	sc->fields_cap = (uint32_t)fcap;
	if (grow((void **)&sc->cand, &sc->cand_cap, nrules, sizeof(uint32_t)))
		return VG_ENOMEM;
	if (grow((void **)&sc->memo, &sc->memo_cap, max_sels, 1))
		return VG_ENOMEM;
	if (grow((void **)&sc->pat_seen, &sc->pat_cap, npatterns, sizeof(uint32_t)))
		return VG_ENOMEM;
	if (grow((void **)&sc->slot_seen, &sc->slot_cap, nslots, sizeof(uint32_t)))
		return VG_ENOMEM;
	if (grow((void **)&sc->cands, &sc->cands_cap, nrules, sizeof(uint32_t)))
		return VG_ENOMEM;
	sc->ncands = 0;

	for (uint32_t i = 0; i < ev->nfields; i++)
		total += (size_t)ev->fields[i].len + 1;
	if (grow((void **)&sc->low, &sc->low_cap, total, 1))
		return VG_ENOMEM;
	total = 0;
	/* backwards, so first[] is the first occurrence and next[] runs in field order */
	for (uint32_t i = ev->nfields; i-- > 0;) {
		const struct vg_field *f = &ev->fields[i];
		if (f->id && f->id <= max_field) {
			sc->next[i] = sc->stamp[f->id] == sc->gen ? sc->first[f->id] : NONE;
			sc->stamp[f->id] = sc->gen;
			sc->first[f->id] = i;
		}
		sc->kw[i] = !(f->name && (f->name[0] == 'V' || f->name[0] == 'v') &&
			      vg_starts_with_ci(f->name, strlen(f->name), "Vigil"));
	}
	for (uint32_t i = 0; i < ev->nfields; i++) {
		sc->low_off[i] = (uint32_t)total;
		total += (size_t)ev->fields[i].len + 1;
	}
	memset(sc->folded, 0, ev->nfields);
	return 0;
}

static inline uint32_t field_first(const struct sg_scratch *sc, uint32_t id)
{
	return id < sc->ids_cap && sc->stamp[id] == sc->gen ? sc->first[id] : NONE;
}

/* ---- value tests ---- */

static size_t u8len(const unsigned char *t, size_t i, size_t n)
{
	unsigned c = t[i];
	size_t l = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (i + l > n)
		return 1;
	for (size_t k = 1; k < l; k++)
		if ((t[i + k] & 0xC0) != 0x80)
			return 1;
	return l;
}

/* '*' any run, '?' one UTF-8 character, other bytes exact. */
static int glob_match(const struct sg_glob *g, const unsigned char *t, size_t n)
{
	size_t pi = 0, ti = 0, star_p = NONE, star_t = 0;

	while (ti < n) {
		if (pi < g->n && g->k[pi] == SK_STAR) {
			star_p = pi++;
			star_t = ti;
		} else if (pi < g->n && g->k[pi] == SK_ONE) {
			ti += u8len(t, ti, n);
			pi++;
		} else if (pi < g->n && g->b[pi] == t[ti]) {
			pi++;
			ti++;
		} else if (star_p != NONE) {
			pi = star_p + 1;
			star_t += u8len(t, star_t, n);
			if (pi < g->n && g->k[pi] == SK_LIT && g->b[pi] < 0x80 && star_t < n) {
				/* the star must end just before this ASCII byte: jump to its next copy (an
				 * ASCII byte is never inside a UTF-8 character, so stepping would stop there too) */
				const unsigned char *q = memchr(t + star_t, g->b[pi], n - star_t);
				if (!q)
					return 0;
				star_t = (size_t)(q - t);
			}
			ti = star_t;
		} else {
			return 0;
		}
	}
	while (pi < g->n && g->k[pi] == SK_STAR)
		pi++;
	return pi == g->n;
}

static int num_cmp(int op, double a, double b)
{
	switch (op) {
	case NUM_LT: return a < b;
	case NUM_LTE: return a <= b;
	case NUM_GT: return a > b;
	case NUM_GTE: return a >= b;
	default: return a == b;
	}
}

static int num_match(const struct sg_value *v, const char *s, size_t n)
{
	double d;
	int64_t iv;
	int is_int;

	if (vg_sigma_parse_num(s, n, &d, &iv, &is_int))
		return 0;
	if (is_int && v->num_is_int) {
		switch (v->numop) {
		case NUM_LT: return iv < v->inum;
		case NUM_LTE: return iv <= v->inum;
		case NUM_GT: return iv > v->inum;
		case NUM_GTE: return iv >= v->inum;
		default: return iv == v->inum;
		}
	}
	return num_cmp(v->numop, d, v->num);
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floordiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int iso_weeks(int64_t y)
{
	int64_t p = (y + floordiv(y, 4) - floordiv(y, 100) + floordiv(y, 400)) % 7;
	int64_t q = ((y - 1) + floordiv(y - 1, 4) - floordiv(y - 1, 100) + floordiv(y - 1, 400)) % 7;
	return (p == 4 || q == 3) ? 53 : 52;
}

/* The requested part of a UTC time: minute, hour, day of month, ISO week, month, year. */
static int64_t time_part(int64_t ns, int part)
{
	int64_t secs = floordiv(ns, 1000000000LL);
	int64_t days = floordiv(secs, 86400), sod = secs - days * 86400;
	int64_t y;
	int m, d;

	switch (part) {
	case TP_MINUTE: return (sod / 60) % 60;
	case TP_HOUR: return sod / 3600;
	default: break;
	}
	civil(days, &y, &m, &d);
	if (part == TP_DAY)
		return d;
	if (part == TP_MONTH)
		return m;
	if (part == TP_YEAR)
		return y;
	/* ISO 8601 week: weeks start on Monday, week 1 holds the year's first Thursday */
	static const int cum[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t yday = cum[m - 1] + d + (m > 2 && is_leap(y));
	int64_t wd = ((days % 7) + 7 + 3) % 7 + 1; /* 1970-01-01 was a Thursday; Monday = 1 */
	int64_t w = (yday - wd + 10) / 7;
	if (w < 1)
		return iso_weeks(y - 1);
	if (w > iso_weeks(y))
		return 1;
	return w;
}

static int ip_in(const struct sg_value *v, const char *s, size_t n)
{
	uint8_t a[16];
	int fam;

	if (vg_sigma_parse_ip(s, n, &fam, a) || fam != v->cidr_fam)
		return 0;
	int full = v->cidr_bits / 8, rem = v->cidr_bits % 8;
	if (memcmp(a, v->cidr, (size_t)full) != 0)
		return 0;
	return rem == 0 || (a[full] & (uint8_t)(0xFF << (8 - rem))) == v->cidr[full];
}

/*
 * Substring search for the short needles and haystacks of event fields
 * (glibc memmem's setup costs more than the search here). With SSE2, 16
 * positions at a time are tested for the needle's first and last byte, and
 * only those where both agree are compared in full (W. Mula's method).
 */
static const char *find_sub(const char *t, size_t n, const char *p, size_t m)
{
	if (m == 0)
		return t;
	if (n < m)
		return NULL;
	if (m == 1)
		return memchr(t, p[0], n);
	size_t i = 0;
	const size_t last = n - m; /* last start position */
#ifdef __SSE2__
	const __m128i first = _mm_set1_epi8(p[0]), lastb = _mm_set1_epi8(p[m - 1]);
	for (; i + 16 <= last + 1; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(t + i + m - 1));
		unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, lastb)));
		while (mask) {
			unsigned k = (unsigned)__builtin_ctz(mask);
			if (memcmp(t + i + k + 1, p + 1, m - 2) == 0)
				return t + i + k;
			mask &= mask - 1;
		}
	}
#endif
	for (; i <= last; i++)
		if (t[i] == p[0] && t[i + m - 1] == p[m - 1] && memcmp(t + i + 1, p + 1, m - 2) == 0)
			return t + i;
	return NULL;
}

static int text_rel(int kind, const char *t, size_t n, const char *p, size_t m)
{
	switch (kind) {
	case VK_PREFIX: return n >= m && memcmp(t, p, m) == 0;
	case VK_SUFFIX: return n >= m && memcmp(t + n - m, p, m) == 0;
	case VK_CONTAINS: return m == 0 || (n >= m && find_sub(t, n, p, m) != NULL);
	default: return n == m && memcmp(t, p, n) == 0;
	}
}

/* Does the value hold the copies of one character every match of v needs (in one line when '.' stops at LF)? */
static int re_count_ok(const struct sg_value *v, const char *t, size_t n)
{
	const unsigned char b = v->re_need_byte;
	uint32_t have = 0;

	if (!v->re_need_line) {
		for (const char *q = t, *end = t + n; (q = memchr(q, b, (size_t)(end - q))); q++)
			if (++have >= v->re_need_n)
				return 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '\n')
			have = 0;
		else if (c == b && ++have >= v->re_need_n)
			return 1;
	}
	return 0;
}

/* One line against a literals-and-gaps pattern: each literal run at its earliest place after the gap's minimum. */
static int re_seq_line(const struct sg_value *v, const char *t, size_t n)
{
	const char *q = v->re_seq;
	size_t m = v->re_seq_len, k = 0, pos = 0;

	while (k < m) {
		while (k < m && (q[k] == 1 || q[k] == 2))
			pos += q[k++] == 2; /* ".+" needs one character, ".*" none */
		if (pos > n)
			return 0;
		if (k == m)
			return 1;
		size_t r = k;
		while (r < m && q[r] != 1 && q[r] != 2)
			r++;
		const char *hit = find_sub(t + pos, n - pos, q + k, r - k);
		if (!hit)
			return 0;
		pos = (size_t)(hit - t) + (r - k);
		k = r;
	}
	return 1;
}

/*
 * A regex of literals and ".*"/".+" only (re_seq_ok) on an ASCII value: it
 * matches when one line holds the literal runs in order with the gaps'
 * minimums between them, which an earliest-first scan decides in linear
 * time where PCRE2 backtracks. -1 when the value is not ASCII (PCRE2 decides).
 */
static int re_seq_match(const struct sg_value *v, const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] >= 0x80)
			return -1;
	for (size_t ls = 0;;) {
		const char *nl = memchr(t + ls, '\n', n - ls);
		size_t le = nl ? (size_t)(nl - t) : n;
		if (re_seq_line(v, t + ls, le - ls))
			return 1;
		if (!nl)
			return 0;
		ls = le + 1;
	}
}

/* One value against one field occurrence i. */
static int value_one(const struct sg_value *v, struct sg_scratch *sc, uint32_t i)
{
	const struct vg_field *f = &sc->ev->fields[i];
	const char *t = v->cased ? f->value : vg_sigma_low(sc, i);
	size_t n = f->len;

	switch (v->kind) {
	case VK_EQ:
		if (n == v->len && memcmp(t, v->pat, n) == 0)
			return 1;
		if (v->int_lit && !memchr(f->value, 'x', n) && !memchr(f->value, 'X', n)) {
			/* a plain YAML integer also equals the same decimal number written differently ("04688") */
			double d;
			int64_t iv;
			int is_int;
			return vg_sigma_parse_num(f->value, n, &d, &iv, &is_int) == 0 && is_int && iv == v->inum;
		}
		return 0;
	case VK_PREFIX:
		return n >= v->len && memcmp(t, v->pat, v->len) == 0;
	case VK_SUFFIX:
		return n >= v->len && memcmp(t + n - v->len, v->pat, v->len) == 0;
	case VK_CONTAINS:
		return v->len == 0 || (n >= v->len && find_sub(t, n, v->pat, v->len) != NULL);
	case VK_GLOB:
		return glob_match(&v->glob, (const unsigned char *)t, n);
	case VK_RE:
		if (v->re_need_n && !re_count_ok(v, f->value, n))
			return 0;
		if (v->re_seq_ok) {
			int r = re_seq_match(v, f->value, n);
			if (r >= 0)
				return r;
		}
		return pcre2_match(v->re, (PCRE2_SPTR)f->value, n, 0, 0, sc->md, mctx) >= 0;
	case VK_NUM:
		return num_match(v, f->value, n);
	case VK_CIDR:
		return ip_in(v, f->value, n);
	case VK_NULL:
		return n == 0;
	case VK_TIME: {
		int64_t ns;
		if (vg_time_parse(f->value, n, &ns) != 0) {
			if (!sc->ev->time_ns)
				return 0;
			ns = sc->ev->time_ns;
		}
		int64_t p = time_part(ns, v->timepart);
		return v->num_is_int ? num_cmp(v->numop, (double)p, (double)v->inum) : num_cmp(v->numop, (double)p, v->num);
	}
	case VK_FIELDREF: {
		for (uint32_t j = field_first(sc, v->ref_field); j != NONE; j = sc->next[j]) {
			const struct vg_field *g = &sc->ev->fields[j];
			const char *u = v->cased ? g->value : vg_sigma_low(sc, j);
			if (text_rel(v->ref_kind, t, n, u, g->len))
				return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* A value against every occurrence of the field (any may match). */
static int value_any(const struct sg_value *v, struct sg_scratch *sc, uint32_t first)
{
	if (v->kind == VK_EXISTS)
		return v->num != 0;
	for (uint32_t i = first; i != NONE; i = sc->next[i])
		if (value_one(v, sc, i))
			return 1;
	return 0;
}

/* Keyword search: a value against every raw (non-Vigil) field. */
static int value_keyword(const struct sg_value *v, struct sg_scratch *sc)
{
	for (uint32_t i = 0; i < sc->ev->nfields; i++)
		if (sc->kw[i] && value_one(v, sc, i))
			return 1;
	return 0;
}

static int matcher_eval(const struct sg_matcher *m, struct sg_scratch *sc)
{
	uint32_t first = NONE;
	int pos;

	if (m->field) {
		first = field_first(sc, m->field);
		if (first == NONE) {
			/* a missing field matches only null and exists: false */
			if (m->neq)
				return 0;
			for (uint32_t k = 0; k < m->nvalues; k++) {
				const struct sg_value *v = &m->values[k];
				int r = v->kind == VK_NULL || (v->kind == VK_EXISTS && v->num == 0);
				if (m->all && !r)
					return 0;
				if (!m->all && r)
					return 1;
			}
			return m->all;
		}
	}
	pos = m->all;
	for (uint32_t k = 0; k < m->nvalues; k++) {
		const struct sg_value *v = &m->values[k];
		int r = m->field ? value_any(v, sc, first) : value_keyword(v, sc);
		if (m->all && !r) {
			pos = 0;
			break;
		}
		if (!m->all && r) {
			pos = 1;
			break;
		}
	}
	return m->neq ? !pos : pos;
}

static int sel_eval(const struct sg_sel *s, struct sg_scratch *sc)
{
	for (uint32_t g = 0; g < s->n; g++) {
		const struct sg_group *gr = &s->g[g];
		uint32_t i;
		for (i = 0; i < gr->n; i++)
			if (!matcher_eval(&gr->m[i], sc))
				break;
		if (i == gr->n)
			return 1;
	}
	return 0;
}

static int cond_eval(const struct sg_rule *r, const struct sg_cond *c, struct sg_scratch *sc)
{
	switch (c->op) {
	case OP_SEL: {
		uint8_t *memo = &sc->memo[c->sel];
		if (!*memo)
			*memo = (uint8_t)(sel_eval(&r->sels[c->sel], sc) ? 2 : 1);
		return *memo == 2;
	}
	case OP_AND:
		for (uint32_t i = 0; i < c->n; i++)
			if (!cond_eval(r, c->kids[i], sc))
				return 0;
		return 1;
	case OP_OR:
		for (uint32_t i = 0; i < c->n; i++)
			if (cond_eval(r, c->kids[i], sc))
				return 1;
		return 0;
	case OP_NOT:
		return !cond_eval(r, c->kids[0], sc);
	case OP_NOF: {
		uint32_t hits = 0;
		for (uint32_t i = 0; i < c->n; i++) {
			if (c->n - i + hits < c->k)
				return 0; /* cannot reach k any more */
			if (cond_eval(r, c->kids[i], sc) && ++hits >= c->k)
				return 1;
		}
		return hits >= c->k;
	}
	case OP_CONST:
		return c->k != 0;
	default:
		return 0;
	}
}

int vg_sigma_rule_eval(const struct sg_rule *r, struct sg_scratch *sc)
{
	memset(sc->memo, 0, r->nsels);
	return cond_eval(r, r->cond, sc);
}
