/* fuzz_dpkg.c - libFuzzer harness for the dpkg database parsers (.list, .md5sums, status): reported paths must be absolute and NUL-terminated, errors must name a line inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/linux.h"

struct state {
	size_t lines;
};

static void on_path(const char *path, const uint8_t *md5, void *ctx)
{
	(void)md5;
	(void)ctx;
	if (path[0] != '/' || strlen(path) > 4096)
		abort();
}

static void on_pkg(const char *pkg, const char *version, void *ctx)
{
	(void)ctx;
	if (!pkg[0] || strlen(pkg) > 255 || strlen(version) > 255)
		abort();
}

static void on_err(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct state *s = ctx;
	if (!name || !reason || line == 0 || line > s->lines)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s = { 1 };
	for (size_t i = 0; i < size; i++)
		s.lines += data[i] == '\n';
	const char *t = (const char *)data;
	vg_dpkg_parse_list("fuzz.list", t, size, on_path, on_err, &s);
	vg_dpkg_parse_md5sums("fuzz.md5sums", t, size, on_path, on_err, &s);
	vg_dpkg_parse_status("status", t, size, on_pkg, on_err, &s);
	return 0;
}
