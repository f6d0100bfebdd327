/* json.c - the JSON flattener (one document into path/value leaves) and the streaming reader that frames top-level values from files or memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "vigil/common.h"
#include "vigil/json.h"

/*
 * The flattened output may be larger than the input (every leaf repeats its
 * path), so a hostile document with a long key and many members below it
 * could ask for gigabytes. Cap the arena at this many bytes per input byte,
 * plus a fixed slack.
 */
#define ARENA_PER_BYTE  64
#define ARENA_SLACK     (64 * 1024)

#define HOT static inline __attribute__((always_inline))

#define READ_CHUNK        ((size_t)1 << 20)  /* bytes per read() */
#define DEFAULT_MAX_VALUE ((size_t)16 << 20) /* max_value 0 means this */

/* ---------------------------------------------------------------- scanning */

static inline int is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline int is_str_stop(unsigned char c)
{
	return c == '"' || c == '\\' || c < 0x20;
}

/* Returns the first byte in [p, end) that ends a plain run inside a string: '"', '\\' or a control byte; end if none. */
static inline const char *scan_string(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
		/* unsigned v <= 0x1f  <=>  min(v, 0x1f) == v */
		m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && !is_str_stop((unsigned char)*p))
		p++;
	return p;
}

static inline const char *skip_ws(const char *p, const char *end)
{
	/* compact JSON has no blanks: one compare settles the common case */
	if (p < end && (unsigned char)*p > ' ')
		return p;
	while (p < end && is_ws((unsigned char)*p))
		p++;
	return p;
}

/*
 * memcpy for the short keys, paths and values JSON is made of: up to 32
 * bytes as two overlapping fixed-size moves the compiler inlines (no call),
 * longer ones through libc.
 */
static inline void copy_bytes(char *dst, const char *src, size_t n)
{
	uint64_t a, b, c, d;

	if (n > 32) {
		memcpy(dst, src, n);
	} else if (n >= 16) {
		memcpy(&a, src, 8);
		memcpy(&b, src + 8, 8);
		memcpy(&c, src + n - 16, 8);
		memcpy(&d, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + 8, &b, 8);
		memcpy(dst + n - 16, &c, 8);
		memcpy(dst + n - 8, &d, 8);
	} else if (n >= 8) {
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t x, y;

		memcpy(&x, src, 4);
		memcpy(&y, src + n - 4, 4);
		memcpy(dst, &x, 4);
		memcpy(dst + n - 4, &y, 4);
	} else if (n) {
		dst[0] = src[0];
		dst[n / 2] = src[n / 2];
		dst[n - 1] = src[n - 1];
	}
}

/* ---------------------------------------------------------------- flattener */

struct frame {
	size_t path_len;  /* length of the container's own path */
	uint8_t has_key;  /* that path holds at least one key (members then need a '.') */
	uint8_t is_array;
};

struct parser {
	struct vg_json_doc *doc;
	const char *end;
	size_t arena_limit;
	size_t cur_len;                  /* path of the value being parsed: doc->path[0..cur_len) */
	int cur_has_key;
	unsigned depth;                  /* open containers */
	struct frame stack[VG_JSON_MAX_DEPTH];
	const char *err_at;
	const char *reason;
};

static int fail(struct parser *ps, const char *at, int rc, const char *reason)
{
	ps->err_at = at;
	ps->reason = reason;
	return rc;
}

/* Makes room for n more arena bytes. Returns 0, VG_ELIMIT past the arena cap, VG_ENOMEM. */
HOT int arena_reserve(struct parser *ps, size_t n)
{
	struct vg_json_doc *d = ps->doc;
	size_t need, cap;
	char *nb;

	if (d->buf_cap - d->buf_len >= n)
		return 0;
	need = d->buf_len + n;
	if (need > ps->arena_limit)
		return VG_ELIMIT;
	cap = d->buf_cap ? d->buf_cap : 4096;
	while (cap < need)
		cap = cap > ps->arena_limit / 2 ? need : cap * 2;
	nb = realloc(d->buf, cap);
	if (!nb)
		return VG_ENOMEM;
	d->buf = nb;
	d->buf_cap = cap;
	return 0;
}

