/* sigma_prefilter.c - literal prefilter: per rule, literals it cannot match without; per event, one gram-index pass over each field marks the candidate rules. */
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"

/* ---- anchors: a set of (field, literal) such that rule true => one of them occurs ---- */

struct aset {
	int ok;              /* 0: no such set (the rule must always be tested) */
	struct sg_anchor *a;
	size_t n, cap;
};

static void aset_free(struct aset *s)
{
	free(s->a);
	memset(s, 0, sizeof(*s));
}

static int aset_add(struct aset *s, uint32_t field, const char *lit, uint32_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->a[i].field == field && s->a[i].len == len && memcmp(s->a[i].lit, lit, len) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct sg_anchor *a = realloc(s->a, cap * sizeof(*a));
		if (!a)
			return VG_ENOMEM;
		s->a = a;
		s->cap = cap;
	}
	s->a[s->n++] = (struct sg_anchor){ field, len, lit };
	return 0;
}

/* Moves every anchor of src into dst (a union). */
static int aset_union(struct aset *dst, struct aset *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (aset_add(dst, src->a[i].field, src->a[i].lit, src->a[i].len))
			return VG_ENOMEM;
	aset_free(src);
	return 0;
}

/* Higher is better: long shortest literal first, then fewer literals. */
static long aset_score(const struct aset *s)
{
	uint32_t minlen = UINT32_MAX;
	if (!s->ok)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (s->a[i].len < minlen)
			minlen = s->a[i].len;
	if (s->n == 0)
		return 1L << 40; /* can never match */
	if (minlen > 12)
		minlen = 12;
	return (long)minlen * 1000000L - (long)(s->n > 999999 ? 999999 : s->n);
}

/* Keeps the better of best and cand; frees the other. */
static void aset_pick(struct aset *best, struct aset *cand)
{
	if (aset_score(cand) > aset_score(best)) {
		aset_free(best);
		*best = *cand;
	} else {
		aset_free(cand);
	}
	memset(cand, 0, sizeof(*cand));
}

/*
 * Regular expressions: literals that every match must contain. For each
 * top-level alternative we take its longest run of plain characters that no
 * quantifier can remove; the regex needs one of these (one per alternative).
 * Anything we do not fully understand gives no literal (the rule is then
 * simply tested more often): extended mode (?x), \Q..\E, unbalanced syntax.
 * Runs hold ASCII only (so folding the text cannot move them); caseless
 * patterns also stop runs at 'k' and 's', whose Unicode case equivalents
 * (KELVIN SIGN, LONG S) our folding does not map.
 */

struct run {
	size_t start, len;
};

/* Skips a bracket class starting at p[i] == '['; returns the index after ']', or n on error. */
static size_t skip_class(const char *p, size_t n, size_t i)
{
	i++;
	if (i < n && p[i] == '^')
		i++;
	if (i < n && p[i] == ']')
		i++;
	while (i < n && p[i] != ']') {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[' && i + 1 < n && p[i + 1] == ':') { /* [:alpha:] */
			const char *e = memchr(p + i + 2, ']', n - i - 2);
			if (!e)
				return n;
			i = (size_t)(e - p);
		}
		i++;
	}
	return i < n ? i + 1 : n;
}

