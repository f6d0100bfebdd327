/* test_linux_dpkg.c - Debian package facts on this machine: bash owned and verified across merged /usr, copies and modified files, system binary folders, dpkg file parsers with bad lines, reload when the database changes. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "vigil/linux.h"

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	return system(cmd);
}

TEST(linux_dpkg_bash_owned_and_verified)
{
	struct vg_dpkg *d;
	struct vg_hashcache *c;
	struct vg_file_facts ff;

	ASSERT_EQ(vg_dpkg_new(NULL, NULL, NULL, &d), 0);
	ASSERT_EQ(vg_hashcache_new(0, 0, &c), 0);
	/* the kernel says /usr/bin/bash, dpkg recorded /bin/bash */
	ASSERT_STR_EQ(vg_dpkg_owner(d, "/usr/bin/bash"), "bash");
	ASSERT_STR_EQ(vg_dpkg_owner(d, "/bin/bash"), "bash");
	ASSERT_TRUE(vg_dpkg_version(d, "bash") != NULL);
	ASSERT_EQ(vg_hashcache_path(c, "/usr/bin/bash", 0, &ff, NULL), 0);
	ASSERT_EQ(vg_dpkg_verify(d, "/usr/bin/bash", ff.md5_raw), VG_DPKG_MATCH);
	ASSERT_STR_EQ(vg_dpkg_verdict_name(VG_DPKG_MATCH), "true");
	/* /lib -> /usr/lib too */
	ASSERT_TRUE(vg_dpkg_owner(d, "/usr/lib/x86_64-linux-gnu/libc.so.6") != NULL);
	ASSERT_STR_EQ(vg_dpkg_owner(d, "/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc6");
	/* a copy in /tmp belongs to no package and cannot be verified */
	char dir[] = "/tmp/vgtest-dpkg-XXXXXX", copy[128];
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(copy, sizeof(copy), "%s/bash", dir);
	ASSERT_EQ(copy_file("/usr/bin/bash", copy), 0);
	ASSERT_NULL(vg_dpkg_owner(d, copy));
	ASSERT_EQ(vg_hashcache_path(c, copy, 0, &ff, NULL), 0);
	ASSERT_EQ(vg_dpkg_verify(d, copy, ff.md5_raw), VG_DPKG_UNKNOWN);
	/* a changed byte: the package's checksum no longer matches */
	int fd = open(copy, O_WRONLY);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(pwrite(fd, "X", 1, 1000), 1);
	close(fd);
	ASSERT_EQ(vg_hashcache_path(c, copy, 0, &ff, NULL), 0);
	ASSERT_EQ(vg_dpkg_verify(d, "/usr/bin/bash", ff.md5_raw), VG_DPKG_MODIFIED);
	size_t np, npaths, nbad;
	vg_dpkg_stats(d, &np, &npaths, &nbad);
	ASSERT_GE(np, 100);
	ASSERT_GE(npaths, 10000);
	unlink(copy);
	rmdir(dir);
	vg_hashcache_free(c);
	vg_dpkg_free(d);
}

TEST(linux_dpkg_sysbin_dirs)
{
	struct vg_dpkg *d;
	char buf[256];

	ASSERT_EQ(vg_dpkg_new(NULL, NULL, NULL, &d), 0);
	ASSERT_EQ(vg_dpkg_sysbin_dirs(d, "ls", buf, sizeof(buf)), 1);
	ASSERT_STR_EQ(buf, "/usr/bin");
	ASSERT_EQ(vg_dpkg_sysbin_dirs(d, "agetty", buf, sizeof(buf)), 1); /* dpkg says /sbin/agetty */
	ASSERT_STR_EQ(buf, "/usr/sbin");
	if (access("/usr/sbin/sshd", F_OK) == 0) {
		ASSERT_GE(vg_dpkg_sysbin_dirs(d, "sshd", buf, sizeof(buf)), 1);
		ASSERT_TRUE(strstr(buf, "/usr/sbin") != NULL);
	} else {
		fprintf(stderr, "    note: openssh-server not installed, sshd not checked\n");
	}
	ASSERT_EQ(vg_dpkg_sysbin_dirs(d, "systemd-journald", buf, sizeof(buf)), 1);
	ASSERT_STR_EQ(buf, "/usr/lib/systemd");
	ASSERT_EQ(vg_dpkg_sysbin_dirs(d, "no-such-binary-vg", buf, sizeof(buf)), 0);
	struct vg_linux_facts *f;
	ASSERT_EQ(vg_linux_facts_new(NULL, &f), 0);
	ASSERT_EQ(vg_linux_sysbin_name(f, "ls", buf, sizeof(buf)), 1);
	ASSERT_STR_EQ(buf, "/usr/bin");
	vg_linux_facts_free(f);
	ASSERT_EQ(vg_dpkg_sysbin_dirs(d, "", buf, sizeof(buf)), 0);
	vg_dpkg_free(d);
}

