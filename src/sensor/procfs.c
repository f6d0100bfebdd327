/* procfs.c - reads and parses /proc/<pid>/{stat,status,cmdline,cgroup,exe,cwd} for the sensor (parsers take bytes and do no I/O; the readers are separate). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sensor/procfs.h"
#include "vigil/common.h"

static int fail(char *err, size_t errlen, const char *what, size_t off)
{
	if (err && errlen)
		snprintf(err, errlen, "stat: %s at offset %zu", what, off);
	return VG_EPARSE;
}

/* Parses an unsigned decimal at *off (bounded by len); returns 0 or -1. */
static int parse_u64(const char *b, size_t len, size_t *off, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = *off;
	if (i >= len || b[i] < '0' || b[i] > '9')
		return -1;
	for (; i < len && b[i] >= '0' && b[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(b[i] - '0');
	}
	*off = i;
	*out = v;
	return 0;
}

int vg_procfs_parse_stat(const char *b, size_t len, struct vg_procstat *out, char *err, size_t errlen)
{
	size_t off = 0, open, close;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (parse_u64(b, len, &off, &v) || v > UINT32_MAX)
		return fail(err, errlen, "pid expected", off);
	out->pid = (uint32_t)v;
	if (off + 1 >= len || b[off] != ' ' || b[off + 1] != '(')
		return fail(err, errlen, "\" (\" expected", off);
	open = off + 2;
	close = len;
	for (size_t i = len; i > open; i--)
		if (b[i - 1] == ')') {
			close = i - 1;
			break;
		}
	if (close == len)
		return fail(err, errlen, "')' ending comm not found", open);
	size_t cn = close - open < sizeof(out->comm) - 1 ? close - open : sizeof(out->comm) - 1;
	memcpy(out->comm, b + open, cn);
	out->comm[cn] = 0;
	off = close + 1;
	if (off + 2 >= len || b[off] != ' ')
		return fail(err, errlen, "state expected", off);
	out->state = b[off + 1];
	off += 2;
	/* fields 4 (ppid) .. 22 (starttime); some (e.g. tty_nr) may be negative */
	for (int field = 4; field <= 22; field++) {
		if (off >= len || b[off] != ' ')
			return fail(err, errlen, "field separator expected", off);
		off++;
		if (off < len && b[off] == '-')
			off++;
		if (parse_u64(b, len, &off, &v))
			return fail(err, errlen, "number expected", off);
		if (field == 4) {
			if (v > UINT32_MAX)
				return fail(err, errlen, "ppid out of range", off);
			out->ppid = (uint32_t)v;
		} else if (field == 22) {
			out->start_ticks = v;
		}
	}
	return 0;
}

int vg_procfs_parse_uid(const char *b, size_t len, uint32_t *uid)
{
	for (size_t i = 0; i + 4 <= len;) {
		if ((i == 0 || b[i - 1] == '\n') && memcmp(b + i, "Uid:", 4) == 0) {
			size_t off = i + 4;
			uint64_t v;
			while (off < len && (b[off] == '\t' || b[off] == ' '))
				off++;
			if (parse_u64(b, len, &off, &v) || v > UINT32_MAX)
				return VG_EPARSE;
			*uid = (uint32_t)v;
			return 0;
		}
		const char *nl = memchr(b + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - b) + 1;
	}
	return VG_EPARSE;
}

size_t vg_procfs_join_argv(const char *b, size_t len, char *out, size_t outlen, char *argv0, size_t argv0len)
{
	size_t o = 0, i = 0;
	int first = 1;

	if (argv0 && argv0len)
		argv0[0] = 0;
	if (!outlen)
		return 0;
	while (len && b[len - 1] == 0)
		len--; /* the block ends with a NUL */
	while (i < len) {
		const char *a = b + i;
		const char *z = memchr(a, 0, len - i);
		size_t al = z ? (size_t)(z - a) : len - i;
		int quote = memchr(a, ' ', al) || memchr(a, '\t', al) || al == 0;
		if (first && argv0 && argv0len) {
			size_t n = al < argv0len - 1 ? al : argv0len - 1;
			memcpy(argv0, a, n);
			argv0[n] = 0;
		}
		if (!first && o + 1 < outlen)
			out[o++] = ' ';
		if (quote && o + 1 < outlen)
			out[o++] = '"';
		for (size_t k = 0; k < al && o + 1 < outlen; k++)
			out[o++] = a[k];
		if (quote && o + 1 < outlen)
			out[o++] = '"';
		first = 0;
		i += al + 1;
	}
	out[o] = 0;
	return o;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int vg_procfs_parse_cgroup(const char *b, size_t len, char *path, size_t pathlen, char *id, size_t idlen)
{
	const char *best = NULL;
	size_t best_len = 0;

	if (pathlen)
		path[0] = 0;
	if (idlen)
		id[0] = 0;
	for (size_t i = 0; i < len;) {
		const char *line = b + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			const char *p = c2 + 1;
			size_t pl = ll - (size_t)(p - line);
			if (!best || (ll >= 3 && memcmp(line, "0::", 3) == 0)) {
				best = p;
				best_len = pl;
			}
		}
		i += ll + 1;
	}
	if (!best)
		return VG_EPARSE;
	if (pathlen) {
		size_t n = best_len < pathlen - 1 ? best_len : pathlen - 1;
		memcpy(path, best, n);
		path[n] = 0;
	}
	/* the last run of exactly 64 hex digits */
	for (size_t i = 0; i + 64 <= best_len; i++) {
		if ((i && is_hex(best[i - 1])) || (i + 64 < best_len && is_hex(best[i + 64])))
			continue;
		size_t k = 0;
		while (k < 64 && is_hex(best[i + k]))
			k++;
		if (k == 64 && idlen > 64) {
			memcpy(id, best + i, 64);
			id[64] = 0;
		}
	}
	return 0;
}

long vg_procfs_read(uint32_t pid, const char *name, char *buf, size_t cap)
{
	char p[64];
	size_t n = 0;
	snprintf(p, sizeof(p), "/proc/%u/%s", pid, name);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return (long)n;
}

long vg_procfs_link(uint32_t pid, const char *name, char *buf, size_t cap)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%u/%s", pid, name);
	ssize_t r = readlink(p, buf, cap - 1);
	if (r < 0)
		return -errno;
	buf[r] = 0;
	return (long)r;
}