/* Skips a group starting at p[i] == '('; returns the index after its ')', or n on error. */
static size_t skip_group(const char *p, size_t n, size_t i)
{
	int depth = 0;
	while (i < n) {
		if (p[i] == '\\')
			i += 2;
		else if (p[i] == '[')
			i = skip_class(p, n, i);
		else {
			if (p[i] == '(')
				depth++;
			else if (p[i] == ')' && --depth == 0)
				return i + 1;
			i++;
		}
	}
	return n;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* p[i] == '\\' and p[i+1] is a letter, digit or non-ASCII: returns the index after the whole escape, 0 to give up. */
static size_t skip_escape(const char *p, size_t n, size_t i)
{
	unsigned char e = (unsigned char)p[i + 1];
	size_t j = i + 2;

	if (e >= 0x80) { /* an escaped multi-byte character */
		while (j < n && ((unsigned char)p[j] & 0xC0) == 0x80)
			j++;
		return j;
	}
	if (j < n && (p[j] == '{' || ((e == 'g' || e == 'k') && (p[j] == '<' || p[j] == '\'')))) {
		if (e == 'x' || e == 'o' || e == 'p' || e == 'P' || e == 'g' || e == 'k' || e == 'N' || e == 'u') {
			char close = p[j] == '{' ? '}' : p[j] == '<' ? '>' : '\'';
			const char *cl = memchr(p + j + 1, close, n - j - 1);
			return cl ? (size_t)(cl - p) + 1 : 0;
		}
	}
	switch (e) {
	case 'x': /* \xHH */
		for (int k = 0; k < 2 && j < n && is_hex(p[j]); k++)
			j++;
		return j;
	case 'c': /* \cX */
		return j < n ? j + 1 : 0;
	case 'p':
	case 'P': /* \pL */
		return j < n ? j + 1 : 0;
	case 'g': /* \gN, \g-N */
		if (j < n && (p[j] == '-' || p[j] == '+'))
			j++;
		while (j < n && p[j] >= '0' && p[j] <= '9')
			j++;
		return j;
	default:
		break;
	}
	if (e >= '0' && e <= '9') { /* backreference or octal: all following digits */
		while (j < n && p[j] >= '0' && p[j] <= '9')
			j++;
		return j;
	}
	return j; /* \d \w \s \b \R \X ... */
}

/* If p[i] starts a quantifier, returns its minimum count and sets *end; else -1. */
static long quantifier(const char *p, size_t n, size_t i, size_t *end)
{
	long min;
	if (i >= n)
		return -1;
	if (p[i] == '?' || p[i] == '*' || p[i] == '+') {
		min = p[i] == '+' ? 1 : 0;
		i++;
	} else if (p[i] == '{' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9') {
		size_t j = i + 1;
		min = 0;
		while (j < n && p[j] >= '0' && p[j] <= '9' && min < 100000)
			min = min * 10 + (p[j++] - '0');
		if (j < n && p[j] == ',') {
			j++;
			while (j < n && p[j] >= '0' && p[j] <= '9')
				j++;
		}
		if (j >= n || p[j] != '}')
			return -1; /* not a quantifier: PCRE reads it as text; we stop the run in the caller */
		i = j + 1;
	} else {
		return -1;
	}
	if (i < n && (p[i] == '?' || p[i] == '+')) /* lazy / possessive */
		i++;
	*end = i;
	return min;
}

/* Longest required run of one alternative p[0..n). 1 found, 0 none, -1 give up on the whole regex. */
static int branch_run(const char *p, size_t n, int caseless, char *buf, struct run *best)
{
	size_t i = 0, blen = 0, cur = 0; /* buf[cur..blen): the current run */
	best->len = 0;
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		size_t end = 0;
		long q;
		int lit = -1; /* the literal byte at p[i], or -1 when p[i] starts something else */
		size_t next = i + 1;

		if (c == '\\') {
			if (i + 1 >= n)
				return -1;
			unsigned char e = (unsigned char)p[i + 1];
			if (e == 'Q' || e == 'E')
				return -1;
			if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9') || e >= 0x80)
				lit = -1; /* \d \w \x.. \p.. backrefs, escaped non-ASCII: not a plain ASCII character */
			else
				lit = e;
			next = lit < 0 ? skip_escape(p, n, i) : i + 2;
			if (next == 0)
				return -1;
		} else if (c == '[') {
			next = skip_class(p, n, i);
			if (next >= n && (n == 0 || p[n - 1] != ']'))
				return -1;
		} else if (c == '(') {
			if (i + 2 < n && p[i + 1] == '?') { /* inline flags: refuse extended mode */
				for (size_t j = i + 2; j < n && p[j] != ')' && p[j] != ':'; j++)
					if (p[j] == 'x')
						return -1;
			}
			next = skip_group(p, n, i);
			if (next > n || (next == n && p[n - 1] != ')'))
				return -1;
		} else if (c == ')') {
			return -1;
		} else if (c == '{') {
			/* '{' that is not a quantifier here: text for this PCRE2, a quantifier ({,n}) for newer
			 * ones. Either way nothing up to '}' is a required literal. */
			const char *cl = memchr(p + i, '}', n - i);
			next = cl ? (size_t)(cl - p) + 1 : i + 1;
		} else if (c == '.' || c == '^' || c == '$' || c == '?' || c == '*' || c == '+') {
			lit = -1; /* stray quantifiers: just stop the run */
		} else {
			lit = c;
		}
		if (lit >= 0x80 || (caseless && (lit == 'k' || lit == 'K' || lit == 's' || lit == 'S')))
			lit = -1;

		q = quantifier(p, n, next, &end);
		if (lit >= 0) {
			buf[blen++] = (char)lit;
			if (q == 0)
				blen--; /* the character may be absent */
		}
		if (lit < 0 || q >= 0) { /* the run ends here */
			if (blen > cur && blen - cur > best->len) {
				best->start = cur;
				best->len = blen - cur;
			}
			cur = blen;
		}
		i = q >= 0 ? end : next;
	}
	if (blen > cur && blen - cur > best->len) {
		best->start = cur;
		best->len = blen - cur;
	}
	return best->len > 0;
}

/* Adds the required literals of regex value v to out. 1 ok, 0 none, <0 OOM. */
static int re_set(struct sg_arena *ar, const struct sg_value *v, uint32_t field, struct aset *out)
{
	const char *p = v->pat;
	size_t n = v->len, start = 0;
	int caseless = v->re_caseless, depth = 0;
	char *buf;

	if (!p || n == 0)
		return 0;
	for (size_t i = 0; i + 2 < n; i++) /* (?i) anywhere: treat the whole pattern as caseless */
		if (p[i] == '(' && p[i + 1] == '?') {
			for (size_t j = i + 2; j < n && p[j] != ')' && p[j] != ':' && p[j] != '-'; j++)
				if (p[j] == 'i')
					caseless = 1;
		}
	if (!(buf = malloc(n + 1)))
		return VG_ENOMEM;
	/* split at top-level '|' */
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] == '\\') {
			i++;
			continue;
		}
		if (i < n && p[i] == '[') {
			i = skip_class(p, n, i) - 1;
			continue;
		}
		if (i < n && p[i] == '(')
			depth++;
		if (i < n && p[i] == ')')
			depth--;
		if (i < n && (p[i] != '|' || depth != 0))
			continue;
		struct run r;
		int rc = depth < 0 ? -1 : branch_run(p + start, i - start, caseless, buf, &r);
		if (rc <= 0) {
			free(buf);
			return 0;
		}
		char *lit = vg_sigma_alloc(ar, r.len + 1);
		if (!lit) {
			free(buf);
			return VG_ENOMEM;
		}
		vg_sigma_fold(lit, buf + r.start, r.len);
		if (aset_add(out, field, lit, (uint32_t)r.len)) {
			free(buf);
			return VG_ENOMEM;
		}
		start = i + 1;
	}
	free(buf);
	return 1;
}

