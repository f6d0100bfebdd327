/* proctree.c - process tree from the event stream: keys that survive PID reuse, activity per process, bounded memory, and event enrichment with derived fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/linux.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"
#include "vigil/strmap.h"
#include "vigil/winpath.h"

#include "vigil/embedded.h"

/* A remembered file write: who wrote path, and when. */
struct file_rec {
	char *writer_key;
	char *writer_image;
	int64_t time_ns;
	int writer_flagged; /* the writer (or an ancestor) had a medium+ alert at write time */
	uint64_t gen;
};

/* Derived fields that depend only on the process, computed on its first event. */
struct node_cache {
	uint64_t epoch;       /* t->flag_epoch when flagged was computed */
	int flagged;
	int nvals;
	struct {
		int f;
		char *v;
	} vals[10];
};

/* A FIFO entry naming a map entry by key and generation. */
struct qent {
	char *key;
	uint64_t gen;
	int64_t t;
};

struct fifo {
	struct qent *e;
	size_t head, len, cap;
};

struct sysbin {
	char **dirs; /* root-stripped, e.g. "windows\\system32" */
	size_t ndirs;
	char **parents;
	size_t nparents; /* 0 = any parent */
};

struct vg_tree {
	struct vg_tree_config cfg;
	struct vg_strmap procs;   /* key -> struct vg_proc_node* */
	struct vg_strmap pids;    /* "host|pid" -> struct vg_proc_node* (live processes) */
	struct vg_strmap files;   /* lower-cased path -> struct file_rec* */
	struct vg_strmap sysbins; /* file name -> struct sysbin* */
	char **resolvers;
	size_t nresolvers;
	struct fifo exited;       /* exit order, for the horizon */
	struct fifo created;      /* creation order, for the cap */
	struct fifo file_order;   /* write order, for the file cap */
	uint64_t gen;
	int64_t now_ns;           /* newest event time seen */
	int64_t last_sweep_ns;    /* when idle processes were last looked for */
	uint64_t flag_epoch;      /* bumped whenever a process becomes flagged */
	struct vg_tree_stats stats;
	uint32_t id[32];          /* interned derived-field ids, see enum below */
};

enum {
	F_ANCESTORS, F_FLAGGED, F_AGE, F_PATHCLASS, F_USERWRITABLE, F_SYSBIN, F_SYSBIN_PATH,
	F_SYSBIN_PARENT, F_DROPPED, F_DROPPER, F_DROPPER_FLAGGED, F_DROPPED_AGE, F_TARGET_CHILD,
	F_TARGET_AGE, F_PARENT_IMAGE, F_PERSIST_KIND, F_PERSIST_TARGET, F_PERSIST_CLASS,
	F_PERSIST_UW, F_PERSIST_DROPPED, F_PERSIST_DROPPER_FLAGGED, F_DNS_KNOWN, F_TLD, F__COUNT
};

static const char *field_names[F__COUNT] = {
	"VigilAncestorImages", "VigilProcessFlagged", "VigilProcessAgeMs", "VigilImagePathClass",
	"VigilImageUserWritable", "VigilSysBin", "VigilSysBinWrongPath", "VigilSysBinUnusualParent",
	"VigilImageDropped", "VigilImageDropper", "VigilImageDropperFlagged",
	"VigilImageDroppedAgeSec", "VigilTargetIsChild", "VigilTargetAgeMs", "VigilParentImage",
	"VigilPersistKind", "VigilPersistTarget", "VigilPersistTargetPathClass",
	"VigilPersistTargetUserWritable", "VigilPersistTargetDropped",
	"VigilPersistTargetDropperFlagged", "VigilDnsResolverKnown", "VigilQueryTld",
};

/* ---- small helpers ---- */

static int fifo_push(struct fifo *q, const char *key, uint64_t gen, int64_t t)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		struct qent *e = malloc(cap * sizeof(*e));
		if (!e)
			return VG_ENOMEM;
		for (size_t i = 0; i < q->len; i++)
			e[i] = q->e[(q->head + i) % q->cap];
		free(q->e);
		q->e = e;
		q->head = 0;
		q->cap = cap;
	}
	char *k = vg_strdup(key);
	if (!k)
		return VG_ENOMEM;
	q->e[(q->head + q->len) % q->cap] = (struct qent){ k, gen, t };
	q->len++;
	return 0;
}

static struct qent *fifo_front(struct fifo *q)
{
	return q->len ? &q->e[q->head] : NULL;
}

static void fifo_pop(struct fifo *q)
{
	free(q->e[q->head].key);
	q->head = (q->head + 1) % q->cap;
	q->len--;
}

static void fifo_free(struct fifo *q)
{
	while (q->len)
		fifo_pop(q);
	free(q->e);
}

const char *vg_key_bare(const char *k, size_t *len)
{
	size_t n = strlen(k);
	if (n >= 2 && k[0] == '{' && k[n - 1] == '}') {
		k++;
		n -= 2;
	}
	*len = n;
	return k;
}

static int pid_key(char *buf, size_t size, const char *host, uint32_t pid)
{
	return snprintf(buf, size, "%s|%u", host ? host : "", pid);
}

static int level_flagged(int level)
{
	return level >= VG_LEVEL_MEDIUM;
}

