/* sigma_compile.c - turns one Sigma YAML document (rule, correlation or v1 collection part) into compiled, indexed form. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"

#define MAX_VALUES_PER_RULE 200000 /* values after expansion; bounds alias bombs and windash products */

struct cctx {
	struct sg_load *ld;
	struct vg_ruleset *rs;
	struct sg_arena *a;
	unsigned line;      /* document line */
	unsigned err_line;
	char err[512];
	size_t budget;      /* values left */
};

void vg_sigma_report(struct sg_load *ld, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld->rs->stats.failed++;
	if (ld->on_error)
		ld->on_error(ld->file, line, msg, ld->ctx);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct cctx *c, const struct sy_node *at, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0])
		return VG_EPARSE; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->err_line = at && at->line ? at->line : c->line;
	return VG_EPARSE;
}

static int oom(struct cctx *c)
{
	fail(c, NULL, "out of memory");
	return VG_ENOMEM;
}

/* Quotes at most 80 bytes of a node's text for messages. */
static const char *shown(const struct sy_node *n, char *buf, size_t len)
{
	size_t m = n && n->kind == SY_SCALAR ? n->len : 0;
	if (m > 80)
		m = 80;
	snprintf(buf, len, "%.*s%s", (int)m, n && n->kind == SY_SCALAR ? n->s : "", n && n->len > 80 ? "..." : "");
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return buf;
}

/* ---- metadata helpers ---- */

static int get_str(struct cctx *c, const struct sy_node *doc, const char *key, const char **out)
{
	const struct sy_node *n = vg_sigma_yaml_get(doc, key);

	*out = NULL;
	if (!n || vg_sigma_yaml_is_null(n))
		return 0;
	if (n->kind != SY_SCALAR)
		return fail(c, n, "'%s' must be a string", key);
	if (!(*out = vg_sigma_strndup(c->a, n->s, n->len)))
		return oom(c);
	return 0;
}

/* A scalar or a list of scalars as an array of strings. */
static int get_list(struct cctx *c, const struct sy_node *doc, const char *key, const char ***out, size_t *n)
{
	const struct sy_node *v = vg_sigma_yaml_get(doc, key);

	*out = NULL;
	*n = 0;
	if (!v || vg_sigma_yaml_is_null(v))
		return 0;
	if (v->kind == SY_MAP)
		return fail(c, v, "'%s' must be a list of strings", key);
	size_t cnt = v->kind == SY_SCALAR ? 1 : v->n;
	const char **list = vg_sigma_alloc(c->a, (cnt ? cnt : 1) * sizeof(*list));
	if (!list)
		return oom(c);
	for (size_t i = 0; i < cnt; i++) {
		const struct sy_node *it = v->kind == SY_SCALAR ? v : v->keys[i];
		if (it->kind != SY_SCALAR)
			return fail(c, it, "'%s' must be a list of strings", key);
		if (!(list[i] = vg_sigma_strndup(c->a, it->s, it->len)))
			return oom(c);
	}
	*out = list;
	*n = cnt;
	return 0;
}

/* author may be a string or (non-standard) a list: a list is joined with ", ". */
static int get_author(struct cctx *c, const struct sy_node *doc, const char **out)
{
	const char **list;
	size_t n, total = 0;

	if (get_list(c, doc, "author", &list, &n))
		return VG_EPARSE;
	*out = NULL;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(list[i]) + 2;
	char *s = vg_sigma_alloc(c->a, total + 1);
	if (!s)
		return oom(c);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, list[i]);
	}
	*out = s;
	return 0;
}

static const char *technique_of(struct cctx *c, const char **tags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *t = tags[i];
		size_t len = strlen(t), d = 0;
		if (len < 12 || !vg_strncaseeq(t, "attack.t", 8))
			continue;
		while (8 + d < len && t[8 + d] >= '0' && t[8 + d] <= '9')
			d++;
		if (d != 4)
			continue;
		if (len != 12) {
			if (len != 16 || t[12] != '.')
				continue;
			int ok = 1;
			for (size_t k = 13; k < 16; k++)
				ok &= t[k] >= '0' && t[k] <= '9';
			if (!ok)
				continue;
		}
		char *s = vg_sigma_strndup(c->a, t + 7, len - 7);
		if (s)
			s[0] = 'T';
		return s;
	}
	return NULL;
}

static int check_status(struct cctx *c, const struct sy_node *doc, const char *status)
{
	static const char *const ok[] = { "stable", "test", "experimental", "deprecated", "unsupported" };

	if (!status)
		return 0;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (strcmp(status, ok[i]) == 0)
			return 0;
	return fail(c, vg_sigma_yaml_get(doc, "status"), "invalid status '%s'", status);
}

static int get_level(struct cctx *c, const struct sy_node *doc, enum vg_level *out)
{
	const char *s;

	*out = VG_LEVEL_UNKNOWN;
	if (get_str(c, doc, "level", &s))
		return VG_EPARSE;
	if (!s)
		return 0;
	*out = vg_level_from_name(s);
	if (*out == VG_LEVEL_UNKNOWN)
		return fail(c, vg_sigma_yaml_get(doc, "level"), "invalid level '%s'", s);
	return 0;
}

/* ---- modifiers ---- */

enum { TR_WINDASH = 1, TR_BASE64, TR_BASE64OFF, TR_UTF16LE, TR_UTF16BE, TR_UTF16 };

struct mods {
	int match;     /* -1 none, or VK_CONTAINS / VK_PREFIX / VK_SUFFIX */
	int re, re_flags;
	int cidr, exists, fieldref, expand;
	int numop;     /* -1 none */
	int timepart;  /* -1 none */
	int all, cased, neq;
	int ntrans;
	uint8_t trans[16];
	const char *type_name; /* the modifier that fixed the value type, for messages */
};

