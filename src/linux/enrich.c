/* enrich.c - adds Linux host facts to eBPF events: hashes, package ownership and verification, ELF facts, path classes, system-binary and kernel-thread masquerades, and the persistence a written file installs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/common.h"
#include "vigil/linux.h"
#include "vigil/persist_scan.h"

#define PERSIST_READ_MAX (256u << 10) /* persistence files are small; bigger ones are read this far */

enum {
	F_HASHES, F_PACKAGE, F_PACKAGE_VERIFIED, F_IMAGE_CLASS, F_IMAGE_UW, F_SYSBIN, F_SYSBIN_DIRS,
	F_SYSBIN_WRONG, F_KTHREAD, F_COMM_UNLIKE, F_ARGV0_UNLIKE, F_ELF_CLASS, F_ELF_MACHINE,
	F_ELF_TYPE, F_ELF_LINKAGE, F_ELF_INTERP, F_ELF_SECTIONS, F_ELF_STRIPPED, F_ENTROPY, F_ELF_ERROR,
	F_TARGET_CLASS, F_TARGET_UW, F_TARGET_HASHES, F_TARGET_PACKAGE, F_TARGET_VERIFIED,
	F_HASH_ERROR, F_OTHER_NS, F_FILE_SIZE,
	/* raw fields read */
	R_COMM, R_ARGV0, R_NEWNAME, R_TARGET, R_MODULE,
	F__COUNT
};

static const char *const names[F__COUNT] = {
	"Hashes", "Package", "PackageVerified", "VigilImagePathClass", "VigilImageUserWritable",
	"VigilSysBin", "VigilSysBinDirs", "VigilSysBinWrongPath", "VigilKernelThreadName",
	"VigilCommUnlikeImage", "VigilArgv0UnlikeImage", "VigilElfClass", "VigilElfMachine",
	"VigilElfType", "VigilElfLinkage", "VigilElfInterpreter", "VigilElfSections", "VigilElfStripped",
	"VigilFileEntropy", "VigilElfError", "VigilTargetPathClass", "VigilTargetUserWritable",
	"VigilTargetHashes", "VigilTargetPackage", "VigilTargetPackageVerified", "VigilHashError",
	"VigilOtherMountNs", "VigilFileSize",
	"Comm", "Argv0", "NewName", "TargetFilename", "ModulePath",
};

struct vg_linux_facts {
	struct vg_dpkg *dpkg;
	struct vg_hashcache *cache;
	uint32_t id[F__COUNT];
	uint64_t self_mntns;  /* inode of our mount namespace */
	char host[256];       /* this machine's name */
	int recorded;         /* replayed events: never local */
};

int vg_linux_facts_new(const struct vg_linux_facts_config *cfg, struct vg_linux_facts **out)
{
	struct vg_linux_facts_config def = { 0 };
	struct vg_linux_facts *f = calloc(1, sizeof(*f));
	struct stat st;

	if (!cfg)
		cfg = &def;
	if (!f)
		return VG_ENOMEM;
	if (vg_dpkg_new(cfg->dpkg_dir, cfg->on_error, cfg->ctx, &f->dpkg) ||
	    vg_hashcache_new(cfg->cache_entries, cfg->max_hash_bytes, &f->cache))
		goto oom;
	for (int i = 0; i < F__COUNT; i++)
		if (!(f->id[i] = vg_field_intern(names[i], strlen(names[i]))))
			goto oom;
	if (cfg->hostname)
		snprintf(f->host, sizeof(f->host), "%s", cfg->hostname);
	else if (gethostname(f->host, sizeof(f->host) - 1) != 0)
		f->host[0] = '\0';
	f->recorded = cfg->recorded;
	if (stat("/proc/self/ns/mnt", &st) == 0)
		f->self_mntns = (uint64_t)st.st_ino;
	*out = f;
	return 0;
oom:
	vg_linux_facts_free(f);
	return VG_ENOMEM;
}

void vg_linux_facts_free(struct vg_linux_facts *f)
{
	if (!f)
		return;
	vg_dpkg_free(f->dpkg);
	vg_hashcache_free(f->cache);
	free(f);
}

