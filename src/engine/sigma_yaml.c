/* sigma_yaml.c - turns YAML text (libyaml events) into a small node tree with line numbers, for the Sigma loader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "engine/sigma_int.h"

#define MAX_DEPTH 64
#define MAX_NODES (1u << 20)

struct frame {
	struct sy_node *node;
	struct sy_node **items; /* map: key, value, key, value ... */
	size_t n, cap;
	char *anchor;           /* registered when the container ends (no cycles) */
};

struct anchor {
	char *name;
	struct sy_node *node;
};

struct builder {
	struct sg_arena *a;
	struct frame stack[MAX_DEPTH + 1];
	int depth;
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	size_t nodes;
	struct sy_node *root;
	char *err;
	size_t errlen;
	unsigned *err_line;
};

static int fail(struct builder *b, unsigned line, const char *msg)
{
	snprintf(b->err, b->errlen, "%s", msg);
	*b->err_line = line;
	return VG_EPARSE;
}

static int add_anchor(struct builder *b, const char *name, struct sy_node *node)
{
	for (size_t i = 0; i < b->nanchors; i++) {
		if (strcmp(b->anchors[i].name, name) == 0) { /* redefinition: later wins */
			b->anchors[i].node = node;
			return 0;
		}
	}
	if (b->nanchors == b->anchors_cap) {
		size_t cap = b->anchors_cap ? b->anchors_cap * 2 : 8;
		struct anchor *n = realloc(b->anchors, cap * sizeof(*n));
		if (!n)
			return VG_ENOMEM;
		b->anchors = n;
		b->anchors_cap = cap;
	}
	char *copy = vg_strdup(name);
	if (!copy)
		return VG_ENOMEM;
	b->anchors[b->nanchors++] = (struct anchor){ copy, node };
	return 0;
}

static struct sy_node *find_anchor(struct builder *b, const char *name)
{
	for (size_t i = b->nanchors; i-- > 0;)
		if (strcmp(b->anchors[i].name, name) == 0)
			return b->anchors[i].node;
	return NULL;
}

static void clear_anchors(struct builder *b)
{
	for (size_t i = 0; i < b->nanchors; i++)
		free(b->anchors[i].name);
	b->nanchors = 0;
}

/* Adds a finished node to the enclosing container, or makes it the document root. */
static int attach(struct builder *b, struct sy_node *node)
{
	if (b->depth == 0) {
		b->root = node;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct sy_node **items = realloc(f->items, cap * sizeof(*items));
		if (!items)
			return VG_ENOMEM;
		f->items = items;
		f->cap = cap;
	}
	f->items[f->n++] = node;
	return 0;
}

