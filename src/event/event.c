/* event.c - vg_event storage: a per-event arena, raw/derived fields, and the process-wide field-name intern table. */
#include <stdlib.h>
#include <string.h>

#include "vigil/event.h"

/* Arena: a list of chunks; the first chunk is kept across resets. */
struct vg_arena_chunk {
	struct vg_arena_chunk *next;
	size_t used, cap;
	char data[];
};

#define ARENA_CHUNK 4096

static void *arena_alloc(struct vg_event *ev, size_t n)
{
	struct vg_arena_chunk *c = ev->arena;

	n = (n + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (c && c->cap * 2 > cap && c->cap < 1 << 20)
			cap = c->cap * 2 > n ? c->cap * 2 : n;
		struct vg_arena_chunk *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->next = c;
		nc->used = 0;
		nc->cap = cap;
		ev->arena = c = nc;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

struct vg_event *vg_event_new(void)
{
	return calloc(1, sizeof(struct vg_event));
}

void vg_event_reset(struct vg_event *ev)
{
	struct vg_arena_chunk *c = ev->arena, *keep = NULL;
	struct vg_field *fields = ev->fields;
	uint32_t cap = ev->fields_cap;

	/* keep the largest chunk (the newest one), free the rest */
	if (c) {
		keep = c;
		c = c->next;
		keep->next = NULL;
		keep->used = 0;
	}
	while (c) {
		struct vg_arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	memset(ev, 0, sizeof(*ev));
	ev->arena = keep;
	ev->fields = fields;
	ev->fields_cap = cap;
	ev->net.initiated = -1;
	ev->dns.status = -1;
}

void vg_event_free(struct vg_event *ev)
{
	if (!ev)
		return;
	vg_event_reset(ev);
	free(ev->arena);
	free(ev->fields);
	free(ev);
}

char *vg_event_strdup(struct vg_event *ev, const char *s, size_t n)
{
	char *d = arena_alloc(ev, n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void *vg_event_alloc(struct vg_event *ev, size_t n)
{
	void *p = arena_alloc(ev, n);

	if (p)
		memset(p, 0, n);
	return p;
}

const char *vg_event_add_field_id(struct vg_event *ev, uint32_t id, const char *value, size_t value_len)
{
	if (!id)
		return NULL;
	if (ev->nfields == ev->fields_cap) {
		uint32_t cap = ev->fields_cap ? ev->fields_cap * 2 : 32;
		struct vg_field *f = realloc(ev->fields, cap * sizeof(*f));
		if (!f)
			return NULL;
		ev->fields = f;
		ev->fields_cap = cap;
	}
	char *v = vg_event_strdup(ev, value ? value : "", value ? value_len : 0);
	if (!v)
		return NULL;
	struct vg_field *f = &ev->fields[ev->nfields++];
	f->id = id;
	f->name = vg_field_name(id);
	f->value = v;
	f->len = (uint32_t)value_len;
	return v;
}

const char *vg_event_add_field(struct vg_event *ev, const char *name, size_t name_len,
			       const char *value, size_t value_len)
{
	return vg_event_add_field_id(ev, vg_field_intern(name, name_len), value, value_len);
}

const struct vg_field *vg_event_field(const struct vg_event *ev, uint32_t id)
{
	for (uint32_t i = 0; i < ev->nfields; i++)
		if (ev->fields[i].id == id)
			return &ev->fields[i];
	return NULL;
}

const char *vg_event_get(const struct vg_event *ev, const char *name)
{
	uint32_t id = vg_field_lookup(name, strlen(name));
	const struct vg_field *f = id ? vg_event_field(ev, id) : NULL;
	return f ? f->value : NULL;
}

#define P(x) ((x) ? vg_event_strdup(dst, (x), strlen(x)) : NULL)

static int clone_proc(struct vg_event *dst, struct vg_process *d, const struct vg_process *s)
{
	d->pid = s->pid;
	d->key = P(s->key);
	d->image = P(s->image);
	d->command_line = P(s->command_line);
	d->user = P(s->user);
	d->cwd = P(s->cwd);
	d->hashes = P(s->hashes);
	d->integrity = P(s->integrity);
	return 0;
}

struct vg_event *vg_event_clone(const struct vg_event *src)
{
	struct vg_event *dst = vg_event_new();

	if (!dst)
		return NULL;
	vg_event_reset(dst);
	struct vg_field *fields = dst->fields;
	uint32_t cap = dst->fields_cap;
	struct vg_arena_chunk *arena = dst->arena;
	*dst = *src;
	dst->fields = fields;
	dst->fields_cap = cap;
	dst->arena = arena;
	dst->nfields = 0;
	dst->host = P(src->host);
	dst->provider = P(src->provider);
	dst->channel = P(src->channel);
	clone_proc(dst, &dst->proc, &src->proc);
	clone_proc(dst, &dst->parent, &src->parent);
	clone_proc(dst, &dst->target, &src->target);
	dst->file.path = P(src->file.path);
	dst->file.old_path = P(src->file.old_path);
	dst->reg.key = P(src->reg.key);
	dst->reg.data = P(src->reg.data);
	dst->reg.new_name = P(src->reg.new_name);
	dst->net.protocol = P(src->net.protocol);
	dst->net.src_ip = P(src->net.src_ip);
	dst->net.dst_ip = P(src->net.dst_ip);
	dst->net.dst_host = P(src->net.dst_host);
	dst->dns.query = P(src->dns.query);
	dst->dns.answers = P(src->dns.answers);
	dst->access.call_trace = P(src->access.call_trace);
	dst->access.start_module = P(src->access.start_module);
	dst->access.tamper_type = P(src->access.tamper_type);
	dst->persist.location = P(src->persist.location);
	dst->persist.target = P(src->persist.target);
	dst->origin = P(src->origin); /* borrowed from the source in src; the copy outlives it */
	for (uint32_t i = 0; i < src->nfields; i++) {
		if (!vg_event_add_field_id(dst, src->fields[i].id, src->fields[i].value, src->fields[i].len)) {
			vg_event_free(dst);
			return NULL;
		}
	}
	dst->nraw = src->nraw;
	return dst;
}
#undef P

/* ---- field-name intern table: open addressing, case-insensitive ---- */

static struct {
	char **names;      /* id -> name (index 0 unused) */
	size_t *lens;      /* id -> name length */
	uint32_t count, names_cap;
	uint32_t *slots;   /* hash slot -> id */
	uint32_t nslots;
} itab;

static uint32_t itab_find(const char *name, size_t len, uint64_t h)
{
	if (!itab.nslots)
		return 0;
	for (uint32_t i = (uint32_t)h & (itab.nslots - 1);; i = (i + 1) & (itab.nslots - 1)) {
		uint32_t id = itab.slots[i];
		if (!id)
			return 0;
		const char *n = itab.names[id];
		if (itab.lens[id] == len && (memcmp(n, name, len) == 0 || vg_strncaseeq(n, name, len)))
			return id;
	}
}

static int itab_grow(void)
{
	uint32_t ns = itab.nslots ? itab.nslots * 2 : 1024;
	uint32_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return -1;
	for (uint32_t id = 1; id <= itab.count; id++) {
		const char *n = itab.names[id];
		uint64_t h = vg_hash_bytes_ci(n, strlen(n));
		uint32_t i = (uint32_t)h & (ns - 1);
		while (slots[i])
			i = (i + 1) & (ns - 1);
		slots[i] = id;
	}
	free(itab.slots);
	itab.slots = slots;
	itab.nslots = ns;
	return 0;
}

uint32_t vg_field_lookup(const char *name, size_t len)
{
	return itab_find(name, len, vg_hash_bytes_ci(name, len));
}

uint32_t vg_field_intern(const char *name, size_t len)
{
	uint64_t h = vg_hash_bytes_ci(name, len);
	uint32_t id = itab_find(name, len, h);

	if (id)
		return id;
	if ((itab.count + 1) * 2 >= itab.nslots && itab_grow())
		return 0;
	if (itab.count + 1 >= itab.names_cap) {
		uint32_t cap = itab.names_cap ? itab.names_cap * 2 : 256;
		char **n = realloc(itab.names, cap * sizeof(*n));
		if (!n)
			return 0;
		itab.names = n;
		size_t *l = realloc(itab.lens, cap * sizeof(*l));
		if (!l)
			return 0;
		itab.lens = l;
		itab.names_cap = cap;
	}
	char *copy = vg_strndup(name, len);
	if (!copy)
		return 0;
	id = ++itab.count;
	itab.names[id] = copy;
	itab.lens[id] = len;
	uint32_t i = (uint32_t)h & (itab.nslots - 1);
	while (itab.slots[i])
		i = (i + 1) & (itab.nslots - 1);
	itab.slots[i] = id;
	return id;
}

const char *vg_field_name(uint32_t id)
{
	return id && id <= itab.count ? itab.names[id] : NULL;
}

/* ---- names ---- */

static const char *type_names[VG_EV__COUNT] = {
	[VG_EV_UNKNOWN] = "unknown",
	[VG_EV_PROCESS_START] = "process_start",
	[VG_EV_PROCESS_EXIT] = "process_exit",
	[VG_EV_IMAGE_LOAD] = "image_load",
	[VG_EV_DRIVER_LOAD] = "driver_load",
	[VG_EV_FILE_CREATE] = "file_create",
	[VG_EV_FILE_WRITE] = "file_write",
	[VG_EV_FILE_RENAME] = "file_rename",
	[VG_EV_FILE_DELETE] = "file_delete",
	[VG_EV_FILE_TIME] = "file_time",
	[VG_EV_FILE_STREAM] = "file_stream",
	[VG_EV_REGISTRY_CREATE] = "registry_create",
	[VG_EV_REGISTRY_DELETE] = "registry_delete",
	[VG_EV_REGISTRY_SET] = "registry_set",
	[VG_EV_REGISTRY_RENAME] = "registry_rename",
	[VG_EV_NETWORK_CONNECT] = "network_connect",
	[VG_EV_DNS_QUERY] = "dns_query",
	[VG_EV_PROCESS_ACCESS] = "process_access",
	[VG_EV_REMOTE_THREAD] = "remote_thread",
	[VG_EV_PROCESS_TAMPER] = "process_tamper",
	[VG_EV_RAW_ACCESS] = "raw_access",
	[VG_EV_PIPE] = "pipe",
	[VG_EV_WMI] = "wmi",
	[VG_EV_SERVICE] = "service_install",
	[VG_EV_TASK] = "task_create",
	[VG_EV_FILE_CHMOD] = "file_chmod",
	[VG_EV_NET_PAYLOAD] = "network_payload",
	[VG_EV_PROCESS_RENAME] = "process_rename",
	[VG_EV_MEMFD] = "memfd_create",
	[VG_EV_BPF_LOAD] = "bpf_load",
	[VG_EV_OTHER] = "other",
};

const char *vg_event_type_name(enum vg_event_type t)
{
	return (unsigned)t < VG_EV__COUNT && type_names[t] ? type_names[t] : "unknown";
}

int vg_event_type_from_name(const char *name)
{
	for (int i = 0; i < VG_EV__COUNT; i++)
		if (type_names[i] && strcmp(type_names[i], name) == 0)
			return i;
	return -1;
}

static const char *persist_names[] = {
	"none", "run_key", "winlogon", "service", "scheduled_task", "startup_folder",
	"ifeo", "cron", "systemd", "shell_rc", "ld_preload", "xdg_autostart", "ssh_keys", "other",
};

const char *vg_persist_kind_name(enum vg_persist_kind k)
{
	return (unsigned)k < sizeof(persist_names) / sizeof(*persist_names) ? persist_names[k] : "other";
}

int vg_persist_kind_from_name(const char *name)
{
	for (unsigned i = 0; i < sizeof(persist_names) / sizeof(*persist_names); i++)
		if (strcmp(persist_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *vg_source_kind_name(enum vg_source_kind s)
{
	switch (s) {
	case VG_SRC_SYSMON: return "sysmon";
	case VG_SRC_SECURITY: return "security";
	case VG_SRC_WINDOWS: return "windows";
	case VG_SRC_EBPF: return "ebpf";
	case VG_SRC_VIGIL: return "vigil";
	default: return "unknown";
	}
}

const char *vg_platform_name(enum vg_platform p)
{
	switch (p) {
	case VG_PLATFORM_WINDOWS: return "windows";
	case VG_PLATFORM_LINUX: return "linux";
	default: return "unknown";
	}
}