/* Makes room for n more path-stack bytes. Returns 0 or VG_ENOMEM. */
static int path_reserve(struct vg_json_doc *d, size_t n)
{
	size_t need = d->path_len + n, cap;
	char *np;

	if (d->path_cap >= need)
		return 0;
	cap = d->path_cap ? d->path_cap : 256;
	while (cap < need)
		cap *= 2;
	np = realloc(d->path, cap);
	if (!np)
		return VG_ENOMEM;
	d->path = np;
	d->path_cap = cap;
	return 0;
}

/*
 * Appends a leaf at the current path, copies the path into the arena and
 * sets *dst to where the value goes (room for vmax bytes and a NUL). Pointers
 * are filled in at the end of the parse because the arena may move.
 */
HOT int leaf_begin(struct parser *ps, const char *at, uint8_t type, size_t vmax, char **dst)
{
	struct vg_json_doc *d = ps->doc;
	struct vg_json_leaf *l;
	size_t plen = ps->cur_len;
	char *b;
	int rc;

	if (d->nleaves == d->cap) {
		uint32_t ncap = d->cap ? d->cap * 2 : 64;
		struct vg_json_leaf *nl;

		if (d->cap >= UINT32_MAX / 2)
			return fail(ps, at, VG_ELIMIT, "too many leaves");
		nl = realloc(d->leaves, (size_t)ncap * sizeof(*nl));
		if (!nl)
			return fail(ps, at, VG_ENOMEM, "out of memory");
		d->leaves = nl;
		d->cap = ncap;
	}
	rc = arena_reserve(ps, plen + vmax + 2);
	if (rc)
		return fail(ps, at, rc, rc == VG_ELIMIT ? "flattened document too large"
						      : "out of memory");
	l = &d->leaves[d->nleaves++];
	l->path = NULL;
	l->value = NULL;
	l->path_len = (uint32_t)plen;
	l->value_len = 0;
	l->type = type;
	l->in_array = ps->depth && ps->stack[ps->depth - 1].is_array;
	l->depth = (uint16_t)ps->depth;
	b = d->buf + d->buf_len;
	copy_bytes(b, d->path, plen);
	b[plen] = '\0';
	d->buf_len += plen + 1;
	*dst = d->buf + d->buf_len;
	return 0;
}

HOT void leaf_end(struct parser *ps, size_t vlen)
{
	struct vg_json_doc *d = ps->doc;

	d->buf[d->buf_len + vlen] = '\0';
	d->leaves[d->nleaves - 1].value_len = (uint32_t)vlen;
	d->buf_len += vlen + 1;
}

HOT int leaf_add(struct parser *ps, const char *at, uint8_t type, const char *v, size_t vlen)
{
	char *dst;
	int rc = leaf_begin(ps, at, type, vlen, &dst);

	if (rc)
		return rc;
	copy_bytes(dst, v, vlen);
	leaf_end(ps, vlen);
	return 0;
}

/*
 * Finds the closing quote of the string whose body starts at s, checking
 * control bytes on the way. Sets *q to it and *esc if a backslash was seen.
 */
HOT int string_end(struct parser *ps, const char *s, const char **q, int *esc)
{
	const char *p = s, *end = ps->end;

	*esc = 0;
	for (;;) {
		p = scan_string(p, end);
		if (p == end)
			return fail(ps, end, VG_ETRUNC, "unterminated string");
		switch (*p) {
		case '"':
			*q = p;
			return 0;
		case '\\':
			*esc = 1;
			if (end - p < 2)
				return fail(ps, end, VG_ETRUNC, "unterminated string");
			p += 2;
			break;
		case '\t':
			p++;
			break;
		case '\n':
		case '\r':
			return fail(ps, p, VG_EPARSE, "raw line break in string");
		default:
			return fail(ps, p, VG_EPARSE, "control character in string");
		}
	}
}

