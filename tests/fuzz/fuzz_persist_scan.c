/* fuzz_persist_scan.c - libFuzzer harness for the persistence file scanner: every kind, with and without a home folder; reported paths must be NUL-terminated, bounded and absolute. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/persist_scan.h"

static void check_path(const char *path, void *ctx)
{
	size_t n = strlen(path);
	(void)ctx;
	if (n < 2 || n >= 1024 || path[0] != '/')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum vg_persist_kind kinds[] = { VG_PERSIST_CRON, VG_PERSIST_SYSTEMD, VG_PERSIST_SHELL_RC,
						      VG_PERSIST_XDG_AUTOSTART, VG_PERSIST_LD_PRELOAD,
						      VG_PERSIST_SSH_KEYS };
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		vg_persist_scan(kinds[k], (int)(k & 1), (const char *)data, size, "/home/u", check_path, NULL);
		vg_persist_scan(kinds[k], 0, (const char *)data, size, NULL, check_path, NULL);
	}
	return 0;
}
