/* bench_evtx.c - records/s of the EVTX reader on the shared sample files: libevtx XML rendering against our expat parse, and the reader end to end. */
#include <dirent.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libevtx/features.h>
#undef LIBEVTX_HAVE_BFIO /* libevtx.h would want libbfio.h for functions we do not use */
#include <libevtx.h>

#include "vigil/common.h"
#include "vigil/evtx.h"

/*
 * Usage: bench_evtx [DIR] [ROUNDS]
 *   DIR     folder searched recursively for *.evtx (default:
 *           $VIGIL_SHARED_DATA/evtx-attack-samples, else ../shared/data/...)
 *   ROUNDS  timed rounds per pass, the best is kept (default 5)
 *
 * Passes, all on one core (the process is pinned to its first CPU):
 *   (a) libevtx: open each file, get every regular record, render its XML
 *   (b) ours:    vg_evtx_xml_parse over the XML strings (a) rendered, in memory
 *   (d) libevtx: as (a), plus every recovered slot (what the reader asks for)
 *   (c) reader:  vg_evtx_open + vg_evtx_next over every file, regular records
 *                and the recovered ones libevtx offers (most fail to decode);
 *                libevtx runs in the reader's worker process, which inherits
 *                the pinning, so (c) also uses one core
 * File reads hit the page cache after the first round.
 */

struct files {
	char **v;
	size_t n, cap;
};

