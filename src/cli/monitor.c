/* monitor.c - `vigil monitor`: runs the eBPF sensor in the foreground and prints its events as vg_event JSON lines (the JSON `vigil events` writes), e.g. to record regression samples for the Linux rules. */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/buf.h"
#include "vigil/sensor.h"
#include "cli.h"

static const char usage_monitor[] =
	"usage: vigil monitor [--json] [--duration S] [--types LIST] [--pid N] [--no-seed] [--ringbuf-mb N]\n"
	"\n"
	"Loads the eBPF sensor (root) and prints every event it reports as one vg_event\n"
	"JSON line on stdout; counters (events, drops) go to stderr at the end.\n"
	"\n"
	"  --json            vg_event JSON lines (the only format; accepted for clarity)\n"
	"  --duration S      stop after S seconds (default: until INT/TERM)\n"
	"  --types LIST      only these event types, comma-separated (process_start,dns_query,...)\n"
	"  --pid N           only process N (its live events; seeding still lists every process)\n"
	"  --no-seed         do not report the processes already running at start\n"
	"  --ringbuf-mb N    ring buffer size (default 8)\n"
	"  -h, --help        this text\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct monitor {
	int want[VG_EV__COUNT];
	int filter;
	struct vg_buf b;
};

static void on_event(struct vg_event *ev, void *ctx)
{
	struct monitor *m = ctx;
	if (m->filter && !m->want[ev->type])
		return;
	vg_buf_reset(&m->b);
	vg_event_write_json(ev, &m->b);
	vg_buf_put(&m->b, "\n", 1);
	fwrite(m->b.p, 1, m->b.len, stdout);
}

int vg_cli_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "duration", required_argument, 0, 'd' },
		{ "types", required_argument, 0, 't' },
		{ "no-seed", no_argument, 0, 'n' },
		{ "ringbuf-mb", required_argument, 0, 'r' },
		{ "pid", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct monitor m = { 0 };
	struct vg_sensor_opts so = { 0 };
	double duration = 0;
	unsigned long only_pid = 0;
	char *end, err[512];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || duration <= 0) {
				fprintf(stderr, "vigil monitor: --duration '%s': a positive number of seconds expected\n", optarg);
				return 2;
			}
			break;
		case 't': {
			char *list = strdup(optarg), *save = NULL;
			for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				int ty = vg_event_type_from_name(t);
				if (ty < 0) {
					fprintf(stderr, "vigil monitor: --types: unknown event type '%s'\n", t);
					free(list);
					return 2;
				}
				m.want[ty] = 1;
			}
			free(list);
			m.filter = 1;
			break;
		}
		case 'n': so.no_seed = 1; break;
		case 'r':
			so.ringbuf_mb = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !so.ringbuf_mb) {
				fprintf(stderr, "vigil monitor: --ringbuf-mb '%s': a power of two expected\n", optarg);
				return 2;
			}
			break;
		case 'p':
			only_pid = strtoul(optarg, &end, 10);
			if (*end || !only_pid || only_pid > UINT32_MAX) {
				fprintf(stderr, "vigil monitor: --pid '%s': a process id expected\n", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage_monitor, stdout); return 0;
		default: fputs(usage_monitor, stderr); return 2;
		}
	}
	struct vg_sensor *s;
	if (vg_sensor_open(&so, &s, err, sizeof(err))) {
		fprintf(stderr, "vigil monitor: %s\n", err);
		return 2;
	}
	if (only_pid)
		vg_sensor_only_pid(s, (uint32_t)only_pid);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 0;
	while (!stop) {
		int n = vg_sensor_poll(s, 100, on_event, &m);
		if (n < 0) {
			fprintf(stderr, "vigil monitor: ring buffer: %s\n", vg_strerror(n));
			rc = 2;
			break;
		}
		fflush(stdout);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (duration > 0 && (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= duration)
			break;
	}
	vg_sensor_poll(s, 0, on_event, &m); /* what is already queued */
	struct vg_sensor_stats st;
	vg_sensor_stats(s, &st);
	fprintf(stderr, "vigil monitor: %llu events, %llu records, %llu dropped (ring buffer full %llu, table full %llu)\n",
		(unsigned long long)st.events, (unsigned long long)st.records,
		(unsigned long long)(st.drops_ringbuf + st.drops_pending), (unsigned long long)st.drops_ringbuf,
		(unsigned long long)st.drops_pending);
	fflush(stdout);
	vg_sensor_close(s);
	vg_buf_free(&m.b);
	return rc;
}
