/* sigma_value.c - Sigma value text: case folding, escapes and wildcards, windash/base64/utf16 transforms, numbers and IP addresses. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sigma_int.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- case folding ---- */

/* Simple lower-case mapping for code points U+0080..U+07FF whose folded form is also two bytes. */
static uint32_t fold_cp(uint32_t c)
{
	if (c < 0x100)
		return (c >= 0xC0 && c <= 0xDE && c != 0xD7) ? c + 0x20 : c;
	if (c <= 0x17F) {
		if (c <= 0x12F || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
			return c | 1;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
			return (c & 1) ? c + 1 : c;
		if (c == 0x178)
			return 0xFF;
		return c;
	}
	if (c >= 0x386 && c <= 0x3AB) {
		if (c >= 0x391 && c != 0x3A2)
			return c + 0x20;
		if (c == 0x386)
			return 0x3AC;
		if (c >= 0x388 && c <= 0x38A)
			return c + 0x25;
		if (c == 0x38C)
			return 0x3CC;
		if (c == 0x38E || c == 0x38F)
			return c + 0x3F;
		return c;
	}
	if (c == 0x3C2)
		return 0x3C3; /* final sigma */
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
		return c | 1;
	if (c == 0x4C0)
		return 0x4CF;
	if (c >= 0x4C1 && c <= 0x4CE)
		return (c & 1) ? c + 1 : c;
	if (c >= 0x531 && c <= 0x556)
		return c + 0x30;
	return c;
}

void vg_sigma_fold(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	unsigned char *d = (unsigned char *)dst;
	size_t i = 0;

#ifdef __SSE2__
	/* sixteen ASCII bytes at once: A-Z get 0x20; a block with any byte >= 0x80 goes the slow way */
	const __m128i lo = _mm_set1_epi8('A' - 1), hi = _mm_set1_epi8('Z' + 1), bit5 = _mm_set1_epi8(0x20);
	while (i + 16 <= n) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		if (_mm_movemask_epi8(x))
			break;
		__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi));
		_mm_storeu_si128((__m128i *)(void *)(d + i), _mm_or_si128(x, _mm_and_si128(up, bit5)));
		i += 16;
	}
#endif
	while (i < n) {
		unsigned char c = s[i];
		if (i + 8 <= n) { /* eight ASCII bytes at once: add 0x20 to each of A-Z */
			uint64_t x;
			memcpy(&x, s + i, 8);
			if (!(x & 0x8080808080808080ull)) {
				uint64_t ge_a = x + 0x3F3F3F3F3F3F3F3Full; /* bit 7 set when byte >= 'A' */
				uint64_t gt_z = x + 0x2525252525252525ull; /* bit 7 set when byte > 'Z' */
				x |= ((ge_a & ~gt_z) & 0x8080808080808080ull) >> 2;
				memcpy(d + i, &x, 8);
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			d[i] = vg_lower(c);
			i++;
		} else if (c >= 0xC2 && c <= 0xDF && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
			uint32_t cp = ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
			uint32_t f = fold_cp(cp);
			d[i] = (unsigned char)(0xC0 | (f >> 6));
			d[i + 1] = (unsigned char)(0x80 | (f & 0x3F));
			i += 2;
		} else {
			d[i] = c;
			i++;
		}
	}
}

/* ---- Sigma strings ---- */

int vg_sigma_str_push(struct sg_str *s, uint8_t byte, uint8_t kind)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		uint8_t *b = realloc(s->b, cap);
		if (!b)
			return VG_ENOMEM;
		s->b = b;
		uint8_t *k = realloc(s->k, cap);
		if (!k)
			return VG_ENOMEM;
		s->k = k;
		s->cap = cap;
	}
	s->b[s->n] = byte;
	s->k[s->n++] = kind;
	return 0;
}

void vg_sigma_str_free(struct sg_str *s)
{
	if (!s)
		return;
	free(s->b);
	free(s->k);
	memset(s, 0, sizeof(*s));
}

