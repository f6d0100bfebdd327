/* fuzz_evtx.c - libFuzzer harness for the EVTX reader over whole files (libevtx needs a path, so the input goes to a memfd). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vigil/common.h"
#include "vigil/evtx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results go here so the reads of every slice are not optimised away. */
static volatile unsigned sink;

static void quiet(enum vg_log_level level, const char *msg, void *ctx)
{
	(void)level, (void)msg, (void)ctx;
}

/* Touches every byte of a slice so the sanitizers see a bad one. */
static unsigned touch(struct vg_slice s)
{
	unsigned h = 0;

	for (size_t i = 0; s.p && i < s.n; i++)
		h = h * 31 + (unsigned char)s.p[i];
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_evtx_reader *r = NULL;
	struct vg_winrec rec = { 0 };
	char path[64];
	uint64_t pos, records, recovered;
	size_t off = 0;
	int fd, rc;

	vg_log_set_sink(quiet, NULL);
	fd = memfd_create("fuzz_evtx", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (vg_evtx_open(path, &r) != 0)
		goto out;
	vg_evtx_counts(r, &records, &recovered);
	while ((rc = vg_evtx_next(r, &rec, &pos)) != 0) {
		if (rc < 0) {
			sink += (unsigned)strlen(vg_evtx_reader_error(r));
			continue;
		}
		sink += touch(rec.provider) + touch(rec.channel) + touch(rec.computer) +
			touch(rec.time) + touch(rec.user_sid);
		for (size_t i = 0; i < rec.nitems; i++)
			sink += touch(rec.items[i].name) + touch(rec.items[i].value);
	}
out:
	vg_winrec_free_items(&rec);
	vg_evtx_free(r);
	close(fd);
	return 0;
}
