/* hunt.c - merges sources by event time with a bounded reorder window and drives each event through the tree, enrichment, rules and incidents. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vigil/buf.h"
#include "vigil/hunt.h"
#include "vigil/linux.h"
#include "vigil/source.h"
#include "vigil/strmap.h"
#include "engine/sigma_ext.h"

/* ---- input expansion ---- */

struct strlist {
	char **v;
	size_t n, cap;
};

static int push(struct strlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return VG_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = vg_strdup(s)))
		return VG_ENOMEM;
	l->n++;
	return 0;
}

static int wanted(const char *name)
{
	size_t n = strlen(name);
	return vg_ends_with_ci(name, n, ".evtx") || vg_ends_with_ci(name, n, ".json") ||
	       vg_ends_with_ci(name, n, ".jsonl") || vg_ends_with_ci(name, n, ".ndjson");
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(struct strlist *l, const char *path, int top)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (top) /* kept: opening it reports the error and counts the input as unreadable */
			return push(l, path);
		vg_log(VG_LOG_ERROR, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return (top || wanted(path)) ? push(l, path) : 0;
	DIR *d = opendir(path);
	if (!d) {
		vg_log(VG_LOG_ERROR, "%s: %s", path, strerror(errno));
		return 0;
	}
	struct strlist names = { 0 };
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)) && !rc) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
		rc = push(&names, sub);
	}
	closedir(d);
	qsort(names.v, names.n, sizeof(*names.v), cmpstr);
	for (size_t i = 0; i < names.n; i++) {
		if (!rc)
			rc = walk(l, names.v[i], 0);
		free(names.v[i]);
	}
	free(names.v);
	return rc;
}

int vg_hunt_expand(const char *const *inputs, size_t ninputs, char ***out)
{
	struct strlist l = { 0 };
	int rc = 0;

	for (size_t i = 0; i < ninputs && !rc; i++) {
		int r = walk(&l, inputs[i], 1);
		if (r == VG_ENOMEM)
			rc = r;
	}
	if (rc) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i]);
		free(l.v);
		return rc;
	}
	*out = l.v;
	return (int)l.n;
}

/* ---- reorder heap (min by time, then arrival); keys inline for locality ---- */

struct hent {
	int64_t time_ns;
	uint64_t seq;
	struct vg_event *ev;
};

struct heap {
	struct hent *v;
	size_t n, cap;
};

static int before(const struct hent *a, const struct hent *b)
{
	return a->time_ns != b->time_ns ? a->time_ns < b->time_ns : a->seq < b->seq;
}

