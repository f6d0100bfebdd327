/* source.h - event sources: open any supported input (EVTX, evtx_dump JSON, flat JSON, Winlogbeat/ECS, vg_event JSON) and read vg_events from it. */
#ifndef VIGIL_SOURCE_H
#define VIGIL_SOURCE_H

#include <stdint.h>

#include "vigil/event.h"

enum vg_source_format {
	VG_FMT_AUTO = 0,   /* sniff: EVTX magic, else JSON (form decided per document) */
	VG_FMT_EVTX,
	VG_FMT_JSON,       /* evtx_dump, flat (NXLog/OTRF), Winlogbeat/ECS or vg_event, per document */
};

/* Counters of one source. */
struct vg_source_stats {
	uint64_t records;   /* records or documents read */
	uint64_t events;    /* events produced */
	uint64_t errors;    /* records that could not be read or mapped (each was reported) */
	uint64_t bytes;     /* input bytes consumed */
	uint64_t skipped;   /* EVTX records recovered from slack space that libevtx could not decode */
};

struct vg_source;

/*
 * Opens path ("-" is stdin, JSON only). Returns 0, -errno, or VG_EFORMAT /
 * VG_EEVTX when the file is not a supported input. The source copies path.
 */
int vg_source_open(const char *path, enum vg_source_format fmt, struct vg_source **out);
void vg_source_free(struct vg_source *s); /* accepts NULL */

/*
 * Reads the next event into ev (which it resets first). Returns 1 for an
 * event, 0 at end of input, or a negative error for one bad record, which has
 * already been reported through vg_log with the input name and position
 * ("file.json:12: expected ':' (byte 345)"); call again to go on.
 */
int vg_source_next(struct vg_source *s, struct vg_event *ev);
const struct vg_source_stats *vg_source_stats(const struct vg_source *s);
const char *vg_source_name(const struct vg_source *s);

/*
 * Maps one already-flattened JSON document into ev (reset first). Accepts the
 * evtx_dump form ({"Event":{"System":..,"EventData":..}}), the flat form
 * (EventID, Image... at top level, as NXLog and OTRF Security-Datasets ship),
 * Winlogbeat/ECS documents (winlog.event_id, winlog.event_data.*,
 * @timestamp) and vg_event JSON (as vg_event_write_json writes it).
 * Returns 0, VG_EFORMAT when the document is none of these, VG_ENOMEM.
 */
struct vg_json_doc;
int vg_event_from_json(const struct vg_json_doc *doc, struct vg_event *ev);

#endif /* VIGIL_SOURCE_H */
