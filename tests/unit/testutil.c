/* testutil.c - helpers shared by the unit tests: building Windows events through the real mapper. */
#include <stdarg.h>

#include "test.h"
#include "vigil/winrec.h"

struct vg_event *vg_test_sysmon(unsigned eid, const char *time, ...)
{
	struct vg_winrec rec = { 0 };
	struct vg_event *ev = vg_event_new();
	va_list ap;
	const char *n;

	vg_event_reset(ev);
	rec.event_id = eid;
	rec.has_event_id = 1;
	rec.provider = (struct vg_slice){ "Microsoft-Windows-Sysmon", 24 };
	rec.channel = (struct vg_slice){ "Microsoft-Windows-Sysmon/Operational", 36 };
	rec.computer = (struct vg_slice){ "host1", 5 };
	rec.time = (struct vg_slice){ time, strlen(time) };
	va_start(ap, time);
	while ((n = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		vg_winrec_add(&rec, n, strlen(n), v, strlen(v));
	}
	va_end(ap);
	vg_windows_map(&rec, ev);
	vg_winrec_free_items(&rec);
	return ev;
}
