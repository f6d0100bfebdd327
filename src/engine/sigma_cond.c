/* sigma_cond.c - parses a Sigma condition (and/or/not, parentheses, "x of" patterns) into an AST over search identifiers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"

#define MAX_NEST 64

enum tok { T_END = 0, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_OF, T_ALL, T_THEM, T_NUM, T_WORD, T_PIPE };

struct parser {
	struct sg_arena *a;
	const char *s, *end;
	enum tok tok;
	const char *tp;  /* token text */
	size_t tn;
	const struct sg_sel *sels;
	uint32_t nsels;
	int depth;
	char *err;
	size_t errlen;
	int failed;
};

static int word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && vg_strncaseeq(p, w, n);
}

static void next(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n'))
		p->s++;
	p->tp = p->s;
	p->tn = 0;
	if (p->s >= p->end) {
		p->tok = T_END;
		return;
	}
	char c = *p->s;
	if (c == '(' || c == ')' || c == '|') {
		p->tok = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_PIPE;
		p->s++;
		p->tn = 1;
		return;
	}
	while (p->s < p->end && !strchr(" \t\r\n()|", *p->s) && *p->s != '\0')
		p->s++;
	if (p->s == p->tp) { /* an embedded NUL */
		p->s++;
		p->tn = 1;
		p->tok = T_WORD;
		return;
	}
	p->tn = (size_t)(p->s - p->tp);
	if (word_is(p->tp, p->tn, "and"))
		p->tok = T_AND;
	else if (word_is(p->tp, p->tn, "or"))
		p->tok = T_OR;
	else if (word_is(p->tp, p->tn, "not"))
		p->tok = T_NOT;
	else if (word_is(p->tp, p->tn, "of"))
		p->tok = T_OF;
	else if (word_is(p->tp, p->tn, "all"))
		p->tok = T_ALL;
	else if (word_is(p->tp, p->tn, "them"))
		p->tok = T_THEM;
	else {
		size_t i = 0;
		while (i < p->tn && p->tp[i] >= '0' && p->tp[i] <= '9')
			i++;
		p->tok = i == p->tn ? T_NUM : T_WORD;
	}
}

static struct sg_cond *error(struct parser *p, const char *fmt, const char *arg, size_t n)
{
	if (!p->failed) {
		char tmp[96];
		size_t m = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
		memcpy(tmp, arg ? arg : "", arg ? m : 0);
		tmp[arg ? m : 0] = '\0';
		snprintf(p->err, p->errlen, fmt, tmp);
		p->failed = 1;
	}
	return NULL;
}

static struct sg_cond *node(struct parser *p, int op, uint32_t n)
{
	struct sg_cond *c = vg_sigma_alloc(p->a, sizeof(*c));
	if (!c)
		return error(p, "out of memory%s", "", 0);
	c->op = (uint8_t)op;
	c->n = n;
	if (n && !(c->kids = vg_sigma_alloc(p->a, n * sizeof(*c->kids))))
		return error(p, "out of memory%s", "", 0);
	return c;
}