/* The literals a positive value needs (folded), added to out. 1 ok, 0 none known, <0 OOM. */
static int value_set(struct sg_arena *ar, const struct sg_value *v, uint32_t field, struct aset *out)
{
	const char *p = v->pat;
	uint32_t n = v->len;

	switch (v->kind) {
	case VK_EQ:
		if (v->int_lit) { /* numeric equality: the digits without sign and leading zeros */
			if (n && (p[0] == '-' || p[0] == '+'))
				p++, n--;
			if (n > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X' || p[1] == 'o'))
				return 0;
			while (n > 1 && p[0] == '0')
				p++, n--;
		}
		break;
	case VK_PREFIX:
	case VK_SUFFIX:
	case VK_CONTAINS:
		break;
	case VK_GLOB: {
		uint32_t best = 0, bestn = 0;
		for (uint32_t i = 0; i < v->glob.n;) {
			uint32_t j = i;
			while (j < v->glob.n && v->glob.k[j] == SK_LIT)
				j++;
			if (j - i > bestn) {
				best = i;
				bestn = j - i;
			}
			i = j + 1;
		}
		p = (const char *)v->glob.b + best;
		n = bestn;
		break;
	}
	case VK_RE:
		return re_set(ar, v, field, out);
	default:
		return 0;
	}
	if (n == 0)
		return 0;
	if (v->cased) {
		char *f = vg_sigma_alloc(ar, n + 1);
		if (!f)
			return VG_ENOMEM;
		vg_sigma_fold(f, p, n);
		p = f;
	}
	return aset_add(out, field, p, n) ? VG_ENOMEM : 1;
}

static int matcher_set(struct sg_arena *ar, const struct sg_matcher *m, struct aset *out)
{
	memset(out, 0, sizeof(*out));
	if (m->neq || m->nvalues == 0)
		return 0;
	if (m->all) { /* every value must match: the best single value suffices */
		for (uint32_t i = 0; i < m->nvalues; i++) {
			struct aset one = { 0 };
			int rc = value_set(ar, &m->values[i], m->field, &one);
			if (rc < 0) {
				aset_free(&one);
				aset_free(out);
				return rc;
			}
			one.ok = rc == 1;
			aset_pick(out, &one);
		}
		return 0;
	}
	for (uint32_t i = 0; i < m->nvalues; i++) {
		int rc = value_set(ar, &m->values[i], m->field, out);
		if (rc <= 0) {
			aset_free(out);
			return rc;
		}
	}
	out->ok = 1;
	return 0;
}

static int sel_set(struct sg_arena *ar, const struct sg_sel *s, struct aset *out)
{
	memset(out, 0, sizeof(*out));
	out->ok = 1;
	for (uint32_t g = 0; g < s->n; g++) {
		struct aset best = { 0 };
		for (uint32_t i = 0; i < s->g[g].n; i++) {
			struct aset cand;
			if (matcher_set(ar, &s->g[g].m[i], &cand)) {
				aset_free(&best);
				aset_free(out);
				return VG_ENOMEM;
			}
			aset_pick(&best, &cand);
		}
		if (!best.ok) {
			aset_free(out);
			return 0;
		}
		if (aset_union(out, &best)) {
			aset_free(out);
			return VG_ENOMEM;
		}
	}
	return 0;
}

static int cond_set(struct sg_arena *ar, const struct sg_rule *r, const struct sg_cond *c, struct aset *out)
{
	memset(out, 0, sizeof(*out));
	switch (c->op) {
	case OP_SEL:
		return sel_set(ar, &r->sels[c->sel], out);
	case OP_AND: {
		for (uint32_t i = 0; i < c->n; i++) {
			struct aset cand;
			if (cond_set(ar, r, c->kids[i], &cand)) {
				aset_free(out);
				return VG_ENOMEM;
			}
			aset_pick(out, &cand);
		}
		return 0;
	}
	case OP_OR:
		out->ok = 1;
		for (uint32_t i = 0; i < c->n; i++) {
			struct aset cand;
			if (cond_set(ar, r, c->kids[i], &cand)) {
				aset_free(out);
				return VG_ENOMEM;
			}
			if (!cand.ok) {
				aset_free(out);
				return 0;
			}
			if (aset_union(out, &cand)) {
				aset_free(out);
				return VG_ENOMEM;
			}
		}
		return 0;
	case OP_NOF: {
		/* at least k of n kids are true, so one of any n-k+1 kids is: take the best n-k+1 */
		if (c->k == 0 || c->k > c->n)
			return 0;
		uint32_t need = c->n - c->k + 1;
		struct aset *sets = calloc(c->n, sizeof(*sets));
		if (!sets)
			return VG_ENOMEM;
		int rc = 0;
		for (uint32_t i = 0; i < c->n && !rc; i++)
			rc = cond_set(ar, r, c->kids[i], &sets[i]);
		if (!rc) {
			out->ok = 1;
			for (uint32_t taken = 0; taken < need && !rc; taken++) {
				uint32_t best = c->n;
				for (uint32_t i = 0; i < c->n; i++)
					if (sets[i].ok && (best == c->n || aset_score(&sets[i]) > aset_score(&sets[best])))
						best = i;
				if (best == c->n) { /* fewer than n-k+1 kids have sets */
					aset_free(out);
					break;
				}
				rc = aset_union(out, &sets[best]); /* frees sets[best], so ok = 0 */
			}
		}
		for (uint32_t i = 0; i < c->n; i++)
			aset_free(&sets[i]);
		free(sets);
		if (rc)
			aset_free(out);
		return rc;
	}
	default: /* NOT, CONST */
		return 0;
	}
}

/*
 * A count that cheaply refutes a regex: for a pattern that is only literal
 * characters and ".*" / ".+" (lazy or not), every match contains each literal
 * character as many times as the pattern names it. SigmaHQ has such patterns
 * that backtrack heavily ('\+.*\+.*\+...' with 14 pluses takes tens of
 * microseconds on a long command line with a few pluses); counting the
 * character first rules most values out. Letters are not counted for caseless
 * patterns. Anything else (classes, groups, alternation, anchors) gives no count.
 */
static int is_alnum_ascii(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int re_need(struct sg_arena *a, struct sg_value *v)
{
	const unsigned char *p = (const unsigned char *)v->pat;
	uint32_t counts[128] = { 0 };
	size_t n = v->pat ? v->len : 0, nseq = 0;
	int has_lit = 0;
	char *seq = vg_sigma_alloc(a, n + 1);

	if (!seq)
		return VG_ENOMEM;
	v->re_need_n = 0;
	v->re_seq_ok = 0;
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		if (c == '.' && i + 1 < n && (p[i + 1] == '*' || p[i + 1] == '+')) {
			seq[nseq++] = p[i + 1] == '*' ? 1 : 2;
			i += 2;
			if (i < n && p[i] == '?')
				i++;
			continue;
		}
		if (c == '\\' && i + 1 < n && p[i + 1] < 128 && !is_alnum_ascii(p[i + 1]) && p[i + 1] > ' ') {
			c = p[i + 1];
			i += 2;
		} else if (c < 128 && c > ' ' && !strchr("\\^$.|?*+()[]{}#", (int)c)) {
			i++;
		} else {
			return 0; /* not a plain literal: no count */
		}
		if (i < n && strchr("?*+{", p[i]))
			return 0; /* a quantified literal may be absent */
		if (!(v->re_caseless && is_alnum_ascii(c) && !(c >= '0' && c <= '9')))
			counts[c]++;
		seq[nseq++] = (char)c;
		has_lit = 1;
	}
	for (unsigned c = 0; c < 128; c++) {
		if (counts[c] > v->re_need_n) {
			v->re_need_n = counts[c];
			v->re_need_byte = (uint8_t)c;
		}
	}
	if (v->re_need_n < 2) /* PCRE2 finds a single required character itself */
		v->re_need_n = 0;
	/* '.' never crosses a newline unless dot-all: with LF the only newline, all copies share a line */
	uint32_t opts = 0, nl = 0;
	v->re_need_line = v->re && pcre2_pattern_info(v->re, PCRE2_INFO_ALLOPTIONS, &opts) == 0 &&
			  pcre2_pattern_info(v->re, PCRE2_INFO_NEWLINE, &nl) == 0 && nl == PCRE2_NEWLINE_LF &&
			  !(opts & PCRE2_DOTALL);
	/* the whole pattern is literals and gaps: decided by an earliest-match scan, per line (re_seq_match) */
	if (v->re_need_line && !v->re_caseless && has_lit) {
		v->re_seq = seq;
		v->re_seq_len = (uint32_t)nseq;
		v->re_seq_ok = 1;
	}
	return 0;
}

int vg_sigma_rule_anchors(struct sg_arena *a, struct sg_rule *r)
{
	struct aset s;

	for (uint32_t i = 0; i < r->nsels; i++)
		for (uint32_t g = 0; g < r->sels[i].n; g++)
			for (uint32_t m = 0; m < r->sels[i].g[g].n; m++)
				for (uint32_t k = 0; k < r->sels[i].g[g].m[m].nvalues; k++)
					if (r->sels[i].g[g].m[m].values[k].kind == VK_RE &&
					    re_need(a, &r->sels[i].g[g].m[m].values[k]))
						return VG_ENOMEM;

	r->always = 1;
	r->anchors = NULL;
	r->nanchors = 0;
	if (cond_set(a, r, r->cond, &s))
		return VG_ENOMEM;
	if (s.ok) {
		r->anchors = vg_sigma_alloc(a, (s.n ? s.n : 1) * sizeof(*r->anchors));
		if (!r->anchors) {
			aset_free(&s);
			return VG_ENOMEM;
		}
		if (s.n)
			memcpy(r->anchors, s.a, s.n * sizeof(*s.a));
		r->nanchors = (uint32_t)s.n;
		r->always = 0;
	}
	aset_free(&s);
	return 0;
}

/*
 * ---- the gram index ----
 *
 * Every distinct anchor (field, literal) gets one "gram": its rarest window of
 * 4 bytes (2 bytes for literals of 2-3 bytes, 1 byte for 1-byte literals),
 * rarest meaning the window that occurs least often among all anchors. Per
 * event, each relevant field value (folded) is scanned once: at each position
 * the 4-byte window is tested against a bitmap, and the 2- and 1-byte windows
 * against exact bitmaps of that field; a hit looks up (field, window) and
 * (keyword, window) in a hash table and verifies the whole literal in place.
 * A verified anchor marks its rules as candidates. A slot whose anchors are
 * exactly its gram is resolved by its first hit and skipped afterwards.
 *
 * Long mode: on a field whose anchors are all at least LONG_MIN_LEN bytes, each
 * anchor instead indexes a run of `stride` consecutive 8-byte windows, and the
 * scan probes only every stride-th position of the value (see scan_field).
 */

struct pf_anchor {
	uint32_t field;
	uint32_t len;
	const char *lit;
	uint32_t off;       /* position of the gram inside lit */
	uint32_t rules;     /* index into rule_ix */
	uint32_t nrules;
};

/* One hash slot: key (glen, field, gram) -> anchors [first, first + n) of by_key. */
struct pf_slot {
	uint32_t field;
	uint32_t gram;
	uint32_t first;
	uint16_t n;
	uint8_t glen;       /* 0 = empty slot */
	uint8_t exact;      /* every anchor here is the gram itself */
};

/*
 * The filters of one field (or of keyword anchors, field 0). 4-grams: bm4 is a
 * bitmap over a hash of the whole gram, about 16 bits per gram; fields with
 * many grams also get pre2, an exact bitmap of the grams' first two bytes
 * (8 KB, stays in L1) tested first. 2- and 1-byte grams: exact bitmaps.
 */
#define PF_CLASS_WORDS 4 /* bits for 256 event classes */

struct pf_field {
	uint64_t classes[PF_CLASS_WORDS]; /* event classes whose rules anchor on this field */
	uint64_t *pre2;     /* 65536 bits, or NULL */
	uint64_t *bm2;      /* 65536 bits, or NULL */
	uint64_t *bm4;      /* NULL when no 4-grams */
	uint64_t bm1[256 / 64];
	uint32_t n4;        /* 4-grams of this field */
	uint8_t shift4;     /* 32 - log2(bm4 bits) */
	uint8_t shift8;     /* 32 - log2(bm8 bits) */
	uint32_t stride;    /* long mode: 8-byte windows probed every stride bytes (0: normal mode) */
	uint32_t n8;        /* long mode: indexed 8-byte windows */
	uint32_t minlen;    /* shortest anchor on this field */
	uint64_t *bm8;      /* long mode: bitmap over a hash of the 8-byte windows */
	uint8_t has1;
};

#define PRE2_MIN_GRAMS 256 /* below this bm4 is small enough to test directly */

struct sg_prefilter {
	struct pf_anchor *anchors;
	uint32_t nanchors;
	uint32_t *rule_ix;       /* rule indexes per anchor */
	uint32_t *by_key;        /* anchor ids grouped by key */
	uint32_t *by_off;        /* per by_key entry: where the key's window sits in the anchor */
	struct pf_slot *slots;
	uint32_t slot_mask;
	struct pf_field **fields; /* field id -> its filters, or NULL when it has no anchors */
	uint32_t max_field;
	int keyword;             /* some anchors are keyword searches (field 0) */
};

static inline uint32_t rd4(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint32_t gram_of(const unsigned char *p, int glen)
{
	return glen == 4 ? rd4(p) : glen == 2 ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) : p[0];
}

static inline uint32_t h4(uint32_t g, unsigned shift)
{
	return (g * 0x9E3779B1u) >> shift;
}

static inline int bit(const uint64_t *bm, uint32_t i)
{
	return (int)((bm[i / 64] >> (i % 64)) & 1);
}

static inline uint32_t slot_hash(uint32_t field, uint32_t gram, int glen)
{
	uint64_t x = ((uint64_t)field << 35) ^ ((uint64_t)glen << 32) ^ gram;
	x *= 0x9E3779B97F4A7C15ull;
	return (uint32_t)(x >> 32);
}

static inline uint32_t slot_find(const struct sg_prefilter *pf, uint32_t field, uint32_t gram, int glen)
{
	for (uint32_t i = slot_hash(field, gram, glen) & pf->slot_mask;; i = (i + 1) & pf->slot_mask) {
		const struct pf_slot *s = &pf->slots[i];
		if (!s->glen)
			return UINT32_MAX;
		if (s->gram == gram && s->field == field && s->glen == glen)
			return i;
	}
}

/* Gram frequency counting over all anchors: a small open-addressing table. */
struct gcount {
	uint64_t *keys;   /* (glen << 32 | gram) + 1, 0 empty */
	uint32_t *counts;
	uint32_t mask;
};

static uint32_t *gc_slot(struct gcount *gc, int glen, uint32_t gram, int insert)
{
	uint64_t key = (((uint64_t)glen << 32) | gram) + 1;
	for (uint32_t i = slot_hash(0, gram, glen) & gc->mask;; i = (i + 1) & gc->mask) {
		if (gc->keys[i] == key)
			return &gc->counts[i];
		if (!gc->keys[i]) {
			if (!insert)
				return NULL;
			gc->keys[i] = key;
			return &gc->counts[i];
		}
	}
}

/* Long mode: an 8-byte window hashed to 32 bits (collisions only cost a verification). */
static inline uint32_t gram8(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> 32);
}

