/* evtx.c - the EVTX reader: libevtx (in a worker process) walks the file's records, expat turns each record's event XML into a vg_winrec. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <expat.h>
/*
 * Debian's libevtx.h includes libbfio.h (from libbfio-dev) for the bfio
 * handle functions, which we do not use: hide them rather than add a
 * build dependency.
 */
#include <libevtx/features.h>
#undef LIBEVTX_HAVE_BFIO
#include <libevtx.h>

#include "vigil/common.h"
#include "vigil/evtx.h"

/*
 * Limits (see docs/evtx.md). A record lives in one 64 KiB chunk, so its XML
 * is normally a few KiB (12 KiB is the largest in the sample set); the input
 * cap only bounds what a hostile template can make libevtx render.
 */
#define XML_MAX_INPUT   (4u << 20) /* bytes of event XML accepted per record */
#define XML_MAX_ITEMS   4096u      /* EventData/UserData items per record */
#define XML_MAX_DEPTH   32u        /* element nesting below and including <Event> */
#define XML_MAX_TEXT    (8u << 20) /* decoded text kept per record (U+FFFD for bad bytes can triple it) */

/*
 * Control characters other than TAB, LF and CR are not allowed in XML 1.0,
 * but Windows data holds them (garbage in Security PrivilegeList values)
 * and libevtx writes them raw. Before expat sees them they become the
 * private-use characters U+F700 + c, turned back into the byte afterwards.
 */
#define PH_LEAD0 0xefu
#define PH_LEAD1 0x9cu

/*
 * How event XML becomes a vg_winrec (element names compared without their
 * namespace prefix):
 *   System: EventID text (a Qualifiers attribute does not change it),
 *     EventRecordID, Channel, Computer; Provider@Name,
 *     TimeCreated@SystemTime, Security@UserID, Execution@ProcessID/ThreadID.
 *   EventData: Data@Name -> item "Name"; Data without a (non-empty) Name
 *     -> "Data", "Data1", "Data2"... in document order; Binary -> "Binary";
 *     other children -> their element name.
 *   Any other child of Event except RenderingInfo (UserData,
 *     ProcessingErrorData, DebugData): each leaf element below it -> an item
 *     named after that element.
 * libevtx puts whitespace only between elements (newline and indentation),
 * never inside a value, so the text of a leaf is kept byte for byte and the
 * text of an element with children is dropped.
 */

/* What an open element means to us; decides what its text and children become. */
enum frame_kind {
	K_SKIP,      /* ignored subtree (RenderingInfo, unknown System children...) */
	K_EVENT,     /* the <Event> root */
	K_SYSTEM,    /* <System> */
	K_SYSTEXT,   /* a System child whose text we keep (EventID, Channel...) */
	K_EVENTDATA, /* <EventData>: Data and Binary children are items */
	K_SECTION,   /* <UserData> or another payload section: leaf descendants are items */
	K_ITEM,      /* a would-be item; becomes K_SECTION when it gets a child */
};

/* System values kept as text. */
enum sys_field {
	F_NONE,
	F_EVENT_ID,
	F_RECORD_ID,
	F_CHANNEL,
	F_COMPUTER,
	F_COUNT,
};

/* A span of the text buffer; off == SIZE_MAX means absent. Offsets, not
 * pointers, because the buffer may move while it grows. */
struct span {
	size_t off;
	size_t len;
};

struct frame {
	enum frame_kind kind;
	enum sys_field field; /* K_SYSTEXT: which value */
	struct span name;     /* K_ITEM: the item name */
	size_t text_start;    /* K_ITEM/K_SYSTEXT: where its text starts in buf */
};

struct item_span {
	struct span name;
	struct span value;
};

struct vg_evtx_xml {
	XML_Parser parser;
	char *buf;             /* decoded text of every kept value and name */
	size_t len, cap;
	char *fix;             /* sanitised copy of the input, when it needs one */
	size_t fix_cap;
	struct item_span *items;
	size_t nitems, items_cap;
	struct frame stack[XML_MAX_DEPTH];
	size_t depth;          /* open elements (stack entries in use) */
	struct span sys[F_COUNT];
	struct span provider, time, user_sid, pid, tid;
	unsigned unnamed;      /* unnamed <Data> seen so far */
	int placeholders;      /* U+F700.. in the text stands for a control byte */
	int err;               /* first error from a callback, 0 if none */
	char reason[192];
};

/* Records the first error of a parse and stops expat. */
__attribute__((format(printf, 3, 4)))
static void set_error(struct vg_evtx_xml *x, int err, const char *fmt, ...)
{
	va_list ap;

	if (x->err)
		return;
	x->err = err;
	va_start(ap, fmt);
	vsnprintf(x->reason, sizeof(x->reason), fmt, ap);
	va_end(ap);
	XML_StopParser(x->parser, XML_FALSE);
}

/* Makes room for n more bytes of text. Returns 0, or VG_ENOMEM / VG_ELIMIT. */
static int buf_reserve(struct vg_evtx_xml *x, size_t n)
{
	size_t cap;
	char *p;

	if (n <= x->cap - x->len)
		return 0;
	if (n > XML_MAX_TEXT - x->len)
		return VG_ELIMIT;
	cap = x->cap ? x->cap : 4096;
	while (cap - x->len < n)
		cap *= 2;
	p = realloc(x->buf, cap);
	if (!p)
		return VG_ENOMEM;
	x->buf = p;
	x->cap = cap;
	return 0;
}

static int buf_append(struct vg_evtx_xml *x, const char *s, size_t n)
{
	int rc = buf_reserve(x, n);

	if (rc) {
		set_error(x, rc, "%s", rc == VG_ENOMEM ? "out of memory" : "decoded text over the size limit");
		return rc;
	}
	if (n)
		memcpy(x->buf + x->len, s, n);
	x->len += n;
	return 0;
}

