/* dpkg.c - Debian package ownership: parsers for dpkg's .list, .md5sums and status files, and an index of them that follows merged /usr and reloads when dpkg's database changes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil/common.h"
#include "vigil/linux.h"
#include "vigil/strmap.h"

#define MAX_PATH_LEN 4095

/* ---- parsers ---- */

static void bad(vg_linux_error_fn err, void *ctx, const char *name, unsigned line, const char *reason, int *nbad)
{
	(*nbad)++;
	if (err)
		err(name ? name : "?", line, reason, ctx);
}

/* Next line of text from *pos to len: sets line and n (no newline) and advances. Returns 0 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= len)
		return 0;
	const char *s = text + *pos;
	const char *nl = memchr(s, '\n', len - *pos);
	*n = nl ? (size_t)(nl - s) : len - *pos;
	*line = s;
	*pos += *n + (nl ? 1 : 0);
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vg_dpkg_parse_list(const char *name, const char *text, size_t len, vg_dpkg_path_fn fn,
		       vg_linux_error_fn err, void *ctx)
{
	size_t pos = 0, n;
	const char *l;
	unsigned lineno = 0;
	int nbad = 0;
	char path[MAX_PATH_LEN + 1];

	while (next_line(text, len, &pos, &l, &n)) {
		lineno++;
		if (n == 0) {
			bad(err, ctx, name, lineno, "empty line", &nbad);
			continue;
		}
		if (l[0] != '/') {
			bad(err, ctx, name, lineno, "path is not absolute", &nbad);
			continue;
		}
		if (n > MAX_PATH_LEN) {
			bad(err, ctx, name, lineno, "path longer than 4095 bytes", &nbad);
			continue;
		}
		if (memchr(l, '\0', n)) {
			bad(err, ctx, name, lineno, "NUL byte in path", &nbad);
			continue;
		}
		if (n == 2 && l[1] == '.') /* "/." opens every list */
			continue;
		memcpy(path, l, n);
		path[n] = '\0';
		if (fn)
			fn(path, NULL, ctx);
	}
	return nbad;
}

int vg_dpkg_parse_md5sums(const char *name, const char *text, size_t len, vg_dpkg_path_fn fn,
			  vg_linux_error_fn err, void *ctx)
{
	size_t pos = 0, n;
	const char *l;
	unsigned lineno = 0;
	int nbad = 0;
	char path[MAX_PATH_LEN + 1];
	uint8_t md5[16];

	while (next_line(text, len, &pos, &l, &n)) {
		lineno++;
		if (n < 34) {
			bad(err, ctx, name, lineno, "line too short for \"<md5>  <path>\"", &nbad);
			continue;
		}
		int ok = 1;
		for (int i = 0; i < 16 && ok; i++) {
			int hi = hexval(l[2 * i]), lo = hexval(l[2 * i + 1]);
			ok = hi >= 0 && lo >= 0;
			if (ok)
				md5[i] = (uint8_t)(hi << 4 | lo);
		}
		if (!ok) {
			bad(err, ctx, name, lineno, "checksum is not 32 hex digits", &nbad);
			continue;
		}
		size_t p = 32;
		if (l[p] != ' ') {
			bad(err, ctx, name, lineno, "no space after the checksum", &nbad);
			continue;
		}
		while (p < n && (l[p] == ' ' || l[p] == '*'))
			p++;
		size_t rest = n - p;
		if (rest == 0) {
			bad(err, ctx, name, lineno, "no path after the checksum", &nbad);
			continue;
		}
		if (rest + 1 > MAX_PATH_LEN) {
			bad(err, ctx, name, lineno, "path longer than 4095 bytes", &nbad);
			continue;
		}
		if (memchr(l + p, '\0', rest)) {
			bad(err, ctx, name, lineno, "NUL byte in path", &nbad);
			continue;
		}
		size_t o = 0;
		if (l[p] != '/')
			path[o++] = '/';
		memcpy(path + o, l + p, rest);
		path[o + rest] = '\0';
		if (fn)
			fn(path, md5, ctx);
	}
	return nbad;
}

