/* linux.h - Linux host facts: Debian package ownership and verification, a file hash cache, ELF summaries, path classes, system binary names, persistence locations, and the enrichment of eBPF events with them. */
#ifndef VIGIL_LINUX_H
#define VIGIL_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/event.h"

/* Called for each bad line of an input: input name, 1-based line, reason. */
typedef void (*vg_linux_error_fn)(const char *name, unsigned line, const char *reason, void *ctx);

/* ---- dpkg database parsers (bytes in, callbacks out, no I/O) ---- */

/* One path of a .list file (md5 NULL) or of a .md5sums file (md5 = 16 bytes). path is absolute, NUL-terminated. */
typedef void (*vg_dpkg_path_fn)(const char *path, const uint8_t *md5, void *ctx);
/* One installed package of the status file. */
typedef void (*vg_dpkg_pkg_fn)(const char *package, const char *version, void *ctx);

/*
 * Parses a dpkg info/<pkg>.list file: one absolute path per line ("/." is
 * skipped). Bad lines (empty, relative path, NUL byte, over 4095 bytes) are
 * reported to err (may be NULL) with name and 1-based line and skipped; the
 * rest is processed. Returns the number of bad lines (0 = all good).
 */
int vg_dpkg_parse_list(const char *name, const char *text, size_t len, vg_dpkg_path_fn fn,
		       vg_linux_error_fn err, void *ctx);
/* Parses a .md5sums file: "<32 hex>  <path relative to />" lines. Same error handling and return. */
int vg_dpkg_parse_md5sums(const char *name, const char *text, size_t len, vg_dpkg_path_fn fn,
			  vg_linux_error_fn err, void *ctx);
/*
 * Parses /var/lib/dpkg/status (RFC 822 style stanzas) and reports packages
 * whose Status ends in "installed" with their Version. Same error handling.
 */
int vg_dpkg_parse_status(const char *name, const char *text, size_t len, vg_dpkg_pkg_fn fn,
			 vg_linux_error_fn err, void *ctx);

/* ---- the dpkg index ---- */

struct vg_dpkg;

enum vg_dpkg_verdict {
	VG_DPKG_UNKNOWN = 0, /* no package records a checksum for this path */
	VG_DPKG_MATCH,       /* the file's MD5 is the one its package recorded */
	VG_DPKG_MODIFIED,    /* a package recorded another MD5: the file was changed */
};

/*
 * Creates an index of the dpkg database under dir (NULL = /var/lib/dpkg).
 * The database is read on first use and re-read when the status file or the
 * info folder changes (mtime, checked at most once a second, or on
 * vg_dpkg_refresh). err (may be NULL) receives bad lines. Returns 0 or VG_ENOMEM.
 */
int vg_dpkg_new(const char *dir, vg_linux_error_fn err, void *ctx, struct vg_dpkg **out);
void vg_dpkg_free(struct vg_dpkg *d); /* accepts NULL */
/* Re-reads the database now if it changed since it was read. Returns 0, or -errno when it cannot be read. */
int vg_dpkg_refresh(struct vg_dpkg *d);
/*
 * The package that installed path (absolute, as the kernel reports it;
 * merged-/usr aliases such as /usr/bin/bash vs /bin/bash are the same file).
 * Returns the package name (owned by the index, valid until the next
 * refresh) or NULL when no package owns it.
 */
const char *vg_dpkg_owner(struct vg_dpkg *d, const char *path);
/* The installed version of a package, or NULL. Same lifetime. */
const char *vg_dpkg_version(struct vg_dpkg *d, const char *package);
/* Compares a file's MD5 (16 bytes) with the checksum its package recorded. */
enum vg_dpkg_verdict vg_dpkg_verify(struct vg_dpkg *d, const char *path, const uint8_t md5[16]);
const char *vg_dpkg_verdict_name(enum vg_dpkg_verdict v); /* "true", "false", "" */
/*
 * The folders a packaged program of this file name lives in (executable
 * folders: /usr/bin, /usr/sbin, /usr/games, /usr/libexec, /usr/lib/systemd...,
 * merged-/usr aliases folded into the /usr form), joined by ':' into buf.
 * Returns the number of folders (0 = not a system binary name).
 */
size_t vg_dpkg_sysbin_dirs(struct vg_dpkg *d, const char *name, char *buf, size_t buflen);
/* Counts of what the index holds (after loading it). */
void vg_dpkg_stats(struct vg_dpkg *d, size_t *packages, size_t *paths, size_t *bad_lines);

/* Folds a merged-/usr alias to its /usr form ("/bin/x" -> "/usr/bin/x"). Writes at most outlen-1 bytes; returns the length. */
size_t vg_linux_usrmerge(const char *path, char *out, size_t outlen);

/* ---- ELF summary (bytes in, no I/O) ---- */

struct vg_elf_info {
	int elf_class;          /* 32 or 64 */
	int big_endian;
	unsigned machine;       /* e_machine */
	const char *machine_name; /* "x86_64", "aarch64"... or "other" */
	const char *type_name;  /* "rel", "exec", "dyn", "core", "other" */
	const char *linkage;    /* "static", "dynamic", "pie", "static-pie", "shared", "none" */
	char interpreter[256];  /* PT_INTERP, "" when none */
	size_t nsections;
	int stripped;           /* no .symtab */
	double entropy;         /* Shannon entropy of the bytes, bits per byte (0..8) */
};

/*
 * Summarizes an ELF file held in memory. Returns 0, VG_EFORMAT when the data
 * is not ELF, VG_ETRUNC or VG_EPARSE when it is damaged; then err (if not
 * NULL) says what and at which offset. Never reads outside data[0..len).
 */
