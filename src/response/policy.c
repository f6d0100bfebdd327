/* policy.c - the response policy: YAML (parsed with libyaml through the engine's node tree) to actions keyed by rule id, tag and level, exclusions and the never-kill list. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_ext.h"
#include "engine/sigma_int.h"
#include "vigil/response.h"

#define MAX_POLICY_BYTES (4u << 20)

struct kv {
	const char *key; /* rule id, tag or level name (arena) */
	enum vg_action act;
};

struct list {
	const char **v;
	size_t n;
};

struct vg_policy {
	struct sg_arena a;
	int audit;
	enum vg_action def;
	struct kv *rules, *tags;
	size_t nrules, ntags;
	int level_set[VG_LEVEL_CRITICAL + 1];
	enum vg_action levels[VG_LEVEL_CRITICAL + 1];
	struct list ex_paths, ex_sha, ex_rules, ex_procs, never_kill;
};

/* Always on the never-kill list (matched against the exe basename and the comm). */
static const char *const builtin_never_kill[] = { "sshd", "vigild", "dpkg", "apt", "apt-get", "unattended-upgrades",
						  "unattended-upgr" };

/* Package locations: a built-in never-kill name only protects a binary that lives here (a /tmp/sshd is killable). */
static int in_system_dir(const char *image)
{
	static const char *const dirs[] = { "/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/lib/", "/usr/libexec/",
					    "/usr/local/bin/", "/usr/local/sbin/", "/opt/vigil/" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (strncmp(image, dirs[i], strlen(dirs[i])) == 0)
			return 1;
	return 0;
}

const char *vg_action_name(enum vg_action a)
{
	switch (a) {
	case VG_ACT_ALERT: return "alert";
	case VG_ACT_KILL: return "kill";
	case VG_ACT_QUARANTINE: return "quarantine";
	case VG_ACT_REMEDIATE: return "remediate";
	}
	return "alert";
}

int vg_action_from_name(const char *s)
{
	static const char *const names[] = { "alert", "kill", "quarantine", "remediate" };
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

struct pctx {
	struct vg_policy *p;
	const char *name;
	char *err;
	size_t errlen;
	int docs;
};

static int perr(struct pctx *c, const struct sy_node *at, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (c->err && c->errlen) {
		if (at)
			n = snprintf(c->err, c->errlen, "%s:%u: ", c->name, at->line);
		else
			n = snprintf(c->err, c->errlen, "%s: ", c->name);
		if (n < 0 || (size_t)n >= c->errlen)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return VG_EINVAL;
}

static int scalar(struct pctx *c, const struct sy_node *n, const char *what, const char **out)
{
	if (n->kind != SY_SCALAR || memchr(n->s, '\0', n->len))
		return perr(c, n, "%s must be a string", what);
	if (!(*out = vg_sigma_strndup(&c->p->a, n->s, n->len)))
		return VG_ENOMEM;
	return 0;
}

static int action(struct pctx *c, const struct sy_node *n, const char *what, enum vg_action *out)
{
	const char *s;
	int rc = scalar(c, n, what, &s);
	if (rc)
		return rc;
	int a = vg_action_from_name(s);
	if (a < 0)
		return perr(c, n, "%s: unknown action '%s' (alert, kill, quarantine, remediate)", what, s);
	*out = (enum vg_action)a;
	return 0;
}

/* key: action map (rules, tags). */
static int action_map(struct pctx *c, const struct sy_node *n, const char *what, struct kv **out, size_t *nout)
{
	if (vg_sigma_yaml_is_null(n))
		return 0;
	if (n->kind != SY_MAP)
		return perr(c, n, "'%s' must be a map of %s to action", what, what);
	*out = vg_sigma_alloc(&c->p->a, (n->n ? n->n : 1) * sizeof(**out));
	if (!*out)
		return VG_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		int rc = scalar(c, n->keys[i], what, &(*out)[i].key);
		if (!rc)
			rc = action(c, n->vals[i], what, &(*out)[i].act);
		if (rc)
			return rc;
	}
	*nout = n->n;
	return 0;
}

/* A string or a list of strings. */
static int str_list(struct pctx *c, const struct sy_node *n, const char *what, struct list *out)
{
	if (vg_sigma_yaml_is_null(n))
		return 0;
	if (n->kind == SY_SCALAR) {
		out->v = vg_sigma_alloc(&c->p->a, sizeof(*out->v));
		if (!out->v)
			return VG_ENOMEM;
		out->n = 1;
		return scalar(c, n, what, &out->v[0]);
	}
	if (n->kind != SY_SEQ)
		return perr(c, n, "'%s' must be a list of strings", what);
	out->v = vg_sigma_alloc(&c->p->a, (n->n ? n->n : 1) * sizeof(*out->v));
	if (!out->v)
		return VG_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		int rc = scalar(c, n->keys[i], what, &out->v[i]);
		if (rc)
			return rc;
	}
	out->n = n->n;
	return 0;
}

static int is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return i == 64;
}

