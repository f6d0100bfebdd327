/* filehash.c - SHA-256/MD5, entropy and ELF facts of files, computed once per (device, inode, mtime, size) and kept in a bounded cache; files are read through an open fd with a size cap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vigil/common.h"
#include "vigil/linux.h"
#include "vigil/strmap.h"

#define DEFAULT_ENTRIES 4096
#define DEFAULT_MAX_BYTES (64ull << 20)

struct vg_hashcache {
	size_t max_entries;
	uint64_t max_bytes;
	struct vg_strmap map;          /* "dev:ino" -> struct vg_file_facts* */
	char **ring;                   /* insertion order, for eviction */
	size_t head, len;
	uint64_t hits, misses;
};

int vg_hashcache_new(size_t max_entries, uint64_t max_bytes, struct vg_hashcache **out)
{
	struct vg_hashcache *c = calloc(1, sizeof(*c));
	if (!c)
		return VG_ENOMEM;
	c->max_entries = max_entries ? max_entries : DEFAULT_ENTRIES;
	c->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
	c->ring = calloc(c->max_entries, sizeof(*c->ring));
	if (!c->ring) {
		free(c);
		return VG_ENOMEM;
	}
	vg_strmap_init(&c->map, 0);
	*out = c;
	return 0;
}

void vg_hashcache_free(struct vg_hashcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->map.nslots; i++)
		if (c->map.slots[i].key)
			free(c->map.slots[i].value);
	vg_strmap_free(&c->map);
	for (size_t i = 0; i < c->len; i++)
		free(c->ring[(c->head + i) % c->max_entries]);
	free(c->ring);
	free(c);
}

void vg_hashcache_stats(const struct vg_hashcache *c, uint64_t *hits, uint64_t *misses, size_t *entries)
{
	if (hits)
		*hits = c->hits;
	if (misses)
		*misses = c->misses;
	if (entries)
		*entries = c->map.count;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Reads all of fd (expected size bytes, at most cap) into a malloc'd buffer. */
static int read_all(int fd, uint64_t size, uint64_t cap, uint8_t **out, size_t *len)
{
	size_t want = (size_t)size + 1, n = 0; /* one more byte tells a file that grew */
	uint8_t *buf = malloc(want ? want : 1);
	if (!buf)
		return VG_ENOMEM;
	while (n < want) {
		ssize_t r = pread(fd, buf + n, want - n, (off_t)n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > size || n > cap) { /* grew while we read: hash what the stat said, the next event rehashes */
		n = (size_t)size;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int compute(struct vg_hashcache *c, int fd, const struct stat *st, struct vg_file_facts *f)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_all(fd, (uint64_t)st->st_size, c->max_bytes, &buf, &len);
	if (rc)
		return rc;
	uint8_t sha[32];
	unsigned int dl = 0;
	if (!EVP_Digest(buf, len, sha, &dl, EVP_sha256(), NULL) ||
	    !EVP_Digest(buf, len, f->md5_raw, &dl, EVP_md5(), NULL)) {
		free(buf);
		return VG_EUNSUPPORTED;
	}
	hex(sha, 32, f->sha256);
	hex(f->md5_raw, 16, f->md5);
	f->is_elf = len >= 4 && memcmp(buf, "\177ELF", 4) == 0;
	f->is_script = len >= 2 && buf[0] == '#' && buf[1] == '!';
	if (f->is_elf)
		f->elf_rc = vg_elf_facts(buf, len, &f->elf, f->elf_err, sizeof(f->elf_err));
	f->entropy = f->is_elf && f->elf_rc == 0 ? f->elf.entropy : vg_entropy(buf, len);
	free(buf);
	return 0;
}

int vg_hashcache_fd(struct vg_hashcache *c, int fd, struct vg_file_facts *out, int *cached)
{
	struct stat st;
	char key[48];

	if (cached)
		*cached = 0;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return VG_EINVAL;
	if ((uint64_t)st.st_size > c->max_bytes)
		return VG_ELIMIT;
	int kl = snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)st.st_dev,
			  (unsigned long long)st.st_ino);
	int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	struct vg_file_facts *e = vg_strmap_get(&c->map, key, (size_t)kl);
	if (e && e->mtime_ns == mtime && e->size == (uint64_t)st.st_size) {
		c->hits++;
		*out = *e;
		if (cached)
			*cached = 1;
		return 0;
	}
	c->misses++;
	struct vg_file_facts f;
	memset(&f, 0, sizeof(f));
	f.dev = (uint64_t)st.st_dev;
	f.ino = (uint64_t)st.st_ino;
	f.size = (uint64_t)st.st_size;
	f.mtime_ns = mtime;
	int rc = compute(c, fd, &st, &f);
	if (rc)
		return rc;
	*out = f;
	/* a file changed while we read it is not remembered: its next event hashes it again */
	struct stat st2;
	if (fstat(fd, &st2) != 0 || st2.st_mtim.tv_sec != st.st_mtim.tv_sec ||
	    st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec || st2.st_size != st.st_size)
		return 0;
	if (e) { /* same inode, new content: update in place */
		*e = f;
		return 0;
	}
	if (c->len == c->max_entries) { /* evict the oldest */
		char *old = c->ring[c->head];
		free(vg_strmap_del(&c->map, old, strlen(old)));
		free(old);
		c->head = (c->head + 1) % c->max_entries;
		c->len--;
	}
	e = malloc(sizeof(*e));
	char *k = vg_strndup(key, (size_t)kl);
	if (!e || !k || vg_strmap_put(&c->map, key, (size_t)kl, e, NULL)) {
		free(e);
		free(k);
		return 0; /* the answer is right, only not cached */
	}
	*e = f;
	c->ring[(c->head + c->len) % c->max_entries] = k;
	c->len++;
	return 0;
}

int vg_hashcache_path(struct vg_hashcache *c, const char *path, pid_t pid, struct vg_file_facts *out,
		      int *cached)
{
	char buf[4200];
	int fd = -1;

	if (cached)
		*cached = 0;
	if (!path || path[0] != '/')
		return VG_EINVAL;
	if (pid > 0) {
		snprintf(buf, sizeof(buf), "/proc/%d/root%s", (int)pid, path);
		fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) {
			int e = errno;
			snprintf(buf, sizeof(buf), "/proc/%d", (int)pid);
			if (access(buf, F_OK) == 0) /* the process lives: the file is not there */
				return -e;
		}
	}
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int rc = vg_hashcache_fd(c, fd, out, cached);
	close(fd);
	return rc;
}