static int parse_mods(struct cctx *c, const struct sy_node *key, const char *p, size_t n, struct mods *m)
{
	static const struct { const char *name; int kind, arg; } table[] = {
		{ "contains", 1, VK_CONTAINS }, { "startswith", 1, VK_PREFIX }, { "endswith", 1, VK_SUFFIX },
		{ "all", 2, 0 }, { "cased", 3, 0 }, { "neq", 4, 0 },
		{ "windash", 5, TR_WINDASH }, { "base64", 5, TR_BASE64 }, { "base64offset", 5, TR_BASE64OFF },
		{ "utf16le", 5, TR_UTF16LE }, { "wide", 5, TR_UTF16LE }, { "utf16be", 5, TR_UTF16BE },
		{ "utf16", 5, TR_UTF16 },
		{ "re", 6, 0 }, { "i", 7, PCRE2_CASELESS }, { "ignorecase", 7, PCRE2_CASELESS },
		{ "m", 7, PCRE2_MULTILINE }, { "multiline", 7, PCRE2_MULTILINE },
		{ "s", 7, PCRE2_DOTALL }, { "dotall", 7, PCRE2_DOTALL },
		{ "lt", 8, NUM_LT }, { "lte", 8, NUM_LTE }, { "gt", 8, NUM_GT }, { "gte", 8, NUM_GTE },
		{ "cidr", 9, 0 }, { "exists", 10, 0 }, { "fieldref", 11, 0 }, { "expand", 12, 0 },
		{ "minute", 13, TP_MINUTE }, { "hour", 13, TP_HOUR }, { "day", 13, TP_DAY },
		{ "week", 13, TP_WEEK }, { "month", 13, TP_MONTH }, { "year", 13, TP_YEAR },
	};
	memset(m, 0, sizeof(*m));
	m->match = -1;
	m->numop = -1;
	m->timepart = -1;

	while (n > 0) {
		const char *bar = memchr(p, '|', n);
		size_t len = bar ? (size_t)(bar - p) : n;
		size_t i;
		if (len == 0)
			return fail(c, key, "empty modifier");
		for (i = 0; i < sizeof(table) / sizeof(*table); i++)
			if (strlen(table[i].name) == len && vg_strncaseeq(table[i].name, p, len))
				break;
		if (i == sizeof(table) / sizeof(*table))
			return fail(c, key, "unknown modifier '%.*s'", (int)(len > 60 ? 60 : len), p);
		const char *name = table[i].name;
		int typed = m->re || m->cidr || m->exists || m->numop >= 0 || m->timepart >= 0;
		switch (table[i].kind) {
		case 1:
			if (m->match >= 0 && m->match != table[i].arg)
				return fail(c, key, "modifiers '%s' and another of contains/startswith/endswith conflict", name);
			if (typed)
				return fail(c, key, "modifier '%s' cannot follow '%s'", name, m->type_name);
			m->match = table[i].arg;
			break;
		case 2: m->all = 1; break;
		case 3: m->cased = 1; break;
		case 4: m->neq = 1; break;
		case 5:
			if (typed || m->fieldref)
				return fail(c, key, "modifier '%s' cannot follow '%s'", name,
					    m->fieldref ? "fieldref" : m->type_name);
			if (m->ntrans == (int)sizeof(m->trans))
				return fail(c, key, "too many modifiers");
			m->trans[m->ntrans++] = (uint8_t)table[i].arg;
			break;
		case 6:
			if (typed || m->match >= 0 || m->ntrans || m->fieldref || m->expand)
				return fail(c, key, "modifier 're' cannot be combined with %s",
					    m->match >= 0 ? "contains/startswith/endswith" : "the modifiers before it");
			m->re = 1;
			m->type_name = "re";
			break;
		case 7:
			if (!m->re)
				return fail(c, key, "modifier '%s' is only valid after 're'", name);
			m->re_flags |= table[i].arg;
			break;
		case 8:
			if ((typed && m->timepart < 0) || m->numop >= 0 || m->match >= 0 || m->ntrans || m->fieldref)
				return fail(c, key, "numeric modifier '%s' cannot be combined with the modifiers before it", name);
			m->numop = table[i].arg;
			if (!m->type_name)
				m->type_name = name;
			break;
		case 9:
			if (typed || m->match >= 0 || m->ntrans || m->fieldref)
				return fail(c, key, "modifier 'cidr' cannot be combined with the modifiers before it");
			m->cidr = 1;
			m->type_name = "cidr";
			break;
		case 10:
			if (typed || m->match >= 0 || m->ntrans || m->fieldref)
				return fail(c, key, "modifier 'exists' cannot be combined with other modifiers");
			m->exists = 1;
			m->type_name = "exists";
			break;
		case 11:
			if (typed || m->ntrans)
				return fail(c, key, "modifier 'fieldref' cannot be combined with the modifiers before it");
			m->fieldref = 1;
			break;
		case 12:
			m->expand = 1;
			break;
		case 13:
			if (typed || m->match >= 0 || m->ntrans || m->fieldref)
				return fail(c, key, "time modifier '%s' cannot be combined with the modifiers before it", name);
			m->timepart = table[i].arg;
			m->type_name = name;
			break;
		}
		p += len + (bar ? 1 : 0);
		n -= len + (bar ? 1 : 0);
		if (bar && n == 0)
			return fail(c, key, "empty modifier");
	}
	if (m->exists && (m->all || m->neq || m->expand))
		return fail(c, key, "modifier 'exists' cannot be combined with other modifiers");
	if (m->expand && (m->re || m->cidr || m->numop >= 0 || m->timepart >= 0 || m->fieldref))
		return fail(c, key, "modifier 'expand' applies to string values only");
	return 0;
}

/* ---- values ---- */

struct vbuf {
	struct sg_value *v;
	size_t n, cap;
};