#define LONG_MIN_LEN 16 /* a field whose anchors are all this long is probed by stride (long mode) */

static int glen_for(uint32_t len)
{
	return len >= 4 ? 4 : len >= 2 ? 2 : 1;
}

static uint64_t anchor_hash(uint32_t field, const char *lit, uint32_t len)
{
	return vg_hash_bytes(lit, len) ^ ((uint64_t)field * 0x9E3779B97F4A7C15ull);
}

void vg_sigma_prefilter_free(struct sg_prefilter *pf)
{
	if (!pf)
		return;
	if (pf->fields) {
		for (uint32_t f = 0; f <= pf->max_field; f++) {
			if (pf->fields[f]) {
				free(pf->fields[f]->bm4);
				free(pf->fields[f]->pre2);
				free(pf->fields[f]->bm2);
				free(pf->fields[f]->bm8);
			}
			free(pf->fields[f]);
		}
	}
	free(pf->fields);
	free(pf->anchors);
	free(pf->rule_ix);
	free(pf->by_key);
	free(pf->by_off);
	free(pf->slots);
	free(pf);
}

/* Finds the distinct-anchor id of an anchor in the temporary id table. */
static uint32_t anchor_id(const struct sg_prefilter *pf, const uint32_t *ids, uint32_t mask, const struct sg_anchor *an)
{
	for (uint32_t i = (uint32_t)anchor_hash(an->field, an->lit, an->len) & mask;; i = (i + 1) & mask) {
		if (ids[i] == UINT32_MAX)
			return UINT32_MAX;
		const struct pf_anchor *pa = &pf->anchors[ids[i]];
		if (pa->field == an->field && pa->len == an->len && memcmp(pa->lit, an->lit, an->len) == 0)
			return ids[i];
	}
}

