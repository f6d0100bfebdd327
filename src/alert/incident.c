/* incident.c - turns rule matches into alerts, groups related alerts into incidents along the process tree, and writes them as JSON lines or a terminal tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/alert.h"
#include "vigil/buf.h"
#include "vigil/strmap.h"
#include "vigil/winpath.h"

struct alert {
	const struct vg_rule *rule; /* owned by the ruleset, which outlives the incidents */
	struct vg_event *ev;        /* our copy of the triggering event */
	char *extra;                /* JSON members the caller attached (actions taken), or NULL */
	char id[20];
};

struct incident {
	int parent;                 /* union-find link; itself when a root */
	struct alert **alerts;
	size_t nalerts, cap;
	int64_t first_ns, last_ns;
	int max_level;
	int open;
	char id[24];
};

struct vg_incidents {
	struct vg_incidents_config cfg;
	struct vg_tree *tree;
	struct incident *inc;
	size_t ninc, cap;
	struct vg_strmap by_key;    /* process key -> incident index + 1 */
	struct vg_incidents_stats stats;
	struct vg_buf buf;
};

int vg_incidents_new(const struct vg_incidents_config *cfg, struct vg_tree *tree,
		     struct vg_incidents **out)
{
	struct vg_incidents *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return VG_ENOMEM;
	x->cfg = *cfg;
	if (!x->cfg.out)
		x->cfg.out = stdout;
	if (!x->cfg.idle_ns)
		x->cfg.idle_ns = 600LL * 1000000000LL;
	if (!x->cfg.max_ancestors)
		x->cfg.max_ancestors = 4;
	if (!x->cfg.max_descendants)
		x->cfg.max_descendants = 64;
	x->tree = tree;
	vg_strmap_init(&x->by_key, 1);
	*out = x;
	return 0;
}

static int find(struct vg_incidents *x, int i)
{
	while (x->inc[i].parent != i) {
		x->inc[i].parent = x->inc[x->inc[i].parent].parent;
		i = x->inc[i].parent;
	}
	return i;
}

static int key_incident(struct vg_incidents *x, const char *key)
{
	if (!key)
		return -1;
	size_t n;
	key = vg_key_bare(key, &n);
	intptr_t v = (intptr_t)vg_strmap_get(&x->by_key, key, n);
	if (!v)
		return -1;
	int r = find(x, (int)v - 1);
	return x->inc[r].open ? r : -1;
}

static void map_key(struct vg_incidents *x, const char *key, int idx)
{
	if (!key)
		return;
	size_t n;
	key = vg_key_bare(key, &n);
	vg_strmap_put(&x->by_key, key, n, (void *)(intptr_t)(idx + 1), NULL);
}

static int new_incident(struct vg_incidents *x, const struct vg_event *ev)
{
	if (x->ninc == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct incident *a = realloc(x->inc, cap * sizeof(*a));
		if (!a)
			return -1;
		x->inc = a;
		x->cap = cap;
	}
	struct incident *in = &x->inc[x->ninc];
	memset(in, 0, sizeof(*in));
	in->parent = (int)x->ninc;
	in->open = 1;
	in->first_ns = in->last_ns = ev->time_ns;
	char seed[512];
	int n = snprintf(seed, sizeof(seed), "%s|%s|%lld", ev->host ? ev->host : "",
			 ev->proc.key ? ev->proc.key : "", (long long)ev->time_ns);
	snprintf(in->id, sizeof(in->id), "inc-%012llx",
		 (unsigned long long)(vg_hash_bytes(seed, (size_t)n) & 0xffffffffffffULL));
	x->stats.incidents++;
	return (int)x->ninc++;
}

static int push_alert(struct incident *in, struct alert *a)
{
	if (in->nalerts == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 8;
		struct alert **arr = realloc(in->alerts, cap * sizeof(*arr));
		if (!arr)
			return VG_ENOMEM;
		in->alerts = arr;
		in->cap = cap;
	}
	in->alerts[in->nalerts++] = a;
	return 0;
}

/* Merges incident b into a (both roots). */
static void merge(struct vg_incidents *x, int a, int b)
{
	struct incident *ia = &x->inc[a], *ib = &x->inc[b];

	for (size_t i = 0; i < ib->nalerts; i++)
		push_alert(ia, ib->alerts[i]);
	free(ib->alerts);
	ib->alerts = NULL;
	ib->nalerts = ib->cap = 0;
	ib->parent = a;
	ib->open = 0;
	if (ib->first_ns && (!ia->first_ns || ib->first_ns < ia->first_ns))
		ia->first_ns = ib->first_ns;
	if (ib->last_ns > ia->last_ns)
		ia->last_ns = ib->last_ns;
	if (ib->max_level > ia->max_level)
		ia->max_level = ib->max_level;
	x->stats.incidents--;
}