static struct sg_value *vpush(struct cctx *c, struct vbuf *b)
{
	if (c->budget == 0) {
		fail(c, NULL, "too many values in rule (more than %d after expansion)", MAX_VALUES_PER_RULE);
		return NULL;
	}
	c->budget--;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct sg_value *v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			oom(c);
			return NULL;
		}
		b->v = v;
		b->cap = cap;
	}
	struct sg_value *v = &b->v[b->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* Adds one string pattern, applying the match type (implicit wildcards) and folding. */
static int add_pattern(struct cctx *c, struct vbuf *b, const struct sg_str *s0, const struct mods *m,
		       int int_lit, const struct sy_node *src)
{
	struct sg_str s = { 0 };
	int lead = m->match == VK_CONTAINS || m->match == VK_SUFFIX;
	int trail = m->match == VK_CONTAINS || m->match == VK_PREFIX;
	int rc = 0;

	if (lead && !(s0->n && s0->k[0] == SK_STAR))
		rc |= vg_sigma_str_push(&s, '*', SK_STAR);
	for (size_t i = 0; i < s0->n; i++) {
		/* collapse runs of '*' */
		if (s0->k[i] == SK_STAR && s.n && s.k[s.n - 1] == SK_STAR)
			continue;
		rc |= vg_sigma_str_push(&s, s0->b[i], s0->k[i]);
	}
	if (trail && !(s.n && s.k[s.n - 1] == SK_STAR))
		rc |= vg_sigma_str_push(&s, '*', SK_STAR);
	if (rc) {
		vg_sigma_str_free(&s);
		return oom(c);
	}

	size_t stars = 0, ones = 0;
	for (size_t i = 0; i < s.n; i++) {
		stars += s.k[i] == SK_STAR;
		ones += s.k[i] == SK_ONE;
	}
	int first_star = s.n && s.k[0] == SK_STAR;
	int last_star = s.n > 1 && s.k[s.n - 1] == SK_STAR;
	struct sg_value *v = vpush(c, b);
	if (!v) {
		vg_sigma_str_free(&s);
		return VG_EPARSE;
	}
	v->cased = (uint8_t)m->cased;
	v->int_lit = (uint8_t)int_lit;
	const uint8_t *lit = s.b;
	size_t litn = s.n;
	if (ones == 0 && stars == 0) {
		v->kind = VK_EQ;
	} else if (ones == 0 && stars == 1 && s.n == 1) {
		v->kind = VK_CONTAINS; /* "*": any value */
		litn = 0;
	} else if (ones == 0 && stars == 2 && first_star && last_star) {
		v->kind = VK_CONTAINS;
		lit++;
		litn -= 2;
	} else if (ones == 0 && stars == 1 && first_star) {
		v->kind = VK_SUFFIX;
		lit++;
		litn--;
	} else if (ones == 0 && stars == 1 && s.k[s.n - 1] == SK_STAR) {
		v->kind = VK_PREFIX;
		litn--;
	} else {
		v->kind = VK_GLOB;
	}
	if (litn > UINT32_MAX / 2) {
		vg_sigma_str_free(&s);
		return fail(c, src, "value too long");
	}
	char *pat = vg_sigma_alloc(c->a, litn + 1);
	if (!pat) {
		vg_sigma_str_free(&s);
		return oom(c);
	}
	if (litn)
		memcpy(pat, lit, litn);
	if (!m->cased)
		vg_sigma_fold(pat, pat, litn);
	v->pat = pat;
	v->len = (uint32_t)litn;
	if (v->kind == VK_GLOB) {
		uint8_t *k = vg_sigma_alloc(c->a, litn + 1);
		if (!k) {
			vg_sigma_str_free(&s);
			return oom(c);
		}
		memcpy(k, s.k, litn);
		v->glob.b = (const uint8_t *)pat;
		v->glob.k = k;
		v->glob.n = (uint32_t)litn;
	}
	if (int_lit) {
		double d;
		int64_t iv;
		int is_int;
		if (vg_sigma_parse_num((const char *)s0->b, s0->n, &d, &iv, &is_int) == 0 && is_int) {
			v->inum = iv;
			v->num_is_int = 1;
		} else {
			v->int_lit = 0;
		}
	}
	vg_sigma_str_free(&s);
	return 0;
}

static int apply_trans(struct cctx *c, const struct sy_node *src, int tr, struct sg_str *in,
		       struct sg_str **out)
{
	int rc;
	switch (tr) {
	case TR_WINDASH:
		rc = vg_sigma_windash(in, out);
		break;
	case TR_BASE64:
	case TR_BASE64OFF:
		rc = vg_sigma_base64(in, tr == TR_BASE64OFF, out);
		if (rc == VG_EINVAL)
			return fail(c, src, "base64 of a value with wildcards is not defined");
		break;
	case TR_UTF16LE:
		rc = vg_sigma_utf16(in, 0, out);
		break;
	case TR_UTF16BE:
		rc = vg_sigma_utf16(in, 1, out);
		break;
	default:
		rc = vg_sigma_utf16(in, 2, out);
		break;
	}
	if (rc == VG_ELIMIT)
		return fail(c, src, "windash: too many dash positions (more than %d combinations)", SG_MAX_EXPANSION);
	if (rc < 0)
		return oom(c);
	return rc;
}

/* Runs transforms [t..] over s, adding every result as a pattern. Frees nothing it does not own. */
static int transform_all(struct cctx *c, struct vbuf *b, struct sg_str *s, const struct mods *m, int t,
			 int int_lit, const struct sy_node *src)
{
	if (t == m->ntrans)
		return add_pattern(c, b, s, m, int_lit && t == 0, src);
	struct sg_str *list;
	int cnt = apply_trans(c, src, m->trans[t], s, &list);
	if (cnt < 0)
		return cnt;
	int rc = 0;
	for (int i = 0; i < cnt; i++) {
		if (!rc)
			rc = transform_all(c, b, &list[i], m, t + 1, 0, src);
		vg_sigma_str_free(&list[i]);
	}
	free(list);
	return rc;
}

/* |expand: %name% placeholders become each configured value; "\%" is a plain percent. */
static int expand_value(struct cctx *c, const struct sy_node *src, const char *raw, size_t n,
			char ***out, size_t *nout)
{
	char **cur = calloc(1, sizeof(char *));
	size_t ncur = 1;
	size_t i = 0;

	if (!cur || !(cur[0] = calloc(1, 1))) {
		free(cur);
		return oom(c);
	}
	while (i < n) {
		const char *const *alts;
		const char *lit;
		size_t nalts, litn;
		const char *one[1];
		size_t start = i;

		if (raw[i] == '\\' && i + 1 < n && raw[i + 1] == '%') {
			lit = "%";
			litn = 1;
			i += 2;
			one[0] = NULL;
			alts = NULL;
			nalts = 0;
		} else if (raw[i] == '%' && memchr(raw + i + 1, '%', n - i - 1)) {
			const char *end = memchr(raw + i + 1, '%', n - i - 1);
			size_t nl = (size_t)(end - raw - i - 1);
			const struct sg_placeholder *ph = NULL;
			for (size_t k = 0; k < c->rs->nph; k++)
				if (strlen(c->rs->ph[k].name) == nl && memcmp(c->rs->ph[k].name, raw + i + 1, nl) == 0)
					ph = &c->rs->ph[k];
			if (!ph) {
				for (size_t k = 0; k < ncur; k++)
					free(cur[k]);
				free(cur);
				return fail(c, src, "unknown placeholder '%%%.*s%%' (no values given; set them with --placeholders FILE)",
					    (int)(nl > 60 ? 60 : nl), raw + i + 1);
			}
			alts = (const char *const *)ph->values;
			nalts = ph->n;
			lit = NULL;
			litn = 0;
			i += nl + 2;
		} else {
			while (i < n && raw[i] != '%' && !(raw[i] == '\\' && i + 1 < n && raw[i + 1] == '%'))
				i++;
			if (i == start) /* a lone '%' without a closing one */
				i++;
			lit = raw + start;
			litn = i - start;
			alts = NULL;
			nalts = 0;
		}
		if (lit) {
			one[0] = lit;
			alts = one;
			nalts = 1;
		}
		if (nalts == 0 || ncur * nalts > SG_MAX_EXPANSION) {
			for (size_t k = 0; k < ncur; k++)
				free(cur[k]);
			free(cur);
			return nalts == 0 ? fail(c, src, "placeholder has no values")
					  : fail(c, src, "placeholder expansion too large");
		}
		char **nxt = calloc(ncur * nalts, sizeof(char *));
		int bad = !nxt;
		for (size_t a = 0; !bad && a < ncur; a++) {
			for (size_t b = 0; !bad && b < nalts; b++) {
				size_t al = strlen(cur[a]), bl = lit ? litn : strlen(alts[b]);
				char *s = malloc(al + bl + 1);
				if (!s) {
					bad = 1;
					break;
				}
				memcpy(s, cur[a], al);
				memcpy(s + al, alts[b], bl);
				s[al + bl] = '\0';
				nxt[a * nalts + b] = s;
			}
		}
		for (size_t k = 0; k < ncur; k++)
			free(cur[k]);
		free(cur);
		if (bad) {
			if (nxt)
				for (size_t k = 0; k < ncur * nalts; k++)
					free(nxt[k]);
			free(nxt);
			return oom(c);
		}
		cur = nxt;
		ncur *= nalts;
	}
	*out = cur;
	*nout = ncur;
	return 0;
}

static int add_string_value(struct cctx *c, struct vbuf *b, const struct sy_node *v, const struct mods *m)
{
	int int_lit = vg_sigma_yaml_is_int(v);
	char **raws = NULL;
	size_t nraw = 0;
	int rc = 0;

	if (m->expand) {
		if ((rc = expand_value(c, v, v->s, v->len, &raws, &nraw)))
			return rc;
	}
	for (size_t i = 0; i < (m->expand ? nraw : 1) && !rc; i++) {
		struct sg_str s = { 0 };
		const char *raw = m->expand ? raws[i] : v->s;
		size_t len = m->expand ? strlen(raws[i]) : v->len;
		if (vg_sigma_str_parse(&s, raw, len))
			rc = oom(c);
		else
			rc = transform_all(c, b, &s, m, 0, int_lit, v);
		vg_sigma_str_free(&s);
	}
	for (size_t i = 0; i < nraw; i++)
		free(raws[i]);
	free(raws);
	return rc;
}

static int add_value(struct cctx *c, struct vbuf *b, const struct sy_node *v, const struct mods *m)
{
	char buf[100];
	struct sg_value *x;

	if (v->kind != SY_SCALAR)
		return fail(c, v, "a value list may contain only scalars");
	if (m->exists) {
		int t = vg_sigma_yaml_bool(v);
		if (t < 0)
			return fail(c, v, "'exists' needs true or false, got '%s'", shown(v, buf, sizeof(buf)));
		if (!(x = vpush(c, b)))
			return VG_EPARSE;
		x->kind = VK_EXISTS;
		x->num = t;
		return 0;
	}
	if (vg_sigma_yaml_is_null(v)) {
		if (m->re || m->cidr || m->numop >= 0 || m->timepart >= 0 || m->fieldref || m->ntrans)
			return fail(c, v, "null value with a typed modifier");
		if (!(x = vpush(c, b)))
			return VG_EPARSE;
		x->kind = VK_NULL;
		return 0;
	}
	if (m->re) {
		int ec;
		PCRE2_SIZE eo;
		uint32_t opts = (uint32_t)m->re_flags;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)v->s, v->len, opts | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
					       &ec, &eo, NULL);
		if (!re) /* not valid UTF-8, or UTF-only syntax trouble: byte mode */
			re = pcre2_compile((PCRE2_SPTR)v->s, v->len, opts, &ec, &eo, NULL);
		if (!re) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(ec, msg, sizeof(msg));
			return fail(c, v, "invalid regular expression: %s at offset %zu", (const char *)msg, (size_t)eo);
		}
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
		if (vg_sigma_ruleset_add_re(c->rs, re)) {
			pcre2_code_free(re);
			return oom(c);
		}
		if (!(x = vpush(c, b)))
			return VG_EPARSE;
		x->kind = VK_RE;
		x->re = re;
		x->re_caseless = (m->re_flags & PCRE2_CASELESS) != 0;
		x->len = (uint32_t)(v->len > UINT32_MAX / 2 ? 0 : v->len);
		if (!(x->pat = vg_sigma_strndup(c->a, v->s, x->len)))
			return oom(c);
		return 0;
	}
	if (m->cidr) {
		int fam, bits;
		uint8_t addr[16];
		if (vg_sigma_parse_cidr(v->s, v->len, &fam, addr, &bits))
			return fail(c, v, "invalid CIDR '%s'", shown(v, buf, sizeof(buf)));
		if (!(x = vpush(c, b)))
			return VG_EPARSE;
		x->kind = VK_CIDR;
		x->cidr_fam = (uint8_t)fam;
		x->cidr_bits = (uint8_t)bits;
		memcpy(x->cidr, addr, 16);
		return 0;
	}
	if (m->numop >= 0 || m->timepart >= 0) {
		double d;
		int64_t iv;
		int is_int;
		if (vg_sigma_parse_num(v->s, v->len, &d, &iv, &is_int))
			return fail(c, v, "'%s' needs a number, got '%s'", m->type_name, shown(v, buf, sizeof(buf)));
		if (!(x = vpush(c, b)))
			return VG_EPARSE;
		x->kind = m->timepart >= 0 ? VK_TIME : VK_NUM;
		x->numop = (uint8_t)(m->numop >= 0 ? m->numop : NUM_EQ);
		x->timepart = (uint8_t)(m->timepart >= 0 ? m->timepart : 0);
		x->num = d;
		x->inum = iv;
		x->num_is_int = (uint8_t)is_int;
		return 0;
	}
	if (m->fieldref) {
		if (v->len == 0 || memchr(v->s, '\0', v->len))
			return fail(c, v, "'fieldref' needs a field name");
		uint32_t id = vg_field_intern(v->s, v->len);
		if (!id)
			return oom(c);
		if (!(x = vpush(c, b)))
			return VG_EPARSE;
		x->kind = VK_FIELDREF;
		x->ref_field = id;
		x->ref_kind = (uint8_t)(m->match >= 0 ? m->match : VK_EQ);
		x->cased = (uint8_t)m->cased;
		if (id > c->rs->max_field)
			c->rs->max_field = id;
		return 0;
	}
	return add_string_value(c, b, v, m);
}