struct sg_prefilter *vg_sigma_prefilter_build(struct sg_rule **rules, size_t nrules)
{
	struct sg_prefilter *pf = calloc(1, sizeof(*pf));
	uint32_t total = 0, *ids = NULL, idmask, *fill = NULL, *slot_of = NULL;
	struct gcount gc = { 0 };

	if (!pf)
		return NULL;
	for (size_t r = 0; r < nrules; r++)
		if (!rules[r]->always)
			total += rules[r]->nanchors;
	if (total == 0 || total > (1u << 26))
		goto fail;

	/* 1. distinct anchors and their rules */
	uint32_t cap = 16;
	while (cap < total * 2)
		cap *= 2;
	idmask = cap - 1;
	ids = malloc(cap * sizeof(*ids));
	pf->anchors = calloc(total, sizeof(*pf->anchors));
	if (!ids || !pf->anchors)
		goto fail;
	memset(ids, 0xFF, cap * sizeof(*ids));
	for (size_t r = 0; r < nrules; r++) {
		const struct sg_rule *ru = rules[r];
		for (uint32_t k = 0; !ru->always && k < ru->nanchors; k++) {
			const struct sg_anchor *an = &ru->anchors[k];
			uint32_t id = anchor_id(pf, ids, idmask, an);
			if (id == UINT32_MAX) {
				uint32_t i = (uint32_t)anchor_hash(an->field, an->lit, an->len) & idmask;
				while (ids[i] != UINT32_MAX)
					i = (i + 1) & idmask;
				id = ids[i] = pf->nanchors++;
				pf->anchors[id].field = an->field;
				pf->anchors[id].len = an->len;
				pf->anchors[id].lit = an->lit;
			}
			pf->anchors[id].nrules++;
			if (an->field > pf->max_field)
				pf->max_field = an->field;
		}
	}
	pf->rule_ix = malloc(total * sizeof(*pf->rule_ix));
	fill = calloc(pf->nanchors, sizeof(*fill));
	if (!pf->rule_ix || !fill)
		goto fail;
	for (uint32_t a = 0, off = 0; a < pf->nanchors; a++) {
		pf->anchors[a].rules = off;
		off += pf->anchors[a].nrules;
	}
	for (size_t r = 0; r < nrules; r++) {
		const struct sg_rule *ru = rules[r];
		for (uint32_t k = 0; !ru->always && k < ru->nanchors; k++) {
			uint32_t id = anchor_id(pf, ids, idmask, &ru->anchors[k]);
			pf->rule_ix[pf->anchors[id].rules + fill[id]++] = ru->index;
		}
	}
	free(ids);
	ids = NULL;

