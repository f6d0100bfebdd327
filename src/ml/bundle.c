/* bundle.c - the model bundle's deterministic text form: writing it, and parsing it as untrusted input with "line N: reason" errors (docs/ml.md, "The bundle"). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/common.h"
#include "ml_int.h"

/* Largest bundle the loader reads (the shipped one is well under 10 MiB). */
#define BUNDLE_MAX_BYTES (256u << 20)

void vg_ml_bundle_free(struct vg_ml_bundle *b)
{
	if (!b)
		return;
	for (int i = 0; i < VG_ML_NPLATFORMS; i++) {
		vg_gbt_free(b->p[i].trees);
		free(b->p[i].lin.w);
		free(b->p[i].families);
	}
	free(b);
}

/* ---- writing ---- */

static void put_f(struct vg_buf *o, double v)
{
	if (v != v)
		vg_buf_puts(o, " nan");
	else
		vg_buf_printf(o, " %.17g", v);
}

static void put_pair(struct vg_buf *o, const char *key, const uint32_t v[2])
{
	vg_buf_printf(o, " %s %u %u", key, v[0], v[1]);
}

int vg_ml_bundle_save(const struct vg_ml_bundle *b, struct vg_buf *o)
{
	vg_buf_printf(o, "%s %d\n", VG_ML_BUNDLE_MAGIC, VG_ML_BUNDLE_VERSION);
	vg_buf_printf(o, "feature_version %d\nhash_bits %d\n", VG_ML_FEATURE_VERSION, VG_ML_HASH_BITS);
	vg_buf_printf(o, "corpus_sha256 %s\n", b->corpus_sha256[0] ? b->corpus_sha256 : "-");
	vg_buf_printf(o, "seed %llu\n", (unsigned long long)b->seed);
	vg_buf_printf(o, "params %d %d %d", b->trees, b->depth, b->linear_epochs);
	put_f(o, b->holdout);
	put_f(o, b->validation);
	put_f(o, b->block_fpr);
	put_f(o, b->suspicious_fpr);
	vg_buf_puts(o, "\n");
	for (int pi = 0; pi < VG_ML_NPLATFORMS; pi++) {
		const struct ml_platform *p = &b->p[pi];
		if (!p->present)
			continue;
		const struct vg_ml_metrics *m = &p->metrics;
		vg_buf_printf(o, "platform %s\n", vg_ml_platform_name((enum vg_ml_platform)pi));
		vg_buf_puts(o, "counts");
		put_pair(o, "train_rows", m->train_rows);
		put_pair(o, "validation_rows", m->validation_rows);
		put_pair(o, "heldout_rows", m->heldout_rows);
		put_pair(o, "train_groups", m->train_groups);
		put_pair(o, "validation_groups", m->validation_groups);
		put_pair(o, "heldout_groups", m->heldout_groups);
		vg_buf_puts(o, "\nmetrics");
		for (int i = 0; i < 3; i++)
			put_f(o, m->auc[i]);
		for (int i = 0; i < 3; i++)
			put_f(o, m->dr_1pct[i]);
		for (int i = 0; i < 3; i++)
			put_f(o, m->dr_01pct[i]);
		put_f(o, m->auc_trees);
		put_f(o, m->auc_linear);
		put_f(o, m->auc_prevalence);
		put_f(o, m->heldout_block_rate[0]);
		put_f(o, m->heldout_block_rate[1]);
		vg_buf_printf(o, "\nfamilies %zu", p->nfamilies);
		for (size_t k = 0; k < p->nfamilies; k++) {
			const struct vg_ml_family_metrics *fm = &p->families[k];
			vg_buf_printf(o, "\nfamily %s %u %u %u %u", fm->name, fm->m.heldout_groups[0], fm->m.heldout_groups[1],
				      fm->m.heldout_rows[0], fm->m.heldout_rows[1]);
			for (int i = 0; i < 3; i++)
				put_f(o, fm->m.auc[i]);
			for (int i = 0; i < 3; i++)
				put_f(o, fm->m.dr_1pct[i]);
			for (int i = 0; i < 3; i++)
				put_f(o, fm->m.dr_01pct[i]);
		}
		vg_buf_puts(o, "\nensemble");
		for (int i = 0; i < 4; i++)
			put_f(o, p->stack[i]);
		put_f(o, p->t_block);
		put_f(o, p->t_suspicious);
		put_f(o, p->content_floor);
		vg_buf_puts(o, "\nprevalence");
		put_f(o, p->prev.bias);
		for (int i = 0; i < ML_PREV_N; i++) {
			put_f(o, p->prev.mean[i]);
			put_f(o, p->prev.scale[i]);
			put_f(o, p->prev.w[i]);
		}
		vg_buf_puts(o, "\nlinear_dense");
		put_f(o, p->lin.bias);
		for (int i = 0; i < ML_LIN_NDENSE; i++) {
			put_f(o, p->lin.mean[i]);
			put_f(o, p->lin.scale[i]);
			put_f(o, p->lin.wdense[i]);
		}
		uint32_t nw = 0;
		for (uint32_t i = 0; p->lin.w && i < VG_ML_HASH_SIZE; i++)
			nw += p->lin.w[i] != 0;
		vg_buf_printf(o, "\nlinear_weights %u\n", nw);
		for (uint32_t i = 0; p->lin.w && i < VG_ML_HASH_SIZE; i++)
			if (p->lin.w[i] != 0)
				vg_buf_printf(o, "%u %.9g\n", i, (double)p->lin.w[i]);
		struct vg_buf t = { 0 };
		if (p->trees && vg_gbt_save(p->trees, &t)) {
			vg_buf_free(&t);
			return VG_ENOMEM;
		}
		vg_buf_printf(o, "trees %zu\n", t.len);
		vg_buf_put(o, t.p ? t.p : "", t.len);
		vg_buf_free(&t);
		vg_buf_puts(o, "\nend platform\n");
	}
	vg_buf_puts(o, "end bundle\n");
	return o->oom ? VG_ENOMEM : 0;
}