int vg_elf_facts(const uint8_t *data, size_t len, struct vg_elf_info *out, char *err, size_t errlen);
/* Shannon entropy of bytes, in bits per byte (0 for empty input). */
double vg_entropy(const uint8_t *data, size_t len);

/* ---- file hashes, cached by (device, inode, mtime, size) ---- */

struct vg_file_facts {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	char sha256[65];        /* lower-case hex */
	char md5[33];
	uint8_t md5_raw[16];
	double entropy;
	int is_elf;             /* starts with \x7fELF */
	int is_script;          /* starts with #! */
	int elf_rc;             /* vg_elf_facts result when is_elf */
	char elf_err[96];
	struct vg_elf_info elf;
};

struct vg_hashcache;

/*
 * Creates a cache of at most max_entries files (0 = 4096) that hashes files
 * up to max_bytes (0 = 64 MiB); bigger files are not read (VG_ELIMIT).
 * Returns 0 or VG_ENOMEM.
 */
int vg_hashcache_new(size_t max_entries, uint64_t max_bytes, struct vg_hashcache **out);
void vg_hashcache_free(struct vg_hashcache *c); /* accepts NULL */
/*
 * Facts of the regular file open on fd: from the cache when its (dev, ino,
 * mtime, size) was seen, else read through fd (up to the size cap), hashed
 * and remembered. *cached (may be NULL) says which. Returns 0, -errno,
 * VG_ELIMIT (too big) or VG_EINVAL (not a regular file).
 */
int vg_hashcache_fd(struct vg_hashcache *c, int fd, struct vg_file_facts *out, int *cached);
/*
 * Same for a path; when pid > 0 the path is the one process pid sees and is
 * opened through /proc/<pid>/root (its mount namespace), falling back to the
 * path itself when that process is gone.
 */
int vg_hashcache_path(struct vg_hashcache *c, const char *path, pid_t pid, struct vg_file_facts *out,
		      int *cached);
void vg_hashcache_stats(const struct vg_hashcache *c, uint64_t *hits, uint64_t *misses, size_t *entries);

/* ---- path facts ---- */

enum vg_linux_path_class {
	VG_LPATH_OTHER = 0,
	VG_LPATH_SYSTEM,   /* package folders: /usr (not /usr/local), /bin, /sbin, /lib*, /etc, /boot */
	VG_LPATH_TEMP,     /* /tmp, /var/tmp */
	VG_LPATH_SHM,      /* /dev/shm */
	VG_LPATH_HOME,     /* /home/<u>, /root */
	VG_LPATH_RUN_USER, /* /run/user/<uid> */
	VG_LPATH_HIDDEN,   /* a hidden (dot) folder or file elsewhere */
	VG_LPATH_MEMFD,    /* "/memfd:name" or "memfd:name" */
	VG_LPATH_DELETED,  /* "... (deleted)": the file was unlinked */
};

enum vg_linux_path_class vg_linux_path_class(const char *path);
const char *vg_linux_path_class_name(enum vg_linux_path_class c);
/* 1 for every class but system and other. */
int vg_linux_path_user_writable(enum vg_linux_path_class c);
/* 1 when name looks like a kernel thread's: "[kworker/0:1]", "kthreadd", "ksoftirqd/0"... */
int vg_linux_kthread_name(const char *name);
/*
 * The persistence mechanism a file path is (cron, systemd, shell_rc,
 * ld_preload, xdg_autostart, ssh_keys) or VG_PERSIST_NONE. *system_cron is
 * set to 1 for system crontabs (with a user field) when not NULL.
 */
enum vg_persist_kind vg_linux_persist_kind(const char *path, int *system_cron);

/* ---- event enrichment ---- */

struct vg_linux_facts_config {
	const char *dpkg_dir;      /* NULL = /var/lib/dpkg */
	size_t cache_entries;      /* 0 = 4096 */
	uint64_t max_hash_bytes;   /* 0 = 64 MiB */
	vg_linux_error_fn on_error;/* bad dpkg lines; NULL = vg_log warnings */
	void *ctx;
	const char *hostname;      /* this machine's name as events carry it; NULL = gethostname() */
	int recorded;              /* the events are a replay (vigil hunt, rules test): treat every
	                              event as another machine's, read no file, whatever its host */
};

struct vg_linux_facts;

/* Creates the host facts (cfg may be NULL). Returns 0 or VG_ENOMEM. */
int vg_linux_facts_new(const struct vg_linux_facts_config *cfg, struct vg_linux_facts **out);
void vg_linux_facts_free(struct vg_linux_facts *f); /* accepts NULL */
struct vg_dpkg *vg_linux_facts_dpkg(struct vg_linux_facts *f);
/* The folders a packaged program named name lives in (vg_dpkg_sysbin_dirs on the facts' index). */
size_t vg_linux_sysbin_name(struct vg_linux_facts *f, const char *name, char *buf, size_t buflen);
struct vg_hashcache *vg_linux_facts_hashcache(struct vg_linux_facts *f);

/*
 * Adds host facts to a Linux event (ev->platform == VG_PLATFORM_LINUX; other
 * events are left alone): Hashes, Package, PackageVerified and ELF facts of
 * executed images and of written executables, path classes, system-binary
 * and kernel-thread masquerades, comm/argv0 unlike the image, and the
 * persistence kind and target of file events (ev->persist). docs/linux-host.md
 * lists the fields. Files that cannot be read leave their fields out.
 * Events whose host is set and is not this machine (a replay of another
 * machine's events) get only the facts that need no file: path classes,
 * kernel-thread names, persistence kind. Not thread-safe: one thread
 * enriches (the hash cache and the dpkg index are shared state).
 * Returns 0 or VG_ENOMEM.
 */
int vg_linux_enrich(struct vg_linux_facts *f, struct vg_event *ev);

#endif /* VIGIL_LINUX_H */