static uint32_t value_cost(const struct sg_value *v)
{
	switch (v->kind) {
	case VK_EQ: case VK_PREFIX: case VK_SUFFIX: return 2;
	case VK_CONTAINS: return 4 + v->len / 16;
	case VK_GLOB: return 10;
	case VK_RE: return 40;
	case VK_CIDR: return 6;
	case VK_FIELDREF: return 4;
	case VK_TIME: return 6;
	default: return 1;
	}
}

static int compile_matcher(struct cctx *c, const struct sy_node *key, const struct sy_node *val,
			   struct sg_matcher *out)
{
	struct mods m;
	struct vbuf b = { 0 };
	const char *bar;
	size_t flen;
	int rc = 0;

	if (key->kind != SY_SCALAR)
		return fail(c, key, "field names must be strings");
	bar = memchr(key->s, '|', key->len);
	flen = bar ? (size_t)(bar - key->s) : key->len;
	if (bar && flen + 1 == key->len)
		return fail(c, key, "empty modifier");
	if (bar && (rc = parse_mods(c, key, bar + 1, key->len - flen - 1, &m)))
		return rc;
	if (!bar)
		parse_mods(c, key, "", 0, &m);
	if (flen && memchr(key->s, '\0', flen))
		return fail(c, key, "field name contains a NUL byte");

