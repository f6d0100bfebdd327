/* event.h - the one normalized event model (vg_event) that every source maps into. */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/common.h"

/* What happened, normalized across sources (Sysmon, Security log, eBPF, vg_event JSON). */
enum vg_event_type {
	VG_EV_UNKNOWN = 0,      /* kept with its raw fields; rules may still match them */
	VG_EV_PROCESS_START,    /* Sysmon 1, Security 4688, execve */
	VG_EV_PROCESS_EXIT,     /* Sysmon 5, Security 4689, exit */
	VG_EV_IMAGE_LOAD,       /* Sysmon 7 (module/DLL load) */
	VG_EV_DRIVER_LOAD,      /* Sysmon 6 */
	VG_EV_FILE_CREATE,      /* Sysmon 11 */
	VG_EV_FILE_WRITE,       /* eBPF open-for-write; Sysmon has no plain write */
	VG_EV_FILE_RENAME,      /* eBPF rename; Sysmon has none */
	VG_EV_FILE_DELETE,      /* Sysmon 23, 26 */
	VG_EV_FILE_TIME,        /* Sysmon 2 (creation time changed) */
	VG_EV_FILE_STREAM,      /* Sysmon 15 (alternate data stream created) */
	VG_EV_REGISTRY_CREATE,  /* Sysmon 12 CreateKey */
	VG_EV_REGISTRY_DELETE,  /* Sysmon 12 DeleteKey / DeleteValue */
	VG_EV_REGISTRY_SET,     /* Sysmon 13 SetValue */
	VG_EV_REGISTRY_RENAME,  /* Sysmon 14 */
	VG_EV_NETWORK_CONNECT,  /* Sysmon 3, connect() */
	VG_EV_DNS_QUERY,        /* Sysmon 22, DNS payload seen on a socket */
	VG_EV_PROCESS_ACCESS,   /* Sysmon 10 (OpenProcess), ptrace attach */
	VG_EV_REMOTE_THREAD,    /* Sysmon 8 (CreateRemoteThread) */
	VG_EV_PROCESS_TAMPER,   /* Sysmon 25 (image replaced: hollowing/herpaderping), memory writes */
	VG_EV_RAW_ACCESS,       /* Sysmon 9 (raw disk read) */
	VG_EV_PIPE,             /* Sysmon 17, 18 */
	VG_EV_WMI,              /* Sysmon 19, 20, 21 */
	VG_EV_SERVICE,          /* Security 4697/7045 service installed */
	VG_EV_TASK,             /* Security 4698 scheduled task created */
	VG_EV_FILE_CHMOD,       /* eBPF chmod/fchmod/fchmodat that makes a file executable */
	VG_EV_NET_PAYLOAD,      /* eBPF: first bytes an outbound socket write carried (stratum, DNS over TCP...) */
	VG_EV_PROCESS_RENAME,   /* eBPF prctl(PR_SET_NAME): the process changed its comm */
	VG_EV_MEMFD,            /* eBPF memfd_create */
	VG_EV_BPF_LOAD,         /* eBPF bpf(BPF_PROG_LOAD) by another program */
	VG_EV_OTHER,            /* a known source event with no normalized meaning */
	VG_EV__COUNT
};

enum vg_platform {
	VG_PLATFORM_UNKNOWN = 0,
	VG_PLATFORM_WINDOWS,
	VG_PLATFORM_LINUX,
};

/* Which producer the event came from (decides the Sigma logsource it belongs to). */
enum vg_source_kind {
	VG_SRC_UNKNOWN = 0,
	VG_SRC_SYSMON,    /* Microsoft-Windows-Sysmon/Operational */
	VG_SRC_SECURITY,  /* Microsoft-Windows-Security-Auditing */
	VG_SRC_WINDOWS,   /* any other Windows channel (System, PowerShell, Defender...) */
	VG_SRC_EBPF,      /* vigild's Linux sensor */
	VG_SRC_VIGIL,     /* produced by Vigil itself */
};

