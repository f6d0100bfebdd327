/* test_evtx.c - tests the EVTX reader over the shared sample set, on files damaged at test time, and its event-XML parser. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "vigil/common.h"
#include "vigil/evtx.h"

#define SAMPLES "evtx-attack-samples"
#define SYSMON "Microsoft-Windows-Sysmon"

/* ---- helpers ---- */

static int slice_eq(struct vg_slice s, const char *want)
{
	return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

/* A NUL-terminated copy of a slice for assert messages (static, one at a time per slot). */
static const char *str(struct vg_slice s, int slot)
{
	static char buf[4][512];
	char *b = buf[slot & 3];

	if (!s.p)
		return "(null)";
	snprintf(b, sizeof(buf[0]), "%.*s", (int)(s.n < 500 ? s.n : 500), s.p);
	return b;
}

static const struct vg_winrec_item *item(const struct vg_winrec *rec, const char *name)
{
	for (size_t i = 0; i < rec->nitems; i++)
		if (slice_eq(rec->items[i].name, name))
			return &rec->items[i];
	return NULL;
}

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* Collects every *.evtx below dir (names may contain spaces). */
static void find_evtx(const char *dir, char ***list, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		char *p;
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		p = path_join(dir, e->d_name);
		if (!p || stat(p, &st) != 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			find_evtx(p, list, n, cap);
			free(p);
		} else if (len > 5 && strcmp(e->d_name + len - 5, ".evtx") == 0) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 512;
				*list = realloc(*list, *cap * sizeof(**list));
				if (!*list)
					abort();
			}
			(*list)[(*n)++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What reading one file gave. */
struct tally {
	uint64_t records, recovered;  /* counts libevtx reports */
	uint64_t ok, ok_recovered;    /* records returned (regular, recovered) */
	uint64_t err, err_regular, err_recovered, err_notes;
	uint64_t sysmon, sysmon_eid[32];
	uint64_t missing_system;      /* regular records lacking a System value */
	uint64_t copies;              /* recovered records equal to a regular one (must stay 0) */
	long long first_err_pos, last_ok_pos;
	int last_note_err;
	char first_err[640], last_note[640];
};

/* Reads a whole file. Returns the open result. */
static int read_file(const char *path, struct tally *t)
{
	struct vg_evtx_reader *r = NULL;
	struct vg_winrec rec = { 0 };
	struct seen {
		uint64_t id;
		char time[40];
	} *seen = NULL;
	size_t nseen = 0;
	uint64_t pos;
	int rc;

	memset(t, 0, sizeof(*t));
	t->first_err_pos = -1;
	rc = vg_evtx_open(path, &r);
	if (rc)
		return rc;
	vg_evtx_counts(r, &t->records, &t->recovered);
	seen = calloc(t->records + 1, sizeof(*seen));
	while (seen && (rc = vg_evtx_next(r, &rec, &pos)) != 0) {
		int regular = pos < t->records;
		int note = pos >= t->records + t->recovered;

		if (rc < 0) {
			t->err++;
			if (note) {
				t->err_notes++;
				t->last_note_err = rc;
				snprintf(t->last_note, sizeof(t->last_note), "%s", vg_evtx_reader_error(r));
			} else if (regular) {
				t->err_regular++;
			} else {
				t->err_recovered++;
			}
			if (t->first_err_pos < 0 && !note) {
				t->first_err_pos = (long long)pos;
				snprintf(t->first_err, sizeof(t->first_err), "%s", vg_evtx_reader_error(r));
			}
			continue;
		}
		if (!regular) {
			t->ok_recovered++;
			for (size_t i = 0; i < nseen; i++)
				if (seen[i].id == rec.record_id &&
				    strcmp(seen[i].time, str(rec.time, 1)) == 0)
					t->copies++;
			continue;
		}
		if (nseen <= t->records) {
			seen[nseen].id = rec.record_id;
			snprintf(seen[nseen++].time, sizeof(seen[0].time), "%.39s", str(rec.time, 1));
		}
		t->ok++;
		t->last_ok_pos = (long long)pos;
		if (!rec.has_event_id || !rec.provider.p || !rec.channel.p || !rec.time.p ||
		    !rec.computer.p || !rec.record_id)
			t->missing_system++;
		if (slice_eq(rec.provider, SYSMON)) {
			t->sysmon++;
			if (rec.event_id < 32)
				t->sysmon_eid[rec.event_id]++;
		}
	}
	free(seen);
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);
	return 0;
}

struct logcap {
	int n;
	char last[1024];
};

static void capture(enum vg_log_level level, const char *msg, void *ctx)
{
	struct logcap *c = ctx;

	(void)level;
	c->n++;
	snprintf(c->last, sizeof(c->last), "%s", msg);
}

/* ---- the shared sample set ---- */

TEST(evtx_reads_all_samples)
{
	char *dir = path_join(vg_test_shared_dir(), SAMPLES);
	char **files = NULL;
	size_t nfiles = 0, cap = 0, opened = 0;
	struct tally sum = { 0 }, t;
	struct logcap logs = { 0 };

	ASSERT_TRUE(dir != NULL);
	find_evtx(dir, &files, &nfiles, &cap);
	free(dir);
	qsort(files, nfiles, sizeof(*files), cmp_str);
	ASSERT_EQ(nfiles, 277);
	vg_log_set_sink(capture, &logs);
	for (size_t i = 0; i < nfiles; i++) {
		int rc = read_file(files[i], &t);

		if (rc)
			fprintf(stderr, "    %s: %s\n", files[i], vg_strerror(rc));
		else
			opened++;
		sum.records += t.records;
		sum.recovered += t.recovered;
		sum.ok += t.ok;
		sum.ok_recovered += t.ok_recovered;
		sum.err_regular += t.err_regular;
		sum.err_recovered += t.err_recovered;
		sum.err_notes += t.err_notes;
		sum.sysmon += t.sysmon;
		sum.missing_system += t.missing_system;
		sum.copies += t.copies;
		for (int k = 0; k < 32; k++)
			sum.sysmon_eid[k] += t.sysmon_eid[k];
		/* Every regular slot gives a record or an error; recovered
		 * slots may also be skipped as copies of regular records. */
		if (t.ok + t.err_regular != t.records ||
		    t.ok_recovered + t.err_recovered > t.recovered)
			fprintf(stderr, "    %s: %llu+%llu != %llu\n", files[i],
				(unsigned long long)t.ok, (unsigned long long)t.err_regular,
				(unsigned long long)t.records);
		free(files[i]);
	}
	free(files);
	vg_log_set_sink(NULL, NULL);
	printf("    samples: %zu files, %llu records (%llu Sysmon); recovered slots %llu: %llu read, "
	       "%llu unreadable, %llu copies skipped\n", opened, (unsigned long long)sum.ok,
	       (unsigned long long)sum.sysmon, (unsigned long long)sum.recovered,
	       (unsigned long long)sum.ok_recovered, (unsigned long long)sum.err_recovered,
	       (unsigned long long)(sum.recovered - sum.ok_recovered - sum.err_recovered));
	ASSERT_EQ(opened, 277);
	/* SOURCES.md: 8,255 records, 3,241 of them Sysmon. */
	ASSERT_EQ(sum.records, 8255);
	ASSERT_EQ(sum.ok, 8255);
	ASSERT_EQ(sum.err_regular, 0);
	ASSERT_EQ(sum.missing_system, 0);
	ASSERT_TRUE(sum.ok_recovered + sum.err_recovered <= sum.recovered);
	ASSERT_EQ(sum.copies, 0);
	ASSERT_GE(sum.ok + sum.ok_recovered, 8255);
	ASSERT_EQ(sum.err_notes, 0);
	ASSERT_EQ(logs.n, 0);
	ASSERT_EQ(sum.sysmon, 3241);
	ASSERT_EQ(sum.sysmon_eid[1], 1491);
	ASSERT_EQ(sum.sysmon_eid[7], 654);
	ASSERT_EQ(sum.sysmon_eid[13], 223);
	ASSERT_EQ(sum.sysmon_eid[11], 209);
	ASSERT_EQ(sum.sysmon_eid[3], 164);
	ASSERT_EQ(sum.sysmon_eid[10], 157);
	ASSERT_EQ(sum.sysmon_eid[8], 104);
	ASSERT_EQ(sum.sysmon_eid[12], 95);
	ASSERT_EQ(sum.sysmon_eid[25], 0);
}

/* Opens a sample and reads up to the record whose EventRecordID is rid. */
static int read_record(const char *rel, uint64_t rid, struct vg_evtx_reader **r, struct vg_winrec *rec)
{
	char *path = path_join(vg_test_shared_dir(), rel);
	uint64_t pos;
	int rc;

	rc = path ? vg_evtx_open(path, r) : VG_ENOMEM;
	free(path);
	if (rc)
		return rc;
	while ((rc = vg_evtx_next(*r, rec, &pos)) != 0)
		if (rc == 1 && rec->record_id == rid)
			return 0;
	return VG_ENOTFOUND;
}

TEST(evtx_sysmon_process_create)
{
	struct vg_evtx_reader *r = NULL;
	struct vg_winrec rec = { 0 };
	const struct vg_winrec_item *it;
	uint64_t records = 0, recovered = 0, pos = 99;
	int64_t ns = 0;
	int rc;

	rc = read_record(SAMPLES "/Defense Evasion/"
			 "apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx",
			 4857, &r, &rec);
	ASSERT_EQ(rc, 0);
	vg_evtx_counts(r, &records, &recovered);
	ASSERT_EQ(records, 11);
	ASSERT_EQ(rec.has_event_id, 1);
	ASSERT_EQ(rec.event_id, 1);
	ASSERT_EQ(rec.record_id, 4857);
	ASSERT_STR_EQ(str(rec.provider, 0), SYSMON);
	ASSERT_STR_EQ(str(rec.channel, 0), "Microsoft-Windows-Sysmon/Operational");
	ASSERT_STR_EQ(str(rec.computer, 0), "IEWIN7");
	ASSERT_STR_EQ(str(rec.time, 0), "2019-05-26T04:01:42.385505600Z");
	ASSERT_STR_EQ(str(rec.user_sid, 0), "S-1-5-18");
	ASSERT_EQ(rec.exec_pid, 984);
	ASSERT_EQ(rec.exec_tid, 2352);
	ASSERT_EQ(rec.nitems, 21);
	ASSERT_STR_EQ(str(rec.items[0].name, 0), "RuleName");
	ASSERT_TRUE(rec.items[0].value.p != NULL); /* present but empty */
	ASSERT_EQ(rec.items[0].value.n, 0);
	it = item(&rec, "Image");
	ASSERT_TRUE(it != NULL);
	ASSERT_STR_EQ(str(it->value, 0), "C:\\Users\\IEUser\\Desktop\\info.rar\\jjs.exe");
	it = item(&rec, "CommandLine"); /* the trailing blank is real data */
	ASSERT_TRUE(it != NULL);
	ASSERT_STR_EQ(str(it->value, 0), "\"C:\\Users\\IEUser\\Desktop\\info.rar\\jjs.exe\" ");
	it = item(&rec, "ParentImage");
	ASSERT_TRUE(it != NULL);
	ASSERT_STR_EQ(str(it->value, 0), "C:\\Windows\\explorer.exe");
	ASSERT_STR_EQ(str(rec.items[20].name, 0), "ParentCommandLine");
	ASSERT_EQ(vg_time_parse(rec.time.p, rec.time.n, &ns), 0);
	ASSERT_EQ(ns / 1000000000, 1558843302); /* 2019-05-26T04:01:42Z */
	/* The next record is the DLL side-load (Sysmon 7) right after it. */
	ASSERT_EQ(vg_evtx_next(r, &rec, &pos), 1);
	ASSERT_EQ(pos, 1);
	ASSERT_EQ(rec.event_id, 7);
	ASSERT_STR_EQ(str(item(&rec, "ImageLoaded")->value, 0),
		      "C:\\Users\\IEUser\\Desktop\\info.rar\\jli.dll");
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);
}