	memset(out, 0, sizeof(*out));
	out->line = key->line;
	out->all = (uint8_t)m.all;
	out->neq = (uint8_t)m.neq;
	if (flen) {
		out->field = vg_field_intern(key->s, flen);
		if (!out->field)
			return oom(c);
		if (out->field > c->rs->max_field)
			c->rs->max_field = out->field;
	} else {
		/* keyword search: an unbound value is found anywhere, like "contains" */
		if (m.exists || m.fieldref || m.cidr || m.numop >= 0 || m.timepart >= 0)
			return fail(c, key, "a keyword search cannot use '%s'", m.exists ? "exists" :
				    m.fieldref ? "fieldref" : m.cidr ? "cidr" : "numeric modifiers");
		if (m.match < 0 && !m.re)
			m.match = VK_CONTAINS;
	}
	if (val && val->kind == SY_MAP)
		return fail(c, val, "the value of '%.*s' is a map; expected a value or a list",
			    (int)(key->len > 60 ? 60 : key->len), key->s);
	if (val && val->kind == SY_SEQ) {
		if (val->n == 0)
			return fail(c, val, "empty value list for '%.*s'", (int)(key->len > 60 ? 60 : key->len), key->s);
		for (size_t i = 0; i < val->n && !rc; i++)
			rc = add_value(c, &b, val->keys[i], &m);
	} else {
		struct sy_node null_node = { .kind = SY_SCALAR, .plain = 1, .s = "", .line = key->line };
		rc = add_value(c, &b, val ? val : &null_node, &m);
	}
	if (rc) {
		free(b.v);
		return rc;
	}
	if (m.exists && b.n != 1) {
		free(b.v);
		return fail(c, key, "'exists' takes a single true or false");
	}
	out->values = vg_sigma_alloc(c->a, b.n * sizeof(*b.v));
	if (!out->values) {
		free(b.v);
		return oom(c);
	}
	memcpy(out->values, b.v, b.n * sizeof(*b.v));
	out->nvalues = (uint32_t)b.n;
	free(b.v);
	out->cost = out->field ? 0 : 40; /* keyword search walks every field */
	for (uint32_t i = 0; i < out->nvalues; i++)
		out->cost += value_cost(&out->values[i]);
	return 0;
}

static int cmp_matcher(const void *x, const void *y)
{
	const struct sg_matcher *a = x, *b = y;
	return a->cost < b->cost ? -1 : a->cost > b->cost;
}

/* A map: AND of its entries. Duplicate keys: the last wins (as in PyYAML). */
static int compile_group(struct cctx *c, const struct sy_node *map, struct sg_group *g)
{
	size_t n = 0;

	if (map->n == 0)
		return fail(c, map, "empty map in detection");
	g->m = vg_sigma_alloc(c->a, map->n * sizeof(*g->m));
	if (!g->m)
		return oom(c);
	for (size_t i = 0; i < map->n; i++) {
		const struct sy_node *k = map->keys[i];
		int dup = 0;
		for (size_t j = i + 1; j < map->n && k->kind == SY_SCALAR; j++)
			dup |= map->keys[j]->kind == SY_SCALAR && map->keys[j]->len == k->len &&
			       memcmp(map->keys[j]->s, k->s, k->len) == 0;
		if (dup)
			continue;
		int rc = compile_matcher(c, k, map->vals[i], &g->m[n]);
		if (rc)
			return rc;
		g->cost += g->m[n].cost;
		n++;
	}
	g->n = (uint32_t)n;
	qsort(g->m, n, sizeof(*g->m), cmp_matcher);
	return 0;
}

static int cmp_group(const void *x, const void *y)
{
	const struct sg_group *a = x, *b = y;
	return a->cost < b->cost ? -1 : a->cost > b->cost;
}

static int compile_sel(struct cctx *c, const struct sy_node *key, const struct sy_node *v, struct sg_sel *s)
{
	char buf[100];

	if (key->kind != SY_SCALAR || key->len == 0 || memchr(key->s, '\0', key->len))
		return fail(c, key, "invalid search identifier");
	s->name = vg_sigma_strndup(c->a, key->s, key->len);
	if (!s->name)
		return oom(c);
	if (!v || (v->kind == SY_SCALAR && vg_sigma_yaml_is_null(v)))
		return fail(c, key, "search identifier '%s' is empty", shown(key, buf, sizeof(buf)));
	if (v->kind == SY_MAP) {
		s->g = vg_sigma_alloc(c->a, sizeof(*s->g));
		if (!s->g)
			return oom(c);
		s->n = 1;
		int rc = compile_group(c, v, s->g);
		s->cost = s->g->cost;
		return rc;
	}

	/* a scalar or a list: maps are OR-ed groups, plain values one keyword search */
	size_t nitems = v->kind == SY_SEQ ? v->n : 1, nmaps = 0, nkw = 0;
	if (nitems == 0)
		return fail(c, v, "search identifier '%s' is an empty list", s->name);
	for (size_t i = 0; i < nitems; i++) {
		const struct sy_node *it = v->kind == SY_SEQ ? v->keys[i] : v;
		if (it->kind == SY_MAP)
			nmaps++;
		else if (it->kind == SY_SCALAR)
			nkw++;
		else
			return fail(c, it, "nested lists are not valid in a search identifier");
	}
	s->g = vg_sigma_alloc(c->a, (nmaps + (nkw ? 1 : 0)) * sizeof(*s->g));
	if (!s->g)
		return oom(c);
	for (size_t i = 0; i < nitems; i++) {
		const struct sy_node *it = v->kind == SY_SEQ ? v->keys[i] : v;
		if (it->kind != SY_MAP)
			continue;
		int rc = compile_group(c, it, &s->g[s->n]);
		if (rc)
			return rc;
		s->cost += s->g[s->n].cost;
		s->n++;
	}
	if (nkw) {
		struct sy_node kw_key = { .kind = SY_SCALAR, .s = "", .len = 0, .line = v->line };
		struct sy_node list = *v;
		struct sg_group *g = &s->g[s->n];
		if (v->kind == SY_SEQ && nmaps) { /* only the plain values of a mixed list */
			list.keys = vg_sigma_alloc(c->a, nkw * sizeof(*list.keys));
			if (!list.keys)
				return oom(c);
			list.n = 0;
			for (size_t i = 0; i < v->n; i++)
				if (v->keys[i]->kind == SY_SCALAR)
					list.keys[list.n++] = v->keys[i];
		}
		g->m = vg_sigma_alloc(c->a, sizeof(*g->m));
		if (!g->m)
			return oom(c);
		g->n = 1;
		int rc = compile_matcher(c, &kw_key, &list, g->m);
		if (rc)
			return rc;
		g->cost = g->m->cost;
		s->cost += g->cost;
		s->n++;
	}
	qsort(s->g, s->n, sizeof(*s->g), cmp_group);
	return 0;
}

/* Orders AND/OR operands cheapest first (evaluation short-circuits). */
static uint32_t cond_cost(struct sg_cond *n, const struct sg_sel *sels);

static int cmp_cond(const void *x, const void *y)
{
	const struct sg_cond *a = *(const struct sg_cond *const *)x, *b = *(const struct sg_cond *const *)y;
	return a->cost < b->cost ? -1 : a->cost > b->cost;
}

static uint32_t cond_cost(struct sg_cond *n, const struct sg_sel *sels)
{
	uint64_t sum = 0;

	switch (n->op) {
	case OP_SEL:
		n->cost = sels[n->sel].cost;
		return n->cost;
	case OP_CONST:
		n->cost = 0;
		return 0;
	default:
		break;
	}
	for (uint32_t i = 0; i < n->n; i++)
		sum += cond_cost(n->kids[i], sels);
	if (n->op == OP_AND || n->op == OP_OR || n->op == OP_NOF)
		qsort(n->kids, n->n, sizeof(*n->kids), cmp_cond);
	n->cost = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
	return n->cost;
}