static int on_doc(struct sy_node *root, unsigned line, void *ctx)
{
	struct pctx *c = ctx;
	struct vg_policy *p = c->p;
	int rc;

	if (++c->docs > 1)
		return perr(c, root, "only one YAML document is allowed");
	if (!root || vg_sigma_yaml_is_null(root))
		return 0;
	if (root->kind != SY_MAP)
		return perr(c, root, "the policy must be a map (mode, default, rules, tags, levels, exclusions, never_kill)");
	for (size_t i = 0; i < root->n; i++) {
		const struct sy_node *k = root->keys[i], *v = root->vals[i];
		const char *key;
		if ((rc = scalar(c, k, "key", &key)))
			return rc;
		if (strcmp(key, "mode") == 0) {
			const char *m;
			if ((rc = scalar(c, v, "mode", &m)))
				return rc;
			if (strcmp(m, "audit") == 0)
				p->audit = 1;
			else if (strcmp(m, "protect") == 0)
				p->audit = 0;
			else
				return perr(c, v, "mode: '%s' is neither protect nor audit", m);
		} else if (strcmp(key, "default") == 0) {
			if ((rc = action(c, v, "default", &p->def)))
				return rc;
		} else if (strcmp(key, "rules") == 0) {
			if ((rc = action_map(c, v, "rules", &p->rules, &p->nrules)))
				return rc;
		} else if (strcmp(key, "tags") == 0) {
			if ((rc = action_map(c, v, "tags", &p->tags, &p->ntags)))
				return rc;
			for (size_t t = 0; t < p->ntags; t++)
				for (char *q = (char *)p->tags[t].key; *q; q++)
					*q = (char)vg_lower((unsigned char)*q);
		} else if (strcmp(key, "levels") == 0) {
			struct kv *lv = NULL;
			size_t n = 0;
			if ((rc = action_map(c, v, "levels", &lv, &n)))
				return rc;
			for (size_t t = 0; t < n; t++) {
				enum vg_level l = vg_level_from_name(lv[t].key);
				if (l == VG_LEVEL_UNKNOWN || l > VG_LEVEL_CRITICAL)
					return perr(c, v->keys[t], "levels: unknown level '%s' (informational, low, medium, high, critical)",
						    lv[t].key);
				p->level_set[l] = 1;
				p->levels[l] = lv[t].act;
			}
		} else if (strcmp(key, "exclusions") == 0) {
			if (vg_sigma_yaml_is_null(v))
				continue;
			if (v->kind != SY_MAP)
				return perr(c, v, "'exclusions' must be a map (paths, sha256, rules, processes)");
			for (size_t j = 0; j < v->n; j++) {
				const char *ek;
				if ((rc = scalar(c, v->keys[j], "exclusions key", &ek)))
					return rc;
				struct list *l = strcmp(ek, "paths") == 0 ? &p->ex_paths
						 : strcmp(ek, "sha256") == 0 ? &p->ex_sha
						 : strcmp(ek, "rules") == 0 ? &p->ex_rules
						 : strcmp(ek, "processes") == 0 ? &p->ex_procs : NULL;
				if (!l)
					return perr(c, v->keys[j], "exclusions: unknown key '%s' (paths, sha256, rules, processes)", ek);
				if ((rc = str_list(c, v->vals[j], ek, l)))
					return rc;
			}
			for (size_t j = 0; j < p->ex_sha.n; j++) {
				if (!is_hex64(p->ex_sha.v[j]))
					return perr(c, v, "exclusions: sha256 '%.80s' is not 64 hex digits", p->ex_sha.v[j]);
				for (char *q = (char *)p->ex_sha.v[j]; *q; q++)
					*q = (char)vg_lower((unsigned char)*q);
			}
		} else if (strcmp(key, "never_kill") == 0) {
			if ((rc = str_list(c, v, "never_kill", &p->never_kill)))
				return rc;
		} else {
			return perr(c, k, "unknown key '%s' (mode, default, rules, tags, levels, exclusions, never_kill)", key);
		}
	}
	(void)line;
	return 0;
}