TEST(evtx_unnamed_data_binary_qualifiers)
{
	struct vg_evtx_reader *r = NULL;
	struct vg_winrec rec = { 0 };
	int rc;

	rc = read_record(SAMPLES "/Credential Access/MSSQL_multiple_failed_logon_EventID_18456.evtx",
			 13026, &r, &rec);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(rec.event_id, 18456); /* Qualifiers="49152" does not change it */
	ASSERT_STR_EQ(str(rec.provider, 0), "MSSQLSERVER");
	ASSERT_STR_EQ(str(rec.channel, 0), "Application");
	ASSERT_NULL(rec.user_sid.p); /* <Security/> */
	ASSERT_EQ(rec.exec_pid, 0);
	ASSERT_EQ(rec.nitems, 4);
	ASSERT_STR_EQ(str(rec.items[0].name, 0), "Data");
	ASSERT_STR_EQ(str(rec.items[0].value, 0), "sa");
	ASSERT_STR_EQ(str(rec.items[1].name, 0), "Data1");
	ASSERT_STR_EQ(str(rec.items[1].value, 0), " Reason: Password did not match that for the login provided.");
	ASSERT_STR_EQ(str(rec.items[2].name, 0), "Data2");
	ASSERT_STR_EQ(str(rec.items[2].value, 0), " [CLIENT: 10.0.2.17]");
	ASSERT_STR_EQ(str(rec.items[3].name, 0), "Binary");
	ASSERT_TRUE(rec.items[3].value.n == 108 && memcmp(rec.items[3].value.p, "184800000E", 10) == 0);
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);
}