/* ---- system binary table ---- */

static char *dup_lower_root(const char *s, size_t n)
{
	char tmp[512];
	size_t o = 0;

	/* %windir% and friends to their root-stripped form */
	static const struct {
		const char *var, *val;
	} vars[] = {
		{ "%windir%", "windows" },
		{ "%systemroot%", "windows" },
		{ "%programfiles%", "program files" },
		{ "%programfiles(x86)%", "program files (x86)" },
		{ "%programdata%", "programdata" },
		{ "%systemdrive%", "" },
	};
	for (size_t i = 0; i < n && o + 32 < sizeof(tmp);) {
		size_t k;
		for (k = 0; k < sizeof(vars) / sizeof(*vars); k++) {
			size_t m = strlen(vars[k].var);
			if (i + m <= n && vg_strncaseeq(s + i, vars[k].var, m)) {
				size_t vl = strlen(vars[k].val);
				memcpy(tmp + o, vars[k].val, vl);
				o += vl;
				i += m;
				if (vl == 0 && i < n && s[i] == '\\')
					i++;
				break;
			}
		}
		if (k < sizeof(vars) / sizeof(*vars))
			continue;
		tmp[o++] = (char)vg_lower((unsigned char)s[i++]);
	}
	while (o && tmp[o - 1] == '\\')
		o--;
	size_t len = o;
	const char *p = vg_path_strip_root(tmp, &len);
	return vg_strndup(p, len);
}

static int split_list(const char *s, size_t n, char ***out, size_t *count, int paths)
{
	size_t start = 0;

	*out = NULL;
	*count = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ';')
			continue;
		size_t a = start, b = i;
		while (a < b && (s[a] == ' '))
			a++;
		while (b > a && (s[b - 1] == ' '))
			b--;
		start = i + 1;
		if (a == b || (b - a == 1 && s[a] == '*'))
			continue;
		char **arr = realloc(*out, (*count + 1) * sizeof(char *));
		if (!arr)
			return VG_ENOMEM;
		*out = arr;
		arr[*count] = paths ? dup_lower_root(s + a, b - a) : vg_strndup(s + a, b - a);
		if (!arr[*count])
			return VG_ENOMEM;
		(*count)++;
	}
	return 0;
}

static void sysbin_free(struct sysbin *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->ndirs; i++)
		free(b->dirs[i]);
	for (size_t i = 0; i < b->nparents; i++)
		free(b->parents[i]);
	free(b->dirs);
	free(b->parents);
	free(b);
}

