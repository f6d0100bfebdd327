/* bench_sigma.c - speed and memory of the Sigma engine: all SigmaHQ Windows rules over the EVTX attack samples replayed to millions of events, against one rule and a naive evaluator in the same run. */
#include <dirent.h>
#include <malloc.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "vigil/common.h"
#include "vigil/event.h"
#include "vigil/sigma.h"
#include "vigil/source.h"
#include "engine/sigma_int.h"

/*
 * Usage: bench_sigma [--quick] [--events N] [--reps R] [--naive-events N]
 *                    [--rules DIR] [--evtx DIR] [--one-rule FILE] [--cold] [--only PASS]
 *
 * Data (default $VIGIL_SHARED_DATA or ../shared/data):
 *   rules    sigma/rules/windows, every file, unmodified
 *   events   every *.evtx under evtx-attack-samples, read once into memory
 *   one rule sigma/rules/windows/process_creation/proc_creation_win_whoami_all_execution.yml
 *
 * The stream: the events in file order, replayed cyclically; each replayed
 * event gets a fresh record id (vg_event.record_id and the EventRecordID
 * field) and a fresh time (time_ns, and the Sysmon UtcTime field), shifted by
 * the span of the sample set per cycle. Every configuration matches the same
 * stream on one thread (pinned to one CPU), timed by thread CPU time, so the
 * other jobs on the machine cost less than in wall time. Passes, interleaved
 * per repetition so load changes touch each alike; medians are reported:
 *   replay  the stream alone (no matching): the floor
 *   one     a ruleset with one rule
 *   full    all the Windows rules (index + prefilter + verification)
 *   naive   all the rules, vg_ruleset_match_naive (each rule's logsource and
 *           condition in turn), over the first --naive-events of the stream
 * --quick is the CI smoke size: 20,000 events, one repetition, 2,000 naive.
 * --cold leaves the events cold (see replay()): every pass then pays the
 * cache misses of reading the 48 MB sample set, the full set most.
 * --only PASS (replay, one, full or naive) runs that pass once and nothing
 * else, for counting instructions under callgrind (docs/BENCHMARKS.md).
 */

struct slot {
	struct vg_event *ev;
	int64_t time0;    /* the event's own time */
	char *rec_buf;    /* the EventRecordID field's value, rewritten per replay (NULL: none) */
	uint32_t rec_i;
	char *utc_buf;    /* the UtcTime field's value (NULL: none) */
	uint32_t utc_i;
};

struct set {
	struct slot *v;
	size_t n, cap;
	int64_t tmin, tmax;
};

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_sigma: %s\n", what);
	exit(2);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.evtx under dir, sorted, appended to *v. */
static void find_evtx(const char *dir, char ***v, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char *p;
		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
			die("out of memory");
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			find_evtx(p, v, n, cap);
			free(p);
			continue;
		}
		if (len <= 5 || strcmp(e->d_name + len - 5, ".evtx") != 0) {
			free(p);
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			if (!(*v = realloc(*v, *cap * sizeof(**v))))
				die("out of memory");
		}
		(*v)[(*n)++] = p;
	}
	if (d)
		closedir(d);
}

/* Gives field i of ev its own writable value buffer of size bytes (for rewriting per replay). */
static char *own_field(struct vg_event *ev, uint32_t i, size_t size)
{
	char *b = vg_event_alloc(ev, size);
	if (!b)
		die("out of memory");
	memcpy(b, ev->fields[i].value, ev->fields[i].len < size ? ev->fields[i].len : size - 1);
	ev->fields[i].value = b;
	return b;
}