/* Incidents of the processes related to key: itself, its nearest alerted ancestor, alerted descendants. */
static void related(struct vg_incidents *x, const char *key, int *cand, size_t *ncand, size_t max)
{
	const struct vg_proc_node *n = vg_tree_get(x->tree, key);
	int r = key_incident(x, key);

	if (r >= 0 && *ncand < max)
		cand[(*ncand)++] = r;
	if (!n)
		return;
	const struct vg_proc_node *p = vg_tree_parent(x->tree, n);
	for (int d = 0; p && d < 16; d++, p = vg_tree_parent(x->tree, p)) {
		r = key_incident(x, p->key);
		if (r >= 0) {
			if (*ncand < max)
				cand[(*ncand)++] = r;
			break;
		}
	}
	const struct vg_proc_node *desc[256];
	size_t nd = vg_tree_descendants(x->tree, key, desc, 256);
	for (size_t i = 0; i < nd && i < 256; i++) {
		r = key_incident(x, desc[i]->key);
		if (r >= 0 && *ncand < max)
			cand[(*ncand)++] = r;
	}
}

static void alert_free(struct alert *a)
{
	vg_event_free(a->ev);
	free(a->extra);
	free(a);
}

static void write_alert_json(struct vg_incidents *x, const struct incident *in, const struct alert *a);

int vg_incidents_add(struct vg_incidents *x, const struct vg_rule *rule, const struct vg_event *ev)
{
	return vg_incidents_add_ex(x, rule, ev, NULL);
}

int vg_incidents_add_ex(struct vg_incidents *x, const struct vg_rule *rule, const struct vg_event *ev,
			const char *extra)
{
	struct alert *a = calloc(1, sizeof(*a));
	int cand[64];
	size_t ncand = 0;

	if (!a)
		return VG_ENOMEM;
	a->rule = rule;
	a->ev = vg_event_clone(ev);
	if (!a->ev || (extra && !(a->extra = vg_strdup(extra)))) {
		alert_free(a);
		return VG_ENOMEM;
	}
	char seed[512];
	int sn = snprintf(seed, sizeof(seed), "%s|%s|%llu|%lld", rule->id, ev->proc.key ? ev->proc.key : "",
			  (unsigned long long)ev->record_id, (long long)ev->time_ns);
	snprintf(a->id, sizeof(a->id), "%016llx", (unsigned long long)vg_hash_bytes(seed, (size_t)sn));

	/*
	 * A process seen by vigild's /proc seeding ("Seed": "true") started
	 * before the agent: its alert is raised, but it does not flag the
	 * process for its descendants, whose history the agent never saw
	 * (on a build machine that would mark every later job suspicious).
	 */
	const char *seeded = vg_event_get(ev, "Seed");
	if (!seeded || strcmp(seeded, "true") != 0)
		vg_tree_flag(x->tree, ev->proc.key, rule->level);
	related(x, ev->proc.key, cand, &ncand, 64);
	if (ev->target.key && ev->type != VG_EV_PROCESS_TAMPER)
		related(x, ev->target.key, cand, &ncand, 64);

	int root = -1;
	for (size_t i = 0; i < ncand; i++) {
		int r = find(x, cand[i]);
		if (!x->inc[r].open)
			continue;
		if (root < 0)
			root = r;
		else if (r != root) {
			int keep = r < root ? r : root, drop = r < root ? root : r;
			merge(x, keep, drop);
			root = keep;
		}
	}
	if (root < 0 && (root = new_incident(x, ev)) < 0) {
		alert_free(a);
		return VG_ENOMEM;
	}
	struct incident *in = &x->inc[root];
	if (push_alert(in, a)) {
		alert_free(a);
		return VG_ENOMEM;
	}
	if (ev->time_ns > in->last_ns)
		in->last_ns = ev->time_ns;
	if (ev->time_ns && (!in->first_ns || ev->time_ns < in->first_ns))
		in->first_ns = ev->time_ns;
	if ((int)rule->level > in->max_level)
		in->max_level = (int)rule->level;
	map_key(x, ev->proc.key, root);
	if (ev->target.key && ev->type != VG_EV_PROCESS_TAMPER)
		map_key(x, ev->target.key, root);
	x->stats.alerts++;
	if ((unsigned)rule->level < 6)
		x->stats.by_level[rule->level]++;
	if (x->cfg.immediate && x->cfg.format == VG_ALERT_JSON) {
		write_alert_json(x, in, a);
		fflush(x->cfg.out);
	}
	return 0;
}