/* Parses "name<TAB>folders<TAB>parents" lines; '#' starts a comment line. */
static int load_sysbins(struct vg_tree *t, const char *text)
{
	const char *p = text;
	unsigned line = 0;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *tab1, *tab2;
		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (!n || p[0] == '#')
			goto next;
		tab1 = memchr(p, '\t', n);
		tab2 = tab1 ? memchr(tab1 + 1, '\t', n - (size_t)(tab1 + 1 - p)) : NULL;
		if (!tab1) {
			vg_log(VG_LOG_ERROR, "system binary table line %u: expected name<TAB>folders<TAB>parents", line);
			return VG_EINVAL;
		}
		struct sysbin *b = calloc(1, sizeof(*b));
		if (!b)
			return VG_ENOMEM;
		size_t dl = tab2 ? (size_t)(tab2 - tab1 - 1) : n - (size_t)(tab1 + 1 - p);
		int rc = split_list(tab1 + 1, dl, &b->dirs, &b->ndirs, 1);
		if (!rc && tab2)
			rc = split_list(tab2 + 1, n - (size_t)(tab2 + 1 - p), &b->parents, &b->nparents, 0);
		void *old = NULL;
		if (!rc)
			rc = vg_strmap_put(&t->sysbins, p, (size_t)(tab1 - p), b, &old);
		sysbin_free(old);
		if (rc) {
			sysbin_free(b);
			return rc;
		}
next:
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

/* ---- nodes ---- */

static void cache_free(struct vg_proc_node *n)
{
	struct node_cache *c = n->cache;
	if (!c)
		return;
	for (int i = 0; i < c->nvals; i++)
		free(c->vals[i].v);
	free(c);
	n->cache = NULL;
}

static void node_free(struct vg_proc_node *n)
{
	if (!n)
		return;
	cache_free(n);
	free(n->key);
	free(n->host);
	free(n->image);
	free(n->command_line);
	free(n->user);
	free(n->parent_key);
	free(n->parent_image);
	for (size_t i = 0; i < n->nchildren; i++)
		free(n->children[i]);
	free(n->children);
	for (size_t i = 0; i < n->nacts; i++) {
		free(n->acts[i].object);
		free(n->acts[i].detail);
	}
	free(n->acts);
	free(n);
}

static void set_str(char **dst, const char *src)
{
	if (!src || !*src || (*dst && strcmp(*dst, src) == 0))
		return;
	char *c = vg_strdup(src);
	if (c) {
		free(*dst);
		*dst = c;
	}
}

static struct vg_proc_node *get_node(const struct vg_tree *t, const char *key)
{
	size_t n;
	if (!key)
		return NULL;
	key = vg_key_bare(key, &n);
	return vg_strmap_get(&t->procs, key, n);
}

static void unmap_pid(struct vg_tree *t, struct vg_proc_node *n)
{
	char pk[320];
	if (!n->pid)
		return;
	int l = pid_key(pk, sizeof(pk), n->host, n->pid);
	if (vg_strmap_get(&t->pids, pk, (size_t)l) == n)
		vg_strmap_del(&t->pids, pk, (size_t)l);
}

static void remove_node(struct vg_tree *t, struct vg_proc_node *n)
{
	unmap_pid(t, n);
	vg_strmap_del(&t->procs, n->key, strlen(n->key));
	node_free(n);
	t->stats.procs--;
}

static struct vg_proc_node *create_node(struct vg_tree *t, const char *key, const char *host)
{
	size_t kn;
	struct vg_proc_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	key = vg_key_bare(key, &kn);
	n->key = vg_strndup(key, kn);
	n->host = vg_strdup(host ? host : "");
	n->gen = ++t->gen;
	n->last_ns = t->now_ns;
	if (!n->key || !n->host || vg_strmap_put(&t->procs, n->key, kn, n, NULL) ||
	    fifo_push(&t->created, n->key, n->gen, 0)) {
		vg_strmap_del(&t->procs, key, kn);
		node_free(n);
		return NULL;
	}
	t->stats.procs++;
	t->stats.created++;
	return n;
}

/*
 * Appends a child key. A start event is seen once, so only the last entry is
 * checked for a repeat. Before the array grows, keys of children already
 * evicted are dropped, so long-lived parents (explorer, services) stay bounded.
 */
static void add_child(struct vg_tree *t, struct vg_proc_node *p, const char *key)
{
	/* a Linux child is added at its fork and again at its exec, maybe after siblings */
	for (size_t i = p->nchildren, seen = 0; i > 0 && seen < 16; i--, seen++)
		if (strcmp(p->children[i - 1], key) == 0)
			return;
	if (p->nchildren == p->children_cap && p->nchildren >= 16) {
		size_t k = 0;
		for (size_t i = 0; i < p->nchildren; i++) {
			if (get_node(t, p->children[i]))
				p->children[k++] = p->children[i];
			else
				free(p->children[i]);
		}
		p->nchildren = k;
	}
	if (p->nchildren == p->children_cap) {
		size_t cap = p->children_cap ? p->children_cap * 2 : 4;
		char **c = realloc(p->children, cap * sizeof(*c));
		if (!c)
			return;
		p->children = c;
		p->children_cap = cap;
	}
	char *k = vg_strdup(key);
	if (k)
		p->children[p->nchildren++] = k;
}

static void add_activity(struct vg_tree *t, struct vg_proc_node *n, const struct vg_event *ev,
			 const char *object, const char *detail)
{
	if (!n || !object)
		return;
	if (n->nacts >= t->cfg.max_acts) {
		n->acts_dropped++;
		return;
	}
	if (n->nacts == n->acts_cap) {
		size_t cap = n->acts_cap ? n->acts_cap * 2 : 4;
		struct vg_activity *a = realloc(n->acts, cap * sizeof(*a));
		if (!a)
			return;
		n->acts = a;
		n->acts_cap = cap;
	}
	struct vg_activity *a = &n->acts[n->nacts];
	a->type = ev->type;
	a->time_ns = ev->time_ns;
	a->seq = ev->seq;
	a->object = vg_strdup(object);
	a->detail = detail ? vg_strdup(detail) : NULL;
	if (a->object)
		n->nacts++;
}

/*
 * Finds the process an event names: by key when the source gave one, else by
 * (host, pid) among live processes. Creates a placeholder node when a key is
 * given but unknown, so later events and the tree still hang together.
 */
static struct vg_proc_node *resolve(struct vg_tree *t, struct vg_event *ev, struct vg_process *p)
{
	struct vg_proc_node *n = NULL;
	char pk[320];

	if (p->key)
		n = get_node(t, p->key);
	if (!n && !p->key && p->pid) {
		int l = pid_key(pk, sizeof(pk), ev->host, p->pid);
		n = vg_strmap_get(&t->pids, pk, (size_t)l);
		if (n)
			p->key = vg_event_strdup(ev, n->key, strlen(n->key));
	}
	if (!n && p->key) {
		n = create_node(t, p->key, ev->host);
		if (!n)
			return NULL;
		t->stats.synthetic++;
		n->pid = p->pid;
		set_str(&n->image, p->image);
		set_str(&n->user, p->user);
		if (n->pid) {
			int l = pid_key(pk, sizeof(pk), ev->host, n->pid);
			if (!vg_strmap_get(&t->pids, pk, (size_t)l))
				vg_strmap_put(&t->pids, pk, (size_t)l, n, NULL);
		}
	}
	if (n && !n->image && p->image) {
		set_str(&n->image, p->image);
		cache_free(n);
	}
	return n;
}

static int on_process_start(struct vg_tree *t, struct vg_event *ev)
{
	char pk[320], kb[96];
	struct vg_proc_node *n = NULL, *parent = NULL;

	if (!ev->proc.key) {
		/* no GUID (Security 4688, Linux): identity is host, pid and start time */
		snprintf(kb, sizeof(kb), "%s:%u:%lld", ev->host ? ev->host : "", ev->proc.pid,
			 (long long)ev->proc_start_ns);
		ev->proc.key = vg_event_strdup(ev, kb, strlen(kb));
		if (!ev->proc.key)
			return VG_ENOMEM;
	}
	if (!ev->parent.key && ev->parent.pid) {
		int l = pid_key(pk, sizeof(pk), ev->host, ev->parent.pid);
		struct vg_proc_node *p = vg_strmap_get(&t->pids, pk, (size_t)l);
		if (p)
			ev->parent.key = vg_event_strdup(ev, p->key, strlen(p->key));
	}
	n = get_node(t, ev->proc.key);
	if (!n && !(n = create_node(t, ev->proc.key, ev->host)))
		return VG_ENOMEM;
	cache_free(n);
	n->seen_start = 1;
	unmap_pid(t, n); /* a node seen before under another pid must not stay mapped there */
	n->pid = ev->proc.pid;
	n->start_ns = ev->proc_start_ns ? ev->proc_start_ns : ev->time_ns;
	set_str(&n->image, ev->proc.image);
	set_str(&n->command_line, ev->proc.command_line);
	set_str(&n->user, ev->proc.user);
	set_str(&n->parent_image, ev->parent.image);
	if (ev->parent.key) {
		size_t pn;
		const char *pkey = vg_key_bare(ev->parent.key, &pn);
		free(n->parent_key);
		n->parent_key = vg_strndup(pkey, pn);
		parent = get_node(t, ev->parent.key);
		if (!parent) {
			/* the parent started before the log did: keep what the event says of it */
			parent = create_node(t, ev->parent.key, ev->host);
			if (parent) {
				t->stats.synthetic++;
				parent->pid = ev->parent.pid;
				set_str(&parent->image, ev->parent.image);
				set_str(&parent->command_line, ev->parent.command_line);
				set_str(&parent->user, ev->parent.user);
			}
		}
		if (parent)
			add_child(t, parent, n->key);
	}
	if (n->pid) {
		void *old = NULL;
		/* keyed by the node's own host, as unmap_pid computes it at removal */
		int l = pid_key(pk, sizeof(pk), n->host, n->pid);
		vg_strmap_put(&t->pids, pk, (size_t)l, n, &old);
		if (old && old != n) {
			t->stats.pid_reuse++;
			struct vg_proc_node *o = old;
			if (!o->exit_ns) {
				o->exit_ns = ev->time_ns;
				fifo_push(&t->exited, o->key, o->gen, ev->time_ns);
			}
		}
	}
	return 0;
}

static void on_process_exit(struct vg_tree *t, struct vg_event *ev)
{
	struct vg_proc_node *n = resolve(t, ev, &ev->proc);

	if (!n || n->exit_ns)
		return;
	n->exit_ns = ev->time_ns ? ev->time_ns : t->now_ns;
	unmap_pid(t, n);
	fifo_push(&t->exited, n->key, n->gen, n->exit_ns);
}

static void remember_file(struct vg_tree *t, const char *path, struct vg_proc_node *writer,
			  const struct vg_event *ev, int flagged)
{
	struct file_rec *r = calloc(1, sizeof(*r));
	void *old = NULL;

	if (!r)
		return;
	r->writer_key = writer ? vg_strdup(writer->key) : NULL;
	r->writer_image = vg_strdup(writer && writer->image ? writer->image : ev->proc.image);
	r->time_ns = ev->time_ns;
	r->writer_flagged = flagged;
	r->gen = ++t->gen;
	if (vg_strmap_put(&t->files, path, strlen(path), r, &old) ||
	    fifo_push(&t->file_order, path, r->gen, ev->time_ns)) {
		vg_strmap_del(&t->files, path, strlen(path));
		old = r;
	}
	if (old) {
		struct file_rec *o = old;
		free(o->writer_key);
		free(o->writer_image);
		free(o);
	}
	while (t->file_order.len && (t->files.count > t->cfg.max_files ||
				     fifo_front(&t->file_order)->t + t->cfg.file_horizon_ns < t->now_ns)) {
		struct qent *q = fifo_front(&t->file_order);
		struct file_rec *f = vg_strmap_get(&t->files, q->key, strlen(q->key));
		if (f && f->gen == q->gen) {
			vg_strmap_del(&t->files, q->key, strlen(q->key));
			free(f->writer_key);
			free(f->writer_image);
			free(f);
			t->stats.files_evicted++;
		}
		fifo_pop(&t->file_order);
	}
}

static int is_flagged(const struct vg_tree *t, const struct vg_proc_node *n)
{
	for (int depth = 0; n && depth < 16; depth++) {
		if (level_flagged(n->alert_level))
			return 1;
		n = vg_tree_parent(t, n);
	}
	return 0;
}

static void evict(struct vg_tree *t)
{
	struct qent *q;

	while ((q = fifo_front(&t->exited)) && q->t + t->cfg.horizon_ns < t->now_ns) {
		struct vg_proc_node *n = get_node(t, q->key);
		if (n && n->gen == q->gen) {
			remove_node(t, n);
			t->stats.evicted_horizon++;
		}
		fifo_pop(&t->exited);
	}
	while (t->stats.procs > t->cfg.max_procs && (q = fifo_front(&t->created))) {
		struct vg_proc_node *n = get_node(t, q->key);
		if (n && n->gen == q->gen) {
			remove_node(t, n);
			t->stats.evicted_cap++;
		}
		fifo_pop(&t->created);
	}
	/* processes whose exit was never logged: drop those silent for idle_ns,
	 * looking at most once per tenth of that interval (a sweep is O(held)) */
	if (t->now_ns - t->last_sweep_ns > t->cfg.idle_ns / 10) {
		t->last_sweep_ns = t->now_ns;
		for (size_t i = 0; i < t->procs.nslots; i++) {
			struct vg_proc_node *n = t->procs.slots[i].key ? t->procs.slots[i].value : NULL;
			if (n && !n->exit_ns && n->last_ns && n->last_ns + t->cfg.idle_ns < t->now_ns) {
				remove_node(t, n);
				t->stats.evicted_idle++;
				i--; /* backward-shift deletion may have moved an entry into this slot */
			}
		}
	}
	/* entries of processes already gone by the horizon pile up in the creation
	 * queue: compact it when it holds twice what is alive (amortised O(1)) */
	if (t->created.len > 2 * t->stats.procs + 1024) {
		struct fifo keep = { 0 };
		while ((q = fifo_front(&t->created))) {
			struct vg_proc_node *n = get_node(t, q->key);
			if (n && n->gen == q->gen)
				fifo_push(&keep, q->key, q->gen, q->t);
			fifo_pop(&t->created);
		}
		fifo_free(&t->created);
		t->created = keep;
	}
}

int vg_tree_update(struct vg_tree *t, struct vg_event *ev)
{
	struct vg_proc_node *n;
	char obj[600];

	if (ev->time_ns > t->now_ns)
		t->now_ns = ev->time_ns;
	switch (ev->type) {
	case VG_EV_PROCESS_START:
		if (on_process_start(t, ev))
			return VG_ENOMEM;
		break;
	case VG_EV_PROCESS_EXIT:
		on_process_exit(t, ev);
		break;
	case VG_EV_OTHER:
		/* Linux fork: the child exists (running its parent's program) before any exec */
		if (ev->platform == VG_PLATFORM_LINUX && ev->proc.key && ev->parent.key) {
			const char *et = vg_event_get(ev, "EventType");
			struct vg_proc_node *known = get_node(t, ev->proc.key);
			if (et && strcmp(et, "fork") == 0 && (!known || !known->seen_start) && on_process_start(t, ev))
				return VG_ENOMEM;
		}
		break;
	case VG_EV_FILE_CREATE:
	case VG_EV_FILE_WRITE:
	case VG_EV_FILE_RENAME:
		n = resolve(t, ev, &ev->proc);
		if (ev->file.path) {
			remember_file(t, ev->file.path, n, ev, is_flagged(t, n));
			add_activity(t, n, ev, ev->file.path, ev->file.old_path);
		}
		break;
	case VG_EV_FILE_DELETE:
		n = resolve(t, ev, &ev->proc);
		add_activity(t, n, ev, ev->file.path, NULL);
		break;
	case VG_EV_REGISTRY_SET:
	case VG_EV_REGISTRY_DELETE:
	case VG_EV_REGISTRY_RENAME:
		n = resolve(t, ev, &ev->proc);
		add_activity(t, n, ev, ev->reg.key, ev->type == VG_EV_REGISTRY_RENAME ? ev->reg.new_name : ev->reg.data);
		break;
	case VG_EV_NETWORK_CONNECT:
		n = resolve(t, ev, &ev->proc);
		snprintf(obj, sizeof(obj), "%s:%u", ev->net.dst_ip ? ev->net.dst_ip : "?", ev->net.dst_port);
		add_activity(t, n, ev, obj, ev->net.dst_host);
		break;
	case VG_EV_DNS_QUERY:
		n = resolve(t, ev, &ev->proc);
		add_activity(t, n, ev, ev->dns.query, ev->dns.answers);
		break;
	case VG_EV_PROCESS_ACCESS:
	case VG_EV_REMOTE_THREAD:
		n = resolve(t, ev, &ev->proc);
		resolve(t, ev, &ev->target); /* creates a placeholder for an unseen target */
		if (ev->type == VG_EV_PROCESS_ACCESS)
			snprintf(obj, sizeof(obj), "0x%x", ev->access.granted_access);
		add_activity(t, n, ev, ev->target.image ? ev->target.image : "?",
			     ev->type == VG_EV_PROCESS_ACCESS ? obj : ev->access.start_module);
		break;
	case VG_EV_PROCESS_TAMPER:
		n = resolve(t, ev, &ev->proc);
		add_activity(t, n, ev, ev->proc.image ? ev->proc.image : "?", ev->access.tamper_type);
		break;
	case VG_EV_SERVICE:
	case VG_EV_TASK:
		n = resolve(t, ev, &ev->proc);
		add_activity(t, n, ev, ev->persist.location ? ev->persist.location : "?", ev->persist.target);
		break;
	default:
		resolve(t, ev, &ev->proc);
		break;
	}
	struct vg_proc_node *self = get_node(t, ev->proc.key);
	if (self && ev->time_ns > self->last_ns)
		self->last_ns = ev->time_ns;
	evict(t);
	return 0;
}

/* ---- enrichment ---- */

static int add(struct vg_tree *t, struct vg_event *ev, int f, const char *v)
{
	if (!v)
		return 0;
	return vg_event_add_field_id(ev, t->id[f], v, strlen(v)) ? 0 : VG_ENOMEM;
}

static int add_bool(struct vg_tree *t, struct vg_event *ev, int f, int v)
{
	return add(t, ev, f, v ? "true" : "false");
}

static int add_num(struct vg_tree *t, struct vg_event *ev, int f, long long v)
{
	char b[24], *p = b + sizeof(b);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	/* hand-rolled: snprintf showed in profiles on this per-event path */
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return vg_event_add_field_id(ev, t->id[f], p, (size_t)(b + sizeof(b) - p)) ? 0 : VG_ENOMEM;
}

static void lower_copy(char *dst, size_t size, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < size; i++)
		dst[i] = (char)vg_lower((unsigned char)s[i]);
	dst[i] = '\0';
}