static void load_events(const char *dir, struct set *s)
{
	char **files = NULL;
	size_t nf = 0, capf = 0;
	struct vg_event *ev = vg_event_new();
	uint32_t rec_id = vg_field_intern("EventRecordID", 13), utc_id = vg_field_intern("UtcTime", 7);

	if (!ev)
		die("out of memory");
	find_evtx(dir, &files, &nf, &capf);
	if (nf == 0) {
		fprintf(stderr, "bench_sigma: no *.evtx under %s\n", dir);
		exit(2);
	}
	qsort(files, nf, sizeof(*files), cmp_str);
	s->tmin = INT64_MAX;
	s->tmax = INT64_MIN;
	for (size_t f = 0; f < nf; f++) {
		struct vg_source *src;
		int rc;
		if (vg_source_open(files[f], VG_FMT_EVTX, &src)) {
			fprintf(stderr, "bench_sigma: cannot open %s\n", files[f]);
			continue;
		}
		while ((rc = vg_source_next(src, ev)) != 0) {
			if (rc < 0)
				continue;
			if (s->n == s->cap) {
				s->cap = s->cap ? s->cap * 2 : 4096;
				if (!(s->v = realloc(s->v, s->cap * sizeof(*s->v))))
					die("out of memory");
			}
			struct slot *sl = &s->v[s->n++];
			memset(sl, 0, sizeof(*sl));
			if (!(sl->ev = vg_event_clone(ev)))
				die("out of memory");
			sl->time0 = sl->ev->time_ns;
			if (sl->time0 && sl->time0 < s->tmin)
				s->tmin = sl->time0;
			if (sl->time0 > s->tmax)
				s->tmax = sl->time0;
			for (uint32_t i = 0; i < sl->ev->nfields; i++) {
				if (sl->ev->fields[i].id == rec_id && !sl->rec_buf) {
					sl->rec_buf = own_field(sl->ev, i, 24);
					sl->rec_i = i;
				} else if (sl->ev->fields[i].id == utc_id && !sl->utc_buf &&
					   sl->ev->fields[i].len == 23) {
					sl->utc_buf = own_field(sl->ev, i, 24);
					sl->utc_i = i;
				}
			}
		}
		vg_source_free(src);
		free(files[f]);
	}
	free(files);
	vg_event_free(ev);
	if (s->n == 0)
		die("the EVTX files gave no events");
	if (s->tmin > s->tmax)
		s->tmin = s->tmax = 0;
}

static int cold;                 /* --cold: do not read the event before matching */
static volatile uint64_t touched; /* keeps the read below from being optimized away */

/*
 * Event k of the stream: slot k mod n, with a fresh record id and time. Unless
 * --cold, every field value is read once, as a parser producing the event
 * would just have written it: the 48 MB sample set does not fit in the caches,
 * and a matcher should not be charged for misses a real pipeline does not have.
 */
static struct vg_event *replay(struct set *s, uint64_t k)
{
	struct slot *sl = &s->v[k % s->n];
	uint64_t cycle = k / s->n;
	struct vg_event *ev = sl->ev;
	int64_t span = s->tmax - s->tmin + 1000000000LL;

	ev->record_id = k + 1;
	ev->time_ns = sl->time0 ? sl->time0 + (int64_t)cycle * span : 0;
	if (sl->rec_buf)
		ev->fields[sl->rec_i].len = (uint32_t)snprintf(sl->rec_buf, 24, "%llu", (unsigned long long)(k + 1));
	if (sl->utc_buf && ev->time_ns) {
		time_t t = (time_t)(ev->time_ns / 1000000000LL);
		struct tm tm;
		gmtime_r(&t, &tm);
		size_t n = strftime(sl->utc_buf, 24, "%Y-%m-%d %H:%M:%S", &tm);
		if (n == 19)
			snprintf(sl->utc_buf + 19, 5, ".%03u", (unsigned)((uint64_t)ev->time_ns / 1000000u % 1000u));
	}
	if (!cold) {
		uint64_t sum = 0;
		for (uint32_t i = 0; i < ev->nfields; i++) {
			const unsigned char *v = (const unsigned char *)ev->fields[i].value;
			for (uint32_t j = 0; j < ev->fields[i].len; j += 64) /* one read per cache line */
				sum += v[j];
			sum += ev->fields[i].id;
		}
		touched += sum;
	}
	return ev;
}

enum mode { M_REPLAY, M_MATCH, M_NAIVE };

struct run {
	double cpu, wall;
	uint64_t matches;
};

static struct run pass(struct set *s, const struct vg_ruleset *rs, enum mode m, uint64_t n)
{
	struct run r = { 0 };
	double c0 = cpu_now(), w0 = wall_now();
	for (uint64_t k = 0; k < n; k++) {
		struct vg_event *ev = replay(s, k);
		int got = 0;
		if (m == M_MATCH)
			got = vg_ruleset_match(rs, ev, NULL, NULL);
		else if (m == M_NAIVE)
			got = vg_ruleset_match_naive(rs, ev, NULL, NULL);
		if (got < 0)
			die("match failed");
		r.matches += (uint64_t)got;
	}
	r.cpu = cpu_now() - c0;
	r.wall = wall_now() - w0;
	return r;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_load(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			strcpy(buf, "?\n");
		fclose(f);
	}
	printf("load %s: %s", when, buf);
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* Bytes of JIT code PCRE2 keeps for the ruleset's regexes (outside malloc). */
static size_t jit_bytes(const struct vg_ruleset *rs)
{
	size_t total = 0;
	for (size_t i = 0; i < rs->nres; i++) {
		size_t sz = 0;
		if (pcre2_pattern_info(rs->res[i], PCRE2_INFO_JITSIZE, &sz) == 0)
			total += sz;
	}
	return total;
}

static void on_rule_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	(void)file;
	(void)line;
	(void)reason;
	++*(int *)ctx;
}