int vg_policy_default(struct vg_policy **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : VG_ENOMEM;
}

int vg_policy_parse(const char *name, const char *text, size_t len, struct vg_policy **out, char *err, size_t errlen)
{
	struct pctx c = { .name = name ? name : "policy", .err = err, .errlen = errlen };
	unsigned eline = 0;
	char yerr[256] = "";
	int rc;

	*out = NULL;
	if (len > MAX_POLICY_BYTES)
		return perr(&c, NULL, "larger than %u bytes", MAX_POLICY_BYTES);
	if ((rc = vg_policy_default(&c.p)))
		return rc;
	rc = vg_sigma_yaml_parse(&c.p->a, text, len, on_doc, &c, &eline, yerr, sizeof(yerr));
	if (rc == VG_EPARSE) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%u: %s", c.name, eline, yerr);
		rc = VG_EINVAL;
	} else if (rc == VG_ENOMEM && err && errlen) {
		snprintf(err, errlen, "%s: out of memory", c.name);
	} else if (rc && rc != VG_EINVAL) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", c.name, vg_strerror(rc));
		rc = VG_EINVAL;
	}
	if (rc) {
		vg_policy_free(c.p);
		return rc;
	}
	*out = c.p;
	return 0;
}

int vg_policy_load(const char *path, struct vg_policy **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rc;

	*out = NULL;
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	buf = malloc(MAX_POLICY_BYTES + 1);
	if (!buf) {
		fclose(f);
		return VG_ENOMEM;
	}
	n = fread(buf, 1, MAX_POLICY_BYTES + 1, f);
	if (ferror(f)) {
		rc = -errno;
		snprintf(err, errlen, "%s: read error", path);
		fclose(f);
		free(buf);
		return rc ? rc : VG_EINVAL;
	}
	fclose(f);
	rc = vg_policy_parse(path, buf, n, out, err, errlen);
	free(buf);
	return rc;
}

void vg_policy_free(struct vg_policy *p)
{
	if (!p)
		return;
	vg_sigma_arena_free(&p->a);
	free(p);
}

int vg_policy_audit(const struct vg_policy *p)
{
	return p->audit;
}

int vg_policy_has_sha256(const struct vg_policy *p)
{
	return p->ex_sha.n > 0;
}

/* Policy tag t applies to rule tag rt when equal or rt continues it after a dot (attack.t1055 covers attack.t1055.012). */
static int tag_covers(const char *t, const char *rt)
{
	size_t n = strlen(t);
	return vg_strncaseeq(t, rt, n) && (rt[n] == '\0' || rt[n] == '.');
}

enum vg_action vg_policy_decide(const struct vg_policy *p, const struct vg_rule *rule, char *why, size_t whylen)
{
	const char *va;
	size_t best = 0;
	int found = -1;