/* '*' matches any run of characters; everything else is exact. */
static int pattern_match(const char *pat, size_t pn, const char *s)
{
	size_t sn = strlen(s), pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < sn) {
		if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && pat[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static struct sg_cond *parse_or(struct parser *p);

static struct sg_cond *parse_of(struct parser *p)
{
	int all = p->tok == T_ALL;
	uint32_t k = 0;

	if (!all) {
		if (p->tn > 6)
			return error(p, "condition: count '%s' too large", p->tp, p->tn);
		for (size_t i = 0; i < p->tn; i++)
			k = k * 10 + (uint32_t)(p->tp[i] - '0');
	}
	next(p);
	if (p->tok != T_OF)
		return error(p, "condition: expected 'of' before '%s'", p->tp, p->tn);
	next(p);
	if (p->tok != T_THEM && p->tok != T_WORD)
		return error(p, "condition: expected 'them' or a pattern after 'of', got '%s'", p->tp, p->tn);

	int them = p->tok == T_THEM;
	uint32_t nmatch = 0;
	for (uint32_t i = 0; i < p->nsels; i++) {
		const char *name = p->sels[i].name;
		if (them ? name[0] != '_' : pattern_match(p->tp, p->tn, name))
			nmatch++;
	}
	if (nmatch == 0)
		return error(p, "condition: '%s' matches no search identifier", them ? "them" : p->tp,
			     them ? 4 : p->tn);
	struct sg_cond *c = node(p, OP_NOF, nmatch);
	if (!c)
		return NULL;
	c->k = all ? nmatch : k;
	uint32_t j = 0;
	for (uint32_t i = 0; i < p->nsels; i++) {
		const char *name = p->sels[i].name;
		if (!(them ? name[0] != '_' : pattern_match(p->tp, p->tn, name)))
			continue;
		struct sg_cond *s = node(p, OP_SEL, 0);
		if (!s)
			return NULL;
		s->sel = i;
		c->kids[j++] = s;
	}
	next(p);
	if (c->k == 0) { /* "0 of x" is always true */
		c->op = OP_CONST;
		c->k = 1;
		c->n = 0;
	}
	return c;
}

static struct sg_cond *parse_primary(struct parser *p)
{
	switch (p->tok) {
	case T_LPAREN: {
		next(p);
		struct sg_cond *c = parse_or(p);
		if (!c)
			return NULL;
		if (p->tok != T_RPAREN)
			return error(p, "condition: missing ')'%s", "", 0);
		next(p);
		return c;
	}
	case T_ALL:
	case T_NUM:
		return parse_of(p);
	case T_WORD: {
		if (word_is(p->tp, p->tn, "near"))
			return error(p, "condition: the 'near' operator is not supported (Sigma v1)%s", "", 0);
		for (uint32_t i = 0; i < p->nsels; i++) {
			const char *name = p->sels[i].name;
			if (strlen(name) == p->tn && memcmp(name, p->tp, p->tn) == 0) {
				struct sg_cond *c = node(p, OP_SEL, 0);
				if (!c)
					return NULL;
				c->sel = i;
				next(p);
				return c;
			}
		}
		return error(p, "condition: unknown search identifier '%s'", p->tp, p->tn);
	}
	case T_PIPE:
		return error(p, "condition: aggregation with '|' is not supported (Sigma v1, use correlations)%s",
			     "", 0);
	case T_END:
		return error(p, "condition: unexpected end%s", "", 0);
	default:
		return error(p, "condition: unexpected '%s'", p->tp, p->tn);
	}
}

static struct sg_cond *parse_not(struct parser *p)
{
	if (p->tok != T_NOT)
		return parse_primary(p);
	if (++p->depth > MAX_NEST)
		return error(p, "condition: nested too deeply%s", "", 0);
	next(p);
	struct sg_cond *k = parse_not(p);
	p->depth--;
	if (!k)
		return NULL;
	struct sg_cond *c = node(p, OP_NOT, 1);
	if (!c)
		return NULL;
	c->kids[0] = k;
	return c;
}

/* Parses "x (op x)*" for op = and/or into one flat node. */
static struct sg_cond *parse_chain(struct parser *p, enum tok op)
{
	struct sg_cond *first = op == T_OR ? parse_chain(p, T_AND) : parse_not(p);
	struct sg_cond **kids = NULL;
	uint32_t n = 0, cap = 0;

	if (!first)
		return NULL;
	if (p->tok != op)
		return first;
	while (p->tok == op || n == 0) {
		struct sg_cond *k = first;
		if (n > 0) {
			next(p);
			k = op == T_OR ? parse_chain(p, T_AND) : parse_not(p);
			if (!k) {
				free(kids);
				return NULL;
			}
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			struct sg_cond **nk = realloc(kids, cap * sizeof(*nk));
			if (!nk) {
				free(kids);
				return error(p, "out of memory%s", "", 0);
			}
			kids = nk;
		}
		kids[n++] = k;
	}
	struct sg_cond *c = node(p, op == T_OR ? OP_OR : OP_AND, n);
	if (c)
		memcpy(c->kids, kids, n * sizeof(*kids));
	free(kids);
	return c;
}

static struct sg_cond *parse_or(struct parser *p)
{
	if (++p->depth > MAX_NEST)
		return error(p, "condition: nested too deeply%s", "", 0);
	struct sg_cond *c = parse_chain(p, T_OR);
	p->depth--;
	return c;
}

int vg_sigma_cond_parse(struct sg_arena *a, const char *text, size_t len,
			const struct sg_sel *sels, uint32_t nsels, struct sg_cond **out,
			char *err, size_t errlen)
{
	struct parser p = {
		.a = a, .s = text, .end = text + len, .sels = sels, .nsels = nsels,
		.err = err, .errlen = errlen,
	};

	next(&p);
	if (p.tok == T_END) {
		snprintf(err, errlen, "condition: empty");
		return VG_EPARSE;
	}
	struct sg_cond *c = parse_or(&p);
	if (c && p.tok != T_END)
		c = p.tok == T_PIPE ? error(&p, "condition: aggregation with '|' is not supported (Sigma v1, use correlations)%s", "", 0)
				    : error(&p, "condition: unexpected '%s'", p.tp, p.tn);
	if (!c)
		return VG_EPARSE;
	*out = c;
	return 0;
}