TEST(evtx_userdata_items)
{
	struct vg_evtx_reader *r = NULL;
	struct vg_winrec rec = { 0 };
	int rc;

	rc = read_record(SAMPLES "/Defense Evasion/DE_1102_security_log_cleared.evtx", 452811, &r, &rec);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(rec.event_id, 1102);
	ASSERT_STR_EQ(str(rec.channel, 0), "Security");
	ASSERT_EQ(rec.nitems, 4);
	ASSERT_STR_EQ(str(rec.items[0].name, 0), "SubjectUserSid");
	ASSERT_STR_EQ(str(rec.items[0].value, 0), "S-1-5-21-1587066498-1489273250-1035260531-1106");
	ASSERT_STR_EQ(str(rec.items[1].name, 0), "SubjectUserName");
	ASSERT_STR_EQ(str(rec.items[1].value, 0), "user01");
	ASSERT_STR_EQ(str(rec.items[3].name, 0), "SubjectLogonId");
	ASSERT_STR_EQ(str(rec.items[3].value, 0), "0x0000000000017dad");
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);
}

TEST(evtx_keeps_crlf_and_control_bytes)
{
	struct vg_evtx_reader *r = NULL;
	struct vg_winrec rec = { 0 };
	const struct vg_winrec_item *it;
	int rc;

	/* Windows writes CR LF and tabs inside AccessList; they are data. */
	rc = read_record(SAMPLES "/Credential Access/CA_protectedstorage_5145_rpc_masterkey.evtx",
			 886983, &r, &rec);
	ASSERT_EQ(rc, 0);
	it = item(&rec, "AccessList");
	ASSERT_TRUE(it != NULL);
	ASSERT_TRUE(it->value.n > 16);
	ASSERT_TRUE(memcmp(it->value.p, "%%1538\r\n\t\t\t\t%%1541\r\n", 20) == 0);
	ASSERT_TRUE(memcmp(it->value.p + it->value.n - 6, "\r\n\t\t\t\t", 6) == 0);
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);

	/* A control byte (0x02) that XML 1.0 forbids but Windows logged. */
	rc = read_record(SAMPLES "/Discovery/dicovery_4661_net_group_domain_admins_target.evtx",
			 565602, &r, &rec);
	ASSERT_EQ(rc, 0);
	it = item(&rec, "PrivilegeList");
	ASSERT_TRUE(it != NULL);
	ASSERT_EQ(it->value.n, 4);
	ASSERT_TRUE(memcmp(it->value.p, "\xc2\x94\x02-", 4) == 0);
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);
}