int vg_dpkg_parse_status(const char *name, const char *text, size_t len, vg_dpkg_pkg_fn fn,
			 vg_linux_error_fn err, void *ctx)
{
	size_t pos = 0, n;
	const char *l;
	unsigned lineno = 0;
	int nbad = 0, more = 1;
	char pkg[256] = "", ver[256] = "";
	int installed = 0;

	while (more) {
		more = next_line(text, len, &pos, &l, &n);
		if (more)
			lineno++;
		if (!more || n == 0) { /* end of a stanza */
			if (pkg[0] && installed && fn)
				fn(pkg, ver, ctx);
			pkg[0] = ver[0] = '\0';
			installed = 0;
			continue;
		}
		if (l[0] == ' ' || l[0] == '\t')
			continue; /* continuation of a multi-line field */
		const char *colon = memchr(l, ':', n);
		if (!colon || colon == l) {
			bad(err, ctx, name, lineno, "expected \"Field: value\"", &nbad);
			continue;
		}
		size_t fl = (size_t)(colon - l);
		const char *v = colon + 1;
		size_t vl = n - fl - 1;
		while (vl && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
			vl--;
		if (fl == 7 && memcmp(l, "Package", 7) == 0) {
			if (vl == 0 || vl >= sizeof(pkg) || memchr(v, '\0', vl)) {
				bad(err, ctx, name, lineno, "bad Package name", &nbad);
				continue;
			}
			memcpy(pkg, v, vl);
			pkg[vl] = '\0';
		} else if (fl == 7 && memcmp(l, "Version", 7) == 0) {
			if (vl >= sizeof(ver) || memchr(v, '\0', vl)) {
				bad(err, ctx, name, lineno, "bad Version", &nbad);
				continue;
			}
			memcpy(ver, v, vl);
			ver[vl] = '\0';
		} else if (fl == 6 && memcmp(l, "Status", 6) == 0) {
			installed = vl >= 10 && memcmp(v + vl - 10, " installed", 10) == 0;
		}
	}
	return nbad;
}

/* ---- merged /usr ---- */

size_t vg_linux_usrmerge(const char *path, char *out, size_t outlen)
{
	static const char *const tops[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
	const char *prefix = "";

	if (!outlen)
		return 0;
	for (size_t i = 0; i < sizeof(tops) / sizeof(*tops); i++) {
		size_t tl = strlen(tops[i]);
		if (strncmp(path, tops[i], tl) == 0 && (path[tl] == '/' || path[tl] == '\0')) {
			prefix = "/usr";
			break;
		}
	}
	int w = snprintf(out, outlen, "%s%s", prefix, path);
	if (w < 0)
		return 0;
	return (size_t)w < outlen ? (size_t)w : outlen - 1;
}

/* ---- the index ---- */

struct pkg {
	char *name;
	char *version;
};

struct pent {
	uint32_t pkg;     /* index into pkgs */
	uint8_t has_md5;
	uint8_t md5[16];
};

struct vg_dpkg {
	char *dir;
	vg_linux_error_fn err;
	void *ctx;
	int loaded;
	struct timespec status_mtime, info_mtime;
	struct timespec last_check; /* CLOCK_MONOTONIC */

	struct pkg *pkgs;
	size_t npkgs, pkgs_cap;
	struct vg_strmap pkg_by_name;  /* name -> index + 1 */
	struct pent *ents;
	size_t nents, ents_cap;
	struct vg_strmap paths;        /* usrmerged path -> entry index + 1 */
	struct vg_strmap sysbins;      /* file name -> malloc'd "dir:dir" */
	size_t bad_lines;
	uint32_t cur_pkg;              /* package being loaded */
	int oom;
};

static const char *const exec_dirs[] = {
	"/usr/bin", "/usr/sbin", "/usr/games", "/usr/libexec", "/usr/lib/systemd", "/usr/lib/systemd/user",
	"/usr/lib/openssh", "/usr/local/bin", "/usr/local/sbin",
};

static void clear_index(struct vg_dpkg *d)
{
	for (size_t i = 0; i < d->npkgs; i++) {
		free(d->pkgs[i].name);
		free(d->pkgs[i].version);
	}
	free(d->pkgs);
	d->pkgs = NULL;
	d->npkgs = d->pkgs_cap = 0;
	free(d->ents);
	d->ents = NULL;
	d->nents = d->ents_cap = 0;
	for (size_t i = 0; i < d->sysbins.nslots; i++)
		if (d->sysbins.slots[i].key)
			free(d->sysbins.slots[i].value);
	vg_strmap_free(&d->pkg_by_name);
	vg_strmap_free(&d->paths);
	vg_strmap_free(&d->sysbins);
	vg_strmap_init(&d->pkg_by_name, 0);
	vg_strmap_init(&d->paths, 0);
	vg_strmap_init(&d->sysbins, 0);
	d->bad_lines = 0;
	d->loaded = 0;
}

int vg_dpkg_new(const char *dir, vg_linux_error_fn err, void *ctx, struct vg_dpkg **out)
{
	struct vg_dpkg *d = calloc(1, sizeof(*d));
	if (!d)
		return VG_ENOMEM;
	d->dir = vg_strdup(dir ? dir : "/var/lib/dpkg");
	if (!d->dir) {
		free(d);
		return VG_ENOMEM;
	}
	d->err = err;
	d->ctx = ctx;
	vg_strmap_init(&d->pkg_by_name, 0);
	vg_strmap_init(&d->paths, 0);
	vg_strmap_init(&d->sysbins, 0);
	*out = d;
	return 0;
}

void vg_dpkg_free(struct vg_dpkg *d)
{
	if (!d)
		return;
	clear_index(d);
	vg_strmap_free(&d->pkg_by_name);
	vg_strmap_free(&d->paths);
	vg_strmap_free(&d->sysbins);
	free(d->dir);
	free(d);
}

static uint32_t pkg_index(struct vg_dpkg *d, const char *name, size_t n)
{
	void *v = vg_strmap_get(&d->pkg_by_name, name, n);
	if (v)
		return (uint32_t)((uintptr_t)v - 1);
	if (d->npkgs == d->pkgs_cap) {
		size_t cap = d->pkgs_cap ? d->pkgs_cap * 2 : 256;
		struct pkg *p = realloc(d->pkgs, cap * sizeof(*p));
		if (!p) {
			d->oom = 1;
			return UINT32_MAX;
		}
		d->pkgs = p;
		d->pkgs_cap = cap;
	}
	char *s = vg_strndup(name, n);
	if (!s || vg_strmap_put(&d->pkg_by_name, name, n, (void *)(uintptr_t)(d->npkgs + 1), NULL)) {
		free(s);
		d->oom = 1;
		return UINT32_MAX;
	}
	d->pkgs[d->npkgs] = (struct pkg){ s, NULL };
	return (uint32_t)d->npkgs++;
}

static void add_sysbin(struct vg_dpkg *d, const char *path, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t dl = (size_t)(slash - path);
	const char *base = slash + 1;
	int exec_dir = 0;

	if (!*base)
		return;
	for (size_t i = 0; i < sizeof(exec_dirs) / sizeof(*exec_dirs) && !exec_dir; i++)
		exec_dir = strlen(exec_dirs[i]) == dl && memcmp(exec_dirs[i], path, dl) == 0;
	if (!exec_dir)
		return;
	size_t bl = n - dl - 1;
	char *old = vg_strmap_get(&d->sysbins, base, bl);
	if (old) { /* add the folder if new */
		for (const char *p = old; *p;) {
			const char *e = strchr(p, ':');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l == dl && memcmp(p, path, dl) == 0)
				return;
			p += l + (e ? 1 : 0);
		}
	}
	size_t ol = old ? strlen(old) : 0;
	char *s = malloc(ol + dl + 2);
	if (!s) {
		d->oom = 1;
		return;
	}
	if (old) {
		memcpy(s, old, ol);
		s[ol++] = ':';
	}
	memcpy(s + ol, path, dl);
	s[ol + dl] = '\0';
	if (vg_strmap_put(&d->sysbins, base, bl, s, NULL)) {
		free(s);
		d->oom = 1;
		return;
	}
	free(old);
}

static void on_path(const char *path, const uint8_t *md5, void *ctx)
{
	struct vg_dpkg *d = ctx;
	char p[MAX_PATH_LEN + 8];
	size_t n = vg_linux_usrmerge(path, p, sizeof(p));
	void *v = vg_strmap_get(&d->paths, p, n);
	struct pent *e;

	if (v) {
		e = &d->ents[(uintptr_t)v - 1];
	} else {
		if (d->nents == d->ents_cap) {
			size_t cap = d->ents_cap ? d->ents_cap * 2 : 65536;
			struct pent *ne = realloc(d->ents, cap * sizeof(*ne));
			if (!ne) {
				d->oom = 1;
				return;
			}
			d->ents = ne;
			d->ents_cap = cap;
		}
		if (vg_strmap_put(&d->paths, p, n, (void *)(uintptr_t)(d->nents + 1), NULL)) {
			d->oom = 1;
			return;
		}
		e = &d->ents[d->nents++];
		*e = (struct pent){ d->cur_pkg, 0, { 0 } };
		if (!md5)
			add_sysbin(d, p, n);
	}
	if (md5) {
		e->pkg = d->cur_pkg; /* the checksum names the package that ships the file */
		e->has_md5 = 1;
		memcpy(e->md5, md5, 16);
	}
}

static void on_pkg(const char *package, const char *version, void *ctx)
{
	struct vg_dpkg *d = ctx;
	uint32_t i = pkg_index(d, package, strlen(package));
	if (i == UINT32_MAX || d->pkgs[i].version)
		return;
	d->pkgs[i].version = vg_strdup(version);
}

static void count_bad(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct vg_dpkg *d = ctx;
	d->bad_lines++;
	if (d->err)
		d->err(name, line, reason, d->ctx);
	else
		vg_log(VG_LOG_WARN, "%s:%u: %s", name, line, reason);
}

/* Reads a whole file into a malloc'd buffer. Returns 0 or -errno. */
static int slurp(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int rc = 0;
	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf)
		return VG_ENOMEM;
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int load_kind(struct vg_dpkg *d, const char *info, const char *suffix)
{
	DIR *dir = opendir(info);
	struct dirent *de;
	size_t sl = strlen(suffix);
	char path[4096];

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		if (n <= sl || strcmp(de->d_name + n - sl, suffix) != 0)
			continue;
		size_t pl = n - sl;
		const char *colon = memchr(de->d_name, ':', pl); /* "libc6:amd64.list" */
		if (colon)
			pl = (size_t)(colon - de->d_name);
		d->cur_pkg = pkg_index(d, de->d_name, pl);
		if (d->cur_pkg == UINT32_MAX)
			break;
		snprintf(path, sizeof(path), "%s/%s", info, de->d_name);
		char *text;
		size_t len;
		if (slurp(path, &text, &len) != 0)
			continue; /* removed while we read: the next refresh sees it */
		if (suffix[1] == 'l')
			vg_dpkg_parse_list(path, text, len, on_path, count_bad, d);
		else
			vg_dpkg_parse_md5sums(path, text, len, on_path, count_bad, d);
		free(text);
		if (d->oom)
			break;
	}
	closedir(dir);
	return d->oom ? VG_ENOMEM : 0;
}