struct vg_dpkg *vg_linux_facts_dpkg(struct vg_linux_facts *f)
{
	return f->dpkg;
}

size_t vg_linux_sysbin_name(struct vg_linux_facts *f, const char *name, char *buf, size_t buflen)
{
	return vg_dpkg_sysbin_dirs(f->dpkg, name, buf, buflen);
}

struct vg_hashcache *vg_linux_facts_hashcache(struct vg_linux_facts *f)
{
	return f->cache;
}

/* ---- field helpers ---- */

static int add(struct vg_linux_facts *f, struct vg_event *ev, int k, const char *v)
{
	if (!v)
		return 0;
	return vg_event_add_field_id(ev, f->id[k], v, strlen(v)) ? 0 : VG_ENOMEM;
}

static int add_bool(struct vg_linux_facts *f, struct vg_event *ev, int k, int b)
{
	return add(f, ev, k, b ? "true" : "false");
}

static int add_num(struct vg_linux_facts *f, struct vg_event *ev, int k, unsigned long long n)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", n);
	return add(f, ev, k, buf);
}

static const char *raw(struct vg_linux_facts *f, const struct vg_event *ev, int k)
{
	const struct vg_field *fl = vg_event_field(ev, f->id[k]);
	return fl && fl->len ? fl->value : NULL;
}

/* Sets a contract field the sensor leaves empty (or omits); a value it gave is kept. */
static int set_contract(struct vg_linux_facts *f, struct vg_event *ev, int k, const char *v)
{
	for (uint32_t i = 0; i < ev->nfields; i++) {
		struct vg_field *fl = &ev->fields[i];
		if (fl->id != f->id[k])
			continue;
		if (fl->len)
			return 0;
		size_t n = strlen(v);
		char *d = vg_event_strdup(ev, v, n);
		if (!d)
			return VG_ENOMEM;
		fl->value = d;
		fl->len = (uint32_t)n;
		return 0;
	}
	return add(f, ev, k, v);
}

/* ---- facts ---- */

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The image path without a " (deleted)" suffix, in buf. */
static const char *clean_image(const char *image, char *buf, size_t len)
{
	size_t n = strlen(image);
	if (n > 10 && strcmp(image + n - 10, " (deleted)") == 0)
		n -= 10;
	if (n >= len)
		n = len - 1;
	memcpy(buf, image, n);
	buf[n] = '\0';
	return buf;
}

/* Is process pid in another mount namespace than ours? 0 when unknown (gone). */
static int other_mntns(struct vg_linux_facts *f, uint32_t pid)
{
	char p[64];
	struct stat st;
	if (!pid || !f->self_mntns)
		return 0;
	snprintf(p, sizeof(p), "/proc/%u/ns/mnt", pid);
	return stat(p, &st) == 0 && (uint64_t)st.st_ino != f->self_mntns;
}

/* name (argv0 or comm) names the image: same file name, a truncated comm, or a symlink to it. */
static int names_image(const char *name, const char *image)
{
	const char *nb = basename_of(name), *ib = basename_of(image);
	if (nb == name && *nb == '-') /* login shells: argv[0] "-bash" */
		nb++;
	size_t nl = strlen(nb), il = strlen(ib);
	if (!nl)
		return 1;
	if (strcmp(nb, ib) == 0 || (nl >= 15 && strncmp(ib, nb, 15) == 0) ||
	    (nl < il && strncmp(ib, nb, nl) == 0 && (ib[nl] == '.' || ib[nl] == '-' || (ib[nl] >= '0' && ib[nl] <= '9'))))
		return 1; /* "python3" for python3.11 */
	/* a symlink or alternative: sh -> dash, vi -> vim.basic */
	static const char *const dirs[] = { "/usr/bin/", "/usr/sbin/", "/usr/local/bin/" };
	char cand[PATH_MAX], real[PATH_MAX];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs) + 1; i++) {
		if (i == sizeof(dirs) / sizeof(*dirs)) {
			if (name[0] != '/')
				break;
			snprintf(cand, sizeof(cand), "%s", name);
		} else {
			snprintf(cand, sizeof(cand), "%s%s", dirs[i], nb);
		}
		if (realpath(cand, real) && strcmp(real, image) == 0)
			return 1;
	}
	return 0;
}