/* ---- damaged files, made at test time ---- */

#define CHUNK(i) (4096L + 65536L * (i))
#define DAMAGE_SRC SAMPLES "/Command and Control/bits_openvpn.evtx" /* 16 chunks, 1537 records */

static unsigned char *load(const char *rel, size_t *n)
{
	char *path = path_join(vg_test_shared_dir(), rel);
	unsigned char *d = NULL;
	FILE *f = path ? fopen(path, "rb") : NULL;
	long len;

	free(path);
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (d = malloc((size_t)len)) && fread(d, 1, (size_t)len, f) == (size_t)len)
		*n = (size_t)len;
	else {
		free(d);
		d = NULL;
	}
	fclose(f);
	return d;
}

static char *save(const char *dir, const char *name, const void *d, size_t n)
{
	char *path = path_join(dir, name);
	FILE *f = path ? fopen(path, "wb") : NULL;

	if (!f || fwrite(d, 1, n, f) != n) {
		if (f)
			fclose(f);
		free(path);
		return NULL;
	}
	fclose(f);
	return path;
}

struct damage {
	char dir[64];
	unsigned char *orig;
	size_t n;
};

static int damage_setup(struct damage *dm)
{
	snprintf(dm->dir, sizeof(dm->dir), "/tmp/vigil-evtx-test-XXXXXX");
	dm->orig = load(DAMAGE_SRC, &dm->n);
	return dm->orig && mkdtemp(dm->dir) ? 0 : -1;
}

static void damage_cleanup(struct damage *dm, char *path)
{
	if (path) {
		unlink(path);
		free(path);
	}
	rmdir(dm->dir);
	free(dm->orig);
}

TEST(evtx_damage_truncated_mid_chunk)
{
	struct damage dm;
	struct tally t;
	char *path;
	int rc;

	ASSERT_EQ(damage_setup(&dm), 0);
	path = save(dm.dir, "trunc.evtx", dm.orig, (size_t)CHUNK(5) + 30000);
	vg_log_set_level(VG_LOG_ERROR); /* the warning is expected */
	rc = path ? read_file(path, &t) : -1;
	vg_log_set_level(VG_LOG_WARN);
	damage_cleanup(&dm, path);
	ASSERT_EQ(rc, 0);
	/* Whole chunks 0-4 still read; the partial chunk is reported, with where it ends. */
	ASSERT_GE(t.ok, 400);
	ASSERT_TRUE(t.ok < 1537);
	ASSERT_EQ(t.missing_system, 0);
	ASSERT_EQ(t.err_notes, 1);
	ASSERT_EQ(t.last_note_err, VG_ETRUNC);
	ASSERT_TRUE(strstr(t.last_note, "offset 0x58530") != NULL);
	ASSERT_TRUE(strstr(t.last_note, "into chunk 5") != NULL);
}

TEST(evtx_damage_flipped_bytes)
{
	struct damage dm;
	struct tally t;
	char *path = NULL;
	int rc = -1;

	ASSERT_EQ(damage_setup(&dm), 0);
	for (long i = CHUNK(3) + 3000; i < CHUNK(3) + 3200; i++)
		dm.orig[i] ^= 0x5a;
	path = save(dm.dir, "flip.evtx", dm.orig, dm.n);
	vg_log_set_level(VG_LOG_ERROR);
	if (path)
		rc = read_file(path, &t);
	vg_log_set_level(VG_LOG_WARN);
	damage_cleanup(&dm, path);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(t.records, 1537);
	/* Records in chunk 3 after the damage fail one by one, with their position... */
	ASSERT_TRUE(t.err_regular > 0);
	ASSERT_TRUE(t.err_regular < 100);
	ASSERT_EQ(t.ok + t.err_regular, 1537);
	ASSERT_TRUE(strncmp(t.first_err, "record ", 7) == 0);
	ASSERT_TRUE(strstr(t.first_err, " of 1537 at offset 0x3") != NULL);
	ASSERT_TRUE(t.first_err_pos > 0);
	/* ...and the rest of the file, after the damaged chunk, still reads. */
	ASSERT_EQ(t.last_ok_pos, 1536);
	ASSERT_EQ(t.missing_system, 0);
}

