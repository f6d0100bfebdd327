/* gen_scenario.c - generates randomized Dofoil/Smoke Loader chains as Sysmon events (evtx_dump JSON lines) with benign noise, for tests and benchmark replays. */
/*
 * Usage: gen_scenario --seed N [--copies K] [--noise M] [--start-time ISO] [--truth] [--benign N]
 *
 * --benign N writes only ordinary activity (no attack chain): about N events,
 * on hosts of BENIGN_PER_HOST events each, from the noise scenes plus scenes
 * only this mode uses (installers, Office, Chrome children, DNS to common
 * domains, service hosts), so the attack scenarios stay byte-identical.
 * --benign N --linux writes ordinary Linux activity as vg_event JSON instead.
 *
 * Each copy of the chain runs on its own fresh host (new names, GUIDs, user,
 * folders) and is surrounded by M benign events on the same host. Copies are
 * generated in groups of GROUP_COPIES whose time windows overlap, sorted by
 * event time and streamed to stdout, so memory stays bounded for any K.
 * The output depends only on the arguments. docs/scenario.md describes the
 * stages; --truth prints "stage<TAB>ProcessGuid" lines instead of events, the
 * ProcessGuid being the acting process of the event that shows the stage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GROUP_COPIES 16
#define GROUP_WINDOW_US (300LL * 1000000LL) /* each group of copies spans five minutes */
#define PROC_CHUNK 256    /* processes are allocated in chunks so pointers to them stay valid */
#define MAX_PROC_CHUNKS 16384
#define RESOLVER_IP "192.168.1.1"
#define BENIGN_PER_HOST 400 /* --benign: events per host */

/* ---------------------------------------------------------------- random */

/* splitmix64: small, fast and good enough for test data. */
struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static int chance(struct rng *r, unsigned pct)
{
	return rnd(r, 100) < pct;
}

#define PICK(r, arr) ((arr)[rnd((r), sizeof(arr) / sizeof((arr)[0]))])

static int case_indicator(const char *w);

/* A random lower-case word of minlen..maxlen letters, never one of the case's names. */
static void rnd_letters(struct rng *r, char *out, unsigned minlen, unsigned maxlen)
{
	do {
		unsigned n = minlen + rnd(r, maxlen - minlen + 1);
		for (unsigned i = 0; i < n; i++)
			out[i] = (char)('a' + rnd(r, 26));
		out[n] = '\0';
	} while (case_indicator(out));
}

/*
 * Names of the reference case's own files and C&C (written split, as in
 * tests/unit/test_rules_iocs.c): random names never take them, so generated
 * data cannot be mistaken for the real indicators.
 */
static int case_indicator(const char *w)
{
	static const char *const parts[][2] = { { "dite", "reah" }, { "ly", "k" }, { "vin", "ik" }, { "d1", "c6" } };
	char full[16];
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(full, sizeof(full), "%s%s", parts[i][0], parts[i][1]);
		if (strcasecmp(w, full) == 0)
			return 1;
	}
	return 0;
}

static void rnd_hex(struct rng *r, char *out, unsigned n, int upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	uint64_t bits = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i % 16 == 0)
			bits = rng_next(r);
		out[i] = d[bits & 15];
		bits >>= 4;
	}
	out[n] = '\0';
}

/* A public IPv4 address outside private, loopback, CGNAT, link-local and multicast ranges. */
static void rnd_public_ip(struct rng *r, char *out, size_t len)
{
	static const unsigned firsts[] = { 5, 31, 37, 45, 46, 62, 77, 78, 79, 80, 81, 82, 83, 85, 87, 88,
					   89, 91, 92, 93, 94, 95, 109, 141, 146, 151, 176, 178, 185, 188,
					   193, 194, 195, 212, 213, 217 };
	snprintf(out, len, "%u.%u.%u.%u", PICK(r, firsts), rnd(r, 256), rnd(r, 256), 1 + rnd(r, 254));
}

/* ---------------------------------------------------------------- output */

/* A growable byte buffer. Allocation failure aborts: this is a test tool. */
struct sb {
	char *p;
	size_t len, cap;
};

static void sb_grow(struct sb *b, size_t need)
{
	if (b->len + need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->len + need)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		fputs("gen_scenario: out of memory\n", stderr);
		exit(2);
	}
	b->p = p;
	b->cap = cap;
}

static void sb_put(struct sb *b, const char *s, size_t n)
{
	sb_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define SB_LIT(b, lit) sb_put((b), (lit), sizeof(lit) - 1)

static void sb_puts(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_u64(struct sb *b, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char rev[24];
	for (int i = 0; i < n; i++)
		rev[i] = tmp[n - 1 - i];
	sb_put(b, rev, (size_t)n);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void sb_jstr(struct sb *b, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	size_t n = strlen(s);
	sb_grow(b, n * 6 + 2);
	/* a local cursor: stores through char * would otherwise force b->len to be reloaded per byte */
	char *o = b->p + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hx[ch >> 4];
			o[5] = hx[ch & 15];
			o += 6;
		} else {
			*o++ = (char)ch;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

/* ,"Name":"value" */
static void kv_str(struct sb *b, const char *k, const char *v)
{
	sb_grow(b, strlen(k) + 4);
	b->p[b->len++] = ',';
	b->p[b->len++] = '"';
	sb_puts(b, k);
	SB_LIT(b, "\":");
	sb_jstr(b, v);
}

static void kv_num(struct sb *b, const char *k, uint64_t v)
{
	sb_grow(b, strlen(k) + 4);
	b->p[b->len++] = ',';
	b->p[b->len++] = '"';
	sb_puts(b, k);
	SB_LIT(b, "\":");
	sb_u64(b, v);
}

/* ---------------------------------------------------------------- time */

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

/* Writes t (Unix microseconds) as "YYYY-MM-DD HH:MM:SS.mmm" (iso=0) or "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (iso=1). */
static void sb_time(struct sb *b, int64_t t_us, int iso)
{
	int64_t secs = t_us / 1000000, us = t_us % 1000000;
	int64_t days = secs / 86400, sod = secs % 86400;
	char o[32];
	int y;
	unsigned mo, d;

	civil(days, &y, &mo, &d);
	put2(o, (unsigned)(y / 100));
	put2(o + 2, (unsigned)(y % 100));
	o[4] = '-';
	put2(o + 5, mo);
	o[7] = '-';
	put2(o + 8, d);
	o[10] = iso ? 'T' : ' ';
	put2(o + 11, (unsigned)(sod / 3600));
	o[13] = ':';
	put2(o + 14, (unsigned)(sod / 60 % 60));
	o[16] = ':';
	put2(o + 17, (unsigned)(sod % 60));
	o[19] = '.';
	if (iso) {
		unsigned u = (unsigned)us;
		for (int i = 25; i >= 20; i--, u /= 10)
			o[i] = (char)('0' + u % 10);
		o[26] = 'Z';
		sb_put(b, o, 27);
	} else {
		unsigned ms = (unsigned)(us / 1000);
		o[20] = (char)('0' + ms / 100);
		put2(o + 21, ms % 100);
		sb_put(b, o, 23);
	}
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac][Z]" into Unix microseconds. Returns 0 or -1. */
static int parse_iso(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se;
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	int64_t us = 0;
	const char *p = s + n;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 6) {
				us = us * 10 + (*p - '0');
				digits++;
			}
		while (digits++ < 6)
			us *= 10;
	}
	*out = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400) + h * 3600 + mi * 60 + se) * 1000000LL + us;
	return 0;
}

/* ---------------------------------------------------------------- hosts, processes, events */

struct host {
	char name[48];
	char user[96];      /* DOMAIN\name as Sysmon writes it */
	char home[80];      /* C:\Users\name */
	char sid[72];
	char lan[20];       /* the host's own address */
	char tail[16];      /* last GUID group, constant per boot */
	uint32_t machine;   /* first GUID group */
	uint32_t counter;   /* process counter inside GUIDs */
	uint32_t sysmon_pid;
	uint32_t tids[3];
	uint64_t rid;       /* last EventRecordID written */
};

struct proc {
	char guid[40];
	uint32_t pid;
	char image[300];
	char cmd[1200];
	char cwd[300];
	char hashes[200];
	const char *user;
	char logon_guid[40];
	char logon_id[20];
	const char *integrity;
	uint32_t session;
	int64_t start_us;
	int64_t end_us;     /* 0 while running */
	const struct proc *parent;
	const char *desc, *company, *product, *version, *orig; /* PE version info, "?" when none */
	char label[24];     /* storage for a generated product name (desc/product may point here) */
	uint32_t next_tid;
};

/* One event waiting in the group buffer: text before and after its EventRecordID. */
struct ev {
	int64_t t_us;  /* TimeCreated, the sort key */
	uint32_t host; /* index into the group's hosts */
	uint32_t seq;  /* creation order, tie-break for a stable sort */
	size_t off, split, end;
};

struct gen {
	struct rng r;
	struct sb text;         /* event texts of the current group */
	struct ev *evs;
	size_t nev, cap;
	struct host hosts[GROUP_COPIES];
	struct proc *chunks[MAX_PROC_CHUNKS]; /* processes of the copy being generated, reused per copy */
	size_t nprocs;
	int truth;              /* print stage lines instead of events */
	struct sb out;          /* stdout buffer */
	struct host *h;         /* host of the copy being generated */
	uint32_t hidx;
};

static void out_flush(struct gen *g)
{
	if (g->out.len && fwrite(g->out.p, 1, g->out.len, stdout) != g->out.len) {
		perror("gen_scenario: write");
		exit(1);
	}
	g->out.len = 0;
}

static struct proc *proc_at(struct gen *g, size_t i)
{
	return &g->chunks[i / PROC_CHUNK][i % PROC_CHUNK];
}

static struct proc *proc_alloc(struct gen *g)
{
	size_t c = g->nprocs / PROC_CHUNK;
	if (c == MAX_PROC_CHUNKS) {
		fputs("gen_scenario: too many processes in one copy\n", stderr);
		exit(2);
	}
	if (!g->chunks[c] && !(g->chunks[c] = malloc(PROC_CHUNK * sizeof(struct proc)))) {
		fputs("gen_scenario: out of memory\n", stderr);
		exit(2);
	}
	struct proc *p = proc_at(g, g->nprocs++);
	memset(p, 0, sizeof(*p));
	p->desc = p->company = p->product = p->version = p->orig = "?";
	return p;
}

static void make_guid(struct host *h, int64_t t_us, char *out)
{
	uint32_t t = (uint32_t)(t_us / 1000000);
	uint32_t c = ++h->counter & 0xffff;
	snprintf(out, 40, "%08X-%04X-%04X-%02X%02X-%s", h->machine, t & 0xffff, t >> 16, c & 0xff, c >> 8, h->tail);
}