static int db_mtimes(struct vg_dpkg *d, struct timespec *st_m, struct timespec *info_m)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/status", d->dir);
	if (stat(path, &st) != 0)
		return -errno;
	*st_m = st.st_mtim;
	snprintf(path, sizeof(path), "%s/info", d->dir);
	if (stat(path, &st) != 0)
		return -errno;
	*info_m = st.st_mtim;
	return 0;
}

static int load(struct vg_dpkg *d)
{
	char path[4096];
	struct timespec sm, im;
	int rc = db_mtimes(d, &sm, &im);

	clear_index(d);
	d->oom = 0;
	if (rc)
		return rc;
	/* packages first, so a list of a package missing from status still loads */
	snprintf(path, sizeof(path), "%s/status", d->dir);
	char *text;
	size_t len;
	rc = slurp(path, &text, &len);
	if (rc)
		return rc;
	vg_dpkg_parse_status(path, text, len, on_pkg, count_bad, d);
	free(text);
	snprintf(path, sizeof(path), "%s/info", d->dir);
	rc = load_kind(d, path, ".list");
	if (!rc)
		rc = load_kind(d, path, ".md5sums");
	if (rc) {
		clear_index(d);
		return rc;
	}
	d->status_mtime = sm;
	d->info_mtime = im;
	d->loaded = 1;
	return 0;
}

