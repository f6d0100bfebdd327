/* cloud_queue.c - the on-disk queue of signals for vigil-cloud: append-only JSON lines with fsync, a delivered-up-to offset kept beside it, a size cap, corrupt lines skipped with file:line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vigil/cloud_client.h"
#include "vigil/json.h"

struct vg_cloud_queue {
	char path[4096], pospath[4096];
	int fd;
	uint64_t cap, size, pos; /* pos: first byte not yet delivered */
	unsigned line;           /* line number at pos (1-based) */
	struct vg_cloud_queue_stats st;
};

static int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

int vg_cloud_queue_check_line(const char *line, size_t len, char *why, size_t whylen)
{
	struct vg_json_doc doc;
	struct vg_json_error je = { 0 };
	size_t i = 0;
	int rc;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len || line[i] != '{') {
		snprintf(why, whylen, "not a JSON object");
		return VG_EPARSE;
	}
	if (memchr(line, '\0', len)) {
		snprintf(why, whylen, "NUL byte in line");
		return VG_EPARSE;
	}
	vg_json_doc_init(&doc);
	rc = vg_json_flatten(&doc, line, len, &je);
	if (rc) {
		if (rc == VG_ENOMEM)
			snprintf(why, whylen, "out of memory");
		else
			snprintf(why, whylen, "malformed JSON at byte %zu: %s", je.offset,
				 je.reason ? je.reason : vg_strerror(rc));
		vg_json_doc_free(&doc);
		return rc == VG_ENOMEM ? rc : VG_EPARSE;
	}
	rc = VG_EPARSE;
	snprintf(why, whylen, "no file.sha256");
	for (uint32_t k = 0; k < doc.nleaves; k++) {
		const struct vg_json_leaf *l = &doc.leaves[k];
		if (l->depth == 2 && l->path_len == 11 && memcmp(l->path, "file.sha256", 11) == 0 && !l->in_array) {
			if (is_hex64(l->value, l->value_len))
				rc = 0;
			else
				snprintf(why, whylen, "file.sha256 is not 64 hex digits");
			break;
		}
	}
	vg_json_doc_free(&doc);
	return rc;
}

int vg_cloud_queue_scan(const char *name, const char *text, size_t len, unsigned first_line,
			vg_cloud_queue_line_fn good, vg_cloud_queue_bad_fn bad, void *ctx, size_t *consumed)
{
	size_t off = 0;
	unsigned lineno = first_line;
	int nbad = 0;
	char why[256];

	while (off < len) {
		const char *p = text + off;
		const char *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		size_t next = off + n + (nl ? 1 : 0);
		int blank = 1;
		for (size_t i = 0; i < n && blank; i++)
			blank = p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
		if (!blank) {
			int rc = nl ? vg_cloud_queue_check_line(p, n, why, sizeof(why)) : VG_ETRUNC;
			if (!nl)
				snprintf(why, sizeof(why), "incomplete last line (no newline: a write was cut short)");
			if (rc) {
				nbad++;
				if (bad)
					bad(name, lineno, why, ctx);
			} else if (good && good(p, n, lineno, ctx)) {
				break;
			}
		}
		off = next;
		lineno++;
	}
	if (consumed)
		*consumed = off;
	return nbad;
}

static void log_bad(const char *name, unsigned line, const char *reason, void *ctx)
{
	vg_log(VG_LOG_WARN, "%s:%u: skipped: %s", name, line, reason);
}

/* Writes "<pos> <line>\n" to the .pos file through a temporary file and rename. */
static int save_pos(struct vg_cloud_queue *q)
{
	char tmp[4200], text[64];
	int n = snprintf(text, sizeof(text), "%llu %u\n", (unsigned long long)q->pos, q->line);
	snprintf(tmp, sizeof(tmp), "%s.tmp", q->pospath);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n || fsync(fd)) {
		int e = -errno;
		close(fd);
		unlink(tmp);
		return e ? e : -EIO;
	}
	close(fd);
	if (rename(tmp, q->pospath))
		return -errno;
	return 0;
}

static int count_lines(struct vg_cloud_queue *q)
{
	uint64_t off = q->pos;
	char buf[65536];

	q->st.pending = 0;
	while (off < q->size) {
		ssize_t r = pread(q->fd, buf, sizeof(buf), (off_t)off);
		if (r <= 0)
			return r < 0 ? -errno : 0;
		for (ssize_t i = 0; i < r; i++)
			q->st.pending += buf[i] == '\n';
		off += (uint64_t)r;
	}
	return 0;
}