static int compile_detection(struct cctx *c, const struct sy_node *doc, struct sg_rule *r)
{
	const struct sy_node *det = vg_sigma_yaml_get(doc, "detection");
	const struct sy_node *cond;
	char err[256];

	if (!det)
		return fail(c, NULL, "missing 'detection'");
	if (det->kind != SY_MAP)
		return fail(c, det, "'detection' must be a map");
	cond = vg_sigma_yaml_get(det, "condition");
	if (!cond || vg_sigma_yaml_is_null(cond))
		return fail(c, det, "detection: missing 'condition'");

	size_t nsel = 0;
	for (size_t i = 0; i < det->n; i++) {
		const struct sy_node *k = det->keys[i];
		if (k->kind == SY_SCALAR && (strcmp(k->s, "condition") == 0 || strcmp(k->s, "timeframe") == 0))
			continue;
		nsel++;
	}
	if (nsel == 0)
		return fail(c, det, "detection: no search identifiers");
	r->sels = vg_sigma_alloc(c->a, nsel * sizeof(*r->sels));
	if (!r->sels)
		return oom(c);
	for (size_t i = 0; i < det->n; i++) {
		const struct sy_node *k = det->keys[i];
		if (k->kind == SY_SCALAR && (strcmp(k->s, "condition") == 0 || strcmp(k->s, "timeframe") == 0))
			continue;
		int dup = 0;
		for (size_t j = i + 1; j < det->n && k->kind == SY_SCALAR; j++)
			dup |= det->keys[j]->kind == SY_SCALAR && det->keys[j]->len == k->len &&
			       memcmp(det->keys[j]->s, k->s, k->len) == 0;
		if (dup)
			continue;
		int rc = compile_sel(c, k, det->vals[i], &r->sels[r->nsels]);
		if (rc)
			return rc;
		r->nsels++;
	}

	/* condition: a string, or a list of strings OR-ed together */
	size_t nconds = cond->kind == SY_SEQ ? cond->n : 1;
	if (cond->kind == SY_MAP || nconds == 0)
		return fail(c, cond, "'condition' must be a string or a list of strings");
	struct sg_cond *top = NULL;
	if (nconds > 1 && !(top = vg_sigma_alloc(c->a, sizeof(*top))))
		return oom(c);
	if (top) {
		top->op = OP_OR;
		top->n = (uint32_t)nconds;
		if (!(top->kids = vg_sigma_alloc(c->a, nconds * sizeof(*top->kids))))
			return oom(c);
	}
	for (size_t i = 0; i < nconds; i++) {
		const struct sy_node *cn = cond->kind == SY_SEQ ? cond->keys[i] : cond;
		struct sg_cond *out;
		if (cn->kind != SY_SCALAR)
			return fail(c, cn, "'condition' must be a string or a list of strings");
		if (vg_sigma_cond_parse(c->a, cn->s, cn->len, r->sels, r->nsels, &out, err, sizeof(err)))
			return fail(c, cn, "%s", err);
		if (top)
			top->kids[i] = out;
		else
			top = out;
	}
	r->cond = top;
	cond_cost(top, r->sels);
	if (r->nsels > c->rs->max_sels)
		c->rs->max_sels = r->nsels;
	return 0;
}

static int compile_related(struct cctx *c, const struct sy_node *doc, struct sg_rule *r)
{
	const struct sy_node *rel = vg_sigma_yaml_get(doc, "related");

	if (!rel || vg_sigma_yaml_is_null(rel))
		return 0;
	if (rel->kind != SY_SEQ)
		return fail(c, rel, "'related' must be a list of {id, type}");
	r->related = vg_sigma_alloc(c->a, (rel->n ? rel->n : 1) * sizeof(*r->related));
	if (!r->related)
		return oom(c);
	for (size_t i = 0; i < rel->n; i++) {
		const struct sy_node *it = rel->keys[i];
		if (it->kind != SY_MAP)
			return fail(c, it, "'related' must be a list of {id, type}");
		if (get_str(c, it, "id", &r->related[i].id) || get_str(c, it, "type", &r->related[i].type))
			return VG_EPARSE;
	}
	r->nrelated = rel->n;
	return 0;
}

static int ls_id(const char *name)
{
	return name ? vg_sigma_ls_id(name) : LS_ANY;
}

/* The project's own section, vigil: {action: alert|kill|quarantine|remediate, cloud: bool}. */
static int compile_vigil(struct cctx *c, const struct sy_node *doc, struct sg_rule *r)
{
	static const char *const actions[] = { "alert", "kill", "quarantine", "remediate" };
	const struct sy_node *v = vg_sigma_yaml_get(doc, "vigil"), *n;

	r->vigil_cloud = -1;
	if (!v || vg_sigma_yaml_is_null(v))
		return 0;
	if (v->kind != SY_MAP)
		return fail(c, v, "'vigil' must be a map");
	if (get_str(c, v, "action", &r->vigil_action))
		return VG_EPARSE;
	if (r->vigil_action) {
		size_t k = 0;
		while (k < sizeof(actions) / sizeof(*actions) && strcmp(actions[k], r->vigil_action) != 0)
			k++;
		if (k == sizeof(actions) / sizeof(*actions))
			return fail(c, vg_sigma_yaml_get(v, "action"),
				    "vigil: unknown action '%s' (alert, kill, quarantine, remediate)", r->vigil_action);
	}
	if ((n = vg_sigma_yaml_get(v, "cloud")) && !vg_sigma_yaml_is_null(n)) {
		int b = n->kind == SY_SCALAR ? vg_sigma_yaml_bool(n) : -1;
		if (b < 0)
			return fail(c, n, "vigil: 'cloud' must be true or false");
		r->vigil_cloud = (int8_t)b;
	}
	return 0;
}

