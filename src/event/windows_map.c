/* windows_map.c - maps Windows records (Sysmon, Security 4688..., any channel) into vg_event: normalized core plus every raw field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/winpath.h"
#include "vigil/winrec.h"

/* Field ids interned once. */
static struct {
	int ready;
	uint32_t EventID, Provider_Name, Channel, Computer, EventRecordID, UtcTime;
	uint32_t ProcessGuid, ProcessId, Image, CommandLine, CurrentDirectory, User, Hashes,
		IntegrityLevel;
	uint32_t ParentProcessGuid, ParentProcessId, ParentImage, ParentCommandLine, ParentUser;
	uint32_t SourceProcessGuid, SourceProcessGUID, SourceProcessId, SourceImage, SourceUser;
	uint32_t TargetProcessGuid, TargetProcessGUID, TargetProcessId, TargetImage, TargetUser;
	uint32_t GrantedAccess, CallTrace, StartModule, Type, EventType;
	uint32_t TargetFilename, ImageLoaded, TargetObject, Details, NewName;
	uint32_t Protocol, Initiated, SourceIp, SourcePort, DestinationIp, DestinationPort,
		DestinationHostname;
	uint32_t QueryName, QueryResults, QueryStatus, PipeName;
	/* Security log */
	uint32_t NewProcessId, NewProcessName, ParentProcessName, SubjectUserName,
		SubjectDomainName, MandatoryLabel, TargetUserName, ServiceFileName, ServiceName,
		ImagePath, TaskName, TaskContent, ObjectName, NewValue;
} F;

#define INTERN(x) F.x = vg_field_intern(#x, sizeof(#x) - 1)

static void intern_all(void)
{
	INTERN(EventID); INTERN(Provider_Name); INTERN(Channel); INTERN(Computer);
	INTERN(EventRecordID); INTERN(UtcTime);
	INTERN(ProcessGuid); INTERN(ProcessId); INTERN(Image); INTERN(CommandLine);
	INTERN(CurrentDirectory); INTERN(User); INTERN(Hashes); INTERN(IntegrityLevel);
	INTERN(ParentProcessGuid); INTERN(ParentProcessId); INTERN(ParentImage);
	INTERN(ParentCommandLine); INTERN(ParentUser);
	INTERN(SourceProcessGuid); F.SourceProcessGUID = F.SourceProcessGuid;
	INTERN(SourceProcessId); INTERN(SourceImage); INTERN(SourceUser);
	INTERN(TargetProcessGuid); F.TargetProcessGUID = F.TargetProcessGuid;
	INTERN(TargetProcessId); INTERN(TargetImage); INTERN(TargetUser);
	INTERN(GrantedAccess); INTERN(CallTrace); INTERN(StartModule); INTERN(Type);
	INTERN(EventType); INTERN(TargetFilename); INTERN(ImageLoaded); INTERN(TargetObject);
	INTERN(Details); INTERN(NewName); INTERN(Protocol); INTERN(Initiated); INTERN(SourceIp);
	INTERN(SourcePort); INTERN(DestinationIp); INTERN(DestinationPort);
	INTERN(DestinationHostname); INTERN(QueryName); INTERN(QueryResults);
	INTERN(QueryStatus); INTERN(PipeName);
	INTERN(NewProcessId); INTERN(NewProcessName); INTERN(ParentProcessName);
	INTERN(SubjectUserName); INTERN(SubjectDomainName); INTERN(MandatoryLabel);
	INTERN(TargetUserName); INTERN(ServiceFileName); INTERN(ServiceName); INTERN(ImagePath);
	INTERN(TaskName); INTERN(TaskContent); INTERN(ObjectName); INTERN(NewValue);
	F.ready = 1;
}

/*
 * The mapper asks for a dozen fields of the same event: a small direct-mapped
 * index (id -> first field) built once per event replaces a scan per question.
 */
#define IDX_SIZE 256
static _Thread_local struct {
	const struct vg_event *ev;
	uint32_t nfields;
	uint32_t id[IDX_SIZE];
	uint16_t pos[IDX_SIZE];
} idx;

static void index_fields(const struct vg_event *ev)
{
	memset(idx.id, 0, sizeof(idx.id));
	for (uint32_t i = ev->nfields; i-- > 0;) { /* backwards: the first occurrence wins */
		uint32_t slot = ev->fields[i].id & (IDX_SIZE - 1);
		idx.id[slot] = ev->fields[i].id;
		idx.pos[slot] = (uint16_t)i;
	}
	idx.ev = ev;
	idx.nfields = ev->nfields;
}