int vg_cloud_queue_open(const char *dir, uint64_t cap_bytes, struct vg_cloud_queue **out, char *err, size_t errlen)
{
	struct vg_cloud_queue *q = calloc(1, sizeof(*q));
	struct stat st;
	int rc;

	*out = NULL;
	if (!q)
		return VG_ENOMEM;
	mkdir(dir, 0700);
	snprintf(q->path, sizeof(q->path), "%s/cloud-queue", dir);
	snprintf(q->pospath, sizeof(q->pospath), "%s/cloud-queue.pos", dir);
	q->cap = cap_bytes;
	q->line = 1;
	q->fd = open(q->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (q->fd < 0 || fstat(q->fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", q->path, strerror(errno));
		if (q->fd >= 0)
			close(q->fd);
		free(q);
		return rc;
	}
	q->size = (uint64_t)st.st_size;
	FILE *pf = fopen(q->pospath, "r");
	if (pf) {
		unsigned long long pos = 0;
		unsigned line = 1;
		if (fscanf(pf, "%llu %u", &pos, &line) != 2 || pos > q->size || line == 0) {
			vg_log(VG_LOG_WARN, "%s: unreadable or past the end of %s: delivering the queue from its start",
			       q->pospath, q->path);
			pos = 0;
			line = 1;
		}
		fclose(pf);
		q->pos = pos;
		q->line = line;
	}
	if (q->size > 0) {
		char last = 0;
		if (pread(q->fd, &last, 1, (off_t)(q->size - 1)) == 1 && last != '\n') {
			/* a write cut short by a crash: end that line, so it is skipped as one bad line */
			if (write(q->fd, "\n", 1) == 1) {
				q->size++;
				fsync(q->fd);
			}
		}
	}
	if ((rc = count_lines(q))) {
		snprintf(err, errlen, "%s: %s", q->path, strerror(-rc));
		vg_cloud_queue_close(q);
		return rc;
	}
	q->st.bytes = q->size;
	*out = q;
	return 0;
}

void vg_cloud_queue_close(struct vg_cloud_queue *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}

int vg_cloud_queue_append(struct vg_cloud_queue *q, const char *line, size_t len, uint64_t *off)
{
	if (off)
		*off = q->size;
	if (q->size + len + 1 > q->cap) {
		q->st.dropped++;
		return VG_ELIMIT;
	}
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };
	ssize_t w = writev(q->fd, iov, 2);
	if (w != (ssize_t)(len + 1)) {
		int e = w < 0 ? -errno : -EIO;
		q->st.dropped++;
		if (w > 0) { /* a partial line: end it so it is one bad line, not glued to the next */
			q->size += (uint64_t)w;
			if (write(q->fd, "\n", 1) == 1)
				q->size++;
		}
		q->st.bytes = q->size;
		return e;
	}
	if (fdatasync(q->fd)) {
		int e = -errno;
		q->size += (uint64_t)w;
		q->st.bytes = q->size;
		q->st.dropped++;
		return e;
	}
	q->size += (uint64_t)w;
	q->st.bytes = q->size;
	q->st.appended++;
	q->st.pending++;
	return 0;
}

struct deliver_ctx {
	struct vg_cloud_queue *q;
	const char *base;
	vg_cloud_queue_send_fn fn;
	vg_cloud_queue_bad_fn bad;
	void *ctx;
	int consumed;
};

static void deliver_bad(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct deliver_ctx *d = ctx;
	d->bad(name, line, reason, d->ctx);
}

static int deliver_line(const char *line, size_t len, unsigned lineno, void *ctx)
{
	struct deliver_ctx *d = ctx;
	int r = d->fn(line, len, d->q->pos + (uint64_t)(line - d->base), d->ctx);
	if (r == 1)
		return 1;
	if (r == 2)
		d->q->st.rejected++;
	else
		d->q->st.delivered++;
	d->consumed++;
	/* consumed up to the end of this line (bad lines before it included) */
	uint64_t end = (uint64_t)(line - d->base) + len + 1;
	uint64_t lines = 0;
	for (uint64_t i = 0; i < end; i++)
		lines += d->base[i] == '\n';
	d->q->st.pending = d->q->st.pending > lines ? d->q->st.pending - lines : 0;
	d->q->line = lineno + 1;
	d->q->pos += end;
	d->base += end;
	save_pos(d->q);
	return 0;
}

int vg_cloud_queue_deliver(struct vg_cloud_queue *q, vg_cloud_queue_send_fn fn, vg_cloud_queue_bad_fn bad, void *ctx)
{
	if (q->pos >= q->size)
		return 0;
	size_t n = (size_t)(q->size - q->pos);
	char *text = malloc(n ? n : 1);
	if (!text)
		return VG_ENOMEM;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(q->fd, text + got, n - got, (off_t)(q->pos + got));
		if (r <= 0) {
			free(text);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	struct deliver_ctx d = { .q = q, .base = text, .fn = fn, .bad = bad ? bad : log_bad, .ctx = ctx };
	size_t consumed = 0;
	unsigned first = q->line;
	int nbad = vg_cloud_queue_scan(q->path, text, n, first, deliver_line, deliver_bad, &d, &consumed);
	q->st.bad_lines += (uint64_t)nbad;
	/* bad lines after the last good one (or with no good one at all) */
	uint64_t end = consumed; /* offset in text */
	uint64_t done = (uint64_t)(d.base - text);
	if (end > done) {
		unsigned lines = 0;
		for (size_t i = (size_t)done; i < (size_t)end; i++)
			lines += text[i] == '\n';
		q->pos += end - done;
		q->line += lines;
		q->st.pending = q->st.pending > lines ? q->st.pending - lines : 0;
		save_pos(q);
	}
	free(text);
	if (q->pos >= q->size && q->size > 0) {
		/* all delivered: start the file over */
		if (ftruncate(q->fd, 0) == 0) {
			q->size = q->pos = 0;
			q->line = 1;
			q->st.pending = 0;
			q->st.bytes = 0;
			save_pos(q);
		}
	}
	return d.consumed;
}

const struct vg_cloud_queue_stats *vg_cloud_queue_stats(const struct vg_cloud_queue *q)
{
	return &q->st;
}

const char *vg_cloud_queue_path(const struct vg_cloud_queue *q)
{
	return q->path;
}