/* Normalized persistence mechanisms (filled when an event installs one). */
enum vg_persist_kind {
	VG_PERSIST_NONE = 0,
	VG_PERSIST_RUN_KEY,        /* ...\CurrentVersion\Run, RunOnce, RunServices, Policies\Explorer\Run */
	VG_PERSIST_WINLOGON,       /* Winlogon Shell/Userinit/Notify */
	VG_PERSIST_SERVICE,        /* HKLM\SYSTEM\*ControlSet*\Services\*\ImagePath, 4697/7045 */
	VG_PERSIST_SCHEDULED_TASK, /* 4698, Tasks folder, TaskCache */
	VG_PERSIST_STARTUP_FOLDER, /* ...\Start Menu\Programs\Startup\ */
	VG_PERSIST_IFEO,           /* Image File Execution Options Debugger/GlobalFlag */
	VG_PERSIST_CRON,           /* Linux: crontabs */
	VG_PERSIST_SYSTEMD,        /* Linux: unit files */
	VG_PERSIST_SHELL_RC,       /* Linux: .bashrc, .profile ... */
	VG_PERSIST_LD_PRELOAD,     /* Linux: /etc/ld.so.preload */
	VG_PERSIST_XDG_AUTOSTART,  /* Linux: ~/.config/autostart, /etc/xdg/autostart */
	VG_PERSIST_SSH_KEYS,       /* Linux: authorized_keys */
	VG_PERSIST_OTHER,
};

/* A process as an event names it. Any string may be NULL when the source did not say. */
struct vg_process {
	const char *key;          /* stable identity: Sysmon ProcessGuid, or "host:pid:start" */
	uint32_t pid;             /* 0 when unknown */
	const char *image;        /* full path of the executable */
	const char *command_line;
	const char *user;
	const char *cwd;
	const char *hashes;       /* Sysmon style "SHA256=...,MD5=..." */
	const char *integrity;    /* Windows integrity level */
};

/* A raw or derived field: name and value as the source said them, value as text. */
struct vg_field {
	uint32_t id;      /* interned name (vg_field_intern), compare ids not strings */
	uint32_t len;     /* value length in bytes, excluding the NUL */
	const char *name; /* interned name text, owned by the intern table */
	const char *value;/* NUL-terminated, owned by the event's arena */
};

struct vg_arena_chunk;

/*
 * One event. The struct and every string it points to belong to the event
 * (its arena); they stay valid until vg_event_reset() or vg_event_free().
 * Consumers that keep data longer (the process tree, alerts) copy it.
 */
struct vg_event {
	enum vg_event_type type;
	enum vg_platform platform;
	enum vg_source_kind source;
	uint32_t event_id;       /* the source's own code (Sysmon EventID, 4688...) */
	int64_t time_ns;         /* event time, UTC ns since the Unix epoch; 0 if unknown */
	uint64_t record_id;      /* EventRecordID or sequence number; 0 if unknown */
	const char *host;        /* computer name */
	const char *provider;    /* Provider Name (Windows) */
	const char *channel;     /* Channel (Windows) */

	struct vg_process proc;   /* the acting process */
	struct vg_process parent; /* its parent (process start events) */
	struct vg_process target; /* the process acted on (access, remote thread, tamper) */
	int64_t proc_start_ns;    /* acting process start time when the event is its start */

	struct {
		const char *path;     /* file created/written/deleted, or the new name */
		const char *old_path; /* rename: the former name */
	} file;
	struct {
		const char *key;      /* full key path, e.g. HKLM\SOFTWARE\...\Run\Name (Sysmon TargetObject) */
		const char *data;     /* value data as text (Sysmon Details) */
		const char *new_name; /* rename target */
	} reg;
	struct {
		const char *protocol;   /* "tcp", "udp" */
		const char *src_ip;
		const char *dst_ip;
		const char *dst_host;   /* resolved name when the source knows it */
		uint16_t src_port;
		uint16_t dst_port;
		int8_t initiated;       /* 1 outbound, 0 inbound, -1 unknown */
	} net;
	struct {
		const char *query;    /* queried name */
		const char *answers;  /* results as text */
		int32_t status;       /* source status code, -1 unknown */
	} dns;
	struct {
		uint32_t granted_access; /* Sysmon 10 GrantedAccess mask */
		const char *call_trace;
		const char *start_module;   /* Sysmon 8 StartModule */
		const char *tamper_type;    /* Sysmon 25 Type, e.g. "Image is replaced" */
	} access;
	struct {
		enum vg_persist_kind kind;
		const char *location;   /* where it was installed: registry key, file, task name */
		const char *target;     /* the program it makes start (path extracted from data) */
	} persist;