static void cache_put(struct node_cache *c, int f, const char *v)
{
	if (v && c->nvals < (int)(sizeof(c->vals) / sizeof(*c->vals))) {
		char *d = vg_strdup(v);
		if (d) {
			c->vals[c->nvals].f = f;
			c->vals[c->nvals++].v = d;
		}
	}
}

/* Masquerade facts for an image: known system binary name, wrong folder, unusual parent. */
static void sysbin_facts(struct vg_tree *t, struct node_cache *c, const char *image, const char *parent_image)
{
	const char *base = vg_path_basename(image);
	struct sysbin *b = vg_strmap_get(&t->sysbins, base, strlen(base));

	if (!b || base == image) { /* a bare name (no folder) says nothing about the folder */
		cache_put(c, F_SYSBIN, b ? "true" : "false");
		return;
	}
	size_t n = (size_t)(base - image);
	while (n && (image[n - 1] == '\\' || image[n - 1] == '/'))
		n--;
	const char *dir = vg_path_strip_root(image, &n);
	char ldir[512];
	lower_copy(ldir, sizeof(ldir), dir, n);
	int ok = b->ndirs == 0;
	for (size_t i = 0; i < b->ndirs && !ok; i++)
		ok = strcmp(b->dirs[i], ldir) == 0;
	cache_put(c, F_SYSBIN, "true");
	cache_put(c, F_SYSBIN_PATH, ok ? "false" : "true");
	if (b->nparents && parent_image) {
		const char *pb = vg_path_basename(parent_image);
		int known = 0;
		for (size_t i = 0; i < b->nparents && !known; i++)
			known = vg_strcaseeq(b->parents[i], pb);
		cache_put(c, F_SYSBIN_PARENT, known ? "false" : "true");
	}
}

