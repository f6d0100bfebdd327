/* json_forms.c - recognises the JSON shapes Windows events arrive in (evtx_dump, NXLog/OTRF flat, Winlogbeat/ECS, vg_event) and maps a flattened document into a vg_event. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/json.h"
#include "vigil/source.h"
#include "vigil/winrec.h"

static int leaf_is(const struct vg_json_leaf *l, const char *path, size_t n)
{
	return l->path_len == n && memcmp(l->path, path, n) == 0;
}

#define IS(l, lit) leaf_is((l), lit, sizeof(lit) - 1)
#define PREFIX(l, lit) ((l)->path_len > sizeof(lit) - 1 && memcmp((l)->path, lit, sizeof(lit) - 1) == 0)

static struct vg_slice sl(const struct vg_json_leaf *l)
{
	return (struct vg_slice){ l->value, l->value_len };
}

static uint64_t leaf_u64(const struct vg_json_leaf *l)
{
	return strtoull(l->value, NULL, (l->value[0] == '0' && (l->value[1] == 'x' || l->value[1] == 'X')) ? 16 : 10);
}

/* Per-thread scratch record so the mapping allocates nothing per event once warm. */
static _Thread_local struct vg_winrec scratch;

/*
 * Threads that exit (vigil-cloud's HTTP workers) free their scratch through a
 * key destructor; the thread-local storage is still valid when it runs.
 */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local int scratch_registered;

static void scratch_release(void *p)
{
	vg_winrec_free_items(p);
}

static void scratch_key_init(void)
{
	pthread_key_create(&scratch_key, scratch_release);
}

static struct vg_winrec *get_scratch(void)
{
	if (!scratch_registered) {
		pthread_once(&scratch_once, scratch_key_init);
		pthread_setspecific(scratch_key, &scratch);
		scratch_registered = 1;
	}
	return &scratch;
}

/* {"Event":{"System":{...},"EventData":{...}}} as evtx_dump and python-evtx write it. */
static int from_evtx_dump(const struct vg_json_doc *doc, struct vg_event *ev)
{
	struct vg_winrec *rec = get_scratch();

	vg_winrec_clear(rec);
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		if (PREFIX(l, "Event.EventData.") || PREFIX(l, "Event.UserData.")) {
			/* name = the last path component; #attributes / #text pairs use the Name attribute */
			const char *name = l->path + l->path_len;
			while (name > l->path && name[-1] != '.')
				name--;
			size_t nn = (size_t)(l->path + l->path_len - name);
			if (l->type == VG_JSON_NULL)
				continue;
			if (nn == 5 && memcmp(name, "#text", 5) == 0 && i > 0 &&
			    doc->leaves[i - 1].path_len > 16 &&
			    memcmp(doc->leaves[i - 1].path + doc->leaves[i - 1].path_len - 16, "#attributes.Name", 16) == 0) {
				/* {"Data":[{"#attributes":{"Name":"X"},"#text":"v"}]}: rename the item */
				if (rec->nitems) {
					rec->items[rec->nitems - 1].name = rec->items[rec->nitems - 1].value;
					rec->items[rec->nitems - 1].value = sl(l);
				}
				continue;
			}
			if (vg_winrec_add(rec, name, nn, l->value, l->value_len))
				return VG_ENOMEM;
			continue;
		}
		if (!PREFIX(l, "Event.System."))
			continue;
		const char *p = l->path + 13;
		size_t n = l->path_len - 13;
#define SYS(lit) (n == sizeof(lit) - 1 && memcmp(p, lit, n) == 0)
		if (SYS("EventID") || SYS("EventID.#text")) {
			rec->event_id = (uint32_t)leaf_u64(l);
			rec->has_event_id = 1;
		} else if (SYS("Provider.#attributes.Name"))
			rec->provider = sl(l);
		else if (SYS("Channel"))
			rec->channel = sl(l);
		else if (SYS("Computer"))
			rec->computer = sl(l);
		else if (SYS("TimeCreated.#attributes.SystemTime"))
			rec->time = sl(l);
		else if (SYS("EventRecordID"))
			rec->record_id = leaf_u64(l);
		else if (SYS("Execution.#attributes.ProcessID"))
			rec->exec_pid = (uint32_t)leaf_u64(l);
		else if (SYS("Execution.#attributes.ThreadID"))
			rec->exec_tid = (uint32_t)leaf_u64(l);
		else if (SYS("Security.#attributes.UserID"))
			rec->user_sid = sl(l);
#undef SYS
	}
	return vg_windows_map(rec, ev);
}

