/* store.c - vigil-cloud's SQLite store: versioned migrations, WAL, prepared statements for endpoints, files (prevalence), signals, verdicts, events and alerts. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cloud_int.h"

/*
 * Migrations run in order inside one transaction each; the migrations
 * table records which ran. Never edit a shipped step: append a new one.
 */
static const char *const migrations[] = {
	/* 1: the base schema */
	"CREATE TABLE endpoints(id TEXT PRIMARY KEY, hostname TEXT, address TEXT,"
	" credential TEXT NOT NULL UNIQUE, enrolled_ms INTEGER NOT NULL, last_seen_ms INTEGER);"
	"CREATE TABLE files(sha256 TEXT PRIMARY KEY, first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
	" prevalence INTEGER NOT NULL DEFAULT 0, size INTEGER, name TEXT, verdict TEXT, score REAL, threat_name TEXT);"
	"CREATE TABLE file_endpoints(sha256 TEXT NOT NULL, endpoint_id TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,"
	" PRIMARY KEY(sha256, endpoint_id)) WITHOUT ROWID;"
	"CREATE TABLE signals(id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, endpoint_id TEXT, sha256 TEXT,"
	" verdict TEXT, score REAL, body TEXT NOT NULL);"
	"CREATE TABLE verdicts(id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, sha256 TEXT NOT NULL,"
	" verdict TEXT NOT NULL, body TEXT NOT NULL);"
	"CREATE TABLE events(id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, endpoint_id TEXT, time_ns INTEGER,"
	" type TEXT, body TEXT NOT NULL);"
	"CREATE TABLE alerts(id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, endpoint_id TEXT, time_ns INTEGER,"
	" rule_id TEXT, level TEXT, body TEXT NOT NULL);",
	/* 2: lookups by hash and endpoint */
	"CREATE INDEX signals_sha ON signals(sha256);"
	"CREATE INDEX verdicts_sha ON verdicts(sha256);"
	"CREATE INDEX alerts_endpoint ON alerts(endpoint_id, id);",
	/*
	 * 3: no route reads signals or verdicts by hash, and with nearly every
	 * hash new each index cost a random B-tree page write per signal.
	 */
	"DROP INDEX IF EXISTS signals_sha;"
	"DROP INDEX IF EXISTS verdicts_sha;",
	/*
	 * 4: files keyed by an integer id the service assigns in order, and
	 * file_endpoints by that id: a new file's rows go at the end of each
	 * B-tree instead of at a random place (a page write per signal each).
	 * The service's memory maps hashes to ids (hot.c); nothing else
	 * writes the database (locking_mode=EXCLUSIVE).
	 */
	"CREATE TABLE files_v4(id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,"
	" last_seen_ms INTEGER NOT NULL, prevalence INTEGER NOT NULL DEFAULT 0, size INTEGER, name TEXT, verdict TEXT,"
	" score REAL, threat_name TEXT);"
	"INSERT INTO files_v4 SELECT rowid, sha256, first_seen_ms, last_seen_ms, prevalence, size, name, verdict, score,"
	" threat_name FROM files ORDER BY rowid;"
	"CREATE TABLE file_endpoints_v4(file_id INTEGER NOT NULL, endpoint_id TEXT NOT NULL,"
	" first_seen_ms INTEGER NOT NULL, PRIMARY KEY(file_id, endpoint_id)) WITHOUT ROWID;"
	"INSERT INTO file_endpoints_v4 SELECT f.rowid, fe.endpoint_id, fe.first_seen_ms FROM file_endpoints fe"
	" JOIN files f ON f.sha256 = fe.sha256;"
	"DROP TABLE file_endpoints;"
	"DROP TABLE files;"
	"ALTER TABLE files_v4 RENAME TO files;"
	"ALTER TABLE file_endpoints_v4 RENAME TO file_endpoints;",
};

enum {
	S_ENROLL, S_SEEN_FE, S_FILE_ADD, S_FILE_PUT, S_SIGNAL, S_VERDICT_ADD,
	S_FILE_JSON, S_EVENT, S_ALERT, S_LIST_ALERTS, S_LIST_VERDICTS, S_TOUCH, S__COUNT
};