static const char *get(const struct vg_event *ev, uint32_t id)
{
	const struct vg_field *f;
	uint32_t slot = id & (IDX_SIZE - 1);

	if (idx.ev == ev && idx.nfields == ev->nfields && ev->nfields < 65536) {
		if (idx.id[slot] == id) {
			f = &ev->fields[idx.pos[slot]];
			return f->len ? f->value : NULL;
		}
		/* the slot holds another id, or none: fall back to a scan only on a collision */
		if (idx.id[slot] == 0)
			return NULL;
	}
	f = vg_event_field(ev, id);
	return f && f->len ? f->value : NULL;
}

/* Parses decimal or 0x-hex text; returns 0 when absent or not a number. */
static uint64_t num(const char *s)
{
	if (!s)
		return 0;
	return strtoull(s, NULL, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
}

static int add_u64(struct vg_event *ev, uint32_t id, uint64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	return vg_event_add_field_id(ev, id, b, (size_t)n) ? 0 : VG_ENOMEM;
}

static int add_slice(struct vg_event *ev, uint32_t id, struct vg_slice s)
{
	if (!s.p)
		return 0;
	return vg_event_add_field_id(ev, id, s.p, s.n) ? 0 : VG_ENOMEM;
}

static int is_channel(struct vg_slice s, const char *name)
{
	return s.p && s.n == strlen(name) && vg_strncaseeq(s.p, name, s.n);
}

static void set_persist(struct vg_event *ev, enum vg_persist_kind k, const char *location,
			const char *data)
{
	char prog[1024];

	if (k == VG_PERSIST_NONE)
		return;
	ev->persist.kind = k;
	ev->persist.location = location;
	if (data && vg_cmdline_program(data, strlen(data), prog, sizeof(prog)))
		ev->persist.target = vg_event_strdup(ev, prog, strlen(prog));
}

static void map_sysmon(struct vg_event *ev)
{
	switch (ev->event_id) {
	case 1: ev->type = VG_EV_PROCESS_START; break;
	case 2: ev->type = VG_EV_FILE_TIME; break;
	case 3: ev->type = VG_EV_NETWORK_CONNECT; break;
	case 5: ev->type = VG_EV_PROCESS_EXIT; break;
	case 6: ev->type = VG_EV_DRIVER_LOAD; break;
	case 7: ev->type = VG_EV_IMAGE_LOAD; break;
	case 8: ev->type = VG_EV_REMOTE_THREAD; break;
	case 9: ev->type = VG_EV_RAW_ACCESS; break;
	case 10: ev->type = VG_EV_PROCESS_ACCESS; break;
	case 11: case 29: ev->type = VG_EV_FILE_CREATE; break;
	case 12: {
		const char *t = get(ev, F.EventType);
		ev->type = t && vg_starts_with_ci(t, strlen(t), "Delete") ? VG_EV_REGISTRY_DELETE
									 : VG_EV_REGISTRY_CREATE;
		break;
	}
	case 13: ev->type = VG_EV_REGISTRY_SET; break;
	case 14: ev->type = VG_EV_REGISTRY_RENAME; break;
	case 15: ev->type = VG_EV_FILE_STREAM; break;
	case 17: case 18: ev->type = VG_EV_PIPE; break;
	case 19: case 20: case 21: ev->type = VG_EV_WMI; break;
	case 22: ev->type = VG_EV_DNS_QUERY; break;
	case 23: case 26: ev->type = VG_EV_FILE_DELETE; break;
	case 25: ev->type = VG_EV_PROCESS_TAMPER; break;
	default: ev->type = VG_EV_OTHER; break;
	}

	if (ev->type == VG_EV_PROCESS_ACCESS || ev->type == VG_EV_REMOTE_THREAD) {
		ev->proc.key = get(ev, F.SourceProcessGuid);
		ev->proc.pid = (uint32_t)num(get(ev, F.SourceProcessId));
		ev->proc.image = get(ev, F.SourceImage);
		ev->proc.user = get(ev, F.SourceUser);
		ev->target.key = get(ev, F.TargetProcessGuid);
		ev->target.pid = (uint32_t)num(get(ev, F.TargetProcessId));
		ev->target.image = get(ev, F.TargetImage);
		ev->target.user = get(ev, F.TargetUser);
		ev->access.granted_access = (uint32_t)num(get(ev, F.GrantedAccess));
		ev->access.call_trace = get(ev, F.CallTrace);
		ev->access.start_module = get(ev, F.StartModule);
		return;
	}
	ev->proc.key = get(ev, F.ProcessGuid);
	ev->proc.pid = (uint32_t)num(get(ev, F.ProcessId));
	ev->proc.image = get(ev, F.Image);
	ev->proc.user = get(ev, F.User);
	switch (ev->type) {
	case VG_EV_PROCESS_START:
		ev->proc.command_line = get(ev, F.CommandLine);
		ev->proc.cwd = get(ev, F.CurrentDirectory);
		ev->proc.hashes = get(ev, F.Hashes);
		ev->proc.integrity = get(ev, F.IntegrityLevel);
		ev->parent.key = get(ev, F.ParentProcessGuid);
		ev->parent.pid = (uint32_t)num(get(ev, F.ParentProcessId));
		ev->parent.image = get(ev, F.ParentImage);
		ev->parent.command_line = get(ev, F.ParentCommandLine);
		ev->parent.user = get(ev, F.ParentUser);
		ev->proc_start_ns = ev->time_ns;
		break;
	case VG_EV_IMAGE_LOAD:
		ev->file.path = get(ev, F.ImageLoaded);
		ev->proc.hashes = NULL;
		break;
	case VG_EV_DRIVER_LOAD:
		ev->file.path = get(ev, F.ImageLoaded);
		break;
	case VG_EV_FILE_CREATE:
	case VG_EV_FILE_DELETE:
	case VG_EV_FILE_TIME:
	case VG_EV_FILE_STREAM:
		ev->file.path = get(ev, F.TargetFilename);
		if (ev->type == VG_EV_FILE_CREATE && ev->file.path)
			set_persist(ev, vg_autostart_file(ev->file.path, strlen(ev->file.path)),
				    ev->file.path, NULL);
		break;
	case VG_EV_REGISTRY_CREATE:
	case VG_EV_REGISTRY_DELETE:
	case VG_EV_REGISTRY_SET:
	case VG_EV_REGISTRY_RENAME:
		ev->reg.key = get(ev, F.TargetObject);
		ev->reg.data = get(ev, F.Details);
		ev->reg.new_name = get(ev, F.NewName);
		if (ev->type == VG_EV_REGISTRY_SET && ev->reg.key)
			set_persist(ev, vg_autostart_registry(ev->reg.key, strlen(ev->reg.key)),
				    ev->reg.key, ev->reg.data);
		break;
	case VG_EV_NETWORK_CONNECT: {
		const char *ini = get(ev, F.Initiated);
		ev->net.protocol = get(ev, F.Protocol);
		ev->net.src_ip = get(ev, F.SourceIp);
		ev->net.src_port = (uint16_t)num(get(ev, F.SourcePort));
		ev->net.dst_ip = get(ev, F.DestinationIp);
		ev->net.dst_port = (uint16_t)num(get(ev, F.DestinationPort));
		ev->net.dst_host = get(ev, F.DestinationHostname);
		ev->net.initiated = ini ? (vg_strcaseeq(ini, "true") ? 1 : 0) : -1;
		break;
	}
	case VG_EV_DNS_QUERY:
		ev->dns.query = get(ev, F.QueryName);
		ev->dns.answers = get(ev, F.QueryResults);
		ev->dns.status = get(ev, F.QueryStatus) ? (int32_t)num(get(ev, F.QueryStatus)) : -1;
		break;
	case VG_EV_PROCESS_TAMPER:
		ev->target = ev->proc; /* the tampered process is the one named */
		ev->access.tamper_type = get(ev, F.Type);
		break;
	case VG_EV_PIPE:
		ev->file.path = get(ev, F.PipeName);
		break;
	default:
		break;
	}
}

static const char *integrity_from_label(const char *sid)
{
	if (!sid)
		return NULL;
	if (strstr(sid, "16-4096")) return "Low";
	if (strstr(sid, "16-8192")) return "Medium";
	if (strstr(sid, "16-8448")) return "Medium Plus";
	if (strstr(sid, "16-12288")) return "High";
	if (strstr(sid, "16-16384")) return "System";
	return NULL;
}

static int alias(struct vg_event *ev, uint32_t id, const char *v)
{
	if (!v || get(ev, id))
		return 0;
	return vg_event_add_field_id(ev, id, v, strlen(v)) ? 0 : VG_ENOMEM;
}

/* Security 4688 and friends: add the Sysmon-named aliases that Sigma's process_creation rules test. */
static int map_security(struct vg_event *ev)
{
	int rc = 0;

	switch (ev->event_id) {
	case 4688: {
		ev->type = VG_EV_PROCESS_START;
		ev->proc.pid = (uint32_t)num(get(ev, F.NewProcessId));
		ev->proc.image = get(ev, F.NewProcessName);
		ev->proc.command_line = get(ev, F.CommandLine);
		ev->proc.user = get(ev, F.TargetUserName) && strcmp(get(ev, F.TargetUserName), "-")
					? get(ev, F.TargetUserName) : get(ev, F.SubjectUserName);
		ev->proc.integrity = integrity_from_label(get(ev, F.MandatoryLabel));
		ev->parent.pid = (uint32_t)num(get(ev, F.ProcessId));
		ev->parent.image = get(ev, F.ParentProcessName);
		ev->proc_start_ns = ev->time_ns;
		rc |= alias(ev, F.Image, ev->proc.image);
		rc |= alias(ev, F.ParentImage, ev->parent.image);
		rc |= alias(ev, F.User, get(ev, F.SubjectUserName));
		rc |= alias(ev, F.IntegrityLevel, ev->proc.integrity);
		/* ProcessId holds the parent pid in 4688: it stays raw, as Sigma expects */
		break;
	}
	case 4689:
		ev->type = VG_EV_PROCESS_EXIT;
		ev->proc.pid = (uint32_t)num(get(ev, F.ProcessId));
		ev->proc.image = get(ev, vg_field_intern("ProcessName", 11));
		break;
	case 4697:
		ev->type = VG_EV_SERVICE;
		set_persist(ev, VG_PERSIST_SERVICE, get(ev, F.ServiceName), get(ev, F.ServiceFileName));
		break;
	case 4698:
		ev->type = VG_EV_TASK;
		set_persist(ev, VG_PERSIST_SCHEDULED_TASK, get(ev, F.TaskName), NULL);
		break;
	case 4657:
		ev->type = VG_EV_REGISTRY_SET;
		ev->reg.key = get(ev, F.ObjectName);
		ev->reg.data = get(ev, F.NewValue);
		ev->proc.pid = (uint32_t)num(get(ev, F.ProcessId));
		break;
	default:
		ev->type = VG_EV_OTHER;
		break;
	}
	return rc ? VG_ENOMEM : 0;
}

int vg_windows_map(const struct vg_winrec *rec, struct vg_event *ev)
{
	if (!F.ready)
		intern_all();
	ev->platform = VG_PLATFORM_WINDOWS;
	ev->event_id = rec->event_id;
	ev->record_id = rec->record_id;
	if (rec->time.p)
		vg_time_parse(rec->time.p, rec->time.n, &ev->time_ns);

	/* System values first, under the names Sigma uses. */
	if (rec->has_event_id && add_u64(ev, F.EventID, rec->event_id))
		return VG_ENOMEM;
	if (add_slice(ev, F.Provider_Name, rec->provider) || add_slice(ev, F.Channel, rec->channel) ||
	    add_slice(ev, F.Computer, rec->computer))
		return VG_ENOMEM;
	if (rec->record_id && add_u64(ev, F.EventRecordID, rec->record_id))
		return VG_ENOMEM;
	for (size_t i = 0; i < rec->nitems; i++) {
		const struct vg_winrec_item *it = &rec->items[i];
		if (!it->name.p || !it->name.n)
			continue;
		if (!vg_event_add_field(ev, it->name.p, it->name.n, it->value.p ? it->value.p : "",
					it->value.p ? it->value.n : 0))
			return VG_ENOMEM;
	}
	ev->nraw = ev->nfields;
	/* Sigma names fields without their spaces ("Source Name" -> SourceName) */
	for (size_t i = 0; i < rec->nitems; i++) {
		const struct vg_winrec_item *it = &rec->items[i];
		if (!it->name.p || !memchr(it->name.p, ' ', it->name.n) || it->name.n >= 128)
			continue;
		char nm[128];
		size_t k = 0;
		for (size_t j = 0; j < it->name.n; j++)
			if (it->name.p[j] != ' ')
				nm[k++] = it->name.p[j];
		if (k && !vg_event_add_field(ev, nm, k, it->value.p ? it->value.p : "", it->value.p ? it->value.n : 0))
			return VG_ENOMEM;
	}
	index_fields(ev);
	ev->host = get(ev, F.Computer);
	ev->provider = get(ev, F.Provider_Name);
	ev->channel = get(ev, F.Channel);

	/* Sysmon's UtcTime is the event's own time; prefer it over the log write time. */
	const char *utc = get(ev, F.UtcTime);
	int64_t t;
	if (utc && vg_time_parse(utc, strlen(utc), &t) == 0)
		ev->time_ns = t;

	if (is_channel(rec->channel, "Microsoft-Windows-Sysmon/Operational") ||
	    (rec->provider.p && rec->provider.n == 24 &&
	     vg_strncaseeq(rec->provider.p, "Microsoft-Windows-Sysmon", 24))) {
		ev->source = VG_SRC_SYSMON;
		map_sysmon(ev);
		if (ev->type == VG_EV_PROCESS_START && utc && vg_time_parse(utc, strlen(utc), &t) == 0)
			ev->proc_start_ns = t;
		return 0;
	}
	if (is_channel(rec->channel, "Security")) {
		ev->source = VG_SRC_SECURITY;
		return map_security(ev);
	}
	ev->source = VG_SRC_WINDOWS;
	ev->type = VG_EV_OTHER;
	if (ev->event_id == 7045 && is_channel(rec->channel, "System")) {
		ev->type = VG_EV_SERVICE;
		set_persist(ev, VG_PERSIST_SERVICE, get(ev, F.ServiceName), get(ev, F.ImagePath));
	}
	return 0;
}