	for (size_t i = 0; i < p->nrules; i++)
		if (rule->id && strcmp(p->rules[i].key, rule->id) == 0) {
			snprintf(why, whylen, "rule %s", rule->id);
			return p->rules[i].act;
		}
	if ((va = vg_rule_vigil_action(rule)) && vg_action_from_name(va) >= 0) {
		snprintf(why, whylen, "vigil: section");
		return (enum vg_action)vg_action_from_name(va);
	}
	for (size_t i = 0; i < p->ntags; i++)
		for (size_t j = 0; j < rule->ntags; j++)
			if (tag_covers(p->tags[i].key, rule->tags[j]) && strlen(p->tags[i].key) > best) {
				best = strlen(p->tags[i].key);
				found = (int)i;
			}
	if (found >= 0) {
		snprintf(why, whylen, "tag %s", p->tags[found].key);
		return p->tags[found].act;
	}
	if (rule->level <= VG_LEVEL_CRITICAL && p->level_set[rule->level]) {
		snprintf(why, whylen, "level %s", vg_level_name(rule->level));
		return p->levels[rule->level];
	}
	snprintf(why, whylen, "default");
	return p->def;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* A process pattern with a '/' is a glob on the image path; otherwise a glob on the image's base name. */
static int proc_matches(const char *pat, const char *image)
{
	if (!image)
		return 0;
	if (strchr(pat, '/'))
		return fnmatch(pat, image, 0) == 0;
	return fnmatch(pat, base_name(image), 0) == 0;
}

int vg_policy_excluded(const struct vg_policy *p, const struct vg_rule *rule, const struct vg_event *ev,
		       const char *sha256, char *why, size_t whylen)
{
	for (size_t i = 0; i < p->ex_rules.n; i++)
		if (rule && rule->id && strcmp(p->ex_rules.v[i], rule->id) == 0) {
			snprintf(why, whylen, "rule %s", rule->id);
			return 1;
		}
	for (size_t i = 0; i < p->ex_procs.n; i++)
		if (proc_matches(p->ex_procs.v[i], ev->proc.image)) {
			snprintf(why, whylen, "process %s", p->ex_procs.v[i]);
			return 1;
		}
	for (size_t i = 0; i < p->ex_paths.n; i++) {
		const char *cands[2] = { ev->file.path, ev->proc.image };
		for (int k = 0; k < 2; k++)
			if (cands[k] && fnmatch(p->ex_paths.v[i], cands[k], 0) == 0) {
				snprintf(why, whylen, "path %s", p->ex_paths.v[i]);
				return 1;
			}
	}
	for (size_t i = 0; i < p->ex_sha.n; i++) {
		const char *h = ev->proc.hashes;
		if ((sha256 && vg_strcaseeq(sha256, p->ex_sha.v[i])) ||
		    (h && vg_strcasestr_n(h, strlen(h), p->ex_sha.v[i], 64))) {
			snprintf(why, whylen, "sha256 %s", p->ex_sha.v[i]);
			return 1;
		}
	}
	return 0;
}

int vg_policy_never_kill(const struct vg_policy *p, const char *image, const char *name, char *why, size_t whylen)
{
	const char *b = image && in_system_dir(image) ? base_name(image) : NULL;
	const char *nm = image ? NULL : name; /* the comm is spoofable: only used when the exe is unknown */

	for (size_t i = 0; i < sizeof(builtin_never_kill) / sizeof(*builtin_never_kill); i++)
		if ((b && strcmp(b, builtin_never_kill[i]) == 0) || (nm && strcmp(nm, builtin_never_kill[i]) == 0)) {
			snprintf(why, whylen, "%s", builtin_never_kill[i]);
			return 1;
		}
	for (size_t i = 0; p && i < p->never_kill.n; i++)
		if (proc_matches(p->never_kill.v[i], image) || (name && fnmatch(p->never_kill.v[i], name, 0) == 0)) {
			snprintf(why, whylen, "%s", p->never_kill.v[i]);
			return 1;
		}
	return 0;
}
