/* pipeline.c - the agent's live pipeline: one event at a time through the process tree, enrichment, Sigma rules, the response hook and incidents. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_ext.h"
#include "vigil/agent.h"
#include "vigil/alert.h"
#include "vigil/buf.h"
#include "vigil/embedded.h"
#include "vigil/proctree.h"
#include "vigil/linux.h"
#include "vigil/response.h"

/* how late (event time) a match may reach a correlation and still count, as the hunt's reorder window */
#define CORR_SLACK_NS (5LL * 1000000000LL)

struct vg_agent {
	struct vg_ruleset *rules;
	struct vg_tree *tree;
	struct vg_incidents *inc;
	struct vg_corr *corr;     /* correlation rules' state, or NULL */
	struct vg_linux_facts *facts; /* Linux host facts (dpkg, hashes, ELF), made at the first Linux event */
	int facts_failed;
	FILE *alert_out;          /* owned unless stdout */
	FILE *event_out;          /* owned, or NULL */
	FILE *record_out;         /* owned, or NULL: the recording (cfg->record) */
	enum vg_level min_level;
	char *resolvers;          /* owned copy given to the tree */
	vg_agent_respond_fn respond;
	void *respond_ctx;
	vg_agent_respond_fn match_hook; /* after respond: e.g. the cloud client's signal */
	void *match_ctx;
	struct vg_buf extra;      /* actions JSON of the current match */
	struct vg_buf out;        /* event log line */
	size_t rules_loaded, rules_failed;
	struct vg_agent_stats stats;
};

static void on_corr(const struct vg_corr_hit *h, void *ctx);

static int failf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void on_rule_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct vg_agent *a = ctx;
	a->rules_failed++;
	vg_log(VG_LOG_WARN, "rule %s:%u: %s", file, line, reason);
}

/* "nameserver" lines of resolv.conf, comma-joined; NULL when none. */
static char *read_resolvers(const char *path)
{
	FILE *f = fopen(path, "r");
	struct vg_buf b = { 0 };
	char line[512];

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char ip[128];
		if (sscanf(line, " nameserver %127s", ip) == 1) {
			if (b.len)
				vg_buf_put(&b, ",", 1);
			vg_buf_puts(&b, ip);
		}
	}
	fclose(f);
	if (!b.len || b.oom) {
		vg_buf_free(&b);
		return NULL;
	}
	vg_buf_put(&b, "", 1);
	return b.p;
}

static FILE *open_log(const char *path, char *err, size_t errlen, int *rc)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "a");
	if (!f)
		*rc = failf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	else
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* Loads the configured rules (or the compiled-in ones) into a new ruleset. */
static int load_rules(struct vg_agent *a, const struct vg_agent_config *cfg, struct vg_ruleset **out,
		      char *err, size_t errlen)
{
	struct vg_ruleset *rs;
	size_t loaded = 0;
	int rc;

	*out = NULL;
	a->rules_failed = 0;
	if ((rc = vg_ruleset_new(&rs)))
		return rc;
	if (cfg->nrules == 0) {
		for (size_t i = 0; i < vg_embedded_rules_count; i++) {
			int n = vg_ruleset_load_text(rs, vg_embedded_rules[i].name, vg_embedded_rules[i].data,
						     vg_embedded_rules[i].len, on_rule_error, a);
			if (n > 0)
				loaded += (size_t)n;
		}
	}
	for (size_t i = 0; i < cfg->nrules; i++) {
		int n = vg_ruleset_load_path(rs, cfg->rules[i], on_rule_error, a);
		if (n < 0) {
			vg_ruleset_free(rs);
			return failf(err, errlen, VG_EINVAL, "rules %s: cannot read: %s", cfg->rules[i], vg_strerror(n));
		}
		loaded += (size_t)n;
	}
	vg_ruleset_link(rs, on_rule_error, a);
	if (loaded == 0) {
		vg_ruleset_free(rs);
		return failf(err, errlen, VG_EINVAL, "no rule loaded");
	}
	a->rules_loaded = loaded;
	*out = rs;
	return 0;
}

