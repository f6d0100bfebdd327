/* sigma_placeholders.c - reads a placeholders file (YAML map: name -> value or list of values) into the values `|expand` uses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"

#define PH_MAX_FILE (16u << 20)
#define PH_MAX_VALUES 65536

struct ph_load {
	struct vg_ruleset *rs;
	const char *file;
	vg_rule_error_fn on_error;
	void *ctx;
	int docs, set, failed;
};

static void ph_err(struct ph_load *ld, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ph_err(struct ph_load *ld, unsigned line, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ld->failed++;
	if (ld->on_error)
		ld->on_error(ld->file, line, buf, ld->ctx);
}

/* Text of a scalar for messages: at most 60 bytes, stopped at a NUL. */
static int shown_len(const struct sy_node *n)
{
	size_t m = strnlen(n->s, n->len);
	return (int)(m > 60 ? 60 : m);
}

static int on_ph_doc(struct sy_node *root, unsigned line, void *ctx)
{
	struct ph_load *ld = ctx;

	if (ld->docs++) {
		ph_err(ld, line, "placeholders: only one YAML document is read (a map of name: values)");
		return 0;
	}
	if (!root)
		return 0; /* empty file: no placeholders */
	if (root->kind != SY_MAP) {
		ph_err(ld, root->line ? root->line : line, "placeholders: expected a map of name: [values], got a %s",
		       root->kind == SY_SEQ ? "list" : "scalar");
		return 0;
	}
	for (size_t i = 0; i < root->n; i++) {
		const struct sy_node *k = root->keys[i], *v = root->vals[i];
		if (k->kind != SY_SCALAR || !k->len || strlen(k->s) != k->len || memchr(k->s, '%', k->len)) {
			ph_err(ld, k->line, "placeholders: a name must be non-empty text without '%%' or NUL");
			continue;
		}
		const struct sy_node *const *items = NULL;
		const struct sy_node *one = v;
		size_t n = 0;
		if (!v || vg_sigma_yaml_is_null(v)) {
			ph_err(ld, v ? v->line : k->line, "placeholders: '%.*s' has no values (give a list, e.g. ['a', 'b'])",
			       shown_len(k), k->s);
			continue;
		}
		if (v->kind == SY_SCALAR) {
			items = &one;
			n = 1;
		} else if (v->kind == SY_SEQ) {
			items = (const struct sy_node *const *)v->keys;
			n = v->n;
		} else {
			ph_err(ld, v->line, "placeholders: '%.*s': values must be a list of text, not a map", shown_len(k), k->s);
			continue;
		}
		if (n == 0 || n > PH_MAX_VALUES) {
			ph_err(ld, v->line, "placeholders: '%.*s': %s", shown_len(k), k->s,
			       n ? "more than 65536 values" : "the list is empty");
			continue;
		}
		const char **vals = calloc(n, sizeof(*vals));
		int bad = 0;
		if (!vals)
			return VG_ENOMEM;
		for (size_t j = 0; j < n && !bad; j++) {
			const struct sy_node *it = items[j];
			if (it->kind != SY_SCALAR || vg_sigma_yaml_is_null(it)) {
				ph_err(ld, it->line, "placeholders: '%.*s' value %zu: expected text, got %s", shown_len(k), k->s,
				       j + 1, it->kind == SY_SCALAR ? "null" : it->kind == SY_SEQ ? "a list" : "a map");
				bad = 1;
			} else if (strlen(it->s) != it->len) {
				ph_err(ld, it->line, "placeholders: '%.*s' value %zu contains a NUL byte", shown_len(k), k->s, j + 1);
				bad = 1;
			}
			vals[j] = it->s;
		}
		if (!bad) {
			int rc = vg_ruleset_set_placeholder(ld->rs, k->s, vals, n);
			if (rc) {
				free(vals);
				return rc;
			}
			ld->set++;
		}
		free(vals);
	}
	return 0;
}

int vg_ruleset_load_placeholders_text(struct vg_ruleset *rs, const char *name, const char *text, size_t len,
				      vg_rule_error_fn on_error, void *ctx)
{
	struct sg_arena tree = { 0 };
	struct ph_load ld = { rs, name ? name : "<placeholders>", on_error, ctx, 0, 0, 0 };
	unsigned line = 0;
	char err[256] = "";

	if (!rs || (!text && len))
		return VG_EINVAL;
	int rc = vg_sigma_yaml_parse(&tree, text ? text : "", len, on_ph_doc, &ld, &line, err, sizeof(err));
	vg_sigma_arena_free(&tree);
	if (rc == VG_ENOMEM)
		return VG_ENOMEM;
	if (rc)
		ph_err(&ld, line, "placeholders: %s", err[0] ? err : "malformed YAML");
	return ld.failed ? VG_EPARSE : ld.set;
}

int vg_ruleset_load_placeholders(struct vg_ruleset *rs, const char *path, vg_rule_error_fn on_error, void *ctx)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;

	if (!f) {
		int e = errno;
		char msg[300];
		snprintf(msg, sizeof(msg), "placeholders: cannot open: %s", strerror(errno));
		if (on_error)
			on_error(path, 0, msg, ctx);
		return -e;
	}
	buf = malloc(PH_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return VG_ENOMEM;
	}
	len = fread(buf, 1, PH_MAX_FILE + 1, f);
	int rerr = ferror(f);
	fclose(f);
	if (rerr || len > PH_MAX_FILE) {
		if (on_error)
			on_error(path, 0, rerr ? "placeholders: read error" : "placeholders: file larger than 16 MB", ctx);
		free(buf);
		return rerr ? -EIO : VG_ELIMIT;
	}
	int rc = vg_ruleset_load_placeholders_text(rs, path, buf, len, on_error, ctx);
	free(buf);
	return rc;
}
