/* fuzz_procfs.c - libFuzzer harness for the sensor's /proc text parsers (stat, status uid, cmdline join, cgroup): bounded, NUL-terminated results and no crash on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct vg_procstat st;
	char err[128] = "", out[64], a0[8], path[32], id[80];
	uint32_t uid;

	if (vg_procfs_parse_stat(b, size, &st, err, sizeof(err)) == 0) {
		if (strnlen(st.comm, sizeof(st.comm)) >= sizeof(st.comm))
			abort();
	} else if (!strstr(err, "at offset ")) {
		abort();
	}
	vg_procfs_parse_uid(b, size, &uid);
	size_t n = vg_procfs_join_argv(b, size, out, sizeof(out), a0, sizeof(a0));
	if (n >= sizeof(out) || strlen(out) != n || strnlen(a0, sizeof(a0)) >= sizeof(a0))
		abort();
	if (vg_procfs_parse_cgroup(b, size, path, sizeof(path), id, sizeof(id)) == 0) {
		size_t il = strnlen(id, sizeof(id));
		if (strnlen(path, sizeof(path)) >= sizeof(path) || (il != 0 && il != 64))
			abort();
	}
	return 0;
}