TEST(evtx_damage_zeroed_chunk_header)
{
	struct damage dm;
	struct tally t;
	char *path = NULL;
	int rc = -1;

	ASSERT_EQ(damage_setup(&dm), 0);
	memset(dm.orig + CHUNK(7), 0, 512);
	path = save(dm.dir, "zero.evtx", dm.orig, dm.n);
	vg_log_set_level(VG_LOG_ERROR);
	if (path)
		rc = read_file(path, &t);
	vg_log_set_level(VG_LOG_WARN);
	damage_cleanup(&dm, path);
	ASSERT_EQ(rc, 0);
	/* libevtx drops the chunk from the regular records and recovers them. */
	ASSERT_TRUE(t.records < 1537);
	ASSERT_GE(t.ok + t.ok_recovered, 1537);
	ASSERT_EQ(t.err_regular, 0);
	ASSERT_EQ(t.err_notes, 1);
	ASSERT_EQ(t.last_note_err, VG_EEVTX);
	ASSERT_TRUE(strstr(t.last_note, "chunk 7 at offset 0x71000: bad signature") != NULL);
}

TEST(evtx_damage_header_checksum)
{
	struct damage dm;
	struct tally t;
	char *path = NULL;
	int rc = -1;

	ASSERT_EQ(damage_setup(&dm), 0);
	dm.orig[CHUNK(2) + 8] ^= 0xff; /* first record number, covered by the header CRC */
	path = save(dm.dir, "crc.evtx", dm.orig, dm.n);
	vg_log_set_level(VG_LOG_ERROR);
	if (path)
		rc = read_file(path, &t);
	vg_log_set_level(VG_LOG_WARN);
	damage_cleanup(&dm, path);
	ASSERT_EQ(rc, 0);
	ASSERT_GE(t.ok + t.ok_recovered, 1400);
	ASSERT_EQ(t.err_notes, 1);
	ASSERT_TRUE(strstr(t.last_note, "chunk 2 at offset 0x21000: header checksum mismatch") != NULL);
}

TEST(evtx_worker_crash_is_contained)
{
	struct tally t;
	char *path = path_join(vg_test_shared_dir(), SAMPLES "/Defense Evasion/"
			       "apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx");
	int rc;

	/* The test hook makes the libevtx worker die on SIGSEGV at slot 3. */
	ASSERT_TRUE(path != NULL);
	setenv("VIGIL_EVTX_FAULT_SLOT", "3", 1);
	rc = read_file(path, &t);
	unsetenv("VIGIL_EVTX_FAULT_SLOT");
	free(path);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(t.ok, 10); /* 0-2, then 4-10 from a new worker */
	ASSERT_EQ(t.err_regular, 1);
	ASSERT_EQ(t.first_err_pos, 3);
	ASSERT_EQ(t.last_ok_pos, 10);
	ASSERT_TRUE(strstr(t.first_err, "record 3 of 11: libevtx crashed (signal 11") != NULL);
}

TEST(evtx_two_readers_deleted_files)
{
	struct damage dm;
	struct vg_evtx_reader *r[2] = { NULL, NULL };
	struct vg_winrec rec = { 0 };
	char *path[2];
	int ok[2] = { 0, 0 }, err[2] = { 0, 0 }, live = 2;
	uint64_t pos;

	/* Two readers at once, their files unlinked after open, and a worker
	 * crash in each: the replacement workers still find the right file. */
	ASSERT_EQ(damage_setup(&dm), 0);
	free(dm.orig);
	dm.orig = load(SAMPLES "/Defense Evasion/"
		       "apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx", &dm.n);
	ASSERT_TRUE(dm.orig != NULL);
	path[0] = save(dm.dir, "a.evtx", dm.orig, dm.n);
	path[1] = save(dm.dir, "b.evtx", dm.orig, dm.n);
	ASSERT_TRUE(path[0] && path[1]);
	setenv("VIGIL_EVTX_FAULT_SLOT", "3", 1);
	ASSERT_EQ(vg_evtx_open(path[0], &r[0]), 0);
	ASSERT_EQ(vg_evtx_open(path[1], &r[1]), 0);
	for (int i = 0; i < 2; i++) {
		unlink(path[i]);
		free(path[i]);
	}
	while (live) {
		live = 0;
		for (int i = 0; i < 2; i++) {
			int rc = r[i] ? vg_evtx_next(r[i], &rec, &pos) : 0;

			if (rc == 1)
				ok[i]++;
			else if (rc < 0)
				err[i]++;
			if (rc != 0)
				live++;
			else if (r[i]) {
				vg_evtx_free(r[i]);
				r[i] = NULL;
			}
		}
	}
	unsetenv("VIGIL_EVTX_FAULT_SLOT");
	damage_cleanup(&dm, NULL);
	vg_winrec_free_items(&rec);
	ASSERT_EQ(ok[0], 10);
	ASSERT_EQ(ok[1], 10);
	ASSERT_EQ(err[0], 1);
	ASSERT_EQ(err[1], 1);
}

