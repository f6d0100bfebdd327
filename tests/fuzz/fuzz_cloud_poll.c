/* fuzz_cloud_poll.c - libFuzzer harness for vigild's parser of GET /v1/verdicts answers (the verdict long-poll): any bytes give a count or VG_EPARSE with a reason, never more verdicts than the buffer, each with a 64-hex sha256 and a known verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/cloud_poll.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_cloud_verdict v[8];
	char why[256] = "";
	int n = vg_cloud_poll_parse((const char *)data, size, v, 8, why, sizeof(why));
	if (n < 0) {
		CHECK(n == VG_EPARSE);
		CHECK(why[0] != '\0');
		return 0;
	}
	CHECK(n <= 8);
	for (int i = 0; i < n; i++) {
		CHECK(strlen(v[i].sha256) == 64);
		CHECK(v[i].change_id >= 1);
		CHECK(!strcmp(v[i].verdict, "clean") || !strcmp(v[i].verdict, "suspicious") || !strcmp(v[i].verdict, "block"));
	}
	return 0;
}