static struct node_cache *build_cache(struct vg_tree *t, struct vg_proc_node *n, const struct vg_event *ev)
{
	struct node_cache *c = calloc(1, sizeof(*c));
	char buf[2048];
	size_t o = 0;

	if (!c)
		return NULL;
	c->epoch = UINT64_MAX;
	const struct vg_proc_node *p = vg_tree_parent(t, n);
	const char *first_parent = p && p->image ? p->image : n->parent_image;
	if (!p && n->parent_image)
		o += (size_t)snprintf(buf, sizeof(buf), "%s", n->parent_image);
	for (int d = 0; p && d < 8 && o < sizeof(buf) - 1; d++, p = vg_tree_parent(t, p)) {
		int w = snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? "|" : "", p->image ? p->image : "?");
		if (w < 0 || (size_t)w >= sizeof(buf) - o) {
			o = sizeof(buf) - 1;
			break;
		}
		o += (size_t)w;
	}
	if (o)
		cache_put(c, F_ANCESTORS, buf);
	const char *image = n->image ? n->image : ev->proc.image;
	if (image) {
		if (ev->platform != VG_PLATFORM_LINUX) /* Linux: vg_linux_enrich names system binaries from dpkg */
			sysbin_facts(t, c, image, first_parent);
		if (ev->platform == VG_PLATFORM_WINDOWS) {
			enum vg_path_class pc = vg_path_classify(image, strlen(image));
			cache_put(c, F_PATHCLASS, vg_path_class_name(pc));
			cache_put(c, F_USERWRITABLE, vg_path_class_user_writable(pc) ? "true" : "false");
		}
	}
	/* stored last: process starts do not get it (ParentImage says it already) */
	cache_put(c, F_PARENT_IMAGE, first_parent);
	n->cache = c;
	return c;
}