int main(int argc, char **argv)
{
	const char *shared = getenv("VIGIL_SHARED_DATA");
	char rules_dir[4096], evtx_dir[4096], one_file[4096];
	uint64_t events = 5000000, naive_events = 0;
	int reps = 5, quick = 0;
	const char *only = NULL;

	if (!shared)
		shared = "../shared/data";
	snprintf(rules_dir, sizeof(rules_dir), "%s/sigma/rules/windows", shared);
	snprintf(evtx_dir, sizeof(evtx_dir), "%s/evtx-attack-samples", shared);
	snprintf(one_file, sizeof(one_file), "%s/sigma/rules/windows/process_creation/"
		 "proc_creation_win_whoami_all_execution.yml", shared);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0) {
			quick = 1;
			continue;
		}
		if (strcmp(a, "--cold") == 0) {
			cold = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "bench_sigma: %s: unknown option or missing value (argument %d)\n", a, i);
			return 2;
		}
		char *end;
		if (strcmp(a, "--events") == 0 || strcmp(a, "--reps") == 0 || strcmp(a, "--naive-events") == 0) {
			unsigned long long x = strtoull(v, &end, 10);
			if (*end || end == v || x == 0) {
				fprintf(stderr, "bench_sigma: %s: '%s' is not a positive number (argument %d)\n", a, v,
					i + 1);
				return 2;
			}
			if (a[2] == 'e')
				events = x;
			else if (a[2] == 'r')
				reps = x > 99 ? 99 : (int)x;
			else
				naive_events = x;
		} else if (strcmp(a, "--only") == 0) {
			if (strcmp(v, "replay") && strcmp(v, "one") && strcmp(v, "full") && strcmp(v, "naive")) {
				fprintf(stderr, "bench_sigma: --only: '%s' is not replay, one, full or naive (argument %d)\n",
					v, i + 1);
				return 2;
			}
			only = v;
		} else if (strcmp(a, "--rules") == 0) {
			snprintf(rules_dir, sizeof(rules_dir), "%s", v);
		} else if (strcmp(a, "--evtx") == 0) {
			snprintf(evtx_dir, sizeof(evtx_dir), "%s", v);
		} else if (strcmp(a, "--one-rule") == 0) {
			snprintf(one_file, sizeof(one_file), "%s", v);
		} else {
			fprintf(stderr, "bench_sigma: %s: unknown option (argument %d)\n", a, i);
			return 2;
		}
		i++;
	}
	if (quick) {
		events = 20000;
		reps = 1;
		if (!naive_events)
			naive_events = 2000;
	}

	vg_log_set_level(VG_LOG_ERROR);
	print_load("at start");

	struct set s = { 0 };
	double t0 = wall_now();
	size_t h0 = heap_used();
	load_events(evtx_dir, &s);
	double t_events = wall_now() - t0;
	size_t h_events = heap_used() - h0;
	if (!naive_events)
		naive_events = s.n;
	if (naive_events > events)
		naive_events = events;

	/* pinned after reading: the EVTX reader's worker process should not share our CPU */
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &cpus)) {
				CPU_ZERO(&cpus);
				CPU_SET(c, &cpus);
				sched_setaffinity(0, sizeof(cpus), &cpus);
				break;
			}
	}
	struct vg_ruleset *full, *one;
	int errs = 0, errs1 = 0;
	h0 = heap_used();
	t0 = wall_now();
	if (vg_ruleset_new(&full) || vg_ruleset_load_path(full, rules_dir, on_rule_error, &errs) <= 0) {
		fprintf(stderr, "bench_sigma: %s: no rules could be loaded from it\n", rules_dir);
		return 2;
	}
	double t_load = wall_now() - t0;
	size_t h_rules = heap_used() - h0;
	t0 = wall_now();
	(void)vg_ruleset_match(full, s.v[0].ev, NULL, NULL); /* builds the index and prefilter */
	double t_index = wall_now() - t0;
	size_t h_index = heap_used() - h0 - h_rules;
	if (vg_ruleset_new(&one) || vg_ruleset_load_path(one, one_file, on_rule_error, &errs1) != 1) {
		fprintf(stderr, "bench_sigma: %s: expected exactly one rule that loads\n", one_file);
		return 2;
	}

	printf("data: %zu events from %s (read in %.2f s, %.1f MB in memory), rules: %zu from %s (%d failed)\n", s.n,
	       evtx_dir, t_events, (double)h_events / 1e6, vg_ruleset_count(full), rules_dir, errs);
	printf("ruleset footprint: rules %.1f MB + index/prefilter %.1f MB + regex JIT %.1f MB (load %.2f s, "
	       "index %.3f s)\n", (double)h_rules / 1e6, (double)h_index / 1e6, (double)jit_bytes(full) / 1e6,
	       t_load, t_index);
	printf("stream: %llu events (%.1f cycles of the sample set), naive pass: first %llu, %d repetition(s)%s%s\n",
	       (unsigned long long)events, (double)events / (double)s.n, (unsigned long long)naive_events, reps,
	       quick ? " [quick]" : "", cold ? " [cold: events not read before matching]" : " [events read before matching]");

	if (only) {
		uint64_t n = strcmp(only, "naive") == 0 ? naive_events : events;
		struct run x = pass(&s, strcmp(only, "one") == 0 ? one : full,
				    strcmp(only, "replay") == 0 ? M_REPLAY : strcmp(only, "naive") == 0 ? M_NAIVE : M_MATCH, n);
		printf("only %s: %llu events, %llu matches, %.3f s CPU\n", only, (unsigned long long)n,
		       (unsigned long long)x.matches, x.cpu);
		vg_ruleset_free(full);
		vg_ruleset_free(one);
		return 0;
	}
	double *cr = calloc((size_t)reps, sizeof(double)), *c1 = calloc((size_t)reps, sizeof(double));
	double *cf = calloc((size_t)reps, sizeof(double)), *cn = calloc((size_t)reps, sizeof(double));
	double *cfn = calloc((size_t)reps, sizeof(double));
	uint64_t m1 = 0, mf = 0, mn = 0, mfn = 0;
	if (!cr || !c1 || !cf || !cn || !cfn)
		die("out of memory");
	(void)pass(&s, full, M_MATCH, s.n < events ? s.n : events); /* warm-up: caches, lazily built state */
	for (int r = 0; r < reps; r++) {
		struct run x;
		x = pass(&s, NULL, M_REPLAY, events);
		cr[r] = x.cpu;
		x = pass(&s, one, M_MATCH, events);
		c1[r] = x.cpu;
		m1 = x.matches;
		x = pass(&s, full, M_MATCH, events);
		cf[r] = x.cpu;
		mf = x.matches;
		x = pass(&s, full, M_MATCH, naive_events);
		cfn[r] = x.cpu;
		mfn = x.matches;
		x = pass(&s, full, M_NAIVE, naive_events);
		cn[r] = x.cpu;
		mn = x.matches;
		fprintf(stderr, "  repetition %d: replay %.2f s, one rule %.2f s, full %.2f s, naive %.2f s (CPU)\n",
			r + 1, cr[r], c1[r], cf[r], cn[r]);
	}
	double tr = median(cr, reps), t1 = median(c1, reps), tf = median(cf, reps), tn = median(cn, reps);
	double tfn = median(cfn, reps);
	double ev = (double)events, evn = (double)naive_events;

	printf("\n%-34s %14s %12s %10s\n", "pass (median CPU time, 1 thread)", "events/s", "ns/event", "matches");
	printf("%-34s %14.0f %12.1f %10s\n", "replay only (floor)", ev / tr, tr / ev * 1e9, "-");
	printf("%-34s %14.0f %12.1f %10llu\n", "one rule", ev / t1, t1 / ev * 1e9, (unsigned long long)m1);
	printf("%-34s %14.0f %12.1f %10llu\n", "full set (index+prefilter)", ev / tf, tf / ev * 1e9,
	       (unsigned long long)mf);
	printf("%-34s %14.0f %12.1f %10llu\n", "full set, naive-pass prefix", evn / tfn, tfn / evn * 1e9,
	       (unsigned long long)mfn);
	printf("%-34s %14.0f %12.1f %10llu\n", "naive rule-by-rule, same prefix", evn / tn, tn / evn * 1e9,
	       (unsigned long long)mn);
	printf("\nratio full/one-rule cost:        %.2fx (target <= 3x)\n", tf / t1);
	if (t1 > tr)
		printf("ratio full/one-rule, replay floor subtracted: %.2fx\n", (tf - tr) / (t1 - tr));
	printf("speedup naive/full (same events): %.1fx\n", (tn / evn) / (tfn / evn));
	printf("full set events/s per core:      %.0f (target >= 250000: %s)\n", ev / tf,
	       ev / tf >= 250000 ? "met" : "not met");
	if (mn != mfn)
		printf("MISMATCH: naive found %llu matches, the engine %llu\n", (unsigned long long)mn,
		       (unsigned long long)mfn);
	else
		printf("naive and engine agree: %llu matches on the prefix\n", (unsigned long long)mn);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS (ru_maxrss): %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
	fflush(stdout);
	print_load("at end");

	vg_ruleset_free(full);
	vg_ruleset_free(one);
	for (size_t i = 0; i < s.n; i++)
		vg_event_free(s.v[i].ev);
	free(s.v);
	free(cr);
	free(c1);
	free(cf);
	free(cn);
	free(cfn);
	return mn == mfn ? 0 : 1;
}