static const char *const sql[S__COUNT] = {
	[S_ENROLL] = "INSERT INTO endpoints(id, hostname, address, credential, enrolled_ms, last_seen_ms)"
		     " VALUES(?1,?2,?3,?4,?5,?5) ON CONFLICT(id) DO UPDATE SET hostname=?2, address=?3,"
		     " credential=?4, last_seen_ms=?5",
	[S_SEEN_FE] = "INSERT OR IGNORE INTO file_endpoints(file_id, endpoint_id, first_seen_ms) VALUES(?1,?2,?3)",
	/* the hot state holds the absolute values: the row takes them as they are */
	[S_FILE_ADD] = "INSERT INTO files(id, sha256, first_seen_ms, last_seen_ms, prevalence, size, name, verdict, score,"
		       " threat_name) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	[S_FILE_PUT] = "UPDATE files SET last_seen_ms=?4, prevalence=?5, size=coalesce(?6,size), name=coalesce(?7,name),"
		       " verdict=?8, score=?9, threat_name=?10 WHERE id=?1",
	[S_SIGNAL] = "INSERT INTO signals(received_ms, endpoint_id, sha256, verdict, score, body) VALUES(?1,?2,?3,?4,?5,?6)",
	[S_VERDICT_ADD] = "INSERT INTO verdicts(id, received_ms, sha256, verdict, body) VALUES(?1,?2,?3,?4,?5)",
	[S_FILE_JSON] = "SELECT prevalence, first_seen_ms, last_seen_ms, size, name, verdict, score, threat_name"
			" FROM files WHERE id=?1",
	[S_EVENT] = "INSERT INTO events(received_ms, endpoint_id, time_ns, type, body) VALUES(?1,?2,?3,?4,?5)",
	[S_ALERT] = "INSERT INTO alerts(received_ms, endpoint_id, time_ns, rule_id, level, body) VALUES(?1,?2,?3,?4,?5,?6)",
	[S_LIST_ALERTS] = "SELECT id, body FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2",
	[S_LIST_VERDICTS] = "SELECT id, body FROM verdicts WHERE id > ?1 ORDER BY id LIMIT ?2",
	[S_TOUCH] = "UPDATE endpoints SET last_seen_ms=?2 WHERE id=?1",
};

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(struct store *s, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return VG_EINVAL;
}

static int migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int64_t have = 0;
	char *msg = NULL;

	if (sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS migrations(version INTEGER PRIMARY KEY,"
				" applied_ms INTEGER NOT NULL)", 0, 0, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "migrations table");
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version),0) FROM migrations", -1, &q, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "migrations");
	if (sqlite3_step(q) == SQLITE_ROW)
		have = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (have > (int64_t)(sizeof(migrations) / sizeof(migrations[0]))) {
		snprintf(err, errlen, "database schema version %lld is newer than this vigil-cloud knows (%zu)",
			 (long long)have, sizeof(migrations) / sizeof(migrations[0]));
		return VG_EINVAL;
	}
	for (size_t v = (size_t)have; v < sizeof(migrations) / sizeof(migrations[0]); v++) {
		char rec[128];
		snprintf(rec, sizeof(rec), "INSERT INTO migrations VALUES(%zu, %lld)", v + 1, (long long)store_now_ms());
		if (sqlite3_exec(s->db, "BEGIN", 0, 0, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, migrations[v], 0, 0, &msg) != SQLITE_OK ||
		    sqlite3_exec(s->db, rec, 0, 0, &msg) != SQLITE_OK ||
		    sqlite3_exec(s->db, "COMMIT", 0, 0, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration %zu: %s", v + 1, msg ? msg : sqlite3_errmsg(s->db));
			sqlite3_free(msg);
			sqlite3_exec(s->db, "ROLLBACK", 0, 0, NULL);
			return VG_EINVAL;
		}
	}
	return 0;
}

int store_open(struct store *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return fail(s, err, errlen, path);
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				" PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=1073741824;"
				" PRAGMA wal_autocheckpoint=8192",
			 0, 0, NULL) != SQLITE_OK)
		return fail(s, err, errlen, path);
	int rc = migrate(s, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < S__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
			return fail(s, err, errlen, sql[i]);
	return 0;
}