int vg_agent_reload(struct vg_agent *a, const struct vg_agent_config *cfg, char *err, size_t errlen)
{
	struct vg_ruleset *rs;
	int rc = load_rules(a, cfg, &rs, err, errlen);

	if (rc)
		return rc;
	/* open alerts point at the old rules: write them out before the swap */
	struct vg_corr *corr = NULL;
	if (vg_ruleset_correlation_count(rs) && (rc = vg_corr_new(rs, &(struct vg_corr_config){ .slack_ns = CORR_SLACK_NS }, a->tree, &corr))) {
		vg_ruleset_free(rs);
		return failf(err, errlen, rc, "out of memory");
	}
	vg_corr_flush(a->corr, on_corr, a);
	vg_corr_free(a->corr);
	a->corr = corr;
	vg_incidents_flush(a->inc);
	vg_ruleset_free(a->rules);
	a->rules = rs;
	a->min_level = cfg->min_level;
	return 0;
}

int vg_agent_new(const struct vg_agent_config *cfg, struct vg_agent **out, char *err, size_t errlen)
{
	struct vg_agent *a = calloc(1, sizeof(*a));
	int rc = 0;

	*out = NULL;
	if (!a)
		return VG_ENOMEM;
	a->min_level = cfg->min_level;
	if ((rc = load_rules(a, cfg, &a->rules, err, errlen)))
		goto fail;

	struct vg_tree_config tc = { 0 };
	tc.horizon_ns = (int64_t)cfg->proc_horizon_s * 1000000000LL;
	tc.idle_ns = (int64_t)cfg->proc_idle_s * 1000000000LL;
	a->resolvers = cfg->resolvers ? vg_strdup(cfg->resolvers) : read_resolvers("/etc/resolv.conf");
	tc.resolvers = a->resolvers;
	if ((rc = vg_tree_new(&tc, &a->tree)))
		goto fail;

	if (!(a->alert_out = open_log(cfg->alert_log, err, errlen, &rc)))
		goto fail;
	if (cfg->event_log && !(a->event_out = open_log(cfg->event_log, err, errlen, &rc)))
		goto fail;
	if (cfg->record && !(a->record_out = open_log(cfg->record, err, errlen, &rc)))
		goto fail;
	struct vg_incidents_config ic = { 0 };
	ic.format = VG_ALERT_JSON;
	ic.out = a->alert_out;
	ic.idle_ns = (int64_t)cfg->incident_idle_s * 1000000000LL;
	ic.immediate = 1;
	if ((rc = vg_incidents_new(&ic, a->tree, &a->inc)))
		goto fail;
	if (vg_ruleset_correlation_count(a->rules) &&
	    (rc = vg_corr_new(a->rules, &(struct vg_corr_config){ .slack_ns = CORR_SLACK_NS }, a->tree, &a->corr)))
		goto fail;
	*out = a;
	return 0;
fail:
	if (rc == VG_ENOMEM)
		failf(err, errlen, rc, "out of memory");
	vg_agent_free(a);
	return rc;
}

void vg_agent_free(struct vg_agent *a)
{
	if (!a)
		return;
	if (a->inc)
		vg_corr_flush(a->corr, on_corr, a); /* lt/lte/eq windows still open */
	vg_corr_free(a->corr);
	vg_linux_facts_free(a->facts);
	vg_incidents_free(a->inc);
	vg_tree_free(a->tree);
	vg_ruleset_free(a->rules);
	if (a->alert_out && a->alert_out != stdout)
		fclose(a->alert_out);
	if (a->event_out && a->event_out != stdout)
		fclose(a->event_out);
	if (a->record_out && a->record_out != stdout)
		fclose(a->record_out);
	free(a->resolvers);
	vg_buf_free(&a->extra);
	vg_buf_free(&a->out);
	free(a);
}

void vg_agent_set_respond(struct vg_agent *a, vg_agent_respond_fn fn, void *ctx)
{
	a->respond = fn;
	a->respond_ctx = ctx;
}