/* ---- parsing ---- */

struct parser {
	const char *p, *end;
	unsigned line;       /* of the line last read */
	char buf[4096];      /* the line last read, NUL-terminated */
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parser *ps, int rc, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "line %u: %s", ps->line, msg);
	return rc;
}

/* Reads the next line into ps->buf. 0, or VG_EPARSE at the end of input / for an over-long or NUL-holding line. */
static int next_line(struct parser *ps)
{
	ps->line++;
	if (ps->p >= ps->end)
		return fail(ps, VG_ETRUNC, "unexpected end of the bundle");
	const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	size_t n = nl ? (size_t)(nl - ps->p) : (size_t)(ps->end - ps->p);
	if (n >= sizeof(ps->buf))
		return fail(ps, VG_EPARSE, "line longer than %zu bytes", sizeof(ps->buf) - 1);
	if (memchr(ps->p, '\0', n))
		return fail(ps, VG_EPARSE, "NUL byte in a line");
	memcpy(ps->buf, ps->p, n);
	ps->buf[n] = '\0';
	ps->p += n + (nl ? 1 : 0);
	return 0;
}

/* The words of ps->buf: splits in place on single spaces. Returns the count (at most max). */
static int words(struct parser *ps, char **w, int max)
{
	int n = 0;
	char *s = ps->buf;
	while (*s && n < max) {
		w[n++] = s;
		char *sp = strchr(s, ' ');
		if (!sp)
			break;
		*sp = '\0';
		s = sp + 1;
	}
	return n;
}

