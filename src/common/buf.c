/* buf.c - growable byte buffer, JSON string escaping, and reading a whole file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/buf.h"
#include "vigil/common.h"

static int reserve(struct vg_buf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void vg_buf_free(struct vg_buf *b)
{
	free(b->p);
	*b = (struct vg_buf){ 0 };
}

void vg_buf_reset(struct vg_buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p)
		b->p[0] = '\0';
}

void vg_buf_put(struct vg_buf *b, const char *s, size_t n)
{
	if (reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void vg_buf_puts(struct vg_buf *b, const char *s)
{
	vg_buf_put(b, s, strlen(s));
}

void vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		vg_buf_put(b, tmp, (size_t)n);
		return;
	}
	if (reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of a valid UTF-8 sequence starting at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t need = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (!need || need > n || (need == 2 && s[0] < 0xC2))
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return need;
}

void vg_buf_json_strn(struct vg_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	vg_buf_put(b, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		vg_buf_put(b, s + i - run, run);
		run = 0;
		if (c >= 0x80) {
			size_t l = utf8_len(u + i, n - i);
			if (l) {
				vg_buf_put(b, s + i, l);
				i += l;
				continue;
			}
		}
		char esc[8];
		switch (c) {
		case '"': vg_buf_put(b, "\\\"", 2); break;
		case '\\': vg_buf_put(b, "\\\\", 2); break;
		case '\n': vg_buf_put(b, "\\n", 2); break;
		case '\r': vg_buf_put(b, "\\r", 2); break;
		case '\t': vg_buf_put(b, "\\t", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			vg_buf_put(b, esc, 6);
		}
		i++;
	}
	vg_buf_put(b, s + i - run, run);
	vg_buf_put(b, "\"", 1);
}

void vg_buf_json_str(struct vg_buf *b, const char *s)
{
	if (!s)
		vg_buf_put(b, "null", 4);
	else
		vg_buf_json_strn(b, s, strlen(s));
}

void vg_buf_json_key(struct vg_buf *b, int *first, const char *key)
{
	if (!*first)
		vg_buf_put(b, ",", 1);
	*first = 0;
	vg_buf_json_str(b, key);
	vg_buf_put(b, ":", 1);
}

void vg_buf_json_kv(struct vg_buf *b, int *first, const char *key, const char *v)
{
	if (!v)
		return;
	vg_buf_json_key(b, first, key);
	vg_buf_json_str(b, v);
}

void vg_buf_json_ku(struct vg_buf *b, int *first, const char *key, uint64_t v)
{
	vg_buf_json_key(b, first, key);
	vg_buf_printf(b, "%llu", (unsigned long long)v);
}

void vg_buf_json_ki(struct vg_buf *b, int *first, const char *key, int64_t v)
{
	vg_buf_json_key(b, first, key);
	vg_buf_printf(b, "%lld", (long long)v);
}

void vg_buf_json_kt(struct vg_buf *b, int *first, const char *key, int64_t ns)
{
	char t[40];

	if (!ns)
		return;
	vg_buf_json_key(b, first, key);
	vg_buf_json_str(b, vg_time_format(ns, t, sizeof(t)));
}

char *vg_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct vg_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		vg_buf_put(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (!bad)
		vg_buf_put(&b, "", 1);
	if (bad || b.oom) {
		vg_buf_free(&b);
		errno = bad ? EIO : ENOMEM;
		return NULL;
	}
	*len = b.len - 1;
	return b.p;
}