struct errs {
	char msgs[8][160];
	int n;
};

static void on_err(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct errs *e = ctx;
	if (e->n < 8)
		snprintf(e->msgs[e->n++], 160, "%s:%u: %s", name, line, reason);
}

struct seen {
	char paths[8][128];
	int n, md5s;
};

static void on_path(const char *path, const uint8_t *md5, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < 8)
		snprintf(s->paths[s->n++], 128, "%s", path);
	s->md5s += md5 != NULL;
}

TEST(linux_dpkg_parsers_bad_lines)
{
	struct errs e = { 0 };
	struct seen s = { 0 };
	const char list[] = "/.\n/usr\nrelative/path\n\n/usr/bin/x\n";
	ASSERT_EQ(vg_dpkg_parse_list("x.list", list, sizeof(list) - 1, on_path, on_err, &e), 2);
	ASSERT_EQ(e.n, 2);
	ASSERT_STR_EQ(e.msgs[0], "x.list:3: path is not absolute");
	ASSERT_STR_EQ(e.msgs[1], "x.list:4: empty line");
	/* the rest was processed */
	vg_dpkg_parse_list("x.list", list, sizeof(list) - 1, on_path, NULL, &s);
	ASSERT_EQ(s.n, 2);
	ASSERT_STR_EQ(s.paths[1], "/usr/bin/x");

	memset(&e, 0, sizeof(e));
	memset(&s, 0, sizeof(s));
	const char sums[] = "7210080490f9fd139c1b44fa0f730988  bin/bash\n"
			    "zz10080490f9fd139c1b44fa0f730988  bin/bad\n"
			    "7210080490f9fd139c1b44fa0f730988\n"
			    "7210080490f9fd139c1b44fa0f730988  usr/bin/ok";
	ASSERT_EQ(vg_dpkg_parse_md5sums("x.md5sums", sums, sizeof(sums) - 1, NULL, on_err, &e), 2);
	ASSERT_STR_EQ(e.msgs[0], "x.md5sums:2: checksum is not 32 hex digits");
	ASSERT_STR_EQ(e.msgs[1], "x.md5sums:3: line too short for \"<md5>  <path>\"");
	vg_dpkg_parse_md5sums("x.md5sums", sums, sizeof(sums) - 1, on_path, NULL, &s);
	ASSERT_EQ(s.n, 2);
	ASSERT_EQ(s.md5s, 2);
	ASSERT_STR_EQ(s.paths[0], "/bin/bash");
	ASSERT_STR_EQ(s.paths[1], "/usr/bin/ok");

	memset(&e, 0, sizeof(e));
	const char status[] = "Package: a\nStatus: install ok installed\nVersion: 1.0\nDescription: x\n more\n\n"
			      "Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n"
			      "garbage line\nPackage: c\nStatus: install ok installed\nVersion: 3";
	ASSERT_EQ(vg_dpkg_parse_status("status", status, sizeof(status) - 1, NULL, on_err, &e), 1);
	ASSERT_STR_EQ(e.msgs[0], "status:11: expected \"Field: value\"");
}

static void count_pkg(const char *p, const char *v, void *ctx)
{
	(void)p;
	(void)v;
	(*(int *)ctx)++;
}

TEST(linux_dpkg_status_packages)
{
	int n = 0;
	const char status[] = "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n"
			      "Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n"
			      "Package: c\nStatus: install ok installed\nVersion: 3";
	vg_dpkg_parse_status("status", status, sizeof(status) - 1, count_pkg, NULL, &n);
	ASSERT_EQ(n, 2);
}

