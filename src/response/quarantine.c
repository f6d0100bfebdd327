/* quarantine.c - the root-only quarantine store: files moved in as <id> (0400) with <id>.json metadata, listed, restored with mode/owner/mtime, purged. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "vigil/buf.h"
#include "vigil/response.h"

#define MAX_META_BYTES (1u << 20)

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int sha256_fd(int fd, char out[65])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	off_t off = 0;
	ssize_t n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx)
		return VG_ENOMEM;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	if (n < 0) {
		int e = -errno;
		EVP_MD_CTX_free(ctx);
		return e;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
	return 0;
}

int vg_sha256_file(const char *path, char out[65])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block the agent */
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return VG_EINVAL;
	}
	int rc = sha256_fd(fd, out);
	close(fd);
	return rc;
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(in, buf, sizeof(buf), off)) > 0) {
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0)
				return -errno;
			w += k;
		}
		off += n;
	}
	return n < 0 ? -errno : 0;
}

static int mkdir_private(const char *dir, char *err, size_t errlen)
{
	char tmp[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp)) {
		snprintf(err, errlen, "quarantine folder '%s': bad path", dir);
		return VG_EINVAL;
	}
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	if (mkdir(tmp, 0700) && errno != EEXIST) {
		int e = -errno;
		snprintf(err, errlen, "quarantine folder %s: %s", dir, strerror(errno));
		return e;
	}
	if (chmod(dir, 0700)) {
		int e = -errno;
		snprintf(err, errlen, "quarantine folder %s: %s", dir, strerror(errno));
		return e;
	}
	return 0;
}

/* Ids are made here of [0-9A-Za-z-]; anything else (a path, "..") is refused before it is used in a path. */
static int valid_id(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'z') || (id[n] >= 'A' && id[n] <= 'Z') ||
		      id[n] == '-'))
			return 0;
	return n > 0 && n < 64;
}

static int write_meta(const char *path, const struct vg_quarantine_meta *m)
{
	struct vg_buf b = { 0 };
	char tmp[4400];
	int first = 1, rc = 0;

	vg_buf_put(&b, "{", 1);
	vg_buf_json_kv(&b, &first, "id", m->id);
	vg_buf_json_kv(&b, &first, "original_path", m->original_path);
	vg_buf_json_kv(&b, &first, "accessed_via", m->accessed_via);
	vg_buf_json_kv(&b, &first, "mount_ns_note", m->mount_ns_note);
	vg_buf_json_kv(&b, &first, "sha256", m->sha256);
	vg_buf_json_ku(&b, &first, "size", m->size);
	vg_buf_json_key(&b, &first, "mode");
	vg_buf_printf(&b, "\"%04o\"", m->mode & 07777);
	vg_buf_json_ku(&b, &first, "uid", m->uid);
	vg_buf_json_ku(&b, &first, "gid", m->gid);
	vg_buf_json_ki(&b, &first, "mtime_ns", m->mtime_ns);
	vg_buf_json_kt(&b, &first, "mtime", m->mtime_ns);
	vg_buf_json_ki(&b, &first, "quarantined_ns", m->quarantined_ns);
	vg_buf_json_kt(&b, &first, "quarantined", m->quarantined_ns);
	vg_buf_json_kv(&b, &first, "rule_id", m->rule_id);
	vg_buf_json_kv(&b, &first, "incident", m->incident);
	vg_buf_put(&b, "}\n", 2);
	if (b.oom) {
		vg_buf_free(&b);
		return VG_ENOMEM;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len || fsync(fd) || rename(tmp, path))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	vg_buf_free(&b);
	return rc;
}

void vg_quarantine_meta_free(struct vg_quarantine_meta *m)
{
	if (!m)
		return;
	free(m->original_path);
	free(m->accessed_via);
	free(m->mount_ns_note);
	free(m->rule_id);
	free(m->incident);
	memset(m, 0, sizeof(*m));
}

