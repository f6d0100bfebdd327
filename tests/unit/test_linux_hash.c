/* test_linux_hash.c - the file hash cache (hits by inode and mtime, invalidation, eviction, size cap, /proc/<pid>/root) and ELF facts of real binaries and of truncated or damaged copies. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "vigil/common.h"
#include "vigil/linux.h"

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

TEST(linux_hash_known_digest_and_cache)
{
	char dir[] = "/tmp/vgtest-hash-XXXXXX", p[128];
	struct vg_hashcache *c;
	struct vg_file_facts ff;
	int cached = -1;
	uint64_t hits, misses;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/abc", dir);
	ASSERT_EQ(write_file(p, "abc"), 0);
	ASSERT_EQ(vg_hashcache_new(16, 0, &c), 0);
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, &cached), 0);
	ASSERT_EQ(cached, 0);
	ASSERT_STR_EQ(ff.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ASSERT_STR_EQ(ff.md5, "900150983cd24fb0d6963f7d28e17f72");
	ASSERT_EQ(ff.size, 3);
	ASSERT_EQ(ff.is_elf, 0);
	/* same inode and mtime: from the cache */
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, &cached), 0);
	ASSERT_EQ(cached, 1);
	ASSERT_STR_EQ(ff.md5, "900150983cd24fb0d6963f7d28e17f72");
	/* through /proc/<pid>/root (our own namespace here) the inode is the same */
	ASSERT_EQ(vg_hashcache_path(c, p, getpid(), &ff, &cached), 0);
	ASSERT_EQ(cached, 1);
	/* new content with another mtime on the same inode: hashed again */
	int fd = open(p, O_WRONLY | O_TRUNC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, "#!x", 3), 3);
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000, 0 } };
	ASSERT_EQ(futimens(fd, ts), 0);
	close(fd);
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, &cached), 0);
	ASSERT_EQ(cached, 0);
	ASSERT_EQ(ff.is_script, 1);
	ASSERT_TRUE(strcmp(ff.md5, "900150983cd24fb0d6963f7d28e17f72") != 0);
	vg_hashcache_stats(c, &hits, &misses, NULL);
	ASSERT_EQ(hits, 2);
	ASSERT_EQ(misses, 2);
	/* errors: missing file, a folder, a path that is not absolute */
	snprintf(p, sizeof(p), "%s/missing", dir);
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, NULL), -ENOENT);
	ASSERT_EQ(vg_hashcache_path(c, dir, 0, &ff, NULL), VG_EINVAL);
	ASSERT_EQ(vg_hashcache_path(c, "rel/x", 0, &ff, NULL), VG_EINVAL);
	vg_hashcache_free(c);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	ASSERT_EQ(system(p), 0);
}

TEST(linux_hash_bounded_and_capped)
{
	char dir[] = "/tmp/vgtest-hash2-XXXXXX", p[128];
	struct vg_hashcache *c;
	struct vg_file_facts ff;
	int cached;
	size_t entries;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(vg_hashcache_new(2, 1000, &c), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/f%d", dir, i);
		ASSERT_EQ(write_file(p, i == 0 ? "zero" : i == 1 ? "one" : "two"), 0);
		ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, &cached), 0);
	}
	vg_hashcache_stats(c, NULL, NULL, &entries);
	ASSERT_EQ(entries, 2);
	snprintf(p, sizeof(p), "%s/f0", dir); /* the oldest was evicted */
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, &cached), 0);
	ASSERT_EQ(cached, 0);
	snprintf(p, sizeof(p), "%s/f2", dir);
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, &cached), 0);
	ASSERT_EQ(cached, 1);
	/* over the size cap: not read */
	snprintf(p, sizeof(p), "%s/big", dir);
	FILE *f = fopen(p, "w");
	ASSERT_TRUE(f != NULL);
	for (int i = 0; i < 2000; i++)
		fputc('a', f);
	fclose(f);
	ASSERT_EQ(vg_hashcache_path(c, p, 0, &ff, NULL), VG_ELIMIT);
	vg_hashcache_free(c);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	ASSERT_EQ(system(p), 0);
}