/* A private dpkg database: ownership, a modified file, bad lines reported with file and line, reload on change. */
TEST(linux_dpkg_private_db_reload)
{
	char dir[] = "/tmp/vgtest-dpkgdb-XXXXXX", p[256], prog[256], text[512];
	struct errs e = { 0 };
	struct vg_dpkg *d;
	struct vg_hashcache *c;
	struct vg_file_facts ff;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/info", dir);
	ASSERT_EQ(mkdir(p, 0755), 0);
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	ASSERT_EQ(write_file(prog, "#!/bin/sh\necho original\n"), 0);
	ASSERT_EQ(vg_hashcache_new(0, 0, &c), 0);
	ASSERT_EQ(vg_hashcache_path(c, prog, 0, &ff, NULL), 0);
	snprintf(p, sizeof(p), "%s/status", dir);
	ASSERT_EQ(write_file(p, "Package: vgdemo\nStatus: install ok installed\nVersion: 1.2-3\n"), 0);
	snprintf(p, sizeof(p), "%s/info/vgdemo.list", dir);
	snprintf(text, sizeof(text), "/.\n%s\nnot/absolute\n%s\n", dir, prog);
	ASSERT_EQ(write_file(p, text), 0);
	snprintf(p, sizeof(p), "%s/info/vgdemo.md5sums", dir);
	snprintf(text, sizeof(text), "%s  %s\n", ff.md5, prog + 1);
	ASSERT_EQ(write_file(p, text), 0);

	ASSERT_EQ(vg_dpkg_new(dir, on_err, &e, &d), 0);
	ASSERT_STR_EQ(vg_dpkg_owner(d, prog), "vgdemo");
	ASSERT_STR_EQ(vg_dpkg_version(d, "vgdemo"), "1.2-3");
	ASSERT_EQ(vg_dpkg_verify(d, prog, ff.md5_raw), VG_DPKG_MATCH);
	ASSERT_EQ(e.n, 1);
	ASSERT_TRUE(strstr(e.msgs[0], "/info/vgdemo.list:3: path is not absolute") != NULL);
	ASSERT_NULL(vg_dpkg_owner(d, "/usr/bin/bash")); /* only this database */

	ASSERT_EQ(write_file(prog, "#!/bin/sh\necho changed\n"), 0);
	ASSERT_EQ(vg_hashcache_path(c, prog, 0, &ff, NULL), 0);
	ASSERT_EQ(vg_dpkg_verify(d, prog, ff.md5_raw), VG_DPKG_MODIFIED);

	/* a second package appears: the info folder's mtime changes and the index follows */
	char prog2[256];
	snprintf(prog2, sizeof(prog2), "%s/prog2", dir);
	snprintf(p, sizeof(p), "%s/info/vgother.list", dir);
	snprintf(text, sizeof(text), "%s\n", prog2);
	ASSERT_EQ(write_file(p, text), 0);
	snprintf(p, sizeof(p), "%s/info", dir);
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 12345, 0 } }; /* a distinct mtime, whatever the clock */
	ASSERT_EQ(utimensat(AT_FDCWD, p, ts, 0), 0);
	ASSERT_EQ(vg_dpkg_refresh(d), 0);
	ASSERT_STR_EQ(vg_dpkg_owner(d, prog2), "vgother");

	vg_dpkg_free(d);
	vg_hashcache_free(c);
	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	ASSERT_EQ(system(text), 0);
}

TEST(linux_usrmerge)
{
	char out[64];
	ASSERT_EQ(vg_linux_usrmerge("/bin/bash", out, sizeof(out)), 13);
	ASSERT_STR_EQ(out, "/usr/bin/bash");
	vg_linux_usrmerge("/lib64/ld-linux-x86-64.so.2", out, sizeof(out));
	ASSERT_STR_EQ(out, "/usr/lib64/ld-linux-x86-64.so.2");
	vg_linux_usrmerge("/library/x", out, sizeof(out));
	ASSERT_STR_EQ(out, "/library/x");
	vg_linux_usrmerge("/sbin", out, sizeof(out));
	ASSERT_STR_EQ(out, "/usr/sbin");
	vg_linux_usrmerge("/usr/bin/x", out, sizeof(out));
	ASSERT_STR_EQ(out, "/usr/bin/x");
}