static int want_key(struct parser *ps, const char *key, char **w, int nwords)
{
	int rc = next_line(ps);
	if (rc)
		return rc;
	int n = words(ps, w, nwords + 1);
	if (n < 1 || strcmp(w[0], key) != 0)
		return fail(ps, VG_EPARSE, "expected \"%s\"", key);
	if (n != nwords)
		return fail(ps, VG_EPARSE, "\"%s\": expected %d values, got %d", key, nwords - 1, n - 1);
	return 0;
}

static int num(struct parser *ps, const char *s, double *out)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (e == s || *e || errno == ERANGE)
		return fail(ps, VG_EPARSE, "\"%s\": not a number", s);
	*out = v;
	return 0;
}

/* Model numbers (weights, means, scales) are finite and at most this large, so every score stays finite. */
#define MODEL_NUMBER_MAX 1e9

/* A model number: finite, |v| <= MODEL_NUMBER_MAX. */
static int fnum(struct parser *ps, const char *s, double *out)
{
	int rc = num(ps, s, out);
	if (!rc && !(fabs(*out) <= MODEL_NUMBER_MAX))
		return fail(ps, VG_EPARSE, "\"%s\": expected a finite number of magnitude at most 1e9", s);
	return rc;
}

static int unum(struct parser *ps, const char *s, unsigned long long max, unsigned long long *out)
{
	char *e;
	errno = 0;
	if (*s < '0' || *s > '9')
		return fail(ps, VG_EPARSE, "\"%s\": expected a whole number", s);
	unsigned long long v = strtoull(s, &e, 10);
	if (*e || errno == ERANGE || v > max)
		return fail(ps, VG_EPARSE, "\"%s\": expected a whole number up to %llu", s, max);
	*out = v;
	return 0;
}

static int parse_pairs(struct parser *ps, char **w, uint32_t *dst[6])
{
	static const char *const keys[6] = { "train_rows", "validation_rows", "heldout_rows",
					     "train_groups", "validation_groups", "heldout_groups" };
	for (int i = 0; i < 6; i++) {
		unsigned long long a, b;
		if (strcmp(w[1 + 3 * i], keys[i]) != 0)
			return fail(ps, VG_EPARSE, "counts: expected \"%s\"", keys[i]);
		int rc = unum(ps, w[2 + 3 * i], UINT32_MAX, &a);
		if (!rc)
			rc = unum(ps, w[3 + 3 * i], UINT32_MAX, &b);
		if (rc)
			return rc;
		dst[i][0] = (uint32_t)a;
		dst[i][1] = (uint32_t)b;
	}
	return 0;
}