void vg_agent_set_match_hook(struct vg_agent *a, vg_agent_respond_fn fn, void *ctx)
{
	a->match_hook = fn;
	a->match_ctx = ctx;
}

int vg_agent_log_line(struct vg_agent *a, const char *json, size_t len)
{
	if (fwrite(json, 1, len, a->alert_out) != len || fputc('\n', a->alert_out) == EOF || fflush(a->alert_out))
		return -EIO;
	return 0;
}

/*
 * A correlation grouped by process (VigilAncestorKeys, VigilProcessKey) is
 * acted on at its group's process: for the chain correlation that is the
 * loader whose descendants did every step, so its whole tree is killed, the
 * executables it wrote quarantined and the persistence it installed undone.
 * Returns a copy of the completing event re-rooted there, or NULL.
 */
static struct vg_event *corr_root_event(struct vg_agent *a, const struct vg_corr_hit *h)
{
	static const char *const keys[] = { "VigilAncestorKeys=", "VigilProcessKey=" };
	const char *g = h->group, *v = NULL;
	for (size_t i = 0; g && !v && i < sizeof(keys) / sizeof(*keys); i++)
		if (strncmp(g, keys[i], strlen(keys[i])) == 0)
			v = g + strlen(keys[i]);
	if (!v)
		return NULL;
	size_t n = strcspn(v, ",");
	char key[320];
	if (n == 0 || n >= sizeof(key))
		return NULL;
	memcpy(key, v, n);
	key[n] = '\0';
	const struct vg_proc_node *node = vg_tree_get(a->tree, key);
	if (!node || !node->pid || (h->ev->proc.key && strcmp(h->ev->proc.key, key) == 0))
		return NULL;
	struct vg_event *ev = vg_event_clone(h->ev);
	if (!ev)
		return NULL;
	ev->proc.key = vg_event_strdup(ev, node->key, strlen(node->key));
	ev->proc.pid = node->pid;
	ev->proc.image = node->image ? vg_event_strdup(ev, node->image, strlen(node->image)) : NULL;
	ev->proc.command_line =
		node->command_line ? vg_event_strdup(ev, node->command_line, strlen(node->command_line)) : NULL;
	ev->file.path = NULL;
	if (!ev->proc.key) {
		vg_event_free(ev);
		return NULL;
	}
	return ev;
}

static void on_corr(const struct vg_corr_hit *h, void *ctx)
{
	struct vg_agent *a = ctx;

	if (!h->alert || h->rule->level < a->min_level)
		return;
	a->stats.matches++;
	/* the correlation's verdict is acted on like a rule's: its event is the one that completed it */
	vg_buf_reset(&a->extra);
	if (h->json)
		vg_buf_puts(&a->extra, h->json);
	if (a->respond) {
		size_t before = a->extra.len;
		if (h->json)
			vg_buf_put(&a->extra, ",", 1);
		size_t mark = a->extra.len;
		struct vg_event *root = corr_root_event(a, h);
		if (a->respond(a->respond_ctx, h->rule, root ? root : h->ev, &a->extra))
			a->stats.respond_errors++;
		vg_event_free(root);
		if (a->extra.len == mark)
			a->extra.len = before; /* the hook wrote nothing: no dangling comma */
	}
	if (a->match_hook)
		a->match_hook(a->match_ctx, h->rule, h->ev, &a->extra);
	vg_buf_put(&a->extra, "", 1);
	if (vg_incidents_add_ex(a->inc, h->rule, h->ev, a->extra.oom ? h->json : a->extra.p))
		a->stats.oom++;
}