static void make_logon(struct host *h, int64_t t_us, uint64_t logon_id, char *guid, char *id)
{
	uint32_t t = (uint32_t)(t_us / 1000000);
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(logon_id >> (8 * i));
	snprintf(guid, 40, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", h->machine, t & 0xffff, t >> 16,
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
	snprintf(id, 20, "0x%llx", (unsigned long long)logon_id);
}

/* "SHA1=..,MD5=..,SHA256=..,IMPHASH=.." with random digests (out holds at least 200 bytes). */
static void make_hashes(struct rng *r, char *out)
{
	char *o = out;
	memcpy(o, "SHA1=", 5);
	rnd_hex(r, o + 5, 40, 1);
	o += 45;
	memcpy(o, ",MD5=", 5);
	rnd_hex(r, o + 5, 32, 1);
	o += 37;
	memcpy(o, ",SHA256=", 8);
	rnd_hex(r, o + 8, 64, 1);
	o += 72;
	memcpy(o, ",IMPHASH=", 9);
	rnd_hex(r, o + 9, 32, 1);
}

static const uint8_t event_version[26] = { [1] = 5, [3] = 5, [5] = 3, [7] = 3, [8] = 2, [10] = 3,
					   [11] = 2, [12] = 2, [13] = 2, [22] = 5, [25] = 5 };

/*
 * Starts an event of Sysmon id eid that happened at t_us on the current host:
 * writes the System part and opens EventData. TimeCreated is a little later
 * than the event, as Sysmon writes it after the fact.
 */
static void ev_begin(struct gen *g, unsigned eid, int64_t t_us)
{
	struct host *h = g->h;
	int64_t sys = t_us + 1500 + rnd(&g->r, 1500);

	if (g->nev == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 4096;
		g->evs = realloc(g->evs, g->cap * sizeof(*g->evs));
		if (!g->evs) {
			fputs("gen_scenario: out of memory\n", stderr);
			exit(2);
		}
	}
	struct ev *e = &g->evs[g->nev];
	e->t_us = sys;
	e->host = g->hidx;
	e->seq = (uint32_t)g->nev;
	e->off = g->text.len;
	g->nev++;

	struct sb *b = &g->text;
	SB_LIT(b, "{\"Event\":{\"#attributes\":{\"xmlns\":\"http://schemas.microsoft.com/win/2004/08/events/event\"},"
		  "\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Sysmon\",\"Guid\":\"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}\"}},"
		  "\"EventID\":");
	sb_u64(b, eid);
	SB_LIT(b, ",\"Version\":");
	sb_u64(b, event_version[eid]);
	SB_LIT(b, ",\"Level\":4,\"Task\":");
	sb_u64(b, eid);
	SB_LIT(b, ",\"Opcode\":0,\"Keywords\":\"0x8000000000000000\",\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"");
	sb_time(b, sys, 1);
	SB_LIT(b, "\"}},\"EventRecordID\":");
	e->split = b->len;
	SB_LIT(b, ",\"Correlation\":null,\"Execution\":{\"#attributes\":{\"ProcessID\":");
	sb_u64(b, h->sysmon_pid);
	SB_LIT(b, ",\"ThreadID\":");
	sb_u64(b, h->tids[rnd(&g->r, 3)]);
	SB_LIT(b, "}},\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":");
	sb_jstr(b, h->name);
	SB_LIT(b, ",\"Security\":{\"#attributes\":{\"UserID\":\"S-1-5-18\"}}},\"EventData\":{\"RuleName\":\"-\"");
}

static void ev_end(struct gen *g)
{
	SB_LIT(&g->text, "}}}\n");
	g->evs[g->nev - 1].end = g->text.len;
}

static void kv_time(struct gen *g, const char *k, int64_t t_us)
{
	struct sb *b = &g->text;
	sb_put(b, ",\"", 2);
	sb_puts(b, k);
	SB_LIT(b, "\":\"");
	sb_time(b, t_us, 0);
	sb_put(b, "\"", 1);
}

/* Sysmon 1. The new process takes user, logon and session from its parent unless set after. */
static struct proc *ev_proc_start(struct gen *g, int64_t t, const struct proc *parent, const char *image,
				  const char *cmd, const char *cwd)
{
	struct proc *p = proc_alloc(g);
	make_guid(g->h, t, p->guid);
	p->pid = 1000 + 4 * rnd(&g->r, 4500);
	snprintf(p->image, sizeof(p->image), "%s", image);
	snprintf(p->cmd, sizeof(p->cmd), "%s", cmd);
	snprintf(p->cwd, sizeof(p->cwd), "%s", cwd ? cwd : parent->cwd);
	p->user = parent->user;
	memcpy(p->logon_guid, parent->logon_guid, sizeof(p->logon_guid));
	memcpy(p->logon_id, parent->logon_id, sizeof(p->logon_id));
	p->integrity = parent->integrity;
	p->session = parent->session;
	p->start_us = t;
	p->parent = parent;
	p->next_tid = p->pid + 4;
	make_hashes(&g->r, p->hashes);
	return p;
}

static void ev_proc_start_write(struct gen *g, const struct proc *p)
{
	struct sb *b = &g->text;
	const struct proc *pp = p->parent;

	ev_begin(g, 1, p->start_us);
	kv_time(g, "UtcTime", p->start_us);
	kv_str(b, "ProcessGuid", p->guid);
	kv_num(b, "ProcessId", p->pid);
	kv_str(b, "Image", p->image);
	kv_str(b, "FileVersion", p->version);
	kv_str(b, "Description", p->desc);
	kv_str(b, "Product", p->product);
	kv_str(b, "Company", p->company);
	kv_str(b, "OriginalFileName", p->orig);
	kv_str(b, "CommandLine", p->cmd);
	kv_str(b, "CurrentDirectory", p->cwd);
	kv_str(b, "User", p->user);
	kv_str(b, "LogonGuid", p->logon_guid);
	kv_str(b, "LogonId", p->logon_id);
	kv_num(b, "TerminalSessionId", p->session);
	kv_str(b, "IntegrityLevel", p->integrity);
	kv_str(b, "Hashes", p->hashes);
	kv_str(b, "ParentProcessGuid", pp->guid);
	kv_num(b, "ParentProcessId", pp->pid);
	kv_str(b, "ParentImage", pp->image);
	kv_str(b, "ParentCommandLine", pp->cmd);
	kv_str(b, "ParentUser", pp->user);
	ev_end(g);
}

static void set_ms_meta(struct proc *p, const char *desc, const char *orig)
{
	p->desc = desc;
	p->orig = orig;
	p->company = "Microsoft Corporation";
	p->product = "Microsoft\xc2\xae Windows\xc2\xae Operating System";
	p->version = "10.0.16299.15 (WinBuild.160101.0800)";
}

static void ev_proc_end(struct gen *g, int64_t t, struct proc *p)
{
	p->end_us = t;
	ev_begin(g, 5, t);
	kv_time(g, "UtcTime", t);
	kv_str(&g->text, "ProcessGuid", p->guid);
	kv_num(&g->text, "ProcessId", p->pid);
	kv_str(&g->text, "Image", p->image);
	kv_str(&g->text, "User", p->user);
	ev_end(g);
}

static void ev_common(struct gen *g, unsigned eid, int64_t t, const struct proc *p)
{
	ev_begin(g, eid, t);
	kv_time(g, "UtcTime", t);
	kv_str(&g->text, "ProcessGuid", p->guid);
	kv_num(&g->text, "ProcessId", p->pid);
}

static void ev_image_load(struct gen *g, int64_t t, const struct proc *p, const char *dll, const char *desc,
			  const char *orig)
{
	struct sb *b = &g->text;
	char hashes[200];
	make_hashes(&g->r, hashes);
	ev_common(g, 7, t, p);
	kv_str(b, "Image", p->image);
	kv_str(b, "ImageLoaded", dll);
	kv_str(b, "FileVersion", "10.0.16299.15 (WinBuild.160101.0800)");
	kv_str(b, "Description", desc);
	kv_str(b, "Product", "Microsoft\xc2\xae Windows\xc2\xae Operating System");
	kv_str(b, "Company", "Microsoft Corporation");
	kv_str(b, "OriginalFileName", orig);
	kv_str(b, "Hashes", hashes);
	kv_str(b, "Signed", "true");
	kv_str(b, "Signature", "Microsoft Windows");
	kv_str(b, "SignatureStatus", "Valid");
	kv_str(b, "User", p->user);
	ev_end(g);
}

static void ev_file(struct gen *g, int64_t t, const struct proc *p, const char *path)
{
	ev_common(g, 11, t, p);
	kv_str(&g->text, "Image", p->image);
	kv_str(&g->text, "TargetFilename", path);
	kv_time(g, "CreationUtcTime", t);
	kv_str(&g->text, "User", p->user);
	ev_end(g);
}

static void ev_reg_set(struct gen *g, int64_t t, const struct proc *p, const char *key, const char *details)
{
	ev_begin(g, 13, t);
	kv_str(&g->text, "EventType", "SetValue");
	kv_time(g, "UtcTime", t);
	kv_str(&g->text, "ProcessGuid", p->guid);
	kv_num(&g->text, "ProcessId", p->pid);
	kv_str(&g->text, "Image", p->image);
	kv_str(&g->text, "TargetObject", key);
	kv_str(&g->text, "Details", details);
	kv_str(&g->text, "User", p->user);
	ev_end(g);
}

static const char *port_name(unsigned port)
{
	switch (port) {
	case 53: return "domain";
	case 80: return "http";
	case 443: return "https";
	default: return "-";
	}
}

static void ev_net(struct gen *g, int64_t t, const struct proc *p, const char *proto, const char *dst,
		   unsigned port)
{
	struct sb *b = &g->text;
	ev_common(g, 3, t, p);
	kv_str(b, "Image", p->image);
	kv_str(b, "User", p->user);
	kv_str(b, "Protocol", proto);
	SB_LIT(b, ",\"Initiated\":true,\"SourceIsIpv6\":false");
	kv_str(b, "SourceIp", g->h->lan);
	kv_str(b, "SourceHostname", "-");
	kv_num(b, "SourcePort", 49152 + rnd(&g->r, 16000));
	kv_str(b, "SourcePortName", "-");
	SB_LIT(b, ",\"DestinationIsIpv6\":false");
	kv_str(b, "DestinationIp", dst);
	kv_str(b, "DestinationHostname", "-");
	kv_num(b, "DestinationPort", port);
	kv_str(b, "DestinationPortName", port_name(port));
	ev_end(g);
}

static void ev_dns(struct gen *g, int64_t t, const struct proc *p, const char *name, unsigned status,
		   const char *results)
{
	ev_common(g, 22, t, p);
	kv_str(&g->text, "QueryName", name);
	sb_put(&g->text, ",\"QueryStatus\":\"", 16);
	sb_u64(&g->text, status);
	sb_put(&g->text, "\"", 1);
	kv_str(&g->text, "QueryResults", results);
	kv_str(&g->text, "Image", p->image);
	kv_str(&g->text, "User", p->user);
	ev_end(g);
}

static void ev_access(struct gen *g, int64_t t, struct proc *src, const struct proc *dst, const char *mask,
		      const char *trace)
{
	struct sb *b = &g->text;
	ev_begin(g, 10, t);
	kv_time(g, "UtcTime", t);
	kv_str(b, "SourceProcessGUID", src->guid);
	kv_num(b, "SourceProcessId", src->pid);
	kv_num(b, "SourceThreadId", src->next_tid);
	kv_str(b, "SourceImage", src->image);
	kv_str(b, "TargetProcessGUID", dst->guid);
	kv_num(b, "TargetProcessId", dst->pid);
	kv_str(b, "TargetImage", dst->image);
	kv_str(b, "GrantedAccess", mask);
	kv_str(b, "CallTrace", trace);
	kv_str(b, "SourceUser", src->user);
	kv_str(b, "TargetUser", dst->user);
	ev_end(g);
}

static void ev_remote_thread(struct gen *g, int64_t t, const struct proc *src, const struct proc *dst)
{
	struct sb *b = &g->text;
	char addr[24];
	snprintf(addr, sizeof(addr), "0x%016llX", (unsigned long long)(0x200000 + 0x1000 * rnd(&g->r, 0x800)));
	ev_begin(g, 8, t);
	kv_time(g, "UtcTime", t);
	kv_str(b, "SourceProcessGuid", src->guid);
	kv_num(b, "SourceProcessId", src->pid);
	kv_str(b, "SourceImage", src->image);
	kv_str(b, "TargetProcessGuid", dst->guid);
	kv_num(b, "TargetProcessId", dst->pid);
	kv_str(b, "TargetImage", dst->image);
	kv_num(b, "NewThreadId", dst->pid + 8 + 4 * rnd(&g->r, 64));
	kv_str(b, "StartAddress", addr);
	kv_str(b, "StartModule", "-");
	kv_str(b, "StartFunction", "-");
	kv_str(b, "SourceUser", src->user);
	kv_str(b, "TargetUser", dst->user);
	ev_end(g);
}

static void ev_tamper(struct gen *g, int64_t t, const struct proc *p)
{
	ev_common(g, 25, t, p);
	kv_str(&g->text, "Image", p->image);
	kv_str(&g->text, "Type", "Image is replaced");
	kv_str(&g->text, "User", p->user);
	ev_end(g);
}

static void truth(struct gen *g, const char *stage, const struct proc *p)
{
	if (!g->truth)
		return;
	sb_puts(&g->out, stage);
	sb_put(&g->out, "\t", 1);
	sb_puts(&g->out, p->guid);
	sb_put(&g->out, "\n", 1);
}

/* ---------------------------------------------------------------- a host and its base processes */

/* Users by the outbreak's geography: mostly Russian, then Turkish, then Ukrainian. */
static const char *const users_ru[] = { "olga", "ivanov", "a.smirnova", "petrov.d", "buh", "sergey", "natasha",
					"kuznetsova", "admin", "m.volkov", "elena", "dima" };
static const char *const users_tr[] = { "mehmet", "ayse", "ahmet.yilmaz", "fatma", "emre", "zeynep" };
static const char *const users_ua[] = { "oksana", "taras", "shevchenko.i" };

struct base {
	struct proc *winlogon, *services, *svc_net, *svc_dns, *svc_dcom, *userinit, *explorer;
};

static void host_init(struct gen *g, struct host *h)
{
	static const char *const prefixes[] = { "DESKTOP-", "WIN-", "PC-", "WS-", "USER-PC-", "BUH-" };
	const char *prefix = PICK(&g->r, prefixes);
	char suffix[12], uname[40];
	unsigned roll = rnd(&g->r, 100);
	const char *u = roll < 76 ? PICK(&g->r, users_ru) : roll < 95 ? PICK(&g->r, users_tr) : PICK(&g->r, users_ua);

	for (int i = 0; i < 7; i++)
		suffix[i] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[rnd(&g->r, 34)];
	suffix[7] = '\0';
	char hname[sizeof(h->name)];
	snprintf(hname, sizeof(hname), "%s%s", prefix, suffix);
	memcpy(h->name, hname, sizeof(hname));
	snprintf(uname, sizeof(uname), "%s", u);
	snprintf(h->user, sizeof(h->user), "%s\\%s", hname, uname);
	snprintf(h->home, sizeof(h->home), "C:\\Users\\%s", uname);
	snprintf(h->sid, sizeof(h->sid), "S-1-5-21-%u-%u-%u-%u", 1000000000u + rnd(&g->r, 3000000000u),
		 1000000000u + rnd(&g->r, 3000000000u), 1000000000u + rnd(&g->r, 3000000000u), 1001 + rnd(&g->r, 4));
	snprintf(h->lan, sizeof(h->lan), "192.168.1.%u", 10 + rnd(&g->r, 240));
	snprintf(h->tail, sizeof(h->tail), "00000000%02X00", 1 + rnd(&g->r, 0x3f));
	h->machine = (uint32_t)rng_next(&g->r);
	h->counter = 0x0800 + rnd(&g->r, 0x400);
	h->sysmon_pid = 1800 + 4 * rnd(&g->r, 200);
	for (int i = 0; i < 3; i++)
		h->tids[i] = 2000 + 4 * rnd(&g->r, 1000);
	h->rid = 10000 + rnd(&g->r, 900000);
}

/* Boot-time processes exist before the window (no start events); the logon is emitted as noise. */
static void base_init(struct gen *g, struct base *bs, int64_t t0)
{
	struct host *h = g->h;
	int64_t boot = t0 - (int64_t)(3600 + rnd(&g->r, 7200)) * 1000000;
	struct proc *w;

	w = proc_alloc(g);
	make_guid(h, boot + 4000000, w->guid);
	w->pid = 500 + 4 * rnd(&g->r, 100);
	strcpy(w->image, "C:\\Windows\\System32\\winlogon.exe");
	strcpy(w->cmd, "winlogon.exe");
	strcpy(w->cwd, "C:\\Windows\\system32\\");
	w->user = "NT AUTHORITY\\SYSTEM";
	make_logon(h, boot, 0x3e7, w->logon_guid, w->logon_id);
	w->integrity = "System";
	w->session = 1;
	w->start_us = boot + 4000000;
	bs->winlogon = w;

	struct proc *s = proc_alloc(g);
	*s = *w;
	make_guid(h, boot + 3000000, s->guid);
	s->pid = 600 + 4 * rnd(&g->r, 40);
	strcpy(s->image, "C:\\Windows\\System32\\services.exe");
	strcpy(s->cmd, "C:\\Windows\\system32\\services.exe");
	s->session = 0;
	bs->services = s;

	bs->svc_net = proc_alloc(g);
	*bs->svc_net = *s;
	make_guid(h, boot + 9000000, bs->svc_net->guid);
	bs->svc_net->pid = 1000 + 4 * rnd(&g->r, 100);
	strcpy(bs->svc_net->image, "C:\\Windows\\System32\\svchost.exe");
	strcpy(bs->svc_net->cmd, "C:\\Windows\\system32\\svchost.exe -k netsvcs");
	bs->svc_net->parent = s;

	bs->svc_dns = proc_alloc(g);
	*bs->svc_dns = *bs->svc_net;
	make_guid(h, boot + 8000000, bs->svc_dns->guid);
	bs->svc_dns->pid += 188;
	strcpy(bs->svc_dns->cmd, "C:\\Windows\\system32\\svchost.exe -k NetworkService");
	bs->svc_dns->user = "NT AUTHORITY\\NETWORK SERVICE";
	make_logon(h, boot, 0x3e4, bs->svc_dns->logon_guid, bs->svc_dns->logon_id);

	bs->svc_dcom = proc_alloc(g);
	*bs->svc_dcom = *bs->svc_net;
	make_guid(h, boot + 2000000, bs->svc_dcom->guid);
	bs->svc_dcom->pid = 800 + 4 * rnd(&g->r, 40);
	strcpy(bs->svc_dcom->cmd, "C:\\Windows\\system32\\svchost.exe -k DcomLaunch");

	/* the user's logon: userinit (from winlogon) starts the shell */
	int64_t logon = t0 + rnd(&g->r, 2000000);
	struct proc fake = *w;
	fake.user = h->user;
	make_logon(h, logon, 0x20000 + rnd(&g->r, 0x60000), fake.logon_guid, fake.logon_id);
	fake.integrity = "Medium";
	struct proc *ui = ev_proc_start(g, logon, w, "C:\\Windows\\System32\\userinit.exe",
					"C:\\Windows\\system32\\userinit.exe", "C:\\Windows\\system32\\");
	ui->user = h->user;
	memcpy(ui->logon_guid, fake.logon_guid, sizeof(ui->logon_guid));
	memcpy(ui->logon_id, fake.logon_id, sizeof(ui->logon_id));
	ui->integrity = "Medium";
	set_ms_meta(ui, "Userinit Logon Application", "USERINIT.EXE");
	ev_proc_start_write(g, ui);
	bs->userinit = ui;
	struct proc *ex = ev_proc_start(g, logon + 400000 + rnd(&g->r, 200000), ui, "C:\\Windows\\explorer.exe",
					"C:\\Windows\\Explorer.EXE", NULL);
	set_ms_meta(ex, "Windows Explorer", "EXPLORER.EXE");
	ev_proc_start_write(g, ex);
	ev_image_load(g, ex->start_us + 90000, ex, "C:\\Windows\\System32\\shell32.dll", "Windows Shell Common Dll",
		      "SHELL32.dll");
	ev_proc_end(g, logon + 9000000 + rnd(&g->r, 3000000), ui);
	bs->explorer = ex;
}

/* ---------------------------------------------------------------- benign noise */

static const char *const web[][2] = {
	{ "yandex.ru", "77.88.55.66" },        { "mail.ru", "217.69.139.202" },
	{ "vk.com", "87.240.129.133" },        { "ok.ru", "217.20.155.13" },
	{ "www.google.ru", "173.194.222.94" }, { "www.youtube.com", "173.194.73.190" },
	{ "avito.ru", "146.158.48.1" },        { "www.sahibinden.com", "185.46.101.10" },
	{ "www.hurriyet.com.tr", "94.55.176.8" }, { "rozetka.com.ua", "185.172.148.62" },
	{ "kinopoisk.ru", "213.180.199.34" },  { "www.wikipedia.org", "91.198.174.192" },
};

static const char *const chrome_img = "C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe";

static struct proc *noise_app(struct gen *g, struct base *bs, int64_t t)
{
	struct host *h = g->h;
	char img[300], cmd[1200];
	struct proc *p;
	unsigned k = rnd(&g->r, 7);

	switch (k) {
	case 0:
		p = ev_proc_start(g, t, bs->explorer, "C:\\Windows\\System32\\notepad.exe", "", NULL);
		snprintf(p->cmd, sizeof(p->cmd), "\"C:\\Windows\\system32\\NOTEPAD.EXE\" %s\\Documents\\zametki_%u.txt",
			 h->home, rnd(&g->r, 100));
		set_ms_meta(p, "Notepad", "NOTEPAD.EXE");
		break;
	case 1:
		p = ev_proc_start(g, t, bs->explorer, "C:\\Windows\\System32\\calc.exe",
				  "\"C:\\Windows\\System32\\calc.exe\" ", NULL);
		set_ms_meta(p, "Windows Calculator", "CALC.EXE");
		break;
	case 2:
		p = ev_proc_start(g, t, bs->explorer, chrome_img, "", "C:\\Program Files (x86)\\Google\\Chrome\\Application\\");
		snprintf(p->cmd, sizeof(p->cmd), "\"%s\" ", chrome_img);
		p->desc = "Google Chrome";
		p->product = "Google Chrome";
		p->company = "Google Inc.";
		p->version = "65.0.3325.146";
		p->orig = "chrome.exe";
		break;
	case 3:
		snprintf(img, sizeof(img), "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE");
		snprintf(cmd, sizeof(cmd), "\"%s\" /n \"%s\\Documents\\dogovor_%u.docx\"", img, h->home, rnd(&g->r, 900));
		p = ev_proc_start(g, t, bs->explorer, img, cmd, NULL);
		p->desc = "Microsoft Word";
		p->product = "Microsoft Office 2016";
		p->company = "Microsoft Corporation";
		p->version = "16.0.4639.1000";
		p->orig = "WinWord.exe";
		break;
	case 4:
		snprintf(img, sizeof(img), "%s\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe", h->home);
		snprintf(cmd, sizeof(cmd), "\"%s\" -autostart", img);
		p = ev_proc_start(g, t, bs->explorer, img, cmd, NULL);
		p->desc = "Telegram Desktop";
		p->product = "Telegram Desktop";
		p->company = "Telegram Messenger LLP";
		p->version = "1.2.8.0";
		p->orig = "Telegram.exe";
		break;
	case 5:
		p = ev_proc_start(g, t, bs->explorer, "C:\\Windows\\System32\\mspaint.exe",
				  "\"C:\\Windows\\system32\\mspaint.exe\" ", NULL);
		set_ms_meta(p, "Paint", "MSPAINT.EXE");
		break;
	default:
		p = ev_proc_start(g, t, bs->explorer, "C:\\Windows\\System32\\cmd.exe",
				  "\"C:\\Windows\\system32\\cmd.exe\" ", NULL);
		snprintf(p->cwd, sizeof(p->cwd), "%s\\", h->home);
		set_ms_meta(p, "Windows Command Processor", "Cmd.Exe");
		break;
	}
	ev_proc_start_write(g, p);
	return p;
}

/* Emits one benign scene at t on the current host; returns the number of events written. */
static unsigned noise_scene(struct gen *g, struct base *bs, int64_t t)
{
	struct host *h = g->h;
	size_t before = g->nev;
	unsigned k = rnd(&g->r, 100);
	char buf[1200], path[300];

	if (k < 22) { /* a browser page: DNS, resolver traffic, HTTPS */
		unsigned w = rnd(&g->r, sizeof(web) / sizeof(web[0]));
		struct proc *ch = NULL;
		for (size_t i = 0; i < g->nprocs; i++) {
			struct proc *p = proc_at(g, i);
			if (strcmp(p->image, chrome_img) == 0 && p->start_us < t && (!p->end_us || p->end_us > t + 100000))
				ch = p;
		}
		if (!ch) {
			ch = noise_app(g, bs, t);
			if (strcmp(ch->image, chrome_img) != 0)
				return (unsigned)(g->nev - before);
		}
		snprintf(buf, sizeof(buf), "::ffff:%s;", web[w][1]);
		ev_dns(g, t + 1000, ch, web[w][0], 0, buf);
		if (chance(&g->r, 40))
			ev_net(g, t + 2000, bs->svc_dns, "udp", RESOLVER_IP, 53);
		ev_net(g, t + 40000, ch, "tcp", web[w][1], 443);
	} else if (k < 40) { /* an application started from the shell, maybe opened by explorer, later closed */
		struct proc *p = noise_app(g, bs, t);
		if (chance(&g->r, 30))
			ev_access(g, t + 15000 + rnd(&g->r, 20000), bs->explorer, p, "0x1fffff",
				  "C:\\Windows\\SYSTEM32\\ntdll.dll+a0344|C:\\Windows\\System32\\KERNELBASE.dll+3e4a7|"
				  "C:\\Windows\\System32\\KERNEL32.DLL+1c4e3|C:\\Windows\\System32\\windows.storage.dll+8e2f1|"
				  "C:\\Windows\\System32\\SHELL32.dll+2a1c4|C:\\Windows\\Explorer.EXE+2d2c5");
		if (strstr(p->image, "cmd.exe")) {
			struct proc *c = ev_proc_start(g, t + 20000, p, "C:\\Windows\\System32\\conhost.exe",
						       "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
						       "C:\\Windows\\");
			set_ms_meta(c, "Console Window Host", "CONHOST.EXE");
			ev_proc_start_write(g, c);
			struct proc *i = ev_proc_start(g, t + 5000000, p, "C:\\Windows\\System32\\ipconfig.exe",
						       "ipconfig  /all", NULL);
			set_ms_meta(i, "IP Configuration Utility", "ipconfig.exe");
			ev_proc_start_write(g, i);
			ev_proc_end(g, t + 5300000, i);
		}
		if (chance(&g->r, 50))
			ev_proc_end(g, t + 30000000 + rnd(&g->r, 60000000), p);
	} else if (k < 52) { /* the DNS client talking to the configured resolver */
		ev_net(g, t, bs->svc_dns, "udp", RESOLVER_IP, 53);
		ev_dns(g, t + 300, bs->svc_net, "settings-win.data.microsoft.com", 0,
		       "type:  5 settings-win.data.microsoft.com.akadns.net;::ffff:40.77.226.250;");
	} else if (k < 60) { /* the real wuauclt.exe, started by svchost with its usual command line */
		struct proc *wu = ev_proc_start(
			g, t, bs->svc_net, "C:\\Windows\\System32\\wuauclt.exe",
			"\"C:\\Windows\\system32\\wuauclt.exe\" /UpdateDeploymentProvider UpdateDeploymentProvider.dll "
			"/ClassId 7e3c6f1b-31a0-4fca-a5e2-5ff0c8b3b5ec /RunHandlerComServer",
			"C:\\Windows\\system32\\");
		set_ms_meta(wu, "Windows Update", "wuauclt.exe");
		ev_proc_start_write(g, wu);
		ev_net(g, t + 1200000, wu, "tcp", "13.107.4.50", 443);
		ev_proc_end(g, t + 14000000, wu);
	} else if (k < 68) { /* OneDrive starts and re-registers its own Run value */
		snprintf(path, sizeof(path), "%s\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", h->home);
		snprintf(buf, sizeof(buf), "\"%s\" /background", path);
		struct proc *od = ev_proc_start(g, t, bs->explorer, path, buf, NULL);
		od->desc = od->product = "Microsoft OneDrive";
		od->company = "Microsoft Corporation";
		od->version = "18.025.0204.0009";
		od->orig = "OneDrive.exe";
		ev_proc_start_write(g, od);
		char key[300];
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDrive", h->sid);
		ev_reg_set(g, t + 1700000, od, key, buf);
		ev_net(g, t + 2200000, od, "tcp", "13.107.21.200", 443);
	} else if (k < 74) { /* a signed installer downloaded into Temp installs into Program Files */
		struct proc *ie = ev_proc_start(g, t, bs->explorer, "C:\\Program Files\\Internet Explorer\\iexplore.exe",
						"\"C:\\Program Files\\Internet Explorer\\iexplore.exe\" ", NULL);
		ie->desc = ie->product = "Internet Explorer";
		ie->company = "Microsoft Corporation";
		ie->orig = "IEXPLORE.EXE";
		ev_proc_start_write(g, ie);
		snprintf(path, sizeof(path), "%s\\AppData\\Local\\Temp\\ChromeSetup.exe", h->home);
		ev_file(g, t + 9000000, ie, path);
		snprintf(buf, sizeof(buf), "\"%s\" ", path);
		struct proc *cs = ev_proc_start(g, t + 12000000, ie, path, buf, NULL);
		cs->desc = "Google Update Setup";
		cs->product = "Google Update";
		cs->company = "Google Inc.";
		cs->version = "1.3.33.7";
		cs->orig = "GoogleUpdateSetup.exe";
		ev_proc_start_write(g, cs);
		ev_file(g, t + 14000000, cs, "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe");
		ev_reg_set(g, t + 14500000, bs->services, "HKLM\\System\\CurrentControlSet\\Services\\gupdate\\ImagePath",
			   "\"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe\" /svc");
		ev_net(g, t + 15000000, cs, "tcp", "173.194.222.100", 443);
		ev_proc_end(g, t + 40000000, cs);
	} else if (k < 84) { /* COM and task hosts started by their usual svchost */
		static const char *const hosts[][3] = {
			{ "C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}", "Host Process for Windows Tasks" },
			{ "C:\\Windows\\System32\\RuntimeBroker.exe", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding", "Runtime Broker" },
			{ "C:\\Windows\\System32\\dllhost.exe", "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}", "COM Surrogate" },
		};
		unsigned i = rnd(&g->r, 3);
		struct proc *p = ev_proc_start(g, t, i == 0 ? bs->svc_net : bs->svc_dcom, hosts[i][0], hosts[i][1],
					       "C:\\Windows\\system32\\");
		p->user = h->user;
		memcpy(p->logon_guid, bs->explorer->logon_guid, sizeof(p->logon_guid));
		memcpy(p->logon_id, bs->explorer->logon_id, sizeof(p->logon_id));
		p->integrity = "Medium";
		p->session = 1;
		set_ms_meta(p, hosts[i][2], strrchr(hosts[i][0], '\\') + 1);
		ev_proc_start_write(g, p);
		ev_proc_end(g, t + 20000000 + rnd(&g->r, 60000000), p);
	} else if (k < 92) { /* the shell loads a DLL and updates its MRU lists */
		ev_image_load(g, t, bs->explorer, "C:\\Windows\\System32\\ntshrui.dll", "Shell extensions for sharing",
			      "ntshrui.dll");
		char key[300];
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\MRUListEx",
			 h->sid);
		ev_reg_set(g, t + 5000, bs->explorer, key, "Binary Data");
	} else { /* a messenger talking to its servers or to a peer on a high port (not a mining port) */
		snprintf(path, sizeof(path), "%s\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe", h->home);
		snprintf(buf, sizeof(buf), "\"%s\" -autostart", path);
		struct proc *p = ev_proc_start(g, t, bs->explorer, path, buf, NULL);
		p->desc = p->product = "Telegram Desktop";
		p->company = "Telegram Messenger LLP";
		p->version = "1.2.8.0";
		p->orig = "Telegram.exe";
		ev_proc_start_write(g, p);
		char ip[20];
		rnd_public_ip(&g->r, ip, sizeof(ip));
		ev_net(g, t + 800000, p, "tcp", ip, chance(&g->r, 50) ? 443 : 51413);
	}
	return (unsigned)(g->nev - before);
}

/* ---------------------------------------------------------------- --benign: ordinary activity only */

static const char *const common_domains[] = {
	"www.microsoft.com", "login.live.com", "outlook.office365.com", "github.com", "update.googleapis.com",
	"clients2.google.com", "www.bing.com", "ctldl.windowsupdate.com", "officecdn.microsoft.com",
	"teams.microsoft.com", "www.wikipedia.org", "cdn.jsdelivr.net", "download.windowsupdate.com",
};

static const char *const installs[][3] = { /* program folder, main binary, display name */
	{ "C:\\Program Files\\7-Zip", "7zFM.exe", "7-Zip 19.00 (x64)" },
	{ "C:\\Program Files\\Notepad++", "notepad++.exe", "Notepad++ (64-bit x64)" },
	{ "C:\\Program Files\\VideoLAN\\VLC", "vlc.exe", "VLC media player" },
	{ "C:\\Program Files (x86)\\Adobe\\Acrobat Reader DC\\Reader", "AcroRd32.exe", "Adobe Acrobat Reader DC" },
};

/* Scenes only --benign uses, so the attack scenarios stay byte-identical. */
static unsigned benign_extra(struct gen *g, struct base *bs, int64_t t)
{
	struct host *h = g->h;
	size_t before = g->nev;
	unsigned k = rnd(&g->r, 6);
	char buf[1200], path[400], key[400];

	if (k == 0) { /* DNS client lookups of common domains, then HTTPS */
		const char *d = PICK(&g->r, common_domains);
		char ip[20];
		rnd_public_ip(&g->r, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "::ffff:%s;", ip);
		ev_dns(g, t, bs->svc_dns, d, 0, buf);
		ev_net(g, t + 3000, bs->svc_net, "tcp", ip, 443);
	} else if (k == 1) { /* an MSI installer run by the Windows Installer service */
		unsigned i = rnd(&g->r, sizeof(installs) / sizeof(installs[0]));
		struct proc *mi = ev_proc_start(g, t, bs->services, "C:\\Windows\\System32\\msiexec.exe",
						"C:\\Windows\\system32\\msiexec.exe /V", "C:\\Windows\\system32\\");
		set_ms_meta(mi, "Windows\xc2\xae installer", "msiexec.exe");
		ev_proc_start_write(g, mi);
		snprintf(path, sizeof(path), "%s\\%s", installs[i][0], installs[i][1]);
		ev_file(g, t + 800000, mi, path);
		char guid[40];
		make_guid(h, t, guid);
		snprintf(key, sizeof(key), "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\%s\\DisplayName", guid);
		ev_reg_set(g, t + 900000, mi, key, installs[i][2]);
		snprintf(key, sizeof(key), "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\%s\\InstallLocation", guid);
		snprintf(buf, sizeof(buf), "%s\\", installs[i][0]);
		ev_reg_set(g, t + 910000, mi, key, buf);
		ev_proc_end(g, t + 5000000, mi);
	} else if (k == 2) { /* Chrome spawns its renderer and GPU processes */
		struct proc *ch = ev_proc_start(g, t, bs->explorer, chrome_img, "", "C:\\Program Files (x86)\\Google\\Chrome\\Application\\");
		snprintf(ch->cmd, sizeof(ch->cmd), "\"%s\" ", chrome_img);
		ch->desc = ch->product = "Google Chrome";
		ch->company = "Google Inc.";
		ch->version = "65.0.3325.146";
		ch->orig = "chrome.exe";
		ev_proc_start_write(g, ch);
		static const char *const types[] = { "renderer", "gpu-process", "utility" };
		for (unsigned n = 0; n < 3; n++) {
			snprintf(buf, sizeof(buf), "\"%s\" --type=%s --field-trial-handle=%u --lang=ru --service-request-channel-token=%u",
				 chrome_img, types[n], 1000 + rnd(&g->r, 9000), rnd(&g->r, 1u << 30));
			struct proc *c = ev_proc_start(g, t + 200000 * (n + 1), ch, chrome_img, buf, NULL);
			c->desc = c->product = "Google Chrome";
			c->company = "Google Inc.";
			c->version = "65.0.3325.146";
			c->orig = "chrome.exe";
			ev_proc_start_write(g, c);
		}
		snprintf(path, sizeof(path), "%s\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\History-journal", h->home);
		ev_file(g, t + 900000, ch, path);
	} else if (k == 3) { /* Office opens a document and keeps its own temporary and recent files */
		char img[300];
		snprintf(img, sizeof(img), "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE");
		snprintf(buf, sizeof(buf), "\"%s\" \"%s\\Documents\\otchet_%u.xlsx\"", img, h->home, rnd(&g->r, 900));
		struct proc *x = ev_proc_start(g, t, bs->explorer, img, buf, NULL);
		x->desc = "Microsoft Excel";
		x->product = "Microsoft Office 2016";
		x->company = "Microsoft Corporation";
		x->version = "16.0.4639.1000";
		x->orig = "Excel.exe";
		ev_proc_start_write(g, x);
		ev_image_load(g, t + 100000, x, "C:\\Windows\\System32\\msxml6.dll", "MSXML 6.0 SP3", "msxml6.dll");
		snprintf(path, sizeof(path), "%s\\AppData\\Roaming\\Microsoft\\Office\\Recent\\otchet.LNK", h->home);
		ev_file(g, t + 400000, x, path);
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Office\\16.0\\Excel\\File MRU\\Item 1", h->sid);
		ev_reg_set(g, t + 410000, x, key, "[F00000000][T01D3B5A1C2D3E4F5][O00000000]*C:\\Users\\otchet.xlsx");
		ev_proc_end(g, t + 60000000, x);
	} else if (k == 4) { /* svchost hosts a service instance; the update client checks in */
		struct proc *sv = ev_proc_start(g, t, bs->services, "C:\\Windows\\System32\\svchost.exe",
						"C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted -p -s DHCP",
						"C:\\Windows\\system32\\");
		set_ms_meta(sv, "Host Process for Windows Services", "svchost.exe");
		ev_proc_start_write(g, sv);
		ev_dns(g, t + 50000, bs->svc_net, "ctldl.windowsupdate.com", 0, "type:  5 ctldl.windowsupdate.com.edgesuite.net;::ffff:23.62.120.11;");
		ev_net(g, t + 90000, bs->svc_net, "tcp", "23.62.120.11", 80);
	} else { /* the shell opens folders and documents */
		snprintf(path, sizeof(path), "%s\\Downloads\\report_%u.pdf", h->home, rnd(&g->r, 1000));
		ev_file(g, t, bs->explorer, path);
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.pdf\\%u",
			 h->sid, rnd(&g->r, 20));
		ev_reg_set(g, t + 2000, bs->explorer, key, "Binary Data");
	}
	return (unsigned)(g->nev - before);
}

/* ---------------------------------------------------------------- --benign N --linux: vg_event JSON */

/*
 * Ordinary Linux activity as the eBPF sensor reports it (docs/linux-events.md):
 * systemd and cron starting jobs, a user's shell (ls, git, make, an editor
 * with its swap file), apt fetching lists and dpkg installing a package,
 * a browser resolving and connecting, ssh logins, process exits. One vg_event
 * JSON line per event, in time order, hosts one after another.
 */
struct lproc {
	uint32_t pid;
	uint64_t start;   /* clock ticks since boot (entity id) */
	char image[160];
	char cmd[400];
	char user[32];
	char cwd[160];
	const struct lproc *parent;
};

struct lgen {
	struct rng r;
	struct sb b;
	char host[40];
	char lan[20];
	int64_t t_us;     /* current event time */
	int64_t boot_us;  /* boot time (start ticks are relative to it) */
	uint32_t next_pid;
	uint64_t made;
};

static void l_flush(struct lgen *g)
{
	if (g->b.len && fwrite(g->b.p, 1, g->b.len, stdout) != g->b.len) {
		perror("gen_scenario: write");
		exit(1);
	}
	g->b.len = 0;
}

static void l_key(struct lgen *g, const struct lproc *p, char *out, size_t len)
{
	snprintf(out, len, "%s:%u:%llu", g->host, p->pid, (unsigned long long)p->start);
}

static void l_proc_obj(struct lgen *g, const char *name, const struct lproc *p, int with_start)
{
	struct sb *b = &g->b;
	char key[96];
	l_key(g, p, key, sizeof(key));
	sb_puts(b, ",\"");
	sb_puts(b, name);
	sb_puts(b, "\":{\"entity_id\":");
	sb_jstr(b, key);
	sb_puts(b, ",\"pid\":");
	sb_u64(b, p->pid);
	kv_str(b, "executable", p->image);
	kv_str(b, "command_line", p->cmd);
	kv_str(b, "user", p->user);
	kv_str(b, "working_directory", p->cwd);
	if (with_start) {
		sb_puts(b, ",\"start\":\"");
		sb_time(b, g->boot_us + (int64_t)p->start * 10000, 1);
		sb_puts(b, "\"");
	}
	sb_puts(b, "}");
}

/* Opens an event of type at the current time by p: header, process, parent; raw opened with the common fields. */
static void l_begin(struct lgen *g, const char *type, const struct lproc *p)
{
	struct sb *b = &g->b;
	g->t_us += 1000 + rnd(&g->r, 400000);
	sb_puts(b, "{\"vigil\":\"event/1\",\"@timestamp\":\"");
	sb_time(b, g->t_us, 1);
	sb_puts(b, "\",\"event\":{\"type\":");
	sb_jstr(b, type);
	sb_puts(b, ",\"source\":\"ebpf\",\"platform\":\"linux\"},\"host\":{\"name\":");
	sb_jstr(b, g->host);
	sb_puts(b, "}");
	l_proc_obj(g, "process", p, 1);
	if (p->parent)
		l_proc_obj(g, "parent", p->parent, 0);
}

static void l_raw_begin(struct lgen *g, const struct lproc *p)
{
	struct sb *b = &g->b;
	sb_puts(b, ",\"raw\":{\"ProcessId\":\"");
	sb_u64(b, p->pid);
	sb_puts(b, "\"");
	kv_str(b, "Image", p->image);
	kv_str(b, "User", p->user);
	sb_puts(b, ",\"UtcTime\":\"");
	sb_time(b, g->t_us, 0);
	sb_puts(b, "\"");
}

static void l_end(struct lgen *g)
{
	sb_puts(&g->b, "}}\n");
	g->made++;
	if (g->b.len > (1 << 20))
		l_flush(g);
}

static struct lproc *l_spawn(struct lgen *g, struct lproc *slot, const struct lproc *parent, const char *image,
			     const char *cmd, const char *user, const char *pkg)
{
	struct lproc *p = slot;
	memset(p, 0, sizeof(*p));
	g->next_pid += 1 + rnd(&g->r, 40);
	p->pid = g->next_pid;
	p->start = (uint64_t)((g->t_us - g->boot_us) / 10000) + 1;
	snprintf(p->image, sizeof(p->image), "%s", image);
	snprintf(p->cmd, sizeof(p->cmd), "%s", cmd);
	snprintf(p->user, sizeof(p->user), "%s", user ? user : parent->user);
	snprintf(p->cwd, sizeof(p->cwd), "%s", parent ? parent->cwd : "/");
	p->parent = parent;
	l_begin(g, "process_start", p);
	l_raw_begin(g, p);
	struct sb *b = &g->b;
	kv_str(b, "CommandLine", p->cmd);
	kv_str(b, "CurrentDirectory", p->cwd);
	sb_puts(b, ",\"ParentProcessId\":\"");
	sb_u64(b, parent->pid);
	sb_puts(b, "\"");
	kv_str(b, "ParentImage", parent->image);
	kv_str(b, "ParentCommandLine", parent->cmd);
	kv_str(b, "ParentUser", parent->user);
	kv_str(b, "LogonId", strcmp(p->user, "root") == 0 ? "0" : "1000");
	const char *comm = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	char c16[16];
	snprintf(c16, sizeof(c16), "%s", comm);
	kv_str(b, "Comm", c16);
	kv_str(b, "Argv0", comm);
	sb_puts(b, ",\"ExeDeleted\":\"false\",\"ExeMemfd\":\"false\"");
	kv_str(b, "Cgroup", strcmp(p->user, "root") == 0 ? "/system.slice/cron.service" : "/user.slice/user-1000.slice/session-2.scope");
	kv_str(b, "ContainerId", "");
	kv_str(b, "Package", pkg ? pkg : "");
	kv_str(b, "PackageVerified", pkg ? "true" : "");
	l_end(g);
	return p;
}

static void l_exit(struct lgen *g, const struct lproc *p)
{
	l_begin(g, "process_exit", p);
	l_raw_begin(g, p);
	kv_str(&g->b, "ExitCode", "0");
	l_end(g);
}

static void l_file(struct lgen *g, const char *type, const struct lproc *p, const char *path, const char *old,
		   const char *flags)
{
	struct sb *b = &g->b;
	l_begin(g, type, p);
	sb_puts(b, ",\"file\":{\"path\":");
	sb_jstr(b, path);
	if (old) {
		sb_puts(b, ",\"old_path\":");
		sb_jstr(b, old);
	}
	sb_puts(b, "}");
	l_raw_begin(g, p);
	if (old)
		kv_str(b, "SourceFilename", old);
	kv_str(b, "TargetFilename", path);
	if (flags)
		kv_str(b, "Flags", flags);
	l_end(g);
}

static void l_connect(struct lgen *g, const struct lproc *p, const char *proto, const char *ip, unsigned port)
{
	struct sb *b = &g->b;
	unsigned sport = 32768 + rnd(&g->r, 28000);
	l_begin(g, "network_connect", p);
	sb_puts(b, ",\"network\":{");
	sb_puts(b, "\"protocol\":");
	sb_jstr(b, proto);
	kv_str(b, "src_ip", g->lan);
	sb_puts(b, ",\"src_port\":");
	sb_u64(b, sport);
	kv_str(b, "dst_ip", ip);
	sb_puts(b, ",\"dst_port\":");
	sb_u64(b, port);
	sb_puts(b, ",\"direction\":\"outbound\"}");
	l_raw_begin(g, p);
	kv_str(b, "Protocol", proto);
	sb_puts(b, ",\"Initiated\":\"true\"");
	kv_str(b, "SourceIp", g->lan);
	sb_puts(b, ",\"SourcePort\":\"");
	sb_u64(b, sport);
	sb_puts(b, "\"");
	kv_str(b, "DestinationIp", ip);
	sb_puts(b, ",\"DestinationPort\":\"");
	sb_u64(b, port);
	sb_puts(b, "\"");
	l_end(g);
}

static void l_dns(struct lgen *g, const struct lproc *p, const char *name)
{
	struct sb *b = &g->b;
	l_connect(g, p, "udp", RESOLVER_IP, 53);
	l_begin(g, "dns_query", p);
	sb_puts(b, ",\"dns\":{\"question\":");
	sb_jstr(b, name);
	sb_puts(b, "},\"network\":{\"protocol\":\"udp\"");
	kv_str(b, "dst_ip", RESOLVER_IP);
	sb_puts(b, ",\"dst_port\":53,\"direction\":\"outbound\"}");
	l_raw_begin(g, p);
	kv_str(b, "QueryName", name);
	kv_str(b, "QueryType", "A");
	kv_str(b, "DestinationIp", RESOLVER_IP);
	kv_str(b, "DestinationPort", "53");
	l_end(g);
}

static const char *const lx_users[] = { "alice", "bob", "dev", "maria", "ivan" };
static const char *const lx_domains[][2] = {
	{ "deb.debian.org", "151.101.2.132" }, { "security.debian.org", "151.101.194.132" },
	{ "github.com", "140.82.121.4" }, { "www.wikipedia.org", "185.15.59.224" },
	{ "pypi.org", "151.101.0.223" }, { "www.google.com", "142.250.185.68" },
};
static const char *const lx_pkgs[][2] = { /* package, a program it installs */
	{ "htop", "/usr/bin/htop" }, { "jq", "/usr/bin/jq" }, { "tree", "/usr/bin/tree" }, { "ncdu", "/usr/bin/ncdu" },
};

static void l_scene(struct lgen *g, struct lproc *sys, struct lproc *cron, struct lproc *sshd, struct lproc *bash,
		    const char *user)
{
	struct lproc a, c, d, e;
	char buf[400], path[300];
	unsigned k = rnd(&g->r, 100);

	if (k < 20) { /* cron runs the hourly jobs */
		struct lproc *sh = l_spawn(g, &a, cron, "/usr/bin/dash", "/bin/sh -c    cd / && run-parts --report /etc/cron.hourly", "root", "dash");
		struct lproc *rp = l_spawn(g, &c, sh, "/usr/bin/run-parts", "run-parts --report /etc/cron.hourly", NULL, "debianutils");
		struct lproc *lr = l_spawn(g, &d, rp, "/usr/sbin/logrotate", "/usr/sbin/logrotate /etc/logrotate.conf", NULL, "logrotate");
		l_file(g, "file_write", lr, "/var/lib/logrotate/status", NULL, "O_WRONLY|O_TRUNC");
		l_file(g, "file_rename", lr, "/var/log/syslog.1", "/var/log/syslog", NULL);
		l_exit(g, lr);
		l_exit(g, rp);
		l_exit(g, sh);
	} else if (k < 45) { /* the user works in a shell */
		static const char *const cmds[][3] = {
			{ "/usr/bin/ls", "ls -la", "coreutils" }, { "/usr/bin/git", "git status", "git" },
			{ "/usr/bin/make", "make -j2", "make" }, { "/usr/bin/grep", "grep -rn TODO src", "grep" },
			{ "/usr/bin/python3.11", "python3 manage.py runserver", "python3.11-minimal" },
			{ "/usr/bin/ps", "ps aux", "procps" }, { "/usr/bin/df", "df -h", "coreutils" },
		};
		unsigned i = rnd(&g->r, sizeof(cmds) / sizeof(cmds[0]));
		struct lproc *p = l_spawn(g, &a, bash, cmds[i][0], cmds[i][1], NULL, cmds[i][2]);
		if (i == 2) {
			struct lproc *cc = l_spawn(g, &c, p, "/usr/bin/x86_64-linux-gnu-gcc-12", "gcc -O2 -c -o build/main.o src/main.c", NULL, "gcc-12");
			snprintf(path, sizeof(path), "%s/build/main.o", bash->cwd);
			l_file(g, "file_create", cc, path, NULL, "O_WRONLY|O_CREAT|O_TRUNC");
			l_exit(g, cc);
		}
		l_exit(g, p);
	} else if (k < 55) { /* an editor: swap file, save by rename, swap removed */
		snprintf(buf, sizeof(buf), "vim notes-%u.txt", rnd(&g->r, 50));
		struct lproc *v = l_spawn(g, &a, bash, "/usr/bin/vim.basic", buf, NULL, "vim");
		snprintf(path, sizeof(path), "%s/.notes.txt.swp", bash->cwd);
		l_file(g, "file_create", v, path, NULL, "O_RDWR|O_CREAT|O_EXCL");
		char tmp[300], dst[300];
		snprintf(tmp, sizeof(tmp), "%s/4913", bash->cwd);
		snprintf(dst, sizeof(dst), "%s/notes.txt", bash->cwd);
		l_file(g, "file_create", v, tmp, NULL, "O_WRONLY|O_CREAT|O_EXCL");
		l_file(g, "file_delete", v, tmp, NULL, NULL);
		l_file(g, "file_write", v, dst, NULL, "O_WRONLY|O_TRUNC");
		l_file(g, "file_delete", v, path, NULL, NULL);
		l_exit(g, v);
	} else if (k < 65) { /* apt fetches the package lists */
		struct lproc *su = l_spawn(g, &a, bash, "/usr/bin/sudo", "sudo apt-get update", NULL, "sudo");
		struct lproc *ap = l_spawn(g, &c, su, "/usr/bin/apt-get", "apt-get update", "root", "apt");
		struct lproc *m = l_spawn(g, &d, ap, "/usr/lib/apt/methods/http", "/usr/lib/apt/methods/http", "_apt", "apt");
		l_dns(g, m, "deb.debian.org");
		l_connect(g, m, "tcp", "151.101.2.132", 80);
		l_file(g, "file_write", ap, "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", NULL, "O_WRONLY|O_TRUNC");
		l_exit(g, m);
		l_exit(g, ap);
		l_exit(g, su);
	} else if (k < 72) { /* dpkg installs a package */
		unsigned i = rnd(&g->r, sizeof(lx_pkgs) / sizeof(lx_pkgs[0]));
		snprintf(buf, sizeof(buf), "sudo apt-get install -y %s", lx_pkgs[i][0]);
		struct lproc *su = l_spawn(g, &a, bash, "/usr/bin/sudo", buf, NULL, "sudo");
		snprintf(buf, sizeof(buf), "apt-get install -y %s", lx_pkgs[i][0]);
		struct lproc *ap = l_spawn(g, &c, su, "/usr/bin/apt-get", buf, "root", "apt");
		snprintf(buf, sizeof(buf), "/usr/bin/dpkg --status-fd 23 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/%s.deb", lx_pkgs[i][0]);
		struct lproc *dp = l_spawn(g, &d, ap, "/usr/bin/dpkg", buf, NULL, "dpkg");
		snprintf(path, sizeof(path), "%s.dpkg-new", lx_pkgs[i][1]);
		l_file(g, "file_create", dp, path, NULL, "O_WRONLY|O_CREAT|O_EXCL");
		l_file(g, "file_rename", dp, lx_pkgs[i][1], path, NULL);
		snprintf(path, sizeof(path), "/usr/share/doc/%s/copyright", lx_pkgs[i][0]);
		l_file(g, "file_create", dp, path, NULL, "O_WRONLY|O_CREAT|O_EXCL");
		snprintf(path, sizeof(path), "/var/lib/dpkg/info/%s.list", lx_pkgs[i][0]);
		l_file(g, "file_write", dp, path, NULL, "O_WRONLY|O_TRUNC");
		l_exit(g, dp);
		struct lproc *mdb = l_spawn(g, &e, ap, "/usr/bin/mandb", "/usr/bin/mandb --quiet", "man", "man-db");
		l_exit(g, mdb);
		l_exit(g, ap);
		l_exit(g, su);
	} else if (k < 87) { /* a browser resolves and connects */
		unsigned i = rnd(&g->r, sizeof(lx_domains) / sizeof(lx_domains[0]));
		struct lproc *ff = l_spawn(g, &a, bash, "/usr/lib/firefox-esr/firefox-esr", "/usr/lib/firefox-esr/firefox-esr", NULL, "firefox-esr");
		l_dns(g, ff, lx_domains[i][0]);
		l_connect(g, ff, "tcp", lx_domains[i][1], 443);
		snprintf(path, sizeof(path), "/home/%s/.mozilla/firefox/x1k2.default-esr/places.sqlite-wal", user);
		l_file(g, "file_write", ff, path, NULL, "O_RDWR");
		l_exit(g, ff);
	} else if (k < 94) { /* an ssh login runs a command */
		struct lproc *s2 = l_spawn(g, &a, sshd, "/usr/sbin/sshd", "sshd: alice [priv]", "root", "openssh-server");
		snprintf(buf, sizeof(buf), "bash -c uptime");
		struct lproc *sh = l_spawn(g, &c, s2, "/usr/bin/bash", buf, user, "bash");
		struct lproc *up = l_spawn(g, &d, sh, "/usr/bin/uptime", "uptime", NULL, "procps");
		l_exit(g, up);
		l_exit(g, sh);
		l_exit(g, s2);
	} else { /* systemd runs a timer's service */
		struct lproc *t = l_spawn(g, &a, sys, "/usr/lib/systemd/systemd-tmpfiles", "/usr/bin/systemd-tmpfiles --clean", "root", "systemd");
		snprintf(path, sizeof(path), "/tmp/tmp.%08x", (unsigned)rnd(&g->r, 1u << 31));
		l_file(g, "file_delete", t, path, NULL, NULL);
		l_exit(g, t);
	}
}

static void benign_linux(uint64_t seed, uint64_t n, int64_t start)
{
	static struct lgen g;
	uint64_t hosts = (n + BENIGN_PER_HOST - 1) / BENIGN_PER_HOST;

	g.t_us = start;
	for (uint64_t h = 0; h < hosts; h++) {
		g.r.s = seed * 0x9e3779b97f4a7c15ULL ^ (h + 1) * 0x94d049bb133111ebULL ^ 0x4c696e7578ULL;
		rng_next(&g.r);
		char w[12];
		rnd_letters(&g.r, w, 4, 6);
		snprintf(g.host, sizeof(g.host), "deb-%s-%02u", w, rnd(&g.r, 100));
		snprintf(g.lan, sizeof(g.lan), "192.168.1.%u", 20 + rnd(&g.r, 200));
		g.boot_us = g.t_us - (int64_t)(600 + rnd(&g.r, 86400)) * 1000000;
		g.next_pid = 300 + rnd(&g.r, 500);
		const char *user = PICK(&g.r, lx_users);
		struct lproc sys = { 1, 1, "/usr/lib/systemd/systemd", "/sbin/init", "root", "/", NULL };
		struct lproc cron = { 0 }, sshd = { 0 }, bash = { 0 };
		cron = (struct lproc){ 600 + rnd(&g.r, 50), 150, "/usr/sbin/cron", "/usr/sbin/cron -f", "root", "/", &sys };
		sshd = (struct lproc){ 700 + rnd(&g.r, 50), 160, "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "root", "/", &sys };
		bash = (struct lproc){ 2000 + rnd(&g.r, 500), 9000, "/usr/bin/bash", "-bash", "", "", &sys };
		snprintf(bash.user, sizeof(bash.user), "%s", user);
		snprintf(bash.cwd, sizeof(bash.cwd), "/home/%s/project", user);
		g.next_pid = 3000;
		uint64_t goal = g.made + BENIGN_PER_HOST;
		while (g.made < goal)
			l_scene(&g, &sys, &cron, &sshd, &bash, user);
		g.t_us += 60000000;
	}
	l_flush(&g);
	free(g.b.p);
}

/* ---------------------------------------------------------------- the attack chain */

static const char *const masquerade[] = { "wuauclt.exe", "svchost.exe", "taskhostw.exe", "dllhost.exe",
					  "conhost.exe", "csrss.exe", "lsass.exe", "spoolsv.exe", "winlogon.exe",
					  "services.exe", "sihost.exe", "ctfmon.exe", "RuntimeBroker.exe",
					  "SearchIndexer.exe", "smss.exe", "wininit.exe" };
static const char *const alt_tlds[] = { "bit", "bit", "bit", "bazar", "coin", "lib", "emc", "chan" };
static const unsigned mining_ports[] = { 3333, 4444, 5555, 7777, 14444, 14433, 45700, 3357, 5730, 8899, 9999, 13333 };
static const unsigned other_pool_ports[] = { 80, 443, 8080, 10300, 20580, 1111 };
static const unsigned odd_ports[] = { 8080, 8443, 447, 449, 1604, 2222, 4443, 8888, 81, 8000, 6892 };
static const char *const subfolders[] = { "Microsoft\\Addins", "Microsoft\\Crypto\\RSA", "Intel", "WindowsUpdate",
					  "Microsoft\\Network", "NVIDIA", "Adobe\\Updater", "Java", "Skype",
					  "Microsoft\\Windows\\Templates", "Realtek", "Google" };

/* A folder a standard user can write to, in one of the classes the rules use. */
static void rnd_user_folder(struct gen *g, char *out, size_t len)
{
	const char *home = g->h->home;
	char word[16];
	rnd_letters(&g->r, word, 4, 9);
	switch (rnd(&g->r, 6)) {
	case 0: snprintf(out, len, "%s\\AppData\\Roaming\\%s", home, PICK(&g->r, subfolders)); break;
	case 1: snprintf(out, len, "%s\\AppData\\Roaming\\%s", home, word); break;
	case 2: snprintf(out, len, "%s\\AppData\\Local\\Temp", home); break;
	case 3: snprintf(out, len, "C:\\ProgramData\\%s", chance(&g->r, 50) ? PICK(&g->r, subfolders) : word); break;
	case 4: snprintf(out, len, "C:\\Users\\Public\\%s", chance(&g->r, 50) ? "Libraries" : word); break;
	default: snprintf(out, len, "%s\\AppData\\Local\\%s", home, PICK(&g->r, subfolders)); break;
	}
}

static void rnd_wallet(struct gen *g, char *out, size_t len)
{
	static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	unsigned kind = rnd(&g->r, 3);
	const char *prefix = kind == 0 ? "etnk" : kind == 1 ? "4" : "3";
	unsigned n = kind == 0 ? 94 : kind == 1 ? 94 : 33;
	size_t p = (size_t)snprintf(out, len, "%s", prefix);
	for (unsigned i = 0; i < n && p + 1 < len; i++)
		out[p++] = b58[rnd(&g->r, sizeof(b58) - 1)];
	out[p] = '\0';
	if (kind == 2 && p + 8 < len)
		snprintf(out + p, len - p, ".w%u", rnd(&g->r, 100));
}

static void chain(struct gen *g, struct base *bs, int64_t t)
{
	struct host *h = g->h;
	char name[24], path[400], cmd[1200], key[400], folder[300], ip[20], host[80], word[16];
	struct proc *parent, *trj, *e1, *e2, *miner, *tmp, *cc;
	const char *wow_trace_fmt =
		"C:\\Windows\\SYSTEM32\\ntdll.dll+a0344|C:\\Windows\\System32\\wow64.dll+1a2cc|"
		"C:\\Windows\\System32\\wow64cpu.dll+1cf1|C:\\Windows\\System32\\wow64.dll+cb39|"
		"C:\\Windows\\SysWOW64\\ntdll.dll+6c19c|C:\\Windows\\SysWOW64\\KERNELBASE.dll+10e2e1|UNKNOWN(%08X)";
	char trace[600];

	/* 0. delivery: the trojan arrives through a P2P client update, a browser download or a double-click */
	unsigned how = rnd(&g->r, 10);
	rnd_letters(&g->r, name, 5, 10);
	if (how < 6) {
		char app[16];
		rnd_letters(&g->r, app, 5, 9);
		app[0] = (char)(app[0] - 'a' + 'A');
		snprintf(path, sizeof(path), "%s\\AppData\\Roaming\\%s\\%s.exe", h->home, app, app);
		snprintf(cmd, sizeof(cmd), "\"%s\" -minimized", path);
		for (char *c = path + strlen(path) - strlen(app) - 4; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		parent = ev_proc_start(g, t - 60000000 - rnd(&g->r, 30000000), bs->explorer, path, cmd, NULL);
		snprintf(parent->label, sizeof(parent->label), "%s", app);
		parent->desc = parent->product = parent->label;
		parent->company = "P2P Software";
		parent->version = "2.41.6.1210";
		parent->orig = "client.exe";
		ev_proc_start_write(g, parent);
		rnd_public_ip(&g->r, ip, sizeof(ip));
		snprintf(host, sizeof(host), "update.%s-app.ru", app);
		for (char *c = host; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		snprintf(cmd, sizeof(cmd), "::ffff:%s;", ip);
		ev_dns(g, t, parent, host, 0, cmd);
		ev_net(g, t + 50000, parent, "tcp", ip, 80);
		snprintf(path, sizeof(path), "%s\\AppData\\Roaming\\%s\\update\\%s.exe", h->home, app, name);
		snprintf(cmd, sizeof(cmd), "\"%s\" /S /upd=%u.%u.%u", path, 2 + rnd(&g->r, 3), rnd(&g->r, 50), rnd(&g->r, 10));
	} else if (how < 8) {
		parent = ev_proc_start(g, t - 40000000, bs->explorer, chrome_img, "", NULL);
		snprintf(parent->cmd, sizeof(parent->cmd), "\"%s\" ", chrome_img);
		parent->desc = parent->product = "Google Chrome";
		parent->company = "Google Inc.";
		parent->orig = "chrome.exe";
		ev_proc_start_write(g, parent);
		snprintf(path, sizeof(path), "%s\\Downloads\\%s_setup.exe", h->home, name);
		snprintf(cmd, sizeof(cmd), "\"%s\" ", path);
	} else {
		parent = bs->explorer;
		snprintf(path, sizeof(path), "%s\\Downloads\\%s.exe", h->home, name);
		snprintf(cmd, sizeof(cmd), "\"%s\" ", path);
	}
	if (parent != bs->explorer)
		ev_file(g, t + 3200000, parent, path);
	trj = ev_proc_start(g, t + 3900000, parent, path, cmd, NULL);
	snprintf(trj->cwd, sizeof(trj->cwd), "%.*s", (int)(strrchr(path, '\\') - path + 1), path);
	ev_proc_start_write(g, trj);
	t += 4600000;

	/* 1. process hollowing of a fresh system binary */
	static const char *const hollow[][3] = {
		{ "C:\\Windows\\SysWOW64\\explorer.exe", "Windows Explorer", "EXPLORER.EXE" },
		{ "C:\\Windows\\SysWOW64\\explorer.exe", "Windows Explorer", "EXPLORER.EXE" },
		{ "C:\\Windows\\SysWOW64\\explorer.exe", "Windows Explorer", "EXPLORER.EXE" },
		{ "C:\\Windows\\SysWOW64\\explorer.exe", "Windows Explorer", "EXPLORER.EXE" },
		{ "C:\\Windows\\SysWOW64\\svchost.exe", "Host Process for Windows Services", "svchost.exe" },
		{ "C:\\Windows\\SysWOW64\\dllhost.exe", "COM Surrogate", "dllhost.exe" },
		{ "C:\\Windows\\explorer.exe", "Windows Explorer", "EXPLORER.EXE" },
	};
	unsigned hv = rnd(&g->r, sizeof(hollow) / sizeof(hollow[0]));
	e1 = ev_proc_start(g, t, trj, hollow[hv][0], hollow[hv][0], NULL);
	set_ms_meta(e1, hollow[hv][1], hollow[hv][2]);
	ev_proc_start_write(g, e1);
	snprintf(trace, sizeof(trace), wow_trace_fmt, 0x401000 + rnd(&g->r, 0x40000));
	ev_access(g, t + 8000 + rnd(&g->r, 40000), trj, e1, chance(&g->r, 80) ? "0x1fffff" : "0x1f3fff", trace);
	truth(g, "hollow_access", trj);
	ev_remote_thread(g, t + 50000 + rnd(&g->r, 30000), trj, e1);
	truth(g, "hollow_remote_thread", trj);
	ev_tamper(g, t + 85000 + rnd(&g->r, 30000), e1);
	truth(g, "hollow_tamper", e1);
	ev_proc_end(g, t + 1500000 + rnd(&g->r, 500000), trj);
	t += 2300000;

	/* 2. a second hollowed instance drops and runs the miner under a system binary name */
	e2 = ev_proc_start(g, t, e1, e1->image, e1->image, NULL);
	set_ms_meta(e2, hollow[hv][1], hollow[hv][2]);
	ev_proc_start_write(g, e2);
	snprintf(trace, sizeof(trace), wow_trace_fmt, 0x300000 + rnd(&g->r, 0x80000));
	ev_access(g, t + 6000 + rnd(&g->r, 20000), e1, e2, "0x1fffff", trace);
	truth(g, "hollow2_access", e1);
	ev_tamper(g, t + 50000 + rnd(&g->r, 20000), e2);
	truth(g, "hollow2_tamper", e2);
	rnd_public_ip(&g->r, ip, sizeof(ip));
	ev_net(g, t + 1400000, e2, "tcp", ip, PICK(&g->r, odd_ports));
	truth(g, "miner_download", e2);
	rnd_user_folder(g, folder, sizeof(folder));
	const char *mname = PICK(&g->r, masquerade);
	snprintf(path, sizeof(path), "%s\\%s", folder, mname);
	ev_file(g, t + 4200000, e2, path);
	truth(g, "miner_drop", e2);

	char pool[80], wallet[128];
	unsigned port = chance(&g->r, 75) ? PICK(&g->r, mining_ports) : PICK(&g->r, other_pool_ports);
	char pool_ip[20];
	rnd_public_ip(&g->r, pool_ip, sizeof(pool_ip));
	int pool_named = chance(&g->r, 50);
	if (pool_named) {
		static const char *const coins[] = { "etn", "xmr", "monero", "pool", "mine", "stratum" };
		static const char *const tlds[] = { "com", "net", "org", "ru", "pro", "io" };
		rnd_letters(&g->r, word, 4, 8);
		snprintf(pool, sizeof(pool), "%s.%spool.%s", PICK(&g->r, coins), word, PICK(&g->r, tlds));
	} else {
		snprintf(pool, sizeof(pool), "%s", pool_ip);
	}
	rnd_wallet(g, wallet, sizeof(wallet));
	switch (rnd(&g->r, 4)) {
	case 0:
		snprintf(cmd, sizeof(cmd), "\"%s\" -o stratum+tcp://%s:%u -u %s -p x --donate-level=%u%s -t %u -B", path,
			 pool, port, wallet, 1 + rnd(&g->r, 5), chance(&g->r, 50) ? " --nicehash" : "", 1 + rnd(&g->r, 4));
		break;
	case 1:
		snprintf(cmd, sizeof(cmd), "%s --url=%s:%u --user=%s --pass=x --donate-level %u --cpu-max-threads-hint=%u --background",
			 path, pool, port, wallet, 1 + rnd(&g->r, 5), 25 * (1 + rnd(&g->r, 3)));
		break;
	case 2:
		snprintf(cmd, sizeof(cmd), "\"%s\" -a cryptonight -o %s:%u -u %s -p x --max-cpu-usage=%u", path, pool, port,
			 wallet, 30 + 10 * rnd(&g->r, 5));
		break;
	default:
		snprintf(cmd, sizeof(cmd), "\"%s\" -o stratum+ssl://%s:%u -u %s -p %s -k --nicehash", path, pool, port,
			 wallet, h->name);
		break;
	}
	miner = ev_proc_start(g, t + 4900000, e2, path, cmd, folder);
	ev_proc_start_write(g, miner);
	truth(g, "miner_exec", miner);
	if (pool_named) {
		snprintf(cmd, sizeof(cmd), "::ffff:%s;", pool_ip);
		ev_dns(g, t + 5500000, miner, pool, 0, cmd);
	}
	ev_net(g, t + 5800000, miner, "tcp", pool_ip, port);
	truth(g, "miner_connect", miner);
	t += 7000000;

	/* 3. persistence: a copy of the trojan and a Run value pointing at it */
	rnd_public_ip(&g->r, ip, sizeof(ip));
	ev_net(g, t, e1, "tcp", ip, PICK(&g->r, odd_ports));
	truth(g, "hollowed_outbound", e1);
	rnd_user_folder(g, folder, sizeof(folder));
	rnd_letters(&g->r, name, 6, 10);
	char copy[400];
	snprintf(copy, sizeof(copy), "%s\\%s.exe", folder, name);
	ev_file(g, t + 1100000, e1, copy);
	truth(g, "persist_copy", e1);
	static const char *const value_names[] = { "OneDrive", "OneDrive", "Adobe Updater", "NvBackend", "Skype",
						   "Realtek HD Audio", "SunJavaUpdateSched", "GoogleUpdate" };
	char vname[24];
	if (chance(&g->r, 40)) {
		rnd_letters(&g->r, vname, 5, 10);
	} else {
		snprintf(vname, sizeof(vname), "%s", PICK(&g->r, value_names));
	}
	switch (rnd(&g->r, 6)) {
	case 0:
	case 1:
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\%s", h->sid, vname);
		break;
	case 2:
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\%s", h->sid, vname);
		break;
	case 3:
		snprintf(key, sizeof(key), "HKU\\%s\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run\\%s",
			 h->sid, vname);
		break;
	case 4:
		snprintf(key, sizeof(key), "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\%s", vname);
		break;
	default:
		snprintf(key, sizeof(key), "HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run\\%s", vname);
		break;
	}
	if (chance(&g->r, 60))
		snprintf(cmd, sizeof(cmd), "\"%s\"", copy);
	else if (chance(&g->r, 50))
		snprintf(cmd, sizeof(cmd), "%s", copy);
	else
		snprintf(cmd, sizeof(cmd), "\"%s\" /autorun", copy);
	ev_reg_set(g, t + 1300000, e1, key, cmd);
	truth(g, "persist_runkey", e1);
	t += 3000000;

	/* 4. command and control: %Temp%\<hex>.tmp.exe, a copy of itself, a Namecoin DNS proxy and a .bit name */
	char hex[8];
	do
		rnd_hex(&g->r, hex, 3 + rnd(&g->r, 2), 1);
	while (case_indicator(hex));
	snprintf(path, sizeof(path), "%s\\AppData\\Local\\Temp\\%s.tmp.exe", h->home, hex);
	ev_file(g, t, e1, path);
	truth(g, "cnc_drop", e1);
	snprintf(cmd, sizeof(cmd), "\"%s\" ", path);
	tmp = ev_proc_start(g, t + 600000, e1, path, cmd, NULL);
	snprintf(tmp->cwd, sizeof(tmp->cwd), "%s\\AppData\\Local\\Temp\\", h->home);
	ev_proc_start_write(g, tmp);
	truth(g, "cnc_exec", tmp);
	rnd_user_folder(g, folder, sizeof(folder));
	rnd_letters(&g->r, name, 3, 6);
	snprintf(path, sizeof(path), "%s\\%s.exe", folder, name);
	ev_file(g, t + 1500000, tmp, path);
	truth(g, "cnc_self_copy", tmp);
	snprintf(cmd, sizeof(cmd), "\"%s\" ", path);
	cc = ev_proc_start(g, t + 1900000, tmp, path, cmd, NULL);
	memcpy(cc->hashes, tmp->hashes, sizeof(cc->hashes));
	ev_proc_start_write(g, cc);
	truth(g, "cnc_copy_exec", cc);
	ev_proc_end(g, t + 2200000, tmp);
	rnd_letters(&g->r, word, 5, 10);
	snprintf(host, sizeof(host), "%s.%s", word, PICK(&g->r, alt_tlds));
	ev_dns(g, t + 2600000, cc, host, 9003, "-");
	truth(g, "cnc_query", cc);
	rnd_public_ip(&g->r, ip, sizeof(ip));
	ev_net(g, t + 2900000, cc, "udp", ip, 53);
	truth(g, "cnc_dns_proxy", cc);
	rnd_public_ip(&g->r, ip, sizeof(ip));
	ev_net(g, t + 3400000, cc, "tcp", ip, chance(&g->r, 70) ? 80 : 443);
	truth(g, "cnc_connect", cc);
}

/* ---------------------------------------------------------------- groups */

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void group_flush(struct gen *g)
{
	qsort(g->evs, g->nev, sizeof(*g->evs), ev_cmp);
	if (!g->truth) {
		for (size_t i = 0; i < g->nev; i++) {
			struct ev *e = &g->evs[i];
			struct host *h = &g->hosts[e->host];
			sb_put(&g->out, g->text.p + e->off, e->split - e->off);
			sb_u64(&g->out, ++h->rid);
			sb_put(&g->out, g->text.p + e->split, e->end - e->split);
			if (g->out.len > (1 << 20))
				out_flush(g);
		}
	}
	out_flush(g);
	g->nev = 0;
	g->text.len = 0;
}

static void usage(void)
{
	fputs("usage: gen_scenario --seed N [--copies K] [--noise M] [--start-time ISO] [--truth] [--benign N]\n"
	      "  --seed N          random seed; the output depends only on the arguments\n"
	      "  --copies K        independent copies of the attack chain, each on a fresh host (default 1)\n"
	      "  --noise M         benign events around each copy, on the same host (default 40)\n"
	      "  --start-time ISO  time of the first group, e.g. 2018-03-06T20:00:00Z (the default)\n"
	      "  --truth           print \"stage<TAB>ProcessGuid\" per attack stage instead of events\n"
	      "  --benign N        no attack: about N events of ordinary activity (hosts of 400 events each)\n"
	      "  --linux           with --benign: Linux events (vg_event JSON, as the eBPF sensor reports them)\n",
	      stderr);
}

int main(int argc, char **argv)
{
	static struct gen g;
	uint64_t seed = 0, copies = 1, noise = 40, benign = 0;
	int linux_mode = 0;
	int have_seed = 0;
	int64_t start;

	parse_iso("2018-03-06T20:00:00Z", &start);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (strcmp(a, "--truth") == 0) {
			g.truth = 1;
			continue;
		}
		if (strcmp(a, "--linux") == 0) {
			linux_mode = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage();
			return 0;
		}
		if (!v) {
			usage();
			return 2;
		}
		if (strcmp(a, "--seed") == 0) {
			seed = strtoull(v, &end, 0);
			have_seed = 1;
		} else if (strcmp(a, "--copies") == 0) {
			copies = strtoull(v, &end, 0);
		} else if (strcmp(a, "--benign") == 0) {
			benign = strtoull(v, &end, 0);
			if (benign == 0 || benign > 100000000ULL) {
				fprintf(stderr, "gen_scenario: --benign: expected 1..100000000, got '%s'\n", v);
				return 2;
			}
		} else if (strcmp(a, "--noise") == 0) {
			noise = strtoull(v, &end, 0);
		} else if (strcmp(a, "--start-time") == 0) {
			if (parse_iso(v, &start) != 0) {
				fprintf(stderr, "gen_scenario: bad --start-time '%s'\n", v);
				return 2;
			}
			end = (char *)v + strlen(v);
		} else {
			usage();
			return 2;
		}
		if (!end || *end) {
			fprintf(stderr, "gen_scenario: bad value for %s: '%s'\n", a, v);
			return 2;
		}
		i++;
	}
	if (!have_seed) {
		usage();
		return 2;
	}

	if (linux_mode && !benign) {
		fprintf(stderr, "gen_scenario: --linux needs --benign N\n");
		return 2;
	}
	if (linux_mode) {
		benign_linux(seed, benign, start);
		return 0;
	}
	if (benign) {
		copies = (benign + BENIGN_PER_HOST - 1) / BENIGN_PER_HOST;
		noise = BENIGN_PER_HOST;
	}
	for (uint64_t c0 = 0; c0 < copies; c0 += GROUP_COPIES) {
		int64_t gstart = start + (int64_t)(c0 / GROUP_COPIES) * GROUP_WINDOW_US;
		for (uint64_t c = c0; c < copies && c < c0 + GROUP_COPIES; c++) {
			struct base bs;
			/* every copy has its own stream, so copy c is the same whatever K is */
			g.r.s = seed * 0x9e3779b97f4a7c15ULL ^ (c + 1) * 0xd1b54a32d192ed03ULL;
			rng_next(&g.r);
			g.hidx = (uint32_t)(c - c0);
			g.h = &g.hosts[g.hidx];
			g.nprocs = 0;
			host_init(&g, g.h);
			base_init(&g, &bs, gstart + rnd(&g.r, 20000000));
			/* the chain starts in the middle of the window; noise is spread over all of it */
			int64_t attack = gstart + 120000000 + rnd(&g.r, 80000000);
			uint64_t made = 0;
			int chain_done = benign != 0;
			while (made < noise || !chain_done) {
				int64_t t = gstart + 22000000 + (int64_t)rnd(&g.r, (uint32_t)(GROUP_WINDOW_US / 1000 - 140000)) * 1000;
				if (!chain_done && (made >= noise || t > attack)) {
					chain(&g, &bs, attack);
					chain_done = 1;
					continue;
				}
				made += benign && chance(&g.r, 35) ? benign_extra(&g, &bs, t) : noise_scene(&g, &bs, t);
			}
		}
		group_flush(&g);
	}
	out_flush(&g);
	for (size_t i = 0; i < MAX_PROC_CHUNKS && g.chunks[i]; i++)
		free(g.chunks[i]);
	free(g.text.p);
	free(g.evs);
	free(g.out.p);
	return 0;
}