/* Turns placeholders back into control bytes in buf[start..len), shrinking it. */
static void unplace(struct vg_evtx_xml *x, size_t start)
{
	char *p = x->buf + start, *end = x->buf + x->len, *w = p;

	if (!x->placeholders)
		return;
	while (p < end) {
		if (end - p >= 3 && (unsigned char)p[0] == PH_LEAD0 &&
		    (unsigned char)p[1] == PH_LEAD1 &&
		    (unsigned char)p[2] >= 0x80 && (unsigned char)p[2] <= 0x9f) {
			*w++ = (char)((unsigned char)p[2] - 0x80);
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	x->len = (size_t)(w - x->buf);
}

/* Copies an attribute value (or name) into buf. Returns its span, off SIZE_MAX on failure. */
static struct span keep(struct vg_evtx_xml *x, const char *s, size_t n)
{
	struct span sp = { SIZE_MAX, 0 };
	size_t start = x->len;

	if (buf_append(x, s, n))
		return sp;
	unplace(x, start);
	sp.off = start;
	sp.len = x->len - start;
	return sp;
}

static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

static const char *attr(const char **attrs, const char *want)
{
	for (size_t i = 0; attrs[i] && attrs[i + 1]; i += 2)
		if (strcmp(local_name(attrs[i]), want) == 0)
			return attrs[i + 1];
	return NULL;
}

static void keep_attr(struct vg_evtx_xml *x, struct span *dst, const char **attrs, const char *want)
{
	const char *v = attr(attrs, want);

	if (v)
		*dst = keep(x, v, strlen(v));
}

/* Parses a decimal (or 0x hex) unsigned number with optional surrounding blanks. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0, digits = 0;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	for (; i < n; i++, digits++) {
		unsigned d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (v > (max - d) / base)
			return -1;
		v = v * base + d;
	}
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

/* Names an item: Data@Name, "Data"/"DataN" for unnamed Data, else the element's name. */
static struct span item_name(struct vg_evtx_xml *x, const char *lname, const char **attrs,
			     int in_eventdata)
{
	if (in_eventdata && strcmp(lname, "Data") == 0) {
		const char *n = attr(attrs, "Name");
		char tmp[24];
		int k;

		if (n && *n)
			return keep(x, n, strlen(n));
		if (x->unnamed == 0)
			k = snprintf(tmp, sizeof(tmp), "Data");
		else
			k = snprintf(tmp, sizeof(tmp), "Data%u", x->unnamed);
		x->unnamed++;
		return keep(x, tmp, (size_t)k);
	}
	return keep(x, lname, strlen(lname));
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct vg_evtx_xml *x = ud;
	const char *lname = local_name(name);
	struct frame *parent = x->depth ? &x->stack[x->depth - 1] : NULL;
	struct frame f = { .kind = K_SKIP, .name = { SIZE_MAX, 0 } };

	if (x->depth >= XML_MAX_DEPTH) {
		set_error(x, VG_ELIMIT, "elements nested deeper than %u levels", XML_MAX_DEPTH);
		return;
	}
	/* A child makes its parent a container: its text was only indentation. */
	if (parent && (parent->kind == K_ITEM || parent->kind == K_SYSTEXT)) {
		x->len = parent->text_start;
		parent->kind = parent->kind == K_ITEM ? K_SECTION : K_SKIP;
	}
	if (!parent) {
		if (strcmp(lname, "Event") != 0) {
			set_error(x, VG_EPARSE, "root element is <%.64s>, not <Event>", name);
			return;
		}
		f.kind = K_EVENT;
	} else {
		switch (parent->kind) {
		case K_EVENT:
			if (strcmp(lname, "System") == 0)
				f.kind = K_SYSTEM;
			else if (strcmp(lname, "EventData") == 0)
				f.kind = K_EVENTDATA;
			else if (strcmp(lname, "RenderingInfo") == 0)
				f.kind = K_SKIP;
			else
				f.kind = K_SECTION; /* UserData, ProcessingErrorData, DebugData */
			break;
		case K_SYSTEM:
			if (strcmp(lname, "EventID") == 0)
				f.field = F_EVENT_ID;
			else if (strcmp(lname, "EventRecordID") == 0)
				f.field = F_RECORD_ID;
			else if (strcmp(lname, "Channel") == 0)
				f.field = F_CHANNEL;
			else if (strcmp(lname, "Computer") == 0)
				f.field = F_COMPUTER;
			else if (strcmp(lname, "Provider") == 0)
				keep_attr(x, &x->provider, attrs, "Name");
			else if (strcmp(lname, "TimeCreated") == 0)
				keep_attr(x, &x->time, attrs, "SystemTime");
			else if (strcmp(lname, "Security") == 0)
				keep_attr(x, &x->user_sid, attrs, "UserID");
			else if (strcmp(lname, "Execution") == 0) {
				keep_attr(x, &x->pid, attrs, "ProcessID");
				keep_attr(x, &x->tid, attrs, "ThreadID");
			}
			if (f.field != F_NONE)
				f.kind = K_SYSTEXT;
			break;
		case K_EVENTDATA:
		case K_SECTION:
			f.kind = K_ITEM;
			f.name = item_name(x, lname, attrs, parent->kind == K_EVENTDATA);
			break;
		default:
			break;
		}
	}
	if (x->err)
		return;
	f.text_start = x->len;
	x->stack[x->depth++] = f;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct vg_evtx_xml *x = ud;
	struct frame *f;

	(void)name;
	if (x->err || !x->depth)
		return;
	f = &x->stack[--x->depth];
	if (f->kind == K_SYSTEXT) {
		unplace(x, f->text_start);
		x->sys[f->field] = (struct span){ f->text_start, x->len - f->text_start };
	} else if (f->kind == K_ITEM) {
		if (x->nitems >= XML_MAX_ITEMS) {
			set_error(x, VG_ELIMIT, "more than %u items", XML_MAX_ITEMS);
			return;
		}
		if (x->nitems == x->items_cap) {
			size_t cap = x->items_cap ? x->items_cap * 2 : 64;
			struct item_span *it = realloc(x->items, cap * sizeof(*it));

			if (!it) {
				set_error(x, VG_ENOMEM, "out of memory");
				return;
			}
			x->items = it;
			x->items_cap = cap;
		}
		unplace(x, f->text_start);
		x->items[x->nitems++] = (struct item_span){
			.name = f->name,
			.value = { f->text_start, x->len - f->text_start },
		};
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int n)
{
	struct vg_evtx_xml *x = ud;
	const struct frame *f;

	if (x->err || !x->depth || n <= 0)
		return;
	f = &x->stack[x->depth - 1];
	if (f->kind == K_ITEM || f->kind == K_SYSTEXT)
		buf_append(x, s, (size_t)n);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	set_error(ud, VG_EPARSE, "DOCTYPE is not allowed in event XML");
}

int vg_evtx_xml_new(struct vg_evtx_xml **out)
{
	struct vg_evtx_xml *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return VG_ENOMEM;
	x->parser = XML_ParserCreate("UTF-8");
	if (!x->parser) {
		free(x);
		return VG_ENOMEM;
	}
	*out = x;
	return 0;
}

void vg_evtx_xml_free(struct vg_evtx_xml *x)
{
	if (!x)
		return;
	XML_ParserFree(x->parser);
	free(x->buf);
	free(x->fix);
	free(x->items);
	free(x);
}

/* Length of the valid UTF-8 character at s[0..n) that expat accepts, or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		if (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
			return 0; /* U+FFFE, U+FFFF */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

static int is_ctl(unsigned c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

/*
 * Scans the input for what expat would mangle or reject although libevtx
 * writes it: CR (expat turns CR LF into LF), control bytes and bad UTF-8.
 * Returns 1 when a sanitised copy is needed; *ph is set when the input
 * already holds placeholder characters (then control bytes become U+FFFD).
 */
static int needs_fix(const unsigned char *s, size_t n, int *ctl, int *ph)
{
	int fix = 0;

	*ctl = *ph = 0;
	for (size_t i = 0; i < n;) {
		unsigned c;
		size_t k;

		/* Skip what passes as is: 0x20-0x7f, LF, TAB. */
		while (i < n && ((unsigned)s[i] - 0x20u < 0x60u || s[i] == '\n' || s[i] == '\t'))
			i++;
		if (i == n)
			break;
		c = s[i];
		if (c < 0x80) {
			fix = 1;
			*ctl |= is_ctl(c);
			i++;
			continue;
		}
		k = utf8_char(s + i, n - i);
		if (!k) {
			fix = 1;
			i++;
			continue;
		}
		if (k == 3 && c == PH_LEAD0 && s[i + 1] == PH_LEAD1 && s[i + 2] <= 0x9f)
			*ph = 1;
		i += k;
	}
	return fix;
}

/* Builds the sanitised copy in x->fix. Returns its length, or 0 with x->err set. */
static size_t make_fix(struct vg_evtx_xml *x, const unsigned char *s, size_t n, int use_ph)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	size_t need = n * 5, w = 0;
	unsigned char *d;

	if (need > x->fix_cap) {
		char *p = realloc(x->fix, need);
		if (!p) {
			x->err = VG_ENOMEM;
			snprintf(x->reason, sizeof(x->reason), "out of memory");
			return 0;
		}
		x->fix = p;
		x->fix_cap = need;
	}
	d = (unsigned char *)x->fix;
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;

		if (c == '\r') {
			memcpy(d + w, "&#13;", 5);
			w += 5;
			i++;
		} else if (is_ctl(c)) {
			if (use_ph) {
				d[w++] = PH_LEAD0;
				d[w++] = PH_LEAD1;
				d[w++] = (unsigned char)(0x80 + c);
			} else {
				memcpy(d + w, repl, 3);
				w += 3;
			}
			i++;
		} else if (c < 0x80) {
			d[w++] = (unsigned char)c;
			i++;
		} else if ((k = utf8_char(s + i, n - i)) != 0) {
			memcpy(d + w, s + i, k);
			w += k;
			i += k;
		} else {
			memcpy(d + w, repl, 3);
			w += 3;
			i++;
		}
	}
	return w;
}

static struct vg_slice slice(const struct vg_evtx_xml *x, struct span sp)
{
	if (sp.off == SIZE_MAX)
		return (struct vg_slice){ NULL, 0 };
	return (struct vg_slice){ x->buf + sp.off, sp.len };
}

static void reset(struct vg_evtx_xml *x)
{
	static const struct span none = { SIZE_MAX, 0 };

	x->len = 0;
	x->nitems = 0;
	x->depth = 0;
	x->unnamed = 0;
	x->placeholders = 0;
	x->err = 0;
	x->reason[0] = '\0';
	for (size_t i = 0; i < F_COUNT; i++)
		x->sys[i] = none;
	x->provider = x->time = x->user_sid = x->pid = x->tid = none;
}

/* Fills rec from the collected spans. Returns 0 or VG_ENOMEM. */
static int fill(struct vg_evtx_xml *x, struct vg_winrec *rec)
{
	struct vg_slice s;
	uint64_t v;

	s = slice(x, x->sys[F_EVENT_ID]);
	if (s.p && parse_u64(s.p, s.n, UINT32_MAX, &v) == 0) {
		rec->event_id = (uint32_t)v;
		rec->has_event_id = 1;
	}
	s = slice(x, x->sys[F_RECORD_ID]);
	if (s.p && parse_u64(s.p, s.n, UINT64_MAX, &v) == 0)
		rec->record_id = v;
	s = slice(x, x->pid);
	if (s.p && parse_u64(s.p, s.n, UINT32_MAX, &v) == 0)
		rec->exec_pid = (uint32_t)v;
	s = slice(x, x->tid);
	if (s.p && parse_u64(s.p, s.n, UINT32_MAX, &v) == 0)
		rec->exec_tid = (uint32_t)v;
	rec->provider = slice(x, x->provider);
	rec->channel = slice(x, x->sys[F_CHANNEL]);
	rec->computer = slice(x, x->sys[F_COMPUTER]);
	rec->time = slice(x, x->time);
	rec->user_sid = slice(x, x->user_sid);
	for (size_t i = 0; i < x->nitems; i++) {
		struct vg_slice n = slice(x, x->items[i].name);
		struct vg_slice val = slice(x, x->items[i].value);

		if (vg_winrec_add(rec, n.p, n.n, val.p, val.n))
			return VG_ENOMEM;
	}
	return 0;
}

int vg_evtx_xml_parse(struct vg_evtx_xml *x, const char *xml, size_t len,
		      struct vg_winrec *rec, const char **reason)
{
	const char *in = xml;
	size_t in_len = len;
	int ctl = 0, ph = 0, rc;
	enum XML_Status st;

	vg_winrec_clear(rec);
	reset(x);
	*reason = x->reason;
	/* libevtx's string size counts the terminating NUL; accept it. */
	while (in_len && xml[in_len - 1] == '\0')
		in_len--;
	if (in_len > XML_MAX_INPUT) {
		snprintf(x->reason, sizeof(x->reason), "event XML of %zu bytes is over the %u byte limit",
			 in_len, XML_MAX_INPUT);
		return VG_ELIMIT;
	}
	if (in_len == 0) {
		snprintf(x->reason, sizeof(x->reason), "empty event XML");
		return VG_EPARSE;
	}
	if (needs_fix((const unsigned char *)xml, in_len, &ctl, &ph)) {
		x->placeholders = ctl && !ph;
		in_len = make_fix(x, (const unsigned char *)xml, in_len, x->placeholders);
		if (x->err)
			return x->err;
		in = x->fix;
	}
	if (XML_ParserReset(x->parser, "UTF-8") != XML_TRUE) {
		snprintf(x->reason, sizeof(x->reason), "cannot reset the XML parser");
		return VG_ENOMEM;
	}
	XML_SetUserData(x->parser, x);
	XML_SetElementHandler(x->parser, on_start, on_end);
	XML_SetCharacterDataHandler(x->parser, on_text);
	XML_SetStartDoctypeDeclHandler(x->parser, on_doctype);
	/* expat takes an int length; XML_MAX_INPUT * 5 fits. */
	st = XML_Parse(x->parser, in, (int)in_len, XML_TRUE);
	if (x->err)
		return x->err;
	if (st != XML_STATUS_OK) {
		enum XML_Error e = XML_GetErrorCode(x->parser);

		snprintf(x->reason, sizeof(x->reason), "XML error at line %lu column %lu: %s",
			 (unsigned long)XML_GetCurrentLineNumber(x->parser),
			 (unsigned long)XML_GetCurrentColumnNumber(x->parser),
			 XML_ErrorString(e));
		return e == XML_ERROR_NO_MEMORY ? VG_ENOMEM : VG_EPARSE;
	}
	rc = fill(x, rec);
	if (rc) {
		vg_winrec_clear(rec);
		snprintf(x->reason, sizeof(x->reason), "out of memory");
	}
	return rc;
}

/*
 * ---- the file reader ----
 *
 * vg_evtx_next walks one sequence: the regular records 0..R-1, then the
 * recovered ones R..R+V-1, then the damage scan's findings (a file cut
 * inside a chunk, bad chunk headers) as errors. *position is the index in
 * that sequence, so position >= R means recovered (vg_evtx_counts gives R
 * and V). The reader keeps the rendered XML and the parser state; a
 * record's slices live in the parser's text buffer until the next call.
 *
 * libevtx runs in a worker process. Debian's libevtx 20181227 reads out
 * of bounds on some damaged records (fuzzing found a SEGV in
 * libfwevt_xml_document_read_template_instance_values, see docs/evtx.md),
 * so a file we are asked to read must not be able to take the caller
 * down: the worker opens the file, renders each record's XML and streams
 * it through a pipe; when it dies, the record it was on is reported and a
 * new worker continues after it. Our XML parsing stays in the caller.
 *
 *   caller                                 worker (fork, libevtx)
 *   vg_evtx_open ── fork ────────────────> libevtx_file_open, counts
 *                <── OPEN(counts) ──────── for each slot from `start`:
 *   vg_evtx_next <── RECORD(xml) / ERROR ──   get record, render XML
 *     expat -> vg_winrec                     ...
 *   EOF before END: the worker crashed on the awaited slot -> error, respawn
 */

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* EVTX layout, for the damage scan: a 4 KiB file header, then 64 KiB chunks. */
#define FILE_HEADER_SIZE  4096u
#define CHUNK_SIZE        65536u
#define CHUNK_HEADER_SIZE 512u
#define MAX_NOTES         8
#define OPEN_TIMEOUT_MS   60000 /* the worker's libevtx_file_open reads every chunk header */
#define SLOT_TIMEOUT_MS   10000 /* silence from the worker for this long while rendering ends it */
#define WORKER_DATA_LIMIT (1ull << 30) /* heap the worker may add to what it inherited */
#define MAX_RESPAWNS      8     /* worker deaths per file before the rest is skipped */

/* A finding of the damage scan, returned by vg_evtx_next after the records. */
struct note {
	int err;                /* VG_ETRUNC or VG_EEVTX */
	char msg[224];
};

/* Worker -> caller messages: a header, then len bytes of payload. */
enum msg_kind {
	MSG_OPEN = 1,           /* code 0 and struct open_info, or VG_EEVTX and the reason */
	MSG_RECORD,             /* the slot's XML as libevtx renders it */
	MSG_ERROR,              /* the slot failed: code, libevtx's reason, offset if known */
	MSG_END,                /* no more slots */
};

struct msg {
	int32_t kind;           /* enum msg_kind */
	int32_t code;           /* 0 or a VG_E* code */
	int64_t slot;           /* record slot the message is about */
	int64_t offset;         /* file offset libevtx named for an error, -1 if none */
	uint64_t ident;         /* libevtx's record identifier (MSG_RECORD) */
	uint32_t len;           /* payload bytes */
	uint32_t pad;
};

struct open_info {
	int32_t nrecords, nrecovered, corrupted;
};

struct vg_evtx_reader {
	char *path;             /* for messages, and for respawned workers */
	int nrecords;           /* regular records */
	int nrecovered;         /* records libevtx recovered from free space and damaged chunks */
	long long next;         /* read position: regular, then recovered, then notes */
	struct note notes[MAX_NOTES];
	int nnotes;
	int file_fd;            /* the file, kept open: workers read it as /proc/self/fd/N */
	pid_t pid;              /* the worker, 0 when none runs */
	int fd;                 /* read end of its pipe, -1 when none */
	char rbuf[65536];       /* bytes read from the pipe and not yet consumed */
	size_t rpos, rlen;
	int respawns;           /* workers that died on this file */
	uint8_t *xml;           /* the current record's XML, as libevtx renders it */
	size_t xml_cap;
	struct vg_evtx_xml *x;
	uint64_t *seen;         /* open-addressing set of record keys, NULL without recovered records */
	size_t seen_mask;       /* slots - 1 (a power of two minus one) */
	uint64_t copies;        /* recovered records skipped as copies */
	char err[640];
};

/* CRC-32 (IEEE, reflected), bit by bit: it only covers 504 header bytes per chunk. */
static uint32_t crc32_ieee(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
	}
	return ~crc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

__attribute__((format(printf, 3, 4)))
static void add_note(struct vg_evtx_reader *r, int err, const char *fmt, ...)
{
	struct note *n;
	va_list ap;

	if (r->nnotes == MAX_NOTES)
		return;
	n = &r->notes[r->nnotes++];
	n->err = err;
	va_start(ap, fmt);
	vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
	va_end(ap);
	vg_log(VG_LOG_WARN, "evtx: %s: %s", r->path, n->msg);
}

/*
 * Looks at what libevtx passes over in silence: a file cut inside a chunk
 * (libevtx drops the partial chunk) and chunk headers with a bad signature
 * or checksum (libevtx reads their records, if any, as recovered ones).
 * Reads 512 bytes per chunk. I/O errors here only end the scan.
 */
static void scan_chunks(struct vg_evtx_reader *r, int fd)
{
	uint8_t h[CHUNK_HEADER_SIZE];
	struct stat st;
	unsigned declared, damaged = 0;
	uint64_t size, slots, tail;

	if (fstat(fd, &st) || st.st_size < (off_t)FILE_HEADER_SIZE)
		return;
	if (pread(fd, h, 128, 0) != 128)
		return;
	declared = (unsigned)h[42] | (unsigned)h[43] << 8;
	size = (uint64_t)st.st_size;
	slots = (size - FILE_HEADER_SIZE) / CHUNK_SIZE;
	tail = (size - FILE_HEADER_SIZE) % CHUNK_SIZE;
	for (uint64_t i = 0; i < slots; i++) {
		off_t off = (off_t)(FILE_HEADER_SIZE + i * CHUNK_SIZE);
		uint32_t crc;

		if (pread(fd, h, sizeof(h), off) != (ssize_t)sizeof(h))
			return;
		if (memcmp(h, "ElfChnk", 8) != 0) {
			static const uint8_t zero[8];
			/* Unused slots past the declared chunks are zero-filled. */
			if (i >= declared && memcmp(h, zero, 8) == 0)
				continue;
			if (damaged++ < MAX_NOTES - 2)
				add_note(r, VG_EEVTX, "chunk %" PRIu64 " at offset 0x%llx: bad signature; "
					 "its records come back as recovered records if libevtx finds them",
					 i, (unsigned long long)off);
			continue;
		}
		crc = crc32_ieee(0, h, 120);
		crc = crc32_ieee(crc, h + 128, CHUNK_HEADER_SIZE - 128);
		if (crc != le32(h + 124) && damaged++ < MAX_NOTES - 2)
			add_note(r, VG_EEVTX, "chunk %" PRIu64 " at offset 0x%llx: header checksum mismatch; "
				 "its records come back as recovered records if libevtx finds them",
				 i, (unsigned long long)off);
	}
	if (damaged > MAX_NOTES - 2)
		add_note(r, VG_EEVTX, "%u more damaged chunk headers", damaged - (MAX_NOTES - 2));
	if (tail || declared > slots)
		add_note(r, VG_ETRUNC, "file ends at offset 0x%llx, %" PRIu64 " bytes into chunk %" PRIu64
			 " (the header declares %u chunks): records past the last whole chunk are lost",
			 (unsigned long long)size, tail, slots, declared);
}

/*
 * Renders a libevtx error on one line into dst and frees it: the innermost
 * cause, then the outermost call. *offset gets the file offset libfdata
 * names in the backtrace, or stays as it was.
 */
static void evtx_error_text(libevtx_error_t **error, char *dst, size_t size, long long *offset)
{
	char bt[4096], *first, *last, *p;

	if (!*error) {
		snprintf(dst, size, "unknown libevtx error");
		return;
	}
	if (libevtx_error_backtrace_sprint(*error, bt, sizeof(bt)) < 0 &&
	    libevtx_error_sprint(*error, bt, sizeof(bt)) < 0)
		snprintf(bt, sizeof(bt), "unprintable libevtx error");
	libevtx_error_free(error);
	bt[sizeof(bt) - 1] = '\0';
	p = strstr(bt, "offset: 0x");
	if (offset && p)
		*offset = strtoll(p + 8, NULL, 16);
	first = bt;
	while (*first == '\n' || *first == '\r')
		first++;
	p = first + strcspn(first, "\r\n");
	last = first;
	if (*p) {
		char *end = p + strlen(p);

		*p = '\0';
		while (end > p + 1 && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		last = strrchr(p + 1, '\n');
		last = last ? last + 1 : p + 1;
		if (!*last)
			last = first;
	}
	if (last == first)
		snprintf(dst, size, "%.480s", first);
	else
		snprintf(dst, size, "%.320s (in %.160s)", first, last);
}

/*
 * libevtx recovers records from slack space and damaged chunks, and many
 * of them are copies of regular records (404 of the 720 readable recovered
 * records in the sample set): a record whose EventRecordID and SystemTime
 * were already returned is skipped, so it does not raise a second alert.
 */
static uint64_t record_key(const struct vg_winrec *rec)
{
	uint64_t k = rec->record_id * 0x9e3779b97f4a7c15ull;

	k ^= rec->time.p ? vg_hash_bytes(rec->time.p, rec->time.n) : 0;
	k ^= k >> 31;
	return k ? k : 1; /* 0 marks an empty slot */
}

/* Adds key to the set. Returns 1 when it was new, 0 when already there. */
static int seen_add(struct vg_evtx_reader *r, uint64_t key)
{
	size_t i = (size_t)key & r->seen_mask;

	while (r->seen[i]) {
		if (r->seen[i] == key)
			return 0;
		i = (i + 1) & r->seen_mask;
	}
	r->seen[i] = key;
	return 1;
}

static void seen_init(struct vg_evtx_reader *r)
{
	size_t want = 2 * ((size_t)r->nrecords + (size_t)r->nrecovered), slots = 64;

	while (slots < want)
		slots *= 2;
	r->seen = calloc(slots, sizeof(*r->seen));
	if (!r->seen) {
		vg_log(VG_LOG_WARN, "evtx: %s: out of memory for the copy check; recovered "
		       "records may repeat regular ones", r->path);
		return;
	}
	r->seen_mask = slots - 1;
}


/* ---- the worker (child process): only libevtx, no logging, ends with _exit ---- */

/* Writes a message in one writev, so the caller wakes once per record. Exits if the caller went away. */
static void send_msg(int fd, int kind, int code, long long slot, long long offset,
		     uint64_t ident, const void *payload, size_t len)
{
	struct msg m = {
		.kind = kind, .code = code, .slot = slot, .offset = offset,
		.ident = ident, .len = (uint32_t)len,
	};
	struct iovec iov[2] = {
		{ .iov_base = &m, .iov_len = sizeof(m) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct iovec *v = iov;
	int nv = len ? 2 : 1;

	while (nv) {
		ssize_t k = writev(fd, v, nv);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(3);
		while (nv && (size_t)k >= v->iov_len) {
			k -= (ssize_t)v->iov_len;
			v++;
			nv--;
		}
		if (nv) {
			v->iov_base = (char *)v->iov_base + k;
			v->iov_len -= (size_t)k;
		}
	}
}

static void send_error(int fd, int code, long long slot, libevtx_error_t **error, const char *what)
{
	char msg[512], text[640];
	long long offset = -1;

	evtx_error_text(error, msg, sizeof(msg), &offset);
	snprintf(text, sizeof(text), "%s%s", what, msg);
	send_msg(fd, MSG_ERROR, code, slot, offset, 0, text, strlen(text));
}

/*
 * Caps the worker's heap at what it inherited plus WORKER_DATA_LIMIT, so a
 * record that makes libevtx allocate without end fails instead of pulling
 * the machine into swap. Relative, because sanitizer builds start with
 * terabytes of reserved shadow memory counted as data.
 */
static void limit_heap(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");
	struct rlimit rl;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmData: %llu kB", &kb) == 1)
			break;
	fclose(f);
	if (!kb)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)(kb * 1024 + WORKER_DATA_LIMIT);
	setrlimit(RLIMIT_DATA, &rl);
}

/*
 * Closes every descriptor from 3 up except keep_a and keep_b, so the worker
 * holds no other reader's pipe (a pipe's EOF must mean its worker ended).
 */
static void close_others(int keep_a, int keep_b)
{
	int lo = keep_a < keep_b ? keep_a : keep_b, hi = keep_a < keep_b ? keep_b : keep_a;
	unsigned from = 3;
	int bounds[2] = { lo, hi };

	for (int i = 0; i < 2; i++) {
		if (bounds[i] >= (int)from) {
			if (bounds[i] > (int)from)
				close_range(from, (unsigned)bounds[i] - 1, 0);
			from = (unsigned)bounds[i] + 1;
		}
	}
	close_range(from, ~0u, 0);
}

/*
 * In sanitizer builds the runtime keeps its own SEGV handler and, under
 * libFuzzer, a death callback that writes a crash file: a worker fault is
 * expected and handled, so the worker drops the callback. Weak, so normal
 * builds do not need the sanitizer runtime.
 */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

__attribute__((noreturn))
static void worker_main(const char *path, int file_fd, long long start, int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	libevtx_error_t *error = NULL;
	libevtx_file_t *file = NULL;
	struct open_info info = { 0 };
	uint8_t *buf = NULL;
	size_t cap = 0;
	long long total, fault_slot;
	const char *fault;
	char self[32];
	int null;

	/* Die quietly on a libevtx fault (sanitizer reports included): the caller reports it. */
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(NULL);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0 && null != STDERR_FILENO) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	close_others(fd, file_fd);
	limit_heap();
	/* Read the very file the caller opened, even if the path now names another. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", file_fd);
	if (access(self, R_OK) == 0)
		path = self;
	fault = getenv("VIGIL_EVTX_FAULT_SLOT");
	fault_slot = fault && *fault ? atoll(fault) : -1;
	if (libevtx_file_initialize(&file, &error) != 1 ||
	    libevtx_file_open(file, path, libevtx_get_access_flags_read(), &error) != 1 ||
	    libevtx_file_get_number_of_records(file, &info.nrecords, &error) != 1 ||
	    libevtx_file_get_number_of_recovered_records(file, &info.nrecovered, &error) != 1) {
		send_error(fd, VG_EEVTX, -1, &error, "");
		_exit(0);
	}
	info.nrecords = info.nrecords < 0 ? 0 : info.nrecords;
	info.nrecovered = info.nrecovered < 0 ? 0 : info.nrecovered;
	info.corrupted = libevtx_file_is_corrupted(file, NULL) == 1;
	send_msg(fd, MSG_OPEN, 0, -1, -1, 0, &info, sizeof(info));
	total = (long long)info.nrecords + info.nrecovered;
	for (long long slot = start; slot < total; slot++) {
		libevtx_record_t *rec = NULL;
		int recovered = slot >= info.nrecords;
		int k = (int)(recovered ? slot - info.nrecords : slot);
		uint64_t ident = 0;
		size_t size = 0;

		if (slot == fault_slot)
			raise(SIGSEGV); /* test hook: behave like a libevtx crash here */
		if ((recovered ? libevtx_file_get_recovered_record_by_index(file, k, &rec, &error)
			       : libevtx_file_get_record_by_index(file, k, &rec, &error)) != 1 || !rec) {
			send_error(fd, VG_EEVTX, slot, &error, "");
			continue;
		}
		libevtx_record_get_identifier(rec, &ident, NULL);
		if (libevtx_record_get_utf8_xml_string_size(rec, &size, &error) != 1) {
			send_error(fd, VG_EEVTX, slot, &error, "cannot render XML: ");
		} else if (size == 0 || size > XML_MAX_INPUT + 1) {
			char text[96];

			snprintf(text, sizeof(text), "event XML size %zu is outside 1..%u", size, XML_MAX_INPUT);
			send_msg(fd, MSG_ERROR, size ? VG_ELIMIT : VG_EEVTX, slot, -1, 0, text, strlen(text));
		} else {
			if (size > cap) {
				uint8_t *grown = realloc(buf, size);

				if (grown) {
					buf = grown;
					cap = size;
				}
			}
			if (size > cap)
				send_msg(fd, MSG_ERROR, VG_ENOMEM, slot, -1, 0, "out of memory", 13);
			else if (libevtx_record_get_utf8_xml_string(rec, buf, size, &error) != 1)
				send_error(fd, VG_EEVTX, slot, &error, "cannot render XML: ");
			else
				send_msg(fd, MSG_RECORD, 0, slot, -1, ident, buf, size);
		}
		libevtx_record_free(&rec, NULL);
		libevtx_error_free(&error);
	}
	send_msg(fd, MSG_END, 0, total, -1, 0, NULL, 0);
	_exit(0);
}

/* ---- the caller's side ---- */

/* Reads exactly n bytes from the worker. Returns 0, -1 at EOF or error, -2 on timeout. */
static int read_exact(struct vg_evtx_reader *r, void *p, size_t n, int timeout_ms)
{
	char *c = p;

	while (n) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		size_t have = r->rlen - r->rpos;
		ssize_t k;
		int pr;

		if (have) {
			size_t take = have < n ? have : n;

			memcpy(c, r->rbuf + r->rpos, take);
			r->rpos += take;
			c += take;
			n -= take;
			continue;
		}
		pr = poll(&pfd, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return -2;
		if (pr < 0)
			return -1;
		/* Large payloads go straight to the caller's buffer. */
		if (n >= sizeof(r->rbuf))
			k = read(r->fd, c, n);
		else
			k = read(r->fd, r->rbuf, sizeof(r->rbuf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		if (n >= sizeof(r->rbuf)) {
			c += k;
			n -= (size_t)k;
		} else {
			r->rpos = 0;
			r->rlen = (size_t)k;
		}
	}
	return 0;
}

/* Ends the worker (if any) and describes how it ended into dst. */
static void stop_worker(struct vg_evtx_reader *r, char *dst, size_t size)
{
	int st = 0;
	pid_t w;

	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->rpos = r->rlen = 0;
	if (r->pid <= 0)
		return;
	/* Signal only a child that is still ours and running: never a reused pid. */
	w = waitpid(r->pid, &st, WNOHANG);
	if (w == 0) {
		kill(r->pid, SIGKILL);
		do
			w = waitpid(r->pid, &st, 0);
		while (w < 0 && errno == EINTR);
	}
	r->pid = 0;
	if (!dst)
		return;
	if (w > 0 && WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		snprintf(dst, size, "libevtx crashed (signal %d, %s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else if (w > 0 && WIFEXITED(st))
		snprintf(dst, size, "the libevtx worker exited (status %d)", WEXITSTATUS(st));
	else
		snprintf(dst, size, "the libevtx worker ended");
}

/*
 * Starts a worker at slot start and reads its OPEN message. Returns 0,
 * VG_EEVTX with the reason in why, or -errno when it cannot be started.
 */
static int start_worker(struct vg_evtx_reader *r, long long start, struct open_info *info,
			char *why, size_t why_size)
{
	struct msg m;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	r->pid = fork();
	if (r->pid < 0) {
		rc = -errno;
		r->pid = 0;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (r->pid == 0) {
		close(p[0]);
		worker_main(r->path, r->file_fd, start, p[1]);
	}
	close(p[1]);
	r->fd = p[0];
	fcntl(r->fd, F_SETPIPE_SZ, 1 << 20); /* lets the worker run ahead; best effort */
	rc = read_exact(r, &m, sizeof(m), OPEN_TIMEOUT_MS);
	if (rc == 0 && m.kind == MSG_OPEN && m.code == 0 && m.len == sizeof(*info))
		rc = read_exact(r, info, sizeof(*info), SLOT_TIMEOUT_MS);
	else if (rc == 0 && m.kind == MSG_ERROR && m.len < why_size) {
		rc = read_exact(r, why, m.len, SLOT_TIMEOUT_MS);
		why[rc ? 0 : m.len] = '\0';
		stop_worker(r, NULL, 0);
		return VG_EEVTX;
	} else if (rc == 0) {
		rc = -1;
	}
	if (rc) {
		char how[128];

		stop_worker(r, how, sizeof(how));
		snprintf(why, why_size, "%s while opening the file", rc == -2 ? "libevtx timed out" : how);
		return VG_EEVTX;
	}
	return 0;
}

int vg_evtx_open(const char *path, struct vg_evtx_reader **out)
{
	struct vg_evtx_reader *r = NULL;
	struct open_info info;
	struct stat st;
	char why[512];
	int fd = -1, rc;

	*out = NULL;
	/* The worker cannot tell why an open failed; ask the OS first. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		vg_log(VG_LOG_ERROR, "evtx: %s: %s", path, vg_strerror(rc));
		return rc;
	}
	rc = fstat(fd, &st) ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (rc) {
		vg_log(VG_LOG_ERROR, "evtx: %s: %s", path, vg_strerror(rc));
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = VG_ENOMEM;
		goto out;
	}
	r->fd = -1;
	r->file_fd = fd;
	fd = -1;
	r->path = strdup(path);
	if (!r->path) {
		rc = VG_ENOMEM;
		goto out;
	}
	rc = vg_evtx_xml_new(&r->x);
	if (rc)
		goto out;
	rc = start_worker(r, 0, &info, why, sizeof(why));
	if (rc == VG_EEVTX) {
		vg_log(VG_LOG_ERROR, "evtx: %s: not a readable EVTX file: %s", path, why);
		goto out;
	}
	if (rc) {
		vg_log(VG_LOG_ERROR, "evtx: %s: cannot start the libevtx worker: %s", path, vg_strerror(rc));
		goto out;
	}
	r->nrecords = info.nrecords;
	r->nrecovered = info.nrecovered;
	scan_chunks(r, r->file_fd);
	if (info.corrupted && r->nnotes == 0)
		vg_log(VG_LOG_WARN, "evtx: %s: libevtx marks the file corrupted (a chunk failed its "
		       "checks); %d records, %d recovered", path, r->nrecords, r->nrecovered);
	if (r->nrecovered > 0)
		seen_init(r);
	*out = r;
	r = NULL;
out:
	if (rc == VG_ENOMEM)
		vg_log(VG_LOG_ERROR, "evtx: %s: out of memory", path);
	if (fd >= 0)
		close(fd);
	vg_evtx_free(r);
	return rc;
}

void vg_evtx_free(struct vg_evtx_reader *r)
{
	if (!r)
		return;
	stop_worker(r, NULL, 0);
	if (r->file_fd >= 0)
		close(r->file_fd);
	vg_evtx_xml_free(r->x);
	free(r->seen);
	free(r->xml);
	free(r->path);
	free(r);
}

const char *vg_evtx_reader_error(const struct vg_evtx_reader *r)
{
	return r ? r->err : "no reader";
}

void vg_evtx_counts(const struct vg_evtx_reader *r, uint64_t *records, uint64_t *recovered)
{
	if (records)
		*records = r ? (uint64_t)r->nrecords : 0;
	if (recovered)
		*recovered = r ? (uint64_t)r->nrecovered : 0;
}

/* "record 12 of 40" / "recovered record 3 of 9", plus the file offset when known. */
static void slot_name(const struct vg_evtx_reader *r, long long idx, long long offset,
		      char *dst, size_t size)
{
	int recovered = idx >= r->nrecords;
	int n = snprintf(dst, size, "%s %lld of %d", recovered ? "recovered record" : "record",
			 recovered ? idx - r->nrecords : idx, recovered ? r->nrecovered : r->nrecords);

	if (offset >= 0 && n > 0 && (size_t)n < size)
		snprintf(dst + n, size - (size_t)n, " at offset 0x%llx", offset);
}

/* The worker died or stalled while we waited for slot idx: report it and go on after it. */
static int worker_lost(struct vg_evtx_reader *r, long long idx, int how_rc)
{
	long long total = (long long)r->nrecords + r->nrecovered;
	char where[96], how[128];

	stop_worker(r, how, sizeof(how));
	if (how_rc == -2)
		snprintf(how, sizeof(how), "libevtx did not answer within %d s", SLOT_TIMEOUT_MS / 1000);
	slot_name(r, idx, -1, where, sizeof(where));
	if (++r->respawns >= MAX_RESPAWNS) {
		snprintf(r->err, sizeof(r->err), "%s: %s; after %d such failures the remaining %lld "
			 "records are skipped", where, how, r->respawns, total - idx - 1);
		r->next = total;
	} else {
		snprintf(r->err, sizeof(r->err), "%s: %s decoding it; skipped", where, how);
	}
	return VG_EEVTX;
}

/* A private result of next_slot: the slot held a copy of a record already returned. */
#define SLOT_COPY 2

static int next_slot(struct vg_evtx_reader *r, struct vg_winrec *rec, uint64_t *position)
{
	long long idx, total = (long long)r->nrecords + r->nrecovered;
	char where[96];
	const char *reason;
	struct msg m;
	int rc;

	vg_winrec_clear(rec);
	r->err[0] = '\0';
	if (r->next >= total + r->nnotes) {
		stop_worker(r, NULL, 0);
		if (r->copies && r->next++ == total + r->nnotes)
			vg_log(VG_LOG_DEBUG, "evtx: %s: %" PRIu64 " recovered records skipped as copies",
			       r->path, r->copies);
		return 0;
	}
	idx = r->next++;
	if (position)
		*position = (uint64_t)idx;
	if (idx >= total) {
		const struct note *n = &r->notes[idx - total];

		stop_worker(r, NULL, 0); /* all slots are done */
		snprintf(r->err, sizeof(r->err), "%s", n->msg);
		return n->err;
	}
	if (r->pid == 0) { /* the last one died: continue from here with a new one */
		struct open_info info;
		char why[512];

		rc = start_worker(r, idx, &info, why, sizeof(why));
		if (rc == 0 && (info.nrecords != r->nrecords || info.nrecovered != r->nrecovered)) {
			stop_worker(r, NULL, 0);
			rc = VG_EEVTX;
			snprintf(why, sizeof(why), "the file changed while it was read");
		} else if (rc && rc != VG_EEVTX) {
			snprintf(why, sizeof(why), "cannot start the libevtx worker: %s", vg_strerror(rc));
		}
		if (rc) {
			slot_name(r, idx, -1, where, sizeof(where));
			snprintf(r->err, sizeof(r->err), "%s: %.400s; the remaining %lld records are skipped",
				 where, why, total - idx - 1);
			r->next = total;
			return rc;
		}
	}
	rc = read_exact(r, &m, sizeof(m), SLOT_TIMEOUT_MS);
	if (rc || m.slot != idx || (m.kind != MSG_RECORD && m.kind != MSG_ERROR))
		return worker_lost(r, idx, rc);
	if (m.kind == MSG_ERROR) {
		char text[512];

		if (m.len >= sizeof(text) || m.code >= 0 || read_exact(r, text, m.len, SLOT_TIMEOUT_MS))
			return worker_lost(r, idx, -1);
		text[m.len] = '\0';
		slot_name(r, idx, m.offset, where, sizeof(where));
		snprintf(r->err, sizeof(r->err), "%s: %s", where, text);
		return m.code;
	}
	if (m.len == 0 || m.len > XML_MAX_INPUT + 1)
		return worker_lost(r, idx, -1);
	if (m.len > r->xml_cap) {
		size_t cap = r->xml_cap ? r->xml_cap : 16384;
		uint8_t *p;

		while (cap < m.len)
			cap *= 2;
		p = realloc(r->xml, cap);
		if (!p) {
			stop_worker(r, NULL, 0); /* its stream is now out of step */
			slot_name(r, idx, -1, where, sizeof(where));
			snprintf(r->err, sizeof(r->err), "%s: out of memory", where);
			return VG_ENOMEM;
		}
		r->xml = p;
		r->xml_cap = cap;
	}
	rc = read_exact(r, r->xml, m.len, SLOT_TIMEOUT_MS);
	if (rc)
		return worker_lost(r, idx, rc);
	rc = vg_evtx_xml_parse(r->x, (const char *)r->xml, m.len, rec, &reason);
	if (rc) {
		slot_name(r, idx, -1, where, sizeof(where));
		snprintf(r->err, sizeof(r->err), "%s: %s", where, reason);
		return rc;
	}
	if (!rec->record_id)
		rec->record_id = m.ident;
	if (r->seen && !seen_add(r, record_key(rec)) && idx >= r->nrecords) {
		r->copies++;
		return SLOT_COPY;
	}
	return 1;
}

int vg_evtx_next(struct vg_evtx_reader *r, struct vg_winrec *rec, uint64_t *position)
{
	int rc;

	while ((rc = next_slot(r, rec, position)) == SLOT_COPY)
		;
	return rc;
}