void store_close(struct store *s)
{
	if (s->db)
		store_flush(s);
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		sqlite3_close(s->db);
	s->db = NULL;
	pthread_mutex_destroy(&s->mu);
}

/* One transaction (caller holds mu): the writer's batch or an event batch. */
int store_begin(struct store *s)
{
	if (s->in_tx)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", 0, 0, NULL) != SQLITE_OK)
		return VG_EINVAL;
	s->in_tx = 1;
	return 0;
}

int store_flush(struct store *s)
{
	if (!s->in_tx)
		return 0;
	s->in_tx = 0;
	if (sqlite3_exec(s->db, "COMMIT", 0, 0, NULL) != SQLITE_OK) {
		vg_log(VG_LOG_ERROR, "vigil-cloud store: commit: %s", sqlite3_errmsg(s->db));
		sqlite3_exec(s->db, "ROLLBACK", 0, 0, NULL);
		return VG_EINVAL;
	}
	return 0;
}

/*
 * Binds text, NULL for a NULL pointer. SQLITE_STATIC everywhere in this
 * file: every statement is stepped, reset and its bindings cleared before
 * the function that bound the values returns.
 */
static void bt(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

/* Runs a statement that returns no rows, then resets it. */
static int run(struct store *s, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_DONE) {
		vg_log(VG_LOG_ERROR, "vigil-cloud store: %s", sqlite3_errmsg(s->db));
		return VG_EINVAL;
	}
	return 0;
}

int store_enroll(struct store *s, const char *id, const char *hostname, const char *address, const char *cred)
{
	sqlite3_stmt *q = s->st[S_ENROLL];
	bt(q, 1, id);
	bt(q, 2, hostname);
	bt(q, 3, address);
	bt(q, 4, cred);
	sqlite3_bind_int64(q, 5, store_now_ms());
	return run(s, q);
}

int store_pair_add(struct store *s, int64_t file_id, const char *endpoint, int64_t now_ms)
{
	sqlite3_stmt *q = s->st[S_SEEN_FE];
	sqlite3_bind_int64(q, 1, file_id);
	bt(q, 2, endpoint);
	sqlite3_bind_int64(q, 3, now_ms);
	return run(s, q);
}

int store_file_put(struct store *s, int add, int64_t id, const char *sha, int64_t first_seen_ms, int64_t now_ms,
		   int64_t prevalence, int64_t size, const char *name, const char *verdict, double score,
		   const char *threat)
{
	sqlite3_stmt *q = s->st[add ? S_FILE_ADD : S_FILE_PUT];
	sqlite3_bind_int64(q, 1, id);
	if (add) {
		sqlite3_bind_text(q, 2, sha, 64, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, first_seen_ms);
	}
	sqlite3_bind_int64(q, 4, now_ms);
	sqlite3_bind_int64(q, 5, prevalence);
	if (size >= 0)
		sqlite3_bind_int64(q, 6, size);
	bt(q, 7, name);
	bt(q, 8, verdict);
	sqlite3_bind_double(q, 9, score);
	bt(q, 10, threat && *threat ? threat : NULL);
	return run(s, q);
}

int store_touch(struct store *s, const char *endpoint, int64_t now_ms)
{
	sqlite3_stmt *q = s->st[S_TOUCH];
	bt(q, 1, endpoint);
	sqlite3_bind_int64(q, 2, now_ms);
	return run(s, q);
}

int store_signal_add(struct store *s, const char *endpoint, const char *sha, const char *body, size_t len,
		     const char *verdict, double score, int64_t now_ms)
{
	sqlite3_stmt *q = s->st[S_SIGNAL];
	sqlite3_bind_int64(q, 1, now_ms);
	bt(q, 2, endpoint);
	bt(q, 3, sha);
	bt(q, 4, verdict);
	sqlite3_bind_double(q, 5, score);
	sqlite3_bind_text(q, 6, body, (int)len, SQLITE_STATIC);
	return run(s, q);
}

int store_verdict_add(struct store *s, int64_t id, const char *sha, const char *verdict, const char *body,
		      int64_t now_ms)
{
	sqlite3_stmt *q = s->st[S_VERDICT_ADD];
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, now_ms);
	bt(q, 3, sha);
	bt(q, 4, verdict);
	sqlite3_bind_text(q, 5, body, -1, SQLITE_STATIC);
	return run(s, q);
}

