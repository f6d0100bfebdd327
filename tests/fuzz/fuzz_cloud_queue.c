/* fuzz_cloud_queue.c - libFuzzer harness for vigild's on-disk cloud signal queue: the line scanner and line check over any bytes, and the file round trip (open, deliver, append) on a copy of the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/cloud_client.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct counts {
	unsigned good, bad, last_line;
};

static int on_good(const char *line, size_t len, unsigned lineno, void *ctx)
{
	struct counts *c = ctx;
	char why[256];
	CHECK(!memchr(line, '\n', len));
	CHECK(vg_cloud_queue_check_line(line, len, why, sizeof(why)) == 0);
	CHECK(lineno > c->last_line);
	c->last_line = lineno;
	c->good++;
	return 0;
}

static void on_bad(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct counts *c = ctx;
	CHECK(name && reason && *reason && line >= 1);
	c->bad++;
}

static int send_ok(const char *line, size_t len, uint64_t off, void *ctx)
{
	unsigned *n = ctx;
	(*n)++;
	return (*n % 3) == 0 ? 1 : 0; /* stop now and then: the rest must stay for the next pass */
}

static void quiet(const char *name, unsigned line, const char *reason, void *ctx)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct counts c = { 0 };
	size_t consumed = 0, lines = 0;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	int nbad = vg_cloud_queue_scan("fuzz", text, size, 1, on_good, on_bad, &c, &consumed);
	CHECK(nbad >= 0 && (unsigned)nbad == c.bad);
	CHECK(consumed == size);
	CHECK(c.good + c.bad <= lines + 1);

	/* the file round trip: a queue made of the input delivers every good line once, whatever the stops */
	char dir[] = "/tmp/vg-fuzz-cq-XXXXXX", path[64], err[256];
	if (size > 65536 || !mkdtemp(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/cloud-queue", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
	}
	struct vg_cloud_queue *q = NULL;
	if (vg_cloud_queue_open(dir, 1 << 20, &q, err, sizeof(err)) == 0) {
		unsigned sent = 0;
		for (int pass = 0; pass < 1000 && vg_cloud_queue_stats(q)->pending; pass++)
			CHECK(vg_cloud_queue_deliver(q, send_ok, quiet, &sent) >= 0);
		const struct vg_cloud_queue_stats *st = vg_cloud_queue_stats(q);
		CHECK(st->pending == 0 && st->bytes == 0);
		/* a last line without its newline is ended at open: complete JSON there is delivered too */
		CHECK(st->delivered == c.good || st->delivered == c.good + 1);
		static const char one[] = "{\"file\":{\"sha256\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}}";
		CHECK(vg_cloud_queue_append(q, one, strlen(one), NULL) == 0);
		vg_cloud_queue_close(q);
	}
	char p2[80];
	unlink(path);
	snprintf(p2, sizeof(p2), "%s/cloud-queue.pos", dir);
	unlink(p2);
	rmdir(dir);
	return 0;
}