int vg_quarantine_add(const char *dir, const char *src, const char *orig, const char *ns_note, const char *rule_id,
		      const char *incident, char *id_out, char *err, size_t errlen)
{
	struct vg_quarantine_meta m = { 0 };
	struct stat st;
	char path[4200], tstamp[32];
	int in, out = -1, rc;

	if ((rc = mkdir_private(dir, err, errlen)))
		return rc;
	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (in < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return rc;
	}
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		close(in);
		snprintf(err, errlen, "%s: not a regular file", src);
		return VG_EINVAL;
	}
	if ((rc = sha256_fd(in, m.sha256))) {
		close(in);
		snprintf(err, errlen, "%s: cannot read: %s", src, vg_strerror(rc));
		return rc;
	}
	m.quarantined_ns = wall_ns();
	time_t now = (time_t)(m.quarantined_ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(tstamp, sizeof(tstamp), "%Y%m%dT%H%M%S", &tm);
	for (int k = 0; k < 1000; k++) {
		if (k)
			snprintf(m.id, sizeof(m.id), "%s-%.12s-%d", tstamp, m.sha256, k);
		else
			snprintf(m.id, sizeof(m.id), "%s-%.12s", tstamp, m.sha256);
		snprintf(path, sizeof(path), "%s/%s", dir, m.id);
		out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
		if (out >= 0 || errno != EEXIST)
			break;
	}
	if (out < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(in);
		return rc;
	}
	if ((rc = copy_fd(in, out)) || (fsync(out) && (rc = -errno))) {
		snprintf(err, errlen, "copying %s to %s: %s", src, path, vg_strerror(rc));
		goto undo;
	}
	m.original_path = (char *)orig;
	m.accessed_via = (char *)src;
	m.mount_ns_note = (char *)ns_note;
	m.size = (uint64_t)st.st_size;
	m.mode = st.st_mode;
	m.uid = st.st_uid;
	m.gid = st.st_gid;
	m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	m.rule_id = (char *)rule_id;
	m.incident = (char *)incident;
	char mpath[4300];
	snprintf(mpath, sizeof(mpath), "%s.json", path);
	if ((rc = write_meta(mpath, &m))) {
		snprintf(err, errlen, "%s: %s", mpath, vg_strerror(rc));
		goto undo;
	}
	if (unlink(src)) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot remove: %s", src, strerror(errno));
		unlink(mpath);
		goto undo;
	}
	close(in);
	close(out);
	if (id_out)
		snprintf(id_out, 64, "%s", m.id);
	return 0;
undo:
	close(in);
	close(out);
	unlink(path);
	return rc;
}

static char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) && v->valuestring ? vg_strdup(v->valuestring) : NULL;
}

static int64_t jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || !(v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18))
		return 0; /* also NaN: a cast out of range is undefined */
	return (int64_t)v->valuedouble;
}

/* Reads <dir>/<id>.json. Errors name the file. */
static int read_meta(const char *dir, const char *id, struct vg_quarantine_meta *m, char *err, size_t errlen)
{
	char path[4300], *text;
	FILE *f;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (!valid_id(id)) {
		snprintf(err, errlen, "'%.80s' is not a quarantine id", id);
		return VG_EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	if (!(f = fopen(path, "rb"))) {
		int e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return e == -ENOENT ? VG_ENOTFOUND : e;
	}
	text = malloc(MAX_META_BYTES + 1);
	if (!text) {
		fclose(f);
		return VG_ENOMEM;
	}
	n = fread(text, 1, MAX_META_BYTES, f);
	fclose(f);
	text[n] = '\0';
	int rc = vg_quarantine_meta_parse(text, n, path, m, err, errlen);
	free(text);
	if (!rc)
		snprintf(m->id, sizeof(m->id), "%s", id);
	return rc;
}

int vg_quarantine_meta_parse(const char *text, size_t n, const char *name, struct vg_quarantine_meta *m, char *err,
			     size_t errlen)
{
	memset(m, 0, sizeof(*m));
	cJSON *o = cJSON_ParseWithLength(text, n);
	if (!cJSON_IsObject(o)) {
		const char *at = cJSON_GetErrorPtr();
		snprintf(err, errlen, "%s: malformed JSON at byte %ld", name,
			 at && at >= text && at <= text + n ? (long)(at - text) : 0L);
		cJSON_Delete(o);
		return VG_EPARSE;
	}
	char *id = jstr(o, "id");
	if (id && valid_id(id))
		snprintf(m->id, sizeof(m->id), "%s", id);
	free(id);
	m->original_path = jstr(o, "original_path");
	m->accessed_via = jstr(o, "accessed_via");
	m->mount_ns_note = jstr(o, "mount_ns_note");
	m->rule_id = jstr(o, "rule_id");
	m->incident = jstr(o, "incident");
	char *sha = jstr(o, "sha256"), *mode = jstr(o, "mode");
	if (sha && strlen(sha) == 64)
		memcpy(m->sha256, sha, 65);
	m->mode = mode ? (uint32_t)strtoul(mode, NULL, 8) & 07777 : 0600;
	free(sha);
	free(mode);
	m->size = (uint64_t)jnum(o, "size");
	m->uid = (uint32_t)jnum(o, "uid");
	m->gid = (uint32_t)jnum(o, "gid");
	m->mtime_ns = jnum(o, "mtime_ns");
	m->quarantined_ns = jnum(o, "quarantined_ns");
	cJSON_Delete(o);
	if (!m->original_path || m->original_path[0] != '/' || !m->sha256[0]) {
		snprintf(err, errlen, "%s: missing original_path (absolute) or sha256", name);
		vg_quarantine_meta_free(m);
		return VG_EPARSE;
	}
	return 0;
}

static int cmp_meta(const void *a, const void *b)
{
	const struct vg_quarantine_meta *x = a, *y = b;
	return x->quarantined_ns < y->quarantined_ns ? -1 : x->quarantined_ns > y->quarantined_ns ? 1 : strcmp(x->id, y->id);
}

/* Every readable item, oldest first. Unreadable metadata is logged and skipped. */
static int load_all(const char *dir, struct vg_quarantine_meta **out, size_t *nout, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct vg_quarantine_meta *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		int e = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return e;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char id[64], e2[512];
		if (len < 6 || len - 5 >= sizeof(id) || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, len - 5);
		id[len - 5] = '\0';
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct vg_quarantine_meta *nv = realloc(v, nc * sizeof(*v));
			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		if (read_meta(dir, id, &v[n], e2, sizeof(e2)) == 0)
			n++;
		else
			vg_log(VG_LOG_WARN, "quarantine: skipping %s", e2);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_meta);
	*out = v;
	*nout = n;
	return 0;
}

