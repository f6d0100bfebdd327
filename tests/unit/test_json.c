/* test_json.c - unit tests for the JSON flattener and the streaming reader (src/parsers/json.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "vigil/common.h"
#include "vigil/json.h"

/* Renders leaves as "path=value;" ("path[]=" for array elements) for compact asserts. */
static const char *dump(const struct vg_json_doc *d)
{
	static char out[8192];
	size_t n = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < d->nleaves && n < sizeof(out); i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s=%s;", d->leaves[i].path,
				      d->leaves[i].in_array ? "[]" : "", d->leaves[i].value);
	return out;
}

static int flat(struct vg_json_doc *d, const char *s, struct vg_json_error *e)
{
	return vg_json_flatten(d, s, strlen(s), e);
}

static const struct vg_json_leaf *find(const struct vg_json_doc *d, const char *path)
{
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (strcmp(d->leaves[i].path, path) == 0)
			return &d->leaves[i];
	return NULL;
}

TEST(json_top_level_scalars)
{
	struct vg_json_doc d;

	vg_json_doc_init(&d);
	ASSERT_EQ(flat(&d, " 42 ", NULL), 0);
	ASSERT_EQ(d.nleaves, 1);
	ASSERT_STR_EQ(d.leaves[0].path, "");
	ASSERT_STR_EQ(d.leaves[0].value, "42");
	ASSERT_EQ(d.leaves[0].type, VG_JSON_NUMBER);
	ASSERT_EQ(d.leaves[0].depth, 0);
	ASSERT_EQ(flat(&d, "\"hi\"", NULL), 0);
	ASSERT_EQ(d.leaves[0].type, VG_JSON_STRING);
	ASSERT_STR_EQ(d.leaves[0].value, "hi");
	ASSERT_EQ(flat(&d, "null", NULL), 0);
	ASSERT_EQ(d.leaves[0].type, VG_JSON_NULL);
	ASSERT_STR_EQ(d.leaves[0].value, "null");
	ASSERT_EQ(flat(&d, "true", NULL), 0);
	ASSERT_EQ(d.leaves[0].type, VG_JSON_TRUE);
	ASSERT_EQ(flat(&d, "false", NULL), 0);
	ASSERT_EQ(d.leaves[0].type, VG_JSON_FALSE);
	ASSERT_STR_EQ(d.leaves[0].value, "false");
	vg_json_doc_free(&d);
}

TEST(json_nested_paths)
{
	struct vg_json_doc d;
	const struct vg_json_leaf *l;

	vg_json_doc_init(&d);
	ASSERT_EQ(flat(&d, "{\"a\":{\"b\":1,\"c\":[1,{\"d\":true},[2,\"s\"]],\"e\":\"x\"},\"f\":null}",
		       NULL), 0);
	ASSERT_STR_EQ(dump(&d), "a.b=1;a.c[]=1;a.c.d=true;a.c[]=2;a.c[]=s;a.e=x;f=null;");
	l = find(&d, "a.b");
	ASSERT_TRUE(l);
	ASSERT_EQ(l->depth, 2);
	ASSERT_EQ(l->in_array, 0);
	l = find(&d, "a.c.d");
	ASSERT_TRUE(l);
	ASSERT_EQ(l->depth, 4);
	ASSERT_EQ(l->type, VG_JSON_TRUE);
	ASSERT_EQ(d.leaves[1].depth, 3);
	ASSERT_EQ(d.leaves[3].depth, 4);
	l = find(&d, "f");
	ASSERT_EQ(l->depth, 1);
	ASSERT_EQ(l->path_len, 1);
	ASSERT_EQ(l->value_len, 4);

	/* evtx_dump style */
	ASSERT_EQ(flat(&d, "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":"
			   "\"Microsoft-Windows-Sysmon\"}},\"EventID\":1}}}", NULL), 0);
	l = find(&d, "Event.System.Provider.#attributes.Name");
	ASSERT_TRUE(l);
	ASSERT_STR_EQ(l->value, "Microsoft-Windows-Sysmon");
	ASSERT_EQ(l->depth, 5);
	ASSERT_STR_EQ(find(&d, "Event.System.EventID")->value, "1");

	/* top-level array of objects: members keep plain key paths */
	ASSERT_EQ(flat(&d, "[{\"a\":1},{\"a\":2}]", NULL), 0);
	ASSERT_STR_EQ(dump(&d), "a=1;a=2;");
	/* an empty key still takes a '.' */
	ASSERT_EQ(flat(&d, "{\"\":{\"a\":1}}", NULL), 0);
	ASSERT_STR_EQ(dump(&d), ".a=1;");
	vg_json_doc_free(&d);
}

