/* fuzz_dns.c - libFuzzer harness for the sensor's DNS query parser: UDP and TCP framing; a parsed name must be printable, bounded and NUL-terminated, and every error must say where. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int tcp = 0; tcp < 2; tcp++) {
		struct vg_dns_query q;
		char err[128] = "";
		int rc = vg_dns_parse_query(data, size, tcp, &q, err, sizeof(err));
		if (rc == 0) {
			size_t n = strnlen(q.name, sizeof(q.name));
			if (n == 0 || n >= sizeof(q.name))
				abort();
			for (size_t i = 0; i < n; i++)
				if (q.name[i] < 0x21 || q.name[i] > 0x7e)
					abort();
			(void)vg_dns_type_name(q.qtype);
		} else if (!strstr(err, "at offset ")) {
			abort();
		}
	}
	return 0;
}