static long hex4(const char *s, const char *q)
{
	long v = 0;

	if (q - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)s[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static size_t utf8_put(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Decodes the string body [s, q) into dst, which has room for q - s bytes
 * (no escape grows when decoded). Lone surrogates become U+FFFD. Returns the
 * decoded length, or an error with the offending backslash recorded.
 */
static int unescape(struct parser *ps, const char *s, const char *q, char *dst, size_t *out_len)
{
	char *o = dst;
#ifdef __SSE2__
	const __m128i bslash = _mm_set1_epi8('\\');
#endif

	while (s < q) {
		const char *bs;
		long cp, lo;

#ifdef __SSE2__
		/*
		 * Copy 16 bytes at a time up to the next backslash. The output
		 * never runs ahead of the input, so with 16 input bytes left the
		 * 16-byte store stays inside dst.
		 */
		if (q - s >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
			unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash));

			_mm_storeu_si128((__m128i *)(void *)o, v);
			if (!mask) {
				s += 16;
				o += 16;
				continue;
			}
			s += __builtin_ctz(mask);
			o += __builtin_ctz(mask);
		} else
#endif
		{
			while (s < q && *s != '\\')
				*o++ = *s++;
			if (s == q)
				break;
		}
		bs = s;
		s = bs + 1; /* string_end guaranteed a byte after every backslash */
		switch (*s++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			cp = hex4(s, q);
			if (cp < 0)
				return fail(ps, bs, VG_EPARSE, "invalid \\u escape");
			s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				lo = -1;
				if (q - s >= 6 && s[0] == '\\' && s[1] == 'u')
					lo = hex4(s + 2, q);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					s += 6;
				} else {
					cp = 0xFFFD;
				}
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				cp = 0xFFFD;
			}
			o += utf8_put(o, (unsigned long)cp);
			break;
		default:
			return fail(ps, bs, VG_EPARSE, "invalid escape in string");
		}
	}
	*out_len = (size_t)(o - dst);
	return 0;
}

/* Parses a string value whose opening quote is at *pp into a leaf. */
HOT int string_leaf(struct parser *ps, const char **pp)
{
	const char *s = *pp + 1, *q;
	char *dst;
	size_t n;
	int esc, rc;

	rc = string_end(ps, s, &q, &esc);
	if (rc)
		return rc;
	if (!esc) {
		rc = leaf_add(ps, *pp, VG_JSON_STRING, s, (size_t)(q - s));
	} else {
		rc = leaf_begin(ps, *pp, VG_JSON_STRING, (size_t)(q - s), &dst);
		if (!rc)
			rc = unescape(ps, s, q, dst, &n);
		if (!rc)
			leaf_end(ps, n);
	}
	*pp = q + 1;
	return rc;
}

/* Parses an object key at *pp (the opening quote) and makes it the current path under the open object. */
HOT int key_push(struct parser *ps, const char **pp)
{
	struct vg_json_doc *d = ps->doc;
	const struct frame *f = &ps->stack[ps->depth - 1];
	const char *s = *pp + 1, *q;
	size_t n;
	int esc, rc;

	rc = string_end(ps, s, &q, &esc);
	if (rc)
		return rc;
	d->path_len = f->path_len;
	if (path_reserve(d, (size_t)(q - s) + 1))
		return fail(ps, *pp, VG_ENOMEM, "out of memory");
	if (f->has_key)
		d->path[d->path_len++] = '.';
	if (!esc) {
		n = (size_t)(q - s);
		copy_bytes(d->path + d->path_len, s, n);
	} else {
		rc = unescape(ps, s, q, d->path + d->path_len, &n);
		if (rc)
			return rc;
	}
	d->path_len += n;
	ps->cur_len = d->path_len;
	ps->cur_has_key = 1;
	*pp = q + 1;
	return 0;
}

/* Checks a number against the JSON grammar and records it as written. */
static int number_leaf(struct parser *ps, const char **pp)
{
	const char *s = *pp, *p = s, *end = ps->end;

	if (*p == '-')
		p++;
	if (p == end)
		return fail(ps, p, VG_ETRUNC, "truncated number");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return fail(ps, p, VG_EPARSE, "leading zero in number");
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return fail(ps, p, VG_EPARSE, "invalid number");
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end)
			return fail(ps, p, VG_ETRUNC, "truncated number");
		if (*p < '0' || *p > '9')
			return fail(ps, p, VG_EPARSE, "expected a digit after '.'");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end)
			return fail(ps, p, VG_ETRUNC, "truncated number");
		if (*p < '0' || *p > '9')
			return fail(ps, p, VG_EPARSE, "expected a digit in exponent");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	*pp = p;
	return leaf_add(ps, s, VG_JSON_NUMBER, s, (size_t)(p - s));
}