static int add_elf(struct vg_linux_facts *f, struct vg_event *ev, const struct vg_file_facts *ff)
{
	int rc = 0;
	char buf[32];

	snprintf(buf, sizeof(buf), "%.2f", ff->entropy);
	rc |= add(f, ev, F_ENTROPY, buf);
	rc |= add_num(f, ev, F_FILE_SIZE, ff->size);
	if (!ff->is_elf)
		return rc;
	if (ff->elf_rc) {
		return rc | add(f, ev, F_ELF_ERROR, ff->elf_err);
	}
	rc |= add(f, ev, F_ELF_CLASS, ff->elf.elf_class == 64 ? "64" : "32");
	rc |= add(f, ev, F_ELF_MACHINE, ff->elf.machine_name);
	rc |= add(f, ev, F_ELF_TYPE, ff->elf.type_name);
	rc |= add(f, ev, F_ELF_LINKAGE, ff->elf.linkage);
	if (ff->elf.interpreter[0])
		rc |= add(f, ev, F_ELF_INTERP, ff->elf.interpreter);
	rc |= add_num(f, ev, F_ELF_SECTIONS, ff->elf.nsections);
	rc |= add_bool(f, ev, F_ELF_STRIPPED, ff->elf.stripped);
	return rc;
}

static int hash_error(struct vg_linux_facts *f, struct vg_event *ev, const char *path, int err)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%.400s: %s", path, vg_strerror(err));
	return add(f, ev, F_HASH_ERROR, buf);
}

static int enrich_image(struct vg_linux_facts *f, struct vg_event *ev)
{
	char img[PATH_MAX], dirs[1024], hashes[128];
	const char *image = ev->proc.image;
	int rc = 0;

	if (!image)
		return 0;
	clean_image(image, img, sizeof(img));
	int other_ns = other_mntns(f, ev->proc.pid);
	if (other_ns)
		rc |= add_bool(f, ev, F_OTHER_NS, 1);

	/* hashes: /proc/<pid>/exe is the very file executed (deleted, memfd, other namespace) */
	struct vg_file_facts ff;
	int hrc = -ENOENT;
	if (ev->proc.pid) {
		char exe[64];
		snprintf(exe, sizeof(exe), "/proc/%u/exe", ev->proc.pid);
		hrc = vg_hashcache_path(f->cache, exe, 0, &ff, NULL);
	}
	if (hrc && img[0] == '/' && vg_linux_path_class(img) != VG_LPATH_MEMFD)
		hrc = vg_hashcache_path(f->cache, img, (pid_t)ev->proc.pid, &ff, NULL);
	const char *pkg = other_ns ? NULL : vg_dpkg_owner(f->dpkg, img);
	if (!hrc) {
		snprintf(hashes, sizeof(hashes), "SHA256=%s,MD5=%s", ff.sha256, ff.md5);
		rc |= set_contract(f, ev, F_HASHES, hashes);
		ev->proc.hashes = raw(f, ev, F_HASHES);
		rc |= add_elf(f, ev, &ff);
	} else {
		rc |= hash_error(f, ev, img, hrc);
	}
	rc |= set_contract(f, ev, F_PACKAGE, pkg ? pkg : "");
	if (pkg && !hrc)
		rc |= set_contract(f, ev, F_PACKAGE_VERIFIED, vg_dpkg_verdict_name(vg_dpkg_verify(f->dpkg, img, ff.md5_raw)));

	/* a system binary's name outside its folders */
	const char *base = basename_of(img);
	size_t nd = vg_dpkg_sysbin_dirs(f->dpkg, base, dirs, sizeof(dirs));
	rc |= add_bool(f, ev, F_SYSBIN, nd > 0);
	if (nd && img[0] == '/') { /* a bare name says nothing about the folder */
		char udir[PATH_MAX];
		size_t dl = (size_t)(base - img);
		while (dl > 1 && img[dl - 1] == '/')
			dl--;
		char d[PATH_MAX];
		memcpy(d, img, dl);
		d[dl] = '\0';
		size_t ul = vg_linux_usrmerge(d, udir, sizeof(udir));
		int ok = 0;
		for (const char *p = dirs; *p && !ok;) {
			const char *e = strchr(p, ':');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			ok = l == ul && memcmp(p, udir, l) == 0;
			p += l + (e ? 1 : 0);
		}
		rc |= add(f, ev, F_SYSBIN_DIRS, dirs);
		rc |= add_bool(f, ev, F_SYSBIN_WRONG, !ok);
	}

	/* names the process shows against the file it runs */
	const char *comm = raw(f, ev, R_COMM), *argv0 = raw(f, ev, R_ARGV0);
	rc |= add_bool(f, ev, F_KTHREAD, vg_linux_kthread_name(comm) || vg_linux_kthread_name(argv0));
	if (img[0] == '/' && vg_linux_path_class(img) != VG_LPATH_MEMFD) {
		if (comm)
			rc |= add_bool(f, ev, F_COMM_UNLIKE, !names_image(comm, img));
		if (argv0)
			rc |= add_bool(f, ev, F_ARGV0_UNLIKE, !names_image(argv0, img));
	}
	return rc;
}

