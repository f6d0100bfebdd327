/* fuzz_json.c - libFuzzer harness for the JSON flattener and the streaming reader; the reader is checked call by call against a byte-at-a-time model of its framing rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/json.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

/* Invariants every successful flatten must keep. */
static void check_doc(const struct vg_json_doc *d, size_t len)
{
	CHECK(d->nleaves >= 1 && d->nleaves <= len);
	for (uint32_t i = 0; i < d->nleaves; i++) {
		const struct vg_json_leaf *l = &d->leaves[i];

		CHECK(l->type <= VG_JSON_EMPTY_ARRAY);
		CHECK(l->depth <= VG_JSON_MAX_DEPTH);
		CHECK(l->path[l->path_len] == '\0');
		CHECK(l->value[l->value_len] == '\0');
		CHECK(l->value_len <= len);
		if (l->depth == 0)
			CHECK(l->path_len == 0 && !l->in_array);
	}
}

static void flatten(struct vg_json_doc *d, const char *s, size_t len)
{
	struct vg_json_error e;
	int rc = vg_json_flatten(d, s, len, &e);

	if (rc == 0) {
		check_doc(d, len);
		return;
	}
	CHECK(rc == VG_EPARSE || rc == VG_ETRUNC || rc == VG_ELIMIT || rc == VG_ENOMEM);
	CHECK(d->nleaves == 0);
	CHECK(e.reason && e.reason[0]);
	CHECK(e.offset <= len);
}

/* ------------------------------------------------------------ reader model */

/*
 * The reader's rules written the slow, obvious way (docs/json.md): the
 * library frames 64 bytes at a time with bit masks, this walks byte by byte.
 */
struct model {
	const uint8_t *d;
	size_t len, pos, max;
	uint64_t line;
	int in_array, resync, started;
};

static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1 closed (pos past it), 0 cut by '{' at column 0 (pos on it), 2 end of input. */
static int model_frame(struct model *m)
{
	size_t depth = m->d[m->pos] == '"' ? 0 : 1;
	int in_str = depth == 0, esc = 0, bol = 0;

	for (size_t i = m->pos + 1; i < m->len; i++) {
		uint8_t c = m->d[i];

		if (bol && c == '{') {
			m->pos = i;
			return 0;
		}
		bol = c == '\n';
		if (c == '\n')
			m->line++;
		if (esc) {
			esc = 0;
			continue;
		}
		if (c == '\\') {
			esc = 1;
			continue;
		}
		if (in_str) {
			if (c == '"') {
				in_str = 0;
				if (depth == 0) {
					m->pos = i + 1;
					return 1;
				}
			}
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				m->pos = i + 1;
				return 1;
			}
		}
	}
	m->pos = m->len;
	return 2;
}

static int model_next(struct model *m, uint64_t *off, uint64_t *line, size_t *vlen)
{
	size_t start;
	uint8_t c;
	int rc;

	*vlen = 0;
	if (!m->started) {
		if (m->len >= 3 && memcmp(m->d, "\xEF\xBB\xBF", 3) == 0)
			m->pos = 3;
		m->started = 1;
	}
	if (m->resync) {
		for (;;) {
			const uint8_t *nl = memchr(m->d + m->pos, '\n', m->len - m->pos);

			if (!nl) {
				m->pos = m->len;
				m->in_array = 0;
				return 0;
			}
			m->pos = (size_t)(nl - m->d) + 1;
			m->line++;
			while (m->pos < m->len && (m->d[m->pos] == ' ' || m->d[m->pos] == '\t' ||
						   m->d[m->pos] == '\r'))
				m->pos++;
			if (m->pos == m->len) {
				m->in_array = 0;
				return 0;
			}
			if (m->d[m->pos] == '{')
				break;
		}
		m->resync = 0;
	}
	for (;;) {
		if (m->pos == m->len) {
			*off = m->pos;
			*line = m->line;
			if (m->in_array) {
				m->in_array = 0;
				return VG_ETRUNC;
			}
			return 0;
		}
		c = m->d[m->pos];
		if (c == '\n') {
			m->line++;
			m->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			m->pos++;
		} else if (c == '[' && !m->in_array) {
			m->in_array = 1;
			m->pos++;
		} else if (m->in_array && (c == ']' || c == ',')) {
			m->in_array = c == ',';
			m->pos++;
		} else {
			break;
		}
	}
	start = m->pos;
	*off = start;
	*line = m->line;
	if (c == '{' || (m->in_array && (c == '[' || c == '"'))) {
		rc = model_frame(m);
		if (rc == 2)
			m->in_array = 0;
		if (m->pos - start > m->max)
			return VG_ELIMIT;
		if (rc != 1)
			return VG_ETRUNC;
		*vlen = m->pos - start;
		return 1;
	}
	if (m->in_array && (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n')) {
		while (m->pos < m->len && !is_ws(m->d[m->pos]) && !memchr(",]}[{\"", m->d[m->pos], 6))
			m->pos++;
		if (m->pos - start > m->max) {
			m->in_array = 0;
			m->resync = 1;
			return VG_ELIMIT;
		}
		*vlen = m->pos - start;
		return 1;
	}
	m->pos++;
	m->resync = 1;
	return VG_EPARSE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vg_json_doc doc; /* reused across inputs, as callers do */
	const char *s = (const char *)data;
	struct vg_json_reader *r;
	struct model m;
	size_t max_value;

	flatten(&doc, s, size);

	/* a small limit for about one input in four, to reach the oversized-value paths */
	max_value = size % 4 == 1 ? (size_t)(data[size - 1] % 64) + 1 : 0;
	if (vg_json_reader_open_mem(s, size, max_value, &r))
		return 0;
	memset(&m, 0, sizeof(m));
	m.d = data;
	m.len = size;
	m.line = 1;
	m.max = max_value ? max_value : (size_t)16 << 20;
	for (int n = 0;; n++) {
		const char *v;
		size_t len, mlen;
		uint64_t off, line, moff = 0, mline = 0;
		int rc = vg_json_reader_next(r, &v, &len, &off, &line);
		int mrc = model_next(&m, &moff, &mline, &mlen);

		CHECK(rc == mrc);
		CHECK(n <= (int)size + 2); /* every call makes progress */
		if (rc == 0)
			break;
		CHECK(off == moff && line == mline);
		CHECK(vg_json_reader_bytes(r) == m.pos);
		if (rc < 0) {
			CHECK(vg_json_reader_error(r)[0]);
			continue;
		}
		CHECK(len == mlen && v == s + off && len > 0 && off + len <= size);
		flatten(&doc, v, len);
	}
	vg_json_reader_free(r);
	return 0;
}