static int literal_leaf(struct parser *ps, const char **pp, const char *word, size_t n, uint8_t type)
{
	const char *p = *pp;
	size_t have = (size_t)(ps->end - p);

	if (have < n) {
		if (memcmp(p, word, have) == 0)
			return fail(ps, ps->end, VG_ETRUNC, "truncated literal");
		return fail(ps, p, VG_EPARSE, "invalid literal");
	}
	if (memcmp(p, word, n) != 0)
		return fail(ps, p, VG_EPARSE, "invalid literal");
	*pp = p + n;
	return leaf_add(ps, p, type, word, n);
}

/* Opens a container at *pp; an empty one becomes a leaf right away (*pushed 0). */
static int container_open(struct parser *ps, const char **pp, int is_array, int *pushed)
{
	const char *p = *pp + 1;

	*pushed = 0;
	if (ps->depth >= VG_JSON_MAX_DEPTH)
		return fail(ps, *pp, VG_ELIMIT, "nesting deeper than VG_JSON_MAX_DEPTH");
	p = skip_ws(p, ps->end);
	if (p == ps->end)
		return fail(ps, p, VG_ETRUNC, is_array ? "unterminated array" : "unterminated object");
	if (*p == (is_array ? ']' : '}')) {
		*pp = p + 1;
		return leaf_add(ps, p, is_array ? VG_JSON_EMPTY_ARRAY : VG_JSON_EMPTY_OBJECT,
				is_array ? "[]" : "{}", 2);
	}
	ps->stack[ps->depth].path_len = ps->cur_len;
	ps->stack[ps->depth].has_key = (uint8_t)ps->cur_has_key;
	ps->stack[ps->depth].is_array = (uint8_t)is_array;
	ps->depth++;
	*pushed = 1;
	*pp = p;
	return 0;
}

static int parse(struct parser *ps, const char *p)
{
	const char *end = ps->end;
	struct frame *top;
	int rc, pushed;

value:
	p = skip_ws(p, end);
	if (p == end)
		return fail(ps, p, VG_ETRUNC, ps->depth ? "expected a value" : "empty input");
	switch (*p) {
	case '"':
		rc = string_leaf(ps, &p);
		break;
	case '{':
		rc = container_open(ps, &p, 0, &pushed);
		if (!rc && pushed)
			goto member;
		break;
	case '[':
		rc = container_open(ps, &p, 1, &pushed);
		if (!rc && pushed)
			goto value;
		break;
	case 't':
		rc = literal_leaf(ps, &p, "true", 4, VG_JSON_TRUE);
		break;
	case 'f':
		rc = literal_leaf(ps, &p, "false", 5, VG_JSON_FALSE);
		break;
	case 'n':
		rc = literal_leaf(ps, &p, "null", 4, VG_JSON_NULL);
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		rc = number_leaf(ps, &p);
		break;
	default:
		return fail(ps, p, VG_EPARSE, "expected a value");
	}
	if (rc)
		return rc;

after:
	p = skip_ws(p, end);
	if (ps->depth == 0) {
		if (p != end)
			return fail(ps, p, VG_EPARSE, "unexpected text after the value");
		return 0;
	}
	top = &ps->stack[ps->depth - 1];
	if (p == end)
		return fail(ps, p, VG_ETRUNC, top->is_array ? "unterminated array"
							    : "unterminated object");
	if (top->is_array) {
		if (*p == ',') {
			p++;
			ps->cur_len = top->path_len;
			ps->cur_has_key = top->has_key;
			goto value;
		}
		if (*p != ']')
			return fail(ps, p, VG_EPARSE, "expected ',' or ']' after array element");
	} else {
		if (*p == ',') {
			p++;
			goto member;
		}
		if (*p != '}')
			return fail(ps, p, VG_EPARSE, "expected ',' or '}' after object member");
	}
	p++;
	ps->depth--;
	goto after;

member:
	if (p == end || *p != '"') {
		p = skip_ws(p, end);
		if (p == end)
			return fail(ps, p, VG_ETRUNC, "unterminated object");
		if (*p != '"')
			return fail(ps, p, VG_EPARSE, "expected a string key");
	}
	rc = key_push(ps, &p);
	if (rc)
		return rc;
	if (p == end || *p != ':') {
		p = skip_ws(p, end);
		if (p == end)
			return fail(ps, p, VG_ETRUNC, "unterminated object");
		if (*p != ':')
			return fail(ps, p, VG_EPARSE, "expected ':' after object key");
	}
	p++;
	goto value;
}