static int enrich_process(struct vg_tree *t, struct vg_event *ev, struct vg_proc_node *n)
{
	int rc = 0;

	if (!n) {
		const char *image = ev->proc.image;
		if (image && ev->platform == VG_PLATFORM_WINDOWS) {
			enum vg_path_class c = vg_path_classify(image, strlen(image));
			rc |= add(t, ev, F_PATHCLASS, vg_path_class_name(c));
			rc |= add_bool(t, ev, F_USERWRITABLE, vg_path_class_user_writable(c));
		}
		return rc;
	}
	struct node_cache *c = n->cache ? n->cache : build_cache(t, n, ev);
	if (!c)
		return VG_ENOMEM;
	for (int i = 0; i < c->nvals; i++) {
		if (c->vals[i].f == F_PARENT_IMAGE && ev->type == VG_EV_PROCESS_START)
			continue;
		rc |= add(t, ev, c->vals[i].f, c->vals[i].v);
	}
	if (c->epoch != t->flag_epoch) {
		c->flagged = is_flagged(t, n);
		c->epoch = t->flag_epoch;
	}
	rc |= add_bool(t, ev, F_FLAGGED, c->flagged);
	if (n->start_ns && ev->time_ns >= n->start_ns)
		rc |= add_num(t, ev, F_AGE, (ev->time_ns - n->start_ns) / 1000000);
	return rc;
}