struct pick {
	char first[PATH_MAX];
	char writable[PATH_MAX];
};

static void pick_target(const char *path, void *ctx)
{
	struct pick *p = ctx;
	if (!p->first[0])
		snprintf(p->first, sizeof(p->first), "%s", path);
	if (!p->writable[0] && vg_linux_path_user_writable(vg_linux_path_class(path)))
		snprintf(p->writable, sizeof(p->writable), "%s", path);
}

/* Opens path as process pid sees it (see vg_hashcache_path). */
static int open_as(const char *path, uint32_t pid)
{
	char buf[PATH_MAX + 32];
	if (pid) {
		snprintf(buf, sizeof(buf), "/proc/%u/root%s", pid, path);
		int fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0)
			return fd;
		snprintf(buf, sizeof(buf), "/proc/%u", pid);
		if (access(buf, F_OK) == 0)
			return -1;
	}
	return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
}

static int enrich_persist(struct vg_linux_facts *f, struct vg_event *ev, const char *path, int local)
{
	int system_cron;
	enum vg_persist_kind k = vg_linux_persist_kind(path, &system_cron);
	struct pick *p;

	if (k == VG_PERSIST_NONE || ev->persist.kind)
		return 0;
	ev->persist.kind = k;
	ev->persist.location = path;
	/* run-parts folders hold scripts, not crontabs: the file itself is the program */
	int script = k == VG_PERSIST_CRON && !system_cron && strncmp(path, "/var/spool/", 11) != 0;
	if (!local)
		return 0;
	int fd = open_as(path, ev->proc.pid);
	if (fd < 0)
		return 0; /* not written yet or gone: the kind is still known */
	struct stat st;
	char *text = NULL;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		size_t want = st.st_size > (off_t)PERSIST_READ_MAX ? PERSIST_READ_MAX : (size_t)st.st_size;
		text = malloc(want + 1);
		if (text)
			n = pread(fd, text, want, 0);
	}
	close(fd);
	if (n < 0 || !text) {
		free(text);
		return text ? 0 : VG_ENOMEM;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		free(text);
		return VG_ENOMEM;
	}
	char home[PATH_MAX] = "";
	if (strncmp(path, "/root/", 6) == 0) {
		snprintf(home, sizeof(home), "/root");
	} else if (strncmp(path, "/home/", 6) == 0) {
		const char *e = strchr(path + 6, '/');
		if (e)
			snprintf(home, sizeof(home), "%.*s", (int)(e - path), path);
	}
	vg_persist_scan(script ? VG_PERSIST_SHELL_RC : k, system_cron, text, (size_t)n, home[0] ? home : NULL,
			pick_target, p);
	free(text);
	const char *t = p->writable[0] ? p->writable : p->first[0] ? p->first : NULL;
	int rc = 0;
	if (t && !(ev->persist.target = vg_event_strdup(ev, t, strlen(t))))
		rc = VG_ENOMEM;
	free(p);
	return rc;
}