void vg_json_doc_init(struct vg_json_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
}

void vg_json_doc_free(struct vg_json_doc *doc)
{
	if (!doc)
		return;
	free(doc->leaves);
	free(doc->buf);
	free(doc->path);
	memset(doc, 0, sizeof(*doc));
}

int vg_json_flatten(struct vg_json_doc *doc, const char *data, size_t len,
		    struct vg_json_error *err)
{
	struct parser ps;
	const char *p = data;
	int rc;

	doc->nleaves = 0;
	doc->buf_len = 0;
	doc->path_len = 0;
	ps.doc = doc;
	ps.end = data + len;
	ps.cur_len = 0;
	ps.cur_has_key = 0;
	ps.depth = 0;
	ps.err_at = data;
	ps.reason = NULL;
	/* every length we store is a uint32_t */
	if (len > UINT32_MAX / 2) {
		rc = fail(&ps, data, VG_ELIMIT, "document too large");
		goto out;
	}
	ps.arena_limit = len * ARENA_PER_BYTE + ARENA_SLACK;
	if (path_reserve(doc, 1)) {
		rc = fail(&ps, data, VG_ENOMEM, "out of memory");
		goto out;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	rc = parse(&ps, p);
	if (rc == 0) {
		/* the arena is final now: turn the sequential layout into pointers */
		size_t off = 0;

		for (uint32_t i = 0; i < doc->nleaves; i++) {
			struct vg_json_leaf *l = &doc->leaves[i];

			l->path = doc->buf + off;
			off += l->path_len + 1;
			l->value = doc->buf + off;
			off += l->value_len + 1;
		}
	}
out:
	if (rc) {
		doc->nleaves = 0;
		if (err) {
			err->offset = (size_t)(ps.err_at - data);
			err->reason = ps.reason ? ps.reason : "invalid JSON";
		}
	}
	return rc;
}

/* ---------------------------------------------------------------- reader */

struct vg_json_reader {
	int fd;              /* -1 when reading from memory */
	int close_fd;        /* we opened fd */
	char *buf;           /* file input: owned window on the file */
	size_t cap;
	const char *data;    /* buf, or the borrowed memory */
	size_t len;          /* valid bytes in data */
	size_t pos;          /* scan position in data */
	size_t vstart;       /* start of the value being framed, in data */
	uint64_t base;       /* input offset of data[0] */
	uint64_t line;       /* line number of data[pos] */
	size_t max_value;
	uint8_t eof;         /* nothing more to read */
	uint8_t done;        /* stop: a read failed */
	uint8_t started;     /* byte-order mark checked */
	uint8_t in_array;    /* inside a top-level '[' */
	uint8_t resync;      /* skipping to the next line that starts with '{' */
	uint8_t resync_bol;  /* ...and we are at the start of a line */
	const char *reason;  /* last error, static */
};

/*
 * Reads another chunk, first dropping data[0..keep). Positions are shifted
 * to match. Returns 1 if bytes were added, 0 at end of input, -errno or
 * VG_ENOMEM.
 */
static int fill(struct vg_json_reader *r, size_t keep)
{
	ssize_t n;

	if (r->eof)
		return 0;
	if (keep) {
		memmove(r->buf, r->buf + keep, r->len - keep);
		r->len -= keep;
		r->pos -= keep;
		r->vstart = r->vstart >= keep ? r->vstart - keep : 0;
		r->base += keep;
	}
	if (r->cap - r->len < READ_CHUNK) {
		size_t ncap = r->len + READ_CHUNK;
		char *nb;

		if (r->len > SIZE_MAX - READ_CHUNK)
			return VG_ENOMEM;
		nb = realloc(r->buf, ncap);
		if (!nb)
			return VG_ENOMEM;
		r->buf = nb;
		r->cap = ncap;
	}
	r->data = r->buf;
	do {
		n = read(r->fd, r->buf + r->len, READ_CHUNK);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->len += (size_t)n;
	return 1;
}

static int reader_new(size_t max_value, struct vg_json_reader **out)
{
	struct vg_json_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return VG_ENOMEM;
	r->fd = -1;
	r->line = 1;
	r->max_value = max_value ? max_value : DEFAULT_MAX_VALUE;
	*out = r;
	return 0;
}

int vg_json_reader_open(const char *path, size_t max_value, struct vg_json_reader **out)
{
	struct vg_json_reader *r;
	int rc;

	*out = NULL;
	rc = reader_new(max_value, &r);
	if (rc)
		return rc;
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			rc = -errno;
			free(r);
			return rc;
		}
		r->close_fd = 1;
	}
	*out = r;
	return 0;
}

