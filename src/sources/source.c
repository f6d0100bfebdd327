/* source.c - opens an input file, sniffs its format (EVTX or JSON) and yields vg_events one at a time, reporting bad records with their position. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/evtx.h"
#include "vigil/json.h"
#include "vigil/source.h"

#define MAX_JSON_VALUE (64u << 20) /* a single event document larger than this is rejected */

struct vg_source {
	char *name;
	enum vg_source_format fmt;
	struct vg_source_stats stats;
	/* EVTX */
	struct vg_evtx_reader *evtx;
	struct vg_winrec rec;
	/* JSON */
	struct vg_json_reader *json;
	struct vg_json_doc doc;
};

static int sniff(const char *path, enum vg_source_format *fmt)
{
	char magic[8];
	int fd;
	ssize_t n;

	if (strcmp(path, "-") == 0) {
		*fmt = VG_FMT_JSON;
		return 0;
	}
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		/* a pipe or terminal: reading the magic would eat the stream's first bytes,
		 * and EVTX needs a seekable file anyway */
		*fmt = VG_FMT_JSON;
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n < 0)
		return -errno;
	*fmt = (n == 8 && memcmp(magic, "ElfFile", 8) == 0) ? VG_FMT_EVTX : VG_FMT_JSON;
	return 0;
}

int vg_source_open(const char *path, enum vg_source_format fmt, struct vg_source **out)
{
	struct vg_source *s;
	int rc;

	*out = NULL;
	if (fmt == VG_FMT_AUTO && (rc = sniff(path, &fmt)))
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return VG_ENOMEM;
	s->name = vg_strdup(path);
	s->fmt = fmt;
	vg_json_doc_init(&s->doc);
	if (!s->name) {
		rc = VG_ENOMEM;
		goto fail;
	}
	if (fmt == VG_FMT_EVTX)
		rc = vg_evtx_open(path, &s->evtx);
	else
		rc = vg_json_reader_open(path, MAX_JSON_VALUE, &s->json);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	vg_source_free(s);
	return rc;
}

void vg_source_free(struct vg_source *s)
{
	if (!s)
		return;
	vg_evtx_free(s->evtx);
	vg_winrec_free_items(&s->rec);
	vg_json_reader_free(s->json);
	vg_json_doc_free(&s->doc);
	free(s->name);
	free(s);
}

static int next_evtx(struct vg_source *s, struct vg_event *ev)
{
	uint64_t pos = 0;
	int rc;

	vg_winrec_clear(&s->rec);
	rc = vg_evtx_next(s->evtx, &s->rec, &pos);
	if (rc <= 0) {
		uint64_t nrec = 0, nrecovered = 0;
		vg_evtx_counts(s->evtx, &nrec, &nrecovered);
		if (rc < 0 && pos >= nrec && pos < nrec + nrecovered) {
			/* libevtx's "recovered" records are carved from free space and old
			 * chunk copies; most are fragments it cannot decode. They are not
			 * records the log holds, so they are counted, not reported as errors. */
			s->stats.skipped++;
			vg_log(VG_LOG_DEBUG, "%s: %s", s->name, vg_evtx_reader_error(s->evtx));
		} else if (rc < 0) {
			s->stats.errors++;
			vg_log(VG_LOG_ERROR, "%s: %s", s->name, vg_evtx_reader_error(s->evtx));
		} else if (s->stats.skipped) {
			vg_log(VG_LOG_INFO, "%s: %llu recovered records could not be decoded (slack space)",
			       s->name, (unsigned long long)s->stats.skipped);
		}
		return rc;
	}
	s->stats.records++;
	ev->origin = s->name;
	ev->origin_pos = pos;
	rc = vg_windows_map(&s->rec, ev);
	if (rc) {
		s->stats.errors++;
		vg_log(VG_LOG_ERROR, "%s: record %llu: %s", s->name, (unsigned long long)pos, vg_strerror(rc));
		return rc;
	}
	s->stats.events++;
	return 1;
}

static int next_json(struct vg_source *s, struct vg_event *ev)
{
	const char *data;
	size_t len;
	uint64_t off = 0, line = 0;
	struct vg_json_error err = { 0 };
	int rc;

	rc = vg_json_reader_next(s->json, &data, &len, &off, &line);
	s->stats.bytes = vg_json_reader_bytes(s->json);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		s->stats.errors++;
		vg_log(VG_LOG_ERROR, "%s:%llu: %s (byte %llu)", s->name, (unsigned long long)line,
		       vg_json_reader_error(s->json), (unsigned long long)off);
		return rc;
	}
	s->stats.records++;
	rc = vg_json_flatten(&s->doc, data, len, &err);
	if (rc) {
		s->stats.errors++;
		/* count the line of the error inside a multi-line value */
		uint64_t eline = line;
		for (size_t i = 0; i < err.offset && i < len; i++)
			if (data[i] == '\n')
				eline++;
		vg_log(VG_LOG_ERROR, "%s:%llu: %s (byte %llu)", s->name, (unsigned long long)eline,
		       err.reason ? err.reason : vg_strerror(rc), (unsigned long long)(off + err.offset));
		return rc;
	}
	ev->origin = s->name;
	ev->origin_pos = line;
	rc = vg_event_from_json(&s->doc, ev);
	if (rc) {
		s->stats.errors++;
		vg_log(VG_LOG_ERROR, "%s:%llu: %s", s->name, (unsigned long long)line,
		       rc == VG_EFORMAT ? "not a Windows event, ECS document or vg_event (no EventID, Event.System, winlog or vigil key)"
				       : vg_strerror(rc));
		return rc;
	}
	s->stats.events++;
	return 1;
}

int vg_source_next(struct vg_source *s, struct vg_event *ev)
{
	vg_event_reset(ev);
	return s->fmt == VG_FMT_EVTX ? next_evtx(s, ev) : next_json(s, ev);
}

const struct vg_source_stats *vg_source_stats(const struct vg_source *s)
{
	return &s->stats;
}

const char *vg_source_name(const struct vg_source *s)
{
	return s->name;
}
