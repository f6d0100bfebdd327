/* replay_source.c - a vigild event source that reads recorded events (vg_event JSON lines or any format `vigil hunt` reads) instead of the eBPF sensor: for tests and demos. */
#include <stdlib.h>
#include <string.h>

#include "vigil/agent.h"
#include "vigil/buf.h"
#include "vigil/source.h"

struct replay {
	struct vg_source *src;
	struct vg_event *ev;
	int done;
	uint64_t events, errors;
};

static int replay_poll(void *impl, int timeout_ms, vg_agent_event_fn fn, void *ctx)
{
	struct replay *r = impl;
	int n = 0;

	(void)timeout_ms;
	if (r->done)
		return VG_EOF_; /* the recording is over: vigild stops cleanly */
	while (!r->done && n < 256) {
		vg_event_reset(r->ev);
		int rc = vg_source_next(r->src, r->ev);
		if (rc == 1) {
			r->events++;
			fn(r->ev, ctx);
			n++;
		} else if (rc == 0 || rc == VG_ENOMEM) {
			r->done = 1;
		} else {
			r->errors++;
		}
	}
	return n;
}

static void replay_status(void *impl, struct vg_buf *b, int *first)
{
	struct replay *r = impl;
	vg_buf_json_kv(b, first, "kind", "replay");
	vg_buf_json_ku(b, first, "events", r->events);
	vg_buf_json_ku(b, first, "errors", r->errors);
	vg_buf_json_kv(b, first, "state", r->done ? "finished" : "reading");
}

static void replay_close(void *impl)
{
	struct replay *r = impl;
	if (!r)
		return;
	vg_source_free(r->src);
	vg_event_free(r->ev);
	free(r);
}

int vg_agent_replay_open(const char *path, struct vg_agent_source *out, char *err, size_t errlen)
{
	struct replay *r = calloc(1, sizeof(*r));
	int rc;

	if (!r || !(r->ev = vg_event_new())) {
		free(r);
		return VG_ENOMEM;
	}
	if ((rc = vg_source_open(path, VG_FMT_AUTO, &r->src))) {
		snprintf(err, errlen, "%s: cannot read: %s", path, vg_strerror(rc));
		replay_close(r);
		return rc;
	}
	*out = (struct vg_agent_source){ r, replay_poll, replay_status, replay_close, NULL, NULL };
	return 0;
}
