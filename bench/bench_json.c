/* bench_json.c - benchmark of the JSON flattener and reader against line splitting and cJSON on a generated evtx_dump-style Sysmon JSON-lines replay. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "vigil/common.h"
#include "vigil/json.h"

/*
 * Usage: bench_json [N] [REPEAT] [FILE]
 *   N       events to generate (default 1000000; k/M suffixes accepted)
 *   REPEAT  run every pass this many times and keep the fastest (default 1;
 *           use 3 or more on a shared machine)
 *   FILE    where to write the replay for the reader passes (default: a
 *           temp file that is removed at the end)
 *
 * Events are generated in blocks of about BLOCK bytes; passes (a)-(c) are
 * timed on each block in memory (generation is not timed) and the block is
 * appended to FILE, which passes (d0) and (d) then read back through
 * vg_json_reader in 1 MiB chunks.
 */
#define BLOCK ((size_t)64 << 20)

/* ------------------------------------------------------------ generator */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_need(struct sb *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	while (b->cap - b->len < n)
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
	b->p = realloc(b->p, b->cap);
	if (!b->p) {
		perror("realloc");
		exit(1);
	}
}

static void put(struct sb *b, const char *s)
{
	size_t n = strlen(s);

	sb_need(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void putc_(struct sb *b, char c)
{
	sb_need(b, 1);
	b->p[b->len++] = c;
}

static void put_u(struct sb *b, uint64_t v)
{
	char t[24];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_need(b, (size_t)n);
	while (n)
		b->p[b->len++] = t[--n];
}

/* A JSON string literal: quotes and backslashes escaped, as evtx_dump writes them. */
static void put_str(struct sb *b, const char *s)
{
	sb_need(b, 2 * strlen(s) + 2);
	b->p[b->len++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			b->p[b->len++] = '\\';
		b->p[b->len++] = *s;
	}
	b->p[b->len++] = '"';
}

/* "key": with a leading comma unless first. */
static void key(struct sb *b, const char *k, int first)
{
	if (!first)
		putc_(b, ',');
	putc_(b, '"');
	put(b, k);
	put(b, "\":");
}

static void kv_str(struct sb *b, const char *k, const char *v)
{
	key(b, k, 0);
	put_str(b, v);
}

static void kv_num(struct sb *b, const char *k, uint64_t v)
{
	key(b, k, 0);
	put_u(b, v);
}

/* A fresh Sysmon-style GUID: fixed machine prefix, random rest. */
static void guid(char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char form[] = "0197231E-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	uint64_t a = rnd(), c = rnd();

	for (size_t i = 0; i < sizeof(form); i++) {
		if (form[i] != 'x') {
			out[i] = form[i];
		} else if (a) {
			out[i] = hex[a & 15];
			a >>= 4;
		} else {
			out[i] = hex[c & 15];
			c >>= 4;
		}
	}
}

static void hexstr(char *out, int n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < n; i++)
		out[i] = hex[rnd() & 15];
	out[n] = '\0';
}

static const char *const images[] = {
	"C:\\Windows\\System32\\svchost.exe",
	"C:\\Windows\\System32\\cmd.exe",
	"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
	"C:\\Windows\\explorer.exe",
	"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
	"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
	"C:\\Windows\\System32\\conhost.exe",
	"C:\\Windows\\System32\\RuntimeBroker.exe",
	"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
	"C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
	"C:\\Users\\jdoe\\AppData\\Local\\Temp\\setup_x64.exe",
	"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe",
	"C:\\Windows\\System32\\rundll32.exe",
	"C:\\Windows\\System32\\lsass.exe",
};
#define NIMAGES (sizeof(images) / sizeof(images[0]))

static const char *const dlls[] = {
	"C:\\Windows\\System32\\ntdll.dll",
	"C:\\Windows\\System32\\kernel32.dll",
	"C:\\Windows\\System32\\KernelBase.dll",
	"C:\\Windows\\System32\\advapi32.dll",
	"C:\\Windows\\System32\\combase.dll",
	"C:\\Windows\\System32\\dbghelp.dll",
	"C:\\Windows\\System32\\wininet.dll",
	"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
	"C:\\Program Files\\Google\\Chrome\\Application\\131.0.6778.86\\chrome_elf.dll",
};
#define NDLLS (sizeof(dlls) / sizeof(dlls[0]))

static const char *const users[] = {
	"NT AUTHORITY\\SYSTEM", "CORP\\jdoe", "CORP\\asmith", "NT AUTHORITY\\LOCAL SERVICE",
	"NT AUTHORITY\\NETWORK SERVICE",
};

static const char *const regkeys[] = {
	"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
	"HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.docx",
	"HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1004336348-1177238915-682003330-1001\\\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe",
	"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\SystemRestore\\DisableSR",
	"HKCR\\CLSID\\{0E5AAE11-A475-4C5B-AB00-C66DE400274E}\\InprocServer32\\(Default)",
};

static const char *const cmdlines[] = {
	"\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --field-trial-handle=1896,i,1234",
	"C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
	"powershell.exe -NoProfile -ExecutionPolicy Bypass -Command \"Get-ChildItem C:\\Users\\jdoe\\Documents\"",
	"cmd.exe /c \"whoami /all > C:\\Users\\Public\\out.txt\"",
	"C:\\Windows\\System32\\rundll32.exe C:\\Windows\\System32\\shell32.dll,Control_RunDLL",
};

static const char *const domains[] = {
	"www.google.com", "login.microsoftonline.com", "update.example-cdn.net",
	"settings-win.data.microsoft.com", "api.github.com",
};

static int64_t now_us = 1776679200000000ll; /* 2026-04-20T10:00:00Z */

static void fmt_time(char *out, size_t n, int64_t us, int system_time)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	if (system_time)
		snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(us % 1000000));
	else
		snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(us % 1000000 / 1000));
}