int vg_json_reader_open_mem(const char *data, size_t len, size_t max_value,
			    struct vg_json_reader **out)
{
	struct vg_json_reader *r;
	int rc;

	*out = NULL;
	rc = reader_new(max_value, &r);
	if (rc)
		return rc;
	r->data = data;
	r->len = len;
	r->eof = 1;
	*out = r;
	return 0;
}

void vg_json_reader_free(struct vg_json_reader *r)
{
	if (!r)
		return;
	if (r->close_fd)
		close(r->fd);
	free(r->buf);
	free(r);
}

const char *vg_json_reader_error(const struct vg_json_reader *r)
{
	return r->reason ? r->reason : "no error";
}

uint64_t vg_json_reader_bytes(const struct vg_json_reader *r)
{
	return r->base + r->pos;
}

/* Records an error at (offset, line) and returns rc. */
static int reader_fail(struct vg_json_reader *r, int rc, const char *reason, uint64_t off,
		       uint64_t line, uint64_t *offset, uint64_t *oline)
{
	r->reason = reason;
	*offset = off;
	*oline = line;
	return rc;
}

/* Skips to the next line whose first non-blank byte is '{'. Returns 1 there, 0 at end, <0 on error. */
static int resync(struct vg_json_reader *r)
{
	int rc;

	for (;;) {
		if (!r->resync_bol) {
			const char *nl = memchr(r->data + r->pos, '\n', r->len - r->pos);

			if (!nl) {
				r->pos = r->len;
				rc = fill(r, r->pos);
				if (rc <= 0)
					return rc;
				continue;
			}
			r->pos = (size_t)(nl - r->data) + 1;
			r->line++;
			r->resync_bol = 1;
		}
		while (r->pos < r->len && (r->data[r->pos] == ' ' || r->data[r->pos] == '\t' ||
					   r->data[r->pos] == '\r'))
			r->pos++;
		if (r->pos == r->len) {
			rc = fill(r, r->pos);
			if (rc <= 0)
				return rc;
			continue;
		}
		r->resync_bol = 0;
		if (r->data[r->pos] == '{') {
			r->resync = 0;
			return 1;
		}
	}
}

/* Frames a non-string scalar element of a top-level array (number or literal); *io gets a fill() result <= 0 if it had to stop reading. */
static void frame_scalar(struct vg_json_reader *r, int *io)
{
	for (;;) {
		while (r->pos < r->len) {
			unsigned char c = (unsigned char)r->data[r->pos];

			if (is_ws(c) || c == ',' || c == ']' || c == '}' || c == '[' || c == '{' ||
			    c == '"')
				return;
			r->pos++;
		}
		if (r->pos - r->vstart > r->max_value)
			return; /* the caller reports the size */
		*io = fill(r, r->vstart);
		if (*io <= 0)
			return;
	}
}

/* Bit i set where byte i of a 64-byte block is one of these. */
struct block_masks {
	uint64_t quote, bslash, nl, open, close; /* '"', '\\', '\n', '{' or '[', '}' or ']' */
};

static void block_scan(const unsigned char *p, struct block_masks *m)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i nl = _mm_set1_epi8('\n'), lower = _mm_set1_epi8(0x20);
	const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
		/* '[' | 0x20 == '{' and ']' | 0x20 == '}': one compare finds both */
		__m128i f = _mm_or_si128(v, lower);
		unsigned sh = 16 * (unsigned)i;

		m->quote |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) << sh;
		m->bslash |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash)) << sh;
		m->nl |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) << sh;
		m->open |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(f, open)) << sh;
		m->close |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(f, close)) << sh;
	}