/*
 * Escapes per the specification: "\*" and "\?" are plain characters, "\\" is one
 * backslash, and a backslash before anything else is itself.
 */
int vg_sigma_str_parse(struct sg_str *out, const char *raw, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = raw[i];
		int rc;
		if (c == '\\' && i + 1 < n && (raw[i + 1] == '*' || raw[i + 1] == '?' || raw[i + 1] == '\\')) {
			rc = vg_sigma_str_push(out, (uint8_t)raw[++i], SK_LIT);
		} else if (c == '*') {
			rc = vg_sigma_str_push(out, '*', SK_STAR);
		} else if (c == '?') {
			rc = vg_sigma_str_push(out, '?', SK_ONE);
		} else {
			rc = vg_sigma_str_push(out, (uint8_t)c, SK_LIT);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int vg_sigma_str_literal(struct sg_str *out, const char *raw, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vg_sigma_str_push(out, (uint8_t)raw[i], SK_LIT))
			return VG_ENOMEM;
	return 0;
}

int vg_sigma_str_has_wild(const struct sg_str *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->k[i] != SK_LIT)
			return 1;
	return 0;
}

static int is_word(const struct sg_str *s, size_t i)
{
	unsigned char c = s->b[i];
	return s->k[i] == SK_LIT && (c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
				    (c >= 'A' && c <= 'Z'));
}

static void free_list(struct sg_str *list, int n)
{
	for (int i = 0; i < n; i++)
		vg_sigma_str_free(&list[i]);
	free(list);
}

/*
 * windash: a '-' or '/' that starts a word (preceded by start or a non-word
 * character, followed by a word character) may be written with any of
 * - / en dash, em dash, horizontal bar. All combinations are produced.
 */
int vg_sigma_windash(const struct sg_str *in, struct sg_str **out)
{
	static const char *const dashes[] = { "-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95" };
	size_t pos[16];
	int npos = 0;
	long total = 1;

	for (size_t i = 0; i < in->n; i++) {
		if (in->k[i] != SK_LIT || (in->b[i] != '-' && in->b[i] != '/'))
			continue;
		if (i > 0 && is_word(in, i - 1))
			continue;
		if (i + 1 >= in->n || !is_word(in, i + 1))
			continue;
		if (npos == 16 || total * 5 > SG_MAX_EXPANSION)
			return VG_ELIMIT;
		pos[npos++] = i;
		total *= 5;
	}
	struct sg_str *list = calloc((size_t)total, sizeof(*list));
	if (!list)
		return VG_ENOMEM;
	for (long v = 0; v < total; v++) {
		long sel = v;
		int p = 0;
		for (size_t i = 0; i < in->n; i++) {
			int rc = 0;
			if (p < npos && pos[p] == i) {
				const char *d = dashes[sel % 5];
				sel /= 5;
				p++;
				for (; *d && !rc; d++)
					rc = vg_sigma_str_push(&list[v], (uint8_t)*d, SK_LIT);
			} else {
				rc = vg_sigma_str_push(&list[v], in->b[i], in->k[i]);
			}
			if (rc) {
				free_list(list, (int)total);
				return rc;
			}
		}
	}
	*out = list;
	return (int)total;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_encode(struct sg_str *out, const uint8_t *p, size_t n)
{
	size_t i = 0;
	int rc = 0;

	for (; i + 3 <= n && !rc; i += 3) {
		uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 18) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 12) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 6) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[v & 63], SK_LIT);
	}
	if (!rc && n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 18) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 12) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, '=', SK_LIT);
		rc |= vg_sigma_str_push(out, '=', SK_LIT);
	} else if (!rc && n - i == 2) {
		uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 18) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 12) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, (uint8_t)b64chars[(v >> 6) & 63], SK_LIT);
		rc |= vg_sigma_str_push(out, '=', SK_LIT);
	}
	return rc ? VG_ENOMEM : 0;
}

