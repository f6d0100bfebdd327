/* fuzz_quarantine_meta.c - libFuzzer harness for the quarantine item metadata reader (<id>.json): any bytes give an item with an absolute path and a 64-digit sha256, or an error naming the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_quarantine_meta m;
	char err[512] = "";

	int rc = vg_quarantine_meta_parse((const char *)data, size, "meta.json", &m, err, sizeof(err));
	if (rc) {
		if (strncmp(err, "meta.json: ", 11) != 0 || m.original_path)
			abort();
		return 0;
	}
	if (!m.original_path || m.original_path[0] != '/' || strlen(m.sha256) != 64 || m.mode > 07777)
		abort();
	vg_quarantine_meta_free(&m);
	return 0;
}