/* Weighted Sysmon EventID mix, roughly what a busy workstation logs. */
static unsigned pick_eid(void)
{
	static const struct { unsigned eid, weight; } mix[] = {
		{ 1, 8 }, { 3, 15 }, { 5, 6 }, { 7, 20 }, { 10, 10 },
		{ 11, 12 }, { 12, 8 }, { 13, 14 }, { 22, 7 },
	};
	unsigned r = pick(100);

	for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
		if (r < mix[i].weight)
			return mix[i].eid;
		r -= mix[i].weight;
	}
	return 1;
}

static void gen_event(struct sb *b, uint64_t recid, unsigned *eid_count)
{
	char t1[96], t2[96], g1[40], g2[40], h[80], tmp[256];
	unsigned eid = pick_eid();
	const char *img = images[pick(NIMAGES)];
	const char *user = users[pick(5)];

	eid_count[eid]++;
	now_us += 50 + pick(2000);
	fmt_time(t1, sizeof(t1), now_us, 1);
	fmt_time(t2, sizeof(t2), now_us - 3000, 0);
	guid(g1);

	put(b, "{\"Event\":{\"#attributes\":{\"xmlns\":\"http://schemas.microsoft.com/win/2004/08/events/event\"},"
	       "\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Sysmon\","
	       "\"Guid\":\"5770385F-C22A-43E0-BF4C-06F5698FFBD9\"}},\"EventID\":");
	put_u(b, eid);
	put(b, ",\"Version\":");
	put_u(b, eid == 1 ? 5 : eid == 3 ? 5 : 2);
	put(b, ",\"Level\":4,\"Task\":");
	put_u(b, eid);
	put(b, ",\"Opcode\":0,\"Keywords\":\"0x8000000000000000\",\"TimeCreated\":{\"#attributes\":{\"SystemTime\":");
	put_str(b, t1);
	put(b, "}},\"EventRecordID\":");
	put_u(b, recid);
	put(b, ",\"Correlation\":null,\"Execution\":{\"#attributes\":{\"ProcessID\":3208,\"ThreadID\":");
	put_u(b, 1000 + pick(9000));
	put(b, "}},\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"WKS-0042.corp.example.com\","
	       "\"Security\":{\"#attributes\":{\"UserID\":\"S-1-5-18\"}}},\"EventData\":{");
	key(b, "RuleName", 1);
	put_str(b, "-");
	switch (eid) {
	case 12:
	case 13:
		kv_str(b, "EventType", eid == 12 ? "CreateKey" : "SetValue");
		break;
	}
	kv_str(b, "UtcTime", t2);
	if (eid == 10) {
		kv_str(b, "SourceProcessGUID", g1);
		kv_num(b, "SourceProcessId", 100 + pick(20000));
		kv_num(b, "SourceThreadId", 100 + pick(20000));
		kv_str(b, "SourceImage", img);
		guid(g2);
		kv_str(b, "TargetProcessGUID", g2);
		kv_num(b, "TargetProcessId", 100 + pick(20000));
		kv_str(b, "TargetImage", images[pick(NIMAGES)]);
		snprintf(tmp, sizeof(tmp), "0x%x", 0x1000u << pick(8));
		kv_str(b, "GrantedAccess", tmp);
		kv_str(b, "CallTrace", "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2b8ae|"
				       "C:\\Windows\\system32\\lsm.dll+1bdb4|C:\\Windows\\System32\\RPCRT4.dll+7a8d3|UNKNOWN(00007FF8A1B2C3D4)");
		kv_str(b, "SourceUser", user);
		kv_str(b, "TargetUser", users[pick(5)]);
		goto done;
	}
	kv_str(b, "ProcessGuid", g1);
	kv_num(b, "ProcessId", 100 + pick(20000));
	switch (eid) {
	case 1:
		kv_str(b, "Image", img);
		kv_str(b, "FileVersion", "10.0.26100.1 (WinBuild.160101.0800)");
		kv_str(b, "Description", "Windows Command Processor");
		kv_str(b, "Product", "Microsoft\xC2\xAE Windows\xC2\xAE Operating System");
		kv_str(b, "Company", "Microsoft Corporation");
		kv_str(b, "OriginalFileName", "Cmd.Exe");
		kv_str(b, "CommandLine", cmdlines[pick(5)]);
		kv_str(b, "CurrentDirectory", "C:\\Users\\jdoe\\Documents\\");
		kv_str(b, "User", user);
		guid(g2);
		kv_str(b, "LogonGuid", g2);
		snprintf(tmp, sizeof(tmp), "0x%llx", (unsigned long long)(rnd() & 0xffffffff));
		kv_str(b, "LogonId", tmp);
		kv_num(b, "TerminalSessionId", pick(3));
		kv_str(b, "IntegrityLevel", pick(2) ? "Medium" : "High");
		{
			char md5[33], sha[65], imp[33];

			hexstr(md5, 32);
			hexstr(sha, 64);
			hexstr(imp, 32);
			snprintf(tmp, sizeof(tmp), "MD5=%s,SHA256=%s,IMPHASH=%s", md5, sha, imp);
		}
		kv_str(b, "Hashes", tmp);
		guid(g2);
		kv_str(b, "ParentProcessGuid", g2);
		kv_num(b, "ParentProcessId", 100 + pick(20000));
		kv_str(b, "ParentImage", "C:\\Windows\\explorer.exe");
		kv_str(b, "ParentCommandLine", "C:\\Windows\\Explorer.EXE");
		kv_str(b, "ParentUser", user);
		break;
	case 3:
		kv_str(b, "Image", img);
		kv_str(b, "User", user);
		kv_str(b, "Protocol", "tcp");
		kv_str(b, "Initiated", "true");
		kv_str(b, "SourceIsIpv6", "false");
		snprintf(tmp, sizeof(tmp), "10.0.%u.%u", pick(255), 1 + pick(254));
		kv_str(b, "SourceIp", tmp);
		kv_str(b, "SourceHostname", "WKS-0042.corp.example.com");
		kv_num(b, "SourcePort", 49152 + pick(16000));
		kv_str(b, "SourcePortName", "-");
		kv_str(b, "DestinationIsIpv6", "false");
		snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", 1 + pick(223), pick(256), pick(256), 1 + pick(254));
		kv_str(b, "DestinationIp", tmp);
		kv_str(b, "DestinationHostname", domains[pick(5)]);
		kv_num(b, "DestinationPort", pick(2) ? 443 : 80);
		kv_str(b, "DestinationPortName", "https");
		break;
	case 5:
		kv_str(b, "Image", img);
		kv_str(b, "User", user);
		break;
	case 7:
		kv_str(b, "Image", img);
		kv_str(b, "ImageLoaded", dlls[pick(NDLLS)]);
		kv_str(b, "FileVersion", "10.0.26100.7019 (WinBuild.160101.0800)");
		kv_str(b, "Description", "Windows NT BASE API Client DLL");
		kv_str(b, "Product", "Microsoft\xC2\xAE Windows\xC2\xAE Operating System");
		kv_str(b, "Company", "Microsoft Corporation");
		kv_str(b, "OriginalFileName", "kernel32");
		hexstr(h, 64);
		snprintf(tmp, sizeof(tmp), "SHA256=%s", h);
		kv_str(b, "Hashes", tmp);
		kv_str(b, "Signed", "true");
		kv_str(b, "Signature", "Microsoft Windows");
		kv_str(b, "SignatureStatus", "Valid");
		kv_str(b, "User", user);
		break;
	case 11:
		kv_str(b, "Image", img);
		snprintf(tmp, sizeof(tmp), "C:\\Users\\jdoe\\AppData\\Local\\Temp\\%08llx.tmp",
			 (unsigned long long)(rnd() & 0xffffffff));
		kv_str(b, "TargetFilename", tmp);
		kv_str(b, "CreationUtcTime", t2);
		kv_str(b, "User", user);
		break;
	case 12:
	case 13:
		kv_str(b, "Image", img);
		kv_str(b, "TargetObject", regkeys[pick(5)]);
		if (eid == 13) {
			snprintf(tmp, sizeof(tmp), "DWORD (0x%08x)", pick(1 << 20));
			kv_str(b, "Details", tmp);
		}
		kv_str(b, "User", user);
		break;
	case 22:
		kv_str(b, "QueryName", domains[pick(5)]);
		kv_str(b, "QueryStatus", "0");
		snprintf(tmp, sizeof(tmp), "::ffff:%u.%u.%u.%u;", 1 + pick(223), pick(256), pick(256), 1 + pick(254));
		kv_str(b, "QueryResults", tmp);
		kv_str(b, "Image", img);
		kv_str(b, "User", user);
		break;
	}
done:
	put(b, "}}}\n");
}