/*
 * base64 (offsets == 0): the standard encoding with padding.
 * base64offset: the value may sit at byte offset 0, 1 or 2 (mod 3) of the
 * encoded data. For each shift s we encode s filler bytes + value and keep
 * only the characters that depend on the value alone: skip the first
 * 0/2/3 characters (filler bits) and drop the last 0/3/2 (the final partial
 * group and its padding) depending on (s + len) % 3.
 */
int vg_sigma_base64(const struct sg_str *in, int offsets, struct sg_str **out)
{
	static const size_t skip_start[3] = { 0, 2, 3 };
	static const size_t skip_end[3] = { 0, 3, 2 };
	int count = offsets ? 3 : 1;

	if (vg_sigma_str_has_wild(in))
		return VG_EINVAL;
	struct sg_str *list = calloc((size_t)count, sizeof(*list));
	uint8_t *buf = malloc(in->n + 3);
	if (!list || !buf) {
		free(list);
		free(buf);
		return VG_ENOMEM;
	}
	for (int s = 0; s < count; s++) {
		struct sg_str full = { 0 };
		memset(buf, 0, (size_t)s);
		if (in->n)
			memcpy(buf + s, in->b, in->n);
		if (b64_encode(&full, buf, in->n + (size_t)s)) {
			vg_sigma_str_free(&full);
			free(buf);
			free_list(list, count);
			return VG_ENOMEM;
		}
		if (!offsets) {
			list[s] = full;
			continue;
		}
		size_t a = skip_start[s], e = skip_end[(in->n + (size_t)s) % 3];
		int rc = 0;
		for (size_t i = a; i + e < full.n && !rc; i++)
			rc = vg_sigma_str_push(&list[s], full.b[i], SK_LIT);
		vg_sigma_str_free(&full);
		if (rc) {
			free(buf);
			free_list(list, count);
			return VG_ENOMEM;
		}
	}
	free(buf);
	*out = list;
	return count;
}

/* Decodes one UTF-8 code point at s[i]; invalid bytes decode as themselves (Latin-1). */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *i)
{
	uint8_t c = s[*i];
	int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
	uint32_t cp = c;

	if (len == 1 || *i + (size_t)len > n) {
		(*i)++;
		return c;
	}
	cp = c & (0xFF >> (len + 1));
	for (int k = 1; k < len; k++) {
		if ((s[*i + (size_t)k] & 0xC0) != 0x80) {
			(*i)++;
			return c;
		}
		cp = (cp << 6) | (s[*i + (size_t)k] & 0x3F);
	}
	*i += (size_t)len;
	return cp;
}

static int push16(struct sg_str *o, uint32_t u, int be)
{
	int rc = 0;
	if (be) {
		rc |= vg_sigma_str_push(o, (uint8_t)(u >> 8), SK_LIT);
		rc |= vg_sigma_str_push(o, (uint8_t)(u & 0xFF), SK_LIT);
	} else {
		rc |= vg_sigma_str_push(o, (uint8_t)(u & 0xFF), SK_LIT);
		rc |= vg_sigma_str_push(o, (uint8_t)(u >> 8), SK_LIT);
	}
	return rc;
}

/* UTF-16 encodings of the literal characters; wildcards stay wildcards. */
int vg_sigma_utf16(const struct sg_str *in, int variant, struct sg_str **out)
{
	struct sg_str *o = calloc(1, sizeof(*o));
	int be = variant == 1, rc = 0;

	if (!o)
		return VG_ENOMEM;
	if (variant == 2)
		rc |= push16(o, 0xFEFF, 0);
	for (size_t i = 0; i < in->n && !rc;) {
		if (in->k[i] != SK_LIT) {
			rc = vg_sigma_str_push(o, in->b[i], in->k[i]);
			i++;
			continue;
		}
		size_t j = i;
		while (j < in->n && in->k[j] == SK_LIT)
			j++;
		while (i < j && !rc) {
			uint32_t cp = utf8_next(in->b, j, &i);
			if (cp >= 0x10000) {
				cp -= 0x10000;
				rc |= push16(o, 0xD800 | (cp >> 10), be);
				rc |= push16(o, 0xDC00 | (cp & 0x3FF), be);
			} else {
				rc |= push16(o, cp, be);
			}
		}
	}
	if (rc) {
		free_list(o, 1);
		return VG_ENOMEM;
	}
	*out = o;
	return 1;
}