	/* 2. the fields' filters; fields whose anchors are all long are probed by stride (long mode) */
	pf->fields = calloc((size_t)pf->max_field + 1, sizeof(*pf->fields));
	if (!pf->fields)
		goto fail;
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		const struct pf_anchor *pa = &pf->anchors[a];
		struct pf_field *pfld = pf->fields[pa->field];
		if (!pfld && !(pfld = pf->fields[pa->field] = calloc(1, sizeof(*pfld))))
			goto fail;
		if (!pfld->minlen || pa->len < pfld->minlen)
			pfld->minlen = pa->len;
	}
	for (uint32_t f = 1; f <= pf->max_field; f++)
		if (pf->fields[f] && pf->fields[f]->minlen >= LONG_MIN_LEN)
			pf->fields[f]->stride = (pf->fields[f]->minlen - 7) / 2;

	/* 3. gram frequencies over every window of every anchor; each anchor takes its rarest
	 * (long mode: its run of stride consecutive 8-byte windows with the fewest repeats) */
	size_t windows = 0, entries = 0;
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		const struct pf_anchor *pa = &pf->anchors[a];
		uint32_t stride = pf->fields[pa->field]->stride;
		windows += pa->len - (uint32_t)(stride ? 8 : glen_for(pa->len)) + 1;
		entries += stride ? stride : 1;
	}
	if (entries > (1u << 27))
		goto fail;
	uint32_t gcap = 16;
	while (gcap < windows * 2 && gcap < (1u << 30))
		gcap *= 2;
	gc.mask = gcap - 1;
	gc.keys = calloc(gcap, sizeof(*gc.keys));
	gc.counts = calloc(gcap, sizeof(*gc.counts));
	if (!gc.keys || !gc.counts)
		goto fail;
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		const struct pf_anchor *pa = &pf->anchors[a];
		const unsigned char *lit = (const unsigned char *)pa->lit;
		if (pf->fields[pa->field]->stride) {
			for (uint32_t j = 0; j + 8 <= pa->len; j++)
				(*gc_slot(&gc, 8, gram8(lit + j), 1))++;
			continue;
		}
		int gl = glen_for(pa->len);
		for (uint32_t j = 0; j + (uint32_t)gl <= pa->len; j++)
			(*gc_slot(&gc, gl, gram_of(lit + j, gl), 1))++;
	}
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		struct pf_anchor *pa = &pf->anchors[a];
		const unsigned char *lit = (const unsigned char *)pa->lit;
		uint32_t stride = pf->fields[pa->field]->stride;
		if (stride) {
			uint64_t best = UINT64_MAX;
			for (uint32_t j0 = 0; j0 + stride + 7 <= pa->len; j0++) {
				uint64_t sum = 0;
				for (uint32_t j = j0; j < j0 + stride; j++)
					sum += *gc_slot(&gc, 8, gram8(lit + j), 0);
				if (sum < best) {
					best = sum;
					pa->off = j0;
				}
			}
			continue;
		}
		int gl = glen_for(pa->len);
		uint32_t best = UINT32_MAX;
		for (uint32_t j = 0; j + (uint32_t)gl <= pa->len; j++) {
			uint32_t c = *gc_slot(&gc, gl, gram_of(lit + j, gl), 0);
			if (c < best) {
				best = c;
				pa->off = j;
			}
		}
	}
	free(gc.keys);
	free(gc.counts);
	gc.keys = NULL;
	gc.counts = NULL;

	/* 4. hash table (glen, field, gram) -> (anchor, window offset) entries, and the bitmaps */
	uint32_t scap = 16;
	while (scap < entries * 2)
		scap *= 2;
	pf->slot_mask = scap - 1;
	pf->slots = calloc(scap, sizeof(*pf->slots));
	pf->by_key = malloc(entries * sizeof(*pf->by_key));
	pf->by_off = malloc(entries * sizeof(*pf->by_off));
	slot_of = malloc(entries * sizeof(*slot_of));
	if (!pf->slots || !pf->by_key || !pf->by_off || !slot_of)
		goto fail;
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		const struct pf_anchor *pa = &pf->anchors[a];
		struct pf_field *pfld = pf->fields[pa->field];
		if (pfld->stride)
			pfld->n8 += pfld->stride;
		else
			pfld->n4 += glen_for(pa->len) == 4;
	}
	for (uint32_t f = 0; f <= pf->max_field; f++) {
		struct pf_field *pfld = pf->fields[f];
		unsigned lg = 9; /* 512 bits at least */
		if (!pfld)
			continue;
		if (pfld->n8) {
			while (lg < 24 && (1u << lg) < pfld->n8 * 16)
				lg++;
			pfld->shift8 = (uint8_t)(32 - lg);
			if (!(pfld->bm8 = calloc((1u << lg) / 64, sizeof(uint64_t))))
				goto fail;
			continue;
		}
		if (!pfld->n4)
			continue;
		/* about 16 bits per gram; 128 for fields with few grams, whose slot lookups would miss the cache */
		while (lg < 24 && (1u << lg) < pfld->n4 * (pfld->n4 < PRE2_MIN_GRAMS ? 128 : 16))
			lg++;
		pfld->shift4 = (uint8_t)(32 - lg);
		if (!(pfld->bm4 = calloc((1u << lg) / 64, sizeof(uint64_t))))
			goto fail;
		if (pfld->n4 >= PRE2_MIN_GRAMS && !(pfld->pre2 = calloc(65536 / 64, sizeof(uint64_t))))
			goto fail;
	}
	for (uint32_t i = 0; i <= pf->slot_mask; i++)
		pf->slots[i].exact = 1;
	size_t e = 0;
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		const struct pf_anchor *pa = &pf->anchors[a];
		struct pf_field *pfld = pf->fields[pa->field];
		uint32_t nwin = pfld->stride ? pfld->stride : 1;
		for (uint32_t w = 0; w < nwin; w++, e++) {
			const unsigned char *at = (const unsigned char *)pa->lit + pa->off + w;
			int gl = pfld->stride ? 8 : glen_for(pa->len);
			uint32_t g = gl == 8 ? gram8(at) : gram_of(at, gl);
			uint32_t i = slot_hash(pa->field, g, gl) & pf->slot_mask;
			for (;; i = (i + 1) & pf->slot_mask) {
				struct pf_slot *sl = &pf->slots[i];
				if (!sl->glen) {
					sl->glen = (uint8_t)gl;
					sl->field = pa->field;
					sl->gram = g;
				}
				if (sl->glen == gl && sl->field == pa->field && sl->gram == g)
					break;
			}
			if (pf->slots[i].n == UINT16_MAX) /* absurdly many anchors on one gram */
				goto fail;
			pf->slots[i].n++;
			if (pa->len != (uint32_t)gl)
				pf->slots[i].exact = 0;
			slot_of[e] = i;
			if (gl == 8) {
				uint32_t h = g >> pfld->shift8;
				pfld->bm8[h / 64] |= 1ull << (h % 64);
			} else if (gl == 4) {
				uint32_t h = h4(g, pfld->shift4), p2 = g & 0xFFFF;
				pfld->bm4[h / 64] |= 1ull << (h % 64);
				if (pfld->pre2)
					pfld->pre2[p2 / 64] |= 1ull << (p2 % 64);
			} else if (gl == 2) {
				if (!pfld->bm2 && !(pfld->bm2 = calloc(65536 / 64, sizeof(uint64_t))))
					goto fail;
				pfld->bm2[g / 64] |= 1ull << (g % 64);
			} else {
				pfld->bm1[g / 64] |= 1ull << (g % 64);
				pfld->has1 = 1;
			}
		}
		if (pa->field == 0)
			pf->keyword = 1;
	}
	for (uint32_t i = 0, off = 0; i <= pf->slot_mask; i++) {
		pf->slots[i].first = off;
		off += pf->slots[i].n;
		pf->slots[i].n = 0;
	}
	e = 0;
	for (uint32_t a = 0; a < pf->nanchors; a++) {
		const struct pf_anchor *pa = &pf->anchors[a];
		uint32_t nwin = pf->fields[pa->field]->stride ? pf->fields[pa->field]->stride : 1;
		for (uint32_t w = 0; w < nwin; w++, e++) {
			struct pf_slot *sl = &pf->slots[slot_of[e]];
			pf->by_off[sl->first + sl->n] = pa->off + w;
			pf->by_key[sl->first + sl->n++] = a;
		}
	}
	free(slot_of);
	free(fill);
	return pf;
