/* alert.h - alerts (a rule matched an event) grouped into incidents along the process tree, written as JSON lines or drawn as a terminal tree. */
#ifndef VIGIL_ALERT_H
#define VIGIL_ALERT_H

#include <stdint.h>
#include <stdio.h>

#include "vigil/event.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"

enum vg_alert_format {
	VG_ALERT_JSON = 0, /* one alert per line (ECS-style names), incident id in each */
	VG_ALERT_TREE,     /* per incident, the process tree with matched behaviors marked */
};

struct vg_incidents_config {
	enum vg_alert_format format;
	FILE *out;             /* where alerts go (stdout); diagnostics never go here */
	int64_t idle_ns;       /* an incident quiet this long (event time) is written out; default 10 min */
	int color;             /* ANSI colors in the tree view */
	size_t max_ancestors;  /* ancestors shown above each alerted process; default 4 */
	size_t max_descendants;/* descendants listed per alert in JSON; default 64 */
	int immediate;         /* JSON: write each alert when it is raised (live agent), not when its incident closes */
};

struct vg_incidents_stats {
	uint64_t alerts;
	uint64_t incidents;
	uint64_t by_level[6];  /* alerts by enum vg_level */
};

struct vg_incidents;

/* Creates the incident builder over tree (borrowed). Returns 0 or VG_ENOMEM. */
int vg_incidents_new(const struct vg_incidents_config *cfg, struct vg_tree *tree,
		     struct vg_incidents **out);
/* Writes out whatever is still open, then frees. Accepts NULL. */
void vg_incidents_free(struct vg_incidents *inc);

/*
 * Records that rule matched ev: copies the event, flags the process in the
 * tree, and joins the alert to the incident of any related alerted process
 * (the same process, its target, its alerted ancestors or descendants),
 * merging incidents that it links. Returns 0 or VG_ENOMEM.
 */
int vg_incidents_add(struct vg_incidents *inc, const struct vg_rule *rule, const struct vg_event *ev);
/*
 * Same, with extra: JSON members (e.g. "\"actions\":[...]") added to the
 * alert's top-level object as they are, or NULL. The text is copied.
 */
int vg_incidents_add_ex(struct vg_incidents *inc, const struct vg_rule *rule, const struct vg_event *ev,
			const char *extra);
/* Writes out incidents idle since before now_ns - idle_ns. */
void vg_incidents_tick(struct vg_incidents *inc, int64_t now_ns);
/* Writes out every open incident. */
void vg_incidents_flush(struct vg_incidents *inc);
const struct vg_incidents_stats *vg_incidents_stats(const struct vg_incidents *inc);

#endif /* VIGIL_ALERT_H */