/* Winlogbeat's Elasticsearch documents: winlog.event_data.*, winlog.event_id, @timestamp. */
static int from_winlogbeat(const struct vg_json_doc *doc, struct vg_event *ev)
{
	struct vg_winrec *rec = get_scratch();

	vg_winrec_clear(rec);
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		if (PREFIX(l, "winlog.event_data.") || PREFIX(l, "winlog.user_data.")) {
			size_t skip = PREFIX(l, "winlog.event_data.") ? 18 : 17;
			if (vg_winrec_add(rec, l->path + skip, l->path_len - skip, l->value, l->value_len))
				return VG_ENOMEM;
		} else if (IS(l, "winlog.event_id") || (IS(l, "event.code") && !rec->has_event_id)) {
			rec->event_id = (uint32_t)leaf_u64(l);
			rec->has_event_id = 1;
		} else if (IS(l, "winlog.provider_name"))
			rec->provider = sl(l);
		else if (IS(l, "winlog.channel"))
			rec->channel = sl(l);
		else if (IS(l, "winlog.computer_name") || (IS(l, "host.name") && !rec->computer.p))
			rec->computer = sl(l);
		else if (IS(l, "winlog.record_id"))
			rec->record_id = leaf_u64(l);
		else if (IS(l, "@timestamp"))
			rec->time = sl(l);
		else if (IS(l, "winlog.process.pid"))
			rec->exec_pid = (uint32_t)leaf_u64(l);
		else if (IS(l, "winlog.user.identifier"))
			rec->user_sid = sl(l);
	}
	return vg_windows_map(rec, ev);
}

/* NXLog / OTRF Security-Datasets: one flat object, EventData names at top level. */
static int from_flat(const struct vg_json_doc *doc, struct vg_event *ev)
{
	struct vg_winrec *rec = get_scratch();
	struct vg_slice utc = { 0 };

	vg_winrec_clear(rec);
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		const char *p = l->path;
		size_t n = l->path_len;
#define K(lit) (n == sizeof(lit) - 1 && memcmp(p, lit, n) == 0)
		if (l->depth != 1)
			continue;
		if (K("EventID")) {
			rec->event_id = (uint32_t)leaf_u64(l);
			rec->has_event_id = 1;
			continue;
		}
		/* System-level keys of the shippers; ProcessID/ThreadID would shadow EventData ProcessId */
		if (K("ProcessID") || K("ThreadID")) {
			if (K("ProcessID"))
				rec->exec_pid = (uint32_t)leaf_u64(l);
			continue;
		}
		if (K("SourceName") || K("ProviderName") || K("Provider_Name"))
			rec->provider = sl(l);
		else if (K("Channel"))
			rec->channel = sl(l);
		else if (K("Hostname") || K("Computer") || K("host"))
			rec->computer = sl(l);
		else if (K("EventTime") || K("TimeCreated") || K("@timestamp")) {
			if (!rec->time.p)
				rec->time = sl(l);
		} else if (K("RecordNumber") || K("EventRecordID"))
			rec->record_id = leaf_u64(l);
		else if (K("UtcTime"))
			utc = sl(l);
		else if (K("UserID"))
			rec->user_sid = sl(l);
#undef K
		if (vg_winrec_add(rec, p, n, l->value, l->value_len))
			return VG_ENOMEM;
	}
	if (!rec->time.p)
		rec->time = utc;
	return vg_windows_map(rec, ev);
}

/* vg_event JSON as vg_event_write_json writes it. */
static int from_vigil(const struct vg_json_doc *doc, struct vg_event *ev)
{
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		if (PREFIX(l, "raw.") &&
		    !vg_event_add_field(ev, l->path + 4, l->path_len - 4, l->value, l->value_len))
			return VG_ENOMEM;
	}
	ev->nraw = ev->nfields;
	/* a recording's "facts" (host facts made live, docs/corpus.md) are derived fields; "derived" is redone by the replay */
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		if (PREFIX(l, "facts.") &&
		    !vg_event_add_field(ev, l->path + 6, l->path_len - 6, l->value, l->value_len))
			return VG_ENOMEM;
	}
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		const char *v;
		if (PREFIX(l, "raw.") || PREFIX(l, "derived.") || PREFIX(l, "facts.") || l->type == VG_JSON_NULL)
			continue;
		v = vg_event_strdup(ev, l->value, l->value_len);
		if (!v)
			return VG_ENOMEM;