	/* Every field of the source, in source order, plus the derived fields that
	 * enrichment appends (names starting with "Vigil"). */
	struct vg_field *fields;
	uint32_t nfields;
	uint32_t nraw;            /* fields[0..nraw) came from the source */
	uint32_t fields_cap;

	const char *origin;       /* input name (file path), borrowed from the source */
	uint64_t origin_pos;      /* record position in the input (record number or byte offset) */
	uint64_t seq;             /* arrival sequence number, assigned by the pipeline */
	int done;                 /* pipeline-private: already processed out of order */

	struct vg_arena_chunk *arena; /* owned memory */
};

/* Creates an empty event. Returns NULL when out of memory. Free with vg_event_free(). */
struct vg_event *vg_event_new(void);
/* Frees ev and everything it owns. Accepts NULL. */
void vg_event_free(struct vg_event *ev);
/* Clears ev for reuse, keeping its memory. */
void vg_event_reset(struct vg_event *ev);
/* Deep-copies src into a new event. Returns NULL when out of memory. */
struct vg_event *vg_event_clone(const struct vg_event *src);

/* Copies n bytes of s into the event's arena, NUL-terminated. Returns NULL on OOM. */
char *vg_event_strdup(struct vg_event *ev, const char *s, size_t n);
/* Allocates n zeroed bytes from the event's arena. Returns NULL on OOM. */
void *vg_event_alloc(struct vg_event *ev, size_t n);

/*
 * Appends a field: the value is copied into the arena, the name is interned.
 * Returns a pointer to the stored value, or NULL on OOM.
 */
const char *vg_event_add_field(struct vg_event *ev, const char *name, size_t name_len,
			       const char *value, size_t value_len);
/* Same, with a name id already interned. */
const char *vg_event_add_field_id(struct vg_event *ev, uint32_t id, const char *value,
				  size_t value_len);
/* Returns the value of the first field with this interned id, or NULL. */
const struct vg_field *vg_event_field(const struct vg_event *ev, uint32_t id);
/* Convenience lookup by name (interns it; slower). */
const char *vg_event_get(const struct vg_event *ev, const char *name);

/*
 * Field names are interned once into a process-wide table (ASCII
 * case-insensitive, so "image" and "Image" are one id). Ids are small dense
 * integers starting at 1; 0 means "none". Not thread-safe: intern names at
 * start-up or from one thread. Returns 0 on OOM.
 */
uint32_t vg_field_intern(const char *name, size_t len);
/* Returns the id if the name was interned before, else 0. Never allocates. */
uint32_t vg_field_lookup(const char *name, size_t len);
const char *vg_field_name(uint32_t id);

struct vg_buf;
/*
 * Appends ev as one vg_event JSON object (no newline) to b: the normalized
 * core under ECS-style names, "raw" with every source field in order and
 * "derived" with the enrichment fields. docs/events.md describes the format.
 */
void vg_event_write_json(const struct vg_event *ev, struct vg_buf *b);
/*
 * The same for a recording (vigild's record setting): the derived fields, at
 * that point only the host facts made live, go under "facts", which readers
 * load back as derived fields ("derived", written by enrichment that a replay
 * redoes, is not read back).
 */
void vg_event_write_json_recorded(const struct vg_event *ev, struct vg_buf *b);

const char *vg_event_type_name(enum vg_event_type t);     /* "process_start" ... */
int vg_event_type_from_name(const char *name);           /* -1 if unknown */
const char *vg_persist_kind_name(enum vg_persist_kind k); /* "run_key" ... */
int vg_persist_kind_from_name(const char *name);
const char *vg_source_kind_name(enum vg_source_kind s);
const char *vg_platform_name(enum vg_platform p);

#endif /* VIGIL_EVENT_H */