static struct sy_node *new_node(struct builder *b, int kind, const yaml_mark_t *m)
{
	if (++b->nodes > MAX_NODES)
		return NULL;
	struct sy_node *n = vg_sigma_alloc(b->a, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = (uint8_t)kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static int is_core_tag(const char *tag, const char *name)
{
	static const char prefix[] = "tag:yaml.org,2002:";
	return strncmp(tag, prefix, sizeof(prefix) - 1) == 0 && strcmp(tag + sizeof(prefix) - 1, name) == 0;
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
	struct sy_node *n = new_node(b, SY_SCALAR, &ev->start_mark);
	if (!n)
		return b->nodes > MAX_NODES ? fail(b, (unsigned)ev->start_mark.line + 1, "too many YAML nodes")
					     : VG_ENOMEM;
	const char *tag = (const char *)ev->data.scalar.tag;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (tag && strcmp(tag, "!") != 0) {
		if (is_core_tag(tag, "null") || is_core_tag(tag, "bool") || is_core_tag(tag, "int") ||
		    is_core_tag(tag, "float"))
			n->plain = 1;
		else
			n->plain = 0, n->str_tag = 1;
	}
	n->len = ev->data.scalar.length;
	n->s = vg_sigma_strndup(b->a, (const char *)ev->data.scalar.value, n->len);
	if (!n->s)
		return VG_ENOMEM;
	if (ev->data.scalar.anchor) {
		int rc = add_anchor(b, (const char *)ev->data.scalar.anchor, n);
		if (rc)
			return rc;
	}
	return attach(b, n);
}

static int on_start(struct builder *b, yaml_event_t *ev, int kind)
{
	const yaml_char_t *anchor = kind == SY_MAP ? ev->data.mapping_start.anchor
						   : ev->data.sequence_start.anchor;
	if (b->depth >= MAX_DEPTH)
		return fail(b, (unsigned)ev->start_mark.line + 1, "YAML nesting too deep");
	struct sy_node *n = new_node(b, kind, &ev->start_mark);
	if (!n)
		return b->nodes > MAX_NODES ? fail(b, (unsigned)ev->start_mark.line + 1, "too many YAML nodes")
					     : VG_ENOMEM;
	struct frame *f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	if (anchor && !(f->anchor = vg_strdup((const char *)anchor)))
		return VG_ENOMEM;
	return 0;
}

static int on_end(struct builder *b)
{
	struct frame *f = &b->stack[b->depth - 1];
	struct sy_node *n = f->node;
	int rc = 0;

	if (n->kind == SY_MAP) {
		/* libyaml guarantees pairs; be defensive anyway */
		n->n = f->n / 2;
		n->keys = vg_sigma_alloc(b->a, (n->n ? n->n : 1) * sizeof(*n->keys));
		n->vals = vg_sigma_alloc(b->a, (n->n ? n->n : 1) * sizeof(*n->vals));
		if (!n->keys || !n->vals)
			rc = VG_ENOMEM;
		for (size_t i = 0; !rc && i < n->n; i++) {
			n->keys[i] = f->items[2 * i];
			n->vals[i] = f->items[2 * i + 1];
		}
	} else {
		n->n = f->n;
		n->keys = vg_sigma_alloc(b->a, (n->n ? n->n : 1) * sizeof(*n->keys));
		if (!n->keys)
			rc = VG_ENOMEM;
		else if (n->n)
			memcpy(n->keys, f->items, n->n * sizeof(*n->keys));
	}
	free(f->items);
	f->items = NULL;
	if (!rc && f->anchor)
		rc = add_anchor(b, f->anchor, n);
	free(f->anchor);
	f->anchor = NULL;
	b->depth--;
	return rc ? rc : attach(b, n);
}

static void unwind(struct builder *b)
{
	while (b->depth > 0) {
		struct frame *f = &b->stack[--b->depth];
		free(f->items);
		free(f->anchor);
	}
}

int vg_sigma_yaml_parse(struct sg_arena *a, const char *text, size_t len, sy_doc_fn fn, void *ctx,
			unsigned *err_line, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	unsigned doc_line = 1;
	int rc = 0, done = 0;

	memset(&b, 0, sizeof(b));
	b.a = a;
	b.err = err;
	b.errlen = errlen;
	b.err_line = err_line;
	*err_line = 0;
	if (errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return VG_ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done && !rc) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				rc = VG_ENOMEM;
				break;
			}
			snprintf(err, errlen, "malformed YAML: %s%s%s",
				 parser.problem ? parser.problem : "syntax error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			*err_line = (unsigned)parser.problem_mark.line + 1;
			rc = VG_EPARSE;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			doc_line = (unsigned)ev.start_mark.line + 1;
			b.root = NULL;
			b.nodes = 0;
			clear_anchors(&b);
			break;
		case YAML_DOCUMENT_END_EVENT:
			rc = fn(b.root, doc_line, ctx);
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(&b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = on_start(&b, &ev, SY_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = on_start(&b, &ev, SY_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b.depth > 0)
				rc = on_end(&b);
			break;
		case YAML_ALIAS_EVENT: {
			struct sy_node *n = find_anchor(&b, (const char *)ev.data.alias.anchor);
			if (!n)
				rc = fail(&b, (unsigned)ev.start_mark.line + 1, "malformed YAML: undefined alias");
			else
				rc = attach(&b, n);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	unwind(&b);
	clear_anchors(&b);
	free(b.anchors);
	yaml_parser_delete(&parser);
	return rc;
}

struct sy_node *vg_sigma_yaml_get(const struct sy_node *map, const char *key)
{
	size_t kl = strlen(key);

	if (!map || map->kind != SY_MAP)
		return NULL;
	for (size_t i = map->n; i-- > 0;) {
		const struct sy_node *k = map->keys[i];
		if (k->kind == SY_SCALAR && k->len == kl && memcmp(k->s, key, kl) == 0)
			return map->vals[i];
	}
	return NULL;
}

static int plain_is(const struct sy_node *n, const char *const *words)
{
	if (!n || n->kind != SY_SCALAR || !n->plain)
		return 0;
	for (; *words; words++)
		if (strlen(*words) == n->len && memcmp(*words, n->s, n->len) == 0)
			return 1;
	return 0;
}

int vg_sigma_yaml_is_null(const struct sy_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	return !n || plain_is(n, nulls);
}

int vg_sigma_yaml_bool(const struct sy_node *n)
{
	static const char *const t[] = { "true", "True", "TRUE", NULL };
	static const char *const f[] = { "false", "False", "FALSE", NULL };
	if (plain_is(n, t))
		return 1;
	if (plain_is(n, f))
		return 0;
	return -1;
}

static int all_in(const char *s, size_t n, const char *set)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

int vg_sigma_yaml_is_int(const struct sy_node *n)
{
	if (!n || n->kind != SY_SCALAR || !n->plain || n->len == 0)
		return 0;
	const char *s = n->s;
	size_t len = n->len;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return all_in(s + 2, len - 2, "0123456789abcdefABCDEF");
	if (len > 2 && s[0] == '0' && s[1] == 'o')
		return all_in(s + 2, len - 2, "01234567");
	if (s[0] == '-' || s[0] == '+')
		s++, len--;
	return all_in(s, len, "0123456789");
}

int vg_sigma_yaml_is_num(const struct sy_node *n)
{
	if (vg_sigma_yaml_is_int(n))
		return 1;
	if (!n || n->kind != SY_SCALAR || !n->plain || n->len == 0)
		return 0;
	double d;
	int64_t i;
	int is_int;
	return vg_sigma_parse_num(n->s, n->len, &d, &i, &is_int) == 0;
}

struct sy_node *vg_sigma_yaml_merge(struct sg_arena *a, const struct sy_node *base,
				    const struct sy_node *over)
{
	if (!base)
		return (struct sy_node *)over;
	if (!over)
		return (struct sy_node *)base;
	if (base->kind != SY_MAP || over->kind != SY_MAP)
		return (struct sy_node *)over;

	struct sy_node *m = vg_sigma_alloc(a, sizeof(*m));
	size_t cap = base->n + over->n;
	if (!m)
		return NULL;
	*m = *over;
	m->keys = vg_sigma_alloc(a, (cap ? cap : 1) * sizeof(*m->keys));
	m->vals = vg_sigma_alloc(a, (cap ? cap : 1) * sizeof(*m->vals));
	if (!m->keys || !m->vals)
		return NULL;
	m->n = 0;
	for (size_t i = 0; i < base->n; i++) {
		const struct sy_node *k = base->keys[i];
		struct sy_node *v = base->vals[i];
		if (k->kind == SY_SCALAR) {
			struct sy_node *ov = vg_sigma_yaml_get(over, k->s);
			if (ov && !(v = vg_sigma_yaml_merge(a, v, ov)))
				return NULL;
		}
		m->keys[m->n] = base->keys[i];
		m->vals[m->n++] = v;
	}
	for (size_t i = 0; i < over->n; i++) {
		const struct sy_node *k = over->keys[i];
		if (k->kind == SY_SCALAR && vg_sigma_yaml_get(base, k->s))
			continue;
		m->keys[m->n] = over->keys[i];
		m->vals[m->n++] = over->vals[i];
	}
	return m;
}