/* ---- JSON output ---- */

static void json_node(struct vg_incidents *x, struct vg_buf *b, const struct vg_proc_node *n,
		      const char *role, const struct incident *in)
{
	int f = 1;
	char t[40];

	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "entity_id", n->key);
	vg_buf_json_kv(b, &f, "role", role);
	vg_buf_json_kv(b, &f, "parent_entity_id", n->parent_key);
	if (n->pid)
		vg_buf_json_ku(b, &f, "pid", n->pid);
	vg_buf_json_kv(b, &f, "executable", n->image);
	vg_buf_json_kv(b, &f, "command_line", n->command_line);
	vg_buf_json_kv(b, &f, "user", n->user);
	vg_buf_json_kt(b, &f, "start", n->start_ns);
	vg_buf_json_kt(b, &f, "end", n->exit_ns);
	/* the incident's alerts on this process */
	vg_buf_json_key(b, &f, "alerts");
	vg_buf_put(b, "[", 1);
	int first = 1;
	for (size_t i = 0; i < in->nalerts; i++) {
		const struct alert *a = in->alerts[i];
		const char *k = a->ev->proc.key;
		if (!k || strcmp(k, n->key) != 0)
			continue;
		if (!first)
			vg_buf_put(b, ",", 1);
		first = 0;
		vg_buf_json_str(b, a->rule->id);
	}
	vg_buf_put(b, "]", 1);
	vg_buf_json_key(b, &f, "activity");
	vg_buf_put(b, "[", 1);
	for (size_t i = 0; i < n->nacts; i++) {
		int g = 1;
		if (i)
			vg_buf_put(b, ",", 1);
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &g, "type", vg_event_type_name(n->acts[i].type));
		vg_buf_json_kv(b, &g, "@timestamp", n->acts[i].time_ns ? vg_time_format(n->acts[i].time_ns, t, sizeof(t)) : NULL);
		vg_buf_json_kv(b, &g, "object", n->acts[i].object);
		vg_buf_json_kv(b, &g, "detail", n->acts[i].detail);
		vg_buf_put(b, "}", 1);
	}
	vg_buf_put(b, "]", 1);
	if (n->acts_dropped)
		vg_buf_json_ku(b, &f, "activity_dropped", n->acts_dropped);
	vg_buf_put(b, "}", 1);
	(void)x;
}