static int parse_platform(struct parser *ps, struct ml_platform *p)
{
	char *w[1 + 3 * ML_LIN_NDENSE + 2];
	double v;
	unsigned long long u;
	int rc;
	struct vg_ml_metrics *m = &p->metrics;

	if ((rc = want_key(ps, "counts", w, 19)))
		return rc;
	uint32_t *dst[6] = { m->train_rows, m->validation_rows, m->heldout_rows,
			     m->train_groups, m->validation_groups, m->heldout_groups };
	if ((rc = parse_pairs(ps, w, dst)))
		return rc;
	if ((rc = want_key(ps, "metrics", w, 15)))
		return rc;
	double *mv[14] = { &m->auc[0], &m->auc[1], &m->auc[2], &m->dr_1pct[0], &m->dr_1pct[1], &m->dr_1pct[2],
			   &m->dr_01pct[0], &m->dr_01pct[1], &m->dr_01pct[2], &m->auc_trees, &m->auc_linear,
			   &m->auc_prevalence, &m->heldout_block_rate[0], &m->heldout_block_rate[1] };
	for (int i = 0; i < 14; i++) {
		if ((rc = num(ps, w[1 + i], &v)))
			return rc;
		if (!(v != v || (v >= 0 && v <= 1)))
			return fail(ps, VG_EPARSE, "metrics: value %d (%s) outside 0..1", i + 1, w[1 + i]);
		*mv[i] = v;
	}
	if ((rc = want_key(ps, "families", w, 2)))
		return rc;
	unsigned long long nf;
	if ((rc = unum(ps, w[1], 1000, &nf)))
		return rc;
	if (nf) {
		p->families = vg_calloc((size_t)nf, sizeof(*p->families));
		if (!p->families)
			return VG_ENOMEM;
	}
	for (unsigned long long k = 0; k < nf; k++) {
		struct vg_ml_family_metrics *fm = &p->families[k];
		if ((rc = want_key(ps, "family", w, 15)))
			return rc;
		size_t nl = strlen(w[1]);
		if (!nl || nl >= sizeof(fm->name) ||
		    strspn(w[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != nl)
			return fail(ps, VG_EPARSE, "family: name of 1-47 letters, digits, '.', '_', '-'");
		memcpy(fm->name, w[1], nl + 1);
		uint32_t *cnt[4] = { &fm->m.heldout_groups[0], &fm->m.heldout_groups[1], &fm->m.heldout_rows[0],
				     &fm->m.heldout_rows[1] };
		for (int i = 0; i < 4; i++) {
			if ((rc = unum(ps, w[2 + i], UINT32_MAX, &u)))
				return rc;
			*cnt[i] = (uint32_t)u;
		}
		double *fv[9] = { &fm->m.auc[0], &fm->m.auc[1], &fm->m.auc[2], &fm->m.dr_1pct[0], &fm->m.dr_1pct[1],
				  &fm->m.dr_1pct[2], &fm->m.dr_01pct[0], &fm->m.dr_01pct[1], &fm->m.dr_01pct[2] };
		for (int i = 0; i < 9; i++) {
			if ((rc = num(ps, w[6 + i], fv[i])))
				return rc;
			if (!(*fv[i] != *fv[i] || (*fv[i] >= 0 && *fv[i] <= 1)))
				return fail(ps, VG_EPARSE, "family: value %s outside 0..1", w[6 + i]);
		}
		p->nfamilies++;
	}
	if ((rc = want_key(ps, "ensemble", w, 8)))
		return rc;
	for (int i = 0; i < 4; i++)
		if ((rc = fnum(ps, w[1 + i], &p->stack[i])))
			return rc;
	double *th[3] = { &p->t_block, &p->t_suspicious, &p->content_floor };
	for (int i = 0; i < 3; i++) {
		if ((rc = fnum(ps, w[5 + i], th[i])))
			return rc;
		if (*th[i] < 0 || *th[i] > 1)
			return fail(ps, VG_EPARSE, "ensemble: threshold %s outside 0..1", w[5 + i]);
	}
	if (p->t_suspicious > p->t_block)
		return fail(ps, VG_EPARSE, "ensemble: suspicious threshold above the block threshold");
	if ((rc = want_key(ps, "prevalence", w, 2 + 3 * ML_PREV_N)))
		return rc;
	if ((rc = fnum(ps, w[1], &p->prev.bias)))
		return rc;
	for (int i = 0; i < ML_PREV_N; i++) {
		if ((rc = fnum(ps, w[2 + 3 * i], &p->prev.mean[i])) || (rc = fnum(ps, w[3 + 3 * i], &p->prev.scale[i])) ||
		    (rc = fnum(ps, w[4 + 3 * i], &p->prev.w[i])))
			return rc;
		if (!(p->prev.scale[i] > 0))
			return fail(ps, VG_EPARSE, "prevalence: scale %d must be > 0", i + 1);
	}
	if ((rc = want_key(ps, "linear_dense", w, 2 + 3 * ML_LIN_NDENSE)))
		return rc;
	if ((rc = fnum(ps, w[1], &v)))
		return rc;
	p->lin.bias = (float)v;
	for (int i = 0; i < ML_LIN_NDENSE; i++) {
		double a, s, c;
		if ((rc = fnum(ps, w[2 + 3 * i], &a)) || (rc = fnum(ps, w[3 + 3 * i], &s)) ||
		    (rc = fnum(ps, w[4 + 3 * i], &c)))
			return rc;
		if (!((float)s > 0))
			return fail(ps, VG_EPARSE, "linear_dense: scale %d must be > 0", i + 1);
		p->lin.mean[i] = (float)a;
		p->lin.scale[i] = (float)s;
		p->lin.wdense[i] = (float)c;
	}
	if ((rc = want_key(ps, "linear_weights", w, 2)))
		return rc;
	unsigned long long nw, idx, last = 0;
	if ((rc = unum(ps, w[1], VG_ML_HASH_SIZE, &nw)))
		return rc;
	p->lin.w = vg_calloc(VG_ML_HASH_SIZE, sizeof(float));
	if (!p->lin.w)
		return VG_ENOMEM;
	for (unsigned long long i = 0; i < nw; i++) {
		if ((rc = next_line(ps)))
			return rc;
		if (words(ps, w, 3) != 2)
			return fail(ps, VG_EPARSE, "linear weight: expected \"<bucket> <weight>\"");
		if ((rc = unum(ps, w[0], VG_ML_HASH_SIZE - 1, &idx)) || (rc = fnum(ps, w[1], &v)))
			return rc;
		if (i && idx <= last)
			return fail(ps, VG_EPARSE, "linear weight: buckets must increase (%llu after %llu)", idx, last);
		if ((float)v == 0)
			return fail(ps, VG_EPARSE, "linear weight: zero weights are not written");
		last = idx;
		p->lin.w[idx] = (float)v;
	}
	if ((rc = want_key(ps, "trees", w, 2)))
		return rc;
	unsigned long long tlen;
	if ((rc = unum(ps, w[1], BUNDLE_MAX_BYTES, &tlen)))
		return rc;
	if (tlen > (unsigned long long)(ps->end - ps->p))
		return fail(ps, VG_ETRUNC, "trees: %llu bytes announced, %zu left", tlen, (size_t)(ps->end - ps->p));
	if (tlen) {
		char terr[160];
		rc = vg_gbt_load(ps->p, (size_t)tlen, &p->trees, terr, sizeof(terr));
		if (rc)
			return fail(ps, rc == VG_ENOMEM ? VG_ENOMEM : VG_EPARSE, "trees: %s", terr);
	}
	/* the blob's own newlines move the line count on */
	for (size_t i = 0; i < tlen; i++)
		ps->line += ps->p[i] == '\n';
	ps->p += tlen;
	if (ps->p < ps->end && *ps->p == '\n')
		ps->p++; /* the newline written after the blob */
	else if (tlen)
		return fail(ps, VG_EPARSE, "trees: expected a newline after the %llu bytes", tlen);
	if ((rc = want_key(ps, "end", w, 2)))
		return rc;
	if (strcmp(w[1], "platform"))
		return fail(ps, VG_EPARSE, "expected \"end platform\"");
	p->present = 1;
	return 0;
}

int vg_ml_bundle_parse(const char *text, size_t len, struct vg_ml_bundle **out, char *err, size_t errlen)
{
	struct parser ps = { text, text + len, 0, { 0 }, err, errlen };
	struct vg_ml_bundle *b = vg_calloc(1, sizeof(*b));
	char *w[12];
	unsigned long long u;
	double v;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!b)
		return VG_ENOMEM;
	if (len > BUNDLE_MAX_BYTES) {
		rc = fail(&ps, VG_ELIMIT, "bundle larger than %u bytes", BUNDLE_MAX_BYTES);
		goto out;
	}
	if ((rc = want_key(&ps, VG_ML_BUNDLE_MAGIC, w, 2)))
		goto out;
	if (strcmp(w[1], "1") != 0) {
		rc = fail(&ps, VG_EFORMAT, "bundle version %s, this build reads version %d", w[1], VG_ML_BUNDLE_VERSION);
		goto out;
	}
	if ((rc = want_key(&ps, "feature_version", w, 2)))
		goto out;
	if ((rc = unum(&ps, w[1], 1000000, &u)))
		goto out;
	if (u != VG_ML_FEATURE_VERSION) {
		rc = fail(&ps, VG_EFORMAT, "feature version %llu, this build extracts version %d", u, VG_ML_FEATURE_VERSION);
		goto out;
	}
	if ((rc = want_key(&ps, "hash_bits", w, 2)))
		goto out;
	if (strcmp(w[1], "18") != 0) {
		rc = fail(&ps, VG_EFORMAT, "hash_bits %s, this build hashes into %d bits", w[1], VG_ML_HASH_BITS);
		goto out;
	}
	if ((rc = want_key(&ps, "corpus_sha256", w, 2)))
		goto out;
	size_t hl = strlen(w[1]);
	if (strcmp(w[1], "-") != 0) {
		if (hl != 64 || strspn(w[1], "0123456789abcdef") != 64) {
			rc = fail(&ps, VG_EPARSE, "corpus_sha256: expected 64 lower-case hex digits or -");
			goto out;
		}
		memcpy(b->corpus_sha256, w[1], 65);
	}
	if ((rc = want_key(&ps, "seed", w, 2)) || (rc = unum(&ps, w[1], UINT64_MAX, &u)))
		goto out;
	b->seed = u;
	if ((rc = want_key(&ps, "params", w, 8)))
		goto out;
	int *ip[3] = { &b->trees, &b->depth, &b->linear_epochs };
	for (int i = 0; i < 3; i++) {
		if ((rc = unum(&ps, w[1 + i], 1000000, &u)))
			goto out;
		*ip[i] = (int)u;
	}
	double *dp[4] = { &b->holdout, &b->validation, &b->block_fpr, &b->suspicious_fpr };
	for (int i = 0; i < 4; i++) {
		if ((rc = fnum(&ps, w[4 + i], &v)))
			goto out;
		*dp[i] = v;
	}
	for (;;) {
		if ((rc = next_line(&ps)))
			goto out;
		int n = words(&ps, w, 3);
		if (n == 2 && strcmp(w[0], "end") == 0 && strcmp(w[1], "bundle") == 0)
			break;
		enum vg_ml_platform pl;
		if (n != 2 || strcmp(w[0], "platform") != 0 || vg_ml_platform_parse(w[1], &pl)) {
			rc = fail(&ps, VG_EPARSE, "expected \"platform linux|windows\" or \"end bundle\"");
			goto out;
		}
		if (b->p[pl].present || b->p[pl].lin.w) {
			rc = fail(&ps, VG_EPARSE, "platform %s given twice", w[1]);
			goto out;
		}
		if ((rc = parse_platform(&ps, &b->p[pl])))
			goto out;
	}
	if (ps.p != ps.end) {
		ps.line++;
		rc = fail(&ps, VG_EPARSE, "text after \"end bundle\"");
		goto out;
	}
	*out = b;
	return 0;
out:
	vg_ml_bundle_free(b);
	return rc;
}

int vg_ml_bundle_load(const char *path, struct vg_ml_bundle **out, char *err, size_t errlen)
{
	char perr[200];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	int rc;

	*out = NULL;
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, vg_strerror(rc));
		goto out;
	}
	if (st.st_size > BUNDLE_MAX_BYTES) {
		rc = VG_ELIMIT;
		snprintf(err, errlen, "%s: larger than %u bytes", path, BUNDLE_MAX_BYTES);
		goto out;
	}
	text = vg_malloc((size_t)st.st_size + 1);
	if (!text) {
		rc = VG_ENOMEM;
		snprintf(err, errlen, "%s: %s", path, vg_strerror(rc));
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : VG_ETRUNC;
			snprintf(err, errlen, "%s: %s", path, vg_strerror(rc));
			goto out;
		}
		got += (size_t)r;
	}
	rc = vg_ml_bundle_parse(text, got, out, perr, sizeof(perr));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, perr);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}