static int ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

int vg_dpkg_refresh(struct vg_dpkg *d)
{
	struct timespec sm, im;
	clock_gettime(CLOCK_MONOTONIC, &d->last_check);
	if (d->loaded) {
		int rc = db_mtimes(d, &sm, &im);
		if (rc)
			return rc;
		if (ts_eq(sm, d->status_mtime) && ts_eq(im, d->info_mtime))
			return 0;
	}
	return load(d);
}

/* Loads on first use and re-checks the database at most once a second. */
static int ensure(struct vg_dpkg *d)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!d->loaded || now.tv_sec > d->last_check.tv_sec + 1 ||
	    (now.tv_sec == d->last_check.tv_sec + 1 && now.tv_nsec >= d->last_check.tv_nsec))
		vg_dpkg_refresh(d);
	return d->loaded;
}

static struct pent *lookup(struct vg_dpkg *d, const char *path)
{
	char p[MAX_PATH_LEN + 8];
	if (!path || path[0] != '/' || !ensure(d))
		return NULL;
	size_t n = vg_linux_usrmerge(path, p, sizeof(p));
	void *v = vg_strmap_get(&d->paths, p, n);
	return v ? &d->ents[(uintptr_t)v - 1] : NULL;
}

const char *vg_dpkg_owner(struct vg_dpkg *d, const char *path)
{
	struct pent *e = lookup(d, path);
	return e ? d->pkgs[e->pkg].name : NULL;
}