static void write_alert_json(struct vg_incidents *x, const struct incident *in, const struct alert *a)
{
	struct vg_buf *b = &x->buf;
	const struct vg_rule *r = a->rule;
	const struct vg_event *ev = a->ev;
	int f = 1, g;

	vg_buf_reset(b);
	vg_buf_put(b, "{", 1);
	vg_buf_json_kt(b, &f, "@timestamp", ev->time_ns);
	vg_buf_json_kv(b, &f, "vigil", "alert/1");
	vg_buf_json_key(b, &f, "event");
	g = 1;
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &g, "kind", "alert");
	vg_buf_json_kv(b, &g, "id", a->id);
	vg_buf_json_kv(b, &g, "severity_name", vg_level_name(r->level));
	vg_buf_json_ku(b, &g, "severity", (uint64_t)r->level * 20);
	vg_buf_put(b, "}", 1);
	vg_buf_json_key(b, &f, "rule");
	g = 1;
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &g, "id", r->id);
	vg_buf_json_kv(b, &g, "name", r->title);
	vg_buf_json_kv(b, &g, "description", r->description);
	vg_buf_json_kv(b, &g, "level", vg_level_name(r->level));
	vg_buf_json_kv(b, &g, "status", r->status);
	vg_buf_json_kv(b, &g, "author", r->author);
	vg_buf_json_kv(b, &g, "ruleset", r->file);
	vg_buf_json_key(b, &g, "tags");
	vg_buf_put(b, "[", 1);
	for (size_t i = 0; i < r->ntags; i++) {
		if (i)
			vg_buf_put(b, ",", 1);
		vg_buf_json_str(b, r->tags[i]);
	}
	vg_buf_put(b, "]}", 2);
	if (r->technique) {
		vg_buf_json_key(b, &f, "threat");
		vg_buf_puts(b, "{\"framework\":\"MITRE ATT&CK\",\"technique\":{\"id\":");
		vg_buf_json_str(b, r->technique);
		vg_buf_puts(b, "}}");
	}
	vg_buf_json_key(b, &f, "incident");
	g = 1;
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &g, "id", in->id);
	vg_buf_json_ku(b, &g, "alerts", in->nalerts);
	vg_buf_json_kv(b, &g, "severity_name", vg_level_name((enum vg_level)in->max_level));
	vg_buf_json_kt(b, &g, "start", in->first_ns);
	vg_buf_json_kt(b, &g, "end", in->last_ns);
	vg_buf_put(b, "}", 1);
	if (ev->host) {
		vg_buf_json_key(b, &f, "host");
		g = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &g, "name", ev->host);
		vg_buf_put(b, "}", 1);
	}
	if (a->extra && *a->extra) {
		vg_buf_put(b, ",", 1);
		vg_buf_puts(b, a->extra);
	}
	vg_buf_json_key(b, &f, "events");
	vg_buf_put(b, "[", 1);
	vg_event_write_json(ev, b);
	vg_buf_put(b, "]", 1);

	/* the process tree: ancestors, the process, its descendants */
	vg_buf_json_key(b, &f, "process_tree");
	vg_buf_put(b, "[", 1);
	const struct vg_proc_node *self = vg_tree_get(x->tree, ev->proc.key);
	if (self) {
		const struct vg_proc_node *anc[16];
		size_t na = 0;
		for (const struct vg_proc_node *p = vg_tree_parent(x->tree, self);
		     p && na < x->cfg.max_ancestors && na < 16; p = vg_tree_parent(x->tree, p))
			anc[na++] = p;
		int first = 1;
		for (size_t i = na; i-- > 0;) {
			if (!first)
				vg_buf_put(b, ",", 1);
			first = 0;
			json_node(x, b, anc[i], "ancestor", in);
		}
		if (!first)
			vg_buf_put(b, ",", 1);
		json_node(x, b, self, "process", in);
		const struct vg_proc_node **desc = malloc(x->cfg.max_descendants * sizeof(*desc));
		size_t nd = desc ? vg_tree_descendants(x->tree, self->key, desc, x->cfg.max_descendants) : 0;
		for (size_t i = 0; i < nd && i < x->cfg.max_descendants; i++) {
			vg_buf_put(b, ",", 1);
			json_node(x, b, desc[i], "descendant", in);
		}
		if (ev->target.key && ev->type != VG_EV_PROCESS_TAMPER) {
			const struct vg_proc_node *tn = vg_tree_get(x->tree, ev->target.key);
			int listed = tn == self;
			for (size_t i = 0; tn && i < nd && i < x->cfg.max_descendants && !listed; i++)
				listed = desc[i] == tn;
			if (tn && !listed) {
				vg_buf_put(b, ",", 1);
				json_node(x, b, tn, "target", in);
			}
		}
		free(desc);
	}
	vg_buf_put(b, "]}\n", 3);
	fwrite(b->p, 1, b->len, x->cfg.out);
}

/* ---- tree view ---- */

static const char *level_color(int level)
{
	switch (level) {
	case VG_LEVEL_CRITICAL: return "\033[1;35m";
	case VG_LEVEL_HIGH: return "\033[1;31m";
	case VG_LEVEL_MEDIUM: return "\033[1;33m";
	case VG_LEVEL_LOW: return "\033[36m";
	default: return "\033[2m";
	}
}

static void print_trunc(FILE *o, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		fputs(s, o);
	else
		fprintf(o, "%.*s...", (int)max, s);
}