static int compile_rule(struct cctx *c, const struct sy_node *doc)
{
	struct sg_rule *r = vg_sigma_alloc(c->a, sizeof(*r));
	const struct sy_node *ls;
	const char *id;
	int rc = 0;

	if (!r)
		return oom(c);
	r->pub.file = vg_sigma_strndup(c->a, c->ld->file, strlen(c->ld->file));
	r->pub.line = c->line;
	if (!r->pub.file)
		return oom(c);
	if (get_str(c, doc, "title", &r->pub.title) || get_str(c, doc, "id", &id) ||
	    get_str(c, doc, "name", &r->name) || get_str(c, doc, "status", &r->pub.status) ||
	    get_str(c, doc, "description", &r->pub.description) || get_author(c, doc, &r->pub.author) ||
	    get_str(c, doc, "date", &r->date) || get_str(c, doc, "modified", &r->modified) ||
	    get_list(c, doc, "tags", &r->pub.tags, &r->pub.ntags) ||
	    get_list(c, doc, "falsepositives", &r->falsepositives, &r->nfalsepositives) ||
	    get_list(c, doc, "fields", &r->fields, &r->nfields) ||
	    get_list(c, doc, "references", &r->references, &r->nreferences) ||
	    check_status(c, doc, r->pub.status) || get_level(c, doc, &r->pub.level) ||
	    compile_related(c, doc, r) || compile_vigil(c, doc, r))
		return VG_EPARSE;
	if (!r->pub.title)
		return fail(c, NULL, "missing 'title'");
	r->pub.id = id ? id : r->pub.file;
	r->pub.technique = technique_of(c, r->pub.tags, r->pub.ntags);

	ls = vg_sigma_yaml_get(doc, "logsource");
	if (!ls)
		return fail(c, NULL, "missing 'logsource'");
	if (ls->kind != SY_MAP)
		return fail(c, ls, "'logsource' must be a map");
	if (get_str(c, ls, "product", &r->pub.product) || get_str(c, ls, "category", &r->pub.category) ||
	    get_str(c, ls, "service", &r->pub.service) || get_str(c, ls, "definition", &r->definition))
		return VG_EPARSE;
	r->ls_product = (int16_t)ls_id(r->pub.product);
	r->ls_category = (int16_t)ls_id(r->pub.category);
	r->ls_service = (int16_t)ls_id(r->pub.service);

	if ((rc = compile_detection(c, doc, r)))
		return rc;
	char dead[320];
	unsigned dead_line = 0;
	if (!c->rs->no_field_check && vg_sigma_rule_dead(r, dead, sizeof(dead), &dead_line)) {
		fail(c, ls, "%s", dead);
		if (dead_line)
			c->err_line = dead_line;
		return VG_EPARSE;
	}
	if (vg_sigma_rule_anchors(c->a, r))
		return oom(c);

	struct vg_ruleset *rs = c->rs;
	if (rs->nrules == rs->rules_cap) {
		size_t cap = rs->rules_cap ? rs->rules_cap * 2 : 256;
		struct sg_rule **nr = realloc(rs->rules, cap * sizeof(*nr));
		if (!nr)
			return oom(c);
		rs->rules = nr;
		rs->rules_cap = cap;
	}
	r->index = (uint32_t)rs->nrules;
	rs->rules[rs->nrules++] = r;
	rs->stats.rules++;
	if (r->pub.status && strcmp(r->pub.status, "deprecated") == 0)
		rs->stats.deprecated++;
	if (r->pub.status && strcmp(r->pub.status, "unsupported") == 0)
		rs->stats.unsupported++;
	rs->dirty = 1;
	return 0;
}

/* ---- correlations ---- */