const char *vg_dpkg_version(struct vg_dpkg *d, const char *package)
{
	if (!package || !ensure(d))
		return NULL;
	void *v = vg_strmap_get(&d->pkg_by_name, package, strlen(package));
	return v ? d->pkgs[(uintptr_t)v - 1].version : NULL;
}

enum vg_dpkg_verdict vg_dpkg_verify(struct vg_dpkg *d, const char *path, const uint8_t md5[16])
{
	struct pent *e = lookup(d, path);
	if (!e || !e->has_md5)
		return VG_DPKG_UNKNOWN;
	return memcmp(e->md5, md5, 16) == 0 ? VG_DPKG_MATCH : VG_DPKG_MODIFIED;
}

const char *vg_dpkg_verdict_name(enum vg_dpkg_verdict v)
{
	return v == VG_DPKG_MATCH ? "true" : v == VG_DPKG_MODIFIED ? "false" : "";
}

size_t vg_dpkg_sysbin_dirs(struct vg_dpkg *d, const char *name, char *buf, size_t buflen)
{
	if (buflen)
		buf[0] = '\0';
	if (!name || !*name || !ensure(d))
		return 0;
	const char *dirs = vg_strmap_get(&d->sysbins, name, strlen(name));
	if (!dirs)
		return 0;
	if (buflen)
		snprintf(buf, buflen, "%s", dirs);
	size_t n = 1;
	for (const char *p = dirs; *p; p++)
		n += *p == ':';
	return n;
}

void vg_dpkg_stats(struct vg_dpkg *d, size_t *packages, size_t *paths, size_t *bad_lines)
{
	ensure(d);
	if (packages)
		*packages = d->npkgs;
	if (paths)
		*paths = d->nents;
	if (bad_lines)
		*bad_lines = d->bad_lines;
}