#else
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < 64; i++) {
		uint64_t bit = (uint64_t)1 << i;

		switch (p[i]) {
		case '"': m->quote |= bit; break;
		case '\\': m->bslash |= bit; break;
		case '\n': m->nl |= bit; break;
		case '{': case '[': m->open |= bit; break;
		case '}': case ']': m->close |= bit; break;
		}
	}
#endif
}

/* Bit i of the result is the XOR of bits 0..i of x: with x the quotes, "inside a string". */
static inline uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/* Inline bit count: baseline x86-64 has no popcnt instruction and the libgcc call is slow. */
static inline unsigned count_bits(uint64_t x)
{
	if (!x)
		return 0;
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

static inline uint64_t bits_below(unsigned n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/*
 * Frames the value starting at data[pos] ('{', '[' or '"'), 64 bytes at a
 * time. Returns 1 when it closed (pos just past it), 0 on truncation by a
 * '{' at column 0 (pos on that '{'), 2 at end of input, <0 on a read error.
 * Sets *big when the value outgrew max_value (its bytes were dropped while
 * skipping it). Every backslash escapes the byte after it, in or out of
 * strings: outside a string it is invalid JSON anyway and flatten rejects it.
 */
static int frame_value(struct vg_json_reader *r, int *big)
{
	struct block_masks m;
	unsigned char tail[64];
	size_t depth = 1;
	uint64_t in_str = 0; /* all ones while inside a string */
	uint64_t esc_in = 0, nl_in = 0;
	int rc;

	*big = 0;
	if (r->data[r->pos] == '"') {
		depth = 0;
		in_str = ~(uint64_t)0;
	}
	r->pos++;
	for (;;) {
		size_t avail = r->len - r->pos;
		const unsigned char *p = (const unsigned char *)r->data + r->pos;
		uint64_t valid, escaped, b, q, str, open, close, cand;
		unsigned n, end = 65, trunc = 65; /* 65: not in this block */

		if (avail == 0) {
			/* a short block was framed as far as it went: its carries are exact */
			if (r->eof)
				return 2;
			if (!*big && r->pos - r->vstart > r->max_value)
				*big = 1;
			rc = fill(r, *big ? r->pos : r->vstart);
			if (rc < 0)
				return rc;
			continue;
		}
		n = avail < 64 ? (unsigned)avail : 64;
		if (n < 64) {
			memset(tail, 0, sizeof(tail));
			memcpy(tail, p, n);
			block_scan(tail, &m);
		} else {
			block_scan(p, &m);
		}
		valid = bits_below(n);

		/* which bytes are escaped: walk the backslashes that are not escaped themselves */
		escaped = esc_in;
		b = m.bslash & ~esc_in;
		esc_in = 0;
		while (b) {
			unsigned i = (unsigned)__builtin_ctzll(b);

			if (i + 1 >= n) {
				esc_in = 1;
				break;
			}
			escaped |= (uint64_t)1 << (i + 1);
			b &= ~((uint64_t)3 << i);
		}
		q = m.quote & ~escaped;
		str = prefix_xor(q) ^ in_str;
		open = m.open & ~str & ~escaped;
		close = m.close & ~str & ~escaped;

		/* a '{' at column 0 cuts the value short, wherever it is */
		cand = ((m.nl << 1) | nl_in) & m.open & valid;
		while (cand) {
			unsigned i = (unsigned)__builtin_ctzll(cand);

			if (p[i] == '{') {
				trunc = i;
				break;
			}
			cand &= cand - 1;
		}

		if (depth == 0) {
			uint64_t e = q & ~str; /* a closing quote */

			if (e)
				end = (unsigned)__builtin_ctzll(e) + 1;
		} else if ((size_t)count_bits(close) >= depth) {
			uint64_t bb = open | close;

			while (bb) {
				unsigned i = (unsigned)__builtin_ctzll(bb);

				if (open >> i & 1) {
					depth++;
				} else if (--depth == 0) {
					end = i + 1;
					break;
				}
				bb &= bb - 1;
			}
		} else {
			depth += (size_t)count_bits(open);
			depth -= (size_t)count_bits(close);
		}

		if (trunc < end) {
			r->line += (uint64_t)count_bits(m.nl & bits_below(trunc));
			r->pos += trunc;
			return 0;
		}
		if (end <= n) {
			r->line += (uint64_t)count_bits(m.nl & bits_below(end));
			r->pos += end;
			return 1;
		}
		r->line += (uint64_t)count_bits(m.nl & valid);
		in_str = (str >> (n - 1) & 1) ? ~(uint64_t)0 : 0;
		nl_in = m.nl >> (n - 1) & 1;
		r->pos += n;
	}
}

int vg_json_reader_next(struct vg_json_reader *r, const char **data, size_t *len,
			uint64_t *offset, uint64_t *line)
{
	uint64_t voff, vline;
	int rc, big, io;

	*data = NULL;
	*len = 0;
	*offset = r->base + r->pos;
	*line = r->line;
	if (r->done)
		return 0;
	if (!r->started) {
		rc = 1;
		while (r->len - r->pos < 3 && rc > 0)
			rc = fill(r, r->pos);
		if (rc < 0)
			goto io_error;
		if (r->len - r->pos >= 3 && memcmp(r->data + r->pos, "\xEF\xBB\xBF", 3) == 0)
			r->pos += 3;
		r->started = 1;
	}
	if (r->resync) {
		rc = resync(r);
		if (rc < 0)
			goto io_error;
		if (rc == 0) {
			r->in_array = 0; /* we skipped whatever closed it */
			return 0;
		}
	}

	for (;;) {
		unsigned char c;

		if (r->pos == r->len) {
			rc = fill(r, r->pos);
			if (rc < 0)
				goto io_error;
			if (rc == 0) {
				if (r->in_array) {
					r->in_array = 0;
					return reader_fail(r, VG_ETRUNC, "input ended inside the top-level array",
							   r->base + r->pos, r->line, offset, line);
				}
				return 0;
			}
			continue;
		}
		c = (unsigned char)r->data[r->pos];
		if (c == '\n') {
			r->line++;
			r->pos++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			r->pos++;
			continue;
		}
		if (c == '[' && !r->in_array) {
			r->in_array = 1;
			r->pos++;
			continue;
		}
		if (r->in_array && c == ']') {
			r->in_array = 0;
			r->pos++;
			continue;
		}
		if (r->in_array && c == ',') {
			r->pos++;
			continue;
		}
		break;
	}

	r->vstart = r->pos;
	voff = r->base + r->pos;
	vline = r->line;
	*offset = voff;
	*line = vline;
	switch (r->data[r->pos]) {
	case '{':
		break;
	case '[':
	case '"':
		if (!r->in_array)
			goto stray;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6':
	case '7': case '8': case '9': case 't': case 'f': case 'n':
		if (!r->in_array)
			goto stray;
		io = 1;
		frame_scalar(r, &io);
		if (io < 0) {
			rc = io;
			goto io_error;
		}
		if (r->pos - r->vstart > r->max_value) {
			/* a number this long is garbage: drop the rest of the array */
			r->in_array = 0;
			r->resync = 1;
			r->resync_bol = 0;
			return reader_fail(r, VG_ELIMIT, "value larger than the limit", voff, vline,
					   offset, line);
		}
		*data = r->data + r->vstart;
		*len = r->pos - r->vstart;
		return 1;
	default:
		goto stray;
	}

	rc = frame_value(r, &big);
	if (rc < 0)
		goto io_error;
	if (rc == 2)
		r->in_array = 0;
	if (big || r->pos - r->vstart > r->max_value)
		return reader_fail(r, VG_ELIMIT, "value larger than the limit (skipped)", voff,
				   vline, offset, line);
	if (rc == 0)
		return reader_fail(r, VG_ETRUNC,
				   "value cut short: a new value starts at column 0 of a later line",
				   voff, vline, offset, line);
	if (rc == 2)
		return reader_fail(r, VG_ETRUNC, "input ended inside a value", voff, vline, offset,
				   line);
	*data = r->data + r->vstart;
	*len = r->pos - r->vstart;
	return 1;

stray:
	rc = r->data[r->pos];
	r->pos++;
	r->resync = 1;
	r->resync_bol = 0;
	return reader_fail(r, VG_EPARSE,
			   rc == '}' || rc == ']' ? "unbalanced closing bracket"
						  : "unexpected text between values",
			   voff, vline, offset, line);

io_error:
	r->done = 1;
	return reader_fail(r, rc, "read failed", r->base + r->pos, r->line, offset, line);
}