/* ---- numbers and addresses ---- */

int vg_sigma_parse_num(const char *s, size_t n, double *d, int64_t *iv, int *is_int)
{
	char buf[64];

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		uint64_t v = 0;
		for (size_t i = 2; i < n; i++) {
			int c = buf[i], x;
			if (c >= '0' && c <= '9')
				x = c - '0';
			else if (c >= 'a' && c <= 'f')
				x = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				x = c - 'A' + 10;
			else
				return -1;
			if (v >> 60)
				return -1;
			v = v * 16 + (uint64_t)x;
		}
		*iv = (int64_t)v;
		*d = (double)v;
		*is_int = v <= INT64_MAX;
		return 0;
	}
	/* decimal: [sign] digits [. digits] [e [sign] digits] */
	size_t i = 0;
	int digits = 0, frac = 0;
	if (buf[i] == '-' || buf[i] == '+')
		i++;
	while (buf[i] >= '0' && buf[i] <= '9')
		i++, digits++;
	if (buf[i] == '.') {
		frac = 1;
		i++;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return -1;
	if (buf[i] == 'e' || buf[i] == 'E') {
		frac = 1;
		i++;
		if (buf[i] == '-' || buf[i] == '+')
			i++;
		if (!(buf[i] >= '0' && buf[i] <= '9'))
			return -1;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++;
	}
	if (buf[i] != '\0')
		return -1;
	*d = strtod(buf, NULL);
	*is_int = 0;
	if (!frac) {
		char *end;
		long long v = strtoll(buf, &end, 10);
		if (*end == '\0' && !(v == LLONG_MAX || v == LLONG_MIN)) {
			*iv = v;
			*is_int = 1;
		}
	}
	return 0;
}

int vg_sigma_parse_ip(const char *s, size_t n, int *fam, uint8_t addr[16])
{
	char buf[64];

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	const char *pct = memchr(s, '%', n);
	if (pct)
		n = (size_t)(pct - s);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*fam = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
		if (memcmp(addr, mapped, 12) == 0) { /* ::ffff:a.b.c.d is an IPv4 address */
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*fam = 4;
		} else {
			*fam = 6;
		}
		return 0;
	}
	return -1;
}

int vg_sigma_parse_cidr(const char *s, size_t n, int *fam, uint8_t addr[16], int *bits)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int max;

	if (vg_sigma_parse_ip(s, alen, fam, addr))
		return -1;
	max = *fam == 4 ? 32 : 128;
	/* an IPv4-mapped IPv6 network keeps its meaning as IPv4 */
	if (*fam == 4 && memchr(s, ':', alen))
		max = 128;
	if (!slash) {
		*bits = max;
	} else {
		const char *p = slash + 1;
		size_t m = n - alen - 1;
		int v = 0;
		if (m == 0 || m > 3)
			return -1;
		for (size_t i = 0; i < m; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			v = v * 10 + (p[i] - '0');
		}
		if (v > max)
			return -1;
		*bits = v;
	}
	if (max == 128 && *fam == 4) /* ::ffff:0:0/96 and longer */
		*bits = *bits >= 96 ? *bits - 96 : 0;
	/* clear host bits so comparison is a prefix test */
	for (int b = *bits; b < (*fam == 4 ? 32 : 128); b++)
		addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	return 0;
}