static void draw(struct vg_incidents *x, const struct incident *in, struct vg_strmap *shown,
		 const struct vg_proc_node *n, const char *prefix, int last, int depth)
{
	FILE *o = x->cfg.out;
	const char *c0 = x->cfg.color ? "\033[0m" : "";
	char t[40];

	fprintf(o, "%s%s", prefix, depth ? (last ? "└─ " : "├─ ") : "");
	int alerted = 0;
	for (size_t i = 0; i < in->nalerts; i++)
		if (in->alerts[i]->ev->proc.key && strcmp(in->alerts[i]->ev->proc.key, n->key) == 0)
			alerted = 1;
	fprintf(o, "%s%s%s", alerted && x->cfg.color ? "\033[1m" : "", n->image ? n->image : "(unknown image)",
		alerted ? c0 : "");
	if (n->pid)
		fprintf(o, " [pid %u]", n->pid);
	if (n->start_ns)
		fprintf(o, " %s", vg_time_format(n->start_ns, t, sizeof(t)));
	fputc('\n', o);

	char sub[1024];
	snprintf(sub, sizeof(sub), "%s%s", prefix, depth ? (last ? "   " : "│  ") : "");
	if (n->command_line) {
		fprintf(o, "%s│ cmd: ", sub);
		print_trunc(o, n->command_line, 160);
		fputc('\n', o);
	}
	if (n->user)
		fprintf(o, "%s│ user: %s\n", sub, n->user);
	for (size_t i = 0; i < in->nalerts; i++) {
		const struct alert *a = in->alerts[i];
		if (!a->ev->proc.key || strcmp(a->ev->proc.key, n->key) != 0)
			continue;
		/* one line per rule and process, with the number of matches */
		size_t times = 0, dup = 0;
		for (size_t j = 0; j < in->nalerts; j++) {
			const struct alert *b = in->alerts[j];
			if (b->rule == a->rule && b->ev->proc.key && strcmp(b->ev->proc.key, n->key) == 0) {
				times++;
				if (j < i)
					dup = 1;
			}
		}
		if (dup)
			continue;
		fprintf(o, "%s│ %s!! [%s] %s%s%s%s", sub, x->cfg.color ? level_color(a->rule->level) : "",
			vg_level_name(a->rule->level), a->rule->title ? a->rule->title : a->rule->id,
			a->rule->technique ? " (" : "", a->rule->technique ? a->rule->technique : "",
			a->rule->technique ? ")" : "");
		if (times > 1)
			fprintf(o, " x%zu", times);
		fprintf(o, "%s\n", x->cfg.color ? c0 : "");
	}
	size_t shown_acts = 0;
	for (size_t i = 0; i < n->nacts; i++) {
		const struct vg_activity *a = &n->acts[i];
		if (a->type == VG_EV_IMAGE_LOAD)
			continue;
		if (shown_acts++ == 24) {
			fprintf(o, "%s│ ... %zu more\n", sub, n->nacts - i);
			break;
		}
		fprintf(o, "%s│ %-16s ", sub, vg_event_type_name(a->type));
		print_trunc(o, a->object, 140);
		if (a->detail && *a->detail && strcmp(a->detail, "-") != 0) {
			fputs(" = ", o);
			print_trunc(o, a->detail, 100);
		}
		fputc('\n', o);
	}
	/* children that are part of the picture */
	size_t nkids = 0, k = 0;
	for (size_t i = 0; i < n->nchildren; i++)
		if (vg_strmap_get(shown, n->children[i], strlen(n->children[i])))
			nkids++;
	if (depth > 64)
		return;
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct vg_proc_node *c = vg_strmap_get(shown, n->children[i], strlen(n->children[i]));
		if (!c)
			continue;
		k++;
		draw(x, in, shown, c, sub, k == nkids, depth + 1);
	}
}