#define P(lit) IS(l, lit)
		if (P("@timestamp"))
			vg_time_parse(v, l->value_len, &ev->time_ns);
		else if (P("event.type")) {
			int t = vg_event_type_from_name(v);
			ev->type = t < 0 ? VG_EV_UNKNOWN : (enum vg_event_type)t;
		} else if (P("event.code"))
			ev->event_id = (uint32_t)strtoul(v, NULL, 10);
		else if (P("event.source")) {
			static const char *names[] = { "unknown", "sysmon", "security", "windows", "ebpf", "vigil" };
			for (unsigned k = 0; k < 6; k++)
				if (strcmp(v, names[k]) == 0)
					ev->source = (enum vg_source_kind)k;
		} else if (P("event.platform"))
			ev->platform = strcmp(v, "windows") == 0 ? VG_PLATFORM_WINDOWS
				     : strcmp(v, "linux") == 0 ? VG_PLATFORM_LINUX : VG_PLATFORM_UNKNOWN;
		else if (P("event.record_id"))
			ev->record_id = strtoull(v, NULL, 10);
		else if (P("event.provider"))
			ev->provider = v;
		else if (P("event.channel"))
			ev->channel = v;
		else if (P("host.name"))
			ev->host = v;
		else if (P("file.path"))
			ev->file.path = v;
		else if (P("file.old_path"))
			ev->file.old_path = v;
		else if (P("registry.path"))
			ev->reg.key = v;
		else if (P("registry.data"))
			ev->reg.data = v;
		else if (P("registry.new_name"))
			ev->reg.new_name = v;
		else if (P("network.protocol"))
			ev->net.protocol = v;
		else if (P("network.src_ip"))
			ev->net.src_ip = v;
		else if (P("network.src_port"))
			ev->net.src_port = (uint16_t)atoi(v);
		else if (P("network.dst_ip"))
			ev->net.dst_ip = v;
		else if (P("network.dst_port"))
			ev->net.dst_port = (uint16_t)atoi(v);
		else if (P("network.dst_host"))
			ev->net.dst_host = v;
		else if (P("network.direction"))
			ev->net.initiated = strcmp(v, "outbound") == 0;
		else if (P("dns.question"))
			ev->dns.query = v;
		else if (P("dns.answers"))
			ev->dns.answers = v;
		else if (P("dns.status"))
			ev->dns.status = atoi(v);
		else if (P("access.granted"))
			ev->access.granted_access = (uint32_t)strtoul(v, NULL, 0);
		else if (P("access.call_trace"))
			ev->access.call_trace = v;
		else if (P("access.start_module"))
			ev->access.start_module = v;
		else if (P("access.tamper_type"))
			ev->access.tamper_type = v;
		else if (P("persistence.kind")) {
			int k = vg_persist_kind_from_name(v);
			ev->persist.kind = k < 0 ? VG_PERSIST_OTHER : (enum vg_persist_kind)k;
		} else if (P("persistence.location"))
			ev->persist.location = v;
		else if (P("persistence.target"))
			ev->persist.target = v;
		else {
			struct vg_process *pr = PREFIX(l, "process.") ? &ev->proc
					      : PREFIX(l, "parent.") ? &ev->parent
					      : PREFIX(l, "target.") ? &ev->target : NULL;
			if (!pr)
				continue;
			const char *k = memchr(l->path, '.', l->path_len) + 1;
			size_t kn = (size_t)(l->path + l->path_len - k);
#define KN(lit) (kn == sizeof(lit) - 1 && memcmp(k, lit, kn) == 0)
			if (KN("entity_id"))
				pr->key = v;
			else if (KN("pid"))
				pr->pid = (uint32_t)strtoul(v, NULL, 10);
			else if (KN("executable"))
				pr->image = v;
			else if (KN("command_line"))
				pr->command_line = v;
			else if (KN("user"))
				pr->user = v;
			else if (KN("working_directory"))
				pr->cwd = v;
			else if (KN("hash"))
				pr->hashes = v;
			else if (KN("integrity_level"))
				pr->integrity = v;
			else if (KN("start") && pr == &ev->proc)
				vg_time_parse(v, kn, &ev->proc_start_ns);
#undef KN
		}
#undef P
	}
	return 0;
}

int vg_event_from_json(const struct vg_json_doc *doc, struct vg_event *ev)
{
	if (!doc->nleaves)
		return VG_EFORMAT;
	const struct vg_json_leaf *first = &doc->leaves[0];
	if (PREFIX(first, "Event."))
		return from_evtx_dump(doc, ev);
	for (uint32_t i = 0; i < doc->nleaves; i++) {
		const struct vg_json_leaf *l = &doc->leaves[i];
		if (IS(l, "vigil") && l->value_len >= 6 && memcmp(l->value, "event/", 6) == 0)
			return from_vigil(doc, ev);
		if (PREFIX(l, "winlog."))
			return from_winlogbeat(doc, ev);
		if (PREFIX(l, "Event.System."))
			return from_evtx_dump(doc, ev);
		if (IS(l, "EventID"))
			return from_flat(doc, ev);
	}
	return VG_EFORMAT;
}