/* ------------------------------------------------------------ timing */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct pass {
	const char *name;
	double secs;                  /* summed over blocks, best of REPEAT runs each */
	uint64_t events, ok, leaves;  /* from one run */
};

/* Adds the fastest of several runs (run[0..n)) to total. */
static void keep_best(struct pass *total, const struct pass *run, int n)
{
	const struct pass *best = &run[0];

	for (int i = 1; i < n; i++)
		if (run[i].secs < best->secs)
			best = &run[i];
	total->secs += best->secs;
	total->events += best->events;
	total->ok += best->ok;
	total->leaves += best->leaves;
}

static volatile uint64_t sink;

static void pass_split(struct pass *ps, const char *p, size_t len)
{
	const char *end = p + len;
	double t = now_s();
	uint64_t n = 0, bytes = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		bytes += l;
		n++;
		p += l + 1;
	}
	ps->secs += now_s() - t;
	ps->events += n;
	ps->ok += n;
	sink += bytes;
}

static void pass_cjson(struct pass *ps, const char *p, size_t len)
{
	const char *end = p + len;
	double t = now_s();

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		cJSON *j = cJSON_ParseWithLength(p, l);

		ps->events++;
		if (j) {
			ps->ok++;
			cJSON_Delete(j);
		}
		p += l + 1;
	}
	ps->secs += now_s() - t;
}

