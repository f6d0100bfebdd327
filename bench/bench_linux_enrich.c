/* bench_linux_enrich.c - microseconds per vg_linux_enrich on process starts of real /usr/bin programs: hash cache cold (files read and hashed, ELF parsed) against cached, with building the event as the baseline. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vigil/event.h"
#include "vigil/linux.h"

/*
 * Usage: bench_linux_enrich [N] [REPEAT]
 *   N       programs of /usr/bin to use (default 300, the first N regular files by name)
 *   REPEAT  runs of each pass, the fastest kept (default 3)
 * "cold" means the hash cache is empty (every file is read, hashed with
 * SHA-256 and MD5, its ELF headers parsed); the page cache is warm, as it is
 * for programs that were just executed. The dpkg index is loaded before
 * timing and its load time printed separately.
 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct vg_event *make_event(const char *image)
{
	struct vg_event *ev = vg_event_new();
	const char *b = strrchr(image, '/') + 1;
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->proc.image = vg_event_strdup(ev, image, strlen(image));
	vg_event_add_field(ev, "Image", 5, image, strlen(image));
	vg_event_add_field(ev, "Comm", 4, b, strlen(b));
	vg_event_add_field(ev, "Argv0", 5, b, strlen(b));
	vg_event_add_field(ev, "Hashes", 6, "", 0);
	vg_event_add_field(ev, "Package", 7, "", 0);
	vg_event_add_field(ev, "PackageVerified", 15, "", 0);
	ev->nraw = ev->nfields;
	return ev;
}

/* One pass: build (and enrich when f) an event per file. Returns seconds. */
static double pass(struct vg_linux_facts *f, char **files, size_t n, size_t *fields)
{
	double t0 = now_s();
	size_t nf = 0;
	for (size_t i = 0; i < n; i++) {
		struct vg_event *ev = make_event(files[i]);
		if (f)
			vg_linux_enrich(f, ev);
		nf += ev->nfields;
		vg_event_free(ev);
	}
	if (fields)
		*fields = nf;
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	size_t want = argc > 1 ? strtoul(argv[1], NULL, 10) : 300;
	int repeat = argc > 2 ? atoi(argv[2]) : 3;
	char **files = NULL;
	size_t n = 0, cap = 0;
	uint64_t bytes = 0;
	DIR *d = opendir("/usr/bin");
	struct dirent *de;

	if (!d)
		return 1;
	while ((de = readdir(d))) {
		char p[600];
		struct stat st;
		snprintf(p, sizeof(p), "/usr/bin/%s", de->d_name);
		if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			files = realloc(files, cap * sizeof(*files));
		}
		files[n++] = strdup(p);
	}
	closedir(d);
	qsort(files, n, sizeof(*files), cmp);
	size_t total = n;
	if (n > want)
		n = want;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(files[i], &st) == 0)
			bytes += (uint64_t)st.st_size;
	}
	if (repeat < 1)
		repeat = 1;

	struct vg_linux_facts *f;
	double t0 = now_s();
	vg_linux_facts_new(NULL, &f);
	vg_dpkg_refresh(vg_linux_facts_dpkg(f));
	size_t npkg, npaths;
	vg_dpkg_stats(vg_linux_facts_dpkg(f), &npkg, &npaths, NULL);
	double t_dpkg = now_s() - t0;
	pass(f, files, n, NULL); /* warm the page cache */

	double base = 1e9, cold = 1e9, cached = 1e9;
	size_t fields_base = 0, fields_enriched = 0;
	for (int r = 0; r < repeat; r++) {
		double t = pass(NULL, files, n, &fields_base);
		if (t < base)
			base = t;
		/* an empty hash cache, the same dpkg index */
		struct vg_linux_facts *g;
		struct vg_linux_facts_config cfg = { .cache_entries = 2 * n };
		vg_linux_facts_new(&cfg, &g);
		vg_dpkg_refresh(vg_linux_facts_dpkg(g));
		t = pass(g, files, n, &fields_enriched);
		if (t < cold)
			cold = t;
		t = pass(g, files, n, NULL);
		if (t < cached)
			cached = t;
		vg_linux_facts_free(g);
	}
	printf("bench_linux_enrich: %zu programs of /usr/bin, %.1f MB, %d runs (fastest kept)\n", n, bytes / 1e6, repeat);
	printf("dpkg index load: %.1f ms (%zu packages, %zu paths)\n", t_dpkg * 1e3, npkg, npaths);
	printf("fields per event: %.1f raw, %.1f after enrichment\n", (double)fields_base / (double)n,
	       (double)fields_enriched / (double)n);
	printf("%-34s %10s %12s %10s\n", "pass", "us/event", "events/s", "vs cached");
	printf("%-34s %10.2f %12.0f %9.2fx\n", "(a) build event only - baseline", base / (double)n * 1e6, n / base,
	       base / cached);
	printf("%-34s %10.2f %12.0f %9.2fx\n", "(b) enrich, hash cache cold", cold / (double)n * 1e6, n / cold,
	       cold / cached);
	printf("%-34s %10.2f %12.0f %9.2fx\n", "(c) enrich, hash cache warm", cached / (double)n * 1e6, n / cached, 1.0);
	printf("cold/cached ratio: %.1fx; hashing throughput when cold: %.0f MB/s\n", cold / cached,
	       bytes / 1e6 / (cold - cached));
	vg_linux_facts_free(f);
	for (size_t i = 0; i < total; i++)
		free(files[i]);
	free(files);
	return 0;
}