static int heap_push(struct heap *h, struct vg_event *ev)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct hent *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return VG_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	struct hent e = { ev->time_ns, ev->seq, ev };
	size_t i = h->n++;
	while (i && before(&e, &h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = e;
	return 0;
}

static struct vg_event *heap_pop(struct heap *h)
{
	struct vg_event *top = h->v[0].ev;
	struct hent last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
			c++;
		if (!before(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/* ---- the run ---- */

struct run {
	const struct vg_hunt_config *cfg;
	struct vg_hunt_stats *stats;
	struct vg_tree *tree;
	struct vg_incidents *inc;
	struct vg_corr *corr;   /* correlation rules' state, or NULL */
	struct vg_linux_facts *facts; /* path classes etc. of Linux events (created at the first one), or NULL */
	int facts_failed;
	struct vg_event **pool; /* recycled events */
	size_t npool, pool_cap;
	struct vg_buf out;
	struct vg_strmap pending; /* process key -> its start event still in the reorder heap */
	int64_t last_tick_ns;
	int64_t last_emitted_ns;
	uint64_t since_tick;
	int oom;
};

static struct vg_event *ev_get(struct run *r)
{
	if (r->npool)
		return r->pool[--r->npool];
	struct vg_event *ev = vg_event_new();
	if (ev)
		vg_event_reset(ev);
	return ev;
}

static void ev_put(struct run *r, struct vg_event *ev)
{
	if (r->npool == r->pool_cap) {
		size_t cap = r->pool_cap ? r->pool_cap * 2 : 256;
		struct vg_event **p = realloc(r->pool, cap * sizeof(*p));
		if (!p) {
			vg_event_free(ev);
			return;
		}
		r->pool = p;
		r->pool_cap = cap;
	}
	r->pool[r->npool++] = ev;
}

/* A correlation rule fired: an alert like any other, with the contributing events listed. */
static void on_corr(const struct vg_corr_hit *h, void *ctx)
{
	struct run *r = ctx;
	if (!h->alert || h->rule->level < r->cfg->min_level)
		return;
	if (vg_incidents_add_ex(r->inc, h->rule, h->ev, h->json))
		r->oom = 1;
}

static void on_match(const struct vg_rule *rule, const struct vg_event *ev, void *ctx)
{
	struct run *r = ctx;
	if (r->corr && vg_corr_feed(r->corr, rule, ev, on_corr, r)) /* first, as vigild does */
		r->oom = 1;
	if (rule->level >= r->cfg->min_level && vg_rule_generates(rule) && vg_incidents_add(r->inc, rule, ev))
		r->oom = 1;
}

static void process(struct run *r, struct vg_event *ev)
{
	if (ev->time_ns && ev->time_ns < r->last_emitted_ns)
		r->stats->late++;
	if (ev->time_ns > r->last_emitted_ns)
		r->last_emitted_ns = ev->time_ns;
	if (ev->platform == VG_PLATFORM_LINUX && !r->facts && !r->facts_failed) {
		/* as vigild does before the tree, but a replay: no file is read (docs/linux-host.md) */
		struct vg_linux_facts_config lc = { .recorded = 1 };
		if (vg_linux_facts_new(&lc, &r->facts))
			r->facts_failed = 1;
	}
	if (r->facts && vg_linux_enrich(r->facts, ev)) {
		r->oom = 1;
		return;
	}
	if (vg_tree_update(r->tree, ev) || vg_tree_enrich(r->tree, ev)) {
		r->oom = 1;
		return;
	}
	if (r->cfg->rules)
		vg_ruleset_match(r->cfg->rules, ev, on_match, r);
	if (r->corr && vg_corr_advance(r->corr, ev->time_ns, on_corr, r))
		r->oom = 1;
	if (r->cfg->events_out) {
		vg_buf_reset(&r->out);
		vg_event_write_json(ev, &r->out);
		vg_buf_put(&r->out, "\n", 1);
		fwrite(r->out.p, 1, r->out.len, r->cfg->events_out);
	}
	if (++r->since_tick >= 4096 || ev->time_ns > r->last_tick_ns + 60LL * 1000000000LL) {
		vg_incidents_tick(r->inc, r->last_emitted_ns);
		r->last_tick_ns = ev->time_ns;
		r->since_tick = 0;
	}
}

struct input {
	struct vg_source *src;
	struct vg_event *head; /* the next event of this input, or NULL at its end */
};

static void advance(struct run *r, struct input *in)
{
	for (;;) {
		struct vg_event *ev = in->head ? in->head : ev_get(r);
		if (!ev) {
			r->oom = 1;
			in->head = NULL;
			return;
		}
		int rc = vg_source_next(in->src, ev);
		if (rc == 1) {
			in->head = ev;
			return;
		}
		if (rc == 0 || rc == VG_ENOMEM) {
			if (rc == VG_ENOMEM)
				r->oom = 1;
			ev_put(r, ev);
			in->head = NULL;
			return;
		}
		in->head = ev; /* a bad record: reported by the source; read on */
	}
}

/*
 * Sysmon logs the parent's access to a child it is creating (and sometimes a
 * remote thread) a few ms before the child's own process-create event. When
 * an event names a target the tree does not know yet, the start of that
 * target still waiting in the reorder heap is processed first, so the tree
 * can tell that the target is the source's fresh child.
 */
static void pull_target_start(struct run *r, const struct vg_event *ev)
{
	if ((ev->type != VG_EV_PROCESS_ACCESS && ev->type != VG_EV_REMOTE_THREAD) || !ev->target.key)
		return;
	struct vg_event *c = vg_strmap_get(&r->pending, ev->target.key, strlen(ev->target.key));
	if (!c || c->done)
		return;
	vg_strmap_del(&r->pending, c->proc.key, strlen(c->proc.key));
	process(r, c);
	c->done = 1; /* still in the heap; skipped when it comes out */
}

/* Takes a process start out of the pending map when it leaves the heap. */
static void unpend(struct run *r, const struct vg_event *ev)
{
	if (ev->type == VG_EV_PROCESS_START && ev->proc.key && !ev->done &&
	    vg_strmap_get(&r->pending, ev->proc.key, strlen(ev->proc.key)) == ev)
		vg_strmap_del(&r->pending, ev->proc.key, strlen(ev->proc.key));
}

/* Merges a group of inputs: the earliest head first, through the reorder heap. */
static void merge_group(struct run *r, char **files, size_t nfiles, uint64_t *seq)
{
	const struct vg_hunt_config *cfg = r->cfg;
	struct input *ins = calloc(nfiles, sizeof(*ins));
	struct heap h = { 0 };
	size_t nopen = 0;
	int64_t newest = 0;

	if (!ins) {
		r->oom = 1;
		return;
	}
	for (size_t i = 0; i < nfiles; i++) {
		int rc = vg_source_open(files[i], VG_FMT_AUTO, &ins[i].src);
		if (rc) {
			vg_log(VG_LOG_ERROR, "%s: cannot read: %s", files[i], vg_strerror(rc));
			r->stats->files_failed++;
			continue;
		}
		r->stats->files++;
		advance(r, &ins[i]);
		if (ins[i].head)
			nopen++;
	}
	while ((nopen || h.n) && !r->oom) {
		/* pick the input whose next event is earliest */
		struct input *best = NULL;
		for (size_t i = 0; i < nfiles; i++) {
			if (ins[i].head && (!best || ins[i].head->time_ns < best->head->time_ns))
				best = &ins[i];
		}
		if (best) {
			struct vg_event *ev = best->head;
			best->head = NULL;
			ev->seq = ++*seq;
			if (!ev->time_ns)
				ev->time_ns = newest; /* no time: keep it in arrival order */
			if (ev->time_ns > newest)
				newest = ev->time_ns;
			if (heap_push(&h, ev)) {
				r->oom = 1;
				break;
			}
			if (ev->type == VG_EV_PROCESS_START && ev->proc.key &&
			    vg_strmap_put(&r->pending, ev->proc.key, strlen(ev->proc.key), ev, NULL))
				r->oom = 1;
			advance(r, best);
			if (!best->head)
				nopen--;
		}
		/* release what is older than the window, or everything at the end */
		while (h.n && (!best || h.n > cfg->reorder_max ||
			       h.v[0].time_ns + cfg->reorder_ns < newest)) {
			struct vg_event *ev = heap_pop(&h);
			unpend(r, ev);
			if (!ev->done) {
				pull_target_start(r, ev);
				process(r, ev);
			}
			vg_event_reset(ev);
			ev_put(r, ev);
		}
	}
	while (h.n) {
		struct vg_event *ev = heap_pop(&h);
		unpend(r, ev);
		if (!r->oom && !ev->done) {
			pull_target_start(r, ev);
			process(r, ev);
		}
		vg_event_free(ev);
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (ins[i].src) {
			const struct vg_source_stats *s = vg_source_stats(ins[i].src);
			r->stats->records += s->records;
			r->stats->events += s->events;
			r->stats->errors += s->errors;
			r->stats->bytes += s->bytes;
			r->stats->skipped += s->skipped;
		}
		vg_event_free(ins[i].head);
		vg_source_free(ins[i].src);
	}
	free(h.v);
	free(ins);
}

int vg_hunt_run(const struct vg_hunt_config *cfg_in, struct vg_hunt_stats *stats)
{
	struct vg_hunt_config cfg = *cfg_in;
	struct run r = { 0 };
	char **files = NULL;
	struct timespec t0, t1;
	uint64_t seq = 0;
	int n, rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(stats, 0, sizeof(*stats));
	if (!cfg.reorder_ns)
		cfg.reorder_ns = 5LL * 1000000000LL;
	if (!cfg.reorder_max)
		cfg.reorder_max = 100000;
	if (!cfg.max_open)
		cfg.max_open = 256;
	r.cfg = &cfg;
	r.stats = stats;
	vg_strmap_init(&r.pending, 1);
	n = vg_hunt_expand(cfg.inputs, cfg.ninputs, &files);
	if (n < 0)
		return n;
	if ((rc = vg_tree_new(&cfg.tree, &r.tree)) || (rc = vg_incidents_new(&cfg.alerts, r.tree, &r.inc)))
		goto out;
	if (cfg.rules && vg_ruleset_correlation_count(cfg.rules)) {
		struct vg_corr_config cc = { .max_groups = cfg.corr_max_groups, .slack_ns = cfg.reorder_ns };
		if ((rc = vg_corr_new(cfg.rules, &cc, r.tree, &r.corr)))
			goto out;
	}
	for (size_t i = 0; i < (size_t)n && !r.oom; i += cfg.max_open) {
		size_t k = (size_t)n - i < cfg.max_open ? (size_t)n - i : cfg.max_open;
		merge_group(&r, files + i, k, &seq);
	}
	if (r.corr && !r.oom && vg_corr_flush(r.corr, on_corr, &r))
		r.oom = 1;
	vg_incidents_flush(r.inc);
	if (r.oom)
		rc = VG_ENOMEM;
out:
	if (r.inc) {
		stats->alerts = vg_incidents_stats(r.inc)->alerts;
		stats->incidents = vg_incidents_stats(r.inc)->incidents;
	}
	if (r.tree)
		stats->tree = *vg_tree_stats(r.tree);
	if (r.corr) {
		stats->corr_hits = vg_corr_stats(r.corr)->fired;
		stats->corr_groups_evicted = vg_corr_stats(r.corr)->groups_evicted;
	}
	vg_corr_free(r.corr);
	vg_linux_facts_free(r.facts);
	vg_incidents_free(r.inc);
	vg_tree_free(r.tree);
	for (size_t i = 0; i < r.npool; i++)
		vg_event_free(r.pool[i]);
	free(r.pool);
	vg_buf_free(&r.out);
	vg_strmap_free(&r.pending);
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}