TEST(evtx_damage_huge_template_value_count)
{
	struct damage dm;
	struct tally t;
	char *path = NULL;
	int rc = -1;

	/*
	 * The first record's template instance says it has 0x40000010 values
	 * (inline definition, values count at 0x16c2). libevtx 20181227 tries
	 * to allocate them all; the worker's heap cap turns that into an error.
	 */
	ASSERT_EQ(damage_setup(&dm), 0);
	free(dm.orig);
	dm.orig = load(SAMPLES "/Defense Evasion/"
		       "apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx", &dm.n);
	ASSERT_TRUE(dm.orig != NULL);
	ASSERT_TRUE(dm.orig[0x16c2] == 18 && dm.orig[0x16c3] == 0);
	memcpy(dm.orig + 0x16c2, "\x10\x00\x00\x40", 4);
	path = save(dm.dir, "values.evtx", dm.orig, dm.n);
	vg_log_set_level(VG_LOG_ERROR);
	if (path)
		rc = read_file(path, &t);
	vg_log_set_level(VG_LOG_WARN);
	damage_cleanup(&dm, path);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(t.ok, 10);
	ASSERT_EQ(t.err_regular, 1);
	ASSERT_EQ(t.first_err_pos, 0);
	ASSERT_TRUE(strncmp(t.first_err, "record 0 of 11", 14) == 0);
}

TEST(evtx_open_errors)
{
	static char not_null;
	struct damage dm;
	struct vg_evtx_reader *r = (struct vg_evtx_reader *)&not_null; /* open must clear it */
	struct logcap logs = { 0 };
	char *path = NULL;
	int rc;

	ASSERT_EQ(damage_setup(&dm), 0);
	memset(dm.orig, 0, 8); /* file signature */
	path = save(dm.dir, "badheader.evtx", dm.orig, dm.n);
	vg_log_set_sink(capture, &logs);
	rc = path ? vg_evtx_open(path, &r) : -1;
	vg_log_set_sink(NULL, NULL);
	ASSERT_EQ(rc, VG_EEVTX);
	ASSERT_NULL(r);
	ASSERT_EQ(logs.n, 1);
	ASSERT_TRUE(strstr(logs.last, "badheader.evtx") != NULL);
	ASSERT_TRUE(strstr(logs.last, "signature") != NULL);
	if (path)
		unlink(path);
	free(path);

	/* Shorter than a file header. */
	path = save(dm.dir, "short.evtx", dm.orig, 100);
	vg_log_set_sink(capture, &logs);
	rc = path ? vg_evtx_open(path, &r) : -1;
	ASSERT_EQ(rc, VG_EEVTX);
	rc = vg_evtx_open("/nonexistent/vigil.evtx", &r);
	ASSERT_EQ(rc, -ENOENT);
	rc = vg_evtx_open(dm.dir, &r);
	ASSERT_EQ(rc, -EISDIR);
	vg_log_set_sink(NULL, NULL);
	damage_cleanup(&dm, path);
	vg_evtx_free(NULL);
}

/* ---- the XML parser ---- */

#define EV_HEAD "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n"
#define SYSTEM                                                                          \
	"  <System>\n"                                                                  \
	"    <Provider Name=\"Microsoft-Windows-Security-Auditing\" Guid=\"{5}\"/>\n"    \
	"    <EventID>4688</EventID>\n"                                                 \
	"    <TimeCreated SystemTime=\"2019-03-19T23:35:07.524202100Z\"/>\n"            \
	"    <EventRecordID>452811</EventRecordID>\n"                                   \
	"    <Execution ProcessID=\"4\" ThreadID=\"72\"/>\n"                            \
	"    <Channel>Security</Channel>\n"                                             \
	"    <Computer>PC01.example.corp</Computer>\n"                                  \
	"    <Security UserID=\"S-1-5-18\"/>\n"                                         \
	"  </System>\n"

static int parse(struct vg_evtx_xml *x, const char *xml, struct vg_winrec *rec, const char **why)
{
	return vg_evtx_xml_parse(x, xml, strlen(xml), rec, why);
}

TEST(evtx_xml_system_and_entities)
{
	struct vg_evtx_xml *x = NULL;
	struct vg_winrec rec = { 0 };
	const char *why = NULL;
	const char *xml = EV_HEAD SYSTEM
		"  <EventData>\n"
		"    <Data Name=\"CommandLine\">cmd /c \"a &amp; b\" &lt;x&gt; &#65;&#x42; &apos;</Data>\n"
		"    <Data Name=\"Empty\"/>\n"
		"    <Data Name=\"Spaces\">  padded  </Data>\n"
		"  </EventData>\n"
		"</Event>\n";

	ASSERT_EQ(vg_evtx_xml_new(&x), 0);
	ASSERT_EQ(parse(x, xml, &rec, &why), 0);
	ASSERT_EQ(rec.has_event_id, 1);
	ASSERT_EQ(rec.event_id, 4688);
	ASSERT_EQ(rec.record_id, 452811);
	ASSERT_EQ(rec.exec_pid, 4);
	ASSERT_EQ(rec.exec_tid, 72);
	ASSERT_STR_EQ(str(rec.provider, 0), "Microsoft-Windows-Security-Auditing");
	ASSERT_STR_EQ(str(rec.channel, 0), "Security");
	ASSERT_STR_EQ(str(rec.computer, 0), "PC01.example.corp");
	ASSERT_STR_EQ(str(rec.time, 0), "2019-03-19T23:35:07.524202100Z");
	ASSERT_STR_EQ(str(rec.user_sid, 0), "S-1-5-18");
	ASSERT_EQ(rec.nitems, 3);
	ASSERT_STR_EQ(str(rec.items[0].value, 0), "cmd /c \"a & b\" <x> AB '");
	ASSERT_STR_EQ(str(rec.items[1].name, 0), "Empty");
	ASSERT_TRUE(rec.items[1].value.p != NULL);
	ASSERT_EQ(rec.items[1].value.n, 0);
	ASSERT_STR_EQ(str(rec.items[2].value, 0), "  padded  ");
	vg_winrec_free_items(&rec);
	vg_evtx_xml_free(x);
}