static void pass_flatten(struct pass *ps, struct vg_json_doc *doc, const char *p, size_t len)
{
	const char *end = p + len;
	double t = now_s();

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		ps->events++;
		if (vg_json_flatten(doc, p, l, NULL) == 0) {
			ps->ok++;
			ps->leaves += doc->nleaves;
		}
		p += l + 1;
	}
	ps->secs += now_s() - t;
}

static int pass_reader(struct pass *ps, struct vg_json_doc *doc, const char *path, size_t max_value,
		       int flatten)
{
	struct vg_json_reader *r;
	const char *v;
	size_t len;
	uint64_t off, line;
	int rc;
	double t = now_s();

	rc = vg_json_reader_open(path, max_value, &r);
	if (rc) {
		fprintf(stderr, "bench_json: %s: %s\n", path, vg_strerror(rc));
		return rc;
	}
	while ((rc = vg_json_reader_next(r, &v, &len, &off, &line)) != 0) {
		ps->events++;
		if (rc < 0)
			continue;
		if (!flatten) {
			ps->ok++;
			sink += len;
			continue;
		}
		if (vg_json_flatten(doc, v, len, NULL) == 0) {
			ps->ok++;
			ps->leaves += doc->nleaves;
		}
	}
	vg_json_reader_free(r);
	ps->secs += now_s() - t;
	return 0;
}