static int parse_timespan(const struct sy_node *n, int64_t *ns)
{
	static const struct { char unit; int64_t mult; } units[] = {
		{ 's', 1000000000LL }, { 'm', 60000000000LL }, { 'h', 3600000000000LL },
		{ 'd', 86400000000000LL }, { 'w', 604800000000000LL },
	};
	int64_t v = 0;

	if (!n || n->kind != SY_SCALAR || n->len < 2 || n->len > 12)
		return -1;
	for (size_t i = 0; i + 1 < n->len; i++) {
		if (n->s[i] < '0' || n->s[i] > '9')
			return -1;
		v = v * 10 + (n->s[i] - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (n->s[n->len - 1] == units[i].unit) {
			if (v > INT64_MAX / units[i].mult)
				return -1;
			*ns = v * units[i].mult;
			return 0;
		}
	}
	return -1;
}

static int compile_correlation(struct cctx *c, const struct sy_node *doc)
{
	static const char *const types[] = { "event_count", "value_count", "temporal", "temporal_ordered" };
	static const char *const ops[] = { "gt", "gte", "lt", "lte", "eq" };
	const struct sy_node *cor = vg_sigma_yaml_get(doc, "correlation"), *n;
	struct vg_sigma_correlation *k = vg_sigma_alloc(c->a, sizeof(*k));
	const char *type, *id;
	char buf[100];

	if (!k)
		return oom(c);
	if (cor->kind != SY_MAP)
		return fail(c, cor, "'correlation' must be a map");
	k->file = vg_sigma_strndup(c->a, c->ld->file, strlen(c->ld->file));
	k->line = c->line;
	if (!k->file)
		return oom(c);
	if (get_str(c, doc, "title", &k->title) || get_str(c, doc, "id", &id) || get_str(c, doc, "name", &k->name) ||
	    get_str(c, doc, "status", &k->status) || check_status(c, doc, k->status) ||
	    get_level(c, doc, &k->level) || get_str(c, cor, "type", &type) ||
	    get_list(c, cor, "rules", &k->rules, &k->nrules) ||
	    get_list(c, cor, "group-by", &k->group_by, &k->ngroup_by))
		return VG_EPARSE;
	if (!k->title)
		return fail(c, NULL, "missing 'title'");
	k->id = id ? id : k->file;
	k->rule.id = k->id;
	if (!type)
		return fail(c, cor, "correlation: missing 'type'");
	size_t t;
	for (t = 0; t < 4 && strcmp(type, types[t]) != 0; t++)
		;
	if (t == 4)
		return fail(c, vg_sigma_yaml_get(cor, "type"), "correlation: unknown type '%s'", type);
	k->type = (enum vg_corr_type)t;
	if (k->nrules == 0)
		return fail(c, cor, "correlation: missing 'rules'");
	if (k->nrules > 64)
		return fail(c, vg_sigma_yaml_get(cor, "rules"), "correlation: more than 64 rules");
	k->rule_lines = vg_sigma_alloc(c->a, k->nrules * sizeof(*k->rule_lines));
	if (!k->rule_lines)
		return oom(c);
	n = vg_sigma_yaml_get(cor, "rules");
	for (size_t i = 0; i < k->nrules; i++)
		k->rule_lines[i] = n->kind == SY_SEQ ? n->keys[i]->line : n->line;
	k->rule.file = k->file;
	k->rule.line = k->line;
	k->rule.title = k->title;
	k->rule.status = k->status;
	k->rule.level = k->level;
	k->rule.category = vg_sigma_corr_category;
	if (get_str(c, doc, "description", &k->rule.description) || get_author(c, doc, &k->rule.author) ||
	    get_list(c, doc, "tags", &k->rule.tags, &k->rule.ntags))
		return VG_EPARSE;
	k->rule.technique = technique_of(c, k->rule.tags, k->rule.ntags);
	n = vg_sigma_yaml_get(cor, "timespan");
	if (!n)
		n = vg_sigma_yaml_get(cor, "timeframe"); /* older drafts */
	if (!n)
		return fail(c, cor, "correlation: missing 'timespan'");
	if (parse_timespan(n, &k->timespan_ns))
		return fail(c, n, "correlation: invalid timespan '%s'", shown(n, buf, sizeof(buf)));

	n = vg_sigma_yaml_get(cor, "condition");
	if (n && n->kind == SY_MAP) {
		k->conds = vg_sigma_alloc(c->a, (n->n ? n->n : 1) * sizeof(*k->conds));
		if (!k->conds)
			return oom(c);
		for (size_t i = 0; i < n->n; i++) {
			const struct sy_node *key = n->keys[i], *val = n->vals[i];
			if (key->kind == SY_SCALAR && strcmp(key->s, "field") == 0) {
				if (val->kind != SY_SCALAR)
					return fail(c, val, "correlation: 'field' must be a string");
				if (!(k->field = vg_sigma_strndup(c->a, val->s, val->len)))
					return oom(c);
				continue;
			}
			size_t o;
			for (o = 0; o < 5 && !(key->kind == SY_SCALAR && strcmp(key->s, ops[o]) == 0); o++)
				;
			double d;
			int64_t iv;
			int is_int;
			if (o == 5)
				return fail(c, key, "correlation: unknown condition '%s'", shown(key, buf, sizeof(buf)));
			if (val->kind != SY_SCALAR || vg_sigma_parse_num(val->s, val->len, &d, &iv, &is_int) || !is_int)
				return fail(c, val, "correlation: condition '%s' needs an integer", ops[o]);
			k->conds[k->nconds].op = (enum vg_corr_op)o;
			k->conds[k->nconds++].value = iv;
		}
	} else if (n && !vg_sigma_yaml_is_null(n)) {
		return fail(c, n, "correlation: 'condition' must be a map such as {gte: 10}");
	}
	if ((k->type == VG_CORR_EVENT_COUNT || k->type == VG_CORR_VALUE_COUNT) && k->nconds == 0)
		return fail(c, cor, "correlation: %s needs a condition", types[t]);
	if (k->type == VG_CORR_VALUE_COUNT && !k->field)
		return fail(c, cor, "correlation: value_count needs condition.field");

	n = vg_sigma_yaml_get(cor, "aliases");
	if (n && n->kind == SY_MAP) {
		k->aliases = vg_sigma_alloc(c->a, (n->n ? n->n : 1) * sizeof(*k->aliases));
		if (!k->aliases)
			return oom(c);
		for (size_t i = 0; i < n->n; i++) {
			const struct sy_node *an = n->keys[i], *am = n->vals[i];
			struct vg_corr_alias *al = &k->aliases[i];
			if (an->kind != SY_SCALAR || am->kind != SY_MAP)
				return fail(c, an, "correlation: aliases must map alias -> {rule: field}");
			al->alias = vg_sigma_strndup(c->a, an->s, an->len);
			al->rules = vg_sigma_alloc(c->a, (am->n ? am->n : 1) * sizeof(*al->rules));
			al->fields = vg_sigma_alloc(c->a, (am->n ? am->n : 1) * sizeof(*al->fields));
			if (!al->alias || !al->rules || !al->fields)
				return oom(c);
			for (size_t j = 0; j < am->n; j++) {
				if (am->keys[j]->kind != SY_SCALAR || am->vals[j]->kind != SY_SCALAR)
					return fail(c, am->keys[j], "correlation: aliases must map alias -> {rule: field}");
				al->rules[j] = vg_sigma_strndup(c->a, am->keys[j]->s, am->keys[j]->len);
				al->fields[j] = vg_sigma_strndup(c->a, am->vals[j]->s, am->vals[j]->len);
				if (!al->rules[j] || !al->fields[j])
					return oom(c);
			}
			al->n = am->n;
		}
		k->naliases = n->n;
	} else if (n && !vg_sigma_yaml_is_null(n)) {
		return fail(c, n, "correlation: 'aliases' must be a map");
	}
	n = vg_sigma_yaml_get(cor, "generate");
	if (!n)
		n = vg_sigma_yaml_get(doc, "generate");
	if (n && (k->generate = vg_sigma_yaml_bool(n)) < 0)
		return fail(c, n, "correlation: 'generate' must be true or false");

	struct vg_ruleset *rs = c->rs;
	if (rs->ncorrs == rs->corrs_cap) {
		size_t cap = rs->corrs_cap ? rs->corrs_cap * 2 : 16;
		struct vg_sigma_correlation **nc = realloc(rs->corrs, cap * sizeof(*nc));
		if (!nc)
			return oom(c);
		rs->corrs = nc;
		rs->corrs_cap = cap;
	}
	rs->corrs[rs->ncorrs++] = k;
	rs->stats.correlations++;
	return 0;
}

/* ---- documents ---- */

int vg_sigma_compile_doc(struct sg_load *ld, struct sy_node *root, unsigned line)
{
	struct vg_ruleset *rs = ld->rs;
	struct cctx c = { .ld = ld, .rs = rs, .a = &rs->arena, .budget = MAX_VALUES_PER_RULE };
	struct sg_mark mark;
	size_t nres = rs->nres;
	const struct sy_node *act;
	struct sy_node *doc = root;
	int rc;

	if (!root)
		return 0; /* empty document */
	c.line = line = root->line ? root->line : line; /* the document's first line of content */
	if (root->kind != SY_MAP) {
		vg_sigma_report(ld, root->line ? root->line : line, "document is not a map");
		return 0;
	}
	act = vg_sigma_yaml_get(root, "action");
	if (act) {
		if (act->kind == SY_SCALAR && strcmp(act->s, "global") == 0) {
			ld->global = root;
			return 0;
		}
		if (act->kind == SY_SCALAR && strcmp(act->s, "reset") == 0) {
			ld->global = NULL;
			return 0;
		}
		if (act->kind == SY_SCALAR && strcmp(act->s, "repeat") == 0) {
			if (!ld->previous) {
				vg_sigma_report(ld, act->line, "action: repeat without a previous document");
				return 0;
			}
			doc = vg_sigma_yaml_merge(ld->tree, ld->previous, root);
		} else {
			vg_sigma_report(ld, act->line, "unknown action '%.*s'", (int)(act->len > 40 ? 40 : act->len),
					act->kind == SY_SCALAR ? act->s : "");
			return 0;
		}
		if (!doc)
			return VG_ENOMEM;
	}
	ld->previous = doc;
	if (ld->global && !(doc = vg_sigma_yaml_merge(ld->tree, ld->global, doc)))
		return VG_ENOMEM;

	mark = vg_sigma_arena_mark(&rs->arena);
	if (vg_sigma_yaml_get(doc, "correlation"))
		rc = compile_correlation(&c, doc);
	else if (vg_sigma_yaml_get(doc, "filter") && !vg_sigma_yaml_get(doc, "detection"))
		rc = fail(&c, NULL, "Sigma filter documents (meta filters) are not supported");
	else
		rc = compile_rule(&c, doc);
	if (rc) {
		/* undo everything this document added */
		while (rs->nres > nres)
			pcre2_code_free(rs->res[--rs->nres]);
		vg_sigma_arena_rollback(&rs->arena, mark);
		vg_sigma_report(ld, c.err_line ? c.err_line : line, "%s", c.err[0] ? c.err : "invalid rule");
		return rc == VG_ENOMEM ? VG_ENOMEM : 0;
	}
	if (!vg_sigma_yaml_get(doc, "correlation"))
		ld->loaded++;
	return 0;
}