static int enrich_dropped(struct vg_tree *t, struct vg_event *ev, const char *path, int f_dropped,
			  int f_dropper, int f_flagged, int f_age)
{
	struct file_rec *r = path ? vg_strmap_get(&t->files, path, strlen(path)) : NULL;
	int rc;

	rc = add_bool(t, ev, f_dropped, r != NULL);
	if (!r)
		return rc;
	if (f_dropper >= 0)
		rc |= add(t, ev, f_dropper, r->writer_image);
	int flagged = r->writer_flagged || (r->writer_key && is_flagged(t, get_node(t, r->writer_key)));
	rc |= add_bool(t, ev, f_flagged, flagged);
	if (f_age >= 0 && ev->time_ns >= r->time_ns)
		rc |= add_num(t, ev, f_age, (ev->time_ns - r->time_ns) / 1000000000);
	return rc;
}

static int resolver_known(const struct vg_tree *t, const char *ip)
{
	for (size_t i = 0; i < t->nresolvers; i++)
		if (strcmp(t->resolvers[i], ip) == 0)
			return 1;
	return 0;
}

int vg_tree_enrich(struct vg_tree *t, struct vg_event *ev)
{
	struct vg_proc_node *n = get_node(t, ev->proc.key);
	int rc = enrich_process(t, ev, n);

	switch (ev->type) {
	case VG_EV_PROCESS_START:
		rc |= enrich_dropped(t, ev, ev->proc.image, F_DROPPED, F_DROPPER, F_DROPPER_FLAGGED, F_DROPPED_AGE);
		break;
	case VG_EV_PROCESS_TAMPER: /* Linux: memory writes name the written process as target */
		if (!ev->target.key)
			break;
		/* fall through */
	case VG_EV_PROCESS_ACCESS:
	case VG_EV_REMOTE_THREAD: {
		const struct vg_proc_node *tn = get_node(t, ev->target.key);
		rc |= add_bool(t, ev, F_TARGET_CHILD, tn && tn->parent_key && ev->proc.key && n &&
					      strcmp(tn->parent_key, n->key) == 0);
		/* Sysmon may log the access a few ms before the child's start: age 0 then */
		if (tn && tn->start_ns)
			rc |= add_num(t, ev, F_TARGET_AGE, ev->time_ns > tn->start_ns ? (ev->time_ns - tn->start_ns) / 1000000 : 0);
		break;
	}
	case VG_EV_NETWORK_CONNECT:
		if (ev->net.dst_port == 53 && ev->net.dst_ip)
			rc |= add_bool(t, ev, F_DNS_KNOWN, resolver_known(t, ev->net.dst_ip));
		break;
	case VG_EV_DNS_QUERY:
		if (ev->net.dst_ip) /* the sensor saw where the query went */
			rc |= add_bool(t, ev, F_DNS_KNOWN, resolver_known(t, ev->net.dst_ip));
		if (ev->dns.query) {
			const char *q = ev->dns.query;
			size_t n2 = strlen(q);
			while (n2 && q[n2 - 1] == '.')
				n2--;
			size_t s = n2;
			while (s && q[s - 1] != '.')
				s--;
			if (s < n2) {
				char tld[64];
				lower_copy(tld, sizeof(tld), q + s, n2 - s);
				rc |= add(t, ev, F_TLD, tld);
			}
		}
		break;
	default:
		break;
	}
	if (ev->persist.kind) {
		rc |= add(t, ev, F_PERSIST_KIND, vg_persist_kind_name(ev->persist.kind));
		if (ev->persist.target && ev->platform == VG_PLATFORM_LINUX) {
			enum vg_linux_path_class lc = vg_linux_path_class(ev->persist.target);
			rc |= add(t, ev, F_PERSIST_TARGET, ev->persist.target);
			rc |= add(t, ev, F_PERSIST_CLASS, vg_linux_path_class_name(lc));
			rc |= add_bool(t, ev, F_PERSIST_UW, vg_linux_path_user_writable(lc));
			rc |= enrich_dropped(t, ev, ev->persist.target, F_PERSIST_DROPPED, -1,
					     F_PERSIST_DROPPER_FLAGGED, -1);
		} else if (ev->persist.target) {
			enum vg_path_class c = vg_path_classify(ev->persist.target, strlen(ev->persist.target));
			rc |= add(t, ev, F_PERSIST_TARGET, ev->persist.target);
			rc |= add(t, ev, F_PERSIST_CLASS, vg_path_class_name(c));
			rc |= add_bool(t, ev, F_PERSIST_UW, vg_path_class_user_writable(c));
			rc |= enrich_dropped(t, ev, ev->persist.target, F_PERSIST_DROPPED, -1,
					     F_PERSIST_DROPPER_FLAGGED, -1);
		}
	}
	return rc ? VG_ENOMEM : 0;
}