TEST(json_empty_containers)
{
	struct vg_json_doc d;

	vg_json_doc_init(&d);
	ASSERT_EQ(flat(&d, "{}", NULL), 0);
	ASSERT_EQ(d.nleaves, 1);
	ASSERT_EQ(d.leaves[0].type, VG_JSON_EMPTY_OBJECT);
	ASSERT_STR_EQ(d.leaves[0].value, "{}");
	ASSERT_EQ(d.leaves[0].depth, 0);
	ASSERT_EQ(flat(&d, " [ ] ", NULL), 0);
	ASSERT_EQ(d.leaves[0].type, VG_JSON_EMPTY_ARRAY);
	ASSERT_STR_EQ(d.leaves[0].value, "[]");
	ASSERT_EQ(flat(&d, "{\"a\":{ },\"b\":[],\"c\":[[],{}],\"Correlation\":null}", NULL), 0);
	ASSERT_STR_EQ(dump(&d), "a={};b=[];c[]=[];c[]={};Correlation=null;");
	ASSERT_EQ(d.leaves[0].type, VG_JSON_EMPTY_OBJECT);
	ASSERT_EQ(d.leaves[0].depth, 1);
	ASSERT_EQ(d.leaves[1].type, VG_JSON_EMPTY_ARRAY);
	ASSERT_EQ(d.leaves[2].depth, 2);
	ASSERT_EQ(d.leaves[2].in_array, 1);
	vg_json_doc_free(&d);
}