static void find_evtx(const char *dir, struct files *f)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), n;
		struct stat st;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		n = strlen(dir) + len + 2;
		p = malloc(n);
		if (!p)
			exit(1);
		snprintf(p, n, "%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			find_evtx(p, f);
			free(p);
		} else if (len > 5 && strcmp(e->d_name + len - 5, ".evtx") == 0) {
			if (f->n == f->cap) {
				f->cap = f->cap ? f->cap * 2 : 512;
				f->v = realloc(f->v, f->cap * sizeof(*f->v));
				if (!f->v)
					exit(1);
			}
			f->v[f->n++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every regular record's XML, as libevtx renders it (with its NUL), in one block. */
struct xmls {
	char *data;             /* the strings back to back */
	size_t *off, *len;      /* where each starts, and its size */
	size_t n, cap, bytes, data_cap;
};

/*
 * Pass (a), or (d) with recovered set: libevtx in this process. When keep is
 * set the strings are stored for pass (b). Returns records rendered.
 */
static size_t render_all(const struct files *f, struct xmls *x, int keep, int recovered)
{
	size_t count = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (size_t i = 0; i < f->n; i++) {
		libevtx_file_t *file = NULL;
		int n = 0, m = 0;

		if (libevtx_file_initialize(&file, NULL) != 1)
			continue;
		if (libevtx_file_open(file, f->v[i], libevtx_get_access_flags_read(), NULL) != 1 ||
		    libevtx_file_get_number_of_records(file, &n, NULL) != 1 ||
		    libevtx_file_get_number_of_recovered_records(file, &m, NULL) != 1)
			n = m = 0;
		if (!recovered)
			m = 0;
		for (int k = 0; k < n + m; k++) {
			libevtx_record_t *rec = NULL;
			libevtx_error_t *error = NULL;
			size_t size = 0;
			int got = k < n ? libevtx_file_get_record_by_index(file, k, &rec, &error)
					: libevtx_file_get_recovered_record_by_index(file, k - n, &rec, &error);

			libevtx_error_free(&error);
			if (got != 1)
				continue;
			if (libevtx_record_get_utf8_xml_string_size(rec, &size, NULL) == 1 && size) {
				if (size > cap) {
					cap = size * 2;
					buf = realloc(buf, cap);
					if (!buf)
						exit(1);
				}
				if (libevtx_record_get_utf8_xml_string(rec, buf, size, NULL) == 1) {
					count++;
					if (keep) {
						if (x->n == x->cap) {
							x->cap = x->cap ? x->cap * 2 : 8192;
							x->off = realloc(x->off, x->cap * sizeof(*x->off));
							x->len = realloc(x->len, x->cap * sizeof(*x->len));
							if (!x->off || !x->len)
								exit(1);
						}
						while (x->data_cap - x->bytes < size) {
							x->data_cap = x->data_cap ? x->data_cap * 2 : 1 << 24;
							x->data = realloc(x->data, x->data_cap);
							if (!x->data)
								exit(1);
						}
						memcpy(x->data + x->bytes, buf, size);
						x->off[x->n] = x->bytes;
						x->len[x->n++] = size;
						x->bytes += size;
					}
				}
			}
			libevtx_record_free(&rec, NULL);
		}
		libevtx_file_close(file, NULL);
		libevtx_file_free(&file, NULL);
	}
	free(buf);
	return count;
}

/* Pass (b). Returns records parsed. */
static size_t parse_all(const struct xmls *x, struct vg_evtx_xml *p, struct vg_winrec *rec, size_t *items)
{
	size_t ok = 0;
	const char *why;

	*items = 0;
	for (size_t i = 0; i < x->n; i++)
		if (vg_evtx_xml_parse(p, x->data + x->off[i], x->len[i], rec, &why) == 0) {
			ok++;
			*items += rec->nitems;
		}
	return ok;
}

/* Pass (c). Returns records read; *errors gets the failed slots, *slots all of them. */
static size_t read_all(const struct files *f, struct vg_winrec *rec, size_t *errors, size_t *regular,
		       size_t *slots)
{
	size_t ok = 0;

	*errors = *regular = *slots = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct vg_evtx_reader *r = NULL;
		uint64_t pos, nrec = 0, nrecov = 0;
		int rc;

		if (vg_evtx_open(f->v[i], &r) != 0)
			continue;
		vg_evtx_counts(r, &nrec, &nrecov);
		*slots += nrec + nrecov;
		while ((rc = vg_evtx_next(r, rec, &pos)) != 0) {
			if (rc < 0) {
				(*errors)++;
				continue;
			}
			ok++;
			if (pos < nrec)
				(*regular)++;
		}
		vg_evtx_free(r);
	}
	return ok;
}

int main(int argc, char **argv)
{
	const char *env = getenv("VIGIL_SHARED_DATA");
	char dir[4096];
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct files f = { 0 };
	struct xmls x = { 0 };
	struct vg_evtx_xml *p = NULL;
	struct vg_winrec rec = { 0 };
	double ta = 1e30, tb = 1e30, tc = 1e30, td = 1e30;
	size_t na = 0, nb = 0, nc = 0, nd = 0, items = 0, errors = 0, regular = 0, slots = 0;
	cpu_set_t one;

	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/evtx-attack-samples",
			 env ? env : VIGIL_SOURCE_DIR "/../shared/data");
	if (rounds < 1)
		rounds = 1;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	vg_log_set_level(VG_LOG_ERROR);
	find_evtx(dir, &f);
	if (!f.n) {
		fprintf(stderr, "bench_evtx: no .evtx files under %s\n", dir);
		return 1;
	}
	if (vg_evtx_xml_new(&p))
		return 1;
	render_all(&f, &x, 1, 0); /* warm the page cache and keep the XML */
	for (int r = 0; r < rounds; r++) {
		double t0 = now(), t1, t2, t3, t4;

		na = render_all(&f, &x, 0, 0);
		t1 = now();
		nb = parse_all(&x, p, &rec, &items);
		t2 = now();
		nc = read_all(&f, &rec, &errors, &regular, &slots);
		t3 = now();
		nd = render_all(&f, &x, 0, 1);
		t4 = now();
		if (t4 - t3 < td)
			td = t4 - t3;
		if (t1 - t0 < ta)
			ta = t1 - t0;
		if (t2 - t1 < tb)
			tb = t2 - t1;
		if (t3 - t2 < tc)
			tc = t3 - t2;
	}

	printf("bench_evtx: %zu files under %s, libevtx %s, best of %d rounds, one core\n",
	       f.n, dir, libevtx_get_version(), rounds);
	printf("  XML rendered: %zu records, %.1f MB, %.0f bytes/record\n", x.n, x.bytes / 1e6,
	       x.n ? (double)x.bytes / (double)x.n : 0.0);
	printf("  (a) libevtx open+render XML  %8zu records %8.3f s %10.0f records/s\n", na, ta, na / ta);
	printf("  (b) our expat parse          %8zu records %8.3f s %10.0f records/s %7.1f MB/s, %.1f items/record\n",
	       nb, tb, nb / tb, x.bytes / 1e6 / tb, nb ? (double)items / (double)nb : 0.0);
	printf("  (a)+(b) regular records      %8zu records %8.3f s %10.0f records/s\n", nb, ta + tb,
	       nb / (ta + tb));
	printf("  split: libevtx %.1f%%, parse %.1f%%; parse is %.1fx faster than rendering\n",
	       100 * ta / (ta + tb), 100 * tb / (ta + tb), (na / ta) ? (nb / tb) / (na / ta) : 0.0);
	printf("  (d) libevtx incl. recovered  %8zu records %8.3f s %10.0f records/s (all %zu slots tried)\n",
	       nd, td, nd / td, slots);
	printf("  (c) reader end to end        %8zu records %8.3f s %10.0f records/s "
	       "(%zu regular + %zu new recovered; of %zu slots %zu failed, %zu were copies)\n",
	       nc, tc, nc / tc, regular, nc - regular, slots, errors, slots - nc - errors);
	printf("  (c) split: libevtx regular %.0f%%, recovered slots %.0f%%, our parse %.0f%%, "
	       "worker fork+pipe and the rest %.0f%%\n",
	       100 * ta / tc, 100 * (td - ta) / tc, 100 * tb / tc, 100 * (tc - td - tb) / tc);

	free(x.data);
	free(x.off);
	free(x.len);
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i]);
	free(f.v);
	vg_winrec_free_items(&rec);
	vg_evtx_xml_free(p);
	return 0;
}