fail:
	free(ids);
	free(fill);
	free(slot_of);
	free(gc.keys);
	free(gc.counts);
	vg_sigma_prefilter_free(pf);
	return NULL;
}

/* Verifies the anchors of slot si at text position i (where the gram is) and marks their rules. */
static void hit(const struct sg_prefilter *pf, struct sg_scratch *sc, uint32_t stamp, uint32_t si,
		const unsigned char *t, size_t n, size_t i)
{
	const struct pf_slot *s = &pf->slots[si];

	if (sc->slot_seen[si] == stamp)
		return;
	for (uint32_t k = 0; k < s->n; k++) {
		uint32_t a = pf->by_key[s->first + k], off = pf->by_off[s->first + k];
		const struct pf_anchor *pa = &pf->anchors[a];
		if (sc->pat_seen[a] == stamp || i < off || i - off + pa->len > n)
			continue;
		if (!s->exact && memcmp(t + i - off, pa->lit, pa->len) != 0)
			continue;
		sc->pat_seen[a] = stamp;
		for (uint32_t r = 0; r < pa->nrules; r++) {
			uint32_t ri = pf->rule_ix[pa->rules + r];
			if (sc->cand[ri] != stamp) {
				sc->cand[ri] = stamp;
				sc->cands[sc->ncands++] = ri;
			}
		}
	}
	if (s->exact)
		sc->slot_seen[si] = stamp;
}

