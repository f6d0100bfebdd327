/* json.h - a fast, bounds-checked JSON parser that flattens one document into path/value leaves, and a streaming reader that frames documents. */
#ifndef VIGIL_JSON_H
#define VIGIL_JSON_H

#include <stddef.h>
#include <stdint.h>

enum vg_json_type {
	VG_JSON_NULL = 0,
	VG_JSON_FALSE,
	VG_JSON_TRUE,
	VG_JSON_NUMBER,
	VG_JSON_STRING,
	VG_JSON_EMPTY_OBJECT, /* {} : kept so nothing the source said is lost */
	VG_JSON_EMPTY_ARRAY,  /* [] */
};

/*
 * One scalar leaf. path joins object keys with '.', e.g.
 * "Event.System.Provider.#attributes.Name"; array elements keep their
 * parent's path (so repeated leaves share a path, in document order) and
 * set in_array. value is unescaped UTF-8, NUL-terminated, for every type
 * (numbers as written, true/false/null as those words).
 */
struct vg_json_leaf {
	const char *path;
	const char *value;
	uint32_t path_len;
	uint32_t value_len;
	uint8_t type;      /* enum vg_json_type */
	uint8_t in_array;
	uint16_t depth;    /* nesting depth of the leaf, top-level members are 1 */
};

/* A flattened document. Reuse one across calls: memory is kept and grown. */
struct vg_json_doc {
	struct vg_json_leaf *leaves;
	uint32_t nleaves;
	/* private */
	uint32_t cap;
	char *buf;       /* unescaped strings and joined paths */
	size_t buf_len, buf_cap;
	char *path;      /* path stack */
	size_t path_len, path_cap;
};

/* Where and why a parse failed. */
struct vg_json_error {
	size_t offset;      /* byte offset in the parsed text */
	const char *reason; /* static text, e.g. "expected ':' after object key" */
};

/* Limits: deeper nesting or larger documents are errors, never crashes. */
#define VG_JSON_MAX_DEPTH 64

void vg_json_doc_init(struct vg_json_doc *doc);
void vg_json_doc_free(struct vg_json_doc *doc); /* frees memory; the struct may be reused after init */

/*
 * Parses one JSON value from data[0..len) (trailing whitespace allowed) and
 * replaces doc's leaves with its flattening. A top-level scalar gives one
 * leaf with an empty path. Returns 0; VG_EPARSE or VG_ETRUNC with err filled
 * (err may be NULL); VG_ELIMIT past VG_JSON_MAX_DEPTH; VG_ENOMEM.
 */
int vg_json_flatten(struct vg_json_doc *doc, const char *data, size_t len,
		    struct vg_json_error *err);

/*
 * Streaming reader over a file: frames one top-level JSON value at a time
 * from JSON lines, concatenated or pretty-printed objects, or a top-level
 * array of objects (each element is one value). Reads in chunks; never holds
 * more than the current value plus one chunk. Values larger than max_value
 * bytes are skipped with an error.
 */
struct vg_json_reader;

/* Opens path ("-" is stdin); max_value 0 means 16 MiB. Returns 0 or -errno / VG_ENOMEM. Free with vg_json_reader_free. */
int vg_json_reader_open(const char *path, size_t max_value, struct vg_json_reader **out);
/* Reads from a memory buffer instead of a file (borrowed; must outlive the reader). */
int vg_json_reader_open_mem(const char *data, size_t len, size_t max_value,
			    struct vg_json_reader **out);
void vg_json_reader_free(struct vg_json_reader *r); /* accepts NULL */

/*
 * Frames the next value. Returns 1 with *data, *len set to the value's bytes
 * (valid until the next call) and *offset, *line to where it starts (byte
 * offset from 0, line from 1); 0 at end of input; a negative error (VG_EPARSE
 * for text that is not a value, VG_ETRUNC for a value cut short by a '{' at
 * the start of a later line or by the end of input, VG_ELIMIT for an
 * oversized value, -errno for I/O)
 * with *offset, *line set to where the bad value started and the reason in
 * vg_json_reader_error(). After an error the reader has resynchronised at the
 * next line that starts a value: call again to go on.
 */
int vg_json_reader_next(struct vg_json_reader *r, const char **data, size_t *len,
			uint64_t *offset, uint64_t *line);
const char *vg_json_reader_error(const struct vg_json_reader *r);
uint64_t vg_json_reader_bytes(const struct vg_json_reader *r); /* bytes consumed so far */

#endif /* VIGIL_JSON_H */