TEST(evtx_xml_missing_parts)
{
	struct vg_evtx_xml *x = NULL;
	struct vg_winrec rec = { 0 };
	const char *why = NULL;

	ASSERT_EQ(vg_evtx_xml_new(&x), 0);
	/* No EventData at all. */
	ASSERT_EQ(parse(x, EV_HEAD SYSTEM "</Event>", &rec, &why), 0);
	ASSERT_EQ(rec.nitems, 0);
	ASSERT_EQ(rec.event_id, 4688);
	/* No System values: everything absent, nothing invented. */
	ASSERT_EQ(parse(x, "<Event><System><EventID>x1</EventID></System>"
			   "<EventData/></Event>", &rec, &why), 0);
	ASSERT_EQ(rec.has_event_id, 0);
	ASSERT_EQ(rec.record_id, 0);
	ASSERT_NULL(rec.provider.p);
	ASSERT_NULL(rec.channel.p);
	ASSERT_NULL(rec.time.p);
	ASSERT_NULL(rec.user_sid.p);
	ASSERT_EQ(rec.nitems, 0);
	/* Qualifiers, and a number too large for 32 bits. */
	ASSERT_EQ(parse(x, "<Event><System><EventID Qualifiers=\"16384\">7036</EventID>"
			   "<Execution ProcessID=\"99999999999\"/></System></Event>", &rec, &why), 0);
	ASSERT_EQ(rec.has_event_id, 1);
	ASSERT_EQ(rec.event_id, 7036);
	ASSERT_EQ(rec.exec_pid, 0);
	/* RenderingInfo is not payload; a namespace prefix is ignored for System names. */
	ASSERT_EQ(parse(x, "<e:Event xmlns:e=\"urn:x\"><e:System><e:Channel>Setup</e:Channel>"
			   "</e:System><RenderingInfo><Message>m</Message></RenderingInfo></e:Event>",
			&rec, &why), 0);
	ASSERT_STR_EQ(str(rec.channel, 0), "Setup");
	ASSERT_EQ(rec.nitems, 0);
	vg_winrec_free_items(&rec);
	vg_evtx_xml_free(x);
}

TEST(evtx_xml_userdata_and_unnamed)
{
	struct vg_evtx_xml *x = NULL;
	struct vg_winrec rec = { 0 };
	const char *why = NULL;
	const char *xml = EV_HEAD SYSTEM
		"  <UserData>\n"
		"    <EventXML xmlns=\"Event_NS\">\n"
		"      <Param1>administrator</Param1>\n"
		"      <Nested>\n"
		"        <Inner>deep</Inner>\n"
		"      </Nested>\n"
		"      <Param3/>\n"
		"    </EventXML>\n"
		"  </UserData>\n"
		"</Event>\n";

	ASSERT_EQ(vg_evtx_xml_new(&x), 0);
	ASSERT_EQ(parse(x, xml, &rec, &why), 0);
	ASSERT_EQ(rec.nitems, 3);
	ASSERT_STR_EQ(str(rec.items[0].name, 0), "Param1");
	ASSERT_STR_EQ(str(rec.items[0].value, 0), "administrator");
	ASSERT_STR_EQ(str(rec.items[1].name, 0), "Inner");
	ASSERT_STR_EQ(str(rec.items[1].value, 0), "deep");
	ASSERT_STR_EQ(str(rec.items[2].name, 0), "Param3");
	ASSERT_EQ(rec.items[2].value.n, 0);

	ASSERT_EQ(parse(x, "<Event><EventData><Data>a</Data><Data Name=\"N\">b</Data><Data>c</Data>"
			   "<Data Name=\"\">d</Data><Binary>00FF</Binary></EventData></Event>",
			&rec, &why), 0);
	ASSERT_EQ(rec.nitems, 5);
	ASSERT_STR_EQ(str(rec.items[0].name, 0), "Data");
	ASSERT_STR_EQ(str(rec.items[1].name, 0), "N");
	ASSERT_STR_EQ(str(rec.items[2].name, 0), "Data1");
	ASSERT_STR_EQ(str(rec.items[3].name, 0), "Data2");
	ASSERT_STR_EQ(str(rec.items[3].value, 0), "d");
	ASSERT_STR_EQ(str(rec.items[4].name, 0), "Binary");
	ASSERT_STR_EQ(str(rec.items[4].value, 0), "00FF");
	vg_winrec_free_items(&rec);
	vg_evtx_xml_free(x);
}