static void write_incident_tree(struct vg_incidents *x, const struct incident *in)
{
	FILE *o = x->cfg.out;
	struct vg_strmap shown;
	char t1[40], t2[40];
	const char *host = in->nalerts ? in->alerts[0]->ev->host : NULL;

	vg_strmap_init(&shown, 0);
	/* the picture: alerted processes, their targets, ancestors (bounded) and descendants */
	for (size_t i = 0; i < in->nalerts; i++) {
		const struct vg_event *ev = in->alerts[i]->ev;
		const char *keys[2] = { ev->proc.key, ev->target.key };
		for (int j = 0; j < 2; j++) {
			const struct vg_proc_node *n = keys[j] ? vg_tree_get(x->tree, keys[j]) : NULL;
			if (!n)
				continue;
			vg_strmap_put(&shown, n->key, strlen(n->key), (void *)n, NULL);
			const struct vg_proc_node *p = vg_tree_parent(x->tree, n);
			for (size_t d = 0; p && d < x->cfg.max_ancestors; d++, p = vg_tree_parent(x->tree, p))
				vg_strmap_put(&shown, p->key, strlen(p->key), (void *)p, NULL);
			const struct vg_proc_node *desc[128];
			size_t nd = vg_tree_descendants(x->tree, n->key, desc, 128);
			for (size_t d = 0; d < nd && d < 128; d++)
				vg_strmap_put(&shown, desc[d]->key, strlen(desc[d]->key), (void *)desc[d], NULL);
		}
	}
	const char *c0 = x->cfg.color ? "\033[0m" : "";
	fprintf(o, "%s== Incident %s%s  host %s  severity %s%s%s  %zu alert%s  %s .. %s\n",
		x->cfg.color ? "\033[1m" : "", in->id, c0, host ? host : "?",
		x->cfg.color ? level_color(in->max_level) : "", vg_level_name((enum vg_level)in->max_level), c0,
		in->nalerts, in->nalerts == 1 ? "" : "s", vg_time_format(in->first_ns, t1, sizeof(t1)),
		vg_time_format(in->last_ns, t2, sizeof(t2)));
	/* techniques */
	fprintf(o, "   techniques:");
	for (size_t i = 0; i < in->nalerts; i++) {
		const char *tq = in->alerts[i]->rule->technique;
		int dup = !tq;
		for (size_t j = 0; j < i && !dup; j++)
			dup = in->alerts[j]->rule->technique && strcmp(in->alerts[j]->rule->technique, tq) == 0;
		if (!dup)
			fprintf(o, " %s", tq);
	}
	fputc('\n', o);
	/* roots: shown processes whose parent is not shown */
	for (size_t i = 0; i < shown.nslots; i++) {
		if (!shown.slots[i].key)
			continue;
		const struct vg_proc_node *n = shown.slots[i].value;
		if (n->parent_key && vg_strmap_get(&shown, n->parent_key, strlen(n->parent_key)))
			continue;
		char prefix[4] = "   ";
		draw(x, in, &shown, n, prefix, 1, 0);
	}
	fputc('\n', o);
	vg_strmap_free(&shown);
}

static int cmp_alert(const void *pa, const void *pb)
{
	const struct alert *a = *(const struct alert *const *)pa, *b = *(const struct alert *const *)pb;
	if (a->ev->time_ns != b->ev->time_ns)
		return a->ev->time_ns < b->ev->time_ns ? -1 : 1;
	return a->ev->seq < b->ev->seq ? -1 : a->ev->seq > b->ev->seq;
}

static void close_incident(struct vg_incidents *x, struct incident *in)
{
	qsort(in->alerts, in->nalerts, sizeof(*in->alerts), cmp_alert);
	if (x->cfg.format == VG_ALERT_TREE)
		write_incident_tree(x, in);
	else if (!x->cfg.immediate)
		for (size_t i = 0; i < in->nalerts; i++)
			write_alert_json(x, in, in->alerts[i]);
	fflush(x->cfg.out);
	for (size_t i = 0; i < in->nalerts; i++) {
		/* forget the processes' membership so the key map stays bounded */
		const char *keys[2] = { in->alerts[i]->ev->proc.key, in->alerts[i]->ev->target.key };
		for (int k = 0; k < 2; k++) {
			const char *key = keys[k];
			if (!key)
				continue;
			size_t n;
			key = vg_key_bare(key, &n);
			vg_strmap_del(&x->by_key, key, n);
		}
		alert_free(in->alerts[i]);
	}
	free(in->alerts);
	in->alerts = NULL;
	in->nalerts = in->cap = 0;
	in->open = 0;
}

void vg_incidents_tick(struct vg_incidents *x, int64_t now_ns)
{
	for (size_t i = 0; i < x->ninc; i++) {
		struct incident *in = &x->inc[i];
		if (in->open && in->parent == (int)i && in->last_ns + x->cfg.idle_ns < now_ns)
			close_incident(x, in);
	}
}

void vg_incidents_flush(struct vg_incidents *x)
{
	for (size_t i = 0; i < x->ninc; i++) {
		struct incident *in = &x->inc[i];
		if (in->open && in->parent == (int)i)
			close_incident(x, in);
	}
}

const struct vg_incidents_stats *vg_incidents_stats(const struct vg_incidents *x)
{
	return &x->stats;
}

void vg_incidents_free(struct vg_incidents *x)
{
	if (!x)
		return;
	vg_incidents_flush(x);
	free(x->inc);
	vg_strmap_free(&x->by_key);
	vg_buf_free(&x->buf);
	free(x);
}