TEST(json_escapes)
{
	struct vg_json_doc d;

	vg_json_doc_init(&d);
	ASSERT_EQ(flat(&d, "{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\"}", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "C:\\Windows\\System32\\cmd.exe");
	ASSERT_EQ(d.leaves[0].value_len, strlen("C:\\Windows\\System32\\cmd.exe"));
	ASSERT_EQ(flat(&d, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "\"\\/\b\f\n\r\t");
	/* \u: 1, 2 and 3 byte forms, upper and lower hex */
	ASSERT_EQ(flat(&d, "\"\\u0041\\u00e9\\u20AC\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "A\xC3\xA9\xE2\x82\xAC");
	/* surrogate pair -> U+1F600 */
	ASSERT_EQ(flat(&d, "\"x\\ud83d\\ude00y\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "x\xF0\x9F\x98\x80y");
	ASSERT_EQ(d.leaves[0].value_len, 6);
	/* lone surrogates become U+FFFD */
	ASSERT_EQ(flat(&d, "\"\\ud83d\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "\xEF\xBF\xBD");
	ASSERT_EQ(flat(&d, "\"\\ude00x\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "\xEF\xBF\xBDx");
	ASSERT_EQ(flat(&d, "\"\\ud83d\\u0041\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "\xEF\xBF\xBD" "A");
	/* \u0000 is kept: value_len counts it */
	ASSERT_EQ(flat(&d, "\"a\\u0000b\"", NULL), 0);
	ASSERT_EQ(d.leaves[0].value_len, 3);
	ASSERT_EQ(memcmp(d.leaves[0].value, "a\0b", 4), 0);
	/* escapes in keys */
	ASSERT_EQ(flat(&d, "{\"k\\u00e9y\":{\"a\\\"b\":1}}", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].path, "k\xC3\xA9y.a\"b");
	/* tab and invalid UTF-8 pass through */
	ASSERT_EQ(flat(&d, "\"a\tb\xFF\xFE\xC3\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "a\tb\xFF\xFE\xC3");
	/* long strings cross the vector scan's 16-byte blocks */
	ASSERT_EQ(flat(&d, "\"0123456789abcdef0123456789abcdef\\\\0123456789abcdef0\"", NULL), 0);
	ASSERT_STR_EQ(d.leaves[0].value, "0123456789abcdef0123456789abcdef\\0123456789abcdef0");
	vg_json_doc_free(&d);
}

TEST(json_numbers)
{
	static const char *good[] = { "0", "-0", "0.5", "-1.5E-3", "1e10", "2E+2", "10",
				      "123456789012345678901234567890", "3.14159" };
	static const struct {
		const char *s;
		int rc;
		size_t off;
	} bad[] = {
		{ "01", VG_EPARSE, 1 },  { "1.", VG_ETRUNC, 2 },  { "-", VG_ETRUNC, 1 },
		{ ".5", VG_EPARSE, 0 },  { "1e", VG_ETRUNC, 2 },  { "+1", VG_EPARSE, 0 },
		{ "1.e3", VG_EPARSE, 2 }, { "1e+x", VG_EPARSE, 3 }, { "-a", VG_EPARSE, 1 },
		{ "[1,-]", VG_EPARSE, 4 }, { "1x", VG_EPARSE, 1 },
	};
	struct vg_json_doc d;
	struct vg_json_error e;

	vg_json_doc_init(&d);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ASSERT_EQ(flat(&d, good[i], &e), 0);
		ASSERT_STR_EQ(d.leaves[0].value, good[i]);
		ASSERT_EQ(d.leaves[0].type, VG_JSON_NUMBER);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.offset = 999;
		if (flat(&d, bad[i].s, &e) != bad[i].rc)
			VG_FAIL_("%s: rc %d, want %d", bad[i].s, flat(&d, bad[i].s, &e), bad[i].rc);
		ASSERT_EQ(e.offset, bad[i].off);
		ASSERT_EQ(d.nleaves, 0);
	}
	ASSERT_EQ(flat(&d, "{\"ProcessId\":4460,\"Keywords\":\"0x8000000000000000\"}", NULL), 0);
	ASSERT_STR_EQ(dump(&d), "ProcessId=4460;Keywords=0x8000000000000000;");
	vg_json_doc_free(&d);
}

TEST(json_depth_limit)
{
	struct vg_json_doc d;
	struct vg_json_error e;
	char buf[512];
	char *deep;
	size_t n = 100000;

	vg_json_doc_init(&d);
	/* exactly VG_JSON_MAX_DEPTH containers is fine */
	memset(buf, '[', VG_JSON_MAX_DEPTH);
	buf[VG_JSON_MAX_DEPTH] = '1';
	memset(buf + VG_JSON_MAX_DEPTH + 1, ']', VG_JSON_MAX_DEPTH);
	ASSERT_EQ(vg_json_flatten(&d, buf, 2 * VG_JSON_MAX_DEPTH + 1, &e), 0);
	ASSERT_EQ(d.nleaves, 1);
	ASSERT_EQ(d.leaves[0].depth, VG_JSON_MAX_DEPTH);
	/* one more is a limit error at the offending bracket */
	memset(buf, '[', VG_JSON_MAX_DEPTH + 1);
	buf[VG_JSON_MAX_DEPTH + 1] = '1';
	memset(buf + VG_JSON_MAX_DEPTH + 2, ']', VG_JSON_MAX_DEPTH + 1);
	ASSERT_EQ(vg_json_flatten(&d, buf, 2 * VG_JSON_MAX_DEPTH + 3, &e), VG_ELIMIT);
	ASSERT_EQ(e.offset, VG_JSON_MAX_DEPTH);
	/* nested objects count the same way */
	{
		size_t o = 0;

		for (int i = 0; i < VG_JSON_MAX_DEPTH + 1; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"a\":");
		ASSERT_EQ(vg_json_flatten(&d, buf, o, &e), VG_ELIMIT);
	}
	/* very deep input: no stack growth, no crash */
	deep = malloc(n);
	ASSERT_TRUE(deep);
	memset(deep, '[', n);
	ASSERT_EQ(vg_json_flatten(&d, deep, n, &e), VG_ELIMIT);
	memset(deep, '{', n);
	ASSERT_EQ(vg_json_flatten(&d, deep, n, &e), VG_EPARSE); /* a key was expected */
	free(deep);
	vg_json_doc_free(&d);
}

TEST(json_truncated_prefixes)
{
	static const char doc[] =
		"{\"a\":[1,true,\"x\\u00e9\\\\\",-2.5e3,null],\"b\":{\"c\":false,\"d\":{}},"
		"\"e\":\"0123456789abcdef0123456789\"}";
	struct vg_json_doc d;
	struct vg_json_error e;
	size_t n = strlen(doc);

	vg_json_doc_init(&d);
	ASSERT_EQ(vg_json_flatten(&d, doc, n, &e), 0);
	ASSERT_EQ(d.nleaves, 8);
	for (size_t i = 0; i < n; i++) {
		int rc = vg_json_flatten(&d, doc, i, &e);

		if (rc != VG_ETRUNC)
			VG_FAIL_("prefix %zu: rc %d (%s)", i, rc, rc ? e.reason : "ok");
		if (e.offset != i)
			VG_FAIL_("prefix %zu: offset %zu (%s)", i, e.offset, e.reason);
		ASSERT_TRUE(e.reason && e.reason[0]);
	}
	ASSERT_EQ(flat(&d, "", &e), VG_ETRUNC);
	ASSERT_STR_EQ(e.reason, "empty input");
	ASSERT_EQ(flat(&d, " \n\t ", &e), VG_ETRUNC);
	ASSERT_EQ(flat(&d, "tru", &e), VG_ETRUNC);
	ASSERT_EQ(e.offset, 3);
	ASSERT_EQ(flat(&d, "[nul", &e), VG_ETRUNC);
	vg_json_doc_free(&d);
}

TEST(json_garbage_errors)
{
	static const struct {
		const char *s;
		int rc;
		size_t off;
		const char *reason;
	} cases[] = {
		{ "{\"a\" 1}", VG_EPARSE, 5, "expected ':' after object key" },
		{ "{\"a\":1,}", VG_EPARSE, 7, "expected a string key" },
		{ "{a:1}", VG_EPARSE, 1, "expected a string key" },
		{ "{\"a\":1]", VG_EPARSE, 6, "expected ',' or '}' after object member" },
		{ "[1 2]", VG_EPARSE, 3, "expected ',' or ']' after array element" },
		{ "[1,]", VG_EPARSE, 3, "expected a value" },
		{ "{\"a\":1}x", VG_EPARSE, 7, "unexpected text after the value" },
		{ "{\"a\":1}{\"b\":2}", VG_EPARSE, 7, "unexpected text after the value" },
		{ "\"a\nb\"", VG_EPARSE, 2, "raw line break in string" },
		{ "\"a\rb\"", VG_EPARSE, 2, "raw line break in string" },
		{ "\"a\x01\"", VG_EPARSE, 2, "control character in string" },
		{ "\"C:\\Windows\"", VG_EPARSE, 3, "invalid escape in string" },
		{ "\"\\u12G4\"", VG_EPARSE, 1, "invalid \\u escape" },
		{ "\"\\u12\"", VG_EPARSE, 1, "invalid \\u escape" },
		{ "{\"k\\q\":1}", VG_EPARSE, 3, "invalid escape in string" },
		{ "}", VG_EPARSE, 0, "expected a value" },
		{ "xyz", VG_EPARSE, 0, "expected a value" },
		{ "trUe", VG_EPARSE, 0, "invalid literal" },
		{ "nulll", VG_EPARSE, 4, "unexpected text after the value" },
		{ "\"abc", VG_ETRUNC, 4, "unterminated string" },
		{ "{\"a\":", VG_ETRUNC, 5, "expected a value" },
	};
	struct vg_json_doc d;
	struct vg_json_error e;

	vg_json_doc_init(&d);
	/* a good parse first: errors must clear the leaves */
	ASSERT_EQ(flat(&d, "{\"a\":1}", &e), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = flat(&d, cases[i].s, &e);

		if (rc != cases[i].rc || e.offset != cases[i].off || strcmp(e.reason, cases[i].reason))
			VG_FAIL_("case %zu: rc %d off %zu \"%s\"; want %d %zu \"%s\"", i, rc, e.offset,
				 e.reason, cases[i].rc, cases[i].off, cases[i].reason);
		ASSERT_EQ(d.nleaves, 0);
	}
	/* err may be NULL */
	ASSERT_EQ(flat(&d, "[", NULL), VG_ETRUNC);
	/* binary garbage with NUL bytes, length-bounded */
	ASSERT_EQ(vg_json_flatten(&d, "\"a\0b\"", 5, &e), VG_EPARSE);
	ASSERT_EQ(e.offset, 2);
	ASSERT_EQ(vg_json_flatten(&d, "[1]\0", 4, &e), VG_EPARSE);
	ASSERT_EQ(e.offset, 3);
	vg_json_doc_free(&d);
}

TEST(json_bom_and_whitespace)
{
	struct vg_json_doc d;

	vg_json_doc_init(&d);
	ASSERT_EQ(flat(&d, "\xEF\xBB\xBF{\"a\":1}\r\n", NULL), 0);
	ASSERT_STR_EQ(dump(&d), "a=1;");
	ASSERT_EQ(flat(&d, "\r\n {\r\n  \"a\" :\t[ 1 , 2 ] ,\r\n \"b\" : \"c\"\r\n}\r\n", NULL), 0);
	ASSERT_STR_EQ(dump(&d), "a[]=1;a[]=2;b=c;");
	vg_json_doc_free(&d);
}

/* Many leaves force the arena and leaf array to grow several times: earlier pointers must stay valid. */
TEST(json_arena_growth_and_reuse)
{
	struct vg_json_doc d;
	size_t cap = 1 << 20, n = 0;
	char *s = malloc(cap);
	char want[64];

	ASSERT_TRUE(s);
	vg_json_doc_init(&d);
	n += (size_t)snprintf(s + n, cap - n, "{\"root\":{");
	for (int i = 0; i < 5000; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s\"key%d\":\"C:\\\\path\\\\value%d\"",
				      i ? "," : "", i, i);
	n += (size_t)snprintf(s + n, cap - n, "}}");
	for (int round = 0; round < 3; round++) {
		ASSERT_EQ(vg_json_flatten(&d, s, n, NULL), 0);
		ASSERT_EQ(d.nleaves, 5000);
		for (int i = 0; i < 5000; i += 499) {
			snprintf(want, sizeof(want), "root.key%d", i);
			ASSERT_STR_EQ(d.leaves[i].path, want);
			snprintf(want, sizeof(want), "C:\\path\\value%d", i);
			ASSERT_STR_EQ(d.leaves[i].value, want);
			ASSERT_EQ(d.leaves[i].value_len, strlen(want));
		}
		/* a small document in between reuses the memory */
		ASSERT_EQ(flat(&d, "{\"x\":[true]}", NULL), 0);
		ASSERT_STR_EQ(dump(&d), "x[]=true;");
	}
	vg_json_doc_free(&d);
	vg_json_doc_free(&d); /* free twice is harmless after free zeroes */
	free(s);
}

/* A long key above many members would multiply the output: that is a limit error, not an allocation storm. */
TEST(json_output_limit)
{
	struct vg_json_doc d;
	struct vg_json_error e;
	size_t key = 200000, members = 20000, cap = key + members * 8 + 64, n = 0;
	char *s = malloc(cap);

	ASSERT_TRUE(s);
	s[n++] = '{';
	s[n++] = '"';
	memset(s + n, 'k', key);
	n += key;
	n += (size_t)snprintf(s + n, cap - n, "\":[");
	for (size_t i = 0; i < members; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s{\"a\":1}", i ? "," : "");
	n += (size_t)snprintf(s + n, cap - n, "]}");
	vg_json_doc_init(&d);
	ASSERT_EQ(vg_json_flatten(&d, s, n, &e), VG_ELIMIT);
	ASSERT_STR_EQ(e.reason, "flattened document too large");
	vg_json_doc_free(&d);
	free(s);
}

/* ------------------------------------------------------------------ reader */

struct rd_item {
	int rc;
	uint64_t off, line;
	char text[96];
};

/* Reads everything from r into items (at most max). Returns the count. */
static size_t read_all(struct vg_json_reader *r, struct rd_item *items, size_t max)
{
	size_t n = 0;

	for (;;) {
		const char *v;
		size_t len;
		uint64_t off, line;
		int rc = vg_json_reader_next(r, &v, &len, &off, &line);

		if (rc == 0 || n == max)
			break;
		items[n].rc = rc;
		items[n].off = off;
		items[n].line = line;
		items[n].text[0] = '\0';
		if (rc == 1)
			snprintf(items[n].text, sizeof(items[n].text), "%.*s", (int)len, v);
		n++;
	}
	return n;
}

static size_t read_mem(const char *s, size_t max_value, struct rd_item *items, size_t max)
{
	struct vg_json_reader *r;
	size_t n;

	if (vg_json_reader_open_mem(s, strlen(s), max_value, &r))
		return (size_t)-1;
	n = read_all(r, items, max);
	vg_json_reader_free(r);
	return n;
}

/* Writes s to a temporary file and returns its path (static buffer). */
static const char *write_tmp(const char *s, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/vigil-test-json-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, s, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static size_t read_file(const char *s, size_t max_value, struct rd_item *items, size_t max)
{
	const char *path = write_tmp(s, strlen(s));
	struct vg_json_reader *r;
	size_t n;

	if (!path || vg_json_reader_open(path, max_value, &r)) {
		if (path)
			unlink(path);
		return (size_t)-1;
	}
	n = read_all(r, items, max);
	vg_json_reader_free(r);
	unlink(path);
	return n;
}

TEST(json_reader_json_lines)
{
	static const char in[] = "{\"a\":1}\n{\"b\":\"x}{\"}\n\n  {\"c\":[1,{\"d\":2}]}\n";
	struct rd_item it[8];

	for (int mode = 0; mode < 2; mode++) {
		size_t n = mode ? read_file(in, 0, it, 8) : read_mem(in, 0, it, 8);

		ASSERT_EQ(n, 3);
		ASSERT_EQ(it[0].rc, 1);
		ASSERT_STR_EQ(it[0].text, "{\"a\":1}");
		ASSERT_EQ(it[0].line, 1);
		ASSERT_EQ(it[0].off, 0);
		ASSERT_STR_EQ(it[1].text, "{\"b\":\"x}{\"}");
		ASSERT_EQ(it[1].line, 2);
		ASSERT_EQ(it[1].off, 8);
		ASSERT_STR_EQ(it[2].text, "{\"c\":[1,{\"d\":2}]}");
		ASSERT_EQ(it[2].line, 4);
		ASSERT_EQ(it[2].off, 23);
	}
}

TEST(json_reader_pretty_back_to_back)
{
	static const char in[] =
		"{\n  \"Event\": {\n    \"System\": {\n      \"EventID\": 1\n    },\n"
		"    \"EventData\": {\n      \"Image\": \"C:\\\\x.exe\",\n      \"L\": [\n"
		"        {\n          \"n\": 1\n        }\n      ]\n    }\n  }\n}\n"
		"{\n  \"Event\": {\n    \"EventData\": {}\n  }\n}\n"
		"{\"Event\":{}}{\"Event\":[]}\n";
	struct rd_item it[8];
	struct vg_json_doc d;
	struct vg_json_reader *r;
	const char *v;
	size_t len, n = read_mem(in, 0, it, 8);
	uint64_t off, line;

	ASSERT_EQ(n, 4);
	ASSERT_EQ(it[0].line, 1);
	ASSERT_EQ(it[1].line, 16);
	ASSERT_EQ(it[2].line, 21);
	ASSERT_EQ(it[3].line, 21);
	ASSERT_STR_EQ(it[2].text, "{\"Event\":{}}");
	ASSERT_STR_EQ(it[3].text, "{\"Event\":[]}");
	ASSERT_EQ(it[3].off, strlen(in) - 13);

	vg_json_doc_init(&d);
	ASSERT_EQ(vg_json_reader_open_mem(in, strlen(in), 0, &r), 0);
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 1);
	ASSERT_EQ(vg_json_flatten(&d, v, len, NULL), 0);
	ASSERT_STR_EQ(dump(&d), "Event.System.EventID=1;Event.EventData.Image=C:\\x.exe;"
				"Event.EventData.L.n=1;");
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 1);
	ASSERT_EQ(vg_json_flatten(&d, v, len, NULL), 0);
	ASSERT_STR_EQ(dump(&d), "Event.EventData={};");
	vg_json_reader_free(r);
	vg_json_doc_free(&d);
}

TEST(json_reader_top_level_array)
{
	static const char pretty[] = "[\n  {\n    \"a\": 1\n  },\n  {\n    \"a\": [2]\n  }\n]\n";
	static const char compact[] = "[{\"a\":1},{\"b\":\"]\"} , [3] ,\"s\",-1.5,true]\n{\"c\":3}\n";
	struct rd_item it[16];
	size_t n;

	n = read_mem(pretty, 0, it, 16);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(it[0].line, 2);
	ASSERT_EQ(it[0].off, 4);
	ASSERT_EQ(it[1].line, 5);
	ASSERT_EQ(it[1].rc, 1);

	n = read_mem(compact, 0, it, 16);
	ASSERT_EQ(n, 7);
	ASSERT_STR_EQ(it[0].text, "{\"a\":1}");
	ASSERT_STR_EQ(it[1].text, "{\"b\":\"]\"}");
	ASSERT_STR_EQ(it[2].text, "[3]");
	ASSERT_STR_EQ(it[3].text, "\"s\"");
	ASSERT_STR_EQ(it[4].text, "-1.5");
	ASSERT_STR_EQ(it[5].text, "true");
	ASSERT_STR_EQ(it[6].text, "{\"c\":3}");
	ASSERT_EQ(it[6].line, 2);

	/* an array that never closes is reported once at the end */
	n = read_mem("[{\"a\":1},\n", 0, it, 16);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(it[0].rc, 1);
	ASSERT_EQ(it[1].rc, VG_ETRUNC);
}

TEST(json_reader_broken_line_resync)
{
	static const char in[] =
		"{\"a\":1}\n"
		"{\"b\":2,\"c\":\n"       /* cut short: next line starts a value at column 0 */
		"{\"d\":3}\n"
		"{\"e\":\"unterminated\n" /* cut inside a string */
		"{\"f\":4}\n"
		"garbage here {\"g\":5}\n" /* skipped up to the next line starting with '{' */
		"   {\"h\":6}\r\n"
		"{\"i\":7}}]\n"            /* stray closers after a good value */
		"\t{\"j\":8}\n"
		"{\"k\":9";               /* input ends inside the value */
	struct rd_item it[16];

	for (int mode = 0; mode < 2; mode++) {
		size_t n = mode ? read_file(in, 0, it, 16) : read_mem(in, 0, it, 16);

		ASSERT_EQ(n, 11);
		ASSERT_EQ(it[0].rc, 1);
		ASSERT_EQ(it[1].rc, VG_ETRUNC);
		ASSERT_EQ(it[1].line, 2);
		ASSERT_EQ(it[1].off, 8);
		ASSERT_STR_EQ(it[2].text, "{\"d\":3}");
		ASSERT_EQ(it[2].line, 3);
		ASSERT_EQ(it[3].rc, VG_ETRUNC);
		ASSERT_EQ(it[3].line, 4);
		ASSERT_STR_EQ(it[4].text, "{\"f\":4}");
		ASSERT_EQ(it[4].line, 5);
		ASSERT_EQ(it[5].rc, VG_EPARSE);
		ASSERT_EQ(it[5].line, 6);
		ASSERT_STR_EQ(it[6].text, "{\"h\":6}");
		ASSERT_EQ(it[6].line, 7);
		ASSERT_STR_EQ(it[7].text, "{\"i\":7}");
		ASSERT_EQ(it[8].rc, VG_EPARSE);
		ASSERT_EQ(it[8].line, 8);
		ASSERT_STR_EQ(it[9].text, "{\"j\":8}");
		ASSERT_EQ(it[9].line, 9);
		ASSERT_EQ(it[10].rc, VG_ETRUNC);
		ASSERT_EQ(it[10].line, 10);
	}
}

/* The reader only frames: a balanced but malformed value is handed over for flatten to reject. */
TEST(json_reader_framing_then_flatten_error)
{
	static const char in[] = "{\"a\" 1}\n{\"b\":2}\n";
	struct vg_json_reader *r;
	struct vg_json_doc d;
	struct vg_json_error e;
	const char *v;
	size_t len;
	uint64_t off, line;

	vg_json_doc_init(&d);
	ASSERT_EQ(vg_json_reader_open_mem(in, strlen(in), 0, &r), 0);
	ASSERT_STR_EQ(vg_json_reader_error(r), "no error");
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 1);
	ASSERT_EQ(vg_json_flatten(&d, v, len, &e), VG_EPARSE);
	ASSERT_EQ(off + e.offset, 5);
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 1);
	ASSERT_EQ(line, 2);
	ASSERT_EQ(vg_json_flatten(&d, v, len, &e), 0);
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 0);
	ASSERT_EQ(vg_json_reader_bytes(r), strlen(in));
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 0);
	vg_json_reader_free(r);
	vg_json_reader_free(NULL);
	vg_json_doc_free(&d);
}

TEST(json_reader_oversized_value)
{
	char in[1024];
	struct rd_item it[8];
	size_t o = 0;

	o += (size_t)snprintf(in + o, sizeof(in) - o, "{\"a\":1}\n{\"big\":\"");
	memset(in + o, 'x', 300);
	o += 300;
	o += (size_t)snprintf(in + o, sizeof(in) - o, "\"}\n{\"b\":2}\n[{\"c\":3},{\"d\":\"");
	memset(in + o, 'y', 300);
	o += 300;
	o += (size_t)snprintf(in + o, sizeof(in) - o, "\"},{\"e\":4}]\n");
	for (int mode = 0; mode < 2; mode++) {
		size_t n = mode ? read_file(in, 64, it, 8) : read_mem(in, 64, it, 8);

		ASSERT_EQ(n, 6);
		ASSERT_EQ(it[0].rc, 1);
		ASSERT_EQ(it[1].rc, VG_ELIMIT);
		ASSERT_EQ(it[1].line, 2);
		ASSERT_EQ(it[1].off, 8);
		ASSERT_STR_EQ(it[2].text, "{\"b\":2}");
		ASSERT_STR_EQ(it[3].text, "{\"c\":3}");
		ASSERT_EQ(it[4].rc, VG_ELIMIT);
		ASSERT_STR_EQ(it[5].text, "{\"e\":4}");
	}
}

/* A value much larger than one read chunk is skipped without being held in memory. */
TEST(json_reader_oversized_across_chunks)
{
	size_t big = 5u << 20, cap = big + 256, o = 0;
	char *s = malloc(cap);
	struct rd_item it[8];
	size_t n;

	ASSERT_TRUE(s);
	/* one long string full of brackets and escaped quotes: framing must track string state */
	o += (size_t)snprintf(s + o, cap - o, "{\"a\":1}\n{\"big\":\"");
	for (size_t i = 0; i < big / 4; i++) {
		memcpy(s + o, "{[\\\"", 4);
		o += 4;
	}
	o += (size_t)snprintf(s + o, cap - o, "\"}\n{\"b\":2}\n");
	s[o] = '\0';
	n = read_file(s, 1u << 20, it, 8);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(it[1].rc, VG_ELIMIT);
	ASSERT_EQ(it[1].line, 2);
	ASSERT_STR_EQ(it[2].text, "{\"b\":2}");
	ASSERT_EQ(it[2].line, 3);
	/* the same value within the limit is framed whole */
	n = read_file(s, 8u << 20, it, 8);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(it[1].rc, 1);
	ASSERT_EQ(it[2].line, 3);
	free(s);
}

TEST(json_reader_crlf_and_bom)
{
	static const char in[] = "\xEF\xBB\xBF{\"a\":\"C:\\\\x\"}\r\n{\r\n  \"b\": 2\r\n}\r\n";
	struct rd_item it[8];
	struct vg_json_doc d;

	for (int mode = 0; mode < 2; mode++) {
		size_t n = mode ? read_file(in, 0, it, 8) : read_mem(in, 0, it, 8);

		ASSERT_EQ(n, 2);
		ASSERT_STR_EQ(it[0].text, "{\"a\":\"C:\\\\x\"}");
		ASSERT_EQ(it[0].off, 3);
		ASSERT_EQ(it[0].line, 1);
		ASSERT_STR_EQ(it[1].text, "{\r\n  \"b\": 2\r\n}");
		ASSERT_EQ(it[1].line, 2);
	}
	vg_json_doc_init(&d);
	ASSERT_EQ(vg_json_flatten(&d, it[1].text, strlen(it[1].text), NULL), 0);
	ASSERT_STR_EQ(dump(&d), "b=2;");
	vg_json_doc_free(&d);
}

TEST(json_reader_open_errors)
{
	struct vg_json_reader *r = (void *)1;

	ASSERT_EQ(vg_json_reader_open("/nonexistent/vigil.json", 0, &r), -2 /* -ENOENT */);
	ASSERT_NULL(r);
	ASSERT_EQ(vg_json_reader_open_mem("", 0, 0, &r), 0);
	{
		const char *v;
		size_t len;
		uint64_t off, line;

		ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 0);
	}
	vg_json_reader_free(r);
}

/* Reading a file in 1 MiB chunks must give exactly what reading the same bytes from memory gives. */
TEST(json_reader_file_matches_memory)
{
	size_t cap = 4u << 20, o = 0;
	char *s = malloc(cap + 1);
	const char *path;
	struct vg_json_reader *rf, *rm;
	int i = 0, count = 0;

	ASSERT_TRUE(s);
	while (o < cap - 400) {
		switch (i++ % 4) {
		case 0:
			o += (size_t)snprintf(s + o, cap - o,
					      "{\"Event\":{\"EventData\":{\"Image\":\"C:\\\\W\\\\%d.exe\"}}}\n", i);
			break;
		case 1:
			o += (size_t)snprintf(s + o, cap - o, "{\n  \"n\": %d,\n  \"s\": \"a\\\"{\"\n}\n", i);
			break;
		case 2:
			o += (size_t)snprintf(s + o, cap - o, "{\"cut\":\"%d\n", i);
			break;
		case 3:
			o += (size_t)snprintf(s + o, cap - o, "junk %d\r\n", i);
			break;
		}
	}
	path = write_tmp(s, o);
	ASSERT_TRUE(path);
	ASSERT_EQ(vg_json_reader_open(path, 0, &rf), 0);
	ASSERT_EQ(vg_json_reader_open_mem(s, o, 0, &rm), 0);
	for (;;) {
		const char *v1, *v2;
		size_t l1, l2;
		uint64_t o1, o2, n1, n2;
		int a = vg_json_reader_next(rf, &v1, &l1, &o1, &n1);
		int b = vg_json_reader_next(rm, &v2, &l2, &o2, &n2);

		if (a != b || o1 != o2 || n1 != n2) {
			unlink(path);
			VG_FAIL_("value %d: file %d@%llu:%llu mem %d@%llu:%llu", count, a,
				 (unsigned long long)o1, (unsigned long long)n1, b,
				 (unsigned long long)o2, (unsigned long long)n2);
		}
		if (a == 0)
			break;
		if (a == 1 && (l1 != l2 || memcmp(v1, v2, l1) != 0)) {
			unlink(path);
			VG_FAIL_("value %d differs", count);
		}
		count++;
	}
	ASSERT_EQ(vg_json_reader_bytes(rf), o);
	ASSERT_GE(count, 10000);
	vg_json_reader_free(rf);
	vg_json_reader_free(rm);
	unlink(path);
	free(s);
}

/* Every evtx_dump JSON file in the Sigma regression data frames and flattens, one value per top-level object. */
TEST(json_regression_data)
{
	char cmd[1024], *list = NULL, *line, *save = NULL;
	struct vg_json_doc d;
	int files = 0, values = 0;

	snprintf(cmd, sizeof(cmd), "find '%s/sigma/regression_data' -name '*.json' 2>/dev/null",
		 vg_test_shared_dir());
	ASSERT_EQ(vg_test_run(cmd, &list), 0);
	vg_json_doc_init(&d);
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct vg_json_reader *r;
		const char *v;
		size_t len;
		uint64_t off, ln;
		int rc, expect = 0;
		FILE *f = fopen(line, "r");
		char buf[4096];

		if (!f)
			continue;
		while (fgets(buf, sizeof(buf), f))
			if (buf[0] == '{')
				expect++;
		fclose(f);
		if (vg_json_reader_open(line, 0, &r))
			VG_FAIL_("open %s", line);
		files++;
		while ((rc = vg_json_reader_next(r, &v, &len, &off, &ln)) == 1) {
			struct vg_json_error e;

			if (vg_json_flatten(&d, v, len, &e))
				VG_FAIL_("%s:%llu: %s", line, (unsigned long long)ln, e.reason);
			if (!find(&d, "Event.System.EventID") &&
			    !find(&d, "Event.System.EventID.#text"))
				VG_FAIL_("%s:%llu: no EventID", line, (unsigned long long)ln);
			expect--;
			values++;
		}
		vg_json_reader_free(r);
		if (rc != 0 || expect != 0)
			VG_FAIL_("%s: rc %d, %d values unaccounted", line, rc, expect);
	}
	vg_json_doc_free(&d);
	free(list);
	ASSERT_GE(files, 100);
	ASSERT_GE(values, files);
}

/* Escapes, quotes and newlines at every position around the 64-byte block edges of the framer. */
TEST(json_reader_block_edges)
{
	static const char *const tails[] = { "\\\\", "\\\"", "\\\\\\\"", "}\\\"{", "\\\\\"" };
	char in[512], want[256];
	struct rd_item it[4];

	for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		for (int k = 0; k < 140; k++) {
			int w, n;

			/* the last tail closes the string early; then the value goes on as a key */
			if (t == 4)
				w = snprintf(want, sizeof(want), "{\"a\":\"%.*s%s:1}", k,
					     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					     "xxxxxxxx", tails[t]);
			else
				w = snprintf(want, sizeof(want), "{\"a\":\"%.*s%s\"}", k,
					     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					     "xxxxxxxx", tails[t]);
			n = snprintf(in, sizeof(in), "%s\n{\"b\":[\n1]}\n", want);
			ASSERT_TRUE(w > 0 && n > 0);
			if (read_mem(in, 0, it, 4) != 2) {
				VG_FAIL_("tail %zu, k %d: %s", t, k, in);
			}
			if (strncmp(it[0].text, want, sizeof(it[0].text) - 1) != 0)
				VG_FAIL_("tail %zu, k %d: got %s", t, k, it[0].text);
			ASSERT_EQ(it[1].line, 2);
			ASSERT_EQ(it[1].off, (uint64_t)w + 1);
		}
	}
}

/* On a pipe, a complete value is returned at once, not held back until more input arrives. */
TEST(json_reader_pipe_returns_values_promptly)
{
	int fds[2];
	char path[64];
	struct vg_json_reader *r;
	const char *v;
	size_t len;
	uint64_t off, line;

	ASSERT_EQ(pipe(fds), 0);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	ASSERT_EQ(write(fds[1], "{\"a\":1}\n{\"b\":", 13), 13);
	ASSERT_EQ(vg_json_reader_open(path, 0, &r), 0);
	alarm(10); /* a regression would block in read(): fail loudly instead of hanging */
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 1);
	ASSERT_EQ(len, 7);
	ASSERT_EQ(write(fds[1], "2}\n", 3), 3);
	close(fds[1]);
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 1);
	ASSERT_EQ(line, 2);
	ASSERT_EQ(len, 7);
	ASSERT_EQ(vg_json_reader_next(r, &v, &len, &off, &line), 0);
	alarm(0);
	vg_json_reader_free(r);
	close(fds[0]);
}