static void json_ms(struct vg_buf *b, int *first, const char *key, int64_t ms)
{
	char t[40];
	vg_buf_json_key(b, first, key);
	vg_buf_json_str(b, vg_time_format(ms * 1000000, t, sizeof(t)));
}

int store_file_json(struct store *s, int64_t id, const char *sha, struct vg_buf *b)
{
	sqlite3_stmt *q = s->st[S_FILE_JSON];
	int rc = VG_ENOTFOUND, first = 1;

	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		vg_buf_puts(b, "{");
		vg_buf_json_kv(b, &first, "sha256", sha);
		vg_buf_json_ki(b, &first, "prevalence", sqlite3_column_int64(q, 0));
		json_ms(b, &first, "first_seen", sqlite3_column_int64(q, 1));
		json_ms(b, &first, "last_seen", sqlite3_column_int64(q, 2));
		if (sqlite3_column_type(q, 3) != SQLITE_NULL)
			vg_buf_json_ki(b, &first, "size", sqlite3_column_int64(q, 3));
		vg_buf_json_kv(b, &first, "name", (const char *)sqlite3_column_text(q, 4));
		const char *v = (const char *)sqlite3_column_text(q, 5);
		vg_buf_json_kv(b, &first, "verdict", v ? v : "unknown");
		if (sqlite3_column_type(q, 6) != SQLITE_NULL) {
			vg_buf_json_key(b, &first, "score");
			vg_buf_printf(b, "%.4f", sqlite3_column_double(q, 6));
		}
		vg_buf_json_kv(b, &first, "threat_name", (const char *)sqlite3_column_text(q, 7));
		vg_buf_puts(b, "}");
		rc = 0;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

int store_event_add(struct store *s, const char *endpoint, int64_t time_ns, const char *type,
		    const char *body, size_t len, int64_t now_ms)
{
	sqlite3_stmt *q = s->st[S_EVENT];
	sqlite3_bind_int64(q, 1, now_ms);
	bt(q, 2, endpoint);
	sqlite3_bind_int64(q, 3, time_ns);
	bt(q, 4, type);
	sqlite3_bind_text(q, 5, body, (int)len, SQLITE_STATIC);
	return run(s, q);
}

int store_alert_add(struct store *s, const char *endpoint, int64_t time_ns, const char *rule_id,
		    const char *level, const char *body, size_t len, int64_t now_ms, int64_t *id)
{
	sqlite3_stmt *q = s->st[S_ALERT];
	int rc;

	sqlite3_bind_int64(q, 1, now_ms);
	bt(q, 2, endpoint);
	sqlite3_bind_int64(q, 3, time_ns);
	bt(q, 4, rule_id);
	bt(q, 5, level);
	sqlite3_bind_text(q, 6, body, (int)len, SQLITE_STATIC);
	if ((rc = run(s, q)))
		return rc;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/*
 * Stored bodies are JSON objects written without their id; the id is
 * spliced in as the first member so a client can page with since=<id>.
 */
int store_list(struct store *s, int table, int64_t since, int64_t limit, struct vg_buf *b, int64_t *last)
{
	sqlite3_stmt *q = s->st[table == LIST_ALERTS ? S_LIST_ALERTS : S_LIST_VERDICTS];
	int n = 0;

	*last = since;
	sqlite3_bind_int64(q, 1, since);
	sqlite3_bind_int64(q, 2, limit);
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		const char *body = (const char *)sqlite3_column_text(q, 1);
		int blen = sqlite3_column_bytes(q, 1);
		if (n++)
			vg_buf_puts(b, ",");
		vg_buf_printf(b, "{\"id\":%lld", (long long)id);
		if (blen > 2)
			vg_buf_puts(b, ",");
		if (blen > 1)
			vg_buf_put(b, body + 1, (size_t)blen - 1);
		else
			vg_buf_puts(b, "}");
		*last = id;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return n;
}

int64_t store_max_id(struct store *s, const char *table)
{
	char q[96];
	sqlite3_stmt *st = NULL;
	int64_t n = 0;

	snprintf(q, sizeof(q), "SELECT coalesce(max(rowid),0) FROM %s", table);
	if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}