static uint64_t parse_count(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6;
	return v > 0 ? (uint64_t)v : 0;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? parse_count(argv[1]) : 1000000;
	char tmpl[] = "/tmp/vigil-bench-json-XXXXXX";
	int repeat = argc > 2 ? atoi(argv[2]) : 1;
	const char *path = argc > 3 ? argv[3] : NULL;
	struct pass split = { "(a) line split (memchr)", 0, 0, 0, 0 };
	struct pass cj = { "(b) cJSON_ParseWithLength", 0, 0, 0, 0 };
	struct pass fl = { "(c) vg_json_flatten", 0, 0, 0, 0 };
	struct pass rd = { "(d0) vg_json_reader framing", 0, 0, 0, 0 };
	struct pass rf = { "(d) vg_json_reader + flatten", 0, 0, 0, 0 };
	struct pass *all[] = { &split, &cj, &fl, &rd, &rf };
	struct vg_json_doc doc;
	struct sb b = { 0 };
	unsigned eid_count[32] = { 0 };
	uint64_t total = 0, made = 0;
	double gen = 0;
	struct rusage ru;
	FILE *out;
	cpu_set_t cpus;
	int fd = -1;

	if (n == 0 || repeat < 1 || repeat > 16) {
		fprintf(stderr, "usage: %s [N events, default 1000000] [REPEAT 1-16] [replay file]\n",
			argv[0]);
		return 2;
	}
	/* one core: stay where we started */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	if (!path) {
		fd = mkstemp(tmpl);
		if (fd < 0) {
			perror("mkstemp");
			return 1;
		}
		path = tmpl;
		out = fdopen(fd, "w");
	} else {
		out = fopen(path, "w");
	}
	if (!out) {
		perror(path);
		return 1;
	}
	vg_json_doc_init(&doc);
	printf("bench_json: %llu events, blocks of %zu MiB, best of %d, replay file %s\n",
	       (unsigned long long)n, BLOCK >> 20, repeat, path);
	fflush(stdout);
	while (made < n) {
		double t = now_s();

		b.len = 0;
		while (made < n && b.len < BLOCK)
			gen_event(&b, ++made, eid_count);
		gen += now_s() - t;
		total += b.len;
		struct pass run[16];

		memset(run, 0, sizeof(run));
		for (int i = 0; i < repeat; i++)
			pass_split(&run[i], b.p, b.len);
		keep_best(&split, run, repeat);
		memset(run, 0, sizeof(run));
		for (int i = 0; i < repeat; i++)
			pass_cjson(&run[i], b.p, b.len);
		keep_best(&cj, run, repeat);
		memset(run, 0, sizeof(run));
		for (int i = 0; i < repeat; i++)
			pass_flatten(&run[i], &doc, b.p, b.len);
		keep_best(&fl, run, repeat);
		if (fwrite(b.p, 1, b.len, out) != b.len) {
			perror("write");
			return 1;
		}
	}
	/* clean page cache: no writeback competes with the reader passes */
	if (fflush(out) != 0 || fdatasync(fileno(out)) != 0 || fclose(out) != 0) {
		perror("close");
		return 1;
	}
	free(b.p);
	b.p = NULL;
	{
		struct pass run[16];

		memset(run, 0, sizeof(run));
		for (int i = 0; i < repeat; i++)
			pass_reader(&run[i], &doc, path, 0, 0);
		keep_best(&rd, run, repeat);
		memset(run, 0, sizeof(run));
		for (int i = 0; i < repeat; i++)
			pass_reader(&run[i], &doc, path, 0, 1);
		keep_best(&rf, run, repeat);
	}

	printf("data: %.1f MB, %.0f bytes/event, %.1f leaves/event (generated in %.1f s)\n",
	       (double)total / 1e6, (double)total / (double)n,
	       (double)fl.leaves / (double)(fl.ok ? fl.ok : 1), gen);
	printf("EventID mix:");
	for (int i = 0; i < 32; i++)
		if (eid_count[i])
			printf(" %d:%.1f%%", i, 100.0 * eid_count[i] / (double)n);
	printf("\n\n%-30s %9s %12s %9s %10s %10s %6s\n", "pass", "seconds", "events/s", "MB/s",
	       "vs split", "vs cJSON", "ok");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct pass *p = all[i];

		printf("%-30s %9.3f %12.0f %9.1f %9.2fx %9.2fx %6s\n", p->name, p->secs,
		       (double)p->events / p->secs, (double)total / 1e6 / p->secs,
		       p->secs / split.secs, cj.secs / p->secs, p->ok == n ? "all" : "SOME");
	}
	printf("(\"vs split\": time relative to line splitting; \"vs cJSON\": speed-up over cJSON)\n");
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
	vg_json_doc_free(&doc);
	if (fd >= 0)
		unlink(path);
	return 0;
}