static void on_match(const struct vg_rule *rule, const struct vg_event *ev, void *ctx)
{
	struct vg_agent *a = ctx;

	if (a->corr && vg_corr_feed(a->corr, rule, ev, on_corr, a)) /* first, as vigil hunt does */
		a->stats.oom++;
	if (rule->level < a->min_level || !vg_rule_generates(rule))
		return;
	a->stats.matches++;
	vg_buf_reset(&a->extra);
	if (a->respond && a->respond(a->respond_ctx, rule, ev, &a->extra))
		a->stats.respond_errors++;
	if (a->match_hook)
		a->match_hook(a->match_ctx, rule, ev, &a->extra);
	vg_buf_put(&a->extra, "", 1);
	if (vg_incidents_add_ex(a->inc, rule, ev, a->extra.oom ? NULL : a->extra.p))
		a->stats.oom++;
}

int vg_agent_handle(struct vg_agent *a, struct vg_event *ev)
{
	a->stats.events++;
	if (ev->platform == VG_PLATFORM_LINUX && !a->facts && !a->facts_failed &&
	    vg_linux_facts_new(NULL, &a->facts)) {
		a->facts_failed = 1;
		vg_log(VG_LOG_WARN, "Linux host facts unavailable (out of memory): events go on without hashes and packages");
	}
	if (ev->platform == VG_PLATFORM_LINUX && a->facts)
		vg_linux_enrich(a->facts, ev); /* before the tree: persistence kind, path classes, hashes */
	if (a->record_out) { /* what the sensor saw plus the facts only this moment knows; the tree's fields are redone on replay */
		vg_buf_reset(&a->out);
		vg_event_write_json_recorded(ev, &a->out);
		vg_buf_put(&a->out, "\n", 1);
		fwrite(a->out.p, 1, a->out.len, a->record_out);
	}
	if (vg_tree_update(a->tree, ev) || vg_tree_enrich(a->tree, ev)) {
		a->stats.oom++;
		return VG_ENOMEM;
	}
	if (a->respond == vg_response_respond)
		vg_response_observe(a->respond_ctx, ev); /* persistence snapshots (docs/response.md) */
	vg_ruleset_match(a->rules, ev, on_match, a);
	if (a->corr && vg_corr_advance(a->corr, ev->time_ns, on_corr, a))
		a->stats.oom++;
	if (a->event_out) {
		vg_buf_reset(&a->out);
		vg_event_write_json(ev, &a->out);
		vg_buf_put(&a->out, "\n", 1);
		fwrite(a->out.p, 1, a->out.len, a->event_out);
	}
	return 0;
}

void vg_agent_tick(struct vg_agent *a, int64_t now_ns)
{
	vg_incidents_tick(a->inc, now_ns);
}

const struct vg_agent_stats *vg_agent_stats(const struct vg_agent *a)
{
	struct vg_agent *m = (struct vg_agent *)a;
	const struct vg_incidents_stats *is = vg_incidents_stats(a->inc);
	m->stats.alerts = is->alerts;
	m->stats.incidents = is->incidents;
	return &a->stats;
}

struct vg_tree *vg_agent_tree(struct vg_agent *a)
{
	return a->tree;
}

const struct vg_ruleset *vg_agent_rules(const struct vg_agent *a)
{
	return a->rules;
}

void vg_agent_write_status(const struct vg_agent *a, struct vg_buf *b, int *first)
{
	const struct vg_agent_stats *s = vg_agent_stats(a);
	const struct vg_tree_stats *t = vg_tree_stats(a->tree);

	vg_buf_json_ku(b, first, "rules_loaded", a->rules_loaded);
	vg_buf_json_ku(b, first, "rules_failed", a->rules_failed);
	vg_buf_json_ku(b, first, "events", s->events);
	vg_buf_json_ku(b, first, "matches", s->matches);
	vg_buf_json_ku(b, first, "alerts", s->alerts);
	vg_buf_json_ku(b, first, "incidents", s->incidents);
	vg_buf_json_ku(b, first, "respond_errors", s->respond_errors);
	vg_buf_json_ku(b, first, "oom_drops", s->oom);
	vg_buf_json_ku(b, first, "processes", t->procs);
	vg_buf_json_ku(b, first, "processes_evicted", t->evicted_horizon + t->evicted_idle + t->evicted_cap);
}