/*
 * Scans one field value against one field's filters (its own, or the keyword
 * ones). The hot loop is the 4-gram test; the filters are copied to locals
 * so the compiler keeps them in registers across the rare hit() calls.
 */
static inline int bm1_has(const struct pf_field *f, unsigned c)
{
	return (int)((f->bm1[c / 64] >> (c % 64)) & 1);
}

static void scan_field(const struct sg_prefilter *pf, const struct pf_field *f, uint32_t field,
		       struct sg_scratch *sc, uint32_t stamp, const unsigned char *t, size_t n)
{
	const uint64_t *pre2 = f->pre2, *bm4 = f->bm4, *bm2 = f->bm2;
	const unsigned shift = f->shift4;
	const int has1 = f->has1, only4 = bm4 && !bm2 && !has1;
	size_t i = 0;
	uint32_t si;

	if (f->stride) {
		/*
		 * Long mode: every anchor here is at least minlen long and has stride
		 * consecutive 8-byte windows indexed, so wherever it occurs one of them
		 * starts at a multiple of stride: probing those positions is enough.
		 */
		const uint64_t *bm8 = f->bm8;
		const unsigned shift8 = f->shift8;
		for (; i + 8 <= n; i += f->stride) {
			uint32_t g = gram8(t + i), h = g >> shift8;
			if (bit(bm8, h) && (si = slot_find(pf, field, g, 8)) != UINT32_MAX)
				hit(pf, sc, stamp, si, t, n, i);
		}
		return;
	}

	/* one pass, one 4-byte load per position; the last three positions are done below */
	if (n >= 4) {
		const size_t last = n - 4;
		if (only4 && pre2) {
			for (; i <= last; i++) {
				uint32_t g = rd4(t + i);
				if (bit(pre2, g & 0xFFFF) && bit(bm4, h4(g, shift)) &&
				    (si = slot_find(pf, field, g, 4)) != UINT32_MAX)
					hit(pf, sc, stamp, si, t, n, i);
			}
		} else if (only4) {
			for (; i <= last; i++) {
				uint32_t g = rd4(t + i);
				if (bit(bm4, h4(g, shift)) && (si = slot_find(pf, field, g, 4)) != UINT32_MAX)
					hit(pf, sc, stamp, si, t, n, i);
			}
		} else {
			for (; i <= last; i++) {
				uint32_t g = rd4(t + i);
				if (bm4 && (!pre2 || bit(pre2, g & 0xFFFF)) && bit(bm4, h4(g, shift)) &&
				    (si = slot_find(pf, field, g, 4)) != UINT32_MAX)
					hit(pf, sc, stamp, si, t, n, i);
				if (bm2 && bit(bm2, g & 0xFFFF) && (si = slot_find(pf, field, g & 0xFFFF, 2)) != UINT32_MAX)
					hit(pf, sc, stamp, si, t, n, i);
				if (has1 && bm1_has(f, g & 0xFF) && (si = slot_find(pf, field, g & 0xFF, 1)) != UINT32_MAX)
					hit(pf, sc, stamp, si, t, n, i);
			}
		}
	}
	for (; i < n && (bm2 || has1); i++) {
		if (bm2 && i + 2 <= n) {
			uint32_t g2 = (uint32_t)t[i] | ((uint32_t)t[i + 1] << 8);
			if (bit(bm2, g2) && (si = slot_find(pf, field, g2, 2)) != UINT32_MAX)
				hit(pf, sc, stamp, si, t, n, i);
		}
		if (has1 && bm1_has(f, t[i]) && (si = slot_find(pf, field, t[i], 1)) != UINT32_MAX)
			hit(pf, sc, stamp, si, t, n, i);
	}
}

void vg_sigma_prefilter_use(struct sg_prefilter *pf, uint32_t field, size_t cls)
{
	if (field <= pf->max_field && pf->fields[field] && cls < PF_CLASS_WORDS * 64)
		pf->fields[field]->classes[cls / 64] |= 1ull << (cls % 64);
}

void vg_sigma_prefilter_scan(const struct sg_prefilter *pf, struct sg_scratch *sc, uint32_t stamp,
			     size_t cls, int kw)
{
	const struct vg_event *ev = sc->ev;
	const struct pf_field *kwf = kw && pf->keyword ? pf->fields[0] : NULL;
	const size_t cw = cls / 64;
	const uint64_t cb = 1ull << (cls % 64);

	for (uint32_t i = 0; i < ev->nfields; i++) {
		uint32_t id = ev->fields[i].id;
		const struct pf_field *own = NULL;
		if (id && id <= pf->max_field && pf->fields[id] && (cw >= PF_CLASS_WORDS || (pf->fields[id]->classes[cw] & cb)))
			own = pf->fields[id];
		const struct pf_field *k = sc->kw[i] ? kwf : NULL;
		if (!own && !k)
			continue;
		const unsigned char *t = (const unsigned char *)vg_sigma_low(sc, i);
		if (own)
			scan_field(pf, own, id, sc, stamp, t, ev->fields[i].len);
		if (k)
			scan_field(pf, k, 0, sc, stamp, t, ev->fields[i].len);
	}
}

uint32_t vg_sigma_prefilter_patterns(const struct sg_prefilter *pf)
{
	return pf ? pf->nanchors : 0;
}

uint32_t vg_sigma_prefilter_slots(const struct sg_prefilter *pf)
{
	return pf ? pf->slot_mask + 1 : 0;
}