TEST(evtx_xml_raw_bytes)
{
	struct vg_evtx_xml *x = NULL;
	struct vg_winrec rec = { 0 };
	const char *why = NULL;
	/* CR kept (expat alone would fold CR LF), control bytes kept, bad UTF-8 -> U+FFFD. */
	static const char xml[] = "<Event><EventData>"
		"<Data Name=\"A\">x\r\ny\r</Data>"
		"<Data Name=\"B\">\x01\x02\x1f-\x00z</Data>"
		"<Data Name=\"C\">\xff\xc3(</Data>"
		"</EventData></Event>";
	/* A real U+F700 beside control bytes would be ambiguous with their
	 * stand-ins: then control bytes become U+FFFD and U+F700 stays. */
	static const char both[] = "<Event><EventData>"
		"<Data Name=\"B\">\x01-</Data>"
		"<Data Name=\"D\">\xef\x9c\x80 stays</Data>"
		"</EventData></Event>";

	ASSERT_EQ(vg_evtx_xml_new(&x), 0);
	ASSERT_EQ(vg_evtx_xml_parse(x, xml, sizeof(xml), &rec, &why), 0); /* with its NUL */
	ASSERT_EQ(rec.nitems, 3);
	ASSERT_EQ(rec.items[0].value.n, 5);
	ASSERT_TRUE(memcmp(rec.items[0].value.p, "x\r\ny\r", 5) == 0);
	ASSERT_EQ(rec.items[1].value.n, 6);
	ASSERT_TRUE(memcmp(rec.items[1].value.p, "\x01\x02\x1f-\x00z", 6) == 0);
	ASSERT_STR_EQ(str(rec.items[2].value, 0), "\xef\xbf\xbd\xef\xbf\xbd(");

	ASSERT_EQ(vg_evtx_xml_parse(x, both, sizeof(both) - 1, &rec, &why), 0);
	ASSERT_EQ(rec.nitems, 2);
	ASSERT_STR_EQ(str(rec.items[0].value, 0), "\xef\xbf\xbd-");
	ASSERT_STR_EQ(str(rec.items[1].value, 0), "\xef\x9c\x80 stays");
	vg_winrec_free_items(&rec);
	vg_evtx_xml_free(x);
}

TEST(evtx_xml_errors)
{
	struct vg_evtx_xml *x = NULL;
	struct vg_winrec rec = { 0 };
	const char *why = NULL;
	char *big;
	size_t n;

	ASSERT_EQ(vg_evtx_xml_new(&x), 0);
	ASSERT_EQ(parse(x, "<Event><System></Event>", &rec, &why), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "line 1 column 17: mismatched tag") != NULL);
	ASSERT_EQ(parse(x, EV_HEAD SYSTEM "  <EventData>\n    <Data Name=\"x\">a &bogus; b</Data>",
			&rec, &why), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "undefined entity") != NULL);
	ASSERT_EQ(parse(x, EV_HEAD SYSTEM "  <EventData>", &rec, &why), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "no element found") != NULL);
	ASSERT_EQ(rec.nitems, 0);
	ASSERT_NULL(rec.provider.p); /* nothing half-filled */
	ASSERT_EQ(parse(x, "<Events><Event/></Events>", &rec, &why), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "root element is <Events>") != NULL);
	ASSERT_EQ(parse(x, "<!DOCTYPE Event [<!ENTITY a \"aaaa\">]><Event>&a;</Event>", &rec, &why),
		  VG_EPARSE);
	ASSERT_TRUE(strstr(why, "DOCTYPE") != NULL);
	ASSERT_EQ(parse(x, "", &rec, &why), VG_EPARSE);
	ASSERT_EQ(parse(x, "<Event/><Event/>", &rec, &why), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "junk after document element") != NULL);

	/* Limits: items, depth, size. */
	n = 6000 * 14 + 64;
	big = malloc(n);
	ASSERT_TRUE(big != NULL);
	{
		char *w = big;

		w += sprintf(w, "<Event><EventData>");
		for (int i = 0; i < 6000; i++)
			w += sprintf(w, "<Data>v</Data>");
		sprintf(w, "</EventData></Event>");
	}
	ASSERT_EQ(parse(x, big, &rec, &why), VG_ELIMIT);
	ASSERT_TRUE(strstr(why, "more than 4096 items") != NULL);
	big[0] = '\0';
	for (int i = 0; i < 40; i++)
		strcat(big, "<Event>");
	ASSERT_EQ(parse(x, big, &rec, &why), VG_ELIMIT);
	ASSERT_TRUE(strstr(why, "nested deeper than 32") != NULL);
	free(big);
	n = (4u << 20) + 1;
	big = malloc(n);
	ASSERT_TRUE(big != NULL);
	memset(big, ' ', n);
	memcpy(big, "<Event>", 7);
	ASSERT_EQ(vg_evtx_xml_parse(x, big, n, &rec, &why), VG_ELIMIT);
	ASSERT_TRUE(strstr(why, "limit") != NULL);
	free(big);

	/* The state is still good after errors. */
	ASSERT_EQ(parse(x, EV_HEAD SYSTEM "</Event>", &rec, &why), 0);
	ASSERT_EQ(rec.event_id, 4688);
	vg_winrec_free_items(&rec);
	vg_evtx_xml_free(x);
	vg_evtx_xml_free(NULL);
}
