/* event_json.c - writes a vg_event as a vg_event JSON object (the format `vigil hunt`, the agent and the cloud exchange). */
#include <stdio.h>

#include "vigil/buf.h"
#include "vigil/event.h"

static void write_proc(struct vg_buf *b, int *first, const char *key, const struct vg_process *p,
		       int64_t start_ns)
{
	int f = 1;

	if (!p->key && !p->pid && !p->image)
		return;
	vg_buf_json_key(b, first, key);
	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "entity_id", p->key);
	if (p->pid)
		vg_buf_json_ku(b, &f, "pid", p->pid);
	vg_buf_json_kv(b, &f, "executable", p->image);
	vg_buf_json_kv(b, &f, "command_line", p->command_line);
	vg_buf_json_kv(b, &f, "user", p->user);
	vg_buf_json_kv(b, &f, "working_directory", p->cwd);
	vg_buf_json_kv(b, &f, "hash", p->hashes);
	vg_buf_json_kv(b, &f, "integrity_level", p->integrity);
	vg_buf_json_kt(b, &f, "start", start_ns);
	vg_buf_put(b, "}", 1);
}

static void write_json(const struct vg_event *ev, struct vg_buf *b, const char *derived_key)
{
	int first = 1, f;

	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &first, "vigil", "event/1");
	vg_buf_json_kt(b, &first, "@timestamp", ev->time_ns);
	vg_buf_json_key(b, &first, "event");
	vg_buf_put(b, "{", 1);
	f = 1;
	vg_buf_json_kv(b, &f, "type", vg_event_type_name(ev->type));
	vg_buf_json_ku(b, &f, "code", ev->event_id);
	vg_buf_json_kv(b, &f, "source", vg_source_kind_name(ev->source));
	vg_buf_json_kv(b, &f, "platform", vg_platform_name(ev->platform));
	if (ev->record_id)
		vg_buf_json_ku(b, &f, "record_id", ev->record_id);
	vg_buf_json_kv(b, &f, "provider", ev->provider);
	vg_buf_json_kv(b, &f, "channel", ev->channel);
	vg_buf_put(b, "}", 1);
	if (ev->host) {
		vg_buf_json_key(b, &first, "host");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "name", ev->host);
		vg_buf_put(b, "}", 1);
	}
	write_proc(b, &first, "process", &ev->proc, ev->proc_start_ns);
	write_proc(b, &first, "parent", &ev->parent, 0);
	write_proc(b, &first, "target", &ev->target, 0);
	if (ev->file.path || ev->file.old_path) {
		vg_buf_json_key(b, &first, "file");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "path", ev->file.path);
		vg_buf_json_kv(b, &f, "old_path", ev->file.old_path);
		vg_buf_put(b, "}", 1);
	}
	if (ev->reg.key) {
		vg_buf_json_key(b, &first, "registry");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "path", ev->reg.key);
		vg_buf_json_kv(b, &f, "data", ev->reg.data);
		vg_buf_json_kv(b, &f, "new_name", ev->reg.new_name);
		vg_buf_put(b, "}", 1);
	}
	if (ev->net.dst_ip || ev->net.src_ip) {
		vg_buf_json_key(b, &first, "network");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "protocol", ev->net.protocol);
		vg_buf_json_kv(b, &f, "src_ip", ev->net.src_ip);
		if (ev->net.src_port)
			vg_buf_json_ku(b, &f, "src_port", ev->net.src_port);
		vg_buf_json_kv(b, &f, "dst_ip", ev->net.dst_ip);
		if (ev->net.dst_port)
			vg_buf_json_ku(b, &f, "dst_port", ev->net.dst_port);
		vg_buf_json_kv(b, &f, "dst_host", ev->net.dst_host);
		if (ev->net.initiated >= 0)
			vg_buf_json_kv(b, &f, "direction", ev->net.initiated ? "outbound" : "inbound");
		vg_buf_put(b, "}", 1);
	}
	if (ev->dns.query) {
		vg_buf_json_key(b, &first, "dns");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "question", ev->dns.query);
		vg_buf_json_kv(b, &f, "answers", ev->dns.answers);
		if (ev->dns.status >= 0)
			vg_buf_json_ki(b, &f, "status", ev->dns.status);
		vg_buf_put(b, "}", 1);
	}
	if (ev->access.granted_access || ev->access.call_trace || ev->access.start_module ||
	    ev->access.tamper_type) {
		char hex[16];
		vg_buf_json_key(b, &first, "access");
		f = 1;
		vg_buf_put(b, "{", 1);
		if (ev->access.granted_access) {
			snprintf(hex, sizeof(hex), "0x%x", ev->access.granted_access);
			vg_buf_json_kv(b, &f, "granted", hex);
		}
		vg_buf_json_kv(b, &f, "call_trace", ev->access.call_trace);
		vg_buf_json_kv(b, &f, "start_module", ev->access.start_module);
		vg_buf_json_kv(b, &f, "tamper_type", ev->access.tamper_type);
		vg_buf_put(b, "}", 1);
	}
	if (ev->persist.kind) {
		vg_buf_json_key(b, &first, "persistence");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "kind", vg_persist_kind_name(ev->persist.kind));
		vg_buf_json_kv(b, &f, "location", ev->persist.location);
		vg_buf_json_kv(b, &f, "target", ev->persist.target);
		vg_buf_put(b, "}", 1);
	}
	vg_buf_json_key(b, &first, "raw");
	vg_buf_put(b, "{", 1);
	f = 1;
	for (uint32_t i = 0; i < ev->nraw && i < ev->nfields; i++)
		vg_buf_json_kv(b, &f, ev->fields[i].name, ev->fields[i].value);
	vg_buf_put(b, "}", 1);
	if (ev->nfields > ev->nraw) {
		vg_buf_json_key(b, &first, derived_key);
		vg_buf_put(b, "{", 1);
		f = 1;
		for (uint32_t i = ev->nraw; i < ev->nfields; i++)
			vg_buf_json_kv(b, &f, ev->fields[i].name, ev->fields[i].value);
		vg_buf_put(b, "}", 1);
	}
	if (ev->origin) {
		vg_buf_json_key(b, &first, "origin");
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_kv(b, &f, "file", ev->origin);
		vg_buf_json_ku(b, &f, "position", ev->origin_pos);
		vg_buf_put(b, "}", 1);
	}
	vg_buf_put(b, "}", 1);
}

void vg_event_write_json(const struct vg_event *ev, struct vg_buf *b)
{
	write_json(ev, b, "derived");
}

void vg_event_write_json_recorded(const struct vg_event *ev, struct vg_buf *b)
{
	write_json(ev, b, "facts");
}