int vg_quarantine_list(const char *dir, vg_quarantine_fn fn, void *ctx, char *err, size_t errlen)
{
	struct vg_quarantine_meta *v;
	size_t n;
	int rc = load_all(dir, &v, &n, err, errlen);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		fn(&v[i], ctx);
		vg_quarantine_meta_free(&v[i]);
	}
	free(v);
	return (int)n;
}

int vg_quarantine_restore(const char *dir, const char *id, char *err, size_t errlen)
{
	struct vg_quarantine_meta m;
	char path[4300], mpath[4300], sha[65];
	int rc, in, out;

	if ((rc = read_meta(dir, id, &m, err, errlen)))
		return rc;
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	snprintf(mpath, sizeof(mpath), "%s/%s.json", dir, id);
	if ((in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = sha256_fd(in, sha)) || strcmp(sha, m.sha256) != 0) {
		snprintf(err, errlen, "%s: content does not match its recorded sha256 %s", path, m.sha256);
		close(in);
		rc = VG_EINVAL;
		goto out;
	}
	out = open(m.original_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		if (errno == EEXIST)
			snprintf(err, errlen, "%s exists: not overwritten (move it away first)", m.original_path);
		else
			snprintf(err, errlen, "%s: %s", m.original_path, strerror(errno));
		close(in);
		goto out;
	}
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_sec = m.mtime_ns / 1000000000LL, .tv_nsec = m.mtime_ns % 1000000000LL } };
	if ((rc = copy_fd(in, out)) || (fchown(out, m.uid, m.gid) && (rc = -errno)) ||
	    (fchmod(out, m.mode & 07777) && (rc = -errno)) || (futimens(out, ts) && (rc = -errno))) {
		snprintf(err, errlen, "restoring %s: %s", m.original_path, vg_strerror(rc));
		close(in);
		close(out);
		unlink(m.original_path);
		goto out;
	}
	close(in);
	close(out);
	unlink(path);
	unlink(mpath);
out:
	vg_quarantine_meta_free(&m);
	return rc;
}

int vg_quarantine_purge(const char *dir, const char *id, int64_t older_than_ns, char *err, size_t errlen)
{
	char path[4300];
	int removed = 0;

	if (id) {
		struct vg_quarantine_meta m;
		int rc = read_meta(dir, id, &m, err, errlen);
		if (rc)
			return rc;
		vg_quarantine_meta_free(&m);
		snprintf(path, sizeof(path), "%s/%s", dir, id);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.json", dir, id);
		return unlink(path) ? -errno : 1;
	}
	struct vg_quarantine_meta *v;
	size_t n;
	int rc = load_all(dir, &v, &n, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (v[i].quarantined_ns < older_than_ns) {
			snprintf(path, sizeof(path), "%s/%s", dir, v[i].id);
			unlink(path);
			snprintf(path, sizeof(path), "%s/%s.json", dir, v[i].id);
			if (unlink(path) == 0)
				removed++;
		}
		vg_quarantine_meta_free(&v[i]);
	}
	free(v);
	return removed;
}