/* Hashes a written file when it looks executable (x bit, ELF or #! header). */
static int enrich_written(struct vg_linux_facts *f, struct vg_event *ev, const char *path)
{
	char hashes[128];
	int fd = open_as(path, ev->proc.pid);
	struct stat st;
	unsigned char head[4];
	int rc = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	ssize_t n = pread(fd, head, sizeof(head), 0);
	int exec_like = (st.st_mode & 0111) || (n >= 4 && memcmp(head, "\177ELF", 4) == 0) ||
			(n >= 2 && head[0] == '#' && head[1] == '!');
	if (exec_like) {
		struct vg_file_facts ff;
		int hrc = vg_hashcache_fd(f->cache, fd, &ff, NULL);
		if (!hrc) {
			snprintf(hashes, sizeof(hashes), "SHA256=%s,MD5=%s", ff.sha256, ff.md5);
			rc |= add(f, ev, F_TARGET_HASHES, hashes);
			rc |= add_elf(f, ev, &ff);
			const char *pkg = other_mntns(f, ev->proc.pid) ? NULL : vg_dpkg_owner(f->dpkg, path);
			if (pkg) {
				rc |= add(f, ev, F_TARGET_PACKAGE, pkg);
				rc |= add(f, ev, F_TARGET_VERIFIED,
					  vg_dpkg_verdict_name(vg_dpkg_verify(f->dpkg, path, ff.md5_raw)));
			}
		} else if (n > 0) {
			rc |= hash_error(f, ev, path, hrc);
		}
	}
	close(fd);
	return rc;
}

int vg_linux_enrich(struct vg_linux_facts *f, struct vg_event *ev)
{
	int rc = 0;

	if (!f || !ev || ev->platform != VG_PLATFORM_LINUX)
		return 0;
	/* a recorded event (vigild's record setting) carries the facts made live: the files may be gone */
	if (vg_event_field(ev, f->id[F_IMAGE_CLASS]) || vg_event_field(ev, f->id[F_TARGET_CLASS]) ||
	    vg_event_field(ev, f->id[F_KTHREAD]))
		return 0;
	if (ev->proc.image) {
		enum vg_linux_path_class c = vg_linux_path_class(ev->proc.image);
		rc |= add(f, ev, F_IMAGE_CLASS, vg_linux_path_class_name(c));
		rc |= add_bool(f, ev, F_IMAGE_UW, vg_linux_path_user_writable(c));
	}
	/* files named by another machine's events are not ours to read */
	int local = !f->recorded && (!ev->host || !ev->host[0] || strcmp(ev->host, f->host) == 0);
	switch (ev->type) {
	case VG_EV_PROCESS_START:
		if (local) {
			rc |= enrich_image(f, ev);
		} else {
			const char *comm = raw(f, ev, R_COMM), *argv0 = raw(f, ev, R_ARGV0);
			rc |= add_bool(f, ev, F_KTHREAD, vg_linux_kthread_name(comm) || vg_linux_kthread_name(argv0));
		}
		break;
	case VG_EV_PROCESS_RENAME:
		rc |= add_bool(f, ev, F_KTHREAD, vg_linux_kthread_name(raw(f, ev, R_NEWNAME)));
		break;
	case VG_EV_FILE_CREATE:
	case VG_EV_FILE_WRITE:
	case VG_EV_FILE_RENAME:
	case VG_EV_FILE_CHMOD:
	case VG_EV_DRIVER_LOAD: {
		const char *path = ev->file.path;
		if (!path)
			path = raw(f, ev, ev->type == VG_EV_DRIVER_LOAD ? R_MODULE : R_TARGET);
		if (!path || path[0] != '/')
			break;
		enum vg_linux_path_class c = vg_linux_path_class(path);
		rc |= add(f, ev, F_TARGET_CLASS, vg_linux_path_class_name(c));
		rc |= add_bool(f, ev, F_TARGET_UW, vg_linux_path_user_writable(c));
		if (ev->type != VG_EV_DRIVER_LOAD && ev->type != VG_EV_FILE_CHMOD)
			rc |= enrich_persist(f, ev, path, local);
		if (local)
			rc |= enrich_written(f, ev, path);
		break;
	}
	default:
		break;
	}
	return rc ? VG_ENOMEM : 0;
}
