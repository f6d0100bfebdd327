/* winrec.h - a Windows event record in source-neutral form, the hand-off between Windows log readers and the mapper. */
#ifndef VIGIL_WINREC_H
#define VIGIL_WINREC_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/event.h"

/* A text slice borrowed from the reader's buffers; not NUL-terminated. */
struct vg_slice {
	const char *p;
	size_t n;
};

/* One EventData/UserData item: <Data Name="Image">C:\x.exe</Data>. */
struct vg_winrec_item {
	struct vg_slice name;
	struct vg_slice value;
};

/*
 * A Windows event as EVTX XML, evtx_dump JSON, NXLog flat JSON and Winlogbeat
 * documents all carry it. Every slice is borrowed from the reader and valid
 * until the reader's next call. Absent values have p == NULL.
 */
struct vg_winrec {
	uint32_t event_id;          /* System/EventID */
	int has_event_id;           /* 0 when the record had no EventID */
	uint64_t record_id;         /* System/EventRecordID */
	struct vg_slice provider;   /* System/Provider@Name */
	struct vg_slice channel;    /* System/Channel */
	struct vg_slice computer;   /* System/Computer */
	struct vg_slice time;       /* System/TimeCreated@SystemTime (ISO 8601) */
	struct vg_slice user_sid;   /* System/Security@UserID */
	uint32_t exec_pid;          /* System/Execution@ProcessID */
	uint32_t exec_tid;          /* System/Execution@ThreadID */
	struct vg_winrec_item *items; /* EventData or UserData items, in order */
	size_t nitems;
	size_t cap;                 /* owned by whoever fills it */
};

/* Appends an item, growing items with realloc. Returns 0 or VG_ENOMEM. */
int vg_winrec_add(struct vg_winrec *rec, const char *name, size_t name_len,
		  const char *value, size_t value_len);
/* Forgets the record's content, keeping the items array. */
void vg_winrec_clear(struct vg_winrec *rec);
/* Frees the items array. Accepts NULL. */
void vg_winrec_free_items(struct vg_winrec *rec);

/*
 * Maps a Windows record (Sysmon 1-29, Security 4688/4689/4697/4698/4657,
 * System 7045, and any other event as VG_EV_OTHER with its raw fields) into
 * ev, which must be reset. Every item becomes a raw field; System values
 * become the raw fields EventID, Provider_Name, Channel, Computer,
 * EventRecordID so Sigma rules can test them. Returns 0, or VG_ENOMEM.
 */
int vg_windows_map(const struct vg_winrec *rec, struct vg_event *ev);

#endif /* VIGIL_WINREC_H */