TEST(linux_elf_real_binaries)
{
	struct vg_hashcache *c;
	struct vg_file_facts ff;

	ASSERT_EQ(vg_hashcache_new(0, 0, &c), 0);
	ASSERT_EQ(vg_hashcache_path(c, "/usr/bin/ls", 0, &ff, NULL), 0);
	ASSERT_EQ(ff.is_elf, 1);
	ASSERT_EQ(ff.elf_rc, 0);
	ASSERT_EQ(ff.elf.elf_class, 64);
	ASSERT_STR_EQ(ff.elf.machine_name, "x86_64");
	ASSERT_STR_EQ(ff.elf.type_name, "dyn");
	ASSERT_STR_EQ(ff.elf.linkage, "pie");
	ASSERT_STR_EQ(ff.elf.interpreter, "/lib64/ld-linux-x86-64.so.2");
	ASSERT_GE(ff.elf.nsections, 20);
	ASSERT_EQ(ff.elf.stripped, 1); /* Debian strips its binaries */
	ASSERT_TRUE(ff.entropy > 4.0 && ff.entropy < 8.0);
	ASSERT_EQ(vg_hashcache_path(c, "/usr/sbin/ldconfig", 0, &ff, NULL), 0);
	ASSERT_STR_EQ(ff.elf.linkage, "static-pie");
	ASSERT_STR_EQ(ff.elf.interpreter, "");
	ASSERT_EQ(vg_hashcache_path(c, "/usr/lib/x86_64-linux-gnu/libm.so.6", 0, &ff, NULL), 0);
	ASSERT_STR_EQ(ff.elf.linkage, "shared");
	vg_hashcache_free(c);
}

TEST(linux_elf_truncated_and_damaged)
{
	size_t len;
	uint8_t *ls = slurp("/usr/bin/ls", &len);
	struct vg_elf_info info;
	char err[128];

	ASSERT_TRUE(ls != NULL);
	ASSERT_EQ(vg_elf_facts(ls, len, &info, err, sizeof(err)), 0);
	/* every truncation point in the headers, then coarser steps: a clear error, never a crash */
	size_t cuts[] = { 0, 3, 4, 10, 16, 20, 63, 64, 100, 300, 600, 1000, 4096, 50000, len / 2, len - 100, len - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
		int rc = vg_elf_facts(ls, cuts[i], &info, err, sizeof(err));
		if (rc == 0)
			VG_FAIL_("cut at %zu parsed", cuts[i]);
		if (!strstr(err, "offset"))
			VG_FAIL_("cut at %zu: error without an offset: \"%s\"", cuts[i], err);
	}
	ASSERT_EQ(vg_elf_facts(ls, 3, &info, err, sizeof(err)), VG_EFORMAT);
	ASSERT_EQ(vg_elf_facts(ls, 20, &info, err, sizeof(err)), VG_ETRUNC);
	ASSERT_EQ(vg_elf_facts(ls, len - 1, &info, err, sizeof(err)), VG_ETRUNC); /* section headers end the file */
	/* hostile header values */
	uint8_t *bad = malloc(len);
	ASSERT_TRUE(bad != NULL);
	memcpy(bad, ls, len);
	bad[4] = 7; /* class */
	ASSERT_EQ(vg_elf_facts(bad, len, &info, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "offset 4: bad ELF class 7");
	memcpy(bad, ls, len);
	memset(bad + 0x28, 0xff, 8); /* e_shoff far past the end */
	ASSERT_NE(vg_elf_facts(bad, len, &info, err, sizeof(err)), 0);
	memcpy(bad, ls, len);
	memset(bad + 0x20, 0x7f, 8); /* e_phoff far past the end */
	ASSERT_NE(vg_elf_facts(bad, len, &info, err, sizeof(err)), 0);
	memcpy(bad, ls, len);
	bad[0x3a] = 7; /* e_shentsize */
	ASSERT_EQ(vg_elf_facts(bad, len, &info, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "offset 58: section header size 7, expected 64");
	free(bad);
	free(ls);
	ASSERT_EQ(vg_elf_facts((const uint8_t *)"#!/bin/sh\n", 10, &info, err, sizeof(err)), VG_EFORMAT);
}

TEST(linux_entropy)
{
	uint8_t b[256];
	memset(b, 0, sizeof(b));
	ASSERT_TRUE(vg_entropy(b, sizeof(b)) == 0.0);
	for (int i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	ASSERT_TRUE(vg_entropy(b, sizeof(b)) > 7.999 && vg_entropy(b, sizeof(b)) < 8.001);
	ASSERT_TRUE(vg_entropy(b, 0) == 0.0);
}