/* ---- queries ---- */

void vg_tree_flag(struct vg_tree *t, const char *key, int level)
{
	struct vg_proc_node *n = get_node(t, key);
	if (!n || level <= n->alert_level)
		return;
	if (!level_flagged(n->alert_level) && level_flagged(level))
		t->flag_epoch++; /* descendants' cached "flagged" answers are stale */
	n->alert_level = level;
}

const struct vg_proc_node *vg_tree_get(const struct vg_tree *t, const char *key)
{
	return get_node(t, key);
}

const struct vg_proc_node *vg_tree_parent(const struct vg_tree *t, const struct vg_proc_node *n)
{
	if (!n || !n->parent_key)
		return NULL;
	const struct vg_proc_node *p = get_node(t, n->parent_key);
	return p == n ? NULL : p;
}

size_t vg_tree_descendants(const struct vg_tree *t, const char *key,
			   const struct vg_proc_node **out, size_t max)
{
	const struct vg_proc_node *root = get_node(t, key);
	size_t total = 0, head = 0, cap = 64, len = 0;
	const struct vg_proc_node **queue;

	if (!root)
		return 0;
	queue = malloc(cap * sizeof(*queue));
	if (!queue)
		return 0;
	queue[len++] = root;
	while (head < len && total < 100000) {
		const struct vg_proc_node *n = queue[head++];
		for (size_t i = 0; i < n->nchildren; i++) {
			const struct vg_proc_node *c = get_node(t, n->children[i]);
			if (!c || c == root)
				continue;
			if (total < max)
				out[total] = c;
			total++;
			if (len == cap) {
				const struct vg_proc_node **q = realloc(queue, cap * 2 * sizeof(*q));
				if (!q)
					break;
				queue = q;
				cap *= 2;
			}
			queue[len++] = c;
		}
	}
	free(queue);
	return total;
}

const struct vg_tree_stats *vg_tree_stats(const struct vg_tree *t)
{
	return &t->stats;
}

/* ---- life cycle ---- */

int vg_tree_new(const struct vg_tree_config *cfg, struct vg_tree **out)
{
	struct vg_tree *t = calloc(1, sizeof(*t));
	int rc = 0;

	*out = NULL;
	if (!t)
		return VG_ENOMEM;
	if (cfg)
		t->cfg = *cfg;
	if (!t->cfg.horizon_ns)
		t->cfg.horizon_ns = 3600LL * 1000000000LL;
	if (!t->cfg.idle_ns)
		t->cfg.idle_ns = 2 * 3600LL * 1000000000LL;
	if (!t->cfg.max_procs)
		t->cfg.max_procs = 1000000;
	if (!t->cfg.max_files)
		t->cfg.max_files = 200000;
	if (!t->cfg.file_horizon_ns)
		t->cfg.file_horizon_ns = 24 * 3600LL * 1000000000LL;
	if (!t->cfg.max_acts)
		t->cfg.max_acts = 64;
	vg_strmap_init(&t->procs, 1);
	vg_strmap_init(&t->pids, 1);
	vg_strmap_init(&t->files, 1);
	vg_strmap_init(&t->sysbins, 1);
	for (int i = 0; i < F__COUNT; i++)
		if (!(t->id[i] = vg_field_intern(field_names[i], strlen(field_names[i]))))
			rc = VG_ENOMEM;
	if (!rc)
		rc = load_sysbins(t, t->cfg.sysbins ? t->cfg.sysbins : vg_embedded_sysbins);
	if (!rc && t->cfg.resolvers) {
		const char *r = t->cfg.resolvers;
		while (*r && !rc) {
			size_t n = strcspn(r, ", ");
			if (n) {
				char **a = realloc(t->resolvers, (t->nresolvers + 1) * sizeof(*a));
				if (!a || !(a[t->nresolvers] = vg_strndup(r, n)))
					rc = VG_ENOMEM;
				if (a)
					t->resolvers = a;
				if (!rc)
					t->nresolvers++;
			}
			r += n;
			while (*r == ',' || *r == ' ')
				r++;
		}
	}
	t->cfg.resolvers = NULL;
	t->cfg.sysbins = NULL;
	if (rc) {
		vg_tree_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void vg_tree_free(struct vg_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->procs.nslots; i++)
		if (t->procs.slots[i].key)
			node_free(t->procs.slots[i].value);
	for (size_t i = 0; i < t->files.nslots; i++)
		if (t->files.slots[i].key) {
			struct file_rec *r = t->files.slots[i].value;
			free(r->writer_key);
			free(r->writer_image);
			free(r);
		}
	for (size_t i = 0; i < t->sysbins.nslots; i++)
		if (t->sysbins.slots[i].key)
			sysbin_free(t->sysbins.slots[i].value);
	vg_strmap_free(&t->procs);
	vg_strmap_free(&t->pids);
	vg_strmap_free(&t->files);
	vg_strmap_free(&t->sysbins);
	for (size_t i = 0; i < t->nresolvers; i++)
		free(t->resolvers[i]);
	free(t->resolvers);
	fifo_free(&t->exited);
	fifo_free(&t->created);
	fifo_free(&t->file_order);
	free(t);
}
